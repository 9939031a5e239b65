/*
 * The kernel's invariant checker: compiled in with SIM_KCHECK (CMake option
 * STORESIM_KCHECK, ON in the debug, asan and tsan presets, OFF in release and
 * clang), run on every scheduling step: each dispatch (world.c dispatch) and
 * each event carried out (world.c process_event). A violation dies at once,
 * naming the invariant, the thread, the virtual time and the step, so a bug
 * is caught where it happens rather than thousands of steps later as a
 * SIGSEGV or a thread resumed after it finished.
 *
 * What it checks (kernel_int.h states the invariants):
 *  - thread structs: each is either on the free list (freed) or in use; the
 *    free list holds exactly the freed structs, once each; the live list
 *    holds exactly the threads that are not DONE, in id order, nlive of
 *    them; a DONE thread still in use has a reason (a timer names it, it
 *    holds a lock, it waits to be joined, or it is w->dead); w->dead is DONE.
 *  - ready queue: holds exactly the READY threads, once each; at a dispatch
 *    exactly the dispatched thread is RUNNING, and while an event is carried
 *    out none is.
 *  - wait queues (mutex, cond, semaphore, CPU run queue): well linked, n
 *    right; each member is BLOCKED with the matching wait kind and object; a
 *    thread is in at most one queue and only while BLOCKED; each BLOCKED
 *    thread is where its wait kind says (its queue, an armed timer for a
 *    sleep or CPU slice, the joined thread's joiner slot).
 *  - timers: npending equals the WAKE events naming the thread; nstale
 *    equals the WAKE events that are stale (token moved on, or the thread is
 *    not BLOCKED); timer_armed is true exactly when one valid WAKE event
 *    names the thread; nreal_events counts the non-sample events; no event
 *    is before now, the heap is ordered; now never goes back.
 *  - locks: each mutex's owner lists it once in held[], each held[] entry's
 *    mutex names the thread as owner, a mutex with waiters has an owner; a
 *    semaphore with waiters has value 0, never below.
 *  - CPU: 0 <= busy <= cores; busy equals the threads on a core (in a slice,
 *    or handed a core by the run queue and not yet running it); a run queue
 *    only while all cores are busy; each process's `running` equals its
 *    threads in a slice.
 *  - counters: nsched = steps + nevents_processed.
 *
 * Cost: O(threads + events + objects) per check, a few ns per item and
 * often a cache miss (a thread struct is 1.3 KiB; this file is built with -O2
 * even in debug builds, CMakeLists.txt). Measured on the debug suite: checking
 * every step of worlds up to 256 items (and about 512 items a step beyond),
 * with the checker at -O0, made the suite 3.4 times slower (user CPU 34 s ->
 * 114 s; test_runner and test_mmc about 6x); at -O2 with an amortised 32
 * items a step, test_runner still took 1.7 times its CPU. So by default a world is checked on every step only while it has at
 * most KCHECK_FULL thread structs, events and objects, and beyond that on
 * every stride-th step (stride the power of two >= size / KCHECK_FULL, chosen
 * from nsched so it is deterministic): at most about 2 * KCHECK_FULL items a
 * step, amortised, every item looked at about every KCHECK_FULL steps, and
 * the suite within the noise of its time without the checker.
 * sim__kcheck_every_step turns sampling off for one world: the kernel stress
 * test (tests/test_kstress.c) checks every one of its steps. The checker
 * reads kernel state only: it traces nothing and draws nothing, so trace
 * hashes are the same with and without it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

int sim__kcheck_enabled(void) { return SIM_KCHECK; }

#if !SIM_KCHECK

void sim__kcheck(sim_world_t *w, const sim_thread_t *running) {
  (void)w;
  (void)running;
}
void sim__kcheck_step(sim_world_t *w, const sim_thread_t *running) {
  (void)w;
  (void)running;
}
void sim__kcheck_every_step(sim_world_t *w) { (void)w; }

#else

#define KCHECK_FULL 4

static const char *state_name(sim_thread_state_t s) {
  switch (s) {
  case SIM_T_READY: return "READY";
  case SIM_T_RUNNING: return "RUNNING";
  case SIM_T_BLOCKED: return "BLOCKED";
  case SIM_T_DONE: return "DONE";
  }
  return "?";
}

static void fail(sim_world_t *w, const char *inv, const sim_thread_t *t, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

static void fail(sim_world_t *w, const char *inv, const sim_thread_t *t, const char *fmt, ...) {
  char what[256], tbuf[160], now[48];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (t)
    snprintf(tbuf, sizeof tbuf, "T%llu %s (%s%s)", (unsigned long long)t->id,
             t->name_id < w->in.n ? sim_interned(w, t->name_id) : "?", state_name(t->state),
             t->freed ? ", freed" : "");
  else snprintf(tbuf, sizeof tbuf, "-");
  sim__fmt_time(w->now, now, sizeof now);
  sim__die("kernel invariant violated: %s\n  thread: %s\n  detail: %s\n  at t=%s, step %llu "
           "(%llu dispatches, %llu events)",
           inv, tbuf, what, now, (unsigned long long)w->nsched, (unsigned long long)w->steps,
           (unsigned long long)w->nevents_processed);
}

static size_t nstructs(const sim_world_t *w) {
  return w->nslabs ? (w->nslabs - 1) * 256 + w->slab_used : 0;
}

static sim_thread_t *struct_at(sim_world_t *w, size_t i) { return &w->slabs[i / 256][i % 256]; }

static int cmp_uptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* Is p one of the world's thread structs? (A wild pointer is reported, not
 * followed.) A binary search of the sorted slab addresses: a world of 10^5
 * threads has 400 slabs. */
static bool is_struct(sim_world_t *w, const sim_thread_t *p) {
  uintptr_t a = (uintptr_t)p;
  size_t lo = 0, hi = w->nchk_slabs; /* the last slab whose start <= a */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->chk_slabs[mid] <= a) lo = mid;
    else hi = mid;
  }
  if (hi == 0 || w->chk_slabs[lo] > a) return false;
  sim_thread_t *slab = (sim_thread_t *)w->chk_slabs[lo];
  size_t n = slab == w->slabs[w->nslabs - 1] ? w->slab_used : 256;
  return p < slab + n && (a - w->chk_slabs[lo]) % sizeof *p == 0;
}

static void sort_slabs(sim_world_t *w) {
  if (w->nchk_slabs == w->nslabs) return; /* slabs are only added */
  w->chk_slabs = sim__xrealloc(w->chk_slabs, (w->nslabs + 1) * sizeof *w->chk_slabs);
  for (size_t i = 0; i < w->nslabs; i++) w->chk_slabs[i] = (uintptr_t)w->slabs[i];
  qsort(w->chk_slabs, w->nslabs, sizeof *w->chk_slabs, cmp_uptr);
  w->nchk_slabs = w->nslabs;
}

static sim_thread_t *ready_at(const sim_world_t *w, size_t i) {
  return w->ready[(w->rhead + i) & (w->rcap - 1)];
}

static bool ev_less(const sim__event_t *a, const sim__event_t *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void check_waitq(sim_world_t *w, const sim__waitq_t *q, sim__wait_kind_t kind,
                        const void *obj, uint32_t name_id) {
#define what (name_id ? sim_interned(w, name_id) : "CPU run queue")
  uint64_t n = 0;
  const sim_thread_t *prev = NULL;
  for (sim_thread_t *t = q->head; t; t = t->wnext) {
    if (!is_struct(w, t)) fail(w, "wait queue member is a thread struct", NULL, "%s", what);
    if (t->wprev != prev) fail(w, "wait queue links (wprev) are consistent", t, "%s", what);
    if (++n > q->n)
      fail(w, "wait queue length n", t, "%s: more members than n=%llu", what,
           (unsigned long long)q->n);
    if (t->freed) fail(w, "no freed thread waits in a queue", t, "%s", what);
    if (t->state != SIM_T_BLOCKED)
      fail(w, "a thread is in a wait queue only while BLOCKED", t, "%s", what);
    if (t->wait_kind != kind || t->wait_obj != obj)
      fail(w, "a queued thread's wait kind and object match its queue", t,
           "%s: wait kind %d (queue's %d), object %s", what, (int)t->wait_kind, (int)kind,
           t->wait_obj == obj ? "matches" : "differs");
    if (t->chk_inq++) fail(w, "a thread is in at most one wait queue", t, "%s", what);
    prev = t;
  }
  if (n != q->n)
    fail(w, "wait queue length n", NULL, "%s: %llu members, n=%llu", what, (unsigned long long)n,
         (unsigned long long)q->n);
  if (q->tail != prev) fail(w, "wait queue tail is its last member", NULL, "%s", what);
#undef what
}

void sim__kcheck(sim_world_t *w, const sim_thread_t *running) {
  size_t ns = nstructs(w), nfreed = 0;
  w->nchecks++;
  sort_slabs(w);
  if (w->now < w->chk_last_now)
    fail(w, "virtual time never goes back", NULL, "now %lld < %lld", (long long)w->now,
         (long long)w->chk_last_now);
  w->chk_last_now = w->now;
  if (w->nsched != w->steps + w->nevents_processed)
    fail(w, "nsched = steps + nevents_processed", NULL, "%llu != %llu + %llu",
         (unsigned long long)w->nsched, (unsigned long long)w->steps,
         (unsigned long long)w->nevents_processed);
  for (size_t i = 0; i < ns; i++) {
    sim_thread_t *t = struct_at(w, i);
    t->chk_npend = t->chk_valid = 0;
    t->chk_inq = t->chk_inready = t->chk_inlive = t->chk_infree = 0;
    nfreed += t->freed;
  }
  for (size_t i = 0; i < w->nprocs; i++) w->procs[i]->chk_running = 0;

  /* free list */
  size_t nf = 0;
  for (sim_thread_t *t = w->free_threads; t; t = t->free_next) {
    if (!is_struct(w, t))
      fail(w, "the free list holds thread structs", NULL, "after %zu entries", nf);
    if (!t->freed)
      fail(w, "the free list holds only freed structs (no live thread on it)", t, "entry %zu", nf);
    if (t->chk_infree++) fail(w, "a struct is on the free list once", t, "entry %zu", nf);
    nf++;
  }
  if (nf != nfreed)
    fail(w, "the free list holds every freed struct", NULL, "%zu on the list, %zu freed", nf,
         nfreed);

  /* live list */
  uint64_t nl = 0;
  const sim_thread_t *prev = NULL;
  for (sim_thread_t *t = w->live_head; t; t = t->next) {
    if (!is_struct(w, t))
      fail(w, "the live list holds thread structs", NULL, "after %llu entries",
           (unsigned long long)nl);
    if (t->freed)
      fail(w, "no live thread is on the struct free list", t, "freed but on the live list");
    if (t->chk_inlive++) fail(w, "a thread is on the live list once", t, "seen twice");
    if (!t->in_list) fail(w, "in_list is set for the live list's threads", t, "in_list false");
    if (t->prev != prev) fail(w, "live list links (prev) are consistent", t, "bad prev");
    if (prev && prev->id >= t->id)
      fail(w, "the live list is in id order", t, "after T%llu", (unsigned long long)prev->id);
    if (t->state == SIM_T_DONE)
      fail(w, "the live list holds no DONE thread", t, "DONE on the live list");
    nl++;
    prev = t;
  }
  if (w->live_tail != prev) fail(w, "live_tail is the live list's last thread", NULL, "-");
  if (nl != w->nlive)
    fail(w, "nlive equals the live list's length", NULL, "nlive %llu, list %llu",
         (unsigned long long)w->nlive, (unsigned long long)nl);

  /* ready queue */
  for (size_t i = 0; i < w->rn; i++) {
    sim_thread_t *t = ready_at(w, i);
    if (!is_struct(w, t)) fail(w, "the ready queue holds thread structs", NULL, "slot %zu", i);
    if (t->freed) fail(w, "no freed thread is READY", t, "ready slot %zu", i);
    if (t->state != SIM_T_READY)
      fail(w, "the ready queue holds only READY threads", t, "ready slot %zu", i);
    if (t->chk_inready++) fail(w, "a thread is in the ready queue once", t, "ready slot %zu", i);
  }

  /* event heap (slot 0 is an empty hole while heap_hole) */
  size_t h0 = w->heap_hole ? 1 : 0;
  uint64_t nreal = 0, nstale = 0;
  for (size_t i = h0; i < w->nheap; i++) {
    const sim__event_t *ev = &w->heap[i];
    if (ev->time < w->now)
      fail(w, "no event is before now", NULL, "event at %lld, now %lld", (long long)ev->time,
           (long long)w->now);
    size_t p = (i - 1) / 2;
    if (i > 0 && p >= h0 && ev_less(ev, &w->heap[p]))
      fail(w, "the event heap is ordered by (time, seq)", NULL, "slot %zu before its parent", i);
    if (SIM__EV_KIND(*ev) == SIM__EV_SAMPLE) continue;
    nreal++;
    if (SIM__EV_KIND(*ev) != SIM__EV_WAKE) continue;
    sim_thread_t *t = ev->t;
    if (!is_struct(w, t)) fail(w, "a timer names a thread struct", NULL, "slot %zu", i);
    if (t->freed)
      fail(w, "no timer names a freed thread struct", t, "timer at %lld", (long long)ev->time);
    if (ev->token > t->timer_token)
      fail(w, "a timer's token is not newer than its thread's", t, "token %llu > %llu",
           (unsigned long long)ev->token, (unsigned long long)t->timer_token);
    t->chk_npend++;
    if (t->state == SIM_T_BLOCKED && ev->token == t->timer_token) t->chk_valid++;
    else nstale++;
  }
  if (nreal != w->nreal_events)
    fail(w, "nreal_events counts the heap's non-sample events", NULL,
         "%llu counted, nreal_events %llu", (unsigned long long)nreal,
         (unsigned long long)w->nreal_events);
  if (nstale != w->nstale)
    fail(w, "nstale equals the stale timers in the heap", NULL, "%llu stale, nstale %llu",
         (unsigned long long)nstale, (unsigned long long)w->nstale);

  /* sync objects and the CPU run queue */
  size_t nobj = 0;
  for (sim__obj_t *o = w->objs; o; o = o->onext) {
    nobj++;
    switch (o->type) {
    case SIM__OBJ_MUTEX: {
      sim_mutex_t *m = (sim_mutex_t *)o;
      check_waitq(w, &m->waiters, SIM__W_MUTEX, m, m->name_id);
      if (m->waiters.n && !m->owner)
        fail(w, "a mutex with waiters has an owner", m->waiters.head, "mutex %s",
             sim_interned(w, m->name_id));
      if (m->owner) {
        sim_thread_t *t = m->owner;
        if (!is_struct(w, t) || t->freed)
          fail(w, "a mutex's owner is a thread in use", is_struct(w, t) ? t : NULL, "mutex %s",
               sim_interned(w, m->name_id));
        int k = 0;
        for (int i = 0; i < t->nheld; i++) k += t->held[i].m == m;
        if (k != 1)
          fail(w, "a mutex's owner holds it once in its held[] list", t, "mutex %s listed %d times",
               sim_interned(w, m->name_id), k);
      }
      break;
    }
    case SIM__OBJ_COND: {
      sim_cond_t *c = (sim_cond_t *)o;
      check_waitq(w, &c->waiters, SIM__W_COND, c, c->name_id);
      break;
    }
    case SIM__OBJ_SEM: {
      sim_sem_t *s = (sim_sem_t *)o;
      check_waitq(w, &s->waiters, SIM__W_SEM, s, s->name_id);
      if (s->value < 0)
        fail(w, "a semaphore's value is >= 0", NULL, "semaphore %s: %lld",
             sim_interned(w, s->name_id), (long long)s->value);
      if (s->waiters.n && s->value != 0)
        fail(w, "a semaphore with waiters has value 0", s->waiters.head, "semaphore %s: %lld",
             sim_interned(w, s->name_id), (long long)s->value);
      break;
    }
    default: fail(w, "sync objects have a known type", NULL, "type %d", o->type);
    }
  }
  if (nobj != w->nobjs)
    fail(w, "nobjs counts the object list", NULL, "%zu listed, nobjs %zu", nobj, w->nobjs);
  check_waitq(w, &w->runq, SIM__W_CPU, NULL, 0);

  /* every struct in use */
  int on_core = 0;
  for (size_t i = 0; i < ns; i++) {
    sim_thread_t *t = struct_at(w, i);
    if (t->freed) continue;
    bool live = t->state != SIM_T_DONE;
    if (t->chk_npend != t->npending)
      fail(w, "npending equals the WAKE events naming the thread", t, "npending %u, %u in the heap",
           t->npending, t->chk_npend);
    if (t->chk_valid > 1)
      fail(w, "at most one valid timer per thread", t, "%u valid", t->chk_valid);
    if (t->timer_armed != (t->chk_valid == 1))
      fail(w, "timer_armed is set exactly when a valid timer names the thread", t,
           "timer_armed %d, %u valid", (int)t->timer_armed, t->chk_valid);
    if ((bool)t->chk_inlive != live || t->in_list != live)
      fail(w, "the live list holds exactly the threads that are not DONE", t, "on the list: %d",
           (int)t->chk_inlive);
    if ((t->state == SIM_T_READY) != (bool)t->chk_inready)
      fail(w, "the ready queue holds exactly the READY threads", t, "in the ready queue: %d",
           (int)t->chk_inready);
    if (t->state == SIM_T_RUNNING && t != running)
      fail(w, "only the dispatched thread is RUNNING", t, "%s T%llu",
           running ? "while dispatching" : "while an event is carried out, dispatched last:",
           running ? (unsigned long long)running->id : 0ull);
    if (t->state != SIM_T_BLOCKED && t->chk_inq)
      fail(w, "a thread is in a wait queue only while BLOCKED", t, "in a queue");
    if (t->nheld < 0 || t->nheld > SIM__MAX_HELD)
      fail(w, "0 <= nheld <= SIM__MAX_HELD", t, "nheld %d", t->nheld);
    for (int k = 0; k < t->nheld; k++) {
      sim_mutex_t *m = t->held[k].m;
      if (m->owner != t)
        fail(w, "each lock in held[] is owned by the thread", t, "mutex %s owned by %s",
             sim_interned(w, m->name_id), m->owner ? "another thread" : "nobody");
    }
    if (t->joiner) {
      sim_thread_t *j = t->joiner;
      if (!is_struct(w, j) || j->freed || j->state != SIM_T_BLOCKED ||
          j->wait_kind != SIM__W_JOIN || j->wait_obj != t)
        fail(w, "a thread's joiner is BLOCKED joining it", t, "joiner T%llu",
             is_struct(w, j) ? (unsigned long long)j->id : 0ull);
    }
    if (!live) {
      if (t->npending == 0 && t->nheld == 0 && (!t->joinable || t->joined) && t != w->dead)
        fail(w, "a finished thread struct is freed once nothing refers to it", t,
             "DONE, no timer, no lock, not joinable, not w->dead");
      continue;
    }
    if (t->wait_kind == SIM__W_CPU_RUN) {
      on_core++;
      t->proc->chk_running++;
    } else if (t->wait_kind == SIM__W_CPU && t->state != SIM_T_BLOCKED && t->wake_rc == 0) {
      on_core++; /* the run queue handed it a core */
    }
    if (t->state != SIM_T_BLOCKED) continue;
    switch (t->wait_kind) {
    case SIM__W_MUTEX:
    case SIM__W_COND:
    case SIM__W_SEM:
    case SIM__W_CPU:
      if (!t->chk_inq)
        fail(w, "a thread BLOCKED on a mutex, cond, semaphore or core is in that object's queue", t,
             "wait kind %d, in no queue", (int)t->wait_kind);
      if (t->wait_kind == SIM__W_MUTEX && t->timer_armed)
        fail(w, "a mutex wait has no timer", t, "timer armed");
      break;
    case SIM__W_SLEEP:
    case SIM__W_CPU_RUN:
      if (!t->timer_armed)
        fail(w, "a sleeping thread or a CPU slice has an armed timer", t, "wait kind %d",
             (int)t->wait_kind);
      break;
    case SIM__W_JOIN: {
      sim_thread_t *d = t->wait_obj;
      if (!is_struct(w, d) || d->freed || d->joiner != t || d->state == SIM_T_DONE)
        fail(w, "a thread BLOCKED in a join is the joiner of a thread not yet DONE", t,
             "joining T%llu", is_struct(w, d) ? (unsigned long long)d->id : 0ull);
      break;
    }
    default: fail(w, "a BLOCKED thread has a wait kind", t, "wait kind %d", (int)t->wait_kind);
    }
  }
  if (running && (!is_struct(w, running) || running->state != SIM_T_RUNNING))
    fail(w, "the dispatched thread is RUNNING", is_struct(w, running) ? running : NULL, "-");
  if (w->dead && (!is_struct(w, w->dead) || w->dead->state != SIM_T_DONE || w->dead->freed))
    fail(w, "w->dead is a DONE thread not yet freed", is_struct(w, w->dead) ? w->dead : NULL, "-");

  /* CPU */
  if (w->busy < 0 || w->busy > w->ncores)
    fail(w, "0 <= busy cores <= cores", NULL, "busy %d of %d", w->busy, w->ncores);
  if (w->runq.n > 0 && w->busy != w->ncores)
    fail(w, "threads wait for a core only while all cores are busy", w->runq.head,
         "busy %d of %d, %llu waiting", w->busy, w->ncores, (unsigned long long)w->runq.n);
  if (on_core != w->busy)
    fail(w, "busy cores equal the threads holding a core", NULL, "busy %d, %d threads on a core",
         w->busy, on_core);
  for (size_t i = 0; i < w->nprocs; i++)
    if (w->procs[i]->chk_running != w->procs[i]->running)
      fail(w, "a process's running cores equal its threads in a CPU slice", NULL,
           "process %s: running %d, %d in a slice", w->procs[i]->name, w->procs[i]->running,
           w->procs[i]->chk_running);
}

void sim__kcheck_every_step(sim_world_t *w) { w->kcheck_all = true; }

void sim__kcheck_step(sim_world_t *w, const sim_thread_t *running) {
  if (w->kcheck_all) {
    sim__kcheck(w, running);
    return;
  }
  size_t size = nstructs(w) + w->nheap + w->nobjs;
  if (size > KCHECK_FULL) {
    uint64_t stride = 1;
    while (stride * KCHECK_FULL < size) stride <<= 1;
    if (w->nsched & (stride - 1)) return;
  }
  sim__kcheck(w, running);
}

#endif
