/*
 * Sweeps: a pthread worker pool over (seed, variant) runs of one scenario,
 * the per-variant tally of its results, and the record-and-replay check of
 * one of its runs.
 *
 * Workers take run indexes from one atomic counter and write only their own
 * slot of the result array, so the result is the same for any number of
 * workers. Every run builds its own world through scn_run (the kernel keeps
 * no state shared between worlds but jemalloc, which is thread-safe).
 *
 * A run's slot, as its worker sees it:
 *   EMPTY (seed, variant set) -> RUN   [run_one: scn_run returned]
 *   EMPTY stays EMPTY (ran = 0, error NULL) when an interrupt or
 *   stop_on_error stopped the pool first. Indexes are taken in increasing
 *   order and a taken index always runs, so every slot below a run that
 *   stopped the pool is RUN.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "storesim/detect.h"
#include "storesim/sweep.h"

typedef struct job {
  const scn_scenario_t *s;
  const scn_sweep_opts_t *o;
  scn_sweep_run_t *runs;
  size_t nruns;
  atomic_size_t next;
  atomic_int stop;   /* interrupted */
  atomic_int failed; /* stop_on_error: a run has an error */
} job_t;

void scn_sweep_sched_string(const scn_sweep_opts_t *o, uint64_t seed, char *buf,
                            size_t n) {
  switch (o->sched) {
  case SCN_SWEEP_RANDOM:
    snprintf(buf, n, "random:%llu", (unsigned long long)seed);
    break;
  case SCN_SWEEP_PCT:
    if (o->pct_steps)
      snprintf(buf, n, "pct:%llu:%llu:%llu", (unsigned long long)seed,
               (unsigned long long)(o->pct_depth ? o->pct_depth : 2),
               (unsigned long long)o->pct_steps);
    else
      snprintf(buf, n, "pct:%llu:%llu", (unsigned long long)seed,
               (unsigned long long)(o->pct_depth ? o->pct_depth : 2));
    break;
  default:
    snprintf(buf, n, "fifo");
  }
}

void scn_sweep_run_opts(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                        uint64_t seed, size_t variant, char *sched, size_t nsched,
                        scn_run_opts_t *ro) {
  memset(ro, 0, sizeof *ro);
  scn_sweep_sched_string(o, seed, sched, nsched);
  ro->sched = sched;
  ro->variant = s->variants[variant].name;
  ro->duration = o->duration;
  ro->quiet = 1;
  if (o->vary_world_seed || o->sched == SCN_SWEEP_FIFO) {
    ro->have_seed = 1;
    ro->seed = seed;
  }
}

/* world_done hook: the detector reports, read by kind from the world. */
static void read_reports(sim_world_t *w, const scn_variant_t *v, scn_variant_res_t *vr, void *arg) {
  scn_sweep_run_t *run = arg;
  (void)v;
  (void)vr;
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    switch (r->kind) {
    case SIM_R_DEADLOCK:
      if (!run->deadlock++) {
        run->deadlock_time = r->time;
        for (size_t k = 0; k < 2; k++)
          run->deadlock_threads[k] = k < r->nthreads ? r->threads[k] : 0;
      }
      break;
    case SIM_R_HANG: run->hang++; break;
    case SIM_R_LOCK_ORDER: run->lock_order++; break;
    case SIM_R_SPIN: run->spin++; break;
    case SIM_R_MISUSE: run->misuse++; break;
    default: break;
    }
  }
}

/* Runs ro (one variant) into *run, whose seed and variant are set. Returns
 * the run's interrupted flag, or -1 on host OOM (run->ran 0). */
static int run_one(const scn_scenario_t *s, scn_run_opts_t *ro, scn_sweep_run_t *run) {
  ro->world_done = read_reports;
  ro->world_done_arg = run;
  scn_result_t *r = scn_run(s, ro);
  if (!r) return -1;
  const scn_variant_res_t *vr = &r->variants[run->variant];
  run->ran = vr->ran;
  run->complete = vr->ran && !vr->incomplete;
  run->passed = vr->ran && vr->nfail == 0 && vr->nerror == 0 && r->status == 0;
  run->trace_hash = vr->trace_hash;
  run->steps = vr->steps;
  if (!r->interrupted && (vr->error || (!vr->ran && r->diag.text))) {
    const char *why = vr->error ? vr->error : r->diag.text;
    size_t n = strlen(why);
    while (n && why[n - 1] == '\n') n--;
    run->error = sim_strndup(why, n);
  }
  int interrupted = r->interrupted;
  scn_result_free(r);
  return interrupted;
}

static void *worker(void *arg) {
  job_t *j = arg;
  for (;;) {
    if (atomic_load(&j->stop) || atomic_load(&j->failed) || scn_interrupted()) return NULL;
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->nruns)
      return NULL;
    scn_sweep_run_t *run = &j->runs[i];
    char sched[96];
    scn_run_opts_t ro;
    scn_sweep_run_opts(j->s, j->o, run->seed, run->variant, sched, sizeof sched, &ro);
    if (run_one(j->s, &ro, run) > 0) atomic_store(&j->stop, 1);
    if (j->o->stop_on_error && run->error) atomic_store(&j->failed, 1);
  }
}

int scn_sweep(const scn_scenario_t *s, const scn_sweep_opts_t *o,
              scn_sweep_res_t **out, char *err, size_t nerr) {
  *out = NULL;
  size_t nvar = 0, first = 0;
  if (o->seed_to < o->seed_from) {
    snprintf(err, nerr, "empty seed range %llu-%llu",
             (unsigned long long)o->seed_from, (unsigned long long)o->seed_to);
    return SIM_EINVAL;
  }
  if (o->variant) {
    const scn_variant_t *v = scn_variant_find(s, o->variant);
    if (!v) {
      snprintf(err, nerr, "no variant '%s' in %s", o->variant, s->file);
      return SIM_EINVAL;
    }
    first = (size_t)(v - s->variants);
    nvar = 1;
  } else {
    nvar = s->nvariants;
  }
  unsigned nsh = o->nshards ? o->nshards : 1;
  if (o->shard >= nsh) {
    snprintf(err, nerr, "shard %u is not below the shard count %u", o->shard,
             nsh);
    return SIM_EINVAL;
  }
  uint64_t span = o->seed_to - o->seed_from + 1;
  if (span == 0 || span > 100000000ull) { /* 0: all 2^64 seeds */
    if (span)
      snprintf(err, nerr, "seed range too large (%llu seeds, at most 10^8)",
               (unsigned long long)span);
    else snprintf(err, nerr, "seed range too large (2^64 seeds, at most 10^8)");
    return SIM_EINVAL;
  }
  scn_sweep_res_t *r = sim_calloc(1, sizeof *r);
  if (!r)
    return SIM_ENOMEM;
  size_t nmine = 0;
  for (uint64_t i = 0; i < span; i++)
    nmine += i % nsh == o->shard;
  size_t ntotal = nmine * nvar;
  r->runs = sim_calloc(ntotal ? ntotal : 1, sizeof *r->runs);
  if (!r->runs) {
    free(r);
    return SIM_ENOMEM;
  }
  for (uint64_t i = 0; i < span; i++) {
    if (i % nsh != o->shard)
      continue;
    for (size_t v = 0; v < nvar; v++) {
      scn_sweep_run_t *run = &r->runs[r->nruns++];
      run->seed = o->seed_from + i;
      run->variant = first + v;
    }
  }
  job_t j = {.s = s, .o = o, .runs = r->runs, .nruns = r->nruns};
  atomic_init(&j.next, 0);
  atomic_init(&j.stop, 0);
  atomic_init(&j.failed, 0);
  int jobs = o->jobs > 0 ? o->jobs : 1;
  if ((size_t)jobs > r->nruns)
    jobs = r->nruns ? (int)r->nruns : 1;
  pthread_t *th = sim_calloc((size_t)jobs, sizeof *th);
  if (!th) {
    scn_sweep_free(r);
    return SIM_ENOMEM;
  }
  int started = 0;
  for (int k = 1; k < jobs; k++) {
    if (pthread_create(&th[k], NULL, worker, &j) != 0)
      break;
    started++;
  }
  worker(&j); /* the calling thread works too */
  for (int k = 1; k <= started; k++)
    pthread_join(th[k], NULL);
  free(th);
  r->interrupted = atomic_load(&j.stop) || scn_interrupted();
  *out = r;
  return 0;
}

void scn_sweep_free(scn_sweep_res_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nruns; i++) free(r->runs[i].error);
  free(r->runs);
  free(r);
}

void scn_sweep_tally(const scn_sweep_res_t *r, size_t variant, scn_sweep_tally_t *t) {
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < r->nruns; i++) {
    const scn_sweep_run_t *run = &r->runs[i];
    if (run->variant != variant) continue;
    if (run->error && !t->first_error) t->first_error = run;
    if (!run->ran) continue;
    t->runs++;
    t->complete += run->complete;
    t->deadlock += run->deadlock > 0;
    t->hang += run->hang > 0;
    t->lock_order += run->lock_order > 0;
    t->lock_order_only += run->lock_order > 0 && !run->deadlock;
    t->spin += run->spin > 0;
    t->failed += !run->passed;
    if (run->deadlock && !t->first_deadlock) t->first_deadlock = run;
    if (run->hang && !t->first_hang) t->first_hang = run;
  }
}

int scn_sweep_replay(const scn_scenario_t *s, const scn_sweep_opts_t *o, const scn_sweep_run_t *run,
                     const char *path, scn_sweep_replay_t *out) {
  char sched[96];
  scn_run_opts_t ro;
  memset(out, 0, sizeof *out);
  size_t nrsched = strlen(path) + sizeof "replay:";
  char *rsched = sim_malloc(nrsched);
  if (!rsched) return SIM_ENOMEM;
  snprintf(rsched, nrsched, "replay:%s", path);
  out->rec.seed = out->rep.seed = run->seed;
  out->rec.variant = out->rep.variant = run->variant;
  scn_sweep_run_opts(s, o, run->seed, run->variant, sched, sizeof sched, &ro);
  ro.decision_log = path;
  int rc = run_one(s, &ro, &out->rec);
  if (rc >= 0) {
    scn_sweep_run_opts(s, o, run->seed, run->variant, sched, sizeof sched, &ro);
    ro.sched = rsched;
    rc = run_one(s, &ro, &out->rep);
  }
  free(rsched);
  if (rc < 0) {
    scn_sweep_replay_free(out);
    return SIM_ENOMEM;
  }
  out->same = out->rec.ran && out->rep.ran && out->rec.trace_hash == run->trace_hash &&
              out->rep.trace_hash == run->trace_hash;
  return 0;
}

void scn_sweep_replay_free(scn_sweep_replay_t *p) {
  if (!p) return;
  free(p->rec.error);
  free(p->rep.error);
  memset(p, 0, sizeof *p);
}
