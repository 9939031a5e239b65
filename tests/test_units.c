/*
 * Tests of the scenario layer's units, typed parameters, distributions,
 * suggestions and diagnostics (sim/scenario/units.c, sim/kernel/dist.c).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"

static char err[400];

Test(units, durations) {
  sim_time_t t;
  cr_assert_eq(scn_parse_duration("150m", &t, err, sizeof err), 0);
  cr_assert_eq(t, 150 * SIM_MIN);
  cr_assert_eq(scn_parse_duration("250ms", &t, err, sizeof err), 0);
  cr_assert_eq(t, 250 * SIM_MS);
  cr_assert_eq(scn_parse_duration(" 2d ", &t, err, sizeof err), 0);
  cr_assert_eq(t, 2 * SIM_DAY);
  cr_assert_eq(scn_parse_duration("1h30m", &t, err, sizeof err), 0);
  cr_assert_eq(t, 90 * SIM_MIN);
  cr_assert_eq(scn_parse_duration("1.5s", &t, err, sizeof err), 0);
  cr_assert_eq(t, 1500 * SIM_MS);
  cr_assert_eq(scn_parse_duration("7ns", &t, err, sizeof err), 0);
  cr_assert_eq(t, 7);
  cr_assert_eq(scn_parse_duration("3us", &t, err, sizeof err), 0);
  cr_assert_eq(t, 3000);
  cr_assert_eq(scn_parse_duration("0", &t, err, sizeof err), 0);
  cr_assert_eq(t, 0);
  cr_assert_eq(scn_parse_duration("2min", &t, err, sizeof err), 0);
  cr_assert_eq(t, 2 * SIM_MIN);
}

Test(units, bad_durations) {
  sim_time_t t = 42;
  cr_assert_eq(scn_parse_duration("5", &t, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "needs a unit"), "%s", err);
  cr_assert_eq(scn_parse_duration("-5m", &t, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "negative"), "%s", err);
  cr_assert_eq(scn_parse_duration("5 parsecs", &t, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_duration("5KiB", &t, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "size unit"), "%s", err);
  cr_assert_eq(scn_parse_duration("", &t, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_duration("1e300d", &t, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "too large"), "%s", err);
  cr_assert_eq(scn_parse_duration("inf", &t, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_duration("0x10s", &t, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(t, 42, "output unchanged on error");
}

Test(units, sizes) {
  uint64_t b;
  cr_assert_eq(scn_parse_size("64KiB", &b, err, sizeof err), 0);
  cr_assert_eq(b, 65536);
  cr_assert_eq(scn_parse_size("2GiB", &b, err, sizeof err), 0);
  cr_assert_eq(b, 2ull << 30);
  cr_assert_eq(scn_parse_size("1.5 MiB", &b, err, sizeof err), 0);
  cr_assert_eq(b, 1572864);
  cr_assert_eq(scn_parse_size("100B", &b, err, sizeof err), 0);
  cr_assert_eq(b, 100);
  cr_assert_eq(scn_parse_size("10MB", &b, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "ambiguous") && strstr(err, "MiB"), "%s", err);
  cr_assert_eq(scn_parse_size("64", &b, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_size("1e30GiB", &b, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_size("5s", &b, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "time unit"), "%s", err);
}

Test(units, rates) {
  double r;
  cr_assert_eq(scn_parse_rate("20/s", &r, err, sizeof err), 0);
  cr_assert_float_eq(r, 20, 1e-12);
  cr_assert_eq(scn_parse_rate("3/m", &r, err, sizeof err), 0);
  cr_assert_float_eq(r, 0.05, 1e-12);
  cr_assert_eq(scn_parse_rate("1/h", &r, err, sizeof err), 0);
  cr_assert_float_eq(r, 1.0 / 3600, 1e-15);
  cr_assert_eq(scn_parse_rate("20", &r, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_rate("20/fortnight", &r, err, sizeof err), SIM_EINVAL);
}

Test(units, integers_and_bools) {
  int64_t v;
  int b;
  cr_assert_eq(scn_parse_int("32", &v, err, sizeof err), 0);
  cr_assert_eq(v, 32);
  cr_assert_eq(scn_parse_int("-7", &v, err, sizeof err), 0);
  cr_assert_eq(v, -7);
  cr_assert_eq(scn_parse_int("1_000", &v, err, sizeof err), 0);
  cr_assert_eq(v, 1000);
  cr_assert_eq(scn_parse_int("1e6", &v, err, sizeof err), 0);
  cr_assert_eq(v, 1000000);
  cr_assert_eq(scn_parse_int("1.5", &v, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_int("99999999999999999999", &v, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "too large"), "%s", err);
  cr_assert_eq(scn_parse_int("four", &v, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_bool("yes", &b, err, sizeof err), 0);
  cr_assert_eq(b, 1);
  cr_assert_eq(scn_parse_bool("false", &b, err, sizeof err), 0);
  cr_assert_eq(b, 0);
  cr_assert_eq(scn_parse_bool("maybe", &b, err, sizeof err), SIM_EINVAL);
}

Test(units, distributions) {
  sim_dist_t d;
  cr_assert_eq(scn_parse_dist("exp(250ms)", SIM_P_DIST_TIME, &d, err, sizeof err), 0);
  cr_assert_eq(d.kind, SIM_D_EXP);
  cr_assert_float_eq(d.a, 250e6, 1e-3);
  cr_assert_eq(scn_parse_dist("lognormal(50KiB, 1.0)", SIM_P_DIST_SIZE, &d, err, sizeof err), 0);
  cr_assert_eq(d.kind, SIM_D_LOGNORMAL);
  cr_assert_float_eq(d.a, 51200, 1e-9);
  cr_assert_float_eq(d.b, 1.0, 1e-12);
  cr_assert_eq(scn_parse_dist("uniform(1s 2s)", SIM_P_DIST_TIME, &d, err, sizeof err), 0);
  cr_assert_float_eq(sim_dist_mean(&d), 1.5e9, 1);
  cr_assert_eq(scn_parse_dist("2s", SIM_P_DIST_TIME, &d, err, sizeof err), 0);
  cr_assert_eq(d.kind, SIM_D_CONST);
  cr_assert_eq(scn_parse_dist("empirical(1s, 2s, 6s)", SIM_P_DIST_TIME, &d, err, sizeof err), 0);
  cr_assert_eq(d.nvalues, 3);
  cr_assert_float_eq(sim_dist_mean(&d), 3e9, 1);
  char buf[128];
  sim_dist_format(&d, SIM_P_DIST_TIME, buf, sizeof buf);
  cr_assert_str_eq(buf, "empirical(1s, 2s, 6s)");
  free(d.values);
  cr_assert_eq(scn_parse_dist("uniform(2s, 1s)", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("exp(0)", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("gamma(1s)", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("exp(1s", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("uniform(1s)", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("empirical()", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_parse_dist("exp(1KiB)", SIM_P_DIST_TIME, &d, err, sizeof err), SIM_EINVAL);
}

Test(units, sampling_is_seeded_and_has_the_right_mean) {
  sim_dist_t d = {SIM_D_EXP, 2.0, 0, NULL, 0};
  sim_rng_t r1, r2;
  sim_rng_init(&r1, 5, "x");
  sim_rng_init(&r2, 5, "x");
  double s = 0;
  for (int i = 0; i < 200000; i++) {
    double a = sim_dist_sample(&d, &r1), b = sim_dist_sample(&d, &r2);
    cr_assert_eq(a, b);
    cr_assert(a >= 0);
    s += a;
  }
  cr_assert_float_eq(s / 200000, 2.0, 0.03);
  sim_dist_t ln = {SIM_D_LOGNORMAL, 1.0, 0.5, NULL, 0};
  s = 0;
  for (int i = 0; i < 200000; i++) s += sim_dist_sample(&ln, &r1);
  cr_assert_float_eq(s / 200000, sim_dist_mean(&ln), 0.01);
}

Test(units, formats_round_trip) {
  char buf[64];
  sim_time_t t;
  uint64_t b;
  double r;
  sim_time_t ts[] = {150 * SIM_MIN, 250 * SIM_MS, 2 * SIM_DAY, 7, 1500 * SIM_MS};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
    scn_format_duration(ts[i], buf, sizeof buf);
    cr_assert_eq(scn_parse_duration(buf, &t, err, sizeof err), 0, "%s", buf);
    cr_assert_eq(t, ts[i], "%s", buf);
  }
  scn_format_size(65536, buf, sizeof buf);
  cr_assert_str_eq(buf, "64KiB");
  cr_assert_eq(scn_parse_size(buf, &b, err, sizeof err), 0);
  scn_format_rate(0.05, buf, sizeof buf);
  cr_assert_str_eq(buf, "3/m");
  cr_assert_eq(scn_parse_rate(buf, &r, err, sizeof err), 0);
  cr_assert_float_eq(r, 0.05, 1e-12);
}

typedef struct cfg {
  int64_t n;
  sim_time_t t;
  sim_dist_t d;
  char *s;
} cfg_t;

static const sim_param_t tab[] = {
    {"a.n", SIM_P_INT, offsetof(cfg_t, n), 1, 100, "4", "n"},
    {"a.t", SIM_P_DURATION, offsetof(cfg_t, t), 1000, 3600e9, "1s", "t"},
    {"a.d", SIM_P_DIST_TIME, offsetof(cfg_t, d), 0, 60e9, "exp(1s)", "d"},
    {"a.s", SIM_P_STRING, offsetof(cfg_t, s), 0, 0, "x", "s"},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

Test(units, params_parse_range_dup_free) {
  cfg_t c;
  memset(&c, 0, sizeof c);
  for (const sim_param_t *p = tab; p->path; p++)
    cr_assert_eq(scn_param_parse(p, p->def, (char *)&c + p->offset, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.n, 4);
  cr_assert_eq(scn_param_parse(&tab[0], "101", &c.n, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "out of range [1, 100]"), "%s", err);
  cr_assert_eq(c.n, 4);
  cr_assert_eq(scn_param_parse(&tab[1], "1h1s", &c.t, err, sizeof err), SIM_EINVAL);
  cr_assert(strstr(err, "out of range [1us, 1h]"), "%s", err);
  cr_assert_eq(scn_param_parse(&tab[2], "empirical(1s, 2m)", &c.d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_param_parse(&tab[2], "[1s]", &c.d, err, sizeof err), SIM_EINVAL);
  cr_assert_eq(scn_param_parse(&tab[2], "empirical(1s, 3s)", &c.d, err, sizeof err), 0);
  int td, bd;
  cr_assert_float_eq(scn_param_number(&tab[2], &c.d, &td, &bd), 2.0, 1e-12);
  cr_assert_eq(td, 1);
  cfg_t *d = scn_params_dup(tab, &c, sizeof c);
  cr_assert(d);
  cr_assert_neq(d->d.values, c.d.values);
  cr_assert_neq(d->s, c.s);
  cr_assert_str_eq(d->s, "x");
  char buf[64];
  scn_param_format(&tab[2], &d->d, buf, sizeof buf);
  cr_assert_str_eq(buf, "empirical(1s, 3s)");
  scn_params_free(tab, d);
  free(d);
  scn_params_free(tab, &c);
  cr_assert_null(c.s);
}

Test(units, suggestions) {
  const char *const c[] = {"duration", "sample_interval", "store.tasks", "seed"};
  char buf[200];
  cr_assert_eq(scn_suggest("durtion", c, 4, 0, buf, sizeof buf), 1);
  cr_assert_str_eq(buf, "'duration'");
  cr_assert_eq(scn_suggest("tasks", c, 4, 0, buf, sizeof buf), 1);
  cr_assert_str_eq(buf, "'store.tasks'");
  cr_assert_eq(scn_suggest("zzzzzzzz", c, 4, 0, buf, sizeof buf), 0);
  cr_assert_str_eq(buf, "");
  cr_assert_eq(scn_suggest("zzzzzzzz", c, 4, 1, buf, sizeof buf), 3);
}

Test(units, diagnostics) {
  scn_diag_t d;
  scn_diag_init(&d);
  scn_diag_error(&d, "f.yaml", 3, 7, "bad %s", "thing");
  scn_diag_error(&d, "f.yaml", 0, 0, "no position");
  cr_assert_str_eq(d.text, "f.yaml:3:7: error: bad thing\nf.yaml: error: no position\n");
  cr_assert_eq(d.nerrors, 2);
  scn_diag_free(&d);
}

/* The form outputs print times in (h:mm:ss, explain and run's summary) reads
 * back; "12:00" is ambiguous (12 hours? 12 minutes?) and says how to write it. */
Test(units, durations_as_h_mm_ss) {
  sim_time_t t;
  char e[256];
  cr_assert_eq(scn_parse_duration("0:55:20", &t, e, sizeof e), 0, "%s", e);
  cr_assert_eq(t, (sim_time_t)3320 * 1000000000);
  cr_assert_eq(scn_parse_duration("108:00:00.25", &t, e, sizeof e), 0, "%s", e);
  cr_assert_eq(t, (sim_time_t)388800 * 1000000000 + 250000000);
  cr_assert_neq(scn_parse_duration("12:00", &t, e, sizeof e), 0);
  cr_assert(strstr(e, "12h, 12m") && strstr(e, "h:mm:ss"), "%s", e);
  cr_assert_neq(scn_parse_duration("1:60:00", &t, e, sizeof e), 0);
  cr_assert_neq(scn_parse_duration("1:00:60", &t, e, sizeof e), 0);
  cr_assert_neq(scn_parse_duration("1:00:00s", &t, e, sizeof e), 0);
  cr_assert_neq(scn_parse_duration("-1:00:00", &t, e, sizeof e), 0);
}
