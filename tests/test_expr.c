/*
 * Tests of expectation expressions (sim/scenario/expr.c): grammar, types,
 * units and dimensions, functions, error positions.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"

/* A fake world: queue.wait is a sample in seconds, tasks.free a plain gauge,
 * mem in bytes; parameters store.tasks = 32, flush = 150m, rate = 2/s. */
static int fake_metric(void *arg, const char *name, scn_stat_t st, scn_qty_t *q, char *err,
                       size_t nerr) {
  (void)arg;
  if (!strcmp(name, "queue.wait")) {
    *q = (scn_qty_t){st == SCN_ST_MEAN ? 4.0 : st == SCN_ST_MAX ? 30.0 : 0.5, 1, 0};
    if (st == SCN_ST_COUNT) *q = (scn_qty_t){1000, 0, 0};
    return 0;
  }
  if (!strcmp(name, "tasks.free")) {
    *q = (scn_qty_t){st == SCN_ST_MIN ? 0 : 12, 0, 0};
    return 0;
  }
  if (!strcmp(name, "\\MSExchangeIS\\RPC Num. of Slow Packets")) {
    *q = (scn_qty_t){st == SCN_ST_MAX ? 3 : 1, 0, 0};
    return 0;
  }
  if (!strcmp(name, "mem")) {
    *q = (scn_qty_t){3 * 1048576.0, 0, 1};
    return 0;
  }
  snprintf(err, nerr, "unknown metric '%s'", name);
  return -1;
}

static int fake_param(void *arg, const char *path, scn_qty_t *q, char *err, size_t nerr) {
  (void)arg;
  if (!strcmp(path, "store.tasks")) *q = (scn_qty_t){32, 0, 0};
  else if (!strcmp(path, "flush")) *q = (scn_qty_t){9000, 1, 0};
  else if (!strcmp(path, "rate")) *q = (scn_qty_t){2, -1, 0};
  else {
    snprintf(err, nerr, "unknown parameter '$%s'", path);
    return -1;
  }
  return 0;
}

static const scn_eval_env_t env = {.metric = fake_metric, .param = fake_param};

/* Returns truth (0/1), or -1 on a parse error, -2 on an evaluation error. */
static int ev(const char *text, char *msg, size_t n) {
  scn_expr_t *e;
  int pos, truth;
  char detail[300];
  scn_qty_t m;
  if (scn_expr_parse(text, &e, msg, n, &pos)) return -1;
  int rc = scn_expr_eval(e, &env, &truth, &m, detail, sizeof detail, msg, n);
  scn_expr_free(e);
  return rc ? -2 : truth;
}

#define T(text) do { char m_[300] = ""; int r_ = ev(text, m_, sizeof m_); \
  cr_assert_eq(r_, 1, "%s -> %d %s", text, r_, m_); } while (0)
#define F(text) do { char m_[300] = ""; int r_ = ev(text, m_, sizeof m_); \
  cr_assert_eq(r_, 0, "%s -> %d %s", text, r_, m_); } while (0)
#define PERR(text, sub) do { char m_[300] = ""; int r_ = ev(text, m_, sizeof m_); \
  cr_assert_eq(r_, -1, "%s -> %d", text, r_); cr_assert(strstr(m_, sub), "%s: %s", text, m_); } while (0)
#define EERR(text, sub) do { char m_[300] = ""; int r_ = ev(text, m_, sizeof m_); \
  cr_assert_eq(r_, -2, "%s -> %d", text, r_); cr_assert(strstr(m_, sub), "%s: %s", text, m_); } while (0)

Test(expr, comparisons_and_logic) {
  T("tasks.free.min == 0");
  F("tasks.free.min > 0");
  T("tasks.free.final != 0");
  T("tasks.free.min == 0 and tasks.free.final >= 12");
  T("tasks.free.min > 0 or tasks.free.final <= 12");
  T("not tasks.free.min > 0");
  T("not (tasks.free.min > 0 and true)");
  F("false");
  T("(tasks.free.min == 0 or false) and not false");
}

Test(expr, units_and_dimensions) {
  T("queue.wait.mean < 5s");
  T("queue.wait.mean > 3999ms");
  T("queue.wait.max == 30s");
  T("queue.wait.max == 0.5m");
  T("queue.wait.mean < 1h30m");
  T("mem.final == 3MiB");
  T("mem.final > 3000KiB");
  T("queue.wait.count == 1000");
  T("queue.wait.mean * $rate == 8");          /* time * rate = plain */
  T("$flush == 150m");
  T("$store.tasks / $rate == 16s");            /* plain / rate = time */
  T("queue.wait.mean >= 0");                   /* a bare 0 has any dimension */
  T("2/s == $rate");
  EERR("queue.wait.mean < 5", "write the unit");
  EERR("queue.wait.mean < 5KiB", "cannot compare");
  EERR("queue.wait.mean + 1 > 0s", "cannot add");
  EERR("mem.final > 1s", "cannot compare");
}

Test(expr, arithmetic_and_functions) {
  T("1 + 2 * 3 == 7");
  T("(1 + 2) * 3 == 9");
  T("-3 + 5 == 2");
  T("10 / 4 == 2.5");
  T("abs(-2s) == 2s");
  T("min(1s, 2s) == 1s");
  T("max(1, 2) == 2");
  T("pow(2, 10) == 1024");
  T("sqrt(16) == 4");
  T("abs(ln(exp(1)) - 1) < 1e-12");
  T("abs(erlang_c(1, 0.8) - 0.8) < 1e-12");                 /* M/M/1: P(wait) = rho */
  T("abs(erlang_c(4, 3) - 0.5094339622641509) < 1e-12");    /* M/M/c textbook value */
  T("abs(erlang_b(2, 1) - 0.2) < 1e-12");
  T("erlang_c(2, 3) == 1");                                 /* overloaded */
  T("ceil(28 / 4) == 7 and ceil(29 / 4) == 8 and ceil(8 / 8) == 1");
  T("floor(7.9) == 7 and ceil(-0.5) == 0");
  EERR("1 / 0 > 0", "division by zero");
  EERR("sqrt(-1) > 0", "negative");
  EERR("ceil(2s) > 0", "plain number");
  EERR("erlang_c(1.5, 1) > 0", "whole number");
  EERR("exp(1s) > 0", "plain number");
}

Test(expr, references) {
  EERR("queue.wiat.mean < 1s", "unknown metric 'queue.wiat'");
  EERR("$store.taks > 0", "unknown parameter");
}

Test(expr, syntax_errors_with_positions) {
  scn_expr_t *e;
  char msg[300];
  int pos;
  cr_assert_eq(scn_expr_parse("queue.wait.avg < 1s", &e, msg, sizeof msg, &pos), SIM_EINVAL);
  cr_assert(strstr(msg, "unknown stat 'avg'"), "%s", msg);
  cr_assert_eq(pos, 11);
  cr_assert_null(e);
  cr_assert_eq(scn_expr_parse("tasks.free.min = 0", &e, msg, sizeof msg, &pos), SIM_EINVAL);
  cr_assert(strstr(msg, "=="), "%s", msg);
  cr_assert_eq(pos, 15);
  PERR("tasks.free.min", "must be a condition");
  PERR("tasks.free.min > ", "unexpected end");
  PERR("tasks.free.min > 0 &&", "'and'");
  PERR("tasks.min > 0 and", "unexpected end");
  PERR("tasks > 0", "not a metric reference");
  PERR("5 parsecs > 0", "unexpected");
  PERR("5pc > 0", "unknown unit");
  PERR("(1 > 0", "expected ')'");
  PERR("frob(1) > 0", "unknown function");
  PERR("1 + (2 > 1) > 0", "expected a number");
  PERR("1 and 2", "expected a condition");
  PERR("$ > 0", "parameter name");
  PERR("", "unexpected end");
}

typedef struct acc {
  int n;
  char names[4][32];
} acc_t;

static int collect_ref(void *arg, int kind, const char *name, scn_stat_t st, int p) {
  acc_t *a = arg;
  (void)kind;
  (void)st;
  (void)p;
  snprintf(a->names[a->n++], 32, "%s", name);
  return 0;
}

Test(expr, visit_lists_references) {
  scn_expr_t *e;
  char msg[200];
  int pos;
  cr_assert_eq(scn_expr_parse("a.b.max > $x.y and c.p95 < 1s", &e, msg, sizeof msg, &pos), 0);
  acc_t acc = {0};
  scn_expr_visit(e, collect_ref, &acc);
  cr_assert_eq(acc.n, 3);
  cr_assert_str_eq(acc.names[0], "a.b");
  cr_assert_str_eq(acc.names[1], "x.y");
  cr_assert_str_eq(acc.names[2], "c");
  scn_expr_free(e);
}

/* A metric whose name is not a plain word, such as a Performance Monitor
 * counter with spaces, dots and backslashes, is quoted: 'NAME'.stat. */
Test(expr, quoted_metric_names) {
  T("'\\MSExchangeIS\\RPC Num. of Slow Packets'.max == 3");
  T("'\\MSExchangeIS\\RPC Num. of Slow Packets'.final < 2 and 'tasks.free'.min == 0");
  scn_expr_t *e;
  char msg[300];
  int pos;
  cr_assert_eq(scn_expr_parse("'\\A\\B C'.max > 0 and 'x'.p95 < 1s", &e, msg, sizeof msg, &pos), 0);
  acc_t acc = {0};
  scn_expr_visit(e, collect_ref, &acc);
  cr_assert_eq(acc.n, 2);
  cr_assert_str_eq(acc.names[0], "\\A\\B C");
  cr_assert_str_eq(acc.names[1], "x");
  scn_expr_free(e);
  PERR("'\\A\\B.max > 0", "unterminated quoted metric name");
  PERR("''.max > 0", "empty quoted metric name");
  PERR("'\\A\\B' > 0", "not a metric reference");
  PERR("'\\A\\B'.avg > 0", "unknown stat 'avg'");
  cr_assert_eq(scn_expr_parse("1 > 0 and 'a b'.avg > 0", &e, msg, sizeof msg, &pos), SIM_EINVAL);
  cr_assert_eq(pos, 16, "the stat's position");
}

Test(expr, measured_and_detail) {
  scn_expr_t *e;
  char msg[200], detail[200];
  int pos, truth;
  scn_qty_t m;
  cr_assert_eq(scn_expr_parse("queue.wait.mean < 5s and tasks.free.min == 0", &e, msg, sizeof msg, &pos), 0);
  cr_assert_eq(scn_expr_eval(e, &env, &truth, &m, detail, sizeof detail, msg, sizeof msg), 0);
  cr_assert_eq(truth, 1);
  cr_assert_float_eq(m.v, 4.0, 1e-12);
  cr_assert_eq(m.t, 1);
  cr_assert_str_eq(detail, "(4s < 5s) and (0 == 0)");
  scn_expr_free(e);
}

Test(expr, unbalanced_parentheses_at_the_end) {
  PERR("(", "unexpected end");
  PERR("((", "unexpected end");
  PERR("(1 >", "unexpected end");
  PERR("abs(", "unexpected end");
  PERR("min(1,", "unexpected end");
}

/* Found by tests/fuzz/fuzz_expr: pow() converted any exponent to int for
 * the dimension, undefined for NaN or 1e300. */
/* Expressions refuse numbers that are not finite, as parameters do
 * (scn_parse_float: "number too large"), with the position of the number. */
Test(expr, non_finite_numbers_are_refused) {
  scn_expr_t *e;
  char msg[300];
  int pos;
  cr_assert_eq(scn_expr_parse("tasks.free.min < 1e400", &e, msg, sizeof msg, &pos), SIM_EINVAL);
  cr_assert(strstr(msg, "number too large: '1e400'"), "%s", msg);
  cr_assert_eq(pos, 17);
  PERR("1 > -1e400s", "number too large");
  PERR("1e305d > 1s", "number too large");
  PERR("1e300GiB > 0B", "number too large"); /* 1.07e309 bytes */
}

Test(expr, pow_with_a_huge_exponent) {
  char msg[300] = "";
  cr_assert_lt(ev("pow(1s, 1e300) > 0s", msg, sizeof msg), 0);
  cr_assert(strstr(msg, "whole exponent"), "%s", msg);
  cr_assert_eq(ev("pow(2, 1e300) > 0", msg, sizeof msg), 1, "%s", msg);
}

/* Found by tests/fuzz/fuzz_expr: a '/' at the very end was taken for a rate
 * unit ("/s") because strchr finds the terminating NUL, then read past it. */
Test(expr, slash_at_the_end) {
  PERR("11/", "unexpected end");
  PERR("1 > 11/", "unexpected end");
}

/* Random token strings: the parser and evaluator never crash, and every
 * failure comes with a message (run under the asan preset). */
Test(expr, random_token_strings) {
  static const char *const toks[] = {
      "(", ")", " and ", " or ", "not ", "<", "<=", "==", "!=", ">", "+", "-", "*", "/", ",",
      "1", "0", "2.5", "1e3", "150m", "64KiB", "20/s", "$store.tasks", "$flush", "$rate", "$nope",
      "queue.wait.mean", "tasks.free.min", "mem.final", "x.y.p99", "abs(", "min(", "erlang_c(",
      "sqrt(", "pow(", "true", "false", "=", "&&", "$", ".", "queue..mean", " "};
  unsigned seed = 12345;
  char text[256];
  for (int it = 0; it < 50000; it++) {
    size_t len = 0;
    int n = 1 + rand_r(&seed) % 12;
    text[0] = 0;
    for (int k = 0; k < n; k++) {
      const char *t = toks[rand_r(&seed) % (sizeof toks / sizeof toks[0])];
      size_t tl = strlen(t);
      if (len + tl + 1 >= sizeof text) break;
      memcpy(text + len, t, tl + 1);
      len += tl;
    }
    char msg[300] = "";
    int r = ev(text, msg, sizeof msg);
    if (r < 0) cr_assert(msg[0], "no message for '%s'", text);
  }
}
