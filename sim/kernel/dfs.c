/*
 * The dfs policy: one run of a stateless depth-first search over schedules
 * (dfs.h says what it records; the search is sim/scenario/dfs.c).
 *
 * Decisions: the first run->nprefix ones take the thread the prefix names;
 * after them a scheduling point goes on with the running thread and a pick
 * takes the oldest READY thread that is not asleep. A decision is the same
 * event whether recorded here or replayed: every call of pick (rn > 1) and
 * point (rn > 0) answers, so the run's decision log replays it.
 *
 * Footprints come from the world's trace records, which this policy sees as
 * they are made (w->trace_tap; the hash is the same with or without). A record is the step of the thread
 * last dispatched (its "run" record), or of the thread that went on at a
 * scheduling point. The chosen thread's step is its records from the decision
 * until it blocks, finishes or the next decision comes; its footprint is the
 * objects those records name (see touched()) plus the object of the operation
 * it was chosen at (a failed trylock or a core handed back at the end of a
 * CPU slice leaves no record of its own). Every record, whoever's, wakes the
 * sleepers whose footprint holds one of its objects.
 *
 * While a thread is asleep it is READY, so no event is carried out and the
 * clock stands still until it wakes or the run ends: steps between a sleeper's
 * decision and now are thread steps at one instant.
 *
 * State: run->pts grows by one per decision; `open` is the decision whose
 * chosen step is still running (its footprint still growing), or none.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "storesim/dfs.h"

typedef struct sleeper {
  uint64_t thread;
  uint32_t *obj;
  uint32_t nobj;
} sleeper_t;

typedef struct dfs_state {
  sim_dfs_run_t *r;
  uint64_t cur;  /* thread whose step the next records are */
  long open;     /* decision whose chosen step is open, or -1 */
  sleeper_t *sl; /* the sleep set now */
  size_t nsl, capsl;
  bool stopped; /* sleep-blocked or diverged: answer without recording */
} dfs_state_t;

/* ---- the run's buffers (dfs.h) ---- */
void sim_dfs_run_reset(sim_dfs_run_t *r) {
  r->npts = r->nids = r->nobjs = 0;
  r->status = SIM_DFS_RAN;
  r->forced_asleep = 0;
  r->why[0] = 0;
}

void sim_dfs_run_free(sim_dfs_run_t *r) {
  free(r->pts);
  free(r->ids);
  free(r->asleep);
  free(r->objs);
  r->pts = NULL;
  r->ids = NULL;
  r->asleep = NULL;
  r->objs = NULL;
  r->cappts = r->capids = r->capobjs = 0;
  sim_dfs_run_reset(r);
}

static void add_obj(sim_dfs_run_t *r, sim_dfs_point_t *p, uint32_t o) {
  for (size_t i = p->fp; i < p->fp + p->nfp; i++)
    if (r->objs[i] == o) return;
  /* the open footprint is always the last one in objs */
  if (r->nobjs == r->capobjs) {
    r->capobjs = r->capobjs ? 2 * r->capobjs : 256;
    r->objs = sim__xrealloc(r->objs, r->capobjs * sizeof *r->objs);
  }
  r->objs[r->nobjs++] = o;
  p->nfp++;
}

/* ---- the policy's row (sched.c) ---- */
int sim__dfs_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  (void)text, (void)out, (void)err, (void)n;
  return 1; /* no text form */
}

int sim__dfs_check(const sim_sched_t *s, char *err, size_t n) {
  if (s->dfs) return 0;
  snprintf(err, n, "bad scheduler: dfs without a search (storesim explore --dfs builds it)");
  return SIM_EINVAL;
}

size_t sim__dfs_format(const sim_sched_t *s, char *buf, size_t n) {
  (void)s;
  return (size_t)snprintf(buf, n, "dfs");
}

static void tap(sim_world_t *w, uint64_t thread, uint32_t kind, uint32_t obj, int64_t arg);

int sim__dfs_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n) {
  (void)err, (void)n;
  dfs_state_t *d = sim__xcalloc(1, sizeof *d);
  d->r = s->dfs;
  d->open = -1;
  sim_dfs_run_reset(d->r);
  w->sched_state = d;
  /* the footprints are read from the records as they are made */
  w->trace_tap = tap;
  w->trace_slow = true;
  return 0;
}

/* The objects record x names for dependence, into o (at most 3); returns how
 * many. Kernel records only: a model's own records (sim_trace_emit) mark
 * events, not shared state (the model keeps that under kernel locks). */
static int touched(sim_world_t *w, const sim_trace_rec_t *x, uint32_t o[3]) {
  uint32_t k = x->kind;
  int n = 0;
  if (k == w->k_lock || k == w->k_unlock || k == w->k_signal || k == w->k_release ||
      k == w->k_acquire || k == w->k_cancel) {
    if (x->obj) o[n++] = x->obj;
  } else if (k == w->k_block) {
    if (x->obj) o[n++] = x->obj;
    /* waits that may carry a deadline arm a timer; a CPU wait takes a core */
    if (x->arg == SIM__W_SLEEP || x->arg == SIM__W_COND || x->arg == SIM__W_SEM ||
        x->arg == SIM__W_CPU_RUN)
      o[n++] = SIM_DFS_OBJ_TIMERS;
    if (x->arg == SIM__W_CPU || x->arg == SIM__W_CPU_RUN) o[n++] = SIM_DFS_OBJ_CPU;
  } else if (k == w->k_burn || k == w->k_cpu) {
    o[n++] = SIM_DFS_OBJ_CPU;
  } else if (k == w->k_spawn) {
    o[n++] = SIM_DFS_OBJ_THREADS;
    if (x->obj) o[n++] = x->obj;
  } else if (k == w->k_exit) {
    o[n++] = SIM_DFS_OBJ_THREADS;
    uint32_t name = x->thread && x->thread <= w->ntname ? w->tname[x->thread - 1] : 0;
    if (name) o[n++] = name; /* what a join waits on */
  } else if (k == w->k_report) {
    o[n++] = SIM_DFS_OBJ_REPORTS;
  }
  return n;
}

static bool fp_has(const uint32_t *fp, size_t n, uint32_t o) {
  for (size_t i = 0; i < n; i++)
    if (fp[i] == o) return true;
  return false;
}

static void sleeper_drop(dfs_state_t *d, size_t i) {
  free(d->sl[i].obj);
  d->sl[i] = d->sl[--d->nsl];
}

static long sleeper_find(const dfs_state_t *d, uint64_t thread) {
  for (size_t i = 0; i < d->nsl; i++)
    if (d->sl[i].thread == thread) return (long)i;
  return -1;
}

static void stop(sim_world_t *w, dfs_state_t *d, int status) {
  d->r->status = status;
  d->stopped = true;
  d->open = -1;
  w->interrupted = 1; /* the run ends at the next step (SIM_EINTR) */
}

/* Every record as it is made (w->trace_tap): the footprint of the open
 * step, sleepers woken; an asleep thread dispatched without a decision (it
 * was the only READY one) makes the run redundant. */
static void tap(sim_world_t *w, uint64_t thread, uint32_t kind, uint32_t obj, int64_t arg) {
  dfs_state_t *d = w->sched_state;
  sim_dfs_run_t *r = d->r;
  if (d->stopped) return;
  if (kind == w->k_run) {
    d->cur = thread;
    if (d->open >= 0 && r->pts[d->open].chosen != thread) d->open = -1;
    if (sleeper_find(d, thread) >= 0) {
      r->forced_asleep = thread;
      stop(w, d, SIM_DFS_SLEEP_BLOCKED);
    }
    return;
  }
  sim_trace_rec_t x = {.time = w->now, .thread = thread, .kind = kind, .obj = obj, .arg = arg};
  uint32_t o[3];
  int n = touched(w, &x, o);
  bool mine = d->open >= 0 && thread == d->cur && d->cur == r->pts[d->open].chosen;
  for (int i = 0; i < n; i++) {
    if (mine) add_obj(r, &r->pts[d->open], o[i]);
    for (size_t k = 0; k < d->nsl;)
      if (fp_has(d->sl[k].obj, d->sl[k].nobj, o[i])) sleeper_drop(d, k);
      else k++;
  }
  if (mine && (kind == w->k_block || kind == w->k_exit)) d->open = -1;
}

static void cand_push(sim_dfs_run_t *r, uint64_t id, bool asleep) {
  if (r->nids == r->capids) {
    r->capids = r->capids ? 2 * r->capids : 256;
    r->ids = sim__xrealloc(r->ids, r->capids * sizeof *r->ids);
    r->asleep = sim__xrealloc(r->asleep, r->capids);
  }
  r->asleep[r->nids] = asleep;
  r->ids[r->nids++] = id;
}

/* One decision among the running thread `first` (NULL for a pick) and the
 * READY threads; returns the index among them, or -1 (the run stopped). */
static long decide(sim_world_t *w, sim_thread_t *first) {
  dfs_state_t *d = w->sched_state;
  sim_dfs_run_t *r = d->r;
  if (d->stopped) return -1;
  if (w->now < r->from) return 0; /* not searched: the default, unrecorded */
  size_t i = r->npts;
  if (r->adds && i < r->nprefix)
    for (size_t k = 0; k < r->nadds[i]; k++) {
      const sim_dfs_sleeper_t *s = &r->adds[i][k];
      if (sleeper_find(d, s->thread) >= 0) continue;
      if (d->nsl == d->capsl) {
        d->capsl = d->capsl ? 2 * d->capsl : 16;
        d->sl = sim__xrealloc(d->sl, d->capsl * sizeof *d->sl);
      }
      sleeper_t *n = &d->sl[d->nsl++];
      n->thread = s->thread;
      n->nobj = s->nobj;
      n->obj = sim__xmalloc((s->nobj ? s->nobj : 1) * sizeof *n->obj);
      if (s->nobj) memcpy(n->obj, s->obj, s->nobj * sizeof *n->obj);
    }
  if (r->npts == r->cappts) {
    r->cappts = r->cappts ? 2 * r->cappts : 256;
    r->pts = sim__xrealloc(r->pts, r->cappts * sizeof *r->pts);
  }
  sim_dfs_point_t *p = &r->pts[r->npts];
  memset(p, 0, sizeof *p);
  p->running = first ? first->id : 0;
  p->cand = r->nids;
  size_t n = w->rn + (first != NULL);
  long pick = -1;
  for (size_t k = 0; k < n; k++) {
    sim_thread_t *c = first ? (k == 0 ? first : sim__ready_at(w, k - 1)) : sim__ready_at(w, k);
    bool asleep = sleeper_find(d, c->id) >= 0;
    cand_push(r, c->id, asleep);
    if (i < r->nprefix) {
      if (c->id == r->prefix[i] && !asleep) pick = (long)k;
    } else if (pick < 0 && !asleep) {
      pick = (long)k; /* the running thread goes on; else the oldest READY */
    }
  }
  p->ncand = n;
  if (pick < 0) {
    if (i < r->nprefix) {
      snprintf(r->why, sizeof r->why,
               "decision %zu (t=%lld ns): the forced thread T%llu is no candidate or asleep", i + 1,
               (long long)w->now, (unsigned long long)r->prefix[i]);
      stop(w, d, SIM_DFS_DIVERGED);
    } else {
      stop(w, d, SIM_DFS_SLEEP_BLOCKED);
    }
    r->nids = p->cand; /* drop the half-made point */
    return -1;
  }
  sim_thread_t *c = first ? (pick == 0 ? first : sim__ready_at(w, (size_t)pick - 1))
                          : sim__ready_at(w, (size_t)pick);
  p->chosen = c->id;
  p->fp = r->nobjs;
  r->npts++;
  /* the operation it stands at: read even when it leaves no record */
  if (c->op_obj) add_obj(r, p, c->op_obj);
  if (c->op && strcmp(c->op, "burn") == 0) add_obj(r, p, SIM_DFS_OBJ_CPU);
  d->open = (long)i;
  d->cur = c->id;
  return pick;
}

long sim__dfs_pick(sim_world_t *w) { return decide(w, NULL); }

long sim__dfs_point(sim_world_t *w, sim_thread_t *t) { return decide(w, t); }

void sim__dfs_free(sim_world_t *w) {
  dfs_state_t *d = w->sched_state;
  w->trace_tap = NULL;
  for (size_t i = 0; i < d->nsl; i++) free(d->sl[i].obj);
  free(d->sl);
  free(d);
}
