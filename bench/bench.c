/*
 * storesim-bench: micro and model benchmarks of the kernel.
 *
 *   storesim-bench switch [--n N]          context switch cost
 *   storesim-bench mmc --lambda L --mu M --servers C --customers N --seed S
 *                         [--check]        M/M/c speed, and its agreement
 *                                          with Erlang C (mmc_stats.h); with
 *                                          --check, exit 1 if it disagrees
 *   storesim-bench timers [--threads K] [--events N]
 *   storesim-bench threads [--n N]         memory per idle simulated thread
 *   storesim-bench handoff [--n N]         a thread hand-off, threads backend
 *                                          against the virtual one
 *
 * Each prints one line of key=value pairs. Wall-clock time is used here and
 * only here: it measures the harness, it never feeds a simulation.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storesim/metrics.h"
#include "storesim/proc.h"
#include "storesim/sim.h"
#include "storesim/sync.h"
#include "storesim/trace.h"

#include "mmc_stats.h"

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the process (user + system), for the timed span's cpu_s=. */
static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- options ----
 * Each benchmark names the options it takes; anything else is a usage error
 * (exit 2), as is a missing or malformed value or one out of range: a typo
 * must not run the benchmark with a default. */
typedef struct bench_opt {
  const char *name;
  bool flag; /* takes no value */
} bench_opt_t;

static const char *g_bench = "storesim-bench"; /* "storesim-bench mmc" once known */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_bench);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (storesim-bench --help)\n");
  exit(2);
}

static void check_opts(int argc, char **argv, const bench_opt_t *opts) {
  for (int i = 2; i < argc; i++) {
    const bench_opt_t *o = opts;
    while (o->name && strcmp(o->name, argv[i]) != 0) o++;
    if (!o->name) usage_error("unknown option '%s'", argv[i]);
    if (!o->flag && ++i >= argc) usage_error("%s needs a value", o->name);
  }
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def) {
  for (int i = 2; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

static int arg_flag(int argc, char **argv, const char *name) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

/* A real number > 0 (rates). */
static double arg_pos(int argc, char **argv, const char *name, double def) {
  const char *s = arg_str(argc, argv, name, NULL);
  if (!s) return def;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || end == s || errno || !isfinite(v) || v <= 0)
    usage_error("%s: '%s' is not a positive number", name, s);
  return v;
}

/* An integer in [lo, hi]; "1e6" is accepted when it is a whole number. */
static long long arg_int(int argc, char **argv, const char *name, long long def, long long lo,
                         long long hi) {
  const char *s = arg_str(argc, argv, name, NULL);
  if (!s) return def;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end != s && (*end == 'e' || *end == 'E' || *end == '.')) {
    double d = strtod(s, &end);
    v = d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d ? (long long)d : lo - 1;
  }
  if (*end || end == s || errno || v < lo || v > hi) {
    char range[96];
    snprintf(range, sizeof range, "'%s' is not an integer in [%lld, %lld]", s, lo, hi);
    usage_error("%s: %s", name, range);
  }
  return v;
}

static sim_world_t *world_on(int backend, uint64_t seed, size_t stack) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.backend = backend;
  o.seed = seed;
  if (stack)
    o.stack_size = stack;
  sim_world_t *w;
  char err[256];
  if (sim_world_create(&o, &w, err, sizeof err) != 0) {
    fprintf(stderr, "storesim-bench: %s\n", err);
    exit(3);
  }
  return w;
}

static sim_world_t *world(uint64_t seed, size_t stack) {
  return world_on(SIM_BACKEND_VIRTUAL, seed, stack);
}

/* ---- switch ---- */
static long g_iters;
static void yielder(void *arg) {
  (void)arg;
  for (long i = 0; i < g_iters; i++)
    sim_yield();
}

static int bench_switch(int argc, char **argv) {
  g_iters = (long)arg_int(argc, argv, "--n", 2000000, 1, 1000000000);
  int reps = (int)arg_int(argc, argv, "--reps", 7, 1, 64);
  double per[64];
  for (int r = 0; r < reps; r++) {
    sim_world_t *w = world(1, 0);
    sim_thread_spawn(w, "a", NULL, yielder, NULL);
    sim_thread_spawn(w, "b", NULL, yielder, NULL);
    double t0 = wall();
    sim_world_run(w, SIM_TIME_MAX);
    double dt = wall() - t0;
    /* each yield: thread -> scheduler -> other thread = 2 context switches */
    double nswitch = 2.0 * 2.0 * (double)g_iters;
    per[r] = dt * 1e9 / nswitch;
    sim_world_destroy(w);
  }
  qsort(per, (size_t)reps, sizeof *per, cmp_d);
  printf("ns_per_switch=%.2f ns_per_yield_handoff=%.2f reps=%d yields=%ld\n",
         per[reps / 2], 2 * per[reps / 2], reps, 2 * g_iters);
  return 0;
}

/* ---- handoff: the threads backend against the virtual one ----
 * Two threads pass a token through two semaphores (ping, pong), n rounds:
 * 2n hand-offs, each a block of one thread and the wake of the other; on
 * the threads backend a real pthread hand-off (GIL, condition variable). */
typedef struct pingpong {
  sim_sem_t *ping, *pong;
  long n;
} pingpong_t;
static void pinger(void *arg) {
  pingpong_t *p = arg;
  for (long i = 0; i < p->n; i++) {
    sim_sem_release(p->ping);
    sim_sem_acquire(p->pong);
  }
}
static void ponger(void *arg) {
  pingpong_t *p = arg;
  for (long i = 0; i < p->n; i++) {
    sim_sem_acquire(p->ping);
    sim_sem_release(p->pong);
  }
}

static double handoff_ns(int backend, long n) {
  sim_world_t *w = world_on(backend, 1, 0);
  pingpong_t p = {sim_sem_create(w, "ping", 0), sim_sem_create(w, "pong", 0), n};
  sim_thread_spawn(w, "ping", NULL, pinger, &p);
  sim_thread_spawn(w, "pong", NULL, ponger, &p);
  double t0 = wall();
  if (sim_world_run(w, SIM_TIME_MAX) != 0) {
    fprintf(stderr, "storesim-bench: handoff: the run failed\n");
    exit(3);
  }
  double dt = wall() - t0;
  sim_world_destroy(w);
  return dt * 1e9 / (2.0 * (double)n);
}

static int bench_handoff(int argc, char **argv) {
  long n = (long)arg_int(argc, argv, "--n", 20000, 1, 100000000);
  int reps = (int)arg_int(argc, argv, "--reps", 5, 1, 64);
  double v[64], t[64];
  for (int r = 0; r < reps; r++) {
    v[r] = handoff_ns(SIM_BACKEND_VIRTUAL, n);
    t[r] = handoff_ns(SIM_BACKEND_THREADS, n);
  }
  qsort(v, (size_t)reps, sizeof *v, cmp_d);
  qsort(t, (size_t)reps, sizeof *t, cmp_d);
  printf("virtual_ns_per_handoff=%.1f threads_ns_per_handoff=%.1f ratio=%.0f reps=%d "
         "handoffs=%ld\n",
         v[reps / 2], t[reps / 2], t[reps / 2] / v[reps / 2], reps, 2 * n);
  return 0;
}

/* ---- M/M/c ---- */
typedef struct mmc {
  double lambda, mu;
  long customers, warmup;
  sim_sem_t *servers;
  sim_rng_t arr, svc;
  long served;
  sim_metric_t *m_wait;
  mmc_obs_t *obs; /* what the clock said of each customer, for mmc_stats */
} mmc_t;

static void customer(void *arg) {
  mmc_t *m = arg;
  long idx = m->served++;
  sim_world_t *w = sim_thread_world(sim_self());
  sim_time_t t0 = sim_now(w);
  sim_sem_acquire(m->servers);
  sim_time_t t1 = sim_now(w);
  if (idx >= m->warmup) sim_sample_add(m->m_wait, (double)(t1 - t0) / 1e9);
  sim_sleep((sim_time_t)(sim_rng_exp(&m->svc, 1e9 / m->mu)));
  m->obs[idx] = (mmc_obs_t){(double)t0 * 1e-9, (double)t1 * 1e-9, (double)sim_now(w) * 1e-9};
  sim_sem_release(m->servers);
}

static void arrivals(void *arg) {
  mmc_t *m = arg;
  sim_world_t *w = sim_thread_world(sim_self());
  for (long i = 0; i < m->customers; i++) {
    sim_sleep((sim_time_t)sim_rng_exp(&m->arr, 1e9 / m->lambda));
    sim_thread_spawn(w, "customer", NULL, customer, m);
  }
}

static int bench_mmc(int argc, char **argv) {
  mmc_t m = {0};
  m.lambda = arg_pos(argc, argv, "--lambda", 9);
  m.mu = arg_pos(argc, argv, "--mu", 1);
  int c = (int)arg_int(argc, argv, "--servers", 10, 1, 100000);
  m.customers = (long)arg_int(argc, argv, "--customers", 1000000, 10, 1000000000);
  uint64_t seed = (uint64_t)arg_int(argc, argv, "--seed", 1, 0, INT64_MAX);
  m.warmup = m.customers / 10;
  if (m.lambda <= 0 || m.mu <= 0 || c < 1 || m.lambda / (c * m.mu) >= 1 ||
      m.customers < 10) {
    fprintf(stderr, "storesim-bench mmc: need lambda, mu > 0, servers >= 1, "
                    "lambda/(servers*mu) < 1, customers >= 10\n");
    return 2;
  }
  sim_world_t *w = world(seed, 16384);
  sim_rng_init(&m.arr, seed, "mmc.arrivals");
  sim_rng_init(&m.svc, seed, "mmc.service");
  m.servers = sim_sem_create(w, "servers", c);
  m.m_wait = sim_metric(w, "mmc.wait", SIM_M_SAMPLE, "s");
  m.obs = malloc((size_t)m.customers * sizeof *m.obs);
  if (!m.obs) {
    fprintf(stderr, "storesim-bench mmc: out of memory\n");
    return 3;
  }
  /* first touch of the record outside the timed span: page faults are the
   * host's cost of the bench's bookkeeping, not the simulation's. A plain
   * memset would not do: the compiler folds malloc + memset(0) into calloc,
   * which leaves the pages untouched (it did, at -O2). */
  for (size_t i = 0; i < (size_t)m.customers; i++) ((volatile mmc_obs_t *)m.obs)[i].start = 0;
  sim_thread_spawn(w, "arrivals", NULL, arrivals, &m);
  double t0 = wall(), c0 = cpu();
  int rc = sim_world_run(w, SIM_TIME_MAX);
  double dt = wall() - t0, dc = cpu() - c0;
  mmc_stats_t st;
  char why[512] = "too few customers for the batch regression";
  int computed = mmc_stats_compute(m.lambda, m.mu, c, m.obs, m.customers, m.warmup, 50, &st);
  /* The adjusted mean wait must be within 3 % of Erlang C (issue 2's band at
   * 10^6 customers), or within 5 of its standard errors where that is wider:
   * with fewer customers the estimate itself is that uncertain (at 10^5, 1-3 %),
   * and a fixed 3 % would fail a correct kernel about one run in ten. */
  double wait_tol = computed == 0 ? fmax(0.03, 5 * st.wait_cv_se / st.erlang_wait) : 0.03;
  int ok = rc == 0 && computed == 0 && mmc_stats_verdict(&st, wait_tol, 0.01, why, sizeof why);
  printf("customers=%ld wall_s=%.3f cpu_s=%.3f customers_per_s=%.0f mean_wait=%.5f "
         "p_wait=%.5f erlang_c_wait=%.5f erlang_c_p=%.5f mean_wait_cv=%.5f "
         "mean_wait_cv_se=%.5f p_wait_cv=%.5f service_mean=%.5f inter_mean=%.5f "
         "erlang_c_check=%s trace_hash=%016llx rc=%d\n",
         m.customers, dt, dc, (double)m.customers / dt, st.mean_wait, st.p_wait, st.erlang_wait,
         st.erlang_p, st.wait_cv, st.wait_cv_se, st.p_wait_cv, st.service_mean, st.inter_mean,
         ok ? "ok" : "FAIL", (unsigned long long)sim_world_trace_hash(w), rc);
  int check = arg_flag(argc, argv, "--check");
  if (!ok && check) fprintf(stderr, "storesim-bench mmc: disagrees with Erlang C: %s\n", why);
  sim_world_destroy(w);
  free(m.obs);
  return rc != 0 ? 3 : ok || !check ? 0 : 1;
}

/* ---- timers ---- */
typedef struct {
  long events;
  sim_rng_t r;
} tim_t;
static void sleeper(void *arg) {
  tim_t *t = arg;
  for (long i = 0; i < t->events; i++)
    sim_sleep(1 + (sim_time_t)sim_rng_below(&t->r, 1000000));
}

static int bench_timers(int argc, char **argv) {
  int k = (int)arg_int(argc, argv, "--threads", 1000, 1, 1000000);
  long n = (long)arg_int(argc, argv, "--events", 2000000, 1, 100000000000LL);
  sim_world_t *w = world(1, 16384);
  tim_t *ts = calloc((size_t)k, sizeof *ts);
  for (int i = 0; i < k; i++) {
    ts[i].events = n / k;
    sim_rng_init(&ts[i].r, (uint64_t)i, "timers");
    sim_thread_spawn(w, "sleeper", NULL, sleeper, &ts[i]);
  }
  double t0 = wall();
  sim_world_run(w, SIM_TIME_MAX);
  double dt = wall() - t0;
  printf("timer_events=%ld threads=%d wall_s=%.3f timer_events_per_s=%.0f\n",
         (n / k) * k, k, dt, (double)((n / k) * k) / dt);
  sim_world_destroy(w);
  free(ts);
  return 0;
}

/* ---- threads: memory per idle thread ---- */
static long rss_kib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0)
      v = atol(line + n + 1);
  if (f)
    fclose(f);
  return v;
}

static void idle(void *arg) { sim_sem_acquire(arg); }

static int bench_threads(int argc, char **argv) {
  long n = (long)arg_int(argc, argv, "--n", 100000, 1, 10000000);
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.max_threads = (uint64_t)n + 10;
  sim_world_t *w;
  char err[256];
  if (sim_world_create(&o, &w, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 3;
  }
  sim_sem_t *s = sim_sem_create(w, "gate", 0);
  long before = rss_kib("VmRSS:");
  for (long i = 0; i < n; i++)
    if (!sim_thread_spawn(w, "idle", NULL, idle, s)) {
      fprintf(stderr, "spawn failed at %ld: %s\n", i, sim_world_last_error(w));
      return 3;
    }
  double t0 = wall();
  sim_world_run(w, 0); /* all block on the gate */
  long after = rss_kib("VmRSS:");
  uint64_t live = sim_world_live_threads(w);
  for (long i = 0; i < n; i++)
    sim_sem_release(s);
  sim_world_run(w, SIM_TIME_MAX);
  double dt = wall() - t0;
  printf("threads=%ld live_blocked=%llu rss_delta_kib=%ld bytes_per_idle_thread="
         "%.0f peak_rss_kib=%ld wall_s=%.3f\n",
         n, (unsigned long long)live, after - before,
         (double)(after - before) * 1024.0 / (double)n, rss_kib("VmHWM:"), dt);
  sim_world_destroy(w);
  return 0;
}

static const char usage[] =
    "usage: storesim-bench switch|mmc|timers|threads|handoff [options]\n"
    "  switch  [--n N] [--reps R]\n"
    "  mmc     [--lambda L] [--mu M] [--servers C] [--customers N] [--seed S] [--check]\n"
    "          (defaults 9, 1, 10, 10^6, 1; --check: exit 1 unless erlang_c_check=ok:\n"
    "          adjusted mean wait within max(3 %, 5 SE) of Erlang C, P(wait) within\n"
    "          0.01, the drawn times' moments within 5 SD; see bench/mmc_stats.h)\n"
    "  timers  [--threads K] [--events N]\n"
    "  threads [--n N]\n"
    "  handoff [--n N] [--reps R]   (the threads backend against the virtual one)\n"
    "Each prints one line of key=value pairs; bench/README.md says what they mean.\n"
    "exit status: 0 ok, 1 mmc --check disagreed with Erlang C, 2 usage error,\n"
    "3 the run failed\n";

int main(int argc, char **argv) {
  static const bench_opt_t o_switch[] = {{"--n", false}, {"--reps", false}, {NULL, false}};
  static const bench_opt_t o_mmc[] = {
      {"--lambda", false}, {"--mu", false},   {"--servers", false}, {"--customers", false},
      {"--seed", false},   {"--check", true}, {NULL, false}};
  static const bench_opt_t o_timers[] = {{"--threads", false}, {"--events", false}, {NULL, false}};
  static const bench_opt_t o_threads[] = {{"--n", false}, {NULL, false}};
  static const bench_opt_t o_handoff[] = {{"--n", false}, {"--reps", false}, {NULL, false}};
  static const struct {
    const char *name;
    int (*fn)(int, char **);
    const bench_opt_t *opts;
  } benches[] = {{"switch", bench_switch, o_switch},
                 {"mmc", bench_mmc, o_mmc},
                 {"timers", bench_timers, o_timers},
                 {"threads", bench_threads, o_threads},
                 {"handoff", bench_handoff, o_handoff}};
  if (argc < 2) {
    fputs(usage, stderr);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    }
  for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
    if (strcmp(argv[1], benches[i].name) != 0) continue;
    static char who[64];
    snprintf(who, sizeof who, "storesim-bench %s", benches[i].name);
    g_bench = who;
    check_opts(argc, argv, benches[i].opts);
    return benches[i].fn(argc, argv);
  }
  fprintf(stderr, "storesim-bench: unknown benchmark '%s' (storesim-bench --help)\n", argv[1]);
  return 2;
}
