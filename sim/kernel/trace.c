/*
 * Trace records, the run's hash, and string interning.
 *
 * The hash (sim__trace, inline in kernel_int.h) folds each record into a
 * 64-bit state as two 64-bit words, so order matters; records never contain pointers,
 * padding or wall-clock time. Interned strings are numbered in order of first
 * use, which is deterministic for a deterministic run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel_int.h"
#include "storesim/alloc.h"

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* Kept records: the newest in anonymous memory of their own, asked for in
 * transparent huge pages; when it holds opts.trace_memory records they are
 * appended to an unlinked temporary file and the memory starts over, so a
 * run of days keeps its trace on disk, not in memory (readers take it back
 * in passes: sim_world_trace_read). Without a file (trace_memory SIZE_MAX,
 * or no temporary file could be made or written) the memory grows instead,
 * by mremap (the pages move, nothing is copied). */
#define TRACE_FIRST ((size_t)1 << 21) /* bytes: one huge page */
#define TRACE_MEMORY_DEFAULT (TRACE_FIRST / sizeof(sim_trace_rec_t))

static void trace_grow(sim_world_t *w) {
  size_t old = w->captrace * sizeof *w->trace, want = old ? 2 * old : TRACE_FIRST;
  void *p = old ? mremap(w->trace, old, want, MREMAP_MAYMOVE)
                : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) sim_alloc_die(want);
#ifdef MADV_HUGEPAGE
  madvise(p, want, MADV_HUGEPAGE); /* advice only: without it, small pages */
#endif
  w->trace = p;
  w->captrace = want / sizeof *w->trace;
}

/* An unlinked temporary file in $TMPDIR (else /tmp), or -1. */
static int trace_tmpfile(void) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
#ifdef O_TMPFILE
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  char path[4096];
  if (snprintf(path, sizeof path, "%s/storesim-trace-XXXXXX", dir) >= (int)sizeof path) return -1;
  fd = mkstemp(path);
  if (fd >= 0) unlink(path);
  return fd;
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static size_t trace_limit(const sim_world_t *w) {
  return w->o.trace_memory ? w->o.trace_memory : TRACE_MEMORY_DEFAULT;
}

/* The kept records' memory is full (or holds trace_limit records): moves
 * them to the file, or makes room for more. */
static void trace_full(sim_world_t *w) {
  if (w->ntrace > 0 && w->ntrace >= trace_limit(w) && !w->trace_spill_failed) {
    if (!w->trace_spill) {
      w->trace_fd = trace_tmpfile();
      w->trace_spill = w->trace_fd >= 0;
    }
    if (w->trace_spill && write_all(w->trace_fd, w->trace, w->ntrace * sizeof *w->trace) == 0) {
      w->nspilled += w->ntrace;
      w->ntrace = 0;
#ifdef MADV_DONTNEED
      madvise(w->trace, w->captrace * sizeof *w->trace, MADV_DONTNEED); /* pages go back */
#endif
      return;
    }
    /* No file, or the disk is full: what the file holds stays valid (reads
     * never go past nspilled records), the rest stays in memory. */
    w->trace_spill_failed = true;
  }
  if (w->ntrace == w->captrace) trace_grow(w);
}

void sim__trace_free(sim_world_t *w) {
  if (w->trace) munmap(w->trace, w->captrace * sizeof *w->trace);
  w->trace = NULL;
  w->ntrace = w->captrace = 0;
  if (w->trace_spill) close(w->trace_fd);
  w->trace_spill = false;
  w->nspilled = 0;
  if (w->trace_all) munmap(w->trace_all, w->ntrace_all * sizeof *w->trace_all);
  w->trace_all = NULL;
  w->ntrace_all = 0;
  free(w->pin_id);
  free(w->pin_name);
  w->pin_id = NULL;
  w->pin_name = NULL;
  w->npin = w->cappin = 0;
}

void sim__trace_slow(sim_world_t *w, uint64_t thread, uint32_t kind,
                     uint32_t obj, int64_t arg) {
  if (w->trace_tap) w->trace_tap(w, thread, kind, obj, arg);
  if (w->o.keep_trace) {
    if (w->ntrace == w->captrace || (w->ntrace >= trace_limit(w) && !w->trace_spill_failed))
      trace_full(w);
    sim_trace_rec_t *r = &w->trace[w->ntrace++];
    r->time = w->now;
    r->thread = thread;
    r->kind = kind;
    r->obj = obj;
    r->arg = arg;
  }
  if (w->o.trace_jsonl) {
    FILE *f = w->o.trace_jsonl;
    fprintf(f, "{\"t\":%lld,\"thread\":%llu,\"tname\":", (long long)w->now,
            (unsigned long long)thread);
    json_str(f, sim_world_thread_name(w, thread));
    fputs(",\"kind\":", f);
    json_str(f, sim_interned(w, kind));
    fputs(",\"obj\":", f);
    json_str(f, sim_interned(w, obj));
    fprintf(f, ",\"arg\":%lld}\n", (long long)arg);
  }
}

void sim_trace_emit(sim_world_t *w, const char *kind, const char *obj,
                    int64_t arg) {
  sim_thread_t *t = sim_self();
  /* Interned in this order, as separate statements: interning gives the next
   * id, ids go into the trace hash, and the order in which a call's arguments
   * are evaluated is unspecified (gcc and clang differ), so two interning
   * arguments made clang builds hash differently from gcc builds. */
  uint32_t obj_id = obj ? sim_intern(w, obj) : 0;
  uint32_t kind_id = sim_intern(w, kind);
  sim__trace(w, t ? t->id : 0, kind_id, obj_id, arg);
}

const char *sim_wait_kind_name(int kind) {
  static const char *const names[] = {"none", "sleep", "mutex", "cond", "sem",
                                      "cpu-wait", "cpu", "join", "yield"};
  return kind >= 0 && kind < (int)(sizeof names / sizeof names[0])
             ? names[kind]
             : "?";
}

uint64_t sim_world_trace_hash(const sim_world_t *w) { return w->thash; }
uint64_t sim_world_trace_count(const sim_world_t *w) { return w->tcount; }
uint64_t sim_world_trace_kept(const sim_world_t *w) { return w->nspilled + w->ntrace; }

size_t sim_world_trace_read(const sim_world_t *w, uint64_t from, sim_trace_rec_t *buf, size_t max) {
  size_t got = 0;
  while (got < max && from < w->nspilled) { /* from the file */
    uint64_t n = w->nspilled - from;
    if (n > max - got) n = max - got;
    ssize_t k = pread(w->trace_fd, buf + got, (size_t)n * sizeof *buf, (off_t)(from * sizeof *buf));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || k % (ssize_t)sizeof *buf)
      sim__die("cannot read back the trace's temporary file: %s",
               k < 0 ? strerror(errno) : "short read");
    got += (size_t)k / sizeof *buf;
    from += (uint64_t)k / sizeof *buf;
  }
  if (got < max && from < w->nspilled + w->ntrace) { /* from memory */
    size_t i = (size_t)(from - w->nspilled), n = w->ntrace - i;
    if (n > max - got) n = max - got;
    memcpy(buf + got, w->trace + i, n * sizeof *buf);
    got += n;
  }
  return got;
}

const sim_trace_rec_t *sim_world_trace(const sim_world_t *w, size_t *n) {
  if (!w->trace_spill || w->nspilled == 0) {
    *n = w->ntrace;
    return w->trace;
  }
  sim_world_t *mw = (sim_world_t *)w; /* the whole copy is a cache */
  size_t total = (size_t)sim_world_trace_kept(w);
  if (mw->trace_all && mw->ntrace_all != total) {
    munmap(mw->trace_all, mw->ntrace_all * sizeof *mw->trace_all);
    mw->trace_all = NULL;
  }
  if (!mw->trace_all) {
    void *p = mmap(NULL, total * sizeof *mw->trace_all, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) sim_alloc_die(total * sizeof *mw->trace_all);
    mw->trace_all = p;
    mw->ntrace_all = total;
    if (sim_world_trace_read(w, 0, mw->trace_all, total) != total)
      sim__die("the trace's temporary file is short");
  }
  *n = total;
  return mw->trace_all;
}

/* ---- names of threads a report named (kernel_int.h) ---- */
static size_t pin_slot(const sim_world_t *w, uint64_t id) {
  size_t k = (size_t)(id * 0x9E3779B97F4A7C15ull) & (w->cappin - 1);
  while (w->pin_id[k] && w->pin_id[k] != id) k = (k + 1) & (w->cappin - 1);
  return k;
}

bool sim__tname_pinned(const sim_world_t *w, uint64_t id, uint32_t *name) {
  if (!w->cappin || !id) return false;
  size_t k = pin_slot(w, id);
  if (w->pin_id[k] != id) return false;
  *name = w->pin_name[k];
  return true;
}

void sim__tname_pin(sim_world_t *w, uint64_t id) {
  uint32_t nm;
  if (w->trace_slow || !id || sim__tname_pinned(w, id, &nm)) return; /* w->tname has it */
  const char *name = sim_world_thread_name(w, id);
  if (!strcmp(name, "?")) return;
  if (2 * (w->npin + 1) > w->cappin) {
    uint64_t *oid = w->pin_id;
    uint32_t *oname = w->pin_name;
    size_t ocap = w->cappin;
    w->cappin = ocap ? 2 * ocap : 16;
    w->pin_id = sim__xcalloc(w->cappin, sizeof *w->pin_id);
    w->pin_name = sim__xcalloc(w->cappin, sizeof *w->pin_name);
    for (size_t i = 0; i < ocap; i++)
      if (oid[i]) {
        size_t k = pin_slot(w, oid[i]);
        w->pin_id[k] = oid[i];
        w->pin_name[k] = oname[i];
      }
    free(oid);
    free(oname);
  }
  size_t k = pin_slot(w, id);
  w->pin_id[k] = id;
  w->pin_name[k] = sim_intern_find(w, name);
  w->npin++;
}

/* ---- interning: open addressing over FNV-1a of the bytes ---- */
static uint32_t str_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

void sim__intern_init(sim__intern_t *in) { memset(in, 0, sizeof *in); }

void sim__intern_free(sim__intern_t *in) {
  for (uint32_t i = 0; i < in->n; i++)
    free(in->strs[i]);
  free(in->strs);
  free(in->slots);
}

static void rehash(sim__intern_t *in, uint32_t nslots) {
  uint32_t *slots = sim__xcalloc(nslots, sizeof *slots);
  for (uint32_t i = 0; i < in->n; i++) {
    uint32_t k = str_hash(in->strs[i]) & (nslots - 1);
    while (slots[k])
      k = (k + 1) & (nslots - 1);
    slots[k] = i + 1;
  }
  free(in->slots);
  in->slots = slots;
  in->nslots = nslots;
}

uint32_t sim_intern(sim_world_t *w, const char *s) {
  sim__intern_t *in = &w->in;
  if (!s)
    s = "";
  if (in->nslots == 0 || 2 * (in->n + 1) > in->nslots)
    rehash(in, in->nslots ? 2 * in->nslots : 256);
  uint32_t k = str_hash(s) & (in->nslots - 1);
  while (in->slots[k]) {
    uint32_t i = in->slots[k] - 1;
    if (strcmp(in->strs[i], s) == 0)
      return i;
    k = (k + 1) & (in->nslots - 1);
  }
  if (in->n == in->cap) {
    in->cap = in->cap ? 2 * in->cap : 256;
    in->strs = sim__xrealloc(in->strs, in->cap * sizeof *in->strs);
  }
  in->strs[in->n] = sim__xstrdup(s);
  in->slots[k] = ++in->n;
  return in->n - 1;
}

uint32_t sim_intern_find(const sim_world_t *w, const char *s) {
  const sim__intern_t *in = &w->in;
  if (!s || in->nslots == 0)
    return 0;
  uint32_t k = str_hash(s) & (in->nslots - 1);
  while (in->slots[k]) {
    uint32_t i = in->slots[k] - 1;
    if (strcmp(in->strs[i], s) == 0)
      return i;
    k = (k + 1) & (in->nslots - 1);
  }
  return 0;
}

const char *sim_interned(const sim_world_t *w, uint32_t id) {
  return id < w->in.n ? w->in.strs[id] : "?";
}
