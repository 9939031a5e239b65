/*
 * storesim command line: what its files share. The options and arguments of
 * the commands that run scenarios (tools/run_opts.c), the command rows of the
 * other files, the renderings (tools/output.c, tools/schema.c: each writes
 * one whole rendering of its input to f and none fails; write errors are
 * seen by the caller on the stream), output files (tools/outfile.c) and
 * check --seeds (tools/check_seeds.c). The option spec and the command table
 * type: tools/cli.h.
 */
#ifndef STORESIM_CLI_H
#define STORESIM_CLI_H

#include <stdio.h>

#include "cli.h"
#include "storesim/scenario.h"
#include "storesim/sweep.h"

/* ---- what the commands that run scenarios share (tools/run_opts.c) ---- */
/* The option struct of run, check, validate, list, schema, report, trace and
 * explain; each command's table says which fields it sets. */
typedef struct cli_run_args {
  scn_run_opts_t run;                    /* --variant, --seed, --sched, --duration, --jobs */
  cli_list_t sets;                       /* --set */
  const char *trace_path, *metrics_path; /* run --trace, --metrics */
  const char *perfmon_path;              /* run --perfmon */
  const char *perfmon_server;            /* run --perfmon-server (default CLI_PERFMON_SERVER) */
  int64_t perfmon_start;                 /* run --perfmon-start: seconds since 1970, UTC */
  const char *output, *dot_dir;          /* report, trace, explain: -o, --dot */
  cli_seeds_t seeds;                     /* check --seeds */
  double wall_limit;                     /* check --wall-limit (< 0: not given) */
  int json, markdown, metrics_markdown; /* run --json; schema --json, --markdown, ... */
  int verbose;                          /* run -v: the full table */
} cli_run_args_t;
/* The defaults: --jobs the number of CPUs, no --wall-limit. */
void cli_run_args_init(void *args);
/* The rows every such command shares, one each. */
extern const cli_opt_t cli_opt_variant, cli_opt_seed, cli_opt_sched, cli_opt_duration, cli_opt_set,
    cli_opt_jobs, cli_opt_backend, cli_opt_time_scale, cli_opt_hold;
/* The backend options against the others: 0, or EXIT_USAGE having said why
 * (--backend threads with a scheduler other than fifo, --seeds or --trace;
 * --time-scale or --hold-on-deadlock without it). */
int cli_backend_check(const char *cmd, const cli_run_args_t *c);
/* sweep's --sched FAMILY (random, fifo, pct[:DEPTH[:STEPS]]) into a
 * scn_sweep_opts_t (sched, pct_depth, pct_steps); a cli_parse_fn. */
int cli_parse_sweep_sched(const char *val, void *sweep_opts, char *why, size_t nwhy);

/* The whole of a file ("-": standard input), NUL-terminated. Returns it
 * (free it) with *len its length, or NULL having said "PATH: error: cannot
 * read: ..." on stderr. */
char *cli_read_file(const char *path, size_t *len);

/* Scenario files of the arguments: a FILE as given, a DIR searched
 * recursively for *.yaml and *.yml (sorted; hidden names skipped). */
typedef struct cli_files {
  char **v;
  size_t n, cap;
} cli_files_t;
/* Adds the files of args (none: of def) to f. Returns 0, or -1 having said
 * why on stderr (f then holds what was found so far: free it). */
int cli_files_collect(cli_files_t *f, char **args, size_t nargs, const char *def);
void cli_files_free(cli_files_t *f);

/* ---- MPI ranks (tools/mpi.c, docs/scale.md) ---- */
/* Called first in main. In a build with MPI, started by an MPI launcher
 * (mpirun, srun --mpi=pmix) with more than one rank: rank 0 returns 0 and
 * its sweeps go to the ranks (cli_mpi_pool); every other rank serves sweeps
 * until rank 0 ends (cli_mpi_finish), and returns 1 with *status its exit
 * status, for main to return at once. Otherwise returns 0 and nothing
 * changes (MPI is not even initialised without a launcher). */
int cli_mpi_start(int *argc, char ***argv, int *status);
/* The pool for scn_sweep_opts_t.pool: the MPI ranks, or NULL (local). */
const scn_sweep_pool_t *cli_mpi_pool(void);
/* Rank 0's end: lets the other ranks go and leaves MPI; returns status.
 * When a rank failed or the command was interrupted, the MPI job is ended
 * with MPI_Abort(status) instead (MPI_Finalize would wait for a stopped
 * rank): the launcher then reports the abort. */
int cli_mpi_finish(int status);

/* ---- commands (the rows of the command table in tools/storesim.c) ---- */
extern const cli_cmd_t cli_cmd_sweep, cli_cmd_explore; /* tools/sweep.c, tools/explore.c */
extern const cli_cmd_t cli_cmd_merge;                  /* tools/sweep.c (tools/merge.c) */
extern const cli_cmd_t cli_cmd_diff;                   /* tools/diff.c */
extern const cli_cmd_t cli_cmd_shrink;                 /* tools/shrink.c */
/* What `storesim shrink` shrinks (tools/shrink.c); sweep --shrink and
 * explore --shrink fill one for their first failing run. */
typedef struct cli_shrink_req {
  const char *file; /* the scenario file, as messages name it */
  const char *text; /* its text (scn_scenario_t.text) */
  size_t ntext;
  const char *const *sets; /* --set overrides (min.yaml carries them) */
  size_t nsets;
  const char *variant;
  uint64_t seed;           /* the run's root seed */
  sim_sched_t sched;       /* its scheduler (a replay's file is borrowed) */
  sim_time_t duration;     /* 0: the scenario's */
  const char *expect;      /* the failure is this expectation failing, or NULL */
  const char *failure;     /* the kind of failure to keep, or NULL: the first */
  const char *const *keep; /* shrinkable parameters not to shrink */
  size_t nkeep;
  const char *outdir; /* NULL: ./shrunk-ID-VARIANT-SEED */
  uint64_t max_runs;  /* run budget (0: 2000) */
  double wall_limit;  /* host seconds per run (0: none) */
} cli_shrink_req_t;
/* Shrinks the run r names and writes DIR/min.yaml, min.log and
 * account.txt (printing the account). Returns the exit status: 0 shrunk, 1
 * the run does not fail, 2 input error, 3 internal error, 130 interrupted
 * (nothing written). Forks a child per run: call it while the process has
 * no other threads. */
int cli_shrink(const cli_shrink_req_t *r);
/* The first run of res in run order (seed order) whose variant is
 * `variant` (SIZE_MAX: any) and that failed: an expectation, a deadlock,
 * a hang, a spin, a crash or an error; NULL when none did. */
const scn_sweep_run_t *cli_shrink_first_failure(const scn_sweep_res_t *res, size_t variant);
/* Shrinks run (of the sweep o of s) into dir, saying so on stdout first
 * ("CMD --shrink: ..."). Returns cli_shrink's status (3 when the run does
 * not fail again). */
int cli_shrink_sweep_run(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                         const scn_sweep_run_t *run, const char *dir, const char *cmd);
/* `storesim report MAP.jsonl -o map.html` (tools/map_report.c): the page of
 * a parameter map from a sweep's --jsonl. Returns the exit status. */
int cli_map_report(const char *jsonl, const char *out_path);
extern const cli_cmd_t cli_cmd_report, cli_cmd_trace, cli_cmd_explain; /* tools/report_cmds.c */

/* ---- renderings (tools/output.c, tools/schema.c) ---- */

/* Side-by-side table of the variants; `sep` prints a blank line first. */
void cli_print_table(FILE *f, const scn_result_t *r, int sep);
/* ---- the short answer (tools/summary.c) ---- */
typedef struct cli_style {
  int width;  /* columns: $COLUMNS, else the terminal's, else 80 */
  int colour; /* PASS/FAIL in colour: a terminal, NO_COLOR unset, TERM not dumb */
} cli_style_t;
cli_style_t cli_style_for(FILE *f);
/* run's default output of one scenario (sep: a blank line first). */
void cli_print_summary(FILE *f, const scn_result_t *r, const cli_style_t *st, int sep);
/* "PASS  id  verdict (n/m expectations)", for the end of a run. */
void cli_summary_line(const scn_result_t *r, const cli_style_t *st, char *buf, size_t n);
/* The expectations of a live run the scenario marks not_live, each with its
 * measured value and the reason (nothing when there are none; sep: a
 * blank line first). */
void cli_print_not_live(FILE *f, const scn_result_t *r, int sep);
/* Every expectation held, nothing stopped, and the verdict is not against. */
int cli_scenario_ok(const scn_result_t *r);
/* One JSON object on one line (format in docs/scenarios.md). */
/* "s" unless n is 1: "1 fault", "2 faults". */
static inline const char *cli_s(size_t n) { return n == 1 ? "" : "s"; }

/* The shape of run --json output; raised on any change a reader could trip on. */
#define CLI_JSON_FORMAT_VERSION "2"
void cli_print_json(FILE *f, const scn_result_t *r);
/* Rows "scenario,variant,time_s,metric,value" of every kept series. */
void cli_print_csv(FILE *f, const scn_result_t *r);
/* ---- run --perfmon (tools/perfmon.c) ---- */
/* The defaults: the computer name in counter paths, and the date virtual
 * time 0 is mapped onto (2006-08-01 00:00:00 UTC, seconds since 1970). */
#define CLI_PERFMON_SERVER "STORESIM"
#define CLI_PERFMON_START INT64_C(1154390400)
/* cli_parse_fn of --perfmon-start ("YYYY-MM-DD HH:MM:SS", UTC) into an
 * int64_t of seconds since 1970, and of --perfmon-server (a computer name)
 * into a const char *. */
int cli_parse_perfmon_start(const char *val, void *target, char *why, size_t nwhy);
int cli_parse_perfmon_server(const char *val, void *target, char *why, size_t nwhy);
/* The counters vr recorded (metrics named by a counter path). */
size_t cli_perfmon_ncounters(const scn_variant_res_t *vr);
/* Variant vr's counters (their kept series) as a Performance Monitor CSV log
 * (PDH-CSV 4.0, UTC, CRLF): "\\server\Object(Instance)\Counter" columns,
 * one row per sample interval stamped start + its virtual time. */
void cli_print_perfmon(FILE *f, const scn_variant_res_t *vr, const char *server, int64_t start);
/* The file of one variant's log: path itself when `one` variant is written
 * (or path is "-"), else path with ".VARIANT" before its extension
 * (out.csv -> out.without_fix.csv; no extension: out -> out.without_fix).
 * Returns 0, or -1 when it does not fit in out[n]. */
int cli_perfmon_path(const char *path, const char *variant, int one, char *out, size_t n);
/* JSON Schema / Markdown reference generated from the parameter tables. */
void cli_print_schema(FILE *f);
void cli_print_markdown(FILE *f);
/* --duration: at most 3650d (a scenario file's range). */
#define CLI_MAX_DURATION ((sim_time_t)3650 * 86400 * 1000000000)
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
