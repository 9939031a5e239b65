/*
 * storesim command line: output formats (tools/output.c, tools/schema.c).
 * Each function writes one whole rendering of its input to f; none fails
 * (write errors are seen by the caller on the stream).
 */
#ifndef STORESIM_CLI_H
#define STORESIM_CLI_H

#include <stdio.h>

#include "storesim/scenario.h"
#include "storesim/sweep.h"

/* Side-by-side table of the variants; `sep` prints a blank line first. */
void cli_print_table(FILE *f, const scn_result_t *r, int sep);
/* One JSON object on one line (format in docs/scenarios.md). */
void cli_print_json(FILE *f, const scn_result_t *r);
/* Rows "scenario,variant,time_s,metric,value" of every kept series. */
void cli_print_csv(FILE *f, const scn_result_t *r);
/* JSON Schema / Markdown reference generated from the parameter tables. */
void cli_print_schema(FILE *f);
void cli_print_markdown(FILE *f);
/* --duration VAL of command cmd: 1ns to 3650d (a scenario file's range).
 * Returns 0 and *out, or prints why not on stderr and returns -1. */
#define CLI_MAX_DURATION ((sim_time_t)3650 * 86400 * 1000000000)
int cli_parse_duration_opt(const char *cmd, const char *val, sim_time_t *out);
/* --seeds VAL: "A-B" (A <= B) or "N" (1..N), digits only. Returns 0 with
 * *from and *to, or -1 (nothing set; the caller says why). */
int cli_parse_seeds(const char *val, uint64_t *from, uint64_t *to);
/* --wall-limit VAL: seconds, 0 to 1e9. Returns 0 and *out, or -1. */
int cli_parse_seconds(const char *val, double *out);
/* JSON string literal of s. */
void cli_json_str(FILE *f, const char *s);
/* ---- output files and standard output (tools/outfile.c) ---- */
/* A stream's descriptor and the first write error it met (errno, 0 none). */
typedef struct cli_stream {
  int fd, err;
} cli_stream_t;
typedef struct cli_outfile {
  const char *path;  /* as given, "stdout" for "-"; messages name it */
  char target[4096]; /* path with its symlinks followed */
  char tmp[4096];    /* the temporary file beside target, "" when in place */
  FILE *f;
  int is_stdout; /* f is stdout: flushed, not closed, by cli_out_close */
  int slot;
  cli_stream_t ck;
} cli_outfile_t;
/* Replaces stdout with a stream that remembers its first write error; call
 * first thing in main, and end with `return cli_exit(rc)`. */
void cli_stdio_init(void);
/* Opens an output. path NULL: does nothing, o->f NULL, returns 0. "-" is
 * standard output; a device, FIFO or socket (also /dev/stdout and
 * /proc/self/fd/N) is written in place; a regular file (or a new one) is
 * written to a temporary file beside it (beside a symlink's target, so the
 * link stays), which replaces it at cli_out_close; stale temporary files of
 * dead processes beside it are removed first. On failure prints
 * "path: error: cannot write: strerror" and returns -1 with o->f NULL. */
int cli_out_open(cli_outfile_t *o, const char *path);
/* Flushes and closes an output (accepts one never opened). A temporary file
 * is fsync'd and renamed onto its target when keep is set and nothing
 * failed, else removed: the old file, if any, is left as it was. Output
 * written in place stays written. Returns 0, or prints "path: error: cannot
 * write: strerror" (any write, flush, fsync, close or rename that failed)
 * and returns -1. */
int cli_out_close(cli_outfile_t *o, int keep);
/* Whether a write to o has failed so far (o still open). */
int cli_out_failed(const cli_outfile_t *o);
/* The end of every command: removes temporary files left open, flushes and
 * checks standard output ("stdout: error: cannot write: ..."). Returns rc,
 * or 2 when rc was 0 or 1 and standard output failed. */
int cli_exit(int rc);
/* mkdir -p DIR. Returns 0, or prints "DIR: error: cannot create directory:
 * strerror" and returns -1. */
int cli_mkdirs(const char *dir);
/* 0 when dir is a directory or does not exist (yet); else prints
 * "DIR: error: not a directory" and returns -1. */
int cli_dir_usable(const char *dir);
/* "interrupted by SIGTERM" (the signal scn_interrupt_signal names). */
const char *cli_interrupt_reason(void);
/* Ends a partial output with its marker: the CSV line "# incomplete:
 * interrupted by SIG..." (csv set), else the JSON Lines record
 * {"incomplete":true,"reason":"interrupted by SIG..."}. o may be unopened. */
void cli_out_mark_incomplete(cli_outfile_t *o, int csv);
/* Decision logs of sweep and explore (scn_sweep_replay) written through o:
 * whole or not at all, every write checked, devices and symlinks as above. */
void cli_logio_init(scn_sweep_logio_t *io, cli_outfile_t *o);
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
  double wall_limit; /* host seconds per run (0: none) */
} cli_seeds_opts_t;
int cli_check_seeds(char **files, size_t nfiles, const scn_load_opts_t *lo,
                    const cli_seeds_opts_t *co);

#endif
