/*
 * storesim: typed model parameters, distributions and the model interface.
 *
 * A model (the store, the generic queueing model) declares its parameters in a
 * table of sim_param_t: a dotted path as written in a scenario file
 * ("store.tasks", "workload.smtp.rate"), a type with a unit dimension, where
 * the value lives in the model's config struct, a range and a default written
 * as scenario text ("150m", "32"). The scenario layer validates files against
 * these tables and fills the struct; docs and the JSON Schema are generated
 * from them, so the documentation cannot drift from the code.
 *
 * This header knows nothing about YAML or files, and the model knows nothing
 * of them either: it only reads its filled config struct.
 */
#ifndef STORESIM_PARAM_H
#define STORESIM_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storesim/metrics.h"
#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- distributions -------------------------------------------------------- */
typedef enum sim_dist_kind {
  SIM_D_CONST,     /* const(x) */
  SIM_D_EXP,       /* exp(mean) */
  SIM_D_UNIFORM,   /* uniform(a, b) */
  SIM_D_LOGNORMAL, /* lognormal(median, sigma) */
  SIM_D_EMPIRICAL  /* empirical(v1, v2, ...): each value equally likely */
} sim_dist_kind_t;

/* Values are in base units of the parameter's dimension (ns, bytes, or a pure
 * number). `values` is owned by the config that holds the distribution. */
typedef struct sim_dist {
  sim_dist_kind_t kind;
  double a, b;
  double *values;
  size_t nvalues;
} sim_dist_t;

/* Draws one value from d with r. Never negative for valid distributions. */
double sim_dist_sample(const sim_dist_t *d, sim_rng_t *r);
/* The distribution's mean (analytic). */
double sim_dist_mean(const sim_dist_t *d);
/* Writes "exp(250ms)"-like text into buf. */
void sim_dist_format(const sim_dist_t *d, int dim, char *buf, size_t n);

/* ---- parameter tables ------------------------------------------------------- */
typedef enum sim_ptype {
  SIM_P_INT,       /* int64_t; plain integer */
  SIM_P_FLOAT,     /* double; plain number */
  SIM_P_BOOL,      /* int (0/1) */
  SIM_P_DURATION,  /* sim_time_t; "150m", "250ms", "2d" */
  SIM_P_SIZE,      /* uint64_t bytes; "64KiB", "2GiB" */
  SIM_P_RATE,      /* double per second; "20/s", "3/m", "1/h" */
  SIM_P_DIST_TIME, /* sim_dist_t over durations; "exp(20s)" */
  SIM_P_DIST_SIZE, /* sim_dist_t over sizes; "lognormal(50KiB, 1.0)" */
  SIM_P_DIST_NUM,  /* sim_dist_t over plain numbers */
  SIM_P_STRING,    /* char * (owned by the config) */
  SIM_P_FILE       /* char *, a path (owned): in a scenario file relative to
                      the file's directory, in --set to the working
                      directory; the loader checks that it can be read */
} sim_ptype_t;

typedef struct sim_param {
  const char *path;   /* "store.tasks" */
  sim_ptype_t type;
  size_t offset;      /* offsetof(config struct, field) */
  double min, max;    /* allowed range, in base units (ns, bytes, 1/s) */
  const char *def;    /* default as scenario text, NULL = required */
  const char *doc;    /* one sentence */
  /* Smaller values make a smaller run (fewer threads, arrivals, moves) down
   * to min, and storesim shrink may bisect it toward min (integers, rates
   * and plain numbers only). Leave it unset where min means "no limit". */
  bool shrinkable;
} sim_param_t;

/* Timed faults a model understands ("mta_disable", "store_restart", ...). */
typedef struct sim_fault_kind {
  const char *name;
  const char *doc;
} sim_fault_kind_t;

typedef struct sim_fault {
  sim_time_t at;
  int kind;           /* index into the model's fault table */
  sim_time_t timeout; /* for faults that take one (shutdown), else 0 */
} sim_fault_t;

/* ---- what a model says about itself ----------------------------------------- */
/* The Performance Monitor counter a metric stands for: every run records it
 * as a derived metric (sim_metric_derive) named by the counter's path without
 * the machine, "\Object\Counter" or "\Object(Instance)\Counter" (a
 * family's "<x>" is the instance: "\Process(<name>)\Private Bytes"), sampled
 * the way Performance Monitor samples it: `how` (the value at the sample
 * instant, a /sec rate over the interval, the mean over the interval)
 * times `factor`, in `unit`. */
typedef struct sim_counter_desc {
  const char *path; /* NULL: no counter */
  sim_derive_t how;
  double factor;
  const char *unit;
  const char *doc; /* what differs from the metric, if anything (one line, or NULL) */
} sim_counter_desc_t;

/* One metric a model publishes. A family of metrics is written with one
 * placeholder segment in angle brackets: "tasks.busy.<kind>" stands for
 * tasks.busy.flush, tasks.busy.rpc, ... */
typedef struct sim_metric_desc {
  const char *name;
  sim_metric_kind_t kind;
  const char *unit; /* as registered: "", "ms", "s", "B", "%" */
  const char *doc;  /* one line */
  sim_counter_desc_t counter; /* its Performance Monitor counter, if it has one */
} sim_metric_desc_t;

#define SIM_PLOT_MAX_METRICS 4
/* One plot that tells part of a model's story. Each metric is drawn for
 * every variant on one virtual time axis; a family name ("proc.<name>.
 * mem_bytes") is drawn instead as one plot per variant, a line per member. */
typedef struct sim_plot_desc {
  const char *title;                         /* NULL ends a table */
  const char *metrics[SIM_PLOT_MAX_METRICS]; /* unused slots NULL */
} sim_plot_desc_t;

/* A metric whose values are states, not amounts (a gauge set to 0 or 1, or
 * -1 until something happens): each value it takes has a name. Reports draw
 * it as steps between its named levels, never as a count. */
#define SIM_STATES_MAX 4
typedef struct sim_metric_states {
  const char *metric;                /* NULL ends a table */
  int first;                         /* the value names[0] stands for */
  const char *names[SIM_STATES_MAX]; /* of first, first + 1, ...; unused slots NULL */
} sim_metric_states_t;

/* A part of a model (the store's core, one failure mechanism, the queue):
 * what the reports and the docs read. Tables end with a {NULL} row. */
typedef struct sim_model_part {
  const char *name;  /* "spin" */
  const char *title; /* "KB922768: Outlook downloads and the CPU spin" */
  const char *file;  /* where it lives, for the docs ("sim/store/spin.c") */
  const char *fix;   /* the fix it models ("kb922768"), or NULL */
  const char *fix_doc;
  const sim_metric_desc_t *metrics;
  const sim_plot_desc_t *plots; /* in the order they tell the story */
  /* Its metrics that are instants, -1 until they happen ("tasks.exhausted_at"):
   * outputs say "never" (JSON null) for -1. NULL-terminated, or NULL. */
  const char *const *never;
  /* Its metrics that are states (sim_metric_states_t), a table ending with
   * a {NULL} row, or NULL. */
  const sim_metric_states_t *states;
} sim_model_part_t;

/* The name people who run the real system use for one of the model's
 * internals, so that explanations speak their language first. `internal` is
 * "<what>:<name>" with <what> one of thread (a family of threads: the name
 * without its number, "thread:store-task"), mutex, cond, sem (objects threads
 * wait on; a family numbered per instance ends in ".*"), event (a model
 * trace event kind), report (a report kind) or metric. `people` is a noun
 * phrase: plural for thread families ("store task threads"), what is waited
 * for for objects ("the IMAIL charset lock", "the MTA to answer a transit
 * flush"). A table ends with a {NULL} row. */
typedef struct sim_name_desc {
  const char *internal;
  const char *people;
} sim_name_desc_t;

/* ---- the model interface ----------------------------------------------------- */
/* A model builds itself into a world from a filled config, runs there as
 * simulated threads and publishes metrics into the world. */
typedef struct sim_model sim_model_t;
struct sim_model {
  const char *name;             /* "store", "queue" */
  const char *doc;
  const sim_param_t *params;    /* terminated by a {NULL} row */
  const sim_fault_kind_t *faults; /* terminated by a {NULL} row */
  const char *const *fixes;     /* known fix names, NULL-terminated */
  /* Its parts, NULL-terminated: metric descriptions and plots. */
  const sim_model_part_t *const *parts;
  size_t config_size;
  /* Frees what the loader allocated inside cfg (strings, empirical values).
   * The struct itself is the caller's. NULL: the scenario layer frees every
   * distribution and string of `params` (scn_params_free). */
  void (*config_free)(void *cfg);
  /* Builds the model m (this struct) in w. fixes is a bit set over the
   * `fixes` table. Faults are given in time order. Returns an opaque
   * instance, or NULL with a message in err ("out of host memory" when a
   * host allocation failed: the runner then exits as for an internal error,
   * not an input error). */
  void *(*create)(const sim_model_t *m, sim_world_t *w, const void *cfg, uint64_t fixes,
                  const sim_fault_t *faults, size_t nfaults, char *err, size_t nerr);
  /* Called once after the run, before metrics are read: publishes final
   * metrics (e.g. shutdown outcome) and stops threads that still run. */
  void (*finish)(void *inst);
  void (*destroy)(void *inst);
  const void *impl; /* the model's own data (the store: its mechanism table) */
  /* Versions of the model, when its parts differ between versions of the
   * product it models (the store: Exchange 2003 and Exchange 5.5); NULL when
   * it has one. `version_param` is the path of the parameter that selects
   * one for a whole scenario: its value, as scn_param_format writes it, is
   * one of `versions` (their names, NULL-terminated, at most 32; the store's
   * is a number, so that `store.version: 5.5` is plain YAML). Per row of
   * `params` and `faults` and per entry of `fixes`, a bit set over
   * `versions` of the versions it exists in (bit v: versions[v]); a NULL
   * table means every row exists in every version. The scenario layer
   * rejects a key, fault or fix of a part the chosen version does not have,
   * at its line and column. */
  const char *version_param;
  const char *const *versions;
  const uint32_t *param_versions;
  const uint32_t *fault_versions;
  const uint32_t *fix_versions;
  const sim_name_desc_t *names; /* names people use for its internals, or NULL */
};

#ifdef __cplusplus
}
#endif
#endif
