/*
 * storesim store model: the store core.
 *
 * A pool of worker tasks (simulated threads of the "store" process) takes
 * work items from one FIFO queue. Every piece of work (a delivery, an RPC, an
 * OWA request, a move step, a transit flush) is an item with a kind; a task
 * running an item records the kind as its activity, and whatever it blocks on
 * (the kernel knows) is what it waits for. Nothing here decides that the pool
 * is exhausted: free tasks reach 0 because tasks really hold work.
 *
 * Task states (task_main):
 *
 *   FREE    -> BUSY     pops an item from the queue        [task_main]
 *   BUSY    -> FREE     the item's function returned       [task_main]
 *   FREE/BUSY -> EXITED canceled by store_restart/shutdown [task_main]
 *
 * Invariants, under s->lock: nfree + sum(busy_by_kind) == nlive while the
 * store is UP; q_len is the number of QUEUED items; an item's refs counts the
 * parties (caller, queue/task) that will still touch it; an item returns to
 * the pool when refs drops to 0.
 *
 * Version store (store_vs_write): every work item runs as one transaction
 * of its task, begun before the work function and ended (its pages
 * returned) when it returns; a write takes one page of store.version_bucket
 * bytes from the store arena, and a write that finds store.version_store
 * bytes in use fails with STORE_ESTOREFULL (0x8004060C). Modelling
 * assumption: ESE refuses a version-store allocation at once
 * (JET_errVersionStoreOutOfMemory) and the store rolls the transaction back;
 * nothing waits for pages. So pages in use = writes/s x transaction time
 * (Little): healthy short transactions hold a few pages; transactions that
 * wait for cores hold theirs longer; one that never ends holds its pages for
 * good. The pages are gone with the arena on a restart (vs_gen).
 *
 * Progress (the kernel's spin detector): a task finishing a work item
 * (task_main) and a caller whose store_call succeeded have done a unit of
 * work (sim_progress); a thread issuing a work item (store_call,
 * store_submit) has made a request (sim_request). So a task whose work item
 * never finishes while it burns CPU or keeps issuing work is a spin, whatever
 * the work kind, with no mechanism telling the detector.
 *
 * Exhaustion detector (DOMAIN.md: "every task is busy or blocked; new work
 * waits in queues, clients time out"). Every task busy is not exhaustion by
 * itself: a healthy store under load has moments with no free task, and the
 * queue absorbs them. An exhaustion episode begins when, with no task free
 * while the store is UP, a queued work item reaches its caller's deadline
 * (store_call's own timeout: the SMTP submit timeout, the OWA or MAPI
 * client timeout, ...) and is withdrawn: the caller gave up waiting for a
 * task. The threshold is each caller's own patience, so no number is
 * invented here. The episode lasts until a task is free again
 * (gauges_update), so a backlog that keeps every task busy is one episode
 * however many callers give up during it:
 *
 *   SOME FREE --last free task takes work--> ALL BUSY          [gauges_update]
 *   ALL BUSY  --a queued caller's deadline passes--> EXHAUSTED [store_call]
 *   ALL BUSY / EXHAUSTED --a task is free, store down--> SOME FREE [gauges_update]
 *
 * Each transition into EXHAUSTED counts in tasks.exhaustions, emits a
 * store.exhausted event and files an "exhaustion" model report (every task:
 * kind, wait object; the oldest queued items); the first one publishes its
 * onset, when that stretch with no free task began, as tasks.exhausted_at
 * (seconds): the instant KB924567's arithmetic predicts. A run without an
 * episode leaves it -1, however often every task was busy.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

static const sim_param_t core_params[] = {
    {"store.version", SIM_P_FLOAT, STORE_CFG(version), 0, 10000, "2003",
     "Exchange version of the store, 2003 or 5.5: which parts it has. 2003: SMTP local "
     "delivery, MTA transit flush, Move Mailbox, OWA 2003 and the KB9xxxxx mechanisms; 5.5: the "
     "Internet Mail Service with its inbound and outbound queues, POP3/IMAP4/NNTP reads through "
     "IMAIL, OWA 5.5, and no SMTP local delivery. Keys of parts the version lacks are refused."},
    {"store.tasks", SIM_P_INT, STORE_CFG(tasks), 1, STORE_TASKS_MAX, "32",
     "Worker tasks (threads) of the store; every delivery, RPC, OWA request, "
     "move step and transit flush runs on one.",
     .shrinkable = true},
    {"store.rpc_limit", SIM_P_INT, STORE_CFG(rpc_limit), 1, 100000, "100",
     "Concurrent MAPI RPCs the store services before refusing new ones."},
    {"store.restart_time", SIM_P_DURATION, STORE_CFG(restart_time), 0, STORE_TMAX, "1m",
     "Time the store takes to come back up after its tasks stopped."},
    {"store.stop_timeout", SIM_P_DURATION, STORE_CFG(stop_timeout), 0, STORE_TMAX, "5m",
     "How long a restart waits for tasks to stop before killing the process."},
    {"store.shutdown_timeout", SIM_P_DURATION, STORE_CFG(shutdown_timeout), 0, STORE_TMAX, "10m",
     "Default timeout of a store_shutdown fault that gives none."},
    {"store.memory_limit", SIM_P_SIZE, STORE_CFG(memory_limit), 0, 64 * STORE_GiB, "2GiB",
     "Address space of the 32-bit store process (0: unlimited)."},
    {"store.version_store", SIM_P_SIZE, STORE_CFG(version_store), 0, 64 * STORE_GiB, "16MiB",
     "Version store of the database: uncommitted changes of open transactions (every work "
     "item is one); full: writes fail with 0x8004060C (MAPI_E_STORE_FULL)."},
    {"store.version_bucket", SIM_P_SIZE, STORE_CFG(version_bucket), 16, STORE_GiB, "4KiB",
     "Version store bytes of one write (a delivery, a MAPI or OWA operation, a mailbox copy, "
     "marking a message read, a flush), held until its transaction ends."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_fault_kind_t core_faults[] = {
    {"store_restart", "Restart the store: queued and in-flight work fails, tasks restart, the "
                      "property cache empties, the store arena is reset; the SMTP queue "
                      "survives. timeout: how long to wait for tasks to stop."},
    {"store_shutdown", "Shut the store down and wait for its tasks up to timeout; a report says "
                       "whether it completed and what every remaining task does."},
    {NULL, NULL}};

static const sim_metric_desc_t core_metrics[] = {
    {"tasks.total", SIM_M_GAUGE, "", "worker tasks of the store (`store.tasks`)"},
    {"tasks.free", SIM_M_GAUGE, "", "tasks idle, waiting for work"},
    {"tasks.busy", SIM_M_GAUGE, "", "tasks running or blocked inside a work item"},
    {"tasks.free_low", SIM_M_GAUGE, "",
     "fewest free tasks seen while the store was up (low-water mark; 0 = exhaustion happened)"},
    {"tasks.busy.<kind>", SIM_M_GAUGE, "",
     "tasks busy with work of one kind; each mechanism names its kinds (the core's `maint` is for "
     "store-internal work)"},
    {"tasks.queue", SIM_M_GAUGE, "", "work items waiting for a free task"},
    {"tasks.queue_wait", SIM_M_SAMPLE, "ms",
     "time each work item waited in the queue before a task took it"},
    {"tasks.queue_oldest", SIM_M_GAUGE, "s",
     "age of the oldest work item in the queue (sampled every sample interval)"},
    {"tasks.exhausted_at", SIM_M_GAUGE, "s",
     "onset of the first exhaustion episode (`tasks.exhaustions`): virtual time, in seconds from "
     "the start, when free tasks reached 0 for the stretch in which callers gave up; -1 if none"},
    {"tasks.exhaustions", SIM_M_COUNTER, "",
     "exhaustion episodes: no task free while work waits in the queue past its caller's own "
     "timeout; one per stretch with no free task, however many callers give up in it"},
    {"rpc.requests",
     SIM_M_GAUGE,
     "",
     "MAPI RPCs admitted and in flight (admitted and their client still waiting)",
     {"\\MSExchangeIS\\RPC Requests", SIM_DERIVE_VALUE, 1, "",
      "at most `store.rpc_limit` (100); beyond it `rpc.refused` counts. Assumption: an RPC "
      "leaves it when its client stops waiting, so one abandoned while a task still runs it is "
      "not counted (Exchange counts it until the store finishes)"}},
    {"rpc.refused", SIM_M_COUNTER, "", "RPCs refused because `store.rpc_limit` were in flight"},
    {"rpc.latency", SIM_M_SAMPLE, "ms",
     "store-side latency of each RPC the store completed, from its arrival to the end of its "
     "work (queue wait included); an RPC withdrawn before a task ran it is not counted, one its "
     "client gave up on while it ran counts when the store finishes it"},
    {"rpc.operations",
     SIM_M_COUNTER,
     "",
     "RPCs the store completed (one operation each)",
     {"\\MSExchangeIS\\RPC Operations/sec", SIM_DERIVE_RATE, 1, "/s",
      "one operation per RPC (the model sends no batched ROPs)"}},
    {"rpc.averaged_latency",
     SIM_M_GAUGE,
     "ms",
     "mean of `rpc.latency` over the last 1,024 RPCs the store completed",
     {"\\MSExchangeIS\\RPC Averaged Latency", SIM_DERIVE_VALUE, 1, "ms",
      "> 50 ms sustained: struggling; > 100 ms: Outlook shows \"Retrieving data\""}},
    {"rpc.slow_packets",
     SIM_M_GAUGE,
     "",
     "of the last 1,024 RPCs the store completed, those slower than 2 s",
     {"\\MSExchangeIS\\RPC Num. of Slow Packets", SIM_DERIVE_VALUE, 1, "", "should stay < 2"}},
    {"store.up", SIM_M_GAUGE, "",
     "1 while the store accepts work, 0 while down (restart, shutdown)"},
    {"store.restarts", SIM_M_COUNTER, "", "store restarts"},
    {"store.shutdown_completed", SIM_M_GAUGE, "",
     "-1 no shutdown yet; 1 the last shutdown completed within its timeout; 0 it did not"},
    {"store.shutdown_time", SIM_M_GAUGE, "s", "how long the completed shutdown took"},
    {"store.memory", SIM_M_GAUGE, "B",
     "bytes allocated in the store's arena (kernel tally), sampled"},
    {"store.cpu_time", SIM_M_GAUGE, "s", "CPU seconds the store process has used, sampled"},
    {"detect.spins_store_tasks", SIM_M_GAUGE, "",
     "spin reports whose thread is a store task, each sample interval and at the end"},
    {"version_store.bytes", SIM_M_GAUGE, "B",
     "version store in use: pages of open transactions (store arena)"},
    {"version_store.full", SIM_M_COUNTER, "",
     "writes refused because the version store was full (0x8004060C)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t core_plots[] = {{"free tasks", {"tasks.free"}},
                                             {"busy tasks by kind", {"tasks.busy.<kind>"}},
                                             {"work waiting for a task", {"tasks.queue"}},
                                             {"store memory", {"store.memory"}},
                                             {"RPC averaged latency", {"rpc.averaged_latency"}},
                                             {"RPC latency", {"rpc.latency"}},
                                             {NULL, {NULL}}};

static void core_fault(store_t *s, int which, const sim_fault_t *f) {
  if (which == 0) store_restart(s, f->timeout > 0 ? f->timeout : s->cfg->stop_timeout);
  else store_shutdown(s, f->timeout > 0 ? f->timeout : s->cfg->shutdown_timeout);
}

static const char *const core_kinds[] = {"maint", NULL};

/* The core is built by store_create, not by an init function. */
const store_mech_t store_core_mech = {
    .part = {.name = "core",
             .title = "Store core: tasks, work queue, RPC admission, process",
             .file = "sim/store/store.c",
             .metrics = core_metrics,
             .plots = core_plots,
             .never = (const char *const[]){"tasks.exhausted_at", NULL},
             .states =
                 (const sim_metric_states_t[]){{"store.up", 0, {"down", "up"}},
                                               {"store.shutdown_completed",
                                                -1,
                                                {"no shutdown yet", "not completed", "completed"}},
                                               {NULL, 0, {NULL}}}},
    .params = core_params,
    .faults = core_faults,
    .fault = core_fault,
    .kinds = core_kinds,
};

const char *store_strerror(int rc) {
  switch (rc) {
  case STORE_ECONVERT:
    return "MIME conversion failed: the property cache is full";
  case STORE_EDOWN:
    return "the store is down";
  case STORE_EREFUSED:
    return "RPC refused: too many RPCs in flight";
  case STORE_ESTOREFULL: return "the version store is full (0x8004060C, MAPI_E_STORE_FULL)";
  default:
    return sim_strerror(rc);
  }
}

void store__appendf(char *buf, size_t n, const char *fmt, ...) {
  size_t len = strlen(buf);
  if (len + 1 >= n) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, n - len, fmt, ap);
  va_end(ap);
}

const char *store__fmt_time(sim_time_t t, char *buf, size_t n) {
  const char *sign = "";
  if (t < 0) {
    sign = "-";
    t = -t;
  }
  int64_t h = t / SIM_HOUR, m = (t % SIM_HOUR) / SIM_MIN;
  double sec = (double)(t % SIM_MIN) / (double)SIM_SEC;
  if (h > 0)
    snprintf(buf, n, "%s%" PRId64 "h%02" PRId64 "m%06.3fs", sign, h, m, sec);
  else if (m > 0)
    snprintf(buf, n, "%s%" PRId64 "m%06.3fs", sign, m, sec);
  else
    snprintf(buf, n, "%s%.3fs", sign, sec);
  return buf;
}

sim_proc_t *store_proc(const store_t *s) { return s->proc; }

void store_rng(const store_t *s, sim_rng_t *r, const char *name) {
  sim_rng_init(r, sim_world_seed(s->w), name);
}

/* ---- work items -------------------------------------------------------------- */

static store_work_t *item_get(store_t *s) {
  store_work_t *wk = s->free_items;
  if (wk) {
    s->free_items = wk->next;
  } else {
    wk = sim_xcalloc(1, sizeof *wk);
    wk->done = sim_cond_create(s->w, "store.work.done");
    if (s->nall == s->capall) {
      s->capall = s->capall ? 2 * s->capall : 64;
      s->all_items = sim_xrealloc(s->all_items, s->capall * sizeof *s->all_items);
    }
    s->all_items[s->nall++] = wk;
  }
  sim_cond_t *done = wk->done;
  memset(wk, 0, sizeof *wk);
  wk->done = done;
  wk->id = ++s->next_item_id;
  return wk;
}

static void item_unref(store_t *s, store_work_t *wk) {
  if (--wk->refs == 0) {
    wk->next = s->free_items;
    s->free_items = wk;
  }
}

static void gauges_update(store_t *s) {
  /* a task that finishes while work is queued takes the next item under the
   * same lock hold: only a free task with nothing queued ends ALL BUSY */
  if (s->state != STORE_UP || (s->nfree > 0 && !s->q_head)) { /* SOME FREE (or down) */
    s->busy_since = -1;
    s->exhausted = 0;
  } else if (s->nfree == 0 && s->busy_since < 0) { /* SOME FREE -> ALL BUSY */
    s->busy_since = sim_now(s->w);
  }
  sim_gauge_set(s->m_tasks_free, s->nfree);
  if (s->state == STORE_UP && s->nfree < s->free_low) {
    s->free_low = s->nfree;
    sim_gauge_set(s->m_free_low, s->free_low);
  }
  sim_gauge_set(s->m_tasks_busy, s->nlive - s->nfree);
  sim_gauge_set(s->m_tasks_queue, (double)s->q_len);
}

static void q_push(store_t *s, store_work_t *wk) {
  wk->next = NULL;
  wk->prev = s->q_tail;
  if (s->q_tail)
    s->q_tail->next = wk;
  else
    s->q_head = wk;
  s->q_tail = wk;
  s->q_len++;
}

/* Queues wk for the tasks: the queue, its gauges, and a task woken. Caller
 * holds s->lock. */
static void enqueue(store_t *s, store_work_t *wk) {
  q_push(s, wk);
  gauges_update(s);
  sim_cond_signal(s->work_cv);
}

/* RPCs in flight (Perfmon's RPC Requests) up or down by d. Caller holds
 * s->lock. */
static void rpc_inflight_add(store_t *s, int d) {
  s->rpc_inflight += d;
  sim_gauge_set(s->m_rpc_requests, (double)s->rpc_inflight);
}

static void q_remove(store_t *s, store_work_t *wk) {
  if (wk->prev)
    wk->prev->next = wk->next;
  else
    s->q_head = wk->next;
  if (wk->next)
    wk->next->prev = wk->prev;
  else
    s->q_tail = wk->prev;
  wk->next = wk->prev = NULL;
  s->q_len--;
}

static void direct_answer(store_t *s, store_work_t *wk, int rc);

/* Completes wk with rc: wakes its caller (or answers a direct request's),
 * drops the store's reference. */
static void item_complete(store_t *s, store_work_t *wk, int rc) {
  wk->state = W_DONE;
  wk->rc = rc;
  if (wk->waiting) sim_cond_signal(wk->done);
  if (wk->dl) direct_answer(s, wk, rc);
  item_unref(s, wk);
}

/* ---- exhaustion detector ------------------------------------------------------- */

void store__describe_tasks(store_t *s, char *buf, size_t n) {
  int *counts = sim_xcalloc((size_t)s->nkinds, sizeof *counts);
  for (int i = 0; i < s->ntasks; i++)
    if (s->tasks[i].alive && s->tasks[i].cur) counts[s->tasks[i].cur->kind]++;
  store__appendf(buf, n, "tasks by kind:");
  for (int k = 0; k < s->nkinds; k++)
    if (counts[k]) store__appendf(buf, n, " %s=%d", store__kind_name(s->as, k), counts[k]);
  free(counts);
  store__appendf(buf, n, " free=%d\n", s->nfree);
  for (int i = 0; i < s->ntasks; i++) {
    store_task_t *t = &s->tasks[i];
    if (!t->th) continue;
    char desc[256];
    if (t->alive)
      sim_thread_describe(t->th, desc, sizeof desc);
    else
      snprintf(desc, sizeof desc, "exited");
    store__appendf(buf, n, "  task %2d T%-4" PRIu64 " %-9s %s\n", i, sim_thread_id(t->th),
                   t->cur ? store__kind_name(s->as, t->cur->kind) : "free", desc);
  }
}

/* h:mm:ss, as the outputs print times. */
static const char *hms(sim_time_t t, char *buf, size_t n) {
  long long sec = (long long)(t / SIM_SEC);
  snprintf(buf, n, "%lld:%02lld:%02lld", sec / 3600, sec / 60 % 60, sec % 60);
  return buf;
}

/* ALL BUSY -> EXHAUSTED: the queued item wk reached its caller's deadline
 * with no task free. Caller holds s->lock; wk is still queued. */
static void exhaustion_detected(store_t *s, const store_work_t *wk) {
  s->exhausted = 1;
  sim_counter_add(s->m_exhaustions, 1);
  uint64_t episode = (uint64_t)sim_metric_value(s->m_exhaustions);
  sim_trace_emit(s->w, "store.exhausted", "store.tasks", s->ntasks);
  if (s->exhausted_at < 0) {
    s->exhausted_at = s->busy_since;
    sim_gauge_set(s->m_exhausted_at, (double)s->exhausted_at / (double)SIM_SEC);
  }
  size_t n = 16384;
  char *buf = sim_xcalloc(1, n);
  char t0[32], t1[32], t2[32];
  sim_time_t now = sim_now(s->w);
  store__appendf(buf, n,
                 "storesim: EXHAUSTION: all %d store tasks busy since %s; at %s a queued %s item "
                 "reached its caller's timeout after %s (episode %" PRIu64 ")\n",
                 s->ntasks, hms(s->busy_since, t0, sizeof t0), hms(now, t1, sizeof t1),
                 store__kind_name(s->as, wk->kind), hms(now - wk->enq_at, t2, sizeof t2), episode);
  store__describe_tasks(s, buf, n);
  store__appendf(buf, n,
                 "queued work: %" PRIu64 " items, the oldest %s item #%" PRIu64 ", waiting %s\n",
                 s->q_len, store__kind_name(s->as, s->q_head->kind), s->q_head->id,
                 hms(now - s->q_head->enq_at, t2, sizeof t2));
  for (int i = 0; i < s->ncomp; i++)
    if (s->comp[i]->report) s->comp[i]->report(s, s->comp_self[i], buf, n);
  uint64_t ids[256];
  size_t nids = 0;
  for (int i = 0; i < s->ntasks && nids < 256; i++)
    if (s->tasks[i].alive) ids[nids++] = sim_thread_id(s->tasks[i].th);
  sim_world_file_report(s->w, "exhaustion", buf, ids, nids);
  free(buf);
}

/* ---- version store --------------------------------------------------------------- */

/* The task of this generation running on thread th, or NULL. Task threads
 * are spawned in a row, so their ids are usually consecutive (tasks_start
 * notes the first one's): one lookup; otherwise a scan. Caller holds
 * s->lock. */
static store_task_t *task_of(store_t *s, const sim_thread_t *th) {
  if (!th || !s->tasks) return NULL;
  uint64_t i = sim_thread_id(th) - s->task_id0;
  if (i < (uint64_t)s->ntasks && s->tasks[i].th == th) return &s->tasks[i];
  for (int k = 0; k < s->ntasks; k++)
    if (s->tasks[k].th == th) return &s->tasks[k];
  return NULL;
}

/* Caller holds s->lock. */
static void txn_begin(store_t *s, store_txn_t *x) {
  x->open = 1;
  x->vs_gen = s->vs_gen;
  x->npages = 0;
}

/* Commit or rollback: the pages go back. After the store went down they
 * are gone with the arena: only forgotten. Caller holds s->lock. */
static void txn_end(store_t *s, store_txn_t *x) {
  if (x->vs_gen == s->vs_gen && x->npages > 0) {
    for (size_t i = 0; i < x->npages; i++) sim_proc_free(s->proc, x->pages[i]);
    s->vs_used -= (uint64_t)x->npages * s->cfg->version_bucket;
    sim_gauge_set(s->m_vs_bytes, (double)s->vs_used);
  }
  x->npages = 0;
  x->open = 0;
}

store_txn_t *store_txn_self(store_t *s) {
  sim_thread_t *self = sim_self();
  store_txn_t *x = NULL;
  sim_mutex_lock(s->lock);
  store_task_t *t = task_of(s, self);
  if (t && t->cur) x = &t->txn;
  sim_mutex_unlock(s->lock);
  return x;
}

static int vs_write_locked(store_t *s, store_txn_t *x);

int store_vs_write(store_t *s, store_txn_t *x) {
  sim_mutex_lock(s->lock);
  int rc = vs_write_locked(s, x);
  sim_mutex_unlock(s->lock);
  return rc;
}

int store_vs_write_self(store_t *s) {
  sim_mutex_lock(s->lock);
  store_task_t *t = task_of(s, sim_self());
  int rc = vs_write_locked(s, t && t->cur ? &t->txn : NULL);
  sim_mutex_unlock(s->lock);
  return rc;
}

/* Caller holds s->lock. */
static int vs_write_locked(store_t *s, store_txn_t *x) {
  uint64_t b = s->cfg->version_bucket;
  int rc = 0;
  if (!x || !x->open || x->vs_gen != s->vs_gen || s->state != STORE_UP) {
    rc = STORE_EDOWN;
  } else if (s->vs_used + b > s->cfg->version_store) {
    rc = STORE_ESTOREFULL;
  } else {
    void *p = sim_proc_alloc(s->proc, (size_t)b);
    if (!p) {
      rc = STORE_ESTOREFULL;
    } else {
      if (x->npages == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 8;
        x->pages = sim_xrealloc(x->pages, x->cap * sizeof *x->pages);
      }
      x->pages[x->npages++] = p;
      s->vs_used += b;
      sim_gauge_set(s->m_vs_bytes, (double)s->vs_used);
    }
  }
  if (rc == STORE_ESTOREFULL) sim_counter_add(s->m_vs_full, 1);
  return rc;
}

/* ---- tasks ----------------------------------------------------------------------- */

static void rpc_completed(store_t *s, const store_work_t *wk);

static void task_main(void *arg) {
  store_task_t *t = arg;
  store_t *s = t->s;
  sim_thread_t *self = sim_self();
  sim_mutex_lock(s->lock);
  for (;;) {
    while (!s->q_head && !t->stop) {
      sim_thread_set_activity(self, "idle");
      if (sim_cond_wait(s->work_cv, s->lock) == SIM_ECANCELED) t->stop = 1;
    }
    if (t->stop) break;
    store_work_t *wk = s->q_head;
    q_remove(s, wk);
    wk->state = W_RUNNING;
    t->cur = wk;
    s->nfree--;
    s->busy_by_kind[wk->kind]++;
    sim_gauge_set(s->m_tasks_busy_kind[wk->kind], s->busy_by_kind[wk->kind]);
    sim_sample_add(s->m_queue_wait,
                   (double)(sim_now(s->w) - wk->enq_at) / (double)SIM_MS);
    sim_thread_set_activity(self, store__kind_name(s->as, wk->kind));
    gauges_update(s);
    txn_begin(s, &t->txn);
    sim_mutex_unlock(s->lock);

    int rc = wk->fn(s, wk->arg, wk->val);
    sim_progress(); /* a finished work item is a unit of work (spin detector) */
    int canceled = sim_thread_canceled(self);
    if (canceled) {
      t->stop = 1;
      if (rc != 0) rc = STORE_EDOWN;
    }

    sim_mutex_lock(s->lock);
    txn_end(s, &t->txn);
    if (wk->rpc && !canceled && t->gen == s->gen) rpc_completed(s, wk);
    if (t->gen != s->gen) {
      /* abandoned by a restart that did not wait for us: touch nothing of
       * the new generation */
      item_complete(s, wk, rc);
      t->cur = NULL;
      t->alive = 0;
      sim_mutex_unlock(s->lock);
      return;
    }
    s->busy_by_kind[wk->kind]--;
    sim_gauge_set(s->m_tasks_busy_kind[wk->kind], s->busy_by_kind[wk->kind]);
    t->cur = NULL;
    s->nfree++;
    gauges_update(s);
    item_complete(s, wk, rc);
  }
  if (t->gen != s->gen) {
    t->alive = 0;
    sim_mutex_unlock(s->lock);
    return;
  }
  t->alive = 0;
  t->cur = NULL;
  s->nfree--;
  s->nlive--;
  gauges_update(s);
  sim_cond_broadcast(s->exit_cv);
  sim_mutex_unlock(s->lock);
}

/* Spawns the task threads of a new generation, in a new task array (tasks
 * of an abandoned generation keep theirs). Caller holds s->lock. */
static void tasks_start(store_t *s) {
  if (s->tasks) {
    s->old_tasks = sim_xrealloc(s->old_tasks, (size_t)(s->nold + 1) * sizeof *s->old_tasks);
    s->old_tasks[s->nold++] = s->tasks;
  }
  s->tasks = sim_xcalloc((size_t)s->ntasks, sizeof *s->tasks);
  s->gen++;
  for (int i = 0; i < s->ntasks; i++) {
    store_task_t *t = &s->tasks[i];
    t->s = s;
    t->index = i;
    t->gen = s->gen;
    char name[48];
    snprintf(name, sizeof name, "store-task-%d", i);
    t->th = sim_thread_spawn(s->w, name, s->proc, task_main, t);
    if (!t->th) continue;
    if (i == 0) s->task_id0 = sim_thread_id(t->th);
    t->alive = 1;
    s->nlive++;
    s->nfree++;
  }
  gauges_update(s);
}

/* ---- calls ----------------------------------------------------------------------- */

static int call(store_t *s, store_kind_t kind, store_fn fn, void *arg, int64_t val,
                sim_time_t deadline, int detach, int rpc) {
  if (!sim_self()) {
    fprintf(stderr, "storesim: store_call: not called from a simulated thread\n");
    abort();
  }
  sim_mutex_lock(s->lock);
  if (s->state != STORE_UP) {
    sim_mutex_unlock(s->lock);
    return STORE_EDOWN;
  }
  sim_request(); /* issuing work: a request of the caller (spin detector) */
  store_work_t *wk = item_get(s);
  wk->kind = kind;
  wk->fn = fn;
  wk->arg = arg;
  wk->val = val;
  wk->state = W_QUEUED;
  wk->refs = 2;
  wk->waiting = 1;
  wk->rpc = rpc;
  wk->enq_at = sim_now(s->w);
  enqueue(s, wk);
  int rc = 0;
  while (wk->state != W_DONE) {
    if (wk->state == W_RUNNING && !detach) {
      rc = sim_cond_wait(wk->done, s->lock);
    } else {
      rc = sim_cond_timedwait(wk->done, s->lock, deadline);
    }
    if (wk->state == W_DONE) break;
    if (rc == SIM_ETIMEDOUT || rc == SIM_ECANCELED) {
      if (wk->state == W_QUEUED) {
        /* withdrawn: fn never runs; with no task free, the caller gave up
         * waiting for one */
        if (rc == SIM_ETIMEDOUT && s->busy_since >= 0 && !s->exhausted) exhaustion_detected(s, wk);
        q_remove(s, wk);
        gauges_update(s);
        wk->state = W_DONE;
        wk->rc = rc;
        item_unref(s, wk); /* the queue's reference */
        break;
      }
      if (detach || rc == SIM_ECANCELED) {
        wk->waiting = 0; /* fn finishes alone */
        wk->rc = rc;
        break;
      }
      /* RUNNING without detach: wait for it (loop) */
    }
  }
  rc = wk->rc;
  wk->waiting = 0;
  item_unref(s, wk);
  sim_mutex_unlock(s->lock);
  if (rc == 0) sim_progress(); /* the caller's unit of work is done */
  return rc;
}

int store_call(store_t *s, store_kind_t kind, store_fn fn, void *arg, int64_t val,
               sim_time_t deadline, int detach) {
  return call(s, kind, fn, arg, val, deadline, detach, 0);
}

int store_rpc_call(store_t *s, store_kind_t kind, store_fn fn, void *arg, int64_t val,
                   sim_time_t deadline, int detach) {
  return call(s, kind, fn, arg, val, deadline, detach, 1);
}

int store_submit(store_t *s, store_kind_t kind, store_fn fn, void *arg,
                 int64_t val, void (*drop)(store_t *, void *, int64_t)) {
  sim_mutex_lock(s->lock);
  if (s->state != STORE_UP) {
    sim_mutex_unlock(s->lock);
    return STORE_EDOWN;
  }
  sim_request(); /* issuing work: a request of the caller (spin detector) */
  store_work_t *wk = item_get(s);
  wk->kind = kind;
  wk->fn = fn;
  wk->arg = arg;
  wk->val = val;
  wk->drop = drop;
  wk->state = W_QUEUED;
  wk->refs = 1;
  wk->enq_at = sim_now(s->w);
  enqueue(s, wk);
  sim_mutex_unlock(s->lock);
  return 0;
}

/* ---- direct requests ----------------------------------------------------------------
 * A caller whose request finds a free task needs no thread of its own: it
 * would only wait for the task's answer or for its own timeout. The item
 * carries whom to answer; the task answers when it completes it
 * (item_complete), or the list's thread at the deadline (the item is then
 * withdrawn if still queued, as store_call does, or left to finish alone,
 * as with `detach`), whichever comes first. A list holds its unanswered
 * items by deadline; its thread sleeps until the first one's. An item's
 * states on the list, under s->lock:
 *
 *   (new)  -> LISTED    store_call_direct
 *   LISTED -> ANSWERED  a task completes it, or the store fails it while
 *                       queued [item_complete]; its deadline passes
 *                       [deadlines_main]
 *
 * The list holds one reference to the item (the caller's), dropped when it
 * is answered. */
struct store_deadlines {
  store_t *s;
  sim_cond_t *cv;            /* its thread waits here */
  store_work_t *head, *tail; /* unanswered items, by deadline */
  sim_time_t sleep_until;    /* its thread's wake-up time; SIM_TIME_MAX: none */
};

/* LISTED -> ANSWERED. Caller holds s->lock. */
static void direct_answer(store_t *s, store_work_t *wk, int rc) {
  store_deadlines_t *dl = wk->dl;
  if (wk->dprev) wk->dprev->dnext = wk->dnext;
  else dl->head = wk->dnext;
  if (wk->dnext) wk->dnext->dprev = wk->dprev;
  else dl->tail = wk->dprev;
  wk->dl = NULL;
  wk->dnext = wk->dprev = NULL;
  if (wk->rpc) rpc_inflight_add(s, -1);
  wk->answer(s, wk->answer_arg, wk->val, rc, wk->enq_at);
  item_unref(s, wk); /* the caller's reference */
}

static void deadlines_main(void *arg) {
  store_deadlines_t *dl = arg;
  store_t *s = dl->s;
  sim_mutex_lock(s->lock);
  for (;;) {
    store_work_t *wk = dl->head;
    sim_time_t now = sim_now(s->w);
    if (wk && wk->deadline <= now) {
      if (wk->state == W_QUEUED) { /* withdrawn, as store_call does */
        if (s->busy_since >= 0 && !s->exhausted) exhaustion_detected(s, wk);
        q_remove(s, wk);
        gauges_update(s);
        wk->state = W_DONE;
        wk->rc = SIM_ETIMEDOUT;
        item_unref(s, wk); /* the queue's reference */
      }
      direct_answer(s, wk, SIM_ETIMEDOUT); /* running: it finishes alone */
      continue;
    }
    dl->sleep_until = wk ? wk->deadline : SIM_TIME_MAX;
    int rc =
        wk ? sim_cond_timedwait(dl->cv, s->lock, wk->deadline) : sim_cond_wait(dl->cv, s->lock);
    dl->sleep_until = SIM_TIME_MAX;
    if (rc == SIM_ECANCELED) break;
  }
  sim_mutex_unlock(s->lock);
}

store_deadlines_t *store_deadlines_create(store_t *s, sim_proc_t *p, const char *name) {
  store_deadlines_t *dl = sim_xcalloc(1, sizeof *dl);
  dl->s = s;
  dl->cv = sim_cond_create(s->w, "store.deadlines");
  dl->sleep_until = SIM_TIME_MAX;
  s->dls = sim_xrealloc(s->dls, (size_t)(s->ndls + 1) * sizeof *s->dls);
  s->dls[s->ndls++] = dl;
  sim_thread_spawn(s->w, name, p, deadlines_main, dl);
  return dl;
}

int store_call_direct(store_t *s, store_deadlines_t *dl, store_kind_t kind, store_fn fn,
                      int64_t val, sim_time_t deadline, int rpc, store_answer_fn answer,
                      void *answer_arg) {
  int taken = 0;
  sim_mutex_lock(s->lock);
  sim_time_t now = sim_now(s->w);
  if (s->state == STORE_UP && s->nfree > 0 && !s->q_head && deadline > now &&
      (!rpc || s->rpc_inflight < s->cfg->rpc_limit)) {
    if (rpc) rpc_inflight_add(s, 1);
    store_work_t *wk = item_get(s);
    wk->kind = kind;
    wk->fn = fn;
    wk->val = val;
    wk->state = W_QUEUED;
    wk->refs = 2; /* the list's (the caller's) and the queue's */
    wk->rpc = rpc;
    wk->enq_at = now;
    wk->deadline = deadline;
    wk->answer = answer;
    wk->answer_arg = answer_arg;
    wk->dl = dl;
    wk->dprev = dl->tail; /* by deadline, from the tail */
    while (wk->dprev && wk->dprev->deadline > deadline) wk->dprev = wk->dprev->dprev;
    wk->dnext = wk->dprev ? wk->dprev->dnext : dl->head;
    if (wk->dprev) wk->dprev->dnext = wk;
    else dl->head = wk;
    if (wk->dnext) wk->dnext->dprev = wk;
    else dl->tail = wk;
    if (deadline < dl->sleep_until) { /* its thread must look again */
      sim_cond_signal(dl->cv);
      dl->sleep_until = -1; /* signaled: no need to signal again */
    }
    enqueue(s, wk);
    taken = 1;
  }
  sim_mutex_unlock(s->lock);
  return taken;
}

/* ---- RPC admission ------------------------------------------------------------------ */

int store_rpc_begin(store_t *s) {
  int rc = 0;
  sim_mutex_lock(s->lock);
  if (s->state != STORE_UP) {
    rc = STORE_EDOWN;
  } else if (s->rpc_inflight >= s->cfg->rpc_limit) {
    sim_counter_add(s->m_rpc_refused, 1);
    rc = STORE_EREFUSED;
  } else {
    rpc_inflight_add(s, 1);
  }
  sim_mutex_unlock(s->lock);
  return rc;
}

void store_rpc_end(store_t *s) {
  sim_mutex_lock(s->lock);
  rpc_inflight_add(s, -1);
  sim_mutex_unlock(s->lock);
}

/* A task finished the RPC wk: the store-side latency of one completed RPC
 * packet, into the last-1,024 window. Caller holds s->lock. */
static void rpc_completed(store_t *s, const store_work_t *wk) {
  sim_time_t ns = sim_now(s->w) - wk->enq_at;
  sim_counter_add(s->m_rpc_ops, 1);
  sim_sample_add(s->m_rpc_latency, (double)ns / (double)SIM_MS);
  /* the window's sum and slow count are kept as the ring turns (integer
   * nanoseconds: exact, whatever the order) instead of summing 1,024 values
   * per RPC */
  if (s->rpc_ring_n == STORE_RPC_WINDOW) {
    sim_time_t old = s->rpc_ring[s->rpc_ring_i];
    s->rpc_ring_sum -= old;
    s->rpc_ring_slow -= old > STORE_RPC_SLOW;
  } else {
    s->rpc_ring_n++;
  }
  s->rpc_ring[s->rpc_ring_i] = ns;
  s->rpc_ring_sum += ns;
  s->rpc_ring_slow += ns > STORE_RPC_SLOW;
  s->rpc_ring_i = (s->rpc_ring_i + 1) % STORE_RPC_WINDOW;
  sim_gauge_set(s->m_rpc_avg_latency, (double)s->rpc_ring_sum / (double)SIM_MS / s->rpc_ring_n);
  sim_gauge_set(s->m_rpc_slow, s->rpc_ring_slow);
}

/* ---- restart and shutdown ----------------------------------------------------------- */

/* UP -> DOWN: fails queued work, tells tasks to stop, calls the down hooks,
 * waits for the tasks until `timeout`. Returns the number of tasks still
 * alive. */
static int store_go_down(store_t *s, sim_time_t timeout) {
  sim_mutex_lock(s->lock);
  s->state = STORE_DOWN;
  sim_gauge_set(s->m_up, 0);
  sim_trace_emit(s->w, "store.down", "store", (int64_t)s->q_len);
  /* queued work fails */
  store_work_t *drops = NULL;
  while (s->q_head) {
    store_work_t *wk = s->q_head;
    q_remove(s, wk);
    if (wk->drop) {
      wk->next = drops; /* run drops without the lock */
      drops = wk;
      wk->state = W_DONE;
    } else {
      item_complete(s, wk, STORE_EDOWN);
    }
  }
  for (int i = 0; i < s->ntasks; i++) {
    store_task_t *t = &s->tasks[i];
    if (t->alive) {
      t->stop = 1;
      sim_thread_cancel(t->th);
    }
  }
  sim_cond_broadcast(s->work_cv);
  gauges_update(s);
  sim_mutex_unlock(s->lock);
  while (drops) {
    store_work_t *wk = drops;
    drops = wk->next;
    wk->drop(s, wk->arg, wk->val);
    sim_mutex_lock(s->lock);
    wk->refs = 1;
    item_unref(s, wk);
    sim_mutex_unlock(s->lock);
  }
  /* every open transaction's pages go with the arena */
  sim_mutex_lock(s->lock);
  s->vs_gen++;
  s->vs_used = 0;
  sim_gauge_set(s->m_vs_bytes, 0);
  sim_mutex_unlock(s->lock);
  for (int i = 0; i < s->ncomp; i++)
    if (s->comp[i]->down) s->comp[i]->down(s, s->comp_self[i]);

  sim_time_t deadline = sim_now(s->w) + timeout;
  sim_mutex_lock(s->lock);
  while (s->nlive > 0) {
    if (sim_cond_timedwait(s->exit_cv, s->lock, deadline) != 0) break;
  }
  int left = s->nlive;
  sim_mutex_unlock(s->lock);
  return left;
}

int store_restart(store_t *s, sim_time_t timeout) {
  sim_mutex_lock(s->lock);
  if (s->state != STORE_UP) {
    sim_mutex_unlock(s->lock);
    return STORE_EDOWN;
  }
  sim_mutex_unlock(s->lock);
  sim_counter_add(s->m_restarts, 1);
  int left = store_go_down(s, timeout);
  if (left > 0) {
    size_t n = 16384;
    char *buf = sim_xcalloc(1, n);
    char tb[64];
    store__appendf(buf, n,
                   "storesim: RESTART: %d tasks did not stop within %s; the "
                   "store process was killed\n",
                   left, store__fmt_time(timeout, tb, sizeof tb));
    sim_mutex_lock(s->lock);
    store__describe_tasks(s, buf, n);
    /* Abandon them: they keep their thread and their (old) task array but
     * no longer count; tasks_start bumps the generation they check. */
    s->nlive = 0;
    s->nfree = 0;
    sim_mutex_unlock(s->lock);
    sim_world_file_report(s->w, "restart", buf, NULL, 0);
    free(buf);
  }
  /* A new process image: the arena is reset, every allocation is gone. */
  sim_proc_reset(s->proc);
  sim_gauge_set(s->m_mem, (double)sim_proc_mem_used(s->proc));
  if (s->cfg->restart_time > 0) sim_sleep(s->cfg->restart_time);
  for (int i = 0; i < s->ncomp; i++)
    if (s->comp[i]->up) s->comp[i]->up(s, s->comp_self[i]);
  sim_mutex_lock(s->lock);
  s->nfree = 0;
  s->nlive = 0;
  memset(s->busy_by_kind, 0, (size_t)s->nkinds * sizeof *s->busy_by_kind);
  for (int k = 0; k < s->nkinds; k++) sim_gauge_set(s->m_tasks_busy_kind[k], 0);
  s->rpc_inflight = 0;
  sim_gauge_set(s->m_rpc_requests, 0);
  tasks_start(s);
  s->state = STORE_UP;
  sim_gauge_set(s->m_up, 1);
  sim_trace_emit(s->w, "store.up", "store", (int64_t)s->gen);
  sim_mutex_unlock(s->lock);
  return left > 0 ? SIM_ETIMEDOUT : 0;
}

int store_shutdown(store_t *s, sim_time_t timeout) {
  sim_mutex_lock(s->lock);
  if (s->state != STORE_UP) {
    sim_mutex_unlock(s->lock);
    return STORE_EDOWN;
  }
  sim_mutex_unlock(s->lock);
  sim_time_t t0 = sim_now(s->w);
  int left = store_go_down(s, timeout);
  sim_mutex_lock(s->lock);
  s->state = STORE_DEAD;
  size_t n = 16384;
  char *buf = sim_xcalloc(1, n);
  char tb[64], tb2[64];
  if (left == 0) {
    store__appendf(buf, n, "storesim: SHUTDOWN: store shut down in %s (timeout %s)\n",
                   store__fmt_time(sim_now(s->w) - t0, tb, sizeof tb),
                   store__fmt_time(timeout, tb2, sizeof tb2));
    sim_gauge_set(s->m_shutdown_completed, 1);
    sim_gauge_set(s->m_shutdown_time,
                  (double)(sim_now(s->w) - t0) / (double)SIM_SEC);
  } else {
    store__appendf(buf, n,
                   "storesim: SHUTDOWN: store did not shut down within %s: "
                   "%d tasks remain\n",
                   store__fmt_time(timeout, tb, sizeof tb), left);
    store__describe_tasks(s, buf, n);
    sim_gauge_set(s->m_shutdown_completed, 0);
  }
  for (int i = 0; i < s->ncomp; i++)
    if (s->comp[i]->report) s->comp[i]->report(s, s->comp_self[i], buf, n);
  sim_mutex_unlock(s->lock);
  sim_world_file_report(s->w, "shutdown", buf, NULL, 0);
  free(buf);
  return left == 0 ? 0 : SIM_ETIMEDOUT;
}

/* ---- spins of store tasks ---------------------------------------------------------- */

/* Counts the kernel's spin reports whose thread is a store task. Reports
 * are only ever appended, so a rescan is exact. */
static void spin_tasks_count(store_t *s) {
  double n = 0;
  size_t nr = sim_world_nreports(s->w);
  for (size_t i = 0; i < nr; i++) {
    const sim_report_t *r = sim_world_report(s->w, i);
    if (r->kind == SIM_R_SPIN && r->nthreads > 0) {
      const char *nm = sim_world_thread_name(s->w, r->threads[0]);
      if (nm && !strncmp(nm, "store-task-", 11)) n++;
    }
  }
  sim_gauge_set(s->m_spin_tasks, n);
}

/* ---- sampler ----------------------------------------------------------------------- */

static void sampler_main(void *arg) {
  store_t *s = arg;
  sim_time_t iv = sim_world_sample_interval(s->w);
  if (iv <= 0) iv = SIM_MIN;
  sim_time_t next = sim_now(s->w); /* every iv, start to start */
  for (;;) {
    if (store_arrival_wait(&next, iv) != 0) return;
    sim_mutex_lock(s->lock);
    double age = s->q_head
                     ? (double)(sim_now(s->w) - s->q_head->enq_at) / SIM_SEC
                     : 0.0;
    sim_gauge_set(s->m_queue_oldest, age);
    sim_mutex_unlock(s->lock);
    sim_gauge_set(s->m_mem, (double)sim_proc_mem_used(s->proc));
    sim_gauge_set(s->m_cpu, (double)sim_proc_cpu_busy(s->proc) / SIM_SEC);
    for (int i = 0; i < s->ncomp; i++)
      if (s->comp[i]->sample) s->comp[i]->sample(s, s->comp_self[i]);
    spin_tasks_count(s);
  }
}

/* ---- life cycle ----------------------------------------------------------------------- */

store_t *store_create(sim_world_t *w, const store_assembly_t *as, const void *cfgp, uint64_t fixes,
                      char *err, size_t nerr) {
  const store_config_t *cfg = cfgp;
  char vname[32];
  snprintf(vname, sizeof vname, "%.15g", cfg->version);
  int version = store__version_parse(vname);
  if (version < 0) {
    if (err) snprintf(err, nerr, "store.version %s: the store model has 2003 and 5.5", vname);
    return NULL;
  }
  if (cfg->tasks < 1 || cfg->tasks > STORE_TASKS_MAX) {
    if (err) snprintf(err, nerr, "store.tasks must be in [1, %d]", STORE_TASKS_MAX);
    return NULL;
  }
  store_t *s = sim_calloc(1, sizeof *s);
  size_t size = store__config_size(as);
  void *copy = sim_malloc(size);
  int nkinds = store__nkinds(as);
  int *busy = sim_calloc((size_t)nkinds, sizeof *busy);
  sim_metric_t **mbusy = sim_calloc((size_t)nkinds, sizeof *mbusy);
  if (!s || !copy || !busy || !mbusy) {
    if (err) snprintf(err, nerr, "out of host memory");
    free(s);
    free(copy);
    free(busy);
    free(mbusy);
    return NULL;
  }
  memcpy(copy, cfgp, size);
  s->w = w;
  s->as = as;
  s->cfg = copy;
  s->nkinds = nkinds;
  s->busy_by_kind = busy;
  s->m_tasks_busy_kind = mbusy;
  s->fixes = fixes;
  s->version = version;
  s->proc = sim_proc_create(w, "store", (size_t)cfg->memory_limit);
  if (!s->proc) {
    if (err) snprintf(err, nerr, "cannot create the store process arena");
    store_destroy(s);
    return NULL;
  }
  s->lock = sim_mutex_create(w, "store.lock");
  s->work_cv = sim_cond_create(w, "store.work");
  s->exit_cv = sim_cond_create(w, "store.exit");
  s->exhausted_at = -1;
  s->busy_since = -1;

  s->m_tasks_total = sim_metric(w, "tasks.total", SIM_M_GAUGE, "");
  s->m_tasks_free = sim_metric(w, "tasks.free", SIM_M_GAUGE, "");
  s->m_tasks_busy = sim_metric(w, "tasks.busy", SIM_M_GAUGE, "");
  s->m_free_low = sim_metric(w, "tasks.free_low", SIM_M_GAUGE, "");
  for (int k = 0; k < s->nkinds; k++) {
    char name[64];
    snprintf(name, sizeof name, "tasks.busy.%s", store__kind_name(s->as, k));
    s->m_tasks_busy_kind[k] = sim_metric(w, name, SIM_M_GAUGE, "");
  }
  s->m_tasks_queue = sim_metric(w, "tasks.queue", SIM_M_GAUGE, "");
  s->m_queue_wait = sim_metric(w, "tasks.queue_wait", SIM_M_SAMPLE, "ms");
  s->m_queue_oldest = sim_metric(w, "tasks.queue_oldest", SIM_M_GAUGE, "s");
  s->m_exhausted_at = sim_metric(w, "tasks.exhausted_at", SIM_M_GAUGE, "s");
  s->m_exhaustions = sim_metric(w, "tasks.exhaustions", SIM_M_COUNTER, "");
  s->m_rpc_requests = sim_metric(w, "rpc.requests", SIM_M_GAUGE, "");
  s->m_rpc_refused = sim_metric(w, "rpc.refused", SIM_M_COUNTER, "");
  s->m_rpc_latency = sim_metric(w, "rpc.latency", SIM_M_SAMPLE, "ms");
  s->m_rpc_avg_latency =
      sim_metric(w, "rpc.averaged_latency", SIM_M_GAUGE, "ms");
  s->m_rpc_slow = sim_metric(w, "rpc.slow_packets", SIM_M_GAUGE, "");
  s->m_rpc_ops = sim_metric(w, "rpc.operations", SIM_M_COUNTER, "");
  s->m_up = sim_metric(w, "store.up", SIM_M_GAUGE, "");
  s->m_restarts = sim_metric(w, "store.restarts", SIM_M_COUNTER, "");
  s->m_shutdown_completed =
      sim_metric(w, "store.shutdown_completed", SIM_M_GAUGE, "");
  s->m_shutdown_time = sim_metric(w, "store.shutdown_time", SIM_M_GAUGE, "s");
  s->m_mem = sim_metric(w, "store.memory", SIM_M_GAUGE, "B");
  s->m_cpu = sim_metric(w, "store.cpu_time", SIM_M_GAUGE, "s");
  s->m_spin_tasks = sim_metric(w, "detect.spins_store_tasks", SIM_M_GAUGE, "");
  s->m_vs_bytes = sim_metric(w, "version_store.bytes", SIM_M_GAUGE, "B");
  s->m_vs_full = sim_metric(w, "version_store.full", SIM_M_COUNTER, "");
  sim_gauge_set(s->m_tasks_total, (double)cfg->tasks);
  sim_gauge_set(s->m_exhausted_at, -1);
  sim_gauge_set(s->m_up, 1);
  sim_gauge_set(s->m_shutdown_completed, -1);

  s->ntasks = (int)cfg->tasks;
  s->free_low = s->ntasks;
  sim_gauge_set(s->m_free_low, s->free_low);
  s->state = STORE_UP;
  tasks_start(s);
  s->sampler = sim_thread_spawn(w, "store-sampler", s->proc, sampler_main, s);
  return s;
}

void store_component_add(store_t *s, const store_component_t *c, void *self) {
  if (s->ncomp >= STORE_MAX_COMPONENTS) {
    fprintf(stderr, "storesim: store_component_add: too many components\n");
    abort();
  }
  s->comp[s->ncomp] = c;
  s->comp_self[s->ncomp] = self;
  s->ncomp++;
}

void store_finish(store_t *s) {
  if (!s || s->finished) return;
  s->finished = 1;
  for (int i = 0; i < s->ncomp; i++)
    if (s->comp[i]->finish) s->comp[i]->finish(s, s->comp_self[i]);
  sim_gauge_set(s->m_mem, (double)sim_proc_mem_used(s->proc));
  sim_gauge_set(s->m_cpu, (double)sim_proc_cpu_busy(s->proc) / SIM_SEC);
  spin_tasks_count(s);
}

void store_destroy(store_t *s) {
  if (!s) return;
  for (int i = s->ncomp - 1; i >= 0; i--)
    if (s->comp[i]->destroy) s->comp[i]->destroy(s->comp_self[i]);
  for (size_t i = 0; i < s->nall; i++) free(s->all_items[i]);
  free(s->all_items);
  for (int i = 0; s->tasks && i < s->ntasks; i++) free(s->tasks[i].txn.pages);
  free(s->tasks);
  for (int i = 0; i < s->nold; i++) {
    for (int k = 0; k < s->ntasks; k++) free(s->old_tasks[i][k].txn.pages);
    free(s->old_tasks[i]);
  }
  free(s->old_tasks);
  for (int i = 0; i < s->ndls; i++) free(s->dls[i]);
  free(s->dls);
  free(s->busy_by_kind);
  free(s->m_tasks_busy_kind);
  free((void *)s->cfg);
  free(s);
}
