/*
 * storesim command line: what the commands that run scenarios share (run,
 * check, validate, list, report, trace, explain): their option struct, the
 * option rows they have in common (each written once, so --seed means and
 * says the same everywhere), the scheduler options of every command, and how
 * scenario files are found (FILE, or DIR searched recursively, sorted).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim_cli.h"

void cli_run_args_init(void *p) {
  cli_run_args_t *a = p;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  a->run.jobs = ncpu > 0 ? (int)ncpu : 1; /* variants at once; --jobs overrides */
  a->wall_limit = -1;
  a->perfmon_server = CLI_PERFMON_SERVER;
  a->perfmon_start = CLI_PERFMON_START;
}

static int parse_seed(const char *val, void *target, char *why, size_t nwhy) {
  scn_run_opts_t *r = target;
  if (cli_parse_u64(val, 0, UINT64_MAX, &r->seed, why, nwhy)) return -1;
  r->have_seed = 1;
  return 0;
}

#define RUN_OFF(field) offsetof(cli_run_args_t, field)

const cli_opt_t cli_opt_variant = {.name = "variant",
                                   .arg = "NAME",
                                   .help = "run only this variant",
                                   .type = CLI_STR,
                                   .off = RUN_OFF(run.variant)};
const cli_opt_t cli_opt_seed = {.name = "seed",
                                .arg = "N",
                                .help = "root seed instead of the scenario's",
                                .type = CLI_FN,
                                .off = RUN_OFF(run),
                                .parse = parse_seed};
const cli_opt_t cli_opt_duration = {.name = "duration",
                                    .arg = "D",
                                    .help =
                                        "virtual time to run instead of the scenario's (e.g. 2h)",
                                    .type = CLI_DURATION,
                                    .off = RUN_OFF(run.duration)};
const cli_opt_t cli_opt_set = {.name = "set",
                               .arg = "KEY=VALUE",
                               .help =
                                   "override a scenario key, validated like the file (repeatable); "
                                   "VARIANT:KEY=VALUE changes one variant only",
                               .type = CLI_LIST,
                               .off = RUN_OFF(sets)};
const cli_opt_t cli_opt_jobs = {
    .name = "jobs",
    .arg = "N",
    .help =
        "run up to N variants at the same time, one host thread each (default: the number of CPUs; "
        "results are the same for any N; with --trace the variants run one after another)",
    .type = CLI_INT,
    .off = RUN_OFF(run.jobs),
    .min = 1,
    .max = 1024};

/* ---- schedulers: every --sched of the command line ----------------------------------------- */
/* run, check, report, trace, explain: a policy, parsed once here into the
 * spec the runner passes down (sim_sched_t; the kernel's own messages). */
static int parse_sched(const char *v, void *target, char *why, size_t nwhy) {
  return sim_sched_parse(v, target, why, nwhy) ? -1 : 0;
}

const cli_opt_t cli_opt_sched = {
    .name = "sched",
    .arg = "POLICY",
    .help = "fifo (default), random:SEED, pct:SEED:DEPTH[:STEPS], replay:FILE",
    .type = CLI_FN,
    .parse = parse_sched,
    .off = RUN_OFF(run.sched)};

/* ---- backends: --backend, --time-scale, --hold-on-deadlock ------------------------------------ */
static int parse_backend(const char *v, void *target, char *why, size_t nwhy) {
  int *b = target;
  if (!strcmp(v, "virtual")) *b = SIM_BACKEND_VIRTUAL;
  else if (!strcmp(v, "threads")) *b = SIM_BACKEND_THREADS;
  else {
    snprintf(why, nwhy, "expected virtual or threads");
    return -1;
  }
  return 0;
}

/* VIRTUAL=WALL, two durations ("1m=10ms": a virtual minute lasts 10 ms). */
static int parse_time_scale(const char *v, void *target, char *why, size_t nwhy) {
  double *scale = target;
  const char *eq = strchr(v, '=');
  char a[64], err[256];
  sim_time_t dv = 0, dw = 0;
  if (!eq || (size_t)(eq - v) >= sizeof a) {
    snprintf(why, nwhy, "expected VIRTUAL=WALL, two durations, e.g. 1m=10ms");
    return -1;
  }
  memcpy(a, v, (size_t)(eq - v));
  a[eq - v] = 0;
  if (scn_parse_duration(a, &dv, err, sizeof err) ||
      scn_parse_duration(eq + 1, &dw, err, sizeof err) || dv <= 0 || dw <= 0) {
    snprintf(why, nwhy, "expected VIRTUAL=WALL, two durations more than 0, e.g. 1m=10ms");
    return -1;
  }
  *scale = (double)dw / (double)dv;
  if (*scale > 1000) {
    snprintf(why, nwhy, "wall time at most 1000 times the virtual time");
    return -1;
  }
  return 0;
}

const cli_opt_t cli_opt_backend = {
    .name = "backend",
    .arg = "KIND",
    .help = "virtual (default: coroutines on the virtual clock, reproducible) or threads (every "
            "simulated thread a real pthread, virtual time the scaled wall clock; not "
            "reproducible, no trace hash; fifo only; see docs/teaching.md)",
    .type = CLI_FN,
    .parse = parse_backend,
    .off = RUN_OFF(run.backend)};
const cli_opt_t cli_opt_time_scale = {
    .name = "time-scale",
    .arg = "V=W",
    .help = "with --backend threads: virtual time V lasts wall time W (default 1m=10ms: a 2h "
            "scenario takes 1.2 s)",
    .type = CLI_FN,
    .parse = parse_time_scale,
    .off = RUN_OFF(run.time_scale)};
const cli_opt_t cli_opt_hold = {
    .name = "hold-on-deadlock",
    .help = "with --backend threads: after a variant deadlocked, print the process id and wait "
            "for Ctrl-C with its threads still stuck, for gdb -p PID",
    .type = CLI_FLAG,
    .off = RUN_OFF(run.hold_on_deadlock)};

int cli_backend_check(const char *cmd, const cli_run_args_t *c) {
  if (c->run.backend == SIM_BACKEND_VIRTUAL) {
    if (c->run.time_scale > 0 || c->run.hold_on_deadlock)
      return cli_usage_error(cmd, "%s needs --backend threads",
                             c->run.time_scale > 0 ? "--time-scale" : "--hold-on-deadlock");
    return 0;
  }
  if (c->run.sched.kind != SIM_SCHED_FIFO)
    return cli_usage_error(cmd,
                           "--backend threads runs fifo only: the host's scheduler decides, so "
                           "--sched (random, pct, replay) is for the virtual backend");
  if (c->seeds.given)
    return cli_usage_error(cmd, "--backend threads runs one seed per process: --seeds would run "
                                "many live worlds in one worker, whose deadlocked threads stay "
                                "(use --seed N in a loop)");
  if (c->trace_path)
    return cli_usage_error(cmd, "--backend threads has no reproducible trace: --trace is for the "
                                "virtual backend");
  return 0;
}

/* sweep: a family, each run's seed seeds it (scn_sweep_sched). */
int cli_parse_sweep_sched(const char *v, void *target, char *why, size_t nwhy) {
  scn_sweep_opts_t *o = target;
  if (!strcmp(v, "random")) {
    o->sched.kind = SIM_SCHED_RANDOM;
  } else if (!strcmp(v, "fifo")) {
    o->sched.kind = SIM_SCHED_FIFO;
  } else if (!strncmp(v, "pct", 3)) {
    unsigned long long dd = 2, kk = 0;
    char tail;
    int n = v[3] ? sscanf(v, "pct:%llu:%llu%c", &dd, &kk, &tail) : 0;
    /* digits only: pct:-1 or pct:2xyz is an error, not a wrapped or
     * truncated number (the kernel checks the same bounds) */
    int digits = strspn(v + 3, ":0123456789") == strlen(v + 3) && !strstr(v, "::") &&
                 v[strlen(v) - 1] != ':';
    if ((v[3] && n != 1 && n != 2) || !digits || dd < 1 || dd > SIM_SCHED_PCT_MAX_DEPTH ||
        (n == 2 && (kk < 1 || kk > SIM_SCHED_PCT_MAX_STEPS))) {
      snprintf(why, nwhy, "expected pct[:DEPTH[:STEPS]], DEPTH 1 to %d",
               SIM_SCHED_PCT_MAX_DEPTH);
      return -1;
    }
    o->sched.kind = SIM_SCHED_PCT;
    o->sched.depth = dd;
    o->sched.steps = kk;
  } else {
    snprintf(why, nwhy, "expected random, pct[:DEPTH] or fifo");
    return -1;
  }
  return 0;
}

/* ---- whole files ------------------------------------------------------------------------------ */
char *cli_read_file(const char *path, size_t *len) {
  int std = !strcmp(path, "-");
  FILE *f = std ? stdin : fopen(path, "rb");
  size_t cap = 1 << 16, n = 0;
  char *b = f ? malloc(cap) : NULL;
  int err = f ? (b ? 0 : ENOMEM) : errno;
  while (b) {
    n += fread(b + n, 1, cap - 1 - n, f);
    if (n < cap - 1) break;
    char *nb = realloc(b, cap *= 2);
    if (!nb) free(b), err = ENOMEM;
    b = nb;
  }
  if (b && ferror(f)) {
    err = errno ? errno : EIO;
    free(b);
    b = NULL;
  }
  if (f && !std) fclose(f);
  if (!b) {
    fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(err ? err : EIO));
    return NULL;
  }
  b[n] = 0;
  *len = n;
  return b;
}

/* ---- scenario files --------------------------------------------------------------------------- */
static int files_add(cli_files_t *f, const char *path) {
  if (f->n == f->cap) {
    size_t nc = f->cap ? f->cap * 2 : 16;
    char **t = realloc(f->v, nc * sizeof *t);
    if (!t) return -1;
    f->v = t;
    f->cap = nc;
  }
  if (!(f->v[f->n] = strdup(path))) return -1;
  f->n++;
  return 0;
}

void cli_files_free(cli_files_t *f) {
  for (size_t i = 0; i < f->n; i++) free(f->v[i]);
  free(f->v);
  memset(f, 0, sizeof *f);
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_yaml(const char *name) {
  size_t n = strlen(name);
  return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Adds the scenario files under dir, sorted, recursively (depth-limited). */
static int scan_dir(cli_files_t *f, const char *dir, int depth) {
  DIR *d = opendir(dir);
  cli_files_t here = {0};
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d))) {
    char p[4096];
    struct stat st;
    if (e->d_name[0] == '.') continue;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    snprintf(p, sizeof p, "%.*s/%s", (int)dl, dir, e->d_name);
    if (stat(p, &st)) continue;
    if ((S_ISDIR(st.st_mode) && depth < 8) || (S_ISREG(st.st_mode) && is_yaml(e->d_name)))
      if (files_add(&here, p)) break;
  }
  closedir(d);
  if (here.n) qsort(here.v, here.n, sizeof *here.v, str_cmp);
  for (size_t i = 0; i < here.n; i++) {
    struct stat st;
    if (!stat(here.v[i], &st) && S_ISDIR(st.st_mode)) scan_dir(f, here.v[i], depth + 1);
    else files_add(f, here.v[i]);
  }
  cli_files_free(&here);
  return 0;
}

int cli_files_collect(cli_files_t *f, char **args, size_t nargs, const char *def) {
  char *one[1] = {(char *)def};
  if (nargs == 0) args = one, nargs = 1;
  for (size_t i = 0; i < nargs; i++) {
    struct stat st;
    if (!stat(args[i], &st) && S_ISDIR(st.st_mode)) {
      size_t before = f->n;
      if (scan_dir(f, args[i], 0)) {
        fprintf(stderr, "%s: error: cannot read directory: %s\n", args[i], strerror(errno));
        return -1;
      }
      if (f->n == before) {
        fprintf(stderr, "%s: error: no scenario files (*.yaml, *.yml) in this directory\n",
                args[i]);
        return -1;
      }
    } else if (files_add(f, args[i])) {
      fprintf(stderr, "storesim: out of host memory\n");
      return -1;
    }
  }
  return 0;
}
