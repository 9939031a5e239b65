/*
 * storesim command line: output formats (tools/output.c, tools/schema.c).
 * Each function writes one whole rendering of its input to f; none fails
 * (write errors are seen by the caller on the stream).
 */
#ifndef STORESIM_CLI_H
#define STORESIM_CLI_H

#include <stdio.h>

#include "storesim/scenario.h"

/* Side-by-side table of the variants; `sep` prints a blank line first. */
void cli_print_table(FILE *f, const scn_result_t *r, int sep);
/* One JSON object on one line (format in docs/scenarios.md). */
void cli_print_json(FILE *f, const scn_result_t *r);
/* Rows "scenario,variant,time_s,metric,value" of every kept series. */
void cli_print_csv(FILE *f, const scn_result_t *r);
/* JSON Schema / Markdown reference generated from the parameter tables. */
void cli_print_schema(FILE *f);
void cli_print_markdown(FILE *f);
/* JSON string literal of s. */
void cli_json_str(FILE *f, const char *s);
/* `storesim sweep` (tools/sweep.c). */
int cmd_sweep(int argc, char **argv);

#endif
