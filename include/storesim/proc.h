/*
 * storesim kernel: simulated processes, their CPU and their memory.
 *
 * A process groups threads for accounting. CPU: the world has N simulated
 * cores; sim_cpu_burn occupies one core for that much virtual time, in time
 * slices (opts.cpu_quantum), waiting in a FIFO run queue when all cores are
 * busy. Busy time and run-queue wait are measured per process.
 *
 * Memory: each process owns one jemalloc arena (arenas.create). Allocations
 * are real (mallocx with MALLOCX_ARENA, no thread cache), their size is the
 * usable size jemalloc gives (nallocx); a per-process and a per-machine limit
 * make an allocation past them fail with NULL, deterministically. Usage is
 * read back from jemalloc's per-arena statistics (sim_proc_mem_jemalloc).
 * Restarting a process (sim_proc_reset) resets its arena: every allocation
 * made in it is gone.
 *
 * Process states: ALIVE -> (sim_proc_reset) -> ALIVE with an empty arena.
 *
 * Threads backend (sim.h, "Backends"): the same core accounting, and each
 * slice (at least 200 us of wall time) is a real busy loop of its pthread
 * without the world lock, which `top` shows; allocations are announced to
 * Valgrind as heap blocks, so Memcheck's leak check sees a model's leak.
 */
#ifndef STORESIM_PROC_H
#define STORESIM_PROC_H

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a process named `name` with a memory limit in bytes (0 = none).
 * Returns NULL if jemalloc cannot create an arena. */
sim_proc_t *sim_proc_create(sim_world_t *w, const char *name,
                            size_t mem_limit);
/* The process threads belong to when spawned with p == NULL. */
sim_proc_t *sim_world_default_proc(sim_world_t *w);
const char *sim_proc_name(const sim_proc_t *p);
sim_proc_t *sim_world_proc(sim_world_t *w, size_t i); /* NULL past the end */

/* ---- CPU ---- */
/* Burns d >= 0 ns of CPU on one core for the current thread's process.
 * Returns 0, or SIM_ECANCELED if canceled while waiting for a core. */
int sim_cpu_burn(sim_time_t d);
/* Busy core-ns and run-queue wait ns consumed by p so far. */
sim_time_t sim_proc_cpu_busy(const sim_proc_t *p);
sim_time_t sim_proc_cpu_wait(const sim_proc_t *p);
/* Cores busy now, and cores total. */
int sim_cpu_busy_cores(const sim_world_t *w);
int sim_cpu_cores(const sim_world_t *w);
/* Threads waiting for a core now. */
uint64_t sim_cpu_runq(const sim_world_t *w);

/* ---- memory ---- */
/* Returns size usable bytes from p's arena, or NULL (nothing changes) when the
 * process or machine limit would be passed, or the host is out of memory. */
void *sim_proc_alloc(sim_proc_t *p, size_t size);
/* Frees ptr, which must come from sim_proc_alloc(p) since p's last reset.
 * Accepts NULL. */
void sim_proc_free(sim_proc_t *p, void *ptr);
/* Bytes allocated now, by the kernel's tally of usable sizes. */
size_t sim_proc_mem_used(const sim_proc_t *p);
/* Bytes allocated now in p's arena according to jemalloc's statistics
 * (stats.arenas.<i>.small.allocated + large.allocated, after an epoch
 * refresh). Equal to sim_proc_mem_used when nothing else uses the arena. */
size_t sim_proc_mem_jemalloc(const sim_proc_t *p);
size_t sim_proc_mem_limit(const sim_proc_t *p);
/* Failed allocations of p so far. */
uint64_t sim_proc_alloc_failures(const sim_proc_t *p);
/* Bytes used by all processes / the machine limit (0 = none). */
size_t sim_machine_mem_used(const sim_world_t *w);
size_t sim_machine_mem_limit(const sim_world_t *w);
/* Resets p's arena: every allocation in it is released at once. */
void sim_proc_reset(sim_proc_t *p);

#ifdef __cplusplus
}
#endif
#endif
