/*
 * Sweeps: a pthread worker pool over (seed, variant) runs of one scenario.
 *
 * Workers take run indexes from one atomic counter and write only their own
 * slot of the result array, so the result is the same for any number of
 * workers. Every run builds its own world (the kernel keeps no state shared
 * between worlds but jemalloc, which is thread-safe).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/sweep.h"

typedef struct job {
  const scn_scenario_t *s;
  const scn_sweep_opts_t *o;
  scn_sweep_run_t *runs;
  size_t nruns;
  atomic_size_t next;
  atomic_int stop;
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
  ro->quiet = 1;
  if (o->vary_world_seed || o->sched == SCN_SWEEP_FIFO) {
    ro->have_seed = 1;
    ro->seed = seed;
  }
}

static void run_one(job_t *j, scn_sweep_run_t *run) {
  char sched[96];
  scn_run_opts_t ro;
  scn_sweep_run_opts(j->s, j->o, run->seed, run->variant, sched, sizeof sched,
                     &ro);
  scn_result_t *r = scn_run(j->s, &ro);
  if (!r)
    return;
  const scn_variant_res_t *vr = &r->variants[run->variant];
  run->ran = vr->ran;
  run->complete = vr->ran && !vr->incomplete;
  run->passed = vr->ran && vr->nfail == 0 && vr->nerror == 0 && r->status == 0;
  run->trace_hash = vr->trace_hash;
  for (size_t k = 0; k < vr->nreports; k++) {
    const char *kind = vr->reports[k].kind;
    run->deadlock += strcmp(kind, "deadlock") == 0;
    run->hang += strcmp(kind, "hang") == 0;
    run->lock_order += strcmp(kind, "lock-order") == 0;
    run->spin += strcmp(kind, "spin") == 0;
    run->misuse += strcmp(kind, "misuse") == 0;
  }
  if (r->interrupted)
    atomic_store(&j->stop, 1);
  scn_result_free(r);
}

static void *worker(void *arg) {
  job_t *j = arg;
  for (;;) {
    if (atomic_load(&j->stop) || scn_interrupted())
      return NULL;
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->nruns)
      return NULL;
    run_one(j, &j->runs[i]);
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
  if (span > 100000000ull) {
    snprintf(err, nerr, "seed range too large (%llu seeds, at most 10^8)",
             (unsigned long long)span);
    return SIM_EINVAL;
  }
  scn_sweep_res_t *r = calloc(1, sizeof *r);
  if (!r)
    return SIM_ENOMEM;
  size_t nmine = 0;
  for (uint64_t i = 0; i < span; i++)
    nmine += i % nsh == o->shard;
  size_t ntotal = nmine * nvar;
  r->runs = calloc(ntotal ? ntotal : 1, sizeof *r->runs);
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
  int jobs = o->jobs > 0 ? o->jobs : 1;
  if ((size_t)jobs > r->nruns)
    jobs = r->nruns ? (int)r->nruns : 1;
  pthread_t *th = calloc((size_t)jobs, sizeof *th);
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
  free(r->runs);
  free(r);
}
