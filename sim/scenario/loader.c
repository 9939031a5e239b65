/*
 * storesim scenario layer: the scenario file loader.
 *
 * Two passes. (1) libyaml's event parser builds a small tree of scalars,
 * sequences and mappings, each node with its line:col; duplicate keys,
 * anchors/aliases, multiple documents and YAML syntax errors are reported
 * here. (2) The tree is validated against the scenario layer's parameter
 * table (scn_world_params) and the model's table, generically: a dotted
 * parameter path "workload.smtp.rate" may be written nested
 * (workload: {smtp: {rate: ...}}) or dotted at any level. The loader knows
 * no model parameter by name.
 *
 * Loader states:
 *   READ   -> TREE      [read_file, build_tree]   (I/O, YAML, duplicates)
 *   TREE   -> BASE      [load_tree: model, defaults, sections, faults]
 *   BASE   -> VARIANTS  [load_variants: copy base, apply set and --set]
 *   VARIANTS -> DONE    [load_expect: parse expectations, check $params]
 * Any error is recorded in the diagnostics and loading goes on where that
 * still makes sense, so one run reports most mistakes; the result is only
 * handed out when there was no error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "storesim/alloc.h"
#include "storesim/scenario.h"

#define MAX_FILE (16u << 20)
#define MAX_DEPTH 64
/* Most YAML nodes (scalars, lists, mappings) in one file. Each costs about
 * 64 bytes of tree, so this bounds the tree at about 70 MB whatever the file
 * holds (a 16 MiB flow list of 5.6 million numbers took 552 MB before);
 * the longest list a parameter takes (empirical values) still fits. */
#define MAX_NODES (SCN_MAX_EMPIRICAL + 65536)

/* ---- the scenario layer's own parameters ------------------------------------------ */
#define WOFF(f) offsetof(scn_world_cfg_t, f)
static const sim_param_t world_params[] = {
    {"seed", SIM_P_INT, WOFF(seed), 0, 9.2e18, "1",
     "Root seed of every random stream; all variants use the same one."},
    {"duration", SIM_P_DURATION, WOFF(duration), 1, 3.1536e17, NULL,
     "Virtual time to simulate, e.g. 6h."},
    {"sample_interval", SIM_P_DURATION, WOFF(sample_interval), 0, 3.1536e17, "0",
     "Period of the metric time series (0 = duration / 500)."},
    {"cores", SIM_P_INT, WOFF(cores), 1, 1024, "2", "Simulated CPU cores."},
    {"machine_memory", SIM_P_SIZE, WOFF(machine_memory), 0, 1.8e19, "0",
     "Simulated memory shared by all processes (0 = unlimited)."},
    {"limits.max_threads", SIM_P_INT, WOFF(max_threads), 1, 1e7, "100000",
     "Most live simulated threads; past it the run stops with an error."},
    {"limits.max_events", SIM_P_INT, WOFF(max_events), 0, 9.2e18, "1000000000",
     "Most scheduling events (thread steps and timer events) of one run; past it the run "
     "stops with an error (0 = unlimited). The shipped scenarios take at most 2 million; "
     "10^9 is about a minute of host time for the simplest model."},
    {"limits.max_instant_steps", SIM_P_INT, WOFF(max_instant_steps), 0, 9.2e18, "100000000",
     "Most scheduling steps at one virtual instant (the stall limit: threads that yield or wake "
     "each other forever while time stands still); past it the run stops with an error "
     "(0 = unlimited)."},
    {"limits.host_memory", SIM_P_SIZE, WOFF(host_memory), 1048576, 1.8e19, "4GiB",
     "Most resident memory of the storesim process; past it the run stops."},
    {"limits.wall_time", SIM_P_DURATION, WOFF(wall_time), 0, 3.1536e17, "1h",
     "Most host (wall-clock) time one run of a variant may take; past it the run stops "
     "(0 = no limit)."},
    {"kernel.stack_size", SIM_P_SIZE, WOFF(stack_size), 16384, 1073741824.0, "256KiB",
     "Stack of each simulated thread."},
    {"kernel.cpu_quantum", SIM_P_DURATION, WOFF(cpu_quantum), 1000, 3.6e12, "10ms",
     "CPU time slice of a simulated core."},
    {"kernel.spin_window", SIM_P_DURATION, WOFF(spin_window), 0, 3.1536e17, "60s",
     "Window of the CPU spin detector (0 = off)."},
    {"seed_fraction", SIM_P_FLOAT, WOFF(seed_fraction), 0, 1, "1",
     "Fraction of world seeds on which every expectation of each variant holds: "
     "the scenario's promise to `check --seeds` (which exits 1 below it)."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

const sim_param_t *scn_world_params(void) { return world_params; }

/* Top-level keys that are not parameters. */
static const char *const special_keys[] = {"id", "title", "source", "description",
                                           "model", "faults", "variants", "expect"};
#define NSPECIAL (sizeof special_keys / sizeof special_keys[0])

/* ---- YAML tree ------------------------------------------------------------------------ */
enum { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode ynode_t;
struct ynode {
  int kind;
  int line, col;   /* 1-based */
  int quoted;      /* scalar was quoted (col points at the quote) */
  ynode_t **kids;  /* seq: items; map: key, value, key, value, ... */
  size_t n, cap;
  char s[]; /* scalar text ("" for a list or mapping), in the node's allocation */
};

static void ynode_free(ynode_t *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n; i++) ynode_free(n->kids[i]);
  free(n->kids);
  free(n);
}

static int ynode_push(ynode_t *parent, ynode_t *kid) {
  if (parent->n == parent->cap) {
    size_t ncap = parent->cap ? parent->cap * 2 : 8;
    ynode_t **k = sim_realloc(parent->kids, ncap * sizeof *k);
    if (!k) return SIM_ENOMEM;
    parent->kids = k;
    parent->cap = ncap;
  }
  parent->kids[parent->n++] = kid;
  return 0;
}

static int is_null(const ynode_t *n) {
  return !n || (n->kind == YN_SCALAR && !n->quoted &&
                (!n->s[0] || !strcmp(n->s, "~") || !strcmp(n->s, "null") ||
                 !strcmp(n->s, "Null") || !strcmp(n->s, "NULL")));
}

static const char *kind_name(const ynode_t *n) {
  if (is_null(n)) return "an empty value";
  return n->kind == YN_MAP ? "a mapping" : n->kind == YN_SEQ ? "a list" : "a scalar";
}

typedef struct ctx {
  const char *file;
  scn_diag_t *diag;
  int oom;
  const sim_model_t *model; /* forced by scn_load_buffer_model, else NULL */
  int version;              /* the scenario's model version (index), -1: none or unknown */
} ctx_t;

#define ERRAT(c, node, ...) \
  scn_diag_error((c)->diag, (c)->file, (node) ? (node)->line : 0, (node) ? (node)->col : 0, __VA_ARGS__)

static int key_cmp(const void *a, const void *b) {
  const ynode_t *const *x = a, *const *y = b;
  int r = strcmp((*x)->s, (*y)->s);
  if (r) return r;
  return (*x)->line != (*y)->line ? (*x)->line - (*y)->line : (*x)->col - (*y)->col;
}

/* Keys must be scalars and unique; reports the later duplicate. */
static void check_map(ctx_t *c, ynode_t *m) {
  size_t np = m->n / 2, k = 0;
  ynode_t **keys;
  for (size_t i = 0; i < np; i++)
    if (m->kids[2 * i]->kind != YN_SCALAR) {
      ERRAT(c, m->kids[2 * i], "a key must be a plain name, not %s", kind_name(m->kids[2 * i]));
      return;
    }
  if (np < 2) return;
  keys = sim_malloc(np * sizeof *keys);
  if (!keys) {
    c->oom = 1;
    return;
  }
  for (size_t i = 0; i < np; i++) keys[k++] = m->kids[2 * i];
  qsort(keys, np, sizeof *keys, key_cmp);
  for (size_t i = 1; i < np; i++)
    if (!strcmp(keys[i]->s, keys[i - 1]->s))
      ERRAT(c, keys[i], "duplicate key '%s' (first at line %d, column %d)", keys[i]->s,
            keys[i - 1]->line, keys[i - 1]->col);
  free(keys);
}

/* Builds the tree of the single document in buf. Returns the root (NULL for
 * an empty stream) and records errors in c. */
static ynode_t *build_tree(ctx_t *c, const char *buf, size_t len) {
  yaml_parser_t parser;
  yaml_event_t ev;
  ynode_t *stack[MAX_DEPTH + 1], *root = NULL, *n;
  int depth = 0, ndocs = 0, done = 0, nerr0 = c->diag->nerrors, nnodes = 0;

  if (!yaml_parser_initialize(&parser)) {
    c->oom = 1;
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
  while (!done) {
    if (!yaml_parser_parse(&parser, &ev)) {
      if (parser.error == YAML_MEMORY_ERROR) {
        c->oom = 1;
        break;
      }
      const char *prob = parser.problem ? parser.problem : "YAML syntax error";
      if (parser.context)
        scn_diag_error(c->diag, c->file, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1, "YAML: %s %s (line %d)", prob,
                       parser.context, (int)parser.context_mark.line + 1);
      else
        scn_diag_error(c->diag, c->file, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1, "YAML: %s", prob);
      break;
    }
    int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
    n = NULL;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++ndocs > 1) {
        scn_diag_error(c->diag, c->file, line, col,
                       "a scenario file holds one YAML document; found a second one");
        done = 1;
      }
      break;
    case YAML_ALIAS_EVENT:
      scn_diag_error(c->diag, c->file, line, col,
                     "YAML aliases (*%s) are not supported in scenario files",
                     (const char *)ev.data.alias.anchor);
      done = 1;
      break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                  : ev.type == YAML_SEQUENCE_START_EVENT
                                      ? ev.data.sequence_start.anchor
                                      : ev.data.mapping_start.anchor;
      if (anchor) {
        scn_diag_error(c->diag, c->file, line, col,
                       "YAML anchors (&%s) are not supported in scenario files",
                       (const char *)anchor);
        done = 1;
        break;
      }
      if (++nnodes > MAX_NODES) {
        scn_diag_error(c->diag, c->file, line, col,
                       "more than %d values in one file: not a scenario (the longest list "
                       "a parameter takes has %d values)",
                       MAX_NODES, SCN_MAX_EMPIRICAL);
        done = 1;
        break;
      }
      size_t slen = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.length : 0;
      if (slen && memchr(ev.data.scalar.value, 0, slen)) {
        scn_diag_error(c->diag, c->file, line, col, "a value contains a NUL character");
        done = 1;
        break;
      }
      n = sim_calloc(1, sizeof *n + slen + 1); /* scalar text inline, "" for the others */
      if (!n) {
        c->oom = done = 1;
        break;
      }
      n->line = line;
      n->col = col;
      if (ev.type == YAML_SCALAR_EVENT) {
        n->kind = YN_SCALAR;
        memcpy(n->s, ev.data.scalar.value, slen);
        n->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
      } else {
        n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP;
      }
      if (depth == 0) {
        if (root) ynode_free(root); /* cannot happen: one document */
        root = n;
      } else if (ynode_push(stack[depth - 1], n)) {
        ynode_free(n);
        c->oom = done = 1;
        break;
      }
      if (n->kind != YN_SCALAR) {
        if (depth == MAX_DEPTH) {
          scn_diag_error(c->diag, c->file, line, col, "nesting deeper than %d levels", MAX_DEPTH);
          done = 1;
          break;
        }
        stack[depth++] = n;
      }
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (depth > 0) {
        depth--;
        if (stack[depth]->kind == YN_MAP) check_map(c, stack[depth]);
      }
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  if (c->diag->nerrors > nerr0 || c->oom) {
    ynode_free(root);
    return NULL;
  }
  return root;
}

/* ---- parameter targets ------------------------------------------------------------------ */
/* Where parameters are written: the world table and the model table, each
 * over its own struct, with the node that last set each parameter. */
typedef struct target {
  const sim_model_t *model;
  const sim_param_t *tab[2];
  void *base[2];
  const ynode_t **setby[2];
  size_t ntab[2];
} target_t;

static size_t table_len(const sim_param_t *t) {
  size_t n = 0;
  while (t && t[n].path) n++;
  return n;
}

static int target_init(target_t *t, const sim_model_t *m, scn_world_cfg_t *w, void *cfg) {
  memset(t, 0, sizeof *t);
  t->model = m;
  t->tab[0] = world_params;
  t->base[0] = w;
  t->tab[1] = m->params;
  t->base[1] = cfg;
  for (int i = 0; i < 2; i++) {
    t->ntab[i] = table_len(t->tab[i]);
    t->setby[i] = sim_calloc(t->ntab[i] + 1, sizeof *t->setby[i]);
    if (!t->setby[i]) return SIM_ENOMEM;
  }
  return 0;
}

static void target_free(target_t *t) {
  free(t->setby[0]);
  free(t->setby[1]);
}

static const sim_param_t *find_param(const target_t *t, const char *path, void **field,
                                     const ynode_t ***setby) {
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < t->ntab[k]; i++)
      if (!strcmp(t->tab[k][i].path, path)) {
        if (field) *field = (char *)t->base[k] + t->tab[k][i].offset;
        if (setby) *setby = &t->setby[k][i];
        return &t->tab[k][i];
      }
  return NULL;
}

static int is_prefix(const target_t *t, const char *path) {
  size_t n = strlen(path);
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < t->ntab[k]; i++)
      if (!strncmp(t->tab[k][i].path, path, n) && t->tab[k][i].path[n] == '.') return 1;
  return 0;
}

/* buf = " (did you mean 'x', 'y'?)" for the candidates near word, or "". */
static void did_you_mean(const char *word, const char *const *cands, size_t n, char *buf,
                         size_t nbuf) {
  char sug[300];
  buf[0] = 0;
  if (scn_suggest(word, cands, n, 0, sug, sizeof sug))
    snprintf(buf, nbuf, " (did you mean %s?)", sug);
}

/* Candidate names for a suggestion at `prefix`: the next components there,
 * and every full path (so "tasks" at the top suggests "store.tasks"). */
static void suggest_key(const target_t *t, const char *prefix, const char *word, int top,
                        char *buf, size_t nbuf) {
  const char *cands[512];
  char comps[256][64];
  size_t n = 0, nc = 0, plen = prefix ? strlen(prefix) : 0;
  if (top)
    for (size_t i = 0; i < NSPECIAL && n < 512; i++) cands[n++] = special_keys[i];
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < t->ntab[k]; i++) {
      const char *p = t->tab[k][i].path;
      if (n < 512) cands[n++] = p;
      if (plen && (strncmp(p, prefix, plen) || p[plen] != '.')) continue;
      const char *rest = plen ? p + plen + 1 : p;
      size_t cl = strcspn(rest, ".");
      if (nc < 256 && cl < 64 && n < 512) {
        memcpy(comps[nc], rest, cl);
        comps[nc][cl] = 0;
        cands[n++] = comps[nc++];
      }
    }
  did_you_mean(word, cands, n, buf, nbuf);
}

/* ---- model versions ---------------------------------------------------------------------- */
/* A model with versions (sim_model_t.versions: the store's 2003 and 5.5) has
 * parts that exist in some of them only. One parameter picks the version
 * for the whole scenario; a key, fault or fix of a part the version lacks
 * is an error at its line and column. */

/* The row of the model's version parameter in its table, or -1. */
static long version_row(const sim_model_t *m) {
  if (!m || !m->version_param || !m->versions) return -1;
  for (long i = 0; m->params && m->params[i].path; i++)
    if (!strcmp(m->params[i].path, m->version_param)) return i;
  return -1;
}

/* The version a filled config selects (index into m->versions), or -1. */
static int version_index(const sim_model_t *m, const void *cfg) {
  long row = version_row(m);
  if (row < 0) return -1;
  char v[128];
  scn_param_format(&m->params[row], (const char *)cfg + m->params[row].offset, v, sizeof v);
  for (int k = 0; m->versions[k] && k < 32; k++)
    if (!strcmp(v, m->versions[k])) return k;
  return -1;
}

/* "2003" or "2003, 5.5": the versions of mask. */
static void versions_text(const sim_model_t *m, uint32_t mask, char *buf, size_t n) {
  buf[0] = 0;
  for (int k = 0; m->versions[k] && k < 32; k++)
    if (mask & (UINT32_C(1) << k)) {
      size_t l = strlen(buf);
      snprintf(buf + l, n - l, "%s%s", l ? ", " : "", m->versions[k]);
    }
}

/* Whether `mask` (a row of the model's *_versions tables; NULL table: every
 * version) holds the scenario's version; true when it has none. */
static int in_version(const ctx_t *c, const uint32_t *table, size_t row) {
  return c->version < 0 || !table || (table[row] & (UINT32_C(1) << c->version));
}

/* Parameter p of the model (row `row`) was written at node k (NULL: by
 * --set `orig`): an error if its part is not in the scenario's version. */
static void check_key_version(ctx_t *c, const sim_model_t *m, size_t row, const ynode_t *k,
                              const char *orig, const char *where) {
  if (in_version(c, m->param_versions, row)) return;
  char has[200];
  versions_text(m, m->param_versions[row], has, sizeof has);
  if (k)
    ERRAT(c, k, "'%s' is a key of %s %s only; this scenario has %s %s%s", m->params[row].path,
          m->version_param, has, m->version_param, m->versions[c->version], where);
  else
    scn_diag_error(c->diag, "--set", 0, 0, "'%s': '%s' is a key of %s %s only; %s has %s %s", orig,
                   m->params[row].path, m->version_param, has, c->file, m->version_param,
                   m->versions[c->version]);
}

/* The version parameter was written (at node v, or by --set `orig`): its
 * value must name a version. */
static void check_version_value(ctx_t *c, const target_t *t, const sim_param_t *p,
                                const void *field, const ynode_t *v, const char *orig) {
  const sim_model_t *m = t->model;
  long row = version_row(m);
  if (row < 0 || p != &m->params[row]) return;
  char val[128], all[200];
  scn_param_format(p, field, val, sizeof val);
  for (int k = 0; m->versions[k] && k < 32; k++)
    if (!strcmp(val, m->versions[k])) return;
  versions_text(m, UINT32_MAX, all, sizeof all);
  if (v) ERRAT(c, v, "%s: no version '%s' (model '%s' has: %s)", p->path, val, m->name, all);
  else
    scn_diag_error(c->diag, "--set", 0, 0, "'%s': no version '%s' (model '%s' has: %s)", orig, val,
                   m->name, all);
}

/* Parses text into parameter p (written at node v); host OOM sets c->oom
 * instead of filing an input error. */
static void param_parse(ctx_t *c, const sim_param_t *p, const char *text, void *field,
                        const ynode_t *v, const char *path) {
  char err[400];
  int rc = scn_param_parse(p, text, field, err, sizeof err);
  if (rc == SIM_ENOMEM) c->oom = 1;
  else if (rc) ERRAT(c, v, "%s: %s", path, err);
  else if (p->type == SIM_P_FILE && *(char **)field && **(char **)field) {
    /* a path in the file is relative to the file's directory */
    char *f = *(char **)field;
    const char *slash = strrchr(c->file, '/');
    if (f[0] != '/' && slash && strcmp(c->file, "<stdin>")) {
      size_t dl = (size_t)(slash - c->file) + 1, n = dl + strlen(f) + 1;
      char *full = sim_malloc(n);
      if (!full) {
        c->oom = 1;
        return;
      }
      snprintf(full, n, "%.*s%s", (int)dl, c->file, f);
      free(f);
      *(char **)field = f = full;
    }
    if (access(f, R_OK)) ERRAT(c, v, "%s: cannot read '%s': %s", path, f, strerror(errno));
  }
}

/* Writes node v into parameter p. */
static void assign(ctx_t *c, const sim_param_t *p, void *field, const ynode_t *v,
                   const char *path) {
  if (v->kind == YN_SEQ && (p->type == SIM_P_DIST_TIME || p->type == SIM_P_DIST_SIZE ||
                            p->type == SIM_P_DIST_NUM)) {
    /* [1s, 2s, 5s] is empirical(1s, 2s, 5s) */
    size_t len = 16;
    for (size_t i = 0; i < v->n; i++) {
      if (v->kids[i]->kind != YN_SCALAR || is_null(v->kids[i])) {
        ERRAT(c, v->kids[i], "%s: a list of values must hold quantities, not %s", path,
              kind_name(v->kids[i]));
        return;
      }
      len += strlen(v->kids[i]->s) + 2;
    }
    char *txt = sim_malloc(len);
    if (!txt) {
      c->oom = 1;
      return;
    }
    char *w = txt + sprintf(txt, "empirical("); /* not strcat: quadratic in a long list */
    for (size_t i = 0; i < v->n; i++) {
      size_t l = strlen(v->kids[i]->s);
      if (i) *w++ = ',';
      memcpy(w, v->kids[i]->s, l);
      w += l;
    }
    strcpy(w, ")");
    param_parse(c, p, txt, field, v, path);
    free(txt);
    return;
  }
  if (v->kind != YN_SCALAR || is_null(v)) {
    ERRAT(c, v, "%s: expected %s %s, got %s", path,
          p->type == SIM_P_INT ? "an" : "a", scn_ptype_name(p->type), kind_name(v));
    return;
  }
  param_parse(c, p, v->s, field, v, path);
}

static int is_special(const char *k) {
  for (size_t i = 0; i < NSPECIAL; i++)
    if (!strcmp(k, special_keys[i])) return 1;
  return 0;
}

/* Walks mapping m whose keys are relative to prefix (NULL at the top). */
static void walk_params(ctx_t *c, target_t *t, const char *prefix, const ynode_t *m,
                        int top, const char *where) {
  for (size_t i = 0; i + 1 < m->n; i += 2) {
    const ynode_t *k = m->kids[i], *v = m->kids[i + 1];
    char path[256];
    if (top && is_special(k->s)) continue;
    if (snprintf(path, sizeof path, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", k->s) >=
        (int)sizeof path) {
      ERRAT(c, k, "key too long");
      continue;
    }
    void *field;
    const ynode_t **setby;
    const sim_param_t *p = find_param(t, path, &field, &setby);
    if (p) {
      if (*setby) {
        ERRAT(c, k, "'%s' is set twice (first at line %d, column %d)", path, (*setby)->line,
              (*setby)->col);
        continue;
      }
      *setby = k;
      int nerr = c->diag->nerrors;
      assign(c, p, field, v, path);
      if (c->diag->nerrors == nerr) check_version_value(c, t, p, field, v, NULL);
    } else if (is_prefix(t, path)) {
      if (v->kind == YN_MAP) walk_params(c, t, path, v, 0, where);
      else
        ERRAT(c, v, "%s: expected a mapping of %s.* keys, got %s", path, path, kind_name(v));
    } else {
      char sug[400];
      suggest_key(t, prefix, k->s, top, sug, sizeof sug);
      if (prefix)
        ERRAT(c, k, "unknown key '%s' in '%s'%s%s", k->s, prefix, where, sug);
      else
        ERRAT(c, k, "unknown key '%s'%s%s", k->s, where, sug);
    }
  }
}

static void apply_defaults(ctx_t *c, const sim_param_t *tab, void *base) {
  char err[600];
  int rc = scn_params_defaults(tab, base, err, sizeof err);
  if (rc == SIM_ENOMEM) c->oom = 1;
  else if (rc) scn_diag_error(c->diag, c->file, 0, 0, "internal: %s", err);
}

/* Applies one --set; `variant` NULL means the base. */
static void apply_set(ctx_t *c, target_t *t, const char *key, const char *val,
                      const char *orig) {
  char err[400], sug[400];
  void *field;
  const sim_param_t *p = find_param(t, key, &field, NULL);
  if (!p) {
    suggest_key(t, NULL, key, 0, sug, sizeof sug);
    scn_diag_error(c->diag, "--set", 0, 0, "'%s': unknown key '%s'%s", orig, key, sug);
    return;
  }
  char list[300];
  size_t vl = strlen(val);
  if ((p->type == SIM_P_DIST_TIME || p->type == SIM_P_DIST_SIZE || p->type == SIM_P_DIST_NUM) &&
      vl >= 2 && val[0] == '[' && val[vl - 1] == ']') {
    /* [1s, 2s] is empirical(1s, 2s), as in the file */
    snprintf(list, sizeof list, "empirical(%.*s)", (int)(vl - 2), val + 1);
    val = list;
  }
  int rc = scn_param_parse(p, val, field, err, sizeof err);
  if (rc == SIM_ENOMEM) c->oom = 1;
  else if (rc) scn_diag_error(c->diag, "--set", 0, 0, "'%s': %s: %s", orig, key, err);
  else if (p->type == SIM_P_FILE && *val && access(val, R_OK))
    scn_diag_error(c->diag, "--set", 0, 0, "'%s': %s: cannot read '%s': %s", orig, key, val,
                   strerror(errno));
  else check_version_value(c, t, p, field, NULL, orig);
}

static int split_set(const char *s, char *variant, char *key, char *val, size_t n);

/* Every model key set in t (in the file, and by the --set options of
 * `variant`, "" for the base) must be of a part of the scenario's version. */
static void check_keys_version(ctx_t *c, const target_t *t, const scn_load_opts_t *o,
                               const char *variant, const char *where) {
  const sim_model_t *m = t->model;
  if (c->version < 0) return;
  for (size_t i = 0; i < t->ntab[1]; i++)
    if (t->setby[1][i]) check_key_version(c, m, i, t->setby[1][i], NULL, where);
  for (size_t q = 0; o && q < o->nsets; q++) {
    char vn[256], key[256], val[256];
    if (split_set(o->sets[q], vn, key, val, sizeof key) || strcmp(vn, variant)) continue;
    for (size_t i = 0; i < t->ntab[1]; i++)
      if (!strcmp(t->tab[1][i].path, key)) check_key_version(c, m, i, NULL, o->sets[q], where);
  }
}

/* Splits "[variant:]key=value". Returns 0 or -1 (malformed). */
static int split_set(const char *s, char *variant, char *key, char *val, size_t n) {
  const char *eq = strchr(s, '=');
  if (!eq || eq == s) return -1;
  size_t kl = (size_t)(eq - s);
  const char *colon = memchr(s, ':', kl);
  variant[0] = 0;
  if (colon) {
    if ((size_t)(colon - s) >= n) return -1;
    memcpy(variant, s, (size_t)(colon - s));
    variant[colon - s] = 0;
    s = colon + 1;
    kl = (size_t)(eq - s);
  }
  if (kl == 0 || kl >= n || strlen(eq + 1) >= n) return -1;
  memcpy(key, s, kl);
  key[kl] = 0;
  strcpy(val, eq + 1);
  while (kl && isspace((unsigned char)key[kl - 1])) key[--kl] = 0;
  return 0;
}

/* ---- scenario --------------------------------------------------------------------------- */
static const ynode_t *map_get(const ynode_t *m, const char *key) {
  for (size_t i = 0; m && m->kind == YN_MAP && i + 1 < m->n; i += 2)
    if (!strcmp(m->kids[i]->s, key)) return m->kids[i + 1];
  return NULL;
}

static const ynode_t *map_key(const ynode_t *m, const char *key) {
  for (size_t i = 0; m && m->kind == YN_MAP && i + 1 < m->n; i += 2)
    if (!strcmp(m->kids[i]->s, key)) return m->kids[i];
  return NULL;
}

static char *get_string(ctx_t *c, const ynode_t *root, const char *key, int required) {
  const ynode_t *v = map_get(root, key);
  if (!v) {
    if (required) scn_diag_error(c->diag, c->file, 0, 0, "missing required key '%s'", key);
    return NULL;
  }
  if (v->kind != YN_SCALAR || is_null(v)) {
    ERRAT(c, v, "%s: expected a string, got %s", key, kind_name(v));
    return NULL;
  }
  char *s = sim_strdup(v->s);
  if (!s) c->oom = 1;
  return s;
}

static int valid_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
  return 1;
}

static void free_variant(const sim_model_t *m, scn_variant_t *v) {
  free(v->name);
  free(v->description);
  if (v->cfg) {
    if (m && m->config_free) m->config_free(v->cfg);
    else if (m) scn_params_free(m->params, v->cfg);
    free(v->cfg);
  }
  for (size_t i = 0; i < v->nexpects; i++) {
    free(v->expects[i].text);
    free(v->expects[i].not_live);
    scn_expr_free(v->expects[i].expr);
  }
  free(v->expects);
}

void scn_scenario_free(scn_scenario_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nvariants; i++) free_variant(s->model, &s->variants[i]);
  free(s->variants);
  free(s->faults);
  free(s->file);
  free(s->id);
  free(s->title);
  free(s->source);
  free(s->description);
  free(s->text);
  for (size_t i = 0; i < s->nsets; i++) free(s->sets[i]);
  free(s->sets);
  free(s);
}

const scn_variant_t *scn_variant_find(const scn_scenario_t *s, const char *name) {
  for (size_t i = 0; i < s->nvariants; i++)
    if (!strcmp(s->variants[i].name, name)) return &s->variants[i];
  return NULL;
}

static int fault_cmp(const void *a, const void *b) {
  const sim_fault_t *x = a, *y = b;
  return x->at < y->at ? -1 : x->at > y->at;
}

static void load_faults(ctx_t *c, scn_scenario_t *s, const ynode_t *fl) {
  static const char *const fkeys[] = {"at", "action", "timeout"};
  const sim_fault_kind_t *fk = s->model->faults;
  size_t nk = 0;
  while (fk && fk[nk].name) nk++;
  if (!fl || is_null(fl)) return;
  if (fl->kind != YN_SEQ) {
    ERRAT(c, fl, "faults: expected a list of {at, action} entries, got %s", kind_name(fl));
    return;
  }
  s->faults = sim_calloc(fl->n ? fl->n : 1, sizeof *s->faults);
  if (!s->faults) {
    c->oom = 1;
    return;
  }
  for (size_t i = 0; i < fl->n; i++) {
    const ynode_t *f = fl->kids[i];
    sim_fault_t out = {0, -1, 0};
    char err[400];
    if (f->kind != YN_MAP) {
      ERRAT(c, f, "faults: each entry is a mapping {at: 30m, action: NAME}, got %s", kind_name(f));
      continue;
    }
    for (size_t j = 0; j + 1 < f->n; j += 2) {
      const ynode_t *k = f->kids[j], *v = f->kids[j + 1];
      if (!strcmp(k->s, "at") || !strcmp(k->s, "timeout")) {
        sim_time_t t;
        if (v->kind != YN_SCALAR || is_null(v))
          ERRAT(c, v, "faults: %s: expected a duration, got %s", k->s, kind_name(v));
        else if (scn_parse_duration(v->s, &t, err, sizeof err))
          ERRAT(c, v, "faults: %s: %s", k->s, err);
        else if (k->s[0] == 'a') out.at = t;
        else out.timeout = t;
      } else if (!strcmp(k->s, "action")) {
        if (v->kind != YN_SCALAR || is_null(v)) {
          ERRAT(c, v, "faults: action: expected a fault name, got %s", kind_name(v));
          continue;
        }
        const char *names[64];
        size_t nn = 0;
        for (size_t q = 0; q < nk; q++) {
          if (!strcmp(fk[q].name, v->s)) out.kind = (int)q;
          if (nn < 64) names[nn++] = fk[q].name;
        }
        if (out.kind >= 0 && !in_version(c, s->model->fault_versions, (size_t)out.kind)) {
          char has[200];
          versions_text(s->model, s->model->fault_versions[out.kind], has, sizeof has);
          ERRAT(c, v, "fault '%s' is of a part of %s %s only; this scenario has %s %s", v->s,
                s->model->version_param, has, s->model->version_param,
                s->model->versions[c->version]);
          out.kind = -2;
        }
        if (out.kind == -1) {
          char sug[300], all[600] = "";
          for (size_t q = 0; q < nn; q++) {
            size_t l = strlen(all);
            snprintf(all + l, sizeof all - l, "%s%s", q ? " " : "", names[q]);
          }
          if (scn_suggest(v->s, names, nn, 0, sug, sizeof sug))
            ERRAT(c, v, "unknown fault '%s' (did you mean %s?)", v->s, sug);
          else
            ERRAT(c, v, "unknown fault '%s' (model '%s' knows: %s)", v->s, s->model->name,
                  nn ? all : "none");
          out.kind = -2;
        }
      } else {
        char sug[320];
        did_you_mean(k->s, fkeys, 3, sug, sizeof sug);
        ERRAT(c, k, "unknown key '%s' in a fault (keys: at, action, timeout)%s", k->s, sug);
      }
    }
    if (!map_get(f, "at")) ERRAT(c, f, "fault: missing 'at' (when it happens, e.g. at: 30m)");
    if (!map_get(f, "action")) ERRAT(c, f, "fault: missing 'action' (what happens)");
    if (out.kind >= 0) {
      if (out.at > s->world.duration && s->world.duration > 0) {
        char a[64], d[64];
        scn_format_duration(out.at, a, sizeof a);
        scn_format_duration(s->world.duration, d, sizeof d);
        ERRAT(c, map_get(f, "at"), "fault at %s is after the end of the run (duration %s)", a, d);
      }
      s->faults[s->nfaults++] = out;
    }
  }
  /* stable: equal times keep file order */
  for (size_t i = 1; i < s->nfaults; i++)
    for (size_t j = i; j > 0 && fault_cmp(&s->faults[j - 1], &s->faults[j]) > 0; j--) {
      sim_fault_t t = s->faults[j];
      s->faults[j] = s->faults[j - 1];
      s->faults[j - 1] = t;
    }
}

static void check_world(ctx_t *c, const scn_world_cfg_t *w, const char *vname) {
  if (w->duration <= 0) return; /* reported as missing */
  if (w->sample_interval > 0 && w->duration / w->sample_interval > 2000000) {
    char a[64], b[64];
    scn_format_duration(w->sample_interval, a, sizeof a);
    scn_format_duration(w->duration, b, sizeof b);
    scn_diag_error(c->diag, c->file, 0, 0,
                   "%s%s%ssample_interval %s over %s makes more than 2,000,000 samples per metric",
                   vname ? "variant " : "", vname ? vname : "", vname ? ": " : "", a, b);
  }
}

static void load_variants(ctx_t *c, scn_scenario_t *s, const ynode_t *root, const void *basecfg,
                          const scn_load_opts_t *o) {
  static const char *const vkeys[] = {"fixes", "set", "description"};
  const ynode_t *vs = map_get(root, "variants"), *vk = map_key(root, "variants");
  const char *const *fixes = s->model->fixes;
  size_t nfixes = 0;
  while (fixes && fixes[nfixes]) nfixes++;
  if (!vs) {
    scn_diag_error(c->diag, c->file, 0, 0,
                   "missing required key 'variants' (at least without_fix and with_fix)");
    return;
  }
  if (vs->kind != YN_MAP) {
    ERRAT(c, vs, "variants: expected a mapping name -> {fixes: [...], set: {...}}, got %s",
          kind_name(vs));
    return;
  }
  if (vs->n / 2 > SCN_MAX_VARIANTS) {
    /* each variant is a whole run: 20,000 of them ran for minutes */
    ERRAT(c, vs->kids[2 * SCN_MAX_VARIANTS],
          "variants: at most %d in one scenario (this is number %d)", SCN_MAX_VARIANTS,
          SCN_MAX_VARIANTS + 1);
    return;
  }
  s->variants = sim_calloc(vs->n / 2 + 1, sizeof *s->variants);
  if (!s->variants) {
    c->oom = 1;
    return;
  }
  for (size_t i = 0; i + 1 < vs->n; i += 2) {
    const ynode_t *k = vs->kids[i], *v = vs->kids[i + 1];
    scn_variant_t *var = &s->variants[s->nvariants];
    if (!valid_name(k->s)) {
      ERRAT(c, k, "variant name '%s': use letters, digits, '_', '-' and '.'", k->s);
      continue;
    }
    var->name = sim_strdup(k->s);
    var->world = s->world;
    var->cfg = scn_params_dup(s->model->params, basecfg, s->model->config_size);
    if (!var->name || !var->cfg) {
      free(var->name);
      free(var->cfg);
      var->name = NULL;
      var->cfg = NULL;
      c->oom = 1;
      return;
    }
    s->nvariants++;
    if (!is_null(v) && v->kind != YN_MAP) {
      ERRAT(c, v, "variant '%s': expected a mapping {fixes: [...], set: {...}}, got %s", k->s,
            kind_name(v));
      continue;
    }
    target_t t;
    if (target_init(&t, s->model, &var->world, var->cfg)) {
      target_free(&t);
      c->oom = 1;
      return;
    }
    for (size_t j = 0; !is_null(v) && j + 1 < v->n; j += 2) {
      const ynode_t *vk2 = v->kids[j], *vv = v->kids[j + 1];
      if (!strcmp(vk2->s, "fixes")) {
        if (is_null(vv)) continue;
        if (vv->kind != YN_SEQ) {
          ERRAT(c, vv, "variant '%s': fixes: expected a list such as [kb924567], got %s", k->s,
                kind_name(vv));
          continue;
        }
        for (size_t f = 0; f < vv->n; f++) {
          const ynode_t *fx = vv->kids[f];
          size_t q;
          if (fx->kind != YN_SCALAR || is_null(fx)) {
            ERRAT(c, fx, "variant '%s': fixes: expected a fix name, got %s", k->s, kind_name(fx));
            continue;
          }
          for (q = 0; q < nfixes; q++)
            if (!strcmp(fixes[q], fx->s)) break;
          if (q == nfixes) {
            char sug[300];
            if (scn_suggest(fx->s, fixes, nfixes, 0, sug, sizeof sug))
              ERRAT(c, fx, "unknown fix '%s' (did you mean %s?)", fx->s, sug);
            else if (nfixes)
              ERRAT(c, fx, "unknown fix '%s' (model '%s' knows: %s%s%s%s%s)", fx->s, s->model->name,
                    fixes[0], nfixes > 1 ? " " : "", nfixes > 1 ? fixes[1] : "",
                    nfixes > 2 ? " " : "", nfixes > 2 ? fixes[2] : "");
            else
              ERRAT(c, fx, "unknown fix '%s' (model '%s' has no fixes)", fx->s, s->model->name);
          } else if (!in_version(c, s->model->fix_versions, q)) {
            char has[200];
            versions_text(s->model, s->model->fix_versions[q], has, sizeof has);
            ERRAT(c, fx,
                  "variant '%s': fix '%s' is of a part of %s %s only; this scenario has %s %s",
                  k->s, fx->s, s->model->version_param, has, s->model->version_param,
                  s->model->versions[c->version]);
          } else if (q < 64) {
            var->fixes |= (uint64_t)1 << q;
          }
        }
      } else if (!strcmp(vk2->s, "set")) {
        if (is_null(vv)) continue;
        if (vv->kind != YN_MAP) {
          ERRAT(c, vv, "variant '%s': set: expected a mapping of parameters, got %s", k->s,
                kind_name(vv));
          continue;
        }
        char where[300];
        snprintf(where, sizeof where, " (in variant '%s' set)", k->s);
        walk_params(c, &t, NULL, vv, 0, where);
      } else if (!strcmp(vk2->s, "description")) {
        if (vv->kind != YN_SCALAR || is_null(vv)) {
          ERRAT(c, vv, "variant '%s': description: expected a string, got %s", k->s, kind_name(vv));
        } else {
          free(var->description);
          var->description = sim_strdup(vv->s);
          if (!var->description) c->oom = 1;
        }
      } else {
        char sug[320];
        did_you_mean(vk2->s, vkeys, 3, sug, sizeof sug);
        ERRAT(c, vk2, "unknown key '%s' in variant '%s' (keys: fixes, set, description)%s",
              vk2->s, k->s, sug);
      }
    }
    /* per-variant overrides from the command line */
    for (size_t q = 0; o && q < o->nsets; q++) {
      char vn[256], key[256], val[256];
      if (split_set(o->sets[q], vn, key, val, sizeof key) == 0 && vn[0] &&
          !strcmp(vn, var->name))
        apply_set(c, &t, key, val, o->sets[q]);
    }
    /* the version is the whole scenario's: a variant compares fixes, not
     * products */
    long vrow = version_row(s->model);
    if (vrow >= 0 && c->version >= 0 && version_index(s->model, var->cfg) != c->version) {
      const ynode_t *at = t.setby[1][vrow];
      if (at)
        ERRAT(c, at,
              "variant '%s': %s is the whole scenario's (it selects the model's parts); "
              "set it at the top, not in a variant",
              k->s, s->model->version_param);
      else
        scn_diag_error(c->diag, "--set", 0, 0,
                       "variant '%s': %s is the whole scenario's; set it for every variant "
                       "(--set %s=...)",
                       k->s, s->model->version_param, s->model->version_param);
    } else {
      char where[300];
      snprintf(where, sizeof where, " (in variant '%s' set)", k->s);
      check_keys_version(c, &t, o, var->name, where);
    }
    target_free(&t);
    check_world(c, &var->world, var->name);
  }
  int have[2] = {0, 0};
  for (size_t i = 0; i < s->nvariants; i++) {
    if (!strcmp(s->variants[i].name, "without_fix")) have[0] = 1;
    if (!strcmp(s->variants[i].name, "with_fix")) have[1] = 1;
  }
  for (int i = 0; i < 2; i++)
    if (!have[i])
      ERRAT(c, vk, "variants: missing '%s' (every scenario declares without_fix and with_fix)",
            i ? "with_fix" : "without_fix");
  for (size_t q = 0; o && q < o->nsets; q++) {
    char vn[256], key[256], val[256];
    if (split_set(o->sets[q], vn, key, val, sizeof key) == 0 && vn[0] &&
        !scn_variant_find(s, vn))
      scn_diag_error(c->diag, "--set", 0, 0, "'%s': no variant '%s' in %s", o->sets[q], vn,
                     c->file);
  }
}

typedef struct refcheck {
  ctx_t *c;
  const scn_scenario_t *s;
  const ynode_t *node;
  int coloff;
} refcheck_t;

static int check_ref(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  refcheck_t *r = arg;
  if (kind != SCN_REF_PARAM) return 0;
  target_t t;
  scn_world_cfg_t w;
  memset(&t, 0, sizeof t);
  t.tab[0] = world_params;
  t.tab[1] = r->s->model->params;
  t.ntab[0] = table_len(t.tab[0]);
  t.ntab[1] = table_len(t.tab[1]);
  t.base[0] = &w;
  t.base[1] = NULL;
  if (find_param(&t, name, NULL, NULL)) return 0;
  char sug[400];
  suggest_key(&t, NULL, name, 0, sug, sizeof sug);
  scn_diag_error(r->c->diag, r->c->file, r->node->line, r->node->col + r->coloff + pos,
                 "unknown parameter '$%s'%s", name, sug);
  return 0;
}

static void load_expect(ctx_t *c, scn_scenario_t *s, const ynode_t *root) {
  const ynode_t *ex = map_get(root, "expect");
  if (!ex || is_null(ex)) return;
  if (ex->kind != YN_MAP) {
    ERRAT(c, ex, "expect: expected a mapping variant -> list of expressions, got %s",
          kind_name(ex));
    return;
  }
  for (size_t i = 0; i + 1 < ex->n; i += 2) {
    const ynode_t *k = ex->kids[i], *v = ex->kids[i + 1];
    scn_variant_t *var = NULL;
    for (size_t j = 0; j < s->nvariants; j++)
      if (!strcmp(s->variants[j].name, k->s)) var = &s->variants[j];
    if (!var) {
      const char *names[256];
      size_t nn = 0;
      char sug[300];
      for (size_t j = 0; j < s->nvariants && nn < 256; j++) names[nn++] = s->variants[j].name;
      if (scn_suggest(k->s, names, nn, 0, sug, sizeof sug))
        ERRAT(c, k, "expect: no variant '%s' (did you mean %s?)", k->s, sug);
      else
        ERRAT(c, k, "expect: no variant '%s' is declared under variants", k->s);
      continue;
    }
    const ynode_t *const *items = (const ynode_t *const *)&v;
    size_t nitems = 1;
    if (v->kind == YN_SEQ) items = (const ynode_t *const *)v->kids, nitems = v->n;
    else if (v->kind != YN_SCALAR || is_null(v)) {
      ERRAT(c, v, "expect: %s: expected a list of expressions, got %s", k->s, kind_name(v));
      continue;
    }
    scn_expect_t *nx = sim_realloc(var->expects, (var->nexpects + nitems + 1) * sizeof *nx);
    if (!nx) {
      c->oom = 1;
      return;
    }
    var->expects = nx;
    for (size_t j = 0; j < nitems; j++) {
      const ynode_t *it = items[j], *reason = NULL;
      char err[400];
      int pos;
      scn_expr_t *e;
      if (it->kind == YN_MAP) { /* {expect: EXPR, not_live: REASON} */
        const ynode_t *m = it;
        int bad = 0;
        for (size_t q = 0; q + 1 < m->n; q += 2) {
          const char *mk = m->kids[q]->s;
          if (strcmp(mk, "expect") && strcmp(mk, "not_live")) {
            static const char *const xkeys[] = {"expect", "not_live"};
            char sug[320];
            did_you_mean(mk, xkeys, 2, sug, sizeof sug);
            ERRAT(c, m->kids[q], "expect: %s: unknown key '%s' (keys: expect, not_live)%s", k->s,
                  mk, sug);
            bad = 1;
          }
        }
        it = map_get(m, "expect");
        reason = map_get(m, "not_live");
        if (!it) {
          ERRAT(c, m, "expect: %s: a mapping needs 'expect: EXPRESSION'", k->s);
          continue;
        }
        if (!bad && (!reason || reason->kind != YN_SCALAR || is_null(reason))) {
          ERRAT(c, reason ? reason : m,
                "expect: %s: not_live: expected the reason the expectation cannot hold on the "
                "threads backend, got %s",
                k->s, reason ? kind_name(reason) : "nothing");
          bad = 1;
        }
        if (bad) continue;
      }
      if (it->kind != YN_SCALAR || is_null(it)) {
        ERRAT(c, it, "expect: %s: expected an expression string, got %s", k->s, kind_name(it));
        continue;
      }
      int erc = scn_expr_parse(it->s, &e, err, sizeof err, &pos);
      if (erc == SIM_ENOMEM) {
        c->oom = 1;
        return;
      }
      if (erc) {
        scn_diag_error(c->diag, c->file, it->line, it->col + it->quoted + pos, "expect: %s", err);
        continue;
      }
      refcheck_t rc = {c, s, it, it->quoted};
      scn_expr_visit(e, check_ref, &rc);
      scn_expect_t *x = &var->expects[var->nexpects++];
      x->text = sim_strdup(it->s);
      x->line = it->line;
      x->col = it->col + it->quoted;
      x->expr = e;
      x->not_live = reason ? sim_strdup(reason->s) : NULL;
      if (!x->text || (reason && !x->not_live)) c->oom = 1;
    }
  }
}

static void load_tree(ctx_t *c, const ynode_t *root, const scn_load_opts_t *o,
                      scn_scenario_t *s) {
  void *cfg = NULL;
  target_t t = {0};
  const ynode_t *mv = map_get(root, "model");
  const char *mname = "store";
  size_t nmodels;
  const sim_model_t *const *models = scn_models(&nmodels);

  if (mv) {
    if (mv->kind != YN_SCALAR || is_null(mv)) {
      ERRAT(c, mv, "model: expected a model name, got %s", kind_name(mv));
      return;
    }
    mname = mv->s;
  }
  s->model = c->model ? c->model : scn_model_find(mname);
  if (!s->model) {
    const char *names[16];
    char sug[200], all[200] = "";
    for (size_t i = 0; i < nmodels && i < 16; i++) {
      names[i] = models[i]->name;
      size_t l = strlen(all);
      snprintf(all + l, sizeof all - l, "%s%s", i ? " " : "", models[i]->name);
    }
    scn_suggest(mname, names, nmodels < 16 ? nmodels : 16, 0, sug, sizeof sug);
    if (mv)
      ERRAT(c, mv, "unknown model '%s'%s%s%s (this storesim knows: %s)", mname, sug[0] ? " (did you mean " : "",
            sug, sug[0] ? "?)" : "", all);
    else
      scn_diag_error(c->diag, c->file, 0, 0,
                     "no 'model' key and the default model 'store' is not built into this "
                     "storesim (it knows: %s)", all);
    return;
  }
  s->id = get_string(c, root, "id", 1);
  s->title = get_string(c, root, "title", 1);
  s->source = get_string(c, root, "source", 0);
  s->description = get_string(c, root, "description", 0);
  if (s->id && !valid_name(s->id))
    ERRAT(c, map_get(root, "id"), "id '%s': use letters, digits, '_', '-' and '.'", s->id);

  cfg = sim_calloc(1, s->model->config_size ? s->model->config_size : 1);
  if (!cfg || target_init(&t, s->model, &s->world, cfg)) {
    c->oom = 1;
    goto done;
  }
  apply_defaults(c, world_params, &s->world);
  apply_defaults(c, s->model->params, cfg);
  walk_params(c, &t, NULL, root, 1, "");
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < t.ntab[k]; i++)
      if (!t.tab[k][i].def && !t.setby[k][i]) {
        const sim_param_t *p = &t.tab[k][i];
        scn_diag_error(c->diag, c->file, 0, 0, "missing required key '%s' (a %s): %s", p->path,
                       scn_ptype_name(p->type), p->doc);
      }
  for (size_t q = 0; o && q < o->nsets; q++) {
    char vn[256], key[256], val[256];
    if (split_set(o->sets[q], vn, key, val, sizeof key))
      scn_diag_error(c->diag, "--set", 0, 0, "'%s': expected key=value or variant:key=value",
                     o->sets[q]);
    else if (!vn[0])
      apply_set(c, &t, key, val, o->sets[q]);
  }
  c->version = version_index(s->model, cfg);
  check_keys_version(c, &t, o, "", "");
  check_world(c, &s->world, NULL);
  load_faults(c, s, map_get(root, "faults"));
  if (c->diag->nerrors == 0) load_variants(c, s, root, cfg, o);
  if (c->diag->nerrors == 0) load_expect(c, s, root);
done:
  target_free(&t);
  if (cfg) {
    if (s->model->config_free) s->model->config_free(cfg);
    else scn_params_free(s->model->params, cfg);
    free(cfg);
  }
}

int scn_load_buffer(const char *name, const char *text, size_t len,
                    const scn_load_opts_t *o, scn_scenario_t **out, scn_diag_t *diag) {
  return scn_load_buffer_model(NULL, name, text, len, o, out, diag);
}

int scn_load_buffer_model(const sim_model_t *model, const char *name, const char *text, size_t len,
                          const scn_load_opts_t *o, scn_scenario_t **out, scn_diag_t *diag) {
  ctx_t c = {name, diag, 0, model, -1};
  int nerr0 = diag->nerrors, rc = 0;
  scn_scenario_t *s = NULL;
  ynode_t *root = NULL;
  const char *nul;

  *out = NULL;
  if ((nul = memchr(text, 0, len))) {
    int line = 1, col = 1;
    for (const char *p = text; p < nul; p++) {
      if (*p == '\n') line++, col = 1;
      else col++;
    }
    scn_diag_error(diag, name, line, col,
                   "binary data (a NUL byte): a scenario is a YAML text file");
    return SIM_EINVAL;
  }
  {
    /* libyaml would say "incomplete UTF-16 character" or the like */
    int line = 1, col = 1;
    for (size_t i = 0; i < len;) {
      unsigned char ch = (unsigned char)text[i];
      size_t n = ch < 0x80 ? 1 : (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3
                 : (ch & 0xF8) == 0xF0 ? 4 : 0;
      int ok = n > 0 && i + n <= len && !(n == 2 && ch < 0xC2);
      for (size_t k = 1; ok && k < n; k++) ok = ((unsigned char)text[i + k] & 0xC0) == 0x80;
      if (!ok) {
        scn_diag_error(diag, name, line, col,
                       "invalid UTF-8 (byte 0x%02x): a scenario is a UTF-8 YAML text file", ch);
        return SIM_EINVAL;
      }
      if (ch == '\n') line++, col = 1;
      else col++;
      i += n;
    }
  }
  root = build_tree(&c, text, len);
  if (c.oom) goto oom;
  if (diag->nerrors > nerr0) return SIM_EINVAL;
  if (!root || is_null(root)) {
    scn_diag_error(diag, name, 0, 0, "empty scenario file (expected a mapping with id, title, "
                   "duration, variants, expect, ...)");
    goto fail;
  }
  if (root->kind != YN_MAP) {
    ERRAT(&c, root, "expected a mapping of scenario keys (id, title, duration, ...), got %s",
          kind_name(root));
    goto fail;
  }
  s = sim_calloc(1, sizeof *s);
  if (!s || !(s->file = sim_strdup(name)) || !(s->text = sim_strndup(text, len))) goto oom;
  s->ntext = len;
  if (o && o->nsets) {
    if (!(s->sets = sim_calloc(o->nsets, sizeof *s->sets))) goto oom;
    for (; s->nsets < o->nsets; s->nsets++)
      if (!(s->sets[s->nsets] = sim_strdup(o->sets[s->nsets]))) goto oom;
  }
  load_tree(&c, root, o, s);
  if (c.oom) goto oom;
  if (diag->nerrors > nerr0) goto fail;
  ynode_free(root);
  *out = s;
  return 0;
oom:
  scn_diag_error(diag, name, 0, 0, "out of host memory");
  rc = SIM_ENOMEM;
fail:
  ynode_free(root);
  scn_scenario_free(s);
  return rc ? rc : SIM_EINVAL;
}

int scn_load(const char *path, const scn_load_opts_t *o, scn_scenario_t **out,
             scn_diag_t *diag) {
  struct stat st;
  FILE *f = NULL;
  char *buf = NULL;
  size_t len = 0;
  int rc;

  *out = NULL;
  if (!strcmp(path, "-")) { /* standard input, read to its end */
    path = "<stdin>";
    f = stdin;
  } else if (stat(path, &st) != 0) {
    scn_diag_error(diag, path, 0, 0, "cannot open: %s", strerror(errno));
    return SIM_EINVAL;
  }
  if (!f && S_ISDIR(st.st_mode)) {
    scn_diag_error(diag, path, 0, 0,
                   "is a directory (give scenario files; `storesim check DIR` runs a directory)");
    return SIM_EINVAL;
  }
  if (!f && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    scn_diag_error(diag, path, 0, 0, "not a regular file");
    return SIM_EINVAL;
  }
  if (!f && !(f = fopen(path, "rb"))) {
    scn_diag_error(diag, path, 0, 0, "cannot open: %s", strerror(errno));
    return SIM_EINVAL;
  }
  buf = sim_malloc(MAX_FILE + 1);
  if (!buf) {
    if (f != stdin) fclose(f);
    scn_diag_error(diag, path, 0, 0, "out of host memory");
    return SIM_ENOMEM;
  }
  len = fread(buf, 1, MAX_FILE + 1, f);
  if (ferror(f)) {
    scn_diag_error(diag, path, 0, 0, "cannot read: %s", strerror(errno ? errno : EIO));
    rc = SIM_EINVAL;
    goto done;
  }
  if (len > MAX_FILE) {
    scn_diag_error(diag, path, 0, 0, "file larger than %u MiB: not a scenario", MAX_FILE >> 20);
    rc = SIM_EINVAL;
    goto done;
  }
  rc = scn_load_buffer(path, buf, len, o, out, diag);
done:
  if (f != stdin) fclose(f);
  free(buf);
  return rc;
}
