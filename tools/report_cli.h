/*
 * storesim command line: the progress display shared by every command that
 * runs scenarios (tools/report_cmds.c, beside report, trace and explain,
 * whose command rows are declared in storesim_cli.h).
 */
#ifndef STORESIM_REPORT_CLI_H
#define STORESIM_REPORT_CLI_H

#include "storesim/scenario.h"

/* Sets o->progress so that runs longer than a second show, on stderr and
 * only when stderr is a terminal, the virtual time reached, events per
 * second and an ETA. The line is erased when the variant ends. */
void cli_progress_attach(scn_run_opts_t *o);

#endif
