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

int report_perfetto_world(report_perfetto_t *p, const sim_world_t *w, int pid,
                          const char *label) {
  size_t nrec = 0;
  const sim_trace_rec_t *rec = sim_world_trace(w, &nrec);
  evbuf_t b = {0};
  char j[1024], n1[256], n2[256];
  int rc = 0;
  int64_t end = sim_now(w);

  uint32_t k_spawn = 0, k_block = 0, k_wake = 0, k_timeout = 0, k_lock = 0,
           k_unlock = 0, k_exit = 0, k_run = 0, k_burn = 0, k_report = 0;
  /* Kernel kinds are interned at world creation; look their ids up by name. */
  const sim_world_t *ww = w;
  k_spawn = sim_intern_find(ww, "spawn");
  k_block = sim_intern_find(ww, "block");
  k_wake = sim_intern_find(ww, "wake");
  k_timeout = sim_intern_find(ww, "timeout");
  k_lock = sim_intern_find(ww, "lock");
  k_unlock = sim_intern_find(ww, "unlock");
  k_exit = sim_intern_find(ww, "exit");
  k_run = sim_intern_find(ww, "run");
  k_burn = sim_intern_find(ww, "burn");
  k_report = sim_intern_find(ww, "report");
  uint32_t kernel_kinds[] = {k_run,
                             sim_intern_find(ww, "signal"),
                             sim_intern_find(ww, "release"),
                             sim_intern_find(ww, "acquire"),
                             sim_intern_find(ww, "cancel"),
                             sim_intern_find(ww, "yield"),
                             k_burn};

  /* per-thread open block, indexed by thread id */
  uint64_t maxid = 0;
  for (size_t i = 0; i < nrec; i++) {
    if (rec[i].thread > maxid)
      maxid = rec[i].thread;
    if (rec[i].kind == k_spawn && (uint64_t)rec[i].arg > maxid)
      maxid = (uint64_t)rec[i].arg;
  }
  open_block_t *ob = calloc(maxid + 1, sizeof *ob);
  hold_t *holds = NULL;
  size_t nholds = 0, capholds = 0;
  if (!ob)
    return SIM_ENOMEM;

  esc(n1, sizeof n1, label ? label : "world");
  snprintf(j, sizeof j,
           "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
           "\"args\":{\"name\":\"%s\"}",
           pid, n1);
  rc |= push(&b, 0, -1, j);
  snprintf(j, sizeof j,
           "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":0,"
           "\"args\":{\"name\":\"scheduler\"}",
           pid);
  rc |= push(&b, 0, -1, j);

  for (size_t i = 0; i < nrec && rc == 0; i++) {
    const sim_trace_rec_t *r = &rec[i];
    uint64_t t = r->thread;
    if (r->kind == k_spawn) {
      esc(n1, sizeof n1, sim_world_thread_name(w, (uint64_t)r->arg));
      snprintf(j, sizeof j,
               "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%" PRId64
               ",\"args\":{\"name\":\"T%" PRId64 " %s\"}",
               pid, r->arg, r->arg, n1);
      rc |= push(&b, r->time, -1, j);
    } else if (r->kind == k_block) {
      ob[t] = (open_block_t){r->time, r->obj, (int)r->arg, 1};
    } else if (r->kind == k_wake || r->kind == k_timeout) {
      if (ob[t].open) {
        const char *what = sim_wait_kind_name(ob[t].kind);
        if (ob[t].kind == SIM_WAIT_CPU_RUN)
          what = "running on a core";
        esc(n1, sizeof n1, what);
        esc(n2, sizeof n2, ob[t].obj ? sim_interned(w, ob[t].obj) : "");
        snprintf(j, sizeof j,
                 "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"%s%s%s\",\"pid\":%d,"
                 "\"tid\":%" PRIu64 ",\"args\":{\"end\":\"%s\"}",
                 ob[t].kind == SIM_WAIT_CPU_RUN ? "cpu" : "blocked", n1,
                 n2[0] && ob[t].kind != SIM_WAIT_CPU_RUN ? " " : "",
                 ob[t].kind != SIM_WAIT_CPU_RUN ? n2 : "", pid, t,
                 r->kind == k_wake ? "woken" : "timer");
        rc |= push(&b, ob[t].since, r->time - ob[t].since, j);
        ob[t].open = 0;
      }
    } else if (r->kind == k_lock) {
      if (nholds == capholds) {
        capholds = capholds ? 2 * capholds : 64;
        hold_t *nh = realloc(holds, capholds * sizeof *nh);
        if (!nh) {
          rc = -1;
          break;
        }
        holds = nh;
      }
      holds[nholds++] = (hold_t){t, r->obj, r->time};
      esc(n1, sizeof n1, sim_interned(w, r->obj));
      snprintf(j, sizeof j,
               "{\"ph\":\"b\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":\"%d."
               "%" PRIu64 ".%u\",\"pid\":%d,\"tid\":%" PRIu64 "",
               n1, pid, t, r->obj, pid, t);
      rc |= push(&b, r->time, -1, j);
    } else if (r->kind == k_unlock) {
      for (size_t k = nholds; k-- > 0;) {
        if (holds[k].thread == t && holds[k].obj == r->obj) {
          holds[k] = holds[--nholds];
          esc(n1, sizeof n1, sim_interned(w, r->obj));
          snprintf(j, sizeof j,
                   "{\"ph\":\"e\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":"
                   "\"%d.%" PRIu64 ".%u\",\"pid\":%d,\"tid\":%" PRIu64 "",
                   n1, pid, t, r->obj, pid, t);
          rc |= push(&b, r->time, -1, j);
          break;
        }
      }
    } else if (r->kind == k_exit) {
      snprintf(j, sizeof j,
               "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exit\",\"pid\":%d,\"tid\":%" PRIu64
               "",
               pid, t);
      rc |= push(&b, r->time, -1, j);
    } else {
      bool kernel = false;
      for (size_t k = 0; k < sizeof kernel_kinds / sizeof kernel_kinds[0]; k++)
        kernel |= r->kind == kernel_kinds[k];
      if (kernel)
        continue;
      /* model events and reports: instant events */
      esc(n1, sizeof n1, sim_interned(w, r->kind));
      esc(n2, sizeof n2, r->obj ? sim_interned(w, r->obj) : "");
      snprintf(j, sizeof j,
               "{\"ph\":\"i\",\"s\":\"%s\",\"cat\":\"%s\",\"name\":\"%s%s%s\","
               "\"pid\":%d,\"tid\":%" PRIu64 ",\"args\":{\"arg\":%" PRId64 "}",
               r->kind == k_report ? "p" : "t",
               r->kind == k_report ? "report" : "model", n1, n2[0] ? " " : "",
               n2, pid, t, r->arg);
      rc |= push(&b, r->time, -1, j);
    }
  }
  /* close what is still open at the end of the run */
  for (uint64_t t = 0; t <= maxid && rc == 0; t++) {
    if (!ob[t].open)
      continue;
    esc(n1, sizeof n1, sim_wait_kind_name(ob[t].kind));
    esc(n2, sizeof n2, ob[t].obj ? sim_interned(w, ob[t].obj) : "");
    snprintf(j, sizeof j,
             "{\"ph\":\"X\",\"cat\":\"blocked\",\"name\":\"%s%s%s\",\"pid\":%d,"
             "\"tid\":%" PRIu64 ",\"args\":{\"unfinished\":true}",
             n1, n2[0] ? " " : "", n2, pid, t);
    rc |= push(&b, ob[t].since, end - ob[t].since, j);
  }
  for (size_t k = 0; k < nholds && rc == 0; k++) {
    esc(n1, sizeof n1, sim_interned(w, holds[k].obj));
    snprintf(j, sizeof j,
             "{\"ph\":\"e\",\"cat\":\"lock\",\"name\":\"holds %s\",\"id\":\"%d.%"
             PRIu64 ".%u\",\"pid\":%d,\"tid\":%" PRIu64
             ",\"args\":{\"unfinished\":true}",
             n1, pid, holds[k].thread, holds[k].obj, pid, holds[k].thread);
    rc |= push(&b, end, -1, j);
  }
  /* counter tracks from the sampled series */
  sim_time_t iv = sim_world_sample_interval(w);
  for (size_t m = 0; iv > 0 && m < sim_world_nmetrics(w) && rc == 0; m++) {
    const sim_metric_t *mt = sim_world_metric(w, m);
    size_t ns = 0;
    const double *s = sim_metric_series(mt, &ns);
    esc(n1, sizeof n1, sim_metric_name(mt));
    for (size_t k = 0; k < ns && rc == 0; k++) {
      snprintf(j, sizeof j,
               "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%d,\"tid\":0,\"args\":{"
               "\"value\":%.17g}",
               n1, pid, s[k]);
      rc |= push(&b, (int64_t)(k + 1) * iv, -1, j);
    }
  }
  free(ob);
  free(holds);
  if (rc == 0) {
    qsort(b.v, b.n, sizeof *b.v, cmp_ev);
    char ts[48], du[48];
    for (size_t i = 0; i < b.n; i++) {
      us(ts, sizeof ts, b.v[i].ts);
      int k;
      if (b.v[i].dur >= 0) {
        us(du, sizeof du, b.v[i].dur);
        k = fprintf(p->f, "%s%s,\"ts\":%s,\"dur\":%s}", p->nworlds || i ? ",\n" : "",
                    b.v[i].json, ts, du);
      } else {
        k = fprintf(p->f, "%s%s,\"ts\":%s}", p->nworlds || i ? ",\n" : "",
                    b.v[i].json, ts);
      }
      if (k < 0)
        p->err = 1;
    }
    p->nworlds++;
  }
  for (size_t i = 0; i < b.n; i++)
    free(b.v[i].json);
  free(b.v);
  if (rc != 0)
    return SIM_ENOMEM;
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
