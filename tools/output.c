/*
 * storesim command line: the run's renderings (table, JSON, CSV).
 *
 * Values are shown in the metric's own unit converted to a readable one
 * ("3.98s", "12MiB"); nothing here reads a clock or a pointer, so the same
 * run prints the same bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"
#include "storesim_version.h"

#define LABEL 36
#define COL 30

void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", f);
    else if (ch == '\t') fputs("\\t", f);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.10g", v);
  else fputs("null", f);
}

/* A metric value in its unit, readable. */
static void fmt_metric(const scn_metric_res_t *m, double v, char *buf, size_t n) {
  scn_qty_t q;
  double scale;
  scn_unit_dim(m->unit, &q.t, &q.b, &scale);
  q.v = v * scale;
  if (q.t == 0 && q.b == 0) { /* whole counts in full, never 1.72949e+06 */
    const char *sp = m->unit[0] && isalpha((unsigned char)m->unit[0]) ? " " : "";
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, n, "%.0f%s%s", v, sp, m->unit);
    else if (fabs(v) >= 1e-3 && fabs(v) < 1e6) snprintf(buf, n, "%.4g%s%s", v, sp, m->unit);
    else snprintf(buf, n, "%.3g%s%s", v, sp, m->unit);
    return;
  }
  scn_qty_format(q, buf, n);
}

/* A cell; one wider than the column still keeps two spaces from the next. */
static void cell(FILE *f, const char *s) {
  if ((int)strlen(s) >= COL - 1) fprintf(f, "%s  ", s);
  else fprintf(f, "%-*s", COL, s);
}

static void row_label(FILE *f, const char *label) {
  if ((int)strlen(label) > LABEL - 3) fprintf(f, "  %s\n%*s", label, LABEL, "");
  else fprintf(f, "  %-*s", LABEL - 2, label);
}


/* ---- the side-by-side table: one function per section -------------------------------------- */
/* Title, file and model, the variant names, then their fixes, seeds, how far
 * each ran and its trace hash. */
static void table_head(FILE *f, const scn_result_t *r) {
  const scn_scenario_t *s = r->s;
  char a[400], b[64];
  size_t nv = r->nvariants;
  fprintf(f, "== %s: %s%s%s%s\n", s->id, s->title, s->source ? "  [" : "",
          s->source ? s->source : "", s->source ? "]" : "");
  fprintf(f, "   %s, model %s\n\n", s->file, s->model->name);
  fprintf(f, "%-*s", LABEL, "");
  for (size_t i = 0; i < nv; i++) cell(f, r->variants[i].v->name);
  fputc('\n', f);

  row_label(f, "fixes");
  for (size_t i = 0; i < nv; i++) {
    scn_fixes_text(s, r->variants[i].v, " ", "-", a, sizeof a);
    cell(f, a);
  }
  fputc('\n', f);
  row_label(f, "seed");
  for (size_t i = 0; i < nv; i++) {
    if (r->variants[i].ran) snprintf(a, sizeof a, "%llu", (unsigned long long)r->variants[i].seed);
    else snprintf(a, sizeof a, "(not run)");
    cell(f, a);
  }
  fputc('\n', f);
  row_label(f, "ran to");
  for (size_t i = 0; i < nv; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (!vr->ran) {
      cell(f, "-");
      continue;
    }
    scn_format_duration(vr->end_time, b, sizeof b);
    if (vr->incomplete) snprintf(a, sizeof a, "%s INCOMPLETE (%s)", b, vr->error ? vr->error : "");
    else if (vr->run_rc == SIM_EHANG) snprintf(a, sizeof a, "%s (hang: nothing can run)", b);
    else snprintf(a, sizeof a, "%s", b);
    cell(f, a);
  }
  fputc('\n', f);
  row_label(f, "trace hash");
  for (size_t i = 0; i < nv; i++) {
    if (r->variants[i].ran && r->variants[i].live)
      snprintf(a, sizeof a, "live run: not reproducible, no trace hash");
    else if (r->variants[i].ran)
      snprintf(a, sizeof a, "%016llx", (unsigned long long)r->variants[i].trace_hash);
    else snprintf(a, sizeof a, "-");
    cell(f, a);
  }
  fputc('\n', f);
}

/* One metric's cell: the summaries its kind has; an instant (never) its
 * time only, "never" for its -1. */
static void metric_cell(FILE *f, const scn_result_t *r, const scn_metric_res_t *x) {
  char a[400], v1[64], v2[64], v3[64];
  if (!x) {
    cell(f, "-");
    return;
  }
  if (scn_metric_never(r->s->model, x->name)) { /* an instant: h:mm:ss, as run and explain */
    int td, bd;
    double sc = 1;
    scn_unit_dim(x->unit, &td, &bd, &sc);
    if (x->sum.final < 0) snprintf(a, sizeof a, "never");
    else if (td == 1 && bd == 0)
      scn_format_hms((sim_time_t)llround(x->sum.final * sc * 1e9), a, sizeof a);
    else fmt_metric(x, x->sum.final, a, sizeof a);
  } else if (x->kind == SIM_M_SAMPLE) {
    fmt_metric(x, x->sum.mean, v1, sizeof v1);
    fmt_metric(x, x->sum.p95, v2, sizeof v2);
    snprintf(a, sizeof a, "%s %s %llu", x->sum.count ? v1 : "-", x->sum.count ? v2 : "-",
             (unsigned long long)x->sum.count);
  } else if (x->kind == SIM_M_GAUGE) {
    fmt_metric(x, x->sum.final, v1, sizeof v1);
    fmt_metric(x, x->sum.max, v2, sizeof v2);
    fmt_metric(x, x->sum.twmean, v3, sizeof v3);
    snprintf(a, sizeof a, "%s %s %s", v1, v2, v3);
  } else {
    fmt_metric(x, x->sum.final, a, sizeof a);
  }
  cell(f, a);
}

/* A metric that is 0 throughout in every variant (a process that did
 * nothing, a failure that never came): its row says nothing. */
static int all_zero(const scn_result_t *r, const char *name) {
  for (size_t j = 0; j < r->nvariants; j++) {
    const scn_metric_res_t *x = scn_metric_res_find(&r->variants[j], name);
    if (!x) continue;
    if (x->kind == SIM_M_SAMPLE ? x->sum.count != 0 : x->sum.min != 0 || x->sum.max != 0) return 0;
  }
  return 1;
}

/* metrics: the union in order of first appearance, all-zero rows left out */
static void table_metrics(FILE *f, const scn_result_t *r) {
  size_t nv = r->nvariants;
  fprintf(f, "\n  metrics (samples: mean p95 count; gauges: final max time-weighted-mean; "
             "counters: final; rows 0 throughout left out)\n");
  for (size_t i = 0; i < nv; i++) {
    const scn_variant_res_t *vi = &r->variants[i];
    for (size_t m = 0; m < vi->nmetrics; m++) {
      const char *name = vi->metrics[m].name;
      int seen = 0;
      for (size_t j = 0; j < i && !seen; j++) seen = scn_metric_res_find(&r->variants[j], name) != NULL;
      if (seen) continue;
      if (all_zero(r, name)) continue; /* no rows of nothing */
      char label[200];
      const scn_metric_res_t *mm = &vi->metrics[m];
      snprintf(label, sizeof label, "%s (%s)", name,
               mm->kind == SIM_M_SAMPLE  ? "mean p95 n"
               : mm->kind == SIM_M_GAUGE ? "final max tw"
                                         : "final");
      row_label(f, label);
      for (size_t j = 0; j < nv; j++) metric_cell(f, r, scn_metric_res_find(&r->variants[j], name));
      fputc('\n', f);
    }
  }
}

/* Whether expectation x of variant i has the text of one shown before it. */
static int expect_seen(const scn_result_t *r, size_t i, size_t x) {
  const scn_variant_t *vi = r->variants[i].v;
  const char *text = vi->expects[x].text;
  for (size_t j = 0; j < i; j++)
    for (size_t y = 0; y < r->variants[j].v->nexpects; y++)
      if (!strcmp(r->variants[j].v->expects[y].text, text)) return 1;
  for (size_t y = 0; y < x; y++)
    if (!strcmp(vi->expects[y].text, text)) return 1;
  return 0;
}

/* expectations: one row per expression text of any variant */
static void table_expectations(FILE *f, const scn_result_t *r) {
  char a[400];
  size_t nv = r->nvariants;
  int any = 0;
  for (size_t i = 0; i < nv; i++) any |= r->variants[i].v->nexpects > 0;
  if (any) fprintf(f, "\n  expectations\n");
  for (size_t i = 0; i < nv; i++) {
    const scn_variant_t *vi = r->variants[i].v;
    for (size_t x = 0; x < vi->nexpects; x++) {
      const char *text = vi->expects[x].text;
      if (expect_seen(r, i, x)) continue;
      row_label(f, text);
      for (size_t j = 0; j < nv; j++) {
        const scn_variant_res_t *vr = &r->variants[j];
        const scn_expect_res_t *e = NULL;
        for (size_t y = 0; y < vr->nexpects && !e; y++)
          if (!strcmp(vr->expects[y].x->text, text)) e = &vr->expects[y];
        if (!e) {
          cell(f, vr->ran ? "" : "-");
          continue;
        }
        char m[64];
        if (e->never) snprintf(m, sizeof m, "never");
        else scn_qty_format(e->measured, m, sizeof m);
        if (e->status == SCN_X_ERROR) snprintf(a, sizeof a, "ERROR");
        else if (e->status == SCN_X_NOT_LIVE) snprintf(a, sizeof a, "not live %s", m);
        else snprintf(a, sizeof a, "%s %s", e->status == SCN_X_PASS ? "pass" : "FAIL", m);
        cell(f, a);
      }
      fputc('\n', f);
    }
  }
}

/* what failed, with the values compared */
static void table_failures(FILE *f, const scn_result_t *r) {
  int nbad = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (!scn_expect_failed(e)) continue;
      if (!nbad++) fputc('\n', f);
      fprintf(f, "  %s %s: %s\n      %s: %s\n", e->status == SCN_X_FAIL ? "FAILED" : "ERROR ",
              vr->v->name, e->x->text, e->status == SCN_X_FAIL ? "compared" : "because",
              e->detail ? e->detail : "");
    }
  }
}

/* detectors: the first line of each report, at most 10 per variant */
static void table_detectors(FILE *f, const scn_result_t *r) {
  char b[64];
  int nrep = 0;
  for (size_t i = 0; i < r->nvariants; i++) nrep += (int)r->variants[i].nreports;
  fprintf(f, "\n  detectors%s\n", nrep ? "" : ": none");
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    for (size_t k = 0; k < vr->nreports; k++) {
      const char *t = vr->reports[k].text;
      size_t l = strcspn(t, "\n");
      scn_format_duration(vr->reports[k].time, b, sizeof b);
      fprintf(f, "    %s: %s at %s: %.*s\n", vr->v->name, vr->reports[k].kind, b, (int)l, t);
      if (k == 9 && vr->nreports > 10) {
        fprintf(f, "    %s: ... %zu more (storesim run --json shows all)\n", vr->v->name,
                vr->nreports - 10);
        break;
      }
    }
  }
}

void cli_print_table(FILE *f, const scn_result_t *r, int sep) {
  char a[400];
  if (sep) fputc('\n', f);
  table_head(f, r);
  table_metrics(f, r);
  table_expectations(f, r);
  table_failures(f, r);
  cli_print_not_live(f, r, 1);
  table_detectors(f, r);
  scn_verdict_text(r, a, sizeof a);
  fprintf(f, "\n  verdict: %s\n", a);
}

void cli_print_json(FILE *f, const scn_result_t *r) {
  const scn_scenario_t *s = r->s;
  char a[256];
  /* format_version: the shape of this object (docs/scenarios.md, "JSON
   * output"; scenarios/run-output.schema.json), raised on any change that
   * could break a reader. */
  fputs("{\"format_version\":" CLI_JSON_FORMAT_VERSION ",\"storesim_version\":", f);
  cli_json_str(f, STORESIM_VERSION " (git " STORESIM_GIT_REVISION ")");
  fputs(",\"scenario\":{\"id\":", f);
  cli_json_str(f, s->id);
  fputs(",\"title\":", f);
  cli_json_str(f, s->title);
  fputs(",\"source\":", f);
  if (s->source) cli_json_str(f, s->source);
  else fputs("null", f);
  fputs(",\"file\":", f);
  cli_json_str(f, s->file);
  fputs(",\"model\":", f);
  cli_json_str(f, s->model->name);
  uint64_t seed = (uint64_t)s->world.seed;
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran) {
      seed = r->variants[i].seed;
      break;
    }
  fprintf(f, "},\"seed\":%llu,\"verdict\":{\"reproduced_without_fix\":%s,\"absent_with_fix\":%s,\"text\":",
          (unsigned long long)seed,
          r->reproduced_without_fix < 0 ? "null" : r->reproduced_without_fix ? "true" : "false",
          r->absent_with_fix < 0 ? "null" : r->absent_with_fix ? "true" : "false");
  scn_verdict_text(r, a, sizeof a);
  cli_json_str(f, a);
  fprintf(f, "},\"complete\":%s,\"status\":%d,\"variants\":[", r->interrupted ? "false" : "true",
          r->status);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (i) fputc(',', f);
    fputs("{\"name\":", f);
    cli_json_str(f, vr->v->name);
    fputs(",\"fixes\":[", f);
    int k = 0;
    for (size_t q = 0; s->model->fixes && s->model->fixes[q] && q < 64; q++)
      if (vr->v->fixes & ((uint64_t)1 << q)) {
        if (k++) fputc(',', f);
        cli_json_str(f, s->model->fixes[q]);
      }
    fprintf(f, "],\"ran\":%s,\"complete\":%s,\"end_time_s\":", vr->ran ? "true" : "false",
            vr->ran && !vr->incomplete ? "true" : "false");
    json_num(f, (double)vr->end_time / 1e9);
    fputs(",\"hang\":", f);
    fputs(vr->run_rc == SIM_EHANG ? "true" : "false", f);
    fputs(",\"error\":", f);
    if (vr->error) cli_json_str(f, vr->error);
    else fputs("null", f);
    if (vr->live) /* not reproducible: no hash */
      fprintf(f,
              ",\"backend\":\"threads\",\"trace_hash\":null,\"trace_records\":%llu,"
              "\"steps\":%llu,\"metrics\":{",
              (unsigned long long)vr->trace_count, (unsigned long long)vr->steps);
    else
      fprintf(f,
              ",\"backend\":\"virtual\",\"trace_hash\":\"%016llx\",\"trace_records\":%llu,"
              "\"steps\":%llu,\"metrics\":{",
              (unsigned long long)vr->trace_hash, (unsigned long long)vr->trace_count,
              (unsigned long long)vr->steps);
    for (size_t m = 0; m < vr->nmetrics; m++) {
      const scn_metric_res_t *x = &vr->metrics[m];
      if (m) fputc(',', f);
      cli_json_str(f, x->name);
      fputs(":{\"kind\":", f);
      cli_json_str(f, x->kind == SIM_M_SAMPLE ? "sample" : x->kind == SIM_M_GAUGE ? "gauge" : "counter");
      fputs(",\"unit\":", f);
      cli_json_str(f, x->unit);
      const char *names[] = {"min", "max", "mean", "twmean", "final", "p50", "p95", "p99"};
      double vals[] = {x->sum.min, x->sum.max, x->sum.mean, x->sum.twmean,
                       x->sum.final, x->sum.p50, x->sum.p95, x->sum.p99};
      /* null, not a number, where there is none: a sample metric without
       * samples; an instant (scn_metric_never) that never came, and its
       * min and means */
      int none = x->kind == SIM_M_SAMPLE && x->sum.count == 0;
      int never = scn_metric_never(s->model, x->name);
      for (int q = 0; q < 8; q++) {
        if (q >= 5 && x->kind != SIM_M_SAMPLE) break;
        fprintf(f, ",\"%s\":", names[q]);
        /* an instant has a time, not a spread: its min and means are noise */
        if (none || (never && (vals[q] == -1 || q == 0 || q == 2 || q == 3))) fputs("null", f);
        else json_num(f, vals[q]);
      }
      fprintf(f, ",\"count\":%llu}", (unsigned long long)x->sum.count);
    }
    fputs("},\"expectations\":[", f);
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (x) fputc(',', f);
      fputs("{\"expression\":", f);
      cli_json_str(f, e->x->text);
      fputs(",\"measured\":", f);
      json_num(f, e->measured.v);
      if (e->never) snprintf(a, sizeof a, "never");
      else scn_qty_format(e->measured, a, sizeof a);
      fputs(",\"measured_text\":", f);
      cli_json_str(f, a);
      fputs(",\"detail\":", f);
      cli_json_str(f, e->detail ? e->detail : "");
      if (e->x->not_live) {
        fputs(",\"not_live\":", f);
        cli_json_str(f, e->x->not_live);
      }
      fprintf(f, ",\"pass\":%s,\"status\":\"%s\"}", e->status == SCN_X_PASS ? "true" : "false",
              e->status == SCN_X_PASS       ? "pass"
              : e->status == SCN_X_FAIL     ? "fail"
              : e->status == SCN_X_NOT_LIVE ? "not_live"
                                            : "error");
    }
    fputs("],\"detectors\":[", f);
    for (size_t q = 0; q < vr->nreports; q++) {
      if (q) fputc(',', f);
      fputs("{\"kind\":", f);
      cli_json_str(f, vr->reports[q].kind);
      fputs(",\"time_s\":", f);
      json_num(f, (double)vr->reports[q].time / 1e9);
      fputs(",\"text\":", f);
      cli_json_str(f, vr->reports[q].text);
      fputc('}', f);
    }
    fputs("]}", f);
  }
  fputs("]}\n", f);
}

void cli_print_csv(FILE *f, const scn_result_t *r) {
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (!vr->ran) continue;
    for (size_t m = 0; m < vr->nmetrics; m++) {
      const scn_metric_res_t *x = &vr->metrics[m];
      for (size_t k = 0; k < x->nseries; k++) {
        fprintf(f, "%s,%s,%.9g,%s,", r->s->id, vr->v->name,
                (double)((sim_time_t)(k + 1) * vr->sample_interval) / 1e9, x->name);
        if (isfinite(x->series[k])) fprintf(f, "%.10g\n", x->series[k]);
        else fputs("\n", f);
      }
    }
  }
}
