/*
 * storesim command line: the report commands (tools/report_cmds.c) and the
 * progress display shared by every command that runs scenarios.
 */
#ifndef STORESIM_REPORT_CLI_H
#define STORESIM_REPORT_CLI_H

#include "storesim/scenario.h"

/* storesim report FILE... -o report.html */
int cmd_report(int argc, char **argv);
/* storesim trace FILE... -o trace.json (Chrome/Perfetto trace events) */
int cmd_trace(int argc, char **argv);
/* storesim explain FILE... */
int cmd_explain(int argc, char **argv);

/* Sets o->progress so that runs longer than a second show, on stderr and
 * only when stderr is a terminal, the virtual time reached, events per
 * second and an ETA. The line is erased when the variant ends. */
void cli_progress_attach(scn_run_opts_t *o);

#endif
