/*
 * `storesim merge` reads back the --jsonl files of a sweep's shards
 * (`storesim sweep --shard I/N`, one per job of a job array; docs/scale.md)
 * into one result, laid out as the whole sweep's (scn_sweep_plan), so that
 * tools/sweep.c prints and writes it exactly as if one process had run the
 * sweep. JSON is read with jansson.
 *
 * A record names its run by scenario id, seed, variant, scheduler text and
 * (in a map) cell values; it must be one of the sweep's runs, and every run
 * must come exactly once: a shard given twice, a missing shard, or a shard
 * of another sweep (other --seeds, --sched, --set, --variant) is an error,
 * not a silently different summary. A shard cut short (its last line
 * {"incomplete":true,...}) is an error too: run it again.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "sweep_map.h"

/* Where each run was read (for "twice" messages): file index + 1 and line. */
typedef struct seen {
  unsigned file;
  size_t line;
} seen_t;

static const char *cell_value(const cli_map_t *m, size_t c, size_t i) {
  return strchr(m->sets[c * m->naxes + i], '=') + 1;
}

/* The run index of the record j, or SIZE_MAX with why. */
static size_t find_run(json_t *j, const cli_map_t *m, const scn_sweep_opts_t *o,
                       const scn_sweep_res_t *res, char *why, size_t n) {
  const scn_scenario_t *s = m->cells[0];
  const char *id = json_string_value(json_object_get(j, "scenario"));
  const char *vn = json_string_value(json_object_get(j, "variant"));
  const char *sched = json_string_value(json_object_get(j, "sched"));
  json_t *js = json_object_get(j, "seed");
  if (!id || !vn || !sched || !json_is_integer(js)) {
    snprintf(why, n, "not a run of `storesim sweep --jsonl` (scenario, variant, seed, sched)");
    return SIZE_MAX;
  }
  if (strcmp(id, s->id)) {
    snprintf(why, n, "a run of scenario '%s', not of %s ('%s')", id, s->file, s->id);
    return SIZE_MAX;
  }
  const scn_variant_t *v = scn_variant_find(s, vn);
  if (!v || (o->variant && strcmp(o->variant, vn))) {
    snprintf(why, n, "variant '%s' is not one of this sweep's", vn);
    return SIZE_MAX;
  }
  uint64_t seed = (uint64_t)json_integer_value(js);
  if (json_integer_value(js) < 0 || seed < o->seed_from || seed > o->seed_to) {
    snprintf(why, n, "seed %" PRIu64 " is outside --seeds %" PRIu64 "-%" PRIu64, seed, o->seed_from,
             o->seed_to);
    return SIZE_MAX;
  }
  char want[96];
  scn_sweep_sched_string(o, seed, want, sizeof want);
  if (strcmp(want, sched)) {
    snprintf(why, n, "scheduler %s, but this sweep's --sched gives %s for seed %" PRIu64, sched,
             want, seed);
    return SIZE_MAX;
  }
  size_t cell = 0;
  json_t *jc = json_object_get(j, "cell");
  if (m->naxes) {
    if (!json_is_object(jc) || json_object_size(jc) != m->naxes) {
      snprintf(why, n, "no \"cell\" with the %zu --set axes of this sweep", m->naxes);
      return SIZE_MAX;
    }
    for (cell = 0; cell < m->ncells; cell++) {
      size_t i = 0;
      for (; i < m->naxes; i++) {
        const char *val = json_string_value(json_object_get(jc, m->axes[i].key));
        if (!val || strcmp(val, cell_value(m, cell, i))) break;
      }
      if (i == m->naxes) break;
    }
    if (cell == m->ncells) {
      snprintf(why, n, "its \"cell\" is not one of the --set values of this sweep");
      return SIZE_MAX;
    }
  } else if (jc) {
    snprintf(why, n, "a run of a parameter map (\"cell\"): give the sweep's --set axes");
    return SIZE_MAX;
  }
  /* scn_sweep_plan's order: (cell, seed, variant), the variants in file
   * order (one with --variant) */
  size_t nvar = o->variant ? 1 : s->nvariants, vi = o->variant ? 0 : (size_t)(v - s->variants);
  size_t nseeds = (size_t)(o->seed_to - o->seed_from + 1);
  size_t k = (cell * nseeds + (size_t)(seed - o->seed_from)) * nvar + vi;
  if (k >= res->nruns || res->runs[k].seed != seed || res->runs[k].cell != cell ||
      res->runs[k].variant != (size_t)(v - s->variants)) {
    snprintf(why, n, "internal error: run layout");
    return SIZE_MAX;
  }
  return k;
}

static int get_int(json_t *j, const char *key, int *out) {
  json_t *x = json_object_get(j, key);
  if (!json_is_integer(x)) return -1;
  *out = (int)json_integer_value(x);
  return 0;
}

static int get_bool(json_t *j, const char *key, int *out) {
  json_t *x = json_object_get(j, key);
  if (!json_is_boolean(x)) return -1;
  *out = json_is_true(x);
  return 0;
}

/* Fills run from record j. Returns 0, -1 (a field missing: why), -2 (OOM). */
static int fill_run(json_t *j, const cli_map_t *m, scn_sweep_run_t *run, char *why, size_t n) {
  const char *hash = json_string_value(json_object_get(j, "trace_hash"));
  char *end = NULL;
  if (get_bool(j, "complete", &run->complete) || get_bool(j, "passed", &run->passed) ||
      get_int(j, "deadlock", &run->deadlock) || get_int(j, "hang", &run->hang) ||
      get_int(j, "lock_order", &run->lock_order) || get_int(j, "spin", &run->spin) ||
      get_int(j, "crashed", &run->crashed) || !hash ||
      (errno = 0, run->trace_hash = strtoull(hash, &end, 16), errno || *end || end == hash)) {
    snprintf(why, n,
             "a field of a sweep's run is missing or not of its type (complete, passed, deadlock, "
             "hang, lock_order, spin, crashed, trace_hash)");
    return -1;
  }
  run->ran = 1;
  const char *e = json_string_value(json_object_get(j, "error"));
  const char *f = json_string_value(json_object_get(j, "failed_expectation"));
  if (e && !(run->error = sim_strdup(e))) return -2;
  if (f && !(run->failed = sim_strdup(f))) return -2;
  if (m->nmetrics) {
    json_t *jv = json_object_get(j, "values");
    if (!json_is_object(jv)) {
      snprintf(why, n, "no \"values\" for this sweep's --metric");
      return -1;
    }
    if (!(run->values = sim_calloc(m->nmetrics, sizeof *run->values))) return -2;
    for (size_t k = 0; k < m->nmetrics; k++) {
      json_t *x = json_object_get(jv, m->specs[k]);
      if (json_is_null(x)) run->values[k] = NAN;
      else if (json_is_number(x)) run->values[k] = json_number_value(x);
      else {
        snprintf(why, n, "no value of --metric %s (a number or null)", m->specs[k]);
        return -1;
      }
    }
  }
  return 0;
}

int cli_merge_read(char **paths, size_t npaths, const cli_map_t *m, const scn_sweep_opts_t *o,
                   scn_sweep_res_t *res) {
  seen_t *seen = sim_calloc(res->nruns ? res->nruns : 1, sizeof *seen);
  int rc = 0;
  if (!seen) {
    fprintf(stderr, "storesim merge: out of host memory\n");
    return 3;
  }
  for (size_t p = 0; p < npaths && !rc; p++) {
    const char *path = paths[p];
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
      fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
      rc = 2;
      break;
    }
    char *line = NULL, why[512];
    size_t cap = 0, lineno = 0;
    ssize_t len;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
      lineno++;
      if (len == 0 || line[0] == '\n') continue;
      json_error_t e;
      json_t *j = json_loadb(line, (size_t)len, 0, &e);
      if (!j || !json_is_object(j)) {
        fprintf(stderr, "%s:%zu:%d: error: %s%s\n", path, lineno,
                j              ? 1
                : e.column > 0 ? e.column
                               : 1,
                j ? "not a JSON object" : "not JSON: ", j ? "" : e.text);
        json_decref(j);
        rc = 2;
        break;
      }
      if (json_is_true(json_object_get(j, "incomplete"))) {
        fprintf(stderr,
                "%s:%zu:1: error: this shard was interrupted (its runs are incomplete): run it "
                "again\n",
                path, lineno);
        rc = 2;
      } else {
        size_t k = find_run(j, m, o, res, why, sizeof why);
        if (k == SIZE_MAX) {
          fprintf(stderr, "%s:%zu:1: error: %s\n", path, lineno, why);
          rc = 2;
        } else if (seen[k].file) {
          fprintf(stderr,
                  "%s:%zu:1: error: seed %" PRIu64
                  ", variant %s is also at %s:%zu (a shard given twice?)\n",
                  path, lineno, res->runs[k].seed, m->cells[0]->variants[res->runs[k].variant].name,
                  paths[seen[k].file - 1], seen[k].line);
          rc = 2;
        } else {
          int fr = fill_run(j, m, &res->runs[k], why, sizeof why);
          if (fr == -2) {
            fprintf(stderr, "storesim merge: out of host memory\n");
            rc = 3;
          } else if (fr) {
            fprintf(stderr, "%s:%zu:1: error: %s\n", path, lineno, why);
            rc = 2;
          }
          seen[k] = (seen_t){(unsigned)p + 1, lineno};
        }
      }
      json_decref(j);
    }
    if (!rc && ferror(f)) {
      fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
      rc = 2;
    }
    free(line);
    if (f != stdin) fclose(f);
  }
  size_t missing = 0, first = 0;
  for (size_t k = 0; !rc && k < res->nruns; k++)
    if (!seen[k].file && !missing++) first = k;
  if (missing) {
    const scn_sweep_run_t *r = &res->runs[first];
    char cell[512] = "";
    for (size_t i = 0, k = 0; m->map && i < m->naxes && k < sizeof cell; i++)
      k += (size_t)snprintf(cell + k, sizeof cell - k, "%s%s", i ? " " : ", cell ",
                            m->sets[r->cell * m->naxes + i]);
    fprintf(stderr,
            "storesim merge: error: %zu of the sweep's %zu runs are in no file (the first: seed "
            "%" PRIu64 ", variant %s%s); give every shard's --jsonl, and the sweep's --seeds, "
            "--variant and --set\n",
            missing, res->nruns, r->seed, m->cells[0]->variants[r->variant].name, cell);
    rc = 2;
  }
  free(seen);
  return rc;
}
