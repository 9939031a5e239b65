/*
 * storesim: the generic queueing model (see include/storesim/qmodel.h).
 *
 * Customer states and the calls that move them:
 *
 *   (none)  -> WAITING  arrival: spawned by the "arrivals" thread or the burst
 *                       callback [spawn_customer]
 *   WAITING -> SERVED   sim_sem_acquire(_until) got a worker [customer]
 *   WAITING -> GONE     patience ran out (queue.timeouts) or canceled
 *   SERVED  -> GONE     service time elapsed; the worker is released
 *   (none)  -> GONE     rejected: capacity waiting customers already
 *
 * Invariants: queue.length == customers in WAITING; queue.busy == workers
 * held by customers (<= workers); every customer record comes from the
 * model's slab and returns to it, so destroy frees all of them even when the
 * world is torn down with customers still blocked.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "storesim/metrics.h"
#include "storesim/qmodel.h"
#include "storesim/sim.h"
#include "storesim/sync.h"
#include "storesim/proc.h"
#include "storesim/trace.h"
#include <stdio.h>

#define QOFF(f) offsetof(qm_config_t, f)
#define NS 1e9

static const sim_param_t qm_params[] = {
    {"queue.workers", SIM_P_INT, QOFF(workers), 1, 1e6, "1",
     "Number of workers c (servers) that serve customers in parallel."},
    {"queue.capacity", SIM_P_INT, QOFF(capacity), 0, 1e9, "0",
     "Most customers that may wait at once; later arrivals are rejected (0 = unlimited)."},
    {"queue.patience", SIM_P_DURATION, QOFF(patience), 0, 1e18, "0",
     "A customer gives up after waiting this long (0 = waits forever)."},
    {"queue.warmup", SIM_P_DURATION, QOFF(warmup), 0, 1e18, "0",
     "Customers arriving before this time are not counted in queue.wait, queue.response and queue.p_wait."},
    {"arrivals.interarrival", SIM_P_DIST_TIME, QOFF(interarrival), 1, 1e18, "exp(1s)",
     "Time between arrivals: exp(mean) gives Poisson arrivals at rate 1/mean, const(x) constant arrivals."},
    {"arrivals.batch", SIM_P_INT, QOFF(batch), 1, 1e6, "1",
     "Customers arriving together at each arrival instant."},
    {"arrivals.limit", SIM_P_INT, QOFF(limit), 0, 1e12, "0",
     "Stop after this many arrival instants (0 = unlimited)."},
    {"arrivals.start", SIM_P_DURATION, QOFF(start), 0, 1e18, "0",
     "Time of the first arrival process step."},
    {"burst.at", SIM_P_DURATION, QOFF(burst_at), 0, 1e18, "0",
     "Time of a one-off burst of burst.count customers."},
    {"burst.count", SIM_P_INT, QOFF(burst_count), 0, 1e7, "0",
     "Customers arriving at once at burst.at (0 = no burst)."},
    {"service.time", SIM_P_DIST_TIME, QOFF(service), 0, 1e18, "exp(500ms)",
     "Service time of one customer: exp(mean) for M/M/c, const(x) for M/D/c."},
    {"service.cpu", SIM_P_BOOL, QOFF(service_cpu), 0, 0, "false",
     "Serve by burning CPU on the simulated cores instead of sleeping."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

enum { F_ARRIVALS_STOP, F_ARRIVALS_START, F_WORKER_REMOVE, F_WORKER_ADD };
static const sim_fault_kind_t qm_faults[] = {
    {"arrivals_stop", "Stops the arrival process (a burst still happens)."},
    {"arrivals_start", "Restarts a stopped arrival process."},
    {"worker_remove", "Takes one worker away, as soon as it is free."},
    {"worker_add", "Adds one worker."},
    {NULL, NULL}};

static const char *const qm_fixes[] = {NULL};

typedef struct qm qm_t;

typedef struct fault_ev {
  qm_t *q;
  int kind;
} fault_ev_t;

typedef struct customer {
  qm_t *q;
  sim_time_t service; /* drawn at arrival: common random numbers */
  struct customer *next;
} customer_t;

#define SLAB 256
typedef struct slab {
  struct slab *next;
  customer_t c[SLAB];
} slab_t;

struct qm {
  sim_world_t *w;
  qm_config_t cfg;   /* copy; dists point into the caller's config */
  sim_sem_t *workers;
  sim_rng_t rng_arrivals, rng_service;
  int arrivals_on;
  uint64_t waiting, counted, waited;
  slab_t *slabs;
  customer_t *free;
  fault_ev_t *fevs; /* one per fault, the sim_at callback arguments */
  sim_metric_t *m_wait, *m_response, *m_p_wait, *m_length, *m_in_system,
      *m_busy, *m_arrivals, *m_served, *m_rejected, *m_timeouts;
};

static customer_t *customer_get(qm_t *q) {
  if (!q->free) {
    slab_t *s = sim_xcalloc(1, sizeof *s); /* a lost arrival would be a wrong result */
    s->next = q->slabs;
    q->slabs = s;
    for (int i = 0; i < SLAB; i++) {
      s->c[i].next = q->free;
      q->free = &s->c[i];
    }
  }
  customer_t *c = q->free;
  q->free = c->next;
  c->q = q;
  return c;
}

static void customer_put(customer_t *c) {
  qm_t *q = c->q;
  c->next = q->free;
  q->free = c;
}

static void customer(void *arg) {
  customer_t *c = arg;
  qm_t *q = c->q;
  sim_world_t *w = q->w;
  sim_time_t t0 = sim_now(w), service = c->service;
  int counted = t0 >= q->cfg.warmup, rc;

  customer_put(c);
  q->waiting++;
  sim_gauge_add(q->m_length, 1);
  sim_gauge_add(q->m_in_system, 1);
  if (q->cfg.patience > 0) rc = sim_sem_acquire_until(q->workers, t0 + q->cfg.patience);
  else rc = sim_sem_acquire(q->workers);
  q->waiting--;
  sim_gauge_add(q->m_length, -1);
  if (rc != 0) {
    sim_gauge_add(q->m_in_system, -1);
    if (rc == SIM_ETIMEDOUT) sim_counter_add(q->m_timeouts, 1);
    return;
  }
  sim_time_t wait = sim_now(w) - t0;
  if (counted) {
    q->counted++;
    q->waited += wait > 0;
    sim_sample_add(q->m_wait, (double)wait / NS);
    sim_gauge_set(q->m_p_wait, (double)q->waited / (double)q->counted);
  }
  sim_gauge_add(q->m_busy, 1);
  sim_thread_set_activity(sim_self(), "service");
  if (q->cfg.service_cpu) sim_cpu_burn(service);
  else sim_sleep(service);
  sim_gauge_add(q->m_busy, -1);
  sim_gauge_add(q->m_in_system, -1);
  sim_counter_add(q->m_served, 1);
  if (counted) sim_sample_add(q->m_response, (double)(sim_now(w) - t0) / NS);
  sim_progress();
  sim_sem_release(q->workers);
}

/* One arrival: rejected when the waiting room is full. */
static void spawn_customer(qm_t *q) {
  sim_time_t service = (sim_time_t)llround(sim_dist_sample(&q->cfg.service, &q->rng_service));
  sim_counter_add(q->m_arrivals, 1);
  if (q->cfg.capacity > 0 && q->waiting >= (uint64_t)q->cfg.capacity &&
      sim_sem_value(q->workers) <= 0) {
    sim_counter_add(q->m_rejected, 1);
    return;
  }
  customer_t *c = customer_get(q);
  c->service = service;
  if (!sim_thread_spawn(q->w, "customer", NULL, customer, c)) customer_put(c);
}

static void arrivals(void *arg) {
  qm_t *q = arg;
  int64_t n = 0;
  if (sim_sleep_until(q->cfg.start)) return;
  /* Arrival times are the running sum of the gaps (start to start), so time
   * spent between arrivals never stretches a gap. */
  sim_time_t next = sim_now(q->w);
  while (q->cfg.limit == 0 || n < q->cfg.limit) {
    sim_time_t gap = (sim_time_t)llround(sim_dist_sample(&q->cfg.interarrival, &q->rng_arrivals));
    next = gap > SIM_TIME_MAX - next ? SIM_TIME_MAX : next + gap;
    if (sim_sleep_until(next)) return;
    n++;
    if (!q->arrivals_on) continue; /* the draws go on: streams stay aligned */
    for (int64_t i = 0; i < q->cfg.batch; i++) spawn_customer(q);
  }
}

static void burst(sim_world_t *w, void *arg) {
  qm_t *q = arg;
  for (int64_t i = 0; i < q->cfg.burst_count; i++) spawn_customer(q);
}

static void worker_hold(void *arg) {
  qm_t *q = arg;
  sim_thread_set_activity(sim_self(), "removed worker");
  sim_sem_acquire(q->workers); /* the unit is never given back */
}

static void fault_cb(sim_world_t *w, void *arg) {
  fault_ev_t *fe = arg;
  qm_t *q = fe->q;
  sim_trace_emit(w, "fault", qm_faults[fe->kind].name, fe->kind);
  switch (fe->kind) {
  case F_ARRIVALS_STOP: q->arrivals_on = 0; break;
  case F_ARRIVALS_START: q->arrivals_on = 1; break;
  case F_WORKER_REMOVE: sim_thread_spawn(w, "worker-remove", NULL, worker_hold, q); break;
  case F_WORKER_ADD: sim_sem_release(q->workers); break;
  default: break;
  }
}

static void qm_destroy(void *inst);

static void *qm_create(const sim_model_t *m, sim_world_t *w, const void *cfgp, uint64_t fixes,
                       const sim_fault_t *faults, size_t nfaults, char *err, size_t nerr) {
  const qm_config_t *cfg = cfgp;
  (void)m;
  qm_t *q = sim_calloc(1, sizeof *q);
  if (!q) goto oom;
  q->w = w;
  q->cfg = *cfg;
  q->arrivals_on = 1;
  sim_rng_init(&q->rng_arrivals, sim_world_seed(w), "queue.arrivals");
  sim_rng_init(&q->rng_service, sim_world_seed(w), "queue.service");
  q->workers = sim_sem_create(w, "workers", cfg->workers);
  q->m_wait = sim_metric(w, "queue.wait", SIM_M_SAMPLE, "s");
  q->m_response = sim_metric(w, "queue.response", SIM_M_SAMPLE, "s");
  q->m_p_wait = sim_metric(w, "queue.p_wait", SIM_M_GAUGE, "");
  q->m_length = sim_metric(w, "queue.length", SIM_M_GAUGE, "");
  q->m_in_system = sim_metric(w, "queue.in_system", SIM_M_GAUGE, "");
  q->m_busy = sim_metric(w, "queue.busy", SIM_M_GAUGE, "");
  q->m_arrivals = sim_metric(w, "queue.arrivals", SIM_M_COUNTER, "");
  q->m_served = sim_metric(w, "queue.served", SIM_M_COUNTER, "");
  q->m_rejected = sim_metric(w, "queue.rejected", SIM_M_COUNTER, "");
  q->m_timeouts = sim_metric(w, "queue.timeouts", SIM_M_COUNTER, "");
  if (nfaults) {
    fault_ev_t *fe = sim_calloc(nfaults, sizeof *fe);
    if (!fe) goto oom;
    q->fevs = fe;
    for (size_t i = 0; i < nfaults; i++) {
      fe[i].q = q;
      fe[i].kind = faults[i].kind;
      sim_at(w, faults[i].at, fault_cb, &fe[i]);
    }
  }
  if (!sim_thread_spawn(w, "arrivals", NULL, arrivals, q)) {
    snprintf(err, nerr, "cannot spawn the arrival thread");
    qm_destroy(q);
    return NULL;
  }
  if (cfg->burst_count > 0) sim_at(w, cfg->burst_at, burst, q);
  (void)fixes;
  return q;
oom:
  snprintf(err, nerr, "out of host memory");
  qm_destroy(q);
  return NULL;
}

static void qm_finish(void *inst) {
  qm_t *q = inst;
  /* publish the final fraction even if no customer started service lately */
  if (q->counted) sim_gauge_set(q->m_p_wait, (double)q->waited / (double)q->counted);
}

static void qm_destroy(void *inst) {
  qm_t *q = inst;
  if (!q) return;
  while (q->slabs) {
    slab_t *s = q->slabs;
    q->slabs = s->next;
    free(s);
  }
  free(q->fevs);
  free(q);
}

static void qm_config_free(void *cfgp) {
  qm_config_t *cfg = cfgp;
  free(cfg->interarrival.values);
  free(cfg->service.values);
  cfg->interarrival.values = cfg->service.values = NULL;
}

static const sim_metric_desc_t qm_metrics[] = {
    {"queue.wait", SIM_M_SAMPLE, "s",
     "time from arrival to service start, per served customer arriving after `queue.warmup`"},
    {"queue.response", SIM_M_SAMPLE, "s", "wait plus service time, per such customer"},
    {"queue.p_wait", SIM_M_GAUGE, "", "fraction of those customers that waited at all"},
    {"queue.length", SIM_M_GAUGE, "", "customers waiting for a worker"},
    {"queue.in_system", SIM_M_GAUGE, "", "customers waiting or in service"},
    {"queue.busy", SIM_M_GAUGE, "", "workers busy"},
    {"queue.arrivals", SIM_M_COUNTER, "", "customers that arrived"},
    {"queue.served", SIM_M_COUNTER, "", "customers served"},
    {"queue.rejected", SIM_M_COUNTER, "", "customers rejected: `queue.capacity` were waiting"},
    {"queue.timeouts", SIM_M_COUNTER, "", "customers that gave up after `queue.patience`"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t qm_plots[] = {
    {"customers waiting", {"queue.length"}}, {"busy workers", {"queue.busy"}}, {NULL, {NULL}}};

static const sim_model_part_t qm_part = {
    .name = "queue",
    .title = "The queue",
    .file = "sim/store/qmodel.c",
    .metrics = qm_metrics,
    .plots = qm_plots,
};

static const sim_model_part_t *const qm_parts[] = {&qm_part, NULL};

const sim_model_t queue_model = {
    .name = "queue",
    .doc = "Generic queue: arrivals into a pool of c workers with a service-time distribution.",
    .params = qm_params,
    .faults = qm_faults,
    .fixes = qm_fixes,
    .parts = qm_parts,
    .config_size = sizeof(qm_config_t),
    .config_free = qm_config_free,
    .create = qm_create,
    .finish = qm_finish,
    .destroy = qm_destroy,
};
