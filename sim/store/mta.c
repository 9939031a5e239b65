/*
 * storesim store model: MTA Stacks and the transit mail flush (KB924567).
 *
 * The MTA is its own process ("mta") with `gateway_out_threads` gateway
 * out threads. They take flush requests from the gateway queue and complete
 * each after mta_flush_time. With 0 threads, or while the MTA is disabled by
 * a fault, nothing takes them.
 *
 * For each moved mailbox the store registers a flush in the transit mail
 * task (store__mta_register_flush): a work item of kind "flush" runs on a
 * store task, posts a request to the gateway queue and waits on the
 * request's condition variable with a deadline of transit_flush_timeout. It
 * holds its task the whole time: that is the mechanism of the exhaustion.
 * The kb924567 fix: with gateway_out_threads == 0 the flush is not
 * registered.
 *
 * Request states (under m->lock):
 *
 *   QUEUED  -> TAKEN     a gateway thread pops it       [gw_main]
 *   TAKEN   -> DONE      the gateway thread finished it [gw_main]
 *   QUEUED  -> ABANDONED the flush timed out / store down: removed from the
 *                        queue by the flush itself      [flush_run]
 *   TAKEN   -> ABANDONED the flush gave up while a gateway thread works on
 *                        it; the gateway thread frees it when done [gw_main]
 *
 * Requests are host memory owned by the MTA (free list + registry), so a store
 * arena reset never leaves the gateway threads with dangling pointers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "storesim/alloc.h"
#include "store_int.h"

typedef enum { R_QUEUED, R_TAKEN, R_DONE, R_ABANDONED } req_state_t;

typedef struct mta_req {
  struct mta_req *next, *prev;
  req_state_t state;
  uint64_t mailbox;
  sim_time_t posted;
  sim_cond_t *done;
} mta_req_t;

struct store_mta {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  sim_cond_t *work_cv;
  int enabled;
  mta_req_t *q_head, *q_tail;
  int64_t q_len;
  mta_req_t *free_reqs;
  mta_req_t **all;
  size_t nall, capall;
  int nthreads;
  sim_rng_t rng;
  int64_t pending; /* flushes waiting (queued or taken) */
  sim_metric_t *m_registered, *m_skipped, *m_pending, *m_timed_out;
  sim_metric_t *m_completed, *m_queue, *m_enabled, *m_flush_wait;
  sim_metric_t *m_failed;
};

static mta_req_t *req_get(struct store_mta *m) {
  mta_req_t *r = m->free_reqs;
  if (r) {
    m->free_reqs = r->next;
  } else {
    r = sim_xcalloc(1, sizeof *r);
    r->done = sim_cond_create(m->s->w, "mta.flush.done");
    if (m->nall == m->capall) {
      m->capall = m->capall ? 2 * m->capall : 32;
      m->all = sim_xrealloc(m->all, m->capall * sizeof *m->all);
    }
    m->all[m->nall++] = r;
  }
  r->next = r->prev = NULL;
  return r;
}

static void req_put(struct store_mta *m, mta_req_t *r) {
  r->next = m->free_reqs;
  m->free_reqs = r;
}

static void q_push(struct store_mta *m, mta_req_t *r) {
  r->next = NULL;
  r->prev = m->q_tail;
  if (m->q_tail)
    m->q_tail->next = r;
  else
    m->q_head = r;
  m->q_tail = r;
  m->q_len++;
  sim_gauge_set(m->m_queue, (double)m->q_len);
}

static void q_remove(struct store_mta *m, mta_req_t *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    m->q_head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  else
    m->q_tail = r->prev;
  r->next = r->prev = NULL;
  m->q_len--;
  sim_gauge_set(m->m_queue, (double)m->q_len);
}

/* A gateway out thread of MTA Stacks. */
static void gw_main(void *arg) {
  struct store_mta *m = arg;
  sim_mutex_lock(m->lock);
  for (;;) {
    while (!m->enabled || !m->q_head) sim_cond_wait(m->work_cv, m->lock);
    mta_req_t *r = m->q_head;
    q_remove(m, r);
    r->state = R_TAKEN;
    sim_time_t d = (sim_time_t)sim_dist_sample(&m->s->cfg->mta_flush_time,
                                               &m->rng);
    sim_mutex_unlock(m->lock);
    sim_sleep(d);
    sim_progress();
    sim_mutex_lock(m->lock);
    if (r->state == R_ABANDONED) {
      req_put(m, r);
    } else {
      r->state = R_DONE;
      sim_cond_signal(r->done);
    }
  }
}

/* The flush, on a store task: post to the gateway queue and wait for the MTA
 * until the timeout. */
static int flush_run(store_t *s, void *arg, int64_t mailbox) {
  (void)arg;
  struct store_mta *m = s->mta;
  sim_time_t t0 = sim_now(s->w);
  sim_time_t deadline = t0 + s->cfg->transit_flush_timeout;
  sim_mutex_lock(m->lock);
  mta_req_t *r = req_get(m);
  r->state = R_QUEUED;
  r->mailbox = (uint64_t)mailbox;
  r->posted = t0;
  q_push(m, r);
  sim_cond_signal(m->work_cv);
  int rc = 0;
  while (r->state != R_DONE) {
    rc = sim_cond_timedwait(r->done, m->lock, deadline);
    if (r->state == R_DONE) {
      rc = 0;
      break;
    }
    if (rc == SIM_ETIMEDOUT || rc == SIM_ECANCELED) break;
  }
  if (r->state == R_DONE) {
    req_put(m, r);
    sim_counter_add(m->m_completed, 1);
  } else {
    if (r->state == R_QUEUED) {
      q_remove(m, r);
      req_put(m, r);
    } else {
      r->state = R_ABANDONED; /* the gateway thread frees it */
    }
    if (rc == SIM_ETIMEDOUT) {
      sim_counter_add(m->m_timed_out, 1);
      sim_trace_emit(s->w, "flush.timeout", "mta.gateway", mailbox);
    } else {
      sim_counter_add(m->m_failed, 1);
    }
  }
  m->pending--;
  sim_gauge_set(m->m_pending, (double)m->pending);
  sim_sample_add(m->m_flush_wait,
                 (double)(sim_now(s->w) - t0) / (double)SIM_SEC);
  sim_mutex_unlock(m->lock);
  return rc;
}

/* The store went down before the flush ran. */
static void flush_drop(store_t *s, void *arg, int64_t mailbox) {
  (void)arg; (void)mailbox;
  struct store_mta *m = s->mta;
  sim_mutex_lock(m->lock);
  m->pending--;
  sim_gauge_set(m->m_pending, (double)m->pending);
  sim_counter_add(m->m_failed, 1);
  sim_mutex_unlock(m->lock);
}

int store__mta_register_flush(store_t *s, uint64_t mailbox) {
  struct store_mta *m = s->mta;
  if (store_has_fix(s, STORE_FIX_KB924567) &&
      s->cfg->gateway_out_threads == 0) {
    /* the fix: a disabled MTA (Gateway Out Threads = 0) gets no flush */
    sim_counter_add(m->m_skipped, 1);
    return 0;
  }
  sim_mutex_lock(m->lock);
  m->pending++;
  sim_gauge_set(m->m_pending, (double)m->pending);
  sim_mutex_unlock(m->lock);
  int rc = store_submit(s, STORE_K_FLUSH, flush_run, NULL, (int64_t)mailbox,
                        flush_drop);
  if (rc != 0) {
    sim_mutex_lock(m->lock);
    m->pending--;
    sim_gauge_set(m->m_pending, (double)m->pending);
    sim_mutex_unlock(m->lock);
    return rc;
  }
  sim_counter_add(m->m_registered, 1);
  sim_trace_emit(s->w, "flush.register", "store.transit", (int64_t)mailbox);
  return 0;
}

static void mta_set_enabled(store_t *s, int enabled) {
  struct store_mta *m = s->mta;
  sim_mutex_lock(m->lock);
  m->enabled = enabled != 0;
  sim_gauge_set(m->m_enabled, m->enabled && m->nthreads > 0);
  sim_trace_emit(s->w, enabled ? "mta.enable" : "mta.disable", "mta", 0);
  sim_cond_broadcast(m->work_cv);
  sim_mutex_unlock(m->lock);
}

static void mta_report(store_t *s, void *self, char *buf, size_t n) {
  struct store_mta *m = self;
  if (sim_mutex_trylock(m->lock) != 0) return;
  char tb[64];
  /* Gateway Out Threads = 0 is the documented way to disable MTA Stacks:
   * the report says disabled, whatever the service's own state. */
  if (m->nthreads == 0) store__appendf(buf, n, "MTA: disabled (Gateway Out Threads = 0)");
  else
    store__appendf(buf, n, "MTA: %s, %d gateway out thread%s",
                   m->enabled ? "enabled" : "disabled (MTA Stacks stopped)", m->nthreads,
                   m->nthreads == 1 ? "" : "s");
  store__appendf(buf, n, ", %lld flushes pending, %lld in the gateway queue", (long long)m->pending,
                 (long long)m->q_len);
  if (m->q_head)
    store__appendf(buf, n, ", oldest posted %s ago",
                   store__fmt_time(sim_now(s->w) - m->q_head->posted, tb,
                                   sizeof tb));
  store__appendf(buf, n, "\n");
  sim_mutex_unlock(m->lock);
}

static void mta_destroy(void *self) {
  struct store_mta *m = self;
  for (size_t i = 0; i < m->nall; i++) free(m->all[i]);
  free(m->all);
  free(m);
}

static const store_component_t mta_component = {
    .name = "mta",
    .report = mta_report,
    .destroy = mta_destroy,
};

static int mta_init(store_t *s, char *err, size_t nerr) {
  struct store_mta *m = sim_calloc(1, sizeof *m);
  if (!m) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  m->s = s;
  m->proc = sim_proc_create(s->w, "mta", 0);
  m->lock = sim_mutex_create(s->w, "mta.lock");
  m->work_cv = sim_cond_create(s->w, "mta.gateway");
  m->enabled = 1;
  m->nthreads = (int)s->cfg->gateway_out_threads;
  store_rng(s, &m->rng, "store.mta");
  m->m_registered = sim_metric(s->w, "flush.registered", SIM_M_COUNTER, "");
  m->m_skipped = sim_metric(s->w, "flush.skipped", SIM_M_COUNTER, "");
  m->m_pending = sim_metric(s->w, "flush.pending", SIM_M_GAUGE, "");
  m->m_timed_out = sim_metric(s->w, "flush.timed_out", SIM_M_COUNTER, "");
  m->m_completed = sim_metric(s->w, "flush.completed", SIM_M_COUNTER, "");
  m->m_failed = sim_metric(s->w, "flush.failed", SIM_M_COUNTER, "");
  m->m_flush_wait = sim_metric(s->w, "flush.wait", SIM_M_SAMPLE, "s");
  m->m_queue = sim_metric(s->w, "mta.queue", SIM_M_GAUGE, "");
  m->m_enabled = sim_metric(s->w, "mta.enabled", SIM_M_GAUGE, "");
  sim_gauge_set(m->m_enabled, m->nthreads > 0);
  s->mta = m;
  store_component_add(s, &mta_component, m);
  for (int i = 0; i < m->nthreads; i++) {
    char name[48];
    snprintf(name, sizeof name, "mta-gwout-%d", i);
    sim_thread_spawn(s->w, name, m->proc, gw_main, m);
  }
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t mta_params[] = {
    {"store.gateway_out_threads", SIM_P_INT, STORE_CFG(gateway_out_threads), 0, 64, "1",
     "MTA Gateway Out Threads of the database (0: the MTA takes no transit "
     "mail, the documented way to disable MTA Stacks)."},
    {"store.transit_flush_timeout", SIM_P_DURATION, STORE_CFG(transit_flush_timeout), 0, STORE_TMAX,
     "150m",
     "How long a transit mail flush waits for the MTA before timing out, "
     "holding its task (KB924567)."},
    {"store.mta_flush_time", SIM_P_DIST_TIME, STORE_CFG(mta_flush_time), 0, STORE_TMAX, "const(2s)",
     "Time a gateway out thread takes to complete one flush."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t mta_metrics[] = {
    {"flush.registered", SIM_M_COUNTER, "",
     "flushes registered in the transit mail task (one per moved mailbox)"},
    {"flush.skipped", SIM_M_COUNTER, "",
     "flushes not registered because of the kb924567 fix (Gateway Out Threads = 0)"},
    {"flush.pending", SIM_M_GAUGE, "",
     "registered flushes not finished (queued for a task or waiting on the MTA)"},
    {"flush.timed_out", SIM_M_COUNTER, "",
     "flushes that waited `store.transit_flush_timeout` and gave up"},
    {"flush.completed", SIM_M_COUNTER, "", "flushes the MTA completed"},
    {"flush.failed", SIM_M_COUNTER, "", "flushes lost when the store went down"},
    {"flush.wait", SIM_M_SAMPLE, "s", "time each flush held its task waiting for the MTA"},
    {"mta.queue", SIM_M_GAUGE, "",
     "flush requests in the gateway queue, not yet taken by a gateway out thread (requests, not "
     "messages: no Performance Monitor counter counts them)"},
    {"mta.enabled", SIM_M_GAUGE, "",
     "1 while MTA Stacks takes transit mail; 0 after `mta_disable`, and throughout with "
     "`store.gateway_out_threads` = 0 (the documented way to disable it)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t mta_plots[] = {{"transit mail waiting for the MTA", {"mta.queue"}},
                                            {NULL, {NULL}}};

static const char *const mta_kinds[] = {"flush", NULL};

/* mta_disable (0) and mta_enable (1). */
static void mta_fault(store_t *s, int which, const sim_fault_t *f) {
  (void)f;
  mta_set_enabled(s, which == 1);
}

static const sim_fault_kind_t mta_faults[] = {
    {"mta_disable", "Stop MTA Stacks: gateway out threads take no transit mail."},
    {"mta_enable", "Start MTA Stacks again."},
    {NULL, NULL}};

const store_mech_t store_mta_mech = {
    .part = {.name = "mta",
             .title = "KB924567: MTA Stacks and the transit mail flush",
             .file = "sim/store/mta.c",
             .fix = "kb924567",
             .fix_doc = "The store treats Gateway Out Threads = 0 as the sign of a disabled MTA "
                        "and registers no transit flush.",
             .metrics = mta_metrics,
             .plots = mta_plots},
    .params = mta_params,
    .faults = mta_faults,
    .fault = mta_fault,
    .kinds = mta_kinds,
    .init = mta_init,
    /* Gateway Out Threads and the transit mail flush (KB924567) are Exchange
     * 2000/2003's; the 5.5 MTA (X.400, site connectors) is not modelled */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
