/* mmc_simgrid.c: M/M/c in SimGrid 3.32 (S4U C API), a peer for `storesim-bench mmc`.
 *
 * The model a SimGrid user would write: one actor per customer, a semaphore holding
 * the c servers, and sg_actor_sleep_for() for the service time. A generator actor
 * sleeps an exponential inter-arrival time (rate lambda), then starts the next
 * customer with its exponential service time (rate mu) already drawn. A customer
 * records its arrival date, acquires the semaphore, records its wait, sleeps its
 * service time and releases. SimGrid's semaphore hands a released unit to the oldest
 * sleeper, so the queue is FIFO. The first --warmup fraction of customers (by arrival
 * order) is discarded before the statistics are taken.
 *
 * Prints one line:
 *   peer=simgrid customers=N wall_s=... customers_per_s=... mean_wait=... p_wait=...
 *   erlang_c_wait=... erlang_c_p=... cpu_s=...
 * wall_s (and cpu_s, the process's CPU time over the same span) covers simgrid_run() only (the platform file is loaded before the clock
 * starts); customers_per_s = N / wall_s, N counting every customer, warm-up included.
 *
 * Random numbers come from two xoshiro256** streams (arrivals, services) seeded
 * through splitmix64 from --seed, never from rand(), so a run is reproducible.
 *
 * Build (run.sh does this):
 *   gcc -O2 -std=c11 -o build/peers/mmc_simgrid bench/peers/mmc_simgrid.c \
 *       $(pkg-config --cflags --libs simgrid) -lm
 * Run:
 *   build/peers/mmc_simgrid --platform bench/peers/mmc_platform.xml --customers 50000
 * SimGrid's own --cfg=... and --log=... options are accepted as well.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/semaphore.h>
#include <xbt/log.h>

/* ---- seeded generator: splitmix64 to seed, xoshiro256** to draw ---- */

typedef struct {
  uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

/* Exponential with the given rate; u is in (0, 1], so log(u) is finite. */
static double rng_exp(rng_t *r, double rate) {
  double u = (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
  return -log(u) / rate;
}

/* ---- Erlang C ---- */

/* P(wait > 0) and mean wait in queue for M/M/c, through the Erlang B recursion
 * (stable for large c). Requires lam < c * mu. */
static void erlang_c(double lam, double mu, int c, double *p_wait, double *mean_wait) {
  double a = lam / mu, b = 1.0;
  for (int k = 1; k <= c; k++) b = a * b / (k + a * b);
  double rho = a / c;
  double p = b / (1.0 - rho * (1.0 - b));
  *p_wait = p;
  *mean_wait = p / (c * mu - lam);
}

/* ---- the model ----
 * Actors receive only argc/argv and an opaque data pointer, so the shared state is
 * one file-level struct; each customer's data pointer carries its arrival index. */

static struct {
  double lam, mu;
  long n;
  sg_host_t host;
  sg_sem_t servers;
  rng_t arr, svc;
  double *service; /* service[i]: drawn at arrival by the generator */
  double *wait;    /* wait[i]: time in queue, NAN until customer i gets a server */
} M;

static void customer(int argc, char **argv) {
  (void)argc;
  (void)argv;
  long i = (long)(intptr_t)sg_actor_self_get_data();
  double arrived = simgrid_get_clock();
  sg_sem_acquire(M.servers);
  M.wait[i] = simgrid_get_clock() - arrived;
  sg_actor_sleep_for(M.service[i]);
  sg_sem_release(M.servers);
}

static void generator(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (long i = 0; i < M.n; i++) {
    M.service[i] = rng_exp(&M.svc, M.mu);
    sg_actor_t a = sg_actor_init("customer", M.host);
    sg_actor_set_data(a, (void *)(intptr_t)i);
    sg_actor_start(a, customer, 0, NULL);
    if (i + 1 < M.n) sg_actor_sleep_for(rng_exp(&M.arr, M.lam));
  }
}

/* ---- command line ---- */

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [--platform FILE] [--lambda L] [--mu M] [--servers C]\n"
          "          [--customers N] [--seed S] [--warmup F] [SimGrid --cfg/--log options]\n",
          prog);
  exit(2);
}

static double arg_double(const char *prog, const char *opt, const char *v) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end) {
    fprintf(stderr, "%s: %s: not a number: '%s'\n", prog, opt, v);
    exit(2);
  }
  return d;
}

static long arg_long(const char *prog, const char *opt, const char *v) {
  char *end;
  errno = 0;
  long l = strtol(v, &end, 10);
  if (errno || end == v || *end) {
    fprintf(stderr, "%s: %s: not an integer: '%s'\n", prog, opt, v);
    exit(2);
  }
  return l;
}

#ifndef MMC_PLATFORM
#define MMC_PLATFORM "bench/peers/mmc_platform.xml"
#endif

int main(int argc, char **argv) {
  const char *prog = argv[0];
  simgrid_init(&argc, argv); /* consumes --cfg= and --log= */
  xbt_log_control_set("root.thresh:warning");

  const char *platform = MMC_PLATFORM;
  double lam = 9.0, mu = 1.0, warmup = 0.1;
  long c = 10, n = 50000, seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (i + 1 >= argc) usage(prog);
    const char *v = argv[++i];
    if (!strcmp(o, "--platform")) platform = v;
    else if (!strcmp(o, "--lambda")) lam = arg_double(prog, o, v);
    else if (!strcmp(o, "--mu")) mu = arg_double(prog, o, v);
    else if (!strcmp(o, "--servers")) c = arg_long(prog, o, v);
    else if (!strcmp(o, "--customers")) n = arg_long(prog, o, v);
    else if (!strcmp(o, "--seed")) seed = arg_long(prog, o, v);
    else if (!strcmp(o, "--warmup")) warmup = arg_double(prog, o, v);
    else usage(prog);
  }
  if (!(lam > 0) || !(mu > 0) || c < 1 || c > 1000000 || n < 10) {
    fprintf(stderr, "%s: need lambda > 0, mu > 0, 1 <= servers, customers >= 10\n", prog);
    return 2;
  }
  if (lam >= (double)c * mu) {
    fprintf(stderr, "%s: unstable: lambda must be < servers * mu\n", prog);
    return 2;
  }
  if (!(warmup >= 0 && warmup < 1)) {
    fprintf(stderr, "%s: warmup must be in [0, 1)\n", prog);
    return 2;
  }

  M.lam = lam;
  M.mu = mu;
  M.n = n;
  /* Two streams, so arrivals do not shift when the service draws change. */
  rng_seed(&M.arr, (uint64_t)seed * 2 + 1);
  rng_seed(&M.svc, (uint64_t)seed * 2 + 2);
  M.service = malloc((size_t)n * sizeof *M.service);
  M.wait = malloc((size_t)n * sizeof *M.wait);
  if (!M.service || !M.wait) {
    fprintf(stderr, "%s: out of memory for %ld customers\n", prog, n);
    return 1;
  }
  for (long i = 0; i < n; i++) M.wait[i] = NAN;

  simgrid_load_platform(platform);
  M.host = sg_host_by_name("store");
  if (!M.host) {
    fprintf(stderr, "%s: %s: no host named 'store'\n", prog, platform);
    return 2;
  }
  M.servers = sg_sem_init((int)c);
  sg_actor_create("generator", M.host, generator, 0, NULL);

  struct timespec t0, t1, c0, c1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  simgrid_run();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;

  long first = (long)((double)n * warmup), kept = n - first, waited = 0;
  double sum = 0;
  for (long i = first; i < n; i++) {
    if (isnan(M.wait[i])) {
      fprintf(stderr, "%s: customer %ld never got a server\n", prog, i);
      return 1;
    }
    sum += M.wait[i];
    waited += M.wait[i] > 0.0;
  }
  double ec_p, ec_w;
  erlang_c(lam, mu, (int)c, &ec_p, &ec_w);
  printf("peer=simgrid customers=%ld wall_s=%.6f customers_per_s=%.1f mean_wait=%.6f "
         "p_wait=%.6f erlang_c_wait=%.6f erlang_c_p=%.6f cpu_s=%.6f\n",
         n, wall, (double)n / wall, sum / (double)kept, (double)waited / (double)kept, ec_w,
         ec_p, cpu);

  sg_sem_destroy(M.servers);
  free(M.service);
  free(M.wait);
  return 0;
}
