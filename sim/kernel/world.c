/*
 * The world: virtual clock, event heap, ready queue, scheduling policies,
 * simulated threads and the run loop.
 *
 * The run loop lives on the caller's stack ("scheduler context"). It picks
 * the next READY thread through the policy, and when none is READY it pops
 * the next event (time, seq) and advances the clock. A thread runs until it
 * blocks, yields or finishes; it then takes the loop's next steps itself and
 * switches straight to the next thread, and switches back to the loop only
 * for what must happen there (see "switching" below). Either way the
 * sequence of decisions, events and trace records is the same.
 *
 * The scheduling policy (sched.c) decides which READY thread runs and
 * whether a scheduling point switches; this file carries the decisions out.
 * Under fifo it asks nothing: the oldest READY thread runs, inline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kernel_int.h"

void sim__ctx_swap(const sim__ctx_backend_t *b, sim__ctx_t *from,
                   sim__ctx_t *to, bool from_dies);
void sim__ctx_first_run(void);

static _Thread_local sim_thread_t *tl_current;

sim_thread_t *sim_self(void) { return tl_current; }
void sim__set_current(sim_thread_t *t) { tl_current = t; }

sim_thread_t *sim__current_checked(const char *call) {
  sim_thread_t *t = tl_current;
  if (!t)
    sim__die("%s: must be called from a simulated thread", call);
  return t;
}

void sim_world_opts_init(sim_world_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->ncores = 2;
  o->stack_size = 256 * 1024;
  o->cpu_quantum = 10 * SIM_MS;
  o->spin_window = 60 * SIM_SEC;
  o->max_threads = 1000000;
  o->max_instant_steps = SIM_DEFAULT_MAX_INSTANT_STEPS;
  o->backend = SIM_BACKEND_VIRTUAL;
  o->time_scale = SIM_DEFAULT_TIME_SCALE;
}

/* ---- event heap (binary, ordered by time then seq) ----
 * A pop leaves its slot at the root empty (heap_hole) instead of refilling it
 * at once: nearly every pop is followed by a push before the next pop (the
 * woken thread sleeps again, or hands a server to one that does), and that
 * push then drops into the root and sifts down, one pass for the pair instead
 * of a sift-down and a sift-up. Anything that looks at the top first fills
 * the hole (heap_fill). (time, seq) is a strict total order, so the events
 * come out in the same order whatever the heap's layout. */
static inline bool ev_less(const sim__event_t *a, const sim__event_t *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* Puts ev at slot i (empty) or below it, keeping the heap order below i. */
static inline void heap_sift_down(sim__event_t *h, size_t n, size_t i, sim__event_t ev) {
  for (;;) {
    size_t l = 2 * i + 1;
    if (l >= n) break;
    size_t c = (l + 1 < n && ev_less(&h[l + 1], &h[l])) ? l + 1 : l;
    if (!ev_less(&h[c], &ev)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = ev;
}

/* Fills the empty root, if any, with the last event. */
static inline void heap_fill(sim_world_t *w) {
  if (w->heap_hole) {
    w->heap_hole = false;
    size_t n = --w->nheap;
    if (n > 0) heap_sift_down(w->heap, n, 0, w->heap[n]);
  }
}

static inline size_t heap_size(const sim_world_t *w) { return w->nheap - w->heap_hole; }

/* The earliest event (heap_size > 0). */
static inline const sim__event_t *heap_top(sim_world_t *w) {
  heap_fill(w);
  return &w->heap[0];
}

static inline __attribute__((always_inline)) void heap_push(sim_world_t *w, sim__event_t ev) {
  if (SIM__EV_KIND(ev) != SIM__EV_SAMPLE) w->nreal_events++;
  if (w->heap_hole) {
    w->heap_hole = false;
    heap_sift_down(w->heap, w->nheap, 0, ev);
    return;
  }
  if (w->nheap == w->capheap) {
    w->capheap = w->capheap ? 2 * w->capheap : 256;
    w->heap = sim__xrealloc(w->heap, w->capheap * sizeof *w->heap);
  }
  size_t i = w->nheap++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&ev, &w->heap[p]))
      break;
    w->heap[i] = w->heap[p];
    i = p;
  }
  w->heap[i] = ev;
}

/* Removes and returns the earliest event (heap_size > 0). */
static sim__event_t heap_pop(sim_world_t *w) {
  heap_fill(w);
  sim__event_t top = w->heap[0];
  w->heap_hole = true;
  if (SIM__EV_KIND(top) != SIM__EV_SAMPLE)
    w->nreal_events--;
  return top;
}

void sim__push_timer(sim_world_t *w, sim_thread_t *t, sim_time_t when) {
  sim__event_t ev = {.time = when, .seq = SIM__EV_SEQ(w, SIM__EV_WAKE),
                     .t = t, .token = t->timer_token};
  t->npending++;
  t->timer_armed = true;
  heap_push(w, ev);
  if (__builtin_expect(w->live, 0)) sim__live_poke(w, when);
}

void sim_at(sim_world_t *w, sim_time_t t, sim_callback_fn fn, void *arg) {
  if (t < w->now)
    sim__die("sim_at: time %lld is in the past (now %lld)", (long long)t,
             (long long)w->now);
  sim__event_t ev = {.time = t, .seq = SIM__EV_SEQ(w, SIM__EV_CALLBACK),
                     .fn = fn, .arg = arg};
  heap_push(w, ev);
  if (__builtin_expect(w->live, 0)) sim__live_poke(w, t);
}

/* ---- ready queue (ring buffer) ---- */
static __attribute__((noinline)) void ready_grow(sim_world_t *w) {
  size_t ncap = w->rcap ? 2 * w->rcap : 256;
  sim_thread_t **r = sim__xmalloc(ncap * sizeof *r);
  for (size_t i = 0; i < w->rn; i++) r[i] = w->ready[(w->rhead + i) & (w->rcap - 1)];
  free(w->ready);
  w->ready = r;
  w->rhead = 0;
  w->rcap = ncap;
}

static inline void ready_push(sim_world_t *w, sim_thread_t *t) {
  if (__builtin_expect(w->live, 0)) { /* no ready queue: its pthread goes on */
    t->state = SIM_T_READY;
    sim__live_ready(w, t);
    return;
  }
  if (w->rn == w->rcap) ready_grow(w);
  w->ready[(w->rhead + w->rn) & (w->rcap - 1)] = t;
  w->rn++;
  t->state = SIM_T_READY;
}

/* Removes the i-th READY thread, keeping the order of the others. */
static sim_thread_t *ready_take(sim_world_t *w, size_t i) {
  sim_thread_t *t = sim__ready_at(w, i);
  for (size_t k = i; k > 0; k--)
    w->ready[(w->rhead + k) & (w->rcap - 1)] = w->ready[(w->rhead + k - 1) & (w->rcap - 1)];
  w->rhead = (w->rhead + 1) & (w->rcap - 1);
  w->rn--;
  return t;
}

/* ---- wait queues ---- */
void sim__waitq_push(sim__waitq_t *q, sim_thread_t *t) {
  t->wnext = NULL;
  t->wprev = q->tail;
  if (q->tail)
    q->tail->wnext = t;
  else
    q->head = t;
  q->tail = t;
  q->n++;
}

void sim__waitq_remove(sim__waitq_t *q, sim_thread_t *t) {
  if (t->wprev)
    t->wprev->wnext = t->wnext;
  else
    q->head = t->wnext;
  if (t->wnext)
    t->wnext->wprev = t->wprev;
  else
    q->tail = t->wprev;
  t->wnext = t->wprev = NULL;
  q->n--;
}

sim_thread_t *sim__waitq_pop(sim__waitq_t *q) {
  sim_thread_t *t = q->head;
  if (t)
    sim__waitq_remove(q, t);
  return t;
}

static void maybe_reap(sim_world_t *w, sim_thread_t *t);

/* A run limit was reached: the world stops at its next step, and stays
 * stopped (every later sim_world_run returns SIM_ELIMIT). */
static void limit_trip(sim_world_t *w) {
  w->limit_hit = true;
  w->stop_at = 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* Calls the host guard (sim_world_opts_t.guard); on a nonzero answer trips
 * a limit with its message and returns true. */
static bool guard_fires(sim_world_t *w) {
  char msg[sizeof w->last_error];
  if (!w->o.guard(w->o.guard_arg, msg, sizeof msg)) return false;
  if (!w->limit_hit) memcpy(w->last_error, msg, sizeof msg);
  limit_trip(w);
  return true;
}

/* The checks that count scheduling steps (sim_world_run), done lazily so
 * that the hot path pays one compare: advance comes here when nsched reaches
 * stop_at, the smallest of
 *  - max_stop: the event limit;
 *  - guard_stop: every guard_steps steps the host guard runs;
 *  - instant_stop: the stall limit, every max_instant_steps steps. If the
 *    clock moved since the last check, a new window starts; if it stands
 *    still, the run stalled.
 * Returns true when the run goes on, false when it must stop (a limit
 * tripped, max_events, a stall; sim_world_run says which). */
static bool stop_check(sim_world_t *w) {
  if (w->limit_hit || w->nsched >= w->max_stop) return false;
  if (w->nsched >= w->guard_stop) {
    w->guard_stop = sat_add(w->nsched, w->o.guard_steps);
    if (guard_fires(w)) return false;
  }
  if (w->nsched >= w->instant_stop) {
    if (w->now == w->instant_time) {
      w->stalled = true;
      return false;
    }
    w->instant_time = w->now;
    w->instant_stop = sat_add(w->nsched, w->o.max_instant_steps);
  }
  uint64_t s = w->max_stop < w->guard_stop ? w->max_stop : w->guard_stop;
  w->stop_at = w->instant_stop < s ? w->instant_stop : s;
  return true;
}

static bool replay_failed(sim_world_t *w) { return w->sched_replays && w->last_error[0]; }

static inline sim_thread_t *ready_pop_front(sim_world_t *w) {
  sim_thread_t *t = w->ready[w->rhead];
  w->rhead = (w->rhead + 1) & (w->rcap - 1);
  w->rn--;
  return t;
}

/* pick_ready under a policy that chooses (sched->pick), rn > 1. */
static __attribute__((noinline)) sim_thread_t *pick_choose(sim_world_t *w) {
  long i = w->sched->pick(w);
  if (i < 0) return NULL;
  sim_thread_t *t = ready_take(w, (size_t)i);
  sim__decision(w, t);
  return t;
}

/* Picks and removes the next READY thread (rn > 0). NULL on replay
 * divergence. */
static inline sim_thread_t *pick_ready(sim_world_t *w) {
  size_t n = w->rn;
  if (w->force_front) {
    w->force_front = false;
    return ready_pop_front(w);
  }
  if (n == 1 || !w->sched_picks) {
    sim_thread_t *t = ready_pop_front(w);
    if (n > 1) sim__decision(w, t);
    return t;
  }
  return pick_choose(w);
}

/* ---- switching ----
 * A thread that gives up the CPU (blocks, yields, finishes) runs the run
 * loop's next steps itself, on its own stack: it dispatches the next READY
 * thread, or, when none is READY, pops timer and sampling events until one
 * is, exactly as the run loop would (same checks in the same order, same
 * pick, same trace records), and switches straight to that thread. A
 * hand-off thus costs one switch instead of two through the run loop's
 * context. It goes back to the run loop for everything else: the loop must
 * stop (interrupt, limits, `until`, nothing left to run, a hang), a callback
 * event is due (callbacks run on the run loop's stack, as before), or the
 * policy is replay (whose divergence the loop reports). Both run the same
 * steps (advance), so the order of checks cannot drift apart; the run loop
 * then takes the same decision again from the same state.
 *
 * A finished thread cannot release the stack it is running on, so it leaves
 * itself in w->dead and whichever context runs next releases it
 * (reap_dead): a resumed thread, a new thread's first run, or the run loop. */
static inline __attribute__((always_inline)) void process_event(sim_world_t *w, sim__event_t ev);

static void reap_dead(sim_world_t *w) {
  sim_thread_t *d = w->dead;
  if (d) {
    w->dead = NULL;
    sim__stack_put(w, &d->ctx);
    maybe_reap(w, d);
  }
}

/* Makes t RUNNING and switches to it from `from` (a thread's context or the
 * run loop's). Returns when something switches back to `from`. */
static void dispatch(sim_world_t *w, sim__ctx_t *from, sim_thread_t *t, bool from_dies) {
  t->state = SIM_T_RUNNING;
  w->steps++;
  w->nsched++;
  sim__trace(w, t->id, w->k_run, 0, 0);
  tl_current = t;
  if (SIM_KCHECK) sim__kcheck_step(w, t);
  if (from != &t->ctx) /* a thread may pick itself (its own timer, a yield) */
    sim__ctx_swap(w->ctx, from, &t->ctx, from_dies);
}

/* The run loop's steps up to the next dispatch: carries out events until a
 * thread is READY and returns it, picked. NULL when the loop must stop
 * (interrupt, limits, nothing left, `until`; sim_world_run says which) or on
 * replay divergence (the pick fails, rn > 0). On a thread (see above) also
 * NULL for what belongs to the run loop: replay, and a due callback. */
static sim_thread_t *advance(sim_world_t *w, bool on_thread) {
  if (on_thread && w->sched_replays) return NULL;
  for (;;) {
    if (w->interrupted) return NULL;
    if (w->nsched >= w->stop_at && !stop_check(w)) /* a limit, max_events, a stall */
      return NULL;
    if (w->rn > 0) return pick_ready(w);
    if (w->nreal_events == w->nstale) return NULL;
    const sim__event_t *top = heap_top(w);
    if (top->time > w->until) return NULL;
    if (on_thread && SIM__EV_KIND(*top) == SIM__EV_CALLBACK) return NULL;
    process_event(w, heap_pop(w));
  }
}

static void switch_to_scheduler(sim_thread_t *t, bool dies) {
  sim_world_t *w = t->w;
  if (dies) w->dead = t;
  tl_current = NULL; /* events are processed outside any thread */
  sim_thread_t *next = advance(w, true);
  if (next) dispatch(w, &t->ctx, next, dies);
  else sim__ctx_swap(w->ctx, &t->ctx, &w->main_ctx, dies);
  /* resumed: whoever switched here set tl_current to t */
  reap_dead(w);
}

void sim__sched_point_switch(sim_thread_t *t, uint32_t obj) {
  sim_world_t *w = t->w;
  /* One decision among the running thread (index 0) and the READY ones
   * (index k + 1): the same shape whether recorded or replayed. */
  long r = w->sched->point(w, t);
  if (r < 0) return;
  size_t pick = (size_t)r;
  sim_thread_t *chosen = pick ? sim__ready_at(w, pick - 1) : t;
  sim__decision(w, chosen);
  if (!pick)
    return;
  /* Run `chosen` next: move it to the front, queue the caller behind. */
  ready_take(w, pick - 1);
  w->rhead = (w->rhead + w->rcap - 1) & (w->rcap - 1);
  w->ready[w->rhead] = chosen;
  w->rn++;
  t->wait_kind = SIM__W_YIELD;
  ready_push(w, t);
  w->force_front = true;
  sim__trace(w, t->id, w->k_yield, obj, 0);
  switch_to_scheduler(t, false);
  t->wait_kind = SIM__W_NONE;
}

int sim__block(sim__wait_kind_t kind, void *obj, uint32_t obj_name,
               sim_time_t deadline,
               const char *file, int line) {
  sim_thread_t *t = tl_current;
  sim_world_t *w = t->w;
  t->state = SIM_T_BLOCKED;
  t->wait_kind = kind;
  t->wait_obj = obj;
  t->wait_file = file;
  t->wait_line = line;
  t->wake_rc = 0;
  sim__trace(w, t->id, w->k_block, obj_name, kind);
  if (deadline >= 0)
    sim__push_timer(w, t, deadline < w->now ? w->now : deadline);
  if (__builtin_expect(w->live, 0)) sim__live_park(t);
  else switch_to_scheduler(t, false);
  t->wait_kind = SIM__W_NONE;
  t->wait_obj = NULL;
  return t->wake_rc;
}

void sim__wake(sim_thread_t *t, int rc) {
  sim_world_t *w = t->w;
  if (t->timer_armed) { /* its timer stays in the heap but no longer counts */
    t->timer_armed = false;
    w->nstale++;
  }
  t->timer_token++;
  t->wake_rc = rc;
  ready_push(w, t);
  sim__trace(w, t->id, w->k_wake, 0, rc);
}

/* ---- threads ---- */
static void live_unlink(sim_world_t *w, sim_thread_t *t) {
  if (!t->in_list)
    return;
  if (t->prev)
    t->prev->next = t->next;
  else
    w->live_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    w->live_tail = t->prev;
  t->in_list = false;
}

static void thread_free(sim_world_t *w, sim_thread_t *t) {
  if (t->freed) sim__die("thread T%llu freed twice (kernel bug)", (unsigned long long)t->id);
  t->freed = true;
  t->free_next = w->free_threads;
  w->free_threads = t;
}

/* Frees t's struct once nothing refers to it any more. A thread that
 * finished holding locks stays: the locks name it as owner. The finished
 * thread in w->dead stays too: it is still running the run loop's steps on
 * its own stack (switch_to_scheduler), and reap_dead frees it once another
 * context runs; a stale timer of its own that it pops there must not free it
 * first (that freed the struct twice, and two later spawns shared it). */
static void maybe_reap(sim_world_t *w, sim_thread_t *t) {
  if (t->state == SIM_T_DONE && t->npending == 0 && t->nheld == 0 && (!t->joinable || t->joined) &&
      t != w->dead)
    thread_free(w, t);
}

void sim__ctx_entry(void) {
  sim__ctx_first_run();
  sim_thread_t *t = tl_current;
  reap_dead(t->w); /* the thread that dispatched this one may have finished */
  t->fn(t->arg);
  sim_thread_exit();
}

static sim_thread_t *spawn(sim_world_t *w, const char *name, sim_proc_t *p,
                           sim_thread_fn fn, void *arg, bool joinable) {
  /* A stopping world starts nothing more: a burst of spawns at one
   * instant ends at the limit or the Ctrl-C, not after the whole burst. */
  if (w->limit_hit) return NULL;
  if (w->interrupted) {
    w->halted = true; /* the run cannot go on without the spawn it refused */
    return NULL;
  }
  if (w->o.guard && ++w->guard_spawns >= w->o.guard_every) {
    w->guard_spawns = 0;
    if (guard_fires(w)) return NULL;
  }
  if (w->nlive >= w->o.max_threads) {
    if (!w->limit_hit)
      snprintf(w->last_error, sizeof w->last_error,
               "live thread limit reached (%llu threads; limits.max_threads, raise it with "
               "--set limits.max_threads=N)",
               (unsigned long long)w->o.max_threads);
    limit_trip(w);
    return NULL;
  }
  sim_thread_t *t = w->free_threads;
  if (t) {
    w->free_threads = t->free_next;
  } else {
    if (w->nslabs == 0 || w->slab_used == 256) {
      w->slabs = sim__xrealloc(w->slabs, (w->nslabs + 1) * sizeof *w->slabs);
      w->slabs[w->nslabs++] = sim__xmalloc(256 * sizeof(sim_thread_t));
      w->slab_used = 0;
    }
    t = &w->slabs[w->nslabs - 1][w->slab_used++];
    t->lt = NULL; /* a reused struct keeps its parking spot (live.c) */
  }
  memset(t, 0, offsetof(sim_thread_t, id)); /* the per-life block */
  t->nheld = 0;
  t->spin_reported = false;
  t->progress_mark = w->now;
  t->cpu_since_progress = 0;
  t->requests_since_progress = 0;
  t->activity = NULL;
  t->op = "start";
  t->op_obj = 0;
  t->next = t->prev = t->free_next = NULL;
  t->freed = false;
  t->dl_reported = false;
  if (w->live) {
    t->ctx.map = NULL; /* a pthread has its own stack */
  } else if (sim__stack_get(w, &t->ctx) != 0) {
    thread_free(w, t);
    snprintf(w->last_error, sizeof w->last_error,
             "cannot map a thread stack (host memory or vm.max_map_count)");
    limit_trip(w);
    return NULL;
  }
  if (!w->live) w->ctx->make(&t->ctx);
  t->id = ++w->next_tid;
  if (!name)
    name = "thread";
  if (name == w->spawn_name_p && strcmp(name, w->spawn_name) == 0) {
    t->name_id = w->spawn_name_id;
  } else {
    t->name_id = sim_intern(w, name);
    size_t len = strlen(name);
    w->spawn_name_p = len < sizeof w->spawn_name ? name : NULL;
    if (w->spawn_name_p)
      memcpy(w->spawn_name, name, len + 1);
    w->spawn_name_id = t->name_id;
  }
  if (w->trace_slow) { /* kernel_int.h: only then */
    if (w->ntname == w->captname) {
      w->captname = w->captname ? 2 * w->captname : 1024;
      w->tname = sim__xrealloc(w->tname, w->captname * sizeof *w->tname);
    }
    w->tname[w->ntname++] = t->name_id; /* index id - 1 */
  }
  t->w = w;
  t->proc = p ? p : w->procs[0];
  t->fn = fn;
  t->arg = arg;
  t->joinable = joinable;
  if (w->sched->spawn) w->sched->spawn(w, t);
  t->in_list = true;
  t->prev = w->live_tail;
  if (w->live_tail)
    w->live_tail->next = t;
  else
    w->live_head = t;
  w->live_tail = t;
  w->nlive++;
  t->state = SIM_T_READY;
  if (__builtin_expect(w->live, 0)) {
    if (sim__live_start(w, t) != 0) { /* no pthread to be had */
      t->state = SIM_T_DONE;
      live_unlink(w, t);
      w->nlive--;
      maybe_reap(w, t);
      snprintf(w->last_error, sizeof w->last_error,
               "cannot create a thread (threads backend: host thread limit or memory)");
      limit_trip(w);
      return NULL;
    }
  } else {
    ready_push(w, t);
  }
  sim__trace(w, tl_current ? tl_current->id : 0, w->k_spawn, t->name_id,
             (int64_t)t->id);
  return t;
}

sim_thread_t *sim_thread_spawn(sim_world_t *w, const char *name, sim_proc_t *p,
                               sim_thread_fn fn, void *arg) {
  return spawn(w, name, p, fn, arg, false);
}

sim_thread_t *sim_thread_spawn_joinable(sim_world_t *w, const char *name,
                                        sim_proc_t *p, sim_thread_fn fn,
                                        void *arg) {
  return spawn(w, name, p, fn, arg, true);
}

void sim_thread_exit(void) {
  sim_thread_t *t = sim__current_checked("sim_thread_exit");
  sim_world_t *w = t->w;
  if (t->nheld > 0) {
    /* A thread that ends holding locks keeps them: report it, like lockdep's
     * "lock held when returning to user space". */
    sim__report_misuse(w, t, "thread exits while holding a lock",
                       t->held[t->nheld - 1].m, t->held[t->nheld - 1].file,
                       t->held[t->nheld - 1].line);
  }
  sim__trace(w, t->id, w->k_exit, 0, 0);
  t->state = SIM_T_DONE;
  live_unlink(w, t);
  w->nlive--;
  if (t->joiner) {
    sim_thread_t *j = t->joiner;
    t->joiner = NULL;
    sim__wake(j, 0);
  }
  if (w->live) {
    maybe_reap(w, t);
    sim__live_exit(t); /* t may be reused from here on */
  }
  switch_to_scheduler(t, true);
  sim__die("sim_thread_exit: a finished thread was resumed");
}

void sim_thread_join(sim_thread_t *t) {
  sim_thread_t *self = sim__current_checked("sim_thread_join");
  if (t->joiner && t->joiner != self)
    sim__die("sim_thread_join: thread T%llu already has a joiner (T%llu)",
             (unsigned long long)t->id, (unsigned long long)t->joiner->id);
  if (!t->joinable || t->joined || t == self)
    sim__die("sim_thread_join: thread T%llu is not joinable by the caller",
             (unsigned long long)t->id);
  sim__sched_point(self, "join", t->name_id);
  /* The scheduling point may have run another joiner of t to the end: t is
   * then joined, and its struct freed (checked before the point only, a
   * second join freed it twice, reported as a kernel bug). */
  if (t->joined || t->freed || (t->joiner && t->joiner != self))
    sim__die("sim_thread_join: thread T%llu was joined by another thread meanwhile "
             "(two threads join it)",
             (unsigned long long)t->id);
  if (t->state != SIM_T_DONE) {
    t->joiner = self;
    sim__block(SIM__W_JOIN, t, t->name_id, -1, NULL, 0);
  }
  t->joined = true;
  maybe_reap(self->w, t);
}

void sim_yield(void) {
  sim_thread_t *t = sim__current_checked("sim_yield");
  sim_world_t *w = t->w;
  t->op = "yield";
  t->op_obj = 0;
  if (w->live) {
    sim__live_yield(t);
    return;
  }
  if (w->rn == 0)
    return;
  t->wait_kind = SIM__W_YIELD;
  ready_push(w, t);
  sim__trace(w, t->id, w->k_yield, 0, 0);
  switch_to_scheduler(t, false);
  t->wait_kind = SIM__W_NONE;
}

int sim_sleep_until(sim_time_t when) {
  sim_thread_t *t = sim__current_checked("sim_sleep");
  if (t->canceled)
    return SIM_ECANCELED;
  sim__sched_point(t, "sleep", 0);
  int rc = sim__block(SIM__W_SLEEP, NULL, 0, when, NULL, 0);
  return rc == SIM_ETIMEDOUT ? 0 : rc;
}

int sim_sleep(sim_time_t d) {
  sim_thread_t *t = sim__current_checked("sim_sleep");
  if (d < 0)
    sim__die("sim_sleep: negative duration %lld", (long long)d);
  sim_time_t now = t->w->now;
  return sim_sleep_until(d > SIM_TIME_MAX - now ? SIM_TIME_MAX : now + d);
}

void sim_thread_cancel(sim_thread_t *t) {
  sim_world_t *w = t->w;
  if (t->state == SIM_T_DONE || t->canceled)
    return;
  t->canceled = true;
  sim__trace(w, tl_current ? tl_current->id : 0, w->k_cancel, t->name_id,
             (int64_t)t->id);
  if (t->state != SIM_T_BLOCKED)
    return;
  switch (t->wait_kind) {
  case SIM__W_SLEEP:
    sim__wake(t, SIM_ECANCELED);
    break;
  case SIM__W_COND:
    sim__waitq_remove(&((sim_cond_t *)t->wait_obj)->waiters, t);
    sim__wake(t, SIM_ECANCELED);
    break;
  case SIM__W_SEM:
    sim__waitq_remove(&((sim_sem_t *)t->wait_obj)->waiters, t);
    sim__wake(t, SIM_ECANCELED);
    break;
  case SIM__W_CPU:
    sim__waitq_remove(&w->runq, t);
    sim__wake(t, SIM_ECANCELED);
    break;
  default:
    break; /* mutex, join and a running CPU slice are not interrupted */
  }
}

int sim_thread_canceled(const sim_thread_t *t) { return t->canceled; }
sim_world_t *sim_thread_world(const sim_thread_t *t) { return t->w; }
uint64_t sim_thread_id(const sim_thread_t *t) { return t->id; }
const char *sim_thread_name(const sim_thread_t *t) {
  return sim_interned(t->w, t->name_id);
}
sim_proc_t *sim_thread_proc(const sim_thread_t *t) { return t->proc; }
void sim_thread_set_activity(sim_thread_t *t, const char *a) { t->activity = a; }
const char *sim_thread_activity(const sim_thread_t *t) { return t->activity; }
sim_thread_state_t sim_thread_state(const sim_thread_t *t) { return t->state; }

void sim_thread_describe(const sim_thread_t *t, char *buf, size_t n) {
  sim__describe_thread(t->w, t, buf, n);
}

void sim_world_foreach_thread(sim_world_t *w,
                              void (*fn)(sim_thread_t *t, void *arg),
                              void *arg) {
  for (sim_thread_t *t = w->live_head, *next; t; t = next) {
    next = t->next;
    fn(t, arg);
  }
}

const char *sim_world_thread_name(const sim_world_t *w, uint64_t id) {
  if (id == 0)
    return "scheduler";
  if (w->trace_slow) return id > w->ntname ? "?" : sim_interned(w, w->tname[id - 1]);
  for (const sim_thread_t *t = w->live_tail; t; t = t->prev) /* id order */
    if (t->id <= id) {
      if (t->id == id) return sim_interned(w, t->name_id);
      break;
    }
  uint32_t nm;
  return sim__tname_pinned(w, id, &nm) ? sim_interned(w, nm) : "?";
}

/* ---- progress / spin ---- */
void sim_progress(void) {
  sim_thread_t *t = tl_current;
  if (!t)
    return;
  t->progress_mark = t->w->now;
  t->cpu_since_progress = 0;
  t->requests_since_progress = 0;
  t->spin_reported = false;
}

void sim_request(void) {
  sim_thread_t *t = tl_current;
  if (!t)
    return;
  t->requests_since_progress++;
  sim__spin_check(t->w, t);
}

/* ---- world ---- */
int sim_world_create(const sim_world_opts_t *o, sim_world_t **out, char *err,
                     size_t nerr) {
  char dummy[8];
  if (!err) {
    err = dummy;
    nerr = sizeof dummy;
  }
  *out = NULL;
  if (err && nerr)
    err[0] = 0;
  sim_world_t *w = sim__xcalloc(1, sizeof *w);
  if (o)
    w->o = *o;
  else
    sim_world_opts_init(&w->o);
  if (w->o.ncores <= 0 || w->o.stack_size < 16384 || w->o.cpu_quantum <= 0 ||
      w->o.sample_interval < 0 || w->o.spin_window < 0) {
    snprintf(err, nerr, "invalid world options (cores %d, stack %zu)",
             w->o.ncores, w->o.stack_size);
    free(w);
    return SIM_EINVAL;
  }
  if (w->o.max_threads == 0)
    w->o.max_threads = 1000000;
  if (w->o.guard_every == 0) w->o.guard_every = 4096;
  w->max_events = w->o.max_events ? w->o.max_events : UINT64_MAX;
  w->max_stop = w->max_events == UINT64_MAX ? UINT64_MAX : w->max_events + 1;
  w->instant_stop = w->o.max_instant_steps ? w->o.max_instant_steps : UINT64_MAX;
  if (w->o.guard && w->o.guard_steps == 0) w->o.guard_steps = 1u << 18;
  w->guard_stop = w->o.guard ? w->o.guard_steps : UINT64_MAX;
  w->stop_at = w->instant_stop < w->max_stop ? w->instant_stop : w->max_stop;
  if (w->guard_stop < w->stop_at) w->stop_at = w->guard_stop;
  w->ctx = sim__ctx_default_backend();
  sim__ctx_main_init(&w->main_ctx);
  w->page = (size_t)sysconf(_SC_PAGESIZE);
  w->stack_size = w->o.stack_size;
  w->guard_madvise = true;
  sim__intern_init(&w->in);
  sim_intern(w, ""); /* id 0 = none */
  w->k_spawn = sim_intern(w, "spawn");
  w->k_run = sim_intern(w, "run");
  w->k_block = sim_intern(w, "block");
  w->k_wake = sim_intern(w, "wake");
  w->k_timeout = sim_intern(w, "timeout");
  w->k_lock = sim_intern(w, "lock");
  w->k_unlock = sim_intern(w, "unlock");
  w->k_exit = sim_intern(w, "exit");
  w->k_burn = sim_intern(w, "burn");
  w->k_cpu = sim_intern(w, "cpu");
  w->k_signal = sim_intern(w, "signal");
  w->k_release = sim_intern(w, "release");
  w->k_acquire = sim_intern(w, "acquire");
  w->k_cancel = sim_intern(w, "cancel");
  w->k_yield = sim_intern(w, "yield");
  w->k_report = sim_intern(w, "report");
  w->thash = 0xcbf29ce484222325ull;
  w->trace_slow = w->o.keep_trace || w->o.trace_jsonl != NULL;
  sim_sched_t spec = w->o.sched_spec;
  int rc = w->o.sched ? sim_sched_parse(w->o.sched, &spec, err, nerr) : 0;
  if (rc == 0) rc = sim__sched_init(w, &spec, err, nerr);
  if (rc == 0 && w->o.backend != SIM_BACKEND_VIRTUAL) rc = sim__live_init(w, err, nerr);
  if (rc != 0) {
    sim_world_destroy(w);
    return rc;
  }
  sim__cpu_init(w);
  if (!sim_proc_create(w, "default", 0)) {
    snprintf(err, nerr, "cannot create the default process (jemalloc arena)");
    sim_world_destroy(w);
    return SIM_ENOMEM;
  }
  if (w->o.sample_interval > 0) {
    w->next_sample = w->o.sample_interval;
    sim__event_t ev = {.time = w->next_sample, .seq = SIM__EV_SEQ(w, SIM__EV_SAMPLE)};
    heap_push(w, ev);
  }
  *out = w;
  return 0;
}

void sim_world_destroy(sim_world_t *w) {
  if (!w)
    return;
  if (tl_current && tl_current->w == w)
    sim__die("sim_world_destroy: called from inside the world");
  /* Threads backend: its pthreads leave; those stuck in a real deadlock
   * stay, and so does what they can touch (the world with its GIL, their
   * thread structs, the mutexes they wait on). */
  bool stuck = w->live && sim__live_shutdown(w);
  if (stuck) {
    sim__procs_free(w);
    sim__metrics_free(w);
    sim__reports_free(w);
    sim__ld_free(w);
    sim__sched_free(w);
    free(w->heap);
    sim__trace_free(w);
    return;
  }
  if (w->live) sim__live_free(w);
  /* Live threads (blocked forever, or never run): drop their stacks. */
  sim__stack_unmap_begin(w);
  for (sim_thread_t *t = w->live_head, *next; t; t = next) {
    next = t->next;
    sim__stack_put(w, &t->ctx);
  }
  for (size_t i = 0; i < w->nslabs; i++)
    free(w->slabs[i]);
  free(w->slabs);
  sim__stack_pool_free(w);
  free(w->main_ctx.uc); /* the run loop's context (ucontext backend only) */
  for (sim__obj_t *ob = w->objs, *next; ob; ob = next) {
    next = ob->onext;
    free(ob);
  }
  sim__procs_free(w);
  sim__metrics_free(w);
  sim__reports_free(w);
  sim__ld_free(w);
  sim__intern_free(&w->in);
  sim__sched_free(w);
  free(w->heap);
  free(w->ready);
  free(w->tname);
  sim__trace_free(w);
#if SIM_KCHECK
  free(w->chk_slabs);
#endif
  free(w);
}

void sim_world_interrupt(sim_world_t *w) { w->interrupted = 1; }
int sim_world_live(const sim_world_t *w) { return w->live; }
sim_time_t sim_now(const sim_world_t *w) { return w->now; }
uint64_t sim_world_seed(const sim_world_t *w) { return w->o.seed; }
uint64_t sim_world_steps(const sim_world_t *w) { return w->steps; }
uint64_t sim_world_live_threads(const sim_world_t *w) { return w->nlive; }
const char *sim_world_last_error(const sim_world_t *w) { return w->last_error; }

static int live_run(sim_world_t *w, sim_time_t until);

/* Everything finished (no thread, no timer that counts). With a finite
 * `until` the clock goes on to it so that the series cover the whole run;
 * stale timers are dropped. */
static void finish_to(sim_world_t *w, sim_time_t until) {
  while (until != SIM_TIME_MAX && heap_size(w) > 0 && heap_top(w)->time <= until) {
    sim__event_t ev = heap_pop(w);
    if (SIM__EV_KIND(ev) == SIM__EV_WAKE) {
      w->nstale--;
      ev.t->npending--;
      maybe_reap(w, ev.t);
      continue;
    }
    w->now = ev.time;
    sim__metrics_sample(w);
    w->next_sample += w->o.sample_interval;
    sim__event_t ne = {.time = w->next_sample, .seq = SIM__EV_SEQ(w, SIM__EV_SAMPLE)};
    heap_push(w, ne);
  }
  if (until != SIM_TIME_MAX && until > w->now)
    w->now = until;
}

static void run_thread(sim_world_t *w, sim_thread_t *t) {
  dispatch(w, &w->main_ctx, t, false);
  /* Back in the run loop: the threads ran (t, and whatever they handed the
   * CPU to) until one found nothing READY or the loop had to stop. */
  tl_current = NULL;
  reap_dead(w);
}

int sim_world_run(sim_world_t *w, sim_time_t until) {
  if (tl_current)
    sim__die("sim_world_run: called from a simulated thread");
  if (w->halted) return SIM_EINTR; /* a spawn was refused: it cannot go on */
  if (w->limit_hit) return SIM_ELIMIT;
  if (w->live) return live_run(w, until);
  w->until = until;
  for (;;) {
    sim_thread_t *t = advance(w, false);
    if (t) {
      run_thread(w, t);
      continue;
    }
    /* Stopped: why, in the order advance looks. */
    if (w->interrupted) {
      w->interrupted = 0;
      if (replay_failed(w))
        return SIM_EREPLAY;
      return SIM_EINTR;
    }
    if (w->limit_hit)
      return SIM_ELIMIT;
    if (w->steps + w->nevents_processed > w->max_events) {
      snprintf(w->last_error, sizeof w->last_error,
               "event limit reached (%llu scheduling events; limits.max_events, raise it with "
               "--set limits.max_events=N, 0 for none)",
               (unsigned long long)w->o.max_events);
      limit_trip(w);
      return SIM_ELIMIT;
    }
    if (w->stalled) {
      char at[48];
      sim__fmt_time(w->now, at, sizeof at);
      snprintf(
          w->last_error, sizeof w->last_error,
          "stall limit reached (limits.max_instant_steps = %llu): %llu scheduling steps or more at "
          "t=%s without virtual time advancing (a livelock: threads that yield or wake each "
          "other at one instant); raise limits.max_instant_steps (0 = no limit) if this "
          "instant is legitimately that busy",
          (unsigned long long)w->o.max_instant_steps, (unsigned long long)w->o.max_instant_steps,
          at);
      limit_trip(w);
      return SIM_ELIMIT;
    }
    if (w->rn > 0) return SIM_EREPLAY; /* the replay log names no READY thread */
    if (w->nreal_events == w->nstale) {
      if (w->nlive > 0) {
        if (!w->hang_reported)
          sim__report_hang(w);
        return SIM_EHANG;
      }
      finish_to(w, until);
      return 0;
    }
    /* the next event is past `until` */
    if (until > w->now) w->now = until;
    return 0;
  }
}

/* Advances the clock to ev and carries it out (the run loop's step when no
 * thread is READY). */
static inline __attribute__((always_inline)) void process_event(sim_world_t *w, sim__event_t ev) {
  w->now = ev.time;
  w->nevents_processed++;
  w->nsched++;
  switch (SIM__EV_KIND(ev)) {
  case SIM__EV_WAKE: {
    sim_thread_t *t = ev.t;
    t->npending--;
    if (t->state == SIM_T_BLOCKED && ev.token == t->timer_token) {
      t->timer_armed = false;
      int rc = 0;
      switch (t->wait_kind) {
      case SIM__W_COND:
        sim__waitq_remove(&((sim_cond_t *)t->wait_obj)->waiters, t);
        rc = SIM_ETIMEDOUT;
        break;
      case SIM__W_SEM:
        sim__waitq_remove(&((sim_sem_t *)t->wait_obj)->waiters, t);
        rc = SIM_ETIMEDOUT;
        break;
      case SIM__W_SLEEP: rc = SIM_ETIMEDOUT; break;
      default: rc = 0; break;
      }
      t->timer_token++;
      t->wake_rc = rc;
      ready_push(w, t);
      sim__trace(w, t->id, w->k_timeout, 0, rc);
    } else {
      w->nstale--; /* the clock still moved to it: harmless, it was due */
      maybe_reap(w, t);
    }
    break;
  }
  case SIM__EV_CALLBACK: ev.fn(w, ev.arg); break;
  case SIM__EV_SAMPLE: {
    sim__metrics_sample(w);
    w->next_sample += w->o.sample_interval;
    sim__event_t ne = {.time = w->next_sample, .seq = SIM__EV_SEQ(w, SIM__EV_SAMPLE)};
    heap_push(w, ne);
    break;
  }
  }
  if (SIM_KCHECK && !w->live) sim__kcheck_step(w, NULL); /* no ready queue live */
}

/* ---- the threads backend's clock (live.c has the threads) ----
 * The thread in sim_world_run holds the GIL except while it waits: it
 * carries out the events whose virtual time the scaled wall clock has
 * reached (a timer wakes its thread's pthread, a callback runs here, a
 * sample is taken), then sleeps until the next one, or until a thread pokes
 * it with an earlier one, and at most a watchdog period, after which it
 * checks the wait-for graph and whether everything is blocked (a hang). */
static int live_run_loop(sim_world_t *w, sim_time_t until);
static int live_run(sim_world_t *w, sim_time_t until) {
  /* The clock's timed waits end on time: the default timer slack (50 us)
   * would make every timer late by up to 3 virtual seconds at 1m=10ms. */
  int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  int rc = live_run_loop(w, until);
  if (slack > 0) prctl(PR_SET_TIMERSLACK, slack, 0, 0, 0);
  return rc;
}

static int live_run_loop(sim_world_t *w, sim_time_t until) {
  sim__live_t *lv = w->lv;
  w->until = until;
  lv->m_base = sim__live_mono(); /* the clock goes on from now: time outside */
  lv->v_base = w->now;           /* a run (between slices) does not count */
  int settles = 0;               /* since the last event: a chain of wake-ups settles too */
  for (;;) {
    sim__live_tick(w);
    if (w->interrupted) {
      w->interrupted = 0;
      return SIM_EINTR;
    }
    if (w->limit_hit) return SIM_ELIMIT;
    bool due = heap_size(w) > 0 && heap_top(w)->time <= w->now;
    /* READY threads run before a sample and before the end, as on the
     * virtual backend (which runs them before any event): what a sample
     * or the final values read includes what they did at that instant.
     * Not before every event: a READY thread the host is slow to run
     * (a busy host core) would make every event late. */
    if (((due && SIM__EV_KIND(*heap_top(w)) == SIM__EV_SAMPLE) || w->now >= until) &&
        lv->nready > 0 && settles < 4) {
      settles++;
      sim__live_settle(w);
      continue;
    }
    if (due) {
      settles = 0;
      sim__event_t ev = heap_pop(w);
      if (ev.time < w->now) ev.time = w->now; /* late: the clock never goes back */
      process_event(w, ev);
      continue;
    }
    if (w->now >= until) return 0;
    if (w->nreal_events == w->nstale) {
      if (w->nlive == 0) { /* everything finished: on to `until` at once */
        finish_to(w, until);
        return 0;
      }
      if (sim__live_all_blocked(w)) {
        if (!w->hang_reported) sim__report_hang(w);
        return SIM_EHANG;
      }
    }
    sim__live_watchdog(w);
    sim_time_t next = until;
    if (heap_size(w) > 0 && heap_top(w)->time < next) next = heap_top(w)->time;
    sim__live_clock_wait(w, next);
  }
}
