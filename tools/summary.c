/*
 * storesim run's short answer (the default; -v gives the full table of
 * tools/output.c): per scenario its verdict, each variant's expectations and
 * detector headlines in one line, the key symptoms side by side (every
 * metric statistic an expectation names, for every variant, a failed one
 * marked), what failed with the values compared; one line per scenario at
 * the end of a run of several, and a total. It fits the terminal (80
 * columns at least: columns narrow, then turn into numbered ones with a
 * legend), shows numbers in human units and times as h:mm:ss, never a
 * sentinel, and colours PASS/FAIL only on a terminal without NO_COLOR.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"

cli_style_t cli_style_for(FILE *f) {
  cli_style_t st = {.width = 80, .colour = 0};
  int fd = f == stdout ? STDOUT_FILENO : fileno(f); /* stdout is a checked stream (cli_stdio_init) */
  int tty = fd >= 0 && isatty(fd);
  const char *cols = getenv("COLUMNS");
  struct winsize ws;
  if (cols && atoi(cols) >= 40) st.width = atoi(cols);
  else if (tty && !ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col >= 40) st.width = ws.ws_col;
  if (st.width > 200) st.width = 200;
  const char *term = getenv("TERM");
  st.colour = tty && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb"));
  return st;
}

static const char *paint(const cli_style_t *st, int good, const char *word, char *buf, size_t n) {
  if (!st->colour) return word;
  snprintf(buf, n, "\033[%sm%s\033[0m", good ? "1;32" : "1;31", word);
  return buf;
}

/* h:mm:ss (the form explain prints too), or "never" */
static void hms(sim_time_t t, char *buf, size_t n) {
  if (t < 0) {
    snprintf(buf, n, "never");
    return;
  }
  scn_format_hms(t, buf, n);
}

/* A metric value in its unit, short: "1.23s", "64MiB", "6,440", "never". */
static void human(const scn_result_t *r, const char *metric, const char *unit, scn_stat_t stat,
                  double v, char *buf, size_t n) {
  if (!isfinite(v)) {
    snprintf(buf, n, "-");
    return;
  }
  if (scn_metric_never(r->s->model, metric) && stat != SCN_ST_COUNT) {
    if (v < 0) snprintf(buf, n, "never");
    else hms((sim_time_t)llround(v * 1e9), buf, n);
    return;
  }
  scn_qty_t q = {0};
  double scale = 1;
  if (stat != SCN_ST_COUNT) scn_unit_dim(unit, &q.t, &q.b, &scale);
  q.v = v * scale;
  if (q.t == 0 && q.b == 0) {
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.3g", v);
    if (stat != SCN_ST_COUNT && !strcmp(unit, "%")) strncat(buf, "%", n - strlen(buf) - 1);
    return;
  }
  scn_qty_format(q, buf, n);
}

/* ---- the key symptoms: metric.stat rows an expectation names ---- */
typedef struct sym {
  char name[96]; /* metric */
  scn_stat_t stat;
} sym_t;

typedef struct keys {
  sym_t v[48];
  size_t n;
} keys_t;

static int collect(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  keys_t *k = arg;
  (void)pos;
  if (kind != SCN_REF_METRIC || k->n == sizeof k->v / sizeof *k->v) return 0;
  for (size_t i = 0; i < k->n; i++)
    if (k->v[i].stat == stat && !strcmp(k->v[i].name, name)) return 0;
  snprintf(k->v[k->n].name, sizeof k->v[k->n].name, "%s", name);
  k->v[k->n++].stat = stat;
  return 0;
}

/* Whether an expectation of vr naming key k failed (or could not be judged). */
static int key_failed(const scn_variant_res_t *vr, const sym_t *k) {
  for (size_t x = 0; x < vr->nexpects; x++) {
    const scn_expect_res_t *e = &vr->expects[x];
    if (!scn_expect_failed(e)) continue;
    keys_t one = {.n = 0};
    scn_expr_visit(e->x->expr, collect, &one);
    for (size_t i = 0; i < one.n; i++)
      if (one.v[i].stat == k->stat && !strcmp(one.v[i].name, k->name)) return 1;
  }
  return 0;
}

static void symptoms(FILE *f, const scn_result_t *r, const cli_style_t *st) {
  keys_t k = {.n = 0};
  size_t nv = r->nvariants;
  for (size_t i = 0; i < nv; i++)
    for (size_t x = 0; x < r->variants[i].v->nexpects; x++)
      scn_expr_visit(r->variants[i].v->expects[x].expr, collect, &k);
  if (!k.n) return;
  /* cells first: their widths decide the layout */
  char cellv[48][16][24];
  size_t label = 14, colw[16] = {0};
  if (nv > 16) nv = 16;
  for (size_t j = 0; j < nv; j++) colw[j] = strlen(r->variants[j].v->name);
  for (size_t i = 0; i < k.n; i++) {
    size_t l = strlen(k.v[i].name) + 1 + strlen(scn_stat_name(k.v[i].stat));
    if (l > label) label = l;
    for (size_t j = 0; j < nv; j++) {
      const scn_variant_res_t *vr = &r->variants[j];
      const scn_metric_res_t *m = vr->ran ? scn_metric_res_find(vr, k.v[i].name) : NULL;
      char v[20];
      if (!m) snprintf(v, sizeof v, "-");
      else human(r, m->name, m->unit, k.v[i].stat, scn_metric_stat(m, k.v[i].stat), v, sizeof v);
      snprintf(cellv[i][j], sizeof cellv[i][j], "%s%s", v, vr->ran && key_failed(vr, &k.v[i]) ? " !" : "");
      if (strlen(cellv[i][j]) > colw[j]) colw[j] = strlen(cellv[i][j]);
    }
  }
  size_t total = 2 + label;
  for (size_t j = 0; j < nv; j++) total += 2 + colw[j];
  int numbered = total > (size_t)st->width;
  if (numbered) { /* names too wide: [1] [2] ... with a legend */
    total = 2 + label;
    for (size_t j = 0; j < nv; j++) {
      size_t w = 0;
      for (size_t i = 0; i < k.n; i++)
        if (strlen(cellv[i][j]) > w) w = strlen(cellv[i][j]);
      colw[j] = w < 3 ? 3 : w;
      total += 2 + colw[j];
    }
    if (total > (size_t)st->width) { /* the labels give way: long ones go on a line of their own */
      size_t cols = total - 2 - label, room = (size_t)st->width - 2;
      label = room > cols + 8 ? room - cols : 8;
    }
    int at = fprintf(f, "  variants:");
    for (size_t j = 0; j < nv; j++) {
      int need = snprintf(NULL, 0, " [%zu] %s", j + 1, r->variants[j].v->name);
      if (at + need > st->width) at = fprintf(f, "\n           ");
      at += fprintf(f, " [%zu] %s", j + 1, r->variants[j].v->name);
    }
    fputc('\n', f);
  }
  fprintf(f, "  %-*s", (int)label, "key symptoms");
  for (size_t j = 0; j < nv; j++) {
    char h[24];
    if (numbered) snprintf(h, sizeof h, "[%zu]", j + 1);
    else snprintf(h, sizeof h, "%s", r->variants[j].v->name);
    fprintf(f, "  %*s", (int)colw[j], h);
  }
  fputc('\n', f);
  for (size_t i = 0; i < k.n; i++) {
    char l[160];
    snprintf(l, sizeof l, "%s.%s", k.v[i].name, scn_stat_name(k.v[i].stat));
    if (strlen(l) > label) fprintf(f, "  %s\n  %-*s", l, (int)label, "");
    else fprintf(f, "  %-*s", (int)label, l);
    for (size_t j = 0; j < nv; j++) fprintf(f, "  %*s", (int)colw[j], cellv[i][j]);
    fputc('\n', f);
  }
}

/* ---- per variant: expectations held, detector headlines ---- */
static void variants(FILE *f, const scn_result_t *r, const cli_style_t *st) {
  size_t nw = 8;
  for (size_t i = 0; i < r->nvariants; i++)
    if (strlen(r->variants[i].v->name) > nw) nw = strlen(r->variants[i].v->name);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    char line[1024], c[64];
    int at = snprintf(line, sizeof line, "  %-*s  ", (int)nw, vr->v->name);
    if (!vr->ran) {
      fprintf(f, "%snot run\n", line);
      continue;
    }
    if (vr->incomplete)
      at += snprintf(line + at, sizeof line - (size_t)at, "INCOMPLETE (%s)",
                     vr->error ? vr->error : "stopped");
    else if (vr->nexpects) {
      at += snprintf(line + at, sizeof line - (size_t)at, "%zu/%zu hold", (size_t)vr->npass,
                     scn_variant_judged(vr));
      if (vr->nnot_live)
        at += snprintf(line + at, sizeof line - (size_t)at, " (%d not live)", vr->nnot_live);
    } else at += snprintf(line + at, sizeof line - (size_t)at, "no expectations");
    /* detector headlines: each kind once, with its first time and count */
    const char *kinds[8];
    size_t count[8], nk = 0;
    sim_time_t first[8];
    for (size_t q = 0; q < vr->nreports; q++) {
      size_t j = 0;
      while (j < nk && strcmp(kinds[j], vr->reports[q].kind)) j++;
      if (j == nk) {
        if (nk == 8) continue;
        kinds[nk] = vr->reports[q].kind, count[nk] = 0, first[nk] = vr->reports[q].time, nk++;
      }
      count[j]++;
    }
    for (size_t j = 0; j < nk && at < (int)sizeof line - 80; j++) {
      hms(first[j], c, sizeof c);
      at += snprintf(line + at, sizeof line - (size_t)at, "%s%s %s", j ? ", " : "; ", kinds[j], c);
      if (count[j] > 1) at += snprintf(line + at, sizeof line - (size_t)at, " (%zu)", count[j]);
    }
    /* wrap at the width, continuing under the text */
    const char *p = line;
    size_t indent = 2 + nw + 2, w = (size_t)st->width;
    int firstline = 1;
    while (*p) {
      size_t room = firstline ? w : w - indent, len = strlen(p);
      if (len <= room) {
        fprintf(f, "%*s%s\n", firstline ? 0 : (int)indent, "", p);
        break;
      }
      size_t cut = room;
      while (cut > room / 2 && p[cut] != ' ') cut--;
      if (cut <= room / 2) cut = room;
      fprintf(f, "%*s%.*s\n", firstline ? 0 : (int)indent, "", (int)cut, p);
      p += cut;
      while (*p == ' ') p++;
      firstline = 0;
    }
  }
}

static void failures(FILE *f, const scn_result_t *r) {
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (vr->incomplete) continue;
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (!scn_expect_failed(e)) continue;
      fprintf(f, "  %s %s: %s\n      %s: %s\n", e->status == SCN_X_FAIL ? "FAILED" : "ERROR ",
              vr->v->name, e->x->text, e->status == SCN_X_FAIL ? "measured" : "because",
              e->detail ? e->detail : "");
    }
  }
}

void cli_print_not_live(FILE *f, const scn_result_t *r, int sep) {
  int n = 0;
  char m[64];
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (e->status != SCN_X_NOT_LIVE) continue;
      if (!n++ && sep) fputc('\n', f);
      if (n == 1)
        fprintf(f, "  not judged on the threads backend (marked not_live in the scenario):\n");
      if (e->never) snprintf(m, sizeof m, "never");
      else scn_qty_format(e->measured, m, sizeof m);
      fprintf(f, "    %s: %s  (measured %s)\n      why: %s\n", vr->v->name, e->x->text, m,
              e->x->not_live);
    }
  }
}

int cli_scenario_ok(const scn_result_t *r) {
  return r->status == 0 && !r->interrupted && r->reproduced_without_fix != 0 &&
         r->absent_with_fix != 0;
}

void cli_summary_line(const scn_result_t *r, const cli_style_t *st, char *buf, size_t n) {
  char a[256], p[64];
  size_t np = 0, nx = 0;
  for (size_t v = 0; v < r->nvariants; v++)
    np += (size_t)r->variants[v].npass, nx += scn_variant_judged(&r->variants[v]);
  scn_verdict_text(r, a, sizeof a);
  const char *word = r->interrupted ? "STOP " : r->status >= 2 ? "ERROR" : cli_scenario_ok(r) ? "PASS " : "FAIL ";
  snprintf(buf, n, "%s  %-12s %s (%zu/%zu expectation%s)",
           paint(st, cli_scenario_ok(r), word, p, sizeof p), r->s->id, a, np, nx, cli_s(nx));
}

void cli_print_summary(FILE *f, const scn_result_t *r, const cli_style_t *st, int sep) {
  char a[512], t[64];
  if (sep) fputc('\n', f);
  const scn_scenario_t *s = r->s;
  sim_time_t end = 0;
  unsigned long long seed = (unsigned long long)s->world.seed;
  for (size_t i = r->nvariants; i-- > 0;) /* the first variant that ran */
    if (r->variants[i].ran) seed = (unsigned long long)r->variants[i].seed;
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].end_time > end) end = r->variants[i].end_time;
  hms(end, t, sizeof t);
  snprintf(a, sizeof a, "%s: %s", s->id, s->title);
  if ((int)strlen(a) > st->width) a[st->width] = 0;
  fprintf(f, "%s\n", a);
  fprintf(f, "  %s, model %s, seed %llu, %s of virtual time\n", s->file, s->model->name, seed, t);
  int live = 0;
  for (size_t i = 0; i < r->nvariants; i++) live |= r->variants[i].ran && r->variants[i].live;
  if (live) fprintf(f, "  threads backend: live run: not reproducible, no trace hash\n");
  variants(f, r, st);
  symptoms(f, r, st);
  failures(f, r);
  cli_print_not_live(f, r, 0);
  cli_summary_line(r, st, a, sizeof a);
  fprintf(f, "%s\n", a);
}
