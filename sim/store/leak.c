/*
 * storesim store model: the third-party MAPI program of KB898782.
 *
 * The program is its own simulated process ("mapiprog", with its own jemalloc
 * arena and workload.mapi_program.memory_limit). Its one thread logs on to a
 * mailbox (a session object in its arena), then calls OpenMsgStore for one
 * mailbox after another at workload.mapi_program.rate (the k-th call is due
 * k / rate after the start, start to start; see program_main).
 * Each call, in the
 * MAPI library inside the program:
 *   - allocates the message store object (object_size) and, in pieces, the
 *     call's bookkeeping (leak_per_call bytes);
 *   - opens the store on a store task (store_call, kind "openstore");
 *   - releases the store object. Without the kb898782 fix the bookkeeping is
 *     never freed: it stays referenced by the session (leaked); with the fix
 *     OpenMsgStore frees what it allocates.
 * The machine memory limit (scenario key machine_memory) is shared by every
 * process, so the leak takes the memory the store needs: store allocations
 * (message bodies of local delivery, ...) then fail intermittently, the
 * deliveries fail and are retried, and when the program's own allocations
 * fail it stops responding (its calls fail). When the store restarts, the
 * program's session is lost and the MAPI library tears it down, releasing
 * everything the session held: memory recovers, as the article says. So
 * does restarting the program (fault program_restart): its process starts
 * with an empty arena (sim_proc_reset).
 *
 * Measurement: the leak pieces are powers of two >= 16 bytes (exact jemalloc
 * size classes), so the bytes the arena holds per call are the configured
 * leak rounded up to 16. leak.bytes_per_call is read from jemalloc's own
 * statistics of the program's arena (sim_proc_mem_jemalloc), at moments when
 * no call is in flight: (arena bytes - bytes right after logon) / calls.
 *
 * Program states (program_main):
 *   LOGGED_OFF -> LOGGED_ON   logon: session allocated      [logon]
 *   LOGGED_ON  -> LOGGED_ON   OpenMsgStore ok or failed     [open_msg_store]
 *   LOGGED_ON  -> LOGGED_OFF  the store went down: session torn down [logoff]
 *   any        -> LOGGED_OFF  program_restart: arena reset   [program_restart]
 *
 * Locking: only the program thread touches the session; lp->lock guards the
 * counters the sampler reads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

#define LEAK_MAX_PIECES 64
#define SESSION_BYTES 16384
#define MEASURE_EVERY 64

struct store_leak {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  size_t piece[LEAK_MAX_PIECES]; /* the leak, in size-class pieces */
  int npiece;
  void *session;
  void **leaked;                 /* pieces the session references */
  size_t nleaked, capleaked;
  size_t base;                   /* arena bytes right after logon */
  int64_t calls_since_logon;     /* successful calls */
  int64_t calls;                 /* all calls */
  int responding;
  int in_call;                   /* allocations of a call are live */
  int restart_req;               /* program_restart asked (under lock) */
  sim_metric_t *m_calls, *m_ok, *m_failed, *m_alloc_fail, *m_responding;
  sim_metric_t *m_bytes, *m_per_call, *m_sessions_lost, *m_logons;
  sim_metric_t *m_avail, *m_restarts;
};

static int open_fn(store_t *s, void *arg, int64_t service) {
  return sim_sleep((sim_time_t)service) != 0 ? STORE_EDOWN : 0;
}

static void measure(struct store_leak *lp) {
  size_t je = sim_proc_mem_jemalloc(lp->proc);
  sim_gauge_set(lp->m_bytes, (double)je);
  if (lp->calls_since_logon > 0 && lp->session)
    sim_gauge_set(lp->m_per_call, ((double)je - (double)lp->base) /
                                      (double)lp->calls_since_logon);
}

static void set_responding(struct store_leak *lp, int r) {
  if (lp->responding == r) return;
  lp->responding = r;
  sim_gauge_set(lp->m_responding, !r);
  sim_trace_emit(lp->s->w, r ? "mapiprog.responding" : "mapiprog.hung",
                 "mapiprog", 0);
}

/* Tears the session down: the MAPI library frees what it references. */
static void logoff(struct store_leak *lp) {
  for (size_t i = 0; i < lp->nleaked; i++) sim_proc_free(lp->proc, lp->leaked[i]);
  lp->nleaked = 0;
  sim_proc_free(lp->proc, lp->session);
  lp->session = NULL;
  lp->calls_since_logon = 0;
}

/* MAPILogonEx: a session object in the program, opened on a store task.
 * Returns 0, SIM_EMEMLIMIT or the store call's error (no session then). */
static int logon(struct store_leak *lp, sim_time_t service) {
  store_t *s = lp->s;
  lp->session = sim_proc_alloc(lp->proc, SESSION_BYTES);
  if (!lp->session) return SIM_EMEMLIMIT;
  int rc = store_call(s, STORE_K_OPENSTORE, open_fn, NULL, service,
                      sim_now(s->w) + s->cfg->mapi_timeout, 0);
  if (rc != 0) {
    sim_proc_free(lp->proc, lp->session);
    lp->session = NULL;
    return rc;
  }
  sim_counter_add(lp->m_logons, 1);
  lp->base = sim_proc_mem_jemalloc(lp->proc);
  lp->calls_since_logon = 0;
  return 0;
}

/* One OpenMsgStore. Returns 0, SIM_EMEMLIMIT (the program's allocation
 * failed: nothing of this call stays allocated), STORE_EDOWN (session lost)
 * or the store call's error. */
static int open_msg_store(struct store_leak *lp, sim_time_t service) {
  store_t *s = lp->s;
  void *obj = sim_proc_alloc(lp->proc, (size_t)s->cfg->mapiprog_object);
  if (!obj) return SIM_EMEMLIMIT;
  void *mine[LEAK_MAX_PIECES];
  for (int i = 0; i < lp->npiece; i++) {
    mine[i] = sim_proc_alloc(lp->proc, lp->piece[i]);
    if (!mine[i]) {
      for (int k = 0; k < i; k++) sim_proc_free(lp->proc, mine[k]);
      sim_proc_free(lp->proc, obj);
      return SIM_EMEMLIMIT;
    }
  }
  int rc = store_call(s, STORE_K_OPENSTORE, open_fn, NULL, service,
                      sim_now(s->w) + s->cfg->mapi_timeout, 0);
  sim_proc_free(lp->proc, obj); /* IMsgStore::Release */
  if (store_has_fix(s, STORE_FIX_KB898782) || rc != 0) {
    for (int i = 0; i < lp->npiece; i++) sim_proc_free(lp->proc, mine[i]);
  } else {
    if (lp->nleaked + (size_t)lp->npiece > lp->capleaked) {
      lp->capleaked = lp->capleaked ? 2 * lp->capleaked : 1024;
      while (lp->capleaked < lp->nleaked + (size_t)lp->npiece) lp->capleaked *= 2;
      lp->leaked = sim_xrealloc(lp->leaked, lp->capleaked * sizeof *lp->leaked);
    }
    for (int i = 0; i < lp->npiece; i++) lp->leaked[lp->nleaked++] = mine[i];
  }
  return rc;
}

/* The program's process starts again: a new process image, so the kernel
 * releases every allocation of its arena at once; no session. */
static void program_restart(struct store_leak *lp) {
  sim_proc_reset(lp->proc);
  lp->session = NULL;
  lp->nleaked = 0;
  lp->calls_since_logon = 0;
  sim_counter_add(lp->m_restarts, 1);
  set_responding(lp, 1);
  measure(lp);
}

static void leak_restart_program(store_t *s) {
  for (int i = 0; i < s->ncomp; i++) {
    if (strcmp(s->comp[i]->name, "mapiprog")) continue;
    struct store_leak *lp = s->comp_self[i];
    if (!lp->proc) return;
    sim_mutex_lock(lp->lock);
    lp->restart_req = 1;
    sim_mutex_unlock(lp->lock);
    return;
  }
}

static void program_main(void *arg) {
  struct store_leak *lp = arg;
  store_t *s = lp->s;
  const store_config_t *c = s->cfg;
  sim_time_t gap = (sim_time_t)(1e9 / c->mapiprog_rate);
  sim_rng_t rng;
  store_rng(s, &rng, "store.mapiprog");
  /* One call at a time, the k-th due at start + k / rate: start to start,
   * whatever a call takes (sleeping a period after each call would make the
   * rate 1 / (period + call time)). A call that starts late (the previous one
   * overran its period) starts at once, so the program catches up and makes
   * rate x t calls in t as long as its calls take less than 1 / rate on
   * average; one thread cannot exceed 1 / (mean call time). */
  sim_time_t next = sim_now(s->w);
  for (;;) {
    if (store_arrival_wait(&next, gap) != 0) return;
    sim_mutex_lock(lp->lock);
    int restart = lp->restart_req;
    lp->restart_req = 0;
    sim_mutex_unlock(lp->lock);
    if (restart) program_restart(lp);
    if (c->mapiprog_calls > 0 && lp->calls >= c->mapiprog_calls) return;
    sim_time_t service = (sim_time_t)sim_dist_sample(&c->openstore_service, &rng);
    if (!lp->session) {
      int rc = logon(lp, service);
      if (rc == SIM_EMEMLIMIT) {
        sim_counter_add(lp->m_alloc_fail, 1);
        set_responding(lp, 0);
      }
      if (rc != 0) continue;
    }
    lp->calls++;
    sim_counter_add(lp->m_calls, 1);
    lp->in_call = 1;
    int rc = open_msg_store(lp, service);
    lp->in_call = 0;
    if (rc == 0) {
      lp->calls_since_logon++;
      sim_counter_add(lp->m_ok, 1);
      set_responding(lp, 1);
      sim_progress();
    } else {
      sim_counter_add(lp->m_failed, 1);
      if (rc == SIM_EMEMLIMIT) {
        sim_counter_add(lp->m_alloc_fail, 1);
        set_responding(lp, 0);
      } else if (rc == STORE_EDOWN) {
        sim_counter_add(lp->m_sessions_lost, 1);
        logoff(lp);
      }
    }
    if (lp->calls % MEASURE_EVERY == 0) measure(lp);
  }
}

static void leak_sample(store_t *s, void *self) {
  struct store_leak *lp = self;
  size_t lim = sim_machine_mem_limit(s->w);
  if (lim)
    sim_sample_add(lp->m_avail, (double)lim - (double)sim_machine_mem_used(s->w));
}

static void leak_finish(store_t *s, void *self) {
  struct store_leak *lp = self;
  leak_sample(s, self);
  /* measured only between calls; if the run ended inside one, the last
   * periodic measure stands */
  if (lp->proc && !lp->in_call) measure(lp);
}

static void leak_destroy(void *self) {
  struct store_leak *lp = self;
  free(lp->leaked);
  free(lp);
}

static const store_component_t leak_component = {
    .name = "mapiprog",
    .sample = leak_sample,
    .finish = leak_finish,
    .destroy = leak_destroy,
};

static int leak_init(store_t *s, char *err, size_t nerr) {
  struct store_leak *lp = sim_calloc(1, sizeof *lp);
  if (!lp) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  const store_config_t *c = s->cfg;
  lp->s = s;
  lp->m_avail = sim_metric(w, "machine.mem_available", SIM_M_SAMPLE, "B");
  store_component_add(s, &leak_component, lp);
  if (c->mapiprog_rate <= 0) return 0;

  /* the leak in power-of-two pieces (exact size classes), the rest rounded
   * up to jemalloc's 16-byte quantum */
  uint64_t left = c->mapiprog_leak;
  for (int bit = 62; bit >= 4 && lp->npiece < LEAK_MAX_PIECES - 1; bit--)
    if (left & (UINT64_C(1) << bit)) {
      lp->piece[lp->npiece++] = (size_t)1 << bit;
      left &= ~(UINT64_C(1) << bit);
    }
  if (left) lp->piece[lp->npiece++] = 16;

  lp->proc = sim_proc_create(w, "mapiprog", (size_t)c->mapiprog_memory_limit);
  if (!lp->proc) {
    if (err) snprintf(err, nerr, "cannot create the MAPI program's arena");
    return SIM_ENOMEM;
  }
  lp->lock = sim_mutex_create(w, "mapiprog.lock");
  lp->responding = 1;
  lp->m_calls = sim_metric(w, "mapiprog.calls", SIM_M_COUNTER, "");
  lp->m_ok = sim_metric(w, "mapiprog.calls_ok", SIM_M_COUNTER, "");
  lp->m_failed = sim_metric(w, "mapiprog.calls_failed", SIM_M_COUNTER, "");
  lp->m_alloc_fail =
      sim_metric(w, "mapiprog.alloc_failures", SIM_M_COUNTER, "");
  lp->m_responding = sim_metric(w, "mapiprog.hung", SIM_M_GAUGE, "");
  lp->m_logons = sim_metric(w, "mapiprog.logons", SIM_M_COUNTER, "");
  lp->m_sessions_lost =
      sim_metric(w, "mapiprog.sessions_lost", SIM_M_COUNTER, "");
  lp->m_bytes = sim_metric(w, "mapiprog.memory", SIM_M_GAUGE, "B");
  lp->m_restarts = sim_metric(w, "mapiprog.restarts", SIM_M_COUNTER, "");
  lp->m_per_call = sim_metric(w, "leak.bytes_per_call", SIM_M_GAUGE, "B");
  sim_thread_spawn(w, "mapi-program", lp->proc, program_main, lp);
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t leak_params[] = {
    {"workload.mapi_program.rate", SIM_P_RATE, STORE_CFG(mapiprog_rate), 0, 10000, "0/s",
     "OpenMsgStore calls per second of the MAPI program (0: none)."},
    {"workload.mapi_program.calls", SIM_P_INT, STORE_CFG(mapiprog_calls), 0, 1e12, "0",
     "OpenMsgStore calls in all (0: no cap)."},
    {"workload.mapi_program.leak_per_call", SIM_P_SIZE, STORE_CFG(mapiprog_leak), 2048, STORE_GiB,
     "64KiB",
     "Bytes each OpenMsgStore call leaks in the program without the kb898782 "
     "fix (>= 2KiB so jemalloc's size classes keep the measure within 1 %)."},
    {"workload.mapi_program.object_size", SIM_P_SIZE, STORE_CFG(mapiprog_object), 16, STORE_GiB,
     "8KiB",
     "Bytes of the message store object each call allocates and "
     "releases."},
    {"workload.mapi_program.memory_limit", SIM_P_SIZE, STORE_CFG(mapiprog_memory_limit), 0,
     64 * STORE_GiB, "2GiB", "Address space of the (32-bit) MAPI program (0: unlimited)."},
    {"store.openstore_service", SIM_P_DIST_TIME, STORE_CFG(openstore_service), 0, STORE_TMAX,
     "exp(10ms)", "Store task time of one OpenMsgStore."},
    /* ----: Q279798 IMAIL conversion (imail.c) ---- */
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t leak_metrics[] = {
    {"machine.mem_available",
     SIM_M_SAMPLE,
     "B",
     "machine memory not allocated by any simulated process, each sample interval (only with "
     "`machine_memory`)",
     {"\\Memory\\Available MBytes", SIM_DERIVE_VALUE, 1.0 / 1048576, "MiB",
      "in MiB (Performance Monitor's MBytes), not rounded"}},
    {"mapiprog.calls", SIM_M_COUNTER, "", "OpenMsgStore calls of the program (process `mapiprog`)"},
    {"mapiprog.calls_ok", SIM_M_COUNTER, "", "calls that succeeded / failed"},
    {"mapiprog.calls_failed", SIM_M_COUNTER, "", "calls that succeeded / failed"},
    {"mapiprog.alloc_failures", SIM_M_COUNTER, "",
     "calls (or logons) that failed because the program's own allocation failed"},
    {"mapiprog.hung", SIM_M_GAUGE, "",
     "1 while the program does not respond (its last call failed to allocate), else 0"},
    {"mapiprog.logons", SIM_M_COUNTER, "",
     "MAPI logons; sessions torn down because the store went down (their memory is freed)"},
    {"mapiprog.sessions_lost", SIM_M_COUNTER, "",
     "MAPI logons; sessions torn down because the store went down (their memory is freed)"},
    {"mapiprog.memory", SIM_M_GAUGE, "B",
     "bytes in the program's arena from jemalloc's statistics (every 64 calls and at the end)"},
    {"mapiprog.restarts", SIM_M_COUNTER, "",
     "restarts of the program (fault `program_restart`: its arena is reset)"},
    {"leak.bytes_per_call", SIM_M_GAUGE, "B",
     "(arena bytes - bytes after logon) / successful calls since logon, from jemalloc's "
     "statistics: equals `workload.mapi_program.leak_per_call` within 1 % without the fix, 0 with "
     "it"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t leak_plots[] = {
    {"machine memory available", {"machine.mem_available"}}, {NULL, {NULL}}};

static const char *const leak_kinds[] = {"openstore", NULL};

/* program_restart: the program restarts at its next call. */
static void leak_fault(store_t *s, int which, const sim_fault_t *f) {
  (void)which, (void)f;
  leak_restart_program(s);
}

static const sim_fault_kind_t leak_faults[] = {
    {"program_restart", "Restart the third-party MAPI program (KB898782): its process starts again "
                        "with an empty arena, so everything it leaked is released."},
    {NULL, NULL}};

const store_mech_t store_leak_mech = {
    .part = {.name = "leak",
             .title = "KB898782: repeated OpenMsgStore calls leak memory in a MAPI program",
             .file = "sim/store/leak.c",
             .fix = "kb898782",
             .fix_doc = "OpenMsgStore releases what it allocates: the program's memory stays flat.",
             .metrics = leak_metrics,
             .plots = leak_plots},
    .params = leak_params,
    .faults = leak_faults,
    .fault = leak_fault,
    .kinds = leak_kinds,
    .init = leak_init,
    /* KB898782 is a bug of the Exchange 2003 MAPI client library */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
