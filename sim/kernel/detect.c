/*
 * Detectors, always on: wait-for cycles, global hangs, lock-order
 * inversions (in the style of Linux lockdep), misuse and CPU spins; and the
 * world's list of reports.
 *
 * Wait-for graph: a thread blocked on a mutex waits for its owner. When a
 * thread is about to block, the chain owner -> (mutex it waits on) -> owner
 * ... is followed; reaching the blocking thread again is a cycle. The chain is
 * a path (each thread waits on at most one mutex), so the check is O(length).
 *
 * Lock order: each mutex belongs to a class (its name). Taking class B while
 * holding class A records the edge A -> B with the first-seen sites. When a
 * new edge A -> B is recorded and B already reaches A, the order is
 * inconsistent: one report per class pair, even if this run never deadlocks.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

const char *sim_report_kind_name(sim_report_kind_t k) {
  switch (k) {
  case SIM_R_DEADLOCK:
    return "deadlock";
  case SIM_R_HANG:
    return "hang";
  case SIM_R_LOCK_ORDER:
    return "lock-order";
  case SIM_R_MISUSE:
    return "misuse";
  case SIM_R_SPIN:
    return "spin";
  case SIM_R_MODEL:
    return "model";
  }
  return "?";
}

size_t sim_world_nreports(const sim_world_t *w) { return w->nreports; }
const sim_report_t *sim_world_report(const sim_world_t *w, size_t i) {
  return i < w->nreports ? &w->reports[i] : NULL;
}
void sim_world_on_report(sim_world_t *w,
                         void (*fn)(const sim_report_t *r, void *arg),
                         void *arg) {
  w->on_report = fn;
  w->on_report_arg = arg;
}

void sim__file_report(sim_world_t *w, sim_report_kind_t kind, const char *name,
                      char *text, char *dot, uint64_t *threads, size_t nthreads,
                      char **locks, size_t nlocks) {
  if (w->nreports == w->capreports) {
    w->capreports = w->capreports ? 2 * w->capreports : 8;
    w->reports = sim__xrealloc(w->reports, w->capreports * sizeof *w->reports);
  }
  sim_report_t *r = &w->reports[w->nreports++];
  r->kind = kind;
  r->time = w->now;
  r->name = name ? name : sim_report_kind_name(kind);
  r->text = text;
  r->dot = dot;
  r->threads = threads;
  r->nthreads = nthreads;
  for (size_t i = 0; i < nthreads; i++) sim__tname_pin(w, threads[i]);
  r->locks = locks;
  r->nlocks = nlocks;
  sim_thread_t *self = sim_self();
  sim__trace(w, self ? self->id : 0, w->k_report, sim_intern(w, r->name),
             (int64_t)kind);
  if (w->on_report)
    w->on_report(r, w->on_report_arg);
}

void sim_world_file_report(sim_world_t *w, const char *name, const char *text,
                           const uint64_t *threads, size_t nthreads) {
  uint64_t *ids = NULL;
  if (nthreads) {
    ids = sim__xmalloc(nthreads * sizeof *ids);
    memcpy(ids, threads, nthreads * sizeof *ids);
  }
  /* The name must outlive the report: intern it. */
  const char *nm = sim_interned(w, sim_intern(w, name));
  sim__file_report(w, SIM_R_MODEL, nm, sim__xstrdup(text), NULL, ids, nthreads,
                   NULL, 0);
}

void sim__reports_free(sim_world_t *w) {
  for (size_t i = 0; i < w->nreports; i++) {
    sim_report_t *r = &w->reports[i];
    free(r->text);
    free(r->dot);
    free(r->threads);
    for (size_t k = 0; k < r->nlocks; k++)
      free(r->locks[k]);
    free(r->locks);
  }
  free(w->reports);
}

static const char *tname(sim_world_t *w, const sim_thread_t *t) {
  return sim_interned(w, t->name_id);
}

static const char *mname(const sim_mutex_t *m) {
  return sim_interned(m->w, m->name_id);
}

void sim__describe_thread(sim_world_t *w, const sim_thread_t *t, char *buf,
                          size_t n) {
  const char *act = t->activity ? t->activity : "-";
  switch (t->state) {
  case SIM_T_READY:
    snprintf(buf, n, "ready (%s)", act);
    return;
  case SIM_T_RUNNING:
    snprintf(buf, n, "running (%s)", act);
    return;
  case SIM_T_DONE:
    snprintf(buf, n, "done");
    return;
  case SIM_T_BLOCKED:
    break;
  }
  switch (t->wait_kind) {
  case SIM__W_MUTEX: {
    const sim_mutex_t *m = t->wait_obj;
    if (m->owner)
      snprintf(buf, n, "blocked on mutex '%s' held by T%llu '%s' (%s)",
               mname(m), (unsigned long long)m->owner->id,
               tname(w, m->owner), act);
    else
      snprintf(buf, n, "blocked on mutex '%s' (%s)", mname(m), act);
    return;
  }
  case SIM__W_COND:
    snprintf(buf, n, "waiting on condition '%s' (%s)",
             sim_interned(w, ((const sim_cond_t *)t->wait_obj)->name_id), act);
    return;
  case SIM__W_SEM:
    snprintf(buf, n, "waiting on semaphore '%s' (%s)",
             sim_interned(w, ((const sim_sem_t *)t->wait_obj)->name_id), act);
    return;
  case SIM__W_SLEEP:
    snprintf(buf, n, "sleeping (%s)", act);
    return;
  case SIM__W_CPU:
    snprintf(buf, n, "waiting for a CPU core (%s)", act);
    return;
  case SIM__W_CPU_RUN:
    snprintf(buf, n, "running on a CPU core (%s)", act);
    return;
  case SIM__W_JOIN:
    snprintf(buf, n, "joining T%llu (%s)",
             (unsigned long long)((const sim_thread_t *)t->wait_obj)->id, act);
    return;
  default:
    snprintf(buf, n, "blocked (%s)", act);
    return;
  }
}

static void held_lines(sim__sb_t *b, sim_world_t *w, const sim_thread_t *t) {
  char tb[48];
  if (t->nheld == 0) {
    sim__sb_printf(b, "  (no locks held)\n");
    return;
  }
  for (int i = 0; i < t->nheld; i++) {
    sim__fmt_time(t->held[i].time, tb, sizeof tb);
    sim__sb_printf(b, "  #%d '%s' acquired at %s:%d, t=%s\n", i,
                   mname(t->held[i].m), t->held[i].file ? t->held[i].file : "?",
                   t->held[i].line, tb);
  }
  (void)w;
}

/* ---- wait-for cycles ---- */
void sim__check_waitfor(sim_world_t *w, sim_thread_t *t, sim_mutex_t *m,
                        const char *file, int line) {
  /* Follow owners: t waits for m->owner, who may wait for another mutex. */
  sim_thread_t *chain[64];
  sim_mutex_t *wants[64];
  size_t n = 0;
  chain[n] = t;
  wants[n] = m;
  n++;
  sim_thread_t *o = m->owner;
  while (o && n < 64) {
    if (o == t)
      break;
    if (o->state != SIM_T_BLOCKED || o->wait_kind != SIM__W_MUTEX)
      return;
    chain[n] = o;
    wants[n] = o->wait_obj;
    n++;
    o = ((sim_mutex_t *)o->wait_obj)->owner;
  }
  if (o != t)
    return;
  sim__sb_t b = {0};
  char tb[48];
  sim__fmt_time(w->now, tb, sizeof tb);
  sim__sb_printf(&b,
                 "storesim: DEADLOCK: wait-for cycle of %zu thread%s at t=%s\n",
                 n, n == 1 ? "" : "s", tb);
  for (size_t i = 0; i < n; i++) {
    sim_thread_t *x = chain[i];
    sim_mutex_t *want = wants[i];
    const char *wf = i == 0 ? file : x->wait_file;
    int wl = i == 0 ? line : x->wait_line;
    sim__sb_printf(&b,
                   "thread T%llu '%s' waits for '%s' at %s:%d, held by T%llu "
                   "'%s'\n",
                   (unsigned long long)x->id, tname(w, x), mname(want),
                   wf ? wf : "?", wl, (unsigned long long)want->owner->id,
                   tname(w, want->owner));
    sim__sb_printf(&b, "held locks of T%llu '%s':\n", (unsigned long long)x->id,
                   tname(w, x));
    held_lines(&b, w, x);
  }
  /* DOT: threads as boxes, locks as ellipses. */
  sim__sb_t d = {0};
  sim__sb_printf(&d, "digraph waitfor {\n  rankdir=LR;\n");
  for (size_t i = 0; i < n; i++) {
    sim__sb_printf(&d, "  T%llu [shape=box,label=\"T%llu %s\"];\n",
                   (unsigned long long)chain[i]->id,
                   (unsigned long long)chain[i]->id, tname(w, chain[i]));
    sim__sb_printf(&d, "  L%u [shape=ellipse,label=\"%s\"];\n",
                   wants[i]->name_id, mname(wants[i]));
  }
  for (size_t i = 0; i < n; i++) {
    const char *wf = i == 0 ? file : chain[i]->wait_file;
    int wl = i == 0 ? line : chain[i]->wait_line;
    sim__sb_printf(&d,
                   "  T%llu -> L%u [label=\"waits for\\n%s:%d\",color=red];\n",
                   (unsigned long long)chain[i]->id, wants[i]->name_id,
                   wf ? wf : "?", wl);
    sim__sb_printf(&d, "  L%u -> T%llu [label=\"held by\\n%s:%d\"];\n",
                   wants[i]->name_id, (unsigned long long)wants[i]->owner->id,
                   wants[i]->own_file ? wants[i]->own_file : "?",
                   wants[i]->own_line);
  }
  sim__sb_printf(&d, "}\n");
  uint64_t *ids = sim__xmalloc(n * sizeof *ids);
  char **locks = sim__xmalloc(n * sizeof *locks);
  for (size_t i = 0; i < n; i++) {
    chain[i]->dl_reported = true; /* the live watchdog reports a cycle once */
    ids[i] = chain[i]->id;
    locks[i] = sim__xstrdup(mname(wants[i]));
  }
  sim__file_report(w, SIM_R_DEADLOCK, NULL, b.s, d.s, ids, n, locks, n);
}

/* ---- global hang ---- */
void sim__report_hang(sim_world_t *w) {
  sim__sb_t b = {0};
  char tb[48], desc[256];
  sim__fmt_time(w->now, tb, sizeof tb);
  sim__sb_printf(&b,
                 "storesim: HANG: %llu thread%s blocked, nothing runnable, no "
                 "timer pending at t=%s\n",
                 (unsigned long long)w->nlive, w->nlive == 1 ? "" : "s", tb);
  size_t n = 0;
  uint64_t *ids = sim__xmalloc((w->nlive ? w->nlive : 1) * sizeof *ids);
  for (sim_thread_t *t = w->live_head; t; t = t->next) {
    sim__describe_thread(w, t, desc, sizeof desc);
    sim__sb_printf(&b, "thread T%llu '%s': %s\n", (unsigned long long)t->id,
                   tname(w, t), desc);
    if (t->state == SIM_T_BLOCKED && t->wait_file)
      sim__sb_printf(&b, "  waiting since %s:%d\n", t->wait_file, t->wait_line);
    for (int i = 0; i < t->nheld; i++) {
      sim__fmt_time(t->held[i].time, tb, sizeof tb);
      sim__sb_printf(&b, "  holds '%s' acquired at %s:%d, t=%s\n",
                     mname(t->held[i].m), t->held[i].file, t->held[i].line, tb);
    }
    ids[n++] = t->id;
  }
  w->hang_reported = true;
  sim__file_report(w, SIM_R_HANG, NULL, b.s, NULL, ids, n, NULL, 0);
}

/* ---- misuse ---- */
void sim__report_misuse(sim_world_t *w, sim_thread_t *t, const char *what,
                        sim_mutex_t *m, const char *file, int line) {
  sim__sb_t b = {0};
  char tb[48];
  sim__fmt_time(w->now, tb, sizeof tb);
  sim__sb_printf(&b, "storesim: MISUSE: %s at t=%s\n", what, tb);
  if (t)
    sim__sb_printf(&b, "thread T%llu '%s' at %s:%d, lock '%s'\n",
                   (unsigned long long)t->id, tname(w, t), file ? file : "?",
                   line, mname(m));
  else
    sim__sb_printf(&b, "at %s:%d, lock '%s'\n", file ? file : "?", line,
                   mname(m));
  if (m->owner)
    sim__sb_printf(&b, "lock '%s' is held by T%llu '%s', acquired at %s:%d\n",
                   mname(m), (unsigned long long)m->owner->id,
                   tname(w, m->owner), m->own_file ? m->own_file : "?",
                   m->own_line);
  if (t) {
    sim__sb_printf(&b, "held locks of T%llu '%s':\n", (unsigned long long)t->id,
                   tname(w, t));
    held_lines(&b, w, t);
  }
  uint64_t *ids = NULL;
  size_t nids = 0;
  if (t) {
    ids = sim__xmalloc(sizeof *ids);
    ids[0] = t->id;
    nids = 1;
  }
  char **locks = sim__xmalloc(sizeof *locks);
  locks[0] = sim__xstrdup(mname(m));
  sim__file_report(w, SIM_R_MISUSE, NULL, b.s, NULL, ids, nids, locks, 1);
}

/* ---- spin ---- */
void sim__report_spin(sim_world_t *w, sim_thread_t *t, sim_time_t window) {
  sim__sb_t b = {0};
  char tb[48], wb[48], pb[48];
  sim__fmt_time(w->now, tb, sizeof tb);
  sim__fmt_time(window, wb, sizeof wb);
  sim__fmt_time(t->progress_mark, pb, sizeof pb);
  double share = window > 0 ? (double)t->cpu_since_progress / (double)window : 0;
  sim__sb_printf(&b,
                 "storesim: SPIN: thread T%llu '%s' made no progress for %s at "
                 "t=%s\n",
                 (unsigned long long)t->id, tname(w, t), wb, tb);
  sim__sb_printf(&b,
                 "since t=%s it issued %llu requests and used %.3f of a core "
                 "(%s)\n",
                 pb, (unsigned long long)t->requests_since_progress, share,
                 t->activity ? t->activity : "-");
  uint64_t *ids = sim__xmalloc(sizeof *ids);
  ids[0] = t->id;
  sim__file_report(w, SIM_R_SPIN, NULL, b.s, NULL, ids, 1, NULL, 0);
}

/* ---- lockdep ---- */
uint32_t sim__ld_class(sim_world_t *w, uint32_t name_id) {
  if (name_id >= w->nld_map) {
    size_t n = w->nld_map ? w->nld_map : 64;
    while (n <= name_id)
      n *= 2;
    w->ld_cls_of_name = sim__xrealloc(w->ld_cls_of_name, n * sizeof(uint32_t));
    memset(w->ld_cls_of_name + w->nld_map, 0,
           (n - w->nld_map) * sizeof(uint32_t));
    w->nld_map = n;
  }
  if (w->ld_cls_of_name[name_id])
    return w->ld_cls_of_name[name_id] - 1;
  if (w->nld == w->capld) {
    w->capld = w->capld ? 2 * w->capld : 16;
    w->ld = sim__xrealloc(w->ld, w->capld * sizeof *w->ld);
  }
  sim__ldclass_t *c = &w->ld[w->nld];
  memset(c, 0, sizeof *c);
  c->name_id = name_id;
  w->ld_cls_of_name[name_id] = (uint32_t)(++w->nld);
  return (uint32_t)(w->nld - 1);
}

void sim__ld_free(sim_world_t *w) {
  for (size_t i = 0; i < w->nld; i++)
    free(w->ld[i].edges);
  free(w->ld);
  free(w->ld_cls_of_name);
  free(w->ld_reported);
}

static sim__ldedge_t *ld_edge(sim_world_t *w, uint32_t a, uint32_t b) {
  sim__ldclass_t *c = &w->ld[a];
  for (size_t i = 0; i < c->nedges; i++)
    if (c->edges[i].to == b)
      return &c->edges[i];
  return NULL;
}

/* Depth-first search from `from` to `to`; fills path (class ids) and returns
 * its length, or 0 when unreachable. Deterministic: edges in insertion order. */
static size_t ld_path(sim_world_t *w, uint32_t from, uint32_t to,
                      uint32_t *path, size_t max, uint8_t *seen) {
  if (from == to) {
    path[0] = from;
    return 1;
  }
  if (seen[from] || max < 2)
    return 0;
  seen[from] = 1;
  sim__ldclass_t *c = &w->ld[from];
  for (size_t i = 0; i < c->nedges; i++) {
    size_t k = ld_path(w, c->edges[i].to, to, path + 1, max - 1, seen);
    if (k) {
      path[0] = from;
      return k + 1;
    }
  }
  return 0;
}

static const char *cname(sim_world_t *w, uint32_t cls) {
  return sim_interned(w, w->ld[cls].name_id);
}

static void ld_report(sim_world_t *w, sim_thread_t *t, sim__held_t *h,
                      sim_mutex_t *m, const char *file, int line,
                      uint32_t *path, size_t np) {
  sim__sb_t b = {0};
  char tb[48];
  sim__fmt_time(w->now, tb, sizeof tb);
  uint32_t a = h->m->cls, bcls = m->cls;
  sim__sb_printf(&b,
                 "storesim: LOCK-ORDER: possible circular locking dependency "
                 "at t=%s\n",
                 tb);
  sim__sb_printf(&b, "thread T%llu '%s' is trying to acquire lock '%s' at %s:%d\n",
                 (unsigned long long)t->id, tname(w, t), mname(m),
                 file ? file : "?", line);
  sim__fmt_time(h->time, tb, sizeof tb);
  sim__sb_printf(&b, "but already holds lock '%s', acquired at %s:%d, t=%s\n",
                 mname(h->m), h->file ? h->file : "?", h->line, tb);
  sim__sb_printf(&b,
                 "which lock already depends on the new lock. The existing "
                 "dependency chain is:\n");
  const sim__ldedge_t *first = NULL;
  for (size_t i = 0; i + 1 < np; i++) {
    const sim__ldedge_t *e = ld_edge(w, path[i], path[i + 1]);
    if (!first)
      first = e;
    sim__fmt_time(e->time, tb, sizeof tb);
    sim__sb_printf(&b,
                   "  -> #%zu '%s' -> '%s': thread T%llu '%s' held '%s' (taken "
                   "at %s:%d) and took '%s' at %s:%d, t=%s\n",
                   i, cname(w, path[i]), cname(w, path[i + 1]),
                   (unsigned long long)e->thread,
                   sim_interned(w, e->thread_name), cname(w, path[i]),
                   e->held_file ? e->held_file : "?", e->held_line,
                   cname(w, path[i + 1]), e->file ? e->file : "?", e->line, tb);
  }
  /* The two-column scenario, like lockdep's. */
  const char *other = first ? sim_interned(w, first->thread_name) : "?";
  char ca[64], cb[64];
  snprintf(ca, sizeof ca, "T%llu '%s'",
           (unsigned long long)(first ? first->thread : 0), other);
  snprintf(cb, sizeof cb, "T%llu '%s'", (unsigned long long)t->id, tname(w, t));
  sim__sb_printf(&b, "possible unsafe locking scenario:\n\n");
  sim__sb_printf(&b, "       %-32s %s\n", ca, cb);
  sim__sb_printf(&b, "       %-32s %s\n", "----", "----");
  char l1[96], l2[96];
  snprintf(l1, sizeof l1, "lock(%s);", cname(w, bcls));
  snprintf(l2, sizeof l2, "lock(%s);", cname(w, a));
  sim__sb_printf(&b, "       %-32s %s\n", "", l2);
  sim__sb_printf(&b, "       %s\n", l1);
  sim__sb_printf(&b, "       %s\n", l2);
  sim__sb_printf(&b, "       %-32s %s\n", "", l1);
  sim__sb_printf(&b, "\n *** DEADLOCK possible ***\n");
  sim__sb_printf(&b, "held locks of T%llu '%s':\n", (unsigned long long)t->id,
                 tname(w, t));
  held_lines(&b, w, t);
  uint64_t *ids = sim__xmalloc(2 * sizeof *ids);
  size_t nids = 0;
  ids[nids++] = t->id;
  if (first && first->thread != t->id)
    ids[nids++] = first->thread;
  char **locks = sim__xmalloc(2 * sizeof *locks);
  locks[0] = sim__xstrdup(cname(w, a));
  locks[1] = sim__xstrdup(cname(w, bcls));
  sim__file_report(w, SIM_R_LOCK_ORDER, NULL, b.s, NULL, ids, nids, locks, 2);
}

void sim__ld_acquire(sim_world_t *w, sim_thread_t *t, sim_mutex_t *m,
                     const char *file, int line) {
  uint32_t b = m->cls;
  for (int i = 0; i < t->nheld; i++) {
    sim__held_t *h = &t->held[i];
    uint32_t a = h->m->cls;
    if (a == b || ld_edge(w, a, b))
      continue;
    /* New edge a -> b: does b already reach a? */
    uint32_t path[64];
    uint8_t *seen = sim__xcalloc(w->nld, 1);
    size_t np = ld_path(w, b, a, path, 64, seen);
    free(seen);
    if (np) {
      uint64_t key = ((uint64_t)(a < b ? a : b) << 32) | (a < b ? b : a);
      bool done = false;
      for (size_t k = 0; k < w->nld_reported; k++)
        done |= w->ld_reported[k] == key;
      if (!done) {
        if (w->nld_reported == w->capld_reported) {
          w->capld_reported = w->capld_reported ? 2 * w->capld_reported : 8;
          w->ld_reported = sim__xrealloc(
              w->ld_reported, w->capld_reported * sizeof *w->ld_reported);
        }
        w->ld_reported[w->nld_reported++] = key;
        ld_report(w, t, h, m, file, line, path, np);
      }
    }
    sim__ldclass_t *c = &w->ld[a];
    if (c->nedges == c->cap) {
      c->cap = c->cap ? 2 * c->cap : 4;
      c->edges = sim__xrealloc(c->edges, c->cap * sizeof *c->edges);
    }
    sim__ldedge_t *e = &c->edges[c->nedges++];
    e->to = b;
    e->held_file = h->file;
    e->held_line = h->line;
    e->file = file;
    e->line = line;
    e->thread_name = t->name_id;
    e->thread = t->id;
    e->time = w->now;
  }
}
