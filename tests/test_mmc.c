/*
 * Validation against queueing theory: an M/M/c queue run through the
 * kernel -- one simulated thread per customer, a semaphore of c servers,
 * exponential inter-arrival and service times in virtual time -- must match
 * Erlang C: the probability of waiting P_w = C(c, a) with a = lambda / mu,
 * and the mean wait in queue W_q = P_w / (c mu - lambda).
 *
 * A short run (2 * 10^5 customers, the first 10 % discarded as warm-up)
 * at utilisation 0.75 (c = 10) and 0.8 (c = 6). The tolerances (W_q within 12 %, P_w within
 * 0.02) are about twice the spread seen over seeds for this run length, and
 * the same tolerances must reject the formula for c - 1 servers: a kernel
 * that lost a server, served customers too slowly or let them wait wrongly
 * fails. Little's law (L_q = lambda W_q) and the server utilisation
 * (a busy servers on average) are checked on the way.
 */
#include <math.h>

#include "ktest.h"

typedef struct mmc {
  double lambda, mu;
  int c;
  long customers, warmup, arrived;
  sim_sem_t *servers;
  sim_rng_t arr, svc;
  double wait_sum;
  long waited, measured;
  sim_metric_t *queue, *busy;
} mmc_t;

static void customer(void *arg) {
  mmc_t *m = arg;
  sim_world_t *w = sim_thread_world(sim_self());
  long idx = m->arrived++;
  sim_time_t t0 = sim_now(w);
  sim_gauge_add(m->queue, 1);
  cr_assert_eq(sim_sem_acquire(m->servers), 0);
  sim_gauge_add(m->queue, -1);
  sim_gauge_add(m->busy, 1);
  sim_time_t wq = sim_now(w) - t0;
  if (idx >= m->warmup) {
    m->wait_sum += (double)wq / 1e9;
    m->waited += wq > 0;
    m->measured++;
  }
  sim_sleep((sim_time_t)sim_rng_exp(&m->svc, 1e9 / m->mu));
  sim_gauge_add(m->busy, -1);
  sim_sem_release(m->servers);
}

static void arrivals(void *arg) {
  mmc_t *m = arg;
  sim_world_t *w = sim_thread_world(sim_self());
  for (long i = 0; i < m->customers; i++) {
    sim_sleep((sim_time_t)sim_rng_exp(&m->arr, 1e9 / m->lambda));
    cr_assert_not_null(sim_thread_spawn(w, "customer", NULL, customer, m));
  }
}

/* Erlang C for c servers, offered load a = lambda / mu < c. */
static void erlang_c(double lambda, double mu, int c, double *pw, double *wq) {
  double a = lambda / mu, term = 1, sum = 0;
  for (int k = 0; k < c; k++) {
    sum += term;
    term *= a / (k + 1);
  }
  double top = term / (1 - a / c); /* a^c / c! / (1 - rho) */
  *pw = top / (sum + top);
  *wq = *pw / (c * mu - lambda);
}

typedef struct {
  double wq, pw, lq, busy;
  uint64_t hash;
} mmc_result_t;

static mmc_result_t run_mmc(double lambda, double mu, int c, long customers,
                            uint64_t seed) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.seed = seed;
  o.stack_size = 16 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  static mmc_t m;
  memset(&m, 0, sizeof m);
  m.lambda = lambda;
  m.mu = mu;
  m.c = c;
  m.customers = customers;
  m.warmup = customers / 10;
  sim_rng_init(&m.arr, seed, "mmc.arrivals");
  sim_rng_init(&m.svc, seed, "mmc.service");
  m.servers = sim_sem_create(w, "servers", c);
  m.queue = sim_metric(w, "mmc.queue", SIM_M_GAUGE, "customers");
  m.busy = sim_metric(w, "mmc.busy", SIM_M_GAUGE, "servers");
  sim_thread_spawn(w, "arrivals", NULL, arrivals, &m);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(m.arrived, customers, "every customer was served");
  cr_assert_eq(sim_sem_value(m.servers), c, "every server was returned");
  mmc_result_t r;
  r.wq = m.wait_sum / (double)m.measured;
  r.pw = (double)m.waited / (double)m.measured;
  sim_metric_summary_t s;
  sim_metric_summarize(m.queue, &s);
  r.lq = s.twmean;
  sim_metric_summarize(m.busy, &s);
  r.busy = s.twmean;
  cr_assert_leq(s.max, c);
  r.hash = sim_world_trace_hash(w);
  kt_end(w, 0);
  return r;
}

#define WQ_TOL 0.12 /* relative */
#define PW_TOL 0.02 /* absolute */

static int matches(const mmc_result_t *r, double pw, double wq) {
  return fabs(r->wq - wq) <= WQ_TOL * wq && fabs(r->pw - pw) <= PW_TOL;
}

static void validate(double lambda, double mu, int c, uint64_t seed) {
  double pw, wq, pw_bad, wq_bad;
  erlang_c(lambda, mu, c, &pw, &wq);
  erlang_c(lambda, mu, c - 1, &pw_bad, &wq_bad);
  cr_assert_lt(lambda, (c - 1) * mu, "the c - 1 model must be stable too");
  mmc_result_t r = run_mmc(lambda, mu, c, 200000, seed);
  cr_log_info("M/M/%d lambda=%g mu=%g seed=%llu: W_q=%.5f (Erlang C %.5f) "
              "P_w=%.5f (%.5f) L_q=%.4f busy=%.4f",
              c, lambda, mu, (unsigned long long)seed, r.wq, wq, r.pw, pw,
              r.lq, r.busy);
  cr_assert(matches(&r, pw, wq),
            "M/M/%d: W_q=%.5f vs %.5f, P_w=%.5f vs %.5f", c, r.wq, wq, r.pw,
            pw);
  cr_assert_not(matches(&r, pw_bad, wq_bad),
                "the tolerance cannot tell c from c - 1 servers "
                "(W_q %.5f vs %.5f, P_w %.5f vs %.5f)",
                r.wq, wq_bad, r.pw, pw_bad);
  /* Little's law over the whole run (warm-up included, so looser). */
  cr_assert_float_eq(r.lq, lambda * wq, 0.15 * lambda * wq, "L_q=%.4f", r.lq);
  /* Offered load: a = lambda / mu servers busy on average. */
  cr_assert_float_eq(r.busy, lambda / mu, 0.03 * lambda / mu, "busy=%.4f",
                     r.busy);
}

Test(mmc, erlang_c_formula) {
  double pw, wq;
  /* M/M/1: P_w = rho, W_q = rho / (mu - lambda). */
  erlang_c(0.5, 1, 1, &pw, &wq);
  cr_assert_float_eq(pw, 0.5, 1e-12);
  cr_assert_float_eq(wq, 1.0, 1e-12);
  /* M/M/2, a = 1: P_w = 1/3, W_q = (1/3) / (2 - 1). */
  erlang_c(1, 1, 2, &pw, &wq);
  cr_assert_float_eq(pw, 1.0 / 3.0, 1e-12);
  cr_assert_float_eq(wq, 1.0 / 3.0, 1e-12);
}

Test(mmc, ten_servers_rho_075, .timeout = 600) { validate(7.5, 1.0, 10, 1); }

Test(mmc, six_servers_rho_08, .timeout = 600) { validate(24.0, 5.0, 6, 2); }

Test(mmc, same_seed_same_hash, .timeout = 600) {
  mmc_result_t a = run_mmc(7.5, 1.0, 10, 20000, 3);
  mmc_result_t b = run_mmc(7.5, 1.0, 10, 20000, 3);
  mmc_result_t d = run_mmc(7.5, 1.0, 10, 20000, 4);
  cr_assert_eq(a.hash, b.hash);
  cr_assert_eq(a.wq, b.wq);
  cr_assert_neq(a.hash, d.hash);
}
