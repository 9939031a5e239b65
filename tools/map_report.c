/*
 * `storesim report MAP.jsonl -o map.html`: the page of a parameter map, from
 * the --jsonl of `storesim sweep --set ...` (read back with jansson).
 *
 * Per scenario and variant: with two axes or more a heatmap (rows the first
 * axis, columns the second, one table per value of the others) whose cells
 * are coloured by the fraction of seeds whose expectations held and show it
 * with the median of each recorded statistic; with one axis, a gnuplot line
 * plot of that fraction and of each statistic's median (min..max as error
 * bars) over the axis, and the same table. Every cell that has a run that did
 * not hold links to the command that replays its first such seed (the
 * record's "replay"). Outputs whole or not at all (tools/outfile.c).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storesim_cli.h"
#include "sweep_map.h"

extern char **environ;

/* ---- the runs, grouped by scenario, variant and cell ------------------------------------------ */
typedef struct strs {
  char **v;
  size_t n;
} strs_t;

static size_t strs_index(strs_t *s, const char *x) { /* adds x when new; SIZE_MAX: no memory */
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->v[i], x)) return i;
  char **t = realloc(s->v, (s->n + 1) * sizeof *t);
  if (!t || !(t[s->n] = strdup(x))) {
    if (t) s->v = t;
    return SIZE_MAX;
  }
  s->v = t;
  return s->n++;
}

static void strs_free(strs_t *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

typedef struct cellagg {
  size_t scen, variant;
  size_t *pos; /* the cell's value index on each axis */
  uint64_t runs, held;
  json_int_t worst_seed; /* -1: every run held */
  char *replay;
  double **vals; /* per statistic: every value, for the median */
  size_t *nval, *cap, *nnone;
} cellagg_t;

typedef struct mapdata {
  strs_t scen, variants, axes, stats;
  strs_t *vals; /* per axis: its values in order of appearance */
  size_t nvals_cap;
  cellagg_t *cells;
  size_t ncells;
} mapdata_t;

static void map_free(mapdata_t *d) {
  for (size_t c = 0; c < d->ncells; c++) {
    cellagg_t *a = &d->cells[c];
    free(a->pos);
    free(a->replay);
    for (size_t k = 0; k < d->stats.n && a->vals; k++) free(a->vals[k]);
    free(a->vals);
    free(a->nval), free(a->cap), free(a->nnone);
  }
  free(d->cells);
  for (size_t i = 0; i < d->axes.n; i++) strs_free(&d->vals[i]);
  free(d->vals);
  strs_free(&d->scen), strs_free(&d->variants), strs_free(&d->axes), strs_free(&d->stats);
}

/* The cell of (scenario, variant, positions), made when new. */
static cellagg_t *cell_of(mapdata_t *d, size_t scen, size_t var, const size_t *pos, size_t naxes) {
  for (size_t c = 0; c < d->ncells; c++) {
    cellagg_t *a = &d->cells[c];
    if (a->scen == scen && a->variant == var && !memcmp(a->pos, pos, naxes * sizeof *pos)) return a;
  }
  cellagg_t *t = realloc(d->cells, (d->ncells + 1) * sizeof *t);
  if (!t) return NULL;
  d->cells = t;
  cellagg_t *a = &d->cells[d->ncells++];
  memset(a, 0, sizeof *a);
  a->scen = scen, a->variant = var, a->worst_seed = -1;
  a->pos = malloc((naxes ? naxes : 1) * sizeof *pos);
  size_t ns = d->stats.n ? d->stats.n : 1;
  a->vals = calloc(ns, sizeof(double *));
  a->nval = calloc(ns, sizeof(size_t)), a->cap = calloc(ns, sizeof(size_t));
  a->nnone = calloc(ns, sizeof(size_t));
  if (!a->pos || !a->vals || !a->nval || !a->cap || !a->nnone) return NULL;
  memcpy(a->pos, pos, naxes * sizeof *pos);
  return a;
}

static int add_value(cellagg_t *a, size_t k, double x) {
  double **vv = a->vals;
  if (a->nval[k] == a->cap[k]) {
    size_t nc = a->cap[k] ? 2 * a->cap[k] : 16;
    double *t = realloc(vv[k], nc * sizeof *t);
    if (!t) return -1;
    vv[k] = t;
    a->cap[k] = nc;
  }
  vv[k][a->nval[k]++] = x;
  return 0;
}

/* One record of the JSONL. Returns 0, 1 to skip (not a run: the incomplete
 * marker), -1 not a sweep record (why set), -2 out of memory. */
static int add_record(mapdata_t *d, json_t *r, const char **why) {
  if (json_is_true(json_object_get(r, "incomplete"))) return 1;
  json_t *cell = json_object_get(r, "cell"), *vals = json_object_get(r, "values");
  const char *scen = json_string_value(json_object_get(r, "scenario"));
  const char *var = json_string_value(json_object_get(r, "variant"));
  if (!scen || !var || !json_is_integer(json_object_get(r, "seed"))) {
    *why = "not a record of `storesim sweep --jsonl`";
    return -1;
  }
  if (!json_is_object(cell)) {
    *why = "a run without \"cell\": not a parameter map (sweep --set KEY=V1,V2 --jsonl FILE)";
    return -1;
  }
  if (d->scen.n == 0) { /* the first record fixes the axes and statistics */
    const char *k;
    json_t *v;
    json_object_foreach(cell, k, v) if (strs_index(&d->axes, k) == SIZE_MAX) return -2;
    json_object_foreach(vals, k, v) if (strs_index(&d->stats, k) == SIZE_MAX) return -2;
    d->vals = calloc(d->axes.n ? d->axes.n : 1, sizeof *d->vals);
    if (!d->vals) return -2;
  }
  if (json_object_size(cell) != d->axes.n) {
    *why = "the records are of different maps (their cells have different axes)";
    return -1;
  }
  size_t pos[64];
  if (d->axes.n > 64) {
    *why = "more than 64 axes";
    return -1;
  }
  for (size_t i = 0; i < d->axes.n; i++) {
    const char *v = json_string_value(json_object_get(cell, d->axes.v[i]));
    if (!v) {
      *why = "the records are of different maps (their cells have different axes)";
      return -1;
    }
    if ((pos[i] = strs_index(&d->vals[i], v)) == SIZE_MAX) return -2;
  }
  size_t si = strs_index(&d->scen, scen), vi = strs_index(&d->variants, var);
  if (si == SIZE_MAX || vi == SIZE_MAX) return -2;
  cellagg_t *a = cell_of(d, si, vi, pos, d->axes.n);
  if (!a) return -2;
  int held = json_is_true(json_object_get(r, "passed")) &&
             !json_integer_value(json_object_get(r, "deadlock")) &&
             !json_integer_value(json_object_get(r, "hang")) &&
             !json_integer_value(json_object_get(r, "crashed")) && !json_object_get(r, "error");
  json_int_t seed = json_integer_value(json_object_get(r, "seed"));
  a->runs++;
  a->held += held;
  if (!held && (a->worst_seed < 0 || seed < a->worst_seed)) {
    const char *rp = json_string_value(json_object_get(r, "replay"));
    a->worst_seed = seed;
    free(a->replay);
    a->replay = strdup(rp ? rp : "");
    if (!a->replay) return -2;
  }
  for (size_t k = 0; k < d->stats.n; k++) {
    json_t *x = json_object_get(vals, d->stats.v[k]);
    if (json_is_number(x)) {
      if (add_value(a, k, json_number_value(x))) return -2;
    } else {
      a->nnone[k]++;
    }
  }
  return 0;
}

static int read_map(const char *path, mapdata_t *d) {
  FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
  if (!f) {
    fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
    return EXIT_USAGE;
  }
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t len;
  int rc = 0;
  while (!rc && (len = getline(&line, &cap, f)) > 0) {
    lineno++;
    if (strspn(line, " \t\r\n") == (size_t)len) continue;
    json_error_t e;
    json_t *r = json_loads(line, 0, &e);
    const char *why = NULL;
    if (!r) {
      fprintf(stderr, "%s:%zu:%d: error: not JSON: %s\n", path, lineno, e.column > 0 ? e.column : 1,
              e.text);
      rc = EXIT_USAGE;
      break;
    }
    int arc = add_record(d, r, &why);
    json_decref(r);
    if (arc == -2) rc = EXIT_INTERNAL;
    else if (arc == -1) {
      fprintf(stderr, "%s:%zu:1: error: %s\n", path, lineno, why);
      rc = EXIT_USAGE;
    }
  }
  free(line);
  if (f != stdin) fclose(f);
  if (!rc && !d->ncells) {
    fprintf(stderr,
            "%s: error: no runs in this file (expected `storesim sweep --set ... --jsonl`)\n",
            path);
    rc = EXIT_USAGE;
  }
  return rc;
}

/* ---- the page -------------------------------------------------------------------------------------- */
static void esc(FILE *f, const char *s) {
  for (; *s; s++) switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
}

static void stat_of(cellagg_t *a, size_t k, double *med, double *lo, double *hi) {
  cli_median_range(a->vals[k], a->nval[k], med, lo, hi);
}

/* The cell of (scen, var) at the given positions of the first two axes and
 * `rest` (the positions of the others), or NULL. */
static cellagg_t *find(mapdata_t *d, size_t scen, size_t var, const size_t *pos) {
  for (size_t c = 0; c < d->ncells; c++) {
    cellagg_t *a = &d->cells[c];
    if (a->scen == scen && a->variant == var && !memcmp(a->pos, pos, d->axes.n * sizeof *pos))
      return a;
  }
  return NULL;
}

static void td(FILE *f, mapdata_t *d, cellagg_t *a) {
  if (!a) {
    fputs("<td class=none>no runs</td>", f);
    return;
  }
  double fr = a->runs ? (double)a->held / (double)a->runs : 0;
  /* a sequential blue scale: light = few seeds held, dark = all */
  int light = (int)lround(96 - 58 * fr);
  fprintf(f,
          "<td style=\"background:hsl(210,65%%,%d%%);color:%s\" title=\"%llu of %llu seeds held\">",
          light, light < 60 ? "#fff" : "#000", (unsigned long long)a->held,
          (unsigned long long)a->runs);
  fprintf(f, "<b>%llu/%llu</b>", (unsigned long long)a->held, (unsigned long long)a->runs);
  for (size_t k = 0; k < d->stats.n; k++) {
    double med, lo, hi;
    stat_of(a, k, &med, &lo, &hi);
    if (isnan(med)) fputs("<br>-", f);
    else fprintf(f, "<br>%.4g", med);
  }
  if (a->worst_seed >= 0)
    fprintf(f, "<br><a href=\"#r%zu\" style=\"color:inherit\">seed %lld</a>",
            (size_t)(a - d->cells), (long long)a->worst_seed);
  fputs("</td>", f);
}

/* One heatmap: axis 0 down, axis 1 across, the other axes at pos[2..]. */
static void heatmap(FILE *f, mapdata_t *d, size_t scen, size_t var, size_t *pos) {
  fputs("<table class=map><tr><th>", f);
  esc(f, d->axes.v[0]);
  fputs(" \\ ", f);
  esc(f, d->axes.v[1]);
  fputs("</th>", f);
  for (size_t j = 0; j < d->vals[1].n; j++) {
    fputs("<th>", f);
    esc(f, d->vals[1].v[j]);
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  for (size_t i = 0; i < d->vals[0].n; i++) {
    fputs("<tr><th>", f);
    esc(f, d->vals[0].v[i]);
    fputs("</th>", f);
    for (size_t j = 0; j < d->vals[1].n; j++) {
      pos[0] = i, pos[1] = j;
      td(f, d, find(d, scen, var, pos));
    }
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

/* One axis: a table, and a gnuplot SVG of the fraction held and each
 * statistic's median over the axis. */
static void one_axis(FILE *f, mapdata_t *d, size_t scen, size_t var) {
  size_t pos[1];
  fputs("<table class=map><tr><th>", f);
  esc(f, d->axes.v[0]);
  fputs("</th>", f);
  for (size_t j = 0; j < d->vals[0].n; j++) {
    fputs("<th>", f);
    esc(f, d->vals[0].v[j]);
    fputs("</th>", f);
  }
  fputs("</tr><tr><th>held", f);
  for (size_t k = 0; k < d->stats.n; k++) {
    fputs("<br>", f);
    esc(f, d->stats.v[k]);
  }
  fputs("</th>", f);
  for (size_t j = 0; j < d->vals[0].n; j++) {
    pos[0] = j;
    td(f, d, find(d, scen, var, pos));
  }
  fputs("</tr></table>\n", f);
}

/* gnuplot draws the one-axis lines; its SVG goes inline. Returns 0, or -1
 * (the page then says the plot is missing). */
static int one_axis_plot(FILE *f, mapdata_t *d, size_t scen, size_t var, const char *tmpdir) {
  char dat[4200], gp[4200], svg[4200];
  snprintf(dat, sizeof dat, "%s/m.dat", tmpdir);
  snprintf(gp, sizeof gp, "%s/m.gp", tmpdir);
  snprintf(svg, sizeof svg, "%s/m.svg", tmpdir);
  FILE *fd = fopen(dat, "w"), *fg = fopen(gp, "w");
  if (!fd || !fg) {
    if (fd) fclose(fd);
    if (fg) fclose(fg);
    return -1;
  }
  for (size_t j = 0; j < d->vals[0].n; j++) {
    size_t pos[1] = {j};
    cellagg_t *a = find(d, scen, var, pos);
    fprintf(fd, "%zu \"%s\" %g", j, d->vals[0].v[j],
            a && a->runs ? (double)a->held / (double)a->runs : NAN);
    for (size_t k = 0; k < d->stats.n; k++) {
      double med = NAN, lo = NAN, hi = NAN;
      if (a) stat_of(a, k, &med, &lo, &hi);
      fprintf(fd, " %g %g %g", med, lo, hi);
    }
    fputc('\n', fd);
  }
  fclose(fd);
  fprintf(fg, "set terminal svg size 720,%d dynamic font 'sans,11'\nset output '%s'\n",
          d->stats.n ? 520 : 300, svg);
  fprintf(fg, "set termoption noenhanced\nset datafile missing 'nan'\nset key outside bottom\n"
              "set grid\n");
  if (d->stats.n) fprintf(fg, "set multiplot layout 2,1\n");
  fprintf(fg, "set yrange [0:1.05]\nset ylabel 'fraction of seeds held'\nset xlabel \"%s\"\n",
          d->axes.v[0]);
  fprintf(fg, "plot '%s' using 1:3:xtic(2) with linespoints lw 2 pt 7 title 'held'\n", dat);
  if (d->stats.n) {
    fprintf(fg, "set autoscale y\nset ylabel 'median [min..max]'\nplot ");
    for (size_t k = 0; k < d->stats.n; k++)
      fprintf(fg, "%s'%s' using 1:%zu:%zu:%zu:xtic(2) with yerrorlines lw 2 title \"%s\"",
              k ? ", " : "", dat, 4 + 3 * k, 5 + 3 * k, 6 + 3 * k, d->stats.v[k]);
    fprintf(fg, "\nunset multiplot\n");
  }
  fclose(fg);
  pid_t pid;
  char *argv[] = {"gnuplot", gp, NULL};
  int st = 0;
  if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ)) return -1;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st)) return -1;
  FILE *fs = fopen(svg, "r");
  if (!fs) return -1;
  char buf[8192];
  size_t n;
  int in_body = 0;
  while ((n = fread(buf, 1, sizeof buf - 1, fs)) > 0) { /* skip the XML prolog */
    buf[n] = 0;
    char *p = buf;
    if (!in_body) {
      p = strstr(buf, "<svg");
      if (!p) continue;
      in_body = 1;
    }
    fputs(p, f);
  }
  fclose(fs);
  return 0;
}

static void page(FILE *f, mapdata_t *d, const char *src, const char *tmpdir) {
  fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>storesim parameter "
        "map</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
        "table.map{border-collapse:collapse;margin:1em 0}table.map td,table.map th{border:1px "
        "solid #999;padding:.3em .6em;text-align:center;font-size:90%}td.none{color:#888}"
        "code{font-size:90%}</style></head><body>\n",
        f);
  fputs("<h1>Parameter map</h1>\n<p>From <code>", f);
  esc(f, src);
  fputs("</code>. Each cell: the seeds whose expectations held, out of the seeds run (the "
        "colour: light = none, dark blue = all)",
        f);
  for (size_t k = 0; k < d->stats.n; k++) {
    fputs(k ? ", " : "; then the median over the seeds of ", f);
    fputs("<code>", f);
    esc(f, d->stats.v[k]);
    fputs("</code>", f);
  }
  fputs(" (- : no value, the event never happened or nothing was sampled); and the first seed "
        "that did not hold, linked to the command that replays it.</p>\n",
        f);
  for (size_t s = 0; s < d->scen.n; s++)
    for (size_t v = 0; v < d->variants.n; v++) {
      int any = 0;
      for (size_t c = 0; c < d->ncells; c++)
        any |= d->cells[c].scen == s && d->cells[c].variant == v;
      if (!any) continue;
      fputs("<h2>", f);
      esc(f, d->scen.v[s]);
      fputs(": ", f);
      esc(f, d->variants.v[v]);
      fputs("</h2>\n", f);
      if (d->axes.n == 1) {
        if (one_axis_plot(f, d, s, v, tmpdir))
          fputs("<p>(the plot is missing: gnuplot failed)</p>\n", f);
        one_axis(f, d, s, v);
        continue;
      }
      /* two axes or more: one heatmap per value of the other axes */
      size_t nrest = 1, pos[64] = {0};
      for (size_t i = 2; i < d->axes.n; i++) nrest *= d->vals[i].n;
      for (size_t r = 0; r < nrest; r++) {
        size_t x = r;
        for (size_t i = d->axes.n; i-- > 2;) {
          pos[i] = x % d->vals[i].n;
          x /= d->vals[i].n;
        }
        if (d->axes.n > 2) {
          fputs("<h3>", f);
          for (size_t i = 2; i < d->axes.n; i++) {
            if (i > 2) fputs(", ", f);
            esc(f, d->axes.v[i]);
            fputc('=', f);
            esc(f, d->vals[i].v[pos[i]]);
          }
          fputs("</h3>\n", f);
        }
        heatmap(f, d, s, v, pos);
      }
    }
  fputs("<h2>Replaying a cell's first failing seed</h2>\n<ul>\n", f);
  for (size_t c = 0; c < d->ncells; c++) {
    cellagg_t *a = &d->cells[c];
    if (a->worst_seed < 0) continue;
    fprintf(f, "<li id=r%zu>", c);
    esc(f, d->scen.v[a->scen]);
    fputs(" ", f);
    esc(f, d->variants.v[a->variant]);
    for (size_t i = 0; i < d->axes.n; i++) {
      fputs(i ? ", " : " at ", f);
      esc(f, d->axes.v[i]);
      fputc('=', f);
      esc(f, d->vals[i].v[a->pos[i]]);
    }
    fprintf(f, ", seed %lld: <code>", (long long)a->worst_seed);
    esc(f, a->replay && *a->replay ? a->replay : "(the record names no command)");
    fputs("</code></li>\n", f);
  }
  fputs("</ul>\n</body></html>\n", f);
}

int cli_map_report(const char *jsonl, const char *out_path) {
  mapdata_t d = {0};
  int rc = read_map(jsonl, &d);
  char tmpdir[] = "/tmp/storesim-map.XXXXXX";
  if (!rc && !mkdtemp(tmpdir)) {
    fprintf(stderr, "storesim report: error: cannot create a temporary directory: %s\n",
            strerror(errno));
    rc = EXIT_INTERNAL;
    tmpdir[0] = 0;
  }
  if (!rc) {
    cli_outfile_t out;
    if (cli_out_open(&out, out_path)) {
      rc = EXIT_USAGE;
    } else {
      page(out.f, &d, jsonl, tmpdir);
      if (cli_out_close(&out, 1)) rc = EXIT_USAGE;
    }
  }
  if (tmpdir[0] && strcmp(tmpdir, "/tmp/storesim-map.XXXXXX")) {
    char p[4200];
    static const char *const names[] = {"m.dat", "m.gp", "m.svg"};
    for (size_t i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
      unlink(p);
    }
    rmdir(tmpdir);
  }
  map_free(&d);
  return rc;
}
