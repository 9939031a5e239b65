/*
 * `storesim sweep` parameter maps (tools/sweep_map.c): the axes of --set,
 * the cells they make, the statistics --metric names, and the map's
 * renderings.
 */
#ifndef STORESIM_SWEEP_MAP_H
#define STORESIM_SWEEP_MAP_H

#include <stdio.h>

#include "storesim/sweep.h"
#include "storesim_cli.h"

typedef struct cli_axis {
  char *key;   /* KEY of --set KEY=... (VARIANT:KEY too) */
  char **vals; /* its values, in order */
  size_t n;
} cli_axis_t;

typedef struct cli_map {
  cli_axis_t *axes; /* one per --set, in order */
  size_t naxes;
  int map;                /* some axis has more than one value */
  size_t ncells;          /* the product of the axes' sizes (1 without --set) */
  char **sets;            /* cell c's "KEY=VALUE" of axis i at [c * naxes + i] */
  scn_scenario_t **cells; /* each cell loaded (cli_map_load) */
  const char **specs;     /* --metric as given ("tasks.exhausted_at.final") */
  char **names;           /* its metric ("tasks.exhausted_at") */
  scn_stat_t *stats;      /* its statistic */
  const char **units;     /* its unit, as the model describes it */
  size_t nmetrics;
} cli_map_t;

/* Parses every --set into axes and every --metric. Returns 0 or an exit
 * status (said why on stderr). */
int cli_map_parse(cli_map_t *m, const cli_list_t *sets, const cli_list_t *metrics);
/* Loads file once per cell with the cell's values, and checks every
 * --metric against the model. Returns 0 or an exit status (said why). */
int cli_map_load(cli_map_t *m, const char *file);
void cli_map_free(cli_map_t *m);

/* A cell's statistics of one variant over its seeds. */
typedef struct cli_cell_stat {
  uint64_t runs, held;          /* runs that ran; of them, expectations held */
  const scn_sweep_run_t *worst; /* its first run (seed order) that did not hold, or NULL */
} cli_cell_stat_t;
void cli_map_cell(const scn_sweep_res_t *res, size_t cell, size_t variant, cli_cell_stat_t *cs);
/* Median, min and max of v[0..n) (sorted in place); NAN each when n is 0. */
void cli_median_range(double *v, size_t n, double *med, double *lo, double *hi);
/* Median, min and max of statistic k over the cell's runs of a variant that
 * have a value; *nnone counts those without (never, no sample). Returns the
 * number with a value. */
size_t cli_map_values(const scn_sweep_res_t *res, size_t cell, size_t variant, size_t k,
                      double *med, double *lo, double *hi, size_t *nnone);
/* The command that replays run `r` of the map (its cell's values as --set). */
void cli_map_replay_cmd(const cli_map_t *m, const scn_sweep_opts_t *o, const char *file,
                        const scn_sweep_run_t *r, char *buf, size_t n);
/* A statistic's value in its unit, short ("0:32:21", "64MiB", "12"). */
void cli_map_fmt(const cli_map_t *m, size_t k, double v, char *buf, size_t n);

/* The map on stdout, one table per variant. Returns the exit status it
 * calls for (1: a with_fix variant did not hold in some run). */
int cli_map_print(const cli_map_t *m, const scn_sweep_opts_t *o, const scn_sweep_res_t *res,
                  const char *file);
/* --csv: one row per cell. Returns 0, or 2 (said why). */
int cli_map_csv(const char *path, const cli_map_t *m, const scn_sweep_opts_t *o,
                const scn_sweep_res_t *res, const char *file);
/* x as the shortest %.Ng text (N >= 10) that reads back as x, in buf (n
 * bytes; 32 are enough): the --jsonl values, which `storesim merge` reads
 * back. Returns buf. */
const char *cli_num_exact(double x, char *buf, size_t n);
/* Reads the --jsonl files of the shards of one sweep (`storesim merge`,
 * tools/merge.c) into res, laid out by scn_sweep_plan for the same options
 * without --shard: each record must be one of its runs (scenario, seed,
 * variant, scheduler, cell), none twice, none missing. Returns 0, or 2
 * having said why (FILE:LINE:COL: error: ...), or 3 (host OOM). */
int cli_merge_read(char **paths, size_t npaths, const cli_map_t *m, const scn_sweep_opts_t *o,
                   scn_sweep_res_t *res);
/* The map's fields of one run's --jsonl record:
 * ,"cell":{...},"values":{...},"replay":"storesim run ..." */
void cli_map_jsonl_fields(FILE *f, const cli_map_t *m, const scn_sweep_opts_t *o, const char *file,
                          const scn_sweep_run_t *r);

#endif
