/*
 * storesim command line: output formats (tools/output.c, tools/schema.c).
 * Each function writes one whole rendering of its input to f; none fails
 * (write errors are seen by the caller on the stream).
 */
#ifndef STORESIM_CLI_H
#define STORESIM_CLI_H

#include <stdio.h>

#include "storesim/scenario.h"

/* Side-by-side table of the variants; `sep` prints a blank line first. */
void cli_print_table(FILE *f, const scn_result_t *r, int sep);
/* One JSON object on one line (format in docs/scenarios.md). */
void cli_print_json(FILE *f, const scn_result_t *r);
/* Rows "scenario,variant,time_s,metric,value" of every kept series. */
void cli_print_csv(FILE *f, const scn_result_t *r);
/* JSON Schema / Markdown reference generated from the parameter tables. */
void cli_print_schema(FILE *f);
void cli_print_markdown(FILE *f);
/* JSON string literal of s. */
void cli_json_str(FILE *f, const char *s);
/* Output files written whole: cli_out_open writes to a temporary file beside
 * path (mode 0666 less the umask); cli_out_close renames it into place when
 * keep is set and nothing failed, else removes it. With path NULL, open does
 * nothing and returns 0. Both print "path: error: cannot write: ..." and
 * return -1 on failure. */
typedef struct cli_outfile {
  const char *path;
  char tmp[4096];
  FILE *f;
} cli_outfile_t;
int cli_out_open(cli_outfile_t *o, const char *path);
int cli_out_close(cli_outfile_t *o, int keep);
/* `storesim sweep` (tools/sweep.c) and `storesim explore` (tools/explore.c),
 * both on the sweep engine (storesim/sweep.h). Each takes the arguments after
 * the command name and returns the exit status. */
int cmd_sweep(int argc, char **argv);
int cmd_explore(int argc, char **argv);
/* `storesim check --seeds` (tools/check_seeds.c): every variant of each file
 * on world seeds from..to; prints per scenario and variant the fraction of
 * seeds whose expectations hold, then 'N passed, N failed'. Returns the exit
 * status: 0 every scenario meets its seed_fraction, 1 one does not, 2 input
 * error, 3 a run crashed, 130 interrupted. */
typedef struct cli_seeds_opts {
  uint64_t from, to;
  sim_time_t duration; /* 0: each scenario's */
  int jobs;
  double wall_limit;   /* host seconds per run (0: none) */
} cli_seeds_opts_t;
int cli_check_seeds(char **files, size_t nfiles, const scn_load_opts_t *lo,
                    const cli_seeds_opts_t *co);

#endif
