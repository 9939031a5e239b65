/*
 * Host allocation (include/storesim/alloc.h) and the allocation-failure
 * sweep, in the style of SQLite's fault simulator and Lua's failnext: for
 * N = 1, 2, ... the Nth host allocation fails, until an N where nothing
 * fails, over
 *   (a) loading each shipped scenario: the loader must return SIM_ENOMEM with
 *       "out of host memory" in its diagnostics, hand out nothing and leak
 *       nothing (checked under AddressSanitizer); transient (only the Nth
 *       fails) and persistent (the Nth and every later one fail);
 *   (b) a short run (3 s of virtual time, both variants) of a shipped
 *       scenario (kb941060: the fewest allocations, 1,408), each N in a
 *       forked child: the child either dies in the kernel's or the model's
 *       hot path with exactly "storesim: fatal: out of host memory" and
 *       status 3 (SIM_EXIT_OOM), or scn_run reports the
 *       failure (NULL, or status 3 with "out of host memory" in its
 *       diagnostics), or, where a failure is absorbed (a cache that does not
 *       grow), gives exactly the unarmed run's results (trace hashes and
 *       verdicts). Anything else (a crash, a sanitizer report, a leak, a
 *       silently different result) fails the test and names N.
 * The sweeps print how many allocation points they covered.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "storesim/alloc.h"
#include "storesim/scenario.h"

#define SCN_DIR STORESIM_SOURCE_DIR "/scenarios/"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  char *buf = malloc(1 << 20);
  cr_assert_not_null(buf);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

Test(alloc, injector_counts_and_fails_the_nth) {
  sim_alloc_fail_nth(3, 0);
  void *a = sim_malloc(8), *b = sim_calloc(2, 4), *c = sim_strdup("x"), *d = sim_malloc(1);
  cr_assert(a && b && !c && d, "only the third allocation fails");
  cr_assert_eq(sim_alloc_count(), 4);
  cr_assert_eq(sim_alloc_failures(), 1);
  void *e = sim_realloc(d, 64);
  cr_assert_not_null(e, "transient: later ones succeed");
  sim_alloc_fail_nth(1, 1);
  cr_assert_null(sim_realloc(e, 128), "realloc fails and leaves e valid");
  cr_assert_null(sim_strndup("abc", 2));
  cr_assert_eq(sim_alloc_failures(), 2);
  sim_alloc_fail_nth(0, 0);
  char *f = sim_strndup("abc", 2);
  cr_assert_str_eq(f, "ab");
  cr_assert_eq(sim_alloc_count(), 0, "unarmed: nothing is counted");
  free(a), free(b), free(e), free(f);
}

/* Loads text with the Nth allocation failing; returns the failures injected
 * (0: the load ran without one and must have succeeded). */
static long load_with_fault(const char *name, const char *text, size_t len,
                            const scn_load_opts_t *o, long n, int persist) {
  scn_scenario_t *s = (scn_scenario_t *)1;
  scn_diag_t diag;
  scn_diag_init(&diag);
  sim_alloc_fail_nth(n, persist);
  int rc = scn_load_buffer(name, text, len, o, &s, &diag);
  long nfail = sim_alloc_failures();
  sim_alloc_fail_nth(0, 0);
  if (nfail == 0) {
    cr_assert_eq(rc, 0, "%s: failed with no allocation failure: %s", name,
                 diag.text ? diag.text : "");
  } else {
    cr_assert_eq(rc, SIM_ENOMEM, "%s: allocation %ld failed (%s), load returned %d: %s", name, n,
                 persist ? "and all later" : "only", rc, diag.text ? diag.text : "(no text)");
    cr_assert_null(s, "%s: allocation %ld failed: a scenario was handed out", name, n);
    if (!persist) /* persistent failures may leave no room for the message */
      cr_assert(diag.text && strstr(diag.text, "out of host memory"),
                "%s: allocation %ld failed: no message: %s", name, n,
                diag.text ? diag.text : "(no text)");
  }
  scn_scenario_free(s);
  scn_diag_free(&diag);
  return nfail;
}

Test(alloc, sweep_loading_every_shipped_scenario) {
  static const char *const files[] = {"kb924567.yaml", "kb941060.yaml",  "kb922768.yaml",
                                      "kb898782.yaml", "q279798.yaml",   "baseline.yaml",
                                      "bad-day.yaml",  "big-server.yaml"};
  static const char *const sets[] = {"store.tasks=8", "with_fix:duration=1h"};
  long total = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[512];
    size_t len;
    snprintf(path, sizeof path, SCN_DIR "%s", files[i]);
    if (access(path, R_OK) != 0) continue; /* a scenario renamed elsewhere */
    char *text = slurp(path, &len);
    scn_load_opts_t o = {sets, 2};
    long n = 1;
    while (load_with_fault(path, text, len, &o, n, 0)) n++;
    for (long p = 1; p < n; p++) load_with_fault(path, text, len, &o, p, 1);
    total += n - 1;
    free(text);
  }
  fprintf(stderr, "test_alloc: loader sweep: %ld allocation points\n", total);
  cr_assert_gt(total, 100);
  kt_leak_check();
}

/* ---- (b) a short run -------------------------------------------------------------------- */
typedef struct outcome {
  long nfail; /* failures injected */
  int null_result;
  int status;   /* scn_result_t.status */
  int oom_text; /* "out of host memory" in its diagnostics */
  uint64_t hash[4];
  int npass[4], nfail_x[4], nerror[4];
} outcome_t;

static void run_once(const scn_scenario_t *s, outcome_t *out) {
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.quiet = 1;
  o.duration = 3000000000; /* 3 s of virtual time */
  scn_result_t *r = scn_run(s, &o);
  out->nfail = sim_alloc_failures();
  if (!r) {
    out->null_result = 1;
    return;
  }
  out->status = r->status;
  out->oom_text = r->diag.text && strstr(r->diag.text, "out of host memory");
  for (size_t i = 0; i < r->nvariants && i < 4; i++) {
    out->hash[i] = r->variants[i].trace_hash;
    out->npass[i] = r->variants[i].npass;
    out->nfail_x[i] = r->variants[i].nfail;
    out->nerror[i] = r->variants[i].nerror;
  }
  scn_result_free(r);
}

/* How the children ended: died in a hot path, reported by scn_run, absorbed. */
static long ndied, nreported, nabsorbed;

/* Runs s in a child with the Nth allocation failing; returns the failures
 * injected (0: N is past the run's last allocation). */
static long run_with_fault(const scn_scenario_t *s, long n, const outcome_t *ref) {
  int pfd[2];
  char errpath[] = "/tmp/storesim-alloc-XXXXXX";
  int efd = mkstemp(errpath);
  cr_assert(efd >= 0 && pipe(pfd) == 0);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    outcome_t out;
    memset(&out, 0, sizeof out);
    dup2(efd, 2);
    close(pfd[0]);
    sim_alloc_fail_nth(n, 0);
    run_once(s, &out);
    sim_alloc_fail_nth(0, 0);
    int code = 0;
#ifdef KT_LSAN
    if (__lsan_do_recoverable_leak_check()) code = 23;
#endif
    if (write(pfd[1], &out, sizeof out) != (ssize_t)sizeof out) code = 4;
    _exit(code); /* not exit(): Criterion's handlers belong to the parent */
  }
  close(pfd[1]);
  outcome_t out;
  memset(&out, 0, sizeof out);
  ssize_t got = read(pfd[0], &out, sizeof out);
  close(pfd[0]);
  int st;
  waitpid(pid, &st, 0);
  char err[4096] = "";
  ssize_t k = pread(efd, err, sizeof err - 1, 0);
  err[k > 0 ? k : 0] = 0;
  close(efd);
  unlink(errpath);
  cr_assert(WIFEXITED(st), "allocation %ld: the run died of signal %d: %s", n,
            WIFSIGNALED(st) ? WTERMSIG(st) : 0, err);
  int code = WEXITSTATUS(st);
  if (code == SIM_EXIT_OOM) { /* died in a hot path: exactly the kernel's message */
    cr_assert(strstr(err, "storesim: fatal: out of host memory"),
              "allocation %ld: status 3 without the message: %s", n, err);
    ndied++;
    return 1;
  }
  cr_assert_eq(code, 0, "allocation %ld: child exit %d (23: leak) %s", n, code, err);
  cr_assert_eq(got, (ssize_t)sizeof out, "allocation %ld: no outcome", n);
  if (out.nfail == 0) return 0;
  if (out.null_result) return nreported++, out.nfail;
  if (out.status == 3) {
    cr_assert(out.oom_text, "allocation %ld: status 3 without 'out of host memory'", n);
    return nreported++, out.nfail;
  }
  nabsorbed++;
  /* absorbed: then nothing may differ from the unarmed run */
  cr_assert_eq(out.status, ref->status, "allocation %ld: status %d, unarmed %d", n, out.status,
               ref->status);
  for (int i = 0; i < 4; i++)
    cr_assert(out.hash[i] == ref->hash[i] && out.npass[i] == ref->npass[i] &&
                  out.nfail_x[i] == ref->nfail_x[i] && out.nerror[i] == ref->nerror[i],
              "allocation %ld failed and variant %d silently gave another result", n, i);
  return out.nfail;
}

Test(alloc, sweep_a_short_run, .timeout = 1200) {
  scn_scenario_t *s;
  scn_diag_t diag;
  scn_diag_init(&diag);
  cr_assert_eq(scn_load(SCN_DIR "kb941060.yaml", NULL, &s, &diag), 0, "%s", diag.text);
  scn_diag_free(&diag);
  outcome_t ref;
  memset(&ref, 0, sizeof ref);
  run_once(s, &ref); /* warms the process-wide stack cache, as the children find it */
  memset(&ref, 0, sizeof ref);
  sim_alloc_fail_nth(LONG_MAX, 0); /* armed, never fails: counts the run's allocations */
  run_once(s, &ref);
  long count = sim_alloc_count();
  sim_alloc_fail_nth(0, 0);
  cr_assert_eq(ref.nfail, 0);
  cr_assert_gt(count, 0);
  long n = 1;
  while (run_with_fault(s, n, &ref)) n++;
  cr_assert_eq(n, count + 1, "the sweep ended at %ld, the run makes %ld allocations", n, count);
  fprintf(stderr,
          "test_alloc: run sweep: %ld allocation points: %ld died with status 3, %ld reported "
          "by scn_run, %ld absorbed with identical results\n",
          count, ndied, nreported, nabsorbed);
  scn_scenario_free(s);
  kt_leak_check();
}
