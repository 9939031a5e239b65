/*
 * Trace records, the run's hash, and string interning.
 *
 * The hash (sim__trace, inline in kernel_int.h) folds each record into a
 * 64-bit state as two 64-bit words, so order matters; records never contain pointers,
 * padding or wall-clock time. Interned strings are numbered in order of first
 * use, which is deterministic for a deterministic run.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/* Kept records live in anonymous memory of their own, grown by mremap (the
 * pages move, nothing is copied) and asked for in transparent huge pages:
 * a long run keeps millions of records, and copying them at each doubling
 * and faulting them in 4 KiB at a time cost more than the run itself. */
#define TRACE_FIRST ((size_t)1 << 21) /* bytes: one huge page */

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

void sim__trace_free(sim_world_t *w) {
  if (w->trace) munmap(w->trace, w->captrace * sizeof *w->trace);
  w->trace = NULL;
  w->ntrace = w->captrace = 0;
}

void sim__trace_slow(sim_world_t *w, uint64_t thread, uint32_t kind,
                     uint32_t obj, int64_t arg) {
  if (w->trace_tap) w->trace_tap(w, thread, kind, obj, arg);
  if (w->o.keep_trace) {
    if (w->ntrace == w->captrace) trace_grow(w);
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
const sim_trace_rec_t *sim_world_trace(const sim_world_t *w, size_t *n) {
  *n = w->ntrace;
  return w->trace;
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
