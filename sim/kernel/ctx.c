/*
 * Contexts of simulated threads: stacks and the switch, behind a small
 * backend table (sim__ctx_backend_t).
 *
 *  - "asm" (x86-64): ctx_x86_64.S saves callee-saved registers and swaps the
 *    stack pointer; no system call. This is the default where available.
 *  - "ucontext" (any other architecture): glibc swapcontext, which also saves
 *    the signal mask with a system call (~1 us per switch). Correct but slow;
 *    used only where no assembly switch exists.
 *
 * Stacks are mmap'd with MAP_NORESERVE (pages are committed only when
 * touched) and a guard page at the low end, installed with
 * MADV_GUARD_INSTALL where the host kernel has it (Linux >= 6.13: no extra
 * VMA, so 10^5 stacks stay under vm.max_map_count) and mprotect otherwise.
 * Finished threads give their stack back to a per-world pool.
 *
 * Sanitizers and Valgrind are told about every stack and every switch:
 * AddressSanitizer through __sanitizer_{start,finish}_switch_fiber,
 * ThreadSanitizer through __tsan_*_fiber, Valgrind through
 * VALGRIND_STACK_REGISTER.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "kernel_int.h"
#include "storesim/alloc.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIM_TSAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef SIM_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SIM_VALGRIND 1
#endif

/* The context being switched away from, read on the other side. */
static _Thread_local sim__ctx_t *tl_from;

static void before_switch(sim__ctx_t *from, sim__ctx_t *to, bool from_dies) {
  tl_from = from;
#ifdef SIM_ASAN
  __sanitizer_start_switch_fiber(from_dies ? NULL : &from->fake_stack,
                                 to->stack, to->stack_size);
#else
  (void)from_dies;
#endif
#ifdef SIM_TSAN
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
}

static void after_switch(sim__ctx_t *self) {
#ifdef SIM_ASAN
  const void *bottom = NULL;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(self ? self->fake_stack : NULL, &bottom,
                                  &size);
  /* The main context learns its own stack bounds on its first resume. */
  if (tl_from && tl_from->map == NULL && tl_from->stack == NULL) {
    tl_from->stack = (void *)bottom;
    tl_from->stack_size = size;
  }
#else
  (void)self;
#endif
}

/* ---- asm backend ---- */
#if defined(__x86_64__)
extern void sim__ctx_switch(void **from, void *to);
extern void sim__ctx_trampoline(void);

static void asm_make(sim__ctx_t *c) {
  uintptr_t top = ((uintptr_t)c->stack + c->stack_size) & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)top;
  *--sp = (uint64_t)(uintptr_t)sim__ctx_trampoline; /* "return" address */
  for (int i = 0; i < 6; i++) /* rbp rbx r12 r13 r14 r15 */
    *--sp = 0;
  --sp; /* mxcsr (low 32 bits) and x87 control word (next 16 bits) */
  uint32_t *csr = (uint32_t *)sp;
  csr[0] = 0x1F80;
  csr[1] = 0x037F;
  c->sp = sp;
}

static void asm_swap(sim__ctx_t *from, sim__ctx_t *to) {
  sim__ctx_switch(&from->sp, to->sp);
}

static const sim__ctx_backend_t asm_backend = {"asm", asm_make, asm_swap};
#endif

/* ---- ucontext backend ---- */
static void uc_entry(void) { sim__ctx_entry(); }

static void uc_make(sim__ctx_t *c) {
  if (!c->uc)
    c->uc = sim__xcalloc(1, sizeof(ucontext_t));
  ucontext_t *const uc = c->uc;
  if (getcontext(uc) != 0)
    sim__die("getcontext failed: %s", strerror(errno));
  uc->uc_stack.ss_sp = c->stack;
  uc->uc_stack.ss_size = c->stack_size;
  uc->uc_link = NULL;
  makecontext(uc, uc_entry, 0);
}

static void uc_swap(sim__ctx_t *from, sim__ctx_t *to) {
  if (!from->uc)
    from->uc = sim__xcalloc(1, sizeof(ucontext_t));
  if (swapcontext(from->uc, to->uc) != 0)
    sim__die("swapcontext failed: %s", strerror(errno));
}

static const sim__ctx_backend_t uc_backend = {"ucontext", uc_make, uc_swap};

const sim__ctx_backend_t *sim__ctx_default_backend(void) {
#if defined(__x86_64__)
  const char *env = getenv("STORESIM_CTX");
  if (env && strcmp(env, "ucontext") == 0)
    return &uc_backend;
  return &asm_backend;
#else
  return &uc_backend;
#endif
}

void sim__ctx_main_init(sim__ctx_t *c) {
  memset(c, 0, sizeof *c);
#ifdef SIM_TSAN
  c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* ---- public-to-kernel switching helpers (used by world.c) ---- */
void sim__ctx_swap(const sim__ctx_backend_t *b, sim__ctx_t *from,
                   sim__ctx_t *to, bool from_dies);
void sim__ctx_swap(const sim__ctx_backend_t *b, sim__ctx_t *from,
                   sim__ctx_t *to, bool from_dies) {
  before_switch(from, to, from_dies);
  b->swap(from, to);
  after_switch(from);
}

/* First code run on a new stack. */
void sim__ctx_first_run(void);
void sim__ctx_first_run(void) { after_switch(NULL); }

/* ---- stacks ----
 * A world keeps its finished threads' stacks in its pool (w->stack_pool). A
 * world that is destroyed hands its pool to a process-wide cache instead of
 * unmapping it, and a world whose pool is empty takes from there before it
 * maps a new stack: in a sweep of thousands of short runs on several host
 * threads, munmap (with its TLB shootdowns to the other cores) and mmap under
 * the address-space lock cost more than the runs. Stacks are cached by map
 * size, in up to STACK_CACHE_SIZES sizes, up to STACK_CACHE_BYTES of mappings
 * in all (so at most that much of their pages stays in memory, whatever the
 * threads did with them: 256 stacks of the default 256 KiB); the rest are
 * unmapped. A world that found no stack there looks again only after
 * STACK_CACHE_TAKE more spawns, so spawning never takes the lock each time. */
#define STACK_CACHE_SIZES 4
#define STACK_CACHE_BYTES ((size_t)64 << 20)
#define STACK_CACHE_TAKE 64 /* stacks moved to a world's pool at a time */
static pthread_mutex_t stack_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  size_t map_size;
  size_t n, cap;
  sim__ctx_t *v;
} stack_cache[STACK_CACHE_SIZES];
static size_t stack_cache_bytes; /* mapped bytes of all cached stacks */

static size_t stack_map_size(const sim_world_t *w) {
  return ((w->stack_size + w->page - 1) & ~(w->page - 1)) + w->page;
}

static void pool_reserve(sim_world_t *w, size_t n) {
  if (n <= w->capstack_pool) return;
  size_t cap = w->capstack_pool ? w->capstack_pool : 64;
  while (cap < n) cap *= 2;
  w->stack_pool = sim__xrealloc(w->stack_pool, cap * sizeof *w->stack_pool);
  w->capstack_pool = cap;
}

/* Moves up to STACK_CACHE_TAKE cached stacks of this world's size into its
 * (empty) pool. */
static void stack_cache_take(sim_world_t *w) {
  if (w->stack_cache_skip > 0) {
    w->stack_cache_skip--;
    return;
  }
  size_t ms = stack_map_size(w);
  pool_reserve(w, STACK_CACHE_TAKE);
  w->stack_cache_skip = STACK_CACHE_TAKE - 1; /* unless it finds some */
  pthread_mutex_lock(&stack_cache_mu);
  for (int b = 0; b < STACK_CACHE_SIZES; b++) {
    if (stack_cache[b].map_size != ms || stack_cache[b].n == 0) continue;
    size_t k = stack_cache[b].n < STACK_CACHE_TAKE ? stack_cache[b].n : STACK_CACHE_TAKE;
    stack_cache[b].n -= k;
    memcpy(w->stack_pool, stack_cache[b].v + stack_cache[b].n, k * sizeof *w->stack_pool);
    w->nstack_pool = k;
    stack_cache_bytes -= k * ms;
    w->stack_cache_skip = 0;
    break;
  }
  pthread_mutex_unlock(&stack_cache_mu);
}

int sim__stack_get(sim_world_t *w, sim__ctx_t *c) {
  if (w->nstack_pool == 0) stack_cache_take(w);
  if (w->nstack_pool > 0) {
    sim__ctx_t *s = &w->stack_pool[--w->nstack_pool];
    c->map = s->map;
    c->map_size = s->map_size;
    c->stack = s->stack;
    c->stack_size = s->stack_size;
    c->vg_id = s->vg_id;
    c->uc = s->uc;
    c->fake_stack = NULL;
#ifdef SIM_ASAN
    __asan_unpoison_memory_region(c->stack, c->stack_size); /* last owner's */
#endif
#ifdef SIM_TSAN
    /* A fiber cannot be reused: TSan's shadow call stack of a finished
     * thread still holds its frames (its last switch never returns), and a
     * reused fiber would grow it on every reuse. One fiber per thread. */
    c->tsan_fiber = __tsan_create_fiber(0);
#endif
    return 0;
  }
  size_t page = w->page;
  size_t total = stack_map_size(w); /* the guard page, then the stack */
  size_t size = total - page;
  void *map = mmap(NULL, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
                   0);
  if (map == MAP_FAILED)
    return SIM_ENOMEM;
  if (w->guard_madvise && madvise(map, page, MADV_GUARD_INSTALL) != 0)
    w->guard_madvise = false;
  if (!w->guard_madvise && mprotect(map, page, PROT_NONE) != 0) {
    munmap(map, total);
    return SIM_ENOMEM;
  }
  c->map = map;
  c->map_size = total;
  c->stack = (char *)map + page;
  c->stack_size = size;
  c->uc = NULL;
  c->vg_id = 0;
#ifdef SIM_VALGRIND
  c->vg_id = VALGRIND_STACK_REGISTER(c->stack, (char *)c->stack + size);
#endif
  c->fake_stack = NULL;
#ifdef SIM_TSAN
  c->tsan_fiber = __tsan_create_fiber(0);
#endif
  return 0;
}

void sim__stack_unmap_begin(sim_world_t *w) { w->unmap_batch = true; }

static void unmap_later(sim_world_t *w, void *map, size_t size) {
  if (w->unmap_batch && w->nunmaps == w->capunmaps) {
    size_t cap = w->capunmaps ? 2 * w->capunmaps : 1024;
    struct sim__unmap *v = sim_realloc(w->unmaps, cap * sizeof *v);
    if (v) {
      w->unmaps = v;
      w->capunmaps = cap;
    }
  }
  if (!w->unmap_batch || w->nunmaps == w->capunmaps) {
    munmap(map, size);
    return;
  }
  w->unmaps[w->nunmaps].p = map;
  w->unmaps[w->nunmaps++].n = size;
}

static int unmap_cmp(const void *a, const void *b) {
  const struct sim__unmap *x = a, *y = b;
  return x->p < y->p ? -1 : x->p > y->p;
}

static void unmap_flush(sim_world_t *w) {
  if (w->nunmaps) qsort(w->unmaps, w->nunmaps, sizeof *w->unmaps, unmap_cmp);
  for (size_t i = 0; i < w->nunmaps;) {
    char *p = w->unmaps[i].p;
    size_t n = w->unmaps[i].n;
    for (i++; i < w->nunmaps && w->unmaps[i].p == p + n; i++) n += w->unmaps[i].n;
    munmap(p, n);
  }
  free(w->unmaps);
  w->unmaps = NULL;
  w->nunmaps = w->capunmaps = 0;
  w->unmap_batch = false;
}

static void stack_unmap(sim_world_t *w, sim__ctx_t *c) {
  sim__ctx_release(c);
#ifdef SIM_ASAN
  /* Clear the stack's shadow (redzones of frames that never returned), or
   * whatever is mapped here next inherits it. */
  __asan_unpoison_memory_region(c->stack, c->stack_size);
#endif
#ifdef SIM_VALGRIND
  VALGRIND_STACK_DEREGISTER(c->vg_id);
#endif
  free(c->uc);
  unmap_later(w, c->map, c->map_size);
}

void sim__ctx_release(sim__ctx_t *c) {
#ifdef SIM_TSAN
  if (c->tsan_fiber)
    __tsan_destroy_fiber(c->tsan_fiber);
  c->tsan_fiber = NULL;
#endif
  (void)c;
}

void sim__stack_put(sim_world_t *w, sim__ctx_t *c) {
  if (!c->map)
    return;
#ifdef SIM_TSAN
  sim__ctx_release(c); /* see sim__stack_get */
#endif
  /* Keep up to 4096 stacks for reuse; unmap the rest. */
  if (w->nstack_pool >= 4096) {
    stack_unmap(w, c);
  } else {
    pool_reserve(w, w->nstack_pool + 1);
    w->stack_pool[w->nstack_pool++] = *c;
  }
  c->map = NULL;
  c->uc = NULL;
}

void sim__stack_pool_free(sim_world_t *w) {
  size_t ms = stack_map_size(w), kept = 0;
  pthread_mutex_lock(&stack_cache_mu);
  int b = 0;
  while (b < STACK_CACHE_SIZES && stack_cache[b].map_size != ms) b++;
  if (b == STACK_CACHE_SIZES) /* a free size slot, if any */
    for (b = 0; b < STACK_CACHE_SIZES && stack_cache[b].n > 0; b++) {
    }
  size_t room = (STACK_CACHE_BYTES - stack_cache_bytes) / ms;
  kept = w->nstack_pool < room ? w->nstack_pool : room;
  if (b < STACK_CACHE_SIZES && kept > 0) {
    size_t need = stack_cache[b].n + kept;
    if (need > stack_cache[b].cap) {
      sim__ctx_t *v = sim_realloc(stack_cache[b].v, need * sizeof *v);
      if (v) {
        stack_cache[b].v = v;
        stack_cache[b].cap = need;
      }
    }
    if (need <= stack_cache[b].cap) {
      stack_cache[b].map_size = ms;
      memcpy(stack_cache[b].v + stack_cache[b].n, w->stack_pool, kept * sizeof *w->stack_pool);
      stack_cache[b].n = need;
      stack_cache_bytes += kept * ms;
    } else {
      kept = 0;
    }
  } else {
    kept = 0;
  }
  pthread_mutex_unlock(&stack_cache_mu);
  for (size_t i = kept; i < w->nstack_pool; i++) stack_unmap(w, &w->stack_pool[i]);
  unmap_flush(w);
  free(w->stack_pool);
  w->stack_pool = NULL;
  w->nstack_pool = w->capstack_pool = 0;
}
