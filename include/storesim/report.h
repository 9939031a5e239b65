/*
 * storesim report layer: exports of a run for people and tools.
 *
 * Reports read results only: a finished world (its kept trace records and
 * metric series) or a scenario result. They never change what they read.
 */
#ifndef STORESIM_REPORT_H
#define STORESIM_REPORT_H

#include <stdio.h>

#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Chrome / Perfetto trace event JSON ----------------------------------- */
/* A trace file holds one or more worlds, each as its own process (pid) with
 * one track per simulated thread: complete spans for every block (named by
 * what the thread waits on: "mutex imail.cs_a", "sleep", "cpu", ...), async
 * spans "holds <lock>" for every lock hold, instant events for model events
 * and detector reports, and counter tracks for every sampled metric.
 * Timestamps are virtual microseconds. Spans still open when the run ended
 * are closed at the end time with args.unfinished = true.
 *
 * Usage: report_perfetto_begin, then report_perfetto_world for each world
 * (which must have been created with opts.keep_trace), then
 * report_perfetto_end. Returns 0, or SIM_EIO when writing failed. */
typedef struct report_perfetto report_perfetto_t;
report_perfetto_t *report_perfetto_begin(FILE *f);
int report_perfetto_world(report_perfetto_t *p, const sim_world_t *w, int pid,
                          const char *label);
int report_perfetto_end(report_perfetto_t *p); /* frees p */

#ifdef __cplusplus
}
#endif
#endif
