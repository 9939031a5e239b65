/*
 * Helpers shared by the kernel's Criterion suites (tests/test_*.c).
 *
 * Every test builds its own world with kt_world*(), runs it, checks what it
 * must, and ends with kt_end(), which checks the world is in the state the
 * test expects and destroys it; under AddressSanitizer the destroy is also
 * checked for leaks, since each test runs in its own process.
 * Nothing here keeps state between tests.
 */
#ifndef STORESIM_TESTS_KTEST_H
#define STORESIM_TESTS_KTEST_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__)
#define KT_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KT_LSAN 1
#endif
#endif
#ifdef KT_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include "storesim/detect.h"
#include "storesim/metrics.h"
#include "storesim/proc.h"
#include "storesim/sim.h"
#include "storesim/sync.h"
#include "storesim/trace.h"

/* Creates a world from o (NULL: defaults); the test fails if it cannot. */
static inline sim_world_t *kt_world_opts(const sim_world_opts_t *o) {
  sim_world_t *w = NULL;
  char err[256];
  int rc = sim_world_create(o, &w, err, sizeof err);
  cr_assert_eq(rc, 0, "sim_world_create: %s (%s)", sim_strerror(rc), err);
  cr_assert_not_null(w);
  return w;
}

/* The host process's resident memory, in MiB (VmRSS of /proc/self/status). */
__attribute__((unused)) static long kt_rss_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
  if (f) fclose(f);
  return kib / 1024;
}

/* Runs cmd through the shell; out gets the first n - 1 bytes it printed on
 * stdout, NUL-terminated. Returns its exit status (128 + signal if killed). */
__attribute__((unused)) static int kt_sh(const char *cmd, char *out, size_t n) {
  FILE *p = popen(cmd, "r");
  size_t k = 0;
  cr_assert(p, "%s", cmd);
  while (k + 1 < n) {
    size_t r = fread(out + k, 1, n - 1 - k, p);
    if (!r) break;
    k += r;
  }
  out[k] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* kt_sh of a command formatted from fmt. */
__attribute__((unused, format(printf, 3, 4))) static int kt_shf(char *out, size_t n,
                                                                const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return kt_sh(cmd, out, n);
}

/* A scratch directory of a test in dir (n bytes): $TMPDIR-ish/NAME.XXXXXX;
 * kt_unscratch removes it with what it holds. */
__attribute__((unused)) static void kt_scratch(char *dir, size_t n, const char *name) {
  snprintf(dir, n, "%s/%s.XXXXXX", P_tmpdir, name);
  cr_assert(mkdtemp(dir), "%s", dir);
}
__attribute__((unused)) static void kt_unscratch(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

/* A world with default options, scheduler `sched` (NULL = fifo). */
static inline sim_world_t *kt_world(const char *sched) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sched = sched;
  o.stack_size = 64 * 1024;
  return kt_world_opts(&o);
}

/* Fails the test if host memory leaked so far (AddressSanitizer builds;
 * elsewhere a no-op). For tests whose worlds failed to be created. */
static inline void kt_leak_check(void) {
#ifdef KT_LSAN
  cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
               "memory leaked (see the report above)");
#endif
}

/* Ends a test: the world must have `live` threads left, and is destroyed.
 * Under AddressSanitizer a leak check follows, so a world that does not
 * free everything fails the test (a leak found only at process exit would be
 * printed but not fail it: Criterion has already recorded the result). */
static inline void kt_end(sim_world_t *w, uint64_t live) {
  cr_assert_null(sim_self(), "a test must end in scheduler context");
  cr_assert_eq(sim_world_live_threads(w), live,
               "expected %llu live threads at the end, found %llu",
               (unsigned long long)live,
               (unsigned long long)sim_world_live_threads(w));
  sim_world_destroy(w);
  kt_leak_check();
}

/* Number of reports of kind k filed so far. */
static inline size_t kt_nreports(const sim_world_t *w, sim_report_kind_t k) {
  size_t n = 0;
  for (size_t i = 0; i < sim_world_nreports(w); i++)
    n += sim_world_report(w, i)->kind == k;
  return n;
}

/* The first report of kind k, or NULL. */
static inline const sim_report_t *kt_report(const sim_world_t *w,
                                            sim_report_kind_t k) {
  for (size_t i = 0; i < sim_world_nreports(w); i++)
    if (sim_world_report(w, i)->kind == k)
      return sim_world_report(w, i);
  return NULL;
}

/* True when report r lists thread id `id`. */
static inline int kt_report_has_thread(const sim_report_t *r, uint64_t id) {
  for (size_t i = 0; i < r->nthreads; i++)
    if (r->threads[i] == id)
      return 1;
  return 0;
}

/* True when report r lists lock `name`. */
static inline int kt_report_has_lock(const sim_report_t *r, const char *name) {
  for (size_t i = 0; i < r->nlocks; i++)
    if (strcmp(r->locks[i], name) == 0)
      return 1;
  return 0;
}

/* Asserts that text contains needle, printing the text when it does not. */
#define kt_assert_contains(text, needle)                                      \
  cr_assert(strstr((text), (needle)) != NULL, "expected \"%s\" in:\n%s",      \
            (needle), (text))

/* "FILE:LINE" of the including source file at `line`, as the kernel's
 * *_at macros record it (__FILE__ as the compiler saw it), into array buf. */
#define KT_SITE(buf, line)                                                    \
  (snprintf((buf), sizeof(buf), "%s:%d", __FILE__, (line)), (buf))

#endif
