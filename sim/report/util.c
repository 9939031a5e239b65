/*
 * Report layer helpers: time and value formatting, a growing string buffer,
 * HTML escaping. Nothing here reads a clock or a pointer value.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "report_int.h"

void report__fmt_time(sim_time_t t, char *buf, size_t n) { scn_format_hms(t, buf, n); }

void report__fmt_dur(sim_time_t d, char *buf, size_t n) {
  if (d < SIM_SEC && d > -SIM_SEC) snprintf(buf, n, "under a second");
  else scn_format_hms(d, buf, n);
}

void report__fmt_value(const scn_metric_res_t *m, double v, char *buf, size_t n) {
  scn_qty_t q;
  double scale;
  if (!isfinite(v)) {
    snprintf(buf, n, "-");
    return;
  }
  scn_unit_dim(m->unit, &q.t, &q.b, &scale);
  if ((q.t == 0 && q.b == 0) || scale == 0) {
    if (v == floor(v) && fabs(v) < 1e15)
      snprintf(buf, n, "%.0f%s%s", v, m->unit[0] ? " " : "", m->unit);
    else
      snprintf(buf, n, "%.4g%s%s", v, m->unit[0] ? " " : "", m->unit);
    return;
  }
  q.v = v * scale;
  if (q.t == 1 && q.b == 0) { /* a time: h:mm:ss from a minute, else milliseconds */
    double ns = q.v * 1e9;
    if (fabs(ns) >= 60e9) scn_format_hms((sim_time_t)llround(ns), buf, n);
    else if (fabs(ns) >= 10e6 || ns == 0) snprintf(buf, n, "%.0f ms", ns / 1e6);
    else snprintf(buf, n, "%.3g ms", ns / 1e6);
    return;
  }
  scn_qty_format(q, buf, n);
}

const scn_metric_res_t *report__metric(const scn_variant_res_t *vr, const char *name) {
  return scn_metric_res_find(vr, name);
}

int report__ref_variant(const scn_result_t *r) {
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran && r->variants[i].v && !strcmp(r->variants[i].v->name, "without_fix"))
      return (int)i;
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran) return (int)i;
  return -1;
}

void report__sb_put(report_sb_t *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + n + 1) nc *= 2;
    char *p = realloc(b->s, nc);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->s = p;
    b->cap = nc;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

void report__sb_printf(report_sb_t *b, const char *fmt, ...) {
  char small[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    report__sb_put(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->oom = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  report__sb_put(b, big, (size_t)n);
  free(big);
}

void report__sb_html(report_sb_t *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<': report__sb_put(b, "&lt;", 4); break;
    case '>': report__sb_put(b, "&gt;", 4); break;
    case '&': report__sb_put(b, "&amp;", 5); break;
    case '"': report__sb_put(b, "&quot;", 6); break;
    default: report__sb_put(b, s, 1);
    }
  }
}

int report__trace_begin(report_trace_it_t *it, const sim_world_t *w) {
  memset(it, 0, sizeof *it);
  it->w = w;
  it->buf = malloc(REPORT_TRACE_BLOCK * sizeof *it->buf);
  return it->buf ? 0 : -1;
}

void report__trace_end(report_trace_it_t *it) {
  free(it->buf);
  it->buf = NULL;
}

int report__tmpfd(void) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  int fd = -1;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  char path[4096];
  if (snprintf(path, sizeof path, "%s/storesim-XXXXXX", dir) >= (int)sizeof path) return -1;
  fd = mkstemp(path);
  if (fd >= 0) unlink(path);
  return fd;
}
