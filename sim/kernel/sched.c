/*
 * Scheduling policies: one table row each (syntax, parse, check, format, init,
 * spawn, pick, point, free), the text of a scheduler spec (sim_sched_parse,
 * sim_sched_format), the decision log and its replay.
 *
 * The world (world.c) owns the ready queue and the switching; a policy only
 * decides. It is asked twice:
 *  - pick: which READY thread runs next, when more than one is READY
 *    (rn > 1). NULL means the oldest first, which world.c does inline: fifo
 *    costs no call per step.
 *  - point: at a scheduling point of the running thread t with rn > 0,
 *    whether t goes on (0) or READY thread k runs instead (k + 1). NULL
 *    means t always goes on, and world.c does not call in (sched_points).
 * Every decision with more than one candidate is a numbered step of the
 * decision log: "<n> T<id> <name> <op>", naming the chosen thread and the
 * operation it is at, so a replay that diverges can say where.
 *
 * A decision log whose first line is "# storesim deviations v1" is replayed
 * leniently (storesim shrink, tools/shrink.c): every decision it does not
 * list takes fifo's choice (the oldest READY thread; the running thread goes
 * on at a scheduling point), and a listed choice whose thread is not a
 * candidate then is skipped instead of diverging. It lists deviations, one
 * a line, keyed either by decision number or by context:
 *   @<n> T<id> <name> <op>        at decision n, run this thread
 *   <dname> <dop> <k> <name> <op> at the k-th arrival (from 1) of a thread
 *                                 <dname> at <dop> as fifo's choice, run
 *                                 thread <name> at <op> instead
 * An arrival is a thread at one operation until it runs: when a deviation
 * passes it over, the next decision that would pick it is the same arrival
 * (the same k), so k counts the thread's own progress, not the decisions
 * around it.
 * The context key survives changes elsewhere in the run (fewer threads, an
 * earlier deviation removed), which decision numbers do not. A run that
 * records a decision log under a lenient replay writes, before the line of
 * each decision that differed from fifo's, "#dev " and that decision's
 * context key: the deviations of the run, which a plain replay of the log
 * skips as comments. With "candidates" after the first line's words, it
 * also writes before every decision "#cand <n>" and, for each candidate
 * other than fifo's, " | T<id> <name> <op>": the alternatives a search
 * for a one-deviation schedule tries.
 *
 * A policy's state hangs off w->sched_state, made by init and released by
 * free; its random draws come from its own stream (sim_rng_init with the
 * spec's seed and the stream "sched.<name>"), so the same spec gives the same
 * decisions on every run.
 *
 * Adding a policy: a sim_sched_kind_t value (sched.h), its functions here,
 * and its row in `policies`, in kind order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

/* ---- fifo: oldest READY first, never switch at a scheduling point ---- */
static int fifo_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  if (strcmp(text, "fifo") != 0) return 1;
  out->kind = SIM_SCHED_FIFO;
  return 0;
}

static size_t fifo_format(const sim_sched_t *s, char *buf, size_t n) {
  return (size_t)snprintf(buf, n, "fifo");
}

/* ---- random: uniform among the candidates ---- */
typedef struct random_state {
  sim_rng_t rng;
} random_state_t;

static void free_state(sim_world_t *w) { free(w->sched_state); }

static int random_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  unsigned long long seed;
  char tail;
  if (sscanf(text, "random:%llu%c", &seed, &tail) != 1) return 1;
  out->kind = SIM_SCHED_RANDOM;
  out->seed = seed;
  return 0;
}

static size_t random_format(const sim_sched_t *s, char *buf, size_t n) {
  return (size_t)snprintf(buf, n, "random:%llu", (unsigned long long)s->seed);
}

static int random_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n) {
  random_state_t *r = sim__xcalloc(1, sizeof *r);
  sim_rng_init(&r->rng, s->seed, "sched.random");
  w->sched_state = r;
  return 0;
}

static long random_pick(sim_world_t *w) {
  random_state_t *r = w->sched_state;
  return (long)sim_rng_below(&r->rng, w->rn);
}

static long random_point(sim_world_t *w, sim_thread_t *t) {
  random_state_t *r = w->sched_state;
  return (long)sim_rng_below(&r->rng, w->rn + 1);
}

/* ---- pct: probabilistic concurrency testing (Burckhardt et al., ASPLOS
 * 2010). Every thread gets a random priority above depth at spawn; the
 * highest READY priority runs. At d - 1 change points, drawn among the
 * first k steps, the running thread's priority drops below every initial
 * one. A step is a dispatch or a scheduling point (k counts both). ---- */
typedef struct pct_state {
  sim_rng_t rng;
  uint64_t depth;
  uint64_t *change; /* sorted change points */
  size_t nchange, ci;
  uint64_t npoints; /* scheduling points so far: the step is w->steps + npoints */
} pct_state_t;

static int pct_bad(const char *text, char *err, size_t n) {
  snprintf(err, n,
           "bad scheduler '%s': expected pct:SEED:DEPTH[:STEPS] with DEPTH 1 to %d and "
           "STEPS 1 to %llu",
           text, SIM_SCHED_PCT_MAX_DEPTH, (unsigned long long)SIM_SCHED_PCT_MAX_STEPS);
  return SIM_EINVAL;
}

static int pct_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  if (strncmp(text, "pct:", 4) != 0) return 1;
  /* pct:SEED:DEPTH[:STEPS], digits only: "pct:1:-1" or "pct:1:2xyz" is an
   * error, not a huge or truncated number */
  unsigned long long v[3] = {0, 0, 0};
  int k = 0;
  const char *p = text + 4;
  while (k < 3) {
    char *end;
    if (*p < '0' || *p > '9') break;
    errno = 0;
    v[k] = strtoull(p, &end, 10);
    if (errno) break;
    k++;
    p = end;
    if (*p != ':') break;
    p++;
  }
  if ((k != 2 && k != 3) || *p || v[1] < 1 || v[1] > SIM_SCHED_PCT_MAX_DEPTH ||
      (k == 3 && (v[2] < 1 || v[2] > SIM_SCHED_PCT_MAX_STEPS)))
    return pct_bad(text, err, n);
  out->kind = SIM_SCHED_PCT;
  out->seed = v[0];
  out->depth = v[1];
  out->steps = k == 3 ? v[2] : 0;
  return 0;
}

static size_t pct_format(const sim_sched_t *s, char *buf, size_t n) {
  if (s->steps)
    return (size_t)snprintf(buf, n, "pct:%llu:%llu:%llu", (unsigned long long)s->seed,
                            (unsigned long long)s->depth, (unsigned long long)s->steps);
  return (size_t)snprintf(buf, n, "pct:%llu:%llu", (unsigned long long)s->seed,
                          (unsigned long long)s->depth);
}

static int pct_check(const sim_sched_t *s, char *err, size_t n) {
  if (s->depth >= 1 && s->depth <= SIM_SCHED_PCT_MAX_DEPTH && s->steps <= SIM_SCHED_PCT_MAX_STEPS)
    return 0;
  char text[96];
  pct_format(s, text, sizeof text);
  return pct_bad(text, err, n);
}

static int pct_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n) {
  pct_state_t *p = sim__xcalloc(1, sizeof *p);
  uint64_t steps = s->steps ? s->steps : SIM_SCHED_PCT_DEFAULT_STEPS;
  sim_rng_init(&p->rng, s->seed, "sched.pct");
  p->depth = s->depth;
  p->nchange = s->depth - 1;
  p->change = sim__xcalloc(p->nchange + 1, sizeof *p->change);
  for (size_t i = 0; i < p->nchange; i++) p->change[i] = 1 + sim_rng_below(&p->rng, steps);
  /* sort the change points (at most SIM_SCHED_PCT_MAX_DEPTH - 1) */
  for (size_t i = 1; i < p->nchange; i++)
    for (size_t j = i; j > 0 && p->change[j - 1] > p->change[j]; j--) {
      uint64_t x = p->change[j];
      p->change[j] = p->change[j - 1];
      p->change[j - 1] = x;
    }
  w->sched_state = p;
  return 0;
}

static void pct_spawn(sim_world_t *w, sim_thread_t *t) {
  pct_state_t *p = w->sched_state;
  t->prio = p->depth + 1 + sim_rng_below(&p->rng, 1ull << 40);
}

static long pct_pick(sim_world_t *w) {
  size_t i = 0;
  for (size_t k = 1; k < w->rn; k++)
    if (sim__ready_at(w, k)->prio > sim__ready_at(w, i)->prio) i = k;
  return (long)i;
}

static long pct_point(sim_world_t *w, sim_thread_t *t) {
  pct_state_t *p = w->sched_state;
  uint64_t step = w->steps + ++p->npoints;
  /* lower the running thread's priority at the change points passed */
  while (p->ci < p->nchange && p->change[p->ci] <= step) {
    t->prio = p->ci + 1; /* below every initial priority */
    p->ci++;
  }
  long pick = 0;
  uint64_t best = t->prio;
  for (size_t k = 0; k < w->rn; k++)
    if (sim__ready_at(w, k)->prio > best) {
      best = sim__ready_at(w, k)->prio;
      pick = (long)k + 1;
    }
  return pick;
}

static void pct_free(sim_world_t *w) {
  pct_state_t *p = w->sched_state;
  free(p->change);
  free(p);
}

/* ---- replay: the decisions of a decision log, matched by name ---- */
typedef struct decision {
  uint64_t id;
  char *name;
  char *op;
  /* lenient logs only: the key (num > 0, or the context dname, dop, k) */
  uint64_t num, k;
  char *dname, *dop;
} decision_t;

/* A lenient replay's view of one thread: the operation it was last fifo's
 * choice at, that arrival's number k, and whether it has run since. */
typedef struct arrival {
  uint64_t oph, k;
  bool seen, ran;
} arrival_t;

/* A lenient replay's count of arrivals per fifo choice ("name op"). */
typedef struct ctx_count {
  char *key;
  uint64_t n;
} ctx_count_t;

typedef struct replay_state {
  decision_t *d;
  size_t n, i;
  bool lenient;
  bool list_cands; /* lenient: "#cand" lines in the decision log */
  size_t first_ctx; /* lenient: the first context-keyed line (after sorting) */
  ctx_count_t *ctx; /* open addressing, nctx_cap a power of two */
  size_t nctx, nctx_cap;
  arrival_t *arr; /* by thread id */
  size_t narr;
} replay_state_t;

static int replay_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  if (strncmp(text, "replay:", 7) != 0 || !text[7]) return 1;
  out->kind = SIM_SCHED_REPLAY;
  out->file = text + 7;
  return 0;
}

static size_t replay_format(const sim_sched_t *s, char *buf, size_t n) {
  return (size_t)snprintf(buf, n, "replay:%s", s->file ? s->file : "");
}

static int bad_text(const char *text, char *err, size_t n);

static int replay_check(const sim_sched_t *s, char *err, size_t n) {
  return s->file && s->file[0] ? 0 : bad_text("replay:", err, n);
}

static void replay_free(sim_world_t *w) {
  replay_state_t *r = w->sched_state;
  for (size_t i = 0; i < r->n; i++) {
    free(r->d[i].name);
    free(r->d[i].op);
    free(r->d[i].dname);
    free(r->d[i].dop);
  }
  for (size_t i = 0; i < r->nctx_cap; i++) free(r->ctx[i].key);
  free(r->ctx);
  free(r->arr);
  free(r->d);
  free(r);
}

static decision_t *decision_add(replay_state_t *r) {
  if (r->n % 256 == 0) r->d = sim__xrealloc(r->d, (r->n + 256) * sizeof *r->d);
  decision_t *d = &r->d[r->n++];
  memset(d, 0, sizeof *d);
  return d;
}

/* One line of a lenient log (see the top of this file) into r: 0, or -1
 * when it is neither form. */
static int lenient_line(replay_state_t *r, const char *line) {
  unsigned long long num, id, k;
  char name[512], op[512], dname[512], dop[512];
  if (line[0] == '@') {
    if (sscanf(line, "@%llu T%llu %511s %511s", &num, &id, name, op) != 4 || num == 0) return -1;
    decision_t *d = decision_add(r);
    d->num = num;
    d->id = id;
    d->name = sim__xstrdup(name);
    d->op = sim__xstrdup(op);
    return 0;
  }
  if (sscanf(line, "%511s %511s %llu %511s %511s", dname, dop, &k, name, op) != 5 || k == 0)
    return -1;
  decision_t *d = decision_add(r);
  d->k = k;
  d->dname = sim__xstrdup(dname);
  d->dop = sim__xstrdup(dop);
  d->name = sim__xstrdup(name);
  d->op = sim__xstrdup(op);
  return 0;
}

/* Sorts the number-keyed lines of a lenient log first, by number (the
 * replay walks them in order), the context-keyed ones after them. */
static int decision_cmp(const void *a, const void *b) {
  const decision_t *x = a, *y = b;
  uint64_t nx = x->num ? x->num : UINT64_MAX, ny = y->num ? y->num : UINT64_MAX;
  return nx < ny ? -1 : nx > ny;
}

/* Reads the log. A log recorded under fifo has no decisions at scheduling
 * points ("policy=fifo" in its header), so the replay makes none there. */
static int replay_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n) {
  FILE *f = fopen(s->file, "r");
  if (!f) {
    snprintf(err, n, "%s: cannot open decision log: %s", s->file, strerror(errno));
    return SIM_EINVAL;
  }
  replay_state_t *r = sim__xcalloc(1, sizeof *r);
  w->sched_state = r;
  w->sched_points = false;
  char line[1024];
  size_t lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (lineno == 1 && strncmp(line, "# storesim deviations v1", 24) == 0) {
      r->lenient = true;
      r->list_cands = strstr(line + 24, " candidates") != NULL;
      w->sched_points = true; /* a deviation may be at a scheduling point */
      continue;
    }
    if (line[0] == '#' && r->lenient) continue;
    if (r->lenient) {
      if (line[0] == '\n') continue;
      if (lenient_line(r, line)) {
        snprintf(err, n, "%s:%zu: error: malformed deviation line", s->file, lineno);
        fclose(f);
        return SIM_EINVAL;
      }
      continue;
    }
    if (line[0] == '#') {
      char *p = strstr(line, "policy=");
      if (p && strncmp(p + 7, "fifo", 4) != 0) w->sched_points = true;
      continue;
    }
    unsigned long long nd, id;
    char name[512], op[512];
    if (sscanf(line, "%llu T%llu %511s %511s", &nd, &id, name, op) != 4) {
      snprintf(err, n, "%s:%zu: error: malformed decision line", s->file, lineno);
      fclose(f);
      return SIM_EINVAL; /* the world's destroy frees r */
    }
    if (r->n % 256 == 0) r->d = sim__xrealloc(r->d, (r->n + 256) * sizeof *r->d);
    decision_t *d = decision_add(r);
    d->id = id;
    d->name = sim__xstrdup(name);
    d->op = sim__xstrdup(op);
  }
  fclose(f);
  if (r->lenient && r->n) qsort(r->d, r->n, sizeof *r->d, decision_cmp);
  while (r->first_ctx < r->n && r->d[r->first_ctx].num) r->first_ctx++;
  return 0;
}

static void op_text(sim_world_t *w, const sim_thread_t *t, char *buf, size_t n) {
  snprintf(buf, n, "%s%s%s", t->op ? t->op : "run", t->op_obj ? ":" : "",
           t->op_obj ? sim_interned(w, t->op_obj) : "");
}

/* Candidate i of a replayed decision: the running thread `first` (when not
 * NULL) and then every READY thread, in queue order. */
static sim_thread_t *cand_at(sim_world_t *w, sim_thread_t *first, size_t i) {
  if (first) {
    if (i == 0) return first;
    i--;
  }
  return sim__ready_at(w, i);
}

/* Chooses the candidate named by the next replay line among all n (the
 * running thread `first`, if any, and every READY thread: a random pick
 * among hundreds of READY threads must replay as it was made); -1 on
 * divergence (w->last_error says where). A candidate with the logged name
 * and operation is taken, the one with the logged id first. */
static long replay_match(sim_world_t *w, sim_thread_t *first) {
  replay_state_t *r = w->sched_state;
  char op[256], buf[256];
  size_t n = w->rn + (first != NULL);
  if (r->i >= r->n) {
    snprintf(w->last_error, sizeof w->last_error,
             "replay diverged at decision %llu: the log has only %zu decisions",
             (unsigned long long)w->ndecisions + 1, r->n);
    return -1;
  }
  decision_t *d = &r->d[r->i];
  long best = -1;
  for (size_t i = 0; i < n; i++) {
    sim_thread_t *c = cand_at(w, first, i);
    if (best >= 0 && c->id != d->id) continue;
    op_text(w, c, op, sizeof op);
    if (strcmp(sim_interned(w, c->name_id), d->name) == 0 && strcmp(op, d->op) == 0) {
      best = (long)i;
      if (c->id == d->id) break;
    }
  }
  if (best < 0) {
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && k < sizeof buf - 1; i++) {
      sim_thread_t *c = cand_at(w, first, i);
      op_text(w, c, op, sizeof op);
      int m = snprintf(buf + k, sizeof buf - k, "%sT%llu %s %s", i ? ", " : "",
                       (unsigned long long)c->id, sim_interned(w, c->name_id), op);
      if (m < 0) break;
      k += (size_t)m;
    }
    snprintf(w->last_error, sizeof w->last_error,
             "replay diverged at decision %llu (t=%lld ns): the log wants T%llu "
             "%s %s; candidates are %s",
             (unsigned long long)w->ndecisions + 1, (long long)w->now, (unsigned long long)d->id,
             d->name, d->op, buf);
    return -1;
  }
  r->i++;
  return best;
}

/* FNV-1a of a string (the context table's hash). */
static size_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

/* The count of decisions so far whose fifo choice is `key`, plus one. */
static uint64_t ctx_next(replay_state_t *r, const char *key) {
  if (2 * (r->nctx + 1) > r->nctx_cap) {
    size_t cap = r->nctx_cap ? 2 * r->nctx_cap : 64;
    ctx_count_t *t = sim__xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < r->nctx_cap; i++) {
      if (!r->ctx[i].key) continue;
      size_t h = hash_str(r->ctx[i].key) & (cap - 1);
      while (t[h].key) h = (h + 1) & (cap - 1);
      t[h] = r->ctx[i];
    }
    free(r->ctx);
    r->ctx = t;
    r->nctx_cap = cap;
  }
  size_t h = hash_str(key) & (r->nctx_cap - 1);
  while (r->ctx[h].key && strcmp(r->ctx[h].key, key) != 0) h = (h + 1) & (r->nctx_cap - 1);
  if (!r->ctx[h].key) {
    r->ctx[h].key = sim__xstrdup(key);
    r->nctx++;
  }
  return ++r->ctx[h].n;
}

/* The candidate named by d (name and operation, the logged id first), or
 * -1 when none is. */
static long cand_find(sim_world_t *w, sim_thread_t *first, size_t n, const decision_t *d) {
  char op[256];
  long best = -1;
  for (size_t i = 0; i < n; i++) {
    sim_thread_t *c = cand_at(w, first, i);
    if (best >= 0 && (d->id == 0 || c->id != d->id)) continue;
    op_text(w, c, op, sizeof op);
    if (strcmp(sim_interned(w, c->name_id), d->name) == 0 && strcmp(op, d->op) == 0) {
      best = (long)i;
      if (d->id == 0 || c->id == d->id) break;
    }
  }
  return best;
}

/* A lenient replay's decision: fifo's (candidate 0) unless a line of the
 * log names this decision, by number or by context, and a candidate
 * matches it. Never diverges. */
static long lenient_match(sim_world_t *w, sim_thread_t *first) {
  replay_state_t *r = w->sched_state;
  size_t n = w->rn + (first != NULL);
  uint64_t num = w->ndecisions + 1;
  sim_thread_t *c0 = cand_at(w, first, 0);
  char dop[256], key[800];
  op_text(w, c0, dop, sizeof dop);
  const char *dname = sim_interned(w, c0->name_id);
  snprintf(key, sizeof key, "%s %s", dname, dop);
  if (c0->id >= r->narr) {
    size_t na = r->narr ? r->narr : 64;
    while (na <= c0->id) na *= 2;
    r->arr = sim__xrealloc(r->arr, na * sizeof *r->arr);
    memset(r->arr + r->narr, 0, (na - r->narr) * sizeof *r->arr);
    r->narr = na;
  }
  arrival_t *a = &r->arr[c0->id];
  uint64_t oph = hash_str(dop);
  if (!a->seen || a->ran || a->oph != oph) {
    a->k = ctx_next(r, key);
    a->oph = oph;
    a->seen = true;
    a->ran = false;
  }
  uint64_t k = a->k;
  if (r->list_cands && w->dlog) {
    char op[256];
    fprintf(w->dlog, "#cand %llu", (unsigned long long)num);
    for (size_t i = 1; i < n; i++) {
      sim_thread_t *c = cand_at(w, first, i);
      op_text(w, c, op, sizeof op);
      fprintf(w->dlog, " | T%llu %s %s", (unsigned long long)c->id, sim_interned(w, c->name_id),
              op);
    }
    fputc('\n', w->dlog);
  }
  long pick = -1;
  while (r->i < r->n && r->d[r->i].num && r->d[r->i].num < num) r->i++;
  if (r->i < r->n && r->d[r->i].num == num) pick = cand_find(w, first, n, &r->d[r->i++]);
  for (size_t j = r->first_ctx; pick < 0 && j < r->n; j++) {
    const decision_t *d = &r->d[j];
    if (d->k != k || strcmp(d->dname, dname) != 0 || strcmp(d->dop, dop) != 0) continue;
    pick = cand_find(w, first, n, d);
  }
  if (pick <= 0) {
    a->ran = true;
    return 0;
  }
  sim_thread_t *chosen = cand_at(w, first, (size_t)pick);
  if (chosen->id < r->narr) r->arr[chosen->id].ran = true;
  if (w->dlog) {
    char op[256];
    sim_thread_t *c = cand_at(w, first, (size_t)pick);
    op_text(w, c, op, sizeof op);
    fprintf(w->dlog, "#dev %s %s %llu %s %s\n", dname, dop, (unsigned long long)k,
            sim_interned(w, c->name_id), op);
  }
  return pick;
}

static long replay_pick(sim_world_t *w) {
  replay_state_t *r = w->sched_state;
  return r->lenient ? lenient_match(w, NULL) : replay_match(w, NULL);
}

static long replay_point(sim_world_t *w, sim_thread_t *t) {
  replay_state_t *rs = w->sched_state;
  if (rs->lenient) return lenient_match(w, t);
  long r = replay_match(w, t);
  if (r < 0) w->interrupted = 1; /* stop; the run returns SIM_EREPLAY */
  return r;
}

/* ---- the table ---- */
static const sim__sched_policy_t policies[] = {
    {.kind = SIM_SCHED_FIFO, .syntax = "fifo", .parse = fifo_parse, .format = fifo_format},
    {.kind = SIM_SCHED_RANDOM,
     .syntax = "random:SEED",
     .seeded = true,
     .parse = random_parse,
     .format = random_format,
     .init = random_init,
     .pick = random_pick,
     .point = random_point,
     .free = free_state},
    {.kind = SIM_SCHED_PCT,
     .syntax = "pct:SEED:DEPTH[:STEPS]",
     .seeded = true,
     .parse = pct_parse,
     .check = pct_check,
     .format = pct_format,
     .init = pct_init,
     .spawn = pct_spawn,
     .pick = pct_pick,
     .point = pct_point,
     .free = pct_free},
    {.kind = SIM_SCHED_REPLAY,
     .syntax = "replay:FILE",
     .replays = true,
     .parse = replay_parse,
     .check = replay_check,
     .format = replay_format,
     .init = replay_init,
     .pick = replay_pick,
     .point = replay_point,
     .free = replay_free},
    /* no text: a search (storesim explore --dfs) builds its spec (dfs.c) */
    {.kind = SIM_SCHED_DFS,
     .parse = sim__dfs_parse,
     .check = sim__dfs_check,
     .format = sim__dfs_format,
     .init = sim__dfs_init,
     .pick = sim__dfs_pick,
     .point = sim__dfs_point,
     .free = sim__dfs_free},
};
enum { NPOLICIES = sizeof policies / sizeof *policies };

static const sim__sched_policy_t *policy_of(const sim_sched_t *s) {
  if ((unsigned)s->kind >= NPOLICIES) return NULL;
  return &policies[s->kind];
}

/* "bad scheduler 'TEXT': expected fifo, random:SEED, ... or replay:FILE",
 * the syntaxes from the table. */
static int bad_text(const char *text, char *err, size_t n) {
  char list[256];
  size_t k = 0;
  list[0] = 0;
  size_t ntext = 0; /* the policies with a text form come first */
  while (ntext < NPOLICIES && policies[ntext].syntax) ntext++;
  for (size_t i = 0; i < ntext && k < sizeof list; i++) {
    const char *sep = i == 0 ? "" : i + 1 == ntext ? " or " : ", ";
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", sep, policies[i].syntax);
  }
  snprintf(err, n, "bad scheduler '%s': expected %s", text, list);
  return SIM_EINVAL;
}

/* ---- the public functions (sched.h) ---- */
int sim_sched_parse(const char *text, sim_sched_t *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  if (!text || !*text) return 0;
  for (size_t i = 0; i < NPOLICIES; i++) {
    int rc = policies[i].parse(text, out, err, n);
    if (rc == 1) continue;
    if (rc) memset(out, 0, sizeof *out);
    return rc;
  }
  return bad_text(text, err, n);
}

int sim_sched_check(const sim_sched_t *s, char *err, size_t n) {
  const sim__sched_policy_t *p = policy_of(s);
  if (!p) {
    snprintf(err, n, "bad scheduler: unknown kind %d", (int)s->kind);
    return SIM_EINVAL;
  }
  return p->check ? p->check(s, err, n) : 0;
}

size_t sim_sched_format(const sim_sched_t *s, char *buf, size_t n) {
  const sim__sched_policy_t *p = policy_of(s);
  if (!p) return (size_t)snprintf(buf, n, "?");
  return p->format(s, buf, n);
}

int sim_sched_seeded(const sim_sched_t *s) {
  const sim__sched_policy_t *p = policy_of(s);
  return p && p->seeded;
}

/* ---- the world's side (kernel_int.h) ---- */

int sim__sched_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n) {
  int rc = sim_sched_check(s, err, n);
  if (rc) return rc;
  const sim__sched_policy_t *p = policy_of(s);
  w->sched = p;
  w->sched_picks = p->pick != NULL;
  w->sched_points = p->point != NULL;
  w->sched_replays = p->replays;
  if (p->init && (rc = p->init(w, s, err, n)) != 0) return rc;
  if (w->o.decision_log_file && !w->o.decision_log) {
    w->dlog = w->o.decision_log_file;
    w->dlog_borrowed = true;
  } else if (w->o.decision_log) {
    w->dlog = fopen(w->o.decision_log, "w");
    if (!w->dlog) {
      snprintf(err, n, "%s: cannot write decision log: %s", w->o.decision_log, strerror(errno));
      return SIM_EINVAL;
    }
    setvbuf(w->dlog, NULL, _IOLBF, 0); /* a crash keeps what was decided */
  }
  if (w->dlog) {
    size_t ntext = sim_sched_format(s, NULL, 0) + 1;
    char *text = sim__xmalloc(ntext);
    sim_sched_format(s, text, ntext);
    fprintf(w->dlog, "# storesim decision log v1 policy=%s seed=%llu\n", text,
            (unsigned long long)w->o.seed);
    free(text);
  }
  return 0;
}

void sim__sched_free(sim_world_t *w) {
  if (w->sched && w->sched->free && w->sched_state) w->sched->free(w);
  w->sched_state = NULL;
  if (w->dlog && !w->dlog_borrowed) fclose(w->dlog);
  w->dlog = NULL;
}

void sim__decision_write(sim_world_t *w, const sim_thread_t *t) {
  fprintf(w->dlog, "%llu T%llu %s %s%s%s\n", (unsigned long long)w->ndecisions,
          (unsigned long long)t->id, sim_interned(w, t->name_id), t->op ? t->op : "run",
          t->op_obj ? ":" : "", t->op_obj ? sim_interned(w, t->op_obj) : "");
}
