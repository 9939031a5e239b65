/*
 * storesim report layer: exports of a run for people and tools.
 *
 * Reports read results only: a finished world (its kept trace records and
 * metric series) or a scenario result. They never change what they read.
 */
#ifndef STORESIM_REPORT_H
#define STORESIM_REPORT_H

#include <stdio.h>

#include "storesim/scenario.h"
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

/* ---- facts of a finished world, for explanations ------------------------------- */
/* What the trace of one variant's world says, reduced to a few numbers:
 * every model event kind (first and last time, count), every object threads
 * blocked on (peak of threads blocked at once, longest wait) and snapshots of
 * what the threads were blocked on at the moments a sampled gauge reached 0.
 * Collected while the world still exists (scn_run_opts_t.world_done) from a
 * world created with keep_trace and a result with keep_series; owned by the
 * caller afterwards. */
typedef struct report_facts report_facts_t;

/* Returns the facts of w (vr: its copied results, for the metric series), or
 * NULL on host OOM. Reads only. */
report_facts_t *report_facts_collect(const sim_world_t *w,
                                     const scn_variant_res_t *vr);
void report_facts_free(report_facts_t *f); /* accepts NULL */

/* ---- explain: the causal chain of each variant, in sentences ------------------- */
/* Writes, for every variant of r that ran, its story as time-stamped
 * sentences built from the result (metric series and summaries, expectation
 * outcomes, detector reports, the scenario's faults) and, when facts[i] is
 * not NULL, from the trace facts of variant i. Nothing in it is specific to a
 * scenario: which metrics are told is chosen from the expectations and from
 * the differences between the variants. For every variant other than the
 * reference one (the variant named "without_fix", else the first), it also
 * says which of the reference variant's findings did not happen and what
 * was measured instead. facts may be NULL. The text is deterministic.
 * Returns 0, or SIM_EIO if writing failed. */
int report_explain(FILE *f, const scn_result_t *r,
                   report_facts_t *const *facts);

/* The short version: the reference variant's most telling findings (at most
 * six: detector reports, metrics reaching 0 or a bound, model events,
 * counters) and, for every other variant, how many of them did not happen
 * there. Returns 0, or SIM_EIO if writing failed. */
int report_explain_brief(FILE *f, const scn_result_t *r,
                         report_facts_t *const *facts);

/* ---- HTML report ------------------------------------------------------------------ */
/* One self-contained page (inline CSS and SVG, no network) for several
 * scenario results: per scenario a verdict table, the expectations with
 * measured values, plots of the key metrics with every variant overlaid on
 * one virtual time axis (gnuplot, SVG terminal; fault times marked), the
 * detector reports with their wait-for graphs (Graphviz dot), and the
 * explanation. Results need keep_series; facts may be NULL.
 *
 * report_html_tools_check returns 0 when gnuplot and dot can be run, else
 * SIM_EINVAL with the reason in err. */
int report_html_tools_check(char *err, size_t nerr);

typedef struct report_html report_html_t;
/* Starts a page; plot files are made in a fresh temporary directory, removed
 * by report_html_end. Returns NULL with a reason in err. */
report_html_t *report_html_begin(const char *title, char *err, size_t nerr);
/* Adds one scenario (its plots are rendered now). Returns 0, or SIM_EIO /
 * SIM_ENOMEM with a reason in err (the page is then unusable). */
int report_html_add(report_html_t *h, const scn_result_t *r,
                    report_facts_t *const *facts, char *err, size_t nerr);
/* Writes the whole page to f and frees h (also on error, and when f is NULL:
 * then nothing is written). Returns 0 or SIM_EIO. */
int report_html_end(report_html_t *h, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
