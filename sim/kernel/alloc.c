/*
 * Host allocation and its fault injector (contract: include/storesim/alloc.h).
 *
 * Injector states (process-wide, atomic so that a run on several host
 * threads stays free of data races):
 *   UNARMED --sim_alloc_fail_nth(n > 0)--> ARMED (countdown n)
 *   ARMED   --n-th allocation-------------> FAILED_ONCE (transient: later ones
 *                                            succeed) or FAILING (persist)
 *   any     --sim_alloc_fail_nth(0)-------> UNARMED
 * While unarmed, the only cost is the relaxed load of `armed`.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "storesim/alloc.h"

static atomic_int armed;
static atomic_int persist_;
static atomic_long countdown, nallocs, nfailures;

void sim_alloc_fail_nth(long n, int persist) {
  atomic_store(&armed, 0);
  atomic_store(&nallocs, 0);
  atomic_store(&nfailures, 0);
  atomic_store(&countdown, n);
  atomic_store(&persist_, persist);
  if (n > 0) atomic_store(&armed, 1);
}

long sim_alloc_count(void) { return atomic_load(&nallocs); }
long sim_alloc_failures(void) { return atomic_load(&nfailures); }

static __attribute__((noinline)) int fail_slow(void) {
  atomic_fetch_add(&nallocs, 1);
  long c = atomic_fetch_sub(&countdown, 1);
  if (c == 1 || (c < 1 && atomic_load(&persist_))) {
    atomic_fetch_add(&nfailures, 1);
    return 1;
  }
  return 0;
}

static inline int fail_now(void) {
  if (__builtin_expect(atomic_load_explicit(&armed, memory_order_relaxed) == 0, 1)) return 0;
  return fail_slow();
}

void *sim_malloc(size_t n) { return fail_now() ? NULL : malloc(n ? n : 1); }

void *sim_calloc(size_t n, size_t m) { return fail_now() ? NULL : calloc(n ? n : 1, m ? m : 1); }

void *sim_realloc(void *p, size_t n) { return fail_now() ? NULL : realloc(p, n ? n : 1); }

char *sim_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = sim_malloc(len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = 0;
  return d;
}

char *sim_strdup(const char *s) { return sim_strndup(s, (size_t)-1); }

void sim_alloc_die(size_t n) {
  /* stdio could block on a lock another host thread holds: write(2) only */
  char msg[96];
  int k = n ? snprintf(msg, sizeof msg, "storesim: fatal: out of host memory (%zu bytes)\n", n)
            : snprintf(msg, sizeof msg, "storesim: fatal: out of host memory\n");
  if (k > 0 && write(2, msg, (size_t)k) < 0) k = 0;
  _exit(SIM_EXIT_OOM);
}

void *sim_xmalloc(size_t n) {
  void *p = sim_malloc(n);
  if (!p) sim_alloc_die(n);
  return p;
}

void *sim_xcalloc(size_t n, size_t m) {
  void *p = sim_calloc(n, m);
  if (!p) sim_alloc_die(n * m);
  return p;
}

void *sim_xrealloc(void *p, size_t n) {
  void *q = sim_realloc(p, n);
  if (!q) sim_alloc_die(n);
  return q;
}

char *sim_xstrdup(const char *s) {
  char *d = sim_strdup(s);
  if (!d) sim_alloc_die(strlen(s) + 1);
  return d;
}
