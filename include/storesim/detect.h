/*
 * storesim kernel: detector reports.
 *
 * The detectors are always on: a wait-for cycle when a thread blocks on a
 * mutex (deadlock), a global hang (threads blocked, nothing runnable, no
 * timer), a lock-order validator in the style of Linux lockdep (lock
 * classes, first-seen acquisition sites, a report the first time an order
 * edge closes a cycle), misuse of sync objects, and CPU spins.
 *
 * Each report has one fixed, greppable shape; its first line is a banner
 *   "storesim: <KIND>: <summary> at t=<virtual time>"
 * and the rest names threads, locks and acquisition sites (file:line).
 */
#ifndef STORESIM_DETECT_H
#define STORESIM_DETECT_H

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sim_report_kind {
  SIM_R_DEADLOCK,   /* wait-for cycle */
  SIM_R_HANG,       /* global hang */
  SIM_R_LOCK_ORDER, /* possible lock-order inversion (lockdep) */
  SIM_R_MISUSE,     /* bad unlock, AA relock, destroy while held */
  SIM_R_SPIN,       /* a thread burns CPU without progress */
  SIM_R_MODEL       /* filed by a model (task exhaustion, shutdown, ...) */
} sim_report_kind_t;

typedef struct sim_report {
  sim_report_kind_t kind;
  sim_time_t time;
  const char *name;    /* kind name; for SIM_R_MODEL the model's word */
  char *text;          /* whole report, several lines */
  char *dot;           /* Graphviz DOT of the wait-for graph, or NULL */
  uint64_t *threads;   /* ids of the threads involved */
  size_t nthreads;
  char **locks;        /* names of the locks involved */
  size_t nlocks;
} sim_report_t;

/* "deadlock", "hang", "lock-order", "misuse", "spin". */
const char *sim_report_kind_name(sim_report_kind_t k);
size_t sim_world_nreports(const sim_world_t *w);
/* Reports in the order they were filed; NULL past the end. Owned by w. */
const sim_report_t *sim_world_report(const sim_world_t *w, size_t i);
/* Files a model report at the current virtual time: name is a short word
 * ("exhaustion", "shutdown"), text the whole report (copied). The threads
 * named in the report may be listed with ids (may be NULL/0). */
void sim_world_file_report(sim_world_t *w, const char *name, const char *text,
                           const uint64_t *threads, size_t nthreads);
/* Optional hook, called as each report is filed. */
void sim_world_on_report(sim_world_t *w,
                         void (*fn)(const sim_report_t *r, void *arg),
                         void *arg);

#ifdef __cplusplus
}
#endif
#endif
