/*
 * storesim explore: runs variants of one scenario under many schedules and
 * counts the ones that deadlock (the Q279798 exploration).
 *
 * For each selected variant and each scheduler (random:SEED for seeds
 * first..first+N-1, pct:SEED:DEPTH likewise) the variant runs in a fresh world
 * exactly as `storesim run` would (same seed, config, fixes and faults; only
 * the schedule differs), and the run's detector reports are read: a wait-for
 * cycle (deadlock) and lock-order inversions. Printed per variant and
 * scheduler: the fraction of schedules that deadlocked, the fraction in which
 * the lock-order validator reported (deadlock or not), and the first
 * deadlocking seed. That seed is then run once more writing its decision log
 * (DIR/<id>.<variant>.<sched>-<seed>.log), and the log is replayed
 * (replay:FILE) to check that it gives the same trace hash and deadlock.
 *
 * Runs spread over a pthread worker pool (one world per run, nothing shared
 * but the read-only scenario); results are kept per seed, so the output does
 * not depend on the number of workers.
 *
 * Exit status: 0 ok, 2 usage or input error, 3 internal error (a replay that
 * does not reproduce).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/detect.h"
#include "storesim/scenario.h"
#include "storesim/trace.h"

static const char usage_explore[] =
    "usage: storesim explore [OPTIONS] FILE\n"
    "\n"
    "Runs variants of a scenario under many random and PCT schedules and reports,\n"
    "per variant and scheduler, the fraction of schedules that deadlock (a wait-for\n"
    "cycle), the fraction the lock-order validator reports on, and the first\n"
    "deadlocking seed with a decision log that replays it.\n"
    "\n"
    "options:\n"
    "  --variant NAME   explore this variant (repeatable; default: every variant)\n"
    "  --random N       schedules random:SEED for N seeds (default 1000; 0: none)\n"
    "  --pct N          schedules pct:SEED:DEPTH for N seeds (default 1000; 0: none)\n"
    "  --depth D        PCT bug depth (default 2)\n"
    "  --pct-steps K    PCT run length for its change points (default: twice the\n"
    "                   scheduling steps of a fifo run of the variant)\n"
    "  --duration D     virtual time of each run (default: the scenario's; faults\n"
    "                   after it do not happen)\n"
    "  --first-seed S   first schedule seed (default 1)\n"
    "  --jobs J         worker threads (default: online CPUs)\n"
    "  --log-dir DIR    where decision logs go (default: .)\n"
    "\n"
    "example (the Q279798 exploration, 1,000 seeds of each scheduler):\n"
    "  storesim explore --variant race_without_fix --variant race_with_fix \\\n"
    "      --duration 10s --log-dir out scenarios/q279798.yaml\n"
    "\n"
    "exit status: 0 ok, 2 usage or input error, 3 a decision log did not replay\n";

typedef struct run_res {
  int deadlock;   /* wait-for cycle reported */
  sim_time_t dl_time; /* the first cycle's virtual time and threads */
  uint64_t dl_threads[4];
  size_t dl_n;
  int lockorder;  /* lock-order inversion reported */
  uint64_t hash;
  uint64_t steps;
  int rc;         /* 0, or why the world could not run */
} run_res_t;

/* Runs variant v of s under schedule `sched`, writing the decision log to
 * `dlog` if given. Fills *out; returns 0, or -1 with a message in err. */
static sim_time_t g_duration; /* --duration, 0: the scenario's */

static int run_one(const scn_scenario_t *s, const scn_variant_t *v,
                   const char *sched, const char *dlog, run_res_t *out,
                   char *err, size_t nerr) {
  scn_world_cfg_t wcv = v->world;
  const scn_world_cfg_t *wc = &wcv;
  if (g_duration > 0) wcv.duration = g_duration;
  sim_world_opts_t wo;
  sim_world_opts_init(&wo);
  wo.seed = (uint64_t)wc->seed;
  wo.sched = sched;
  wo.decision_log = dlog;
  wo.ncores = (int)wc->cores;
  wo.stack_size = (size_t)wc->stack_size;
  wo.machine_mem_limit = (size_t)wc->machine_memory;
  wo.sample_interval = wc->sample_interval ? wc->sample_interval : wc->duration / 500;
  if (wo.sample_interval <= 0) wo.sample_interval = 1;
  wo.cpu_quantum = wc->cpu_quantum;
  wo.spin_window = wc->spin_window;
  wo.max_threads = (uint64_t)wc->max_threads;
  wo.max_events = (uint64_t)wc->max_events;
  sim_world_t *w = NULL;
  memset(out, 0, sizeof *out);
  int rc = sim_world_create(&wo, &w, err, nerr);
  if (rc) return -1;
  void *inst = s->model->create(w, v->cfg, v->fixes, s->faults, s->nfaults, err, nerr);
  if (!inst) {
    sim_world_destroy(w);
    return -1;
  }
  rc = sim_world_run(w, wc->duration);
  s->model->finish(inst);
  out->rc = rc;
  if (rc != 0 && rc != SIM_EHANG)
    snprintf(err, nerr, "%s: %s", sim_strerror(rc),
             sim_world_last_error(w) ? sim_world_last_error(w) : "");
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    if (r->kind == SIM_R_DEADLOCK && !out->deadlock) {
      out->deadlock = 1;
      out->dl_time = r->time;
      out->dl_n = r->nthreads < 4 ? r->nthreads : 4;
      memcpy(out->dl_threads, r->threads, out->dl_n * sizeof *r->threads);
    }
    if (r->kind == SIM_R_LOCK_ORDER) out->lockorder = 1;
  }
  out->hash = sim_world_trace_hash(w);
  out->steps = sim_world_steps(w);
  s->model->destroy(inst);
  sim_world_destroy(w);
  return rc != 0 && rc != SIM_EHANG ? -1 : 0;
}

/* ---- the job pool ------------------------------------------------------------------ */
typedef struct job {
  const scn_scenario_t *s;
  const scn_variant_t *v;
  int pct, depth;
  uint64_t pct_steps;
  uint64_t first;
  size_t n;
  run_res_t *res;
  pthread_mutex_t mu;
  size_t next;
  int failed;
  char err[640];
} job_t;

static void sched_name(const job_t *j, uint64_t seed, char *buf, size_t n) {
  if (j->pct)
    snprintf(buf, n, "pct:%llu:%d:%llu", (unsigned long long)seed, j->depth,
             (unsigned long long)j->pct_steps);
  else
    snprintf(buf, n, "random:%llu", (unsigned long long)seed);
}

static void *worker(void *arg) {
  job_t *j = arg;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    size_t i = j->next++;
    int stop = j->failed;
    pthread_mutex_unlock(&j->mu);
    if (i >= j->n || stop) return NULL;
    char sched[64], err[512] = "";
    sched_name(j, j->first + i, sched, sizeof sched);
    if (run_one(j->s, j->v, sched, NULL, &j->res[i], err, sizeof err)) {
      pthread_mutex_lock(&j->mu);
      if (!j->failed) snprintf(j->err, sizeof j->err, "%s: %s", sched, err);
      j->failed = 1;
      pthread_mutex_unlock(&j->mu);
    }
  }
}

/* Explores v under one scheduler family; prints one line. Returns 0, 2 (input
 * error) or 3 (replay did not reproduce). */
static int explore_one(const scn_scenario_t *s, const scn_variant_t *v, int pct, int depth,
                       uint64_t pct_steps, uint64_t first, size_t n, int jobs,
                       const char *logdir) {
  job_t j;
  memset(&j, 0, sizeof j);
  if (pct && pct_steps == 0) {
    run_res_t f;
    char err[512] = "";
    if (run_one(s, v, "fifo", NULL, &f, err, sizeof err)) {
      fprintf(stderr, "%s: error: variant %s: %s\n", s->file, v->name, err);
      return 2;
    }
    pct_steps = 2 * f.steps > 10 ? 2 * f.steps : 10;
  }
  j.pct_steps = pct_steps;
  j.s = s;
  j.v = v;
  j.pct = pct;
  j.depth = depth;
  j.first = first;
  j.n = n;
  j.res = calloc(n, sizeof *j.res);
  if (!j.res) return 3;
  pthread_mutex_init(&j.mu, NULL);
  pthread_t th[64];
  int nth = jobs < 64 ? jobs : 64;
  for (int k = 0; k < nth; k++) pthread_create(&th[k], NULL, worker, &j);
  for (int k = 0; k < nth; k++) pthread_join(th[k], NULL);
  pthread_mutex_destroy(&j.mu);
  if (j.failed) {
    fprintf(stderr, "%s: error: variant %s: %s\n", s->file, v->name, j.err);
    free(j.res);
    return 2;
  }
  size_t ndl = 0, nlo = 0, nlo_only = 0, firsti = n;
  for (size_t i = 0; i < n; i++) {
    ndl += j.res[i].deadlock;
    nlo += j.res[i].lockorder;
    nlo_only += j.res[i].lockorder && !j.res[i].deadlock;
    if (j.res[i].deadlock && firsti == n) firsti = i;
  }
  const char *fam = pct ? "pct" : "random";
  char famd[64];
  if (pct)
    snprintf(famd, sizeof famd, "pct(d=%d,k=%llu)", depth, (unsigned long long)pct_steps);
  else
    snprintf(famd, sizeof famd, "random");
  printf("%-18s %-16s %5zu schedules  deadlock %5zu (%.4f)  lock-order %5zu (%.4f, "
         "%zu without deadlock)",
         v->name, famd, n, ndl, (double)ndl / (double)n, nlo, (double)nlo / (double)n, nlo_only);
  int rc = 0;
  if (firsti == n) {
    printf("  first deadlock: none\n");
  } else {
    char sched[64], path[1024], err[512] = "", rsched[1100];
    sched_name(&j, first + firsti, sched, sizeof sched);
    snprintf(path, sizeof path, "%s/%s.%s.%s-%llu.log", logdir, s->id, v->name, fam,
             (unsigned long long)(first + firsti));
    run_res_t rec, rep;
    int ok = run_one(s, v, sched, path, &rec, err, sizeof err) == 0;
    snprintf(rsched, sizeof rsched, "replay:%s", path);
    ok = ok && run_one(s, v, rsched, NULL, &rep, err, sizeof err) == 0;
    /* The replay must give the same run: the same trace hash, hence the same
     * cycle (same threads at the same virtual time, checked too). */
    int same = ok && rec.deadlock && rep.deadlock && rec.hash == j.res[firsti].hash &&
               rep.hash == rec.hash && rep.dl_time == rec.dl_time && rep.dl_n == rec.dl_n &&
               !memcmp(rep.dl_threads, rec.dl_threads, rec.dl_n * sizeof *rec.dl_threads);
    char tb[64];
    snprintf(tb, sizeof tb, "%.9fs", (double)rec.dl_time / 1e9);
    printf("  first deadlock: %s at t=%s, cycle T%llu/T%llu; decision log %s (replay %s)\n",
           sched, tb, (unsigned long long)rec.dl_threads[0],
           (unsigned long long)(rec.dl_n > 1 ? rec.dl_threads[1] : 0), path,
           same ? "reproduces it, same trace hash" : "DOES NOT reproduce it");
    if (!same) {
      if (err[0]) fprintf(stderr, "%s: error: %s\n", path, err);
      rc = 3;
    }
  }
  fflush(stdout);
  free(j.res);
  return rc;
}

static int parse_u64(const char *opt, const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = v ? strtoull(v, &end, 10) : 0;
  if (!v || !*v || *end || errno || v[0] == '-') {
    fprintf(stderr, "storesim explore: %s needs a non-negative integer%s%s\n", opt,
            v ? ", not " : "", v ? v : "");
    return -1;
  }
  *out = x;
  return 0;
}

int cli_explore(int argc, char **argv) {
  const char *file = NULL, *logdir = ".";
  const char *variants[64];
  size_t nvariants = 0;
  uint64_t nrandom = 1000, npct = 1000, depth = 2, first = 1, pct_steps = 0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  uint64_t jobs = ncpu > 0 ? (uint64_t)ncpu : 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_explore, stdout);
      return 0;
    } else if (!strcmp(a, "--variant")) {
      if (!val || nvariants == 64) goto usage;
      variants[nvariants++] = val;
      i++;
    } else if (!strcmp(a, "--random")) {
      if (parse_u64(a, val, &nrandom)) return 2;
      i++;
    } else if (!strcmp(a, "--pct")) {
      if (parse_u64(a, val, &npct)) return 2;
      i++;
    } else if (!strcmp(a, "--depth")) {
      if (parse_u64(a, val, &depth) || depth < 1 || depth > 64) return 2;
      i++;
    } else if (!strcmp(a, "--pct-steps")) {
      if (parse_u64(a, val, &pct_steps) || pct_steps < 1) return 2;
      i++;
    } else if (!strcmp(a, "--duration")) {
      char e[200];
      if (!val || scn_parse_duration(val, &g_duration, e, sizeof e) || g_duration <= 0) {
        fprintf(stderr, "storesim explore: --duration: %s\n", val ? e : "missing value");
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--first-seed")) {
      if (parse_u64(a, val, &first)) return 2;
      i++;
    } else if (!strcmp(a, "--jobs")) {
      if (parse_u64(a, val, &jobs) || jobs < 1) return 2;
      i++;
    } else if (!strcmp(a, "--log-dir")) {
      if (!val) goto usage;
      logdir = val;
      i++;
    } else if (a[0] == '-') {
      fprintf(stderr, "storesim explore: unknown option '%s'\n", a);
      goto usage;
    } else if (file) {
      fprintf(stderr, "storesim explore: one scenario file only\n");
      goto usage;
    } else {
      file = a;
    }
  }
  if (!file) goto usage;
  struct stat st;
  if (stat(logdir, &st) || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "%s: error: not a directory\n", logdir);
    return 2;
  }
  scn_diag_t diag;
  scn_scenario_t *s = NULL;
  scn_diag_init(&diag);
  if (scn_load(file, NULL, &s, &diag)) {
    fputs(diag.text ? diag.text : "", stderr);
    scn_diag_free(&diag);
    return 2;
  }
  scn_diag_free(&diag);
  for (size_t k = 0; k < nvariants; k++)
    if (!scn_variant_find(s, variants[k])) {
      fprintf(stderr, "%s: error: no variant '%s'\n", file, variants[k]);
      scn_scenario_free(s);
      return 2;
    }
  printf("explore %s (%s): seed %lld, schedules from seed %llu, PCT depth %llu\n", file, s->id,
         (long long)s->world.seed, (unsigned long long)first, (unsigned long long)depth);
  int worst = 0;
  for (size_t i = 0; i < s->nvariants; i++) {
    const scn_variant_t *v = &s->variants[i];
    int sel = nvariants == 0;
    for (size_t k = 0; k < nvariants; k++) sel |= !strcmp(variants[k], v->name);
    if (!sel) continue;
    for (int pct = 0; pct < 2; pct++) {
      uint64_t n = pct ? npct : nrandom;
      if (n == 0) continue;
      int rc = explore_one(s, v, pct, (int)depth, pct_steps, first, (size_t)n, (int)jobs,
                           logdir);
      if (rc > worst) worst = rc;
      if (rc == 2) goto out;
    }
  }
out:
  scn_scenario_free(s);
  return worst;
usage:
  fputs(usage_explore, stderr);
  return 2;
}
