/*
 * storesim command line: output files and standard output that never lie.
 *
 * Every stream a command writes (standard output, each output file) is a
 * stdio stream over a file descriptor whose write function records the first
 * error (errno) it meets; the stream is checked once, where it is closed:
 * cli_out_close for output files, cli_exit for standard output at the end of
 * every command. A short write, a failed flush, fsync, close or rename is an
 * error with the path (or "stdout") and strerror, exit status 2.
 *
 * Where an output file goes (cli_out_open):
 *
 *   "-"                          standard output, written in place
 *   a regular file, or nothing   a temporary file NAME.tmp.PID.XXXXXX beside
 *                                it, fsync'd and renamed onto it when whole;
 *                                removed on every other exit path
 *   a symlink                    followed: the same, onto the final target's
 *                                path, so the link stays a link
 *   a device, FIFO, socket       written in place (never replaced)
 *   /dev/stdout, /proc/.../fd/N  written in place (standard output's stream
 *                                when it names standard output)
 *   a directory                  an error
 *
 * Temporary file states:
 *
 *   (none) -> OPEN          mkstemp beside the target [cli_out_open]
 *   OPEN -> RENAMED         keep and no error: fsync, rename [cli_out_close]
 *   OPEN -> REMOVED         !keep or an error [cli_out_close]; exit() with it
 *                           open [atexit]; a second SIGINT/SIGTERM/SIGHUP
 *                           [scn_interrupt_on_kill]; SIGABRT, SIGSEGV,
 *                           SIGBUS, SIGFPE, SIGILL, SIGPIPE [on_fatal]
 *   OPEN -> STALE           SIGKILL or power loss: the next cli_out_open of
 *                           the same target removes NAME.tmp.PID.* whose PID
 *                           is not a live storesim process
 *
 * Global state (one process, one set of outputs): standard output's error
 * record and the table of open temporary files that the signal handlers read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"

/* ---- streams that remember their first error ---------------------------------------- */
static ssize_t ck_write(void *arg, const char *buf, size_t n) {
  cli_stream_t *k = arg;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(k->fd, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (!k->err) k->err = w < 0 ? errno : ENOSPC;
      return -1;
    }
    done += (size_t)w;
  }
  return (ssize_t)n;
}

static int ck_close(void *arg) {
  cli_stream_t *k = arg;
  if (k->fd > STDERR_FILENO && close(k->fd) && !k->err && errno != EINTR) k->err = errno;
  k->fd = -1;
  return k->err ? -1 : 0;
}

static FILE *ck_open(cli_stream_t *k, int fd, int line_buffered) {
  cookie_io_functions_t io = {.write = ck_write, .close = ck_close};
  k->fd = fd;
  k->err = 0;
  FILE *f = fopencookie(k, "w", io);
  if (f) setvbuf(f, NULL, line_buffered ? _IOLBF : _IOFBF, 1 << 16);
  return f;
}

/* Standard output's stream and whether its error was already reported. */
static cli_stream_t g_out;
static FILE *g_out_orig;
static int g_out_reported;

void cli_stdio_init(void) {
  FILE *f = ck_open(&g_out, STDOUT_FILENO, isatty(STDOUT_FILENO));
  if (!f) return; /* out of memory at start: stdio's own stdout, unchecked */
  g_out_orig = stdout;
  stdout = f; /* glibc: stdout is an ordinary variable that may be set */
}

/* Flushes standard output; returns 0, or reports the error once and -1. */
static int stdout_check(void) {
  int rc = fflush(stdout);
  int err = g_out_orig ? g_out.err : (rc || ferror(stdout) ? (errno ? errno : EIO) : 0);
  if (!err && (rc || ferror(stdout))) err = EIO;
  if (!err) return 0;
  if (!g_out_reported) fprintf(stderr, "stdout: error: cannot write: %s\n", strerror(err));
  g_out_reported = 1;
  return -1;
}

/* ---- the temporary files the signal handlers remove ----------------------------------- */
#define NTMP 16
static char g_tmp[NTMP][4096];
static volatile sig_atomic_t g_tmp_used[NTMP];

/* Async-signal-safe: unlink only. */
static void tmp_remove_all(void) {
  for (int i = 0; i < NTMP; i++)
    if (g_tmp_used[i]) unlink(g_tmp[i]);
}

static const int g_fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGPIPE};
static struct sigaction g_fatal_old[sizeof g_fatal / sizeof *g_fatal];

/* A fatal signal: remove the temporary files, then let the action that was
 * there before (the default, or a sanitizer's) have the signal: a fault
 * raised by an instruction happens again when the handler returns; a sent
 * or raised one is raised again. */
static void on_fatal(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  tmp_remove_all();
  for (size_t i = 0; i < sizeof g_fatal / sizeof *g_fatal; i++)
    if (g_fatal[i] == sig) sigaction(sig, &g_fatal_old[i], NULL);
  if (si->si_code <= 0 || sig == SIGABRT || sig == SIGPIPE) raise(sig);
}

static void tmp_handlers_install(void) {
  static int done;
  if (done) return;
  done = 1;
  atexit(tmp_remove_all);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fatal;
  sa.sa_flags =
      SA_SIGINFO | SA_NODEFER | SA_ONSTACK; /* a stack overflow runs it on crash.c's stack */
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof g_fatal / sizeof *g_fatal; i++) {
    if (sigaction(g_fatal[i], NULL, &g_fatal_old[i])) continue;
    if (g_fatal_old[i].sa_handler == SIG_IGN) continue; /* SIGPIPE ignored: EPIPE, an error */
    sigaction(g_fatal[i], &sa, NULL);
  }
  /* SIGINT, SIGTERM, SIGHUP: the first interrupts (the command ends its
   * outputs), a second removes the temporary files and kills. */
  scn_interrupt_on_kill(tmp_remove_all);
  scn_interrupt_install();
}

static int tmp_register(const char *tmp) {
  for (int i = 0; i < NTMP; i++)
    if (!g_tmp_used[i]) {
      snprintf(g_tmp[i], sizeof g_tmp[i], "%s", tmp);
      g_tmp_used[i] = 1;
      return i;
    }
  return -1; /* more than NTMP at once: still removed on the ordinary paths */
}

static void tmp_unregister(int slot) {
  if (slot >= 0) g_tmp_used[slot] = 0;
}

/* ---- stale temporary files -------------------------------------------------------------- */
static int read_comm(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  return ok ? 0 : -1;
}

/* Whether pid is a live process running this program (a pid reused by
 * another program is not). */
static int storesim_alive(long pid) {
  char p[64], mine[64], theirs[64];
  if (pid <= 0) return 0;
  if (pid == (long)getpid()) return 1;
  if (kill((pid_t)pid, 0) && errno == ESRCH) return 0;
  snprintf(p, sizeof p, "/proc/%ld/comm", pid);
  if (!read_comm("/proc/self/comm", mine, sizeof mine) && !read_comm(p, theirs, sizeof theirs))
    return !strcmp(mine, theirs);
  return 1; /* cannot tell: leave it */
}

/* Removes dir/base.tmp.PID.XXXXXX of processes that are gone. */
static void stale_remove(const char *dir, const char *base) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t bl = strlen(base);
  if (!d) return;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5)) continue;
    char *end;
    long pid = strtol(n + bl + 5, &end, 10);
    if (end == n + bl + 5 || *end != '.' || strlen(end + 1) != 6) continue;
    if (storesim_alive(pid)) continue;
    char p[4096 + 256];
    snprintf(p, sizeof p, "%s/%s", dir, n);
    unlink(p);
  }
  closedir(d);
}

/* ---- where an output goes ------------------------------------------------------------------ */
/* Follows the symlinks of path into out (the path that is not a link, which
 * may not exist). Returns 0; 1 when a link into /proc or /dev/fd was met
 * (such "magic" links name open files, not paths); -1 with errno. */
static int resolve(const char *path, char *out, size_t n) {
  char cur[4096], link[4096], dir[4096];
  if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) return errno = ENAMETOOLONG, -1;
  for (int hops = 0;; hops++) {
    struct stat st;
    if (hops > 40) return errno = ELOOP, -1;
    if (!strncmp(cur, "/proc/", 6) || !strncmp(cur, "/dev/fd/", 8)) return 1;
    if (lstat(cur, &st)) {
      if (errno == ENOENT) break;
      return -1;
    }
    if (!S_ISLNK(st.st_mode)) break;
    ssize_t k = readlink(cur, link, sizeof link - 1);
    if (k < 0) return -1;
    link[k] = 0;
    if (link[0] == '/') {
      snprintf(cur, sizeof cur, "%s", link);
    } else {
      snprintf(dir, sizeof dir, "%s", cur);
      if (snprintf(cur, sizeof cur, "%s/%s", dirname(dir), link) >= (int)sizeof cur)
        return errno = ENAMETOOLONG, -1;
    }
  }
  if (snprintf(out, n, "%s", cur) >= (int)n) return errno = ENAMETOOLONG, -1;
  return 0;
}

static int same_file(const struct stat *a, int fd) {
  struct stat b;
  return !fstat(fd, &b) && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

static int open_fail(cli_outfile_t *o, int err) {
  fprintf(stderr, "%s: error: cannot write: %s\n", o->path, strerror(err));
  o->f = NULL;
  return -1;
}

/* o->f over fd written in place. */
static int open_direct(cli_outfile_t *o, int fd) {
  if (fd < 0) return open_fail(o, errno);
  if (!(o->f = ck_open(&o->ck, fd, 0))) {
    int e = errno;
    close(fd);
    return open_fail(o, e);
  }
  return 0;
}

int cli_out_open(cli_outfile_t *o, const char *path) {
  struct stat st;
  memset(o, 0, sizeof *o);
  o->slot = -1;
  o->ck.fd = -1;
  if (!path) return 0;
  o->path = path;
  if (!strcmp(path, "-")) {
    o->path = "stdout";
    o->f = stdout;
    o->is_stdout = 1;
    return 0;
  }
  int r = resolve(path, o->target, sizeof o->target);
  if (r < 0) return open_fail(o, errno);
  if (r == 1) { /* /dev/stdout and kin: the open file it names, in place */
    if (!stat(path, &st) && same_file(&st, STDOUT_FILENO)) {
      o->f = stdout;
      o->is_stdout = 1;
      return 0;
    }
    if (!stat(path, &st) && same_file(&st, STDERR_FILENO))
      return open_direct(o, fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
    return open_direct(o, open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  }
  int exists = !stat(o->target, &st);
  if (!exists && errno != ENOENT) return open_fail(o, errno);
  if (exists && S_ISDIR(st.st_mode)) return open_fail(o, EISDIR);
  if (exists && !S_ISREG(st.st_mode)) /* a device, FIFO or socket: never replaced */
    return open_direct(o, open(o->target, O_WRONLY | O_CLOEXEC));

  /* a regular file, or none: a temporary file beside it, renamed when whole */
  char dbuf[4096], bbuf[4096];
  snprintf(dbuf, sizeof dbuf, "%s", o->target);
  snprintf(bbuf, sizeof bbuf, "%s", o->target);
  const char *dir = dirname(dbuf), *base = basename(bbuf);
  stale_remove(dir, base);
  if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld.XXXXXX", o->target, (long)getpid()) >=
      (int)sizeof o->tmp)
    return open_fail(o, ENAMETOOLONG);
  tmp_handlers_install();
  sigset_t all, old; /* no signal between mkstemp and the registration */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int fd = mkostemp(o->tmp, O_CLOEXEC);
  int e = errno;
  if (fd >= 0) o->slot = tmp_register(o->tmp);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (fd < 0) {
    o->tmp[0] = 0;
    return open_fail(o, e);
  }
  mode_t mode;
  if (exists) {
    mode = st.st_mode & 07777; /* replacing a file keeps its mode */
  } else {
    mode_t um = umask(0); /* mkstemp makes 0600; give the file the usual mode */
    umask(um);
    mode = 0666 & ~um;
  }
  fchmod(fd, mode);
  if (!(o->f = ck_open(&o->ck, fd, 0))) {
    e = errno;
    close(fd);
    unlink(o->tmp);
    tmp_unregister(o->slot);
    o->tmp[0] = 0;
    return open_fail(o, e);
  }
  return 0;
}

static void dir_sync(const char *target) {
  char d[4096];
  snprintf(d, sizeof d, "%s", target);
  int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) fsync(fd), close(fd);
}

int cli_out_close(cli_outfile_t *o, int keep) {
  if (!o->f) return 0;
  if (o->is_stdout) {
    o->f = NULL;
    return stdout_check();
  }
  int err = 0;
  if (fflush(o->f) && !o->ck.err) o->ck.err = errno ? errno : EIO;
  if (o->tmp[0] && keep && !o->ck.err && fsync(o->ck.fd)) o->ck.err = errno;
  if (fclose(o->f) && !o->ck.err) o->ck.err = EIO;
  err = o->ck.err;
  o->f = NULL;
  if (o->tmp[0]) {
    if (keep && !err) {
      if (rename(o->tmp, o->target)) err = errno;
      else dir_sync(o->target);
    }
    if (!keep || err) unlink(o->tmp);
    tmp_unregister(o->slot);
    o->tmp[0] = 0;
    o->slot = -1;
  }
  if (err) fprintf(stderr, "%s: error: cannot write: %s\n", o->path, strerror(err));
  return err ? -1 : 0;
}

int cli_out_failed(const cli_outfile_t *o) {
  return o->is_stdout ? g_out.err != 0 : o->ck.err != 0;
}

int cli_exit(int rc) {
  tmp_remove_all(); /* a temporary file a command failed to close: not whole */
  int bad = stdout_check() != 0;
  if (g_out_orig) {
    fclose(stdout); /* the descriptor stays open: our stream does not own fd 1 */
    stdout = g_out_orig;
    g_out_orig = NULL;
    if (g_out.err && !g_out_reported) {
      fprintf(stderr, "stdout: error: cannot write: %s\n", strerror(g_out.err));
      g_out_reported = bad = 1;
    }
  }
  if (bad && rc < 2) rc = 2;
  return rc;
}

int cli_mkdirs(const char *dir) {
  char p[4096];
  struct stat st;
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
    errno = ENAMETOOLONG;
    goto fail;
  }
  for (char *q = p + 1;; q++) {
    if (*q != '/' && *q) continue;
    char c = *q;
    *q = 0;
    if (mkdir(p, 0777) && errno != EEXIST) goto fail;
    *q = c;
    if (!c) break;
  }
  if (stat(dir, &st)) goto fail;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    goto fail;
  }
  return 0;
fail:
  fprintf(stderr, "%s: error: cannot create directory: %s\n", dir, strerror(errno));
  return -1;
}

int cli_dir_usable(const char *dir) {
  struct stat st;
  if (!stat(dir, &st) && !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "%s: error: not a directory\n", dir);
    return -1;
  }
  return 0;
}

const char *cli_interrupt_reason(void) {
  switch (scn_interrupt_signal()) {
  case SIGINT: return "interrupted by SIGINT";
  case SIGTERM: return "interrupted by SIGTERM";
  case SIGHUP: return "interrupted by SIGHUP";
  default: return "interrupted";
  }
}

void cli_out_mark_incomplete(cli_outfile_t *o, int csv) {
  if (!o->f) return;
  if (csv) fprintf(o->f, "# incomplete: %s\n", cli_interrupt_reason());
  else fprintf(o->f, "{\"incomplete\":true,\"reason\":\"%s\"}\n", cli_interrupt_reason());
}

static FILE *logio_open(void *arg, const char *path) {
  cli_outfile_t *o = arg;
  return cli_out_open(o, path) ? NULL : o->f;
}

static int logio_close(void *arg, FILE *f, int keep) {
  (void)f;
  return cli_out_close(arg, keep);
}

void cli_logio_init(scn_sweep_logio_t *io, cli_outfile_t *o) {
  memset(o, 0, sizeof *o);
  o->slot = -1;
  io->open = logio_open;
  io->close = logio_close;
  io->arg = o;
}
