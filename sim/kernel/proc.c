/*
 * Simulated processes: CPU on N simulated cores, and memory in one jemalloc
 * arena per process.
 *
 * CPU: sim_cpu_burn takes a core (or waits in the FIFO run queue), holds it
 * for one quantum or the rest of the burn, then gives it to the next waiter
 * (round robin). Busy ns and run-queue wait ns accumulate per process.
 *
 * Memory: allocations use mallocx(size, MALLOCX_ARENA(a) |
 * MALLOCX_TCACHE_NONE), so every byte is in the process's arena and a reset
 * (arena.<i>.reset) releases them all. Limits are checked against the usable
 * size (nallocx) before allocating, which keeps failures deterministic; the
 * arena's own statistics are read back for the measured figure.
 *
 * Threads backend: the core accounting is the same, and the slice is a real
 * busy loop on the host without the GIL (sim__live_burn). Allocations are
 * told to Valgrind as heap blocks (VALGRIND_MALLOCLIKE_BLOCK /
 * FREELIKE_BLOCK, no-ops outside Valgrind), so that `valgrind
 * --leak-check=full` sees a model's leak as a leak although the arena's
 * reset at the end releases every byte.
 */
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PROC_VG_MALLOC(p, n) VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, 0)
#define PROC_VG_FREE(p) VALGRIND_FREELIKE_BLOCK(p, 0)
#else
#define PROC_VG_MALLOC(p, n) ((void)0)
#define PROC_VG_FREE(p) ((void)0)
#endif

void sim__cpu_init(sim_world_t *w) {
  w->ncores = w->o.ncores;
  w->m_busy = sim_metric(w, "cpu.busy_cores", SIM_M_GAUGE, "cores");
  w->m_runq = sim_metric(w, "cpu.runq", SIM_M_GAUGE, "threads");
}

/* The MIB of a fixed control name; its length is known to the caller. */
static void mib_of(const char *name, size_t *mib, size_t len) {
  size_t n = len;
  if (mallctlnametomib(name, mib, &n) != 0 || n != len) sim__die("jemalloc: no control %s", name);
}

/* Arenas are kept for reuse across worlds. Destroying an arena unmaps its
 * memory and a new one faults fresh pages in, which in a sweep of thousands of
 * short runs cost more system time than the runs themselves (a store model
 * zeroes a 2 MiB cache at start). A process's arena is reset instead
 * (arena.<i>.reset: all its allocations are gone, its pages stay) and given to
 * the next process created, in whichever world and host thread. Statistics
 * count live allocations only, so a reused arena measures the same as a new
 * one. Up to ARENA_POOL_MAX arenas are kept. Their pages are bounded too: an
 * arena keeps about as many as its process held at its peak, and when the
 * pooled arenas' peaks add up to more than ARENA_POOL_BYTES the largest are
 * purged (arena.<i>.purge gives their unused pages back) until they do not.
 * jemalloc's own decay would not do it: it runs only while an arena is used. */
#define ARENA_POOL_MAX 16
#define ARENA_POOL_BYTES ((size_t)64 << 20)
static pthread_mutex_t arena_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  unsigned arena;
  size_t peak; /* what it may still hold; 0 once purged */
} arena_pool[ARENA_POOL_MAX];
static size_t narena_pool, arena_pool_bytes;

/* A new arena is created under the pool's lock too: jemalloc publishes it to
 * the other arenas' bookkeeping with atomics ThreadSanitizer cannot see
 * (Debian's libjemalloc is not instrumented), so two host threads creating
 * arenas at once were reported as a race on the new arena's mutex (about one
 * `check --jobs 2` in ten). The lock orders them visibly; creating is rare. */
static int arena_take(unsigned *arena) {
  pthread_mutex_lock(&arena_pool_mu);
  int rc = 0;
  if (narena_pool > 0) {
    narena_pool--;
    *arena = arena_pool[narena_pool].arena;
    arena_pool_bytes -= arena_pool[narena_pool].peak;
  } else {
    size_t sz = sizeof *arena;
    rc = mallctl("arenas.create", arena, &sz, NULL, 0);
  }
  pthread_mutex_unlock(&arena_pool_mu);
  return rc;
}

static void arena_ctl(unsigned arena, const char *op);

static void arena_give(unsigned arena, size_t peak) {
  arena_ctl(arena, "reset");
  unsigned purge[ARENA_POOL_MAX + 1];
  size_t npurge = 0;
  if (peak > ARENA_POOL_BYTES) { /* could never stay whole */
    purge[npurge++] = arena;
    peak = 0;
  }
  pthread_mutex_lock(&arena_pool_mu);
  bool kept = narena_pool < ARENA_POOL_MAX;
  if (kept) {
    arena_pool[narena_pool].arena = arena;
    arena_pool[narena_pool].peak = peak;
    narena_pool++;
    arena_pool_bytes += peak;
  }
  while (arena_pool_bytes > ARENA_POOL_BYTES) {
    size_t big = 0;
    for (size_t i = 1; i < narena_pool; i++)
      if (arena_pool[i].peak > arena_pool[big].peak) big = i;
    purge[npurge++] = arena_pool[big].arena;
    arena_pool_bytes -= arena_pool[big].peak;
    arena_pool[big].peak = 0;
  }
  pthread_mutex_unlock(&arena_pool_mu);
  /* Outside the lock: purging an arena another thread has just taken is safe
   * (only its unused pages go). */
  for (size_t i = 0; i < npurge; i++) arena_ctl(purge[i], "purge");
  if (!kept) arena_ctl(arena, "destroy");
}

sim_proc_t *sim_proc_create(sim_world_t *w, const char *name,
                            size_t mem_limit) {
  unsigned arena = 0;
  if (arena_take(&arena) != 0) return NULL;
  if (w->nprocs == 0) {
    mib_of("epoch", w->mib_epoch, 1);
    mib_of("arenas.lookup", w->mib_lookup, 2);
  }
  sim_proc_t *p = sim__xcalloc(1, sizeof *p);
  mib_of("stats.arenas.0.small.allocated", p->mib_small, 5);
  mib_of("stats.arenas.0.large.allocated", p->mib_large, 5);
  p->mib_small[2] = p->mib_large[2] = arena;
  p->w = w;
  p->name = sim__xstrdup(name ? name : "proc");
  p->arena = arena;
  p->has_arena = true;
  p->limit = mem_limit;
  char buf[256];
  snprintf(buf, sizeof buf, "proc.%s.cpu_cores", p->name);
  p->m_cpu = sim_metric(w, buf, SIM_M_GAUGE, "cores");
  snprintf(buf, sizeof buf, "proc.%s.mem_bytes", p->name);
  p->m_mem = sim_metric(w, buf, SIM_M_GAUGE, "B");
  snprintf(buf, sizeof buf, "proc.%s.alloc_failures", p->name);
  p->m_fail = sim_metric(w, buf, SIM_M_COUNTER, "");
  w->procs = sim__xrealloc(w->procs, (w->nprocs + 1) * sizeof *w->procs);
  w->procs[w->nprocs++] = p;
  return p;
}

sim_proc_t *sim_world_default_proc(sim_world_t *w) { return w->procs[0]; }
sim_proc_t *sim_world_proc(sim_world_t *w, size_t i) {
  return i < w->nprocs ? w->procs[i] : NULL;
}
const char *sim_proc_name(const sim_proc_t *p) { return p->name; }

static void arena_ctl(unsigned arena, const char *op) {
  char buf[64];
  snprintf(buf, sizeof buf, "arena.%u.%s", arena, op);
  if (mallctl(buf, NULL, NULL, NULL, 0) != 0)
    sim__die("jemalloc: %s failed", buf);
}

void sim__procs_free(sim_world_t *w) {
  for (size_t i = 0; i < w->nprocs; i++) {
    sim_proc_t *p = w->procs[i];
    if (p->has_arena) arena_give(p->arena, p->peak);
    free(p->name);
    free(p);
  }
  free(w->procs);
}

/* ---- CPU ---- */
int sim_cpu_cores(const sim_world_t *w) { return w->ncores; }
int sim_cpu_busy_cores(const sim_world_t *w) { return w->busy; }
uint64_t sim_cpu_runq(const sim_world_t *w) { return w->runq.n; }
sim_time_t sim_proc_cpu_busy(const sim_proc_t *p) { return p->cpu_busy; }
sim_time_t sim_proc_cpu_wait(const sim_proc_t *p) { return p->cpu_wait; }

void sim__spin_check(sim_world_t *w, sim_thread_t *t) {
  sim_time_t win = w->o.spin_window;
  if (win <= 0 || t->spin_reported)
    return;
  if (w->now - t->progress_mark < win)
    return;
  /* Over at least one window without progress: more than half a core, or a
   * steady stream of requests (at least one per second of the window). */
  sim_time_t elapsed = w->now - t->progress_mark;
  if (2 * t->cpu_since_progress > elapsed ||
      t->requests_since_progress >= (uint64_t)(elapsed / SIM_SEC)) {
    if (t->cpu_since_progress > 0 || t->requests_since_progress > 0) {
      t->spin_reported = true;
      sim__report_spin(w, t, elapsed);
    }
  }
}

static void core_release(sim_world_t *w) {
  sim_thread_t *n = sim__waitq_pop(&w->runq);
  if (n) {
    sim_gauge_set(w->m_runq, (double)w->runq.n);
    sim__wake(n, 0); /* the core passes to n */
  } else {
    w->busy--;
    sim_gauge_set(w->m_busy, w->busy);
  }
}

int sim_cpu_burn(sim_time_t d) {
  sim_thread_t *t = sim__current_checked("sim_cpu_burn");
  sim_world_t *w = t->w;
  sim_proc_t *p = t->proc;
  if (d < 0)
    sim__die("sim_cpu_burn: negative duration %lld", (long long)d);
  sim__sched_point(t, "burn", 0);
  while (d > 0) {
    if (t->canceled)
      return SIM_ECANCELED;
    if (w->busy < w->ncores) {
      w->busy++;
      sim_gauge_set(w->m_busy, w->busy);
    } else {
      sim_time_t t0 = w->now;
      sim__waitq_push(&w->runq, t);
      sim_gauge_set(w->m_runq, (double)w->runq.n);
      int rc = sim__block(SIM__W_CPU, NULL, w->k_cpu, -1, NULL, 0);
      p->cpu_wait += w->now - t0;
      if (rc != 0) {
        sim_gauge_set(w->m_runq, (double)w->runq.n);
        return rc;
      }
    }
    sim_time_t q = w->o.cpu_quantum;
    if (w->live && q < w->live_quantum) q = w->live_quantum; /* see sim__live_init */
    sim_time_t slice = d < q ? d : q;
    p->running++;
    sim_gauge_set(p->m_cpu, p->running);
    sim__trace(w, t->id, w->k_burn, 0, slice);
    if (w->live) sim__live_burn(t, slice);
    else sim__block(SIM__W_CPU_RUN, NULL, w->k_cpu, w->now + slice, NULL, 0);
    p->running--;
    sim_gauge_set(p->m_cpu, p->running);
    p->cpu_busy += slice;
    t->cpu_since_progress += slice;
    d -= slice;
    core_release(w);
    sim__spin_check(w, t);
  }
  return 0;
}

/* ---- memory ---- */
/* ---- Quick blocks ----
 * The model frees and allocates blocks of the same few sizes over and over
 * (a version store page per store request, KiB-sized message bodies), and
 * jemalloc without a thread cache (MALLOCX_TCACHE_NONE: every byte in the
 * process's arena) spends ~1,500 instructions on a small allocation and
 * ~1,000 on a free: a bin lock, and a slab released and taken again as the
 * few live blocks come and go (more than the rest of a MAPI request,
 * measured with callgrind on the big server, bench/README.md). So a process
 * keeps up to SIM__QUICK_BLOCKS freed blocks of each of SIM__QUICK_SIZES
 * usable sizes (at most SIM__QUICK_MAX bytes each) and hands them out again
 * for an allocation of the same usable size. Nothing observable changes: a
 * kept block is freed as far as the model is concerned (not in used, not in
 * the machine's tally; limits are checked as before), sim_proc_mem_jemalloc
 * does not count it, and a reset forgets the blocks with the arena. At most
 * 1 MiB per process stays allocated in its arena this way. */
static void *quick_take(sim_proc_t *p, size_t usable) {
  for (int i = 0; i < SIM__QUICK_SIZES; i++) {
    struct sim__quick *q = &p->quick[i];
    if (q->n > 0 && q->size == usable) return q->b[--q->n];
  }
  return NULL;
}

static bool quick_put(sim_proc_t *p, void *ptr, size_t usable) {
  if (usable > SIM__QUICK_MAX) return false;
  struct sim__quick *free_slot = NULL;
  for (int i = 0; i < SIM__QUICK_SIZES; i++) {
    struct sim__quick *q = &p->quick[i];
    if (q->n > 0 && q->size == usable) {
      if (q->n == SIM__QUICK_BLOCKS) return false;
      q->b[q->n++] = ptr;
      return true;
    }
    if (q->n == 0 && !free_slot) free_slot = q;
  }
  if (!free_slot) return false;
  free_slot->size = usable;
  free_slot->b[free_slot->n++] = ptr;
  return true;
}

static size_t quick_bytes(const sim_proc_t *p) {
  size_t n = 0;
  for (int i = 0; i < SIM__QUICK_SIZES; i++) n += (size_t)p->quick[i].n * p->quick[i].size;
  return n;
}

void *sim_proc_alloc(sim_proc_t *p, size_t size) {
  sim_world_t *w = p->w;
  int flags = MALLOCX_ARENA(p->arena) | MALLOCX_TCACHE_NONE;
  size_t usable = nallocx(size ? size : 1, flags);
  if (usable == 0 || (p->limit && p->used + usable > p->limit) ||
      (w->o.machine_mem_limit &&
       w->machine_used + usable > w->o.machine_mem_limit)) {
    p->failures++;
    sim_counter_add(p->m_fail, 1);
    return NULL;
  }
  void *ptr = quick_take(p, usable);
  if (!ptr) ptr = mallocx(size ? size : 1, flags);
  if (!ptr) {
    p->failures++;
    sim_counter_add(p->m_fail, 1);
    return NULL;
  }
  if (w->live) PROC_VG_MALLOC(ptr, size ? size : 1);
  p->used += usable;
  if (p->used > p->peak) p->peak = p->used;
  w->machine_used += usable;
  sim_gauge_set(p->m_mem, (double)p->used);
  return ptr;
}

void sim_proc_free(sim_proc_t *p, void *ptr) {
  if (!ptr)
    return;
  unsigned arena = 0;
  size_t sz = sizeof arena;
  if (mallctlbymib(p->w->mib_lookup, 2, &arena, &sz, &ptr, sizeof ptr) == 0 && arena != p->arena)
    sim__die("sim_proc_free: %p was not allocated by process '%s'", ptr,
             p->name);
  size_t usable = sallocx(ptr, 0);
  if (p->w->live) PROC_VG_FREE(ptr);
  if (!quick_put(p, ptr, usable)) dallocx(ptr, MALLOCX_TCACHE_NONE);
  p->used -= usable;
  p->w->machine_used -= usable;
  sim_gauge_set(p->m_mem, (double)p->used);
}

size_t sim_proc_mem_used(const sim_proc_t *p) { return p->used; }
size_t sim_proc_mem_limit(const sim_proc_t *p) { return p->limit; }
uint64_t sim_proc_alloc_failures(const sim_proc_t *p) { return p->failures; }
size_t sim_machine_mem_used(const sim_world_t *w) { return w->machine_used; }
size_t sim_machine_mem_limit(const sim_world_t *w) {
  return w->o.machine_mem_limit;
}

size_t sim_proc_mem_jemalloc(const sim_proc_t *p) {
  uint64_t epoch = 1;
  size_t sz = sizeof epoch;
  mallctlbymib(p->w->mib_epoch, 1, &epoch, &sz, &epoch, sz);
  size_t small = 0, large = 0;
  sz = sizeof small;
  if (mallctlbymib(p->mib_small, 5, &small, &sz, NULL, 0) != 0) small = 0;
  sz = sizeof large;
  if (mallctlbymib(p->mib_large, 5, &large, &sz, NULL, 0) != 0) large = 0;
  return small + large - quick_bytes(p); /* kept quick blocks are freed ones */
}

void sim_proc_reset(sim_proc_t *p) {
  arena_ctl(p->arena, "reset");
  for (int i = 0; i < SIM__QUICK_SIZES; i++) p->quick[i].n = 0; /* gone with the arena */
  p->w->machine_used -= p->used;
  p->used = 0;
  sim_gauge_set(p->m_mem, 0);
  sim_trace_emit(p->w, "proc.reset", p->name, 0);
}
