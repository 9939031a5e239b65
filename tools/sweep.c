/*
 * `storesim sweep`: many runs of one scenario over seeds and schedules, on a
 * pthread worker pool, or as one shard of a sweep spread over machines.
 *
 * For each variant it prints how many runs deadlocked, hung, reported a
 * lock-order inversion or failed an expectation, and for the first
 * deadlocking (else hanging) run it writes a decision log, replays it, and
 * checks that the replay gives the same trace hash.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/sweep.h"
#include "storesim_cli.h"

static const char usage_sweep[] =
    "usage: storesim sweep FILE [options]\n"
    "\n"
    "Runs FILE's variants once per seed on a pool of worker threads and counts,\n"
    "per variant, the runs that deadlocked, hung, reported a lock-order\n"
    "inversion or failed an expectation. The first deadlocking run gets a\n"
    "decision log, replayed to check it reproduces the run (same trace hash).\n"
    "\n"
    "options:\n"
    "  --sched random|pct[:DEPTH[:STEPS]]|fifo  scheduler family; the seed of\n"
    "                          each run seeds it (default random)\n"
    "  --seeds A-B | N         seeds A..B, or 1..N (default 1-100)\n"
    "  --variant NAME          only this variant (default: all)\n"
    "  --vary-world-seed       the seed is also the world seed (default for fifo;\n"
    "                          otherwise the world keeps the scenario's seed)\n"
    "  --jobs N                worker processes (default: the number of cores)\n"
    "  --wall-limit SECONDS    host time one run may take; a run over it is\n"
    "                          stopped and counted as crashed (default 600, 0: none)\n"
    "  --shard I/N             run only seed indexes i with i %% N == I (0-based),\n"
    "                          to spread one sweep over N machines\n"
    "  --jsonl FILE            one JSON record per run (shards concatenate)\n"
    "  --log-dir DIR           where decision logs go (default out/, created\n"
    "                          if missing)\n"
    "  --json                  print the summary as one JSON object\n"
    "\n"
    "A run that crashes (or exceeds --wall-limit) ends only its worker process:\n"
    "it is counted in the 'crashed' column, the first one's replay command is\n"
    "printed, and the other runs go on.\n"
    "\n"
    "exit status: 0 ok, 1 a variant named with_fix deadlocked, hung or failed\n"
    "an expectation in some run, 2 usage, input or output error, 3 internal\n"
    "error (a run crashed or exceeded --wall-limit), 130 interrupted.\n";

static int parse_u64(const char *s, uint64_t *v) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-')
    return -1;
  *v = x;
  return 0;
}

/* Writes the decision log of `run` under dir (created if missing), named
 * after the scenario, variant and scheduler, and replays it. Returns 0 with
 * path and *same set, or -1 with errno set. */
static int write_log_and_replay(const scn_scenario_t *s,
                                const scn_sweep_opts_t *o,
                                const scn_sweep_run_t *run, const char *dir,
                                char *path, size_t npath, int *same) {
  char sched[96];
  scn_sweep_replay_t rp;
  *same = 0;
  if (cli_mkdirs(dir)) /* it says why */
    return errno = 0, -1;
  scn_sweep_sched_string(o, run->seed, sched, sizeof sched);
  snprintf(path, npath, "%s/%s-%s-%s.log", dir, s->id, s->variants[run->variant].name,
           sched);
  for (char *p = path + strlen(dir) + 1; *p; p++)
    if (*p == ':')
      *p = '-';
  cli_outfile_t of;
  scn_sweep_logio_t io;
  cli_logio_init(&io, &of);
  if (scn_sweep_replay(s, o, run, path, &io, &rp)) {
    errno = ENOMEM;
    return -1;
  }
  if (rp.log_failed) { /* cli_out_* said why */
    scn_sweep_replay_free(&rp);
    return errno = 0, -1;
  }
  *same = rp.same;
  scn_sweep_replay_free(&rp);
  return 0;
}

static int takes_value(const char *opt) {
  static const char *const opts[] = {"--sched", "--seeds", "--variant", "--jobs",
                                     "--shard", "--jsonl", "--log-dir", "--wall-limit"};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    if (!strcmp(opt, opts[i])) return 1;
  return 0;
}

int cmd_sweep(int argc, char **argv) {
  scn_sweep_opts_t o;
  memset(&o, 0, sizeof o);
  o.sched.kind = SIM_SCHED_RANDOM;
  o.seed_from = 1;
  o.seed_to = 100;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  o.jobs = nproc > 0 ? (int)nproc : 1;
  o.wall_limit = 600;
  const char *file = NULL, *jsonl = NULL, *logdir = "out";
  int json = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_sweep, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--vary-world-seed")) {
      o.vary_world_seed = 1;
    } else if (!v && takes_value(a)) {
      fprintf(stderr, "storesim sweep: %s needs a value\n", a);
      return 2;
    } else if (!strcmp(a, "--sched")) {
      i++;
      uint64_t d = 0, k = 0;
      if (!strcmp(v, "random")) o.sched.kind = SIM_SCHED_RANDOM;
      else if (!strcmp(v, "fifo")) o.sched.kind = SIM_SCHED_FIFO;
      else if (!strncmp(v, "pct", 3)) {
        o.sched.kind = SIM_SCHED_PCT;
        unsigned long long dd = 2, kk = 0;
        char tail;
        int n = v[3] ? sscanf(v, "pct:%llu:%llu%c", &dd, &kk, &tail) : 0;
        /* digits only: pct:-1 or pct:2xyz is an error, not a wrapped or
         * truncated number (the kernel checks the same bounds) */
        int digits = strspn(v + 3, ":0123456789") == strlen(v + 3) && !strstr(v, "::") &&
                     v[strlen(v) - 1] != ':';
        if ((v[3] && n != 1 && n != 2) || !digits || dd < 1 || dd > 1000 || (n == 2 && kk < 1)) {
          fprintf(stderr,
                  "storesim sweep: --sched %s: expected pct[:DEPTH[:STEPS]], DEPTH 1 to 1000\n", v);
          return 2;
        }
        d = dd;
        k = kk;
        o.sched.depth = d;
        o.sched.steps = k;
      } else {
        fprintf(stderr, "storesim sweep: --sched %s: expected random, pct[:DEPTH] or fifo\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--seeds")) {
      i++;
      if (cli_parse_seeds(v, &o.seed_from, &o.seed_to)) {
        fprintf(stderr, "storesim sweep: --seeds %s: expected A-B (A <= B) or N\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--variant")) {
      o.variant = argv[++i];
    } else if (!strcmp(a, "--jobs")) {
      uint64_t n;
      i++;
      if (parse_u64(v, &n) || n < 1 || n > 1024) {
        fprintf(stderr, "storesim sweep: --jobs %s: expected 1 to 1024\n", v);
        return 2;
      }
      o.jobs = (int)n;
    } else if (!strcmp(a, "--wall-limit")) {
      i++;
      if (cli_parse_seconds(v, &o.wall_limit)) {
        fprintf(stderr, "storesim sweep: --wall-limit %s: expected seconds, 0 to 1e9\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--shard")) {
      unsigned si, sn;
      char tail;
      i++;
      if (sscanf(v, "%u/%u%c", &si, &sn, &tail) != 2 || sn == 0 || si >= sn) {
        fprintf(stderr, "storesim sweep: --shard %s: expected I/N with 0 <= I < N\n", v);
        return 2;
      }
      o.shard = si;
      o.nshards = sn;
    } else if (!strcmp(a, "--jsonl")) {
      jsonl = argv[++i];
    } else if (!strcmp(a, "--log-dir")) {
      logdir = argv[++i];
    } else if (a[0] == '-') {
      fprintf(stderr, "storesim sweep: unknown option '%s' (see storesim sweep --help)\n", a);
      return 2;
    } else if (file) {
      fprintf(stderr, "storesim sweep: one scenario file at a time ('%s' and '%s')\n", file, a);
      return 2;
    } else {
      file = a;
    }
  }
  if (!file) {
    fputs(usage_sweep, stderr);
    return 2;
  }
  if (cli_dir_usable(logdir)) /* created when the first log is written */
    return 2;
  scn_diag_t diag;
  scn_diag_init(&diag);
  scn_scenario_t *s = NULL;
  int rc = scn_load(file, NULL, &s, &diag);
  if (rc) {
    fputs(diag.text ? diag.text : "storesim sweep: cannot load the scenario\n", stderr);
    scn_diag_free(&diag);
    return rc == SIM_ENOMEM ? 3 : 2;
  }
  scn_diag_free(&diag);
  scn_interrupt_install();
  scn_sweep_res_t *res = NULL;
  char err[256];
  rc = scn_sweep(s, &o, &res, err, sizeof err);
  if (rc) {
    fprintf(stderr, "storesim sweep: %s\n", rc == SIM_ENOMEM ? "out of host memory" : err);
    scn_scenario_free(s);
    return rc == SIM_ENOMEM ? 3 : 2;
  }
  int status = 0;
  if (jsonl) {
    cli_outfile_t out;
    if (cli_out_open(&out, jsonl)) {
      status = 2;
    } else {
      char sched[96];
      for (size_t i = 0; i < res->nruns; i++) {
        const scn_sweep_run_t *r = &res->runs[i];
        if (!r->ran)
          continue;
        scn_sweep_sched_string(&o, r->seed, sched, sizeof sched);
        fprintf(
            out.f,
            "{\"scenario\":\"%s\",\"variant\":\"%s\",\"seed\":%" PRIu64
            ",\"sched\":\"%s\",\"complete\":%s,\"passed\":%s,\"deadlock\":%d,"
            "\"hang\":%d,\"lock_order\":%d,\"spin\":%d,\"crashed\":%d,\"trace_hash\":\"%016" PRIx64
            "\"",
            s->id, s->variants[r->variant].name, r->seed, sched, r->complete ? "true" : "false",
            r->passed ? "true" : "false", r->deadlock, r->hang, r->lock_order, r->spin, r->crashed,
            r->trace_hash);
        if (r->error) {
          fputs(",\"error\":", out.f);
          cli_json_str(out.f, r->error);
        }
        if (r->failed) {
          fputs(",\"failed_expectation\":", out.f);
          cli_json_str(out.f, r->failed);
        }
        fputs("}\n", out.f);
      }
      if (res->interrupted) /* the runs that finished, and a last line that says so */
        cli_out_mark_incomplete(&out, 0);
      if (cli_out_close(&out, 1))
        status = 2;
    }
  }
  const char *family = o.sched.kind == SIM_SCHED_RANDOM ? "random"
                       : o.sched.kind == SIM_SCHED_PCT  ? "pct"
                                                        : "fifo";
  char fam[64];
  if (o.sched.kind == SIM_SCHED_PCT)
    snprintf(fam, sizeof fam, "pct (depth %" PRIu64 ")", o.sched.depth);
  else
    snprintf(fam, sizeof fam, "%s", family);
  if (!json)
    printf("%s: seeds %" PRIu64 "-%" PRIu64 "%s, scheduler %s, %d worker%s%s\n", s->id,
           o.seed_from, o.seed_to, o.nshards > 1 ? " (this shard)" : "", fam, o.jobs,
           o.jobs == 1 ? "" : "s", res->interrupted ? " (INTERRUPTED: partial)" : "");
  else
    printf("{\"scenario\":\"%s\",\"scheduler\":\"%s\",\"seed_from\":%" PRIu64 ",\"seed_to\":%" PRIu64
           ",\"shard\":%u,\"nshards\":%u,\"interrupted\":%s,\"variants\":[",
           s->id, family, o.seed_from, o.seed_to, o.shard, o.nshards ? o.nshards : 1,
           res->interrupted ? "true" : "false");
  if (!json)
    printf("  %-16s %6s %9s %9s %6s %11s %8s %8s  %s\n", "variant", "runs", "deadlock", "fraction",
           "hang", "lock-order", "crashed", "failed", "first deadlocking seed");
  int nshown = 0;
  for (size_t v = 0; v < s->nvariants; v++) {
    scn_sweep_tally_t t;
    scn_sweep_tally(res, v, &t);
    if (!t.runs)
      continue;
    const scn_sweep_run_t *first = t.first_deadlock ? t.first_deadlock : t.first_hang;
    char logpath[4096] = "";
    int same = 0, have_log = 0;
    if (first && !res->interrupted) {
      if (write_log_and_replay(s, &o, first, logdir, logpath, sizeof logpath, &same) == 0)
        have_log = 1;
      else if (errno == ENOMEM) {
        fprintf(stderr, "storesim sweep: out of host memory\n");
        status = 3;
      } else if (status < 2) {
        status = 2; /* cli_mkdirs or cli_out_* said why */
      }
    }
    double frac = (double)t.deadlock / (double)t.runs;
    if (!strcmp(s->variants[v].name, "with_fix") && (t.deadlock || t.hang || t.failed))
      status = status ? status : 1;
    if (t.crashed) status = 3;
    char crash_cmd[2048] = "";
    if (t.first_crash) {
      char sched[96];
      scn_sweep_sched_string(&o, t.first_crash->seed, sched, sizeof sched);
      scn_crash_ctx_t c = {.id = s->id,
                           .file = file,
                           .variant = s->variants[v].name,
                           .seed = o.vary_world_seed || o.sched.kind == SIM_SCHED_FIFO
                                       ? t.first_crash->seed
                                       : (uint64_t)s->variants[v].world.seed,
                           .sched = sched};
      scn_crash_command(&c, crash_cmd, sizeof crash_cmd);
    }
    if (json) {
      printf("%s{\"name\":\"%s\",\"runs\":%" PRIu64 ",\"deadlock\":%" PRIu64
             ",\"deadlock_fraction\":%.6f,\"hang\":%" PRIu64 ",\"lock_order\":%" PRIu64
             ",\"spin\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"crashed\":%" PRIu64,
             nshown++ ? "," : "", s->variants[v].name, t.runs, t.deadlock, frac, t.hang,
             t.lock_order, t.spin, t.failed, t.crashed);
      if (t.first_crash) {
        printf(",\"first_crash_seed\":%" PRIu64 ",\"first_crash\":", t.first_crash->seed);
        cli_json_str(stdout, t.first_crash->error);
        fputs(",\"first_crash_replay\":", stdout);
        cli_json_str(stdout, crash_cmd);
      }
      if (first)
        printf(",\"first_seed\":%" PRIu64 ",\"decision_log\":\"%s\",\"replay_same_hash\":%s",
               first->seed, have_log ? logpath : "", same ? "true" : "false");
      printf("}");
    } else {
      char fs[32] = "-";
      if (first)
        snprintf(fs, sizeof fs, "%" PRIu64 "%s", first->seed, t.first_deadlock ? "" : " (hang)");
      printf("  %-16s %6" PRIu64 " %9" PRIu64 " %9.4f %6" PRIu64 " %11" PRIu64 " %8" PRIu64
             " %8" PRIu64 "  %s\n",
             s->variants[v].name, t.runs, t.deadlock, frac, t.hang, t.lock_order, t.crashed,
             t.failed, fs);
      if (t.first_crash)
        printf("      first crash, seed %" PRIu64 ": %s\n      replay it with: %s\n",
               t.first_crash->seed, t.first_crash->error, crash_cmd);
      if (have_log) {
        char sched[96];
        scn_sweep_sched_string(&o, first->seed, sched, sizeof sched);
        printf("      decision log of seed %" PRIu64 " (%s): %s; replay %s\n", first->seed, sched,
               logpath, same ? "reproduces it (same trace hash)" : "DIVERGED");
        char seedopt[48] = "";
        if (o.vary_world_seed || o.sched.kind == SIM_SCHED_FIFO)
          snprintf(seedopt, sizeof seedopt, " --seed %" PRIu64, first->seed);
        printf("      storesim run %s --variant %s%s --sched replay:%s\n", file,
               s->variants[v].name, seedopt, logpath);
      }
    }
  }
  if (json)
    printf("]}\n");
  int interrupted = res->interrupted;
  scn_sweep_free(res);
  scn_scenario_free(s);
  if (interrupted)
    return 130;
  return status;
}
