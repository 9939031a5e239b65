/*
 * storesim store model: IMAIL content conversion and the Q279798
 * deadlock (Exchange 5.5 SP3/SP4).
 *
 * IMAIL converts between MIME and MAPI on store tasks (kind "imail"), on two
 * code paths that both take two critical sections, kernel mutexes of lock
 * classes "imail.cs_content" (A) and "imail.cs_charset" (B):
 *   inbound  (Internet Mail Service -> store): A, then B;
 *   outbound (POP3/IMAP4/NNTP reads)         : B, then A without the q279798
 *                                              fix; A, then B with it.
 * Between taking the first and the second a conversion burns
 * store.imail.inner_cpu (a scheduling point even when 0), so two conversions
 * that overlap there can each hold one section and wait for the other: the
 * kernel's wait-for detector reports a cycle of exactly those two threads,
 * and the lock-order validator reports the inversion the first time both
 * orders are seen, deadlock or not. Every later conversion blocks behind the
 * stuck pair, holding its task; the IMS queue grows; a shutdown cannot stop
 * tasks blocked on a mutex (kernel mutex waits are not interruptible, like
 * EnterCriticalSection), so it times out and its report lists what each
 * conversion holds and wants.
 *
 * Store versions: IMAIL is part of both (the store's content converter);
 * Q279798 is an Exchange 5.5 bug and its scenario runs on store.version 5.5,
 * where the IMS also has an outbound queue (ims.c) whose messages take the
 * outbound path (store__imail_conv_out) and no SMTP local delivery exists.
 * On 2003 the inbound path is kept as it was (bad-day runs it there).
 * Every completed conversion is counted per path: imail.conversions.
 * ims_inbound, .read (POP3/IMAP4/NNTP), .ims_outbound (ims.c).
 *
 * Inbound messages arrive at workload.imail.inbound_rate into the IMS queue
 * (accepted, not yet converted); store.imail.ims_threads IMS inbound threads
 * take them one at a time and convert each on a store task (store_call).
 * Outbound reads come from reader threads (process "ims") that queue the
 * read for one of store.imail.protocol_threads POP3/IMAP4 protocol threads
 * and wait up to workload.imail.timeout. So a deadlock keeps at most those
 * threads' tasks: the IMS queue and the reads back up, other store work
 * goes on. With workload.imail.periodic one
 * clock thread makes an inbound and an outbound arrival at each tick (every
 * 1 / inbound_rate), so both conversions are READY together and whether
 * they interleave is decided by the scheduler alone (the exploration's
 * setting: the kernel runs READY threads before it pops the next event, so
 * two timer wake-ups at one instant would not race).
 *
 * Conversion states (per conversion, in the holder table under im->lock):
 *   CONVERT -> WANT_FIRST -> HOLD_FIRST (wants second) -> HOLD_BOTH -> DONE
 * Locking order: A, B (fixed) and im->lock innermost, never held while
 * blocking on A or B.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

enum { DIR_IN, DIR_OUT };
enum { C_CONVERT, C_WANT_FIRST, C_HOLD_FIRST, C_HOLD_BOTH, C_DONE };

typedef struct imail_conv {
  struct store_imail *im;
  struct imail_conv *next, *prev; /* holder table: active conversions */
  uint64_t id;
  int dir;
  int state;
  uint64_t thread;          /* task thread id while active */
  const char *thread_name;
  sim_mutex_t *first, *second;
  sim_time_t convert_cpu, inner_cpu, locked_cpu;
  int queued;               /* inbound: counted in the IMS queue */
  struct imail_conv *qnext; /* IMS queue / read queue link */
  sim_time_t arrived, deadline; /* outbound: the reader's */
  int abandoned, done, rc;  /* outbound: reader gave up; result */
  sim_metric_t *counted;    /* imail.conversions.<path>, on completion */
  const char *path;         /* for reports: "IMS inbound", "POP3/IMAP4 read", ... */
} conv_t;

struct store_imail {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *cs_a, *cs_b;
  sim_mutex_t *lock;
  sim_cond_t *in_cv, *out_cv, *done_cv;
  conv_t *in_head, *in_tail;   /* the IMS queue, not yet taken */
  conv_t *out_head, *out_tail; /* reads waiting for a protocol thread */
  int stopped;              /* the IMS stopped with the store */
  conv_t *active;           /* holder table */
  int64_t nactive, blocked, ims_queue;
  conv_t **all;             /* ledger, freed at destroy */
  size_t nall, capall;
  uint64_t next_id;
  struct igen {
    struct store_imail *im;
    int dir;
    double rate;
    sim_rng_t rng;
  } gen[2];
  sim_metric_t *m_in_received, *m_in_converted, *m_queue, *m_in_refused;
  sim_metric_t *m_out_requests, *m_out_completed, *m_out_timeouts;
  sim_metric_t *m_out_failed, *m_active, *m_blocked, *m_latency;
  sim_metric_t *m_cycle_threads, *m_cycle_conv, *m_stuck;
  sim_metric_t *m_conv_in, *m_conv_read; /* imail.conversions.ims_inbound, .read */
};

static const char *lock_name(sim_mutex_t *m) { return sim_mutex_name(m); }

/* ---- holder table (caller holds im->lock) -------------------------------------- */

static void active_add(struct store_imail *im, conv_t *c) {
  c->prev = NULL;
  c->next = im->active;
  if (im->active) im->active->prev = c;
  im->active = c;
  im->nactive++;
  sim_gauge_set(im->m_active, (double)im->nactive);
}

static void active_remove(struct store_imail *im, conv_t *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    im->active = c->next;
  if (c->next) c->next->prev = c->prev;
  c->next = c->prev = NULL;
  im->nactive--;
  sim_gauge_set(im->m_active, (double)im->nactive);
}

static void set_state(struct store_imail *im, conv_t *c, int st) {
  sim_mutex_lock(im->lock);
  int was_blocked = c->state == C_WANT_FIRST || c->state == C_HOLD_FIRST;
  int is_blocked = st == C_WANT_FIRST || st == C_HOLD_FIRST;
  c->state = st;
  im->blocked += is_blocked - was_blocked;
  sim_gauge_set(im->m_blocked, (double)im->blocked);
  sim_mutex_unlock(im->lock);
}

/* ---- the conversion, on a store task ----------------------------------------------- */

/* Returns 0, or STORE_EDOWN when the store went down (canceled) before the
 * critical sections; once in them it finishes them (or stays blocked). */
static int convert(store_t *s, conv_t *c) {
  struct store_imail *im = c->im;
  sim_thread_t *self = sim_self();
  sim_mutex_lock(im->lock);
  c->thread = sim_thread_id(self);
  c->thread_name = sim_thread_name(self);
  c->state = C_CONVERT;
  active_add(im, c);
  sim_mutex_unlock(im->lock);

  int rc = sim_cpu_burn(c->convert_cpu);
  if (rc == 0) {
    int ordered = c->dir == DIR_IN || store_has_fix(s, STORE_FIX_Q279798);
    c->first = ordered ? im->cs_a : im->cs_b;
    c->second = ordered ? im->cs_b : im->cs_a;
    set_state(im, c, C_WANT_FIRST);
    sim_mutex_lock(c->first);
    set_state(im, c, C_HOLD_FIRST);
    rc = sim_cpu_burn(c->inner_cpu); /* scheduling point even when 0 */
    if (rc == 0) {
      sim_mutex_lock(c->second);
      set_state(im, c, C_HOLD_BOTH);
      rc = sim_cpu_burn(c->locked_cpu);
      sim_mutex_unlock(c->second);
    }
    sim_mutex_unlock(c->first);
  }
  sim_mutex_lock(im->lock);
  if (c->state == C_HOLD_FIRST) { /* canceled between the sections */
    im->blocked--;
    sim_gauge_set(im->m_blocked, (double)im->blocked);
  }
  c->state = C_DONE;
  active_remove(im, c);
  if (rc == 0 && c->counted) sim_counter_add(c->counted, 1);
  if (rc == 0 && c->dir == DIR_IN) {
    sim_counter_add(im->m_in_converted, 1);
    if (c->queued) {
      c->queued = 0;
      im->ims_queue--;
      sim_gauge_set(im->m_queue, (double)im->ims_queue);
    }
  }
  sim_mutex_unlock(im->lock);
  return rc == 0 ? 0 : STORE_EDOWN;
}

static int convert_fn(store_t *s, void *arg, int64_t val) {
  return convert(s, arg);
}

/* ---- arrivals ---------------------------------------------------------------------- */

static conv_t *conv_new(struct store_imail *im, int dir, sim_rng_t *r) {
  const store_config_t *cfg = im->s->cfg;
  conv_t *c = sim_xcalloc(1, sizeof *c);
  c->im = im;
  c->dir = dir;
  c->counted = dir == DIR_IN ? im->m_conv_in : im->m_conv_read;
  c->path = dir == DIR_IN ? "IMS inbound" : "POP3/IMAP4 read";
  c->convert_cpu = (sim_time_t)sim_dist_sample(&cfg->imail_convert_cpu, r);
  c->inner_cpu = (sim_time_t)sim_dist_sample(&cfg->imail_inner_cpu, r);
  c->locked_cpu = (sim_time_t)sim_dist_sample(&cfg->imail_locked_cpu, r);
  sim_mutex_lock(im->lock);
  c->id = ++im->next_id;
  if (im->nall == im->capall) {
    im->capall = im->capall ? 2 * im->capall : 256;
    im->all = sim_xrealloc(im->all, im->capall * sizeof *im->all);
  }
  im->all[im->nall++] = c;
  sim_mutex_unlock(im->lock);
  return c;
}

/* Caller holds im->lock. */
static void q_append(conv_t **head, conv_t **tail, conv_t *c) {
  c->qnext = NULL;
  if (*tail)
    (*tail)->qnext = c;
  else
    *head = c;
  *tail = c;
}

static conv_t *q_pop(conv_t **head, conv_t **tail) {
  conv_t *c = *head;
  *head = c->qnext;
  if (!*head) *tail = NULL;
  c->qnext = NULL;
  return c;
}

/* An IMS inbound thread: takes the oldest message of the IMS queue and
 * converts it on a store task, waiting as long as it takes (a conversion
 * stuck on a critical section keeps the thread: the queue backs up). */
static void ims_thread_main(void *arg) {
  struct store_imail *im = arg;
  store_t *s = im->s;
  sim_mutex_lock(im->lock);
  for (;;) {
    while (!im->in_head && !im->stopped)
      if (sim_cond_wait(im->in_cv, im->lock) != 0) goto out;
    if (im->stopped) break;
    conv_t *c = q_pop(&im->in_head, &im->in_tail);
    sim_mutex_unlock(im->lock);
    int rc = store_call(s, STORE_K_IMAIL, convert_fn, c, 0, SIM_TIME_MAX, 0);
    sim_mutex_lock(im->lock);
    if (rc == 0) {
      sim_progress();
    } else {
      /* not converted: back to the head of the queue, tried again (after a
       * restart if the store went down) */
      c->qnext = im->in_head;
      im->in_head = c;
      if (!im->in_tail) im->in_tail = c;
    }
  }
out:
  sim_mutex_unlock(im->lock);
}

/* A POP3/IMAP4 protocol thread: serves the oldest read whose client still
 * waits, converting the message on a store task. */
static void protocol_thread_main(void *arg) {
  struct store_imail *im = arg;
  store_t *s = im->s;
  sim_mutex_lock(im->lock);
  for (;;) {
    while (!im->out_head && !im->stopped)
      if (sim_cond_wait(im->out_cv, im->lock) != 0) goto out;
    if (im->stopped) break;
    conv_t *c = q_pop(&im->out_head, &im->out_tail);
    if (c->abandoned) continue;
    sim_mutex_unlock(im->lock);
    int rc = store_call(s, STORE_K_IMAIL, convert_fn, c, 0, c->deadline, 0);
    sim_mutex_lock(im->lock);
    c->done = 1;
    c->rc = rc;
    sim_cond_broadcast(im->done_cv);
    if (rc == 0) sim_progress();
  }
out:
  sim_mutex_unlock(im->lock);
}

/* A client reading one message: queues the read and waits for it until its
 * timeout. */
static void reader_main(void *arg) {
  conv_t *c = arg;
  struct store_imail *im = c->im;
  store_t *s = im->s;
  sim_counter_add(im->m_out_requests, 1);
  sim_mutex_lock(im->lock);
  if (im->stopped) { /* the protocol service stopped with the store */
    sim_counter_add(im->m_out_failed, 1);
    sim_mutex_unlock(im->lock);
    return;
  }
  c->arrived = sim_now(s->w);
  c->deadline = c->arrived + s->cfg->imail_timeout;
  q_append(&im->out_head, &im->out_tail, c);
  sim_cond_signal(im->out_cv);
  while (!c->done) {
    if (sim_cond_timedwait(im->done_cv, im->lock, c->deadline) != 0 && !c->done) {
      c->abandoned = 1;
      sim_counter_add(im->m_out_timeouts, 1);
      sim_mutex_unlock(im->lock);
      return;
    }
  }
  int rc = c->rc;
  sim_mutex_unlock(im->lock);
  if (rc == 0) {
    sim_counter_add(im->m_out_completed, 1);
    sim_sample_add(im->m_latency, (double)(sim_now(s->w) - c->arrived) / SIM_MS);
    sim_progress();
  } else if (rc == SIM_ETIMEDOUT) {
    sim_counter_add(im->m_out_timeouts, 1);
  } else {
    sim_counter_add(im->m_out_failed, 1);
  }
}

/* One arrival of direction g->dir: an inbound message enters the IMS queue;
 * an outbound read gets a reader thread. */
static void arrive(struct igen *g) {
  struct store_imail *im = g->im;
  store_t *s = im->s;
  conv_t *c = conv_new(im, g->dir, &g->rng);
  if (g->dir == DIR_OUT) {
    sim_thread_spawn(s->w, "pop3-read", im->proc, reader_main, c);
    return;
  }
  sim_mutex_lock(im->lock);
  if (!im->stopped) {
    c->queued = 1;
    im->ims_queue++;
    sim_gauge_set(im->m_queue, (double)im->ims_queue);
    sim_counter_add(im->m_in_received, 1);
    q_append(&im->in_head, &im->in_tail, c);
    sim_cond_signal(im->in_cv);
  } else {
    sim_counter_add(im->m_in_refused, 1);
  }
  sim_mutex_unlock(im->lock);
}

/* Poisson arrivals of one direction. */
static void generator_main(void *arg) {
  struct igen *g = arg;
  const store_config_t *cfg = g->im->s->cfg;
  int64_t n = 0;
  sim_time_t next = sim_now(g->im->s->w);
  for (;;) {
    if (store_arrival_wait(&next, (sim_time_t)sim_rng_exp(&g->rng, 1e9 / g->rate)) != 0) return;
    arrive(g);
    if (cfg->imail_count > 0 && ++n >= cfg->imail_count) return;
  }
}

/* workload.imail.periodic: one clock for both directions, every
 * 1 / inbound_rate. Both arrivals of a tick are made by this one thread
 * before it sleeps again, so their conversions are READY together and the
 * scheduler alone decides how they interleave. */
static void clock_main(void *arg) {
  struct store_imail *im = arg;
  const store_config_t *cfg = im->s->cfg;
  sim_time_t gap = (sim_time_t)(1e9 / cfg->imail_inbound_rate);
  sim_time_t next = sim_now(im->s->w);
  for (int64_t n = 0; cfg->imail_count <= 0 || n < cfg->imail_count; n++) {
    if (store_arrival_wait(&next, gap) != 0) return;
    arrive(&im->gen[0]);
    arrive(&im->gen[1]);
  }
}

/* ---- for other components (ims.c) -------------------------------------------------- */

store_imail_conv_t *store__imail_conv_out(store_t *s, sim_rng_t *r, sim_metric_t *counted) {
  if (!s->imail) return NULL;
  conv_t *c = conv_new(s->imail, DIR_OUT, r);
  c->counted = counted;
  c->path = "IMS outbound";
  return c;
}

int store__imail_convert(store_t *s, store_imail_conv_t *c) { return convert(s, c); }

/* ---- deadlock members ---------------------------------------------------------------- */

/* Publishes the size of the first wait-for cycle the kernel reported and how
 * many of its threads are conversions holding one section and wanting the
 * other, by this component's own holder table. `lock`: take im->lock (from a
 * simulated thread). */
static void cycle_check(store_t *s, struct store_imail *im, int lock) {
  size_t nr = sim_world_nreports(s->w);
  for (size_t i = 0; i < nr; i++) {
    const sim_report_t *r = sim_world_report(s->w, i);
    if (r->kind != SIM_R_DEADLOCK) continue;
    int nconv = 0;
    if (lock) sim_mutex_lock(im->lock);
    for (size_t k = 0; k < r->nthreads; k++)
      for (conv_t *c = im->active; c; c = c->next)
        if (c->thread == r->threads[k] && c->state == C_HOLD_FIRST) {
          nconv++;
          break;
        }
    if (lock) sim_mutex_unlock(im->lock);
    sim_gauge_set(im->m_cycle_threads, (double)r->nthreads);
    sim_gauge_set(im->m_cycle_conv, nconv);
    return;
  }
}

/* ---- component hooks ------------------------------------------------------------------ */

/* The IMS inbound threads and the POP3/IMAP4 protocol threads. */
static void spawn_service_threads(struct store_imail *im) {
  const store_config_t *cfg = im->s->cfg;
  for (int64_t i = 0; i < cfg->imail_ims_threads; i++) {
    char name[48];
    snprintf(name, sizeof name, "ims-inbound-%lld", (long long)i);
    sim_thread_spawn(im->s->w, name, im->proc, ims_thread_main, im);
  }
  for (int64_t i = 0; i < cfg->imail_protocol_threads; i++) {
    char name[48];
    snprintf(name, sizeof name, "pop3-thread-%lld", (long long)i);
    sim_thread_spawn(im->s->w, name, im->proc, protocol_thread_main, im);
  }
}

static void imail_down(store_t *s, void *self) {
  struct store_imail *im = self;
  sim_mutex_lock(im->lock);
  im->stopped = 1; /* stopping the services: the IMS stops with the store */
  while (im->out_head) { /* queued reads fail at once */
    conv_t *c = q_pop(&im->out_head, &im->out_tail);
    c->done = 1;
    c->rc = STORE_EDOWN;
  }
  sim_cond_broadcast(im->done_cv);
  sim_cond_broadcast(im->in_cv);
  sim_cond_broadcast(im->out_cv);
  sim_mutex_unlock(im->lock);
}

/* The store is back after a restart: the IMS and the protocols start again
 * (the IMS queue kept its messages). */
static void imail_up(store_t *s, void *self) {
  struct store_imail *im = self;
  sim_mutex_lock(im->lock);
  im->stopped = 0;
  sim_mutex_unlock(im->lock);
  spawn_service_threads(im);
}

static void imail_report(store_t *s, void *self, char *buf, size_t n) {
  struct store_imail *im = self;
  if (sim_mutex_trylock(im->lock) != 0) return;
  if (im->nactive > 0 || im->ims_queue > 0)
    store__appendf(buf, n,
                   "IMAIL: %" PRId64 " conversions in progress, %" PRId64
                   " blocked on a critical section; IMS queue %" PRId64 "\n",
                   im->nactive, im->blocked, im->ims_queue);
  static const char *const dirs[2] = {"inbound", "outbound"};
  for (conv_t *c = im->active; c; c = c->next) {
    if (c->state == C_HOLD_FIRST)
      store__appendf(buf, n,
                     "  T%" PRIu64 " '%s' IMAIL %s conversion #%" PRIu64
                     " (%s): holds '%s', wants '%s'\n",
                     c->thread, c->thread_name, dirs[c->dir], c->id, c->path, lock_name(c->first),
                     lock_name(c->second));
    else if (c->state == C_WANT_FIRST)
      store__appendf(buf, n,
                     "  T%" PRIu64 " '%s' IMAIL %s conversion #%" PRIu64
                     " (%s): holds nothing, wants '%s'\n",
                     c->thread, c->thread_name, dirs[c->dir], c->id, c->path, lock_name(c->first));
  }
  sim_mutex_unlock(im->lock);
}

static void imail_sample(store_t *s, void *self) {
  struct store_imail *im = self;
  cycle_check(s, im, 1);
  sim_mutex_lock(im->lock);
  sim_gauge_set(im->m_stuck, (double)im->blocked);
  sim_mutex_unlock(im->lock);
}

/* The world is not running: no lock needed (nor allowed). */
static void imail_finish(store_t *s, void *self) { cycle_check(s, self, 0); }

static void imail_destroy(void *self) {
  struct store_imail *im = self;
  for (size_t i = 0; i < im->nall; i++) free(im->all[i]);
  free(im->all);
  free(im);
}

static const store_component_t imail_component = {
    .name = "imail",
    .down = imail_down,
    .up = imail_up,
    .report = imail_report,
    .sample = imail_sample,
    .finish = imail_finish,
    .destroy = imail_destroy,
};

static int imail_init(store_t *s, char *err, size_t nerr) {
  const store_config_t *cfg = s->cfg;
  /* IMAIL runs when something converts: its own inbound and read loads, or
   * (Exchange 5.5) the IMS outbound queue of ims.c, built after it */
  int ims_out = s->version == STORE_VERSION_55 && cfg->ims_outbound_rate > 0;
  if (cfg->imail_inbound_rate <= 0 && cfg->imail_outbound_rate <= 0 && !ims_out) return 0;
  struct store_imail *im = sim_calloc(1, sizeof *im);
  if (!im) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  im->s = s;
  im->proc = sim_proc_create(w, "ims", 0);
  im->cs_a = sim_mutex_create(w, "imail.cs_content");
  im->cs_b = sim_mutex_create(w, "imail.cs_charset");
  im->lock = sim_mutex_create(w, "imail.state");
  im->in_cv = sim_cond_create(w, "ims.queue");
  im->out_cv = sim_cond_create(w, "imail.reads");
  im->done_cv = sim_cond_create(w, "imail.read_done");
  im->m_in_received = sim_metric(w, "ims.received", SIM_M_COUNTER, "");
  im->m_in_converted = sim_metric(w, "ims.converted", SIM_M_COUNTER, "");
  im->m_in_refused = sim_metric(w, "ims.refused", SIM_M_COUNTER, "");
  im->m_queue = sim_metric(w, "ims.queue", SIM_M_GAUGE, "");
  im->m_out_requests = sim_metric(w, "imail.reads", SIM_M_COUNTER, "");
  im->m_out_completed =
      sim_metric(w, "imail.reads_completed", SIM_M_COUNTER, "");
  im->m_out_timeouts = sim_metric(w, "imail.reads_timeouts", SIM_M_COUNTER, "");
  im->m_out_failed = sim_metric(w, "imail.reads_failed", SIM_M_COUNTER, "");
  im->m_latency = sim_metric(w, "imail.read_latency", SIM_M_SAMPLE, "ms");
  im->m_active = sim_metric(w, "imail.active", SIM_M_GAUGE, "");
  im->m_blocked = sim_metric(w, "imail.blocked", SIM_M_GAUGE, "");
  im->m_stuck = sim_metric(w, "imail.blocked_sampled", SIM_M_GAUGE, "");
  im->m_cycle_threads =
      sim_metric(w, "imail.cycle_threads", SIM_M_GAUGE, "");
  im->m_cycle_conv =
      sim_metric(w, "imail.cycle_conversions", SIM_M_GAUGE, "");
  im->m_conv_in = sim_metric(w, "imail.conversions.ims_inbound", SIM_M_COUNTER, "");
  im->m_conv_read = sim_metric(w, "imail.conversions.read", SIM_M_COUNTER, "");
  store_component_add(s, &imail_component, im);
  s->imail = im;
  im->gen[0] = (struct igen){im, DIR_IN, cfg->imail_inbound_rate, {{0}}};
  im->gen[1] = (struct igen){im, DIR_OUT, cfg->imail_outbound_rate, {{0}}};
  store_rng(s, &im->gen[0].rng, "store.imail.inbound");
  store_rng(s, &im->gen[1].rng, "store.imail.outbound");
  spawn_service_threads(im);
  if (cfg->imail_periodic) {
    if (cfg->imail_inbound_rate <= 0) {
      if (err)
        snprintf(err, nerr, "workload.imail.periodic needs inbound_rate > 0");
      return SIM_EINVAL;
    }
    sim_thread_spawn(w, "imail-clock", im->proc, clock_main, im);
    return 0;
  }
  for (int i = 0; i < 2; i++)
    if (im->gen[i].rate > 0)
      sim_thread_spawn(w, i ? "pop3-clients" : "ims-inbound", im->proc,
                       generator_main, &im->gen[i]);
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t imail_params[] = {
    {"workload.imail.inbound_rate", SIM_P_RATE, STORE_CFG(imail_inbound_rate), 0, 10000, "0/s",
     "Internet Mail Service inbound messages per second, converted by IMAIL "
     "on a store task.",
     .shrinkable = true},
    {"workload.imail.outbound_rate", SIM_P_RATE, STORE_CFG(imail_outbound_rate), 0, 10000, "0/s",
     "POP3/IMAP4/NNTP message reads per second, converted by IMAIL on a store "
     "task.",
     .shrinkable = true},
    {"workload.imail.count", SIM_P_INT, STORE_CFG(imail_count), 0, 1e12, "0",
     "Messages per direction in all (0: no cap)."},
    {"workload.imail.periodic", SIM_P_BOOL, STORE_CFG(imail_periodic), 0, 1, "false",
     "Constant gaps instead of Poisson, both directions arriving at the same "
     "instants (races decided by the scheduler alone)."},
    {"workload.imail.timeout", SIM_P_DURATION, STORE_CFG(imail_timeout), 0, STORE_TMAX, "60s",
     "A POP3/IMAP4 reader gives up after this."},
    {"store.imail.convert_cpu", SIM_P_DIST_TIME, STORE_CFG(imail_convert_cpu), 0, STORE_TMAX,
     "exp(5ms)", "IMAIL CPU before its critical sections."},
    {"store.imail.inner_cpu", SIM_P_DIST_TIME, STORE_CFG(imail_inner_cpu), 0, STORE_TMAX,
     "exp(2ms)",
     "IMAIL CPU between taking the first and the second critical section (a "
     "scheduling point even when 0)."},
    {"store.imail.locked_cpu", SIM_P_DIST_TIME, STORE_CFG(imail_locked_cpu), 0, STORE_TMAX,
     "exp(1ms)", "IMAIL CPU holding both critical sections."},
    {"store.imail.ims_threads", SIM_P_INT, STORE_CFG(imail_ims_threads), 1, 1024, "4",
     "Internet Mail Service inbound threads, each converting one message at "
     "a time on a store task.",
     .shrinkable = true},
    {"store.imail.protocol_threads", SIM_P_INT, STORE_CFG(imail_protocol_threads), 1, 1024, "4",
     "POP3/IMAP4 protocol threads, each serving one read at a time on a store "
     "task.",
     .shrinkable = true},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t imail_metrics[] = {
    {"ims.received", SIM_M_COUNTER, "", "inbound Internet messages accepted into the IMS queue"},
    {"ims.converted", SIM_M_COUNTER, "", "inbound messages converted into the store"},
    {"ims.refused", SIM_M_COUNTER, "",
     "inbound messages refused because the IMS stopped with the store"},
    {"ims.queue", SIM_M_GAUGE, "",
     "IMS queue: accepted and not yet converted (grows when the IMS threads are stuck)"},
    {"imail.reads", SIM_M_COUNTER, "", "POP3/IMAP4 message reads (outbound conversions)"},
    {"imail.reads_completed", SIM_M_COUNTER, "",
     "reads served; given up after `workload.imail.timeout`; failed (service stopped)"},
    {"imail.reads_timeouts", SIM_M_COUNTER, "",
     "reads served; given up after `workload.imail.timeout`; failed (service stopped)"},
    {"imail.reads_failed", SIM_M_COUNTER, "",
     "reads served; given up after `workload.imail.timeout`; failed (service stopped)"},
    {"imail.read_latency", SIM_M_SAMPLE, "ms", "latency of each completed read"},
    {"imail.active", SIM_M_GAUGE, "", "conversions on store tasks now"},
    {"imail.blocked", SIM_M_GAUGE, "",
     "conversions waiting for a critical section or between the two (`imail.blocked_sampled`: the "
     "same, each sample interval)"},
    {"imail.blocked_sampled", SIM_M_GAUGE, "", "`imail.blocked`, set each sample interval"},
    {"imail.cycle_threads", SIM_M_GAUGE, "",
     "threads of the first wait-for cycle the kernel reported (0: none)"},
    {"imail.cycle_conversions", SIM_M_GAUGE, "",
     "of those, conversions holding one critical section and wanting the other, by the model's own "
     "holder table"},
    {"imail.conversions.ims_inbound", SIM_M_COUNTER, "",
     "conversions IMAIL completed on the inbound path (MIME to MAPI: IMS inbound)"},
    {"imail.conversions.read", SIM_M_COUNTER, "",
     "conversions IMAIL completed for POP3/IMAP4/NNTP reads (MAPI to MIME)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t imail_plots[] = {{"IMS queue", {"ims.queue"}}, {NULL, {NULL}}};

static const char *const imail_kinds[] = {"imail", NULL};

const store_mech_t store_imail_mech = {
    .part = {.name = "imail",
             .title = "Q279798: IMAIL conversion deadlock",
             .file = "sim/store/imail.c",
             .fix = "q279798",
             .fix_doc = "Both IMAIL code paths take the critical sections in one global order.",
             .metrics = imail_metrics,
             .plots = imail_plots},
    .params = imail_params,
    .kinds = imail_kinds,
    .init = imail_init,
};
