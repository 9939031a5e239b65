/*
 * Tests of the scenario loader (sim/scenario/loader.c): valid files fill the
 * typed configs, every kind of broken input gives file:line:col errors and
 * leaks nothing (run under the asan preset).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/qmodel.h"
#include "storesim/scenario.h"
#include "storesim/store.h"

#define BASE                                          \
  "id: t1\n"                                          \
  "title: a test\n"                                   \
  "model: queue\n"                                    \
  "duration: 1h\n"                                    \
  "arrivals: { interarrival: exp(2s) }\n"             \
  "service:\n"                                        \
  "  time: exp(1s)\n"                                 \
  "queue.workers: 3\n"                                \
  "variants:\n"                                       \
  "  without_fix: {}\n"                               \
  "  with_fix:\n"                                     \
  "    set: { queue: { workers: 5 }, seed: 9 }\n"     \
  "expect:\n"                                         \
  "  without_fix: [\"queue.wait.mean < 10s\", \"queue.busy.twmean <= $queue.workers\"]\n" \
  "  with_fix: \"queue.served.final > 0\"\n"

static scn_scenario_t *load(const char *text, const char *const *sets, size_t nsets, scn_diag_t *d) {
  scn_scenario_t *s = NULL;
  scn_load_opts_t o = {sets, nsets};
  scn_diag_init(d);
  scn_load_buffer("t.yaml", text, strlen(text), &o, &s, d);
  return s;
}

/* Loads text that must fail; returns the diagnostics (caller frees). */
static char *load_err(const char *text) {
  scn_diag_t d;
  scn_scenario_t *s = load(text, NULL, 0, &d);
  cr_assert_null(s, "loaded although broken:\n%s", text);
  cr_assert(d.nerrors > 0);
  char *t = strdup(d.text ? d.text : "");
  scn_diag_free(&d);
  return t;
}

#define EXPECT_ERR(text, sub)                                          \
  do {                                                                 \
    char *e_ = load_err(text);                                         \
    cr_assert(strstr(e_, sub), "expected '%s' in:\n%s", sub, e_);      \
    free(e_);                                                          \
  } while (0)

Test(loader, valid_file_fills_configs) {
  scn_diag_t d;
  scn_scenario_t *s = load(BASE, NULL, 0, &d);
  cr_assert(s, "%s", d.text);
  cr_assert_str_eq(s->id, "t1");
  cr_assert_eq(s->model, &queue_model);
  cr_assert_eq(s->world.duration, SIM_HOUR);
  cr_assert_eq(s->world.seed, 1);
  cr_assert_eq(s->world.cores, 2);
  cr_assert_eq(s->nvariants, 2);
  const scn_variant_t *w = scn_variant_find(s, "without_fix"), *f = scn_variant_find(s, "with_fix");
  cr_assert(w && f);
  const qm_config_t *cw = w->cfg, *cf = f->cfg;
  cr_assert_eq(cw->workers, 3);
  cr_assert_eq(cf->workers, 5);
  cr_assert_eq(f->world.seed, 9);
  cr_assert_eq(cw->service.kind, SIM_D_EXP);
  cr_assert_float_eq(cw->interarrival.a, 2e9, 1);
  cr_assert_eq(cw->batch, 1, "default");
  cr_assert_eq(w->nexpects, 2);
  cr_assert_eq(f->nexpects, 1);
  cr_assert_eq(w->expects[0].line, 14);
  cr_assert_eq(w->expects[0].col, 18);
  scn_scenario_free(s);
  scn_diag_free(&d);
}

Test(loader, set_overrides_base_and_variant) {
  scn_diag_t d;
  const char *sets[] = {"queue.workers=7", "with_fix:service.time=const(2s)", "duration=2h"};
  scn_scenario_t *s = load(BASE, sets, 3, &d);
  cr_assert(s, "%s", d.text);
  const qm_config_t *cw = scn_variant_find(s, "without_fix")->cfg;
  const qm_config_t *cf = scn_variant_find(s, "with_fix")->cfg;
  cr_assert_eq(cw->workers, 7);
  cr_assert_eq(cf->workers, 5, "a variant's own set wins over a global --set");
  cr_assert_eq(cf->service.kind, SIM_D_CONST);
  cr_assert_eq(cw->service.kind, SIM_D_EXP);
  cr_assert_eq(s->world.duration, 2 * SIM_HOUR);
  scn_scenario_free(s);
  scn_diag_free(&d);

  const char *bad[] = {"queue.wrokers=7", "queue.workers=0", "nope", "x:queue.workers=1"};
  s = load(BASE, bad, 4, &d);
  cr_assert_null(s);
  cr_assert(strstr(d.text, "--set: error: 'queue.wrokers=7': unknown key 'queue.wrokers' (did you mean 'queue.workers'?)"), "%s", d.text);
  cr_assert(strstr(d.text, "out of range"), "%s", d.text);
  cr_assert(strstr(d.text, "expected key=value"), "%s", d.text);
  scn_diag_free(&d);
  const char *bad2[] = {"x:queue.workers=1"};
  s = load(BASE, bad2, 1, &d);
  cr_assert_null(s);
  cr_assert(strstr(d.text, "no variant 'x'"), "%s", d.text);
  scn_diag_free(&d);
}

Test(loader, empirical_from_a_list_and_faults_sorted) {
  scn_diag_t d;
  const char *text =
      "id: t2\ntitle: t\nmodel: queue\nduration: 1h\n"
      "service: { time: [1s, 2s, 3s] }\n"
      "faults:\n  - { at: 30m, action: worker_add }\n  - { at: 10m, action: worker_remove }\n"
      "variants: { without_fix: , with_fix: { fixes: [] } }\n";
  scn_scenario_t *s = load(text, NULL, 0, &d);
  cr_assert(s, "%s", d.text);
  const qm_config_t *c = s->variants[0].cfg;
  cr_assert_eq(c->service.kind, SIM_D_EMPIRICAL);
  cr_assert_eq(c->service.nvalues, 3);
  cr_assert_eq(s->nfaults, 2);
  cr_assert_eq(s->faults[0].at, 10 * SIM_MIN);
  cr_assert_eq(s->faults[1].at, 30 * SIM_MIN);
  scn_scenario_free(s);
  scn_diag_free(&d);
}

Test(loader, errors_have_positions) {
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\nqueue: { wrokers: 2 }\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:5:10: error: unknown key 'wrokers' in 'queue' (did you mean 'workers'?)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\ntasks: 2\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:5:1: error: unknown key 'tasks'");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\nqueue: { workers: 1e18 }\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:5:19: error: queue.workers: 1000000000000000000 is out of range [1, 1000000]");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\nduration: 2h\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:5:1: error: duplicate key 'duration' (first at line 4, column 1)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
             "variants: { without_fix: {}, with_fix: {} }\n"
             "expect: { with_fix: [\"queue.wait.mean <\"] }\n",
             "t.yaml:6:40: error: expect: unexpected end of expression");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
             "variants: { without_fix: {}, with_fix: {} }\n"
             "expect: { with_fix: [\"queue.wait.mean < $queue.wrkers * 1s\"] }\n",
             "t.yaml:6:41: error: unknown parameter '$queue.wrkers' (did you mean 'queue.workers'?)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nvariants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml: error: missing required key 'duration'");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\nvariants: { without_fix: {} }\n",
             "t.yaml:5:1: error: variants: missing 'with_fix'");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
             "variants: { without_fix: {fixes: [kb1]}, with_fix: {} }\n",
             "unknown fix 'kb1' (model 'queue' has no fixes)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
             "faults: [{at: 5m, action: arrivals_stpo}]\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:5:27: error: unknown fault 'arrivals_stpo' (did you mean 'arrivals_stop', 'arrivals_start'?)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
             "variants: { without_fix: {}, with_fix: {} }\n"
             "expect: { without_fx: [] }\n",
             "t.yaml:6:11: error: expect: no variant 'without_fx' (did you mean 'without_fix'?)");
  EXPECT_ERR("id: t\ntitle: t\nmodel: nope\nduration: 1h\n", "t.yaml:3:8: error: unknown model 'nope'");
  EXPECT_ERR("id: t\ntitle: [a]\nmodel: queue\nduration: 1h\n"
             "variants: { without_fix: {}, with_fix: {} }\n",
             "t.yaml:2:8: error: title: expected a string, got a list");
}

/* {expect: EXPR, not_live: REASON}: the reason is kept, its absence and
 * unknown keys are errors at their position. */
Test(loader, not_live_expectations) {
  scn_diag_t d;
  scn_scenario_t *s =
      load("id: t\ntitle: t\nmodel: queue\nduration: 1h\n"
           "variants: { without_fix: {}, with_fix: {} }\n"
           "expect:\n  with_fix:\n    - \"queue.served.final > 0\"\n"
           "    - { expect: \"queue.wait.mean < 10s\", not_live: \"host noise\" }\n",
           NULL, 0, &d);
  cr_assert_not_null(s, "%s", d.text ? d.text : "");
  const scn_variant_t *v = &s->variants[1];
  cr_assert_eq(v->nexpects, 2);
  cr_assert_null(v->expects[0].not_live);
  cr_assert_str_eq(v->expects[1].text, "queue.wait.mean < 10s");
  cr_assert_str_eq(v->expects[1].not_live, "host noise");
  cr_assert_eq(v->expects[1].line, 9);
  scn_scenario_free(s);
  scn_diag_free(&d);
#define NL_HEAD                                                                                    \
  "id: t\ntitle: t\nmodel: queue\nduration: 1h\nvariants: { without_fix: {}, with_fix: {} }\n"
  EXPECT_ERR(NL_HEAD "expect: { with_fix: [{ expect: \"queue.served.final > 0\" }] }\n",
             "t.yaml:6:22: error: expect: with_fix: not_live: expected the reason");
  EXPECT_ERR(
      NL_HEAD "expect: { with_fix: [{ expect: \"queue.served.final > 0\", not_lvie: x }] }\n",
      "t.yaml:6:58: error: expect: with_fix: unknown key 'not_lvie' (keys: expect, not_live) "
      "(did you mean 'not_live'?)");
  EXPECT_ERR(NL_HEAD "expect: { with_fix: [{ not_live: x }] }\n",
             "t.yaml:6:22: error: expect: with_fix: a mapping needs 'expect: EXPRESSION'");
  EXPECT_ERR(NL_HEAD "expect: { with_fix: [{ expect: \"queue.served.final >\", not_live: x }] }\n",
             "error: expect: unexpected end of expression");
#undef NL_HEAD
}

Test(loader, several_errors_in_one_pass) {
  char *e = load_err("id: t\ntitle: t\nmodel: queue\nduration: 1h\ncores: 0\nseed: x\nqueue: { workers: -1 }\n"
                     "variants: { without_fix: {}, with_fix: {} }\n");
  cr_assert(strstr(e, "t.yaml:5:8:"), "%s", e);
  cr_assert(strstr(e, "t.yaml:6:7:"), "%s", e);
  cr_assert(strstr(e, "t.yaml:7:19:"), "%s", e);
  free(e);
}

Test(loader, yaml_level_errors) {
  EXPECT_ERR("id: t\ntitle: \"open\n", "t.yaml:3:1: error: YAML: found unexpected end of stream");
  EXPECT_ERR("a: &x 1\nb: *x\n", "t.yaml:1:4: error: YAML anchors (&x) are not supported");
  EXPECT_ERR("id: a\n---\nid: b\n", "one YAML document");
  EXPECT_ERR("", "t.yaml: error: empty scenario file");
  EXPECT_ERR("# nothing\n", "t.yaml: error: empty scenario file");
  EXPECT_ERR("~\n", "t.yaml: error: empty scenario file");
  EXPECT_ERR("- a\n- b\n", "t.yaml:1:1: error: expected a mapping of scenario keys");
  EXPECT_ERR("just a string\n", "expected a mapping of scenario keys");
  EXPECT_ERR("? [a, b]\n: c\n", "a key must be a plain name");
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_diag_init(&d);
  cr_assert_eq(scn_load_buffer("b.yaml", "id: x\n\0\1\2", 9, NULL, &s, &d), SIM_EINVAL);
  cr_assert_str_eq(d.text, "b.yaml:2:1: error: binary data (a NUL byte): a scenario is a YAML text file\n");
  scn_diag_free(&d);
  scn_diag_init(&d);
  cr_assert_eq(scn_load_buffer("u.yaml", "id: \xff\xfe\n", 7, NULL, &s, &d), SIM_EINVAL);
  cr_assert(strstr(d.text, "u.yaml:1:5: error: invalid UTF-8"), "%s", d.text);
  scn_diag_free(&d);
  /* deep nesting does not blow the stack */
  char deep[4000];
  size_t n = 0;
  for (int i = 0; i < 1000; i++) deep[n++] = '[';
  deep[n] = 0;
  EXPECT_ERR(deep, "error:");
}

Test(loader, files_directories_and_unreadable) {
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_diag_init(&d);
  cr_assert_eq(scn_load("/nonexistent/x.yaml", NULL, &s, &d), SIM_EINVAL);
  cr_assert_str_eq(d.text, "/nonexistent/x.yaml: error: cannot open: No such file or directory\n");
  scn_diag_free(&d);
  scn_diag_init(&d);
  cr_assert_eq(scn_load(STORESIM_SOURCE_DIR "/tests", NULL, &s, &d), SIM_EINVAL);
  cr_assert(strstr(d.text, "/tests: error: is a directory"), "%s", d.text);
  scn_diag_free(&d);
  scn_diag_init(&d);
  cr_assert_eq(scn_load("/proc/self/mem", NULL, &s, &d), SIM_EINVAL);
  cr_assert(strstr(d.text, "/proc/self/mem: error: cannot read"), "%s", d.text);
  scn_diag_free(&d);
  if (geteuid() != 0) { /* root reads mode-000 files */
    char path[] = "/tmp/storesim-unreadable-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    chmod(path, 0);
    scn_diag_init(&d);
    cr_assert_eq(scn_load(path, NULL, &s, &d), SIM_EINVAL);
    cr_assert(strstr(d.text, "Permission denied"), "%s", d.text);
    scn_diag_free(&d);
    unlink(path);
  }
}

Test(loader, shipped_scenarios_are_valid) {
  const char *files[] = {"scenarios/validation/mm1.yaml", "scenarios/validation/mmc.yaml",
                         "scenarios/validation/md1.yaml"};
  for (size_t i = 0; i < 3; i++) {
    char p[1024];
    scn_diag_t d;
    scn_scenario_t *s = NULL;
    snprintf(p, sizeof p, "%s/%s", STORESIM_SOURCE_DIR, files[i]);
    scn_diag_init(&d);
    cr_assert_eq(scn_load(p, NULL, &s, &d), 0, "%s", d.text);
    scn_scenario_free(s);
    scn_diag_free(&d);
  }
}

/* store.version: each version refuses the keys, faults and fixes of the
 * parts it lacks, at their line and column; a variant cannot change it; a
 * value that names no version is refused. */
#define V55 "id: t\ntitle: t\nduration: 1h\nstore: { version: 5.5 }\n"
#define VARS "variants: { without_fix: {}, with_fix: {} }\n"
Test(loader, store_versions_refuse_each_others_parts) {
  /* 5.5 has no SMTP local delivery, MTA flush or KB9xxxxx parts */
  EXPECT_ERR(V55 "workload:\n  smtp: { rate: 1/s }\n" VARS,
             "t.yaml:6:11: error: 'workload.smtp.rate' is a key of store.version 2003 only; "
             "this scenario has store.version 5.5");
  EXPECT_ERR(V55 "store.gateway_out_threads: 0\n" VARS,
             "t.yaml:5:1: error: 'store.gateway_out_threads' is a key of store.version 2003 only");
  EXPECT_ERR(V55 "faults: [{at: 1m, action: mta_disable}]\n" VARS,
             "t.yaml:5:27: error: fault 'mta_disable' is of a part of store.version 2003 only");
  EXPECT_ERR(V55 "variants: { without_fix: {}, with_fix: { fixes: [kb941060] } }\n",
             "t.yaml:5:50: error: variant 'with_fix': fix 'kb941060' is of a part of store.version "
             "2003 only");
  EXPECT_ERR(V55 "variants: { without_fix: {}, with_fix: { set: { workload.moves.count: 2 } } }\n",
             "t.yaml:5:49: error: 'workload.moves.count' is a key of store.version 2003 only; this "
             "scenario has store.version 5.5 (in variant 'with_fix' set)");
  /* 2003 (the default) has no IMS outbound queue */
  EXPECT_ERR("id: t\ntitle: t\nduration: 1h\nworkload: { ims: { outbound_rate: 1/s } }\n" VARS,
             "t.yaml:4:20: error: 'workload.ims.outbound_rate' is a key of store.version 5.5 only; "
             "this scenario has store.version 2003");
  /* the version is the whole scenario's, and one of the model's */
  EXPECT_ERR(V55 "variants: { without_fix: {}, with_fix: { set: { store.version: 2003 } } }\n",
             "t.yaml:5:49: error: variant 'with_fix': store.version is the whole scenario's");
  EXPECT_ERR("id: t\ntitle: t\nduration: 1h\nstore: { version: 5.0 }\n" VARS,
             "t.yaml:4:19: error: store.version: no version '5' (model 'store' has: 2003, 5.5)");
  /* --set store.version=5.5 on a 2003 file: its SMTP key is refused where it is */
  scn_diag_t d;
  const char *set[] = {"store.version=5.5"};
  scn_scenario_t *s = load("id: t\ntitle: t\nduration: 1h\nworkload.smtp.rate: 2/s\n" VARS, set,
                           1, &d);
  cr_assert_null(s);
  cr_assert(strstr(d.text, "t.yaml:4:1: error: 'workload.smtp.rate' is a key of store.version "
                           "2003 only; this scenario has store.version 5.5"),
            "%s", d.text);
  scn_diag_free(&d);
  /* a 5.5 scenario with the IMS, IMAIL, clients and the q279798 fix loads */
  s = load(V55 "workload: { ims: { outbound_rate: 1/s }, imail: { inbound_rate: 1/s },\n"
               "  mapi: { rate: 1/s } }\nvariants: { without_fix: {}, with_fix: { fixes: "
               "[q279798] } }\n",
           NULL, 0, &d);
  cr_assert_not_null(s, "%s", d.text);
  cr_assert_eq(((const store_config_t *)s->variants[1].cfg)->version, 5.5);
  scn_scenario_free(s);
  scn_diag_free(&d);
}

Test(loader, world_param_table_defaults_parse) {
  for (const sim_param_t *p = scn_world_params(); p->path; p++) {
    char buf[64], err[200];
    memset(buf, 0, sizeof buf);
    if (p->def) cr_assert_eq(scn_param_parse(p, p->def, buf, err, sizeof err), 0, "%s: %s", p->path, err);
  }
  size_t n;
  const sim_model_t *const *m = scn_models(&n);
  for (size_t i = 0; i < n; i++) {
    char *cfg = calloc(1, m[i]->config_size);
    for (const sim_param_t *p = m[i]->params; p->path; p++) {
      char err[200];
      cr_assert(p->offset < m[i]->config_size, "%s", p->path);
      if (p->def)
        cr_assert_eq(scn_param_parse(p, p->def, cfg + p->offset, err, sizeof err), 0, "%s %s: %s",
                     m[i]->name, p->path, err);
    }
    scn_params_free(m[i]->params, cfg);
    free(cfg);
  }
}

/* A 16 MiB flow list of numbers took 552 MB (34x the file) and, as an
 * empirical distribution, quadratic time: the loader's tree is now bounded
 * (MAX_NODES in loader.c) and the list is rejected at the node past it. */
Test(loader, huge_flow_list_is_bounded) {
  const size_t nvals = SCN_MAX_EMPIRICAL + 100000;
  const char *head = "id: big\ntitle: t\nduration: 1s\nworkload: { smtp: { size: [";
  size_t hl = strlen(head), len = hl + 3 * nvals + 100;
  char *text = malloc(len), *w = text;
  cr_assert_not_null(text);
  memcpy(w, head, hl);
  w += hl;
  for (size_t i = 0; i < nvals; i++) memcpy(w, "1, ", 3), w += 3;
  w += sprintf(w, "1] } }\nvariants: { without_fix: {}, with_fix: {} }\n");
  scn_diag_t d;
  scn_scenario_t *s;
  scn_diag_init(&d);
  cr_assert_eq(scn_load_buffer("big.yaml", text, (size_t)(w - text), NULL, &s, &d), SIM_EINVAL);
  cr_assert(d.text && strstr(d.text, "big.yaml:4:") && strstr(d.text, "values in one file"), "%s",
            d.text ? d.text : "");
  scn_diag_free(&d);
  free(text);
}
