/*
 * Private layout of the kernel's objects. Only the kernel sources include this.
 *
 * Invariants kept across the kernel:
 *  - A thread is in at most one wait queue (linked through wnext/wprev), and
 *    only while BLOCKED on a mutex, condition variable, semaphore, the CPU run
 *    queue or a join.
 *  - A timer event for a thread is valid only while its token equals the
 *    thread's timer_token; waking a thread by any path bumps the token, so a
 *    stale timer is skipped. A thread struct is freed only when it is DONE,
 *    not joinable (or joined) and no timer event refers to it (npending == 0).
 *  - The ready queue holds exactly the READY threads.
 *  - now only moves forward; events are ordered by (time, seq).
 * kcheck.c checks these and more on every scheduling step in builds with
 * SIM_KCHECK (CMake option STORESIM_KCHECK: debug and sanitizer presets).
 * On the threads backend (live.c) the ready queue stays empty (a READY
 * thread is a pthread on its way to the world lock), threads have no
 * coroutine stack, and kcheck does not run; every field here is read and
 * written under the world lock.
 */
#ifndef STORESIM_KERNEL_INT_H
#define STORESIM_KERNEL_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "storesim/detect.h"
#include "storesim/metrics.h"
#include "storesim/proc.h"
#include "storesim/sched.h"
#include "storesim/sim.h"
#include "storesim/sync.h"
#include "storesim/trace.h"

/* 1: the invariant checker (kcheck.c) runs on every scheduling step. */
#ifndef SIM_KCHECK
#define SIM_KCHECK 0
#endif

#define SIM__MAX_HELD 32

/* ---- contexts (ctx.c): a small backend table ---- */
typedef struct sim__ctx {
  void *sp;           /* saved stack pointer (asm backend) */
  void *uc;           /* ucontext_t * (fallback backend) */
  void *stack;        /* lowest usable address */
  size_t stack_size;  /* usable bytes */
  void *map;          /* mmap base (guard page included) */
  size_t map_size;
  void *fake_stack;   /* ASan fake stack save slot */
  void *tsan_fiber;
  unsigned vg_id;     /* Valgrind stack id */
} sim__ctx_t;

typedef struct sim__ctx_backend {
  const char *name;
  /* Prepares ctx (with its stack) to run sim__ctx_entry on first switch. */
  void (*make)(sim__ctx_t *ctx);
  void (*swap)(sim__ctx_t *from, sim__ctx_t *to);
} sim__ctx_backend_t;

extern const sim__ctx_backend_t *sim__ctx_default_backend(void);
/* Stack pool: returns a stack of `size` usable bytes with a guard page below. */
int sim__stack_get(sim_world_t *w, sim__ctx_t *ctx);
void sim__stack_put(sim_world_t *w, sim__ctx_t *ctx);
/* Unmaps or caches the world's pooled stacks, and unmaps those gathered
 * since sim__stack_unmap_begin in address-ordered runs of adjacent
 * mappings: one munmap (one TLB shootdown) per run instead of per stack,
 * so that destroying a world of 10^5 blocked threads takes milliseconds. */
void sim__stack_unmap_begin(sim_world_t *w);
void sim__stack_pool_free(sim_world_t *w);
void sim__ctx_main_init(sim__ctx_t *main_ctx);
void sim__ctx_release(sim__ctx_t *ctx);
/* Called on a new stack by the backend; never returns. */
void sim__ctx_entry(void);

/* ---- wait kinds ---- */
typedef enum {
  SIM__W_NONE,
  SIM__W_SLEEP,
  SIM__W_MUTEX,
  SIM__W_COND,
  SIM__W_SEM,
  SIM__W_CPU,     /* waiting for a core */
  SIM__W_CPU_RUN, /* running a slice on a core */
  SIM__W_JOIN,
  SIM__W_YIELD
} sim__wait_kind_t;
_Static_assert((int)SIM__W_YIELD == (int)SIM_WAIT_YIELD && (int)SIM__W_CPU_RUN == (int)SIM_WAIT_CPU_RUN,
               "internal wait kinds match sim_wait_kind_t");

typedef struct sim__held {
  sim_mutex_t *m;
  const char *file;
  int line;
  sim_time_t time;
} sim__held_t;

struct sim_thread {
  /* State of one life, zeroed at spawn: kept together and small (<= 80
   * bytes) so that the zeroing is a few vector stores, not `rep stos`. */
  sim_thread_state_t state;
  bool joinable, joined, canceled, in_list;
  sim_thread_t *joiner;
  /* waiting */
  sim__wait_kind_t wait_kind;
  int wait_line;
  void *wait_obj;
  const char *wait_file;
  int wake_rc;
  uint32_t npending; /* timer events that still name this thread */
  uint64_t timer_token;
  sim_thread_t *wnext, *wprev;
  bool timer_armed; /* its newest timer is still valid */
  /* set field by field at spawn */
  uint64_t id;
  uint32_t name_id; /* interned */
  sim_world_t *w;
  sim_proc_t *proc;
  sim_thread_fn fn;
  void *arg;
  sim__ctx_t ctx;
  /* threads backend (live.c): the struct's parking spot (kept with it
   * across lives; NULL in a new struct); in a reported wait-for cycle */
  struct sim__lthread *lt;
  bool dl_reported;
  /* held locks, in acquisition order */
  sim__held_t held[SIM__MAX_HELD];
  int nheld;
  /* spin detector */
  sim_time_t progress_mark, cpu_since_progress;
  uint64_t requests_since_progress;
  bool spin_reported;
  const char *activity;
  const char *op;   /* what it is doing at the current scheduling point */
  uint32_t op_obj;  /* interned object of op */
  uint64_t prio;    /* PCT priority (sched.c) */
  sim_thread_t *next, *prev; /* live threads, in id order */
  sim_thread_t *free_next;   /* struct free list */
  bool freed;                /* on the free list (a second free is a kernel bug) */
#if SIM_KCHECK
  /* kcheck.c's scratch, zeroed and filled by each check */
  uint32_t chk_npend, chk_valid; /* WAKE events naming it; valid ones */
  uint8_t chk_inq, chk_inready, chk_inlive, chk_infree;
#endif
};
_Static_assert(offsetof(struct sim_thread, id) <= 80, "the per-life block stays small");

/* FIFO of threads through wnext/wprev. */
typedef struct sim__waitq {
  sim_thread_t *head, *tail;
  uint64_t n;
} sim__waitq_t;
void sim__waitq_push(sim__waitq_t *q, sim_thread_t *t);
sim_thread_t *sim__waitq_pop(sim__waitq_t *q);
void sim__waitq_remove(sim__waitq_t *q, sim_thread_t *t);

/* Sync objects are on one world list so they are freed at destroy. */
enum { SIM__OBJ_MUTEX = 1, SIM__OBJ_COND, SIM__OBJ_SEM };
typedef struct sim__obj {
  struct sim__obj *onext, *oprev;
  int type;
} sim__obj_t;

struct sim_mutex {
  sim__obj_t o;
  sim_world_t *w;
  uint32_t name_id;
  uint32_t cls; /* lock class index */
  sim_thread_t *owner;
  const char *own_file;
  int own_line;
  sim__waitq_t waiters;
  bool zombie; /* destroy was called while held: freed at world destroy */
  pthread_mutex_t pm; /* the real mutex (threads backend only) */
};

struct sim_cond {
  sim__obj_t o;
  sim_world_t *w;
  uint32_t name_id;
  sim__waitq_t waiters;
};

struct sim_sem {
  sim__obj_t o;
  sim_world_t *w;
  uint32_t name_id;
  int64_t value;
  sim__waitq_t waiters;
};

/* ---- processes ---- */
#define SIM__QUICK_SIZES 4   /* usable sizes a process keeps freed blocks of */
#define SIM__QUICK_BLOCKS 16 /* blocks of each */
#define SIM__QUICK_MAX 16384 /* the largest usable size kept */
struct sim_proc {
  sim_world_t *w;
  char *name;
  unsigned arena;
  bool has_arena;
  size_t used, limit;
  size_t peak; /* most it ever held (arena pool, proc.c) */
  uint64_t failures;
  sim_time_t cpu_busy, cpu_wait;
  int running; /* cores it occupies now */
  sim_metric_t *m_cpu, *m_mem, *m_fail;
  /* jemalloc MIBs of stats.arenas.<arena>.{small,large}.allocated */
  size_t mib_small[5], mib_large[5];
  /* blocks it freed, kept for its next allocations of the same usable
   * size (proc.c, "Quick blocks"); not counted in used */
  struct sim__quick {
    size_t size; /* usable size of its blocks; any when n == 0 */
    int n;
    void *b[SIM__QUICK_BLOCKS];
  } quick[SIM__QUICK_SIZES];
#if SIM_KCHECK
  int chk_running; /* kcheck.c's count of its threads on a core */
#endif
};

/* ---- events ---- */
enum { SIM__EV_WAKE, SIM__EV_CALLBACK, SIM__EV_SAMPLE };
/* 32 bytes: the kind lives in the low two bits of seq (seq << 2 | kind), so
 * ordering by (time, seq) is unchanged and heap moves stay cheap. */
typedef struct sim__event {
  sim_time_t time;
  uint64_t seq;
  union {
    sim_thread_t *t;    /* WAKE */
    sim_callback_fn fn; /* CALLBACK */
  };
  union {
    uint64_t token; /* WAKE */
    void *arg;      /* CALLBACK */
  };
} sim__event_t;
#define SIM__EV_KIND(ev) ((int)((ev).seq & 3))
#define SIM__EV_SEQ(w, kind) (((w)->seq++ << 2) | (uint64_t)(kind))

/* ---- lockdep ---- */
typedef struct sim__ldedge {
  uint32_t to;
  const char *held_file; /* where the held lock was taken */
  int held_line;
  const char *file; /* where `to` was taken while holding */
  int line;
  uint32_t thread_name;
  uint64_t thread;
  sim_time_t time;
} sim__ldedge_t;

typedef struct sim__ldclass {
  uint32_t name_id;
  sim__ldedge_t *edges;
  size_t nedges, cap;
} sim__ldclass_t;

/* ---- metrics ---- */
struct sim_metric {
  sim_world_t *w;
  char *name, *unit;
  sim_metric_kind_t kind;
  double value, min, max, sum;
  uint64_t count;
  double tw_acc; /* integral of value dt */
  sim_time_t last_t, t0;
  double *series;
  size_t nseries, capseries;
  double win_sum; /* samples observed in the current interval */
  uint64_t win_n;
  double *samples; /* every value, up to SIM__SAMPLES_EXACT of them */
  size_t nsamples, capsamples;
  bool sorted;
  struct sim__sketch *sketch; /* past SIM__SAMPLES_EXACT: the values' histogram */
  bool initial; /* only the registration value so far, held for no time */
  /* A derived metric (sim_metric_derive): set from src at each sample. */
  sim_metric_t *src;
  sim_derive_t how;
  double factor;
  double d_prev;       /* src's value (RATE) or integral (MEAN) at the last sample */
  sim_time_t d_prev_t; /* when */
};

/* A rule of sim_metric_derive: every metric matching pattern gets a derived one. */
typedef struct sim__derive_rule {
  char *pattern, *name, *unit;
  sim_derive_t how;
  double factor;
} sim__derive_rule_t;

/* A sample metric keeps its values exactly up to SIM__SAMPLES_EXACT of
 * them, then a histogram of logarithmic buckets (the DDSketch idea, Masson
 * et al. 2019): bucket i of the positive values holds (g^(i-1), g^i] with
 * g = (1 + a) / (1 - a), and answers a quantile with 2 g^i / (g + 1), within
 * a relative error of a = SIM__SKETCH_ALPHA of the exact nearest-rank value
 * (tests/test_metrics.c checks the bound). Negative values have a mirrored
 * histogram, zeros a count. Memory: a few thousand buckets per metric for
 * values from nanoseconds to days, whatever the run's length. */
#define SIM__SAMPLES_EXACT 65536
#define SIM__SKETCH_ALPHA 0.005
typedef struct sim__sketch_side {
  uint64_t *c; /* c[k]: count of bucket lo + k */
  int32_t lo;
  uint32_t n; /* buckets held */
} sim__sketch_side_t;
typedef struct sim__sketch {
  sim__sketch_side_t pos, neg; /* neg: buckets of -v */
  uint64_t zeros, total;
} sim__sketch_t;

/* ---- threads backend (live.c) ----
 * Every simulated thread is a pthread; w->lv->gil is held by whichever runs
 * model code (or by the clock, the thread in sim_world_run, or by the host
 * thread outside a run). */
typedef struct sim__live {
  sem_t gil;                /* binary semaphore (see live.c) */
  int clock_fd;             /* eventfd: the clock polls it until poked or its time */
  bool poke_due;            /* under the GIL: poke the clock at the release */
  /* Threads made READY under the GIL, signalled once it is released (so
   * that they do not wake only to wait for it) */
  struct sim__lthread **pend;
  size_t npend, cappend;
  struct sim__lthread **lts; /* every thread struct's parking spot */
  size_t nlts, caplts;
  double scale;          /* wall ns per virtual ns */
  int64_t m_base;        /* monotonic ns when ... */
  sim_time_t v_base;     /* ... the virtual clock read this */
  sim_time_t clock_wake; /* virtual time the clock sleeps until */
  bool clock_waiting;
  /* Threads made READY (spawned or woken) that have not yet taken the GIL
   * to run: the clock lets them run before a sample and before the end of
   * a run, as the virtual run loop does (sim__live_settle). */
  uint64_t nready;
  bool settling;   /* the clock waits for nready to reach 0 */
  bool ending;     /* destroy: every thread leaves at its next step */
  uint64_t nalive; /* pthreads started and not yet gone */
} sim__live_t;

/* ---- string interning ---- */
typedef struct sim__intern {
  char **strs;
  uint32_t n, cap;
  uint32_t *slots; /* open addressing: index+1, 0 = empty */
  uint32_t nslots;
} sim__intern_t;

/* ---- scheduler policies (sched.c): one row of its table each ---- */
typedef struct sim__sched_policy {
  sim_sched_kind_t kind; /* its index in the table */
  const char *syntax;    /* "random:SEED", for the parse error */
  bool seeded;           /* draws from the spec's seed (sim_sched_seeded) */
  bool replays;          /* its decisions come from a log: the run loop takes
                         them (it reports a divergence), never a thread */
  /* Parses text into *out: 0, SIM_EINVAL with err, or 1 when text is not
   * of this policy. */
  int (*parse)(const char *text, sim_sched_t *out, char *err, size_t n);
  /* Checks a spec of this kind (NULL: every one is valid). */
  int (*check)(const sim_sched_t *s, char *err, size_t n);
  size_t (*format)(const sim_sched_t *s, char *buf, size_t n);
  /* Sets w->sched_state (NULL: no state); may clear w->sched_points. On
   * error the world's destroy calls free. */
  int (*init)(sim_world_t *w, const sim_sched_t *s, char *err, size_t n);
  void (*spawn)(sim_world_t *w, sim_thread_t *t); /* a new READY thread */
  /* Index of the READY thread to run, rn > 1; -1 on replay divergence
   * (w->last_error says where). NULL: the oldest (world.c, inline). */
  long (*pick)(sim_world_t *w);
  /* At a scheduling point of the running t, rn > 0: 0 to go on with t,
   * k + 1 to run READY thread k; -1 for no decision (and the run stopped
   * if the policy set w->interrupted). NULL: always go on. */
  long (*point)(sim_world_t *w, sim_thread_t *t);
  void (*free)(sim_world_t *w);
} sim__sched_policy_t;

struct sim__live; /* live.c */

struct sim_world {
  sim_world_opts_t o;
  sim_time_t now;
  bool live;               /* threads backend (live.c); lv is its state */
  sim_time_t live_quantum; /* its shortest CPU slice (live.c) */
  struct sim__live *lv;
  uint64_t seq;
  uint64_t steps, nevents_processed;
  uint64_t nsched;  /* steps + nevents_processed */
  uint64_t stop_at; /* advance stops at nsched >= stop_at: the smallest of
                       max_stop, instant_stop and guard_stop, 0 once limit_hit */
  uint64_t max_stop;       /* max_events + 1 (UINT64_MAX: none) */
  uint64_t instant_stop;   /* next stall check: nsched + max_instant_steps */
  sim_time_t instant_time; /* the clock at the last stall check */
  bool stalled;            /* the stall limit tripped */
  uint64_t guard_spawns;   /* spawns since the host guard last ran */
  uint64_t guard_stop;     /* next host guard call: nsched + guard_steps */
  bool halted;             /* a spawn was refused while interrupted */
  bool interrupted_flag;
  volatile int interrupted;
  char last_error[512];
  const sim__ctx_backend_t *ctx;
  sim__ctx_t main_ctx;
  sim_thread_t *dead;  /* finished, its stack not yet released (world.c) */
  uint64_t max_events; /* o.max_events, or UINT64_MAX for none */
  sim_time_t until;    /* of the sim_world_run in progress */
  /* threads */
  uint64_t next_tid, nlive;
  sim_thread_t *live_head, *live_tail;
  sim_thread_t *free_threads;
  sim_thread_t **slabs; /* thread structs, 256 a slab */
  size_t nslabs, slab_used;
  const char *spawn_name_p; /* last spawn name and its id: a cheap cache */
  char spawn_name[64];
  uint32_t spawn_name_id;
  bool force_front; /* next pick takes the front, no decision */
  /* thread id -> interned name, for every thread the world ever had: kept
   * only when records leave the hash (trace_slow), whose readers name dead
   * threads; else 4 bytes a spawn would grow without bound (trace.c) */
  uint32_t *tname;
  size_t ntname, captname;
  /* names of the threads a report named, when tname is not kept */
  uint64_t *pin_id; /* open addressing on the id, 0 = empty */
  uint32_t *pin_name;
  size_t npin, cappin;
  bool limit_hit;
  /* stacks */
  sim__ctx_t *stack_pool;
  size_t nstack_pool, capstack_pool;
  struct sim__unmap { char *p; size_t n; } *unmaps; /* stacks to unmap (destroy) */
  size_t nunmaps, capunmaps;
  bool unmap_batch; /* sim_world_destroy: stacks gathered, then unmapped in runs */
  unsigned stack_cache_skip; /* spawns before it looks in the process-wide cache again */
  size_t stack_size, page;
  bool guard_madvise;
  /* ready queue: ring buffer */
  sim_thread_t **ready;
  size_t rhead, rn, rcap;
  /* event heap */
  sim__event_t *heap;
  size_t nheap, capheap;
  bool heap_hole;        /* heap[0] was popped and is not refilled yet (world.c) */
  uint64_t nreal_events; /* events other than samples */
  uint64_t nstale;       /* of those, timers made stale by an earlier wake */
  /* scheduler (sched.c) */
  const sim__sched_policy_t *sched;
  void *sched_state;  /* the policy's own */
  bool sched_picks;   /* sched->pick is asked (else the oldest READY runs) */
  bool sched_points;  /* scheduling points ask sched->point */
  bool sched_replays; /* sched->replays */
  FILE *dlog;
  bool dlog_borrowed; /* o.decision_log_file: the caller closes it */
  uint64_t ndecisions;
  /* objects */
  sim__obj_t *objs;
  size_t nobjs;
  sim__intern_t in;
  /* lockdep */
  sim__ldclass_t *ld;
  size_t nld, capld;
  uint32_t *ld_cls_of_name; /* name id -> class index + 1 */
  size_t nld_map;
  uint64_t *ld_reported; /* pairs already reported (a << 32 | b) */
  size_t nld_reported, capld_reported;
  /* reports */
  sim_report_t *reports;
  size_t nreports, capreports;
  void (*on_report)(const sim_report_t *r, void *arg);
  void *on_report_arg;
  bool hang_reported;
  /* cpu */
  int ncores, busy;
  sim__waitq_t runq;
  sim_metric_t *m_busy, *m_runq;
  /* procs */
  sim_proc_t **procs;
  size_t nprocs;
  size_t machine_used;
  /* jemalloc MIBs of "epoch" and "arenas.lookup", looked up once: a name
   * lookup costs more than the control itself on every free */
  size_t mib_epoch[1], mib_lookup[2];
  /* trace */
  uint64_t thash, tcount;
  bool trace_slow; /* o.keep_trace, o.trace_jsonl or trace_tap: records leave the hash */
  /* Sees every record as it is made (the dfs policy's footprints, dfs.c). */
  void (*trace_tap)(sim_world_t *w, uint64_t thread, uint32_t kind, uint32_t obj, int64_t arg);
  /* Kept records (o.keep_trace): the newest ntrace in trace[] (captrace
   * of room), the nspilled older ones in the temporary file trace_fd
   * (trace_spill; trace.c). trace_all: sim_world_trace's whole copy. */
  sim_trace_rec_t *trace;
  size_t ntrace, captrace;
  int trace_fd;
  bool trace_spill, trace_spill_failed;
  uint64_t nspilled;
  sim_trace_rec_t *trace_all;
  size_t ntrace_all;
  uint32_t k_spawn, k_run, k_block, k_wake, k_timeout, k_lock, k_unlock,
      k_exit, k_burn, k_cpu, k_signal, k_release, k_acquire, k_cancel, k_yield,
      k_report;
  /* metrics */
  sim_metric_t **metrics;
  size_t nmetrics, capmetrics;
  uint32_t *metric_slots;
  size_t nmetric_slots;
  sim__derive_rule_t *derive_rules;
  size_t nderive_rules;
  sim_time_t next_sample;
  size_t nsamples_taken;
#if SIM_KCHECK
  sim_time_t chk_last_now; /* kcheck.c: the clock at the last check */
  uint64_t nchecks;        /* full checks run */
  bool kcheck_all;         /* check every step, never sample */
  uintptr_t *chk_slabs;    /* the slabs' addresses, sorted (kcheck.c) */
  size_t nchk_slabs;
#endif
};

/* world.c */
void sim__push_timer(sim_world_t *w, sim_thread_t *t, sim_time_t when);
/* Blocks the running thread (state set by caller-provided kind/obj) until
 * woken; with deadline >= 0 a timer wakes it with SIM_ETIMEDOUT. Returns the
 * wake code. */
int sim__block(sim__wait_kind_t kind, void *obj, uint32_t obj_name,
               sim_time_t deadline,
               const char *file, int line);
/* Makes a BLOCKED thread READY with result rc (caller removed it from any
 * wait queue). */
void sim__wake(sim_thread_t *t, int rc);
/* Scheduling point of the running thread t: records what t is doing (op on
 * object obj) and, when the policy decides at scheduling points
 * (sched_points: random, pct, a replay of either) and another thread is
 * READY, may switch to it. Inline for the common case, where it only
 * records. */
void sim__sched_point_switch(sim_thread_t *t, uint32_t obj);
static inline void sim__sched_point(sim_thread_t *t, const char *op, uint32_t obj) {
  t->op = op;
  t->op_obj = obj;
  if (t->w->rn != 0 && t->w->sched_points) sim__sched_point_switch(t, obj);
}
/* The i-th READY thread, in queue order (i < rn). */
static inline sim_thread_t *sim__ready_at(const sim_world_t *w, size_t i) {
  return w->ready[(w->rhead + i) & (w->rcap - 1)];
}

/* sched.c: the policy of a world and its decision log */
/* Checks s, makes the policy's state and opens the decision log (writing
 * its header). 0, or an error in err (the world's destroy cleans up). */
int sim__sched_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n);
void sim__sched_free(sim_world_t *w);
void sim__decision_write(sim_world_t *w, const sim_thread_t *t);
/* dfs.c: the dfs policy's row of sched.c's table */
int sim__dfs_parse(const char *text, sim_sched_t *out, char *err, size_t n);
int sim__dfs_check(const sim_sched_t *s, char *err, size_t n);
size_t sim__dfs_format(const sim_sched_t *s, char *buf, size_t n);
int sim__dfs_init(sim_world_t *w, const sim_sched_t *s, char *err, size_t n);
long sim__dfs_pick(sim_world_t *w);
long sim__dfs_point(sim_world_t *w, sim_thread_t *t);
void sim__dfs_free(sim_world_t *w);
/* Counts a decision with more than one candidate (t chosen) and logs it. */
static inline void sim__decision(sim_world_t *w, const sim_thread_t *t) {
  w->ndecisions++;
  if (w->dlog) sim__decision_write(w, t);
}
sim_thread_t *sim__current_checked(const char *call);
void sim__set_current(sim_thread_t *t); /* the pthread's own (live.c) */
void sim__die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void *sim__xmalloc(size_t n);
void *sim__xcalloc(size_t n, size_t m);
void *sim__xrealloc(void *p, size_t n);
char *sim__xstrdup(const char *s);

/* kcheck.c: the invariant checker (SIM_KCHECK builds; otherwise these
 * are no-ops). sim__kcheck checks everything now and dies with a message
 * naming the violated invariant, the thread, the virtual time and the step;
 * `running` is the thread being dispatched (NULL while an event is carried
 * out). sim__kcheck_step is the per-step hook: the full check, sampled in
 * large worlds (see kcheck.c). */
void sim__kcheck(sim_world_t *w, const sim_thread_t *running);
void sim__kcheck_step(sim_world_t *w, const sim_thread_t *running);
/* Checks every step of w, however large (tests). */
void sim__kcheck_every_step(sim_world_t *w);
/* 1 when the checker is compiled in. */
int sim__kcheck_enabled(void);

/* trace.c: records kept in memory or written as JSON Lines */
void sim__trace_slow(sim_world_t *w, uint64_t thread, uint32_t kind,
                     uint32_t obj, int64_t arg);
/* Unmaps the kept records (world destruction). */
void sim__trace_free(sim_world_t *w);
/* Remembers the name of live thread `id` for sim_world_thread_name after it
 * ends (a report names it). */
void sim__tname_pin(sim_world_t *w, uint64_t id);
/* The interned name of thread id from the pinned ones; false: not pinned. */
bool sim__tname_pinned(const sim_world_t *w, uint64_t id, uint32_t *name);
void sim__intern_init(sim__intern_t *in);
void sim__intern_free(sim__intern_t *in);

/* detect.c */
void sim__ld_acquire(sim_world_t *w, sim_thread_t *t, sim_mutex_t *m,
                     const char *file, int line);
uint32_t sim__ld_class(sim_world_t *w, uint32_t name_id);
void sim__check_waitfor(sim_world_t *w, sim_thread_t *t, sim_mutex_t *m,
                        const char *file, int line);
void sim__report_hang(sim_world_t *w);
void sim__report_misuse(sim_world_t *w, sim_thread_t *t, const char *what,
                        sim_mutex_t *m, const char *file, int line);
void sim__report_spin(sim_world_t *w, sim_thread_t *t, sim_time_t window);
void sim__file_report(sim_world_t *w, sim_report_kind_t kind, const char *name,
                      char *text, char *dot, uint64_t *threads, size_t nthreads,
                      char **locks, size_t nlocks);
void sim__reports_free(sim_world_t *w);
void sim__ld_free(sim_world_t *w);
void sim__describe_thread(sim_world_t *w, const sim_thread_t *t, char *buf,
                          size_t n);

/* live.c: the threads backend */
int sim__live_init(sim_world_t *w, char *err, size_t n);
/* Stops the world's pthreads; returns true when some are stuck for good (a
 * real deadlock) and the world's memory they can touch must be leaked. */
bool sim__live_shutdown(sim_world_t *w);
void sim__live_free(sim_world_t *w);
int64_t sim__live_mono(void);
/* Moves w->now to the scaled wall clock (never back, never past until). */
void sim__live_tick(sim_world_t *w);
/* Monotonic wall ns at which virtual time v comes. */
int64_t sim__live_wall_of(const sim_world_t *w, sim_time_t v);
/* Starts t's pthread (spawn); 0 or SIM_ENOMEM. */
int sim__live_start(sim_world_t *w, sim_thread_t *t);
/* Wakes t's pthread if it is parked (ready_push of a live world). */
void sim__live_ready(sim_world_t *w, sim_thread_t *t);
/* Parks the running thread t (BLOCKED) until woken; under the GIL. */
void sim__live_park(sim_thread_t *t);
/* The running thread t finished: releases the GIL and ends its pthread. */
void sim__live_exit(sim_thread_t *t) __attribute__((noreturn));
void sim__live_yield(sim_thread_t *t);
/* Real busy loop of virtual length slice, without the GIL. */
void sim__live_burn(sim_thread_t *t, sim_time_t slice);
/* Lock of a contended real mutex: waits without the GIL (sync.c). */
void sim__live_mutex_wait(sim_thread_t *t, sim_mutex_t *m);
/* The clock's wait for the next event, at most the watchdog period. */
void sim__live_clock_wait(sim_world_t *w, sim_time_t next);
void sim__live_settle(sim_world_t *w);
/* Wakes the clock if it sleeps past virtual time `when`. */
static inline void sim__live_poke(sim_world_t *w, sim_time_t when) {
  if (w->lv->clock_waiting && when < w->lv->clock_wake) w->lv->poke_due = true;
}
/* True when every live thread waits with nothing that can wake it but a
 * timer (the hang test of a live world). */
bool sim__live_all_blocked(sim_world_t *w);
/* The watchdog: files a report for every wait-for cycle not reported yet. */
void sim__live_watchdog(sim_world_t *w);

/* metrics.c */
void sim__metrics_sample(sim_world_t *w);
void sim__metrics_free(sim_world_t *w);

/* proc.c */
void sim__procs_free(sim_world_t *w);
void sim__cpu_init(sim_world_t *w);
void sim__spin_check(sim_world_t *w, sim_thread_t *t);

/* Folds one trace record into the run's hash: two 64-bit words (the time,
 * then thread, kind, object and argument packed so that distinct records for
 * ids < 2^24 and kinds/objects < 2^20 differ), each FNV-1a style
 * multiply-xor, so order matters. Inline: it runs several times per switch. */
static inline uint64_t sim__mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x100000001b3ull;
  h ^= h >> 29;
  return h;
}

static inline void sim__trace(sim_world_t *w, uint64_t thread, uint32_t kind,
                              uint32_t obj, int64_t arg) {
  uint64_t h = sim__mix(w->thash, (uint64_t)w->now);
  w->thash = sim__mix(h, (thread << 40) ^ ((uint64_t)kind << 20) ^ obj ^
                             ((uint64_t)arg * 0x9E3779B97F4A7C15ull));
  w->tcount++;
  if (__builtin_expect(w->trace_slow, 0)) sim__trace_slow(w, thread, kind, obj, arg);
}

/* Growable string buffer for reports. */
typedef struct sim__sb {
  char *s;
  size_t n, cap;
} sim__sb_t;
void sim__sb_printf(sim__sb_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Formats t as seconds with ns precision: "5400.000000000s". */
void sim__fmt_time(sim_time_t t, char *buf, size_t n);

#endif
