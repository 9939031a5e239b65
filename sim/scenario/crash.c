/*
 * Internal errors of a run: a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE)
 * or a kernel assertion (sim__die, which aborts: SIGABRT) is never silent.
 * The handler prints
 *
 *   storesim: internal error: SIGSEGV (signal 11) in scenario kb941060 (FILE),
 *     variant with_fix, seed 6, scheduler fifo
 *   storesim: replay it with: storesim run FILE --variant with_fix --seed 6 --sched fifo
 *
 * and exits with status 3. The run's context is per host thread (variants
 * and sweeps run on several): the runner sets it before a variant's world is
 * built (scn_crash_enter) and clears it after (scn_crash_leave); the replay
 * command is formatted then, so the handler only writes prepared bytes.
 *
 * In a sweep's worker process (scn_crash_quiet) the handler stays quiet and
 * lets the signal kill the process: the sweep's parent records the run as
 * crashed and prints the replay command in its summary.
 *
 * Under the sanitizers the handlers are ours too (their memory-error reports
 * come from instrumentation, not from SIGSEGV); a thread that already has an
 * alternate signal stack (a sanitizer's) keeps it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storesim/scenario.h"

static int g_argc;
static char **g_argv;
static volatile sig_atomic_t g_quiet;
/* What the handler writes for the run on this host thread ("" when none). */
static _Thread_local char tl_msg[3072];
/* Alternate signal stack of this host thread, so that an overflow of a
 * simulated thread's stack (a guard page hit) can still be reported. */
static _Thread_local char tl_altstack[64 * 1024] __attribute__((aligned(16)));
static _Thread_local int tl_altstack_on;

static const char *sig_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV (segmentation fault)";
  case SIGBUS: return "SIGBUS (bus error)";
  case SIGILL: return "SIGILL (illegal instruction)";
  case SIGFPE: return "SIGFPE (arithmetic exception)";
  case SIGABRT: return "SIGABRT (internal assertion)";
  default: return "fatal signal";
  }
}

static void put(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t k = write(2, s, n);
    if (k <= 0) return;
    s += k;
    n -= (size_t)k;
  }
}

static void on_fatal(int sig) {
  if (g_quiet) { /* die of the signal: a fault comes again, a raise() must be repeated */
    signal(sig, SIG_DFL);
    raise(sig); /* pending until the handler returns */
    return;
  }
  put("storesim: internal error: ");
  put(sig_name(sig));
  if (tl_msg[0]) {
    put(tl_msg);
  } else {
    put(" outside any run\nstoresim: the command was:");
    for (int i = 0; i < g_argc; i++) {
      put(" ");
      put(g_argv[i]);
    }
    put("\n");
  }
  put("storesim: this is a bug in storesim; please report it with the command above\n");
  _exit(3);
}

void scn_crash_fatal(const char *why) {
  put("storesim: internal error: ");
  put(why);
  put(tl_msg[0] ? tl_msg : "\n");
  _exit(3);
}

void scn_crash_install(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

void scn_crash_quiet(int on) { g_quiet = on != 0; }

/* Appends " ARG" to buf, single-quoted when the shell would split or expand it. */
static void append_arg(char *buf, size_t n, const char *a) {
  size_t k = strlen(buf);
  int plain = a[0] != 0;
  for (const char *p = a; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+%@", *p))
      plain = 0;
  if (plain) {
    snprintf(buf + k, n - k, " %s", a);
    return;
  }
  if (k + 3 >= n) return;
  buf[k++] = ' ';
  buf[k++] = '\'';
  for (const char *p = a; *p && k + 6 < n; p++) {
    if (*p == '\'') {
      memcpy(buf + k, "'\\''", 4);
      k += 4;
    } else {
      buf[k++] = *p;
    }
  }
  buf[k++] = '\'';
  buf[k] = 0;
}

void scn_crash_command(const scn_crash_ctx_t *c, char *buf, size_t n) {
  char num[32];
  snprintf(buf, n, "storesim run");
  append_arg(buf, n, c->file);
  append_arg(buf, n, "--variant");
  append_arg(buf, n, c->variant);
  snprintf(num, sizeof num, "%llu", (unsigned long long)c->seed);
  append_arg(buf, n, "--seed");
  append_arg(buf, n, num);
  append_arg(buf, n, "--sched");
  append_arg(buf, n, c->sched && c->sched[0] ? c->sched : "fifo");
  if (c->duration > 0) {
    scn_format_duration(c->duration, num, sizeof num);
    append_arg(buf, n, "--duration");
    append_arg(buf, n, num);
  }
  /* the command line's overrides, which the scenario in memory already has */
  for (int i = 0; i < g_argc; i++)
    if (!strcmp(g_argv[i], "--set") && i + 1 < g_argc) {
      append_arg(buf, n, "--set");
      append_arg(buf, n, g_argv[++i]);
    } else if (!strncmp(g_argv[i], "--set=", 6)) {
      append_arg(buf, n, "--set");
      append_arg(buf, n, g_argv[i] + 6);
    }
}

void scn_crash_enter(const scn_crash_ctx_t *c) {
  char cmd[2048];
  if (!tl_altstack_on) {
    stack_t old, ss = {.ss_sp = tl_altstack, .ss_size = sizeof tl_altstack, .ss_flags = 0};
    /* one this thread has already (a sanitizer's) stays: its owner frees it */
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) tl_altstack_on = 1;
    else tl_altstack_on = sigaltstack(&ss, NULL) == 0;
  }
  /* A schedule of an exhaustive search has no text a run could parse: the
   * search is deterministic, so the same explore --dfs command crashes at the
   * same schedule again. */
  if (c->sched && !strcmp(c->sched, "dfs"))
    snprintf(cmd, sizeof cmd,
             "the same storesim explore --dfs command (the search is deterministic: it "
             "reaches this schedule again)");
  else scn_crash_command(c, cmd, sizeof cmd);
  snprintf(tl_msg, sizeof tl_msg,
           " in scenario %s (%s), variant %s, seed %llu, scheduler %s\n"
           "storesim: replay it with: %s\n",
           c->id ? c->id : "?", c->file, c->variant, (unsigned long long)c->seed,
           c->sched && c->sched[0] ? c->sched : "fifo", cmd);
}

void scn_crash_leave(void) { tl_msg[0] = 0; }
