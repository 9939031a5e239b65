/*
 * storesim kernel: synchronisation objects of simulated threads.
 *
 * Mutex, condition variable (timed) and counting semaphore. Every blocking
 * call is a scheduling point and records what the thread waits for, which
 * the detectors read: a mutex knows its owner and waiters, so a blocked lock
 * adds an edge to the wait-for graph; each lock belongs to a lock class
 * (its name) for the lock-order validator.
 *
 * Objects are created from a world and owned by it: they are freed by
 * sim_*_destroy or, at the latest, by sim_world_destroy.
 *
 * Misuse is reported, not silently accepted: unlock by a non-owner, relock by
 * the owner (AA) and destroy while held or waited on each file a SIM_R_MISUSE
 * report naming the thread, the lock and the call site; the offending call
 * then does nothing (unlock, destroy) or blocks forever (AA, as a real
 * non-recursive mutex would, which the deadlock detector also reports).
 *
 * Threads backend (sim.h, "Backends"): a mutex is also a real
 * pthread_mutex_t, taken and released with the bookkeeping above; a
 * contended lock blocks in pthread_mutex_lock, and an unlock lets the
 * waiters race for it (no FIFO hand-off). Condition variable and semaphore
 * waiters park on real condition variables; semaphore units still go to
 * waiters in FIFO order.
 */
#ifndef STORESIM_SYNC_H
#define STORESIM_SYNC_H

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_mutex sim_mutex_t;
typedef struct sim_cond sim_cond_t;
typedef struct sim_sem sim_sem_t;

/* Creates a mutex whose lock class is `cls` (copied; locks with the same
 * class name share one node in the lock-order graph). Aborts on host OOM. */
sim_mutex_t *sim_mutex_create(sim_world_t *w, const char *cls);
void sim_mutex_destroy_at(sim_mutex_t *m, const char *file, int line);
#define sim_mutex_destroy(m) sim_mutex_destroy_at((m), __FILE__, __LINE__)

void sim_mutex_lock_at(sim_mutex_t *m, const char *file, int line);
/* Returns 0 and takes the lock, or SIM_EBUSY. Not a blocking call. */
int sim_mutex_trylock_at(sim_mutex_t *m, const char *file, int line);
void sim_mutex_unlock_at(sim_mutex_t *m, const char *file, int line);
#define sim_mutex_lock(m) sim_mutex_lock_at((m), __FILE__, __LINE__)
#define sim_mutex_trylock(m) sim_mutex_trylock_at((m), __FILE__, __LINE__)
#define sim_mutex_unlock(m) sim_mutex_unlock_at((m), __FILE__, __LINE__)
/* True when the calling thread owns m (for asserts). */
int sim_mutex_held(const sim_mutex_t *m);
sim_thread_t *sim_mutex_owner(const sim_mutex_t *m);
const char *sim_mutex_name(const sim_mutex_t *m);

sim_cond_t *sim_cond_create(sim_world_t *w, const char *name);
void sim_cond_destroy(sim_cond_t *c);
/* The caller must hold m. Returns 0 after a signal, SIM_ECANCELED if the
 * thread was canceled; m is held again on return in both cases. */
int sim_cond_wait(sim_cond_t *c, sim_mutex_t *m);
/* As sim_cond_wait, or SIM_ETIMEDOUT once virtual time reaches `deadline`. */
int sim_cond_timedwait(sim_cond_t *c, sim_mutex_t *m, sim_time_t deadline);
void sim_cond_signal(sim_cond_t *c);
void sim_cond_broadcast(sim_cond_t *c);

/* Counting semaphore with initial value `value` >= 0. */
sim_sem_t *sim_sem_create(sim_world_t *w, const char *name, int64_t value);
void sim_sem_destroy(sim_sem_t *s);
/* Returns 0 once a unit was taken (FIFO among waiters), SIM_ECANCELED. */
int sim_sem_acquire(sim_sem_t *s);
/* As sim_sem_acquire, or SIM_ETIMEDOUT once time reaches `deadline`. */
int sim_sem_acquire_until(sim_sem_t *s, sim_time_t deadline);
/* Returns 0 and takes a unit, or SIM_EBUSY. Not a blocking call. */
int sim_sem_tryacquire(sim_sem_t *s);
/* Returns a unit; wakes the first waiter. Callable from callbacks. */
void sim_sem_release(sim_sem_t *s);
int64_t sim_sem_value(const sim_sem_t *s);
/* Number of threads waiting. */
uint64_t sim_sem_waiters(const sim_sem_t *s);

#ifdef __cplusplus
}
#endif
#endif
