/*
 * storesim command line: `run --perfmon`, the simulated Performance Monitor
 * counters of a run as the CSV log Performance Monitor and relog write
 * (PDH-CSV 4.0), so that Perfmon, relog and PAL open it as they open a log
 * captured on a real server.
 *
 * The format (DOMAIN.md, "Performance Monitor log files"): every field
 * double-quoted, lines ended CRLF as Windows writes them; the header's first
 * field names the format and the time zone, "(PDH-CSV 4.0) (Coordinated
 * Universal Time)(0)" (the zone's name and its bias in minutes: the log is
 * in UTC), then one field per counter, "\\SERVER\Object(Instance)\Counter";
 * then one line per sample interval: the timestamp "MM/DD/YYYY HH:MM:SS.mmm"
 * and one value per counter.
 *
 * The counters are the metrics a run records under a counter path
 * (sim_metric_desc_t.counter, scn_is_counter), in the run's metric order;
 * sample i (0-based) of the run, taken at virtual time (i + 1) x interval,
 * is stamped start + (i + 1) x interval. Virtual time is mapped onto a date
 * the user gives (--perfmon-start), or CLI_PERFMON_START: never the wall
 * clock, so the same run writes the same file byte for byte.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "storesim_cli.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int cli_parse_perfmon_start(const char *val, void *target, char *why, size_t nwhy) {
  int y, mo, d, h, mi, s, n = 0;
  int ok = sscanf(val, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 &&
           val[n] == 0 && strlen(val) == 19 && y >= 1601 && y <= 9999 && mo >= 1 && mo <= 12 &&
           d >= 1 && h <= 23 && mi <= 59 && s <= 59 && h >= 0 && mi >= 0 && s >= 0;
  if (ok) { /* the day exists in that month */
    int64_t yy;
    int m2, d2;
    civil_from_days(days_from_civil(y, mo, d), &yy, &m2, &d2);
    ok = yy == y && m2 == mo && d2 == d;
  }
  if (!ok) {
    snprintf(why, nwhy, "expected \"YYYY-MM-DD HH:MM:SS\" (UTC), a date from 1601 to 9999");
    return -1;
  }
  *(int64_t *)target = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return 0;
}

int cli_parse_perfmon_server(const char *val, void *target, char *why, size_t nwhy) {
  size_t n = strlen(val);
  int ok = n >= 1 && n <= 63;
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char c = (unsigned char)val[i];
    ok = c > ' ' && c < 127 && !strchr("\\/\"*?:<>|,()", c);
  }
  if (!ok) {
    snprintf(why, nwhy,
             "expected a computer name: 1 to 63 characters, no spaces, quotes, "
             "slashes or \\/:*?\"<>|,()");
    return -1;
  }
  *(const char **)target = val;
  return 0;
}

/* "MM/DD/YYYY HH:MM:SS.mmm" of start (seconds since 1970, UTC) + t. */
static void stamp(char *buf, size_t n, int64_t start, sim_time_t t) {
  int64_t ms = t / SIM_MS, secs = start + ms / 1000;
  int64_t days = secs / 86400, rem = secs % 86400, y;
  int m, d;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, n, "%02d/%02d/%04" PRId64 " %02d:%02d:%02d.%03d", m, d, y, (int)(rem / 3600),
           (int)(rem % 3600 / 60), (int)(rem % 60), (int)(ms % 1000));
}

/* A field: quoted, a quote inside doubled. */
static void field(FILE *f, const char *s, int first) {
  if (!first) fputc(',', f);
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

size_t cli_perfmon_ncounters(const scn_variant_res_t *vr) {
  size_t n = 0;
  for (size_t i = 0; i < vr->nmetrics; i++) n += scn_is_counter(vr->metrics[i].name);
  return n;
}

void cli_print_perfmon(FILE *f, const scn_variant_res_t *vr, const char *server, int64_t start) {
  char buf[512];
  size_t rows = 0;
  field(f, "(PDH-CSV 4.0) (Coordinated Universal Time)(0)", 1);
  for (size_t i = 0; i < vr->nmetrics; i++) {
    const scn_metric_res_t *m = &vr->metrics[i];
    if (!scn_is_counter(m->name)) continue;
    snprintf(buf, sizeof buf, "\\\\%s%s", server, m->name);
    field(f, buf, 0);
    if (m->nseries > rows) rows = m->nseries;
  }
  fputs("\r\n", f);
  for (size_t k = 0; k < rows; k++) {
    stamp(buf, sizeof buf, start, (sim_time_t)(k + 1) * vr->sample_interval);
    field(f, buf, 1);
    for (size_t i = 0; i < vr->nmetrics; i++) {
      const scn_metric_res_t *m = &vr->metrics[i];
      if (!scn_is_counter(m->name)) continue;
      if (k < m->nseries) snprintf(buf, sizeof buf, "%.15g", m->series[k]);
      else snprintf(buf, sizeof buf, " "); /* no value in this sample */
      field(f, buf, 0);
    }
    fputs("\r\n", f);
  }
}

int cli_perfmon_path(const char *path, const char *variant, int one, char *out, size_t n) {
  if (one || !strcmp(path, "-")) return snprintf(out, n, "%s", path) >= (int)n ? -1 : 0;
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
    return snprintf(out, n, "%s.%s", path, variant) >= (int)n ? -1 : 0;
  return snprintf(out, n, "%.*s.%s%s", (int)(dot - path), path, variant, dot) >= (int)n ? -1 : 0;
}
