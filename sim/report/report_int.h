/*
 * storesim report layer: private helpers shared by explain.c and html.c.
 *
 * The facts structure (report_facts_t) is laid out here so that both the
 * explanation and the HTML page can read it; report_facts_collect (facts.c)
 * is the only writer.
 */
#ifndef STORESIM_REPORT_INT_H
#define STORESIM_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "storesim/report.h"
#include "storesim/scenario.h"
#include "storesim/trace.h"

/* A model event kind seen in the trace. */
typedef struct report_ev_fact {
  char *kind;     /* "flush.register" */
  char *obj;      /* object of the first occurrence ("" if none) */
  char *thread;   /* thread of the first occurrence */
  sim_time_t first, last;
  uint64_t count;
} report_ev_fact_t;

/* An object threads blocked on ("cond mta.gateway", "mutex imail.cs_a"). */
typedef struct report_wait_fact {
  char *what;
  int wait_kind;            /* sim_wait_kind_t */
  uint64_t nwaits;          /* blocks on it */
  size_t peak;              /* most threads blocked on it at once */
  sim_time_t peak_at;       /* first time the peak was reached */
  sim_time_t first;         /* first block */
  double thread_seconds;    /* total time threads spent blocked on it */
  sim_time_t longest;       /* longest single wait */
  sim_time_t longest_from;  /* when it began */
  char *longest_thread;
  int longest_end;          /* 0 woken, 1 timer, 2 still waiting at the end */
  char *longest_holder;     /* mutex: who held it when the longest wait began, or NULL */
  size_t start_count;       /* threads blocked on it at the first sample time: parked
                               there from the start (idle workers wait so) */
  size_t early_peak;        /* peak before `early` (report_facts_t) */
  sim_time_t early_longest; /* longest wait (cut at `early`) that began before it */
} report_wait_fact_t;

/* A wait-for cycle over mutexes, as it closed: thread[i] holds held[i] and
 * waits for held[(i + 1) % n], which thread[(i + 1) % n] holds. */
#define REPORT_CYCLE_MAX 4
typedef struct report_cycle {
  size_t n; /* 0: none seen */
  sim_time_t at;
  char *thread[REPORT_CYCLE_MAX];
  char *held[REPORT_CYCLE_MAX]; /* mutex names */
} report_cycle_t;

/* What blocked threads waited on at one moment. */
typedef struct report_snap_row {
  char *group;  /* thread name without its number: "store-task" */
  char *what;   /* "cond mta.gateway", "running on a CPU" */
  size_t count;
  size_t group_live; /* live threads of that group at that moment */
} report_snap_row_t;

typedef struct report_snap {
  sim_time_t at;
  char *metric; /* the gauge that reached 0 */
  report_snap_row_t *rows; /* largest first, at most 4 */
  size_t nrows;
} report_snap_t;

struct report_facts {
  report_ev_fact_t *events;  /* first-seen order */
  size_t nevents;
  report_wait_fact_t *waits; /* first-seen order */
  size_t nwaits;
  report_snap_t *snaps;      /* time order */
  size_t nsnaps;
  report_cycle_t cycle; /* the first mutex wait-for cycle */
  sim_time_t end;
  sim_time_t early; /* end of the early part told as the healthy state when
                                a variant has nothing to compare with: the first
                                hour, at most half the run */
};

/* A virtual time, h:mm:ss as run's summary prints it (scn_format_hms). */
void report__fmt_time(sim_time_t t, char *buf, size_t n);
/* A duration in the same form, "under a second" below one. */
void report__fmt_dur(sim_time_t d, char *buf, size_t n);
/* A value of metric m (in m's unit) for people: "32", "4MiB", "10.3 %";
 * times as h:mm:ss from a minute, else "25470 ms". */
void report__fmt_value(const scn_metric_res_t *m, double v, char *buf, size_t n);
const scn_metric_res_t *report__metric(const scn_variant_res_t *vr,
                                       const char *name);
/* Index of the reference variant (named "without_fix", else the first that
 * ran); -1 when none ran. */
int report__ref_variant(const scn_result_t *r);
/* Time of sample i of a series. */
static inline sim_time_t report__sample_time(const scn_variant_res_t *vr,
                                             size_t i) {
  return (sim_time_t)(i + 1) * vr->sample_interval;
}
/* Appends to a growing string; on OOM sets *oom and keeps what it had. */
typedef struct report_sb {
  char *s;
  size_t len, cap;
  int oom;
} report_sb_t;
void report__sb_printf(report_sb_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report__sb_put(report_sb_t *b, const char *s, size_t n);
/* HTML-escaped text. */
void report__sb_html(report_sb_t *b, const char *s);

/* One pass over a world's kept trace records, a block at a time
 * (sim_world_trace_read): what a pass holds is its block, whatever the
 * run's length. */
#define REPORT_TRACE_BLOCK 4096
typedef struct report_trace_it {
  const sim_world_t *w;
  uint64_t next; /* index of the record after the block */
  sim_trace_rec_t *buf;
  size_t n, i; /* records in buf, the next one to give */
} report_trace_it_t;
/* Starts a pass; returns 0, or -1 out of host memory. */
int report__trace_begin(report_trace_it_t *it, const sim_world_t *w);
/* The next record, or NULL at the end (valid until the next call). */
static inline const sim_trace_rec_t *report__trace_next(report_trace_it_t *it) {
  if (it->i == it->n) {
    it->n = sim_world_trace_read(it->w, it->next, it->buf, REPORT_TRACE_BLOCK);
    it->next += it->n;
    it->i = 0;
    if (it->n == 0) return NULL;
  }
  return &it->buf[it->i++];
}
void report__trace_end(report_trace_it_t *it);
/* An unlinked temporary file in $TMPDIR (else /tmp), open for reading and
 * writing, or -1. */
int report__tmpfd(void);
/* Events of a world the perfetto export holds before it sorts them into a
 * run of its temporary file (0: the default, 65,536); for tests. */
void report__perfetto_chunk(size_t n);

#endif
