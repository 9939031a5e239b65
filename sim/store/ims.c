/*
 * storesim store model: the Internet Mail Service's outbound queue
 * (Exchange 5.5 only).
 *
 * In Exchange 5.5 Internet mail does not go through an SMTP service of the
 * operating system and a local delivery queue (Exchange 2003, smtp.c): the
 * Internet Mail Service (IMS) is a gateway of the store with an inbound and
 * an outbound queue. Inbound, it accepts messages from the Internet and has
 * IMAIL convert each from MIME to MAPI into the store (imail.c, `ims.queue`).
 * Outbound, the mail Outlook users send to Internet recipients waits in the
 * store for the IMS (the MTS-OUT queue; MSExchangeIMC "Queued MTS-OUT" in
 * Performance Monitor); IMS outbound threads take those messages one at a
 * time, have IMAIL convert each from MAPI to MIME on a store task, and send
 * it to the Internet (this file). So when IMAIL deadlocks (Q279798) both
 * queues back up: "the Internet Mail Service queues may back up".
 *
 * Modelling assumptions (the articles give no numbers; each is a parameter):
 *   - messages for the Internet arrive at workload.ims.outbound_rate
 *     (Poisson); the MAPI submission that puts them into the queue is not
 *     modelled, only what the IMS does with them;
 *   - the outbound conversion is IMAIL's MAPI-to-MIME code path, the one
 *     POP3/IMAP4/NNTP reads take, with its critical sections in that path's
 *     order (store__imail_conv_out): Q279798 names no paths, only "two
 *     threads ... contending for each other's critical section" in IMAIL
 *     conversion, and MIME-to-MAPI against MAPI-to-MIME is the inversion the
 *     model makes of it (imail.c);
 *   - store.ims.outbound_threads threads each convert one message at a time
 *     (the IMS's own thread pool, like store.imail.ims_threads inbound);
 *   - the SMTP session to the remote host, after the conversion, holds no
 *     store task and no critical section, and is not modelled;
 *   - the queue is a folder of the database: a message whose conversion the
 *     store's going down interrupted stays queued and is converted after the
 *     restart; while the store is down nothing can be submitted (counted in
 *     ims.outbound_refused).
 *
 * A queued message: QUEUED -> CONVERTING (a thread took it) -> SENT, or
 * CONVERTING -> QUEUED when the store went down before its critical sections.
 * Locking: ims->lock protects the queue, the counters, `stopped` and the
 * conversion random stream; never held across store_call; taken before
 * IMAIL's own state lock (store__imail_conv_out), never after it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "storesim/alloc.h"
#include "store_int.h"

typedef struct store_ims {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  sim_cond_t *cv;     /* outbound threads wait here for a message */
  int64_t waiting;    /* queued, not taken by a thread */
  int64_t queue;      /* queued, not yet converted (waiting + converting) */
  int stopped;        /* the IMS stopped with the store */
  sim_rng_t gen_rng;  /* arrival gaps: the generator thread only */
  sim_rng_t conv_rng; /* conversion CPU: under lock */
  sim_metric_t *m_submitted, *m_sent, *m_refused, *m_queue, *m_converted;
} store_ims_t;

static int convert_fn(store_t *s, void *arg, int64_t val) {
  (void)val;
  return store__imail_convert(s, arg);
}

/* An IMS outbound thread: takes the oldest queued message and has IMAIL
 * convert it on a store task, waiting as long as that takes (a conversion
 * stuck on a critical section keeps the thread: the queue backs up). */
static void outbound_main(void *arg) {
  store_ims_t *ims = arg;
  store_t *s = ims->s;
  sim_mutex_lock(ims->lock);
  for (;;) {
    while (ims->waiting == 0 && !ims->stopped)
      if (sim_cond_wait(ims->cv, ims->lock) != 0) goto out;
    if (ims->stopped) break;
    ims->waiting--;
    store_imail_conv_t *c = store__imail_conv_out(s, &ims->conv_rng, ims->m_converted);
    if (!c) { /* cannot happen: ims_init checked that IMAIL runs */
      ims->waiting++;
      break;
    }
    sim_mutex_unlock(ims->lock);
    int rc = store_call(s, STORE_K_IMAIL, convert_fn, c, 0, SIM_TIME_MAX, 0);
    sim_mutex_lock(ims->lock);
    if (rc == 0) {
      ims->queue--;
      sim_gauge_set(ims->m_queue, (double)ims->queue);
      sim_counter_add(ims->m_sent, 1);
      sim_progress();
    } else {
      ims->waiting++; /* still queued: converted after the restart */
    }
  }
out:
  sim_mutex_unlock(ims->lock);
}

/* Poisson arrivals of messages for the Internet. */
static void generator_main(void *arg) {
  store_ims_t *ims = arg;
  sim_time_t next = sim_now(ims->s->w);
  double mean = 1e9 / ims->s->cfg->ims_outbound_rate;
  for (;;) {
    if (store_arrival_wait(&next, (sim_time_t)sim_rng_exp(&ims->gen_rng, mean)) != 0) return;
    sim_mutex_lock(ims->lock);
    if (ims->stopped) {
      sim_counter_add(ims->m_refused, 1);
    } else {
      sim_counter_add(ims->m_submitted, 1);
      ims->waiting++;
      ims->queue++;
      sim_gauge_set(ims->m_queue, (double)ims->queue);
      sim_cond_signal(ims->cv);
    }
    sim_mutex_unlock(ims->lock);
  }
}

static void spawn_threads(store_ims_t *ims) {
  for (int64_t i = 0; i < ims->s->cfg->ims_outbound_threads; i++) {
    char name[48];
    snprintf(name, sizeof name, "ims-outbound-%lld", (long long)i);
    sim_thread_spawn(ims->s->w, name, ims->proc, outbound_main, ims);
  }
}

static void ims_down(store_t *s, void *self) {
  (void)s;
  store_ims_t *ims = self;
  sim_mutex_lock(ims->lock);
  ims->stopped = 1;
  sim_cond_broadcast(ims->cv);
  sim_mutex_unlock(ims->lock);
}

static void ims_up(store_t *s, void *self) {
  (void)s;
  store_ims_t *ims = self;
  sim_mutex_lock(ims->lock);
  ims->stopped = 0;
  sim_mutex_unlock(ims->lock);
  spawn_threads(ims);
}

static void ims_report(store_t *s, void *self, char *buf, size_t n) {
  (void)s;
  store_ims_t *ims = self;
  if (sim_mutex_trylock(ims->lock) != 0) return;
  if (ims->queue > 0)
    store__appendf(buf, n,
                   "IMS outbound queue %" PRId64 " (%" PRId64 " being converted by IMAIL)\n",
                   ims->queue, ims->queue - ims->waiting);
  sim_mutex_unlock(ims->lock);
}

static void ims_destroy(void *self) { free(self); }

static const store_component_t ims_component = {
    .name = "ims",
    .down = ims_down,
    .up = ims_up,
    .report = ims_report,
    .destroy = ims_destroy,
};

static int ims_init(store_t *s, char *err, size_t nerr) {
  const store_config_t *cfg = s->cfg;
  if (cfg->ims_outbound_rate <= 0) return 0;
  if (!s->imail) { /* imail.c starts IMAIL for a 5.5 store with this load */
    if (err) snprintf(err, nerr, "internal: the IMS outbound queue found no IMAIL");
    return SIM_EINVAL;
  }
  store_ims_t *ims = sim_calloc(1, sizeof *ims);
  if (!ims) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  ims->s = s;
  ims->proc = sim_proc_create(w, "ims-outbound", 0);
  ims->lock = sim_mutex_create(w, "ims.outbound");
  ims->cv = sim_cond_create(w, "ims.outbound_queue");
  store_rng(s, &ims->gen_rng, "store.ims.outbound");
  store_rng(s, &ims->conv_rng, "store.ims.outbound.convert");
  ims->m_submitted = sim_metric(w, "ims.outbound_submitted", SIM_M_COUNTER, "");
  ims->m_sent = sim_metric(w, "ims.outbound_sent", SIM_M_COUNTER, "");
  ims->m_refused = sim_metric(w, "ims.outbound_refused", SIM_M_COUNTER, "");
  ims->m_queue = sim_metric(w, "ims.outbound_queue", SIM_M_GAUGE, "");
  ims->m_converted = sim_metric(w, "imail.conversions.ims_outbound", SIM_M_COUNTER, "");
  store_component_add(s, &ims_component, ims);
  spawn_threads(ims);
  sim_thread_spawn(w, "ims-outbound-mail", ims->proc, generator_main, ims);
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t ims_params[] = {
    {"workload.ims.outbound_rate", SIM_P_RATE, STORE_CFG(ims_outbound_rate), 0, 10000, "0/s",
     "Messages per second Outlook users send to Internet recipients, queued for the Internet "
     "Mail Service's outbound threads (each converted by IMAIL, MAPI to MIME).",
     .shrinkable = true},
    {"store.ims.outbound_threads", SIM_P_INT, STORE_CFG(ims_outbound_threads), 1, 1024, "4",
     "Internet Mail Service outbound threads, each converting one message at a time on a store "
     "task.",
     .shrinkable = true},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t ims_metrics[] = {
    {"ims.outbound_submitted", SIM_M_COUNTER, "", "messages for the Internet queued for the IMS"},
    {"ims.outbound_sent", SIM_M_COUNTER, "", "of those, converted by IMAIL and sent"},
    {"ims.outbound_refused", SIM_M_COUNTER, "",
     "messages that could not be submitted because the store was down"},
    {"imail.conversions.ims_outbound", SIM_M_COUNTER, "",
     "conversions IMAIL completed for the IMS outbound (MAPI to MIME, the reads' path)"},
    {"ims.outbound_queue", SIM_M_GAUGE, "",
     "IMS outbound queue (MTS-OUT): submitted and not yet converted (grows when the IMS outbound "
     "threads are stuck)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t ims_plots[] = {{"IMS outbound queue", {"ims.outbound_queue"}},
                                            {NULL, {NULL}}};

const store_mech_t store_ims_mech = {
    .part = {.name = "ims",
             .title = "Exchange 5.5 Internet Mail Service: the outbound queue",
             .file = "sim/store/ims.c",
             .metrics = ims_metrics,
             .plots = ims_plots},
    .params = ims_params,
    .init = ims_init,
    .versions = STORE_VERSION_BIT(STORE_VERSION_55),
};
