/*
 * Tests of metrics: counters, gauges and samples; their summaries (min, max,
 * mean over values taken, time-weighted mean over virtual time, nearest-rank
 * percentiles); registration and lookup; time series sampled at a fixed
 * virtual interval. Every figure is computed by hand in the comments.
 */
#include <signal.h>

#include <math.h>
#include <stdlib.h>

#include "ktest.h"

static sim_metric_t *mc, *mg, *ms;

static void cb_counter5(sim_world_t *w, void *arg) { sim_counter_add(mc, 5); }
static void cb_counter3(sim_world_t *w, void *arg) { sim_counter_add(mc, 3); }

/* Counter: 0 on [0,1), 5 on [1,3), 8 on [3,4]. Values taken 0, 5, 8. */
Test(metrics, counter_summary) {
  sim_world_t *w = kt_world(NULL);
  mc = sim_metric(w, "deliveries", SIM_M_COUNTER, "");
  cr_assert_eq(sim_metric_kind(mc), SIM_M_COUNTER);
  sim_at(w, SIM_SEC, cb_counter5, NULL);
  sim_at(w, 3 * SIM_SEC, cb_counter3, NULL);
  cr_assert_eq(sim_world_run(w, 4 * SIM_SEC), 0);
  sim_metric_summary_t s;
  sim_metric_summarize(mc, &s);
  cr_assert_float_eq(sim_metric_value(mc), 8.0, 1e-12);
  cr_assert_float_eq(s.final, 8.0, 1e-12);
  cr_assert_float_eq(s.min, 0.0, 1e-12);
  cr_assert_float_eq(s.max, 8.0, 1e-12);
  cr_assert_eq(s.count, 3);
  cr_assert_float_eq(s.mean, 13.0 / 3.0, 1e-12);
  cr_assert_float_eq(s.twmean, (0 * 1 + 5 * 2 + 8 * 1) / 4.0, 1e-12);
  cr_assert_float_eq(s.p50, 0.0, 1e-12, "percentiles are for samples only");
  kt_end(w, 0);
}

static void cb_gauge20(sim_world_t *w, void *arg) { sim_gauge_set(mg, 20); }
static void cb_gauge_minus5(sim_world_t *w, void *arg) {
  sim_gauge_add(mg, -5);
  sim_gauge_set(mg, 15); /* same value: not a new value */
}

/* Gauge: 10 on [0,2), 20 on [2,3), 15 on [3,5]. Set to 10 at the instant it
 * is registered, so its values are 10, 20, 15 (the registration 0 was never
 * held). twmean = (10*2 + 20*1 + 15*2) / 5 = 14. */
Test(metrics, gauge_time_weighted_mean) {
  sim_world_t *w = kt_world(NULL);
  mg = sim_metric(w, "queue", SIM_M_GAUGE, "msgs");
  sim_gauge_set(mg, 10);
  sim_at(w, 2 * SIM_SEC, cb_gauge20, NULL);
  sim_at(w, 3 * SIM_SEC, cb_gauge_minus5, NULL);
  cr_assert_eq(sim_world_run(w, 5 * SIM_SEC), 0);
  sim_metric_summary_t s;
  sim_metric_summarize(mg, &s);
  cr_assert_float_eq(s.twmean, 14.0, 1e-12);
  cr_assert_float_eq(s.final, 15.0, 1e-12);
  cr_assert_float_eq(s.min, 10.0, 1e-12);
  cr_assert_float_eq(s.max, 20.0, 1e-12);
  cr_assert_eq(s.count, 3);
  cr_assert_float_eq(s.mean, 45.0 / 3.0, 1e-12);
  cr_assert_str_eq(sim_metric_unit(mg), "msgs");
  /* The summary is as of now: running on changes the time weighting. */
  cr_assert_eq(sim_world_run(w, 10 * SIM_SEC), 0);
  sim_metric_summarize(mg, &s);
  cr_assert_float_eq(s.twmean, (10 * 2 + 20 * 1 + 15 * 7) / 10.0, 1e-12);
  kt_end(w, 0);
}

/* A gauge first set after time has passed did hold 0 until then. */
static void cb_gauge7(sim_world_t *w, void *arg) { sim_gauge_set(mg, 7); }
Test(metrics, gauge_set_later_keeps_its_zero) {
  sim_world_t *w = kt_world(NULL);
  mg = sim_metric(w, "g", SIM_M_GAUGE, "");
  sim_at(w, SIM_SEC, cb_gauge7, NULL);
  cr_assert_eq(sim_world_run(w, 2 * SIM_SEC), 0);
  sim_metric_summary_t s;
  sim_metric_summarize(mg, &s);
  cr_assert_float_eq(s.min, 0.0, 1e-12);
  cr_assert_float_eq(s.max, 7.0, 1e-12);
  cr_assert_float_eq(s.twmean, 3.5, 1e-12);
  kt_end(w, 0);
}

static sim_metric_t *late;
static void cb_register_late(sim_world_t *w, void *arg) {
  late = sim_metric(w, "late", SIM_M_GAUGE, "");
  sim_gauge_set(late, 4);
}

/* A gauge registered at 6 s is weighted from 6 s: 4 on [6,8] -> 4. */
Test(metrics, twmean_from_registration) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 6 * SIM_SEC, cb_register_late, NULL);
  cr_assert_eq(sim_world_run(w, 8 * SIM_SEC), 0);
  sim_metric_summary_t s;
  sim_metric_summarize(late, &s);
  cr_assert_float_eq(s.twmean, 4.0, 1e-12);
  kt_end(w, 0);
}

Test(metrics, twmean_with_no_elapsed_time_is_the_value) {
  sim_world_t *w = kt_world(NULL);
  mg = sim_metric(w, "g", SIM_M_GAUGE, NULL);
  sim_gauge_set(mg, 7);
  sim_metric_summary_t s;
  sim_metric_summarize(mg, &s);
  cr_assert_float_eq(s.twmean, 7.0, 1e-12);
  cr_assert_str_eq(sim_metric_unit(mg), "");
  kt_end(w, 0);
}

/* Percentiles agree with a comparison sort (nearest rank) for sample counts
 * on both sides of the radix sort's digit-size switch (2^16) and of its
 * insertion-sort cut-off (64), with negatives, zeros, ties and values whose
 * high digits are all the same (the skipped passes). */
static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double rank(const double *v, size_t n, double q) {
  size_t k = (size_t)ceil(q * (double)n);
  return v[(k ? k : 1) - 1];
}

Test(metrics, percentiles_match_a_comparison_sort) {
  static const size_t sizes[] = {1, 63, 64, 1000, 65535, 65536, 200001};
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
    for (int shape = 0; shape < 3; shape++) {
      size_t n = sizes[si];
      sim_world_t *w = kt_world(NULL);
      sim_metric_t *m = sim_metric(w, "x", SIM_M_SAMPLE, "");
      sim_rng_t r;
      sim_rng_init(&r, n * 3 + (size_t)shape, "test.sort");
      double *v = malloc(n * sizeof *v);
      for (size_t i = 0; i < n; i++) {
        double u = sim_rng_uniform(&r);
        v[i] = shape == 0   ? (u - 0.5) * 1e6                    /* signs */
               : shape == 1 ? (double)sim_rng_below(&r, 50) - 10 /* ties, 0 */
                            : 1.0 + u * 1e-9;                    /* same high bits */
        sim_sample_add(m, v[i]);
      }
      qsort(v, n, sizeof *v, cmp_dbl);
      sim_metric_summary_t s;
      sim_metric_summarize(m, &s);
      /* exact up to 65,536 values, then the histogram: within 0.5 % */
      double tol = n > 65536 ? 0.005 : 0;
      const double got[] = {s.p50, s.p95, s.p99}, qs[] = {0.50, 0.95, 0.99};
      for (int q = 0; q < 3; q++) {
        double want = rank(v, n, qs[q]);
        cr_assert(fabs(got[q] - want) <= tol * fabs(want), "n=%zu shape %d q %.2f: %.17g, exact %.17g",
                  n, shape, qs[q], got[q], want);
      }
      free(v);
      sim_world_destroy(w);
    }
  }
  kt_leak_check();
}

/* Samples 1..100 added in a scrambled order. Nearest rank: p50 = the 50th
 * smallest = 50, p95 = 95, p99 = 99. */
Test(metrics, sample_percentiles) {
  sim_world_t *w = kt_world(NULL);
  ms = sim_metric(w, "latency", SIM_M_SAMPLE, "ms");
  for (int i = 0; i < 100; i++)
    sim_sample_add(ms, (double)((i * 37) % 100 + 1));
  sim_metric_summary_t s;
  sim_metric_summarize(ms, &s);
  cr_assert_eq(s.count, 100);
  cr_assert_float_eq(s.min, 1.0, 1e-12);
  cr_assert_float_eq(s.max, 100.0, 1e-12);
  cr_assert_float_eq(s.mean, 50.5, 1e-12);
  cr_assert_float_eq(s.p50, 50.0, 1e-12);
  cr_assert_float_eq(s.p95, 95.0, 1e-12);
  cr_assert_float_eq(s.p99, 99.0, 1e-12);
  cr_assert_float_eq(s.final, (double)((99 * 37) % 100 + 1), 1e-12,
                     "final is the last sample");
  /* Adding after a summary re-sorts: 10 more of 1000 -> p99 = 1000. */
  for (int i = 0; i < 10; i++)
    sim_sample_add(ms, 1000);
  sim_metric_summarize(ms, &s);
  cr_assert_eq(s.count, 110);
  cr_assert_float_eq(s.p99, 1000.0, 1e-12);
  cr_assert_float_eq(s.p50, 55.0, 1e-12); /* rank ceil(55) = 55 */
  cr_assert_float_eq(s.p95, 1000.0, 1e-12); /* rank 105 > 100 */
  kt_end(w, 0);
}

/* Percentiles at and around the sort's bounds (insertion sort below 64
 * samples, 8-bit radix digits below 2^16, 16-bit from there) and others:
 * the values -n/2 + 0.25 .. n/2 - 0.75 in a scrambled order (7919 is prime,
 * so i * 7919 % n is a permutation), negatives included. Nearest rank r is
 * the value r - 1 - n/2 + 0.25. */
Test(metrics, sample_percentiles_across_sort_methods) {
  static const size_t sizes[] = {63, 64, 1000, 8191, 8192, 20000, 65535, 65536};
  sim_world_t *w = kt_world(NULL);
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t n = sizes[k];
    char name[32];
    snprintf(name, sizeof name, "s%zu", n);
    sim_metric_t *m = sim_metric(w, name, SIM_M_SAMPLE, "");
    double off = -(double)(n / 2) + 0.25;
    for (size_t i = 0; i < n; i++) sim_sample_add(m, (double)((i * 7919) % n) + off);
    sim_metric_summary_t s;
    sim_metric_summarize(m, &s);
    static const double qs[] = {0.50, 0.95, 0.99};
    const double got[] = {s.p50, s.p95, s.p99};
    for (int q = 0; q < 3; q++) {
      size_t rank = (size_t)ceil(qs[q] * (double)n);
      cr_expect_float_eq(got[q], (double)(rank - 1) + off, 1e-9, "n %zu q %.2f", n, qs[q]);
    }
    cr_expect_float_eq(s.min, off, 1e-9, "n %zu", n);
    cr_expect_float_eq(s.max, (double)(n - 1) + off, 1e-9, "n %zu", n);
  }
  kt_end(w, 0);
}

Test(metrics, sample_small_counts) {
  sim_world_t *w = kt_world(NULL);
  ms = sim_metric(w, "one", SIM_M_SAMPLE, "");
  sim_metric_summary_t s;
  sim_metric_summarize(ms, &s);
  cr_assert_eq(s.count, 0);
  cr_assert_float_eq(s.p50, 0.0, 1e-12);
  cr_assert_float_eq(s.mean, 0.0, 1e-12);
  sim_sample_add(ms, -2.5);
  sim_metric_summarize(ms, &s);
  cr_assert_eq(s.count, 1);
  cr_assert_float_eq(s.p50, -2.5, 1e-12);
  cr_assert_float_eq(s.p99, -2.5, 1e-12);
  cr_assert_float_eq(s.min, -2.5, 1e-12);
  cr_assert_float_eq(s.max, -2.5, 1e-12);
  /* 1..10: p50 = 5, p95 = p99 = 10 */
  sim_metric_t *t = sim_metric(w, "ten", SIM_M_SAMPLE, "");
  for (int i = 10; i >= 1; i--)
    sim_sample_add(t, i);
  sim_metric_summarize(t, &s);
  cr_assert_float_eq(s.p50, 5.0, 1e-12);
  cr_assert_float_eq(s.p95, 10.0, 1e-12);
  cr_assert_float_eq(s.p99, 10.0, 1e-12);
  kt_end(w, 0);
}

Test(metrics, registration_lookup_and_order) {
  sim_world_t *w = kt_world(NULL);
  size_t n0 = sim_world_nmetrics(w); /* the kernel's own, e.g. cpu.* */
  cr_assert_not_null(sim_world_metric_find(w, "cpu.busy_cores"));
  sim_metric_t *a = sim_metric(w, "a", SIM_M_COUNTER, "");
  cr_assert_eq(sim_metric(w, "a", SIM_M_COUNTER, "x"), a, "found by name");
  char name[32];
  for (int i = 0; i < 300; i++) { /* beyond every initial table size */
    snprintf(name, sizeof name, "m.%d", i);
    sim_metric(w, name, i % 3 == 0 ? SIM_M_GAUGE : SIM_M_SAMPLE, "");
  }
  cr_assert_eq(sim_world_nmetrics(w), n0 + 301);
  cr_assert_eq(sim_world_metric(w, n0), a);
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "m.%d", i);
    sim_metric_t *m = sim_world_metric(w, n0 + 1 + (size_t)i);
    cr_assert_str_eq(sim_metric_name(m), name, "listed in registration order");
    cr_assert_eq(sim_world_metric_find(w, name), m);
  }
  cr_assert_null(sim_world_metric_find(w, "nope"));
  cr_assert_null(sim_world_metric(w, n0 + 301));
  kt_end(w, 0);
}

Test(metrics, kind_clash_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_metric(w, "x", SIM_M_COUNTER, "");
  sim_metric(w, "x", SIM_M_GAUGE, "");
}

/* ---- series -------------------------------------------------------------------- */

static sim_world_t *series_world(sim_time_t interval) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sample_interval = interval;
  return kt_world_opts(&o);
}

static void cb_set(sim_world_t *w, void *arg) {
  sim_gauge_set(mg, (double)(intptr_t)arg);
}
static void cb_obs(sim_world_t *w, void *arg) {
  sim_sample_add(ms, (double)(intptr_t)arg);
}

static void assert_series(const sim_metric_t *m, const double *want, size_t n) {
  size_t k;
  const double *v = sim_metric_series(m, &k);
  cr_assert_eq(k, n, "%s: %zu points, expected %zu", sim_metric_name(m), k, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_float_eq(v[i], want[i], 1e-12, "%s[%zu] = %g, expected %g",
                       sim_metric_name(m), i, v[i], want[i]);
}

/* Points at 1, 2, 3, 4 s. Gauge: 1 from 0.5 s, 2 from 1.5 s, 3 from 2.5 s.
 * Sample: mean of the observations in each interval, the previous point when
 * there were none: (1+3)/2, (none), 10, (none). */
Test(series, gauge_and_sample_at_interval) {
  sim_world_t *w = series_world(SIM_SEC);
  cr_assert_eq(sim_world_sample_interval(w), SIM_SEC);
  mg = sim_metric(w, "g", SIM_M_GAUGE, "");
  ms = sim_metric(w, "s", SIM_M_SAMPLE, "");
  sim_at(w, 500 * SIM_MS, cb_set, (void *)1);
  sim_at(w, 1500 * SIM_MS, cb_set, (void *)2);
  sim_at(w, 2500 * SIM_MS, cb_set, (void *)3);
  sim_at(w, 200 * SIM_MS, cb_obs, (void *)1);
  sim_at(w, 700 * SIM_MS, cb_obs, (void *)3);
  sim_at(w, 2200 * SIM_MS, cb_obs, (void *)10);
  cr_assert_eq(sim_world_run(w, 4 * SIM_SEC), 0);
  double g[] = {1, 2, 3, 3};
  double s[] = {2, 2, 10, 10};
  assert_series(mg, g, 4);
  assert_series(ms, s, 4);
  kt_end(w, 0);
}

/* The clock runs on to `until` after the last thread finished, sampling all
 * the way; a metric registered late gets zeros for the points it missed. */
static void short_thread(void *arg) {
  sim_sleep(1500 * SIM_MS);
  sim_gauge_set(mg, 5);
}
static void cb_late_counter(sim_world_t *w, void *arg) {
  mc = sim_metric(w, "late", SIM_M_COUNTER, "");
  sim_counter_add(mc, 2);
}

Test(series, runs_to_until_and_pads_late_metrics) {
  sim_world_t *w = series_world(SIM_SEC);
  mg = sim_metric(w, "g", SIM_M_GAUGE, "");
  sim_thread_spawn(w, "t", NULL, short_thread, NULL);
  sim_at(w, 2500 * SIM_MS, cb_late_counter, NULL);
  cr_assert_eq(sim_world_run(w, 6 * SIM_SEC), 0);
  cr_assert_eq(sim_now(w), 6 * SIM_SEC);
  double g[] = {0, 5, 5, 5, 5, 5};
  double c[] = {0, 0, 2, 2, 2, 2};
  assert_series(mg, g, 6);
  assert_series(mc, c, 6);
  /* A second run segment continues the series. */
  cr_assert_eq(sim_world_run(w, 8 * SIM_SEC), 0);
  double g2[] = {0, 5, 5, 5, 5, 5, 5, 5};
  assert_series(mg, g2, 8);
  kt_end(w, 0);
}

/* Ties at a sampling instant follow (time, sequence): a change scheduled
 * before the sample event of that instant was queued (here at t=0, while
 * the 2 s sample is queued at 1 s) is seen by it; one scheduled later (at
 * 1.5 s for 2 s) is not. */
static void cb_schedule_change_at_2s(sim_world_t *w, void *arg) {
  sim_at(w, 2 * SIM_SEC, cb_set, (void *)7);
}

Test(series, ties_at_sampling_instants) {
  sim_world_t *w = series_world(SIM_SEC);
  mg = sim_metric(w, "early", SIM_M_GAUGE, "");
  sim_at(w, 2 * SIM_SEC, cb_set, (void *)9);
  cr_assert_eq(sim_world_run(w, 3 * SIM_SEC), 0);
  double e[] = {0, 9, 9};
  assert_series(mg, e, 3);
  kt_end(w, 0);

  w = series_world(SIM_SEC);
  mg = sim_metric(w, "later", SIM_M_GAUGE, "");
  sim_at(w, 1500 * SIM_MS, cb_schedule_change_at_2s, NULL);
  cr_assert_eq(sim_world_run(w, 3 * SIM_SEC), 0);
  double l[] = {0, 0, 7};
  assert_series(mg, l, 3);
  kt_end(w, 0);
}

Test(series, none_without_interval) {
  sim_world_t *w = kt_world(NULL);
  mg = sim_metric(w, "g", SIM_M_GAUGE, "");
  sim_gauge_set(mg, 1);
  cr_assert_eq(sim_world_run(w, 10 * SIM_SEC), 0);
  size_t n = 99;
  sim_metric_series(mg, &n);
  cr_assert_eq(n, 0);
  cr_assert_eq(sim_world_sample_interval(w), 0);
  kt_end(w, 0);
}

/* The kernel's CPU gauges are sampled like any other metric: one burner on
 * one of 2 cores for 2.5 s, sampled every second. */
static void burn_2500ms(void *arg) { sim_cpu_burn(2500 * SIM_MS); }

Test(series, kernel_cpu_gauge) {
  sim_world_t *w = series_world(SIM_SEC);
  sim_thread_spawn(w, "b", NULL, burn_2500ms, NULL);
  cr_assert_eq(sim_world_run(w, 4 * SIM_SEC), 0);
  sim_metric_t *busy = sim_world_metric_find(w, "cpu.busy_cores");
  double want[] = {1, 1, 0, 0};
  assert_series(busy, want, 4);
  sim_metric_summary_t s;
  sim_metric_summarize(busy, &s);
  cr_assert_float_eq(s.twmean, 2.5 / 4.0, 1e-12);
  kt_end(w, 0);
}

/* Past 65,536 values a sample metric keeps a histogram of logarithmic
 * buckets: every quantile within 0.5 % (relative) of the exact nearest-rank
 * value, for light and heavy tails, signs and zeros, and memory that does
 * not grow with the count (checked through the process's allocations: a
 * million values would take 8 MB as doubles). */
Test(metrics, quantiles_past_the_exact_bound_are_within_half_a_percent) {
  const size_t n = 1000000;
  double *v = malloc(n * sizeof *v);
  for (int shape = 0; shape < 4; shape++) {
    sim_world_t *w = kt_world(NULL);
    sim_metric_t *m = sim_metric(w, "x", SIM_M_SAMPLE, "s");
    sim_rng_t r;
    sim_rng_init(&r, (uint64_t)shape + 1, "test.sketch");
    for (size_t i = 0; i < n; i++) {
      double x;
      switch (shape) {
      case 0: x = sim_rng_exp(&r, 0.25); break;                       /* latencies */
      case 1: x = exp(6 * sim_rng_normal(&r)) * 1e-3; break;          /* 16 decades */
      case 2: x = (sim_rng_uniform(&r) - 0.3) * 1e4; break;           /* signs */
      default: x = sim_rng_below(&r, 4) ? sim_rng_exp(&r, 2) : 0; break; /* zeros */
      }
      v[i] = x;
      sim_sample_add(m, x);
    }
    qsort(v, n, sizeof *v, cmp_dbl);
    sim_metric_summary_t s;
    sim_metric_summarize(m, &s);
    cr_assert_eq(s.count, n);
    cr_assert_eq(s.min, v[0]);
    cr_assert_eq(s.max, v[n - 1]);
    cr_assert_eq(s.p99, sim_metric_quantile(m, 0.99));
    for (int k = 1; k <= 1000; k++) { /* q = 0.001 .. 1 */
      double q = k / 1000.0, got = sim_metric_quantile(m, q), want = rank(v, n, q);
      cr_assert(fabs(got - want) <= 0.005 * fabs(want) * (1 + 1e-12),
                "shape %d q %.3f: %.17g, exact %.17g (%.3g %%)", shape, q, got, want,
                100 * fabs(got - want) / fabs(want));
    }
    sim_world_destroy(w);
  }
  free(v);
  kt_leak_check();
}

/* ---- derived metrics: a metric read the way Performance Monitor samples it ---- */

static sim_metric_t *md_cpu_a, *md_ops;
static void cb_cores(sim_world_t *w, void *arg) { sim_gauge_set(mg, (double)(intptr_t)arg); }
static void cb_ops(sim_world_t *w, void *arg) { sim_counter_add(md_ops, (int64_t)(intptr_t)arg); }
static void cb_late_proc(sim_world_t *w, void *arg) {
  md_cpu_a = sim_metric(w, "proc.b.cpu_cores", SIM_M_GAUGE, "cores");
  sim_gauge_set(md_cpu_a, 1);
}

/* Interval 1 s, points at 1, 2, 3, 4 s.
 * VALUE of a gauge: its value at each point.
 * RATE of a counter: +3 at 0.5 s, +6 at 1.5 s and +6 at 1.7 s, nothing after:
 *   3/s, 12/s, 0/s, 0/s.
 * MEAN x 100 of a gauge (percent of one core): 2 cores on [0, 0.5), then
 *   0 until 2.25 s, then 1: 100, 0, 75, 100. Two busy cores make 200 %.
 * A family: proc.<name>.cpu_cores -> \Process(<name>)\% Processor Time, for
 * a process registered before the rule and one registered later (at
 * 1.5 s: its first point covers only 0.5 s, at 1 core: 100). */
Test(series, derived_value_rate_mean_and_family) {
  sim_world_t *w = series_world(SIM_SEC);
  mg = sim_metric(w, "proc.a.cpu_cores", SIM_M_GAUGE, "cores");
  md_ops = sim_metric(w, "ops", SIM_M_COUNTER, "");
  sim_gauge_set(mg, 2);
  sim_metric_derive(w, "proc.<name>.cpu_cores", "\\Process(<name>)\\% Processor Time",
                    SIM_DERIVE_MEAN, 100, "%");
  sim_metric_derive(w, "ops", "\\Obj\\Ops/sec", SIM_DERIVE_RATE, 1, "/s");
  sim_metric_derive(w, "ops", "\\Obj\\Ops", SIM_DERIVE_VALUE, 1, "");
  sim_at(w, 500 * SIM_MS, cb_cores, (void *)0);
  sim_at(w, 2250 * SIM_MS, cb_cores, (void *)1);
  sim_at(w, 500 * SIM_MS, cb_ops, (void *)3);
  sim_at(w, 1500 * SIM_MS, cb_ops, (void *)6);
  sim_at(w, 1700 * SIM_MS, cb_ops, (void *)6);
  sim_at(w, 1500 * SIM_MS, cb_late_proc, NULL);
  cr_assert_eq(sim_world_run(w, 4 * SIM_SEC), 0);
  sim_metric_t *pa = sim_world_metric_find(w, "\\Process(a)\\% Processor Time");
  sim_metric_t *pb = sim_world_metric_find(w, "\\Process(b)\\% Processor Time");
  sim_metric_t *rate = sim_world_metric_find(w, "\\Obj\\Ops/sec");
  sim_metric_t *val = sim_world_metric_find(w, "\\Obj\\Ops");
  cr_assert(pa && pb && rate && val);
  cr_assert_eq(sim_metric_source(pa), mg);
  cr_assert_eq(sim_metric_source(pb), md_cpu_a);
  cr_assert_null(sim_metric_source(mg));
  cr_assert_str_eq(sim_metric_unit(pa), "%");
  cr_assert_eq(sim_metric_kind(rate), SIM_M_GAUGE);
  assert_series(pa, (double[]){100, 0, 75, 100}, 4);
  assert_series(pb, (double[]){0, 100, 100, 100}, 4); /* padded before it existed */
  assert_series(rate, (double[]){3, 12, 0, 0}, 4);
  assert_series(val, (double[]){3, 15, 15, 15}, 4);
  /* the summary is over the samples: no registration 0, twmean = mean */
  sim_metric_summary_t s;
  sim_metric_summarize(pa, &s);
  cr_assert_eq(s.count, 4);
  cr_assert_float_eq(s.min, 0, 1e-12);
  cr_assert_float_eq(s.max, 100, 1e-12);
  cr_assert_float_eq(s.mean, 275.0 / 4, 1e-12);
  cr_assert_float_eq(s.twmean, 275.0 / 4, 1e-12);
  cr_assert_float_eq(s.final, 100, 1e-12);
  sim_metric_summarize(rate, &s);
  cr_assert_float_eq(s.min, 0, 1e-12);
  cr_assert_float_eq(s.max, 12, 1e-12);
  sim_metric_summarize(pb, &s);
  cr_assert_eq(s.count, 3, "sampled from its registration on");
  cr_assert_float_eq(s.min, 100, 1e-12);
  kt_end(w, 0);
}

static void cb_two_cores(sim_world_t *w, void *arg) { sim_gauge_set(mg, 2); }

/* % Processor Time of a process is percent of one core: 2 busy cores for a
 * whole interval are 200 %, as Performance Monitor shows. */
Test(series, derived_mean_is_percent_of_one_core) {
  sim_world_t *w = series_world(SIM_SEC);
  mg = sim_metric(w, "proc.store.cpu_cores", SIM_M_GAUGE, "cores");
  sim_metric_derive(w, "proc.<name>.cpu_cores", "\\Process(<name>)\\% Processor Time",
                    SIM_DERIVE_MEAN, 100, "%");
  sim_at(w, 0, cb_two_cores, NULL);
  cr_assert_eq(sim_world_run(w, 2 * SIM_SEC), 0);
  assert_series(sim_world_metric_find(w, "\\Process(store)\\% Processor Time"),
                (double[]){200, 200}, 2);
  kt_end(w, 0);
}

Test(metrics, derived_name_clash_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_metric(w, "a", SIM_M_GAUGE, "");
  sim_metric(w, "\\A", SIM_M_GAUGE, "");
  sim_metric_derive(w, "a", "\\A", SIM_DERIVE_VALUE, 1, "");
}

/* ---- memory against the run's length (issue 19) ---- */

typedef struct mem_model {
  sim_rng_t rng;
  sim_metric_t *done, *lat, *busy;
  sim_mutex_t *lock;
  int nbusy;
} mem_model_t;

static void mem_request(void *arg) {
  mem_model_t *m = arg;
  sim_time_t t0 = sim_now(sim_thread_world(sim_self()));
  sim_mutex_lock(m->lock);
  sim_gauge_set(m->busy, ++m->nbusy);
  sim_time_t d = (sim_time_t)(sim_rng_exp(&m->rng, 0.05) * SIM_SEC) + 1;
  sim_mutex_unlock(m->lock);
  sim_sleep(d);
  sim_mutex_lock(m->lock);
  sim_gauge_set(m->busy, --m->nbusy);
  sim_mutex_unlock(m->lock);
  sim_counter_add(m->done, 1);
  sim_sample_add(m->lat, (double)(sim_now(sim_thread_world(sim_self())) - t0) / SIM_MS);
}

static void mem_generator(void *arg) {
  mem_model_t *m = arg;
  sim_world_t *w = sim_thread_world(sim_self());
  for (;;) {
    sim_sleep((sim_time_t)(sim_rng_exp(&m->rng, 0.05) * SIM_SEC) + 1); /* 20 requests/s */
    if (!sim_thread_spawn(w, "request", NULL, mem_request, m)) return;
  }
}

/* Runs the model above for `hours` with a 1-minute sample interval; what
 * the world holds at the end, and the records it kept. */
static void mem_run(int hours, int keep_trace, sim_world_mem_t *mem, uint64_t *kept,
                    uint64_t *count) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sample_interval = SIM_MIN;
  o.keep_trace = keep_trace;
  o.trace_memory = 4096;
  sim_world_t *w = kt_world_opts(&o);
  static mem_model_t m;
  memset(&m, 0, sizeof m);
  sim_rng_init(&m.rng, 7, "test.mem");
  m.done = sim_metric(w, "done", SIM_M_COUNTER, "");
  m.lat = sim_metric(w, "lat", SIM_M_SAMPLE, "ms");
  m.busy = sim_metric(w, "busy", SIM_M_GAUGE, "");
  m.lock = sim_mutex_create(w, "lock");
  cr_assert_not_null(sim_thread_spawn(w, "generator", NULL, mem_generator, &m));
  cr_assert_eq(sim_world_run(w, (sim_time_t)hours * SIM_HOUR), 0);
  sim_world_memory(w, mem);
  *kept = sim_world_trace_kept(w);
  sim_metric_summary_t s;
  sim_metric_summarize(m.lat, &s);
  *count = s.count;
  sim_world_destroy(w);
}

/* What a world holds for its metrics does not grow with the run's length
 * (past the exact bound of a sample metric); its series grow by 8 bytes a
 * metric an interval; kept trace records stay within opts.trace_memory in
 * memory; thread names are not kept without a trace. 1 h and 4 h of 20
 * requests/s: 72,000 and 288,000 latencies (past 65,536: a histogram). */
Test(metrics, memory_does_not_grow_with_the_run, .timeout = 120) {
  sim_world_mem_t a, b;
  uint64_t ka, kb, ca, cb;
  mem_run(1, 0, &a, &ka, &ca);
  mem_run(4, 0, &b, &kb, &cb);
  cr_assert_gt(ca, 65536, "past the exact bound: %llu", (unsigned long long)ca);
  cr_assert_gt(cb, 3 * ca);
  cr_assert_leq(b.metrics, a.metrics + 64 * 1024, "metrics: %zu bytes at 1 h, %zu at 4 h",
                a.metrics, b.metrics);
  size_t nm = 3 + 4 + 3; /* ours, the kernel's cpu/runq and default process's (bound) */
  cr_assert_leq(a.series, 2 * 8 * 60 * nm + 8 * 256 * nm, "%zu", a.series);
  cr_assert_leq(b.series, 2 * 8 * 240 * nm + 8 * 256 * nm, "%zu", b.series);
  cr_assert_eq(a.trace + b.trace + a.thread_names + b.thread_names, 0);
  cr_assert_eq(ka + kb, 0);
  /* kept records: in memory as much at 4 h as at 1 h, the rest in the file */
  mem_run(1, 1, &a, &ka, &ca);
  mem_run(4, 1, &b, &kb, &cb);
  cr_assert_gt(kb, 3 * ka);
  cr_assert_gt(a.trace, 0);
  cr_assert_eq(a.trace, b.trace, "trace in memory: %zu bytes at 1 h, %zu at 4 h", a.trace, b.trace);
  cr_assert_lt(b.trace, kb * sizeof(sim_trace_rec_t) / 10);
}
