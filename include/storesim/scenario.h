/*
 * storesim scenario layer: units, scenario files, expectations and the runner.
 *
 * A scenario file (YAML, read with libyaml) is validated against two
 * parameter tables: the scenario layer's own (seed, duration, limits, ...,
 * see scn_world_params) and the chosen model's (sim_model_t.params). The
 * loader knows no model parameter by name. Every error carries
 * "file:line:col: error: ..." (or "file: error: ..." where no position
 * exists); the loader reports as many errors as it can find in one pass.
 *
 * Life of a scenario:
 *
 *   file --scn_load--> scn_scenario_t (typed, one filled config per variant)
 *        --scn_run---> scn_result_t (per variant: metrics, expectations,
 *                      detector reports, trace hash; a verdict)
 *        --scn_result_free / scn_scenario_free
 *
 * Units. Quantities in scenario files and expressions are written with units
 * and held in base units: durations in ns (ns us ms s m min h d, compound
 * "1h30m" allowed), sizes in bytes (B KiB MiB GiB TiB; KB/MB/GB are refused
 * as ambiguous), rates per second (N/s N/m N/h N/d). A bare number is only
 * accepted for a quantity when it is 0.
 *
 * Nothing here is thread-safe beyond "one scenario per thread". Global
 * state: the table of models (scn_models, filled once), the interrupt flag
 * of the runner (scn_interrupt_*) and the crash handlers' command line and
 * per-thread run (scn_crash_*).
 */
#ifndef STORESIM_SCENARIO_H
#define STORESIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "storesim/metrics.h"
#include "storesim/param.h"
#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- units ------------------------------------------------------------------ */
/* Each parser returns 0 and sets *out, or SIM_EINVAL with a one-line reason in
 * err (no position: the caller knows where the text came from); *out is then
 * unchanged. */
int scn_parse_duration(const char *s, sim_time_t *out, char *err, size_t nerr);
int scn_parse_size(const char *s, uint64_t *out, char *err, size_t nerr);
int scn_parse_rate(const char *s, double *out, char *err, size_t nerr);
int scn_parse_int(const char *s, int64_t *out, char *err, size_t nerr);
int scn_parse_float(const char *s, double *out, char *err, size_t nerr);
int scn_parse_bool(const char *s, int *out, char *err, size_t nerr);
/* Parses "exp(250ms)", "uniform(1s, 2s)", "lognormal(50KiB, 1.0)",
 * "empirical(1s, 2s, 9s)", "const(3)" or a bare quantity (= const). `type` is
 * SIM_P_DIST_TIME, SIM_P_DIST_SIZE or SIM_P_DIST_NUM. On success out->values
 * is malloc'd (empirical only; else NULL) and owned by the caller. */
int scn_parse_dist(const char *s, sim_ptype_t type, sim_dist_t *out,
                   char *err, size_t nerr);
/* Most values of an empirical distribution (the loader bounds its tree by it). */
#define SCN_MAX_EMPIRICAL 1000000

/* Formatting: round-trips through the parsers ("150m", "64KiB", "20/s").
 * Always NUL-terminates buf (n > 0). */
void scn_format_duration(sim_time_t t, char *buf, size_t n);
/* A virtual time or a duration as outputs print it: h:mm:ss, whole seconds
 * (truncated), "-" before a negative one ("0:32:21", "26:00:00"). */
void scn_format_hms(sim_time_t t, char *buf, size_t n);
void scn_format_size(double bytes, char *buf, size_t n);
void scn_format_rate(double per_s, char *buf, size_t n);

/* Parses text as a value of parameter p into `field` (the location
 * cfg + p->offset), checking p's range. On success the old value's owned
 * memory (string, empirical values) is freed and replaced. Returns 0 or
 * SIM_EINVAL with a reason in err, or SIM_ENOMEM (host memory; err says
 * so); the field is then unchanged. */
int scn_param_parse(const sim_param_t *p, const char *text, void *field,
                    char *err, size_t nerr);
/* Writes v, a number in the base units of p's dimension (a range bound), as
 * scenario text: "150m", "64KiB", "20/s", or a plain number. */
void scn_param_format_base(const sim_param_t *p, double v, char *buf, size_t n);
/* Writes the value of field (of parameter p) as scenario text. */
void scn_param_format(const sim_param_t *p, const void *field, char *buf,
                      size_t n);
/* The value as a number in SI base units, as expressions use them: seconds,
 * bytes, 1/s (distributions: their mean; strings: 0). Sets *tdim / *bdim to
 * the exponents of time and size of its dimension (a rate is time^-1). */
double scn_param_number(const sim_param_t *p, const void *field, int *tdim,
                        int *bdim);
/* "integer", "duration", ... for docs and messages. */
const char *scn_ptype_name(sim_ptype_t t);
/* Frees the owned memory of every parameter of table in cfg (strings,
 * empirical values) and zeroes those fields. */
void scn_params_free(const sim_param_t *table, void *cfg);
/* Sets every field of `table` that has a default to it (the default text
 * parsed as a scenario value would be). Returns 0; or SIM_ENOMEM, or
 * SIM_EINVAL with the parameter and the reason in err when a default does
 * not parse (a bug in the table); fields set before the error stay set. */
int scn_params_defaults(const sim_param_t *table, void *cfg, char *err, size_t nerr);
/* Deep-copies cfg (size bytes, laid out per table) into a new allocation.
 * Returns NULL on host OOM (nothing allocated). */
void *scn_params_dup(const sim_param_t *table, const void *cfg, size_t size);

/* Up to 3 names among cands[0..n) nearest to word (edit distance), written
 * as "'a', 'b'" into buf; "" when none is close. With `always`, the nearest
 * are listed however far they are. Returns the number listed. */
int scn_suggest(const char *word, const char *const *cands, size_t n,
                int always, char *buf, size_t nbuf);

/* ---- diagnostics ------------------------------------------------------------ */
/* Collected error lines, each ending in '\n'. */
typedef struct scn_diag {
  char *text;
  size_t len, cap;
  int nerrors;
  int nwarnings;
} scn_diag_t;

void scn_diag_init(scn_diag_t *d);
void scn_diag_free(scn_diag_t *d);
/* Appends "file:line:col: error: msg\n" (line <= 0: "file: error: msg\n"). */
void scn_diag_error(scn_diag_t *d, const char *file, int line, int col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends the entries of `from` to d as if they had been filed on d, in
 * order, so d's caps on printed errors and warnings apply (from is
 * unchanged). */
void scn_diag_merge(scn_diag_t *d, const scn_diag_t *from);
/* Appends "file:line:col: warning: msg\n"; counts in nwarnings only. */
void scn_diag_warning(scn_diag_t *d, const char *file, int line, int col,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- expressions -------------------------------------------------------------- */
/*
 * Grammar (expectation strings):
 *   expr  := or ;  or := and ('or' and)* ;  and := not ('and' not)*
 *   not   := 'not' not | cmp ;  cmp := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)?
 *   sum   := prod (('+'|'-') prod)* ;  prod := unary (('*'|'/') unary)*
 *   unary := '-' unary | atom
 *   atom  := NUMBER[UNIT] | METRIC '.' STAT | '$' PARAM | FUNC '(' args ')'
 *          | '(' expr ')' | 'true' | 'false'
 * Values carry a dimension (time, size, and their powers: a rate is 1/time).
 * Inside expressions quantities are held in SI units: seconds, bytes, 1/s
 * ("150m" is 9000 with dimension time). A bare number is
 * dimensionless; comparing or adding values of different dimensions is an
 * error, except against a bare 0. Metrics are converted to these units from
 * their unit label ("ms" -> s, "KiB" -> bytes); `.count` is a plain number.
 * Functions: abs min max pow sqrt exp ln erlang_b(c, a) erlang_c(c, a).
 */
typedef struct scn_expr scn_expr_t;

typedef enum scn_stat {
  SCN_ST_MIN, SCN_ST_MAX, SCN_ST_MEAN, SCN_ST_TWMEAN, SCN_ST_FINAL,
  SCN_ST_P50, SCN_ST_P95, SCN_ST_P99, SCN_ST_COUNT, SCN_ST__N
} scn_stat_t;
const char *scn_stat_name(scn_stat_t s);

/* A number with a dimension. t, b: exponents of time and size. */
typedef struct scn_qty {
  double v;
  int t, b;
} scn_qty_t;

/* Parses text. Returns 0 and *out, or SIM_EINVAL with a reason in err and the
 * 0-based byte offset of the problem in *errpos (*out NULL), or SIM_ENOMEM
 * when host memory ran out (*out NULL). Numbers must be finite. */
int scn_expr_parse(const char *text, scn_expr_t **out, char *err, size_t nerr,
                   int *errpos);
void scn_expr_free(scn_expr_t *e);

/* Reference kinds reported by scn_expr_visit. */
enum { SCN_REF_METRIC, SCN_REF_PARAM };
/* Calls fn for every metric and parameter reference in source order; stops
 * and returns fn's value when it is nonzero. pos is the byte offset. */
int scn_expr_visit(const scn_expr_t *e,
                   int (*fn)(void *arg, int kind, const char *name,
                             scn_stat_t stat, int pos),
                   void *arg);

typedef struct scn_eval_env {
  /* Returns 0 with *q set, or nonzero with a reason in err. */
  int (*metric)(void *arg, const char *name, scn_stat_t stat, scn_qty_t *q,
                char *err, size_t nerr);
  int (*param)(void *arg, const char *path, scn_qty_t *q, char *err,
               size_t nerr);
  void *arg;
  int units_only; /* stand-in values (validate): messages name units, not values */
  /* Optional (NULL: none): whether a metric's -1 means "never" (the event
   * did not happen; scn_metric_never). Such a value compared as it is reads
   * "never" in detail, and *measured_never (if set) says the measured value
   * was one. */
  int (*never)(void *arg, const char *name);
  int *measured_never;
} scn_eval_env_t;

/* Evaluates e. Returns 0 with *truth (0/1), *measured (the left side of the
 * top comparison, or the first metric value; NAN if none) and a rendering of
 * the compared values in detail ("3.98s < 4.40s"); or SIM_EINVAL with a
 * reason in err (unknown metric, dimension mismatch, division by zero). */
int scn_expr_eval(const scn_expr_t *e, const scn_eval_env_t *env, int *truth,
                  scn_qty_t *measured, char *detail, size_t ndetail,
                  char *err, size_t nerr);
/* Formats a quantity with its unit ("4.4s", "12MiB", "3/s", "0.75"). */
void scn_qty_format(scn_qty_t q, char *buf, size_t n);
/* Dimension of a metric unit label: "ns".."d" time, "B".."GiB" size,
 * "/s" rate; others plain. *scale converts a value to base units. */
void scn_unit_dim(const char *unit, int *t, int *b, double *scale);

/* ---- scenarios ---------------------------------------------------------------- */
/* Most variants of one scenario (each is a whole run). */
#define SCN_MAX_VARIANTS 64
/* World settings every scenario has (scenario layer's own parameter table). */
typedef struct scn_world_cfg {
  int64_t seed;
  sim_time_t duration;
  sim_time_t sample_interval; /* 0: duration / 500 */
  int64_t cores;
  uint64_t machine_memory; /* simulated machine memory, 0 = unlimited */
  int64_t max_threads;
  int64_t max_events;      /* 0 = unlimited */
  int64_t max_instant_steps; /* stall limit, 0 = unlimited */
  uint64_t host_memory;      /* most resident memory of the host process */
  sim_time_t wall_time;    /* host time one run may take (0: no limit) */
  uint64_t stack_size;
  sim_time_t cpu_quantum;
  sim_time_t spin_window;
  double seed_fraction; /* promised to `check --seeds`: the fraction of world
                           seeds on which every expectation of a variant holds */
} scn_world_cfg_t;

/* The scenario layer's parameter table over scn_world_cfg_t ({NULL}-ended). */
const sim_param_t *scn_world_params(void);

typedef struct scn_expect {
  char *text;
  int line, col; /* of the scalar; col points at its first character */
  scn_expr_t *expr;
  char *not_live; /* `{expect: ..., not_live: REASON}`: why it cannot hold on
                     the threads backend (not judged there), or NULL */
} scn_expect_t;

typedef struct scn_variant {
  char *name;
  char *description;
  uint64_t fixes;       /* bits over model->fixes */
  scn_world_cfg_t world;
  void *cfg;            /* model config, model->config_size bytes */
  scn_expect_t *expects;
  size_t nexpects;
} scn_variant_t;

typedef struct scn_scenario {
  char *file;
  char *id, *title, *source, *description;
  const sim_model_t *model;
  scn_world_cfg_t world; /* base values, before variant `set` */
  sim_fault_t *faults;   /* sorted by time */
  size_t nfaults;
  scn_variant_t *variants; /* file order */
  size_t nvariants;
  /* What it was loaded from: the file's text (ntext bytes) and the --set
   * overrides, so that another process can load the same scenario
   * (scn_load_buffer(file, text, ntext, {sets, nsets})): an MPI rank of a
   * sweep (docs/scale.md). */
  char *text;
  size_t ntext;
  char **sets;
  size_t nsets;
} scn_scenario_t;

/* The models this build knows (queue always, store when built). */
const sim_model_t *const *scn_models(size_t *n);
const sim_model_t *scn_model_find(const char *name);
/* What every run publishes whatever its model: the kernel's metrics (cpu.*,
 * proc.<name>.*) and the runner's detector counters (detect.*), with their
 * plots. */
const sim_model_part_t *scn_world_part(void);
/* The description of metric `name`: from m's parts (m may be NULL), then
 * from scn_world_part(); NULL when nothing describes it. A counter path
 * (scn_is_counter) is described as the gauge every run records for it, in
 * the counter's unit (NULL when no metric row declares it; the description
 * stays valid for the life of the process). */
const sim_metric_desc_t *scn_metric_desc(const sim_model_t *m, const char *name);
/* Performance Monitor counters (sim_metric_desc_t.counter): every metric
 * described with one is recorded, in every run, under the counter's path
 * as well ("\MSExchangeIS\RPC Averaged Latency", a derived gauge sampled
 * the way Performance Monitor samples the counter). scn_counters_attach
 * declares them in w for model m (NULL: the world part's only); the runner
 * calls it before the model's create. */
void scn_counters_attach(sim_world_t *w, const sim_model_t *m);
/* True when `name` is a counter path (it starts with a backslash): metric
 * names never do. */
static inline int scn_is_counter(const char *name) { return name && name[0] == '\\'; }
/* The description of the metric whose counter is `counter` (a counter path,
 * its family instance filled in: "\Process(store)\Private Bytes"), from m's
 * parts (m may be NULL) and the world part; NULL when none. */
const sim_metric_desc_t *scn_counter_metric(const sim_model_t *m, const char *counter);
/* The value of parameter `path` (a scenario key or a model parameter) for
 * variant v with world w, as a quantity with its unit: 0, or -1 with
 * "unknown parameter '$path'" in err. For expectations' $path references. */
int scn_param_qty(const scn_scenario_t *s, const scn_variant_t *v, const scn_world_cfg_t *w,
                  const char *path, scn_qty_t *q, char *err, size_t nerr);
/* 1 when the model names `name` an instant that is -1 until it happens
 * (sim_model_part_t.never): outputs say "never" for -1. */
int scn_metric_never(const sim_model_t *m, const char *name);
/* The states of metric `name` when a part of model m (or of every run)
 * declares it a state metric (sim_model_part_t.states), else NULL. */
const sim_metric_states_t *scn_metric_states(const sim_model_t *m, const char *name);
/* True when `name` is `pattern`, or a member of the family `pattern` (one
 * segment written "<word>" matches one segment without a dot). */
int scn_metric_name_match(const char *pattern, const char *name);
/* The detector counters of every run: gauges detect.deadlocks, .hangs,
 * .lock_order, .misuse, .spins and .model_reports, kept equal to the number
 * of reports of each kind filed in w so far. scn_detect_attach registers
 * them and takes w's report hook (sim_world_on_report); d must live as long
 * as w runs. The runner calls it for every model, after create. */
typedef struct scn_detect {
  sim_metric_t *m[6];
  double n[6];
} scn_detect_t;
void scn_detect_attach(sim_world_t *w, scn_detect_t *d);
/* Writes a parameter table as a Markdown table (key, type, default, range,
 * meaning), in table order. */
void scn_params_md_table(FILE *f, const sim_param_t *table);
/* Writes, for each model, its parameters (scn_params_md_table), faults and
 * fixes as Markdown ("### Model `name`" sections of `storesim schema
 * --markdown`). Returns 0, or -1 when f reported an error. */
int scn_params_markdown(FILE *f, const sim_model_t *const *models, size_t n);
/* Writes docs/metrics.md: every part of each model, then scn_world_part(),
 * from their descriptors. Returns 0, or -1 when f reported an error. */
int scn_metrics_markdown(FILE *f, const sim_model_t *const *models, size_t n);

typedef struct scn_load_opts {
  /* Overrides "key=value" or "variant:key=value", applied after the file
   * (a variant's own `set` wins over an override without a variant). */
  const char *const *sets;
  size_t nsets;
} scn_load_opts_t;

/* Loads and validates a scenario file; path "-" reads standard input, named
 * "<stdin>" in messages and in (*out)->file. Returns 0 and *out; or
 * SIM_EINVAL (input error: messages in diag, *out NULL), SIM_ENOMEM. o may
 * be NULL. */
int scn_load(const char *path, const scn_load_opts_t *o, scn_scenario_t **out,
             scn_diag_t *diag);
/* As scn_load, from memory; `name` is used in messages. */
int scn_load_buffer(const char *name, const char *text, size_t len,
                    const scn_load_opts_t *o, scn_scenario_t **out,
                    scn_diag_t *diag);
/* As scn_load_buffer, with `model` instead of the model the file's `model`
 * key names (a test or an embedding program with a model of its own; NULL:
 * the key, looked up in scn_models()). */
int scn_load_buffer_model(const sim_model_t *model, const char *name, const char *text, size_t len,
                          const scn_load_opts_t *o, scn_scenario_t **out, scn_diag_t *diag);
/* Accepts NULL. */
void scn_scenario_free(scn_scenario_t *s);
const scn_variant_t *scn_variant_find(const scn_scenario_t *s,
                                      const char *name);

/* ---- the runner ------------------------------------------------------------------ */
struct scn_variant_res; /* below */
typedef struct scn_run_opts {
  const char *variant;  /* run only this one (NULL: all) */
  int have_seed;
  uint64_t seed;
  sim_sched_t sched;    /* the scheduler (zeroed: fifo; sim_sched_parse) */
  sim_time_t duration;  /* 0: the scenario's */
  FILE *trace;          /* JSON Lines of every record (NULL: none) */
  int keep_series;      /* keep metric time series in the result */
  int quiet;            /* no progress notes on stderr */
  /* For the report layer (sim/report) and progress displays: */
  int keep_trace;       /* worlds keep their trace records (opts.keep_trace) */
  size_t trace_memory;  /* kept records held in memory (opts.trace_memory) */
  /* Called for each variant that ran, after its results were copied into res
   * (metrics, reports, expectations) and before its world is destroyed. The
   * world may be read, not run. */
  void (*world_done)(sim_world_t *w, const scn_variant_t *v,
                     struct scn_variant_res *res, void *arg);
  void *world_done_arg;
  /* Called after every run slice (about 64 per variant) with the virtual time
   * reached and the scheduling steps so far, and once with done = 1 when the
   * variant's run ends. */
  void (*progress)(void *arg, const scn_scenario_t *s, const scn_variant_t *v,
                   sim_time_t now, sim_time_t duration, uint64_t steps,
                   int done);
  void *progress_arg;
  const char *decision_log; /* write the scheduling decisions here (NULL: no) */
  FILE *decision_log_file;  /* or to this stream (the caller closes it) */
  /* Variants run at the same time, each on its own host thread, up to this
   * many (0 or 1: one after another). Results, diagnostics and their order
   * are the same either way. Ignored (sequential) when trace, decision_log
   * or world_done is set; progress is then called from several threads, one
   * call at a time. */
  int jobs;
  /* The kernel's backend (sim.h): SIM_BACKEND_VIRTUAL (0) or
   * SIM_BACKEND_THREADS, every simulated thread a pthread, virtual time the
   * wall clock over time_scale (wall ns per virtual ns; 0: the default
   * SIM_DEFAULT_TIME_SCALE). Live variants run one after another (a busy
   * loop of one would delay the other's timers) and have no trace hash. */
  int backend;
  double time_scale;
  /* Threads backend: after a variant's run that found a deadlock, print
   * the process id and wait for SIGINT before the world is destroyed, so
   * that a debugger can be attached to the stuck threads. */
  int hold_on_deadlock;
} scn_run_opts_t;

typedef struct scn_metric_res {
  char *name, *unit;
  sim_metric_kind_t kind;
  sim_metric_summary_t sum;
  double *series;  /* keep_series only */
  size_t nseries;
} scn_metric_res_t;

/* SCN_X_NOT_LIVE: marked not_live and the run was on the threads backend:
 * evaluated (measured, detail) but not judged. */
enum { SCN_X_PASS, SCN_X_FAIL, SCN_X_ERROR, SCN_X_NOT_LIVE };

typedef struct scn_expect_res {
  const scn_expect_t *x;
  int status;          /* SCN_X_* */
  scn_qty_t measured;  /* v is NAN when nothing was measured, or when never */
  int never;           /* the measured metric says the event never happened */
  char *detail;        /* compared values, or the error */
} scn_expect_res_t;

/* The expectation failed or could not be evaluated (not: held, or not
 * judged on a live run). */
static inline int scn_expect_failed(const scn_expect_res_t *e) {
  return e->status == SCN_X_FAIL || e->status == SCN_X_ERROR;
}

typedef struct scn_report_res {
  char *kind;
  sim_time_t time;
  char *text;
  char *dot;  /* Graphviz DOT of the wait-for graph (deadlock, hang), or NULL */
} scn_report_res_t;

typedef struct scn_variant_res {
  const scn_variant_t *v;
  int ran;             /* 0: not selected or not reached */
  int run_rc;          /* sim_world_run's result (0, SIM_EHANG, ...) */
  int incomplete;      /* interrupted or stopped by a limit */
  char *error;         /* why the run stopped early, or NULL */
  uint64_t seed;
  sim_time_t end_time, duration, sample_interval;
  uint64_t trace_hash, trace_count, steps;
  int live; /* ran on the threads backend: not reproducible, the
                          trace hash means nothing and is not shown */
  scn_metric_res_t *metrics;
  size_t nmetrics;
  scn_expect_res_t *expects;
  size_t nexpects;
  int npass, nfail, nerror;
  int nnot_live; /* SCN_X_NOT_LIVE: live run, expectation marked not_live */
  scn_report_res_t *reports;
  size_t nreports;
} scn_variant_res_t;

/* How many of a variant's expectations were judged: all but those not
 * judged on a live run. */
static inline size_t scn_variant_judged(const scn_variant_res_t *vr) {
  return vr->nexpects - (size_t)vr->nnot_live;
}

typedef struct scn_result {
  const scn_scenario_t *s;
  scn_variant_res_t *variants; /* parallel to s->variants */
  size_t nvariants;
  int reproduced_without_fix;  /* 1, 0, or -1 when not run */
  int absent_with_fix;         /* 1, 0, or -1 when not run */
  int interrupted;
  int status;                  /* exit status: 0 ok, 1 an expectation
                                  failed, 2 input error, 3 internal */
  scn_diag_t diag;             /* input errors found while running */
} scn_result_t;

/* Runs the scenario's variants, each in a fresh world from the same seed.
 * Always returns a result (NULL only on host OOM) whose status says how it
 * went; errors are in result->diag. */
scn_result_t *scn_run(const scn_scenario_t *s, const scn_run_opts_t *o);
void scn_result_free(scn_result_t *r);
/* The result of metric `name` in a variant's results, or NULL. */
const scn_metric_res_t *scn_metric_res_find(const scn_variant_res_t *vr, const char *name);
/* Statistic s of a metric's summary (count as a plain number). */
double scn_metric_stat(const scn_metric_res_t *m, scn_stat_t s);
/* 0 when a metric of this kind has statistic s; else -1 with why in err
 * ("percentiles exist for sample metrics only ..."). */
int scn_stat_check(const char *name, sim_metric_kind_t kind, scn_stat_t s, char *err, size_t nerr);
/* One line: "reproduced without fix; absent with fix", ... */
void scn_verdict_text(const scn_result_t *r, char *buf, size_t n);
/* The names of the fixes variant v has, in the model's order, separated by
 * sep ("kb924567 kb922768"), or `none` when it has none; cut to n - 1 bytes. */
void scn_fixes_text(const scn_scenario_t *s, const scn_variant_t *v, const char *sep,
                    const char *none, char *buf, size_t n);

/* `storesim validate`'s check of the expectations: builds each variant's
 * world and model, runs it to time 0 only, and files an error in diag, at
 * its position, for every metric an expectation names that the model
 * neither registered by then nor describes (with the nearest names), and
 * for every expectation whose units disagree when evaluated on stand-in
 * values (errors that depend on values, such as a division by zero, are left
 * to the run). Every expectation of every variant is checked. Returns 0, or
 * SIM_EINVAL when an error was filed or a world or model could not be
 * created. */
int scn_probe_metrics(const scn_scenario_t *s, scn_diag_t *diag);

/* SIGINT, SIGTERM, SIGHUP (unless SIGHUP is ignored at start, as under
 * nohup): installs a handler whose first signal interrupts the running world
 * and makes scn_interrupted() true; a second signal calls the function given
 * to scn_interrupt_on_kill (it must be async-signal-safe) and kills the
 * process by that signal at once. The flag, that function and the world
 * being run are global (see the top of this file for the rest). */
void scn_interrupt_install(void);
void scn_interrupt_on_kill(void (*fn)(void));
int scn_interrupted(void);
/* The signal that interrupted (SIGINT, SIGTERM, SIGHUP), or 0. */
int scn_interrupt_signal(void);

/* ---- internal errors (crash.c) ----
 * A fatal signal or kernel assertion during a run prints "internal error",
 * the run (scenario, variant, seed, scheduler) and the command that replays
 * it, and exits 3. */
typedef struct scn_crash_ctx {
  const char *id, *file, *variant;
  uint64_t seed;
  const char *sched;   /* NULL: fifo */
  sim_time_t duration; /* 0: the scenario's */
} scn_crash_ctx_t;
/* Installs the handlers; argv (kept, not copied) supplies the command line's
 * --set overrides to replay commands. Call once, first thing in main. */
void scn_crash_install(int argc, char **argv);
/* The run on this host thread is c (copied) / no run is in progress. */
void scn_crash_enter(const scn_crash_ctx_t *c);
void scn_crash_leave(void);
/* In a sweep's worker process: a crash kills the process by its signal,
 * silently (the parent reports it). */
void scn_crash_quiet(int on);
/* Async-signal-safe: "internal error: WHY", the run on this thread and its
 * replay command on stderr, then exit 3. */
void scn_crash_fatal(const char *why) __attribute__((noreturn));
/* The `storesim run ...` command that replays run c, into buf (n bytes). */
void scn_crash_command(const scn_crash_ctx_t *c, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
