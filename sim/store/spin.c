/*
 * storesim store model: Outlook message downloads and the KB922768 CPU
 * spin.
 *
 * Outlook (MAPI) clients download messages (process "outlook"): a generator
 * spawns one client thread per download; the client passes the store's RPC
 * admission (store_rpc_begin) and runs the download on a store task
 * (store_call, kind "download", given up after workload.download.timeout:
 * the client hangs that long, then tries again up to workload.download.
 * retries times after retry_delay). The download converts the message
 * (store.download_cpu) and marks it read, a write that takes one page of the
 * store's version store (store_vs_write, store.c) until its transaction
 * ends.
 *
 * A malformed message fails conversion. With the kb922768 fix the failed
 * download ends: its transaction is rolled back and the client gets one
 * error. Without it the download does not exit: the task that runs it loops,
 * burning store.download_spin_cpu per turn, issuing flush requests to the
 * store (store_submit, kind "download"), up to store.download_flush_window
 * in flight, each costing store.download_flush_cpu on another store task and
 * writing one version store page into the spinner's transaction, which never
 * commits and so holds them. So the cores fill with flush work (store CPU
 * near 100 %), healthy work waits behind it for tasks and cores (RPC latency,
 * client timeouts, queued mail), every hung retry starts another spinner,
 * and once the version store is full every write of every kind (deliveries,
 * MAPI and OWA operations, downloads, mailbox copies) fails with 0x8004060C
 * (MAPI_E_STORE_FULL): mail queues for that reason too. Modelling
 * assumption: the article does not say which resource returns 0x8004060C;
 * the version store held by a transaction that never ends is the ESE
 * mechanism that yields "store full" errors.
 *
 * Nothing here talks to the spin detector: the spinning task burns CPU and
 * issues work items (store_submit counts each as a request of the issuing
 * thread) inside a work item that never finishes, so the kernel finds it;
 * the flush tasks finish work items (progress, store.c) and are not
 * reported.
 *
 * Download states (client thread, per attempt):
 *   ARRIVED -> REFUSED (admission) | DONE | STORE_FULL | ERROR (fix) |
 *              HUNG (timed out) -> RETRY (new attempt) | GAVE_UP
 * On the task: CONVERT -> DONE | FAILED -> (fix) ROLLBACK | (no fix) SPIN
 *   SPIN -> EXIT only when the store goes down (task canceled).
 *
 * Locking: sp->lock protects the counters of spinners and the ledger; it is never held across a blocking call other
 * than sim_proc_alloc/free (which do not block).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

/* The error a failed download returns with the fix (MAPI_E_CORRUPT_DATA,
 * MAKE_MAPI_E(0x10B)). A model-local result code. */
#define STORE_ECORRUPT (-111)

typedef struct download {
  struct store_spin *sp;
  uint64_t id;
  int malformed;
  int attempt;
  sim_time_t cpu;
  store_txn_t *txn;  /* the spinner's transaction (spinners only) */
  sim_sem_t *window; /* flushes in flight (spinners only) */
} download_t;

struct store_spin {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  int64_t spinning;
  int64_t malformed_started;
  sim_time_t first_broken; /* -1 until the first broken download */
  sim_time_t last_t;
  sim_time_t last_busy;
  download_t **all; /* ledger, freed at destroy */
  size_t nall, capall;
  uint64_t next_id;
  struct dgen {
    struct store_spin *sp;
    int malformed;
    double rate;
    sim_rng_t rng;
  } gen[2];
  sim_rng_t rng_flush;
  sim_metric_t *m_requests, *m_completed, *m_timeouts, *m_refused;
  sim_metric_t *m_failed, *m_errors, *m_store_full, *m_latency, *m_malformed;
  sim_metric_t *m_retries, *m_hung_clients, *m_spinning, *m_flushes;
  sim_metric_t *m_cpu_pct, *m_cpu_after;
  sim_metric_t *m_first_broken;
};

static download_t *download_new(struct store_spin *sp, int malformed,
                                sim_time_t cpu) {
  download_t *d = sim_xcalloc(1, sizeof *d);
  d->sp = sp;
  d->malformed = malformed;
  d->cpu = cpu;
  sim_mutex_lock(sp->lock);
  d->id = ++sp->next_id;
  if (sp->nall == sp->capall) {
    sp->capall = sp->capall ? 2 * sp->capall : 256;
    sp->all = sim_xrealloc(sp->all, sp->capall * sizeof *sp->all);
  }
  sp->all[sp->nall++] = d;
  sim_mutex_unlock(sp->lock);
  return d;
}

/* ---- work on store tasks --------------------------------------------------- */

static int flush_fn(store_t *s, void *arg, int64_t cpu) {
  download_t *d = arg;
  struct store_spin *sp = d->sp;
  int rc = sim_cpu_burn((sim_time_t)cpu);
  if (rc == 0 && !sim_thread_canceled(sim_self())) {
    sim_counter_add(sp->m_flushes, 1);
    /* a write of the spinner's transaction, held until it ends (never);
     * full: the flush fails; the spinner goes on */
    rc = store_vs_write(s, d->txn);
  } else {
    rc = STORE_EDOWN;
  }
  sim_sem_release(d->window);
  return rc;
}

static void flush_drop(store_t *s, void *arg, int64_t cpu) {
  download_t *d = arg;
  sim_sem_release(d->window);
}

/* The failed download that does not exit (no kb922768 fix). Returns only
 * when the store goes down. */
static int spin(store_t *s, struct store_spin *sp, download_t *d) {
  sim_mutex_lock(sp->lock);
  sp->spinning++;
  sim_gauge_set(sp->m_spinning, (double)sp->spinning);
  if (sp->first_broken < 0) {
    sp->first_broken = sim_now(s->w);
    sim_gauge_set(sp->m_first_broken, (double)sp->first_broken / SIM_SEC);
  }
  sim_mutex_unlock(sp->lock);
  sim_trace_emit(s->w, "download.spin", "download", (int64_t)d->id);
  char name[48];
  snprintf(name, sizeof name, "download.window.%" PRIu64, d->id);
  d->window = sim_sem_create(s->w, name, s->cfg->download_flush_window);
  d->txn = store_txn_self(s);
  /* Each turn of the loop burns store.download_spin_cpu on this task, then
   * issues a flush into every free slot of the window (so a loop that waits
   * for a core keeps the window full: the flushes it could not issue during
   * the wait go out together). */
  int stop = 0;
  while (!stop) {
    if (sim_sem_acquire(d->window) != 0) break;
    if (sim_thread_canceled(sim_self())) break;
    sim_mutex_lock(sp->lock);
    sim_time_t own = (sim_time_t)sim_dist_sample(&s->cfg->download_spin_cpu, &sp->rng_flush);
    sim_mutex_unlock(sp->lock);
    if (sim_cpu_burn(own) != 0) {
      sim_sem_release(d->window);
      break;
    }
    do {
      sim_mutex_lock(sp->lock);
      sim_time_t cpu = (sim_time_t)sim_dist_sample(&s->cfg->download_flush_cpu, &sp->rng_flush);
      sim_mutex_unlock(sp->lock);
      if (store_submit(s, STORE_K_DOWNLOAD, flush_fn, d, cpu, flush_drop) != 0) {
        stop = 1;
        break;
      }
    } while (sim_sem_tryacquire(d->window) == 0);
  }
  sim_mutex_lock(sp->lock);
  sp->spinning--;
  sim_gauge_set(sp->m_spinning, (double)sp->spinning);
  sim_mutex_unlock(sp->lock);
  return STORE_EDOWN;
}

static int download_fn(store_t *s, void *arg, int64_t val) {
  download_t *d = arg;
  struct store_spin *sp = d->sp;
  if (sim_cpu_burn(d->cpu) != 0) return STORE_EDOWN;
  if (!d->malformed) /* mark read; the transaction commits on return */
    return store_vs_write(s, store_txn_self(s));
  /* conversion of the malformed message failed */
  if (store_has_fix(s, STORE_FIX_KB922768)) return STORE_ECORRUPT; /* rolled back on return */
  return spin(s, sp, d);
}

/* ---- clients ------------------------------------------------------------------ */

static void client_main(void *arg) {
  download_t *d = arg;
  struct store_spin *sp = d->sp;
  store_t *s = sp->s;
  const store_config_t *c = s->cfg;
  for (;;) {
    sim_time_t t0 = sim_now(s->w);
    sim_counter_add(sp->m_requests, 1);
    int rc = store_rpc_begin(s);
    if (rc != 0) {
      sim_counter_add(rc == STORE_EREFUSED ? sp->m_refused : sp->m_failed, 1);
      return;
    }
    rc = store_rpc_call(s, STORE_K_DOWNLOAD, download_fn, d, 0, t0 + c->download_timeout, 1);
    sim_time_t lat = sim_now(s->w) - t0;
    store_rpc_end(s);
    switch (rc) {
    case 0:
      sim_counter_add(sp->m_completed, 1);
      sim_sample_add(sp->m_latency, (double)lat / SIM_MS);
      sim_progress();
      return;
    case STORE_ESTOREFULL:
      sim_counter_add(sp->m_store_full, 1);
      return;
    case STORE_ECORRUPT:
      sim_counter_add(sp->m_errors, 1);
      return;
    case SIM_ETIMEDOUT:
      sim_counter_add(sp->m_timeouts, 1);
      break;
    default:
      sim_counter_add(sp->m_failed, 1);
      return;
    }
    /* hung: the user tries again, a new download of the same message */
    if (d->attempt >= c->download_retries) {
      sim_counter_add(sp->m_hung_clients, 1);
      return;
    }
    if (sim_sleep(c->download_retry_delay) != 0) return;
    sim_counter_add(sp->m_retries, 1);
    download_t *n = download_new(sp, d->malformed, d->cpu);
    n->attempt = d->attempt + 1;
    d = n;
  }
}

static void generator_main(void *arg) {
  struct dgen *g = arg;
  struct store_spin *sp = g->sp;
  store_t *s = sp->s;
  int64_t n = 0;
  sim_time_t next = sim_now(s->w);
  for (;;) {
    if (store_arrival_wait(&next, (sim_time_t)sim_rng_exp(&g->rng, 1e9 / g->rate)) != 0) return;
    sim_time_t cpu = (sim_time_t)sim_dist_sample(&s->cfg->download_cpu, &g->rng);
    download_t *d = download_new(sp, g->malformed, cpu);
    if (g->malformed) sim_counter_add(sp->m_malformed, 1);
    sim_thread_spawn(s->w, g->malformed ? "outlook-download-bad" : "outlook-download",
                     sp->proc, client_main, d);
    n++;
    if (g->malformed && s->cfg->download_malformed_max > 0 &&
        n >= s->cfg->download_malformed_max)
      return;
  }
}

/* ---- component hooks ------------------------------------------------------------ */

static void spin_sample(store_t *s, void *self) {
  struct store_spin *sp = self;
  sim_time_t now = sim_now(s->w);
  sim_time_t busy = sim_proc_cpu_busy(store_proc(s));
  if (now > sp->last_t) {
    double pct = 100.0 * (double)(busy - sp->last_busy) /
                 ((double)(now - sp->last_t) * sim_cpu_cores(s->w));
    sim_gauge_set(sp->m_cpu_pct, pct);
    if (sp->lock) {
      sim_mutex_lock(sp->lock);
      /* intervals that began after the first broken download */
      if (sp->first_broken >= 0 && sp->last_t >= sp->first_broken)
        sim_sample_add(sp->m_cpu_after, pct);
      sim_mutex_unlock(sp->lock);
    }
  }
  sp->last_t = now;
  sp->last_busy = busy;
}

static void spin_report(store_t *s, void *self, char *buf, size_t n) {
  struct store_spin *sp = self;
  if (!sp->lock || sim_mutex_trylock(sp->lock) != 0) return;
  /* s->vs_used: the caller holds s->lock */
  if (sp->spinning > 0 || s->vs_used > 0)
    store__appendf(buf, n,
                   "downloads: %" PRId64 " failed downloads spinning; version "
                   "store %" PRIu64 " of %" PRIu64 " bytes\n",
                   sp->spinning, s->vs_used, s->cfg->version_store);
  sim_mutex_unlock(sp->lock);
}

static void spin_destroy(void *self) {
  struct store_spin *sp = self;
  for (size_t i = 0; i < sp->nall; i++) free(sp->all[i]);
  free(sp->all);
  free(sp);
}

static const store_component_t spin_component = {
    .name = "downloads",
    .report = spin_report,
    .sample = spin_sample,
    .destroy = spin_destroy,
};

static int spin_init(store_t *s, char *err, size_t nerr) {
  struct store_spin *sp = sim_calloc(1, sizeof *sp);
  if (!sp) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  const store_config_t *c = s->cfg;
  sp->s = s;
  sp->first_broken = -1;
  sp->m_cpu_pct = sim_metric(w, "store.cpu_percent", SIM_M_GAUGE, "%");
  store_component_add(s, &spin_component, sp);
  if (c->download_rate <= 0 && c->download_malformed_rate <= 0) return 0;

  /* Kernel objects only when downloads run: a scenario without them keeps
   * its trace (and golden hash) unchanged. */
  sp->lock = sim_mutex_create(w, "downloads.lock");
  sp->proc = sim_proc_create(w, "outlook", 0);
  sp->m_requests = sim_metric(w, "download.requests", SIM_M_COUNTER, "");
  sp->m_completed = sim_metric(w, "download.completed", SIM_M_COUNTER, "");
  sp->m_timeouts = sim_metric(w, "download.timeouts", SIM_M_COUNTER, "");
  sp->m_refused = sim_metric(w, "download.refused", SIM_M_COUNTER, "");
  sp->m_failed = sim_metric(w, "download.failed", SIM_M_COUNTER, "");
  sp->m_errors = sim_metric(w, "download.errors", SIM_M_COUNTER, "");
  sp->m_store_full = sim_metric(w, "download.store_full", SIM_M_COUNTER, "");
  sp->m_latency = sim_metric(w, "download.latency", SIM_M_SAMPLE, "ms");
  sp->m_malformed = sim_metric(w, "download.malformed", SIM_M_COUNTER, "");
  sp->m_retries = sim_metric(w, "download.retries", SIM_M_COUNTER, "");
  sp->m_hung_clients = sim_metric(w, "download.gave_up", SIM_M_COUNTER, "");
  sp->m_spinning = sim_metric(w, "download.spinning", SIM_M_GAUGE, "");
  sp->m_flushes = sim_metric(w, "download.flushes", SIM_M_COUNTER, "");
  sp->m_first_broken = sim_metric(w, "download.first_broken_at", SIM_M_GAUGE, "s");
  sp->m_cpu_after =
      sim_metric(w, "store.cpu_percent_after_broken", SIM_M_SAMPLE, "%");
  sim_gauge_set(sp->m_first_broken, -1);
  sp->gen[0] = (struct dgen){sp, 0, c->download_rate, {{0}}};
  sp->gen[1] = (struct dgen){sp, 1, c->download_malformed_rate, {{0}}};
  store_rng(s, &sp->gen[0].rng, "store.download.healthy");
  store_rng(s, &sp->gen[1].rng, "store.download.malformed");
  store_rng(s, &sp->rng_flush, "store.download.flush");
  for (int i = 0; i < 2; i++)
    if (sp->gen[i].rate > 0)
      sim_thread_spawn(w, i ? "outlook-bad-message" : "outlook-clients",
                       sp->proc, generator_main, &sp->gen[i]);
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t spin_params[] = {
    {"workload.download.rate", SIM_P_RATE, STORE_CFG(download_rate), 0, 10000, "0/s",
     "Outlook message downloads per second of well-formed messages (Poisson)."},
    {"workload.download.malformed_rate", SIM_P_RATE, STORE_CFG(download_malformed_rate), 0, 10000,
     "0/s", "Downloads per second of a malformed message (Poisson; KB922768)."},
    {"workload.download.malformed_max", SIM_P_INT, STORE_CFG(download_malformed_max), 0, 1e9, "0",
     "Malformed downloads in all (0: no cap)."},
    {"workload.download.retries", SIM_P_INT, STORE_CFG(download_retries), 0, 1000, "3",
     "Times a client whose download hung (timed out) tries it again."},
    {"workload.download.retry_delay", SIM_P_DURATION, STORE_CFG(download_retry_delay), 0,
     STORE_TMAX, "1m", "Delay before a hung download is tried again."},
    {"workload.download.timeout", SIM_P_DURATION, STORE_CFG(download_timeout), 0, STORE_TMAX, "60s",
     "An Outlook client gives up on a download after this."},
    {"store.download_cpu", SIM_P_DIST_TIME, STORE_CFG(download_cpu), 0, STORE_TMAX, "exp(20ms)",
     "Store CPU to convert one downloaded message."},
    {"store.download_flush_cpu", SIM_P_DIST_TIME, STORE_CFG(download_flush_cpu), 0, STORE_TMAX,
     "const(50ms)", "Store CPU of one flush request issued by a failed download (KB922768)."},
    {"store.download_spin_cpu", SIM_P_DIST_TIME, STORE_CFG(download_spin_cpu), 0, STORE_TMAX,
     "const(1ms)",
     "Store CPU a failed download that does not exit burns on its own task per turn of its "
     "loop (each turn refills its flush window; KB922768)."},
    {"store.download_flush_window", SIM_P_INT, STORE_CFG(download_flush_window), 1, 1024, "4",
     "Flush requests a failed download keeps in flight (each runs on a store "
     "task) without the kb922768 fix."},
    /* ----: KB898782 third-party MAPI program (leak.c) ---- */
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t spin_metrics[] = {
    {"store.cpu_percent", SIM_M_GAUGE, "%",
     "store CPU over the last sample interval, in % of all cores"},
    {"download.requests", SIM_M_COUNTER, "",
     "download attempts by Outlook clients (process `outlook`), retries included"},
    {"download.completed", SIM_M_COUNTER, "",
     "downloads that converted the message and marked it read"},
    {"download.timeouts", SIM_M_COUNTER, "",
     "attempts the client gave up on after `workload.download.timeout` (the client hung)"},
    {"download.refused", SIM_M_COUNTER, "",
     "refused by the RPC admission limit; failed otherwise (store down)"},
    {"download.failed", SIM_M_COUNTER, "",
     "refused by the RPC admission limit; failed otherwise (store down)"},
    {"download.errors", SIM_M_COUNTER, "",
     "failed downloads that returned one error to the client (the kb922768 fix)"},
    {"download.store_full", SIM_M_COUNTER, "",
     "downloads whose write failed with 0x8004060C (MAPI_E_STORE_FULL): the version store was "
     "full"},
    {"download.latency", SIM_M_SAMPLE, "ms", "latency of each completed download"},
    {"download.malformed", SIM_M_COUNTER, "", "downloads of a malformed message started"},
    {"download.retries", SIM_M_COUNTER, "",
     "hung downloads tried again (each a new download of the same message)"},
    {"download.gave_up", SIM_M_COUNTER, "", "clients that hung on every try"},
    {"download.spinning", SIM_M_GAUGE, "",
     "failed downloads spinning now (without the fix; each holds a task)"},
    {"download.flushes", SIM_M_COUNTER, "",
     "flush requests of spinning downloads that ran (each `store.download_flush_cpu` of store "
     "CPU)"},
    {"download.first_broken_at", SIM_M_GAUGE, "s",
     "virtual time of the first broken download; -1 if none"},
    {"store.cpu_percent_after_broken", SIM_M_SAMPLE, "%",
     "`store.cpu_percent` of each interval that began after the first broken download (its `min` "
     "is the sustained level)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t spin_plots[] = {{"store CPU", {"store.cpu_percent"}}, {NULL, {NULL}}};

static const char *const spin_kinds[] = {"download", NULL};

const store_mech_t store_spin_mech = {
    .part = {.name = "spin",
             .title = "KB922768: Outlook downloads and the CPU spin",
             .file = "sim/store/spin.c",
             .fix = "kb922768",
             .fix_doc = "A failed download ends: its transaction is rolled back and the client "
                        "gets one error, no flush storm.",
             .metrics = spin_metrics,
             .plots = spin_plots,
             .never = (const char *const[]){"download.first_broken_at", NULL}},
    .params = spin_params,
    .kinds = spin_kinds,
    .init = spin_init,
    /* KB922768 is an Exchange 2003 store bug */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
