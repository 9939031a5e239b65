/*
 * storesim shrink: the smallest run that still fails the same way.
 *
 * Given a failing run (scenario file, variant, world seed, scheduler), the
 * command classifies its failure and then reduces the run while the same
 * failure still occurs, as Hypothesis shrinks a counterexample and as
 * delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
 * Failure-Inducing Input", TSE 2002) minimises a failing input:
 *
 *   (a) scheduling: the decisions that differ from fifo's, by ddmin. The run
 *       is replayed leniently (sched.c: a "# storesim deviations v1" log):
 *       every decision not listed takes fifo's choice, a listed one whose
 *       thread is not a candidate is skipped, and deviations are keyed by
 *       context (the k-th decision whose fifo choice is thread X at op Y),
 *       so a deviation keeps its meaning when others are removed;
 *   (b) the scenario's faults, by ddmin;
 *   (c) the duration, by bisection on the end time (1 ms grid);
 *   (d) every parameter the model marks shrinkable (sim_param_t.shrinkable),
 *       by bisection toward its range's minimum;
 * in rounds until a round changes nothing (a fixed point) or the run budget
 * is spent. Every candidate is a whole scenario text: the original file's
 * libyaml document with edits (the variant's `set` gets seed, duration and
 * parameters; the fault list loses entries), emitted and loaded like any
 * file, and run in a forked child process (a crash or a wall-clock limit
 * is a result, not the end of the shrink).
 *
 * The failure signature: its kind (crash, limit, deadlock, hang, spin,
 * misuse, a model report's name such as exhaustion, lock-order, expect), and
 * its objects (the signal, the limit, the lock classes of a deadlock or
 * lock-order report, the expectation's text). Without --failure or --expect
 * the target is the first of the original run's failures in that order.
 * A candidate fails the same way when it has an item of the same kind and
 * objects and no crash or limit the target does not have.
 *
 * Outputs, whole or not at all (tools/outfile.c): DIR/min.yaml (the
 * scenario, every variant kept, the shrunk one's `set` carrying the shrunk
 * values), DIR/min.log (the decision log of the shrunk run: `--sched
 * replay:DIR/min.log` replays it; its "#dev" lines are its deviations from
 * fifo) and DIR/account.txt (also printed): what was removed and how many
 * runs it took. Before they are written, min.yaml with min.log is replayed
 * (plain replay) and must fail the same way.
 *
 * Exit status: 0 shrunk, 1 the run does not fail, 2 usage or input error,
 * 3 internal error (a replay that does not reproduce), 130 interrupted
 * (nothing written).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "storesim/alloc.h"
#include "storesim/detect.h"
#include "storesim/scenario.h"
#include "storesim_cli.h"

/* ---- options ------------------------------------------------------------------------------ */
typedef struct shrink_args {
  const char *variant, *sched, *outdir, *expect, *failure;
  uint64_t seed;
  int have_seed;
  sim_time_t duration;
  cli_list_t sets, keep;
  uint64_t max_runs;
  double wall_limit;
} shrink_args_t;

static void shrink_init(void *p) {
  shrink_args_t *a = p;
  a->max_runs = 2000;
  a->wall_limit = 600;
}

static int parse_seed(const char *val, void *target, char *why, size_t nwhy) {
  shrink_args_t *a = target;
  if (cli_parse_u64(val, 0, UINT64_MAX, &a->seed, why, nwhy)) return -1;
  a->have_seed = 1;
  return 0;
}

#define OFF(field) offsetof(shrink_args_t, field)
static const cli_opt_t opt_variant = {.name = "variant",
                                      .arg = "NAME",
                                      .help = "the variant whose run fails (required)",
                                      .type = CLI_STR,
                                      .off = OFF(variant)};
static const cli_opt_t opt_seed = {.name = "seed",
                                   .arg = "N",
                                   .help = "the run's root seed (default: the variant's)",
                                   .type = CLI_FN,
                                   .off = 0,
                                   .parse = parse_seed};
static const cli_opt_t opt_sched = {.name = "sched",
                                    .arg = "POLICY",
                                    .help = "the run's scheduler: fifo (default), random:SEED, "
                                            "pct:SEED:DEPTH[:STEPS], replay:FILE",
                                    .type = CLI_STR,
                                    .off = OFF(sched)};
static const cli_opt_t opt_duration = {
    .name = "duration",
    .arg = "D",
    .help = "the run's virtual time instead of the scenario's (the shrink starts from it)",
    .type = CLI_DURATION,
    .off = OFF(duration)};
static const cli_opt_t opt_set = {.name = "set",
                                  .arg = "KEY=VALUE",
                                  .help = "override a scenario key (repeatable; VARIANT:KEY=VALUE "
                                          "for one variant); min.yaml carries it",
                                  .type = CLI_LIST,
                                  .off = OFF(sets)};
static const cli_opt_t opt_keep = {.name = "keep",
                                   .arg = "PARAM",
                                   .help = "do not shrink this parameter (repeatable): "
                                           "--keep store.tasks asks for the fewest moves that "
                                           "exhaust that many tasks",
                                   .type = CLI_LIST,
                                   .off = OFF(keep)};
static const cli_opt_t opt_output = {.name = "output",
                                     .abbr = 'o',
                                     .arg = "DIR",
                                     .help = "where min.yaml, min.log and account.txt go "
                                             "(default ./shrunk-ID-VARIANT-SEED; created)",
                                     .type = CLI_STR,
                                     .off = OFF(outdir)};
static const cli_opt_t opt_expect = {
    .name = "expect",
    .arg = "EXPR",
    .help = "the failure is this expectation failing (added to the variant's expectations, "
            "and to min.yaml's): the property whose smallest counterexample is wanted",
    .type = CLI_STR,
    .off = OFF(expect)};
static const cli_opt_t opt_failure = {
    .name = "failure",
    .arg = "KIND",
    .help = "which of the run's failures to keep: crash, limit, deadlock, hang, spin, misuse, "
            "lock-order, expect, or a model report's name such as exhaustion (default: the "
            "first of the run's in that order, model reports before lock-order)",
    .type = CLI_STR,
    .off = OFF(failure)};
static const cli_opt_t opt_max_runs = {.name = "max-runs",
                                       .arg = "N",
                                       .help = "run budget: stop shrinking after N runs and write "
                                               "the smallest failing run found (default 2000)",
                                       .type = CLI_U64,
                                       .off = OFF(max_runs),
                                       .min = 2,
                                       .max = 100000000};
static const cli_opt_t opt_wall_limit = {
    .name = "wall-limit",
    .arg = "S",
    .help = "host seconds one run may take (default 600; 0: none); a run over it is a limit",
    .type = CLI_SECONDS,
    .off = OFF(wall_limit)};

static int shrink_main(void *opts, char **args, size_t nargs);

const cli_cmd_t cli_cmd_shrink = {
    .name = "shrink",
    .args = "FILE",
    .summary = "reduce a failing run to the smallest one that fails the same way",
    .about = "Runs the failing run (FILE, --variant, --seed, --sched), classifies its failure (an "
             "expectation that fails, a detector report with the objects it names, a crash or a "
             "limit) and reduces the run while the same failure still occurs: the scheduling "
             "decisions that differ from fifo's (delta debugging over the decision log, "
             "replayed leniently), the faults, the duration (bisection on the end time) and "
             "every parameter the model marks shrinkable (bisection toward its minimum), each "
             "candidate replayed deterministically, in rounds until nothing changes. Writes "
             "DIR/min.yaml (a whole scenario that fails the same way at its default seed, with "
             "DIR/min.log as --sched replay:DIR/min.log when the schedule matters), DIR/min.log "
             "and DIR/account.txt (what was removed and how many runs it took), and prints the "
             "account.",
    .opts = (const cli_opt_t *const[]){&opt_variant, &opt_seed, &opt_sched, &opt_duration, &opt_set,
                                       &opt_keep, &opt_output, &opt_expect, &opt_failure,
                                       &opt_max_runs, &opt_wall_limit, NULL},
    .notes = "examples (docs/shrinking.md):\n"
             "  storesim shrink scenarios/q279798.yaml --variant race_without_fix \\\n"
             "      --sched random:1 --duration 10s -o q279798-min\n"
             "  storesim shrink scenarios/kb924567.yaml --variant without_fix \\\n"
             "      --expect 'tasks.free_low.final > 0' --keep store.tasks -o kb924567-min\n"
             "\n"
             "The outputs are written only when min.yaml with min.log has been replayed and "
             "fails the same way; an interrupt writes nothing.",
    .exit = "0 shrunk, 1 the run does not fail to begin with, 2 usage or input error, 3 internal "
            "error (a replay that does not reproduce), 130 interrupted (nothing written)",
    .min_args = 1,
    .max_args = 1,
    .size = sizeof(shrink_args_t),
    .init = shrink_init,
    .run = shrink_main};

/* ---- small helpers -------------------------------------------------------------------------- */
typedef struct strbuf {
  char *s;
  size_t n, cap;
} strbuf_t;

static void sb_add(strbuf_t *b, const char *p, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    b->s = sim_xrealloc(b->s, cap);
    b->cap = cap;
  }
  memcpy(b->s + b->n, p, n);
  b->n += n;
  b->s[b->n] = 0;
}

static void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf_t *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* sim_xstrdup (alloc.h: exit 3 on host OOM), with NULL as "". */
static char *xstrdup(const char *s) { return sim_xstrdup(s ? s : ""); }

/* A duration as exact scenario text, compound where needed ("32m21s498ms",
 * "2s"): the bisection's value must survive min.yaml. */
static void fmt_dur(sim_time_t t, char *buf, size_t n) {
  static const struct {
    const char *u;
    sim_time_t ns;
  } units[] = {{"h", 3600 * SIM_SEC}, {"m", 60 * SIM_SEC}, {"s", SIM_SEC},
               {"ms", SIM_MS},        {"us", 1000},        {"ns", 1}};
  size_t k = 0;
  buf[0] = 0;
  if (t <= 0) {
    snprintf(buf, n, "0s");
    return;
  }
  for (size_t i = 0; i < 6 && k < n; i++) {
    sim_time_t q = t / units[i].ns;
    if (!q) continue;
    k += (size_t)snprintf(buf + k, n - k, "%lld%s", (long long)q, units[i].u);
    t -= q * units[i].ns;
  }
}

/* ---- the scenario document: the original file with edits ------------------------------------ */
/* What a candidate changes in the file. */
typedef struct cand {
  sim_time_t duration;  /* the variant's duration */
  unsigned char *fkeep; /* per entry of the file's fault list */
  char **pval;          /* per shrinkable parameter: its text, or NULL (unchanged) */
  char **devs;          /* deviation lines (context-keyed) */
  size_t ndevs;
  char **drop; /* the variant's expectations to leave out (borrowed) */
  size_t ndrop;
} cand_t;

typedef struct shrinker {
  const cli_shrink_req_t *req;
  const char *name; /* the file, as messages name it */
  const char *text; /* its text */
  size_t ntext;
  const scn_scenario_t *s0;   /* the original, loaded */
  const sim_param_t **params; /* the model's shrinkable parameters */
  size_t nparams;
  size_t nfaults;   /* entries in the file's fault list */
  char **fault_txt; /* each as "ACTION at AT", in file order */
  char tmpdir[256];
  uint64_t runs, max_runs;
  uint64_t runs_by[5]; /* (a) schedule, (b) faults, (c) duration, (d) parameters, other */
  int phase;
  int out_of_budget;
  char target_kind[64];
  char *target_obj;
  int interrupted;
  int internal;
} shrinker_t;

static int yroot(yaml_document_t *d) { return yaml_document_get_root_node(d) ? 1 : 0; }

static yaml_node_t *ynode(yaml_document_t *d, int id) { return yaml_document_get_node(d, id); }

static int yscalar_is(yaml_document_t *d, int id, const char *s) {
  yaml_node_t *n = ynode(d, id);
  return n && n->type == YAML_SCALAR_NODE && strcmp((const char *)n->data.scalar.value, s) == 0;
}

/* The value id of key in mapping id, or 0. */
static int ymap_get(yaml_document_t *d, int map, const char *key) {
  yaml_node_t *m = ynode(d, map);
  if (!m || m->type != YAML_MAPPING_NODE) return 0;
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
    if (yscalar_is(d, p->key, key)) return p->value;
  return 0;
}

static void ymap_remove(yaml_document_t *d, int map, const char *key) {
  yaml_node_t *m = ynode(d, map);
  if (!m || m->type != YAML_MAPPING_NODE) return;
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
    if (yscalar_is(d, p->key, key)) {
      memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof *p);
      m->data.mapping.pairs.top--;
      return;
    }
}

static int yadd_scalar(yaml_document_t *d, const char *s, yaml_scalar_style_t style) {
  int id = yaml_document_add_scalar(d, NULL, (yaml_char_t *)s, (int)strlen(s), style);
  if (!id) {
    fprintf(stderr, "storesim shrink: out of host memory\n");
    exit(3);
  }
  return id;
}

/* Sets the scalar value of node id to s. */
static void yscalar_set(yaml_document_t *d, int id, const char *s) {
  yaml_node_t *n = ynode(d, id);
  yaml_char_t *v = (yaml_char_t *)xstrdup(s);
  free(n->data.scalar.value);
  n->data.scalar.value = v;
  n->data.scalar.length = strlen(s);
  n->data.scalar.style = YAML_ANY_SCALAR_STYLE;
}

/* Sets parameter `path` to value in mapping map: where the mapping already
 * writes it (dotted or nested, "workload: {moves: {count: 40}}"), there;
 * else as a new dotted key of map. */
static void yset_path(yaml_document_t *d, int map, const char *path, const char *value) {
  yaml_node_t *m = ynode(d, map);
  if (!m || m->type != YAML_MAPPING_NODE) return;
  size_t np = strlen(path);
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ynode(d, p->key);
    if (!k || k->type != YAML_SCALAR_NODE) continue;
    const char *ks = (const char *)k->data.scalar.value;
    size_t nk = strlen(ks);
    yaml_node_t *v = ynode(d, p->value);
    if (nk == np && !memcmp(ks, path, np) && v->type == YAML_SCALAR_NODE) {
      yscalar_set(d, p->value, value);
      return;
    }
    if (nk < np && !memcmp(ks, path, nk) && path[nk] == '.' && v->type == YAML_MAPPING_NODE) {
      yset_path(d, p->value, path + nk + 1, value);
      return;
    }
  }
  int kid = yadd_scalar(d, path, YAML_PLAIN_SCALAR_STYLE);
  int vid = yadd_scalar(d, value, YAML_ANY_SCALAR_STYLE);
  if (!yaml_document_append_mapping_pair(d, map, kid, vid)) {
    fprintf(stderr, "storesim shrink: out of host memory\n");
    exit(3);
  }
}

/* The mapping id of `key` in map, added (block style) when missing. */
static int ymap_child(yaml_document_t *d, int map, const char *key) {
  int id = ymap_get(d, map, key);
  yaml_node_t *n = id ? ynode(d, id) : NULL;
  if (n && n->type == YAML_MAPPING_NODE) return id;
  if (n) ymap_remove(d, map, key); /* set: null, or no mapping: replaced */
  yaml_node_t *m = ynode(d, map);
  yaml_mapping_style_t style = m->data.mapping.style;
  int nid = yaml_document_add_mapping(d, NULL, style);
  int kid = yadd_scalar(d, key, YAML_PLAIN_SCALAR_STYLE);
  if (!nid || !yaml_document_append_mapping_pair(d, map, kid, nid)) {
    fprintf(stderr, "storesim shrink: out of host memory\n");
    exit(3);
  }
  return nid;
}

static int emit_handler(void *data, unsigned char *buffer, size_t size) {
  sb_add(data, (const char *)buffer, size);
  return 1;
}

/* Splits "[VARIANT:]KEY=VALUE". Returns 0, or -1 when it has no '='. */
static int split_set(const char *set, char *var, char *key, char *val, size_t n) {
  const char *eq = strchr(set, '=');
  if (!eq) return -1;
  const char *colon = memchr(set, ':', (size_t)(eq - set));
  var[0] = 0;
  const char *k = set;
  if (colon) {
    snprintf(var, n, "%.*s", (int)(colon - set), set);
    k = colon + 1;
  }
  snprintf(key, n, "%.*s", (int)(eq - k), k);
  snprintf(val, n, "%s", eq + 1);
  return 0;
}

/* The scenario text of candidate c: the file's document with the --set
 * overrides, the --expect expectation and c's edits. Returns it (free it),
 * or NULL with why on stderr (the file is not one YAML mapping). */
static char *cand_text(const shrinker_t *x, const cand_t *c) {
  const cli_shrink_req_t *r = x->req;
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser)) return NULL;
  yaml_parser_set_input_string(&parser, (const unsigned char *)x->text, x->ntext);
  int loaded = yaml_parser_load(&parser, &doc);
  yaml_parser_delete(&parser);
  if (loaded && (!yroot(&doc) || yaml_document_get_root_node(&doc)->type != YAML_MAPPING_NODE)) {
    yaml_document_delete(&doc);
    loaded = 0;
  }
  if (!loaded) {
    fprintf(stderr, "%s: error: not a YAML mapping\n", x->name);
    return NULL;
  }
  int root = 1;
  int vars = ymap_get(&doc, root, "variants");
  yaml_node_t *vnode = vars ? ynode(&doc, vars) : NULL;
  if (!vnode || vnode->type != YAML_MAPPING_NODE) {
    fprintf(stderr, "%s: error: no variants mapping\n", x->name);
    yaml_document_delete(&doc);
    return NULL;
  }
  int set = ymap_child(&doc, ymap_child(&doc, vars, r->variant), "set");
  /* --set: a variant's own in its set, the others at the top (where a
   * variant's set still wins, as on the command line) */
  for (size_t i = 0; i < r->nsets; i++) {
    char vn[256], key[256], val[1024];
    if (split_set(r->sets[i], vn, key, val, sizeof key)) continue;
    if (vn[0]) yset_path(&doc, ymap_child(&doc, ymap_child(&doc, vars, vn), "set"), key, val);
    else yset_path(&doc, root, key, val);
  }
  char buf[128];
  snprintf(buf, sizeof buf, "%" PRIu64, r->seed);
  yset_path(&doc, set, "seed", buf);
  fmt_dur(c->duration, buf, sizeof buf);
  yset_path(&doc, set, "duration", buf);
  for (size_t i = 0; i < x->nparams; i++)
    if (c->pval && c->pval[i]) yset_path(&doc, set, x->params[i]->path, c->pval[i]);
  /* faults: the kept entries */
  int fl = ymap_get(&doc, root, "faults");
  yaml_node_t *fn = fl ? ynode(&doc, fl) : NULL;
  if (fn && fn->type == YAML_SEQUENCE_NODE && c->fkeep) {
    yaml_node_item_t *w = fn->data.sequence.items.start;
    size_t i = 0;
    for (yaml_node_item_t *p = fn->data.sequence.items.start; p < fn->data.sequence.items.top;
         p++, i++)
      if (i >= x->nfaults || c->fkeep[i]) *w++ = *p;
    fn->data.sequence.items.top = w;
    if (w == fn->data.sequence.items.start) ymap_remove(&doc, root, "faults");
  }
  /* expectations left out: those the shrunk run cannot evaluate */
  if (c->ndrop) {
    int ex = ymap_get(&doc, root, "expect");
    int list = ex ? ymap_get(&doc, ex, r->variant) : 0;
    yaml_node_t *ln = list ? ynode(&doc, list) : NULL;
    if (ln && ln->type == YAML_SEQUENCE_NODE) {
      yaml_node_item_t *w = ln->data.sequence.items.start;
      for (yaml_node_item_t *p = ln->data.sequence.items.start; p < ln->data.sequence.items.top;
           p++) {
        yaml_node_t *it = ynode(&doc, *p);
        if (it && it->type == YAML_MAPPING_NODE) { /* {expect: EXPR, not_live: ...} */
          int e = ymap_get(&doc, *p, "expect");
          it = e ? ynode(&doc, e) : NULL;
        }
        int out = 0;
        for (size_t i = 0; it && it->type == YAML_SCALAR_NODE && i < c->ndrop; i++)
          out |= !strcmp((const char *)it->data.scalar.value, c->drop[i]);
        if (!out) *w++ = *p;
      }
      ln->data.sequence.items.top = w;
    }
  }
  /* --expect: appended to the variant's expectations */
  if (r->expect) {
    int ex = ymap_child(&doc, root, "expect");
    int list = ymap_get(&doc, ex, r->variant);
    yaml_node_t *ln = list ? ynode(&doc, list) : NULL;
    if (!ln || ln->type != YAML_SEQUENCE_NODE) {
      if (ln) ymap_remove(&doc, ex, r->variant);
      list = yaml_document_add_sequence(&doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
      yaml_document_append_mapping_pair(&doc, ex, yadd_scalar(&doc, r->variant, 0), list);
    }
    yaml_document_append_sequence_item(
        &doc, list, yadd_scalar(&doc, r->expect, YAML_DOUBLE_QUOTED_SCALAR_STYLE));
  }
  strbuf_t out = {0};
  yaml_emitter_t em;
  if (!yaml_emitter_initialize(&em)) {
    yaml_document_delete(&doc);
    return NULL;
  }
  yaml_emitter_set_output(&em, emit_handler, &out);
  yaml_emitter_set_width(&em, 100);
  yaml_emitter_set_unicode(&em, 1);
  int ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &doc) && yaml_emitter_close(&em);
  yaml_emitter_delete(&em);
  if (!ok) {
    fprintf(stderr, "storesim shrink: cannot write the scenario: %s\n",
            em.problem ? em.problem : "?");
    free(out.s);
    return NULL;
  }
  return out.s;
}

/* ---- one run, in a child process ------------------------------------------------------------ */
/* A run's failures, one item each: kind, objects, virtual time (-1: none). */
typedef struct item {
  char kind[64];
  char *obj;
  sim_time_t time;
} item_t;

typedef struct outcome {
  int ran;       /* the child reported (else crashed, or over the wall limit) */
  item_t *items; /* in priority order */
  size_t nitems;
  uint64_t hash, decisions;
  char *error; /* the candidate could not run (load error, replay divergence) */
  char **errs; /* expectations that could not be evaluated (their text) */
  size_t nerrs;
  int interrupted;
} outcome_t;

static void outcome_free(outcome_t *o) {
  for (size_t i = 0; i < o->nitems; i++) free(o->items[i].obj);
  for (size_t i = 0; i < o->nerrs; i++) free(o->errs[i]);
  free(o->errs);
  free(o->items);
  free(o->error);
  memset(o, 0, sizeof *o);
}

/* Priority of a kind (lower first): crash, limit, deadlock, hang, spin,
 * misuse, model reports, lock-order, expect. */
static int kind_rank(const char *k) {
  static const char *const order[] = {"crash", "limit", "deadlock", "hang", "spin", "misuse"};
  for (int i = 0; i < 6; i++)
    if (!strcmp(k, order[i])) return i;
  if (!strcmp(k, "lock-order")) return 7;
  if (!strcmp(k, "expect")) return 8;
  return 6; /* a model report */
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The child's report on its pipe, one line each: "I KIND\tOBJECTS\tTIME"
 * (a failure item), "E TEXT" (an expectation it could not evaluate), "D
 * STEPS", "H HASH" (the trace hash), "X WHY" (the candidate could not run),
 * "N" (interrupted). world_done: the detector reports, read from the world
 * with the locks they name. */

static void child_world_done(sim_world_t *w, const scn_variant_t *v, scn_variant_res_t *res,
                             void *arg) {
  strbuf_t *b = arg;
  (void)v;
  (void)res;
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *rp = sim_world_report(w, i);
    const char *kind = rp->kind == SIM_R_MODEL ? rp->name : sim_report_kind_name(rp->kind);
    /* objects: the lock classes, sorted and without repeats */
    char **l = sim_xcalloc(rp->nlocks, sizeof *l);
    for (size_t k = 0; k < rp->nlocks; k++) l[k] = rp->locks[k];
    qsort(l, rp->nlocks, sizeof *l, cmp_str);
    strbuf_t o = {0};
    sb_add(&o, "", 0);
    for (size_t k = 0; k < rp->nlocks; k++)
      if (k == 0 || strcmp(l[k], l[k - 1])) sb_printf(&o, "%s%s", o.n ? "," : "", l[k]);
    free(l);
    sb_printf(b, "I %s\t%s\t%lld\n", kind, o.s, (long long)rp->time);
    free(o.s);
  }
  sb_printf(b, "D %" PRIu64 "\n", sim_world_steps(w));
}

/* Runs text (variant r->variant) under sched in this process and writes the
 * report lines to fd. */
static void child_run(const shrinker_t *x, const char *text, const sim_sched_t *sched,
                      const char *dlog, const char *trace, int fd) {
  strbuf_t b = {0};
  scn_diag_t diag;
  scn_scenario_t *s = NULL;
  scn_diag_init(&diag);
  if (scn_load_buffer(x->name, text, strlen(text), NULL, &s, &diag)) {
    sb_printf(&b, "X %s", diag.text ? diag.text : "cannot load\n");
  } else {
    FILE *tf = trace ? fopen(trace, "w") : NULL;
    scn_run_opts_t ro = {.variant = x->req->variant,
                         .sched = *sched,
                         .quiet = 1,
                         .decision_log = dlog,
                         .trace = tf,
                         .world_done = child_world_done,
                         .world_done_arg = &b,
                         .jobs = 1};
    scn_result_t *res = scn_run(s, &ro);
    if (tf) fclose(tf);
    if (!res) {
      sb_printf(&b, "X out of host memory\n");
    } else {
      const scn_variant_t *v = scn_variant_find(s, x->req->variant);
      const scn_variant_res_t *vr = &res->variants[v - s->variants];
      if (res->interrupted || scn_interrupted()) sb_printf(&b, "N\n");
      if (vr->ran && vr->error) {
        const char *e = vr->error;
        if (strstr(e, "replay diverged") || !vr->incomplete) {
          sb_printf(&b, "X %s\n", e);
        } else { /* a limit: named by its words before any number or '(' */
          char lim[64];
          size_t k = 0;
          for (const char *p = e; *p && *p != '(' && *p != ':' && *p != ';' && k < sizeof lim - 1;
               p++)
            if (!(*p >= '0' && *p <= '9')) lim[k++] = *p;
          while (k && lim[k - 1] == ' ') k--;
          lim[k] = 0;
          sb_printf(&b, "I limit\t%s\t%lld\n", lim, (long long)vr->end_time);
        }
      } else if (!vr->ran) {
        sb_printf(&b, "X %s", res->diag.text ? res->diag.text : "the variant did not run\n");
      }
      for (size_t i = 0; i < vr->nexpects; i++)
        if (vr->expects[i].status == SCN_X_ERROR && !strchr(vr->expects[i].x->text, '\n'))
          sb_printf(&b, "E %s\n", vr->expects[i].x->text);
      for (size_t i = 0; i < vr->nexpects; i++)
        if (vr->expects[i].status == SCN_X_FAIL) {
          char one[2048];
          snprintf(one, sizeof one, "%s", vr->expects[i].x->text);
          for (char *p = one; *p; p++)
            if (*p == '\n' || *p == '\t') *p = ' ';
          sb_printf(&b, "I expect\t%s\t-1\n", one);
        }
      sb_printf(&b, "H %" PRIu64 "\n", vr->trace_hash);
      scn_result_free(res);
    }
    scn_scenario_free(s);
  }
  scn_diag_free(&diag);
  size_t off = 0;
  while (b.s && off < b.n) {
    ssize_t k = write(fd, b.s + off, b.n - off);
    if (k <= 0) break;
    off += (size_t)k;
  }
  free(b.s);
}

static int item_cmp(const void *a, const void *b) {
  const item_t *x = a, *y = b;
  int rx = kind_rank(x->kind), ry = kind_rank(y->kind);
  if (rx != ry) return rx < ry ? -1 : 1;
  return x->time < y->time ? -1 : x->time > y->time;
}

static void outcome_add(outcome_t *o, const char *kind, const char *obj, sim_time_t t) {
  for (size_t i = 0; i < o->nitems; i++) /* one item per kind and objects */
    if (!strcmp(o->items[i].kind, kind) && !strcmp(o->items[i].obj, obj)) return;
  item_t *n = realloc(o->items, (o->nitems + 1) * sizeof *n);
  if (!n) {
    fprintf(stderr, "storesim shrink: out of host memory\n");
    exit(3);
  }
  o->items = n;
  item_t *it = &o->items[o->nitems++];
  snprintf(it->kind, sizeof it->kind, "%s", kind);
  it->obj = xstrdup(obj);
  it->time = t;
}

/* Runs text under sched in a child (dlog, trace: files it writes, or NULL)
 * into *o. Returns 0, or -1 when the budget is spent or the shrink was
 * interrupted (o->ran 0). */
static int run_text(shrinker_t *x, const char *text, const sim_sched_t *sched, const char *dlog,
                    const char *trace, outcome_t *o) {
  memset(o, 0, sizeof *o);
  if (x->runs >= x->max_runs) {
    x->out_of_budget = 1;
    return -1;
  }
  if (scn_interrupted()) {
    x->interrupted = 1;
    return -1;
  }
  x->runs++;
  x->runs_by[x->phase]++;
  int pfd[2];
  if (pipe(pfd)) {
    fprintf(stderr, "storesim shrink: pipe: %s\n", strerror(errno));
    x->internal = 1;
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "storesim shrink: fork: %s\n", strerror(errno));
    close(pfd[0]);
    close(pfd[1]);
    x->internal = 1;
    return -1;
  }
  if (pid == 0) {
    close(pfd[0]);
    scn_crash_quiet(1);
    child_run(x, text, sched, dlog, trace, pfd[1]);
    close(pfd[1]);
    _exit(0);
  }
  close(pfd[1]);
  strbuf_t b = {0};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int over = 0;
  for (;;) {
    int wait_ms = -1;
    if (x->req->wall_limit > 0) {
      struct timespec t1;
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
      if (el >= x->req->wall_limit) {
        over = 1;
        kill(pid, SIGKILL);
        break;
      }
      wait_ms = (int)((x->req->wall_limit - el) * 1000) + 1;
    }
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    int rc = poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[4096];
    ssize_t k = read(pfd[0], buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    sb_add(&b, buf, (size_t)k);
  }
  close(pfd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (over) {
    outcome_add(o, "limit", "wall-limit", -1);
  } else if (WIFSIGNALED(st)) {
    char sig[32];
    snprintf(sig, sizeof sig, "signal %d", WTERMSIG(st));
    outcome_add(o, "crash", sig, -1);
  } else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
    outcome_add(o, "crash", "internal error", -1);
  } else {
    o->ran = 1;
    for (char *line = b.s; line && *line;) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = 0;
      if (line[0] == 'I' && line[1] == ' ') {
        char *k = line + 2, *tab = strchr(k, '\t');
        char *obj = tab ? tab + 1 : (char *)"", *tab2 = tab ? strchr(obj, '\t') : NULL;
        if (tab) *tab = 0;
        if (tab2) *tab2 = 0;
        outcome_add(o, k, obj, tab2 ? (sim_time_t)strtoll(tab2 + 1, NULL, 10) : -1);
      } else if (line[0] == 'H') {
        o->hash = strtoull(line + 2, NULL, 10);
      } else if (line[0] == 'D') {
        o->decisions = strtoull(line + 2, NULL, 10);
      } else if (line[0] == 'N') {
        o->interrupted = 1;
      } else if (line[0] == 'E' && line[1] == ' ') {
        char **n = realloc(o->errs, (o->nerrs + 1) * sizeof *n);
        if (n) {
          o->errs = n;
          o->errs[o->nerrs++] = xstrdup(line + 2);
        }
      } else if (line[0] == 'X' && !o->error) {
        o->error = xstrdup(line + 2);
      }
      line = nl ? nl + 1 : NULL;
    }
  }
  free(b.s);
  if (o->nitems) qsort(o->items, o->nitems, sizeof *o->items, item_cmp);
  if (o->interrupted || scn_interrupted()) {
    x->interrupted = 1;
    return -1;
  }
  return 0;
}

/* Whether o fails the way of the target: an item of its kind and objects,
 * and no crash or limit that the target is not. */
static int same_failure(const shrinker_t *x, const outcome_t *o) {
  if (o->error) return 0;
  int found = 0;
  for (size_t i = 0; i < o->nitems; i++) {
    const item_t *it = &o->items[i];
    if (!strcmp(it->kind, x->target_kind) && !strcmp(it->obj, x->target_obj)) found = 1;
    else if (kind_rank(it->kind) <= 1) return 0;
  }
  return found;
}

/* The time of the target's item in o (-1: none). */
static sim_time_t target_time(const shrinker_t *x, const outcome_t *o) {
  for (size_t i = 0; i < o->nitems; i++)
    if (!strcmp(o->items[i].kind, x->target_kind) && !strcmp(o->items[i].obj, x->target_obj))
      return o->items[i].time;
  return -1;
}

/* ---- candidates ------------------------------------------------------------------------------ */
static void cand_copy(const shrinker_t *x, cand_t *to, const cand_t *from) {
  to->duration = from->duration;
  to->fkeep = sim_xcalloc(x->nfaults, 1);
  if (from->fkeep) memcpy(to->fkeep, from->fkeep, x->nfaults);
  to->pval = sim_xcalloc(x->nparams, sizeof *to->pval);
  for (size_t i = 0; i < x->nparams; i++)
    to->pval[i] = from->pval && from->pval[i] ? xstrdup(from->pval[i]) : NULL;
  to->drop = from->drop;
  to->ndrop = from->ndrop;
  to->ndevs = from->ndevs;
  to->devs = sim_xcalloc(from->ndevs, sizeof *to->devs);
  for (size_t i = 0; i < from->ndevs; i++) to->devs[i] = xstrdup(from->devs[i]);
}

static void cand_free(const shrinker_t *x, cand_t *c) {
  for (size_t i = 0; c->pval && i < x->nparams; i++) free(c->pval[i]);
  for (size_t i = 0; i < c->ndevs; i++) free(c->devs[i]);
  free(c->pval);
  free(c->devs);
  free(c->fkeep);
  memset(c, 0, sizeof *c);
}

/* Writes c's deviations as a lenient log; sched replays it (fifo when c
 * has none and cands is 0; cands: a log that lists every decision's
 * candidates). Returns 0, or -1 (said why). */
static int cand_sched(shrinker_t *x, const cand_t *c, int cands, char *path, size_t npath,
                      sim_sched_t *sched) {
  memset(sched, 0, sizeof *sched);
  if (c->ndevs == 0 && !cands) return 0;
  snprintf(path, npath, "%s/cand.dev", x->tmpdir);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    x->internal = 1;
    return -1;
  }
  fprintf(f, "# storesim deviations v1%s\n", cands ? " candidates" : "");
  for (size_t i = 0; i < c->ndevs; i++) fprintf(f, "%s\n", c->devs[i]);
  if (fclose(f)) {
    x->internal = 1;
    return -1;
  }
  sched->kind = SIM_SCHED_REPLAY;
  sched->file = path;
  return 0;
}

/* Runs candidate c (recording its decision log at dlog, its trace at
 * trace, when not NULL) into *o. Returns 0, or -1 (budget, interrupt,
 * internal error). */
static int cand_run_x(shrinker_t *x, const cand_t *c, int cands, const char *dlog,
                      const char *trace, outcome_t *o) {
  char *text = cand_text(x, c);
  if (!text) {
    x->internal = 1;
    return -1;
  }
  char path[512];
  sim_sched_t sched;
  int rc = cand_sched(x, c, cands, path, sizeof path, &sched);
  if (rc == 0) rc = run_text(x, text, &sched, dlog, trace, o);
  free(text);
  return rc;
}

static int cand_run(shrinker_t *x, const cand_t *c, const char *dlog, const char *trace,
                    outcome_t *o) {
  return cand_run_x(x, c, 0, dlog, trace, o);
}

/* 1 when candidate c fails the same way, 0 when not, -1 when the shrink
 * must stop (budget, interrupt). */
static int cand_fails(shrinker_t *x, const cand_t *c) {
  outcome_t o;
  if (cand_run(x, c, NULL, NULL, &o)) return -1;
  int same = same_failure(x, &o);
  outcome_free(&o);
  return same;
}

/* The "#dev" lines of a recorded decision log: the deviations its run
 * took, context-keyed. Replaces c's deviations. Returns 0 or -1. */
static int devs_from_log(cand_t *c, const char *log) {
  FILE *f = fopen(log, "r");
  if (!f) return -1;
  for (size_t i = 0; i < c->ndevs; i++) free(c->devs[i]);
  free(c->devs);
  c->devs = NULL;
  c->ndevs = 0;
  size_t cap = 0;
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "#dev ", 5) != 0) continue;
    line[strcspn(line, "\n")] = 0;
    if (c->ndevs == cap) {
      cap = cap ? 2 * cap : 64;
      char **n = realloc(c->devs, cap * sizeof *n);
      if (!n) {
        fclose(f);
        return -1;
      }
      c->devs = n;
    }
    c->devs[c->ndevs++] = xstrdup(line + 5);
  }
  fclose(f);
  return 0;
}

/* Decisions in a recorded log (lines that are not comments). */
static uint64_t log_decisions(const char *log) {
  FILE *f = fopen(log, "r");
  uint64_t n = 0;
  char line[2048];
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (line[0] != '#') n++;
  fclose(f);
  return n;
}

/* ---- (a), (b): ddmin over a set -------------------------------------------------------------- */
/* The set a ddmin works on: n elements, `keep` says which are in a
 * candidate; test builds and runs the candidate. */
typedef struct dd {
  shrinker_t *x;
  cand_t *base;
  size_t n;
  int (*test)(struct dd *d, const size_t *idx, size_t k); /* as cand_fails */
} dd_t;

/* Zeller's ddmin over idx[0..*k): leaves in idx a 1-minimal subset that
 * still fails (each test replays a candidate). Returns 0, or -1 when the
 * shrink must stop (idx then holds the smallest failing subset found). */
static int ddmin(dd_t *d, size_t *idx, size_t *k) {
  size_t n = *k;
  if (n == 0) return 0;
  int rc = d->test(d, idx, 0); /* nothing at all first */
  if (rc < 0) return -1;
  if (rc == 1) {
    *k = 0;
    return 0;
  }
  size_t gran = 2;
  size_t *sub = sim_xcalloc(n, sizeof *sub);
  while (n >= 2) {
    if (gran > n) gran = n;
    int reduced = 0;
    /* subsets */
    for (size_t i = 0; i < gran && !reduced; i++) {
      size_t lo = n * i / gran, hi = n * (i + 1) / gran, m = 0;
      for (size_t j = lo; j < hi; j++) sub[m++] = idx[j];
      if ((rc = d->test(d, sub, m)) < 0) goto stop;
      if (rc == 1) {
        memcpy(idx, sub, m * sizeof *idx);
        n = m;
        gran = 2;
        reduced = 1;
      }
    }
    /* complements */
    for (size_t i = 0; i < gran && !reduced && gran > 2; i++) {
      size_t lo = n * i / gran, hi = n * (i + 1) / gran, m = 0;
      for (size_t j = 0; j < n; j++)
        if (j < lo || j >= hi) sub[m++] = idx[j];
      if ((rc = d->test(d, sub, m)) < 0) goto stop;
      if (rc == 1) {
        memcpy(idx, sub, m * sizeof *idx);
        n = m;
        gran = gran - 1 > 2 ? gran - 1 : 2;
        reduced = 1;
      }
    }
    if (!reduced) {
      if (gran >= n) break;
      gran = 2 * gran < n ? 2 * gran : n;
    }
  }
  free(sub);
  *k = n;
  return 0;
stop:
  free(sub);
  *k = n;
  return -1;
}

static int test_devs(dd_t *d, const size_t *idx, size_t k) {
  cand_t c;
  cand_copy(d->x, &c, d->base);
  for (size_t i = 0; i < c.ndevs; i++) free(c.devs[i]);
  c.ndevs = k;
  for (size_t i = 0; i < k; i++) c.devs[i] = xstrdup(d->base->devs[idx[i]]);
  int rc = cand_fails(d->x, &c);
  cand_free(d->x, &c);
  return rc;
}

static int test_faults(dd_t *d, const size_t *idx, size_t k) {
  cand_t c;
  cand_copy(d->x, &c, d->base);
  memset(c.fkeep, 0, d->x->nfaults);
  for (size_t i = 0; i < k; i++) c.fkeep[idx[i]] = 1;
  int rc = cand_fails(d->x, &c);
  cand_free(d->x, &c);
  return rc;
}

/* (a): ddmin over cur's deviations, then the deviations the smallest run
 * really took (its "#dev" lines). Returns 1 changed, 0 not, -1 stop. */
static int shrink_schedule(shrinker_t *x, cand_t *cur) {
  if (cur->ndevs == 0) return 0;
  x->phase = 0;
  size_t n = cur->ndevs, k = n;
  size_t *idx = sim_xcalloc(n, sizeof *idx);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  dd_t d = {.x = x, .base = cur, .n = n, .test = test_devs};
  int rc = ddmin(&d, idx, &k);
  if (k < n) {
    char **devs = sim_xcalloc(k, sizeof *devs);
    for (size_t i = 0; i < k; i++) devs[i] = xstrdup(cur->devs[idx[i]]);
    for (size_t i = 0; i < cur->ndevs; i++) free(cur->devs[i]);
    free(cur->devs);
    cur->devs = devs;
    cur->ndevs = k;
  }
  free(idx);
  if (rc < 0) return -1;
  return k < n;
}

/* Most single deviations one search tries (each a run). */
#define SINGLE_MAX 600

/* (a'): when the schedule keeps more than one deviation, a schedule with
 * one: every alternative of every decision of the fifo run of the current
 * scenario, in decision order (at most SINGLE_MAX); the first that fails
 * the same way replaces the deviations, re-keyed by context. ddmin only
 * removes deviations; this finds a one-preemption schedule that the random
 * run's deviations did not contain (CHESS's observation: most concurrency
 * bugs need one or two). Returns 1 found, 0 not, -1 stop. */
static int shrink_single(shrinker_t *x, cand_t *cur, const char *log) {
  if (cur->ndevs <= 1) return 0;
  x->phase = 0;
  cand_t c;
  cand_copy(x, &c, cur);
  for (size_t i = 0; i < c.ndevs; i++) free(c.devs[i]);
  c.ndevs = 0;
  outcome_t o;
  if (cand_run_x(x, &c, 1, log, NULL, &o)) {
    cand_free(x, &c);
    return -1;
  }
  outcome_free(&o);
  char **alts = NULL;
  size_t nalts = 0, cap = 0;
  FILE *f = fopen(log, "r");
  char line[8192];
  while (f && fgets(line, sizeof line, f) && nalts < SINGLE_MAX) {
    if (strncmp(line, "#cand ", 6) != 0) continue;
    line[strcspn(line, "\n")] = 0;
    char *num = line + 6, *bar = strstr(num, " | ");
    if (!bar) continue;
    *bar = 0;
    for (char *a = bar + 3; a && nalts < SINGLE_MAX;) {
      char *next = strstr(a, " | ");
      if (next) *next = 0;
      if (nalts == cap) {
        cap = cap ? 2 * cap : 64;
        char **n = realloc(alts, cap * sizeof *n);
        if (!n) break;
        alts = n;
      }
      strbuf_t d = {0};
      sb_printf(&d, "@%.40s %.2000s", num, a);
      alts[nalts++] = d.s;
      a = next ? next + 3 : NULL;
    }
  }
  if (f) fclose(f);
  int found = 0, rc = 0;
  for (size_t i = 0; i < nalts && !found; i++) {
    c.ndevs = 1;
    c.devs[0] = alts[i];
    rc = cand_fails(x, &c);
    c.devs[0] = NULL;
    c.ndevs = 0;
    if (rc < 0) break;
    if (rc == 1) { /* re-keyed by context: the run's own "#dev" line */
      c.ndevs = 1;
      c.devs[0] = xstrdup(alts[i]);
      if (cand_run(x, &c, log, NULL, &o) == 0 && same_failure(x, &o) &&
          devs_from_log(&c, log) == 0 && c.ndevs == 1 && cand_fails(x, &c) == 1) {
        cand_t t = *cur;
        *cur = c;
        c = t;
        found = 1;
      }
      outcome_free(&o);
      if (!found) break;
    }
  }
  for (size_t i = 0; i < nalts; i++) free(alts[i]);
  free(alts);
  cand_free(x, &c);
  return rc < 0 && !found ? -1 : found;
}

/* (b) */
static int shrink_faults(shrinker_t *x, cand_t *cur) {
  x->phase = 1;
  size_t n = 0, k;
  size_t *idx = sim_xcalloc(x->nfaults, sizeof *idx);
  for (size_t i = 0; i < x->nfaults; i++)
    if (cur->fkeep[i]) idx[n++] = i;
  k = n;
  dd_t d = {.x = x, .base = cur, .n = n, .test = test_faults};
  int rc = n ? ddmin(&d, idx, &k) : 0;
  if (k < n) {
    memset(cur->fkeep, 0, x->nfaults);
    for (size_t i = 0; i < k; i++) cur->fkeep[idx[i]] = 1;
  }
  free(idx);
  if (rc < 0) return -1;
  return k < n;
}

/* (c): the shortest duration on a 1 ms grid (1 ns below 1 ms) that still
 * fails, by bisection; the failure's instant plus a grid step is tried
 * first. */
static int shrink_duration(shrinker_t *x, cand_t *cur, sim_time_t hint) {
  x->phase = 2;
  sim_time_t g = cur->duration > SIM_MS ? SIM_MS : 1;
  sim_time_t hi = cur->duration, lo = 0; /* hi fails, lo does not */
  int rc;
  cand_t c;
  if (hint >= 0 && hint + g < hi) {
    cand_copy(x, &c, cur);
    c.duration = (hint / g + 1) * g;
    rc = cand_fails(x, &c);
    if (rc == 1) hi = c.duration;
    cand_free(x, &c);
    if (rc < 0) return -1;
  }
  while (hi - lo > g) {
    sim_time_t mid = lo + (hi - lo) / 2;
    mid = mid / g * g;
    if (mid <= lo) mid = lo + g;
    if (mid >= hi) break;
    cand_copy(x, &c, cur);
    c.duration = mid;
    rc = cand_fails(x, &c);
    cand_free(x, &c);
    if (rc < 0) break;
    if (rc == 1) hi = mid;
    else lo = mid;
  }
  int changed = hi < cur->duration;
  cur->duration = hi;
  return rc < 0 && !changed ? -1 : changed;
}

/* The current value of shrinkable parameter i in cur, in base units. */
static double param_now(const shrinker_t *x, const cand_t *cur, size_t i) {
  const sim_param_t *p = x->params[i];
  if (cur->pval[i]) {
    char err[256];
    if (p->type == SIM_P_INT) {
      int64_t v;
      if (!scn_parse_int(cur->pval[i], &v, err, sizeof err)) return (double)v;
    } else if (p->type == SIM_P_RATE) {
      double v;
      if (!scn_parse_rate(cur->pval[i], &v, err, sizeof err)) return v;
    } else if (p->type == SIM_P_FLOAT) {
      double v;
      if (!scn_parse_float(cur->pval[i], &v, err, sizeof err)) return v;
    }
  }
  const scn_variant_t *v = scn_variant_find(x->s0, x->req->variant);
  int td, bd;
  return scn_param_number(p, (const char *)v->cfg + p->offset, &td, &bd);
}

static void param_text(const sim_param_t *p, double v, char *buf, size_t n) {
  if (p->type == SIM_P_INT) snprintf(buf, n, "%lld", (long long)llround(v));
  else if (p->type == SIM_P_RATE) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.6g/s", v);
    snprintf(buf, n, "%s", tmp);
  } else snprintf(buf, n, "%.6g", v);
}

/* (d): each shrinkable parameter, bisected toward its minimum (integers
 * exactly; rates and numbers to 1/64 of the range walked or a 0). */
static int shrink_params(shrinker_t *x, cand_t *cur) {
  x->phase = 3;
  int changed = 0;
  for (size_t i = 0; i < x->nparams; i++) {
    const sim_param_t *p = x->params[i];
    double now = param_now(x, cur, i), lo = p->min, hi = now; /* hi fails */
    if (!(now > p->min)) continue;
    int integer = p->type == SIM_P_INT;
    char txt[64];
    cand_t c;
    int rc;
    /* the minimum first: often the whole answer */
    cand_copy(x, &c, cur);
    param_text(p, lo, txt, sizeof txt);
    free(c.pval[i]);
    c.pval[i] = xstrdup(txt);
    rc = cand_fails(x, &c);
    cand_free(x, &c);
    if (rc < 0) return changed ? 1 : -1;
    if (rc == 1) {
      hi = lo;
    } else {
      double eps = integer ? 1 : (hi - lo) / 64;
      while (hi - lo > eps) {
        double mid = integer ? floor(lo + (hi - lo) / 2) : lo + (hi - lo) / 2;
        if (mid <= lo) break;
        cand_copy(x, &c, cur);
        param_text(p, mid, txt, sizeof txt);
        free(c.pval[i]);
        c.pval[i] = xstrdup(txt);
        rc = cand_fails(x, &c);
        cand_free(x, &c);
        if (rc < 0) break;
        if (rc == 1) hi = mid;
        else lo = mid;
      }
    }
    if (hi < now) {
      param_text(p, hi, txt, sizeof txt);
      free(cur->pval[i]);
      cur->pval[i] = xstrdup(txt);
      changed = 1;
    }
    if (x->out_of_budget || x->interrupted) return changed ? 1 : -1;
  }
  return changed;
}

/* ---- outputs ---------------------------------------------------------------------------------- */
static int write_file(const char *path, const char *text) {
  cli_outfile_t of;
  if (cli_out_open(&of, path)) return -1;
  fputs(text, of.f);
  return cli_out_close(&of, 1);
}

static char *read_all(const char *path) {
  size_t n;
  return cli_read_file(path, &n);
}

/* Threads and lock operations (acquired or blocked on) on the target's
 * locks in a JSON Lines trace: for the account. */
static void lock_ops(const shrinker_t *x, const char *trace, size_t *nthreads, size_t *nops,
                     strbuf_t *names) {
  *nthreads = *nops = 0;
  FILE *f = fopen(trace, "r");
  if (!f) return;
  char *locks = xstrdup(x->target_obj);
  char line[4096];
  char seen[64][64];
  while (fgets(line, sizeof line, f)) {
    int lk = strstr(line, "\"kind\":\"lock\"") != NULL,
        bl = strstr(line, "\"kind\":\"block\"") != NULL;
    if (!lk && !bl) continue;
    char *o = strstr(line, "\"obj\":\"");
    if (!o) continue;
    o += 7;
    char *e = strchr(o, '"');
    if (!e) continue;
    *e = 0;
    int mine = 0;
    char *save = NULL, *copy = xstrdup(locks);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
      if (!strcmp(t, o)) mine = 1;
    free(copy);
    if (!mine) continue;
    (*nops)++;
    char *tn = strstr(line, "\"tname\":\"");
    if (!tn) continue;
    tn += 9;
    char *te = strchr(tn, '"');
    if (!te) continue;
    *te = 0;
    size_t i;
    for (i = 0; i < *nthreads; i++)
      if (!strcmp(seen[i], tn)) break;
    if (i == *nthreads && i < 64) {
      snprintf(seen[i], sizeof seen[i], "%s", tn);
      sb_printf(names, "%s%s", *nthreads ? ", " : "", tn);
      (*nthreads)++;
    }
  }
  free(locks);
  fclose(f);
}

static void rm_tmpdir(const char *dir) {
  static const char *const files[] = {"cand.dev", "orig.log", "conv.dev",  "conv.log", "norm.log",
                                      "min.log",  "min.yaml", "min.trace", "check.log"};
  char p[512];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* ---- the shrink ------------------------------------------------------------------------------ */
int cli_shrink(const cli_shrink_req_t *r) {
  shrinker_t X = {.req = r, .name = r->file, .text = r->text, .ntext = r->ntext};
  shrinker_t *x = &X;
  x->max_runs = r->max_runs ? r->max_runs : 2000;
  x->phase = 4;
  int status = 3;
  cand_t cur = {0};
  outcome_t o0 = {0}, o = {0};
  strbuf_t acc = {0};
  char *dir = NULL;
  scn_scenario_t *s0 = NULL;
  /* the original, loaded as the shrink's candidates are: to check the
   * variant and find the faults and the shrinkable parameters */
  {
    scn_diag_t diag;
    scn_diag_init(&diag);
    scn_load_opts_t lo = {.sets = r->sets, .nsets = r->nsets};
    if (scn_load_buffer(r->file, r->text, r->ntext, &lo, &s0, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      scn_diag_free(&diag);
      return 2;
    }
    scn_diag_free(&diag);
  }
  x->s0 = s0;
  const scn_variant_t *v0 = scn_variant_find(s0, r->variant);
  if (!v0) {
    fprintf(stderr, "%s: error: no variant '%s'\n", r->file, r->variant);
    scn_scenario_free(s0);
    return 2;
  }
  const sim_param_t *pt = s0->model->params;
  size_t np = 0;
  while (pt[np].path) np++;
  x->params = sim_xcalloc(np, sizeof *x->params);
  for (size_t i = 0; i < np; i++) {
    int kept = 0;
    for (size_t k = 0; k < r->nkeep; k++) kept |= !strcmp(r->keep[k], pt[i].path);
    if (pt[i].shrinkable && !kept &&
        (pt[i].type == SIM_P_INT || pt[i].type == SIM_P_RATE || pt[i].type == SIM_P_FLOAT))
      x->params[x->nparams++] = &pt[i];
  }
  for (size_t k = 0; k < r->nkeep; k++) {
    size_t i = 0;
    while (i < np && strcmp(r->keep[k], pt[i].path)) i++;
    if (i == np || !pt[i].shrinkable) {
      fprintf(stderr, "storesim shrink: --keep %s: not a shrinkable parameter of model %s\n",
              r->keep[k], s0->model->name);
      free(x->params);
      scn_scenario_free(s0);
      return 2;
    }
  }
  /* the file's fault list: count its entries in the document */
  {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (yaml_parser_initialize(&parser)) {
      yaml_parser_set_input_string(&parser, (const unsigned char *)r->text, r->ntext);
      if (yaml_parser_load(&parser, &doc)) {
        if (yroot(&doc)) {
          int fl = ymap_get(&doc, 1, "faults");
          yaml_node_t *fn = fl ? ynode(&doc, fl) : NULL;
          if (fn && fn->type == YAML_SEQUENCE_NODE) {
            x->nfaults = (size_t)(fn->data.sequence.items.top - fn->data.sequence.items.start);
            x->fault_txt = sim_xcalloc(x->nfaults, sizeof *x->fault_txt);
            for (size_t i = 0; i < x->nfaults; i++) {
              int item = fn->data.sequence.items.start[i];
              int act = ymap_get(&doc, item, "action"), at = ymap_get(&doc, item, "at");
              yaml_node_t *an = act ? ynode(&doc, act) : NULL, *tn = at ? ynode(&doc, at) : NULL;
              strbuf_t t = {0};
              sb_printf(&t, "%s at %s",
                        an && an->type == YAML_SCALAR_NODE ? (char *)an->data.scalar.value : "?",
                        tn && tn->type == YAML_SCALAR_NODE ? (char *)tn->data.scalar.value : "?");
              x->fault_txt[i] = t.s;
            }
          }
        }
        yaml_document_delete(&doc);
      }
      yaml_parser_delete(&parser);
    }
  }
  snprintf(x->tmpdir, sizeof x->tmpdir, "%s/storesim-shrink-XXXXXX",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(x->tmpdir)) {
    fprintf(stderr, "storesim shrink: cannot make a temporary directory: %s\n", strerror(errno));
    free(x->params);
    scn_scenario_free(s0);
    return 3;
  }
  char orig_log[512], conv_dev[512], conv_log[512], norm_log[512], min_log[512], min_trace[512],
      check_log[512];
  snprintf(orig_log, sizeof orig_log, "%s/orig.log", x->tmpdir);
  snprintf(conv_dev, sizeof conv_dev, "%s/conv.dev", x->tmpdir);
  snprintf(conv_log, sizeof conv_log, "%s/conv.log", x->tmpdir);
  snprintf(norm_log, sizeof norm_log, "%s/norm.log", x->tmpdir);
  snprintf(min_log, sizeof min_log, "%s/min.log", x->tmpdir);
  snprintf(min_trace, sizeof min_trace, "%s/min.trace", x->tmpdir);
  snprintf(check_log, sizeof check_log, "%s/check.log", x->tmpdir);

  /* 1. the run as given */
  cur.duration = r->duration ? r->duration : v0->world.duration;
  cur.fkeep = sim_xcalloc(x->nfaults, 1);
  memset(cur.fkeep, 1, x->nfaults);
  cur.pval = sim_xcalloc(x->nparams, sizeof *cur.pval);
  char sched_text[600];
  sim_sched_format(&r->sched, sched_text, sizeof sched_text);
  {
    char *text = cand_text(x, &cur);
    if (!text) goto out;
    int rc = run_text(x, text, &r->sched, orig_log, NULL, &o0);
    free(text);
    if (rc) goto stopped;
  }
  if (o0.error) {
    fprintf(stderr, "%s: error: variant %s: %s\n", r->file, r->variant, o0.error);
    status = 2;
    goto out;
  }
  /* the target: --failure's kind (--expect: that expectation), else the first */
  {
    const item_t *t = NULL;
    for (size_t i = 0; i < o0.nitems && !t; i++) {
      const item_t *it = &o0.items[i];
      if (r->expect) {
        if (!strcmp(it->kind, "expect") && !strcmp(it->obj, r->expect)) t = it;
      } else if (r->failure) {
        if (!strcmp(it->kind, r->failure)) t = it;
      } else {
        t = it;
      }
    }
    if (!t) {
      if (r->expect)
        printf("%s: variant %s, seed %" PRIu64 ", %s: the expectation \"%s\" holds: nothing "
               "to shrink\n",
               r->file, r->variant, r->seed, sched_text, r->expect);
      else
        printf("%s: variant %s, seed %" PRIu64 ", %s: the run does not fail%s%s: nothing to "
               "shrink\n",
               r->file, r->variant, r->seed, sched_text, r->failure ? " with " : "",
               r->failure ? r->failure : "");
      status = 1;
      goto out;
    }
    snprintf(x->target_kind, sizeof x->target_kind, "%s", t->kind);
    x->target_obj = xstrdup(t->obj);
  }
  char sig[1024];
  if (!strcmp(x->target_kind, "expect"))
    snprintf(sig, sizeof sig, "the expectation \"%s\" fails", x->target_obj);
  else if (!strcmp(x->target_kind, "deadlock") || !strcmp(x->target_kind, "lock-order"))
    snprintf(sig, sizeof sig, "%s on %s", x->target_kind, x->target_obj);
  else
    snprintf(sig, sizeof sig, "%s%s%s", x->target_kind, x->target_obj[0] ? ": " : "",
             x->target_obj);
  sim_time_t hint = target_time(x, &o0);
  uint64_t ndev0 = 0, ndec0 = 0, dur0 = (uint64_t)cur.duration;
  /* 2. the schedule's deviations from fifo: the run replayed leniently from
   * its whole log (every decision keyed by number), which gives the same
   * run and names the decisions that were not fifo's */
  if (r->sched.kind == SIM_SCHED_FIFO) {
    ndec0 = log_decisions(orig_log);
  } else {
    char *log = read_all(orig_log);
    if (!log) goto out;
    FILE *f = fopen(conv_dev, "w");
    if (!f) {
      free(log);
      goto out;
    }
    fprintf(f, "# storesim deviations v1\n");
    for (char *line = log; *line;) {
      char *nl = strchr(line, '\n');
      if (line[0] != '#' && line[0] != '\n') {
        fputc('@', f);
        fwrite(line, 1, nl ? (size_t)(nl - line) : strlen(line), f);
        fputc('\n', f);
        ndec0++;
      }
      if (!nl) break;
      line = nl + 1;
    }
    free(log);
    if (fclose(f)) goto out;
    sim_sched_t conv = {.kind = SIM_SCHED_REPLAY, .file = conv_dev};
    char *text = cand_text(x, &cur);
    if (!text) goto out;
    int rc = run_text(x, text, &conv, conv_log, NULL, &o);
    free(text);
    if (rc) goto stopped;
    if (!same_failure(x, &o) || o.hash != o0.hash) {
      fprintf(stderr,
              "storesim shrink: internal error: the lenient replay of the run's decision log "
              "gives another run (trace hash %016" PRIx64 ", not %016" PRIx64 ")%s%s\n",
              o.hash, o0.hash, o.error ? ": " : "", o.error ? o.error : "");
      goto out;
    }
    outcome_free(&o);
    if (devs_from_log(&cur, conv_log)) goto out;
    ndev0 = cur.ndevs;
  }
  printf("shrinking %s, variant %s, seed %" PRIu64 ", %s: %s", r->file, r->variant, r->seed,
         sched_text, sig);
  if (hint >= 0) printf(" at t=%.9fs", (double)hint / 1e9);
  printf("; %" PRIu64 " of %" PRIu64 " decisions not fifo's\n", ndev0, ndec0);
  fflush(stdout);

  /* 3. rounds to a fixed point */
  int rounds = 0, single_tried = 0;
  for (;;) {
    int changed = 0, rc;
    rounds++;
    if ((rc = shrink_schedule(x, &cur)) < 0) break;
    changed |= rc;

    /* the deviations the run really takes, re-keyed (a listed one whose
     * thread was never a candidate is dropped) */
    if (cur.ndevs) {
      x->phase = 0;
      if (cand_run(x, &cur, norm_log, NULL, &o)) break;
      int ok = same_failure(x, &o);
      outcome_free(&o);
      cand_t c;
      cand_copy(x, &c, &cur);
      if (ok && devs_from_log(&c, norm_log) == 0 && c.ndevs < cur.ndevs) {
        rc = cand_fails(x, &c);
        if (rc == 1) {
          cand_t t = cur;
          cur = c;
          c = t;
          changed = 1;
        }
      }
      cand_free(x, &c);
      if (x->out_of_budget || x->interrupted) break;
    }
    if ((rc = shrink_faults(x, &cur)) < 0) break;
    changed |= rc;
    /* the failure's instant in the current run: the duration's first try */
    x->phase = 2;
    if (cand_run(x, &cur, NULL, NULL, &o)) break;
    hint = target_time(x, &o);
    outcome_free(&o);
    if ((rc = shrink_duration(x, &cur, hint)) < 0) break;
    changed |= rc;
    if ((rc = shrink_params(x, &cur)) < 0) break;
    changed |= rc;
    if (x->out_of_budget || x->interrupted || x->internal) break;
    /* at the fixed point, once: a one-deviation schedule (then more rounds
     * if it shrank the schedule) */
    if (!changed && !single_tried) {
      single_tried = 1;
      if ((rc = shrink_single(x, &cur, norm_log)) < 0) break;
      changed |= rc;
    }
    if (!changed) break;
  }
  if (x->interrupted) goto stopped;
  if (x->internal) goto out;

  /* 4. the shrunk run, recorded (its log, its trace), then min.yaml with
   * min.log under a plain replay: the same failure, or nothing is written */
  uint64_t nruns = x->runs;
  x->max_runs = UINT64_MAX; /* the checks are not part of the budget */
  x->phase = 4;
  if (cand_run(x, &cur, min_log, min_trace, &o)) goto stopped;
  if (!same_failure(x, &o)) {
    fprintf(stderr, "storesim shrink: internal error: the shrunk run does not fail the same way\n");
    goto out;
  }
  /* an expectation the shrunk run cannot evaluate (a metric with no
   * sample in the shorter run) would make `storesim run min.yaml` an
   * input error: min.yaml leaves it out, and the account says so */
  if (o.nerrs) {
    cur.drop = o.errs;
    cur.ndrop = o.nerrs;
    o.errs = NULL;
    o.nerrs = 0;
    outcome_free(&o);
    if (cand_run(x, &cur, min_log, min_trace, &o)) goto stopped;
    if (!same_failure(x, &o) || o.nerrs) {
      fprintf(stderr, "storesim shrink: internal error: the shrunk run without the expectations "
                      "it cannot evaluate does not fail the same way\n");
      goto out;
    }
  }
  uint64_t ndev1 = 0;
  {
    cand_t c = {0};
    if (devs_from_log(&c, min_log) == 0) ndev1 = c.ndevs;
    cand_free(x, &c);
  }
  uint64_t ndec1 = log_decisions(min_log);
  sim_time_t fail_at = target_time(x, &o);
  outcome_free(&o);
  char *min_yaml;
  {
    cand_t c;
    cand_copy(x, &c, &cur);
    min_yaml = cand_text(x, &c);
    cand_free(x, &c);
    if (!min_yaml) goto out;
  }
  /* min.yaml is a scenario of its own: no --set, no --expect to add */
  const cli_shrink_req_t *saved = x->req;
  cli_shrink_req_t plain = *r;
  plain.sets = NULL;
  plain.nsets = 0;
  plain.expect = NULL;
  x->req = &plain;
  x->text = min_yaml;
  x->ntext = strlen(min_yaml);
  {
    sim_sched_t rep = {.kind = SIM_SCHED_REPLAY, .file = min_log};
    sim_sched_t fifo = {0};
    /* min.yaml as it is: its faults are the kept ones, its set the values */
    cand_t c = {.duration = cur.duration};
    char *text = cand_text(x, &c);
    int rc = text ? run_text(x, text, ndev1 ? &rep : &fifo, NULL, NULL, &o) : -1;
    free(text);
    if (rc) {
      x->req = saved;
      free(min_yaml);
      goto stopped;
    }
  }
  x->req = saved;
  if (!same_failure(x, &o)) {
    fprintf(
        stderr,
        "storesim shrink: internal error: min.yaml with min.log does not fail the same way%s%s\n",
        o.error ? ": " : "", o.error ? o.error : "");
    free(min_yaml);
    goto out;
  }
  outcome_free(&o);

  /* 5. the account */
  size_t nthreads = 0, nops = 0;
  strbuf_t tnames = {0};
  sb_add(&tnames, "", 0);
  if (!strcmp(x->target_kind, "deadlock") || !strcmp(x->target_kind, "lock-order"))
    lock_ops(x, min_trace, &nthreads, &nops, &tnames);
  if (r->outdir) {
    dir = xstrdup(r->outdir);
  } else {
    char d[512];
    snprintf(d, sizeof d, "shrunk-%s-%s-%" PRIu64, s0->id, r->variant, r->seed);
    dir = xstrdup(d);
  }
  sb_printf(&acc, "storesim shrink %s --variant %s --seed %" PRIu64 " --sched %s\n", r->file,
            r->variant, r->seed, sched_text);
  sb_printf(&acc, "failure: %s", sig);
  if (fail_at >= 0) sb_printf(&acc, " at t=%.9fs", (double)fail_at / 1e9);
  sb_printf(&acc, "\n");
  sb_printf(&acc,
            "schedule: %" PRIu64 " -> %" PRIu64 " decisions not fifo's (of %" PRIu64 " -> %" PRIu64
            " decisions)\n",
            ndev0, ndev1, ndec0, ndec1);
  {
    size_t kept = 0;
    for (size_t i = 0; i < x->nfaults; i++) kept += cur.fkeep[i];
    sb_printf(&acc, "faults: %zu -> %zu", x->nfaults, kept);
    size_t j = 0;
    for (size_t i = 0; i < x->nfaults; i++)
      if (!cur.fkeep[i]) sb_printf(&acc, "%s%s", j++ ? ", " : " (removed: ", x->fault_txt[i]);
    sb_printf(&acc, "%s\n", j ? ")" : "");
  }
  {
    char a[64], b[64];
    fmt_dur((sim_time_t)dur0, a, sizeof a);
    fmt_dur(cur.duration, b, sizeof b);
    sb_printf(&acc, "duration: %s -> %s\n", a, b);
  }
  for (size_t i = 0; i < x->nparams; i++) {
    const sim_param_t *p = x->params[i];
    char a[64];
    int td, bd;
    double before = scn_param_number(p, (const char *)v0->cfg + p->offset, &td, &bd);
    param_text(p, before, a, sizeof a);
    if (cur.pval[i] && strcmp(cur.pval[i], a))
      sb_printf(&acc, "%s: %s -> %s\n", p->path, a, cur.pval[i]);
  }
  for (size_t i = 0; i < cur.ndrop; i++)
    sb_printf(&acc, "expectation left out of min.yaml (undefined in the shrunk run): %s\n",
              cur.drop[i]);
  if (nops)
    sb_printf(&acc, "the failure's locks: %zu lock operations by %zu threads (%s)\n", nops,
              nthreads, tnames.s);
  sb_printf(&acc,
            "runs: %" PRIu64 " (schedule %" PRIu64 ", faults %" PRIu64 ", duration %" PRIu64
            ", parameters %" PRIu64 "; the rest: the run as given%s) in %d round%s%s\n",
            nruns, x->runs_by[0], x->runs_by[1], x->runs_by[2], x->runs_by[3],
            r->sched.kind != SIM_SCHED_FIFO ? " and its lenient replay" : "", rounds,
            cli_s((size_t)rounds),
            x->out_of_budget ? "; the run budget (--max-runs) ran out: smaller may exist" : "");
  sb_printf(&acc, "replay: storesim run %s/min.yaml --variant %s%s%s%s\n", dir, r->variant,
            ndev1 ? " --sched replay:" : "", ndev1 ? dir : "", ndev1 ? "/min.log" : "");
  free(tnames.s);
  if (cli_mkdirs(dir)) {
    free(min_yaml);
    status = 2;
    goto out;
  }
  {
    char p1[1024], p2[1024], p3[1024];
    char *raw = read_all(min_log), p4[1024];
    snprintf(p1, sizeof p1, "%s/min.yaml", dir);
    snprintf(p2, sizeof p2, "%s/min.log", dir);
    snprintf(p3, sizeof p3, "%s/account.txt", dir);
    snprintf(p4, sizeof p4, "%s/min.dev", dir);
    /* the log's header names the policy it was recorded under: the lenient
     * replay of DIR/min.dev (the deviations), not the shrink's temporary
     * file */
    strbuf_t log = {0}, dev = {0};
    const char *hdr = "# storesim decision log v1 policy=replay:";
    const char *rest = raw ? strstr(raw, " seed=") : NULL;
    if (raw && !strncmp(raw, hdr, strlen(hdr)) && rest && rest < strchr(raw, '\n')) {
      sb_printf(&log, "%s%s/min.dev", hdr, dir);
      sb_add(&log, rest, strlen(rest));
    } else if (raw) {
      sb_add(&log, raw, strlen(raw));
    }
    sb_printf(&dev, "# storesim deviations v1\n");
    for (size_t i = 0; i < cur.ndevs; i++) sb_printf(&dev, "%s\n", cur.devs[i]);
    int bad = !raw || write_file(p1, min_yaml) || write_file(p2, log.s) ||
              (cur.ndevs && write_file(p4, dev.s)) || write_file(p3, acc.s);
    free(raw);
    free(log.s);
    free(dev.s);
    free(min_yaml);
    if (bad) {
      status = 2;
      goto out;
    }
  }
  fputs(acc.s, stdout);
  status = 0;
  goto out;
stopped:
  if (x->interrupted) {
    fprintf(stderr, "storesim shrink: %s: nothing written\n", cli_interrupt_reason());
    status = 130;
  } else if (x->internal) {
    status = 3;
  } else {
    fprintf(stderr, "storesim shrink: the run budget (--max-runs) ran out before the first "
                    "shrink\n");
    status = 2;
  }
out:
  for (size_t i = 0; i < cur.ndrop; i++) free(cur.drop[i]);
  free(cur.drop);
  outcome_free(&o0);
  outcome_free(&o);
  cand_free(x, &cur);
  free(x->target_obj);
  for (size_t i = 0; x->fault_txt && i < x->nfaults; i++) free(x->fault_txt[i]);
  free(x->fault_txt);
  free(x->params);
  free(acc.s);
  free(dir);
  rm_tmpdir(x->tmpdir);
  scn_scenario_free(s0);
  return status;
}

/* ---- the command ---------------------------------------------------------------------------- */
static int shrink_main(void *opts, char **args, size_t nargs) {
  const shrink_args_t *a = opts;
  const char *file = args[0];
  (void)nargs;
  if (!a->variant) return cli_usage_error("shrink", "--variant is required");
  sim_sched_t sched;
  char err[256];
  if (sim_sched_parse(a->sched, &sched, err, sizeof err))
    return cli_usage_error("shrink", "--sched %s: %s", a->sched, err);
  if (a->outdir && cli_dir_usable(a->outdir)) return 2;
  size_t n;
  char *text = cli_read_file(file, &n);
  if (!text) return 2;
  /* the variant's seed when --seed is not given */
  uint64_t seed = a->seed;
  if (!a->have_seed) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_diag_init(&diag);
    scn_load_opts_t lo = {.sets = a->sets.v, .nsets = a->sets.n};
    if (scn_load_buffer(file, text, n, &lo, &s, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      scn_diag_free(&diag);
      free(text);
      return 2;
    }
    scn_diag_free(&diag);
    const scn_variant_t *v = scn_variant_find(s, a->variant);
    seed = v ? (uint64_t)v->world.seed : (uint64_t)s->world.seed;
    scn_scenario_free(s);
  }
  scn_interrupt_install();
  cli_shrink_req_t r = {.file = file,
                        .text = text,
                        .ntext = n,
                        .sets = a->sets.v,
                        .nsets = a->sets.n,
                        .variant = a->variant,
                        .seed = seed,
                        .sched = sched,
                        .duration = a->duration,
                        .expect = a->expect,
                        .failure = a->failure,
                        .keep = a->keep.v,
                        .nkeep = a->keep.n,
                        .outdir = a->outdir,
                        .max_runs = a->max_runs,
                        .wall_limit = a->wall_limit};
  int rc = cli_shrink(&r);
  free(text);
  return rc;
}

/* ---- sweep --shrink, explore --shrink --------------------------------------------------------- */
const scn_sweep_run_t *cli_shrink_first_failure(const scn_sweep_res_t *res, size_t variant) {
  for (size_t i = 0; i < res->nruns; i++) {
    const scn_sweep_run_t *run = &res->runs[i];
    if (!run->ran || (variant != SIZE_MAX && run->variant != variant)) continue;
    if (!run->passed || run->deadlock || run->hang || run->spin || run->crashed || run->error)
      return run;
  }
  return NULL;
}

int cli_shrink_sweep_run(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                         const scn_sweep_run_t *run, const char *dir, const char *cmd) {
  const scn_scenario_t *cell = o->ncells ? o->cells[run->cell] : s;
  const scn_variant_t *v = &cell->variants[run->variant];
  cli_shrink_req_t r = {.file = cell->file,
                        .text = cell->text,
                        .ntext = cell->ntext,
                        .sets = (const char *const *)cell->sets,
                        .nsets = cell->nsets,
                        .variant = v->name,
                        .duration = o->duration,
                        .outdir = dir,
                        .wall_limit = o->wall_limit};
  scn_sweep_sched(o, run->seed, &r.sched);
  r.seed = o->vary_world_seed || !sim_sched_seeded(&o->sched) ? run->seed
                                                               : (uint64_t)v->world.seed;
  char sched[96];
  sim_sched_format(&r.sched, sched, sizeof sched);
  printf("%s --shrink: the first failing run, variant %s, seed %" PRIu64 ", %s, into %s\n", cmd,
         v->name, r.seed, sched, dir);
  fflush(stdout);
  int rc = cli_shrink(&r);
  /* the sweep saw it fail: a rerun that does not is an internal error */
  return rc == 1 ? 3 : rc;
}
