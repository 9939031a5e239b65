/*
 * The HTML report: one self-contained page (inline CSS, inline SVG, one
 * small inline script that checks the page; nothing fetched from a network).
 *
 * Plots are drawn by gnuplot (SVG terminal) and wait-for graphs by Graphviz
 * dot, each run as a subprocess on files in a private temporary directory
 * (mkdtemp) that report_html_end removes. Every SVG is inlined with its ids
 * prefixed ("p12_gnuplot_plot_1") so that several can live in one page.
 *
 * Page life:  report_html_begin -> report_html_add (per scenario: the plots
 * are rendered at once, the section is kept in memory) -> report_html_end
 * (writes the page, removes the directory).
 *
 * Plots chosen per scenario, in this order: every metric an expectation
 * names (except "_at" timestamps and members of a family plot), so the
 * failure itself comes first; then the plots the model's parts list
 * (sim_model_t.parts), then those of every run (scn_world_part: CPU, memory
 * per process). No metric is known here by name: captions carry the
 * descriptions the model gives. Family plots (tasks by kind, memory per
 * process) are one small plot per variant (the reference and with_fix), a
 * line per member with data. All variants of a metric share one plot and
 * one virtual time axis; fault times are vertical dashed lines. Each <figure class="plot">
 * says in data-series how many data lines it must hold; the page's script
 * (and tests/browser) check that.
 *
 * What a plot must not make people believe: that a count was negative or
 * fractional (an axis of values never below zero starts at 0; whole numbers
 * of a unitless metric get whole ticks), that a state is an amount (a metric
 * its model declares a state, sim_model_part_t.states, is drawn as steps
 * between its named levels), that a variant measured 0 when it measured
 * nothing (no line, a legend entry "no samples", listed in data-none), or
 * that a variant is missing when its line lies under another's (markers at a
 * phase of its own, "same as" in the legend, listed in data-same). Series
 * longer than two points per pixel column are cut to each column's lowest
 * and highest point (write_series).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_int.h"
#include "storesim/metrics.h"

extern char **environ;

#define MAX_SINGLE 16
/* Plots are 600 px wide: more than two points per pixel column cannot show. */
#define PLOT_BUCKETS 600
#define MAX_GRAPHS 4

struct report_html {
  char dir[4096];
  char *title;
  report_sb_t toc, body;
  int nplots, ngraphs, nscn;
};

/* ---- tools ---------------------------------------------------------------------------------- */
static int on_path(const char *prog) {
  const char *path = getenv("PATH");
  char buf[4096];
  if (!path || !*path) path = "/usr/bin:/bin";
  while (*path) {
    size_t n = strcspn(path, ":");
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? path : ".", prog);
    if (!access(buf, X_OK)) return 1;
    path += n;
    if (*path == ':') path++;
  }
  return 0;
}

int report_html_tools_check(char *err, size_t nerr) {
  int g = on_path("gnuplot"), d = on_path("dot");
  if (g && d) return 0;
  snprintf(err, nerr,
           "%s%s%s not found on PATH; the HTML report draws its plots with gnuplot and its "
           "wait-for graphs with Graphviz dot (Debian: apt-get install gnuplot-nox graphviz, "
           "or run tools/setup.sh)",
           g ? "" : "gnuplot", !g && !d ? " and " : "", d ? "" : "dot");
  return SIM_EINVAL;
}

/* Runs argv with stdout and stderr to logpath; returns the exit status or -1. */
static int run_tool(char *const argv[], const char *logpath) {
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st = 0;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  if (!f) return NULL;
  for (;;) {
    if (n + 65536 + 1 > cap) {
      cap = cap ? 2 * cap : 131072;
      char *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = p;
    }
    size_t k = fread(buf + n, 1, 65536, f);
    n += k;
    if (k < 65536) break;
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

/* Appends an SVG file inline: prologue, doctype, comments and the top title
 * dropped; ids and references to them prefixed. Returns 0 or -1. */
static int inline_svg(report_sb_t *b, const char *path, const char *prefix) {
  size_t n;
  char *s = slurp(path, &n);
  if (!s) return -1;
  char *p = strstr(s, "<svg");
  if (!p) {
    free(s);
    return -1;
  }
  size_t pl = strlen(prefix);
  int dropped_title = 0;
  while (*p) {
    if (!strncmp(p, "<!--", 4)) {
      char *e = strstr(p, "-->");
      if (!e) break;
      p = e + 3;
      continue;
    }
    if (!dropped_title && !strncmp(p, "<title>Gnuplot</title>", 22)) {
      p += 22;
      dropped_title = 1;
      continue;
    }
    if ((!strncmp(p, "id=\"", 4) || !strncmp(p, "id='", 4)) && (p == s || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n')) {
      report__sb_put(b, p, 4);
      report__sb_put(b, prefix, pl);
      p += 4;
      continue;
    }
    if (!strncmp(p, "href=\"#", 7) || !strncmp(p, "href='#", 7)) {
      report__sb_put(b, p, 7);
      report__sb_put(b, prefix, pl);
      p += 7;
      continue;
    }
    if (!strncmp(p, "url(#", 5)) {
      report__sb_put(b, p, 5);
      report__sb_put(b, prefix, pl);
      p += 5;
      continue;
    }
    report__sb_put(b, p, 1);
    p++;
  }
  report__sb_put(b, "\n", 1);
  free(s);
  return b->oom ? -1 : 0;
}

/* ---- begin / end --------------------------------------------------------------------------------- */
report_html_t *report_html_begin(const char *title, char *err, size_t nerr) {
  report_html_t *h = calloc(1, sizeof *h);
  const char *tmp = getenv("TMPDIR");
  if (!h) {
    snprintf(err, nerr, "out of host memory");
    return NULL;
  }
  snprintf(h->dir, sizeof h->dir, "%s/storesim-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(h->dir)) {
    snprintf(err, nerr, "cannot create a temporary directory %s: %s", h->dir, strerror(errno));
    free(h);
    return NULL;
  }
  h->title = strdup(title ? title : "storesim report");
  return h;
}

static void rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[4200];
  if (!d) return;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;"
    "background:#f4f5f7}\n"
    "header{background:#1d2a44;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}\n"
    "header p{margin:4px 0 0;color:#c9d2e3}\n"
    "main{padding:8px 28px 40px;max-width:1560px}\n"
    "nav table,section table{border-collapse:collapse;background:#fff;margin:8px 0}\n"
    "td,th{border:1px solid #d5d9e0;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#eef0f4}\n"
    "section{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:6px 20px 16px;"
    "margin:18px 0}\n"
    "h2{margin:10px 0 4px}h3{margin:18px 0 6px;border-bottom:1px solid #e2e5ea}\n"
    ".ok{color:#0a7a2f;font-weight:600}.bad{color:#b3261e;font-weight:600}"
    ".muted{color:#6b7385}\n"
    ".badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;"
    "font-weight:600;margin-right:4px}\n"
    ".badge.ok{background:#dcf3e3}.badge.bad{background:#fbe0de}.badge.na{background:#eceef2;"
    "color:#555}\n"
    ".plots{display:flex;flex-wrap:wrap;gap:10px}\n"
    "figure.plot{margin:0;background:#fff;border:1px solid #e2e5ea;border-radius:4px;padding:2px}\n"
    "figure.plot svg{display:block;width:600px;height:auto}\n"
    "figure.graph svg{max-width:100%;height:auto}\n"
    "figcaption{font-size:12px;color:#6b7385;padding:0 6px 4px}\n"
    "pre{background:#f7f8fa;border:1px solid #e2e5ea;padding:8px;overflow:auto;font-size:12.5px}\n"
    "pre.story{white-space:pre-wrap}pre.brief{background:#fffbe8;border-color:#eadfae}\n"
    "details{margin:6px 0}summary{cursor:pointer;font-family:monospace}\n";

/* Checks every plot for data lines, the legend of a variant without data
 * (an entry, no line) and of one whose series equals another's (an entry
 * saying "same as", markers along its line), and every graph for nodes; the
 * result is left in <html data-check=...> and on the console for
 * tests/browser. */
static const char script[] =
    "(function(){\n"
    "  var figs=document.querySelectorAll('figure.plot'), bad=[], lines=0, same=0, none=0;\n"
    "  function pts(g){ var n=0; g.querySelectorAll('path').forEach(function(p){\n"
    "    n+=((p.getAttribute('d')||'').match(/L/g)||[]).length;}); return n; }\n"
    "  function entry(gs,label){ for(var i=0;i<gs.length;i++){ var "
    "t=gs[i].querySelectorAll('text');\n"
    "    for(var k=0;k<t.length;k++) if(t[k].textContent===label) return i; } return -1; }\n"
    "  function list(f,a){ return (f.getAttribute(a)||'').split(' ').filter(Boolean); }\n"
    "  figs.forEach(function(f){\n"
    "    var want=+f.getAttribute('data-series'), have=0;\n"
    "    var gs=f.querySelectorAll('svg g[id*=\"gnuplot_plot_\"]');\n"
    "    gs.forEach(function(g){ if(pts(g)>=2) have++; });\n"
    "    lines+=have;\n"
    "    if(!f.querySelector('svg')||have<want||want<1) bad.push(f.id+':'+have+'/'+want);\n"
    "    list(f,'data-none').forEach(function(v){\n"
    "      var i=entry(gs,v+': no samples'); if(i<0) i=entry(gs,v+': not recorded');\n"
    "      if(i<0) bad.push(f.id+':'+v+' without data has no legend entry');\n"
    "      else if(pts(gs[i])>=2) bad.push(f.id+':'+v+' without data has a line');\n"
    "      else none++; });\n"
    "    list(f,'data-same').forEach(function(p){\n"
    "      var ab=p.split('='), i=entry(gs,ab[0]+' (same as '+ab[1]+')');\n"
    "      if(i<0) { bad.push(f.id+':'+ab[0]+' has no \"same as\" legend entry'); return; }\n"
    "      var marks=gs[i].querySelectorAll('use').length+\n"
    "        (i+1<gs.length?gs[i+1].querySelectorAll('use').length:0);\n"
    "      if(pts(gs[i])<2||marks<3) bad.push(f.id+':'+ab[0]+' same as '+ab[1]+' is not marked');\n"
    "      same++; });\n"
    "  });\n"
    "  var graphs=document.querySelectorAll('figure.graph');\n"
    "  graphs.forEach(function(g){ if(!g.querySelector('svg g.node')) bad.push(g.id+':no "
    "nodes');});\n"
    "  var r={plots:figs.length,lines:lines,same:same,none:none,graphs:graphs.length,bad:bad};\n"
    "  document.documentElement.setAttribute('data-check',JSON.stringify(r));\n"
    "  console.log('storesim-report-check '+JSON.stringify(r));\n"
    "})();\n";

int report_html_end(report_html_t *h, FILE *f) {
  int rc = 0;
  if (!h) return 0;
  if (f) {
    if (h->toc.oom || h->body.oom) rc = SIM_ENOMEM;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    report_sb_t t = {0};
    report__sb_html(&t, h->title);
    fputs(t.s ? t.s : "", f);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header><h1>", css);
    fputs(t.s ? t.s : "", f);
    free(t.s);
    fputs("</h1><p>Each scenario runs without and with the fix, in virtual time. Red: without "
          "the fix; green: with it; other colours: further variants. Dashed vertical lines: "
          "the scenario's faults.</p></header>\n<main>\n",
          f);
    fputs("<nav><h3>Scenarios</h3><table><tr><th>scenario</th><th>title</th><th>without "
          "fix</th><th>with fix</th><th>expectations</th></tr>\n",
          f);
    fputs(h->toc.s ? h->toc.s : "", f);
    fputs("</table></nav>\n", f);
    fputs(h->body.s ? h->body.s : "", f);
    fprintf(f, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", script);
    if (fflush(f) || ferror(f)) rc = SIM_EIO;
  }
  rm_dir(h->dir);
  free(h->toc.s);
  free(h->body.s);
  free(h->title);
  free(h);
  return rc;
}

/* ---- plots ----------------------------------------------------------------------------------------- */
static const char *const colours[] = {"#d62728", "#2ca02c", "#1f77b4", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

/* Red for without_fix, green for with_fix (as the page's header says), the
 * other colours for further variants in file order. */
static const char *variant_colour(const scn_result_t *r, size_t i) {
  static const char *const others[] = {"#1f77b4", "#9467bd", "#ff7f0e", "#8c564b",
                                       "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  const char *n = r->variants[i].v->name;
  if (!strcmp(n, "without_fix")) return colours[0];
  if (!strcmp(n, "with_fix")) return colours[1];
  size_t k = 0;
  for (size_t j = 0; j < i; j++)
    k += strcmp(r->variants[j].v->name, "without_fix") && strcmp(r->variants[j].v->name, "with_fix");
  return others[k % 8];
}

/* Display scale of a metric: factor from its unit to the shown unit. */
typedef struct yunit {
  double factor;
  char label[48];
} yunit_t;

static yunit_t y_unit(const char *unit, double maxabs) {
  yunit_t y = {1, ""};
  int t, b;
  double scale;
  scn_unit_dim(unit, &t, &b, &scale);
  double si = maxabs * scale;
  if (t == 1 && b == 0) {
    static const struct {
      const char *n;
      double s;
    } u[] = {{"ms", 1e-3}, {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}};
    size_t k = 0;
    while (k + 1 < sizeof u / sizeof u[0] && si >= 3 * u[k + 1].s) k++;
    y.factor = scale / u[k].s;
    snprintf(y.label, sizeof y.label, "%s", u[k].n);
  } else if (t == 0 && b == 1) {
    static const char *const n[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t k = 0;
    double s = 1;
    while (k + 1 < 5 && si >= 1024 * s) s *= 1024, k++;
    y.factor = scale / s;
    snprintf(y.label, sizeof y.label, "%s", n[k]);
  } else if (t == -1 && b == 0) {
    y.factor = scale;
    snprintf(y.label, sizeof y.label, "per second");
  } else {
    snprintf(y.label, sizeof y.label, "%s", unit && unit[0] ? unit : "count");
  }
  return y;
}

typedef struct xaxis {
  double div; /* ns per shown unit */
  const char *name;
} xaxis_t;

static xaxis_t x_axis(sim_time_t duration) {
  if (duration >= 3 * SIM_HOUR) return (xaxis_t){(double)SIM_HOUR, "h"};
  if (duration >= 3 * SIM_MIN) return (xaxis_t){(double)SIM_MIN, "min"};
  if (duration >= 3 * SIM_SEC) return (xaxis_t){(double)SIM_SEC, "s"};
  return (xaxis_t){(double)SIM_MS, "ms"};
}

typedef struct plotctx {
  report_html_t *h;
  const scn_result_t *r;
  FILE *gp;       /* the gnuplot script */
  report_sb_t figs;
  int first_plot; /* number of the scenario's first plot */
  xaxis_t xa;
  sim_time_t xmax;
  int err;
} plotctx_t;

static void gp_quote(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Writes a series for gnuplot, scaled by factor; returns the number of
 * points written, or -1. A series longer than 2 * PLOT_BUCKETS points is
 * decimated: of each of PLOT_BUCKETS consecutive runs of samples, its
 * lowest and its highest point (in time order), so that no peak or dip is
 * lost while gnuplot and the page get at most two points per pixel column. */
static long write_series(plotctx_t *c, const char *path, const scn_variant_res_t *vr,
                         const scn_metric_res_t *m, double factor) {
  FILE *f = fopen(path, "w");
  long np = 0;
  size_t n = m->nseries;
  if (!f) return -1;
  if (n <= 2 * PLOT_BUCKETS) {
    for (size_t i = 0; i < n; i++, np++)
      fprintf(f, "%.9g %.9g\n", (double)report__sample_time(vr, i) / c->xa.div,
              m->series[i] * factor);
  } else {
    for (size_t b = 0; b < PLOT_BUCKETS; b++) {
      size_t lo = b * n / PLOT_BUCKETS, hi = (b + 1) * n / PLOT_BUCKETS, imin = lo, imax = lo;
      for (size_t i = lo; i < hi; i++) {
        if (m->series[i] < m->series[imin]) imin = i;
        if (m->series[i] > m->series[imax]) imax = i;
      }
      size_t first = imin < imax ? imin : imax, second = imin < imax ? imax : imin;
      fprintf(f, "%.9g %.9g\n", (double)report__sample_time(vr, first) / c->xa.div,
              m->series[first] * factor);
      np++;
      if (second != first) {
        fprintf(f, "%.9g %.9g\n", (double)report__sample_time(vr, second) / c->xa.div,
                m->series[second] * factor);
        np++;
      }
    }
  }
  return fclose(f) ? -1 : np;
}

/* The range of the values of m times factor, and whether all are whole numbers. */
static void series_range(const scn_metric_res_t *m, double factor, double *lo, double *hi,
                         int *whole) {
  for (size_t k = 0; k < m->nseries; k++) {
    double v = m->series[k] * factor;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
    if (v != floor(v)) *whole = 0;
  }
}

/* Whether two series hold the same values. */
static int series_same(const scn_metric_res_t *a, const scn_metric_res_t *b) {
  if (a->nseries != b->nseries) return 0;
  for (size_t k = 0; k < a->nseries; k++)
    if (a->series[k] != b->series[k]) return 0;
  return 1;
}

/* The step of a count axis: 1, 2 or 5 times a power of ten, whole, with at
 * most 8 steps up to hi. */
static double count_step(double hi) {
  double step = 1;
  for (;;) {
    if (hi / step <= 8) return step;
    if (hi / (2 * step) <= 8) return 2 * step;
    if (hi / (5 * step) <= 8) return 5 * step;
    step *= 10;
  }
}

/* The y axis of the next plot, from the range of the values drawn (in shown
 * units). Values never below zero: the axis starts at 0 (no padding below);
 * a count (whole numbers of a unitless metric) gets whole ticks from 0 and a
 * top at the next tick; values below zero: gnuplot's range, padded both
 * ways. A state metric (st) has one tick per state, named. */
static void y_axis(plotctx_t *c, double lo, double hi, int count, const sim_metric_states_t *st) {
  FILE *g = c->gp;
  if (st) {
    int n = 0;
    size_t wide = 0;
    for (; n < SIM_STATES_MAX && st->names[n]; n++)
      if (strlen(st->names[n]) > wide) wide = strlen(st->names[n]);
    /* the left margin makes room for the names (in characters) */
    fprintf(g, "set lmargin %zu\nset yrange [%g:%g]\nset offsets 0, 0, 0, 0\nset ytics (",
            wide + 4 > 10 ? wide + 4 : 10, st->first - 0.25, st->first + n - 1 + 0.25);
    for (int k = 0; k < n; k++) {
      fputs(k ? ", " : "", g);
      gp_quote(g, st->names[k]);
      fprintf(g, " %d", st->first + k);
    }
    fputs(")\n", g);
  } else if (lo >= 0 && count) {
    double step = count_step(hi), top = step * ceil(hi * 1.04 / step);
    if (top <= hi) top += step;
    fprintf(g,
            "set lmargin 10\nset yrange [0:%.9g]\nset offsets 0, 0, 0, 0\nset ytics 0, %.9g\n"
            "set format y \"%%.0f\"\n",
            top, step);
  } else {
    fprintf(
        g,
        "set lmargin 10\nset yrange [%s:*]\nset offsets 0, 0, graph 0.06, %s\nset ytics autofreq\n"
        "set format y \"%%.6g\"\n",
        lo >= 0 ? "0" : "*", lo >= 0 ? "0" : "graph 0.06");
  }
}

static void plot_header(plotctx_t *c, int k, const char *title, const char *ylabel) {
  const scn_scenario_t *s = c->r->s;
  FILE *g = c->gp;
  fprintf(g, "set output \"%s/p%d.svg\"\n", c->h->dir, k);
  fputs("set title ", g);
  gp_quote(g, title);
  fprintf(g, "\nset xlabel \"virtual time (%s)\"\nset ylabel ", c->xa.name);
  gp_quote(g, ylabel);
  fprintf(g, "\nunset arrow\nunset label\nset xrange [0:%.9g]\n", (double)c->xmax / c->xa.div);
  for (size_t i = 0; i < s->nfaults; i++) {
    if (s->faults[i].at > c->xmax) continue;
    double x = (double)s->faults[i].at / c->xa.div;
    const char *fn = s->model->faults ? s->model->faults[s->faults[i].kind].name : "fault";
    fprintf(g, "set arrow from %.9g, graph 0 to %.9g, graph 1 nohead dt 2 lw 1.5 lc rgb \"#8a1c1c\" back\n",
            x, x);
    fprintf(g, "set label ");
    gp_quote(g, fn);
    fprintf(g, " at %.9g, graph 0.97 right rotate by 90 offset -0.6,0 font \",9\" tc rgb \"#8a1c1c\"\n", x);
  }
}

/* How a variant appears in the plot of one metric. */
typedef struct vline {
  const scn_metric_res_t *m; /* the series drawn, or NULL */
  const char *none;          /* why there is no line: "no samples", "not recorded" */
  int same_as;               /* index of an earlier variant with the same series, or -1 */
} vline_t;

static void vlines_of(const scn_result_t *r, const char *name, vline_t *vl) {
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    const scn_metric_res_t *m = vr->ran ? report__metric(vr, name) : NULL;
    vl[i] = (vline_t){NULL, NULL, -1};
    if (!vr->ran) continue;
    if (!m) vl[i].none = "not recorded";
    else if (m->nseries < 2 || (m->kind == SIM_M_SAMPLE && m->sum.count == 0))
      vl[i].none = "no samples";
    else vl[i].m = m;
    for (size_t j = 0; j < i && vl[i].m; j++)
      if (vl[j].m && vl[j].same_as < 0 && series_same(vl[j].m, vl[i].m)) {
        vl[i].same_as = (int)j;
        break;
      }
  }
}

/* Appends the caption of metric `name`: its description, how samples are
 * shown, its states, and the variants that share a line or have none. */
static void metric_caption(plotctx_t *c, const char *name, const scn_metric_res_t *m0,
                           const sim_metric_states_t *st, const vline_t *vl) {
  const scn_result_t *r = c->r;
  report_sb_t *b = &c->figs;
  report__sb_printf(b, "<figcaption>");
  report__sb_html(b, name);
  const sim_metric_desc_t *d = scn_metric_desc(r->s->model, name);
  const char *sep = ": ";
  if (d && d->doc) {
    report__sb_printf(b, ": ");
    report__sb_html(b, d->doc);
    sep = "; ";
  }
  if (m0 && m0->kind == SIM_M_SAMPLE) {
    report__sb_printf(b, "%smean of the values observed in each sample interval", sep);
    sep = "; ";
  }
  if (st) {
    report__sb_printf(b, "%sa state, drawn as steps", sep);
    sep = "; ";
  }
  for (size_t i = 0; i < r->nvariants; i++) {
    if (vl[i].same_as >= 0) {
      report__sb_printf(b, "%s<span class=\"same\">", sep);
      report__sb_html(b, r->variants[i].v->name);
      report__sb_printf(b, " is the same as ");
      report__sb_html(b, r->variants[vl[i].same_as].v->name);
      report__sb_printf(b, " throughout (its line is marked)</span>");
    } else if (vl[i].none) {
      report__sb_printf(b, "%s<span class=\"none\">", sep);
      report__sb_html(b, r->variants[i].v->name);
      report__sb_printf(b, ": %s, no line</span>", vl[i].none);
    } else {
      continue;
    }
    sep = "; ";
  }
  report__sb_printf(b, "</figcaption></figure>\n");
}

/* Writes the plot item(s) of variant i's line (its data in path, np points)
 * after "plot " or ", ": the line in the variant's colour and the plot's
 * nline-th style; for a variant the same as an earlier one, markers (one
 * in the legend and at the first point: pi beyond the series; then every
 * tenth point at a phase of its own among the plot's ndup such lines). */
static void plot_line(plotctx_t *c, const char *path, size_t i, const vline_t *vl,
                      const sim_metric_states_t *st, long np, int nline, int *nsame, int ndup) {
  const scn_result_t *r = c->r;
  const char *col = variant_colour(r, i);
  int same = vl[i].same_as >= 0;
  fprintf(c->gp, "\"%s\" using 1:2 with %s lw %.1f dt %d lc rgb \"%s\"", path,
          st     ? "steps"
          : same ? "linespoints"
                 : "lines",
          nline == 0   ? 2.6
          : nline == 1 ? 2.0
                       : 1.5,
          nline + 1 > 5 ? 1 : nline + 1, col);
  if (!same) {
    fputs(" title ", c->gp);
    gp_quote(c->gp, r->variants[i].v->name);
    return;
  }
  int pt = 4 + 2 * (*nsame % 4); /* open square, circle, triangle, diamond */
  long step = np / 10 > 1 ? np / 10 : 1, phase = step * (*nsame + 1) / (ndup + 1);
  char label[300];
  if (!st) fprintf(c->gp, " pt %d ps 0.9 pi %ld", pt, np + 1);
  snprintf(label, sizeof label, "%s (same as %s)", r->variants[i].v->name,
           r->variants[vl[i].same_as].v->name);
  fputs(" title ", c->gp);
  gp_quote(c->gp, label);
  fprintf(c->gp, ", \"%s\" using 1:2 every %ld::%ld with points pt %d ps 0.9 lc rgb \"%s\" notitle",
          path, step, phase, pt, col);
  (*nsame)++;
}

/* Opens plot k's <figure>: data-series (lines drawn), data-metric,
 * data-same ("B=A ...": B drawn the same as A) and data-none (variants
 * without a line), for the page's check. */
static void figure_open(plotctx_t *c, int k, const char *name, int nlines, const vline_t *vl) {
  const scn_result_t *r = c->r;
  report_sb_t *b = &c->figs;
  report__sb_printf(b, "<figure class=\"plot\" id=\"plot%d\" data-series=\"%d\" data-metric=\"", k,
                    nlines);
  report__sb_html(b, name);
  report__sb_printf(b, "\"");
  for (int pass = 0; pass < 2; pass++) {
    int n = 0;
    for (size_t i = 0; i < r->nvariants; i++) {
      if (pass == 0 ? vl[i].same_as < 0 : !vl[i].none) continue;
      report__sb_printf(b, n++ ? " " : pass == 0 ? " data-same=\"" : " data-none=\"");
      report__sb_html(b, r->variants[i].v->name);
      if (pass == 0) {
        report__sb_printf(b, "=");
        report__sb_html(b, r->variants[vl[i].same_as].v->name);
      }
    }
    if (n) report__sb_printf(b, "\"");
  }
  report__sb_printf(b, ">@@PLOT%d@@", k);
}

/* Whether metric name has anything to plot: a line of some variant that is
 * not 0 throughout; *maxabs and *unit are set from the lines. */
static int worth_plotting(const scn_result_t *r, const vline_t *vl, double *maxabs,
                          const char **unit) {
  int any = 0, varies = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_metric_res_t *m = vl[i].m;
    if (!m) continue;
    any = 1;
    *unit = m->unit;
    for (size_t k = 0; k < m->nseries; k++) {
      if (fabs(m->series[k]) > *maxabs) *maxabs = fabs(m->series[k]);
      if (m->series[k] != m->series[0]) varies = 1;
    }
  }
  return any && (varies || *maxabs != 0);
}

/* One plot: metric `name` of every variant. A variant without data gets no
 * line, only a legend entry saying so; a variant whose series equals an
 * earlier one's is drawn with markers, offset from any other's, and its
 * legend entry says "same as". Returns 1 if drawn. */
static int plot_metric(plotctx_t *c, const char *name) {
  const scn_result_t *r = c->r;
  double maxabs = 0;
  const char *unit = NULL;
  vline_t *vl = calloc(r->nvariants ? r->nvariants : 1, sizeof *vl);
  if (!vl) {
    c->err = 1;
    return 0;
  }
  vlines_of(r, name, vl);
  if (!worth_plotting(r, vl, &maxabs, &unit)) {
    free(vl);
    return 0;
  }
  int k = ++c->h->nplots;
  const sim_metric_states_t *st = scn_metric_states(r->s->model, name);
  yunit_t y = y_unit(unit, maxabs);
  const scn_metric_res_t *m0 = NULL;
  for (size_t i = 0; i < r->nvariants && !m0; i++)
    if (r->variants[i].ran) m0 = report__metric(&r->variants[i], name);
  const char *what = st                                ? ""
                     : m0 && m0->kind == SIM_M_SAMPLE  ? " (mean per sample interval)"
                     : m0 && m0->kind == SIM_M_COUNTER ? " (cumulative)"
                                                       : "";
  char title[300];
  snprintf(title, sizeof title, "%s%s", name, what);
  plot_header(c, k, title, st ? "state" : y.label);
  double lo = INFINITY, hi = -INFINITY;
  int whole = 1, nlines = 0, nitems = 0, nsame = 0, ndup = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    if (vl[i].m) series_range(vl[i].m, y.factor, &lo, &hi, &whole);
    ndup += vl[i].same_as >= 0;
  }
  y_axis(c, lo, hi, whole && !(unit && unit[0]), st);
  fputs("plot ", c->gp);
  for (size_t i = 0; i < r->nvariants; i++) {
    char path[4300];
    if (!vl[i].m) continue;
    snprintf(path, sizeof path, "%s/p%d_v%zu.dat", c->h->dir, k, i);
    long np = write_series(c, path, &r->variants[i], vl[i].m, y.factor);
    if (np < 0) c->err = 1;
    fputs(nitems++ ? ", " : "", c->gp);
    plot_line(c, path, i, vl, st, np, nlines++, &nsame, ndup);
  }
  for (size_t i = 0; i < r->nvariants; i++) {
    char label[300];
    if (!vl[i].none) continue;
    snprintf(label, sizeof label, "%s: %s", r->variants[i].v->name, vl[i].none);
    fprintf(c->gp, "%skeyentry with points pt -1 lc rgb \"%s\" title ", nitems++ ? ", " : "",
            variant_colour(r, i));
    gp_quote(c->gp, label);
  }
  fputc('\n', c->gp);
  figure_open(c, k, name, nlines, vl);
  metric_caption(c, name, m0, st, vl);
  free(vl);
  return 1;
}

/* Family plots: for each variant, the members of a family (tasks.busy.<kind>
 * or proc.<name>.mem_bytes) that have data. */
static int family_member(const char *name, const char *pre, const char *suf, char *label, size_t n) {
  size_t lp = strlen(pre), ls = strlen(suf), ln = strlen(name);
  if (ln <= lp + ls || strncmp(name, pre, lp) || strcmp(name + ln - ls, suf)) return 0;
  if (!ls && strchr(name + lp, '.')) return 0;
  snprintf(label, n, "%.*s", (int)(ln - lp - ls), name + lp);
  return 1;
}

/* Colours of family members: none of the variants' red and green. */
static const char *const member_colours[] = {"#1f77b4", "#9467bd", "#ff7f0e", "#8c564b",
                                             "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

/* Family plots are drawn for the reference variant and "with_fix" (or the
 * next variant): the overlaid plots already compare every variant. */
static int family_variant(const scn_result_t *r, size_t i) {
  int ref = report__ref_variant(r);
  if ((int)i == ref) return 1;
  int has_fix = 0;
  for (size_t k = 0; k < r->nvariants; k++)
    has_fix |= r->variants[k].ran && !strcmp(r->variants[k].v->name, "with_fix");
  if (has_fix) return !strcmp(r->variants[i].v->name, "with_fix");
  for (size_t k = 0; k < r->nvariants; k++)
    if ((int)k != ref && r->variants[k].ran) return k == i;
  return 0;
}

static void plot_family(plotctx_t *c, const char *pre, const char *suf, const char *title) {
  const scn_result_t *r = c->r;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    if (!vr->ran || !family_variant(r, i)) continue;
    double maxabs = 0;
    const char *unit = "";
    int nm = 0;
    char label[200];
    for (size_t m = 0; m < vr->nmetrics; m++) {
      const scn_metric_res_t *mr = &vr->metrics[m];
      if (!family_member(mr->name, pre, suf, label, sizeof label) || mr->nseries < 2) continue;
      double mx = 0;
      for (size_t k = 0; k < mr->nseries; k++)
        if (fabs(mr->series[k]) > mx) mx = fabs(mr->series[k]);
      if (mx == 0) continue;
      if (mx > maxabs) maxabs = mx;
      unit = mr->unit;
      nm++;
    }
    if (nm == 0) continue;
    int k = ++c->h->nplots;
    yunit_t y = y_unit(unit, maxabs);
    char t[300];
    snprintf(t, sizeof t, "%s: %s", title, vr->v->name);
    plot_header(c, k, t, y.label);
    double lo = INFINITY, hi = -INFINITY;
    int whole = 1;
    for (size_t m = 0; m < vr->nmetrics; m++)
      if (family_member(vr->metrics[m].name, pre, suf, label, sizeof label) &&
          vr->metrics[m].nseries >= 2)
        series_range(&vr->metrics[m], y.factor, &lo, &hi, &whole);
    y_axis(c, lo, hi, whole && !(unit && unit[0]), NULL);
    fputs("plot ", c->gp);
    int nl = 0;
    for (size_t m = 0; m < vr->nmetrics; m++) {
      const scn_metric_res_t *mr = &vr->metrics[m];
      if (!family_member(mr->name, pre, suf, label, sizeof label) || mr->nseries < 2) continue;
      int nz = 0;
      for (size_t q = 0; q < mr->nseries; q++) nz |= mr->series[q] != 0;
      if (!nz) continue;
      char path[4300];
      snprintf(path, sizeof path, "%s/p%d_m%zu.dat", c->h->dir, k, m);
      if (write_series(c, path, vr, mr, y.factor) < 0) c->err = 1;
      fprintf(c->gp, "%s\"%s\" using 1:2 with lines lw 1.8 lc rgb \"%s\" title ", nl ? ", " : "", path,
              member_colours[m % 8]);
      gp_quote(c->gp, label);
      nl++;
    }
    fputc('\n', c->gp);
    report__sb_printf(&c->figs, "<figure class=\"plot\" id=\"plot%d\" data-series=\"%d\" data-metric=\"",
                      k, nl);
    report__sb_html(&c->figs, pre);
    report__sb_printf(&c->figs, "*%s\">@@PLOT%d@@<figcaption>", suf, k);
    report__sb_html(&c->figs, t);
    report__sb_printf(&c->figs, "</figcaption></figure>\n");
  }
}

static int has_suffix(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

typedef struct refs {
  const char *v[256];
  size_t n;
} refs_t;

static int on_ref(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  refs_t *r = arg;
  (void)stat, (void)pos;
  if (kind != SCN_REF_METRIC || r->n >= 256) return 0;
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->v[i], name)) return 0;
  r->v[r->n++] = name;
  return 0;
}

/* A family name ("proc.<name>.mem_bytes") split around its placeholder. */
static int family_split(const char *name, char *pre, size_t npre, const char **suf) {
  const char *lt = strchr(name, '<'), *gt = lt ? strchr(lt, '>') : NULL;
  if (!gt) return 0;
  snprintf(pre, npre, "%.*s", (int)(lt - name), name);
  *suf = gt + 1;
  return 1;
}

/* True when a family plot of the model or of every run draws `name`. */
static int in_family_plot(const sim_model_t *m, const char *name) {
  size_t np = 0;
  while (m->parts && m->parts[np]) np++;
  for (size_t i = 0; i <= np; i++) {
    const sim_model_part_t *part = i < np ? m->parts[i] : scn_world_part();
    for (const sim_plot_desc_t *pl = part->plots; pl && pl->title; pl++)
      for (int k = 0; k < SIM_PLOT_MAX_METRICS && pl->metrics[k]; k++)
        if (strchr(pl->metrics[k], '<') && scn_metric_name_match(pl->metrics[k], name)) return 1;
  }
  return 0;
}

/* The plots the model's parts list, then those of every run (the kernel's). */
static void plot_parts(plotctx_t *c, const char **done, size_t *ndone, size_t maxdone,
                       int *nsingle) {
  const sim_model_t *m = c->r->s->model;
  size_t np = 0;
  while (m->parts && m->parts[np]) np++;
  for (size_t i = 0; i <= np; i++) {
    const sim_model_part_t *part = i < np ? m->parts[i] : scn_world_part();
    for (const sim_plot_desc_t *pl = part->plots; pl && pl->title; pl++)
      for (int k = 0; k < SIM_PLOT_MAX_METRICS && pl->metrics[k]; k++) {
        const char *name = pl->metrics[k], *suf;
        char pre[200];
        if (family_split(name, pre, sizeof pre, &suf)) {
          plot_family(c, pre, suf, pl->title);
          continue;
        }
        int seen = 0;
        for (size_t q = 0; q < *ndone; q++) seen |= !strcmp(done[q], name);
        if (seen || *nsingle >= MAX_SINGLE) continue;
        if (plot_metric(c, name)) {
          (*nsingle)++;
          if (*ndone < maxdone) done[(*ndone)++] = name;
        }
      }
  }
}

static int render_plots(plotctx_t *c) {
  const scn_result_t *r = c->r;
  char gpath[4200], log[4200];
  snprintf(gpath, sizeof gpath, "%s/plots.gp", c->h->dir);
  snprintf(log, sizeof log, "%s/gnuplot.log", c->h->dir);
  c->gp = fopen(gpath, "w");
  if (!c->gp) return -1;
  fputs(
      "set terminal svg size 600,320 noenhanced dynamic font \"sans,10\" background rgb \"white\"\n"
      "set encoding utf8\nset grid lc rgb \"#dddddd\"\nset key below horizontal "
      "font \",9\"\nset border 3\nset tics nomirror\nset lmargin 10\n",
      c->gp);
  c->first_plot = c->h->nplots + 1;
  int nsingle = 0;
  refs_t refs = {{0}, 0};
  for (size_t i = 0; i < r->s->nvariants; i++)
    for (size_t k = 0; k < r->s->variants[i].nexpects; k++)
      if (r->s->variants[i].expects[k].expr) scn_expr_visit(r->s->variants[i].expects[k].expr, on_ref, &refs);
  /* first what the expectations name (the failure itself), then the plots
   * the model says tell its story */
  const char *done[MAX_SINGLE * 4];
  size_t ndone = 0;
  for (size_t i = 0; i < refs.n && nsingle < MAX_SINGLE; i++) {
    const char *name = refs.v[i], *suf;
    char pre[200];
    int seen = 0;
    for (size_t k = 0; k < ndone; k++) seen |= !strcmp(done[k], name);
    if (seen || has_suffix(name, "_at") || family_split(name, pre, sizeof pre, &suf) ||
        in_family_plot(r->s->model, name))
      continue;
    if (plot_metric(c, name)) {
      nsingle++;
      if (ndone < sizeof done / sizeof done[0]) done[ndone++] = name;
    }
  }
  plot_parts(c, done, &ndone, sizeof done / sizeof done[0], &nsingle);
  if (fclose(c->gp)) c->err = 1;
  c->gp = NULL;
  if (c->err) return -1;
  if (c->h->nplots < c->first_plot) return 0;
  char *argv[] = {"gnuplot", gpath, NULL};
  if (run_tool(argv, log) != 0) return -2;
  return 0;
}

/* ---- sections ---------------------------------------------------------------------------------------- */
static void badge(report_sb_t *b, int v, const char *yes, const char *no) {
  if (v == 1) report__sb_printf(b, "<span class=\"badge ok\">%s</span>", yes);
  else if (v == 0) report__sb_printf(b, "<span class=\"badge bad\">%s</span>", no);
  else report__sb_printf(b, "<span class=\"badge na\">not checked</span>");
}

static void anchor_id(report_sb_t *b, const char *id) {
  for (; *id; id++) {
    char ch = (char)((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9') ||
                             *id == '-' || *id == '_'
                         ? *id
                         : '-');
    report__sb_put(b, &ch, 1);
  }
}

/* Replaces each @@PLOTk@@ in figs by the inlined SVG of plot k. */
static int splice_plots(report_html_t *h, report_sb_t *out, const char *figs) {
  const char *p = figs;
  while (p && *p) {
    const char *m = strstr(p, "@@PLOT");
    if (!m) {
      report__sb_put(out, p, strlen(p));
      break;
    }
    report__sb_put(out, p, (size_t)(m - p));
    int k = atoi(m + 6);
    char path[4300], prefix[32];
    snprintf(path, sizeof path, "%s/p%d.svg", h->dir, k);
    snprintf(prefix, sizeof prefix, "p%d_", k);
    if (inline_svg(out, path, prefix)) return -1;
    const char *e = strstr(m + 6, "@@");
    p = e ? e + 2 : NULL;
  }
  return out->oom ? -1 : 0;
}

static int render_graph(report_html_t *h, report_sb_t *b, const char *dot, char *err, size_t nerr) {
  int k = ++h->ngraphs;
  char in[4300], outp[4300], log[4300], prefix[32];
  snprintf(in, sizeof in, "%s/g%d.dot", h->dir, k);
  snprintf(outp, sizeof outp, "%s/g%d.svg", h->dir, k);
  snprintf(log, sizeof log, "%s/dot.log", h->dir);
  FILE *f = fopen(in, "w");
  if (!f || fputs(dot, f) < 0 || fclose(f)) {
    snprintf(err, nerr, "cannot write %s", in);
    return -1;
  }
  char *argv[] = {"dot", "-Tsvg", in, "-o", outp, NULL};
  if (run_tool(argv, log) != 0) {
    snprintf(err, nerr, "dot failed on a wait-for graph (see %s)", log);
    return -1;
  }
  snprintf(prefix, sizeof prefix, "g%d_", k);
  report__sb_printf(b, "<figure class=\"graph\" id=\"graph%d\">", k);
  if (inline_svg(b, outp, prefix)) {
    snprintf(err, nerr, "cannot read %s", outp);
    return -1;
  }
  report__sb_printf(b, "<figcaption>wait-for graph (Graphviz dot)</figcaption></figure>\n");
  return 0;
}

/* Appends the scenario's row to the table of contents. */
static void add_toc_row(report_html_t *h, const scn_result_t *r) {
  const scn_scenario_t *s = r->s;
  report_sb_t *t = &h->toc;
  int np = 0, nx = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    np += r->variants[i].npass;
    nx += (int)scn_variant_judged(&r->variants[i]);
  }
  report__sb_printf(t, "<tr><td><a href=\"#s-");
  anchor_id(t, s->id);
  report__sb_printf(t, "\">");
  report__sb_html(t, s->id);
  report__sb_printf(t, "</a></td><td>");
  report__sb_html(t, s->title);
  report__sb_printf(t, "</td><td>");
  badge(t, r->reproduced_without_fix, "reproduced", "NOT reproduced");
  report__sb_printf(t, "</td><td>");
  badge(t, r->absent_with_fix, "absent", "NOT absent");
  report__sb_printf(t, "</td><td class=\"%s\">%d / %d</td></tr>\n", np == nx ? "ok" : "bad", np,
                    nx);
}

/* A scenario's path as the page shows it: relative to the current directory
 * when it lies below it (an absolute path given on the command line, as
 * ctest does), so that the page does not carry the checkout's location. */
static const char *shown_path(const char *path) {
  char cwd[4096];
  if (path[0] != '/' || !getcwd(cwd, sizeof cwd)) return path;
  size_t n = strlen(cwd);
  if (n > 1 && !strncmp(path, cwd, n) && path[n] == '/' && path[n + 1]) return path + n + 1;
  return path;
}

/* Opens the scenario's section: title, verdict badges, source and description. */
static void add_heading(report_sb_t *b, const scn_result_t *r) {
  const scn_scenario_t *s = r->s;
  report__sb_printf(b, "<section id=\"s-");
  anchor_id(b, s->id);
  report__sb_printf(b, "\">\n<h2>");
  report__sb_html(b, s->id);
  report__sb_printf(b, ": ");
  report__sb_html(b, s->title);
  report__sb_printf(b, "</h2>\n<p>");
  badge(b, r->reproduced_without_fix, "reproduced without fix", "NOT reproduced without fix");
  badge(b, r->absent_with_fix, "absent with fix", "NOT absent with fix");
  report__sb_printf(b, " <span class=\"muted\">");
  if (s->source) {
    report__sb_html(b, s->source);
    report__sb_printf(b, " &middot; ");
  }
  report__sb_html(b, shown_path(s->file));
  report__sb_printf(b, " &middot; model %s</span></p>\n", s->model->name);
  if (s->description) {
    report__sb_printf(b, "<p>");
    report__sb_html(b, s->description);
    report__sb_printf(b, "</p>\n");
  }
}

typedef int explain_fn(FILE *f, const scn_result_t *r, report_facts_t *const *facts);

/* Writes open, explain's text escaped, then close. Returns 0, or SIM_ENOMEM
 * (with the reason in err) when the text could not be made; open and close
 * are written all the same once the memory stream exists. */
static int add_explained(report_sb_t *b, explain_fn *fn, const scn_result_t *r,
                         report_facts_t *const *facts, const char *open, const char *close,
                         char *err, size_t nerr) {
  char *text = NULL;
  size_t tlen = 0;
  FILE *mf = open_memstream(&text, &tlen);
  if (!mf) {
    snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  int rc = fn(mf, r, facts);
  fclose(mf);
  report__sb_printf(b, "%s", open);
  report__sb_html(b, text ? text : "");
  report__sb_printf(b, "%s", close);
  free(text);
  if (rc) {
    snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  return 0;
}

/* Lists each kind of detector report a variant filed, with its count. */
static void add_report_kinds(report_sb_t *b, const scn_variant_res_t *vr) {
  if (!vr->nreports) report__sb_printf(b, "none");
  for (size_t k = 0; k < vr->nreports; k++) {
    size_t same = 0;
    int seen = 0;
    for (size_t q = 0; q < k; q++) seen |= !strcmp(vr->reports[q].kind, vr->reports[k].kind);
    if (seen) continue;
    for (size_t q = k; q < vr->nreports; q++)
      same += !strcmp(vr->reports[q].kind, vr->reports[k].kind);
    report__sb_html(b, vr->reports[k].kind);
    report__sb_printf(b, " &times;%zu ", same);
  }
}

/* The verdict table: one row per variant (fixes, seed, end, expectations, reports, hash). */
static void add_verdict(report_sb_t *b, const scn_result_t *r) {
  char a[300], t1[64];
  report__sb_printf(b, "<h3>Verdict</h3>\n<table><tr><th>variant</th><th>fixes</th><th>seed</th><th>ran "
                       "to</th><th>expectations</th><th>detector reports</th><th>trace hash</th></tr>\n");
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    report__sb_printf(b, "<tr><td><b style=\"color:%s\">", variant_colour(r, i));
    report__sb_html(b, vr->v->name);
    report__sb_printf(b, "</b>");
    if (vr->v->description) {
      report__sb_printf(b, "<br><span class=\"muted\">");
      report__sb_html(b, vr->v->description);
      report__sb_printf(b, "</span>");
    }
    scn_fixes_text(r->s, vr->v, ", ", "none", a, sizeof a);
    report__sb_printf(b, "</td><td>");
    report__sb_html(b, a);
    if (!vr->ran) {
      report__sb_printf(b, "</td><td colspan=\"5\" class=\"muted\">not run</td></tr>\n");
      continue;
    }
    report__fmt_time(vr->end_time, t1, sizeof t1);
    report__sb_printf(b, "</td><td>%llu</td><td>%s%s%s</td>", (unsigned long long)vr->seed, t1,
                      vr->incomplete ? " INCOMPLETE" : "", vr->run_rc == SIM_EHANG ? " (hang)" : "");
    report__sb_printf(b, "<td class=\"%s\">%d / %zu hold", vr->nfail + vr->nerror ? "bad" : "ok",
                      vr->npass, scn_variant_judged(vr));
    if (vr->nnot_live) report__sb_printf(b, " (%d not live)", vr->nnot_live);
    report__sb_printf(b, "</td><td>");
    add_report_kinds(b, vr);
    if (vr->live)
      report__sb_printf(b, "</td><td>live run: not reproducible, no trace hash</td></tr>\n");
    else
      report__sb_printf(b, "</td><td><code>%016llx</code></td></tr>\n",
                        (unsigned long long)vr->trace_hash);
  }
  report__sb_printf(b, "</table>\n");
}

/* "Over time": renders the scenario's plots with gnuplot and inlines them.
 * Returns 0, or SIM_EIO with the reason in err. */
static int add_plots(report_html_t *h, const scn_result_t *r, char *err, size_t nerr) {
  plotctx_t c;
  memset(&c, 0, sizeof c);
  c.h = h;
  c.r = r;
  c.xmax = 0;
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran && r->variants[i].end_time > c.xmax) c.xmax = r->variants[i].end_time;
  if (c.xmax <= 0) c.xmax = r->s->world.duration;
  c.xa = x_axis(c.xmax);
  int prc = render_plots(&c);
  if (prc) {
    free(c.figs.s);
    snprintf(err, nerr, prc == -2 ? "gnuplot failed (its messages are in %s/gnuplot.log)"
                                  : "cannot write plot data in %s",
             h->dir);
    return SIM_EIO;
  }
  report__sb_printf(&h->body, "<h3>Over time</h3>\n<div class=\"plots\">\n");
  if (splice_plots(h, &h->body, c.figs.s)) {
    free(c.figs.s);
    snprintf(err, nerr, "cannot read the plots gnuplot wrote in %s", h->dir);
    return SIM_EIO;
  }
  free(c.figs.s);
  report__sb_printf(&h->body, "</div>\n");
  return 0;
}

/* Whether any variant that ran has samples of metric name. */
static int any_samples(const scn_result_t *r, const char *name) {
  int has = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_metric_res_t *x = r->variants[i].ran ? report__metric(&r->variants[i], name) : NULL;
    has |= x && x->sum.count > 0;
  }
  return has;
}

/* The latency table's header: one column per variant that ran. */
static void add_latency_head(report_sb_t *b, const scn_result_t *r) {
  report__sb_printf(b, "<h3>Latency percentiles</h3>\n<table><tr><th>metric</th>");
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran) {
      report__sb_printf(b, "<th>");
      report__sb_html(b, r->variants[i].v->name);
      report__sb_printf(b, " p50 / p95 / p99 (n)</th>");
    }
  report__sb_printf(b, "</tr>\n");
}

/* One latency row: p50 / p95 / p99 (n) of metric name in each variant that ran. */
static void add_latency_row(report_sb_t *b, const scn_result_t *r, const char *name) {
  report__sb_printf(b, "<tr><td>");
  report__sb_html(b, name);
  report__sb_printf(b, "</td>");
  for (size_t i = 0; i < r->nvariants; i++) {
    if (!r->variants[i].ran) continue;
    const scn_metric_res_t *x = report__metric(&r->variants[i], name);
    if (!x || !x->sum.count) {
      report__sb_printf(b, "<td class=\"muted\">no samples</td>");
      continue;
    }
    char p50[64], p95[64], p99[64];
    report__fmt_value(x, x->sum.p50, p50, sizeof p50);
    report__fmt_value(x, x->sum.p95, p95, sizeof p95);
    report__fmt_value(x, x->sum.p99, p99, sizeof p99);
    report__sb_printf(b, "<td>%s / %s / %s (%llu)</td>", p50, p95, p99,
                      (unsigned long long)x->sum.count);
  }
  report__sb_printf(b, "</tr>\n");
}

/* Latency percentiles of every time-valued sample metric that has samples;
 * nothing at all when there is none. */
static void add_latency(report_sb_t *b, const scn_result_t *r) {
  int head = 0;
  const scn_variant_res_t *any = NULL;
  for (size_t i = 0; i < r->nvariants && !any; i++)
    if (r->variants[i].ran) any = &r->variants[i];
  for (size_t m = 0; any && m < any->nmetrics; m++) {
    const scn_metric_res_t *mr = &any->metrics[m];
    int t, bb;
    double sc;
    scn_unit_dim(mr->unit, &t, &bb, &sc);
    if (mr->kind != SIM_M_SAMPLE || t != 1 || bb != 0) continue;
    if (!any_samples(r, mr->name)) continue;
    if (!head) {
      add_latency_head(b, r);
      head = 1;
    }
    add_latency_row(b, r, mr->name);
  }
  if (head) report__sb_printf(b, "</table>\n");
}

/* The expectations table: each expectation of each variant, its status and measure. */
static void add_expectations(report_sb_t *b, const scn_result_t *r) {
  report__sb_printf(b, "<h3>Expectations</h3>\n<table><tr><th>variant</th><th></th><th>expectation</th>"
                       "<th>measured</th><th>compared</th></tr>\n");
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    for (size_t k = 0; k < vr->nexpects; k++) {
      const scn_expect_res_t *x = &vr->expects[k];
      char mv[96] = "-";
      if (!isnan(x->measured.v)) scn_qty_format(x->measured, mv, sizeof mv);
      report__sb_printf(b, "<tr><td>");
      report__sb_html(b, vr->v->name);
      report__sb_printf(b, "</td><td class=\"%s\">%s</td><td><code>",
                        x->status == SCN_X_PASS       ? "ok"
                        : x->status == SCN_X_NOT_LIVE ? "muted"
                                                      : "bad",
                        x->status == SCN_X_PASS    ? "pass"
                        : x->status == SCN_X_FAIL  ? "FAIL"
                        : x->status == SCN_X_ERROR ? "ERROR"
                                                   : "not judged live");
      report__sb_html(b, x->x->text);
      report__sb_printf(b, "</code></td><td>");
      report__sb_html(b, mv);
      report__sb_printf(b, "</td><td><code>");
      report__sb_html(b, x->detail ? x->detail : "");
      report__sb_printf(b, "</code>");
      if (x->status == SCN_X_NOT_LIVE) {
        report__sb_printf(b, "<br><span class=\"muted\">not judged on the threads backend: ");
        report__sb_html(b, x->x->not_live);
        report__sb_printf(b, "</span>");
      }
      report__sb_printf(b, "</td></tr>\n");
    }
  }
  report__sb_printf(b, "</table>\n");
}

/* The first 20 detector reports of each variant, the first MAX_GRAPHS with
 * wait-for graphs drawn by dot. Returns 0, or SIM_EIO with the reason in err. */
static int add_detector_reports(report_html_t *h, const scn_result_t *r, char *err, size_t nerr) {
  report_sb_t *b = &h->body;
  char t1[64];
  report__sb_printf(b, "<h3>Detector reports</h3>\n");
  int nrep = 0;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    int ngraph = 0;
    for (size_t k = 0; k < vr->nreports && k < 20; k++) {
      const scn_report_res_t *rp = &vr->reports[k];
      size_t bl = strcspn(rp->text, "\n");
      report__fmt_time(rp->time, t1, sizeof t1);
      report__sb_printf(b, "<details%s><summary>", rp->dot && ngraph < MAX_GRAPHS ? " open" : "");
      report__sb_html(b, vr->v->name);
      report__sb_printf(b, " @ %s &mdash; ", t1);
      char *banner = strndup(rp->text, bl);
      report__sb_html(b, banner ? banner : "");
      free(banner);
      report__sb_printf(b, "</summary><pre>");
      report__sb_html(b, rp->text);
      report__sb_printf(b, "</pre>\n");
      if (rp->dot && ngraph < MAX_GRAPHS) {
        if (render_graph(h, b, rp->dot, err, nerr)) return SIM_EIO;
        ngraph++;
      }
      report__sb_printf(b, "</details>\n");
      nrep++;
    }
    if (vr->nreports > 20)
      report__sb_printf(b, "<p class=\"muted\">%zu more reports of %s not shown.</p>\n", vr->nreports - 20,
                        vr->v->name);
  }
  if (!nrep) report__sb_printf(b, "<p class=\"muted\">No detector filed a report in any variant.</p>\n");
  return 0;
}

int report_html_add(report_html_t *h, const scn_result_t *r, report_facts_t *const *facts,
                    char *err, size_t nerr) {
  report_sb_t *b = &h->body;
  int rc;
  h->nscn++;
  add_toc_row(h, r);
  add_heading(b, r);
  rc = add_explained(b, report_explain_brief, r, facts,
                     "<h3>In short</h3>\n<pre class=\"story brief\">", "</pre>\n", err, nerr);
  if (rc) return rc;
  add_verdict(b, r);
  if ((rc = add_plots(h, r, err, nerr))) return rc;
  add_latency(b, r);
  add_expectations(b, r);
  if ((rc = add_detector_reports(h, r, err, nerr))) return rc;
  rc = add_explained(b, report_explain, r, facts,
                     "<h3>What happened (storesim explain)</h3>\n<pre class=\"story\">",
                     "</pre>\n</section>\n", err, nerr);
  if (rc || b->oom || h->toc.oom) {
    snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  return 0;
}
