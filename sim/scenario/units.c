/*
 * storesim scenario layer: units, typed parameter values, suggestions and
 * diagnostics.
 *
 * Invariants: parsers never change their output on error and always say why
 * in one line; every quantity is written with a unit (a bare 0 is the only
 * exception); values are held in base units (ns, bytes, 1/s) and range
 * checks use the parameter table's min/max in those units. Strings and
 * empirical value arrays inside configs are malloc'd and owned by the config
 * (scn_params_free releases them).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "storesim/scenario.h"

#define ERR(...) (snprintf(err, nerr, __VA_ARGS__), SIM_EINVAL)
#define OOM() (snprintf(err, nerr, "out of host memory"), SIM_ENOMEM)

/* ---- lexical helpers --------------------------------------------------------- */
/* Scans an unsigned decimal number [0-9]+(.[0-9]*)?([eE][+-]?[0-9]+)? at s.
 * Returns the length (0: none) and the value in *v. */
static size_t scan_number(const char *s, double *v) {
  size_t i = 0, nd = 0;
  char tmp[128];
  while (isdigit((unsigned char)s[i]) || (s[i] == '_' && i > 0)) {
    nd += s[i] != '_';
    i++;
  }
  if (s[i] == '.') {
    i++;
    while (isdigit((unsigned char)s[i])) i++, nd++;
  }
  if (nd == 0) return 0;
  if ((s[i] == 'e' || s[i] == 'E') &&
      (isdigit((unsigned char)s[i + 1]) ||
       ((s[i + 1] == '+' || s[i + 1] == '-') &&
        isdigit((unsigned char)s[i + 2])))) {
    i += 2;
    while (isdigit((unsigned char)s[i])) i++;
  }
  if (i >= sizeof tmp) return 0;
  size_t k = 0;
  for (size_t j = 0; j < i; j++)
    if (s[j] != '_') tmp[k++] = s[j];
  tmp[k] = 0;
  *v = strtod(tmp, NULL);
  return i;
}

static const char *skip_ws(const char *s) {
  while (isspace((unsigned char)*s)) s++;
  return s;
}

/* Copies s without surrounding blanks into buf; returns buf. */
static const char *trim(const char *s, char *buf, size_t n) {
  s = skip_ws(s);
  size_t len = strlen(s);
  while (len && isspace((unsigned char)s[len - 1])) len--;
  if (len >= n) len = n - 1;
  memcpy(buf, s, len);
  buf[len] = 0;
  return buf;
}

typedef struct unit {
  const char *name;
  double factor;
} unit_t;

static const unit_t time_units[] = {
    {"ns", 1},       {"us", 1e3},     {"ms", 1e6},       {"s", 1e9},
    {"m", 60e9},     {"min", 60e9},   {"h", 3600e9},     {"d", 86400e9},
    {NULL, 0}};
static const unit_t size_units[] = {
    {"B", 1},
    {"KiB", 1024.0},
    {"MiB", 1048576.0},
    {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0},
    {NULL, 0}};
static const unit_t rate_units[] = {
    {"s", 1}, {"sec", 1}, {"m", 1.0 / 60}, {"min", 1.0 / 60},
    {"h", 1.0 / 3600}, {"d", 1.0 / 86400}, {NULL, 0}};

static const unit_t *find_unit(const unit_t *t, const char *u, size_t n) {
  for (; t->name; t++)
    if (strlen(t->name) == n && memcmp(t->name, u, n) == 0) return t;
  return NULL;
}

static size_t scan_alpha(const char *s) {
  size_t i = 0;
  while (isalpha((unsigned char)s[i])) i++;
  return i;
}

/* ---- quantities ----------------------------------------------------------------- */
int scn_parse_duration(const char *text, sim_time_t *out, char *err,
                       size_t nerr) {
  char buf[256];
  const char *s = trim(text, buf, sizeof buf);
  double total = 0, v;
  size_t n, nu;
  int parts = 0;
  if (!*s) return ERR("expected a duration such as 150m or 250ms, got nothing");
  if (*s == '-') return ERR("a duration must not be negative: '%s'", s);
  if (*s == '+') s++;
  if (strchr(s, ':')) { /* h:mm:ss[.frac], the form outputs print times in */
    unsigned h, m;
    double sec;
    int used = 0;
    if (sscanf(s, "%u:%2u:%lf%n", &h, &m, &sec, &used) == 3 && !s[used] && m < 60 && sec >= 0 &&
        sec < 60 && isdigit((unsigned char)s[strlen(s) - 1])) {
      *out = (sim_time_t)llround(((double)h * 3600 + m * 60 + sec) * 1e9);
      return 0;
    }
    return ERR("'%s': write a duration with a unit (12h, 12m, 90s) or as h:mm:ss (12:00:00)", buf);
  }
  while (*s) {
    n = scan_number(s, &v);
    if (!n) return ERR("expected a duration such as 150m or 250ms, got '%s'", buf);
    s += n;
    nu = scan_alpha(s);
    if (!nu) {
      if (parts == 0 && !*s && v == 0) {
        *out = 0;
        return 0;
      }
      return ERR("'%s': a duration needs a unit (ns us ms s m h d), e.g. %gs",
                 buf, v);
    }
    const unit_t *u = find_unit(time_units, s, nu);
    if (!u) {
      if (find_unit(size_units, s, nu))
        return ERR("'%s': %.*s is a size unit; a duration takes ns us ms s m h d",
                   buf, (int)nu, s);
      return ERR("'%s': unknown duration unit '%.*s' (use ns us ms s m h d)", buf,
                 (int)nu, s);
    }
    total += v * u->factor;
    s += nu;
    parts++;
  }
  if (!(total < 9.2e18)) return ERR("'%s': duration too large (max about 106751d)", buf);
  *out = (sim_time_t)llround(total);
  return 0;
}

int scn_parse_size(const char *text, uint64_t *out, char *err, size_t nerr) {
  char buf[256];
  const char *s = trim(text, buf, sizeof buf);
  double v;
  size_t n, nu;
  if (!*s) return ERR("expected a size such as 64KiB or 2GiB, got nothing");
  if (*s == '-') return ERR("a size must not be negative: '%s'", s);
  n = scan_number(s, &v);
  if (!n) return ERR("expected a size such as 64KiB or 2GiB, got '%s'", s);
  s += n;
  s = skip_ws(s);
  nu = scan_alpha(s);
  if (!nu) {
    if (*s) return ERR("'%s': unexpected '%s' after the number", buf, s);
    if (v == 0) {
      *out = 0;
      return 0;
    }
    return ERR("'%s': a size needs a unit (B KiB MiB GiB TiB), e.g. %gB", buf, v);
  }
  const unit_t *u = find_unit(size_units, s, nu);
  if (!u || s[nu]) {
    if (nu == 2 && strchr("kKMGT", s[0]) && s[1] == 'B')
      return ERR("'%s': %.*s is ambiguous; write %ciB (binary, 1024-based) or "
                 "the number of bytes",
                 buf, (int)nu, s, toupper((unsigned char)s[0]));
    if (find_unit(time_units, s, nu))
      return ERR("'%s': %.*s is a time unit; a size takes B KiB MiB GiB TiB", buf,
                 (int)nu, s);
    return ERR("'%s': unknown size unit '%s' (use B KiB MiB GiB TiB)", buf, s);
  }
  double total = v * u->factor;
  if (!(total < 1.8e19)) return ERR("'%s': size too large", buf);
  *out = (uint64_t)llround(total);
  return 0;
}

int scn_parse_rate(const char *text, double *out, char *err, size_t nerr) {
  char buf[256];
  const char *s = trim(text, buf, sizeof buf);
  double v;
  size_t n, nu;
  if (!*s) return ERR("expected a rate such as 20/s or 3/m, got nothing");
  if (*s == '-') return ERR("a rate must not be negative: '%s'", s);
  n = scan_number(s, &v);
  if (!n) return ERR("expected a rate such as 20/s or 3/m, got '%s'", s);
  s = skip_ws(s + n);
  if (!*s) {
    if (v == 0) {
      *out = 0;
      return 0;
    }
    return ERR("'%s': a rate needs a unit (/s /m /h /d), e.g. %g/s", buf, v);
  }
  if (*s != '/') return ERR("'%s': a rate is written N/s, N/m, N/h or N/d", buf);
  s = skip_ws(s + 1);
  nu = scan_alpha(s);
  const unit_t *u = nu ? find_unit(rate_units, s, nu) : NULL;
  if (!u || s[nu]) return ERR("'%s': unknown rate unit '/%s' (use /s /m /h /d)", buf, s);
  if (!isfinite(v * u->factor)) return ERR("'%s': rate too large", buf);
  *out = v * u->factor;
  return 0;
}

int scn_parse_int(const char *text, int64_t *out, char *err, size_t nerr) {
  char buf[256];
  const char *s = trim(text, buf, sizeof buf);
  int neg = 0;
  uint64_t acc = 0;
  size_t i = 0, nd = 0;
  if (!*s) return ERR("expected an integer, got nothing");
  if (s[i] == '-' || s[i] == '+') neg = s[i++] == '-';
  for (; s[i]; i++) {
    if (s[i] == '_' && nd) continue;
    if (!isdigit((unsigned char)s[i])) break;
    if (acc > (UINT64_MAX - 9) / 10) return ERR("'%s': integer too large", buf);
    acc = acc * 10 + (uint64_t)(s[i] - '0');
    nd++;
  }
  if (nd && !s[i]) {
    if (acc > (uint64_t)INT64_MAX + (uint64_t)neg)
      return ERR("'%s': integer too large", buf);
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
  }
  /* 1e6-style integers */
  double v;
  size_t n = scan_number(s + (neg || s[0] == '+'), &v);
  if (n && !s[n + (neg || s[0] == '+')] && v == floor(v)) {
    if (!(v < 9.2e18)) return ERR("'%s': integer too large", buf);
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
  }
  return ERR("expected an integer, got '%s'", buf);
}

int scn_parse_float(const char *text, double *out, char *err, size_t nerr) {
  char buf[256];
  const char *s = trim(text, buf, sizeof buf);
  int neg = 0;
  double v;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  size_t n = scan_number(s, &v);
  if (!n || s[n]) return ERR("expected a number, got '%s'", buf);
  if (!isfinite(v)) return ERR("'%s': number too large", buf);
  *out = neg ? -v : v;
  return 0;
}

int scn_parse_bool(const char *text, int *out, char *err, size_t nerr) {
  static const char *const t[] = {"true", "yes", "on", "True", "Yes", "On", "TRUE", NULL};
  static const char *const f[] = {"false", "no", "off", "False", "No", "Off", "FALSE", NULL};
  char buf[64];
  const char *s = trim(text, buf, sizeof buf);
  for (int i = 0; t[i]; i++)
    if (!strcmp(s, t[i])) return *out = 1, 0;
  for (int i = 0; f[i]; i++)
    if (!strcmp(s, f[i])) return *out = 0, 0;
  return ERR("expected true or false, got '%s'", s);
}

/* ---- distributions ---------------------------------------------------------------- */
static int parse_dist_arg(const char *s, sim_ptype_t type, double *v, char *err,
                          size_t nerr) {
  if (type == SIM_P_DIST_TIME) {
    sim_time_t t;
    int rc = scn_parse_duration(s, &t, err, nerr);
    if (!rc) *v = (double)t;
    return rc;
  }
  if (type == SIM_P_DIST_SIZE) {
    uint64_t b;
    int rc = scn_parse_size(s, &b, err, nerr);
    if (!rc) *v = (double)b;
    return rc;
  }
  return scn_parse_float(s, v, err, nerr);
}

#define MAX_EMPIRICAL SCN_MAX_EMPIRICAL

int scn_parse_dist(const char *text, sim_ptype_t type, sim_dist_t *out,
                   char *err, size_t nerr) {
  static const struct { const char *name; sim_dist_kind_t kind; int nargs; } kinds[] = {
      {"const", SIM_D_CONST, 1},         {"exp", SIM_D_EXP, 1},
      {"uniform", SIM_D_UNIFORM, 2},     {"lognormal", SIM_D_LOGNORMAL, 2},
      {"empirical", SIM_D_EMPIRICAL, -1}};
  char buf[4096], arg[256];
  const char *s = trim(text, buf, sizeof buf);
  sim_dist_t d = {SIM_D_CONST, 0, 0, NULL, 0};
  size_t nu = scan_alpha(s), cap = 0;
  int k = -1, nargs = 0, rc;
  double v;

  if (strlen(skip_ws(text)) >= sizeof buf - 1)
    return ERR("distribution text too long (%zu characters)", strlen(text));
  if (nu && s[nu] == '(') {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
      if (strlen(kinds[i].name) == nu && !memcmp(kinds[i].name, s, nu)) k = (int)i;
    if (k < 0)
      return ERR("unknown distribution '%.*s' (use const exp uniform lognormal "
                 "empirical)", (int)nu, s);
    d.kind = kinds[k].kind;
    const char *p = s + nu + 1;
    const char *end = strrchr(p, ')');
    if (!end || end[1]) return ERR("'%s': missing ')'", buf);
    while (p < end) {
      p = skip_ws(p);
      if (p >= end) break;
      size_t len = 0;
      while (p + len < end && p[len] != ',' && !isspace((unsigned char)p[len]))
        len++;
      if (len == 0) return ERR("'%s': empty argument", buf);
      if (len >= sizeof arg) return ERR("'%s': argument too long", buf);
      memcpy(arg, p, len);
      arg[len] = 0;
      p += len;
      p = skip_ws(p);
      if (p < end && *p == ',') p++;
      /* lognormal's second argument (sigma) is a plain number */
      sim_ptype_t at = (d.kind == SIM_D_LOGNORMAL && nargs == 1) ? SIM_P_DIST_NUM : type;
      char e2[200];
      if (parse_dist_arg(arg, at, &v, e2, sizeof e2)) {
        free(d.values);
        return ERR("%s(): argument %d: %s", kinds[k].name, nargs + 1, e2);
      }
      if (d.kind == SIM_D_EMPIRICAL) {
        if (d.nvalues == MAX_EMPIRICAL) {
          free(d.values);
          return ERR("empirical(): more than %d values", MAX_EMPIRICAL);
        }
        if (d.nvalues == cap) {
          size_t ncap = cap ? cap * 2 : 8;
          double *nv = sim_realloc(d.values, ncap * sizeof *nv);
          if (!nv) {
            free(d.values);
            return OOM();
          }
          d.values = nv;
          cap = ncap;
        }
        d.values[d.nvalues++] = v;
      } else if (nargs == 0) {
        d.a = v;
      } else if (nargs == 1) {
        d.b = v;
      }
      nargs++;
    }
    if (kinds[k].nargs > 0 && nargs != kinds[k].nargs) {
      free(d.values);
      return ERR("%s() takes %d argument%s, got %d", kinds[k].name, kinds[k].nargs,
                 kinds[k].nargs > 1 ? "s" : "", nargs);
    }
    if (d.kind == SIM_D_EMPIRICAL && d.nvalues == 0)
      return ERR("empirical() needs at least one value");
  } else {
    rc = parse_dist_arg(s, type, &v, err, nerr);
    if (rc) {
      char e2[300];
      snprintf(e2, sizeof e2, "%s", err);
      return ERR("%s (a distribution is const(x), exp(mean), uniform(a, b), "
                 "lognormal(median, sigma) or empirical(v1, v2, ...))", e2);
    }
    d.a = v;
  }
  for (size_t i = 0; i < d.nvalues; i++)
    if (d.values[i] < 0) {
      free(d.values);
      return ERR("'%s': values must not be negative", buf);
    }
  rc = 0;
  if (d.kind != SIM_D_EMPIRICAL && d.a < 0) rc = ERR("'%s': must not be negative", buf);
  else if (d.kind == SIM_D_EXP && d.a <= 0) rc = ERR("exp(): the mean must be > 0");
  else if (d.kind == SIM_D_UNIFORM && d.b < d.a) rc = ERR("uniform(a, b) needs a <= b");
  else if (d.kind == SIM_D_LOGNORMAL && d.a <= 0) rc = ERR("lognormal(): the median must be > 0");
  else if (d.kind == SIM_D_LOGNORMAL && (d.b < 0 || d.b > 10))
    rc = ERR("lognormal(): sigma must be in [0, 10]");
  if (rc) {
    free(d.values);
    return rc;
  }
  *out = d;
  return 0;
}

/* ---- formatting --------------------------------------------------------------------- */
static void fmt_units(double v, const unit_t *u, size_t nu, char *buf, size_t n) {
  if (v == 0 || !isfinite(v)) {
    snprintf(buf, n, "%g", v);
    return;
  }
  for (size_t i = nu; i-- > 0;)
    if (fabs(v) >= u[i].factor || i == 0) {
      snprintf(buf, n, "%.6g%s", v / u[i].factor, u[i].name);
      return;
    }
}

void scn_format_duration(sim_time_t t, char *buf, size_t n) {
  static const unit_t u[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
                             {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}};
  fmt_units((double)t, u, 7, buf, n);
}

void scn_format_size(double bytes, char *buf, size_t n) {
  fmt_units(bytes, size_units, 5, buf, n);
}

void scn_format_rate(double per_s, char *buf, size_t n) {
  if (per_s == 0) snprintf(buf, n, "0");
  else if (per_s >= 1) snprintf(buf, n, "%.6g/s", per_s);
  else if (per_s * 60 >= 1) snprintf(buf, n, "%.6g/m", per_s * 60);
  else if (per_s * 3600 >= 1) snprintf(buf, n, "%.6g/h", per_s * 3600);
  else snprintf(buf, n, "%.6g/d", per_s * 86400);
}

/* ---- typed parameters ----------------------------------------------------------------- */
const char *scn_ptype_name(sim_ptype_t t) {
  switch (t) {
  case SIM_P_INT: return "integer";
  case SIM_P_FLOAT: return "number";
  case SIM_P_BOOL: return "boolean";
  case SIM_P_DURATION: return "duration";
  case SIM_P_SIZE: return "size";
  case SIM_P_RATE: return "rate";
  case SIM_P_DIST_TIME: return "distribution of durations";
  case SIM_P_DIST_SIZE: return "distribution of sizes";
  case SIM_P_DIST_NUM: return "distribution of numbers";
  case SIM_P_STRING: return "string";
  case SIM_P_FILE: return "file";
  }
  return "?";
}

void scn_param_format_base(const sim_param_t *p, double v, char *buf, size_t n) {
  switch (p->type) {
  case SIM_P_DURATION:
  case SIM_P_DIST_TIME:
    scn_format_duration((sim_time_t)v, buf, n);
    break;
  case SIM_P_SIZE:
  case SIM_P_DIST_SIZE:
    scn_format_size(v, buf, n);
    break;
  case SIM_P_RATE:
    scn_format_rate(v, buf, n);
    break;
  default:
    snprintf(buf, n, "%.15g", v);
  }
}

static int has_range(const sim_param_t *p) { return p->min != 0 || p->max != 0; }

static int range_err(const sim_param_t *p, double v, char *err, size_t nerr) {
  char a[64], b[64], c[64];
  if (!has_range(p) || (v >= p->min && v <= p->max)) return 0;
  scn_param_format_base(p, v, c, sizeof c);
  scn_param_format_base(p, p->min, a, sizeof a);
  scn_param_format_base(p, p->max, b, sizeof b);
  return ERR("%s is out of range [%s, %s]", c, a, b);
}

int scn_param_parse(const sim_param_t *p, const char *text, void *field,
                    char *err, size_t nerr) {
  int rc;
  switch (p->type) {
  case SIM_P_INT: {
    int64_t v;
    if ((rc = scn_parse_int(text, &v, err, nerr))) return rc;
    if (has_range(p) && ((double)v < p->min || (double)v > p->max)) {
      return ERR("%lld is out of range [%.15g, %.15g]", (long long)v, p->min, p->max);
    }
    *(int64_t *)field = v;
    return 0;
  }
  case SIM_P_FLOAT: {
    double v;
    if ((rc = scn_parse_float(text, &v, err, nerr))) return rc;
    if ((rc = range_err(p, v, err, nerr))) return rc;
    *(double *)field = v;
    return 0;
  }
  case SIM_P_BOOL: {
    int v;
    if ((rc = scn_parse_bool(text, &v, err, nerr))) return rc;
    *(int *)field = v;
    return 0;
  }
  case SIM_P_DURATION: {
    sim_time_t v;
    if ((rc = scn_parse_duration(text, &v, err, nerr))) return rc;
    if ((rc = range_err(p, (double)v, err, nerr))) return rc;
    *(sim_time_t *)field = v;
    return 0;
  }
  case SIM_P_SIZE: {
    uint64_t v;
    if ((rc = scn_parse_size(text, &v, err, nerr))) return rc;
    if ((rc = range_err(p, (double)v, err, nerr))) return rc;
    *(uint64_t *)field = v;
    return 0;
  }
  case SIM_P_RATE: {
    double v;
    if ((rc = scn_parse_rate(text, &v, err, nerr))) return rc;
    if ((rc = range_err(p, v, err, nerr))) return rc;
    *(double *)field = v;
    return 0;
  }
  case SIM_P_DIST_TIME:
  case SIM_P_DIST_SIZE:
  case SIM_P_DIST_NUM: {
    sim_dist_t d;
    if ((rc = scn_parse_dist(text, p->type, &d, err, nerr))) return rc;
    double chk[2] = {d.a, d.kind == SIM_D_UNIFORM ? d.b : d.a};
    for (size_t i = 0; i < (d.kind == SIM_D_EMPIRICAL ? d.nvalues : 2); i++) {
      double v = d.kind == SIM_D_EMPIRICAL ? d.values[i] : chk[i];
      if ((rc = range_err(p, v, err, nerr))) {
        free(d.values);
        return rc;
      }
    }
    sim_dist_t *f = field;
    free(f->values);
    *f = d;
    return 0;
  }
  case SIM_P_STRING:
  case SIM_P_FILE: {
    char *s = sim_strdup(text);
    if (!s) return OOM();
    free(*(char **)field);
    *(char **)field = s;
    return 0;
  }
  }
  return ERR("internal: unknown parameter type %d", (int)p->type);
}

void scn_param_format(const sim_param_t *p, const void *field, char *buf,
                      size_t n) {
  switch (p->type) {
  case SIM_P_INT: snprintf(buf, n, "%lld", (long long)*(const int64_t *)field); break;
  case SIM_P_FLOAT: snprintf(buf, n, "%.15g", *(const double *)field); break;
  case SIM_P_BOOL: snprintf(buf, n, "%s", *(const int *)field ? "true" : "false"); break;
  case SIM_P_DURATION: scn_format_duration(*(const sim_time_t *)field, buf, n); break;
  case SIM_P_SIZE: scn_format_size((double)*(const uint64_t *)field, buf, n); break;
  case SIM_P_RATE: scn_format_rate(*(const double *)field, buf, n); break;
  case SIM_P_DIST_TIME:
  case SIM_P_DIST_SIZE:
  case SIM_P_DIST_NUM: sim_dist_format(field, (int)p->type, buf, n); break;
  case SIM_P_STRING:
  case SIM_P_FILE: {
    const char *s = *(char *const *)field;
    snprintf(buf, n, "%s", s ? s : "");
    break;
  }
  }
}

double scn_param_number(const sim_param_t *p, const void *field, int *tdim,
                        int *bdim) {
  *tdim = *bdim = 0;
  switch (p->type) {
  case SIM_P_INT: return (double)*(const int64_t *)field;
  case SIM_P_FLOAT: return *(const double *)field;
  case SIM_P_BOOL: return *(const int *)field;
  case SIM_P_DURATION: *tdim = 1; return (double)*(const sim_time_t *)field / 1e9;
  case SIM_P_SIZE: *bdim = 1; return (double)*(const uint64_t *)field;
  case SIM_P_RATE: *tdim = -1; return *(const double *)field;
  case SIM_P_DIST_TIME: *tdim = 1; return sim_dist_mean(field) / 1e9;
  case SIM_P_DIST_SIZE: *bdim = 1; return sim_dist_mean(field);
  case SIM_P_DIST_NUM: return sim_dist_mean(field);
  case SIM_P_STRING:
  case SIM_P_FILE: return 0;
  }
  return 0;
}

void scn_params_free(const sim_param_t *table, void *cfg) {
  for (const sim_param_t *p = table; p && p->path; p++) {
    char *f = (char *)cfg + p->offset;
    if (p->type == SIM_P_STRING || p->type == SIM_P_FILE) {
      free(*(char **)f);
      *(char **)f = NULL;
    } else if (p->type == SIM_P_DIST_TIME || p->type == SIM_P_DIST_SIZE ||
               p->type == SIM_P_DIST_NUM) {
      sim_dist_t *d = (sim_dist_t *)f;
      free(d->values);
      d->values = NULL;
      d->nvalues = 0;
    }
  }
}

int scn_params_defaults(const sim_param_t *table, void *cfg, char *err, size_t nerr) {
  char why[400];
  for (const sim_param_t *p = table; p && p->path; p++) {
    if (!p->def) continue;
    int rc = scn_param_parse(p, p->def, (char *)cfg + p->offset, why, sizeof why);
    if (rc == SIM_ENOMEM) return rc;
    if (rc) {
      if (err)
        snprintf(err, nerr, "the default '%s' of %s does not parse: %s", p->def, p->path, why);
      return SIM_EINVAL;
    }
  }
  return 0;
}

void *scn_params_dup(const sim_param_t *table, const void *cfg, size_t size) {
  char *c = sim_malloc(size ? size : 1);
  const sim_param_t *p;
  if (!c) return NULL;
  memcpy(c, cfg, size);
  for (p = table; p && p->path; p++) {
    char *f = c + p->offset;
    if ((p->type == SIM_P_STRING || p->type == SIM_P_FILE) && *(char **)f) {
      char *s = sim_strdup(*(char **)f);
      if (!s) goto fail;
      *(char **)f = s;
    } else if ((p->type == SIM_P_DIST_TIME || p->type == SIM_P_DIST_SIZE ||
                p->type == SIM_P_DIST_NUM) &&
               ((sim_dist_t *)f)->values) {
      sim_dist_t *d = (sim_dist_t *)f;
      double *v = sim_malloc(d->nvalues * sizeof *v);
      if (!v) goto fail;
      memcpy(v, d->values, d->nvalues * sizeof *v);
      d->values = v;
    }
  }
  return c;
fail:
  /* the fields from p on still alias the original: detach them, free ours */
  for (; p->path; p++) {
    char *f = c + p->offset;
    if (p->type == SIM_P_STRING || p->type == SIM_P_FILE) *(char **)f = NULL;
    else if (p->type == SIM_P_DIST_TIME || p->type == SIM_P_DIST_SIZE ||
             p->type == SIM_P_DIST_NUM)
      ((sim_dist_t *)f)->values = NULL;
  }
  scn_params_free(table, c);
  free(c);
  return NULL;
}

/* ---- suggestions ------------------------------------------------------------------------ */
/* Optimal string alignment distance (edits and adjacent transpositions),
 * case-insensitive. */
static size_t edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b), r0[128], r1[128], r2[128], i, j;
  size_t *pp = r0, *prev = r1, *cur = r2;
  if (na > 120 || nb > 120) return 999;
  for (j = 0; j <= nb; j++) prev[j] = j;
  for (i = 1; i <= na; i++) {
    cur[0] = i;
    for (j = 1; j <= nb; j++) {
      int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
      size_t best = prev[j - 1] + (ca != cb);
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < best)
        best = pp[j - 2] + 1;
      cur[j] = best;
    }
    size_t *t = pp;
    pp = prev;
    prev = cur;
    cur = t;
  }
  return prev[nb];
}

int scn_suggest(const char *word, const char *const *cands, size_t n,
                int always, char *buf, size_t nbuf) {
  size_t best[3] = {0}, bd[3] = {999, 999, 999}, len = strlen(word);
  size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
  int k = 0;
  buf[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(word, cands[i]);
    /* a candidate whose last component is the word is close, too */
    const char *dot = strrchr(cands[i], '.');
    if (dot && !strcmp(dot + 1, word)) d = d < 1 ? d : 1;
    if (!always && d > limit) continue;
    int dup = 0;
    for (int j = 0; j < 3; j++)
      if (bd[j] < 999 && !strcmp(cands[best[j]], cands[i])) dup = 1;
    if (dup) continue;
    for (int j = 0; j < 3; j++)
      if (d < bd[j]) {
        for (int m = 2; m > j; m--) bd[m] = bd[m - 1], best[m] = best[m - 1];
        bd[j] = d;
        best[j] = i;
        break;
      }
  }
  for (int j = 0; j < 3; j++) {
    if (bd[j] == 999) break;
    size_t l = strlen(buf);
    snprintf(buf + l, nbuf - l, "%s'%s'", j ? ", " : "", cands[best[j]]);
    k++;
  }
  return k;
}

/* ---- diagnostics -------------------------------------------------------------------------- */
void scn_diag_init(scn_diag_t *d) { memset(d, 0, sizeof *d); }

void scn_diag_free(scn_diag_t *d) {
  if (!d) return;
  free(d->text);
  memset(d, 0, sizeof *d);
}

#define DIAG_MAX_ERRORS 50

static void diag_append(scn_diag_t *d, const char *file, int line, int col, const char *what,
                        const char *msg);
static void diag_raw(scn_diag_t *d, const char *p, size_t len);

void scn_diag_error(scn_diag_t *d, const char *file, int line, int col,
                    const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  d->nerrors++;
  if (d->nerrors > DIAG_MAX_ERRORS) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (d->nerrors == DIAG_MAX_ERRORS) snprintf(msg, sizeof msg, "too many errors; stopping");
  diag_append(d, file, line, col, "error", msg);
}

void scn_diag_warning(scn_diag_t *d, const char *file, int line, int col,
                      const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (++d->nwarnings > DIAG_MAX_ERRORS) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_append(d, file, line, col, "warning", msg);
}

static void diag_append(scn_diag_t *d, const char *file, int line, int col, const char *what,
                        const char *msg) {
  char head[600];
  if (line > 0) snprintf(head, sizeof head, "%s:%d:%d: %s: ", file, line, col, what);
  else snprintf(head, sizeof head, "%s: %s: ", file, what);
  char buf[sizeof head + 1024 + 2]; /* head and a message of scn_diag_* fit */
  int n = snprintf(buf, sizeof buf, "%s%s\n", head, msg);
  if (n > 0) diag_raw(d, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Appends len bytes of lines as they are. */
static void diag_raw(scn_diag_t *d, const char *p, size_t len) {
  if (d->len + len + 1 > d->cap) {
    size_t ncap = (d->cap ? d->cap * 2 : 256) + len;
    char *t = sim_realloc(d->text, ncap);
    if (!t) return; /* the counts still say what happened */
    d->text = t;
    d->cap = ncap;
  }
  memcpy(d->text + d->len, p, len);
  d->len += len;
  d->text[d->len] = 0;
}

/* As if each entry of `from` had been filed on d, in order: d's caps apply
 * (the 50th error reads "too many errors; stopping", later ones only count).
 * Lines are told apart by diag_append's head, the first ": error: " or
 * ": warning: " of the line. */
void scn_diag_merge(scn_diag_t *d, const scn_diag_t *from) {
  int nerr = 0, nwarn = 0;
  const char *p = from->text ? from->text : "", *end = p + from->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
    const char *e = memmem(p, len, ": error: ", 9), *wn = memmem(p, len, ": warning: ", 11);
    if (e && (!wn || e < wn)) {
      nerr++;
      if (++d->nerrors < DIAG_MAX_ERRORS) {
        diag_raw(d, p, len);
      } else if (d->nerrors == DIAG_MAX_ERRORS) {
        diag_raw(d, p, (size_t)(e - p) + 9);
        diag_raw(d, "too many errors; stopping\n", 26);
      }
    } else {
      nwarn++;
      if (++d->nwarnings <= DIAG_MAX_ERRORS) diag_raw(d, p, len);
    }
    p += len;
  }
  /* entries `from` counted past its own caps */
  d->nerrors += from->nerrors - nerr;
  d->nwarnings += from->nwarnings - nwarn;
}
