/*
 * storesim kernel: distributions (param.h).
 *
 * Sampling draws only from the caller's stream, so a component that owns its
 * stream gets the same draws in every variant (common random numbers). The
 * kernel itself never samples; models do. Values are in base units of the
 * parameter's dimension (ns, bytes, or plain numbers) and never negative for
 * a valid distribution (the scenario loader validates them).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "storesim/param.h"

double sim_dist_sample(const sim_dist_t *d, sim_rng_t *r) {
  double v = 0;
  switch (d->kind) {
  case SIM_D_CONST:
    v = d->a;
    break;
  case SIM_D_EXP:
    v = sim_rng_exp(r, d->a);
    break;
  case SIM_D_UNIFORM:
    v = d->a + (d->b - d->a) * sim_rng_uniform(r);
    break;
  case SIM_D_LOGNORMAL:
    v = d->a * exp(d->b * sim_rng_normal(r));
    break;
  case SIM_D_EMPIRICAL:
    v = d->nvalues ? d->values[sim_rng_below(r, d->nvalues)] : 0;
    break;
  }
  return v < 0 ? 0 : v;
}

double sim_dist_mean(const sim_dist_t *d) {
  switch (d->kind) {
  case SIM_D_CONST:
  case SIM_D_EXP:
    return d->a;
  case SIM_D_UNIFORM:
    return (d->a + d->b) / 2;
  case SIM_D_LOGNORMAL:
    return d->a * exp(d->b * d->b / 2);
  case SIM_D_EMPIRICAL: {
    double s = 0;
    for (size_t i = 0; i < d->nvalues; i++) s += d->values[i];
    return d->nvalues ? s / (double)d->nvalues : 0;
  }
  }
  return 0;
}

/* "%.6g" without a trailing ".0"-style noise. */
static void fmt_num(double v, char *buf, size_t n) { snprintf(buf, n, "%.6g", v); }

/* One quantity of dimension dim with the largest unit that keeps it >= 1. */
static void fmt_qty(double v, int dim, char *buf, size_t n) {
  static const struct { const char *u; double f; } tu[] = {
      {"d", 86400e9}, {"h", 3600e9}, {"m", 60e9}, {"s", 1e9},
      {"ms", 1e6},    {"us", 1e3},   {"ns", 1}};
  static const struct { const char *u; double f; } su[] = {
      {"TiB", 1099511627776.0}, {"GiB", 1073741824.0}, {"MiB", 1048576.0},
      {"KiB", 1024.0}, {"B", 1}};
  char num[64];
  if (v == 0) {
    snprintf(buf, n, "0");
    return;
  }
  if (dim == SIM_P_DIST_TIME || dim == SIM_P_DURATION) {
    for (size_t i = 0; i < sizeof tu / sizeof tu[0]; i++)
      if (fabs(v) >= tu[i].f || i + 1 == sizeof tu / sizeof tu[0]) {
        fmt_num(v / tu[i].f, num, sizeof num);
        snprintf(buf, n, "%s%s", num, tu[i].u);
        return;
      }
  }
  if (dim == SIM_P_DIST_SIZE || dim == SIM_P_SIZE) {
    for (size_t i = 0; i < sizeof su / sizeof su[0]; i++)
      if (fabs(v) >= su[i].f || i + 1 == sizeof su / sizeof su[0]) {
        fmt_num(v / su[i].f, num, sizeof num);
        snprintf(buf, n, "%s%s", num, su[i].u);
        return;
      }
  }
  fmt_num(v, buf, n);
}

/* dim: the sim_ptype_t of the parameter holding d (SIM_P_DIST_TIME,
 * SIM_P_DIST_SIZE, SIM_P_DIST_NUM). Lognormal's sigma is always plain. */
void sim_dist_format(const sim_dist_t *d, int dim, char *buf, size_t n) {
  char a[64], b[64];
  size_t len;
  if (n == 0) return;
  fmt_qty(d->a, dim, a, sizeof a);
  switch (d->kind) {
  case SIM_D_CONST:
    snprintf(buf, n, "const(%s)", a);
    break;
  case SIM_D_EXP:
    snprintf(buf, n, "exp(%s)", a);
    break;
  case SIM_D_UNIFORM:
    fmt_qty(d->b, dim, b, sizeof b);
    snprintf(buf, n, "uniform(%s, %s)", a, b);
    break;
  case SIM_D_LOGNORMAL:
    fmt_num(d->b, b, sizeof b);
    snprintf(buf, n, "lognormal(%s, %s)", a, b);
    break;
  case SIM_D_EMPIRICAL:
    snprintf(buf, n, "empirical(");
    for (size_t i = 0; i < d->nvalues; i++) {
      fmt_qty(d->values[i], dim, a, sizeof a);
      len = strlen(buf);
      snprintf(buf + len, n - len, "%s%s", i ? ", " : "", a);
    }
    len = strlen(buf);
    snprintf(buf + len, n - len, ")");
    break;
  }
}
