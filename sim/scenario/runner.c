/*
 * storesim scenario layer: the runner.
 *
 * For each variant: one fresh world from the same seed (the model derives
 * per-component streams from it with sim_rng_init, so variants see common
 * random numbers), model->create with the variant's config and fixes, the
 * run to the duration in slices (between slices the host-memory guard is
 * checked), model->finish, then the results are copied out of the world
 * (metric summaries, detector reports, trace hash) and the world destroyed.
 * Expectations are evaluated on the copies.
 *
 * Variant states:
 *   NOT_RUN -> RUNNING    [run_variant: world and model created]
 *   RUNNING -> DONE       duration reached, everything finished, or a hang
 *                         (a hang is a finding, not an error)
 *   RUNNING -> INCOMPLETE interrupted (SIGINT, SIGTERM, SIGHUP), a limit, replay divergence
 *   DONE/INCOMPLETE -> EVALUATED [eval_variant]
 * After an interrupt the remaining variants stay NOT_RUN.
 *
 * Variants are independent worlds, so with opts.jobs > 1 they run at the
 * same time, one host thread each (up to jobs), and the result is the same
 * as one after another: each variant's diagnostics and status go to its own
 * slot and are merged in variant order once all have finished. Runs that
 * write one shared stream (trace, decision log) or hand worlds to a caller
 * (world_done) stay sequential; progress calls are serialised.
 *
 * Global state: only the interrupt flag (the signal that set it), the kill
 * hook and the world being run, which the signal handler needs
 * (async-signal-safe sim_world_interrupt).
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "storesim/alloc.h"
#include "storesim/detect.h"
#include "storesim/metrics.h"
#include "storesim/scenario.h"
#include "storesim/trace.h"

static volatile sig_atomic_t g_interrupted;
/* The world running on this host thread (sweeps run several at once; a
 * Ctrl-C that lands on another thread is seen through g_interrupted at the
 * next slice). */
static _Thread_local sim_world_t *volatile g_world;

static void (*volatile g_on_kill)(void);

/* SIGINT, SIGTERM, SIGHUP. The first interrupts the running world; a second
 * calls the kill hook (async-signal-safe: it removes temporary files) and
 * dies by the signal. The handler stays installed, so the signal is blocked
 * while it runs and the raise() below is delivered, with the default action,
 * when it returns. */
static void on_sigint(int sig) {
  sim_world_t *w = g_world;
  if (g_interrupted) {
    void (*fn)(void) = g_on_kill;
    if (fn) fn();
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  g_interrupted = sig;
  if (w) sim_world_interrupt(w);
}

void scn_interrupt_install(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&sa.sa_mask, sigs[i]);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    /* SIGHUP ignored at start (nohup) stays ignored; SIGINT is taken even
     * when ignored (a script's `cmd &`), so `kill -INT` stops a background
     * run as Ctrl-C stops a foreground one. */
    if (sigs[i] == SIGHUP && !sigaction(SIGHUP, NULL, &old) && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
}

void scn_interrupt_on_kill(void (*fn)(void)) { g_on_kill = fn; }

int scn_interrupt_signal(void) { return g_interrupted; }

int scn_interrupted(void) { return g_interrupted != 0; }

/* ---- the wall-clock limit of one run (limits.wall_time) ----
 * A timer of this host thread's run sends SIGALRM to this thread when the
 * run has taken limits.wall_time of host time: the handler interrupts the
 * world, which stops at its next step, and the run ends as limited. A run
 * that does not come back to the kernel (a model loop that never blocks)
 * gets a second expiry 10 s later: an internal error, with the replay
 * command, exit 3. The limit reads the host clock, so it is the one thing
 * here that is not deterministic; it changes nothing unless it fires. */
static _Thread_local volatile sig_atomic_t tl_wall_fired;

static void on_wall(int sig) {
  (void)sig;
  if (!tl_wall_fired) {
    sim_world_t *w = g_world;
    tl_wall_fired = 1;
    if (w) sim_world_interrupt(w);
    return;
  }
  scn_crash_fatal("the run did not stop within 10 s of its wall-clock limit (limits.wall_time)");
}

/* Arms the limit for the run on this thread (0: none); *t for wall_disarm. */
static int wall_arm(sim_time_t limit, timer_t *t) {
  tl_wall_fired = 0;
  if (limit <= 0) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_wall;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGALRM;
  ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  if (timer_create(CLOCK_MONOTONIC, &ev, t)) return 0;
  struct itimerspec its = {.it_value = {.tv_sec = limit / SIM_SEC, .tv_nsec = limit % SIM_SEC},
                           .it_interval = {.tv_sec = 10}};
  timer_settime(*t, 0, &its, NULL);
  return 1;
}

/* Resident set size of this process in bytes (0 if unknown), read from
 * statm, an open /proc/self/statm or -1. The file is opened once per run and
 * read again from offset 0 at every slice: sweeps run thousands of short
 * runs, and an open per slice was most of their system time. */
static uint64_t host_rss(int statm) {
  char buf[128];
  unsigned long long size = 0, rss = 0;
  if (statm < 0) return 0;
  ssize_t n = pread(statm, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  if (sscanf(buf, "%llu %llu", &size, &rss) != 2) rss = 0;
  return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int worse(int a, int b) { return a > b ? a : b; }

/* The host-memory guard inside the kernel (sim_world_opts_t.guard): every
 * few thousand spawns, so that a burst of threads at one instant is stopped
 * before the host suffers, not at the next slice. */
typedef struct guard {
  int statm;
  uint64_t limit;
} guard_t;
static uint64_t host_rss(int statm);
static int host_guard(void *arg, char *msg, size_t n) {
  const guard_t *g = arg;
  uint64_t rss = host_rss(g->statm);
  if (rss <= g->limit) return 0;
  char a[64], b[64];
  scn_format_size((double)rss, a, sizeof a);
  scn_format_size((double)g->limit, b, sizeof b);
  snprintf(msg, n,
           "host memory guard: storesim uses %s, more than limits.host_memory %s "
           "(raise it with --set limits.host_memory=SIZE)",
           a, b);
  return 1;
}

/* Fault injector for the tests of crash handling (tests/test_crash.c):
 * STORESIM_TEST_CRASH=VARIANT:SEED:HOW makes that run crash as it starts,
 * HOW being segv (SIGSEGV), abort (a kernel assertion) or hang (a run that
 * never ends: only a wall-clock limit stops it). */
static void test_crash(const char *variant, uint64_t seed) {
  const char *e = getenv("STORESIM_TEST_CRASH");
  char v[64], how[16];
  unsigned long long sd;
  if (!e || sscanf(e, "%63[^:]:%llu:%15s", v, &sd, how) != 3) return;
  if (strcmp(v, variant) || sd != seed) return;
  if (!strcmp(how, "segv")) raise(SIGSEGV);
  if (!strcmp(how, "abort")) abort();
  if (!strcmp(how, "hang"))
    for (;;) pause();
}

/* ---- evaluation environment ---------------------------------------------------------- */
typedef struct env {
  const scn_scenario_t *s;
  const scn_variant_t *v;
  const scn_variant_res_t *vr;
  scn_world_cfg_t world; /* with command-line overrides */
} env_t;

const scn_metric_res_t *scn_metric_res_find(const scn_variant_res_t *vr, const char *name) {
  for (size_t i = 0; i < vr->nmetrics; i++)
    if (!strcmp(vr->metrics[i].name, name)) return &vr->metrics[i];
  return NULL;
}

double scn_metric_stat(const scn_metric_res_t *m, scn_stat_t s) {
  const sim_metric_summary_t *x = &m->sum;
  switch (s) {
  case SCN_ST_MIN: return x->min;
  case SCN_ST_MAX: return x->max;
  case SCN_ST_MEAN: return x->mean;
  case SCN_ST_TWMEAN: return x->twmean;
  case SCN_ST_FINAL: return x->final;
  case SCN_ST_P50: return x->p50;
  case SCN_ST_P95: return x->p95;
  case SCN_ST_P99: return x->p99;
  default: return (double)x->count;
  }
}

int scn_stat_check(const char *name, sim_metric_kind_t kind, scn_stat_t s, char *err, size_t nerr) {
  if (kind == SIM_M_SAMPLE || (s != SCN_ST_P50 && s != SCN_ST_P95 && s != SCN_ST_P99)) return 0;
  snprintf(err, nerr,
           "%s.%s: percentiles exist for sample metrics only; '%s' is a %s "
           "(use min max mean twmean final count)",
           name, scn_stat_name(s), name, kind == SIM_M_GAUGE ? "gauge" : "counter");
  return -1;
}

static int env_metric(void *arg, const char *name, scn_stat_t stat, scn_qty_t *q, char *err,
                      size_t nerr) {
  const env_t *e = arg;
  const scn_variant_res_t *vr = e->vr;
  for (size_t i = 0; i < vr->nmetrics; i++) {
    const scn_metric_res_t *m = &vr->metrics[i];
    if (strcmp(m->name, name)) continue;
    double v;
    if (m->kind == SIM_M_SAMPLE && m->sum.count == 0 && stat != SCN_ST_COUNT) {
      /* no sample: its min, max, mean and percentiles are undefined, not 0
       * (an upper bound on them would pass without measuring anything) */
      snprintf(err, nerr,
               "%s.%s: no sample was taken in this run, so it is undefined "
               "(%s.count is 0)",
               name, scn_stat_name(stat), name);
      return -1;
    }
    if (scn_stat_check(name, m->kind, stat, err, nerr)) return -1;
    v = scn_metric_stat(m, stat);
    if (stat == SCN_ST_COUNT) {
      *q = (scn_qty_t){v, 0, 0};
      return 0;
    }
    double scale;
    scn_unit_dim(m->unit, &q->t, &q->b, &scale);
    q->v = v * scale;
    return 0;
  }
  const char **names = sim_malloc((vr->nmetrics + 1) * sizeof *names);
  char sug[400] = "";
  if (names) {
    for (size_t i = 0; i < vr->nmetrics; i++) names[i] = vr->metrics[i].name;
    scn_suggest(name, names, vr->nmetrics, 1, sug, sizeof sug);
    free(names);
  }
  if (vr->nmetrics)
    snprintf(err, nerr, "unknown metric '%s' (nearest: %s; `storesim run --json` lists all)",
             name, sug);
  else
    snprintf(err, nerr, "unknown metric '%s' (the model registered no metrics)", name);
  return -1;
}

static int env_param(void *arg, const char *path, scn_qty_t *q, char *err, size_t nerr) {
  const env_t *e = arg;
  return scn_param_qty(e->s, e->v, &e->world, path, q, err, nerr);
}

static int env_never(void *arg, const char *name) {
  const env_t *e = arg;
  return scn_metric_never(e->s->model, name);
}

static void eval_variant(const scn_scenario_t *s, const scn_variant_t *v, scn_variant_res_t *vr,
                         const scn_world_cfg_t *world, scn_result_t *r) {
  env_t e = {s, v, vr, *world};
  int never = 0;
  scn_eval_env_t env = {.metric = env_metric,
                        .param = env_param,
                        .arg = &e,
                        .never = env_never,
                        .measured_never = &never};
  vr->expects = sim_calloc(v->nexpects ? v->nexpects : 1, sizeof *vr->expects);
  if (!vr->expects) {
    scn_diag_error(&r->diag, s->file, 0, 0, "variant %s: out of host memory", v->name);
    r->status = worse(r->status, 3);
    return;
  }
  vr->nexpects = v->nexpects;
  for (size_t i = 0; i < v->nexpects; i++) {
    scn_expect_res_t *x = &vr->expects[i];
    char detail[1024], err[600];
    int truth = 0;
    x->x = &v->expects[i];
    /* measured and shown, not judged: the scenario says why it cannot hold live */
    int judged = !(vr->live && v->expects[i].not_live);
    if (scn_expr_eval(v->expects[i].expr, &env, &truth, &x->measured, detail, sizeof detail, err,
                      sizeof err)) {
      if (!judged) { /* e.g. no sample in a shortened live run: not judged either */
        x->status = SCN_X_NOT_LIVE;
        x->measured.v = NAN;
        x->detail = sim_strdup(err);
        if (!x->detail) r->status = worse(r->status, 3);
        vr->nnot_live++;
        continue;
      }
      x->status = SCN_X_ERROR;
      x->measured.v = NAN;
      x->detail = sim_strdup(err);
      if (!x->detail) r->status = worse(r->status, 3);
      vr->nerror++;
      if (vr->incomplete) continue; /* not checked: the stop was said already, and a value
                                       it left undefined is no second error */
      scn_diag_error(&r->diag, s->file, v->expects[i].line, v->expects[i].col,
                     "expect (%s): %s", v->name, err);
      r->status = worse(r->status, 2);
      continue;
    }
    x->status = !judged ? SCN_X_NOT_LIVE : truth ? SCN_X_PASS : SCN_X_FAIL;
    if (never) x->never = 1, x->measured.v = NAN; /* "never", not -1 */
    x->detail = sim_strdup(detail);
    if (!x->detail) {
      scn_diag_error(&r->diag, s->file, 0, 0, "variant %s: out of host memory", v->name);
      r->status = worse(r->status, 3);
    }
    if (!judged) vr->nnot_live++;
    else if (truth) vr->npass++;
    else vr->nfail++;
  }
}

/* ---- one variant ------------------------------------------------------------------------ */
/* ---- detector counters ----------------------------------------------------------------- */

static void detect_on_report(const sim_report_t *r, void *arg) {
  scn_detect_t *d = arg;
  if ((unsigned)r->kind < 6) sim_gauge_set(d->m[r->kind], ++d->n[r->kind]);
}

void scn_detect_attach(sim_world_t *w, scn_detect_t *d) {
  static const char *const names[6] = {"detect.deadlocks", "detect.hangs", "detect.lock_order",
                                       "detect.misuse",    "detect.spins", "detect.model_reports"};
  memset(d, 0, sizeof *d);
  for (int k = 0; k < 6; k++) d->m[k] = sim_metric(w, names[k], SIM_M_GAUGE, "");
  /* reports filed before (while the model was created) count too */
  for (size_t i = 0; i < sim_world_nreports(w); i++) detect_on_report(sim_world_report(w, i), d);
  sim_world_on_report(w, detect_on_report, d);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

/* One variant's run: what it was asked for and what it has made so far. */
typedef struct vrun {
  const scn_scenario_t *s;
  const scn_variant_t *v;
  const scn_run_opts_t *o;
  scn_variant_res_t *vr; /* filled in */
  scn_result_t *r;       /* diagnostics and status */
  scn_world_cfg_t world; /* the variant's world with the options' overrides */
  guard_t guard;         /* the host-memory guard, read by the world */
  sim_world_t *w;
  char err[512];
} vrun_t;

/* The world's options, from the variant's world section and the run options. */
static void world_opts(vrun_t *x, sim_world_opts_t *wo) {
  const scn_world_cfg_t *world = &x->world;
  const scn_run_opts_t *o = x->o;
  sim_world_opts_init(wo);
  wo->seed = (uint64_t)world->seed;
  wo->sched_spec = o->sched;
  wo->ncores = (int)world->cores;
  wo->stack_size = (size_t)world->stack_size;
  wo->machine_mem_limit = (size_t)world->machine_memory;
  wo->sample_interval = x->vr->sample_interval;
  wo->cpu_quantum = world->cpu_quantum;
  wo->spin_window = world->spin_window;
  wo->max_threads = (uint64_t)world->max_threads;
  wo->max_events = (uint64_t)world->max_events;
  wo->guard = host_guard;
  wo->guard_arg = &x->guard;
  wo->max_instant_steps = (uint64_t)world->max_instant_steps;
  wo->trace_jsonl = o->trace;
  wo->keep_trace = o->keep_trace;
  wo->trace_memory = o->trace_memory;
  wo->decision_log = o->decision_log;
  wo->decision_log_file = o->decision_log_file;
  wo->backend = o->backend;
  if (o->time_scale > 0) wo->time_scale = o->time_scale;
}

/* Threads backend, --hold-on-deadlock: the deadlocked threads are still
 * there (blocked in pthread_mutex_lock) until the world is destroyed; wait
 * for a Ctrl-C so that a debugger can look at them. */
static void hold_on_deadlock(vrun_t *x) {
  int found = 0;
  for (size_t i = 0; i < sim_world_nreports(x->w); i++)
    found |= sim_world_report(x->w, i)->kind == SIM_R_DEADLOCK;
  if (!found || !x->o->hold_on_deadlock || !sim_world_live(x->w)) return;
  fprintf(stderr,
          "storesim: variant %s deadlocked on real threads; they stay blocked.\n"
          "storesim: attach gdb -p %ld (then `thread apply all bt`); Ctrl-C ends\n",
          x->v->name, (long)getpid());
  fflush(stderr);
  while (!g_interrupted) pause();
}

/* The line that opens the variant in a JSONL trace. */
static void trace_header(const vrun_t *x) {
  FILE *f = x->o->trace;
  if (!f) return;
  fputs("{\"run\":", f);
  json_str(f, x->s->id);
  fputs(",\"variant\":", f);
  json_str(f, x->v->name);
  fprintf(f, ",\"seed\":%llu}\n", (unsigned long long)x->vr->seed);
}

/* Runs the world to the end in slices, so that the host-memory guard is looked
 * at regularly, under the wall-clock limit. Returns sim_world_run's last code. */
static int run_slices(vrun_t *x) {
  const scn_run_opts_t *o = x->o;
  scn_variant_res_t *vr = x->vr;
  sim_world_t *w = x->w;
  sim_time_t duration = x->world.duration;
  sim_time_t step = duration / 64 > 0 ? duration / 64 : duration, t = 0;
  g_world = w;
  if (g_interrupted) sim_world_interrupt(w);
  int rc = 0;
  timer_t wall_timer;
  int wall_on = wall_arm(x->world.wall_time, &wall_timer);
  test_crash(x->v->name, vr->seed);
  while (t < duration) {
    t = duration - t > step ? t + step : duration;
    if (g_interrupted) sim_world_interrupt(w);
    rc = sim_world_run(w, t);
    if (o->progress)
      o->progress(o->progress_arg, x->s, x->v, sim_now(w), duration, sim_world_steps(w), 0);
    if (rc) break;
    if (host_guard(&x->guard, x->err, sizeof x->err)) { /* the same check as inside a burst */
      vr->error = sim_strdup(x->err);
      scn_diag_error(&x->r->diag, x->s->file, 0, 0, "variant %s: run stopped at t=%.3fs: %s",
                     x->v->name, (double)sim_now(w) / 1e9, x->err);
      vr->incomplete = 1;
      x->r->status = worse(x->r->status, 2);
      break;
    }
  }
  if (wall_on) timer_delete(wall_timer);
  g_world = NULL;
  if (o->progress)
    o->progress(o->progress_arg, x->s, x->v, sim_now(w), duration, sim_world_steps(w), 1);
  return rc;
}

/* Records how the run ended (rc): complete, a hang, interrupted, a limit, or an error. */
static void note_end(vrun_t *x, int rc) {
  scn_variant_res_t *vr = x->vr;
  scn_result_t *r = x->r;
  const char *file = x->s->file, *name = x->v->name;
  char *err = x->err;
  size_t nerr = sizeof x->err;
  vr->run_rc = rc;
  vr->end_time = sim_now(x->w);
  switch (rc) {
  case 0:
  case SIM_EHANG:
    break;
  case SIM_EINTR:
    if (tl_wall_fired && !g_interrupted) { /* the wall-clock limit, not a Ctrl-C */
      char a[64];
      scn_format_duration(x->world.wall_time, a, sizeof a);
      snprintf(err, nerr,
               "wall-clock limit: the run took more than %s of host time "
               "(limits.wall_time; raise it with --set limits.wall_time=..., 0 for none)",
               a);
      vr->error = strdup(err);
      vr->incomplete = 1;
      scn_diag_error(&r->diag, file, 0, 0, "variant %s: run stopped at t=%.3fs: %s", name,
                     (double)vr->end_time / 1e9, err);
      r->status = worse(r->status, 2);
      break;
    }
    vr->incomplete = 1;
    r->interrupted = 1;
    vr->error = sim_strdup("interrupted");
    break;
  case SIM_ELIMIT:
  case SIM_EREPLAY:
    vr->incomplete = 1;
    snprintf(err, nerr, "%s: %s", sim_strerror(rc),
             sim_world_last_error(x->w) ? sim_world_last_error(x->w) : "");
    vr->error = sim_strdup(err);
    scn_diag_error(&r->diag, file, 0, 0, "variant %s: run stopped at t=%.3fs: %s", name,
                   (double)vr->end_time / 1e9, err);
    r->status = worse(r->status, 2);
    break;
  default:
    vr->incomplete = 1;
    vr->error = sim_strdup(sim_strerror(rc));
    r->status = worse(r->status, 3);
  }
  if (vr->incomplete && !vr->error) {
    scn_diag_error(&r->diag, file, 0, 0, "variant %s: out of host memory", name);
    r->status = worse(r->status, 3);
  }
}

/* Copies the world's metrics (summaries, and series if kept) into vr.
 * Returns 0, or -1 when out of host memory (vr holds what was copied). */
static int copy_metrics(vrun_t *x) {
  scn_variant_res_t *vr = x->vr;
  size_t nm = sim_world_nmetrics(x->w);
  vr->metrics = sim_calloc(nm ? nm : 1, sizeof *vr->metrics);
  if (!vr->metrics) return -1;
  for (size_t i = 0; i < nm; i++) {
    sim_metric_t *m = sim_world_metric(x->w, i);
    scn_metric_res_t *mr = &vr->metrics[vr->nmetrics++];
    mr->name = sim_strdup(sim_metric_name(m));
    mr->unit = sim_strdup(sim_metric_unit(m) ? sim_metric_unit(m) : "");
    mr->kind = sim_metric_kind(m);
    sim_metric_summarize(m, &mr->sum);
    if (!mr->name || !mr->unit) return -1;
    if (x->o->keep_series) {
      size_t n = 0;
      const double *ser = sim_metric_series(m, &n);
      if (n) {
        mr->series = sim_malloc(n * sizeof *mr->series);
        if (!mr->series) return -1;
        memcpy(mr->series, ser, n * sizeof *ser);
        mr->nseries = n;
      }
    }
  }
  return 0;
}

/* Copies the world's detector reports into vr.
 * Returns 0, or -1 when out of host memory (vr holds what was copied). */
static int copy_reports(vrun_t *x) {
  scn_variant_res_t *vr = x->vr;
  size_t nr = sim_world_nreports(x->w);
  vr->reports = sim_calloc(nr ? nr : 1, sizeof *vr->reports);
  if (!vr->reports) return -1;
  for (size_t i = 0; i < nr; i++) {
    const sim_report_t *rep = sim_world_report(x->w, i);
    scn_report_res_t *rr = &vr->reports[vr->nreports++];
    rr->kind = sim_strdup(rep->name ? rep->name : sim_report_kind_name(rep->kind));
    rr->time = rep->time;
    rr->text = sim_strdup(rep->text ? rep->text : "");
    rr->dot = rep->dot ? sim_strdup(rep->dot) : NULL;
    if (!rr->kind || !rr->text || (rep->dot && !rr->dot)) return -1;
  }
  return 0;
}

/* Runs variant v of s into vr: creates the world and the model, runs, copies
 * the results out and evaluates the expectations. Problems go to r's
 * diagnostics and status. */
static void run_variant(const scn_scenario_t *s, const scn_variant_t *v, const scn_run_opts_t *o,
                        scn_variant_res_t *vr, scn_result_t *r) {
  scn_detect_t detect;
  sim_world_opts_t wo;
  void *inst = NULL;
  vrun_t x = {.s = s, .v = v, .o = o, .vr = vr, .r = r, .world = v->world};
  int rc;

  if (o->have_seed) x.world.seed = (int64_t)o->seed;
  if (o->duration > 0) x.world.duration = o->duration;
  vr->v = v;
  vr->seed = (uint64_t)x.world.seed;
  vr->duration = x.world.duration;
  vr->sample_interval = x.world.sample_interval ? x.world.sample_interval : x.world.duration / 500;
  if (vr->sample_interval <= 0) vr->sample_interval = 1;
  char sched[1024]; /* the crash message has room for less */
  sim_sched_format(&o->sched, sched, sizeof sched);
  scn_crash_ctx_t crash = {.id = s->id,
                           .file = s->file,
                           .variant = v->name,
                           .seed = vr->seed,
                           .sched = sched,
                           .duration = o->duration};
  scn_crash_enter(&crash);

  /* the world */
  int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  x.guard = (guard_t){.statm = statm, .limit = x.world.host_memory};
  world_opts(&x, &wo);
  trace_header(&x);
  x.err[0] = 0;
  rc = sim_world_create(&wo, &x.w, x.err, sizeof x.err);
  if (rc) {
    scn_diag_error(&r->diag, s->file, 0, 0, "variant %s: cannot create the world: %s", v->name,
                   x.err[0] ? x.err : sim_strerror(rc));
    r->status = worse(r->status, rc == SIM_EINVAL ? 2 : 3);
    if (statm >= 0) close(statm);
    scn_crash_leave();
    return;
  }
  /* the model, its metrics also under their Performance Monitor counters */
  scn_counters_attach(x.w, s->model);
  x.err[0] = 0;
  inst =
      s->model->create(s->model, x.w, v->cfg, v->fixes, s->faults, s->nfaults, x.err, sizeof x.err);
  if (!inst) {
    scn_diag_error(&r->diag, s->file, 0, 0, "variant %s: model '%s' cannot start: %s", v->name,
                   s->model->name, x.err[0] ? x.err : "no reason given");
    /* models say "out of host memory" for that (param.h): internal, not input */
    r->status = worse(r->status, strstr(x.err, "out of host memory") ? 3 : 2);
    goto done;
  }
  vr->ran = 1;
  scn_detect_attach(x.w, &detect);

  /* the run */
  rc = run_slices(&x);
  note_end(&x, rc);
  hold_on_deadlock(&x);
  s->model->finish(inst);

  /* copy results out of the world */
  vr->trace_hash = sim_world_trace_hash(x.w);
  vr->live = sim_world_live(x.w);
  vr->trace_count = sim_world_trace_count(x.w);
  vr->steps = sim_world_steps(x.w);
  if (copy_metrics(&x) || copy_reports(&x)) goto oom;
  eval_variant(s, v, vr, &x.world, r);
  if (o->world_done) o->world_done(x.w, v, vr, o->world_done_arg);
  goto done;
oom:
  scn_diag_error(&r->diag, s->file, 0, 0, "variant %s: out of host memory", v->name);
  r->status = worse(r->status, 3);
done:
  if (inst) s->model->destroy(inst);
  sim_world_destroy(x.w);
  if (statm >= 0) close(statm);
  scn_crash_leave();
}

/* ---- the scenario --------------------------------------------------------------------------- */
static int verdict_of(const scn_result_t *r, const char *name) {
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (!vr->v || strcmp(vr->v->name, name)) continue;
    if (!vr->ran || vr->incomplete || vr->nexpects == (size_t)vr->nnot_live) return -1;
    return vr->nfail == 0 && vr->nerror == 0;
  }
  return -1;
}

/* Whether the run options select variant v. */
static int selected(const scn_run_opts_t *o, const scn_variant_t *v) {
  return !o->variant || !strcmp(o->variant, v->name);
}

/* The selected variants, on up to `jobs` host threads (see the top of the
 * file); jobs <= 1 runs them one after another on this thread. */
typedef struct par {
  const scn_scenario_t *s;
  const scn_run_opts_t *o; /* the caller's, with progress serialised */
  scn_result_t *r;
  scn_result_t *slot;   /* per variant: diag, status, interrupted */
  pthread_mutex_t lock; /* next, and progress calls */
  size_t next;
  void (*progress)(void *, const scn_scenario_t *, const scn_variant_t *, sim_time_t, sim_time_t,
                   uint64_t, int);
  void *progress_arg;
} par_t;

static void par_progress(void *arg, const scn_scenario_t *s, const scn_variant_t *v, sim_time_t now,
                         sim_time_t duration, uint64_t steps, int done) {
  par_t *p = arg;
  pthread_mutex_lock(&p->lock);
  p->progress(p->progress_arg, s, v, now, duration, steps, done);
  pthread_mutex_unlock(&p->lock);
}

static void *par_worker(void *arg) {
  par_t *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    size_t i = p->next++;
    pthread_mutex_unlock(&p->lock);
    if (i >= p->s->nvariants) return NULL;
    const scn_variant_t *v = &p->s->variants[i];
    if (!selected(p->o, v)) continue;
    if (g_interrupted) {
      p->slot[i].interrupted = 1; /* this one and the rest stay NOT_RUN */
      continue;
    }
    run_variant(p->s, v, p->o, &p->r->variants[i], &p->slot[i]);
  }
}

static void run_variants(const scn_scenario_t *s, const scn_run_opts_t *o, size_t jobs,
                         scn_result_t *r) {
  par_t p = {.s = s, .r = r, .progress = o->progress, .progress_arg = o->progress_arg};
  scn_run_opts_t po = *o;
  if (jobs > 1 && o->progress) {
    po.progress = par_progress;
    po.progress_arg = &p;
  }
  p.o = &po;
  p.slot = sim_calloc(s->nvariants ? s->nvariants : 1, sizeof *p.slot);
  pthread_t *th = jobs > 1 ? sim_calloc(jobs, sizeof *th) : NULL;
  if (!p.slot || (jobs > 1 && !th)) {
    scn_diag_error(&r->diag, s->file, 0, 0, "out of host memory");
    r->status = worse(r->status, 3);
    free(p.slot);
    free(th);
    return;
  }
  for (size_t i = 0; i < s->nvariants; i++) scn_diag_init(&p.slot[i].diag);
  pthread_mutex_init(&p.lock, NULL);
  size_t nth = 0;
  while (nth < jobs && jobs > 1 && pthread_create(&th[nth], NULL, par_worker, &p) == 0) nth++;
  if (nth == 0) par_worker(&p); /* one job, or no thread to be had: here */
  for (size_t k = 0; k < nth; k++) pthread_join(th[k], NULL);
  pthread_mutex_destroy(&p.lock);
  for (size_t i = 0; i < s->nvariants; i++) {
    scn_diag_merge(&r->diag, &p.slot[i].diag);
    scn_diag_free(&p.slot[i].diag);
    r->status = worse(r->status, p.slot[i].status);
    if (p.slot[i].interrupted) r->interrupted = 1;
  }
  free(p.slot);
  free(th);
}

scn_result_t *scn_run(const scn_scenario_t *s, const scn_run_opts_t *o) {
  scn_run_opts_t def;
  scn_result_t *r = sim_calloc(1, sizeof *r);
  if (!r) return NULL;
  if (!o) {
    memset(&def, 0, sizeof def);
    o = &def;
  }
  scn_diag_init(&r->diag);
  r->s = s;
  r->variants = sim_calloc(s->nvariants ? s->nvariants : 1, sizeof *r->variants);
  if (!r->variants) {
    free(r);
    return NULL;
  }
  r->nvariants = s->nvariants;
  int bad_variant = o->variant && !scn_variant_find(s, o->variant);
  if (bad_variant) {
    const char *names[256];
    size_t n = 0;
    char sug[300];
    for (size_t i = 0; i < s->nvariants && n < 256; i++) names[n++] = s->variants[i].name;
    scn_suggest(o->variant, names, n, 1, sug, sizeof sug);
    scn_diag_error(&r->diag, s->file, 0, 0, "--variant %s: no such variant (nearest: %s)",
                   o->variant, sug);
    r->status = 2;
  }
  for (size_t i = 0; i < s->nvariants; i++) r->variants[i].v = &s->variants[i];
  size_t nsel = 0;
  for (size_t i = 0; i < s->nvariants; i++) nsel += selected(o, &s->variants[i]);
  size_t jobs = o->jobs > 1 ? (size_t)o->jobs : 1;
  if (jobs > nsel) jobs = nsel;
  if (o->trace || o->decision_log || o->decision_log_file || o->world_done) jobs = 1; /* one stream, one caller */
  if (o->backend != SIM_BACKEND_VIRTUAL) jobs = 1; /* live: one timing at a time */
  if (!bad_variant) run_variants(s, o, jobs, r);
  r->reproduced_without_fix = verdict_of(r, "without_fix");
  r->absent_with_fix = verdict_of(r, "with_fix");
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].nfail) r->status = worse(r->status, 1);
  return r;
}

void scn_result_free(scn_result_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nvariants; i++) {
    scn_variant_res_t *vr = &r->variants[i];
    for (size_t j = 0; j < vr->nmetrics; j++) {
      free(vr->metrics[j].name);
      free(vr->metrics[j].unit);
      free(vr->metrics[j].series);
    }
    free(vr->metrics);
    for (size_t j = 0; j < vr->nexpects; j++) free(vr->expects[j].detail);
    free(vr->expects);
    for (size_t j = 0; j < vr->nreports; j++) {
      free(vr->reports[j].kind);
      free(vr->reports[j].text);
      free(vr->reports[j].dot);
    }
    free(vr->reports);
    free(vr->error);
  }
  free(r->variants);
  scn_diag_free(&r->diag);
  free(r);
}

void scn_verdict_text(const scn_result_t *r, char *buf, size_t n) {
  static const char *const a[] = {"without fix: not checked", "NOT reproduced without fix",
                                  "reproduced without fix"};
  static const char *const b[] = {"with fix: not checked", "NOT absent with fix",
                                  "absent with fix"};
  snprintf(buf, n, "%s; %s%s", a[r->reproduced_without_fix + 1], b[r->absent_with_fix + 1],
           r->interrupted ? " (INCOMPLETE: interrupted)" : "");
}

void scn_fixes_text(const scn_scenario_t *s, const scn_variant_t *v, const char *sep,
                    const char *none, char *buf, size_t n) {
  buf[0] = 0;
  for (size_t i = 0; s->model->fixes && s->model->fixes[i] && i < 64; i++)
    if (v->fixes & ((uint64_t)1 << i)) {
      size_t l = strlen(buf);
      snprintf(buf + l, n - l, "%s%s", l ? sep : "", s->model->fixes[i]);
    }
  if (!buf[0]) snprintf(buf, n, "%s", none);
}
