/*
 * storesim kernel: the world, virtual time, simulated threads and scheduling.
 *
 * The kernel knows nothing about mail. It runs simulated threads (coroutines
 * with their own stacks) on a virtual clock of int64 nanoseconds. Everything
 * hangs off a world (sim_world_t); the only thread-local state is "the current
 * simulated thread", reachable through sim_self().
 *
 * Thread states and the calls that move between them:
 *
 *   (none)  -> READY     sim_thread_spawn
 *   READY   -> RUNNING   the scheduler picks it (fifo/random/pct/replay)
 *   RUNNING -> READY     sim_yield, or any scheduling point under random/pct
 *   RUNNING -> BLOCKED   sim_sleep, sim_mutex_lock, sim_cond_wait, sim_sem_acquire,
 *                        sim_cpu_burn (waiting for a core or for the burn to end)
 *   BLOCKED -> READY     a timer fires, the object is released/signalled
 *   RUNNING -> DONE      the entry function returns, or sim_thread_exit
 *
 * Determinism: with the same options (seed, scheduler) a run produces the same
 * sequence of trace records, hence the same trace hash (sim_world_trace_hash).
 *
 * Backends (sim_world_opts_t.backend):
 *  - virtual (default): every simulated thread is a coroutine on the virtual
 *    clock, as described above; deterministic.
 *  - threads (live.c): every simulated thread is a real pthread. A world lock
 *    (the GIL) is held by whichever thread runs model code, so the model's
 *    state keeps the atomicity it has under coroutines; every blocking call
 *    releases it. Mutexes hold a real pthread_mutex_t, waits park on a real
 *    condition variable, sim_cpu_burn is a real busy loop, and sim_now is
 *    the monotonic wall clock divided by time_scale since the run started
 *    (clamped to the `until` of the run in progress; it never goes back).
 *    The thread that calls sim_world_run is the clock: it fires timers,
 *    callbacks and samples when their time comes and checks the wait-for
 *    graph. Not reproducible: the trace hash means nothing. Only the fifo
 *    scheduler; the thread that created the world must run and destroy it.
 *    Threads stuck in a real deadlock are abandoned at destroy (with the
 *    memory they can touch).
 *
 * Errors: fallible calls return 0 or a negative SIM_E* code (sim_strerror).
 * Misuse of the API (calling a blocking function outside a simulated thread,
 * unlocking a mutex one does not own in a way that cannot be reported, ...)
 * aborts with a message naming the call.
 */
#ifndef STORESIM_SIM_H
#define STORESIM_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "storesim/sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- time ---------------------------------------------------------------- */
typedef int64_t sim_time_t; /* virtual nanoseconds */
#define SIM_NS ((sim_time_t)1)
#define SIM_US ((sim_time_t)1000)
#define SIM_MS ((sim_time_t)1000000)
#define SIM_SEC ((sim_time_t)1000000000)
#define SIM_MIN (60 * SIM_SEC)
#define SIM_HOUR (60 * SIM_MIN)
#define SIM_DAY (24 * SIM_HOUR)
#define SIM_TIME_MAX INT64_MAX

/* ---- error codes: one table, see sim_strerror ------------------------------ */
#define SIM_ERRNO_MAP(XX)                                                     \
  XX(OK, 0, "success")                                                        \
  XX(ENOMEM, -1, "out of host memory")                                        \
  XX(EINVAL, -2, "invalid argument")                                          \
  XX(ETIMEDOUT, -3, "timed out")                                              \
  XX(ECANCELED, -4, "operation canceled")                                     \
  XX(EDEADLK, -5, "deadlock detected")                                        \
  XX(EHANG, -6, "global hang: threads blocked, nothing runnable, no timer")   \
  XX(ELIMIT, -7, "a run limit was reached")                                   \
  XX(EINTR, -8, "run interrupted")                                            \
  XX(EREPLAY, -9, "replay diverged from the decision log")                    \
  XX(EMEMLIMIT, -10, "simulated memory limit reached")                        \
  XX(EIO, -11, "input/output error")                                          \
  XX(EBUSY, -12, "resource busy")

enum {
#define XX(name, val, msg) SIM_##name = (val),
  SIM_ERRNO_MAP(XX)
#undef XX
};

/* Returns a static string for rc (never NULL; unknown codes say so). */
const char *sim_strerror(int rc);

/* ---- world ---------------------------------------------------------------- */
typedef struct sim_world sim_world_t;
typedef struct sim_thread sim_thread_t;
typedef struct sim_proc sim_proc_t;

/* Default stall limit: scheduling steps at one virtual instant. A legitimate
 * burst costs a few steps per thread or event at its instant (10^6 customers
 * arriving at once: about 5 * 10^6); a livelock runs into 10^8 within seconds
 * in a release build (about 10 ns a step). */
#define SIM_DEFAULT_MAX_INSTANT_STEPS 100000000ull

typedef struct sim_world_opts {
  uint64_t seed;              /* root seed of all random streams */
  sim_sched_t sched_spec;     /* the scheduler (zeroed: fifo; sched.h) */
  const char *sched;          /* or its text, parsed at create in its place
                                 when not NULL: "fifo", "random:SEED",
                                 "pct:SEED:DEPTH[:STEPS]", "replay:FILE" */
  const char *decision_log;   /* if set, write the scheduling decisions here */
  FILE *decision_log_file;    /* or to this stream (decision_log NULL; the
                                 caller closes it and checks its errors) */
  int ncores;                 /* simulated cores (default 2) */
  size_t stack_size;          /* per simulated thread (default 256 KiB) */
  size_t machine_mem_limit;   /* bytes shared by all processes (0 = none) */
  sim_time_t sample_interval; /* metric sampling period (0 = no series) */
  sim_time_t cpu_quantum;     /* CPU time slice (default 10 ms) */
  sim_time_t spin_window;     /* spin detector window (default 60 s, 0 = off) */
  uint64_t max_threads;       /* live thread limit (default 1,000,000) */
  uint64_t max_events;        /* scheduling events limit (0 = none) */
  uint64_t max_instant_steps; /* stall limit: scheduling steps at one virtual
                                 instant (default 10^8, 0 = none); see
                                 sim_world_run */
  /* Host guard: called every guard_every thread spawns (default 4096) and
   * every guard_steps scheduling steps (default 2^18); a nonzero return
   * stops the run as a limit (SIM_ELIMIT) with msg (n bytes) as its reason.
   * Lets a caller watch the host (resident memory) inside a burst of spawns
   * at one instant, or a run that allocates on every step, which no slice
   * boundary would see in time. Once a limit tripped, every spawn fails. */
  int (*guard)(void *arg, char *msg, size_t n);
  void *guard_arg;
  uint64_t guard_every;
  uint64_t guard_steps;
  int keep_trace;             /* keep trace records (for exports): the newest
                                 trace_memory of them in memory, the older
                                 ones in an unlinked temporary file in
                                 $TMPDIR (else /tmp); see trace.h */
  size_t trace_memory;        /* 0: 65,536 records (2 MiB); SIZE_MAX: all in
                                 memory, no file */
  FILE *trace_jsonl;          /* if set, write each trace record as JSON Lines */
  /* Backend (see "Backends" above): SIM_BACKEND_VIRTUAL (default) or
   * SIM_BACKEND_THREADS, where time_scale is wall ns per virtual ns
   * (default SIM_DEFAULT_TIME_SCALE: a virtual minute lasts 10 ms). */
  int backend;
  double time_scale;
} sim_world_opts_t;

/* The backends of a world. */
enum { SIM_BACKEND_VIRTUAL = 0, SIM_BACKEND_THREADS = 1 };
/* Wall ns per virtual ns on the threads backend: 1 min = 10 ms. */
#define SIM_DEFAULT_TIME_SCALE (0.01 / 60.0)
/* 1 when the world runs on the threads backend. */
int sim_world_live(const sim_world_t *w);

/* Fills o with defaults (fifo, 2 cores, 256 KiB stacks, 10^6 live threads, no
 * event limit, the stall limit SIM_DEFAULT_MAX_INSTANT_STEPS). */
void sim_world_opts_init(sim_world_opts_t *o);

/* Creates a world. On success *out is set and 0 returned; on error *out is
 * NULL and SIM_EINVAL (bad scheduler text or spec, unreadable replay file,
 * unwritable decision log) or
 * SIM_ENOMEM is returned. If err/nerr are given, a message is written there. */
int sim_world_create(const sim_world_opts_t *o, sim_world_t **out, char *err,
                     size_t nerr);

/* Destroys a world, including threads still blocked (their stacks are freed
 * without running them) and all process arenas. Accepts NULL. */
void sim_world_destroy(sim_world_t *w);

/* Runs the world until virtual time `until` (inclusive of events at that
 * time), until no thread and no event remains, or until a limit trips.
 * Returns 0 when time `until` was reached or everything finished, SIM_EHANG
 * when threads remain blocked with nothing runnable and no timer (a report is
 * filed), SIM_ELIMIT when max_threads/max_events/max_instant_steps tripped
 * (sim_world_last_error names the limit, its value and how to raise it),
 * SIM_EINTR when sim_world_interrupt was called, SIM_EREPLAY when a replay
 * diverged. The stall limit stops a livelock (threads that yield or wake each
 * other forever while virtual time stands still): it is checked every
 * max_instant_steps steps and trips when the clock has not moved since the
 * last check, so a run that spends fewer than max_instant_steps steps at
 * every instant never trips it, and one stuck at an instant trips within
 * twice that many steps.
 * Must be called from outside any simulated thread. May be called again to
 * continue to a later time. */
int sim_world_run(sim_world_t *w, sim_time_t until);

/* Asks a running sim_world_run to stop at the next scheduling decision.
 * Async-signal-safe. Spawns fail while the stop is pending (a burst of
 * spawns at one instant ends at once); a world that refused one cannot
 * continue: every later sim_world_run returns SIM_EINTR again. */
void sim_world_interrupt(sim_world_t *w);

sim_time_t sim_now(const sim_world_t *w);
uint64_t sim_world_seed(const sim_world_t *w);
/* Number of scheduling steps (context switches into threads) so far. */
uint64_t sim_world_steps(const sim_world_t *w);
/* Live (not DONE) threads. */
uint64_t sim_world_live_threads(const sim_world_t *w);
/* Short description of the last run error (limit hit, replay divergence). */
const char *sim_world_last_error(const sim_world_t *w);

/* ---- random streams --------------------------------------------------------- */
/* A deterministic generator (xoshiro256**). A component derives its own stream
 * from the world seed and a stable name, so adding a component does not shift
 * the draws of the others (common random numbers across variants). */
typedef struct sim_rng {
  uint64_t s[4];
} sim_rng_t;

void sim_rng_init(sim_rng_t *r, uint64_t seed, const char *stream_name);
uint64_t sim_rng_u64(sim_rng_t *r);
double sim_rng_uniform(sim_rng_t *r);     /* in [0, 1) */
double sim_rng_exp(sim_rng_t *r, double mean);
double sim_rng_normal(sim_rng_t *r);      /* standard normal */
uint64_t sim_rng_below(sim_rng_t *r, uint64_t n); /* in [0, n), n > 0 */

/* ---- scheduled callbacks ------------------------------------------------------ */
/* A callback runs in scheduler context at virtual time t (>= now), ordered
 * with all other events by (time, sequence). It must not block; it may spawn
 * threads, signal/release sync objects, set metrics and schedule callbacks. */
typedef void (*sim_callback_fn)(sim_world_t *w, void *arg);
void sim_at(sim_world_t *w, sim_time_t t, sim_callback_fn fn, void *arg);

/* ---- simulated threads ------------------------------------------------------ */
typedef void (*sim_thread_fn)(void *arg);

/* Spawns a READY thread named `name` (copied) in process p (NULL: the world's
 * default process) that will run fn(arg). Callable from a thread, from a
 * callback or from outside a run. Returns the thread, or NULL when the live
 * thread limit is reached (the run then stops with SIM_ELIMIT) or the host is
 * out of memory. The thread is owned by the world; a handle stays valid until
 * sim_thread_join returns or the world is destroyed. Threads that are never
 * joined are reaped when they finish (detached by default unless joinable). */
sim_thread_t *sim_thread_spawn(sim_world_t *w, const char *name,
                               sim_proc_t *p, sim_thread_fn fn, void *arg);
/* Same, but the thread stays until joined. */
sim_thread_t *sim_thread_spawn_joinable(sim_world_t *w, const char *name,
                                        sim_proc_t *p, sim_thread_fn fn,
                                        void *arg);

/* The running simulated thread, or NULL in scheduler context. */
sim_thread_t *sim_self(void);
sim_world_t *sim_thread_world(const sim_thread_t *t);
uint64_t sim_thread_id(const sim_thread_t *t);
const char *sim_thread_name(const sim_thread_t *t);
sim_proc_t *sim_thread_proc(const sim_thread_t *t);

/* Blocking calls below must be called from a simulated thread. */
void sim_thread_exit(void) __attribute__((noreturn));
/* Waits until t finishes; t must be joinable and not the caller. */
void sim_thread_join(sim_thread_t *t);
/* Lets other READY threads run; the caller stays READY. */
void sim_yield(void);
/* Sleeps for d >= 0 virtual ns. Returns 0, or SIM_ECANCELED if the thread was
 * canceled (it wakes at once). */
int sim_sleep(sim_time_t d);
int sim_sleep_until(sim_time_t t);

/* Cooperative cancellation: sets a flag on t and wakes it if it sleeps or
 * waits on a condition variable or semaphore; those calls then return
 * SIM_ECANCELED, as does every later one. Mutex waits are not interrupted. */
void sim_thread_cancel(sim_thread_t *t);
int sim_thread_canceled(const sim_thread_t *t);

/* What a thread is doing, for reports: a short label the model sets
 * ("delivery", "flush", ...). The string must outlive the use (a literal). */
void sim_thread_set_activity(sim_thread_t *t, const char *activity);
const char *sim_thread_activity(const sim_thread_t *t);

/* Thread state and what it waits for, for reports. */
typedef enum sim_thread_state {
  SIM_T_READY,
  SIM_T_RUNNING,
  SIM_T_BLOCKED,
  SIM_T_DONE
} sim_thread_state_t;
sim_thread_state_t sim_thread_state(const sim_thread_t *t);
/* Writes "blocked on mutex 'x' held by T3 'worker'" etc. into buf. */
void sim_thread_describe(const sim_thread_t *t, char *buf, size_t n);

/* Calls fn for every live thread in id order. */
void sim_world_foreach_thread(sim_world_t *w,
                              void (*fn)(sim_thread_t *t, void *arg),
                              void *arg);

/* ---- progress (for the spin detector) ---------------------------------------- */
/* Marks that the current thread completed a unit of useful work. A thread that
 * consumes more than half a core over opts.spin_window of virtual time, or
 * issues requests, without calling this is reported as a spin. */
void sim_progress(void);
/* Counts one request issued by the current thread (reported with a spin). */
void sim_request(void);

#ifdef __cplusplus
}
#endif
#endif
