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
 *
 * Suite mmc_erlang: the issue's own figures -- utilisation 0.9, 10^6
 * customers, mean wait within 3 % and P(wait) within 0.01 -- on single runs,
 * through the control-variate estimates of bench/mmc_stats.c (whose SD is
 * about 0.1 % where the raw mean wait's is 2.9 %), with c = 1, 2, 10, and
 * three wrong kernels it must reject.
 */
#include <math.h>
#include <stdlib.h>

#include "ktest.h"
#include "mmc_stats.h"

typedef struct mmc {
  double lambda, mu;
  int c;
  long customers, warmup, arrived;
  sim_sem_t *servers;
  sim_rng_t arr, svc;
  double wait_sum;
  long waited, measured;
  sim_metric_t *queue, *busy;
  mmc_obs_t *obs;  /* when set: arrival, start, end of each customer */
  double stretch;  /* injected bugs: service slept this much longer, */
  sim_time_t hold; /* and the server kept this long after the end */
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
  sim_sleep((sim_time_t)(sim_rng_exp(&m->svc, 1e9 / m->mu) * (1 + m->stretch)));
  if (m->obs)
    m->obs[idx] =
        (mmc_obs_t){(double)t0 * 1e-9, (double)(t0 + wq) * 1e-9, (double)sim_now(w) * 1e-9};
  if (m->hold) sim_sleep(m->hold);
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

typedef struct {
  double wq, pw, lq, busy;
  uint64_t hash;
} mmc_result_t;

/* The one M/M/c of this file, in a new world: *m filled in, the arrival
 * thread spawned, nothing run yet. */
static sim_world_t *mmc_world(mmc_t *m, double lambda, double mu, int c, long customers,
                              uint64_t seed) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.seed = seed;
  o.stack_size = 16 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  memset(m, 0, sizeof *m);
  m->lambda = lambda;
  m->mu = mu;
  m->c = c;
  m->customers = customers;
  m->warmup = customers / 10;
  sim_rng_init(&m->arr, seed, "mmc.arrivals");
  sim_rng_init(&m->svc, seed, "mmc.service");
  m->servers = sim_sem_create(w, "servers", c);
  m->queue = sim_metric(w, "mmc.queue", SIM_M_GAUGE, "customers");
  m->busy = sim_metric(w, "mmc.busy", SIM_M_GAUGE, "servers");
  sim_thread_spawn(w, "arrivals", NULL, arrivals, m);
  return w;
}

static mmc_result_t run_mmc(double lambda, double mu, int c, long customers, uint64_t seed) {
  static mmc_t m;
  sim_world_t *w = mmc_world(&m, lambda, mu, c, customers, seed);
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
  mmc_erlang_c(lambda, mu, c, &pw, &wq);
  mmc_erlang_c(lambda, mu, c - 1, &pw_bad, &wq_bad);
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

Test(mmc, erlang_c_formula) { /* bench/mmc_stats.c's, which every check here uses */
  double pw, wq;
  /* M/M/1: P_w = rho, W_q = rho / (mu - lambda). */
  mmc_erlang_c(0.5, 1, 1, &pw, &wq);
  cr_assert_float_eq(pw, 0.5, 1e-12);
  cr_assert_float_eq(wq, 1.0, 1e-12);
  /* M/M/2, a = 1: P_w = 1/3, W_q = (1/3) / (2 - 1). */
  mmc_erlang_c(1, 1, 2, &pw, &wq);
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

/* ---- agreement at utilisation up to 0.9 (bench/mmc_stats.h) ----
 * The raw mean wait of one run at rho = 0.9 has an SD of about 2.9 % at
 * 10^6 customers; the control-variate estimate of mmc_stats about 0.1 %, and
 * P(wait)'s about 0.05 percentage points. So these check what the issue
 * asks -- mean wait within 3 % and P(wait) within 0.01 of Erlang C -- on
 * single runs, together with the inputs the controls rely on (the service
 * and inter-arrival times the clock measured), and that the same checks
 * reject a kernel that keeps a server idle, stretches timers or lost a
 * server. */
typedef struct {
  double stretch;
  sim_time_t hold;
  int sim_c; /* servers actually simulated (0: c) */
} bug_t;

static int agrees(double lambda, double mu, int c, long customers, uint64_t seed, bug_t bug,
                  mmc_stats_t *st, char *why, size_t nwhy) {
  static mmc_t m;
  sim_world_t *w = mmc_world(&m, lambda, mu, bug.sim_c ? bug.sim_c : c, customers, seed);
  m.stretch = bug.stretch;
  m.hold = bug.hold;
  m.obs = malloc((size_t)customers * sizeof *m.obs);
  cr_assert_not_null(m.obs);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(m.arrived, customers);
  cr_assert_eq(mmc_stats_compute(lambda, mu, c, m.obs, customers, m.warmup, 50, st), 0);
  int ok = mmc_stats_verdict(st, 0.03, 0.01, why, nwhy);
  cr_log_info("M/M/%d lambda=%g mu=%g n=%ld seed=%llu: raw W_q %.5f, adjusted %.5f +- %.5f, "
              "Erlang C %.5f; P_w raw %.5f adjusted %.5f, Erlang C %.5f: %s",
              c, lambda, mu, customers, (unsigned long long)seed, st->mean_wait, st->wait_cv,
              st->wait_cv_se, st->erlang_wait, st->p_wait, st->p_wait_cv, st->erlang_p, why);
  free(m.obs);
  kt_end(w, 0);
  return ok;
}

static void assert_agrees(double lambda, double mu, int c, long customers, uint64_t seed) {
  mmc_stats_t st;
  char why[512];
  bug_t none = {0, 0, 0};
  cr_assert(agrees(lambda, mu, c, customers, seed, none, &st, why, sizeof why),
            "M/M/%d lambda=%g mu=%g: %s", c, lambda, mu, why);
  /* far inside the band: 1 % is about 10 SD at 10^6 customers */
  cr_assert_lt(fabs(st.wait_cv / st.erlang_wait - 1), 0.01, "adjusted W_q %.5f vs %.5f", st.wait_cv,
               st.erlang_wait);
}

/* The example: lambda = 9/s, mu = 1/s, c = 10 over 10^6 customers. */
Test(mmc_erlang, ten_servers_rho_09_million, .timeout = 900) {
  assert_agrees(9, 1, 10, 1000000, 1);
}
Test(mmc_erlang, one_server_rho_09, .timeout = 900) { assert_agrees(0.9, 1, 1, 300000, 2); }
Test(mmc_erlang, two_servers_rho_09, .timeout = 900) { assert_agrees(3.6, 2, 2, 300000, 3); }
Test(mmc_erlang, ten_servers_rho_05, .timeout = 900) { assert_agrees(5, 1, 10, 300000, 4); }

static void assert_rejected(bug_t bug, double lambda, int c, const char *what) {
  mmc_stats_t st;
  char why[512];
  cr_assert_not(agrees(lambda, 1, c, 300000, 5, bug, &st, why, sizeof why),
                "a wrong kernel passed: %s", why);
  kt_assert_contains(why, what);
}

/* A server kept 10 ms past each service: queue logic that idles a server. */
Test(mmc_erlang, rejects_an_idle_server, .timeout = 900) {
  assert_rejected((bug_t){0, 10 * SIM_MS, 0}, 9, 10, "adjusted mean wait");
}
/* Timers 3 % long: the inputs are wrong (and the controls would absorb it). */
Test(mmc_erlang, rejects_stretched_timers, .timeout = 900) {
  assert_rejected((bug_t){0.03, 0, 0}, 9, 10, "mean service time");
}
/* A server lost (c - 1 at utilisation 0.5, still stable). */
Test(mmc_erlang, rejects_a_lost_server, .timeout = 900) {
  assert_rejected((bug_t){0, 0, 9}, 5, 10, "adjusted mean wait");
}

/* ---- storesim-bench's command line: a typo or a bad value is a usage error
 * (exit 2, one line naming it), never a run with a default. ---- */
static int bench(const char *args, char *out, size_t n) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s/storesim-bench' %s 2>&1", STORESIM_BINARY_DIR, args);
  return kt_sh(cmd, out, n);
}

Test(bench_cli, bad_options_are_usage_errors) {
  static const struct {
    const char *args, *says;
  } cases[] = {
      {"", "usage: storesim-bench"},
      {"frob", "unknown benchmark 'frob'"},
      {"mmc --custmers 10", "storesim-bench mmc: unknown option '--custmers'"},
      {"mmc --customers", "--customers needs a value"},
      {"mmc --customers 5", "--customers: '5' is not an integer in [10, 1000000000]"},
      {"mmc --customers 1e30", "is not an integer"},
      {"mmc --customers 12x", "is not an integer"},
      {"mmc --lambda -1", "--lambda: '-1' is not a positive number"},
      {"mmc --lambda nan", "is not a positive number"},
      {"mmc --lambda 10", "lambda/(servers*mu) < 1"},
      {"switch --reps 100", "--reps: '100' is not an integer in [1, 64]"},
      {"threads --n 0", "--n: '0' is not an integer"},
      {"timers --check", "unknown option '--check'"},
  };
  char out[4096];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = bench(cases[i].args, out, sizeof out);
    cr_expect_eq(rc, 2, "storesim-bench %s: exit %d\n%s", cases[i].args, rc, out);
    cr_expect(strstr(out, cases[i].says), "storesim-bench %s said:\n%s", cases[i].args, out);
  }
  cr_expect_eq(bench("--help", out, sizeof out), 0);
  cr_expect(strstr(out, "exit status"), "%s", out);
  cr_expect_eq(bench("mmc --customers 1e4 --seed 2", out, sizeof out), 0, "%s", out);
  cr_expect(strstr(out, "customers=10000 "), "%s", out);
}
