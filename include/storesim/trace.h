/*
 * storesim kernel: trace records and the run's hash.
 *
 * Every kernel event (spawn, block, wake, lock, unlock, burn, exit, ...) and
 * every model event (sim_trace_emit) is a canonical record
 *   (time, thread id, kind, object id, argument)
 * of fixed-width integers, folded into a 64-bit hash in order. The hash is
 * not FNV-1a: it starts from FNV-1a's offset basis and folds two 64-bit words
 * per record (the time, then thread, kind, object and argument packed into
 * one), each by xor, a multiply by FNV's 64-bit prime and an xor-shift right
 * by 29 (sim__mix in sim/kernel/kernel_int.h). It is a fingerprint for
 * comparing runs, not a cryptographic hash. Kinds and object names are
 * interned strings numbered in order of first use, so the hash never depends
 * on pointers or wall-clock time.
 */
#ifndef STORESIM_TRACE_H
#define STORESIM_TRACE_H

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_trace_rec {
  sim_time_t time;
  uint64_t thread; /* 0 = scheduler context */
  uint32_t kind;   /* interned kind name */
  uint32_t obj;    /* interned object name (0 = none) */
  int64_t arg;
} sim_trace_rec_t;

/* Kernel record kinds (interned names) and their fields:
 *   spawn   obj = new thread's name, arg = its id (thread = the spawner)
 *   run     the thread is switched in
 *   block   obj = what it waits on (lock/cond/sem name, "cpu", joined
 *           thread's name, or none for a sleep), arg = sim_wait_kind_t
 *   wake    woken by another thread, arg = result code
 *   timeout woken by its timer (sleep end, deadline, CPU slice end)
 *   lock / unlock       obj = mutex name
 *   acquire / release   obj = semaphore name
 *   signal  obj = condition name
 *   burn    arg = ns of the CPU slice starting now
 *   yield, cancel, exit, report (obj = report kind name)
 * Model events (sim_trace_emit) use their own kind names. */
typedef enum sim_wait_kind {
  SIM_WAIT_NONE, SIM_WAIT_SLEEP, SIM_WAIT_MUTEX, SIM_WAIT_COND, SIM_WAIT_SEM,
  SIM_WAIT_CPU, SIM_WAIT_CPU_RUN, SIM_WAIT_JOIN, SIM_WAIT_YIELD
} sim_wait_kind_t;
/* "sleep", "mutex", "cond", "sem", "cpu-wait", "cpu", "join", "yield". */
const char *sim_wait_kind_name(int kind);

/* Interns s (copied); returns its number, stable for the world's lifetime. */
uint32_t sim_intern(sim_world_t *w, const char *s);
const char *sim_interned(const sim_world_t *w, uint32_t id);
/* The number of s if it was interned, else 0 (nothing is added). */
uint32_t sim_intern_find(const sim_world_t *w, const char *s);

/* Emits a model event "kind" about object "obj" (may be NULL) with an integer
 * argument, from a thread or a callback. */
void sim_trace_emit(sim_world_t *w, const char *kind, const char *obj,
                    int64_t arg);
uint64_t sim_world_trace_hash(const sim_world_t *w);
uint64_t sim_world_trace_count(const sim_world_t *w);
/* The number of records kept when opts.keep_trace was set (else 0). */
uint64_t sim_world_trace_kept(const sim_world_t *w);
/* Copies kept records [from, from + max) into buf, in order; returns how
 * many (fewer than max at the end). Reading the records in passes this way
 * holds only buf, whatever the run's length: past opts.trace_memory records
 * the older ones are in a temporary file. */
size_t sim_world_trace_read(const sim_world_t *w, uint64_t from, sim_trace_rec_t *buf, size_t max);
/* All the records kept when opts.keep_trace was set (else *n = 0), in one
 * array: when some went to the temporary file, a copy of all of them is
 * made (and kept until the world is destroyed), as large as the trace;
 * sim_world_trace_read holds a buffer only. */
const sim_trace_rec_t *sim_world_trace(const sim_world_t *w, size_t *n);
/* Name of a thread id. Every thread's name is remembered after it finishes
 * when records leave the world (opts.keep_trace or opts.trace_jsonl); else
 * only the live threads' and those named in a report (sim_world_report):
 * other ids give "?" (a run of days spawns billions of threads). */
const char *sim_world_thread_name(const sim_world_t *w, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif
