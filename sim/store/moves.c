/*
 * storesim store model: mailbox moves (the Move Mailbox wizard).
 *
 * A move task with workload.moves.threads threads starts at workload.moves.at
 * and moves workload.moves.count mailboxes. Each thread takes the next
 * mailbox, copies it on a store task (store_call, kind "move", holding the
 * task for a per_mailbox draw), and, once it is copied, has the store register
 * a transit mail flush for it (store__mta_register_flush). A copy that fails
 * because the store is down is counted and the mailbox skipped.
 *
 * Mailbox states (under mv->lock): PENDING -> COPYING -> MOVED | FAILED.
 * Only counters are kept: next (first PENDING), moved, failed, active.
 */
#include <stdio.h>
#include <stdlib.h>

#include "storesim/alloc.h"
#include "store_int.h"

struct store_moves {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  sim_rng_t rng;
  int64_t next, active;
  sim_metric_t *m_done, *m_failed, *m_active, *m_copy_time;
};

/* Copies one mailbox: its writes hold a version store page until the copy
 * commits (full: 0x8004060C, the move of this mailbox fails). */
static int copy_fn(store_t *s, void *arg, int64_t d) {
  (void)arg;
  int rc = store_vs_write(s, store_txn_self(s));
  if (rc != 0) return rc;
  if (sim_sleep((sim_time_t)d) != 0) return STORE_EDOWN;
  return 0;
}

static void move_main(void *arg) {
  struct store_moves *mv = arg;
  store_t *s = mv->s;
  if (sim_sleep_until(s->cfg->moves_at) != 0) return;
  for (;;) {
    sim_mutex_lock(mv->lock);
    if (mv->next >= s->cfg->moves_count) {
      sim_mutex_unlock(mv->lock);
      return;
    }
    int64_t mailbox = mv->next++;
    sim_time_t d =
        (sim_time_t)sim_dist_sample(&s->cfg->moves_per_mailbox, &mv->rng);
    mv->active++;
    sim_gauge_set(mv->m_active, (double)mv->active);
    sim_mutex_unlock(mv->lock);

    sim_time_t t0 = sim_now(s->w);
    int rc = store_call(s, STORE_K_MOVE, copy_fn, NULL, d, SIM_TIME_MAX, 0);
    if (rc == 0) rc = store__mta_register_flush(s, (uint64_t)mailbox);

    sim_mutex_lock(mv->lock);
    mv->active--;
    sim_gauge_set(mv->m_active, (double)mv->active);
    if (rc == 0) {
      sim_counter_add(mv->m_done, 1);
      sim_sample_add(mv->m_copy_time,
                     (double)(sim_now(s->w) - t0) / (double)SIM_SEC);
      sim_progress();
    } else {
      sim_counter_add(mv->m_failed, 1);
    }
    sim_mutex_unlock(mv->lock);
    if (rc == STORE_EDOWN) sim_sleep(SIM_MIN); /* wait for the store */
  }
}

static void moves_destroy(void *self) { free(self); }

static const store_component_t moves_component = {
    .name = "moves",
    .destroy = moves_destroy,
};

static int moves_init(store_t *s, char *err, size_t nerr) {
  struct store_moves *mv = sim_calloc(1, sizeof *mv);
  if (!mv) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  mv->s = s;
  mv->proc = sim_proc_create(w, "moves", 0);
  mv->lock = sim_mutex_create(w, "moves.lock");
  store_rng(s, &mv->rng, "store.moves");
  mv->m_done = sim_metric(w, "moves.completed", SIM_M_COUNTER, "");
  mv->m_failed = sim_metric(w, "moves.failed", SIM_M_COUNTER, "");
  mv->m_active = sim_metric(w, "moves.active", SIM_M_GAUGE, "");
  mv->m_copy_time = sim_metric(w, "moves.copy_time", SIM_M_SAMPLE, "s");
  s->moves = mv;
  store_component_add(s, &moves_component, mv);
  if (s->cfg->moves_count > 0) {
    for (int64_t i = 0; i < s->cfg->moves_threads; i++) {
      char name[48];
      snprintf(name, sizeof name, "move-thread-%d", (int)i);
      sim_thread_spawn(w, name, mv->proc, move_main, mv);
    }
  }
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t moves_params[] = {
    {"workload.moves.at", SIM_P_DURATION, STORE_CFG(moves_at), 0, STORE_TMAX, "30m",
     "When the mailbox moves start."},
    {"workload.moves.count", SIM_P_INT, STORE_CFG(moves_count), 0, 10000000, "0",
     "Mailboxes to move (0: no moves).", .shrinkable = true},
    {"workload.moves.threads", SIM_P_INT, STORE_CFG(moves_threads), 1, 64, "4",
     "Threads of the move task (Move Mailbox wizard default 4).", .shrinkable = true},
    {"workload.moves.per_mailbox", SIM_P_DIST_TIME, STORE_CFG(moves_per_mailbox), 0, STORE_TMAX,
     "uniform(18s, 22s)", "Task time to copy one mailbox; a flush is registered after each."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t moves_metrics[] = {
    {"moves.completed", SIM_M_COUNTER, "",
     "mailboxes copied (and their flush registered or skipped)"},
    {"moves.failed", SIM_M_COUNTER, "", "mailboxes whose copy failed (store down)"},
    {"moves.active", SIM_M_GAUGE, "", "move threads copying now"},
    {"moves.copy_time", SIM_M_SAMPLE, "s", "wait for a task plus copy time, per mailbox"},
    {NULL, 0, NULL, NULL}};

static const char *const moves_kinds[] = {"move", NULL};

const store_mech_t store_moves_mech = {
    .part = {.name = "moves",
             .title = "Mailbox moves",
             .file = "sim/store/moves.c",
             .metrics = moves_metrics,
             .plots = NULL},
    .params = moves_params,
    .kinds = moves_kinds,
    .init = moves_init,
    /* the Exchange 2003 Move Mailbox wizard, which registers transit flushes (KB924567) */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
