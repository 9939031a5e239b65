/*
 * Tests of the store model, part 2 (sim/store/spin.c, leak.c, imail.c):
 *   - the kernel's spin detector names a failed download that spins (a
 *     synthetic spinner: one malformed download, no fix), and only it: the
 *     tasks running its flushes finish work and are not reported;
 *   - no spin report on store tasks kept busy (> half a core) by healthy
 *     downloads that finish;
 *   - with the kb922768 fix the failed download returns one error;
 *   - the leak in bytes per OpenMsgStore call, measured from jemalloc's
 *     statistics of the program's arena, is the configured one within 1 %
 *     (odd sizes too); with the fix the arena holds only the session;
 *   - the machine memory limit makes store allocations fail; a program
 *     restart releases the leak;
 *   - the IMAIL deadlock's wait-for cycle is exactly the two conversion
 *     threads, each holding one critical section and wanting the other; with
 *     the fix no cycle and no lock-order report;
 *   - the shutdown timeout: without the fix the shutdown report comes at
 *     exactly the timeout and says what each stuck conversion holds and
 *     wants; with it the shutdown completes;
 *   - every part-2 metric is documented in docs/metrics.md;
 *   - the part-2 scenarios pass and keep their golden trace hashes;
 *   - a short Q279798 exploration (storesim explore) finds deadlocks without
 *     the fix, replays the first, and finds none with it.
 *
 * Each test builds its own world and ends with end(), which destroys it and
 * (under ASan) checks for leaks, including threads still deadlocked.
 */
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "ktest.h"
#include "storesim/param.h"
#include "storesim/store.h"
#include "../sim/store/store_int.h"

#if defined(__has_include)
#if __has_include("storesim/scenario.h")
#include "storesim/scenario.h"
#define HAVE_SCENARIO 1
#endif
#endif

/* ---- helpers ------------------------------------------------------------------- */

/* A quiet store: no generated load of part 1. */
static void quiet_config(store_config_t *c) {
  store_config_init(c);
  c->smtp_rate = 0;
  c->smtp_malformed_rate = 0;
  c->owa_rate = 0;
  c->mapi_rate = 0;
  c->moves_count = 0;
}

static sim_world_t *world_with(size_t machine_mem) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.stack_size = 64 * 1024;
  o.sample_interval = 10 * SIM_SEC;
  o.machine_mem_limit = machine_mem;
  return kt_world_opts(&o);
}

static void *model_new(sim_world_t *w, const store_config_t *c, uint64_t fixes,
                       const sim_fault_t *f, size_t nf) {
  char err[256] = "";
  void *inst = store_model.create(w, c, fixes, f, nf, err, sizeof err);
  cr_assert_not_null(inst, "store_model.create: %s", err);
  return inst;
}

static double metric(sim_world_t *w, const char *name) {
  sim_metric_t *m = sim_world_metric_find(w, name);
  cr_assert_not_null(m, "no metric '%s'", name);
  return sim_metric_value(m);
}

static void end(sim_world_t *w, void *inst) {
  store_model.destroy(inst);
  sim_world_destroy(w);
#ifdef KT_LSAN
  cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
               "memory leaked after destroy (see the report above)");
#endif
}

static size_t count_reports(sim_world_t *w, sim_report_kind_t k,
                            const sim_report_t **first) {
  size_t n = 0;
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    if (r->kind != k) continue;
    if (n++ == 0 && first) *first = r;
  }
  return n;
}

static const sim_report_t *model_report(sim_world_t *w, const char *name) {
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    if (r->kind == SIM_R_MODEL && !strcmp(r->name, name)) return r;
  }
  return NULL;
}

static sim_proc_t *proc_named(sim_world_t *w, const char *name) {
  for (size_t i = 0; sim_world_proc(w, i); i++)
    if (!strcmp(sim_proc_name(sim_world_proc(w, i)), name))
      return sim_world_proc(w, i);
  cr_assert_fail("no process '%s'", name);
  return NULL;
}

/* ---- KB922768: the spin detector through the model ---------------------------------- */

static void one_malformed_download(store_config_t *c) {
  quiet_config(c);
  c->download_malformed_rate = 1.0; /* the first comes within seconds */
  c->download_malformed_max = 1;
  c->download_retries = 0;
  c->download_timeout = 30 * SIM_SEC;
}

Test(spin, synthetic_spinner_is_reported) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  one_malformed_download(&c);
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, 5 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_eq(metric(w, "download.spinning"), 1);
  cr_assert_gt(metric(w, "download.flushes"), 1000);
  const sim_report_t *r = NULL;
  /* exactly one: the spinning task, not the tasks that run its flushes */
  cr_assert_eq(count_reports(w, SIM_R_SPIN, &r), 1);
  cr_assert_eq(r->nthreads, 1);
  const char *name = sim_world_thread_name(w, r->threads[0]);
  cr_assert(!strncmp(name, "store-task-", 11), "spinner is '%s'", name);
  cr_assert_not_null(strstr(r->text, "storesim: SPIN:"), "%s", r->text);
  cr_assert_not_null(strstr(r->text, "requests"), "%s", r->text);
  cr_assert_not_null(strstr(r->text, name), "%s", r->text);
  cr_assert_eq(metric(w, "detect.spins_store_tasks"), 1);
  /* the flushes fill both cores */
  double share = (double)sim_proc_cpu_busy(proc_named(w, "store")) /
                 (2.0 * 4 * SIM_MIN);
  cr_assert_gt(share, 0.95, "store CPU share %.3f", share);
  end(w, inst);
}

Test(spin, busy_progressing_tasks_are_not_reported) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  quiet_config(&c);
  c.tasks = 2;
  c.download_rate = 80; /* 80/s x 20 ms = 1.6 of 2 cores */
  c.download_cpu.kind = SIM_D_CONST;
  c.download_cpu.a = 20.0 * SIM_MS;
  c.download_timeout = SIM_HOUR;
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, 5 * SIM_MIN);
  store_model.finish(inst);
  sim_proc_t *st = proc_named(w, "store");
  double share = (double)sim_proc_cpu_busy(st) / (2.0 * 5 * SIM_MIN);
  cr_assert_gt(share, 0.5, "each task must burn over half a core (%.2f)", share);
  cr_assert_gt(metric(w, "download.completed"), 10000);
  cr_assert_eq(count_reports(w, SIM_R_SPIN, NULL), 0);
  end(w, inst);
}

Test(spin, fix_returns_one_error) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  one_malformed_download(&c);
  void *inst = model_new(w, &c, STORE_FIX(STORE_FIX_KB922768), NULL, 0);
  sim_world_run(w, 5 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_eq(metric(w, "download.malformed"), 1);
  cr_assert_eq(metric(w, "download.errors"), 1);
  cr_assert_eq(metric(w, "download.flushes"), 0);
  cr_assert_eq(metric(w, "download.spinning"), 0);
  cr_assert_eq(metric(w, "version_store.bytes"), 0);
  cr_assert_eq(count_reports(w, SIM_R_SPIN, NULL), 0);
  end(w, inst);
}

/* ---- KB898782: leak accounting ----------------------------------------------------- */

static void program_config(store_config_t *c, uint64_t leak, int64_t calls) {
  quiet_config(c);
  c->mapiprog_rate = 10;
  c->mapiprog_calls = calls;
  c->mapiprog_leak = leak;
}

static void check_leak(uint64_t leak) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  program_config(&c, leak, 500);
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, 2 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_eq(metric(w, "mapiprog.calls_ok"), 500);
  double bpc = metric(w, "leak.bytes_per_call");
  cr_assert_leq(fabs(bpc - (double)leak), 0.01 * (double)leak,
                "leak %llu: measured %.1f bytes per call",
                (unsigned long long)leak, bpc);
  /* the arena itself: session + 500 calls' leak, read from jemalloc */
  sim_proc_t *p = proc_named(w, "mapiprog");
  double per = ((double)sim_proc_mem_jemalloc(p) - 16384.0) / 500.0;
  cr_assert_leq(fabs(per - (double)leak), 0.01 * (double)leak, "%.1f", per);
  cr_assert_eq(sim_proc_mem_jemalloc(p), sim_proc_mem_used(p));
  end(w, inst);
}

Test(leak, bytes_per_call_power_of_two) { check_leak(64 * 1024); }
Test(leak, bytes_per_call_odd_size) { check_leak(10007); }
Test(leak, bytes_per_call_smallest) { check_leak(2048 + 8); }

Test(leak, fix_keeps_memory_flat) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  program_config(&c, 64 * 1024, 500);
  void *inst = model_new(w, &c, STORE_FIX(STORE_FIX_KB898782), NULL, 0);
  sim_world_run(w, 2 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_eq(metric(w, "mapiprog.calls_ok"), 500);
  sim_proc_t *p = proc_named(w, "mapiprog");
  cr_assert_eq(sim_proc_mem_jemalloc(p), 16384, "only the session remains");
  cr_assert_lt(fabs(metric(w, "leak.bytes_per_call")), 1.0);
  end(w, inst);
}

Test(leak, machine_limit_fails_store_allocations) {
  sim_world_t *w = world_with(64u << 20);
  store_config_t c;
  program_config(&c, 64 * 1024, 0);
  c.mapiprog_rate = 20;  /* 1.25 MiB/s: the machine is full in ~50 s */
  c.smtp_rate = 2;       /* deliveries allocate message bodies */
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, 10 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_gt(sim_proc_alloc_failures(proc_named(w, "store")), 0);
  cr_assert_gt(metric(w, "local_delivery.alloc_failures"), 0);
  cr_assert_gt(metric(w, "mapiprog.alloc_failures"), 0);
  cr_assert_eq(metric(w, "mapiprog.hung"), 1);
  cr_assert_leq(sim_machine_mem_used(w), 64u << 20);
  end(w, inst);
}

Test(leak, program_restart_releases_the_leak) {
  sim_world_t *w = world_with(64u << 20);
  store_config_t c;
  program_config(&c, 64 * 1024, 0);
  c.mapiprog_rate = 20; /* the machine is full in ~50 s */
  c.smtp_rate = 2;
  sim_fault_t f = {5 * SIM_MIN, STORE_FAULT_PROGRAM_RESTART, 0};
  void *inst = model_new(w, &c, 0, &f, 1);
  sim_world_run(w, 5 * SIM_MIN - 1);
  sim_proc_t *p = proc_named(w, "mapiprog");
  cr_assert_gt(sim_proc_mem_used(p), 60u << 20, "full before the restart");
  cr_assert_eq(metric(w, "mapiprog.hung"), 1);
  double failed = metric(w, "local_delivery.alloc_failures");
  cr_assert_gt(failed, 0);
  sim_world_run(w, 5 * SIM_MIN + 2 * SIM_SEC);
  cr_assert_eq(metric(w, "mapiprog.restarts"), 1);
  cr_assert_lt(sim_proc_mem_used(p), 8u << 20, "released by the restart");
  cr_assert_eq(metric(w, "mapiprog.hung"), 0);
  store_model.finish(inst);
  cr_assert_leq(fabs(metric(w, "leak.bytes_per_call") - 65536.0), 655.36);
  end(w, inst);
}

/* ---- Q279798: the deadlock and the shutdown --------------------------------------------- */

static void imail_config(store_config_t *c) {
  quiet_config(c);
  c->imail_inbound_rate = 5;
  c->imail_outbound_rate = 5;
}

typedef struct found {
  uint64_t ids[2];
  int n, imail, on_content, on_charset;
} found_t;

static void inspect(sim_thread_t *t, void *arg) {
  found_t *f = arg;
  for (int i = 0; i < 2; i++) {
    if (sim_thread_id(t) != f->ids[i]) continue;
    f->n++;
    f->imail += !strcmp(sim_thread_activity(t), "imail");
    char d[256];
    sim_thread_describe(t, d, sizeof d);
    f->on_content += strstr(d, "blocked on mutex 'imail.cs_content'") != NULL;
    f->on_charset += strstr(d, "blocked on mutex 'imail.cs_charset'") != NULL;
  }
}

Test(imail, deadlock_cycle_is_the_two_conversions) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  imail_config(&c);
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, 30 * SIM_MIN);
  const sim_report_t *r = NULL;
  cr_assert_eq(count_reports(w, SIM_R_DEADLOCK, &r), 1);
  cr_assert_eq(r->nthreads, 2);
  cr_assert_eq(r->nlocks, 2);
  cr_assert_neq(strcmp(r->locks[0], r->locks[1]), 0);
  for (int i = 0; i < 2; i++)
    cr_assert(!strcmp(r->locks[i], "imail.cs_content") ||
              !strcmp(r->locks[i], "imail.cs_charset"), "%s", r->locks[i]);
  found_t f = {{r->threads[0], r->threads[1]}, 0, 0, 0, 0};
  sim_world_foreach_thread(w, inspect, &f);
  cr_assert_eq(f.n, 2, "both cycle threads are still alive");
  cr_assert_eq(f.imail, 2, "both are IMAIL conversions");
  cr_assert_eq(f.on_content, 1);
  cr_assert_eq(f.on_charset, 1);
  cr_assert_eq(count_reports(w, SIM_R_LOCK_ORDER, NULL), 1);
  store_model.finish(inst);
  cr_assert_eq(metric(w, "imail.cycle_threads"), 2);
  cr_assert_eq(metric(w, "imail.cycle_conversions"), 2);
  cr_assert_gt(metric(w, "ims.queue"), 100);
  end(w, inst);
}

Test(imail, fix_no_cycle_no_inversion) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  imail_config(&c);
  void *inst = model_new(w, &c, STORE_FIX(STORE_FIX_Q279798), NULL, 0);
  sim_world_run(w, 30 * SIM_MIN);
  store_model.finish(inst);
  cr_assert_eq(count_reports(w, SIM_R_DEADLOCK, NULL), 0);
  cr_assert_eq(count_reports(w, SIM_R_LOCK_ORDER, NULL), 0);
  cr_assert_gt(metric(w, "ims.converted"), 5000);
  cr_assert_lt(metric(w, "ims.queue"), 10);
  end(w, inst);
}

static void shutdown_run(uint64_t fixes, sim_world_t **wp, void **instp) {
  sim_world_t *w = world_with(0);
  store_config_t c;
  imail_config(&c);
  sim_fault_t f = {20 * SIM_MIN, STORE_FAULT_STORE_SHUTDOWN, 7 * SIM_MIN};
  void *inst = model_new(w, &c, fixes, &f, 1);
  sim_world_run(w, 40 * SIM_MIN);
  store_model.finish(inst);
  *wp = w;
  *instp = inst;
}

Test(imail, shutdown_times_out_on_the_deadlock) {
  sim_world_t *w;
  void *inst;
  shutdown_run(0, &w, &inst);
  const sim_report_t *r = model_report(w, "shutdown");
  cr_assert_not_null(r);
  cr_assert_eq(r->time, 27 * SIM_MIN, "the report comes at the timeout");
  cr_assert_not_null(strstr(r->text, "store did not shut down within 7m"), "%s",
                     r->text);
  cr_assert_not_null(strstr(r->text, "holds 'imail.cs_content', wants "
                                     "'imail.cs_charset'"), "%s", r->text);
  cr_assert_not_null(strstr(r->text, "holds 'imail.cs_charset', wants "
                                     "'imail.cs_content'"), "%s", r->text);
  cr_assert_eq(metric(w, "store.shutdown_completed"), 0);
  end(w, inst);
}

Test(imail, shutdown_completes_with_the_fix) {
  sim_world_t *w;
  void *inst;
  shutdown_run(STORE_FIX(STORE_FIX_Q279798), &w, &inst);
  const sim_report_t *r = model_report(w, "shutdown");
  cr_assert_not_null(r);
  cr_assert_lt(r->time, 27 * SIM_MIN);
  cr_assert_not_null(strstr(r->text, "store shut down in"), "%s", r->text);
  cr_assert_eq(metric(w, "store.shutdown_completed"), 1);
  end(w, inst);
}

/* ---- docs ------------------------------------------------------------------------------- */

/* Every metric of a store running all part-2 components is in
 * docs/metrics.md (part 1's test runs the default config, where they are
 * off). */
Test(store2, every_metric_is_documented) {
  char path[512];
  snprintf(path, sizeof path, "%s/docs/metrics.md", STORESIM_SOURCE_DIR);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot open %s", path);
  static char doc[1 << 20];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  doc[n] = 0;
  fclose(f);
  sim_world_t *w = world_with(256u << 20);
  store_config_t c;
  store_config_init(&c);
  c.download_rate = 1;
  c.download_malformed_rate = 1;
  c.mapiprog_rate = 1;
  c.imail_inbound_rate = 1;
  c.imail_outbound_rate = 1;
  void *inst = model_new(w, &c, 0, NULL, 0);
  sim_world_run(w, SIM_MIN);
  store_model.finish(inst);
  int missing = 0, checked = 0;
  for (size_t i = 0; i < sim_world_nmetrics(w); i++) {
    const char *name = sim_metric_name(sim_world_metric(w, i));
    if (!strncmp(name, "proc.", 5) || !strncmp(name, "cpu.", 4) ||
        !strncmp(name, "tasks.busy.", 11))
      continue;
    char quoted[256];
    snprintf(quoted, sizeof quoted, "`%s`", name);
    checked++;
    if (!strstr(doc, quoted)) {
      cr_log_error("metric %s is not in docs/metrics.md", name);
      missing++;
    }
  }
  cr_assert_eq(missing, 0, "%d metrics undocumented", missing);
  cr_assert_gt(checked, 100, "only %d metrics checked", checked);
  end(w, inst);
}

/* ---- scenarios and golden trace hashes ------------------------------------------------ */

#ifdef HAVE_SCENARIO
/* Trace hash of each variant for the scenario's default seed (fifo). A change
 * here means the way the bug shows up changed: look at the run, then update
 * the value on purpose. */
static const struct golden {
  const char *file, *variant;
  uint64_t hash;
} goldens[] = {
#include "store2_golden.inc"
};

static void check_scenario(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/scenarios/%s", STORESIM_SOURCE_DIR, name);
  scn_scenario_t *sc = NULL;
  scn_diag_t d;
  scn_diag_init(&d);
  int rc = scn_load(path, NULL, &sc, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "load failed");
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.quiet = 1;
  scn_result_t *r = scn_run(sc, &o);
  cr_assert_not_null(r);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *v = &r->variants[i];
    for (size_t k = 0; k < v->nexpects; k++)
      cr_expect_eq(v->expects[k].status, SCN_X_PASS, "%s/%s: %s -> %s", name,
                   v->v->name, v->expects[k].x->text,
                   v->expects[k].detail ? v->expects[k].detail : "");
    int found = 0;
    for (size_t g = 0; g < sizeof goldens / sizeof goldens[0]; g++) {
      if (strcmp(goldens[g].file, name) || strcmp(goldens[g].variant, v->v->name))
        continue;
      found = 1;
      cr_expect_eq(v->trace_hash, goldens[g].hash,
                   "%s/%s: trace hash %016llx, golden %016llx", name,
                   v->v->name, (unsigned long long)v->trace_hash,
                   (unsigned long long)goldens[g].hash);
    }
    cr_expect(found, "%s/%s: no golden hash (it is %016llx)", name, v->v->name,
              (unsigned long long)v->trace_hash);
  }
  cr_assert_eq(r->status, 0, "%s: status %d", name, r->status);
  scn_result_free(r);
  scn_scenario_free(sc);
  scn_diag_free(&d);
#ifdef KT_LSAN
  cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

/* The Q279798 exploration, fewer seeds than the full command (1,000 each):
 * without the fix some random and PCT schedules deadlock and the first one's
 * decision log replays the same cycle; with it none does and the validator
 * stays silent. Runs the storesim binary (tools/explore.c). */
Test(store2_scenarios, q279798_exploration, .timeout = 300) {
  char cmd[4096], out[1 << 14];
  snprintf(cmd, sizeof cmd,
           "d=$(mktemp -d) && cd '%s' && '%s/storesim' explore --variant "
           "race_without_fix --variant race_with_fix --random 60 --pct 60 "
           "--duration 10s --jobs 2 --log-dir \"$d\" scenarios/q279798.yaml; "
           "rc=$?; rm -rf \"$d\"; exit $rc",
           STORESIM_SOURCE_DIR, STORESIM_BINARY_DIR);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  size_t k = fread(out, 1, sizeof out - 1, p);
  out[k] = 0;
  int st = pclose(p);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
  const char *rnd = strstr(out, "race_without_fix   random");
  const char *pct = strstr(out, "race_without_fix   pct");
  const char *frnd = strstr(out, "race_with_fix      random");
  const char *fpct = strstr(out, "race_with_fix      pct");
  cr_assert(rnd && pct && frnd && fpct, "%s", out);
  unsigned n = 0, dl = 0, lo = 0;
  cr_assert_eq(sscanf(strstr(rnd, "random") + 6, " %u schedules deadlock %u", &n, &dl), 2);
  cr_assert_eq(n, 60);
  cr_assert_gt(dl, 0, "%s", out);
  cr_assert_not_null(strstr(rnd, "replay reproduces it"), "%s", out);
  cr_assert_not_null(strstr(rnd, "lock-order    60 "), "every schedule: %s", out);
  for (const char *f = frnd; f; f = f == frnd ? fpct : NULL) {
    const char *q = strstr(f, "schedules");
    cr_assert_eq(sscanf(q, "schedules deadlock %u (%*f) lock-order %u", &dl, &lo), 2, "%s", f);
    cr_assert_eq(dl, 0, "%s", out);
    cr_assert_eq(lo, 0, "%s", out);
  }
}

Test(store2_scenarios, kb922768, .timeout = 120) { check_scenario("kb922768.yaml"); }
Test(store2_scenarios, kb898782, .timeout = 120) { check_scenario("kb898782.yaml"); }
Test(store2_scenarios, q279798, .timeout = 120) { check_scenario("q279798.yaml"); }
Test(store2_scenarios, bad_day, .timeout = 120) { check_scenario("bad-day.yaml"); }
#endif
