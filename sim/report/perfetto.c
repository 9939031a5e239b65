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
#include <unistd.h>

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

/* A world's events, sorted by (ts, emission order) as they are written.
 * Past ev_chunk of them, each chunk is sorted and goes to a temporary file
 * as a run, and write_events merges the runs: a long trace's events are
 * never all in memory. */
static size_t ev_chunk = 65536; /* report__perfetto_chunk */
void report__perfetto_chunk(size_t n) { ev_chunk = n ? n : 65536; }
typedef struct ev_run {
  uint64_t off, end; /* its bytes in the file */
} ev_run_t;
typedef struct evbuf {
  ev_t *v;
  size_t n, cap;
  uint64_t seq; /* next emission number */
  FILE *f;      /* the runs, or NULL */
  ev_run_t *runs;
  size_t nruns;
  int err; /* the runs' file could not be made or written */
} evbuf_t;

static int spill(evbuf_t *b);

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
  if (b->n >= ev_chunk && spill(b)) return -1;
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
  b->v[b->n] = (ev_t){ts, b->seq++, j, dur};
  b->n++;
  return 0;
}

static int cmp_ev(const void *a, const void *b) {
  const ev_t *x = a, *y = b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The events held, sorted, as one more run at the end of the file. Returns
 * 0, or -1 (no temporary file, or writing it failed: b->err; no memory). */
static int spill(evbuf_t *b) {
  qsort(b->v, b->n, sizeof *b->v, cmp_ev);
  if (!b->f) {
    int fd = report__tmpfd();
    b->f = fd < 0 ? NULL : fdopen(fd, "w+");
    if (!b->f) {
      if (fd >= 0) close(fd);
      b->err = 1;
      return -1;
    }
  }
  ev_run_t *r = realloc(b->runs, (b->nruns + 1) * sizeof *r);
  if (!r) return -1;
  b->runs = r;
  r = &b->runs[b->nruns++];
  r->off = b->nruns > 1 ? b->runs[b->nruns - 2].end : 0;
  int bad = 0;
  for (size_t i = 0; i < b->n; i++) {
    uint32_t len = (uint32_t)strlen(b->v[i].json);
    int64_t h[3] = {b->v[i].ts, (int64_t)b->v[i].seq, b->v[i].dur};
    bad |= fwrite(h, sizeof h, 1, b->f) != 1 || fwrite(&len, sizeof len, 1, b->f) != 1 ||
           fwrite(b->v[i].json, 1, len, b->f) != len;
    free(b->v[i].json);
  }
  b->n = 0;
  long end = ftell(b->f);
  if (bad || end < 0) {
    b->err = 1;
    return -1;
  }
  r->end = (uint64_t)end;
  return 0;
}

/* Reads a run back an event at a time. */
typedef struct run_rd {
  int fd;
  uint64_t at, end; /* the next byte to read, the run's end */
  char buf[16384];
  size_t pos, len;
  ev_t ev; /* the current event; ev.json points into json */
  char json[2048];
} run_rd_t;

/* Makes n bytes of the run available at rd->buf + rd->pos: 0, or -1 when the
 * run ends first or reading failed. */
static int run_fill(run_rd_t *rd, size_t n) {
  if (rd->len - rd->pos >= n) return 0;
  memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
  rd->len -= rd->pos;
  rd->pos = 0;
  while (rd->len < n && rd->at < rd->end) {
    uint64_t want = sizeof rd->buf - rd->len;
    if (want > rd->end - rd->at) want = rd->end - rd->at;
    ssize_t k = pread(rd->fd, rd->buf + rd->len, (size_t)want, (off_t)rd->at);
    if (k <= 0) return -1;
    rd->len += (size_t)k;
    rd->at += (uint64_t)k;
  }
  return rd->len >= n ? 0 : -1;
}

/* The next event of the run into rd->ev: 1, 0 at the end, -1 on error. */
static int run_next(run_rd_t *rd) {
  int64_t h[3];
  uint32_t len;
  if (rd->pos == rd->len && rd->at == rd->end) return 0;
  if (run_fill(rd, sizeof h + sizeof len)) return -1;
  memcpy(h, rd->buf + rd->pos, sizeof h);
  memcpy(&len, rd->buf + rd->pos + sizeof h, sizeof len);
  rd->pos += sizeof h + sizeof len;
  if (len >= sizeof rd->json || run_fill(rd, len)) return -1;
  memcpy(rd->json, rd->buf + rd->pos, len);
  rd->pos += len;
  rd->json[len] = 0;
  rd->ev = (ev_t){h[0], (uint64_t)h[1], rd->json, h[2]};
  return 1;
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

/* Writes one event. */
static void write_event(report_perfetto_t *p, const ev_t *e, int first) {
  char ts[48], du[48];
  us(ts, sizeof ts, e->ts);
  int k;
  if (e->dur >= 0) {
    us(du, sizeof du, e->dur);
    k = fprintf(p->f, "%s%s,\"ts\":%s,\"dur\":%s}", first ? "" : ",\n", e->json, ts, du);
  } else {
    k = fprintf(p->f, "%s%s,\"ts\":%s}", first ? "" : ",\n", e->json, ts);
  }
  if (k < 0) p->err = 1;
}

static int run_before(run_rd_t *const *rd, size_t a, size_t b) {
  return cmp_ev(&rd[a]->ev, &rd[b]->ev) < 0;
}

static void sift_down(run_rd_t *const *rd, size_t *heap, size_t nh) {
  for (size_t j = 0;;) {
    size_t l = 2 * j + 1, m = j;
    if (l < nh && run_before(rd, heap[l], heap[m])) m = l;
    if (l + 1 < nh && run_before(rd, heap[l + 1], heap[m])) m = l + 1;
    if (m == j) return;
    size_t t = heap[j];
    heap[j] = heap[m];
    heap[m] = t;
    j = m;
  }
}

/* Writes the world's events sorted by (ts, emission order): the ones held,
 * or, when some went to the file, a merge of its runs. Returns 0, or -1 out
 * of host memory or when the runs' file failed (b->err); sets p->err when
 * writing failed. */
static int write_events(report_perfetto_t *p, evbuf_t *b) {
  int first = !p->nworlds;
  if (!b->f) {
    qsort(b->v, b->n, sizeof *b->v, cmp_ev);
    for (size_t i = 0; i < b->n; i++, first = 0) write_event(p, &b->v[i], first);
    p->nworlds++;
    return 0;
  }
  if ((b->n && spill(b)) || fflush(b->f) != 0) return b->err = 1, -1;
  size_t n = b->nruns, nh = 0;
  run_rd_t **rd = calloc(n, sizeof *rd);
  size_t *heap = calloc(n, sizeof *heap);
  int rc = rd && heap ? 0 : -1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rd[i] = malloc(sizeof *rd[i]);
    if (!rd[i]) {
      rc = -1;
      break;
    }
    rd[i]->fd = fileno(b->f);
    rd[i]->at = b->runs[i].off;
    rd[i]->end = b->runs[i].end;
    rd[i]->pos = rd[i]->len = 0;
    int k = run_next(rd[i]);
    if (k < 0) rc = b->err = -1;
    if (k <= 0) continue;
    size_t j = nh++; /* sift up */
    heap[j] = i;
    while (j > 0 && run_before(rd, heap[j], heap[(j - 1) / 2])) {
      size_t t = heap[j];
      heap[j] = heap[(j - 1) / 2];
      heap[(j - 1) / 2] = t;
      j = (j - 1) / 2;
    }
  }
  while (rc == 0 && nh > 0) {
    run_rd_t *top = rd[heap[0]];
    write_event(p, &top->ev, first);
    first = 0;
    int k = run_next(top);
    if (k < 0) rc = b->err = -1;
    if (k == 0) heap[0] = heap[--nh];
    sift_down(rd, heap, nh);
  }
  for (size_t i = 0; rd && i < n; i++) free(rd[i]);
  free(rd);
  free(heap);
  p->nworlds++;
  return rc;
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
  if (rc == 0 && write_events(p, &c.b)) rc = c.b.err ? SIM_EIO : SIM_ENOMEM;
  else if (rc) rc = c.b.err ? SIM_EIO : SIM_ENOMEM;
  for (size_t i = 0; i < c.b.n; i++) free(c.b.v[i].json);
  free(c.b.v);
  free(c.b.runs);
  if (c.b.f) fclose(c.b.f);
  if (rc != 0) return rc;
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
