/*
 * Report layer: explanations, the HTML page, the trace and DOT outputs of
 * the storesim command, and the progress line.
 *
 * The scenario is scenarios/q279798.yaml (a deadlock, a lock-order report,
 * a shutdown fault and four variants in about a second) and the M/M/1
 * validation scenario (another model: explanations need no scenario text).
 * Commands are run from the build tree (STORESIM_BINARY_DIR/storesim).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sim/report/report_int.h" /* the facts layout */
#include "storesim/report.h"
#include "storesim/scenario.h"

#define SCN(name) STORESIM_SOURCE_DIR "/scenarios/" name
#define STORESIM STORESIM_BINARY_DIR "/storesim"

typedef struct hook {
  const scn_scenario_t *s;
  report_facts_t *facts[8];
} hook_t;

static void on_world(sim_world_t *w, const scn_variant_t *v, struct scn_variant_res *vr, void *arg) {
  hook_t *h = arg;
  size_t i = (size_t)(v - h->s->variants);
  cr_assert(i < 8);
  h->facts[i] = report_facts_collect(w, vr);
  cr_assert_not_null(h->facts[i]);
}

/* Runs a scenario with series, trace facts and returns the result. */
static scn_result_t *run(const char *path, scn_scenario_t **sp, hook_t *h) {
  scn_diag_t d;
  scn_diag_init(&d);
  cr_assert_eq(scn_load(path, NULL, sp, &d), 0, "%s", d.text ? d.text : "");
  scn_diag_free(&d);
  memset(h, 0, sizeof *h);
  h->s = *sp;
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.keep_series = 1;
  o.keep_trace = 1;
  o.world_done = on_world;
  o.world_done_arg = h;
  scn_result_t *r = scn_run(*sp, &o);
  cr_assert_not_null(r);
  return r;
}

static void done(scn_result_t *r, scn_scenario_t *s, hook_t *h) {
  for (size_t i = 0; i < 8; i++) report_facts_free(h->facts[i]);
  scn_result_free(r);
  scn_scenario_free(s);
}

static char *explain_text(const scn_result_t *r, report_facts_t *const *facts) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  cr_assert_eq(report_explain(f, r, facts), 0);
  fclose(f);
  return buf;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = NULL;
  size_t n = 0;
  if (!f) return NULL;
  if (getdelim(&buf, &n, '\0', f) < 0) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
  return n;
}

Test(report, explain_tells_the_deadlock_and_its_absence) {
  scn_scenario_t *s;
  hook_t h;
  scn_result_t *r = run(SCN("q279798.yaml"), &s, &h);
  char *t = explain_text(r, h.facts);
  /* the reference variant: the deadlock report, the threads' waits on the
   * critical sections, the fault */
  char *wf = strstr(t, "-- without_fix");
  char *fx = strstr(t, "-- with_fix");
  cr_assert(wf && fx && wf < fx, "%s", t);
  cr_expect(strstr(wf, "Detector report 'deadlock'") && strstr(wf, "Detector report 'deadlock'") < fx,
            "%s", t);
  cr_expect(strstr(wf, "mutex imail.cs_") != NULL, "%s", t);
  cr_expect(strstr(wf, "fault store_shutdown") != NULL, "%s", t);
  /* the fixed variant says why none of it happened */
  char *cmp = strstr(fx, "Compared with without_fix:");
  cr_assert_not_null(cmp, "%s", t);
  cr_expect(strstr(cmp, "no deadlock report is filed") != NULL, "%s", t);
  cr_expect(strstr(cmp, "no lock-order report is filed") != NULL, "%s", t);
  /* timestamps are virtual h:mm:ss */
  cr_expect(strstr(t, "1:50:00") != NULL, "%s", t);

  /* deterministic: a second run explains byte for byte the same */
  scn_scenario_t *s2;
  hook_t h2;
  scn_result_t *r2 = run(SCN("q279798.yaml"), &s2, &h2);
  char *t2 = explain_text(r2, h2.facts);
  cr_expect_str_eq(t, t2);
  /* without trace facts it still explains from the metrics and reports */
  char *t3 = explain_text(r, NULL);
  cr_expect(strstr(t3, "no deadlock report is filed") != NULL, "%s", t3);
  free(t);
  free(t2);
  free(t3);
  done(r2, s2, &h2);
  done(r, s, &h);
}

Test(report, explain_needs_no_scenario_text) {
  /* another model entirely: the M/M/1 validation scenario */
  scn_scenario_t *s;
  hook_t h;
  scn_result_t *r = run(SCN("validation/mm1.yaml"), &s, &h);
  char *t = explain_text(r, h.facts);
  cr_expect(strstr(t, "== ") == t, "%s", t);
  cr_expect(strstr(t, "The run ends.") != NULL, "%s", t);
  cr_expect(strstr(t, "Expectations: ") != NULL, "%s", t);
  free(t);
  done(r, s, &h);
}

Test(report, facts_from_the_trace) {
  scn_scenario_t *s;
  hook_t h;
  scn_result_t *r = run(SCN("q279798.yaml"), &s, &h);
  const report_facts_t *f = h.facts[0]; /* without_fix */
  int cs = 0, still = 0;
  for (size_t i = 0; i < f->nwaits; i++)
    if (!strncmp(f->waits[i].what, "mutex imail.cs_", 15)) {
      cs++;
      still |= f->waits[i].longest_end == 2; /* the deadlocked threads never wake */
      cr_expect(f->waits[i].peak >= 1);
    }
  cr_expect_geq(cs, 2);
  cr_expect(still);
  int down = 0;
  for (size_t i = 0; i < f->nevents; i++) down |= !strcmp(f->events[i].kind, "store.down");
  cr_expect(down, "the shutdown fault's model event is among the facts");
  done(r, s, &h);
}

Test(report, html_page_is_whole_self_contained_and_deterministic) {
  char err[600];
  if (report_html_tools_check(err, sizeof err)) cr_skip_test("%s", err);
  char *page[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    scn_scenario_t *s;
    hook_t h;
    scn_result_t *r = run(SCN("q279798.yaml"), &s, &h);
    report_html_t *html = report_html_begin("test", err, sizeof err);
    cr_assert_not_null(html, "%s", err);
    cr_assert_eq(report_html_add(html, r, h.facts, err, sizeof err), 0, "%s", err);
    size_t n = 0;
    FILE *f = open_memstream(&page[k], &n);
    cr_assert_eq(report_html_end(html, f), 0);
    fclose(f);
    done(r, s, &h);
  }
  const char *p = page[0];
  cr_expect_str_eq(page[0], page[1], "the page differs between two identical runs");
  cr_expect(strncmp(p, "<!DOCTYPE html>", 15) == 0);
  cr_expect(strstr(p, "</html>\n") != NULL);
  /* nothing fetched: no external scripts, styles, images or links */
  cr_expect_null(strstr(p, "<link"));
  cr_expect_null(strstr(p, " src="));
  cr_expect_null(strstr(p, "href=\"http"));
  cr_expect_null(strstr(p, "@import"));
  cr_expect_null(strstr(p, "<?xml"), "SVG prologues are stripped when inlined");
  /* plots with every variant, axes with units, the fault marked */
  cr_expect_geq(count(p, "<figure class=\"plot\""), 6);
  cr_expect(strstr(p, "data-metric=\"tasks.free\" data-series") == NULL);
  cr_expect(strstr(p, "data-series=\"4\" data-metric=\"tasks.free\"") != NULL);
  cr_expect(strstr(p, "virtual time (min)") != NULL);
  cr_expect(strstr(p, "store_shutdown") != NULL);
  cr_expect(strstr(p, ">race_with_fix<") != NULL, "legend entries name the variants");
  /* the wait-for graph rendered by dot, the expectations, the story */
  cr_expect_geq(count(p, "<figure class=\"graph\""), 1);
  cr_expect(strstr(p, "class=\"node\"") != NULL);
  cr_expect(strstr(p, "detect.deadlocks.final == 1") != NULL);
  cr_expect(strstr(p, "What happened") != NULL);
  cr_expect(strstr(p, "with_fix: none of these") != NULL, "the brief says the fix removed it all");
  /* ids of inlined SVGs are made unique */
  cr_expect(strstr(p, "id=\"gnuplot_canvas\"") == NULL);
  cr_expect(strstr(p, "id=\"p1_gnuplot_canvas\"") != NULL);
  free(page[0]);
  free(page[1]);
}

static int sh(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(report, trace_command_writes_a_valid_perfetto_file) {
  char dir[] = "/tmp/storesim-report-test-XXXXXX", cmd[2048];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "%s trace %s -o %s/trace.json --trace-format perfetto 2>/dev/null", STORESIM,
           SCN("q279798.yaml"), dir);
  int rc = sh(cmd);
  cr_expect(rc == 0 || rc == 1, "exit status as for run: %d", rc);
  snprintf(cmd, sizeof cmd, "python3 %s/tools/check-trace.py %s/trace.json --expect-threads 10 "
           "--expect-counters 10", STORESIM_SOURCE_DIR, dir);
  cr_expect_eq(sh(cmd), 0, "check-trace.py rejected the trace");
  char path[600];
  snprintf(path, sizeof path, "%s/trace.json", dir);
  char *t = slurp(path);
  cr_assert_not_null(t);
  /* one process per variant */
  cr_expect(strstr(t, "\"q279798 / without_fix\"") != NULL);
  cr_expect(strstr(t, "\"q279798 / race_with_fix\"") != NULL);
  cr_expect(strstr(t, "\"pid\":4") != NULL);
  free(t);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

Test(report, dot_files_and_missing_tools) {
  char dir[] = "/tmp/storesim-report-test-XXXXXX", cmd[2048], path[600];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "%s explain %s --variant without_fix --dot %s/dot > %s/story.txt 2>/dev/null",
           STORESIM, SCN("q279798.yaml"), dir, dir);
  int rc = sh(cmd);
  cr_expect(rc == 0 || rc == 1, "rc %d", rc);
  snprintf(path, sizeof path, "%s/dot/q279798.without_fix.2.deadlock.dot", dir);
  char *d = slurp(path);
  cr_assert_not_null(d, "no DOT file %s", path);
  cr_expect(strncmp(d, "digraph", 7) == 0, "%s", d);
  cr_expect(strstr(d, "imail.cs_") != NULL, "%s", d);
  free(d);
  /* the report needs gnuplot and dot: a clear error and exit 2 without them */
  snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s report %s -o %s/r.html 2> %s/err.txt", STORESIM,
           SCN("q279798.yaml"), dir, dir);
  cr_expect_eq(sh(cmd), 2);
  snprintf(path, sizeof path, "%s/err.txt", dir);
  char *e = slurp(path);
  cr_assert_not_null(e);
  cr_expect(strstr(e, "gnuplot and dot not found") != NULL, "%s", e);
  free(e);
  snprintf(path, sizeof path, "%s/r.html", dir);
  cr_expect(access(path, F_OK) != 0, "no partial report is left");
  /* an input error and nothing to show: exit 2, no page */
  snprintf(cmd, sizeof cmd, "%s report %s/none.yaml -o %s/r.html 2> /dev/null", STORESIM, dir, dir);
  cr_expect_eq(sh(cmd), 2);
  cr_expect(access(path, F_OK) != 0, "no page without a scenario");
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

Test(report, progress_only_on_a_terminal) {
  char dir[] = "/tmp/storesim-report-test-XXXXXX", cmd[2048], path[600];
  cr_assert_not_null(mkdtemp(dir));
  /* not a terminal: nothing on stderr */
  snprintf(cmd, sizeof cmd, "%s run %s > /dev/null 2> %s/err.txt", STORESIM, SCN("q279798.yaml"), dir);
  sh(cmd);
  snprintf(path, sizeof path, "%s/err.txt", dir);
  char *e = slurp(path);
  cr_expect(e == NULL || e[0] == 0, "stderr: %s", e ? e : "");
  free(e);
  /* a terminal (script(1) gives one): the line shows virtual time, events/s, ETA */
  if (sh("command -v script > /dev/null") != 0) cr_skip_test("script(1) not installed");
  snprintf(cmd, sizeof cmd,
           "STORESIM_PROGRESS_DELAY=0 script -qec '%s run %s > /dev/null' /dev/null > %s/tty.txt 2>&1",
           STORESIM, SCN("q279798.yaml"), dir);
  sh(cmd);
  snprintf(path, sizeof path, "%s/tty.txt", dir);
  e = slurp(path);
  cr_assert_not_null(e);
  cr_expect(strstr(e, "q279798/without_fix: t=") != NULL, "%s", e);
  cr_expect(strstr(e, "events/s") != NULL && strstr(e, "ETA") != NULL, "%s", e);
  free(e);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}
