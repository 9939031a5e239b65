/*
 * Tests of the runner (sim/scenario/runner.c) and of the storesim command:
 * verdicts, determinism, common random numbers, limits, the bad-input corpus
 * (tests/bad/EXPECTED: file, then the first line storesim must print),
 * Ctrl-C, whole output files, help and exit codes.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "storesim/scenario.h"

#define BIN STORESIM_BINARY_DIR "/storesim"
#define SRC STORESIM_SOURCE_DIR

static scn_scenario_t *load_file(const char *rel, const char *const *sets, size_t nsets) {
  char p[1024];
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_load_opts_t o = {sets, nsets};
  snprintf(p, sizeof p, "%s/%s", SRC, rel);
  scn_diag_init(&d);
  cr_assert_eq(scn_load(p, &o, &s, &d), 0, "%s", d.text);
  scn_diag_free(&d);
  return s;
}

/* A scenario from text (named t.yaml in messages); the test fails if it
 * does not load. */
static scn_scenario_t *load_text(const char *text, size_t len) {
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_diag_init(&d);
  cr_assert_eq(scn_load_buffer("t.yaml", text, len, NULL, &s, &d), 0, "%s", d.text);
  scn_diag_free(&d);
  return s;
}

static const scn_metric_res_t *metric(const scn_variant_res_t *vr, const char *name) {
  for (size_t i = 0; i < vr->nmetrics; i++)
    if (!strcmp(vr->metrics[i].name, name)) return &vr->metrics[i];
  return NULL;
}

Test(runner, verdict_determinism_and_common_random_numbers) {
  scn_scenario_t *s = load_file("scenarios/validation/mm1.yaml", NULL, 0);
  scn_run_opts_t o = {0};
  o.duration = 2 * SIM_DAY;
  scn_result_t *a = scn_run(s, &o), *b = scn_run(s, &o);
  cr_assert(a && b);
  cr_assert_eq(a->status, 0, "%s", a->diag.text ? a->diag.text : "");
  cr_assert_eq(a->reproduced_without_fix, 1);
  cr_assert_eq(a->absent_with_fix, 1);
  cr_assert_eq(a->nvariants, 2);
  for (size_t i = 0; i < 2; i++) {
    cr_assert(a->variants[i].ran && !a->variants[i].incomplete);
    cr_assert_eq(a->variants[i].end_time, 2 * SIM_DAY);
    cr_assert_eq(a->variants[i].trace_hash, b->variants[i].trace_hash, "same seed, same trace");
    cr_assert_eq(a->variants[i].npass, (int)a->variants[i].nexpects);
  }
  cr_assert_neq(a->variants[0].trace_hash, a->variants[1].trace_hash);
  /* the fix (a second worker) is the only difference: same arrivals */
  cr_assert_eq(metric(&a->variants[0], "queue.arrivals")->sum.final,
               metric(&a->variants[1], "queue.arrivals")->sum.final);
  scn_result_free(a);
  scn_result_free(b);
  o.have_seed = 1;
  o.seed = 99;
  o.variant = "with_fix";
  a = scn_run(s, &o);
  cr_assert_eq(a->variants[0].ran, 0);
  cr_assert_eq(a->variants[1].ran, 1);
  cr_assert_eq(a->variants[1].seed, 99);
  cr_assert_eq(a->reproduced_without_fix, -1);
  scn_result_free(a);
  scn_scenario_free(s);
}

Test(runner, a_wrong_model_fails_the_closed_form) {
  /* M/D/1 service under M/M/1 expectations: Wq is half, the check fails */
  const char *sets[] = {"service.time=const(1s)"};
  scn_scenario_t *s = load_file("scenarios/validation/mm1.yaml", sets, 1);
  scn_run_opts_t o = {0};
  o.duration = 2 * SIM_DAY;
  scn_result_t *r = scn_run(s, &o);
  cr_assert_eq(r->status, 1);
  cr_assert_eq(r->reproduced_without_fix, 0);
  cr_assert(r->variants[0].nfail >= 1);
  scn_result_free(r);
  scn_scenario_free(s);
  /* and M/M/c's expectations notice one worker less than declared */
  const char *sets2[] = {"arrivals.interarrival=exp(300ms)"};
  s = load_file("scenarios/validation/mmc.yaml", sets2, 1);
  o.duration = SIM_DAY;
  r = scn_run(s, &o);
  cr_assert_eq(r->status, 0, "parameters are read by the expectations: still the closed form");
  scn_result_free(r);
  scn_scenario_free(s);
}

Test(runner, unknown_metric_is_an_input_error_with_position) {
  const char *text =
      "id: t\ntitle: t\nmodel: queue\nduration: 1m\n"
      "variants: { without_fix: {}, with_fix: {} }\n"
      "expect:\n  without_fix: [\"queue.wiat.mean < 1s\"]\n  with_fix: [\"queue.wait.p99 < 1h\", \"queue.length.p99 < 1\"]\n";
  scn_scenario_t *s = load_text(text, strlen(text));
  scn_result_t *r = scn_run(s, NULL);
  cr_assert_eq(r->status, 2);
  cr_assert(strstr(r->diag.text, "t.yaml:7:18: error: expect (without_fix): unknown metric 'queue.wiat' (nearest: 'queue.wait'"),
            "%s", r->diag.text);
  cr_assert(strstr(r->diag.text, "percentiles exist for sample metrics only"), "%s", r->diag.text);
  cr_assert_eq(r->variants[1].npass, 1);
  scn_result_free(r);
  scn_scenario_free(s);
}

/* Variants on several host threads (opts.jobs) give the result of running
 * them one after another: hashes, steps, expectation results, metric
 * summaries, and the diagnostics in variant order. */
static void assert_same_result(const scn_result_t *a, const scn_result_t *b) {
  cr_assert_eq(a->status, b->status);
  cr_assert_eq(a->nvariants, b->nvariants);
  cr_assert_eq(a->reproduced_without_fix, b->reproduced_without_fix);
  cr_assert_eq(a->absent_with_fix, b->absent_with_fix);
  cr_assert_str_eq(a->diag.text ? a->diag.text : "", b->diag.text ? b->diag.text : "");
  for (size_t i = 0; i < a->nvariants; i++) {
    const scn_variant_res_t *x = &a->variants[i], *y = &b->variants[i];
    cr_assert_eq(x->ran, y->ran, "variant %zu", i);
    cr_assert_eq(x->trace_hash, y->trace_hash, "variant %zu", i);
    cr_assert_eq(x->steps, y->steps, "variant %zu", i);
    cr_assert_eq(x->npass, y->npass, "variant %zu", i);
    cr_assert_eq(x->nfail, y->nfail, "variant %zu", i);
    cr_assert_eq(x->nmetrics, y->nmetrics, "variant %zu", i);
    for (size_t k = 0; k < x->nmetrics; k++) {
      cr_assert_str_eq(x->metrics[k].name, y->metrics[k].name);
      cr_assert_eq(memcmp(&x->metrics[k].sum, &y->metrics[k].sum, sizeof x->metrics[k].sum), 0,
                   "%s of variant %zu", x->metrics[k].name, i);
    }
  }
}

Test(runner, parallel_variants_give_the_sequential_result) {
  scn_scenario_t *s = load_file("scenarios/bad-day.yaml", NULL, 0);
  cr_assert_geq(s->nvariants, 4);
  scn_run_opts_t o = {0};
  o.duration = 20 * SIM_MIN;
  scn_result_t *seq = scn_run(s, &o);
  o.jobs = 3;
  scn_result_t *par = scn_run(s, &o);
  assert_same_result(seq, par);
  o.variant = "with_fix"; /* one selected: one thread */
  scn_result_t *one = scn_run(s, &o);
  int nran = 0;
  for (size_t i = 0; i < one->nvariants; i++) {
    nran += one->variants[i].ran;
    cr_assert(!one->variants[i].ran || !strcmp(one->variants[i].v->name, "with_fix"));
  }
  cr_assert_eq(nran, 1);
  scn_result_free(seq);
  scn_result_free(par);
  scn_result_free(one);
  scn_scenario_free(s);
}

Test(runner, parallel_variants_merge_diagnostics_in_order) {
  const char *text =
      "id: t\ntitle: t\nmodel: queue\nduration: 1m\n"
      "variants: { without_fix: {}, with_fix: {}, third: {} }\n"
      "expect:\n  without_fix: [\"queue.wiat.mean < 1s\"]\n"
      "  with_fix: [\"queue.lenght.max < 1\"]\n  third: [\"queue.waits.max < 1s\"]\n";
  scn_scenario_t *s = load_text(text, strlen(text));
  scn_run_opts_t o = {0};
  scn_result_t *seq = scn_run(s, &o);
  o.jobs = 3;
  scn_result_t *par = scn_run(s, &o);
  cr_assert_eq(seq->status, 2);
  cr_assert_eq(seq->diag.nerrors, 3, "%s", seq->diag.text);
  cr_assert_eq(par->diag.nerrors, 3, "%s", par->diag.text);
  assert_same_result(seq, par);
  scn_result_free(seq);
  scn_result_free(par);
  scn_scenario_free(s);
}

/* More errors than the diagnostics print (50): the cap applies to the
 * scenario's errors in variant order, however many variants ran at once. */
Test(runner, parallel_variants_keep_the_error_cap) {
  char text[8192];
  size_t k = (size_t)snprintf(text, sizeof text,
                              "id: t\ntitle: t\nmodel: queue\nduration: 1m\n"
                              "variants: { without_fix: {}, with_fix: {} }\nexpect:\n");
  for (int v = 0; v < 2; v++) {
    k += (size_t)snprintf(text + k, sizeof text - k, "  %s:\n", v ? "with_fix" : "without_fix");
    for (int i = 0; i < 30; i++)
      k += (size_t)snprintf(text + k, sizeof text - k, "    - \"queue.nope%d.max < 1\"\n", i);
  }
  scn_scenario_t *s = load_text(text, k);
  scn_run_opts_t o = {0};
  scn_result_t *seq = scn_run(s, &o);
  o.jobs = 2;
  scn_result_t *par = scn_run(s, &o);
  cr_assert_eq(seq->diag.nerrors, 60);
  cr_assert(strstr(seq->diag.text, "too many errors; stopping"), "%s", seq->diag.text);
  assert_same_result(seq, par);
  scn_result_free(seq);
  scn_result_free(par);
  scn_scenario_free(s);
}

Test(runner, limits_stop_a_run_with_an_error) {
  const char *text =
      "id: t\ntitle: t\nmodel: queue\nduration: 1m\nburst: { at: 1s, count: 5000 }\n"
      "limits: { max_threads: 100 }\nvariants: { without_fix: {}, with_fix: {} }\n"
      "expect: { without_fix: [\"queue.arrivals.final > 0\"] }\n";
  scn_scenario_t *s = load_text(text, strlen(text));
  scn_result_t *r = scn_run(s, NULL);
  cr_assert_eq(r->status, 2);
  cr_assert(r->variants[0].incomplete);
  cr_assert(strstr(r->diag.text, "live thread limit"), "%s", r->diag.text);
  cr_assert_eq(r->reproduced_without_fix, -1);
  scn_result_free(r);
  scn_scenario_free(s);
}

Test(runner, the_stall_limit_is_a_scenario_key) {
  /* 3000 customers arriving at one instant take more than 1000 scheduling
   * steps there: a tiny stall limit stops the run with its message; the
   * default spares the burst. */
#define STALL_FMT                                                                                  \
  "id: t\ntitle: t\nmodel: queue\nduration: 10s\nburst: { at: 1s, count: 3000 }\n"                \
  "%svariants: { without_fix: {}, with_fix: {} }\n"                                                \
  "expect: { without_fix: [\"queue.arrivals.final > 0\"] }\n"
  char text[512];
  snprintf(text, sizeof text, STALL_FMT, "limits: { max_instant_steps: 1000 }\n");
  scn_scenario_t *s = load_text(text, strlen(text));
  cr_assert_eq(s->world.max_instant_steps, 1000);
  scn_result_t *r = scn_run(s, NULL);
  cr_assert_eq(r->status, 2);
  cr_assert(r->variants[0].incomplete);
  cr_assert(strstr(r->diag.text, "stall limit reached (limits.max_instant_steps = 1000)"), "%s",
            r->diag.text);
  scn_result_free(r);
  scn_scenario_free(s);

  snprintf(text, sizeof text, STALL_FMT, "");
  s = load_text(text, strlen(text));
  cr_assert_eq(s->world.max_instant_steps, 100000000);
  r = scn_run(s, NULL);
  cr_assert(!r->variants[0].incomplete, "%s", r->diag.text);
  scn_result_free(r);
  scn_scenario_free(s);
}

Test(runner, faults_reach_the_model) {
  const char *text =
      "id: t\ntitle: t\nmodel: queue\nduration: 1h\narrivals: { interarrival: const(1s) }\n"
      "service: { time: const(100ms) }\n"
      "faults: [{at: 30m, action: arrivals_stop}]\n"
      "variants: { without_fix: {}, with_fix: {} }\n"
      "expect:\n  without_fix: [\"queue.arrivals.final == 1799\"]\n";
  scn_scenario_t *s = load_text(text, strlen(text));
  scn_result_t *r = scn_run(s, NULL);
  cr_assert_eq(r->variants[0].npass, 1, "%s", r->variants[0].expects[0].detail);
  scn_result_free(r);
  scn_scenario_free(s);
}

Test(cli, bad_input_corpus) {
  char line[2048], cmd[4096], out[8192];
  FILE *f = fopen(SRC "/tests/bad/EXPECTED", "r");
  int n = 0;
  cr_assert(f);
  while (fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    char *want = tab + 1;
    want[strcspn(want, "\n")] = 0;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run 'tests/bad/%s' 2>&1 >/dev/null", SRC, BIN, line);
    int rc = kt_sh(cmd, out, sizeof out);
    cr_expect_eq(rc, 2, "%s: exit %d, output:\n%s", line, rc, out);
    out[strcspn(out, "\n")] = 0;
    cr_expect_str_eq(out, want, "%s", line);
    n++;
  }
  fclose(f);
  cr_assert(n >= 40, "only %d corpus files", n);
  /* also: a directory without scenarios, a missing file, an unreadable one */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' validate tests/bad/empty_dir 2>&1", SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  cr_assert_str_eq(out, "tests/bad/empty_dir: error: no scenario files (*.yaml, *.yml) in this directory\n");
  snprintf(cmd, sizeof cmd, "'%s' validate /nonexistent.yaml 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  cr_assert_str_eq(out, "/nonexistent.yaml: error: cannot open: No such file or directory\n");
  snprintf(cmd, sizeof cmd, "'%s' validate /proc/self/mem 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  cr_assert(strstr(out, "/proc/self/mem: error: cannot read"), "%s", out);
}

Test(cli, check_validation_scenarios) {
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' check scenarios/validation 2>&1", SRC, BIN);
  int rc = kt_sh(cmd, out, sizeof out);
  cr_assert_eq(rc, 0, "%s", out);
  cr_assert(strstr(out, "\n4 passed, 0 failed\n"), "%s", out);
  /* a failing scenario: exit 1, and the failed expectation is named */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' check --duration 1d --set 'service.time=const(1s)' "
           "scenarios/validation/mm1.yaml 2>&1", SRC, BIN);
  rc = kt_sh(cmd, out, sizeof out);
  cr_assert_eq(rc, 1, "%s", out);
  cr_assert(strstr(out, "FAIL ") && strstr(out, "failed:") && strstr(out, "\n0 passed, 1 failed\n"), "%s", out);
}

Test(cli, run_outputs_table_json_csv_trace) {
  char cmd[4096], out[65536], dir[] = "/tmp/storesim-cli-XXXXXX";
  cr_assert(mkdtemp(dir));
  /* half a virtual hour: too short for the closed forms (exit 1), enough for the files */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run --duration 30m --metrics %s/m.csv --trace %s/t.jsonl "
           "scenarios/validation/mmc.yaml", SRC, BIN, dir, dir);
  int rc = kt_sh(cmd, out, sizeof out);
  cr_assert_eq(rc, 1, "%s", out);
  cr_assert(strstr(out, "mmc: M/M/c"), "%s", out);
  cr_assert(strstr(out, "FAIL   mmc          NOT reproduced without fix"), "%s", out);
  struct stat st;
  char p[512];
  snprintf(p, sizeof p, "%s/m.csv", dir);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert(st.st_size > 100);
  FILE *f = fopen(p, "r");
  char head[200];
  cr_assert(fgets(head, sizeof head, f));
  cr_assert_str_eq(head, "scenario,variant,time_s,metric,value\n");
  fclose(f);
  snprintf(p, sizeof p, "%s/t.jsonl", dir);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert(st.st_size > 1000);
  /* JSON: one object per scenario, the documented keys */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run --json --duration 1d scenarios/validation/mmc.yaml "
           "scenarios/validation/md1.yaml", SRC, BIN);
  rc = kt_sh(cmd, out, sizeof out);
  cr_assert_eq(rc, 0, "%s", out);
  int lines = 0;
  for (char *q = out; *q; q++) lines += *q == '\n';
  cr_assert_eq(lines, 2);
  const char *keys[] = {"\"scenario\":{\"id\":\"mmc\"", "\"seed\":7", "\"verdict\":{\"reproduced_without_fix\":true,\"absent_with_fix\":true",
                        "\"variants\":[{\"name\":\"without_fix\",\"fixes\":[]", "\"trace_hash\":\"", "\"metrics\":{",
                        "\"twmean\":", "\"expectations\":[{\"expression\":", "\"measured\":", "\"pass\":true",
                        "\"detectors\":[]"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cr_assert(strstr(out, keys[i]), "%s missing", keys[i]);
  /* the same run twice prints the same bytes */
  char out2[65536];
  kt_sh(cmd, out2, sizeof out2);
  cr_assert_str_eq(out, out2);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

Test(cli, output_files_are_whole_or_absent) {
  char cmd[4096], out[8192];
  /* an input error: nothing is left behind, not even a temporary file */
  snprintf(cmd, sizeof cmd, "d=$(mktemp -d) && cd '%s' && '%s' run --metrics $d/m.csv tests/bad/empty.yaml "
           ">/dev/null 2>&1; echo $?; ls -A $d; rm -rf $d", SRC, BIN);
  kt_sh(cmd, out, sizeof out);
  cr_assert_str_eq(out, "2\nm.csv\n", "metrics of zero scenarios is a whole (header-only) file");
  snprintf(cmd, sizeof cmd, "'%s' run --metrics /nonexistent-dir/m.csv x.yaml 2>&1; echo $?", BIN);
  kt_sh(cmd, out, sizeof out);
  cr_assert(strstr(out, "/nonexistent-dir/m.csv: error: cannot write") && strstr(out, "\n2\n"), "%s", out);
}

Test(cli, ctrl_c_prints_what_was_measured) {
  char cmd[4096], out[65536];
  /* a run of thousands of virtual days; SIGINT after half a second */
  snprintf(cmd, sizeof cmd,
           "cd '%s' && { '%s' run --duration 3650d scenarios/validation/mm1.yaml & pid=$!; "
           "sleep 0.5; kill -INT $pid; wait $pid; echo \"exit=$?\"; }",
           SRC, BIN);
  kt_sh(cmd, out, sizeof out);
  cr_assert(strstr(out, "exit=130"), "%s", out);
  cr_assert(strstr(out, "INCOMPLETE (interrupted)"), "%s", out);
  cr_assert(strstr(out, "queue.wait"), "metrics so far are printed: %s", out);
}

Test(cli, help_usage_and_exit_codes) {
  char cmd[2048], out[16384];
  snprintf(cmd, sizeof cmd, "'%s' --help", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0);
  cr_assert(
      strstr(out, "exit status: 0 ok, 1 an expectation failed, 2 usage, input or output error"));
  const char *cmds[] = {"run", "check", "validate", "list", "schema"};
  for (size_t i = 0; i < 5; i++) {
    snprintf(cmd, sizeof cmd, "'%s' %s --help", BIN, cmds[i]);
    cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s", cmds[i]);
    cr_assert(strstr(out, "usage: storesim"), "%s", cmds[i]);
  }
  snprintf(cmd, sizeof cmd, "'%s' rnu 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  cr_assert(strstr(out, "did you mean 'run'"), "%s", out);
  snprintf(cmd, sizeof cmd, "'%s' run --frobnicate x 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  snprintf(cmd, sizeof cmd, "'%s' run --seed -3 x 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  snprintf(cmd, sizeof cmd, "'%s' 2>&1", BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run --sched bogus --duration 1m scenarios/validation/mm1.yaml 2>&1", SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2, "%s", out);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' list scenarios/validation", SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0);
  cr_assert(strstr(out, "mm1 ") && strstr(out, "mmc ") && strstr(out, "md1 "), "%s", out);
}

Test(cli, committed_schema_is_generated) {
  char cmd[2048], out[1 << 16];
  /* other models' tables change on their own: a stale file is a warning */
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' schema --json | cmp - scenarios/schema.json 2>&1", SRC, BIN);
  if (kt_sh(cmd, out, sizeof out))
    fprintf(stderr, "note: scenarios/schema.json differs from `storesim schema --json`: regenerate it\n");
  /* but it must cover the scenario layer and the queueing model */
  FILE *f = fopen(SRC "/scenarios/schema.json", "r");
  cr_assert(f, "scenarios/schema.json is missing");
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  fclose(f);
  const char *keys[] = {"\"$schema\"", "\"duration\"", "\"limits\"", "\"max_threads\"", "\"variants\"",
                        "\"expect\"", "\"faults\"", "\"workers\"", "\"interarrival\"", "\"arrivals_stop\""};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cr_assert(strstr(out, keys[i]), "%s", keys[i]);
}

/* docs/metrics.md is generated from the models' descriptors: the committed
 * file must be what `storesim schema --metrics-markdown` prints. */
Test(cli, committed_metrics_doc_is_generated) {
  char cmd[2048], out[1 << 16];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && '%s' schema --metrics-markdown | diff - docs/metrics.md 2>&1", SRC, BIN);
  cr_assert_eq(
      kt_sh(cmd, out, sizeof out), 0,
      "docs/metrics.md differs from `storesim schema --metrics-markdown`: regenerate it\n%s", out);
}

Test(runner, seeded_schedulers_replay_exactly) {
  scn_scenario_t *s = load_file("scenarios/validation/mmc.yaml", NULL, 0);
  const char *scheds[] = {"random:7", "pct:3:2"};
  for (size_t k = 0; k < 2; k++) {
    scn_run_opts_t o = {0};
    o.duration = SIM_HOUR;
    char err[256];
    cr_assert_eq(sim_sched_parse(scheds[k], &o.sched, err, sizeof err), 0, "%s", err);
    scn_result_t *a = scn_run(s, &o), *b = scn_run(s, &o);
    cr_assert(a->variants[0].ran, "%s: %s", scheds[k], a->diag.text ? a->diag.text : "");
    for (size_t i = 0; i < a->nvariants; i++)
      cr_assert_eq(a->variants[i].trace_hash, b->variants[i].trace_hash, "%s", scheds[k]);
    scn_result_free(a);
    scn_result_free(b);
  }
  scn_run_opts_t o = {0};
  o.duration = SIM_HOUR;
  o.sched = (sim_sched_t){.kind = SIM_SCHED_PCT, .seed = 3, .depth = 0}; /* depth is 1 or more */
  scn_result_t *r = scn_run(s, &o);
  cr_assert_eq(r->status, 2);
  cr_assert(strstr(r->diag.text, "cannot create the world: bad scheduler 'pct:3:0'"), "%s",
            r->diag.text);
  scn_result_free(r);
  scn_scenario_free(s);
}

/* validate is a gate: every error the run would hit in an expectation is an
 * error before running (exit 2), all of them in one pass, each positioned:
 * unknown metrics (with the nearest), units that disagree, percentiles of a
 * counter. */
Test(cli, validate_is_a_gate_for_expectations) {
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' validate tests/bad/expr_unknown_metric.yaml 2>&1", SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "tests/bad/expr_unknown_metric.yaml:12:15: error: expect (with_fix): unknown "
                        "metric 'queue.wiat': the model neither registers nor describes it "
                        "(nearest: 'queue.wait'"),
            "%s", out);
  snprintf(cmd, sizeof cmd,
           "cd /tmp && printf '%%s\\n' 'id: v' 'title: t' 'model: store' 'duration: 1h' "
           "'variants: {without_fix: {}, with_fix: {}}' 'expect:' "
           "'  without_fix: [\"owa.latency.p99 < 1\", \"tasks.exhaustions.p99 > 1\"]' "
           "'  with_fix: [\"tasks.free.min > 1s\", \"owa.timeout.max < 1\"]' "
           "| '%s' validate - 2>&1",
           BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "<stdin>:7:18: error: expect (without_fix): cannot compare owa.latency.p99 "
                        "(a duration) with 1 (a plain number): write the unit"),
            "%s", out);
  cr_assert(strstr(out, "<stdin>:7:41: error: expect (without_fix): tasks.exhaustions.p99: "
                        "percentiles exist for sample metrics only"),
            "%s", out);
  cr_assert(strstr(out, "<stdin>:8:15: error: expect (with_fix): cannot compare tasks.free.min (a "
                        "plain number) with 1s (a duration)"),
            "%s", out);
  cr_assert(strstr(out, "<stdin>:8:38: error: expect (with_fix): unknown metric 'owa.timeout'"),
            "%s", out);
  for (const char *f = "baseline kb898782 kb922768 kb924567 kb941060 q279798 bad-day"; *f;) {
    char name[32];
    int n = 0;
    sscanf(f, "%31s%n", name, &n);
    f += n;
    while (*f == ' ') f++;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' validate scenarios/%s.yaml 2>&1", SRC, BIN, name);
    cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s: %s", name, out);
    cr_assert(!strstr(out, "warning") && !strstr(out, "error"), "%s: %s", name, out);
  }
}

/* A sample metric with no sample has no min, max, mean or percentile: an
 * expectation on one is an error naming it, never a pass on a 0 that was
 * not measured; its count (0) is still a value. */
Test(cli, empty_sample_statistics_are_undefined, .timeout = 120) {
  char dir[] = "/tmp/storesim-empty-XXXXXX", path[256], cmd[1024], out[16384];
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/empty.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(
      f,
      "id: empty\ntitle: t\nmodel: queue\nduration: 1s\n"
      "arrivals: { interarrival: exp(100h) }\nservice: { time: exp(1s) }\nqueue: { workers: 1 }\n"
      "variants: { without_fix: {}, with_fix: {} }\n"
      "expect: { without_fix: [\"queue.wait.max < 1s\"], with_fix: [\"queue.wait.count == 0\"] "
      "}\n");
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' run '%s' 2>&1", BIN, path);
  int rc = kt_sh(cmd, out, sizeof out);
  cr_assert_eq(rc, 2, "%s", out);
  cr_assert(strstr(out, "queue.wait.max: no sample was taken in this run, so it is undefined"),
            "%s", out);
  cr_assert(!strstr(out, "FAILED with_fix"), "count of an empty sample is 0: %s", out);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  kt_sh(cmd, out, sizeof out);
}

/* run's short answer fits the terminal: at 80 and 120 columns no line is
 * wider, numbers are in human units (no scientific notation, no -1
 * sentinels), a run of several scenarios ends with one line each and a
 * total, nothing is coloured off a terminal; -v gives the full table. The
 * M/M/1 answer at 80 columns is pinned in tests/golden/run-mm1-80.txt
 * (regenerate: COLUMNS=80 storesim run scenarios/validation/mm1.yaml). */
Test(cli, run_prints_a_short_answer_that_fits_the_terminal, .timeout = 300) {
  static char out[1 << 16], cmd[4096];
  for (int w = 80; w <= 120; w += 40) {
    snprintf(cmd, sizeof cmd,
             "cd '%s' && COLUMNS=%d '%s' run scenarios/validation/mm1.yaml scenarios/validation/md1.yaml "
             "scenarios/q279798.yaml scenarios/kb922768.yaml 2>/dev/null",
             SRC, w, BIN);
    cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s", out);
    int lines = 0;
    for (char *p = out, *nl; *p; p = nl + 1) {
      nl = strchr(p, '\n');
      if (!nl) break;
      cr_assert_leq(nl - p, w, "a line wider than %d columns: %.*s", w, (int)(nl - p), p);
      lines++;
    }
    cr_assert_lt(lines, 120, "%d lines: not a short answer", lines);
    cr_assert_null(strstr(out, "e+0"), "scientific notation: %s", out);
    cr_assert_null(strstr(out, "-1s"), "a sentinel: %s", out);
    cr_assert_null(strstr(out, "\033["), "colour off a terminal: %s", out);
    cr_assert(strstr(out, "\nsummary\nPASS   mm1 ") && strstr(out, "\n4 passed, 0 failed\n"), "%s",
              out);
    cr_assert(strstr(out, "download.first_broken_at.final"), "%s", out);
    cr_assert(strstr(out, "never"), "an instant that never came: %s", out);
  }
  snprintf(cmd, sizeof cmd,
           "cd '%s' && COLUMNS=80 '%s' run scenarios/validation/mm1.yaml 2>/dev/null | "
           "diff - tests/golden/run-mm1-80.txt",
           SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "the short answer differs from the golden copy:\n%s",
               out);
  /* on a terminal (script(1) gives one) PASS is green, unless NO_COLOR */
  snprintf(cmd, sizeof cmd,
           "cd '%s' && TERM=xterm script -qec \"'%s' run scenarios/validation/md1.yaml\" /dev/null "
           "2>/dev/null | tail -1",
           SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "\033[1;32mPASS"), "%s", out);
  snprintf(cmd, sizeof cmd,
           "cd '%s' && NO_COLOR=1 TERM=xterm script -qec \"'%s' run scenarios/validation/md1.yaml\" "
           "/dev/null 2>/dev/null | tail -1",
           SRC, BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(!strstr(out, "\033[") && strstr(out, "PASS"), "%s", out);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run -v scenarios/validation/mm1.yaml 2>/dev/null", SRC,
           BIN);
  cr_assert_eq(kt_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "queue.wait (mean p95 n)") && strstr(out, "verdict: reproduced"), "%s", out);
}

/* ---- Performance Monitor counters (issue 15) ------------------------------------------------ */

/* Every counter a metric row declares is recorded under its exact path and
 * resolves wherever a metric name is accepted: expectations (quoted), the
 * results (scn_metric_res_find), validate (scn_counter_metric). A counter the
 * model has no metric for does not resolve. */
Test(counters, aliases_resolve_in_runs_and_validate) {
  scn_scenario_t *s = load_file("tests/golden/perfmon.yaml", NULL, 0);
  scn_run_opts_t o = {0};
  o.keep_series = 1;
  scn_result_t *r = scn_run(s, &o);
  cr_assert_eq(r->status, 0, "%s", r->diag.text ? r->diag.text : "");
  const scn_variant_res_t *vr = &r->variants[0];
  cr_assert_eq(vr->npass, 6, "every expectation naming a counter holds");
  const char *paths[] = {"\\MSExchangeIS\\RPC Requests",
                         "\\MSExchangeIS\\RPC Averaged Latency",
                         "\\MSExchangeIS\\RPC Num. of Slow Packets",
                         "\\MSExchangeIS\\RPC Operations/sec",
                         "\\MSExchangeIS Mailbox(_Total)\\Local Delivery Rate",
                         "\\SMTP Server(_Total)\\Local Queue Length",
                         "\\SMTP Server(_Total)\\Messages Received/sec",
                         "\\Process(store)\\% Processor Time",
                         "\\Process(store)\\Private Bytes"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    const scn_metric_res_t *m = scn_metric_res_find(vr, paths[i]);
    cr_assert_not_null(m, "%s is not recorded", paths[i]);
    cr_assert_eq(m->sum.count, 5, "%s: one value per sample interval", paths[i]);
    cr_assert_eq(m->nseries, 5);
    const sim_metric_desc_t *d = scn_counter_metric(s->model, paths[i]);
    cr_assert_not_null(d, "%s does not resolve", paths[i]);
    if (!strchr(d->name, '<'))
      cr_assert_not_null(scn_metric_res_find(vr, d->name), "%s -> %s", paths[i], d->name);
  }
  /* units and semantics: the latency counter is the metric's value at each
   * sample instant, in ms; the /sec counter a rate */
  const scn_metric_res_t *lat = scn_metric_res_find(vr, "\\MSExchangeIS\\RPC Averaged Latency");
  cr_assert_str_eq(lat->unit, "ms");
  cr_assert_str_eq(scn_metric_res_find(vr, "\\MSExchangeIS\\RPC Operations/sec")->unit, "/s");
  cr_assert_str_eq(scn_metric_res_find(vr, "\\Process(store)\\% Processor Time")->unit, "%");
  cr_assert_leq(lat->sum.max, scn_metric_res_find(vr, "rpc.averaged_latency")->sum.max);
  cr_assert_str_eq(scn_counter_metric(s->model, "\\Process(store)\\Private Bytes")->name,
                   "proc.<name>.mem_bytes");
  /* described as the gauge each run records, in the counter's unit: what
   * validate, sweep --metric and the reports read */
  const sim_metric_desc_t *cd = scn_metric_desc(s->model, "\\Process(mta)\\% Processor Time");
  cr_assert_not_null(cd);
  cr_assert_eq(cd->kind, SIM_M_GAUGE);
  cr_assert_str_eq(cd->unit, "%");
  cr_assert(strstr(cd->doc, "proc.<name>.cpu_cores"), "%s", cd->doc);
  cr_assert_eq(cd, scn_metric_desc(s->model, "\\Process(store)\\% Processor Time"));
  cr_assert_str_eq(scn_metric_desc(s->model, "\\MSExchangeIS\\RPC Operations/sec")->unit, "/s");
  cr_assert_null(scn_metric_desc(s->model, "\\MSExchangeIS\\RPC Request"));
  /* not a counter of the model */
  cr_assert_null(scn_counter_metric(s->model, "\\MSExchangeIS\\RPC Request"));
  cr_assert_null(scn_counter_metric(s->model, "\\Process()\\Private Bytes"));
  scn_result_free(r);
  scn_scenario_free(s);
}

/* Labels an Exchange engineer would correct (issue 15, point 4): event 9582
 * is the virtual-memory fragmentation event (VM Largest Block Size), not task
 * exhaustion; Messages Queued For Submission counts messages, and mta.queue
 * holds flush requests: no metric row maps it, and no doc does. */
Test(counters, labels_an_exchange_engineer_would_accept) {
  const sim_model_t *m = scn_model_find("store");
  cr_assert_not_null(m);
  const char *nope[] = {"\\MSExchangeIS Mailbox(_Total)\\Messages Queued For Submission",
                        "\\MSExchangeIS Mailbox\\Messages Queued For Submission",
                        "\\MSExchangeIS\\VM Largest Block Size"};
  for (size_t i = 0; i < sizeof nope / sizeof *nope; i++)
    cr_assert_null(scn_counter_metric(m, nope[i]), "%s has no metric in the model", nope[i]);
  cr_assert_null(scn_metric_desc(m, "mta.queue")->counter.path);
  const char *docs[] = {"docs/store-model.md", "docs/metrics.md", "docs/verdicts.md",
                        "docs/scenarios.md", "README.md"};
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    char p[1024], line[4096];
    snprintf(p, sizeof p, "%s/%s", SRC, docs[i]);
    FILE *f = fopen(p, "r");
    cr_assert(f, "%s", p);
    for (int ln = 1; fgets(line, sizeof line, f); ln++) {
      if (strstr(line, "9582"))
        cr_assert(!strstr(line, "exhaustion") && strstr(line, "fragmentation"),
                  "%s:%d: event 9582 is VM fragmentation: %s", docs[i], ln, line);
      if (strstr(line, "Messages Queued For Submission"))
        cr_assert(!strstr(line, "| `mta.queue` |"), "%s:%d: mapped to mta.queue: %s", docs[i], ln,
                  line);
    }
    fclose(f);
  }
}
