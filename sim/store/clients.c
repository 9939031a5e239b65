/*
 * storesim store model: Outlook Web Access and Outlook (MAPI) clients.
 *
 * Open arrivals: a generator thread per client type sleeps exponential gaps
 * and spawns one request thread per arrival. An OWA request needs a store task
 * (store_call, kind "owa") and gives up after workload.owa.timeout; a MAPI
 * RPC first passes the store's RPC admission (store_rpc_begin: refused beyond
 * store.rpc_limit in flight), then needs a task (kind "rpc", store_rpc_call:
 * the store times the RPCs it completes), and gives up after
 * workload.mapi.timeout. A request that gives up while its work is
 * queued withdraws it; one that gives up while a task runs it leaves it to
 * finish (detached), as a client that closes its connection would.
 *
 * Request states (per request thread):
 *   ARRIVED -> REFUSED (admission) | TIMED OUT | DONE (latency sampled)
 *
 * The service time of a request is drawn by the generator, so the work
 * function needs no shared random stream (passed as the call's value).
 */
#include <stdio.h>
#include <stdlib.h>

#include "storesim/alloc.h"
#include "store_int.h"

/* The argument of one request thread, from a pool the component owns (so a
 * thread that never ran when the world is destroyed leaks nothing). */
typedef struct request {
  struct request *next;      /* free list */
  struct client_gen *g;
  sim_time_t service;
} request_t;

typedef struct client_gen {
  struct store_clients *c;
  int mapi; /* 0: OWA, 1: MAPI */
  double rate;
  sim_time_t timeout;
  const sim_dist_t *service;
  sim_rng_t rng;
  store_deadlines_t *dl; /* the timeouts of its direct requests */
} client_gen_t;

struct store_clients {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock; /* the request pool */
  request_t *free_reqs;
  request_t **all;
  size_t nall, capall;
  client_gen_t gen[2];
  sim_metric_t *m_owa_requests, *m_owa_latency, *m_owa_timeouts, *m_owa_done;
  sim_metric_t *m_owa_failed;
  sim_metric_t *m_mapi_requests, *m_mapi_timeouts, *m_mapi_refused;
  sim_metric_t *m_mapi_done, *m_mapi_latency, *m_mapi_failed;
};

/* An OWA request or MAPI RPC: one write (a version store page until the
 * operation commits; full: 0x8004060C), then the service time. */
static int serve_fn(store_t *s, void *arg, int64_t service) {
  (void)arg;
  int rc = store_vs_write_self(s);
  if (rc != 0) return rc;
  if (sim_sleep((sim_time_t)service) != 0) return STORE_EDOWN;
  return 0;
}

/* The outcome of one request, as its client sees it at its end: rc as
 * store_call returns it with `detach`, lat from its arrival. */
static void request_outcome(client_gen_t *g, int rc, sim_time_t lat) {
  struct store_clients *c = g->c;
  if (!g->mapi) {
    if (rc == SIM_ETIMEDOUT) {
      sim_counter_add(c->m_owa_timeouts, 1);
      sim_sample_add(c->m_owa_latency, (double)lat / SIM_MS);
    } else if (rc == 0) {
      sim_counter_add(c->m_owa_done, 1);
      sim_sample_add(c->m_owa_latency, (double)lat / SIM_MS);
    } else {
      sim_counter_add(c->m_owa_failed, 1);
    }
    return;
  }
  if (rc == SIM_ETIMEDOUT) sim_counter_add(c->m_mapi_timeouts, 1);
  else if (rc == 0) sim_counter_add(c->m_mapi_done, 1);
  else sim_counter_add(c->m_mapi_failed, 1);
  sim_sample_add(c->m_mapi_latency, (double)lat / SIM_MS);
}

/* A request that found a free task (store_call_direct) is answered here,
 * on the task that ran it or on the generator's deadline thread. */
static void direct_answer(store_t *s, void *arg, int64_t service, int rc, sim_time_t since) {
  (void)service;
  request_outcome(arg, rc, sim_now(s->w) - since);
}

/* A request that must wait for a task (or be refused, or find the store
 * down): a thread of its own waits, as a client does. */
static void request_main(void *arg) {
  request_t *rp = arg;
  request_t r = *rp;
  client_gen_t *g = r.g;
  struct store_clients *c = g->c;
  sim_mutex_lock(c->lock);
  rp->next = c->free_reqs;
  c->free_reqs = rp;
  sim_mutex_unlock(c->lock);
  store_t *s = c->s;
  sim_time_t t0 = sim_now(s->w);
  if (!g->mapi) {
    sim_counter_add(c->m_owa_requests, 1);
    int rc = store_call(s, STORE_K_OWA, serve_fn, NULL, r.service,
                        t0 + g->timeout, 1);
    request_outcome(g, rc, sim_now(s->w) - t0);
    if (rc == 0) sim_progress();
    return;
  }
  sim_counter_add(c->m_mapi_requests, 1);
  int rc = store_rpc_begin(s);
  if (rc != 0) {
    if (rc == STORE_EREFUSED)
      sim_counter_add(c->m_mapi_refused, 1);
    else
      sim_counter_add(c->m_mapi_failed, 1);
    return;
  }
  rc = store_rpc_call(s, STORE_K_RPC, serve_fn, NULL, r.service, t0 + g->timeout, 1);
  sim_time_t lat = sim_now(s->w) - t0;
  store_rpc_end(s);
  request_outcome(g, rc, lat);
  if (rc == 0) sim_progress();
}

static void generator_main(void *arg) {
  client_gen_t *g = arg;
  store_t *s = g->c->s;
  sim_time_t next = sim_now(s->w);
  for (;;) {
    sim_time_t gap = store_arrival_gap(s, g->mapi ? STORE_STREAM_MAPI : STORE_STREAM_OWA, g->rate,
                                       &g->rng, next);
    if (gap < 0 || store_arrival_wait(&next, gap) != 0) return;
    struct store_clients *c = g->c;
    sim_time_t service = (sim_time_t)sim_dist_sample(g->service, &g->rng);
    if (store_call_direct(s, g->dl, g->mapi ? STORE_K_RPC : STORE_K_OWA, serve_fn, service,
                          sim_now(s->w) + g->timeout, g->mapi, direct_answer, g)) {
      sim_counter_add(g->mapi ? c->m_mapi_requests : c->m_owa_requests, 1);
      continue;
    }
    sim_mutex_lock(c->lock);
    request_t *r = c->free_reqs;
    if (r) {
      c->free_reqs = r->next;
    } else {
      r = sim_calloc(1, sizeof *r);
      if (c->nall == c->capall) {
        c->capall = c->capall ? 2 * c->capall : 64;
        request_t **a = sim_realloc(c->all, c->capall * sizeof *a);
        if (!a) sim_alloc_die(0);
        c->all = a;
      }
      if (!r) sim_alloc_die(0);
      c->all[c->nall++] = r;
    }
    sim_mutex_unlock(c->lock);
    r->g = g;
    r->service = service;
    if (!sim_thread_spawn(s->w, g->mapi ? "mapi-rpc" : "owa-request", c->proc,
                          request_main, r)) {
      sim_mutex_lock(c->lock);
      r->next = c->free_reqs;
      c->free_reqs = r;
      sim_mutex_unlock(c->lock);
    }
  }
}

static void clients_destroy(void *self) {
  struct store_clients *c = self;
  for (size_t i = 0; i < c->nall; i++) free(c->all[i]);
  free(c->all);
  free(c);
}

static const store_component_t clients_component = {
    .name = "clients",
    .destroy = clients_destroy,
};

static int clients_init(store_t *s, char *err, size_t nerr) {
  struct store_clients *c = sim_calloc(1, sizeof *c);
  if (!c) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  const store_config_t *cfg = s->cfg;
  c->s = s;
  c->proc = sim_proc_create(w, "clients", 0);
  c->lock = sim_mutex_create(w, "clients.pool");
  c->m_owa_requests = sim_metric(w, "owa.requests", SIM_M_COUNTER, "");
  c->m_owa_done = sim_metric(w, "owa.completed", SIM_M_COUNTER, "");
  c->m_owa_timeouts = sim_metric(w, "owa.timeouts", SIM_M_COUNTER, "");
  c->m_owa_failed = sim_metric(w, "owa.failed", SIM_M_COUNTER, "");
  c->m_owa_latency = sim_metric(w, "owa.latency", SIM_M_SAMPLE, "ms");
  c->m_mapi_requests = sim_metric(w, "mapi.requests", SIM_M_COUNTER, "");
  c->m_mapi_done = sim_metric(w, "mapi.completed", SIM_M_COUNTER, "");
  c->m_mapi_timeouts = sim_metric(w, "mapi.timeouts", SIM_M_COUNTER, "");
  c->m_mapi_refused = sim_metric(w, "mapi.refused", SIM_M_COUNTER, "");
  c->m_mapi_failed = sim_metric(w, "mapi.failed", SIM_M_COUNTER, "");
  c->m_mapi_latency = sim_metric(w, "mapi.latency", SIM_M_SAMPLE, "ms");
  c->gen[0] = (client_gen_t){c, 0, cfg->owa_rate, cfg->owa_timeout,
                             &cfg->owa_service, {{0}}};
  c->gen[1] = (client_gen_t){c, 1, cfg->mapi_rate, cfg->mapi_timeout,
                             &cfg->mapi_service, {{0}}};
  store_rng(s, &c->gen[0].rng, "store.clients.owa");
  store_rng(s, &c->gen[1].rng, "store.clients.mapi");
  s->clients = c;
  store_component_add(s, &clients_component, c);
  for (int i = 0; i < 2; i++)
    if (c->gen[i].rate > 0 || store_arrival_driven(s, i ? STORE_STREAM_MAPI : STORE_STREAM_OWA)) {
      c->gen[i].dl = store_deadlines_create(s, c->proc, i ? "mapi-timeouts" : "owa-timeouts");
      sim_thread_spawn(w, i ? "mapi-clients" : "owa-clients", c->proc,
                       generator_main, &c->gen[i]);
    }
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t clients_params[] = {
    {"workload.owa.rate", SIM_P_RATE, STORE_CFG(owa_rate), 0, 10000, "0.2/s",
     "Outlook Web Access requests per second (Poisson).", .shrinkable = true},
    {"workload.owa.timeout", SIM_P_DURATION, STORE_CFG(owa_timeout), 0, STORE_TMAX, "60s",
     "An OWA client gives up after this."},
    {"workload.owa.service", SIM_P_DIST_TIME, STORE_CFG(owa_service), 0, STORE_TMAX, "exp(100ms)",
     "Task time of one OWA request."},
    {"workload.mapi.rate", SIM_P_RATE, STORE_CFG(mapi_rate), 0, 10000, "0.5/s",
     "MAPI (Outlook) RPCs per second (Poisson).", .shrinkable = true},
    {"workload.mapi.timeout", SIM_P_DURATION, STORE_CFG(mapi_timeout), 0, STORE_TMAX, "60s",
     "An Outlook client gives up on an RPC after this."},
    {"workload.mapi.service", SIM_P_DIST_TIME, STORE_CFG(mapi_service), 0, STORE_TMAX, "exp(20ms)",
     "Task time of one MAPI RPC."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t clients_metrics[] = {
    {"owa.requests", SIM_M_COUNTER, "", "OWA requests issued"},
    {"owa.completed", SIM_M_COUNTER, "", "requests answered in time"},
    {"owa.timeouts", SIM_M_COUNTER, "", "requests given up after `workload.owa.timeout`"},
    {"owa.failed", SIM_M_COUNTER, "", "requests that failed because the store was down"},
    {"owa.latency", SIM_M_SAMPLE, "ms", "latency per request (timeouts count at the timeout)"},
    {"mapi.requests", SIM_M_COUNTER, "", "Outlook RPCs issued"},
    {"mapi.completed", SIM_M_COUNTER, "", "RPCs answered in time"},
    {"mapi.timeouts", SIM_M_COUNTER, "", "RPCs given up after `workload.mapi.timeout`"},
    {"mapi.refused", SIM_M_COUNTER, "", "RPCs refused by the admission limit"},
    {"mapi.failed", SIM_M_COUNTER, "", "RPCs that failed because the store was down"},
    {"mapi.latency", SIM_M_SAMPLE, "ms",
     "latency per admitted RPC as the client saw it: an RPC it gave up on counts at "
     "`workload.mapi.timeout`, whether or not the store ever ran it (the store's own view: "
     "`rpc.latency`)"},
    {NULL, 0, NULL, NULL}};

static const char *const clients_kinds[] = {"rpc", "owa", NULL};

const store_mech_t store_clients_mech = {
    .part = {.name = "clients",
             .title = "OWA and Outlook clients",
             .file = "sim/store/clients.c",
             .metrics = clients_metrics,
             .plots = NULL},
    .params = clients_params,
    .kinds = clients_kinds,
    .init = clients_init,
};
