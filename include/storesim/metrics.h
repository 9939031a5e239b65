/*
 * storesim kernel: metrics.
 *
 * Counters (monotonic), gauges (a value that goes up and down; the kernel keeps
 * its time-weighted mean) and samples (observed values such as latencies, with
 * percentiles). When opts.sample_interval > 0, every metric's current value is
 * recorded at each multiple of the interval, giving a time series.
 * Metrics are registered by name; names are unique within a world and listed
 * in registration order (deterministic).
 */
#ifndef STORESIM_METRICS_H
#define STORESIM_METRICS_H

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_metric sim_metric_t;
typedef enum { SIM_M_COUNTER, SIM_M_GAUGE, SIM_M_SAMPLE } sim_metric_kind_t;

/* Returns the metric named `name`, registering it on first use; aborts if the
 * name exists with another kind. `unit` is a short label ("ms", "B", "").  */
sim_metric_t *sim_metric(sim_world_t *w, const char *name,
                         sim_metric_kind_t kind, const char *unit);
void sim_counter_add(sim_metric_t *m, int64_t n);
void sim_gauge_set(sim_metric_t *m, double v);
void sim_gauge_add(sim_metric_t *m, double dv);
void sim_sample_add(sim_metric_t *m, double v);
double sim_metric_value(const sim_metric_t *m); /* current value (samples: last) */

typedef struct sim_metric_summary {
  double min, max, mean, twmean, final;
  double p50, p95, p99; /* samples only, else 0 */
  uint64_t count;       /* samples observed / updates */
} sim_metric_summary_t;

size_t sim_world_nmetrics(const sim_world_t *w);
sim_metric_t *sim_world_metric(const sim_world_t *w, size_t i);
sim_metric_t *sim_world_metric_find(const sim_world_t *w, const char *name);
const char *sim_metric_name(const sim_metric_t *m);
const char *sim_metric_unit(const sim_metric_t *m);
sim_metric_kind_t sim_metric_kind(const sim_metric_t *m);
/* Summary as of now: for gauges and counters min/max/mean are over every value
 * the metric took (a gauge starts at 0 unless it is set at the instant it is
 * registered, which then is its first value); twmean weights by virtual time since registration. For
 * samples they are over the observed values. */
void sim_metric_summarize(const sim_metric_t *m, sim_metric_summary_t *s);
/* The nearest-rank q-quantile (0 < q <= 1) of a sample metric's values:
 * exact up to 65,536 values, past them within 0.5 % (relative) of the exact
 * value (a histogram of logarithmic buckets); NAN without values or for a
 * gauge or counter. */
double sim_metric_quantile(const sim_metric_t *m, double q);
/* The sampled time series: *n points at times (i+1) * interval. */
const double *sim_metric_series(const sim_metric_t *m, size_t *n);
sim_time_t sim_world_sample_interval(const sim_world_t *w);

/* Host bytes a world holds for what it records (allocated room, not just
 * what is used): metrics = names, summaries, exact sample values (at most
 * 65,536 a metric) and histograms, which do not grow with the run's length;
 * series = the time series, 8 bytes a metric a sample interval; trace = kept
 * trace records in memory (at most opts.trace_memory of them: the older
 * ones are in a temporary file); thread_names = the name of every thread
 * ever spawned, kept only with opts.keep_trace or opts.trace_jsonl. */
typedef struct sim_world_mem {
  size_t metrics, series, trace, thread_names;
} sim_world_mem_t;
void sim_world_memory(const sim_world_t *w, sim_world_mem_t *m);

/* ---- derived metrics: a metric read the way a monitoring tool samples it ---- */
/* How a derived metric follows its source, at each sample interval. */
typedef enum sim_derive {
  SIM_DERIVE_VALUE, /* the source's value at the sample instant (a sample metric: its last value) */
  SIM_DERIVE_RATE,  /* the source's increase over the interval, per second (a counter) */
  SIM_DERIVE_MEAN,  /* the source's time-weighted mean over the interval (a gauge) */
} sim_derive_t;

/* Declares derived metrics: each metric whose name matches `pattern`,
 * registered before or after this call, gets a gauge named `name` with
 * `unit`, set at every sample interval to factor x the derivation `how` of
 * the source. A "<x>" segment of the pattern matches one segment without a
 * dot, and a "<x>" in `name` is replaced by what it matched
 * ("proc.<name>.mem_bytes" -> "\Process(<name>)\Private Bytes"). A derived
 * metric is registered right after its source (listing order stays
 * deterministic) and its values are its samples only: min, max and mean
 * (also twmean: the samples are equally spaced) are over the sampled values,
 * final is the last one, count how many were taken (0 without a sample
 * interval). Misuse aborts: an empty pattern or name, a "<x>" in name and
 * none in the pattern, a derived name that is already a metric. */
void sim_metric_derive(sim_world_t *w, const char *pattern, const char *name, sim_derive_t how,
                       double factor, const char *unit);
/* The metric m is derived from (sim_metric_derive), or NULL. */
const sim_metric_t *sim_metric_source(const sim_metric_t *m);

#ifdef __cplusplus
}
#endif
#endif
