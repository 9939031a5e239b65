/*
 * The command line's one parser, its help and its man page (tools/cli.c):
 * every command parses the same way, says a usage error in the same shape
 * with exit status 2, and its --help and the man page come from the same
 * tables. Runs the storesim binary of the build.
 */
#include <criterion/criterion.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"

#define BIN STORESIM_BINARY_DIR "/storesim"
#define SRC STORESIM_SOURCE_DIR

static char out[1 << 17];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return kt_sh(cmd, out, sizeof out);
}

static const char *const cmds[] = {"run",   "check",   "validate", "list",    "schema", "report",
                                   "trace", "explain", "sweep",    "explore", "diff"};
enum { NCMDS = sizeof cmds / sizeof *cmds };

Test(cli, every_command_has_a_generated_help) {
  for (size_t i = 0; i < NCMDS; i++) {
    char head[64];
    cr_assert_eq(sh("'%s' %s --help", BIN, cmds[i]), 0, "%s", cmds[i]);
    snprintf(head, sizeof head, "usage: storesim %s", cmds[i]);
    cr_assert(!strncmp(out, head, strlen(head)), "%s: %s", cmds[i], out);
    cr_assert(strstr(out, "\n  -h, --help "), "%s: %s", cmds[i], out);
    char first[sizeof out];
    memcpy(first, out, sizeof out);
    /* `storesim help CMD` and `-h` anywhere say the same */
    cr_assert_eq(sh("'%s' help %s", BIN, cmds[i]), 0);
    cr_assert_str_eq(out, first, "%s", cmds[i]);
    cr_assert_eq(sh("'%s' %s x.yaml -h", BIN, cmds[i]), 0);
    cr_assert_str_eq(out, first, "%s", cmds[i]);
  }
  cr_assert_eq(sh("'%s' --help", BIN), 0);
  for (size_t i = 0; i < NCMDS; i++) {
    char line[64];
    snprintf(line, sizeof line, "\n  %s ", cmds[i]);
    cr_assert(strstr(out, line), "storesim --help lists %s: %s", cmds[i], out);
  }
  /* what run --help has always said */
  cr_assert_eq(sh("'%s' run --help", BIN), 0);
  /* (the option column is as wide as the longest option: --perfmon-server NAME) */
  const char *set = strstr(out, "  --set KEY=VALUE  ");
  cr_assert(set, "%s", out);
  set += strspn(set + 17, " ") + 17;
  const char *want = "override a scenario key, validated like the file";
  cr_assert(!strncmp(set, want, strlen(want)), "%s", out);
  cr_assert(strstr(out, "exit status: 0 all expectations passed, 1 an expectation failed"), "%s",
            out);
}

Test(cli, usage_errors_have_one_shape) {
  for (size_t i = 0; i < NCMDS; i++) {
    char want[256];
    cr_assert_eq(sh("'%s' %s --bogus x.yaml 2>&1", BIN, cmds[i]), 2, "%s", cmds[i]);
    snprintf(want, sizeof want, "storesim %s: unknown option '--bogus' (see storesim %s --help)\n",
             cmds[i], cmds[i]);
    cr_assert_str_eq(out, want);
  }
  const struct {
    const char *args, *msg;
  } cases[] = {
      {"run --jbos 2 x.yaml",
       "storesim run: unknown option '--jbos' (did you mean '--jobs', '--json'?)\n"},
      {"sweep --sed 2 x.yaml",
       "storesim sweep: unknown option '--sed' (did you mean '--set', '--sched', '--seeds'?)\n"},
      {"report -x x.yaml", "storesim report: unknown option '-x' (see storesim report --help)\n"},
      {"run --seed", "storesim run: --seed needs a value\n"},
      {"run --seed -3 x.yaml", "storesim run: --seed -3: expected a non-negative integer\n"},
      {"check --jobs=0", "storesim check: --jobs 0: expected 1 to 1024\n"},
      {"run --json=1 x.yaml", "storesim run: --json takes no value\n"},
      {"run", "storesim run: no scenario file given (see storesim run --help)\n"},
      {"explore", "storesim explore: no scenario file given (see storesim explore --help)\n"},
      {"sweep a.yaml b.yaml",
       "storesim sweep: one scenario file at a time ('a.yaml' and 'b.yaml')\n"},
      {"schema x", "storesim schema: unexpected argument 'x'\n"},
      {"run --duration=5x x.yaml",
       "storesim run: --duration 5x: unknown duration unit 'x' (use ns us ms s m h d)\n"},
      {"check --seeds 5-2", "storesim check: --seeds 5-2: expected A-B (A <= B, at most 100000000 "
                            "seeds) or N\n"},
      {"check --wall-limit 3", "storesim check: --wall-limit needs --seeds\n"},
      {"sweep --seeds 3-1 x.yaml", "storesim sweep: --seeds 3-1: expected A-B (A <= B) or N\n"},
      {"sweep --shard 2/2 x.yaml", "storesim sweep: --shard 2/2: expected I/N with 0 <= I < N\n"},
      {"sweep --sched lifo x.yaml",
       "storesim sweep: --sched lifo: expected random, pct[:DEPTH] or fifo\n"},
      {"explore --wall-limit -1 x.yaml",
       "storesim explore: --wall-limit -1: expected seconds, 0 to 1e9\n"},
      {"trace --trace-format svg x.yaml",
       "storesim trace: --trace-format svg: unknown format (known: perfetto)\n"},
      {"report x.yaml", "storesim report: no output file given (-o report.html)\n"},
      {"run --backend threads --sched random:1 x.yaml",
       "storesim run: --backend threads runs fifo only: the host's scheduler decides, so --sched "
       "(random, pct, replay) is for the virtual backend\n"},
      {"explain --time-scale 1m=10ms x.yaml",
       "storesim explain: --time-scale needs --backend threads\n"},
      {"run --backend threads --time-scale 1m x.yaml",
       "storesim run: --time-scale 1m: expected VIRTUAL=WALL, two durations, e.g. 1m=10ms\n"},
      {"trace --backend thread -o t.json x.yaml",
       "storesim trace: --backend thread: expected virtual or threads\n"},
      {"check --backend threads --seeds 1-3",
       "storesim check: --backend threads runs one seed per process: --seeds would run many live "
       "worlds in one worker, whose deadlocked threads stay (use --seed N in a loop)\n"},
      {"run --backend threads --trace t.jsonl x.yaml",
       "storesim run: --backend threads has no reproducible trace: --trace is for the virtual "
       "backend\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cr_expect_eq(sh("'%s' %s 2>&1", BIN, cases[i].args), 2, "%s", cases[i].args);
    cr_expect_str_eq(out, cases[i].msg, "%s", cases[i].args);
  }
}

Test(cli, values_attach_either_way_and_double_dash_ends_options) {
  /* --opt=value, --opt value, -o value, -ovalue, -o=value: the same */
  cr_assert_eq(sh("'%s' explore --depth=0 x.yaml 2>&1", BIN), 2);
  cr_assert_str_eq(out, "storesim explore: --depth 0: expected 1 to 64\n");
  cr_assert_eq(sh("'%s' explore --depth 0 x.yaml 2>&1", BIN), 2);
  cr_assert_str_eq(out, "storesim explore: --depth 0: expected 1 to 64\n");
  const char *forms[] = {"-o /dev/null", "-o/dev/null", "-o=/dev/null", "--output=/dev/null",
                         "--output /dev/null"};
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    /* the option is taken; the (missing) scenario file is what fails */
    cr_assert_eq(sh("'%s' trace %s /nonexistent.yaml 2>&1", BIN, forms[i]), 2, "%s", forms[i]);
    cr_assert(strstr(out, "/nonexistent.yaml: error: "), "%s: %s", forms[i], out);
  }
  /* after --, "--set" is a file name, not an option */
  cr_assert_eq(sh("'%s' validate -- --set 2>&1", BIN), 2);
  cr_assert(strstr(out, "--set: error: "), "%s", out);
  /* options may follow the arguments; a repeatable option keeps every value */
  cr_assert_eq(sh("cd '%s' && '%s' validate scenarios/validation/mm1.yaml --set queue.workers=2 "
                  "--set=duration=1h 2>&1",
                  SRC, BIN),
               0, "%s", out);
  cr_assert_eq(sh("cd '%s' && '%s' validate scenarios/validation/mm1.yaml --set queue.workers=2 "
                  "--set queue.workerz=1 2>&1",
                  SRC, BIN),
               2, "%s", out);
  cr_assert(strstr(out, "workerz"), "%s", out);
}

/* The man page is generated from the same tables, committed as
 * docs/storesim.1, and renders without a warning. */
Test(cli, man_page_is_generated_and_well_formed) {
  cr_assert_eq(sh("'%s' --man | cmp - '%s/docs/storesim.1' 2>&1", BIN, SRC), 0,
               "docs/storesim.1 differs from `storesim --man`: regenerate it with "
               "`storesim --man > docs/storesim.1` (%s)",
               out);
  cr_assert_eq(sh("'%s' --man", BIN), 0);
  cr_assert(!strncmp(out, ".\\\" generated by", 16), "%.100s", out);
  cr_assert(strstr(out, "\n.TH STORESIM 1 "), "%.300s", out);
  for (size_t i = 0; i < NCMDS; i++) {
    char ss[64];
    snprintf(ss, sizeof ss, "\n.SS %s\n", cmds[i]);
    cr_assert(strstr(out, ss), "no section for %s", cmds[i]);
  }
  cr_assert(strstr(out, "\n.SH EXIT STATUS\n"));
  if (sh("command -v groff >/dev/null") != 0) {
    cr_log_warn("groff is not installed: the man page was not rendered");
    return;
  }
  /* -ww: every warning; -z: no output. Nothing on stderr is a clean page. */
  cr_assert_eq(sh("'%s' --man | groff -man -Tutf8 -ww -z 2>&1", BIN), 0, "%s", out);
  cr_assert_str_eq(out, "", "groff warns about the man page");
  cr_assert_eq(sh("'%s' --man | groff -man -Tutf8 -P-cbou 2>/dev/null | grep -c '^COMMANDS$'", BIN),
               0);
  cr_assert_str_eq(out, "1\n", "the rendered page has its COMMANDS section");
}

/* storesim --version names the git revision; the bash completion script is
 * valid bash, completes every command and a command's options. */
Test(cli, version_and_bash_completion) {
  cr_assert_eq(sh("'%s' --version", BIN), 0, "%s", out);
  cr_assert(!strncmp(out, "storesim 0.1.0 (git ", 20), "%s", out);
  char comp[64];
  snprintf(comp, sizeof comp, "/tmp/storesim-test-comp-%d.sh", (int)getpid());
  cr_assert_eq(sh("'%s' --completion bash > %s && bash -n %s", BIN, comp, comp), 0, "%s", out);
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    cr_assert_eq(sh("bash -c 'source %s; COMP_WORDS=(storesim %.3s); COMP_CWORD=1; _storesim; "
                    "echo \"${COMPREPLY[*]}\"'",
                    comp, cmds[i]),
                 0, "%s", out);
    cr_assert(strstr(out, cmds[i]), "'%.3s' does not complete to %s: %s", cmds[i], cmds[i], out);
  }
  cr_assert_eq(sh("bash -c 'source %s; COMP_WORDS=(storesim sweep --wal); COMP_CWORD=2; "
                  "_storesim; echo \"${COMPREPLY[*]}\"'",
                  comp),
               0, "%s", out);
  cr_assert(strstr(out, "--wall-limit"), "%s", out);
  cr_assert_eq(sh("'%s' --completion zsh", BIN), 2, "%s", out);
  unlink(comp);
  /* storesim --help: a name longer than its column puts its text below,
   * never glued to it ("--completion basha bash ...") */
  cr_assert_eq(sh("'%s' --help", BIN), 0, "%s", out);
  cr_assert(
      strstr(out, "  storesim --completion bash\n                           a bash completion"),
      "%s", out);
}

/* Writes text to path (the test fails if it cannot). */
static void put_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

/* An expectation marked not_live is judged on the virtual backend and only
 * shown, with its reason, on the threads backend. */
Test(cli, not_live_expectation_is_judged_virtual_only) {
  char dir[] = "/tmp/storesim-nl-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/nl.yaml", dir);
  put_file(path, "id: nl\ntitle: not live\nmodel: queue\nduration: 10m\n"
                 "arrivals: { interarrival: exp(2s) }\nservice: { time: exp(1s) }\n"
                 "variants: { without_fix: {}, with_fix: {} }\n"
                 "expect:\n  with_fix:\n    - \"queue.served.final > 0\"\n"
                 "    - { expect: \"queue.served.final < 0\", not_live: \"false on purpose\" }\n");
  cr_assert_eq(sh("'%s' run '%s' --variant with_fix 2>&1", BIN, path), 1, "%s", out);
  cr_assert(strstr(out, "FAILED with_fix: queue.served.final < 0"), "%s", out);
  cr_assert_eq(
      sh("'%s' run '%s' --variant with_fix --backend threads --time-scale 1m=20ms 2>&1", BIN, path),
      0, "%s", out);
  cr_assert(strstr(out, "1/1 hold (1 not live)"), "%s", out);
  cr_assert(strstr(out, "with_fix: queue.served.final < 0  (measured"), "%s", out);
  cr_assert(strstr(out, "why: false on purpose"), "%s", out);
  cr_assert_eq(sh("'%s' run '%s' --variant with_fix --backend threads --time-scale 1m=20ms --json "
                  "2>&1",
                  BIN, path),
               0, "%s", out);
  cr_assert(strstr(out, "\"not_live\":\"false on purpose\",\"pass\":false,\"status\":\"not_live\""),
            "%s", out);
  /* one the live run cannot even evaluate (no sample after the warm-up):
   * not judged either, where the virtual run reports the error */
  put_file(path, "id: nl\ntitle: not live\nmodel: queue\nduration: 10m\nqueue: { warmup: 1h }\n"
                 "arrivals: { interarrival: exp(2s) }\nservice: { time: exp(1s) }\n"
                 "variants: { without_fix: {}, with_fix: {} }\n"
                 "expect:\n  with_fix:\n    - \"queue.served.final > 0\"\n"
                 "    - { expect: \"queue.wait.mean < 1h\", not_live: \"no samples\" }\n");
  cr_assert_eq(sh("'%s' run '%s' --variant with_fix 2>&1", BIN, path), 2, "%s", out);
  cr_assert(strstr(out, "no sample was taken in this run"), "%s", out);
  cr_assert_eq(sh("'%s' run '%s' --variant with_fix --backend threads --time-scale 1m=20ms 2>&1",
                  BIN, path),
               0, "%s", out);
  cr_assert(strstr(out, "1/1 hold (1 not live)"), "%s", out);
  unlink(path);
  rmdir(dir);
}

/* --backend threads (issue 18): a live run says it is not reproducible, in
 * text and in JSON (no trace hash), and its verdict is judged as usual. */
Test(cli, threads_backend_run_has_no_trace_hash) {
  cr_assert_eq(sh("'%s' run '%s/scenarios/q279798.yaml' --variant race_with_fix --backend threads "
                  "--duration 1m 2>&1",
                  BIN, SRC),
               0, "%s", out);
  cr_assert(strstr(out, "live run: not reproducible, no trace hash"), "%s", out);
  cr_assert_eq(sh("'%s' run '%s/scenarios/q279798.yaml' --variant race_with_fix --backend threads "
                  "--duration 1m --json 2>&1",
                  BIN, SRC),
               0, "%s", out);
  cr_assert(strstr(out, "\"backend\":\"threads\",\"trace_hash\":null"), "%s", out);
  cr_assert_eq(sh("'%s' run '%s/scenarios/q279798.yaml' --variant race_with_fix --duration 1m "
                  "--json 2>&1",
                  BIN, SRC),
               0, "%s", out);
  cr_assert(strstr(out, "\"backend\":\"virtual\",\"trace_hash\":\""), "%s", out);
}
