/*
 * storesim host allocation: the one wrapper over malloc, calloc, realloc and
 * strdup through which the kernel, the store model and the scenario layer
 * take host memory (the memory of simulated processes is sim_proc_alloc's,
 * in jemalloc arenas, and is not host memory in this sense). Memory from
 * these functions is released with free() (or sim_free).
 *
 * The allocation policy, one per layer (this comment is its one statement):
 *
 *   kernel (sim/kernel)      dies: internal structures (threads, events,
 *                            locks, metrics, trace, reports) come from
 *                            sim__xmalloc & co. (kernel_int.h), which are
 *                            sim_xmalloc & co. below. What is not malloc'd
 *                            is returned as an error: sim_world_create's
 *                            jemalloc arena (SIM_ENOMEM), a thread stack
 *                            that cannot be mapped (sim_thread_spawn: NULL).
 *   store model (sim/store)  returns errors while it is built: model
 *                            create, store_create and every mechanism's
 *                            init use sim_malloc & co. and fail with
 *                            SIM_ENOMEM / NULL and "out of host memory" in
 *                            err (the runner then exits 3, internal error).
 *                            Dies at run time: what a simulated thread
 *                            allocates (work items, requests, messages,
 *                            report text) comes from sim_xmalloc & co.
 *                            store_model_build takes its tables with plain
 *                            calloc and returns NULL (model.c says why).
 *   scenario layer           returns errors: sim_malloc & co., SIM_ENOMEM
 *   (sim/scenario)           up to the caller (scn_load, scn_run, sweeps).
 *   reports, tools           return errors: libc malloc & co., checked; they
 *                            are outside the fault injector's reach.
 *
 * So code that can give an error back calls sim_malloc & co., which return
 * NULL on failure, and returns SIM_ENOMEM; code on a hot path or inside a
 * simulated thread, where unwinding is impractical, calls sim_xmalloc & co.,
 * which never return NULL: on failure they write "storesim: fatal: out of
 * host memory (N bytes)" on stderr and end the process with
 * _exit(SIM_EXIT_OOM) (status 3, "internal error", without running atexit
 * handlers while other host threads may be running). Never test a sim_x*
 * result for NULL, and never follow a NULL from sim_malloc & co. with
 * sim_alloc_die where sim_x* says the same in one call.
 *
 * Fault injection (in the style of SQLite's fault simulator and Lua's
 * failnext), for tests: sim_alloc_fail_nth(n, persist) makes the nth
 * allocation from now fail (and, with persist, every one after it). Unarmed,
 * it costs one relaxed load and a predicted branch per allocation and changes
 * nothing. The counters are process-wide (atomic): arm it only where one
 * thing allocates at a time, e.g. a test with one job.
 */
#ifndef STORESIM_ALLOC_H
#define STORESIM_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status of a process that ran out of host memory in sim_x*. */
#define SIM_EXIT_OOM 3

/* NULL on failure (a size of 0 is taken as 1). sim_realloc leaves p valid and
 * unchanged on failure. sim_strndup copies at most n bytes and terminates. */
void *sim_malloc(size_t n);
void *sim_calloc(size_t n, size_t m);
void *sim_realloc(void *p, size_t n);
char *sim_strdup(const char *s);
char *sim_strndup(const char *s, size_t n);
static inline void sim_free(void *p) { free(p); }

/* Never NULL: on failure, the message above and _exit(SIM_EXIT_OOM). */
void *sim_xmalloc(size_t n);
void *sim_xcalloc(size_t n, size_t m);
void *sim_xrealloc(void *p, size_t n);
char *sim_xstrdup(const char *s);
/* The fatal exit itself, for callers that got NULL from elsewhere (n: the
 * size asked for, 0 when not known). */
void sim_alloc_die(size_t n) __attribute__((noreturn));

/* Arms the fault injector: counting from the next allocation (1), the nth
 * fails, and with persist every later one too. n <= 0 disarms. Resets the
 * counters below. */
void sim_alloc_fail_nth(long n, int persist);
/* Allocations made and failures injected since the last sim_alloc_fail_nth. */
long sim_alloc_count(void);
long sim_alloc_failures(void);

#ifdef __cplusplus
}
#endif
#endif
