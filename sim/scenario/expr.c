/*
 * storesim scenario layer: expectation expressions (grammar in scenario.h).
 *
 * A recursive-descent parser builds a tree once at load time; evaluation
 * happens after a run against the world's metric summaries and the variant's
 * parameters. Invariants: a parsed tree is well typed (boolean where a
 * condition is needed, numeric elsewhere: checked at parse time); dimensions
 * are checked at evaluation, because a metric's unit is only known once the
 * model registered it. Every quantity is held in SI units (s, bytes, 1/s).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "storesim/scenario.h"

#define ERR(...) (snprintf(err, nerr, __VA_ARGS__), SIM_EINVAL)

enum op {
  E_NUM, E_METRIC, E_PARAM, E_BOOL, E_NEG, E_ADD, E_SUB, E_MUL, E_DIV,
  E_LT, E_LE, E_GT, E_GE, E_EQ, E_NE, E_AND, E_OR, E_NOT, E_CALL
};

enum fn {
  F_ABS,
  F_MIN,
  F_MAX,
  F_POW,
  F_SQRT,
  F_EXP,
  F_LN,
  F_ERLANG_B,
  F_ERLANG_C,
  F_CEIL,
  F_FLOOR
};
static const struct {
  const char *name;
  int nargs;
} fns[] = {{"abs", 1}, {"min", 2},      {"max", 2},      {"pow", 2},  {"sqrt", 1}, {"exp", 1},
           {"ln", 1},  {"erlang_b", 2}, {"erlang_c", 2}, {"ceil", 1}, {"floor", 1}};
#define NFNS (sizeof fns / sizeof fns[0])

static const char *const stat_names[SCN_ST__N] = {
    "min", "max", "mean", "twmean", "final", "p50", "p95", "p99", "count"};

const char *scn_stat_name(scn_stat_t s) {
  return (unsigned)s < SCN_ST__N ? stat_names[s] : "?";
}

struct scn_expr {
  enum op op;
  int pos;        /* byte offset in the source */
  int end;        /* end offset (for rendering names) */
  int is_bool;
  int anydim;     /* a bare literal 0: compares with any dimension */
  scn_qty_t q;    /* E_NUM; E_BOOL uses q.v */
  char *name;     /* E_METRIC (without stat), E_PARAM (without '$') */
  scn_stat_t stat;
  enum fn fn;
  scn_expr_t *a, *b;
  char *text;     /* root only: the source, for messages */
};

/* ---- parser ------------------------------------------------------------------------- */
typedef struct parser {
  const char *src;
  int pos;
  char *err;
  size_t nerr;
  int errpos;
  int failed;
  int oom; /* the failure is host memory, not the text */
  int depth;
} parser_t;

static void perr(parser_t *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(parser_t *p, int pos, const char *fmt, ...) {
  if (p->failed) return;
  p->failed = 1;
  p->errpos = pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, p->nerr, fmt, ap);
  va_end(ap);
}

static void skip(parser_t *p) {
  while (isspace((unsigned char)p->src[p->pos])) p->pos++;
}

static scn_expr_t *node(parser_t *p, enum op op, int pos) {
  scn_expr_t *e = sim_calloc(1, sizeof *e);
  if (!e) {
    perr(p, pos, "out of host memory");
    p->oom = 1;
  } else e->op = op, e->pos = pos, e->end = pos;
  return e;
}

void scn_expr_free(scn_expr_t *e) {
  if (!e) return;
  scn_expr_free(e->a);
  scn_expr_free(e->b);
  free(e->name);
  free(e->text);
  free(e);
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident(int c) { return isalnum(c) || c == '_' || c == '.'; }

/* Matches the keyword kw as a whole word. */
static int keyword(parser_t *p, const char *kw) {
  size_t n = strlen(kw);
  skip(p);
  if (strncmp(p->src + p->pos, kw, n) == 0 && !is_ident((unsigned char)p->src[p->pos + n])) {
    p->pos += (int)n;
    return 1;
  }
  return 0;
}

static scn_expr_t *parse_or(parser_t *p);
static scn_expr_t *parse_quoted_metric(parser_t *p);

static scn_expr_t *bin(parser_t *p, enum op op, scn_expr_t *a, scn_expr_t *b, int pos) {
  scn_expr_t *e = (a && b) ? node(p, op, pos) : NULL;
  if (!e) {
    scn_expr_free(a);
    scn_expr_free(b);
    return NULL;
  }
  e->a = a;
  e->b = b;
  return e;
}

static int want_num(parser_t *p, scn_expr_t *e, const char *what) {
  if (e && e->is_bool) {
    perr(p, e->pos, "expected a number %s, got a condition", what);
    return 0;
  }
  return 1;
}

static int want_bool(parser_t *p, scn_expr_t *e, const char *what) {
  if (e && !e->is_bool) {
    perr(p, e->pos,
         "expected a condition %s, got a number (compare it: <, <=, >, >=, ==, !=)",
         what);
    return 0;
  }
  return 1;
}

/* Unit suffix right after a number: "150m", "1h30m", "64KiB", "20/s". */
static int parse_unit(parser_t *p, scn_qty_t *q) {
  static const struct { const char *u; double f; int t, b; } units[] = {
      {"ns", 1e-9, 1, 0}, {"us", 1e-6, 1, 0}, {"ms", 1e-3, 1, 0}, {"s", 1, 1, 0},
      {"min", 60, 1, 0},  {"m", 60, 1, 0},    {"h", 3600, 1, 0},  {"d", 86400, 1, 0},
      {"B", 1, 0, 1},     {"KiB", 1024.0, 0, 1}, {"MiB", 1048576.0, 0, 1},
      {"GiB", 1073741824.0, 0, 1}, {"TiB", 1099511627776.0, 0, 1}};
  const char *s = p->src + p->pos;
  if (s[0] == '/' && s[1] && strchr("smhd", s[1]) && !is_ident((unsigned char)s[2])) {
    double f = s[1] == 's' ? 1 : s[1] == 'm' ? 1.0 / 60 : s[1] == 'h' ? 1.0 / 3600 : 1.0 / 86400;
    q->v *= f;
    q->t = -1;
    p->pos += 2;
    return 1;
  }
  size_t n = 0;
  while (isalpha((unsigned char)s[n])) n++;
  if (!n) return 0;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strlen(units[i].u) == n && !memcmp(units[i].u, s, n)) {
      q->v *= units[i].f;
      q->t = units[i].t;
      q->b = units[i].b;
      p->pos += (int)n;
      return 1;
    }
  char u[32];
  snprintf(u, sizeof u, "%.*s", (int)(n < 31 ? n : 31), s);
  perr(p, p->pos, "unknown unit '%s' (durations: ns us ms s m h d; sizes: B KiB MiB GiB; rates: /s /m /h /d)", u);
  return -1;
}

static scn_expr_t *parse_number(parser_t *p) {
  const char *s = p->src + p->pos;
  int start = p->pos;
  char *end;
  scn_qty_t total = {0, 0, 0};
  int parts = 0;
  for (;;) {
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1]))) break;
    double v = strtod(s, &end);
    /* strtod would read hex and inf; the start check rules those out */
    p->pos += (int)(end - s);
    scn_qty_t q = {v, 0, 0};
    int u = parse_unit(p, &q);
    if (u < 0) return NULL;
    if (parts && (q.t != total.t || q.b != total.b || u == 0)) {
      perr(p, start, "malformed quantity");
      return NULL;
    }
    total.v += q.v;
    total.t = q.t;
    total.b = q.b;
    parts++;
    s = p->src + p->pos;
    if (u == 0 || q.t != 1) break; /* only durations compound: 1h30m */
  }
  if (isalnum((unsigned char)*s) || *s == '_') {
    perr(p, p->pos, "unexpected '%c' after a number", *s);
    return NULL;
  }
  if (!isfinite(total.v)) { /* 1e400, or 1e305d in seconds: as parameters refuse them */
    char num[40];
    snprintf(num, sizeof num, "%.*s", p->pos - start < 32 ? p->pos - start : 32, p->src + start);
    perr(p, start, "number too large: '%s'", num);
    return NULL;
  }
  scn_expr_t *e = node(p, E_NUM, start);
  if (!e) return NULL;
  e->q = total;
  e->anydim = total.v == 0 && total.t == 0 && total.b == 0;
  e->end = p->pos;
  return e;
}

static scn_expr_t *parse_atom(parser_t *p) {
  skip(p);
  const char *s = p->src + p->pos;
  int start = p->pos;
  if (++p->depth > 200) {
    perr(p, start, "expression nested too deeply");
    return NULL;
  }
  if (*s == '(') {
    p->pos++;
    scn_expr_t *e = parse_or(p);
    if (!e) return NULL;
    skip(p);
    if (p->src[p->pos] != ')') {
      perr(p, p->pos, "expected ')'");
      scn_expr_free(e);
      return NULL;
    }
    p->pos++;
    return e;
  }
  if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1])))
    return parse_number(p);
  if (*s == '\'') return parse_quoted_metric(p);
  if (*s == '$') {
    int n = 1;
    while (is_ident((unsigned char)s[n])) n++;
    if (n == 1 || !is_ident_start((unsigned char)s[1])) {
      perr(p, start, "expected a parameter name after '$' (e.g. $store.tasks)");
      return NULL;
    }
    scn_expr_t *e = node(p, E_PARAM, start);
    if (!e) return NULL;
    e->name = sim_strndup(s + 1, (size_t)n - 1);
    if (!e->name) {
      perr(p, start, "out of host memory");
      p->oom = 1;
      scn_expr_free(e);
      return NULL;
    }
    p->pos += n;
    e->end = p->pos;
    return e;
  }
  if (is_ident_start((unsigned char)*s)) {
    int n = 0;
    while (is_ident((unsigned char)s[n])) n++;
    char word[256];
    if (n >= (int)sizeof word) {
      perr(p, start, "name too long");
      return NULL;
    }
    memcpy(word, s, (size_t)n);
    word[n] = 0;
    if (!strcmp(word, "true") || !strcmp(word, "false")) {
      scn_expr_t *e = node(p, E_BOOL, start);
      if (!e) return NULL;
      e->is_bool = 1;
      e->q.v = word[0] == 't';
      p->pos += n;
      return e;
    }
    if (!strcmp(word, "and") || !strcmp(word, "or") || !strcmp(word, "not")) {
      perr(p, start, "expected a value, got '%s'", word);
      return NULL;
    }
    int k = p->pos + n;
    while (isspace((unsigned char)p->src[k])) k++;
    if (p->src[k] == '(') {
      size_t f;
      for (f = 0; f < NFNS; f++)
        if (!strcmp(fns[f].name, word)) break;
      if (f == NFNS) {
        const char *names[NFNS];
        char sug[200];
        for (size_t i = 0; i < NFNS; i++) names[i] = fns[i].name;
        scn_suggest(word, names, NFNS, 1, sug, sizeof sug);
        perr(p, start, "unknown function '%s' (nearest: %s)", word, sug);
        return NULL;
      }
      p->pos = k + 1;
      scn_expr_t *e = node(p, E_CALL, start);
      if (!e) return NULL;
      e->fn = (enum fn)f;
      for (int i = 0; i < fns[f].nargs; i++) {
        if (i) {
          skip(p);
          if (p->src[p->pos] != ',') {
            perr(p, p->pos, "%s() takes %s arguments: expected ','", fns[f].name,
                 fns[f].nargs == 2 ? "2" : "1");
            scn_expr_free(e);
            return NULL;
          }
          p->pos++;
        }
        scn_expr_t *arg = parse_or(p);
        if (!arg || !want_num(p, arg, "as a function argument")) {
          scn_expr_free(arg);
          scn_expr_free(e);
          return NULL;
        }
        if (i == 0) e->a = arg;
        else e->b = arg;
      }
      skip(p);
      if (p->src[p->pos] != ')') {
        perr(p, p->pos, "%s(): expected ')'", fns[f].name);
        scn_expr_free(e);
        return NULL;
      }
      p->pos++;
      e->end = p->pos;
      return e;
    }
    /* metric.stat */
    char *dot = strrchr(word, '.');
    if (!dot) {
      perr(p, start, "'%s' is not a metric reference: write metric.stat, e.g. %s.max",
           word, word);
      return NULL;
    }
    int st;
    for (st = 0; st < SCN_ST__N; st++)
      if (!strcmp(dot + 1, stat_names[st])) break;
    if (st == SCN_ST__N) {
      char sug[200], msg[300];
      scn_suggest(dot + 1, stat_names, SCN_ST__N, 1, sug, sizeof sug);
      snprintf(msg, sizeof msg, "unknown stat '%s' (nearest: %s; known: min max mean "
               "twmean final p50 p95 p99 count)", dot + 1, sug);
      perr(p, start + (int)(dot + 1 - word), "%s", msg);
      return NULL;
    }
    if (dot == word || dot[-1] == '.') {
      perr(p, start, "'%s': missing metric name before the stat", word);
      return NULL;
    }
    scn_expr_t *e = node(p, E_METRIC, start);
    if (!e) return NULL;
    e->name = sim_strndup(word, (size_t)(dot - word));
    if (!e->name) {
      perr(p, start, "out of host memory");
      p->oom = 1;
      scn_expr_free(e);
      return NULL;
    }
    e->stat = (scn_stat_t)st;
    p->pos += n;
    e->end = p->pos;
    return e;
  }
  if (!*s) perr(p, start, "unexpected end of expression");
  else perr(p, start, "unexpected '%s'", (char[]){*s, 0});
  return NULL;
}

/* 'NAME'.stat: a metric whose name is not a plain word, such as a
 * Performance Monitor counter ('\MSExchangeIS\RPC Averaged Latency'.max,
 * '\MSExchangeIS\RPC Num. of Slow Packets'.final). No escapes: the name is
 * everything up to the next quote. */
static scn_expr_t *parse_quoted_metric(parser_t *p) {
  int start = p->pos;
  const char *s = p->src + start + 1, *q = strchr(s, '\'');
  if (!q) {
    perr(p, start, "unterminated quoted metric name: expected a closing '");
    return NULL;
  }
  if (q == s) {
    perr(p, start, "empty quoted metric name");
    return NULL;
  }
  int n = 0;
  if (q[1] == '.')
    while (is_ident((unsigned char)q[2 + n])) n++;
  if (n == 0) {
    perr(p, (int)(q + 1 - p->src), "'%.*s' is not a metric reference: write '%.*s'.stat, e.g. .max",
         (int)(q - s), s, (int)(q - s), s);
    return NULL;
  }
  int st;
  for (st = 0; st < SCN_ST__N; st++)
    if ((int)strlen(stat_names[st]) == n && !strncmp(q + 2, stat_names[st], (size_t)n)) break;
  if (st == SCN_ST__N) {
    char word[64], sug[200];
    snprintf(word, sizeof word, "%.*s", n < 63 ? n : 63, q + 2);
    scn_suggest(word, stat_names, SCN_ST__N, 1, sug, sizeof sug);
    perr(p, (int)(q + 2 - p->src),
         "unknown stat '%s' (nearest: %s; known: min max mean twmean final p50 p95 p99 count)",
         word, sug);
    return NULL;
  }
  scn_expr_t *e = node(p, E_METRIC, start);
  if (!e) return NULL;
  e->name = sim_strndup(s, (size_t)(q - s));
  if (!e->name) {
    perr(p, start, "out of host memory");
    p->oom = 1;
    scn_expr_free(e);
    return NULL;
  }
  e->stat = (scn_stat_t)st;
  p->pos = (int)(q + 2 + n - p->src);
  e->end = p->pos;
  return e;
}

static scn_expr_t *parse_unary(parser_t *p) {
  skip(p);
  if (p->src[p->pos] == '-') {
    int pos = p->pos++;
    scn_expr_t *a = parse_unary(p);
    if (!a || !want_num(p, a, "after '-'")) {
      scn_expr_free(a);
      return NULL;
    }
    scn_expr_t *e = node(p, E_NEG, pos);
    if (!e) {
      scn_expr_free(a);
      return NULL;
    }
    e->a = a;
    return e;
  }
  return parse_atom(p);
}

static scn_expr_t *parse_prod(parser_t *p) {
  scn_expr_t *a = parse_unary(p);
  for (;;) {
    skip(p);
    char c = p->src[p->pos];
    if (!a || (c != '*' && c != '/')) return a;
    int pos = p->pos++;
    scn_expr_t *b = parse_unary(p);
    if (!want_num(p, a, "before '*' or '/'") || !want_num(p, b, "after '*' or '/'")) {
      scn_expr_free(a);
      scn_expr_free(b);
      return NULL;
    }
    a = bin(p, c == '*' ? E_MUL : E_DIV, a, b, pos);
  }
}

static scn_expr_t *parse_sum(parser_t *p) {
  scn_expr_t *a = parse_prod(p);
  for (;;) {
    skip(p);
    char c = p->src[p->pos];
    if (!a || (c != '+' && c != '-')) return a;
    int pos = p->pos++;
    scn_expr_t *b = parse_prod(p);
    if (!want_num(p, a, "before '+' or '-'") || !want_num(p, b, "after '+' or '-'")) {
      scn_expr_free(a);
      scn_expr_free(b);
      return NULL;
    }
    a = bin(p, c == '+' ? E_ADD : E_SUB, a, b, pos);
  }
}

static scn_expr_t *parse_cmp(parser_t *p) {
  scn_expr_t *a = parse_sum(p);
  if (!a) return NULL;
  skip(p);
  const char *s = p->src + p->pos;
  enum op op;
  int len = 2;
  if (s[0] == '<' && s[1] == '=') op = E_LE;
  else if (s[0] == '>' && s[1] == '=') op = E_GE;
  else if (s[0] == '=' && s[1] == '=') op = E_EQ;
  else if (s[0] == '!' && s[1] == '=') op = E_NE;
  else if (s[0] == '<') op = E_LT, len = 1;
  else if (s[0] == '>') op = E_GT, len = 1;
  else if (s[0] == '=') {
    perr(p, p->pos, "'=' is not a comparison: write '=='");
    scn_expr_free(a);
    return NULL;
  } else
    return a;
  int pos = p->pos;
  p->pos += len;
  scn_expr_t *b = parse_sum(p);
  if (!want_num(p, a, "before the comparison") || !want_num(p, b, "after the comparison")) {
    scn_expr_free(a);
    scn_expr_free(b);
    return NULL;
  }
  scn_expr_t *e = bin(p, op, a, b, pos);
  if (e) e->is_bool = 1;
  return e;
}

static scn_expr_t *parse_not(parser_t *p) {
  skip(p);
  int pos = p->pos;
  if (keyword(p, "not")) {
    scn_expr_t *a = parse_not(p);
    if (!a || !want_bool(p, a, "after 'not'")) {
      scn_expr_free(a);
      return NULL;
    }
    scn_expr_t *e = node(p, E_NOT, pos);
    if (!e) {
      scn_expr_free(a);
      return NULL;
    }
    e->a = a;
    e->is_bool = 1;
    return e;
  }
  return parse_cmp(p);
}

static scn_expr_t *parse_and(parser_t *p) {
  scn_expr_t *a = parse_not(p);
  for (;;) {
    int pos = p->pos;
    if (!a || !keyword(p, "and")) return a;
    scn_expr_t *b = parse_not(p);
    if (!want_bool(p, a, "before 'and'") || !want_bool(p, b, "after 'and'")) {
      scn_expr_free(a);
      scn_expr_free(b);
      return NULL;
    }
    a = bin(p, E_AND, a, b, pos);
    if (a) a->is_bool = 1;
  }
}

static scn_expr_t *parse_or(parser_t *p) {
  scn_expr_t *a = parse_and(p);
  for (;;) {
    int pos = p->pos;
    if (!a || !keyword(p, "or")) return a;
    scn_expr_t *b = parse_and(p);
    if (!want_bool(p, a, "before 'or'") || !want_bool(p, b, "after 'or'")) {
      scn_expr_free(a);
      scn_expr_free(b);
      return NULL;
    }
    a = bin(p, E_OR, a, b, pos);
    if (a) a->is_bool = 1;
  }
}

int scn_expr_parse(const char *text, scn_expr_t **out, char *err, size_t nerr,
                   int *errpos) {
  parser_t p = {text, 0, err, nerr, 0, 0, 0, 0};
  *out = NULL;
  if (errpos) *errpos = 0;
  if (strlen(text) > 4096) return ERR("expression longer than 4096 characters");
  scn_expr_t *e = parse_or(&p);
  skip(&p);
  if (e && text[p.pos]) {
    if (!strncmp(text + p.pos, "&&", 2) || !strncmp(text + p.pos, "||", 2))
      perr(&p, p.pos, "write 'and' / 'or' instead of '%.2s'", text + p.pos);
    else
      perr(&p, p.pos, "unexpected '%s' after the expression", text + p.pos);
  }
  if (e && !p.failed && !e->is_bool)
    perr(&p, 0, "an expectation must be a condition such as 'queue.wait.mean < 2s', "
         "not a number");
  if (p.failed) {
    scn_expr_free(e);
    if (errpos) *errpos = p.errpos;
    return p.oom ? SIM_ENOMEM : SIM_EINVAL;
  }
  e->text = sim_strdup(text);
  if (!e->text) {
    scn_expr_free(e);
    if (errpos) *errpos = 0;
    snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  *out = e;
  return 0;
}

int scn_expr_visit(const scn_expr_t *e,
                   int (*fn)(void *arg, int kind, const char *name,
                             scn_stat_t stat, int pos),
                   void *arg) {
  int rc;
  if (!e) return 0;
  if (e->op == E_METRIC) return fn(arg, SCN_REF_METRIC, e->name, e->stat, e->pos);
  if (e->op == E_PARAM) return fn(arg, SCN_REF_PARAM, e->name, SCN_ST_FINAL, e->pos);
  if ((rc = scn_expr_visit(e->a, fn, arg))) return rc;
  return scn_expr_visit(e->b, fn, arg);
}

/* ---- quantities ----------------------------------------------------------------------- */
void scn_unit_dim(const char *unit, int *t, int *b, double *scale) {
  static const struct { const char *u; double f; int t, b; } map[] = {
      {"ns", 1e-9, 1, 0},  {"us", 1e-6, 1, 0}, {"ms", 1e-3, 1, 0}, {"s", 1, 1, 0},
      {"m", 60, 1, 0},     {"min", 60, 1, 0},  {"h", 3600, 1, 0},  {"d", 86400, 1, 0},
      {"B", 1, 0, 1},      {"bytes", 1, 0, 1}, {"KiB", 1024.0, 0, 1},
      {"MiB", 1048576.0, 0, 1}, {"GiB", 1073741824.0, 0, 1},
      {"/s", 1, -1, 0},    {"1/s", 1, -1, 0},  {"/m", 1.0 / 60, -1, 0},
      {"/h", 1.0 / 3600, -1, 0}};
  *t = *b = 0;
  *scale = 1;
  for (size_t i = 0; unit && i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(unit, map[i].u)) {
      *t = map[i].t;
      *b = map[i].b;
      *scale = map[i].f;
      return;
    }
}

void scn_qty_format(scn_qty_t q, char *buf, size_t n) {
  static const struct { const char *u; double f; } tu[] = {
      {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}};
  static const struct { const char *u; double f; } su[] = {
      {"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0}, {"B", 1}};
  double a = fabs(q.v);
  if (isnan(q.v)) {
    snprintf(buf, n, "-");
  } else if (q.v == 0 && ((q.t == 1 && q.b == 0) || (q.t == 0 && q.b == 1))) {
    snprintf(buf, n, "0%s", q.t ? "s" : "B");
  } else if (q.t == 1 && q.b == 0 && q.v != 0) {
    size_t i = 0;
    while (i + 1 < sizeof tu / sizeof tu[0] && a < tu[i].f) i++;
    snprintf(buf, n, "%.4g%s", q.v / tu[i].f, tu[i].u);
  } else if (q.t == 0 && q.b == 1 && q.v != 0) {
    size_t i = 0;
    while (i + 1 < sizeof su / sizeof su[0] && a < su[i].f) i++;
    snprintf(buf, n, "%.4g%s", q.v / su[i].f, su[i].u);
  } else if (q.t == -1 && q.b == 0) {
    if (a >= 1 || a == 0) snprintf(buf, n, "%.4g/s", q.v);
    else if (a * 60 >= 1) snprintf(buf, n, "%.4g/m", q.v * 60);
    else snprintf(buf, n, "%.4g/h", q.v * 3600);
  } else if (q.t == 0 && q.b == 0) {
    snprintf(buf, n, "%.6g", q.v);
  } else {
    snprintf(buf, n, "%.6g s^%d B^%d", q.v, q.t, q.b);
  }
}

static const char *dim_name(int t, int b) {
  if (t == 0 && b == 0) return "a plain number";
  if (t == 1 && b == 0) return "a duration";
  if (t == 0 && b == 1) return "a size";
  if (t == -1 && b == 0) return "a rate";
  return "a compound quantity";
}

static const char *dim_hint(int t, int b) {
  if (t == 1 && b == 0) return "e.g. 5s or 150m";
  if (t == 0 && b == 1) return "e.g. 64KiB";
  if (t == -1 && b == 0) return "e.g. 20/s";
  return "a unit";
}

/* ---- evaluation ------------------------------------------------------------------------- */
typedef struct eval {
  const scn_eval_env_t *env;
  const char *src;
  char *err;
  size_t nerr;
  char *detail;
  size_t ndetail, dlen;
  scn_qty_t measured;
  int have_measured;
  int have_metric;
  int measured_never;
  const scn_expr_t *never_in; /* a "never" metric met inside the current comparison */
} eval_t;

/* e is a metric whose value q is its "never" (-1): printed as "never". */
static int is_never(const eval_t *ev, const scn_expr_t *e, scn_qty_t q) {
  return e->op == E_METRIC && e->stat != SCN_ST_COUNT && q.v < 0 && ev->env->never &&
         ev->env->never(ev->env->arg, e->name);
}

static void dappend(eval_t *ev, const char *s) {
  if (!ev->detail || ev->dlen + 1 >= ev->ndetail) return;
  int k = snprintf(ev->detail + ev->dlen, ev->ndetail - ev->dlen, "%s", s);
  if (k > 0) ev->dlen += (size_t)k;
  if (ev->dlen >= ev->ndetail) ev->dlen = ev->ndetail - 1;
}

/* Source span of node e: leftmost start to rightmost end. */
static void span(const scn_expr_t *e, int *start, int *end) {
  int s2, e2;
  *start = e->pos;
  *end = e->end;
  if (e->a && e->op != E_CALL && e->op != E_NEG && e->op != E_NOT) {
    span(e->a, &s2, &e2);
    *start = s2;
  }
  if (e->op != E_CALL && (e->b || e->a)) {
    span(e->b ? e->b : e->a, &s2, &e2);
    *end = e2;
  }
}

/* Source text of node e, for messages. */
static void src_of(const eval_t *ev, const scn_expr_t *e, char *buf, size_t n) {
  int start, end;
  span(e, &start, &end);
  if (end <= start) snprintf(buf, n, "value");
  else snprintf(buf, n, "%.*s", end - start, ev->src + start);
}

static int same_dim(eval_t *ev, const scn_expr_t *ea, scn_qty_t *a,
                    const scn_expr_t *eb, scn_qty_t *b, const char *what) {
  char *err = ev->err;
  size_t nerr = ev->nerr;
  if (a->t == b->t && a->b == b->b) return 0;
  if (ea->anydim) {
    a->t = b->t, a->b = b->b;
    return 0;
  }
  if (eb->anydim) {
    b->t = a->t, b->b = a->b;
    return 0;
  }
  char sa[64], sb[64], va[64], vb[64];
  src_of(ev, ea, sa, sizeof sa);
  src_of(ev, eb, sb, sizeof sb);
  scn_qty_format(*a, va, sizeof va);
  scn_qty_format(*b, vb, sizeof vb);
  if (ev->env->units_only) /* stand-in values: only the units mean something */
    return ERR("cannot %s %s (%s) with %s (%s)%s%s", what, sa, dim_name(a->t, a->b), sb,
               dim_name(b->t, b->b),
               (b->t == 0 && b->b == 0 && eb->op == E_NUM) ||
                       (a->t == 0 && a->b == 0 && ea->op == E_NUM)
                   ? ": write the unit, "
                   : "",
               b->t == 0 && b->b == 0 && eb->op == E_NUM   ? dim_hint(a->t, a->b)
               : a->t == 0 && a->b == 0 && ea->op == E_NUM ? dim_hint(b->t, b->b)
                                                            : "");
  if (b->t == 0 && b->b == 0 && eb->op == E_NUM)
    return ERR("cannot %s %s (%s, %s) with %s (%s): write the unit, %s", what, sa,
               dim_name(a->t, a->b), va, sb, dim_name(0, 0), dim_hint(a->t, a->b));
  if (a->t == 0 && a->b == 0 && ea->op == E_NUM)
    return ERR("cannot %s %s (%s) with %s (%s, %s): write the unit, %s", what, sa,
               dim_name(0, 0), sb, dim_name(b->t, b->b), vb, dim_hint(b->t, b->b));
  return ERR("cannot %s %s (%s, %s) with %s (%s, %s)", what, sa, dim_name(a->t, a->b), va,
             sb, dim_name(b->t, b->b), vb);
}

static double erlang_b(double c, double a) {
  double b = 1;
  for (long k = 1; k <= (long)c; k++) b = a * b / ((double)k + a * b);
  return b;
}

static int ev_num(eval_t *ev, const scn_expr_t *e, scn_qty_t *out);
static int ev_bool(eval_t *ev, const scn_expr_t *e, int *out);

static int ev_call(eval_t *ev, const scn_expr_t *e, scn_qty_t *out) {
  char *err = ev->err;
  size_t nerr = ev->nerr;
  scn_qty_t a = {0, 0, 0}, b = {0, 0, 0};
  int rc;
  const char *name = fns[e->fn].name;
  if ((rc = ev_num(ev, e->a, &a))) return rc;
  if (e->b && (rc = ev_num(ev, e->b, &b))) return rc;
  switch (e->fn) {
  case F_ABS: *out = a; out->v = fabs(a.v); return 0;
  case F_MIN:
  case F_MAX:
    if ((rc = same_dim(ev, e->a, &a, e->b, &b, "compare"))) return rc;
    *out = a;
    out->v = e->fn == F_MIN ? fmin(a.v, b.v) : fmax(a.v, b.v);
    return 0;
  case F_POW:
    if (b.t || b.b) return ERR("pow(): the exponent must be a plain number");
    if ((a.t || a.b) && (b.v != floor(b.v) || fabs(b.v) > 64))
      return ERR("pow(): a quantity with a unit needs a whole exponent in [-64, 64]");
    /* (int)b.v only where it is a small whole number: NaN or 1e300 would be
     * undefined behaviour (found by tests/fuzz/fuzz_expr) */
    *out = (a.t || a.b) ? (scn_qty_t){pow(a.v, b.v), a.t * (int)b.v, a.b * (int)b.v}
                        : (scn_qty_t){pow(a.v, b.v), 0, 0};
    return 0;
  case F_SQRT:
    if (a.t % 2 || a.b % 2) return ERR("sqrt(): the unit of the argument has no square root");
    if (a.v < 0) return ERR("sqrt() of a negative number");
    *out = (scn_qty_t){sqrt(a.v), a.t / 2, a.b / 2};
    return 0;
  case F_EXP:
  case F_LN:
    if (a.t || a.b) return ERR("%s(): the argument must be a plain number", name);
    if (e->fn == F_LN && a.v <= 0) return ERR("ln() of a number <= 0");
    *out = (scn_qty_t){e->fn == F_EXP ? exp(a.v) : log(a.v), 0, 0};
    return 0;
  case F_CEIL:
  case F_FLOOR: /* counts: how many of something, e.g. copies per move thread */
    if (a.t || a.b) return ERR("%s(): the argument must be a plain number", name);
    *out = (scn_qty_t){e->fn == F_CEIL ? ceil(a.v) : floor(a.v), 0, 0};
    return 0;
  case F_ERLANG_B:
  case F_ERLANG_C:
    if (a.t || a.b || b.t || b.b)
      return ERR("%s(c, a): c (servers) and a (offered load = rate * service time) "
                 "must be plain numbers", name);
    if (a.v < 1 || a.v != floor(a.v) || a.v > 1e6)
      return ERR("%s(c, a): c must be a whole number of servers >= 1", name);
    if (b.v < 0) return ERR("%s(c, a): a must be >= 0", name);
    {
      double eb = erlang_b(a.v, b.v);
      if (e->fn == F_ERLANG_B) *out = (scn_qty_t){eb, 0, 0};
      else if (b.v >= a.v) *out = (scn_qty_t){1, 0, 0};
      else *out = (scn_qty_t){eb / (1 - (b.v / a.v) * (1 - eb)), 0, 0};
    }
    return 0;
  }
  return ERR("internal: bad function");
}

static int ev_num(eval_t *ev, const scn_expr_t *e, scn_qty_t *out) {
  char *err = ev->err;
  size_t nerr = ev->nerr;
  scn_qty_t a, b;
  int rc;
  switch (e->op) {
  case E_NUM:
    *out = e->q;
    return 0;
  case E_METRIC:
    if ((rc = ev->env->metric(ev->env->arg, e->name, e->stat, out, err, nerr))) return rc;
    if (!ev->have_metric && !ev->have_measured) {
      ev->measured = *out;
      ev->measured_never = is_never(ev, e, *out);
    }
    if (!ev->never_in && is_never(ev, e, *out)) ev->never_in = e;
    ev->have_metric = 1;
    return 0;
  case E_PARAM:
    return ev->env->param(ev->env->arg, e->name, out, err, nerr);
  case E_NEG:
    if ((rc = ev_num(ev, e->a, out))) return rc;
    out->v = -out->v;
    return 0;
  case E_ADD:
  case E_SUB:
    if ((rc = ev_num(ev, e->a, &a)) || (rc = ev_num(ev, e->b, &b))) return rc;
    if ((rc = same_dim(ev, e->a, &a, e->b, &b, e->op == E_ADD ? "add" : "subtract")))
      return rc;
    *out = a;
    out->v = e->op == E_ADD ? a.v + b.v : a.v - b.v;
    return 0;
  case E_MUL:
  case E_DIV:
    if ((rc = ev_num(ev, e->a, &a)) || (rc = ev_num(ev, e->b, &b))) return rc;
    if (e->op == E_DIV && b.v == 0) {
      char s[64];
      src_of(ev, e->b, s, sizeof s);
      return ERR("division by zero (%s is 0)", s);
    }
    out->v = e->op == E_MUL ? a.v * b.v : a.v / b.v;
    out->t = e->op == E_MUL ? a.t + b.t : a.t - b.t;
    out->b = e->op == E_MUL ? a.b + b.b : a.b - b.b;
    return 0;
  case E_CALL:
    return ev_call(ev, e, out);
  default:
    return ERR("internal: condition used as a number");
  }
}

static int ev_bool(eval_t *ev, const scn_expr_t *e, int *out) {
  static const char *const opname[] = {[E_LT] = "<", [E_LE] = "<=", [E_GT] = ">",
                                       [E_GE] = ">=", [E_EQ] = "==", [E_NE] = "!="};
  scn_qty_t a, b;
  int rc, x, y;
  char va[64], vb[64];
  switch (e->op) {
  case E_BOOL:
    *out = e->q.v != 0;
    dappend(ev, *out ? "true" : "false");
    return 0;
  case E_LT: case E_LE: case E_GT: case E_GE: case E_EQ: case E_NE:
    ev->never_in = NULL;
    if ((rc = ev_num(ev, e->a, &a)) || (rc = ev_num(ev, e->b, &b))) return rc;
    if ((rc = same_dim(ev, e->a, &a, e->b, &b, "compare"))) return rc;
    if (!ev->have_measured) {
      ev->measured = a, ev->have_measured = 1;
      ev->measured_never = is_never(ev, e->a, a);
    }
    switch (e->op) {
    case E_LT: *out = a.v < b.v; break;
    case E_LE: *out = a.v <= b.v; break;
    case E_GT: *out = a.v > b.v; break;
    case E_GE: *out = a.v >= b.v; break;
    case E_EQ: *out = a.v == b.v; break;
    default: *out = a.v != b.v; break;
    }
    if (is_never(ev, e->a, a)) snprintf(va, sizeof va, "never");
    else scn_qty_format(a, va, sizeof va);
    if (is_never(ev, e->b, b)) snprintf(vb, sizeof vb, "never");
    else scn_qty_format(b, vb, sizeof vb);
    dappend(ev, va);
    dappend(ev, " ");
    dappend(ev, opname[e->op]);
    dappend(ev, " ");
    dappend(ev, vb);
    /* a "never" inside arithmetic counts as its -1: say so beside the numbers */
    if (ev->never_in && !is_never(ev, e->a, a) && !is_never(ev, e->b, b)) {
      char note[160];
      snprintf(note, sizeof note, " (%s.%s is never: counted as -1s)", ev->never_in->name,
               scn_stat_name(ev->never_in->stat));
      dappend(ev, note);
    }
    return 0;
  case E_NOT:
    dappend(ev, "not (");
    if ((rc = ev_bool(ev, e->a, &x))) return rc;
    dappend(ev, ")");
    *out = !x;
    return 0;
  case E_AND:
  case E_OR:
    dappend(ev, "(");
    if ((rc = ev_bool(ev, e->a, &x))) return rc;
    dappend(ev, e->op == E_AND ? ") and (" : ") or (");
    if ((rc = ev_bool(ev, e->b, &y))) return rc;
    dappend(ev, ")");
    *out = e->op == E_AND ? (x && y) : (x || y);
    return 0;
  default: {
    char *err = ev->err;
    size_t nerr = ev->nerr;
    return ERR("internal: number used as a condition");
  }
  }
}

int scn_expr_eval(const scn_expr_t *e, const scn_eval_env_t *env, int *truth,
                  scn_qty_t *measured, char *detail, size_t ndetail, char *err,
                  size_t nerr) {
  eval_t ev = {env, NULL, err, nerr, detail, ndetail, 0, {NAN, 0, 0}, 0, 0, 0, NULL};
  if (detail && ndetail) detail[0] = 0;
  ev.src = e->text;
  int rc = ev_bool(&ev, e, truth);
  if (measured) *measured = ev.measured;
  if (env->measured_never) *env->measured_never = ev.measured_never;
  return rc;
}
