/*
 * storesim command line: the option spec and the command table (tools/cli.c).
 *
 * Every command is one cli_cmd_t row: its name, arguments, texts, options and
 * handler. Each option is one cli_opt_t row: long and short name, the name of
 * its value, its help, how the value is parsed and checked, and where it is
 * stored (an offset into the command's option struct). From these rows alone
 * come the parser every command uses, `storesim CMD --help`, `storesim
 * --help` and the man page (`storesim --man`, docs/storesim.1): a new option
 * is one row, and its help cannot disagree with what is parsed.
 *
 * The parser (cli_run): `--opt value` and `--opt=value`, `-o value`, `-ovalue`
 * and `-o=value`, options and arguments in any order, `--` ends the options,
 * `-` alone is an argument, `-h`/`--help` anywhere prints the help. Every
 * usage error is one line "storesim CMD: ..." on stderr and exit status 2;
 * an unknown option names the nearest known ones.
 */
#ifndef STORESIM_TOOLS_CLI_H
#define STORESIM_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "storesim/sim.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3, EXIT_INTR = 130 };

/* How a value is parsed and stored; the target's C type in brackets. */
typedef enum cli_type {
  CLI_FLAG,     /* no value [int]: set to 1 */
  CLI_STR,      /* [const char *]: the value; the last one given wins */
  CLI_LIST,     /* [cli_list_t]: every value in order (repeatable); at most max (0: any) */
  CLI_INT,      /* [int]: an integer from min to max */
  CLI_U64,      /* [uint64_t]: an integer from min to max */
  CLI_SECONDS,  /* [double]: host seconds, 0 to 1e9 */
  CLI_DURATION, /* [sim_time_t]: virtual time with a unit, 1ns to CLI_MAX_DURATION */
  CLI_SEEDS,    /* [cli_seeds_t]: "A-B" (A <= B) or "N" (1..N); at most max seeds (0: any) */
  CLI_FN,       /* [any]: parse() */
} cli_type_t;

typedef struct cli_list {
  const char **v; /* the values (pointers into argv), allocated by the parser */
  size_t n;
} cli_list_t;

typedef struct cli_seeds {
  uint64_t from, to;
  int given;
} cli_seeds_t;

/* Parses val into *target. Returns 0, or -1 with why set to what was
 * expected ("expected 1 to 64"); the parser prints "storesim CMD: --OPT VAL:
 * why". */
typedef int (*cli_parse_fn)(const char *val, void *target, char *why, size_t nwhy);

typedef struct cli_opt {
  const char *name; /* long name, without "--" */
  char abbr;        /* short name ('o' for -o), 0: none */
  const char *arg;  /* name of the value in the help ("N", "FILE"); NULL for CLI_FLAG */
  const char *help; /* one paragraph, wrapped when printed */
  cli_type_t type;
  size_t off;         /* where the value goes: offset in the command's option struct */
  uint64_t min, max;  /* range (CLI_INT, CLI_U64), most values (CLI_LIST), most seeds (CLI_SEEDS) */
  cli_parse_fn parse; /* CLI_FN */
} cli_opt_t;

/* Texts (about, notes, exit) are lines: an empty line is a blank line, a line
 * that starts with a space is printed as it is (examples), every other line
 * is a paragraph, wrapped to the terminal's 79 columns and filled in the man
 * page. */
typedef struct cli_cmd {
  const char *name;
  const char *args;             /* the arguments after [OPTIONS] in the synopsis ("FILE...") */
  const char *summary;          /* one line, for `storesim --help` */
  const char *about;            /* what the command does */
  const cli_opt_t *const *opts; /* NULL-terminated, in help order */
  const char *notes;            /* after the options (NULL: none) */
  const char *exit;             /* "0 ok, 1 ..." (NULL: the program's) */
  int min_args, max_args;       /* how many arguments (max -1: any) */
  size_t size;                  /* of the option struct */
  void (*init)(void *opts);     /* its defaults (NULL: all zero) */
  /* Runs the command with its parsed options and arguments; returns the exit status. */
  int (*run)(void *opts, char **args, size_t nargs);
} cli_cmd_t;

typedef struct cli_prog {
  const char *name, *version;
  const char *tagline; /* the man page's NAME line */
  const char *about;
  const cli_cmd_t *const *cmds; /* NULL-terminated */
  const char *exit;
  const char *see_also; /* the man page's SEE ALSO section */
} cli_prog_t;

/* Parses argv (the arguments after the command name) by cmd's table into a
 * fresh option struct, then prints the help (-h, --help) or checks the
 * number of arguments and calls cmd->run. Returns the exit status: 2 for a
 * usage error (said on stderr), 3 when out of host memory. */
int cli_run(const cli_cmd_t *cmd, int argc, char **argv);
/* "storesim CMD: " fmt "\n" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `storesim CMD --help`, `storesim --help` and the man page in troff (man(7)
 * macros), all from the tables. None fails; write errors are the stream's. */
void cli_help_cmd(FILE *f, const cli_cmd_t *cmd);
void cli_help_prog(FILE *f, const cli_prog_t *p);
void cli_man(FILE *f, const cli_prog_t *p);
/* A bash completion script (`storesim --completion bash`): commands, each
 * command's options, files and directories for values and arguments. */
void cli_completion_bash(FILE *f, const cli_prog_t *p);

/* Value parsers of the types above, for CLI_FN parsers that build on them:
 * each returns 0 and sets *out, or -1 and says why (as cli_parse_fn). */
int cli_parse_u64(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t nwhy);

#endif
