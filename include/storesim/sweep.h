/*
 * storesim sweeps: many runs of one scenario (seeds, schedules) spread over a
 * pool of worker processes, over MPI ranks (a scn_sweep_pool_t of the
 * caller's: tools/mpi.c), or over machines as shards. `storesim sweep`,
 * `storesim explore` and `storesim check --seeds` are built on this engine.
 *
 * Each run is one variant with one seed. Runs are independent and each is
 * deterministic, and results are stored by run index, so the outcome does not
 * depend on the number of workers or on how the seeds were sharded: a shard
 * computes exactly the runs whose seed index falls to it, and concatenating
 * the shards' per-run records gives the single-machine records.
 *
 * Life of a sweep:
 *
 *   scn_sweep_opts_t --scn_sweep--------> scn_sweep_res_t (one record per run,
 *                                         in (cell, seed, variant) order):
 *                    scn_sweep_plan (the layout) + a pool (o->pool, else
 *                    scn_sweep_local) that fills every record
 *   res --scn_sweep_tally (per variant)--> counts, first deadlocking/hanging/
 *                                         failing run in seed order
 *   a run --scn_sweep_replay------------> the run again writing its decision
 *                                         log, then replayed from the log
 *   --scn_sweep_free / scn_sweep_replay_free
 */
#ifndef STORESIM_SWEEP_H
#define STORESIM_SWEEP_H

#include <stdint.h>

#include "storesim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most worker processes of one sweep. */
#define SCN_SWEEP_MAX_JOBS 1024

struct scn_sweep_opts;
struct scn_sweep_res;
/* Where a sweep's runs execute. scn_sweep lays the runs out (seed, variant
 * and cell of each, by run index) and hands the result to a pool, which
 * fills every record. The local pool (scn_sweep_local) forks o->jobs worker
 * processes on this machine; the MPI pool of the storesim program
 * (tools/mpi.c, docs/scale.md) spreads batches of runs over MPI ranks, each
 * running its batch on its own local pool. Whatever the pool, a record
 * depends only on its run, so the result is the same. */
typedef struct scn_sweep_pool {
  /* As scn_sweep_local. */
  int (*run)(void *arg, const scn_scenario_t *s, const struct scn_sweep_opts *o,
             struct scn_sweep_res *r);
  void *arg;
} scn_sweep_pool_t;

typedef struct scn_sweep_opts {
  const char *variant;     /* NULL: every variant */
  sim_sched_t sched;       /* the schedule family (zeroed: fifo): a seeded
                              policy (sim_sched_seeded) runs with each seed
                              of the range as its seed, the rest as given
                              (scn_sweep_sched) */
  uint64_t seed_from, seed_to; /* inclusive range */
  int vary_world_seed;         /* also use the seed as the world seed (always
                              when the policy is not seeded); else the world
                              keeps the scenario's seed and only the
                              schedule varies */
  sim_time_t duration;     /* virtual time of each run (0: the scenario's) */
  int jobs;                /* worker processes (1 .. SCN_SWEEP_MAX_JOBS) */
  double wall_limit;       /* host seconds one run may take before its worker
                              is killed and the run recorded as over the
                              limit (0: no limit) */
  unsigned shard, nshards; /* this machine runs seed indexes i with
                              i % nshards == shard (nshards 0 = 1) */
  /* A parameter map: the cells are the same scenario file loaded with
   * different --set values (the same variants in each). ncells 0: the one
   * scenario given to scn_sweep. Runs are ordered (cell, seed, variant);
   * shards split each cell's seeds the same way. */
  const scn_scenario_t *const *cells;
  size_t ncells;
  /* Metric statistics every run records (scn_sweep_run_t.values), as
   * metric and statistic, n of each; NULL/0: none. */
  const char *const *metrics;
  const scn_stat_t *stats;
  size_t nmetrics;
  const scn_sweep_pool_t *pool; /* NULL: the local pool (scn_sweep_local) */
  int stop_on_error;       /* take no new run once a run has an error (see
                              scn_sweep_run_t.error); every run before it in
                              run order still runs, so the first error in
                              run order is the same for any worker count */
} scn_sweep_opts_t;

typedef struct scn_sweep_run {
  uint64_t seed;
  size_t variant;          /* index into s->variants */
  size_t cell;             /* index into o->cells (0 without a map) */
  double *values;          /* o->nmetrics statistics (NAN: undefined, none
                              taken, or "never"), or NULL */
  int ran, complete, passed;
  int deadlock, hang, lock_order, spin, misuse; /* detector reports filed,
                                                    by kind */
  sim_time_t deadlock_time;                     /* of the first wait-for cycle (deadlock > 0) */
  uint64_t deadlock_threads[2];                 /* its first two threads (0: none) */
  uint64_t steps;                               /* scheduling steps of the run */
  uint64_t trace_hash;
  int crashed;  /* its worker process died in it of this signal (> 0),
                  or ended otherwise in it / was killed for the wall-clock
                  limit (-1); error says which; else 0 */
  char *failed; /* the first expectation that did not hold, with what was
                   measured ("q.max > 100 (compared: 87 > 100)"), or NULL */
  char *error; /* why the run could not start or stopped early
                              (a limit, a replay divergence, the host-memory
                              guard; not an interrupt): the runner's reason,
                              owned by the record's result; else NULL */
} scn_sweep_run_t;

typedef struct scn_sweep_res {
  scn_sweep_run_t *runs;   /* ordered by (seed, variant) */
  size_t nruns;
  int interrupted;
} scn_sweep_res_t;

/* The scheduler of the sweep's runs with this seed, into *out. */
void scn_sweep_sched(const scn_sweep_opts_t *o, uint64_t seed, sim_sched_t *out);
/* Its text ("random:7", "pct:7:2", "fifo"), for people and file names; buf
 * (n bytes) gets it. */
void scn_sweep_sched_string(const scn_sweep_opts_t *o, uint64_t seed, char *buf,
                            size_t n);
/* Runs the sweep on o->jobs worker processes (forked: call it while the
 * process has no other threads). Returns 0 and *out (free with
 * scn_sweep_free); SIM_EINVAL for bad options (a bad scheduler too; message
 * in err, *out NULL);
 * SIM_ENOMEM (*out NULL). A run that fails is not an error of the sweep: its
 * record says so (error, ran, complete), and so does a run that crashed or
 * exceeded the wall-clock limit (crashed; the other runs go on). On an interrupt (scn_interrupted) no new run starts and
 * (*out)->interrupted is set; runs that did not start have ran = 0. */
int scn_sweep(const scn_scenario_t *s, const scn_sweep_opts_t *o,
              scn_sweep_res_t **out, char *err, size_t nerr);
/* The runs of the sweep laid out as scn_sweep lays them out (seed, variant
 * and cell of each, in run order; nothing run): scn_sweep is this and a
 * pool. `storesim merge` fills such a layout from shards' records. Returns
 * and fails as scn_sweep. */
int scn_sweep_plan(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t **out,
                   char *err, size_t nerr);
/* Frees r and the error strings of its runs. Accepts NULL. */
void scn_sweep_free(scn_sweep_res_t *r);
/* The local pool: runs the runs of r (seed, variant and cell set, nothing
 * run yet) on min(o->jobs, r->nruns) worker processes forked from this one
 * (call it while the process has no other threads), each run of cell c
 * with o->cells[c] (s without a map). Every record is filled as scn_sweep
 * says, r->interrupted set on an interrupt. Returns 0, or SIM_ENOMEM (the
 * records filled so far stay; free r with scn_sweep_free). */
int scn_sweep_local(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t *r);

/* A run's record as bytes, the form worker processes (and MPI ranks) send
 * it in: fixed fields in host byte order, then the error and failed texts
 * and the values. Both ends must be the same build on the same
 * architecture. */
/* Appends run's record, as run `index` of its sweep (interrupted: the run
 * saw an interrupt), to *buf, which holds *n bytes of *cap (grown with
 * sim_realloc). Returns 0, or SIM_ENOMEM (*buf, *n unchanged). */
int scn_sweep_record_put(char **buf, size_t *n, size_t *cap, const scn_sweep_run_t *run,
                         uint64_t index, int interrupted, size_t nmetrics);
/* Reads the whole records at the start of buf (n bytes) into their slots of
 * r (a slot's previous strings and values are freed), setting *interrupted
 * when one says its run saw an interrupt. Returns the bytes read (a record
 * cut short at the end is left for later), or -1 when a record cannot be
 * one of r's (index out of range, more values than nmetrics) or memory ran
 * out (the records before it are in r). */
long scn_sweep_record_get(const char *buf, size_t n, scn_sweep_res_t *r, size_t nmetrics,
                          int *interrupted);
/* The run options that reproduce one run of a sweep (for logs and replays);
 * ro is overwritten whole. */
void scn_sweep_run_opts(const scn_scenario_t *s, const scn_sweep_opts_t *o, uint64_t seed,
                        size_t variant, scn_run_opts_t *ro);

/* Per-variant totals of a sweep's result. Counts are of runs that ran; a run
 * counts once per kind however many reports of that kind it filed. */
typedef struct scn_sweep_tally {
  uint64_t runs, complete;
  uint64_t deadlock, hang, lock_order, spin;
  uint64_t lock_order_only; /* a lock-order report and no deadlock */
  uint64_t failed;          /* did not pass (an expectation failed, an error) */
  uint64_t crashed;         /* crashed or exceeded the wall-clock limit */
  /* The first such run in run order (lowest seed), or NULL; they point into
   * the result. */
  const scn_sweep_run_t *first_deadlock, *first_hang, *first_error, *first_crash;
} scn_sweep_tally_t;
/* Fills *t from the runs of r with the given variant index (all zero when it
 * has none). */
void scn_sweep_tally(const scn_sweep_res_t *r, size_t variant, scn_sweep_tally_t *t);
/* The same for the runs of one cell of a parameter map. */
void scn_sweep_tally_cell(const scn_sweep_res_t *r, size_t cell, size_t variant,
                          scn_sweep_tally_t *t);

/* A run of a sweep again, recorded and replayed (scn_sweep_replay). */
typedef struct scn_sweep_replay {
  scn_sweep_run_t rec; /* the run again, writing its decision log */
  scn_sweep_run_t rep; /* the run under replay:LOG */
  int same;            /* rec and rep both ran and both have the trace
                              hash of the sweep's run */
  int log_failed;      /* the log could not be written (io said why) */
} scn_sweep_replay_t;
/* Where a decision log is written (scn_sweep_replay): open returns a stream
 * for path or NULL (having said why on stderr); close ends it, keeping it
 * (keep 1) or not, and returns 0 when the whole log is in place at path.
 * The command line writes logs as it writes every output file (whole or
 * not at all, every write checked). */
typedef struct scn_sweep_logio {
  FILE *(*open)(void *arg, const char *path);
  int (*close)(void *arg, FILE *f, int keep);
  void *arg;
} scn_sweep_logio_t;

/* Runs `run` (a record of the sweep o) once more writing its decision log to
 * path (through io; NULL: the kernel writes path itself), then replays that
 * log, and compares the trace hashes. Returns 0 with
 * *out filled (free its strings with scn_sweep_replay_free), or SIM_ENOMEM
 * (*out zeroed; the log may have been written). A log that cannot be
 * written or does not replay is a result, not an error: same is 0 and the
 * error string of the record that failed says why. */
int scn_sweep_replay(const scn_scenario_t *s, const scn_sweep_opts_t *o, const scn_sweep_run_t *run,
                     const char *path, const scn_sweep_logio_t *io, scn_sweep_replay_t *out);
/* Frees the error strings of p's records (not p) and zeroes it. Accepts NULL. */
void scn_sweep_replay_free(scn_sweep_replay_t *p);

#ifdef __cplusplus
}
#endif
#endif
