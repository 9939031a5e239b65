/*
 * The threads backend ("live"): every simulated thread is a real pthread.
 *
 * One world lock, the GIL (w->lv->gil), is held by whichever thread runs
 * model code, so the model's shared state keeps the atomicity it has under
 * coroutines (no data race in model code for a race detector to report).
 * It is a binary semaphore, not a mutex: ThreadSanitizer and Helgrind see
 * its sem_post -> sem_wait as happens-before, but no lock, so their lock
 * graphs hold the model's mutexes only. A mutex GIL would put every model
 * mutex in a cycle with it: a thread takes a model mutex under the GIL
 * (Helgrind adds a lock-order edge for a successful trylock too:
 * evhH__post_thread_w_acquires_lock does not look at isTryLock) and takes
 * the GIL again while it holds model mutexes, a false inversion in every
 * run with or without the fix.
 * Outside a run the host thread that created the world holds it; inside
 * sim_world_run that thread is the clock (world.c, live_run) and lets go of
 * it only while it waits for the next event. Every blocking call releases
 * it while blocked:
 *  - a park (sim__block: sleep, condition variable, semaphore, join, core)
 *    is a pthread_cond_wait on the thread's own condition variable (with a
 *    mutex of its own: the GIL is released first); sim__wake (ready_push)
 *    makes it READY and it is signalled when the waker releases the GIL, so
 *    that it does not wake only to wait for the GIL (a futex wake costs tens
 *    of microseconds on a virtual machine); a timer is an event the clock
 *    carries out when the scaled wall clock reaches it;
 *  - a contended mutex is a real pthread_mutex_lock, without the GIL
 *    (sim__live_mutex_wait; sync.c);
 *  - a CPU slice is a real busy loop, without the GIL (sim__live_burn).
 * Virtual time is the monotonic wall clock divided by the scale since the
 * run (slice) started, read whenever a thread takes the GIL: it never goes
 * back and never passes the `until` of the run in progress.
 *
 * States of a pthread: started at spawn (READY, waiting for the GIL), it
 * runs the thread function under the GIL, parks and resumes, and ends at
 * sim_thread_exit (it releases the GIL, and its thread struct may be reused
 * at once: nothing of it lives in the struct but the pointer to its parking
 * spot, which is on its own stack). At world destroy (ending) every pthread
 * leaves at its next step: a parked one wakes, unlocks the real mutexes it
 * holds (so their waiters can leave too) and jumps back to its start
 * routine. Those stuck in a real deadlock never get there: they are
 * abandoned, and the world keeps what they can touch (sim_world_destroy).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kernel_int.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LIVE_ON_VALGRIND RUNNING_ON_VALGRIND
#else
#define LIVE_ON_VALGRIND 0
#endif

/* A thread struct's parking spot, made at its first live spawn and kept
 * with it (reused with the struct) until the world is destroyed: a waker
 * signals it after releasing its mutex, when the woken thread may have
 * finished already, so it must outlive its pthread. */
typedef struct sim__lthread {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool go; /* under mu: woken */
} sim__lthread_t;

/* Back to the start routine of this pthread (leave). */
static _Thread_local jmp_buf *tl_leave;

/* The watchdog period: the longest the clock sleeps without looking at
 * the wait-for graph and the interrupt flag. */
#define WATCHDOG_NS ((int64_t)10 * 1000 * 1000)
/* The shortest CPU slice, in wall ns (see sim__live_init). */
#define MIN_SLICE_NS ((int64_t)200 * 1000)
/* The longest the clock waits for READY threads to run before a sample or
 * the end of a run (sim__live_settle): a hand-off takes microseconds, a
 * busy host longer. */
#define SETTLE_NS ((int64_t)500 * 1000)
/* How long destroy waits for the pthreads to leave before it abandons
 * those still there. */
#define SHUTDOWN_NS ((int64_t)3 * 1000 * 1000 * 1000)

int64_t sim__live_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns) {
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  return ts;
}

int sim__live_init(sim_world_t *w, char *err, size_t n) {
  if (w->o.backend != SIM_BACKEND_THREADS) {
    snprintf(err, n, "unknown backend %d", w->o.backend);
    return SIM_EINVAL;
  }
  if (w->sched->kind != SIM_SCHED_FIFO) {
    snprintf(err, n,
             "the threads backend runs the fifo scheduler only (the host's scheduler "
             "decides; --sched is for the virtual backend)");
    return SIM_EINVAL;
  }
  if (!(w->o.time_scale > 0) || w->o.time_scale > 1e6) {
    snprintf(err, n, "invalid time scale %g (wall ns per virtual ns)", w->o.time_scale);
    return SIM_EINVAL;
  }
  sim__live_t *lv = sim__xcalloc(1, sizeof *lv);
  sem_init(&lv->gil, 0, 0); /* taken: by the creating thread until destroy */
  lv->clock_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (lv->clock_fd < 0) {
    snprintf(err, n, "threads backend: eventfd: %s", strerror(errno));
    sem_destroy(&lv->gil);
    free(lv);
    return SIM_EINVAL;
  }
  lv->scale = w->o.time_scale;
  /* A CPU slice lasts at least MIN_SLICE_NS of wall time: a slice costs two
   * GIL hand-offs (microseconds each, tens under contention), which at
   * 1m=10ms would make a virtual 10 ms quantum (1.7 us of wall time) last
   * ten times longer than it should. The host's own scheduler slices
   * coarser than that too. */
  w->live_quantum = (sim_time_t)((double)MIN_SLICE_NS / lv->scale);
  lv->m_base = sim__live_mono();
  w->lv = lv;
  w->live = true;
  return 0;
}

void sim__live_free(sim_world_t *w) {
  sim__live_t *lv = w->lv;
  if (!lv) return;
  close(lv->clock_fd);
  sem_destroy(&lv->gil);
  free(lv->pend);
  for (size_t i = 0; i < lv->nlts; i++) {
    pthread_cond_destroy(&lv->lts[i]->cv);
    pthread_mutex_destroy(&lv->lts[i]->mu);
    free(lv->lts[i]);
  }
  free(lv->lts);
  free(lv);
  w->lv = NULL;
}

void sim__live_tick(sim_world_t *w) {
  const sim__live_t *lv = w->lv;
  double d = (double)(sim__live_mono() - lv->m_base) / lv->scale;
  sim_time_t v =
      d >= (double)(SIM_TIME_MAX - lv->v_base) ? SIM_TIME_MAX : lv->v_base + (sim_time_t)d;
  if (v > w->until) v = w->until;
  if (v > w->now) w->now = v;
}

int64_t sim__live_wall_of(const sim_world_t *w, sim_time_t v) {
  const sim__live_t *lv = w->lv;
  double d = (double)(v - lv->v_base) * lv->scale;
  if (d > 1e17) d = 1e17;
  return lv->m_base + (int64_t)d;
}

/* The signal comes after the unlock, so that the woken thread does not
 * wake only to wait for the mutex. */
static void gil_lock(sim__live_t *lv) {
  while (sem_wait(&lv->gil) != 0) {
  }
}

/* The signal comes after the unlock, so that the woken thread does not
 * wake only to wait for the mutex; under Valgrind before it, as Helgrind
 * calls a signal without the mutex "dubious" (a report in every run). */
static void cv_signal(pthread_mutex_t *mu, pthread_cond_t *cv, bool *flag) {
  pthread_mutex_lock(mu);
  *flag = true;
  if (LIVE_ON_VALGRIND) {
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    return;
  }
  pthread_mutex_unlock(mu);
  pthread_cond_signal(cv);
}

static void lt_signal(sim__lthread_t *lt) { cv_signal(&lt->mu, &lt->cv, &lt->go); }
/* The clock sleeps in ppoll on an eventfd, not on a condition variable:
 * a timed wait that times out as a signal comes in makes glibc 2.36 wake
 * the other waiters from inside pthread_cond_timedwait, without the mutex,
 * and Helgrind reports that as a "dubious" signal of ours (seen in CI).
 * Pokes add up in the counter and a poke before the sleep is not lost. */
static void clock_signal(sim__live_t *lv) {
  uint64_t one = 1;
  while (write(lv->clock_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

/* Releases the GIL, then signals the threads made READY under it, and the
 * clock if it was poked. A woken thread cannot go before its signal, so
 * its parking spot is still there. */
static void gil_release(sim__live_t *lv) {
  sim__lthread_t *local[64];
  size_t n = lv->npend < 64 ? lv->npend : 64;
  for (size_t i = 64; i < lv->npend; i++) lt_signal(lv->pend[i]); /* a burst: these now */
  if (n) memcpy(local, lv->pend, n * sizeof *local);
  lv->npend = 0;
  bool poke = lv->poke_due;
  lv->poke_due = false;
  sem_post(&lv->gil);
  for (size_t i = 0; i < n; i++) lt_signal(local[i]);
  if (poke) clock_signal(lv);
}

/* Takes the GIL again after a wait without it; a thread of an ending world
 * leaves instead (never returns). */
static void leave(sim_thread_t *t) __attribute__((noreturn));
static void gil_take(sim_thread_t *t) {
  sim_world_t *w = t->w;
  gil_lock(w->lv);
  if (w->lv->ending) leave(t);
  sim__live_tick(w);
}

/* A READY thread took the GIL to run: the last one pokes a settling clock. */
static void ready_ran(sim__live_t *lv) {
  if (lv->nready) lv->nready--;
  if (!lv->nready && lv->settling) lv->poke_due = true;
}

/* The pthread of a simulated thread. */
static void *thread_main(void *arg) {
  sim_thread_t *t = arg;
  sim_world_t *w = t->w;
  jmp_buf jb;
  tl_leave = &jb;
  if (setjmp(jb) == 0) {
    gil_lock(w->lv);
    if (w->lv->ending) leave(t);
    ready_ran(w->lv);
    sim__live_tick(w);
    sim__set_current(t);
    t->state = SIM_T_RUNNING;
    w->steps++;
    sim__trace(w, t->id, w->k_run, 0, 0);
    t->fn(t->arg);
    sim_thread_exit();
  }
  /* left: the GIL is released, t and w are not ours any more */
  return NULL;
}

int sim__live_start(sim_world_t *w, sim_thread_t *t) {
  sim__live_t *lv = w->lv;
  if (!t->lt) { /* a new struct: its parking spot */
    sim__lthread_t *lt = sim__xcalloc(1, sizeof *lt);
    pthread_mutex_init(&lt->mu, NULL);
    pthread_cond_init(&lt->cv, NULL);
    if (lv->nlts == lv->caplts) {
      lv->caplts = lv->caplts ? 2 * lv->caplts : 64;
      lv->lts = sim__xrealloc(lv->lts, lv->caplts * sizeof *lv->lts);
    }
    lv->lts[lv->nlts++] = lt;
    t->lt = lt;
  }
  pthread_mutex_lock(&t->lt->mu); /* a signal of its last life may be pending */
  t->lt->go = false;
  pthread_mutex_unlock(&t->lt->mu);
  pthread_attr_t a;
  pthread_t pt;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  size_t ss = w->o.stack_size < 65536 ? 65536 : w->o.stack_size;
  pthread_attr_setstacksize(&a, ss);
  int rc = pthread_create(&pt, &a, thread_main, t);
  pthread_attr_destroy(&a);
  if (rc != 0) return SIM_ENOMEM;
  w->lv->nalive++;
  w->lv->nready++;
  return 0;
}

void sim__live_ready(sim_world_t *w, sim_thread_t *t) {
  sim__live_t *lv = w->lv;
  if (lv->npend == lv->cappend) {
    lv->cappend = lv->cappend ? 2 * lv->cappend : 64;
    lv->pend = sim__xrealloc(lv->pend, lv->cappend * sizeof *lv->pend);
  }
  lv->pend[lv->npend++] = t->lt;
  lv->nready++;
}

/* Ends the pthread of t under the GIL: a thread of an ending world first
 * unlocks the real mutexes it holds, so that their waiters can leave. */
static void leave(sim_thread_t *t) {
  sim_world_t *w = t->w;
  sim__live_t *lv = w->lv;
  if (lv->ending) {
    for (int i = 0; i < t->nheld; i++) {
      sim_mutex_t *m = t->held[i].m;
      if (m->owner == t) m->owner = NULL;
      pthread_mutex_unlock(&m->pm);
    }
    t->nheld = 0;
    t->state = SIM_T_DONE; /* gone: destroy does not wait for it */
  }
  /* Everything it signals, it signals under the GIL: once nalive says it
   * is gone, destroy may free the world. */
  for (size_t i = 0; i < lv->npend; i++) lt_signal(lv->pend[i]);
  lv->npend = 0;
  lv->poke_due = false;
  clock_signal(lv); /* the clock (or destroy) counts the threads */
  lv->nalive--;
  sim__set_current(NULL);
  sem_post(&lv->gil);
  longjmp(*tl_leave, 1);
}

void sim__live_exit(sim_thread_t *t) { leave(t); }

/* Waits for the signal of a park, without the GIL. */
static void park_wait(sim__lthread_t *lt) {
  pthread_mutex_lock(&lt->mu);
  while (!lt->go) pthread_cond_wait(&lt->cv, &lt->mu); /* a parked thread waits here */
  lt->go = false;
  pthread_mutex_unlock(&lt->mu);
}

void sim__live_park(sim_thread_t *t) {
  sim_world_t *w = t->w;
  while (t->state == SIM_T_BLOCKED) {
    gil_release(w->lv);
    park_wait(t->lt);
    gil_take(t);
  }
  ready_ran(w->lv);
  t->state = SIM_T_RUNNING;
  w->steps++;
  sim__trace(w, t->id, w->k_run, 0, 0);
}

void sim__live_yield(sim_thread_t *t) {
  sim_world_t *w = t->w;
  sim__trace(w, t->id, w->k_yield, 0, 0);
  gil_release(w->lv);
  sched_yield();
  gil_take(t);
}

void sim__live_burn(sim_thread_t *t, sim_time_t slice) {
  sim_world_t *w = t->w;
  int64_t end = sim__live_wall_of(w, w->now + slice);
  t->state = SIM_T_BLOCKED; /* for the detectors: "running on a CPU core" */
  t->wait_kind = SIM__W_CPU_RUN;
  t->wait_obj = NULL;
  gil_release(w->lv);
  /* the host's core burns for the slice: `top` shows it */
  while (sim__live_mono() < end) {
  }
  gil_take(t);
  t->state = SIM_T_RUNNING;
  t->wait_kind = SIM__W_NONE;
}

void sim__live_mutex_wait(sim_thread_t *t, sim_mutex_t *m) {
  sim_world_t *w = t->w;
  t->state = SIM_T_BLOCKED;
  t->wait_kind = SIM__W_MUTEX;
  t->wait_obj = m;
  sim__trace(w, t->id, w->k_block, m->name_id, SIM__W_MUTEX);
  gil_release(w->lv);
  pthread_mutex_lock(&m->pm); /* a real deadlock stays here */
  gil_lock(w->lv);
  if (w->lv->ending) {
    pthread_mutex_unlock(&m->pm); /* not recorded as held: leave drops it here */
    leave(t);
  }
  sim__live_tick(w);
  t->state = SIM_T_RUNNING;
  t->wait_kind = SIM__W_NONE;
  t->wait_obj = NULL;
  w->steps++;
  sim__trace(w, t->id, w->k_run, 0, 0);
}

/* Sleeps without the GIL until wall time `at` or a poke. */
static void clock_sleep(sim__live_t *lv, int64_t at) {
  gil_release(lv);
  int64_t left = at - sim__live_mono();
  if (left < 0) left = 0;
  struct timespec ts = ts_of(left);
  struct pollfd pfd = {.fd = lv->clock_fd, .events = POLLIN};
  if (ppoll(&pfd, 1, &ts, NULL) > 0) {
    uint64_t v;
    ssize_t r = read(lv->clock_fd, &v, sizeof v); /* drains the pokes */
    (void)r;
  }
  gil_lock(lv);
}

/* Lets the threads made READY run (each until it blocks again) before the
 * clock takes a sample or ends the run (world.c, live_run_loop), as on the
 * virtual backend, where a READY thread runs before the next event: a
 * sample at the instant a timer wakes a thread sees what the thread did.
 * Waits at most SETTLE_NS of wall time (a busy host may not run them
 * sooner), woken by the last one to take the GIL. */
void sim__live_settle(sim_world_t *w) {
  sim__live_t *lv = w->lv;
  lv->settling = true;
  clock_sleep(lv, sim__live_mono() + SETTLE_NS);
  lv->settling = false;
}

void sim__live_clock_wait(sim_world_t *w, sim_time_t next) {
  sim__live_t *lv = w->lv;
  int64_t now = sim__live_mono();
  int64_t at = sim__live_wall_of(w, next);
  if (at > now + WATCHDOG_NS) at = now + WATCHDOG_NS;
  if (at <= now) return;
  lv->clock_wake = next;
  lv->clock_waiting = true;
  clock_sleep(lv, at);
  lv->clock_waiting = false;
}

/* A thread that waits on a mutex whose owner is itself stuck (in a
 * cycle, or gone holding it) never gets it. */
static bool mutex_stuck(const sim_thread_t *t) {
  const sim_thread_t *x = t;
  for (int i = 0; i < 64; i++) {
    if (x->state != SIM_T_BLOCKED || x->wait_kind != SIM__W_MUTEX) return false;
    const sim_thread_t *o = ((const sim_mutex_t *)x->wait_obj)->owner;
    if (!o) return false; /* free: the waiter gets it */
    if (o == t || o->state == SIM_T_DONE) return true;
    x = o;
  }
  return true; /* a chain of 64: a cycle further on */
}

bool sim__live_all_blocked(sim_world_t *w) {
  for (const sim_thread_t *t = w->live_head; t; t = t->next) {
    if (t->state != SIM_T_BLOCKED || t->wait_kind == SIM__W_CPU_RUN) return false;
    if (t->wait_kind == SIM__W_MUTEX && !((const sim_mutex_t *)t->wait_obj)->owner)
      return false; /* it is taking the mutex now */
  }
  return true;
}

void sim__live_watchdog(sim_world_t *w) {
  for (sim_thread_t *t = w->live_head; t; t = t->next)
    if (!t->dl_reported && t->state == SIM_T_BLOCKED && t->wait_kind == SIM__W_MUTEX &&
        ((sim_mutex_t *)t->wait_obj)->owner)
      sim__check_waitfor(w, t, t->wait_obj, t->wait_file, t->wait_line);
}

bool sim__live_shutdown(sim_world_t *w) {
  sim__live_t *lv = w->lv;
  if (!lv) return false;
  lv->ending = true;
  lv->npend = 0;
  /* every parked thread wakes (a thread on a core or in a mutex wait
   * leaves when it takes the GIL again) */
  for (sim_thread_t *t = w->live_head; t; t = t->next)
    if (t->lt && t->state != SIM_T_DONE) sim__live_ready(w, t);
  int64_t give_up = sim__live_mono() + SHUTDOWN_NS;
  for (;;) {
    uint64_t stuck = 0;
    for (sim_thread_t *t = w->live_head; t; t = t->next)
      if (t->state != SIM_T_DONE && mutex_stuck(t)) stuck++;
    if (lv->nalive <= stuck) return lv->nalive > 0;
    int64_t now = sim__live_mono();
    if (now >= give_up) return true;
    clock_sleep(lv, now + WATCHDOG_NS < give_up ? now + WATCHDOG_NS : give_up);
  }
}
