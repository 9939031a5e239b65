/*
 * storesim command line: the one option parser, and the help and man page,
 * all driven by the tables of tools/cli.h.
 *
 * A command line goes through one path:
 *
 *   argv --[parse_args]--> option struct + arguments --[check_nargs]--> cmd->run
 *                    \--> -h/--help: cli_help_cmd        \--> usage error: exit 2
 *
 * Values are checked where they are parsed (store), so a handler only ever
 * sees values in range; what it checks itself is how options combine.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "storesim/scenario.h"
#include "storesim_cli.h"

enum { WIDTH = 79, PARSED_HELP = -1 };

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "storesim %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return EXIT_USAGE;
}

/* ---- values ----------------------------------------------------------------------------- */
int cli_parse_u64(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *why,
                  size_t nwhy) {
  uint64_t v = 0;
  int ok = 0;
  if (val[0] >= '0' && val[0] <= '9' && strspn(val, "0123456789") == strlen(val)) {
    errno = 0; /* every uint64_t, digits only */
    unsigned long long x = strtoull(val, NULL, 10);
    ok = errno == 0;
    v = x;
  } else { /* also "+5", " 5", "1_000", "1e6", as in a scenario file */
    int64_t x;
    char err[256];
    ok = scn_parse_int(val, &x, err, sizeof err) == 0 && x >= 0;
    v = (uint64_t)x;
  }
  if (ok && v >= min && v <= max) {
    *out = v;
    return 0;
  }
  if (min == 0 && max == UINT64_MAX) snprintf(why, nwhy, "expected a non-negative integer");
  else if (max == UINT64_MAX)
    snprintf(why, nwhy, "expected at least %llu", (unsigned long long)min);
  else
    snprintf(why, nwhy, "expected %llu to %llu", (unsigned long long)min, (unsigned long long)max);
  return -1;
}

static int parse_seconds(const char *val, double *out, char *why, size_t nwhy) {
  char *end;
  errno = 0;
  double x = strtod(val, &end);
  if (errno || end == val || *end || !(x >= 0) || x > 1e9) {
    snprintf(why, nwhy, "expected seconds, 0 to 1e9");
    return -1;
  }
  *out = x;
  return 0;
}

static int parse_duration(const char *val, sim_time_t *out, char *why, size_t nwhy) {
  char err[256];
  sim_time_t d = 0;
  err[0] = 0; /* set only on a parse error: 0.4ns parses, to 0 */
  if (scn_parse_duration(val, &d, err, sizeof err)) {
    /* the message starts with the value, which ours names already */
    const char *e = err;
    size_t nv = strlen(val);
    if (e[0] == '\'' && !strncmp(e + 1, val, nv) && !strncmp(e + 1 + nv, "': ", 3)) e += nv + 4;
    snprintf(why, nwhy, "%s", e);
    return -1;
  }
  if (d <= 0) {
    snprintf(why, nwhy, "must be more than 0");
    return -1;
  }
  if (d > CLI_MAX_DURATION) {
    snprintf(why, nwhy, "at most 3650d, as in a scenario file");
    return -1;
  }
  *out = d;
  return 0;
}

/* Digits only, no sign: "-1" or "2x" is refused, not wrapped or cut. */
static int parse_digits(const char *s, uint64_t *v) {
  char *end;
  if (*s < '0' || *s > '9') return -1;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *v = x;
  return 0;
}

static int parse_seeds(const char *val, uint64_t most, cli_seeds_t *out, char *why, size_t nwhy) {
  char buf[64];
  uint64_t a = 1, b = 0;
  snprintf(buf, sizeof buf, "%s", val);
  char *dash = strchr(buf, '-');
  if (dash) *dash = 0;
  int bad = strlen(val) >= sizeof buf ||
            (dash ? parse_digits(buf, &a) || parse_digits(dash + 1, &b) : parse_digits(buf, &b)) ||
            b < a || (most && b - a >= most);
  if (bad) {
    if (most)
      snprintf(why, nwhy, "expected A-B (A <= B, at most %llu seeds) or N",
               (unsigned long long)most);
    else snprintf(why, nwhy, "expected A-B (A <= B) or N");
    return -1;
  }
  out->from = a;
  out->to = b;
  out->given = 1;
  return 0;
}

/* ---- parsing -------------------------------------------------------------------------------- */
static const cli_opt_t *find_long(const cli_cmd_t *cmd, const char *name, size_t n) {
  for (const cli_opt_t *const *p = cmd->opts; p && *p; p++)
    if (strlen((*p)->name) == n && !strncmp((*p)->name, name, n)) return *p;
  return NULL;
}

static const cli_opt_t *find_short(const cli_cmd_t *cmd, char c) {
  for (const cli_opt_t *const *p = cmd->opts; p && *p; p++)
    if ((*p)->abbr && (*p)->abbr == c) return *p;
  return NULL;
}

/* "unknown option '--jbos' (did you mean '--jobs'?)" */
static int unknown_option(const cli_cmd_t *cmd, const char *word) {
  char names[64][48], sug[200];
  const char *cands[64];
  size_t n = 0;
  for (const cli_opt_t *const *p = cmd->opts; p && *p && n < 63; p++, n++) {
    snprintf(names[n], sizeof names[n], "--%s", (*p)->name);
    cands[n] = names[n];
  }
  cands[n++] = "--help";
  if (scn_suggest(word, cands, n, 0, sug, sizeof sug))
    return cli_usage_error(cmd->name, "unknown option '%s' (did you mean %s?)", word, sug);
  return cli_usage_error(cmd->name, "unknown option '%s' (see storesim %s --help)", word,
                         cmd->name);
}

/* Stores val for opt into the option struct o. Returns 0 or the exit status
 * (said why). `label` is the option as written, for messages. */
static int store(const cli_cmd_t *cmd, const cli_opt_t *opt, const char *label, const char *val,
                 void *o, int argc) {
  void *t = (char *)o + opt->off;
  char why[300] = "";
  uint64_t u;
  int rc = 0;
  switch (opt->type) {
  case CLI_FLAG: *(int *)t = 1; break;
  case CLI_STR: *(const char **)t = val; break;
  case CLI_LIST: {
    cli_list_t *l = t;
    if (opt->max && l->n == opt->max)
      return cli_usage_error(cmd->name, "%s: at most %llu of them", label,
                             (unsigned long long)opt->max);
    if (!l->v && !(l->v = calloc((size_t)argc, sizeof *l->v))) {
      fprintf(stderr, "storesim %s: out of host memory\n", cmd->name);
      return EXIT_INTERNAL;
    }
    l->v[l->n++] = val;
    break;
  }
  case CLI_INT:
    if (!(rc = cli_parse_u64(val, opt->min, opt->max, &u, why, sizeof why))) *(int *)t = (int)u;
    break;
  case CLI_U64: rc = cli_parse_u64(val, opt->min, opt->max, t, why, sizeof why); break;
  case CLI_SECONDS: rc = parse_seconds(val, t, why, sizeof why); break;
  case CLI_DURATION: rc = parse_duration(val, t, why, sizeof why); break;
  case CLI_SEEDS: rc = parse_seeds(val, opt->max, t, why, sizeof why); break;
  case CLI_FN: rc = opt->parse(val, t, why, sizeof why); break;
  }
  return rc ? cli_usage_error(cmd->name, "%s %s: %s", label, val, why) : 0;
}

/* Parses argv into o and args[0..*nargs). Returns 0, PARSED_HELP, or the
 * exit status of a usage error (said why). */
static int parse_args(const cli_cmd_t *cmd, int argc, char **argv, void *o, char **args,
                      size_t *nargs) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    const cli_opt_t *opt;
    char label[64];
    if (!strcmp(a, "--")) {
      while (++i < argc) args[(*nargs)++] = argv[i];
      break;
    }
    if (a[0] != '-' || !a[1]) {
      args[(*nargs)++] = argv[i];
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return PARSED_HELP;
    if (a[1] == '-') { /* --name, --name=value */
      const char *eq = strchr(a, '=');
      size_t nl = eq ? (size_t)(eq - a) : strlen(a);
      snprintf(label, sizeof label, "%.*s", (int)nl, a);
      if (!(opt = find_long(cmd, a + 2, nl - 2)) || nl >= sizeof label)
        return unknown_option(cmd, label);
      if (eq) val = eq + 1;
    } else { /* -o, -oVALUE, -o=VALUE */
      snprintf(label, sizeof label, "-%c", a[1]);
      if (!(opt = find_short(cmd, a[1]))) return unknown_option(cmd, a);
      if (a[2]) val = a + 2 + (a[2] == '=');
    }
    if (opt->type == CLI_FLAG && val) return cli_usage_error(cmd->name, "%s takes no value", label);
    if (opt->type != CLI_FLAG && !val) {
      if (i + 1 == argc) return cli_usage_error(cmd->name, "%s needs a value", label);
      val = argv[++i];
    }
    int rc = store(cmd, opt, label, val, o, argc);
    if (rc) return rc;
  }
  return 0;
}

/* Most commands' arguments are scenario files (or directories of them);
 * other counts are said by the synopsis ("A B"). */
static int check_nargs(const cli_cmd_t *cmd, char **args, size_t nargs) {
  if (cmd->min_args > 1 &&
      ((int)nargs < cmd->min_args || (cmd->max_args >= 0 && (int)nargs > cmd->max_args)))
    return cli_usage_error(
        cmd->name, "expected %s%d arguments, %s; got %zu (see storesim %s --help)",
        cmd->max_args < 0 ? "at least " : "", cmd->min_args, cmd->args, nargs, cmd->name);
  if ((int)nargs < cmd->min_args)
    return cli_usage_error(cmd->name, "no scenario file given (see storesim %s --help)", cmd->name);
  if (cmd->max_args == 0 && nargs)
    return cli_usage_error(cmd->name, "unexpected argument '%s'", args[0]);
  if (cmd->max_args == 1 && nargs > 1)
    return cli_usage_error(cmd->name, "one scenario file at a time ('%s' and '%s')", args[0],
                           args[1]);
  return 0;
}

int cli_run(const cli_cmd_t *cmd, int argc, char **argv) {
  void *o = calloc(1, cmd->size ? cmd->size : 1);
  char **args = calloc((size_t)argc + 1, sizeof *args);
  size_t nargs = 0;
  int rc;
  if (!o || !args) {
    fprintf(stderr, "storesim %s: out of host memory\n", cmd->name);
    rc = EXIT_INTERNAL;
    goto done;
  }
  if (cmd->init) cmd->init(o);
  rc = parse_args(cmd, argc, argv, o, args, &nargs);
  if (rc == PARSED_HELP) {
    cli_help_cmd(stdout, cmd);
    rc = EXIT_OK;
  } else if (rc == 0 && (rc = check_nargs(cmd, args, nargs)) == 0) {
    rc = cmd->run(o, args, nargs);
  }
done:
  for (const cli_opt_t *const *p = cmd->opts; o && p && *p; p++)
    if ((*p)->type == CLI_LIST) free(((cli_list_t *)(void *)((char *)o + (*p)->off))->v);
  free(o);
  free(args);
  return rc;
}

/* ---- help ------------------------------------------------------------------------------------ */
/* Writes text (lines as described at cli_cmd_t) wrapped to WIDTH. The output
 * is at column col; every line after the first is indented by indent. */
static void wrap(FILE *f, const char *text, int col, int indent) {
  int first = 1;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    if (!first && len) col = fprintf(f, "%*s", indent, "");
    if (len && p[0] == ' ') {
      fprintf(f, "%.*s", (int)len, p);
    } else {
      int fresh = 1;
      for (const char *w = p, *end = p + len; w < end;) {
        while (w < end && *w == ' ') w++;
        size_t wl = strcspn(w, " \n");
        if (!wl) break;
        if (strspn(w, "0123456789") == wl && w + wl < end) /* "3 internal error": together */
          wl += 1 + strcspn(w + wl + 1, " \n");
        if (!fresh && col + 1 + (int)wl > WIDTH) col = fprintf(f, "\n%*s", indent, "") - 1;
        else if (!fresh) col += fprintf(f, " ");
        col += fprintf(f, "%.*s", (int)wl, w);
        fresh = 0;
        w += wl;
      }
    }
    fputc('\n', f);
    first = 0;
    p += len;
    if (*p) p++;
  }
}

/* "-o, --output FILE"; returns its length. */
static int opt_label(char *buf, size_t n, const cli_opt_t *o) {
  int l = o->abbr ? snprintf(buf, n, "-%c, ", o->abbr) : 0;
  return l + snprintf(buf + l, n - (size_t)l, "--%s%s%s", o->name, o->arg ? " " : "",
                      o->arg ? o->arg : "");
}

void cli_help_cmd(FILE *f, const cli_cmd_t *cmd) {
  static const cli_opt_t help = {.name = "help", .abbr = 'h', .help = "this help"};
  char label[128];
  int width = 10; /* "-h, --help"; longer labels than 22 put their help below */
  fprintf(f, "usage: storesim %s%s%s%s\n\n", cmd->name, cmd->opts ? " [OPTIONS]" : "",
          cmd->args[0] ? " " : "", cmd->args);
  wrap(f, cmd->about, 0, 0);
  fputs("\noptions:\n", f);
  for (const cli_opt_t *const *p = cmd->opts; p && *p; p++) {
    int l = opt_label(label, sizeof label, *p);
    if (l > width && l <= 22) width = l;
  }
  int col = 2 + width + 2;
  for (const cli_opt_t *const *p = cmd->opts;; p++) {
    const cli_opt_t *o = p && *p ? *p : &help;
    int at = fprintf(f, "  ");
    at += opt_label(label, sizeof label, o);
    fputs(label, f);
    if (at + 1 > col) at = fprintf(f, "\n") - 1;
    at += fprintf(f, "%*s", col - at, "");
    wrap(f, o->help, at, col);
    if (o == &help) break;
  }
  if (cmd->notes) {
    fputc('\n', f);
    wrap(f, cmd->notes, 0, 0);
  }
  if (cmd->exit) {
    fputs("\nexit status: ", f);
    wrap(f, cmd->exit, 13, 13);
  }
}

void cli_help_prog(FILE *f, const cli_prog_t *p) {
  enum { COL = 27 };
  fprintf(f, "usage: %s COMMAND [OPTIONS] [ARGS]\n\n", p->name);
  wrap(f, p->about, 0, 0);
  fputs("\ncommands:\n", f);
  for (const cli_cmd_t *const *c = p->cmds; *c; c++) {
    int at = fprintf(f, "  %s%s%s", (*c)->name, (*c)->args[0] ? " " : "", (*c)->args);
    if (at + 1 > COL) at = fprintf(f, "\n") - 1;
    at += fprintf(f, "%*s", COL - at, "");
    wrap(f, (*c)->summary, at, COL);
  }
  static const char *const more[][2] = {{"storesim COMMAND --help", "options of a command"},
                                        {"storesim --man", "this manual as a man page (troff)"},
                                        {"storesim --completion bash", "a bash completion script"},
                                        {"storesim --version", "version and git revision"}};
  fputc('\n', f);
  for (size_t i = 0; i < sizeof more / sizeof *more; i++) /* a long name: its text below */
    fprintf(f, "  %-*s%s%*s%s\n", COL - 3, more[i][0],
            (int)strlen(more[i][0]) > COL - 3 ? "\n" : "",
            (int)strlen(more[i][0]) > COL - 3 ? COL : 1, "", more[i][1]);
  fputs("\nexit status: ", f);
  wrap(f, p->exit, 13, 13);
}

/* ---- man page ---------------------------------------------------------------------------------- */
/* One line of text in troff: backslashes, a leading '.' or '\'' (a request),
 * and the minus of an option (so that it can be searched and copied). */
static void man_str(FILE *f, const char *s, size_t n) {
  if (n && (s[0] == '.' || s[0] == '\'')) fputs("\\&", f);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\') fputs("\\e", f);
    else if (s[i] == '-' && (i == 0 || !isalnum((unsigned char)s[i - 1]))) fputs("\\-", f);
    else fputc(s[i], f);
  }
}

/* Text as lines (see cli_cmd_t): paragraphs filled, blank lines as new
 * paragraphs (.PP, or .IP inside an option), indented lines kept (.nf). */
static void man_text(FILE *f, const char *text, const char *para) {
  int nofill = 0;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    int verbatim = len && p[0] == ' ';
    if (verbatim != nofill) fputs((nofill = verbatim) ? ".nf\n" : ".fi\n", f);
    if (!len) {
      fprintf(f, "%s\n", para);
    } else {
      man_str(f, p, len);
      fputc('\n', f);
    }
    p += len;
    if (*p) p++;
  }
  if (nofill) fputs(".fi\n", f);
}

static void man_bold_italic(FILE *f, const char *bold, const char *italic) {
  fputs("\\fB", f);
  man_str(f, bold, strlen(bold));
  fputs("\\fR", f);
  if (italic && *italic) {
    fputs(" \\fI", f);
    man_str(f, italic, strlen(italic));
    fputs("\\fR", f);
  }
  fputc('\n', f);
}

static void man_cmd(FILE *f, const cli_cmd_t *c) {
  char buf[128];
  fprintf(f, ".SS %s\n", c->name);
  snprintf(buf, sizeof buf, "storesim %s", c->name);
  fputs("\\fB", f);
  man_str(f, buf, strlen(buf));
  fputs("\\fR", f);
  if (c->opts) fputs(" [\\fIOPTIONS\\fR]", f);
  if (c->args[0]) {
    fputs(" \\fI", f);
    man_str(f, c->args, strlen(c->args));
    fputs("\\fR", f);
  }
  fputs("\n.PP\n", f);
  man_text(f, c->about, ".PP");
  for (const cli_opt_t *const *p = c->opts; p && *p; p++) {
    const cli_opt_t *o = *p;
    fputs(".TP\n", f);
    if (o->abbr) snprintf(buf, sizeof buf, "-%c, --%s", o->abbr, o->name);
    else snprintf(buf, sizeof buf, "--%s", o->name);
    man_bold_italic(f, buf, o->arg);
    man_text(f, o->help, ".IP");
  }
  if (c->notes) {
    fputs(".PP\n", f);
    man_text(f, c->notes, ".PP");
  }
  if (c->exit) {
    fputs(".PP\nExit status: ", f);
    man_text(f, c->exit, ".PP");
  }
}

void cli_man(FILE *f, const cli_prog_t *p) {
  fprintf(f, ".\\\" generated by `%s --man` from the command tables (tools/cli.h); do not edit\n",
          p->name);
  fprintf(f, ".TH %s 1 \"\" \"%s %s\" \"User Commands\"\n.nh\n", "STORESIM", p->name, p->version);
  fprintf(f, ".SH NAME\n%s \\- ", p->name);
  man_str(f, p->tagline, strlen(p->tagline));
  fprintf(f, "\n.SH SYNOPSIS\n\\fB%s\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n.br\n",
          p->name);
  fprintf(f, "\\fB%s\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR\n.br\n", p->name);
  fprintf(f,
          "\\fB%s\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-man\\fR | \\fB\\-\\-version\\fR | "
          "\\fB\\-\\-completion bash\\fR\n",
          p->name);
  fputs(".SH DESCRIPTION\n", f);
  man_text(f, p->about, ".PP");
  fputs(".PP\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR (its options). An option's "
        "value follows it as the next argument or after '=' (\\fB\\-\\-jobs 4\\fR, "
        "\\fB\\-\\-jobs=4\\fR); options and arguments may come in any order; \\fB\\-\\-\\fR "
        "ends the options.\n",
        f);
  fputs(".SH COMMANDS\n", f);
  for (const cli_cmd_t *const *c = p->cmds; *c; c++) man_cmd(f, *c);
  fputs(".SH EXIT STATUS\n", f);
  man_text(f, p->exit, ".PP");
  fputs(".SH SEE ALSO\n", f);
  man_text(f, p->see_also, ".PP");
}

/* ---- bash completion ----------------------------------------------------------------------- */
void cli_completion_bash(FILE *f, const cli_prog_t *p) {
  fprintf(f, "# bash completion for %s, generated by `%s --completion bash`\n", p->name, p->name);
  fprintf(f, "# (install: %s --completion bash > /etc/bash_completion.d/%s, or source it)\n",
          p->name, p->name);
  fprintf(f, "_%s() {\n  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n",
          p->name);
  fputs("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W '", f);
  for (const cli_cmd_t *const *c = p->cmds; *c; c++) fprintf(f, "%s ", (*c)->name);
  fputs("help --help --version --man --completion' -- \"$cur\"))\n    return\n  fi\n", f);
  fputs("  local opts= takes=\n  case ${COMP_WORDS[1]} in\n", f);
  for (const cli_cmd_t *const *c = p->cmds; *c; c++) {
    fprintf(f, "  %s)\n    opts='--help", (*c)->name);
    for (const cli_opt_t *const *o = (*c)->opts; o && *o; o++) {
      fprintf(f, " --%s", (*o)->name);
      if ((*o)->abbr) fprintf(f, " -%c", (*o)->abbr);
    }
    fputs("'\n    takes='", f);
    for (const cli_opt_t *const *o = (*c)->opts; o && *o; o++)
      if ((*o)->type != CLI_FLAG) {
        fprintf(f, " --%s", (*o)->name);
        if ((*o)->abbr) fprintf(f, " -%c", (*o)->abbr);
      }
    fputs(" ' ;;\n", f);
  }
  fputs("  esac\n", f);
  fputs("  if [[ \" $takes \" == *\" $prev \"* ]]; then\n"
        "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
        "  elif [[ $cur == -* ]]; then\n"
        "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
        "  else\n"
        "    COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- \"$cur\") $(compgen -d -- \"$cur\"))\n"
        "  fi\n}\n", f);
  fprintf(f, "shopt -s extglob\ncomplete -o filenames -F _%s %s\n", p->name, p->name);
}
