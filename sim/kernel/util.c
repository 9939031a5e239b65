/*
 * Kernel utilities: the error table, fatal misuse, checked host allocation,
 * string buffers, time formatting and the xoshiro256** random streams.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "kernel_int.h"
#include "storesim/alloc.h"

const char *sim_strerror(int rc) {
  switch (rc) {
#define XX(name, val, msg)                                                    \
  case val:                                                                   \
    return msg;
    SIM_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

void sim__die(const char *fmt, ...) {
  va_list ap;
  fputs("storesim: fatal: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

/* The kernel's allocations die cleanly on failure (storesim/alloc.h). */
void *sim__xmalloc(size_t n) { return sim_xmalloc(n); }
void *sim__xcalloc(size_t n, size_t m) { return sim_xcalloc(n, m); }
void *sim__xrealloc(void *p, size_t n) { return sim_xrealloc(p, n); }
char *sim__xstrdup(const char *s) { return sim_xstrdup(s); }

void sim__sb_printf(sim__sb_t *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    size_t avail = b->cap - b->n;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, avail, fmt, ap);
    va_end(ap);
    if (k < 0)
      return;
    if ((size_t)k < avail) {
      b->n += (size_t)k;
      return;
    }
    b->cap = (b->cap + (size_t)k + 1) * 2;
    b->s = sim__xrealloc(b->s, b->cap);
  }
}

void sim__fmt_time(sim_time_t t, char *buf, size_t n) {
  const char *sign = t < 0 ? "-" : "";
  uint64_t u = t < 0 ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  snprintf(buf, n, "%s%llu.%09llus", sign, (unsigned long long)(u / 1000000000ull),
           (unsigned long long)(u % 1000000000ull));
}

/* ---- random streams: xoshiro256** seeded through splitmix64 ---- */
static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sim_rng_init(sim_rng_t *r, uint64_t seed, const char *stream_name) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the stream name */
  for (const char *p = stream_name ? stream_name : ""; *p; p++)
    h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
  uint64_t x = seed ^ h;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_u64(sim_rng_t *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sim_rng_uniform(sim_rng_t *r) {
  return (double)(sim_rng_u64(r) >> 11) * 0x1.0p-53;
}

#include "zig_exp.inc"

/* Exponential by the ziggurat method (tables and reference: zig_exp.inc,
 * tools/gen_zig_exp.py). One 64-bit draw gives the strip (low 8 bits) and the
 * position in it (high 53 bits); 97.8 % of draws land in a strip's core
 * and cost a multiply and a compare, no log. The rest (zig_exp_slow) test the
 * wedge against exp(-x), or, in the base strip, draw the tail beyond R as
 * R + Exp(1) (memorylessness). Exact in distribution, as the inversion
 * -log(1 - u) it replaced. */
static inline int zig_exp_core(sim_rng_t *r, double *x) {
  uint64_t bits = sim_rng_u64(r);
  unsigned i = (unsigned)(bits & 0xff);
  *x = (double)(bits >> 11) * 0x1.0p-53 * zig_exp_x[i];
  return *x < zig_exp_x[i + 1] ? -1 : (int)i;
}

static __attribute__((noinline)) double zig_exp_slow(sim_rng_t *r, unsigned i, double x) {
  for (;;) {
    if (i == 0) return zig_exp_r - log(1.0 - sim_rng_uniform(r)); /* 1 - u is exact */
    double y = zig_exp_f[i] + (zig_exp_f[i + 1] - zig_exp_f[i]) * sim_rng_uniform(r);
    if (y < exp(-x)) return x;
    int k = zig_exp_core(r, &x);
    if (k < 0) return x;
    i = (unsigned)k;
  }
}

double sim_rng_exp(sim_rng_t *r, double mean) {
  double x;
  int i = zig_exp_core(r, &x);
  return mean * (i < 0 ? x : zig_exp_slow(r, (unsigned)i, x));
}

double sim_rng_normal(sim_rng_t *r) {
  /* Box-Muller; one value per call keeps the stream simple to reason about. */
  double u1 = sim_rng_uniform(r), u2 = sim_rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t sim_rng_below(sim_rng_t *r, uint64_t n) {
  if (n == 0)
    sim__die("sim_rng_below: n must be > 0");
  /* Lemire's nearly divisionless method. */
  unsigned __int128 m = (unsigned __int128)sim_rng_u64(r) * n;
  uint64_t l = (uint64_t)m;
  if (l < n) {
    uint64_t t = -n % n;
    while (l < t) {
      m = (unsigned __int128)sim_rng_u64(r) * n;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}
