/*
 * Sweeps: a pool of worker processes over (seed, variant) runs of one
 * scenario, the per-variant tally of its results, and the record-and-replay
 * check of one of its runs.
 *
 * scn_sweep lays the runs out (scn_sweep_plan) and hands them to a pool:
 * o->pool (the MPI ranks of tools/mpi.c, which run their batches here with
 * scn_sweep_local and send records as scn_sweep_record_put bytes), else the
 * local pool below.
 *
 * Workers take run indexes from one atomic counter (in shared memory) and
 * the parent writes each run's record to that run's slot of the result
 * array, so the result is the same for any number of workers. Every run
 * builds its own world through scn_run. Workers are processes, not threads,
 * so that a run that crashes or runs away is one result of the sweep, not
 * its end (see "the worker pool" below).
 *
 * A run's slot:
 *   EMPTY (seed, variant set) -> RUN      [a worker's record: scn_run returned]
 *   EMPTY -> CRASHED (ran, error, crashed) [its worker died in it, or was
 *                                          killed for the wall-clock budget]
 *   EMPTY stays EMPTY (ran = 0, error NULL) when an interrupt or
 *   stop_on_error stopped the pool first. Indexes are taken in increasing
 *   order and a taken index always ends RUN or CRASHED (but for a Ctrl-C),
 *   so every slot below a run that stopped the pool has a result.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storesim/alloc.h"
#include "storesim/detect.h"
#include "storesim/sweep.h"

void scn_sweep_sched(const scn_sweep_opts_t *o, uint64_t seed, sim_sched_t *out) {
  *out = o->sched;
  if (sim_sched_seeded(out)) out->seed = seed;
}

void scn_sweep_sched_string(const scn_sweep_opts_t *o, uint64_t seed, char *buf,
                            size_t n) {
  sim_sched_t sc;
  scn_sweep_sched(o, seed, &sc);
  sim_sched_format(&sc, buf, n);
}

void scn_sweep_run_opts(const scn_scenario_t *s, const scn_sweep_opts_t *o, uint64_t seed,
                        size_t variant, scn_run_opts_t *ro) {
  memset(ro, 0, sizeof *ro);
  scn_sweep_sched(o, seed, &ro->sched);
  ro->variant = s->variants[variant].name;
  ro->duration = o->duration;
  ro->quiet = 1;
  if (o->vary_world_seed || !sim_sched_seeded(&o->sched)) {
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

/* The statistics o asks each run for, from the variant's result. */
static int read_values(const scn_sweep_opts_t *o, const scn_scenario_t *s,
                       const scn_variant_res_t *vr, scn_sweep_run_t *run) {
  if (!o || !o->nmetrics) return 0;
  if (!run->values && !(run->values = sim_calloc(o->nmetrics, sizeof *run->values))) return -1;
  for (size_t i = 0; i < o->nmetrics; i++) {
    const scn_metric_res_t *m = vr->ran ? scn_metric_res_find(vr, o->metrics[i]) : NULL;
    double v = NAN;
    if (m && !(m->kind == SIM_M_SAMPLE && m->sum.count == 0 && o->stats[i] != SCN_ST_COUNT))
      v = scn_metric_stat(m, o->stats[i]);
    if (o->stats[i] != SCN_ST_COUNT && v < 0 && scn_metric_never(s->model, o->metrics[i]))
      v = NAN; /* never happened: no number */
    run->values[i] = v;
  }
  return 0;
}

/* Runs ro (one variant) into *run, whose seed and variant are set, recording
 * the statistics o asks for (o may be NULL). Returns the run's interrupted
 * flag, or -1 on host OOM (run->ran 0). */
static int run_one(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_run_opts_t *ro,
                   scn_sweep_run_t *run) {
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
  if (read_values(o, s, vr, run)) {
    scn_result_free(r);
    return -1;
  }
  for (size_t x = 0; vr->ran && x < vr->nexpects && !run->failed; x++) {
    const scn_expect_res_t *e = &vr->expects[x];
    if (!scn_expect_failed(e)) continue;
    size_t n = strlen(e->x->text) + (e->detail ? strlen(e->detail) : 0) + 16;
    if ((run->failed = sim_malloc(n)))
      snprintf(run->failed, n, "%s (%s)", e->x->text, e->detail ? e->detail : "");
  }
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

/* ---- the worker pool: one process per worker ----
 * A run that crashes (a fatal signal, a kernel assertion) kills only its
 * worker process: the parent sees the worker end in the middle of a run
 * (its slot names the run), records that run as crashed, and starts a new
 * worker for the runs left. The same goes for a run that exceeds the
 * wall-clock budget: the parent kills its worker. Workers take run indexes
 * from one counter in shared memory and send each finished run's record
 * through their own pipe; the parent writes it to the run's slot, so the
 * result is the same for any number of workers.
 *
 *   worker k: take i -> cur[k] = i + 1, start[k] = now -> run -> record on
 *             pipe k -> cur[k] = 0 -> take the next i ... -> exit 0
 *   parent:   poll pipes; record -> runs[i]; pipe EOF -> waitpid; cur[k] != 0
 *             -> runs[cur[k] - 1] crashed (or over budget); respawn if runs
 *             are left; Ctrl-C -> SIGINT to every worker, no respawn. */
typedef struct shared {
  atomic_size_t next;
  atomic_int stop; /* interrupted, or stop_on_error saw an error */
  atomic_size_t cur[SCN_SWEEP_MAX_JOBS];
  _Atomic int64_t start[SCN_SWEEP_MAX_JOBS]; /* CLOCK_MONOTONIC ns of cur's start */
} shared_t;

/* One run's record on the wire (error follows, nerror bytes, then failed,
 * nfailed bytes, then nvalues doubles). */
typedef struct wire {
  uint64_t index, nvalues;
  int32_t ran, complete, passed, deadlock, hang, lock_order, spin, misuse, interrupted;
  uint32_t nerror, nfailed;
  int64_t deadlock_time;
  uint64_t deadlock_threads[2], steps, trace_hash;
} wire_t;

typedef struct worker {
  pid_t pid; /* 0: not running */
  int fd;    /* read end of its pipe */
  char *buf; /* bytes read, not yet a whole record */
  size_t n, cap;
  int killed; /* the parent killed it for the wall-clock budget */
} worker_t;

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

int scn_sweep_record_put(char **buf, size_t *n, size_t *cap, const scn_sweep_run_t *run,
                         uint64_t index, int interrupted, size_t nmetrics) {
  wire_t wr = {.index = index,
               .ran = run->ran,
               .complete = run->complete,
               .passed = run->passed,
               .deadlock = run->deadlock,
               .hang = run->hang,
               .lock_order = run->lock_order,
               .spin = run->spin,
               .misuse = run->misuse,
               .interrupted = interrupted,
               .deadlock_time = run->deadlock_time,
               .steps = run->steps,
               .trace_hash = run->trace_hash};
  wr.deadlock_threads[0] = run->deadlock_threads[0];
  wr.deadlock_threads[1] = run->deadlock_threads[1];
  wr.nvalues = run->values ? nmetrics : 0;
  size_t ne = run->error ? strlen(run->error) : 0;
  wr.nerror = (uint32_t)(ne < 65536 ? ne : 65536);
  size_t nf = run->failed ? strlen(run->failed) : 0;
  wr.nfailed = (uint32_t)(nf < 4096 ? nf : 4096);
  size_t need = sizeof wr + wr.nerror + wr.nfailed + wr.nvalues * sizeof(double);
  if (*cap - *n < need) {
    size_t ncap = *cap ? *cap : 4096;
    while (ncap - *n < need) ncap *= 2;
    char *b = sim_realloc(*buf, ncap);
    if (!b) return SIM_ENOMEM;
    *buf = b;
    *cap = ncap;
  }
  char *p = *buf + *n;
  memcpy(p, &wr, sizeof wr);
  p += sizeof wr;
  if (wr.nerror) memcpy(p, run->error, wr.nerror);
  p += wr.nerror;
  if (wr.nfailed) memcpy(p, run->failed, wr.nfailed);
  p += wr.nfailed;
  if (wr.nvalues) memcpy(p, run->values, wr.nvalues * sizeof(double));
  *n += need;
  return 0;
}

static _Noreturn void worker_main(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                                  scn_sweep_run_t *runs, size_t nruns, shared_t *sh, int k,
                                  int fd) {
  char *rbuf = NULL;
  size_t rcap = 0;
  scn_crash_quiet(1);
  for (;;) {
    if (atomic_load(&sh->stop) || scn_interrupted()) break;
    size_t i = atomic_fetch_add(&sh->next, 1);
    if (i >= nruns) break;
    atomic_store(&sh->start[k], mono_ns());
    atomic_store(&sh->cur[k], i + 1);
    scn_sweep_run_t *run = &runs[i];
    const scn_scenario_t *cs = o->ncells ? o->cells[run->cell] : s;
    scn_run_opts_t ro;
    scn_sweep_run_opts(cs, o, run->seed, run->variant, &ro);
    int intr = run_one(cs, o, &ro, run);
    if (intr < 0) {
      run->error = sim_strdup("out of host memory");
      intr = 0;
    }
    if (intr > 0 || (o->stop_on_error && run->error)) atomic_store(&sh->stop, 1);
    size_t nb = 0;
    if (scn_sweep_record_put(&rbuf, &nb, &rcap, run, i, intr > 0, o->nmetrics) ||
        write_all(fd, rbuf, nb))
      _exit(4);
    atomic_store(&sh->cur[k], 0);
  }
  _exit(0);
}

static int worker_start(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t *r,
                        shared_t *sh, worker_t *ws, int nw, int k) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(NULL); /* the child must not write the parent's buffered output again */
  /* Before the fork: a child that takes its first run at once stores
   * cur[k], and a store of 0 after the fork could erase it, leaving the
   * parent blind to that run's wall-clock limit (a run that never ends
   * then hung the sweep; seen in test_crash's hang case). */
  atomic_store(&sh->cur[k], 0);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    close(p[0]);
    for (int i = 0; i < nw; i++)
      if (ws[i].pid) close(ws[i].fd);
    worker_main(s, o, r->runs, r->nruns, sh, k, p[1]);
  }
  close(p[1]);
  ws[k].pid = pid;
  ws[k].fd = p[0];
  ws[k].n = 0;
  ws[k].killed = 0;
  return 0;
}

long scn_sweep_record_get(const char *buf, size_t n, scn_sweep_res_t *r, size_t nmetrics,
                          int *interrupted) {
  size_t off = 0;
  while (n - off >= sizeof(wire_t)) {
    wire_t wr;
    memcpy(&wr, buf + off, sizeof wr);
    if (wr.nvalues > nmetrics || wr.index >= r->nruns) return -1;
    size_t nv = (size_t)wr.nvalues * sizeof(double);
    if (n - off < sizeof wr + wr.nerror + wr.nfailed + nv) break;
    scn_sweep_run_t *run = &r->runs[wr.index];
    run->ran = wr.ran;
    run->complete = wr.complete;
    run->passed = wr.passed;
    run->deadlock = wr.deadlock;
    run->hang = wr.hang;
    run->lock_order = wr.lock_order;
    run->spin = wr.spin;
    run->misuse = wr.misuse;
    run->deadlock_time = wr.deadlock_time;
    run->deadlock_threads[0] = wr.deadlock_threads[0];
    run->deadlock_threads[1] = wr.deadlock_threads[1];
    run->steps = wr.steps;
    run->trace_hash = wr.trace_hash;
    free(run->error);
    free(run->failed);
    free(run->values);
    run->error = run->failed = NULL;
    run->values = NULL;
    const char *p = buf + off + sizeof wr;
    if (wr.nerror && !(run->error = sim_strndup(p, wr.nerror))) return -1;
    if (wr.nfailed && !(run->failed = sim_strndup(p + wr.nerror, wr.nfailed))) return -1;
    if (nv) {
      if (!(run->values = sim_malloc(nv))) return -1;
      memcpy(run->values, p + wr.nerror + wr.nfailed, nv);
    }
    if (wr.interrupted) *interrupted = 1;
    off += sizeof wr + wr.nerror + wr.nfailed + nv;
  }
  return (long)off;
}

/* Takes the whole records out of w's buffer into r. */
static int worker_drain(worker_t *w, scn_sweep_res_t *r, size_t nmetrics, int *interrupted) {
  long off = scn_sweep_record_get(w->buf, w->n, r, nmetrics, interrupted);
  if (off < 0) return -1;
  memmove(w->buf, w->buf + off, w->n - (size_t)off);
  w->n -= (size_t)off;
  return 0;
}

/* The worker's process ended: waits for it and, if it ended in the middle
 * of a run, records that run as crashed (or over the wall-clock budget). */
static void worker_reap(worker_t *w, shared_t *sh, int k, scn_sweep_res_t *r, int interrupted,
                        double wall_limit) {
  int st = 0;
  close(w->fd);
  while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
  }
  w->pid = 0;
  size_t cur = atomic_load(&sh->cur[k]);
  if (!cur || cur > r->nruns) return;
  scn_sweep_run_t *run = &r->runs[cur - 1];
  char why[160];
  if (w->killed) {
    snprintf(why, sizeof why,
             "wall-clock limit: the run took more than %g s of host time "
             "(--wall-limit raises it)",
             wall_limit);
    run->crashed = -1;
  } else if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    if (interrupted && (sig == SIGINT || sig == SIGTERM)) return; /* a Ctrl-C, not a crash */
    snprintf(why, sizeof why, "internal error: the run crashed with signal %d (%s)", sig,
             strsignal(sig));
    run->crashed = sig;
  } else {
    snprintf(why, sizeof why, "internal error: the worker exited with status %d in the run",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    run->crashed = -1;
  }
  run->ran = 1;
  run->complete = run->passed = 0;
  free(run->error);
  run->error = sim_strdup(why);
}

int scn_sweep_local(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t *r) {
  int jobs = o->jobs > 0 ? o->jobs : 1;
  if ((size_t)jobs > r->nruns) jobs = r->nruns ? (int)r->nruns : 1;
  double wall_limit = o->wall_limit;
  shared_t *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) return SIM_ENOMEM;
  memset(sh, 0, sizeof *sh);
  worker_t ws[SCN_SWEEP_MAX_JOBS];
  memset(ws, 0, sizeof ws);
  int rc = 0, interrupted = 0, forwarded = 0, alive = 0;
  for (int k = 0; k < jobs; k++) {
    if (worker_start(s, o, r, sh, ws, jobs, k) == 0) alive++;
    else if (k == 0) rc = SIM_ENOMEM;
    else break;
  }
  while (alive > 0) {
    struct pollfd pf[SCN_SWEEP_MAX_JOBS];
    int idx[SCN_SWEEP_MAX_JOBS], np = 0;
    for (int k = 0; k < jobs; k++)
      if (ws[k].pid) {
        pf[np] = (struct pollfd){.fd = ws[k].fd, .events = POLLIN};
        idx[np++] = k;
      }
    int pr = poll(pf, (nfds_t)np, 100);
    if (scn_interrupted() && !forwarded) {
      forwarded = interrupted = 1;
      atomic_store(&sh->stop, 1);
      for (int k = 0; k < jobs; k++)
        if (ws[k].pid) kill(ws[k].pid, SIGINT);
    }
    if (wall_limit > 0) {
      int64_t now = mono_ns();
      for (int k = 0; k < jobs; k++)
        if (ws[k].pid && !ws[k].killed && atomic_load(&sh->cur[k]) &&
            (double)(now - atomic_load(&sh->start[k])) > wall_limit * 1e9) {
          ws[k].killed = 1;
          kill(ws[k].pid, SIGKILL);
        }
    }
    if (pr <= 0) continue;
    for (int p = 0; p < np; p++) {
      if (!(pf[p].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      worker_t *w = &ws[idx[p]];
      if (w->cap - w->n < 65536) {
        size_t ncap = w->cap ? 2 * w->cap : 131072;
        char *b = sim_realloc(w->buf, ncap);
        if (!b) {
          rc = SIM_ENOMEM;
          kill(w->pid, SIGKILL);
          continue;
        }
        w->buf = b;
        w->cap = ncap;
      }
      ssize_t got = read(w->fd, w->buf + w->n, w->cap - w->n);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        w->n += (size_t)got;
        if (worker_drain(w, r, o->nmetrics, &interrupted)) rc = SIM_ENOMEM;
        if (interrupted) atomic_store(&sh->stop, 1);
        continue;
      }
      worker_reap(w, sh, idx[p], r, interrupted || scn_interrupted(), wall_limit);
      alive--;
      if (o->stop_on_error) {
        size_t cur = atomic_load(&sh->cur[idx[p]]);
        if (cur && cur <= r->nruns && r->runs[cur - 1].error) atomic_store(&sh->stop, 1);
      }
      if (!interrupted && !scn_interrupted() && !atomic_load(&sh->stop) &&
          atomic_load(&sh->next) < r->nruns && worker_start(s, o, r, sh, ws, jobs, idx[p]) == 0)
        alive++;
    }
  }
  for (int k = 0; k < jobs; k++) free(ws[k].buf);
  munmap(sh, sizeof *sh);
  r->interrupted = interrupted || scn_interrupted();
  return rc;
}
int scn_sweep(const scn_scenario_t *s, const scn_sweep_opts_t *o,
              scn_sweep_res_t **out, char *err, size_t nerr) {
  scn_sweep_res_t *r;
  *out = NULL;
  int rc = scn_sweep_plan(s, o, &r, err, nerr);
  if (rc) return rc;
  rc = o->pool ? o->pool->run(o->pool->arg, s, o, r) : scn_sweep_local(s, o, r);
  if (rc) {
    scn_sweep_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int scn_sweep_plan(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t **out,
                   char *err, size_t nerr) {
  *out = NULL;
  size_t nvar = 0, first = 0;
  sim_sched_t first_sched; /* every run's differs by its seed only */
  scn_sweep_sched(o, o->seed_from, &first_sched);
  int rc = sim_sched_check(&first_sched, err, nerr);
  if (rc) return rc;
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
  size_t nmine = 0, ncells = o->ncells ? o->ncells : 1;
  for (uint64_t i = 0; i < span; i++)
    nmine += i % nsh == o->shard;
  for (size_t c = 0; c < o->ncells; c++)
    if (o->cells[c]->nvariants != s->nvariants) {
      snprintf(err, nerr, "cell %zu of the map has %zu variants, not %zu", c,
               o->cells[c]->nvariants, s->nvariants);
      free(r);
      return SIM_EINVAL;
    }
  size_t ntotal = nmine * nvar * ncells;
  r->runs = sim_calloc(ntotal ? ntotal : 1, sizeof *r->runs);
  if (!r->runs) {
    free(r);
    return SIM_ENOMEM;
  }
  for (size_t c = 0; c < ncells; c++)
    for (uint64_t i = 0; i < span; i++) {
      if (i % nsh != o->shard) continue;
      for (size_t v = 0; v < nvar; v++) {
        scn_sweep_run_t *run = &r->runs[r->nruns++];
        run->seed = o->seed_from + i;
        run->variant = first + v;
        run->cell = c;
      }
    }
  *out = r;
  return 0;
}

void scn_sweep_free(scn_sweep_res_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nruns; i++) {
    free(r->runs[i].error);
    free(r->runs[i].failed);
    free(r->runs[i].values);
  }
  free(r->runs);
  free(r);
}

void scn_sweep_tally(const scn_sweep_res_t *r, size_t variant, scn_sweep_tally_t *t) {
  scn_sweep_tally_cell(r, SIZE_MAX, variant, t);
}

void scn_sweep_tally_cell(const scn_sweep_res_t *r, size_t cell, size_t variant,
                          scn_sweep_tally_t *t) {
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < r->nruns; i++) {
    const scn_sweep_run_t *run = &r->runs[i];
    if (run->variant != variant || (cell != SIZE_MAX && run->cell != cell)) continue;
    if (run->error && !t->first_error) t->first_error = run;
    if (run->crashed && !t->first_crash) t->first_crash = run;
    if (!run->ran) continue;
    t->crashed += run->crashed != 0;
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
                     const char *path, const scn_sweep_logio_t *io, scn_sweep_replay_t *out) {
  scn_run_opts_t ro;
  memset(out, 0, sizeof *out);
  out->rec.seed = out->rep.seed = run->seed;
  out->rec.variant = out->rep.variant = run->variant;
  scn_sweep_run_opts(s, o, run->seed, run->variant, &ro);
  FILE *f = NULL;
  if (io) {
    f = io->open(io->arg, path);
    if (!f) {
      out->log_failed = 1;
      out->rec.error = sim_strdup("cannot write the decision log");
      return out->rec.error ? 0 : SIM_ENOMEM;
    }
    ro.decision_log_file = f;
  } else {
    ro.decision_log = path;
  }
  int rc = run_one(s, NULL, &ro, &out->rec);
  if (f && io->close(io->arg, f, rc >= 0 && out->rec.ran) && rc >= 0) {
    out->log_failed = 1;
    free(out->rec.error);
    out->rec.error = sim_strdup("cannot write the decision log");
    return out->rec.error ? 0 : SIM_ENOMEM;
  }
  if (rc >= 0) {
    scn_sweep_run_opts(s, o, run->seed, run->variant, &ro);
    ro.sched = (sim_sched_t){.kind = SIM_SCHED_REPLAY, .file = path};
    rc = run_one(s, NULL, &ro, &out->rep);
  }
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
  free(p->rec.failed);
  free(p->rep.failed);
  memset(p, 0, sizeof *p);
}
