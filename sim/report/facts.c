/*
 * Facts of a finished world for explanations (report_facts_collect).
 *
 * One pass over the kept trace records in order, with the state of every
 * thread (live, blocked on what since when):
 *
 *   (spawned) --block--> BLOCKED --wake/timeout--> RUNNABLE --exit--> DONE
 *
 * A block on a mutex, condition, semaphore, join or a CPU core (run-queue
 * wait) counts as a wait on that object; sleeps, yields and CPU slices do
 * not (a CPU slice shows in snapshots as "running on a CPU"). Snapshot times
 * are the sample times at which a gauge's series first reached 0 from a
 * positive value; the snapshot is the state after every record up to that
 * time. Everything is kept in first-seen order, so the facts are as
 * deterministic as the trace.
 */
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "storesim/metrics.h"
#include "storesim/trace.h"

#define MAX_SNAPS 16
#define SNAP_ROWS 4

typedef struct tstate {
  int live;
  int blocked;   /* wait index + 1, or -1 for a CPU slice, 0 none */
  sim_time_t since;
  uint32_t group; /* index into groups */
  uint32_t want;  /* mutex (interned name) it is blocked on, or 0 */
  uint64_t held_by; /* who held that mutex when the wait began, or 0 */
} tstate_t;

typedef struct collector {
  const sim_world_t *w;
  report_facts_t *f;
  tstate_t *th;
  uint64_t nth;
  size_t *cur; /* threads blocked now, per wait */
  size_t capw, cape;
  uint32_t *ev_kind; /* interned kind per event fact */
  /* (wait kind << 32 | obj) + 1 -> wait fact index, open addressing; only
   * looked up, never iterated for output */
  uint64_t *alias_key;
  size_t *alias_idx;
  size_t nalias, nalias_cap;
  char **groups;
  size_t ngroups, capg;
  uint64_t *holder; /* per interned mutex name: the thread holding it, or 0 */
  uint32_t nobj;
  int start_done, early_done;
  int oom;
} collector_t;

static char *xstrdup(collector_t *c, const char *s) {
  char *d = strdup(s ? s : "");
  if (!d) c->oom = 1;
  return d;
}

static uint32_t group_of(collector_t *c, const char *name) {
  char g[128];
  size_t n = strlen(name);
  while (n > 0 && name[n - 1] >= '0' && name[n - 1] <= '9') n--;
  while (n > 0 && (name[n - 1] == '-' || name[n - 1] == '_' || name[n - 1] == '.')) n--;
  if (n == 0) n = strlen(name);
  if (n >= sizeof g) n = sizeof g - 1;
  memcpy(g, name, n);
  g[n] = 0;
  for (size_t i = 0; i < c->ngroups; i++)
    if (!strcmp(c->groups[i], g)) return (uint32_t)i;
  if (c->ngroups == c->capg) {
    size_t nc = c->capg ? 2 * c->capg : 16;
    char **v = realloc(c->groups, nc * sizeof *v);
    if (!v) {
      c->oom = 1;
      return 0;
    }
    c->groups = v;
    c->capg = nc;
  }
  c->groups[c->ngroups] = xstrdup(c, g);
  return (uint32_t)c->ngroups++;
}

/* Objects numbered per instance ("download.window.618") are told as one
 * family ("download.window.*"): the name without its trailing number. */
static void family_name(const char *on, char *out, size_t n) {
  size_t l = strlen(on), k = l;
  while (k > 0 && on[k - 1] >= '0' && on[k - 1] <= '9') k--;
  if (k < l && k > 1 && (on[k - 1] == '.' || on[k - 1] == '-' || on[k - 1] == '_'))
    snprintf(out, n, "%.*s*", (int)k, on);
  else
    snprintf(out, n, "%s", on);
}

static size_t alias_slot(collector_t *c, uint64_t key) {
  size_t mask = c->nalias_cap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  while (c->alias_key[h] && c->alias_key[h] != key + 1) h = (h + 1) & mask;
  return h;
}

static size_t wait_index(collector_t *c, int kind, uint32_t obj, sim_time_t t) {
  uint64_t key = (uint64_t)(uint32_t)kind << 32 | obj;
  report_facts_t *f = c->f;
  if (c->nalias_cap) {
    size_t h = alias_slot(c, key);
    if (c->alias_key[h]) return c->alias_idx[h];
  }
  if (2 * (c->nalias + 1) > c->nalias_cap) { /* grow the alias table */
    size_t nc = c->nalias_cap ? 2 * c->nalias_cap : 256;
    uint64_t *ok = c->alias_key;
    size_t *oi = c->alias_idx, oc = c->nalias_cap;
    c->alias_key = calloc(nc, sizeof *c->alias_key);
    c->alias_idx = calloc(nc, sizeof *c->alias_idx);
    if (!c->alias_key || !c->alias_idx) {
      free(c->alias_key);
      free(c->alias_idx);
      c->alias_key = ok;
      c->alias_idx = oi;
      c->oom = 1;
      return (size_t)-1;
    }
    c->nalias_cap = nc;
    for (size_t i = 0; i < oc; i++)
      if (ok[i]) {
        size_t h = alias_slot(c, ok[i] - 1);
        c->alias_key[h] = ok[i];
        c->alias_idx[h] = oi[i];
      }
    free(ok);
    free(oi);
  }
  char what[300], fam[256];
  family_name(obj ? sim_interned(c->w, obj) : "", fam, sizeof fam);
  switch (kind) {
  case SIM_WAIT_CPU: snprintf(what, sizeof what, "a CPU core"); break;
  case SIM_WAIT_JOIN: snprintf(what, sizeof what, "thread %s to finish", fam); break;
  default: snprintf(what, sizeof what, "%s %s", sim_wait_kind_name(kind), fam);
  }
  size_t idx = (size_t)-1;
  for (size_t i = 0; i < f->nwaits; i++)
    if (!strcmp(f->waits[i].what, what)) idx = i;
  if (idx == (size_t)-1) {
    if (f->nwaits == c->capw) {
      size_t nc = c->capw ? 2 * c->capw : 32;
      report_wait_fact_t *v = realloc(f->waits, nc * sizeof *v);
      size_t *cur = v ? realloc(c->cur, nc * sizeof *cur) : NULL;
      if (v) f->waits = v;
      if (cur) c->cur = cur;
      if (!cur) {
        c->oom = 1;
        return (size_t)-1;
      }
      c->capw = nc;
    }
    report_wait_fact_t *x = &f->waits[f->nwaits];
    memset(x, 0, sizeof *x);
    x->what = xstrdup(c, what);
    x->wait_kind = kind;
    x->first = t;
    c->cur[f->nwaits] = 0;
    idx = f->nwaits++;
  }
  size_t h = alias_slot(c, key);
  c->alias_key[h] = key + 1;
  c->alias_idx[h] = idx;
  c->nalias++;
  return idx;
}

static void end_wait(collector_t *c, uint64_t tid, sim_time_t t, int how) {
  tstate_t *s = &c->th[tid];
  if (s->blocked > 0) {
    size_t i = (size_t)s->blocked - 1;
    report_wait_fact_t *x = &c->f->waits[i];
    sim_time_t d = t - s->since;
    x->thread_seconds += (double)d / 1e9;
    if (s->since < c->f->early) {
      sim_time_t de = (t < c->f->early ? t : c->f->early) - s->since;
      if (de > x->early_longest) x->early_longest = de;
    }
    if (d > x->longest || !x->longest_thread) {
      free(x->longest_thread);
      x->longest = d;
      x->longest_from = s->since;
      x->longest_thread = xstrdup(c, sim_world_thread_name(c->w, tid));
      x->longest_end = how;
      free(x->longest_holder);
      x->longest_holder = NULL;
      if (s->held_by) x->longest_holder = xstrdup(c, sim_world_thread_name(c->w, s->held_by));
    }
    if (c->cur[i]) c->cur[i]--;
  }
  s->blocked = 0;
  s->want = 0;
  s->held_by = 0;
}

static void event(collector_t *c, const sim_trace_rec_t *r) {
  report_facts_t *f = c->f;
  for (size_t i = 0; i < f->nevents; i++)
    if (c->ev_kind[i] == r->kind) {
      f->events[i].last = r->time;
      f->events[i].count++;
      return;
    }
  if (f->nevents == c->cape) {
    size_t nc = c->cape ? 2 * c->cape : 16;
    report_ev_fact_t *v = realloc(f->events, nc * sizeof *v);
    uint32_t *k = v ? realloc(c->ev_kind, nc * sizeof *k) : NULL;
    if (v) f->events = v;
    if (!k) {
      c->oom = 1;
      return;
    }
    c->ev_kind = k;
    c->cape = nc;
  }
  report_ev_fact_t *e = &f->events[f->nevents];
  e->kind = xstrdup(c, sim_interned(c->w, r->kind));
  e->obj = xstrdup(c, r->obj ? sim_interned(c->w, r->obj) : "");
  e->thread = xstrdup(c, r->thread ? sim_world_thread_name(c->w, r->thread) : "scheduler");
  e->first = e->last = r->time;
  e->count = 1;
  c->ev_kind[f->nevents++] = r->kind;
}

typedef struct pair {
  uint32_t group;
  int what; /* wait index, or -1 running */
  size_t count;
} pair_t;

static int cmp_pair(const void *a, const void *b) {
  const pair_t *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  if (x->group != y->group) return x->group < y->group ? -1 : 1;
  return x->what < y->what ? -1 : x->what > y->what;
}

static void snapshot(collector_t *c, report_snap_t *sn) {
  pair_t *p = NULL;
  size_t np = 0, cap = 0;
  size_t *live = calloc(c->ngroups ? c->ngroups : 1, sizeof *live);
  if (!live) {
    c->oom = 1;
    return;
  }
  for (uint64_t t = 1; t < c->nth; t++) {
    tstate_t *s = &c->th[t];
    if (!s->live) continue;
    live[s->group]++;
    if (!s->blocked) continue;
    int what = s->blocked > 0 ? s->blocked - 1 : -1;
    size_t k;
    for (k = 0; k < np; k++)
      if (p[k].group == s->group && p[k].what == what) break;
    if (k == np) {
      if (np == cap) {
        cap = cap ? 2 * cap : 16;
        pair_t *q = realloc(p, cap * sizeof *q);
        if (!q) {
          c->oom = 1;
          break;
        }
        p = q;
      }
      p[np++] = (pair_t){s->group, what, 0};
    }
    p[k].count++;
  }
  if (np) qsort(p, np, sizeof *p, cmp_pair);
  sn->nrows = np < SNAP_ROWS ? np : SNAP_ROWS;
  sn->rows = calloc(sn->nrows ? sn->nrows : 1, sizeof *sn->rows);
  if (!sn->rows) {
    c->oom = 1;
    sn->nrows = 0;
  }
  for (size_t k = 0; k < sn->nrows; k++) {
    sn->rows[k].group = xstrdup(c, c->groups[p[k].group]);
    sn->rows[k].what =
        xstrdup(c, p[k].what < 0 ? "running on a CPU" : c->f->waits[p[k].what].what);
    sn->rows[k].count = p[k].count;
    sn->rows[k].group_live = live[p[k].group];
  }
  free(p);
  free(live);
}

/* Sample times at which a gauge's series first reached 0 from > 0. */
static void snap_times(collector_t *c, const scn_variant_res_t *vr) {
  report_facts_t *f = c->f;
  f->snaps = calloc(MAX_SNAPS, sizeof *f->snaps);
  if (!f->snaps) {
    c->oom = 1;
    return;
  }
  for (size_t m = 0; m < vr->nmetrics && f->nsnaps < MAX_SNAPS; m++) {
    const scn_metric_res_t *mr = &vr->metrics[m];
    if (mr->kind != SIM_M_GAUGE || mr->nseries < 2 || !(mr->series[0] > 0)) continue;
    for (size_t i = 1; i < mr->nseries; i++)
      if (mr->series[i] <= 0) {
        sim_time_t at = report__sample_time(vr, i);
        size_t k = f->nsnaps;
        while (k > 0 && f->snaps[k - 1].at > at) {
          f->snaps[k] = f->snaps[k - 1];
          k--;
        }
        f->snaps[k] = (report_snap_t){at, xstrdup(c, mr->name), NULL, 0};
        f->nsnaps++;
        break;
      }
  }
}

/* Thread t just blocked on mutex obj: if the holders' waits lead back to
 * t, that is the first wait-for cycle; it is kept. */
static void find_cycle(collector_t *c, uint64_t t, uint32_t obj, sim_time_t at) {
  report_cycle_t *cy = &c->f->cycle;
  uint64_t th[REPORT_CYCLE_MAX];
  uint32_t want[REPORT_CYCLE_MAX];
  size_t n = 0;
  uint64_t x = t;
  uint32_t o = obj;
  if (cy->n) return;
  while (n < REPORT_CYCLE_MAX) {
    th[n] = x;
    want[n] = o;
    n++;
    x = o < c->nobj ? c->holder[o] : 0;
    if (!x || x >= c->nth) return;
    if (x == t) break;
    o = c->th[x].want;
    if (!o) return;
  }
  if (x != t) return;
  cy->n = n;
  cy->at = at;
  /* thread i holds what thread i-1 wants */
  for (size_t i = 0; i < n; i++) {
    cy->thread[i] = xstrdup(c, sim_world_thread_name(c->w, th[i]));
    cy->held[i] = xstrdup(c, sim_interned(c->w, want[(i + n - 1) % n]));
  }
}

/* Per wait, how many threads are blocked on it now, into start_count. */
static void take_start_counts(collector_t *c) {
  for (size_t i = 0; i < c->f->nwaits; i++) c->f->waits[i].start_count = c->cur[i];
}

report_facts_t *report_facts_collect(const sim_world_t *w, const scn_variant_res_t *vr) {
  collector_t c;
  report_trace_it_t it; /* two passes over the records */
  memset(&c, 0, sizeof c);
  c.w = w;
  c.f = calloc(1, sizeof *c.f);
  if (!c.f) return NULL;
  c.f->end = sim_now(w);
  c.f->early = c.f->end / 2 < SIM_HOUR ? c.f->end / 2 : SIM_HOUR;
  sim_time_t first_sample = vr && vr->sample_interval > 0 ? vr->sample_interval : SIM_MIN;
  uint32_t k_spawn = sim_intern_find(w, "spawn"), k_block = sim_intern_find(w, "block"),
           k_wake = sim_intern_find(w, "wake"), k_timeout = sim_intern_find(w, "timeout"),
           k_exit = sim_intern_find(w, "exit"), k_cancel = sim_intern_find(w, "cancel"),
           k_lock = sim_intern_find(w, "lock"), k_unlock = sim_intern_find(w, "unlock");
  static const char *const kernel[] = {"run",    "lock",  "unlock", "acquire", "release",
                                       "signal", "burn",  "yield",  "report"};
  uint32_t kk[sizeof kernel / sizeof kernel[0]];
  for (size_t i = 0; i < sizeof kernel / sizeof kernel[0]; i++) kk[i] = sim_intern_find(w, kernel[i]);

  uint64_t maxid = 0;
  uint32_t maxobj = 0;
  if (report__trace_begin(&it, w)) {
    free(c.f);
    return NULL;
  }
  for (const sim_trace_rec_t *r; (r = report__trace_next(&it));) {
    if (r->thread > maxid) maxid = r->thread;
    if (r->obj > maxobj) maxobj = r->obj;
    if (r->kind == k_spawn && (uint64_t)r->arg > maxid) maxid = (uint64_t)r->arg;
  }
  report__trace_end(&it);
  c.nth = maxid + 1;
  c.th = calloc(c.nth, sizeof *c.th);
  c.nobj = maxobj + 1;
  c.holder = calloc(c.nobj, sizeof *c.holder);
  if (!c.th || !c.holder) goto oom;
  if (vr) snap_times(&c, vr);
  size_t snext = 0;
  if (report__trace_begin(&it, w)) goto oom;
  while (!c.oom) {
    const sim_trace_rec_t *r = report__trace_next(&it);
    while (c.f->snaps && snext < c.f->nsnaps && (!r || r->time > c.f->snaps[snext].at))
      snapshot(&c, &c.f->snaps[snext++]);
    if (!c.start_done && (!r || r->time > first_sample)) {
      take_start_counts(&c);
      c.start_done = 1;
    }
    if (!r) break;
    uint64_t t = r->thread;
    if (r->kind == k_spawn) {
      uint64_t id = (uint64_t)r->arg;
      c.th[id].live = 1;
      c.th[id].group = group_of(&c, sim_world_thread_name(w, id));
    } else if (r->kind == k_block) {
      int kind = (int)r->arg;
      end_wait(&c, t, r->time, 0);
      c.th[t].since = r->time;
      if (kind == SIM_WAIT_CPU_RUN) {
        c.th[t].blocked = -1;
      } else if (kind == SIM_WAIT_MUTEX || kind == SIM_WAIT_COND || kind == SIM_WAIT_SEM ||
                 kind == SIM_WAIT_JOIN || kind == SIM_WAIT_CPU) {
        size_t wi = wait_index(&c, kind, r->obj, r->time);
        if (wi == (size_t)-1) break;
        report_wait_fact_t *x = &c.f->waits[wi];
        c.th[t].blocked = (int)wi + 1;
        x->nwaits++;
        if (++c.cur[wi] > x->peak) {
          x->peak = c.cur[wi];
          x->peak_at = r->time;
        }
        if (r->time < c.f->early && c.cur[wi] > x->early_peak) x->early_peak = c.cur[wi];
        if (kind == SIM_WAIT_MUTEX) {
          c.th[t].want = r->obj;
          c.th[t].held_by = r->obj < c.nobj ? c.holder[r->obj] : 0;
          find_cycle(&c, t, r->obj, r->time);
        }
      }
    } else if (r->kind == k_wake || r->kind == k_timeout) {
      end_wait(&c, t, r->time, r->kind == k_timeout);
    } else if (r->kind == k_exit) {
      end_wait(&c, t, r->time, 0);
      c.th[t].live = 0;
    } else if ((k_lock && r->kind == k_lock) || (k_unlock && r->kind == k_unlock)) {
      if (r->obj < c.nobj) c.holder[r->obj] = r->kind == k_lock ? t : 0;
    } else if (r->kind != k_cancel) {
      int is_kernel = 0;
      for (size_t k = 0; k < sizeof kk / sizeof kk[0]; k++) is_kernel |= kk[k] && r->kind == kk[k];
      if (!is_kernel) event(&c, r);
    }
  }
  report__trace_end(&it);
  /* waits still open at the end */
  for (uint64_t t = 1; t < c.nth && !c.oom; t++)
    if (c.th[t].blocked > 0) end_wait(&c, t, c.f->end, 2);
  if (c.oom) goto oom;
  free(c.th);
  free(c.holder);
  free(c.cur);
  free(c.ev_kind);
  free(c.alias_key);
  free(c.alias_idx);
  for (size_t i = 0; i < c.ngroups; i++) free(c.groups[i]);
  free(c.groups);
  return c.f;
oom:
  free(c.th);
  free(c.holder);
  free(c.cur);
  free(c.ev_kind);
  free(c.alias_key);
  free(c.alias_idx);
  for (size_t i = 0; i < c.ngroups; i++) free(c.groups[i]);
  free(c.groups);
  report_facts_free(c.f);
  return NULL;
}

void report_facts_free(report_facts_t *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nevents; i++) {
    free(f->events[i].kind);
    free(f->events[i].obj);
    free(f->events[i].thread);
  }
  free(f->events);
  for (size_t i = 0; i < f->nwaits; i++) {
    free(f->waits[i].what);
    free(f->waits[i].longest_thread);
    free(f->waits[i].longest_holder);
  }
  for (size_t i = 0; i < f->cycle.n; i++) {
    free(f->cycle.thread[i]);
    free(f->cycle.held[i]);
  }
  free(f->waits);
  for (size_t i = 0; f->snaps && i < MAX_SNAPS; i++) {
    free(f->snaps[i].metric);
    for (size_t k = 0; k < f->snaps[i].nrows; k++) {
      free(f->snaps[i].rows[k].group);
      free(f->snaps[i].rows[k].what);
    }
    free(f->snaps[i].rows);
  }
  free(f->snaps);
  free(f);
}
