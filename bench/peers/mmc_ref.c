/* mmc_ref.c: M/M/c as a plain recursion, the reference run.sh checks the peers with.
 *
 * No processes, no event queue: for a FCFS queue with c identical servers the wait of
 * customer i follows from the arrival date and the earliest time a server is free
 * (Kiefer and Wolfowitz's recursion, Lindley's for c = 1):
 *     start_i = max(f_min, t_i), w_i = start_i - t_i;  that server is then busy
 *     until start_i + s_i
 * where f_min is the smallest entry of the c "server free at" dates (a binary heap).
 *
 * It draws the same numbers in the same order as mmc_simgrid.c (xoshiro256** seeded by
 * splitmix64, arrivals stream seed*2+1, services stream seed*2+2, service drawn at
 * arrival), and so does `mmc_simpy.py --rng xoshiro`; for equal arguments it
 * reproduces those peers' mean_wait and p_wait up to rounding: an exact check of the
 * SimGrid and SimPy models, not only a statistical one.
 *
 * Two modes:
 *   mmc_ref [--lambda L --mu M --servers C --customers N --seed S --warmup F]
 *       one run; prints the peers' line with peer=ref (customers_per_s here is an upper
 *       bound for any simulator of this model: it is the arithmetic alone).
 *   mmc_ref ... --reps R
 *       R independent runs (seeds S, S+1, ...) of min(N, 100000) customers; prints the
 *       standard deviation of mean_wait and p_wait across them, scaled by
 *       sqrt(n_kept_run / N_kept) to N customers (the SD of a time average falls as
 *       1/sqrt(n); measured to hold from 10^4 to 10^6 customers at lambda=9, mu=1, c=10):
 *       ref_reps=R customers=N sd_mean_wait=... sd_p_wait=... erlang_c_wait=... erlang_c_p=...
 *       run.sh turns these into its tolerances.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double rng_exp(rng_t *r, double rate) {
  double u = (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
  return -log(u) / rate;
}

static void erlang_c(double lam, double mu, int c, double *p_wait, double *mean_wait) {
  double a = lam / mu, b = 1.0;
  for (int k = 1; k <= c; k++) b = a * b / (k + a * b);
  double rho = a / c;
  double p = b / (1.0 - rho * (1.0 - b));
  *p_wait = p;
  *mean_wait = p / (c * mu - lam);
}

/* Replace the root of min-heap h[0..c) with v and restore the heap. */
static void heap_replace_min(double *h, long c, double v) {
  long i = 0;
  for (;;) {
    long l = 2 * i + 1, r = l + 1, m = i;
    double mv = v;
    if (l < c && h[l] < mv) m = l, mv = h[l];
    if (r < c && h[r] < mv) m = r;
    if (m == i) break;
    h[i] = h[m];
    i = m;
  }
  h[i] = v;
}

/* One run; writes mean wait and P(wait > 0) over customers [warmup * n, n). */
static void run(double lam, double mu, long c, long n, double warmup, uint64_t seed,
                double *free_at, double *mean_wait, double *p_wait) {
  rng_t arr, svc;
  rng_seed(&arr, seed * 2 + 1);
  rng_seed(&svc, seed * 2 + 2);
  for (long k = 0; k < c; k++) free_at[k] = 0.0;
  long first = (long)((double)n * warmup), waited = 0;
  double t = 0.0, sum = 0.0;
  for (long i = 0; i < n; i++) {
    double s = rng_exp(&svc, mu);
    double start = free_at[0] > t ? free_at[0] : t; /* as a simulator's clock would */
    double w = start - t;
    heap_replace_min(free_at, c, start + s);
    if (i >= first) {
      sum += w;
      waited += w > 0.0;
    }
    if (i + 1 < n) t += rng_exp(&arr, lam);
  }
  *mean_wait = sum / (double)(n - first);
  *p_wait = (double)waited / (double)(n - first);
}

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [--lambda L] [--mu M] [--servers C] [--customers N] [--seed S]\n"
          "          [--warmup F] [--reps R]\n",
          prog);
  exit(2);
}

static double arg_num(const char *prog, const char *opt, const char *v) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end) {
    fprintf(stderr, "%s: %s: not a number: '%s'\n", prog, opt, v);
    exit(2);
  }
  return d;
}

int main(int argc, char **argv) {
  const char *prog = argv[0];
  double lam = 9.0, mu = 1.0, warmup = 0.1;
  long c = 10, n = 1000000, seed = 1, reps = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (i + 1 >= argc) usage(prog);
    double v = arg_num(prog, o, argv[++i]);
    if (!strcmp(o, "--lambda")) lam = v;
    else if (!strcmp(o, "--mu")) mu = v;
    else if (!strcmp(o, "--servers")) c = (long)v;
    else if (!strcmp(o, "--customers")) n = (long)v;
    else if (!strcmp(o, "--seed")) seed = (long)v;
    else if (!strcmp(o, "--warmup")) warmup = v;
    else if (!strcmp(o, "--reps")) reps = (long)v;
    else usage(prog);
  }
  if (!(lam > 0) || !(mu > 0) || c < 1 || c > 1000000 || n < 10 || reps < 0 ||
      !(warmup >= 0 && warmup < 1) || lam >= (double)c * mu) {
    fprintf(stderr, "%s: need lambda > 0, mu > 0, 1 <= servers, lambda < servers * mu,\n"
                    "  customers >= 10, 0 <= warmup < 1, reps >= 0\n", prog);
    return 2;
  }
  double *free_at = malloc((size_t)c * sizeof *free_at);
  if (!free_at) return 1;
  double ec_p, ec_w;
  erlang_c(lam, mu, (int)c, &ec_p, &ec_w);

  if (reps == 0) {
    struct timespec t0, t1;
    double mw, pw;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run(lam, mu, c, n, warmup, (uint64_t)seed, free_at, &mw, &pw);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("peer=ref customers=%ld wall_s=%.6f customers_per_s=%.1f mean_wait=%.6f "
           "p_wait=%.6f erlang_c_wait=%.6f erlang_c_p=%.6f\n",
           n, wall, (double)n / wall, mw, pw, ec_w, ec_p);
  } else {
    if (reps < 2) {
      fprintf(stderr, "%s: --reps needs at least 2 runs\n", prog);
      return 2;
    }
    long m = n < 100000 ? n : 100000;
    double sw = 0, sw2 = 0, sp = 0, sp2 = 0;
    for (long r = 0; r < reps; r++) {
      double mw, pw;
      run(lam, mu, c, m, warmup, (uint64_t)(seed + r), free_at, &mw, &pw);
      sw += mw, sw2 += mw * mw, sp += pw, sp2 += pw * pw;
    }
    double k = (double)reps;
    double var_w = (sw2 - sw * sw / k) / (k - 1), var_p = (sp2 - sp * sp / k) / (k - 1);
    double kept_m = (double)(m - (long)((double)m * warmup));
    double kept_n = (double)(n - (long)((double)n * warmup));
    double scale = sqrt(kept_m / kept_n);
    printf("ref_reps=%ld customers=%ld sd_mean_wait=%.6f sd_p_wait=%.6f "
           "erlang_c_wait=%.6f erlang_c_p=%.6f\n",
           reps, n, sqrt(var_w > 0 ? var_w : 0) * scale, sqrt(var_p > 0 ? var_p : 0) * scale,
           ec_w, ec_p);
  }
  free(free_at);
  return 0;
}
