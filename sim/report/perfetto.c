/*
 * Chrome trace event format (JSON object form) for Perfetto and
 * chrome://tracing, built from a world's kept trace records.
 *
 * Invariants of the output: every event of a world carries that world's pid;
 * events are written in nondecreasing ts order (sorted by (ts, emission
 * order)), so every track is monotonic; every "b" has its "e"; complete
 * spans ("X") of one thread never overlap, because a thread blocks on one
 * thing at a time.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "storesim/detect.h"
#include "storesim/metrics.h"
#include "storesim/report.h"
#include "storesim/trace.h"

struct report_perfetto {
  FILE *f;
  int nworlds;
  int err;
};

typedef struct ev {
  int64_t ts;   /* ns */
  uint64_t seq; /* emission order */
  char *json;   /* the event without ts, e.g. {"ph":"X",...,"ts": */
  int64_t dur;  /* ns, X only; -1 otherwise */
} ev_t;

typedef struct evbuf {
  ev_t *v;
  size_t n, cap;
} evbuf_t;

static void esc(char *out, size_t n, const char *s) {
  size_t k = 0;
  for (; *s && k + 7 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[k++] = '\\';
      out[k++] = (char)c;
    } else if (c < 0x20) {
      k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
    } else {
      out[k++] = (char)c;
    }
  }
  out[k] = 0;
}

static int push(evbuf_t *b, int64_t ts, int64_t dur, const char *json) {
  if (b->n == b->cap) {
    size_t nc = b->cap ? 2 * b->cap : 1024;
    ev_t *v = realloc(b->v, nc * sizeof *v);
    if (!v)
      return -1;
    b->v = v;
    b->cap = nc;
  }
  char *j = strdup(json);
  if (!j)
    return -1;
  b->v[b->n] = (ev_t){ts, b->n, j, dur};
  b->n++;
  return 0;
}

static int cmp_ev(const void *a, const void *b) {
  const ev_t *x = a, *y = b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

report_perfetto_t *report_perfetto_begin(FILE *f) {
  report_perfetto_t *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->f = f;
  if (fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f) < 0)
    p->err = 1;
  return p;
}

typedef struct open_block {
  int64_t since;
  uint32_t obj;
  int kind;
  int open;
} open_block_t;

typedef struct hold {
  uint64_t thread;
  uint32_t obj;
  int64_t since;
} hold_t;

static void us(char *buf, size_t n, int64_t ns) {
  /* microseconds with ns precision, no floating point drift */
  int64_t a = ns < 0 ? -ns : ns;
  snprintf(buf, n, "%s%" PRId64 ".%03" PRId64, ns < 0 ? "-" : "", a / 1000,
           a % 1000);
}

/* One world being converted: its kernel kind ids, the per-thread open
 * blocks, the locks held, and the events made so far. */
typedef struct conv {
  const sim_world_t *w;
  int pid;
  evbuf_t b;
  uint32_t k_spawn, k_block, k_wake, k_timeout, k_lock, k_unlock, k_exit, k_report;
  uint32_t kernel_kinds[7]; /* kernel kinds that make no event of their own */
  open_block_t *ob;         /* indexed by thread id, 0..maxid */
  uint64_t maxid;
  hold_t *holds;
  size_t nholds, capholds;
  char j[1024], n1[256], n2[256]; /* scratch: one event, two escaped names */
} conv_t;

/* Looks up the kernel's trace kinds, interned by name at world creation. */
static void find_kinds(conv_t *c) {
  const sim_world_t *w = c->w;
  c->k_spawn = sim_intern_find(w, "spawn");
  c->k_block = sim_intern_find(w, "block");
  c->k_wake = sim_intern_find(w, "wake");
  c->k_timeout = sim_intern_find(w, "timeout");
  c->k_lock = sim_intern_find(w, "lock");
  c->k_unlock = sim_intern_find(w, "unlock");
  c->k_exit = sim_intern_find(w, "exit");
  c->k_report = sim_intern_find(w, "report");
  uint32_t kernel_kinds[] = {sim_intern_find(w, "run"),     sim_intern_find(w, "signal"),
                             sim_intern_find(w, "release"), sim_intern_find(w, "acquire"),
                             sim_intern_find(w, "cancel"),  sim_intern_find(w, "yield"),
                             sim_intern_find(w, "burn")};
  memcpy(c->kernel_kinds, kernel_kinds, sizeof kernel_kinds);
}

/* The largest thread id in the trace, spawned ones included (a pass over
 * the records); -1 out of host memory. */
static int max_thread_id(conv_t *c) {
  report_trace_it_t it;
  if (report__trace_begin(&it, c->w)) return -1;
  uint64_t maxid = 0;
  for (const sim_trace_rec_t *r; (r = report__trace_next(&it));) {
    if (r->thread > maxid) maxid = r->thread;
    if (r->kind == c->k_spawn && (uint64_t)r->arg > maxid) maxid = (uint64_t)r->arg;
  }
  report__trace_end(&it);
  c->maxid = maxid;
  return 0;
}

/* Process name and the scheduler's thread name. */
static int on_start(conv_t *c, const char *label) {
  int rc = 0;
  esc(c->n1, sizeof c->n1, label ? label : "world");
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
           "\"args\":{\"name\":\"%s\"}",
           c->pid, c->n1);
  rc |= push(&c->b, 0, -1, c->j);
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":0,"
           "\"args\":{\"name\":\"scheduler\"}",
           c->pid);
  rc |= push(&c->b, 0, -1, c->j);
  return rc;
}

/* spawn: names the new thread's track. */
static int on_spawn(conv_t *c, const sim_trace_rec_t *r) {
  esc(c->n1, sizeof c->n1, sim_world_thread_name(c->w, (uint64_t)r->arg));
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%" PRId64
           ",\"args\":{\"name\":\"T%" PRId64 " %s\"}",
           c->pid, r->arg, r->arg, c->n1);
  return push(&c->b, r->time, -1, c->j);
}

/* wake or timeout: closes the thread's open block as a complete span. */
static int on_wake(conv_t *c, const sim_trace_rec_t *r) {
  uint64_t t = r->thread;
  open_block_t *ob = c->ob;
  if (!ob[t].open) return 0;
  const char *what = sim_wait_kind_name(ob[t].kind);
  if (ob[t].kind == SIM_WAIT_CPU_RUN) what = "running on a core";
  esc(c->n1, sizeof c->n1, what);
  esc(c->n2, sizeof c->n2, ob[t].obj ? sim_interned(c->w, ob[t].obj) : "");
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"%s%s%s\",\"pid\":%d,"
           "\"tid\":%" PRIu64 ",\"args\":{\"end\":\"%s\"}",
           ob[t].kind == SIM_WAIT_CPU_RUN ? "cpu" : "blocked", c->n1,
           c->n2[0] && ob[t].kind != SIM_WAIT_CPU_RUN ? " " : "",
           ob[t].kind != SIM_WAIT_CPU_RUN ? c->n2 : "", c->pid, t,
           r->kind == c->k_wake ? "woken" : "timer");
  int rc = push(&c->b, ob[t].since, r->time - ob[t].since, c->j);
  ob[t].open = 0;
  return rc;
}

/* lock: remembers the hold and begins its async span. */
static int on_lock(conv_t *c, const sim_trace_rec_t *r) {
  uint64_t t = r->thread;
  if (c->nholds == c->capholds) {
    c->capholds = c->capholds ? 2 * c->capholds : 64;
    hold_t *nh = realloc(c->holds, c->capholds * sizeof *nh);
    if (!nh) return -1;
    c->holds = nh;
  }
  c->holds[c->nholds++] = (hold_t){t, r->obj, r->time};
  esc(c->n1, sizeof c->n1, sim_interned(c->w, r->obj));
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"b\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":\"%d."
           "%" PRIu64 ".%u\",\"pid\":%d,\"tid\":%" PRIu64 "",
           c->n1, c->pid, t, r->obj, c->pid, t);
  return push(&c->b, r->time, -1, c->j);
}

/* unlock: forgets the thread's latest hold of the lock and ends its span. */
static int on_unlock(conv_t *c, const sim_trace_rec_t *r) {
  uint64_t t = r->thread;
  for (size_t k = c->nholds; k-- > 0;) {
    if (c->holds[k].thread == t && c->holds[k].obj == r->obj) {
      c->holds[k] = c->holds[--c->nholds];
      esc(c->n1, sizeof c->n1, sim_interned(c->w, r->obj));
      snprintf(c->j, sizeof c->j,
               "{\"ph\":\"e\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":"
               "\"%d.%" PRIu64 ".%u\",\"pid\":%d,\"tid\":%" PRIu64 "",
               c->n1, c->pid, t, r->obj, c->pid, t);
      return push(&c->b, r->time, -1, c->j);
    }
  }
  return 0;
}

/* exit: an instant event on the thread's track. */
static int on_thread_exit(conv_t *c, const sim_trace_rec_t *r) {
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exit\",\"pid\":%d,\"tid\":%" PRIu64 "", c->pid,
           r->thread);
  return push(&c->b, r->time, -1, c->j);
}

/* Any other kind: model events and detector reports become instant events,
 * the remaining kernel kinds nothing. */
static int on_other(conv_t *c, const sim_trace_rec_t *r) {
  bool kernel = false;
  for (size_t k = 0; k < sizeof c->kernel_kinds / sizeof c->kernel_kinds[0]; k++)
    kernel |= r->kind == c->kernel_kinds[k];
  if (kernel) return 0;
  esc(c->n1, sizeof c->n1, sim_interned(c->w, r->kind));
  esc(c->n2, sizeof c->n2, r->obj ? sim_interned(c->w, r->obj) : "");
  snprintf(c->j, sizeof c->j,
           "{\"ph\":\"i\",\"s\":\"%s\",\"cat\":\"%s\",\"name\":\"%s%s%s\","
           "\"pid\":%d,\"tid\":%" PRIu64 ",\"args\":{\"arg\":%" PRId64 "}",
           r->kind == c->k_report ? "p" : "t", r->kind == c->k_report ? "report" : "model", c->n1,
           c->n2[0] ? " " : "", c->n2, c->pid, r->thread, r->arg);
  return push(&c->b, r->time, -1, c->j);
}

/* Turns one trace record into its event, if it makes one. Returns 0 or -1 (no memory). */
static int on_record(conv_t *c, const sim_trace_rec_t *r) {
  if (r->kind == c->k_spawn) return on_spawn(c, r);
  if (r->kind == c->k_block) {
    c->ob[r->thread] = (open_block_t){r->time, r->obj, (int)r->arg, 1};
    return 0;
  }
  if (r->kind == c->k_wake || r->kind == c->k_timeout) return on_wake(c, r);
  if (r->kind == c->k_lock) return on_lock(c, r);
  if (r->kind == c->k_unlock) return on_unlock(c, r);
  if (r->kind == c->k_exit) return on_thread_exit(c, r);
  return on_other(c, r);
}

/* Closes what is still open at the end of the run: blocks, then lock holds. */
static int close_unfinished(conv_t *c, int64_t end) {
  int rc = 0;
  for (uint64_t t = 0; t <= c->maxid && rc == 0; t++) {
    const open_block_t *ob = &c->ob[t];
    if (!ob->open) continue;
    esc(c->n1, sizeof c->n1, sim_wait_kind_name(ob->kind));
    esc(c->n2, sizeof c->n2, ob->obj ? sim_interned(c->w, ob->obj) : "");
    snprintf(c->j, sizeof c->j,
             "{\"ph\":\"X\",\"cat\":\"blocked\",\"name\":\"%s%s%s\",\"pid\":%d,"
             "\"tid\":%" PRIu64 ",\"args\":{\"unfinished\":true}",
             c->n1, c->n2[0] ? " " : "", c->n2, c->pid, t);
    rc |= push(&c->b, ob->since, end - ob->since, c->j);
  }
  for (size_t k = 0; k < c->nholds && rc == 0; k++) {
    esc(c->n1, sizeof c->n1, sim_interned(c->w, c->holds[k].obj));
    snprintf(c->j, sizeof c->j,
             "{\"ph\":\"e\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":\"%d.%" PRIu64
             ".%u\",\"pid\":%d,\"tid\":%" PRIu64 ",\"args\":{\"unfinished\":true}",
             c->n1, c->pid, c->holds[k].thread, c->holds[k].obj, c->pid, c->holds[k].thread);
    rc |= push(&c->b, end, -1, c->j);
  }
  return rc;
}

/* Counter tracks from the sampled series of every metric. */
static int counter_tracks(conv_t *c) {
  int rc = 0;
  sim_time_t iv = sim_world_sample_interval(c->w);
  for (size_t m = 0; iv > 0 && m < sim_world_nmetrics(c->w) && rc == 0; m++) {
    const sim_metric_t *mt = sim_world_metric(c->w, m);
    size_t ns = 0;
    const double *s = sim_metric_series(mt, &ns);
    esc(c->n1, sizeof c->n1, sim_metric_name(mt));
    for (size_t k = 0; k < ns && rc == 0; k++) {
      snprintf(c->j, sizeof c->j,
               "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%d,\"tid\":0,\"args\":{"
               "\"value\":%.17g}",
               c->n1, c->pid, s[k]);
      rc |= push(&c->b, (int64_t)(k + 1) * iv, -1, c->j);
    }
  }
  return rc;
}

/* Sorts the world's events by (ts, emission order) and writes them; sets p->err on failure. */
static void write_events(report_perfetto_t *p, evbuf_t *b) {
  qsort(b->v, b->n, sizeof *b->v, cmp_ev);
  char ts[48], du[48];
  for (size_t i = 0; i < b->n; i++) {
    us(ts, sizeof ts, b->v[i].ts);
    int k;
    if (b->v[i].dur >= 0) {
      us(du, sizeof du, b->v[i].dur);
      k = fprintf(p->f, "%s%s,\"ts\":%s,\"dur\":%s}", p->nworlds || i ? ",\n" : "", b->v[i].json,
                  ts, du);
    } else {
      k = fprintf(p->f, "%s%s,\"ts\":%s}", p->nworlds || i ? ",\n" : "", b->v[i].json, ts);
    }
    if (k < 0) p->err = 1;
  }
  p->nworlds++;
}

int report_perfetto_world(report_perfetto_t *p, const sim_world_t *w, int pid, const char *label) {
  conv_t c = {.w = w, .pid = pid};
  find_kinds(&c);
  if (max_thread_id(&c)) return SIM_ENOMEM;
  c.ob = calloc(c.maxid + 1, sizeof *c.ob);
  report_trace_it_t it;
  if (!c.ob || report__trace_begin(&it, w)) {
    free(c.ob);
    return SIM_ENOMEM;
  }
  int rc = on_start(&c, label);
  for (const sim_trace_rec_t *r; rc == 0 && (r = report__trace_next(&it));) rc |= on_record(&c, r);
  report__trace_end(&it);
  if (rc == 0) rc = close_unfinished(&c, sim_now(w));
  if (rc == 0) rc = counter_tracks(&c);
  free(c.ob);
  free(c.holds);
  if (rc == 0) write_events(p, &c.b);
  for (size_t i = 0; i < c.b.n; i++) free(c.b.v[i].json);
  free(c.b.v);
  if (rc != 0) return SIM_ENOMEM;
  return p->err ? SIM_EIO : 0;
}

int report_perfetto_end(report_perfetto_t *p) {
  if (!p)
    return 0;
  if (fputs("\n]}\n", p->f) < 0)
    p->err = 1;
  int rc = p->err ? SIM_EIO : 0;
  free(p);
  return rc;
}
