/*
 * Mutexes, condition variables and semaphores of simulated threads.
 *
 * Mutex states:   FREE -> OWNED [lock/trylock]; OWNED -> OWNED by the first
 *                 waiter, FIFO hand-off [unlock with waiters]; OWNED -> FREE
 *                 [unlock without waiters].
 * Each lock attempt is a scheduling point, runs the lock-order validator
 * (detect.c) before blocking, and, when it must block, checks the wait-for
 * graph for a cycle through mutex owners.
 * A condition variable wait releases the mutex, waits for a signal (or the
 * deadline, or cancellation) and takes the mutex again before returning.
 * A semaphore hands units to waiters in FIFO order.
 *
 * Threads backend (live.c): a mutex also holds a real pthread_mutex_t, and
 * the bookkeeping above (owner, waiters, held locks) is done under the GIL,
 * so the wait-for graph and the lock-order validator see what they see on
 * the virtual backend. A lock of a mutex that is free takes the real one
 * under the GIL; when it is busy the thread registers as a waiter, checks
 * the wait-for graph, releases the GIL and blocks in pthread_mutex_lock; it
 * takes the GIL again once it has the mutex. No thread ever blocks on a
 * model mutex while it holds the GIL, and a real deadlock shows in a
 * debugger as threads in pthread_mutex_lock, each holding what the next one
 * wants. Unlock
 * releases the real mutex: no FIFO hand-off (a third thread may barge in
 * before the waiter, as with any pthread mutex). Condition variables and
 * semaphores park their waiters on their own pthread condition variables
 * (sim__block), the real mutex released and taken again around a wait.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

static void *obj_new(sim_world_t *w, size_t size, int type) {
  sim__obj_t *o = sim__xcalloc(1, size);
  o->type = type;
  o->onext = w->objs;
  if (w->objs)
    w->objs->oprev = o;
  w->objs = o;
  w->nobjs++;
  return o;
}

static void obj_free(sim_world_t *w, sim__obj_t *o) {
  if (o->oprev)
    o->oprev->onext = o->onext;
  else
    w->objs = o->onext;
  if (o->onext)
    o->onext->oprev = o->oprev;
  w->nobjs--;
  free(o);
}

/* ---- mutex ---- */
sim_mutex_t *sim_mutex_create(sim_world_t *w, const char *cls) {
  sim_mutex_t *m = obj_new(w, sizeof *m, SIM__OBJ_MUTEX);
  m->w = w;
  m->name_id = sim_intern(w, cls ? cls : "mutex");
  m->cls = sim__ld_class(w, m->name_id);
  if (w->live) pthread_mutex_init(&m->pm, NULL);
  return m;
}

const char *sim_mutex_name(const sim_mutex_t *m) {
  return sim_interned(m->w, m->name_id);
}
sim_thread_t *sim_mutex_owner(const sim_mutex_t *m) { return m->owner; }
int sim_mutex_held(const sim_mutex_t *m) {
  return m->owner != NULL && m->owner == sim_self();
}

static void take(sim_mutex_t *m, sim_thread_t *t, const char *file, int line) {
  sim_world_t *w = m->w;
  m->owner = t;
  m->own_file = file;
  m->own_line = line;
  if (t->nheld < SIM__MAX_HELD) {
    t->held[t->nheld].m = m;
    t->held[t->nheld].file = file;
    t->held[t->nheld].line = line;
    t->held[t->nheld].time = w->now;
    t->nheld++;
  } else {
    sim__die("sim_mutex_lock: thread T%llu holds more than %d locks",
             (unsigned long long)t->id, SIM__MAX_HELD);
  }
  sim__trace(w, t->id, w->k_lock, m->name_id, 0);
}

void sim_mutex_lock_at(sim_mutex_t *m, const char *file, int line) {
  sim_thread_t *t = sim__current_checked("sim_mutex_lock");
  sim_world_t *w = m->w;
  sim__sched_point(t, "lock", m->name_id);
  if (m->owner == t) {
    sim__report_misuse(w, t, "relock of a mutex the thread already holds (AA)",
                       m, file, line);
  } else {
    sim__ld_acquire(w, t, m, file, line);
  }
  if (w->live) {
    /* Free by the books (no owner, and no waiter on its way to the real
     * mutex, which takes it before it can say so under the GIL): the real
     * lock cannot block, so it is taken under the GIL, and with
     * pthread_mutex_lock rather than trylock, which ThreadSanitizer's
     * deadlock detector leaves out of its lock-order graph. Otherwise the
     * thread never blocks on it while it holds the GIL (live.c). */
    if (!m->owner && m->waiters.n == 0) {
      pthread_mutex_lock(&m->pm);
      take(m, t, file, line);
      return;
    }
    t->wait_file = file;
    t->wait_line = line;
    sim__check_waitfor(w, t, m, file, line);
    sim__waitq_push(&m->waiters, t);
    sim__live_mutex_wait(t, m); /* the real lock, without the GIL */
    sim__waitq_remove(&m->waiters, t);
    take(m, t, file, line);
    return;
  }
  if (m->owner == NULL) {
    take(m, t, file, line);
    return;
  }
  sim__check_waitfor(w, t, m, file, line);
  sim__waitq_push(&m->waiters, t);
  sim__block(SIM__W_MUTEX, m, m->name_id, -1, file, line);
  /* unlock handed the mutex over: take() was done by the unlocker */
}

int sim_mutex_trylock_at(sim_mutex_t *m, const char *file, int line) {
  sim_thread_t *t = sim__current_checked("sim_mutex_trylock");
  sim__sched_point(t, "trylock", m->name_id);
  if (m->owner != NULL || (m->w->live && pthread_mutex_trylock(&m->pm) != 0)) return SIM_EBUSY;
  /* A successful trylock cannot deadlock, but it still orders locks. */
  sim__ld_acquire(m->w, t, m, file, line);
  take(m, t, file, line);
  return 0;
}

static void drop_held(sim_thread_t *t, sim_mutex_t *m) {
  for (int i = t->nheld - 1; i >= 0; i--) {
    if (t->held[i].m == m) {
      memmove(&t->held[i], &t->held[i + 1],
              (size_t)(t->nheld - i - 1) * sizeof t->held[0]);
      t->nheld--;
      return;
    }
  }
}

static void unlock_internal(sim_mutex_t *m, sim_thread_t *t) {
  sim_world_t *w = m->w;
  drop_held(t, m);
  sim__trace(w, t->id, w->k_unlock, m->name_id, 0);
  if (w->live) { /* the waiters take it themselves (no hand-off) */
    m->owner = NULL;
    pthread_mutex_unlock(&m->pm);
    return;
  }
  sim_thread_t *n = sim__waitq_pop(&m->waiters);
  m->owner = NULL;
  if (n) {
    take(m, n, n->wait_file, n->wait_line);
    sim__wake(n, 0);
  }
}

void sim_mutex_unlock_at(sim_mutex_t *m, const char *file, int line) {
  sim_thread_t *t = sim__current_checked("sim_mutex_unlock");
  if (m->owner != t) {
    sim__report_misuse(m->w, t,
                       m->owner ? "unlock of a mutex held by another thread"
                                : "unlock of a mutex that is not locked",
                       m, file, line);
    return;
  }
  unlock_internal(m, t);
  sim__sched_point(t, "unlocked", m->name_id);
}

void sim_mutex_destroy_at(sim_mutex_t *m, const char *file, int line) {
  if (!m)
    return;
  if (m->owner || m->waiters.n) {
    sim_thread_t *t = sim_self();
    sim__report_misuse(m->w, t ? t : m->owner,
                       "destroy of a mutex that is held", m, file, line);
    m->zombie = true; /* freed with the world */
    return;
  }
  if (m->w->live) pthread_mutex_destroy(&m->pm);
  obj_free(m->w, &m->o);
}

/* ---- condition variable ---- */
sim_cond_t *sim_cond_create(sim_world_t *w, const char *name) {
  sim_cond_t *c = obj_new(w, sizeof *c, SIM__OBJ_COND);
  c->w = w;
  c->name_id = sim_intern(w, name ? name : "cond");
  return c;
}

void sim_cond_destroy(sim_cond_t *c) {
  if (!c)
    return;
  if (c->waiters.n)
    sim__die("sim_cond_destroy: condition variable '%s' has waiters",
             sim_interned(c->w, c->name_id));
  obj_free(c->w, &c->o);
}

int sim_cond_timedwait(sim_cond_t *c, sim_mutex_t *m, sim_time_t deadline) {
  sim_thread_t *t = sim__current_checked("sim_cond_wait");
  sim_world_t *w = c->w;
  if (m->owner != t)
    sim__die("sim_cond_wait: mutex '%s' is not held by the caller",
             sim_interned(w, m->name_id));
  if (t->canceled)
    return SIM_ECANCELED;
  const char *file = m->own_file;
  int line = m->own_line;
  unlock_internal(m, t);
  sim__waitq_push(&c->waiters, t);
  t->op = "wait";
  t->op_obj = c->name_id;
  int rc = sim__block(SIM__W_COND, c, c->name_id, deadline, NULL, 0);
  sim_mutex_lock_at(m, file, line);
  return rc;
}

int sim_cond_wait(sim_cond_t *c, sim_mutex_t *m) {
  return sim_cond_timedwait(c, m, -1);
}

void sim_cond_signal(sim_cond_t *c) {
  sim_thread_t *t = sim__waitq_pop(&c->waiters);
  sim__trace(c->w, sim_self() ? sim_self()->id : 0, c->w->k_signal, c->name_id,
             t ? (int64_t)t->id : 0);
  if (t)
    sim__wake(t, 0);
}

void sim_cond_broadcast(sim_cond_t *c) {
  sim_thread_t *t;
  sim__trace(c->w, sim_self() ? sim_self()->id : 0, c->w->k_signal, c->name_id,
             -(int64_t)c->waiters.n);
  while ((t = sim__waitq_pop(&c->waiters)))
    sim__wake(t, 0);
}

/* ---- semaphore ---- */
sim_sem_t *sim_sem_create(sim_world_t *w, const char *name, int64_t value) {
  if (value < 0)
    sim__die("sim_sem_create: negative initial value %lld", (long long)value);
  sim_sem_t *s = obj_new(w, sizeof *s, SIM__OBJ_SEM);
  s->w = w;
  s->name_id = sim_intern(w, name ? name : "sem");
  s->value = value;
  return s;
}

void sim_sem_destroy(sim_sem_t *s) {
  if (!s)
    return;
  if (s->waiters.n)
    sim__die("sim_sem_destroy: semaphore '%s' has waiters",
             sim_interned(s->w, s->name_id));
  obj_free(s->w, &s->o);
}

int sim_sem_acquire_until(sim_sem_t *s, sim_time_t deadline) {
  sim_thread_t *t = sim__current_checked("sim_sem_acquire");
  sim_world_t *w = s->w;
  if (t->canceled)
    return SIM_ECANCELED;
  sim__sched_point(t, "acquire", s->name_id);
  if (s->value > 0 && s->waiters.n == 0) {
    s->value--;
    sim__trace(w, t->id, w->k_acquire, s->name_id, s->value);
    return 0;
  }
  if (deadline >= 0 && deadline <= w->now)
    return SIM_ETIMEDOUT;
  sim__waitq_push(&s->waiters, t);
  return sim__block(SIM__W_SEM, s, s->name_id, deadline, NULL, 0);
  /* on 0 the releaser handed the unit over */
}

int sim_sem_acquire(sim_sem_t *s) { return sim_sem_acquire_until(s, -1); }

int sim_sem_tryacquire(sim_sem_t *s) {
  if (s->value > 0 && s->waiters.n == 0) {
    s->value--;
    return 0;
  }
  return SIM_EBUSY;
}

void sim_sem_release(sim_sem_t *s) {
  sim_world_t *w = s->w;
  sim_thread_t *n = sim__waitq_pop(&s->waiters);
  sim_thread_t *self = sim_self();
  sim__trace(w, self ? self->id : 0, w->k_release, s->name_id,
             n ? (int64_t)n->id : s->value + 1);
  if (n)
    sim__wake(n, 0); /* the unit goes straight to the waiter */
  else
    s->value++;
}

int64_t sim_sem_value(const sim_sem_t *s) { return s->value; }
uint64_t sim_sem_waiters(const sim_sem_t *s) { return s->waiters.n; }
