/*
 * storesim store model: private layouts, the core API that mechanisms are
 * built on, and the mechanism descriptor. Nothing here is visible to the
 * scenario layer.
 *
 * The core (store.c) owns:
 *   - the store process "store.exe" (CPU accounting, jemalloc arena);
 *   - a pool of `tasks` worker threads fed by one FIFO work queue;
 *   - the RPC admission counter (rpc_limit concurrent RPCs);
 *   - the UP/DOWN/DEAD state, restart and shutdown;
 *   - the exhaustion detector (free tasks first reach 0);
 *   - the per-kind task gauges.
 *
 * Work item states (store.c):
 *
 *   (new)   -> QUEUED    store_call / store_submit
 *   QUEUED  -> RUNNING   a free task pops it (task_main)
 *   QUEUED  -> DONE      the caller's deadline passed (withdrawn,
 *                        SIM_ETIMEDOUT) or the store went down (STORE_EDOWN)
 *   RUNNING -> DONE      fn returned; its result is the call's result
 *
 * Locking: s->lock protects the queue, the task table, the counters and the
 * state. Work functions run WITHOUT s->lock. A component protects its own
 * state with its own mutex and never holds it across store_call (which
 * blocks). The core calls component hooks without s->lock, except `report`,
 * which runs under s->lock and may only trylock its component's mutex.
 *
 * A mechanism is one file exporting one store_mech_t (below) and one row
 * of store_mechanisms[] (model.c); docs/adding-a-mechanism.md walks through
 * it. In its init function it creates its locks, metrics and threads and
 * registers a store_component_t for its hooks (down/up on restart, report
 * lines in the exhaustion and shutdown reports, periodic sample, finish,
 * destroy). Then:
 *   - store work runs through store_call (synchronous, with a deadline;
 *     `detach` for clients that give up) or store_submit (fire and forget)
 *     with one of its work kinds (store_kind); MAPI clients pass
 *     store_rpc_begin/store_rpc_end around their call;
 *   - store memory comes from sim_proc_alloc(store_proc(s), ...) and is gone
 *     after a restart (arena reset); another program is its own process
 *     (sim_proc_create);
 *   - every random draw comes from a stream made with store_rng(s, r,
 *     "store.<component>...") and used under the component's lock.
 *
 * Rules for work functions:
 *   - they run on a task thread of the store process, so sim_cpu_burn charges
 *     the store and sim_proc_alloc(store_proc(s), ...) uses the store arena;
 *   - every blocking call may return SIM_ECANCELED when the store goes down;
 *     a work function must then return promptly and must not touch memory
 *     of the store arena after the store went down (it is reset).
 */
#ifndef STORESIM_STORE_INT_H
#define STORESIM_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "storesim/detect.h"
#include "storesim/metrics.h"
#include "storesim/param.h"
#include "storesim/proc.h"
#include "storesim/sim.h"
#include "storesim/store.h"
#include "storesim/sync.h"
#include "storesim/trace.h"

/* ---- work kinds ------------------------------------------------------------ */
/* Kinds are numbered in table order over the mechanisms' `kinds` lists
 * (model.c). The mechanisms built in name theirs with these constants; the
 * assembly checks that they follow the table. A mechanism added later looks
 * its kinds up with store_kind(). */
typedef enum store_kind {
  STORE_K_MAINT = 0, /* store-internal maintenance (core) */
  STORE_K_FLUSH,     /* a transit mail flush (mta.c) */
  STORE_K_DELIVERY,  /* local delivery of one message (smtp.c) */
  STORE_K_RPC,       /* a MAPI RPC (clients.c) */
  STORE_K_OWA,       /* an Outlook Web Access request (clients.c) */
  STORE_K_MOVE,      /* copying one mailbox of a move (moves.c) */
  STORE_K_DOWNLOAD,  /* MAPI message download (spin.c, KB922768) */
  STORE_K_OPENSTORE, /* OpenMsgStore (leak.c, KB898782) */
  STORE_K_IMAIL,     /* IMAIL content conversion (imail.c, Q279798) */
  STORE_K_NBUILTIN
} store_kind_t;

/* MSExchangeIS\RPC Averaged Latency and RPC Num. of Slow Packets are
 * taken over the last 1,024 RPC packets the store completed; a slow packet
 * took more than 2 s. */
#define STORE_RPC_WINDOW 1024
#define STORE_RPC_SLOW (2 * SIM_SEC)

typedef struct store store_t;
typedef struct store_work store_work_t;
typedef struct store_deadlines store_deadlines_t;

/* ---- mechanisms -------------------------------------------------------------- */
/* One part of the store: the core, a failure mechanism (a KB article), or a
 * service the mechanisms need (SMTP, clients, moves). Its descriptor is the
 * single source of everything the rest of the tree knows about it. */
typedef struct store_mech {
  /* name, title, file, fix and its doc, metrics, plots: what the reports and
   * docs/metrics.md read (through sim_model_t.parts) */
  sim_model_part_t part;
  /* Its parameters ({NULL}-ended), with defaults and ranges. With
   * config_size 0 the offsets are into store_config_t (the mechanisms built
   * in); otherwise into a struct of the mechanism's own of config_size
   * bytes, which the model places after store_config_t: store_mech_config()
   * finds it. */
  const sim_param_t *params;
  size_t config_size;
  /* Timed faults ({NULL}-ended) and their handler, called on a fault thread
   * with the index into this mechanism's `faults`. */
  const sim_fault_kind_t *faults;
  void (*fault)(store_t *s, int which, const sim_fault_t *f);
  /* Names of its work kinds (NULL-ended): busy tasks are counted per kind
   * (tasks.busy.<kind>) and reports say what each task does. */
  const char *const *kinds;
  /* Builds it in a new store, in table order after the core: returns 0 or a
   * negative code with a message in err. */
  int (*init)(store_t *s, char *err, size_t nerr);
  /* The store versions it exists in (STORE_VERSION_BIT of store.h's
   * STORE_VERSION_*); 0: every version. In a store of another version its
   * init does not run, and a scenario that sets one of its parameters, uses
   * its fix or one of its faults is refused at that key (model.c passes the
   * sets to the scenario layer). */
  uint32_t versions;
} store_mech_t;

/* Parameter rows of the mechanisms built in: a field of store_config_t,
 * the longest duration (400 days) and a GiB. */
#define STORE_CFG(f) offsetof(store_config_t, f)
#define STORE_TMAX ((double)(400 * SIM_DAY))
#define STORE_GiB (1024.0 * 1024.0 * 1024.0)

/* The mechanisms of the store model, in init order (model.c), NULL-ended. */
extern const store_mech_t *const store_mechanisms[];
extern const store_mech_t store_core_mech, store_cache_mech, store_mta_mech, store_smtp_mech,
    store_clients_mech, store_moves_mech, store_spin_mech, store_leak_mech, store_imail_mech,
    store_ims_mech, store_capture_mech;

/* Builds a store model from store_mechanisms[] followed by `extra`
 * (NULL-ended, may be NULL): a test or an embedding program adds its own
 * mechanism this way. Returns the model, or NULL with a message in err
 * (host OOM, or a descriptor that breaks a rule: a name, fix or kind
 * twice). Free it with store_model_free. */
sim_model_t *store_model_build(const store_mech_t *const *extra, char *err, size_t nerr);
void store_model_free(sim_model_t *m);

/* The mechanism's own config block (config_size > 0), in s's copy. */
const void *store_mech_config(const store_t *s, const store_mech_t *mech);
/* True when the store's version has the mechanism (store_mech_t.versions):
 * its init ran. */
int store_mech_present(const store_t *s, const store_mech_t *mech);
/* The name of STORE_VERSION_* `version` ("2003", "5.5"), "?" when none. */
const char *store_version_name(int version);
/* The STORE_VERSION_* named `name`, or -1. */
int store__version_parse(const char *name);
/* True when the variant has the mechanism's fix. */
int store_mech_has_fix(const store_t *s, const store_mech_t *mech);
/* The number of work kind `name` (a mechanism's `kinds` entry); aborts when
 * there is none (a bug). */
store_kind_t store_kind(const store_t *s, const char *name);

/* A work function runs on a store task. `arg` and `val` are what the caller
 * passed. Returns 0 or a negative SIM_E* / STORE_E* code. */
typedef int (*store_fn)(store_t *s, void *arg, int64_t val);

typedef enum { W_QUEUED, W_RUNNING, W_DONE } store_work_state_t;

struct store_work {
  store_work_t *next, *prev; /* queue links, or free-list link */
  store_kind_t kind;
  store_fn fn;
  void *arg;
  int64_t val;
  void (*drop)(store_t *s, void *arg, int64_t val); /* async items only */
  store_work_state_t state;
  int rc;
  int refs;       /* caller + store for calls, store only for submits */
  int waiting;    /* a caller waits on done */
  uint64_t id;
  sim_time_t enq_at;
  int rpc;          /* an admitted RPC (store_rpc_call): the store times it */
  sim_cond_t *done; /* created once per pooled item */
  /* store_call_direct: the caller's deadline list until it is answered
   * (NULL after), its links there, and whom to answer */
  store_deadlines_t *dl;
  store_work_t *dnext, *dprev;
  sim_time_t deadline;
  void (*answer)(store_t *s, void *arg, int64_t val, int rc, sim_time_t since);
  void *answer_arg;
};

/* A transaction's hold on the version store: the pages (store arena
 * memory, store.version_bucket bytes each) of its writes, kept until it
 * ends. Every work item runs as one transaction of its task (task_main
 * begins it before the work function and ends it, commit or rollback, when
 * the function returns). States: CLOSED -> OPEN [task_main] -> CLOSED
 * [task_main]; pages taken while OPEN [store_vs_write]. */
typedef struct store_txn {
  int open;
  uint64_t vs_gen; /* s->vs_gen when it began: a restart forgets its pages */
  void **pages;
  size_t npages, cap;
} store_txn_t;

typedef struct store_task {
  store_t *s;
  int index;
  sim_thread_t *th;
  store_work_t *cur; /* NULL when free */
  int alive;
  int stop;
  uint64_t gen;      /* store generation it belongs to */
  store_txn_t txn;   /* the transaction of cur */
} store_task_t;

/* ---- components -------------------------------------------------------------- */
/* A component is a part of the model with its own threads and state. The
 * core calls its hooks in registration order; every hook may be NULL. */
typedef struct store_component {
  const char *name;
  /* The store goes down (restart or shutdown), called from the controller
   * thread without s->lock, after queued work failed and tasks were told to
   * stop. Drop pointers into the store arena here. */
  void (*down)(store_t *s, void *self);
  /* The store is back up (after a restart): the arena was reset; rebuild
   * arena-backed state here. Called before new tasks start. */
  void (*up)(store_t *s, void *self);
  /* Appends lines to an exhaustion or shutdown report (e.g. the oldest
   * queued item). Called with s->lock held: must not take s->lock and must
   * not block; it may take its own component lock (trylock). */
  void (*report)(store_t *s, void *self, char *buf, size_t n);
  /* Periodic sampling of gauges that change with time (ages). */
  void (*sample)(store_t *s, void *self);
  /* After the run: publish final metrics. */
  void (*finish)(store_t *s, void *self);
  /* Frees host memory of the component. Must not call the kernel: the world
   * may already be destroyed. */
  void (*destroy)(void *self);
} store_component_t;

#define STORE_MAX_COMPONENTS 16

typedef enum { STORE_UP, STORE_DOWN, STORE_DEAD } store_state_t;

typedef struct store_assembly store_assembly_t; /* model.c */

struct store {
  sim_world_t *w;
  const store_assembly_t *as; /* the model's mechanisms */
  const store_config_t *cfg;  /* the store's copy of the whole config */
  int version;                /* STORE_VERSION_*, from cfg->version */
  /* the capture's rate of each arrival stream (capture.c), NULL: the rate */
  const struct store_profile *profile[3];
  uint64_t fixes;
  sim_proc_t *proc;

  sim_mutex_t *lock;
  sim_cond_t *work_cv;  /* tasks wait here for work */
  sim_cond_t *exit_cv;  /* controller waits here for tasks to exit */
  store_state_t state;
  uint64_t gen;
  store_work_t *q_head, *q_tail;
  uint64_t q_len;
  store_work_t *free_items; /* pool of DONE items with refs == 0 */
  store_work_t **all_items; /* every item ever allocated, freed at destroy */
  size_t nall, capall;
  uint64_t next_item_id;

  store_task_t *tasks;   /* host array of cfg->tasks, this generation */
  uint64_t task_id0;     /* thread id of tasks[0] (task_of) */
  store_task_t **old_tasks; /* arrays of earlier generations (freed at destroy) */
  int nold;
  int ntasks;
  int nfree;             /* tasks waiting for work */
  int nlive;             /* task threads not yet exited */
  int nkinds;
  int *busy_by_kind;     /* per work kind */
  sim_time_t busy_since; /* since when no task is free while UP, or -1 */
  int exhausted;         /* in an exhaustion episode now */
  int free_low;          /* fewest free tasks seen while UP */
  sim_time_t exhausted_at; /* when the first episode's saturation began, or -1 */

  uint64_t vs_used; /* version store bytes held by open transactions */
  uint64_t vs_gen;  /* bumped when the store goes down (arena reset) */

  int64_t rpc_inflight;
  sim_time_t rpc_ring[STORE_RPC_WINDOW]; /* store-side latencies of the last RPCs completed */
  int rpc_ring_n, rpc_ring_i;
  int64_t rpc_ring_sum; /* of the rpc_ring_n latencies in the ring */
  int rpc_ring_slow;    /* of them, those slower than STORE_RPC_SLOW */

  /* components */
  const store_component_t *comp[STORE_MAX_COMPONENTS];
  void *comp_self[STORE_MAX_COMPONENTS];
  int ncomp;
  /* components reachable for cross-component calls */
  struct store_smtp *smtp;
  struct store_mta *mta;
  struct store_cache *cache;
  struct store_clients *clients;
  struct store_moves *moves;
  struct store_imail *imail;

  int finished;
  sim_thread_t *sampler;
  store_deadlines_t **dls; /* of store_deadlines_create, freed at destroy */
  int ndls;

  /* metrics */
  sim_metric_t *m_free_low;
  sim_metric_t *m_tasks_total, *m_tasks_free, *m_tasks_busy, *m_tasks_queue;
  sim_metric_t **m_tasks_busy_kind; /* per work kind */
  sim_metric_t *m_queue_wait, *m_exhausted_at, *m_exhaustions;
  sim_metric_t *m_queue_oldest;
  sim_metric_t *m_rpc_requests, *m_rpc_refused, *m_rpc_latency;
  sim_metric_t *m_rpc_avg_latency, *m_rpc_slow, *m_rpc_ops;
  sim_metric_t *m_up, *m_restarts, *m_shutdown_completed, *m_shutdown_time;
  sim_metric_t *m_mem, *m_cpu;
  sim_metric_t *m_spin_tasks;
  sim_metric_t *m_vs_bytes, *m_vs_full;
};

/* ---- core API (store.c) ------------------------------------------------------ */
/* Creates the store core in w: the process, the locks, the metrics and the
 * task threads (READY, they start when the world runs). cfg (the model's
 * whole config, as->config_size bytes) is copied. Returns NULL with a
 * message in err on a bad configuration or host OOM. */
store_t *store_create(sim_world_t *w, const store_assembly_t *as, const void *cfg, uint64_t fixes,
                      char *err, size_t nerr);
/* From the assembly (model.c) for the core: */
size_t store__config_size(const store_assembly_t *as);
int store__nkinds(const store_assembly_t *as);
const char *store__kind_name(const store_assembly_t *as, int k);
/* Registers a component; its hooks are called from then on. Aborts when
 * more than STORE_MAX_COMPONENTS are added (a bug). */
void store_component_add(store_t *s, const store_component_t *c, void *self);
/* Calls every component's finish hook and publishes the core's final
 * metrics. Call once after the run. */
void store_finish(store_t *s);
/* Frees host memory of the store and its components (not kernel objects,
 * which the world owns). Accepts NULL. */
void store_destroy(store_t *s);

static inline int store_has_fix(const store_t *s, int fix) {
  return (s->fixes & STORE_FIX(fix)) != 0;
}
sim_proc_t *store_proc(const store_t *s);
/* A random stream for a component, from the world seed and `name`. */
void store_rng(const store_t *s, sim_rng_t *r, const char *name);

/* Arrival processes. A workload rate is arrivals per second, start to start,
 * whatever the work takes: a generator keeps the virtual time of its next
 * arrival in *next (set it to sim_now() once when it starts), advances it by
 * each inter-arrival gap and sleeps until then, so time the generator spends
 * between two arrivals (a lock, a call it makes itself) never stretches the
 * gaps. An arrival whose time has passed happens at once: the process keeps
 * its count, arriving late rather than less often. Returns sim_sleep_until's
 * result (0, or SIM_ECANCELED). */
/* The arrival streams a Performance Monitor capture can drive (capture.c). */
enum { STORE_STREAM_SMTP, STORE_STREAM_MAPI, STORE_STREAM_OWA, STORE_NSTREAMS };
/* The gap from `from` to the stream's next arrival: exp(1/rate) draws from
 * rng, or, when a capture drives the stream (workload.from_perfmon), drawn
 * interval by interval at the capture's rates (stream -1: never a
 * capture's). -1: no more arrivals (rate 0, or past the capture's end). */
sim_time_t store_arrival_gap(const store_t *s, int stream, double rate, sim_rng_t *rng,
                             sim_time_t from);
/* Whether a capture drives the stream (its generator runs even at rate 0). */
int store_arrival_driven(const store_t *s, int stream);

static inline int store_arrival_wait(sim_time_t *next, sim_time_t gap) {
  *next = gap > SIM_TIME_MAX - *next ? SIM_TIME_MAX : *next + gap;
  return sim_sleep_until(*next);
}

/* Runs fn(s, arg, val) on a store task and waits for it, until `deadline`
 * for a task to take it. Returns fn's result; SIM_ETIMEDOUT when no task took
 * the work by the deadline (it was withdrawn: fn never ran); STORE_EDOWN when
 * the store is down or went down before fn ran; SIM_ECANCELED when the caller
 * was canceled while waiting (work withdrawn). Once fn runs, the caller waits
 * for it to return, unless `detach` is set: then SIM_ETIMEDOUT is returned at
 * the deadline and fn finishes alone, so arg must then stay valid on its own
 * (NULL or owned elsewhere). Must be called from a simulated thread. */
int store_call(store_t *s, store_kind_t kind, store_fn fn, void *arg,
               int64_t val, sim_time_t deadline, int detach);
/* A request handed straight to a free task, with no thread of the caller's
 * own waiting for it (store_call_direct). The caller's timeouts are kept by
 * a deadline list: one thread (`name`, in process p) that sleeps until the
 * earliest deadline of the list's requests not yet answered. Requests of one
 * list should share one timeout (deadlines in arrival order: appending is
 * then O(1)). Returns the list (owned by the store, freed with it); aborts
 * on host OOM. Call from init. */
store_deadlines_t *store_deadlines_create(store_t *s, sim_proc_t *p, const char *name);
/* How the caller learns a direct request's outcome: called once, with
 * s->lock held (it must not block, must not take s->lock, may set metrics),
 * with `since` the time of the call and rc as store_call (or store_rpc_call
 * when rpc) would have returned it to a caller waiting with `detach`: fn's
 * result, SIM_ETIMEDOUT at the deadline (withdrawn if still queued, fn left
 * to finish alone if running), STORE_EDOWN when the store went down first. */
typedef void (*store_answer_fn)(store_t *s, void *arg, int64_t val, int rc, sim_time_t since);
/* store_call (detach) of a caller that would find a task free: when the
 * store is up, a task is free, nothing is queued, the deadline is later than
 * now and (rpc) the RPC admission has room, the request is admitted (rpc:
 * counted in flight until answered, and timed as store_rpc_call), queued
 * for the free task and put on dl; returns 1, and answer(s, answer_arg,
 * val, rc, now) comes later. Otherwise nothing happens and it returns 0:
 * the caller then makes the call from a thread of its own (store_call,
 * store_rpc_begin), which waits for a task as every caller does, so the
 * request shows in reports as a thread waiting for a task exactly when it
 * has to. Outcomes, metrics and their times are those of that thread's call
 * either way; only the thread is saved (no spawn, no hand-off back to a
 * waiting thread, no timer per request). Call from a simulated thread. */
int store_call_direct(store_t *s, store_deadlines_t *dl, store_kind_t kind, store_fn fn,
                      int64_t val, sim_time_t deadline, int rpc, store_answer_fn answer,
                      void *answer_arg);
/* Queues fn(s, arg, val) to run on a task without waiting. Returns 0, or
 * STORE_EDOWN when the store is down (nothing queued, drop not called). If
 * the store goes down before fn runs, drop(s, arg, val) is called instead
 * (may be NULL). Callable from a thread (not from a callback). */
int store_submit(store_t *s, store_kind_t kind, store_fn fn, void *arg,
                 int64_t val, void (*drop)(store_t *, void *, int64_t));

/* The version store (store.version_store bytes): every transaction takes a
 * page per write and returns them when it ends, so a transaction that runs
 * long holds its pages long, and one that never ends (a spin) holds them for
 * good. The transaction of the work item the calling task runs (NULL when
 * the caller is not a store task). */
store_txn_t *store_txn_self(store_t *s);
/* store_vs_write(s, store_txn_self(s)) under one hold of the store's lock. */
int store_vs_write_self(store_t *s);
/* One write of txn (its own, or one it writes on behalf of, as a flush of a
 * spinning download does): takes one page until txn ends. Returns 0;
 * STORE_ESTOREFULL when the version store is full or the arena refuses the
 * page (counted in version_store.full; txn is unchanged); STORE_EDOWN when
 * txn has ended or the store went down since it began. Call from a
 * simulated thread; do not hold a component lock that a task's work needs. */
int store_vs_write(store_t *s, store_txn_t *txn);

/* RPC admission: returns 0 and counts one RPC in flight (rpc.requests), or
 * STORE_EREFUSED (limit reached, counted in rpc.refused) or STORE_EDOWN.
 * Pair a 0 return with store_rpc_end when the client is done with it, and
 * run the RPC's work with store_rpc_call. */
int store_rpc_begin(store_t *s);
void store_rpc_end(store_t *s);
/* store_call for an admitted RPC. The store times it as Exchange's
 * MSExchangeIS counters do, over the RPC packets it completed: when a task
 * finishes fn (whatever fn returned, unless the store went down under it),
 * the time from this call to then is sampled in rpc.latency, enters the
 * last-1,024 window of rpc.averaged_latency and rpc.slow_packets, and
 * rpc.operations counts it. An RPC the client gave up on while it was queued
 * (withdrawn, fn never ran) is not a packet the store completed and is not
 * counted; one the client gave up on while fn ran (detach) is counted when
 * fn returns, at its full store-side latency. The client's own view
 * (timeouts at the timeout) is the caller's metric (mapi.latency). */
int store_rpc_call(store_t *s, store_kind_t kind, store_fn fn, void *arg, int64_t val,
                   sim_time_t deadline, int detach);

/* Takes the store down, fails queued work, cancels the tasks and waits for
 * them until `timeout`; then resets the arena, waits restart_time and brings
 * the store up with new tasks. Must be called from a simulated thread that is
 * not a task. Returns 0, or SIM_ETIMEDOUT if some tasks did not stop (they are
 * abandoned; the store restarts anyway, as a killed process would). */
int store_restart(store_t *s, sim_time_t timeout);
/* Takes the store down for good and waits for the tasks until `timeout`.
 * Files a "shutdown" model report either way. Returns 0 when every task
 * exited, SIM_ETIMEDOUT otherwise. */
int store_shutdown(store_t *s, sim_time_t timeout);

/* Appends a line per task (kind and what it waits on) to buf. Caller holds
 * s->lock. */
void store__describe_tasks(store_t *s, char *buf, size_t n);
/* snprintf-append helper: appends to buf (NUL-terminated, capacity n). */
void store__appendf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats a virtual time as "1h02m03.5s" into buf. */
const char *store__fmt_time(sim_time_t t, char *buf, size_t n);
/* The names Exchange administrators use for the model's threads, locks,
 * events, reports and metrics (names.c; sim_model_t.names). */
extern const sim_name_desc_t store_names[];

/* ---- property cache (cache.c) ----------------------------------------------- */
/* A fixed-capacity hash table of header data (strings) in the store arena.
 * No eviction: once `capacity` entries exist, inserts fail. */
typedef struct store_propcache store_propcache_t;
/* Creates a table of `capacity` entries in p's arena. NULL when the arena
 * refuses the memory. */
store_propcache_t *store_propcache_create(sim_proc_t *p, int64_t capacity);
/* Looks key up; if absent, inserts it. Returns 1 if it was present, 0 if it
 * was inserted, STORE_ECONVERT if absent and the table is full (or the arena
 * refuses the key's memory); the table is then unchanged. */
int store_propcache_get(store_propcache_t *c, const char *key);
int64_t store_propcache_entries(const store_propcache_t *c);
/* Frees the table's arena memory (when the arena is not being reset). */
void store_propcache_free(store_propcache_t *c);

/* Converts one message's headers through the store's cache (a work-function
 * helper for delivery): `keys` are the header data as read. Returns 0,
 * STORE_ECONVERT when a new entry was needed and the cache is full, or
 * STORE_EDOWN when the store has no cache (down). cache.c. */
int store__cache_convert(store_t *s, const char *const *keys, int nkeys);
/* True when the store's cache holds capacity entries now. */
int store__cache_full(store_t *s);
/* Samples a Zipf-distributed header name index in [0, vocabulary). */
int64_t store__cache_zipf(store_t *s, sim_rng_t *r);

/* ---- SMTP (smtp.c) ------------------------------------------------------------- */
/* A message (malformed or not) arrives now, drawn like the generators' from
 * the "store.smtp.inject" stream, and goes through an SMTP session. Returns
 * its id. For tests and components; call from a simulated thread. */
uint64_t store__smtp_inject(store_t *s, int malformed);

/* The store of a model instance (the store model's create result). */
store_t *store__inst_store(void *inst);

/* ---- IMAIL (imail.c) ------------------------------------------------------------ */
/* One conversion of IMAIL (imail.c), owned by IMAIL (freed with the store). */
typedef struct imail_conv store_imail_conv_t;
/* A new outbound conversion (MAPI to MIME: the code path of POP3/IMAP4/NNTP
 * reads, with its critical sections in that path's order) for another
 * component (the IMS outbound queue, ims.c), its CPU drawn from r (the
 * caller serializes r). `counted` is incremented each time it completes.
 * NULL when IMAIL is not running in this store. Call from a simulated
 * thread. */
store_imail_conv_t *store__imail_conv_out(store_t *s, sim_rng_t *r, sim_metric_t *counted);
/* Runs conversion c on the calling store task (call from a work function):
 * 0, or STORE_EDOWN when the store went down before its critical sections
 * (c may then be run again). A conversion in a deadlock never returns. */
int store__imail_convert(store_t *s, store_imail_conv_t *c);

/* ---- MTA (mta.c) --------------------------------------------------------------- */
/* Registers one transit flush (moves call it per moved mailbox), unless the
 * kb924567 fix applies. Returns 0 (registered or skipped) or STORE_EDOWN. */
int store__mta_register_flush(store_t *s, uint64_t mailbox);

#endif
