/*
 * libFuzzer harness: expectation expressions (scn_expr_parse), and, when an
 * input parses, scn_expr_visit and scn_expr_eval against a fake environment
 * whose metrics and parameters take values and dimensions derived from
 * their names (so dimension checks, functions and comparisons all run).
 *
 * Invariants: a failed parse gives a non-empty reason and an error offset
 * within the text; a successful evaluation gives a truth of 0 or 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Values from the name: a few special ones (0, negative, huge, NaN) so that
 * division by zero and overflow paths run too. */
static scn_qty_t fake(const char *name, int stat) {
  static const double vals[] = {0, 1, 2.5, -3, 1e300, 65536, 0.001, NAN};
  uint32_t h = hash(name) + (uint32_t)stat * 7u;
  scn_qty_t q = {vals[h % 8], (int)(h / 8 % 3) - 1, (int)(h / 24 % 2)};
  return q;
}

static int metric(void *arg, const char *name, scn_stat_t stat, scn_qty_t *q, char *err,
                  size_t nerr) {
  if (!strncmp(name, "no", 2)) return snprintf(err, nerr, "unknown metric '%s'", name), 1;
  *q = fake(name, (int)stat);
  return 0;
}

static int param(void *arg, const char *path, scn_qty_t *q, char *err, size_t nerr) {
  if (!strncmp(path, "no", 2)) return snprintf(err, nerr, "unknown parameter '%s'", path), 1;
  *q = fake(path, 99);
  return 0;
}

static int visit(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  size_t len = *(size_t *)arg;
  if (pos < 0 || (size_t)pos > len || !name) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), err[400], detail[400], buf[64];
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0; /* expressions are C strings: stop at the first NUL */
  size_t len = strlen(text);
  scn_expr_t *e = NULL;
  int pos = -1;
  err[0] = 0;
  if (scn_expr_parse(text, &e, err, sizeof err, &pos)) {
    if (e || !err[0] || pos < 0 || (size_t)pos > len) {
      fprintf(stderr, "fuzz_expr: bad failure: pos %d of %zu, reason '%s'\n", pos, len, err);
      abort();
    }
  } else {
    scn_expr_visit(e, visit, &len);
    scn_eval_env_t env = {.metric = metric, .param = param};
    int truth = -1;
    scn_qty_t measured;
    if (scn_expr_eval(e, &env, &truth, &measured, detail, sizeof detail, err, sizeof err) == 0) {
      if (truth != 0 && truth != 1) abort();
      scn_qty_format(measured, buf, sizeof buf);
    }
    scn_expr_free(e);
  }
  free(text);
  return 0;
}
