/*
 * storesim store model: the SMTP service, inbound mail and local delivery.
 *
 * The SMTP service is its own process ("smtp") with `smtp.threads`
 * worker threads, a counting semaphore shared by inbound sessions and local
 * delivery:
 *
 *   generator --spawns--> session: waits for a worker (until accept_timeout,
 *        else the sender gives up: smtp.timeouts), accepts the message into
 *        the local delivery queue, frees the worker
 *   delivery thread: pops a ready message, takes a worker, hands the message
 *        to the store (store_call, kind "delivery", waiting up to
 *        submit_timeout for a task); the store task converts it (CPU), looks
 *        its headers up in the property cache, writes it (arena memory +
 *        delivery_time). A failed attempt goes to the retry heap with the
 *        next SMTP retry interval; at its expiration the message is returned
 *        to its sender with NDR 4.4.7.
 *
 * So when store tasks run out, delivery threads block inside store_call
 * holding SMTP workers, sessions cannot get one, and the SMTP service stops
 * answering: no branch says so, the semaphore does.
 *
 * Message states (under p->lock):
 *
 *   (arrives) -> REJECTED   no worker before accept_timeout   [session_main]
 *   (arrives) -> READY      accepted                          [session_main]
 *   READY     -> INFLIGHT   a delivery thread pops it         [delivery_main]
 *   INFLIGHT  -> DELIVERED  the store call returned 0         [delivery_main]
 *   INFLIGHT  -> RETRY      the attempt failed                [delivery_main]
 *   RETRY     -> READY      its retry time came               [retry_main]
 *   READY/INFLIGHT/RETRY -> NDR  expired                      [ndr]
 *
 * "Queued" (local_delivery.queue) means READY, INFLIGHT or RETRY; queued
 * messages are also on a list in acceptance order, whose head is the oldest.
 * Messages are host memory kept in a ledger until destroy (the finish hook
 * reads it); the queue survives a store restart.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

typedef enum { M_NEW, M_REJECTED, M_READY, M_INFLIGHT, M_RETRY, M_DELIVERED,
               M_NDR } msg_state_t;

typedef struct msg {
  struct store_smtp *p;
  struct msg *next;          /* ready queue */
  struct msg *qprev, *qnext; /* queued list, acceptance order */
  uint64_t id;
  msg_state_t state;
  int malformed;
  int failed_conversion;
  int attempts;
  sim_time_t arrived, accepted, expires, next_try;
  size_t heap_i;
  uint64_t size;
  sim_time_t conv_cpu, write_time;
  int nhdr;
  uint32_t *hdr; /* header name indexes */
  size_t all_i;  /* its index in p->all */
} msg_t;

struct store_smtp {
  store_t *s;
  sim_proc_t *proc;
  sim_mutex_t *lock;
  sim_cond_t *ready_cv, *retry_cv;
  sim_sem_t *workers;
  msg_t *r_head, *r_tail;
  int64_t nready;
  msg_t **heap;
  size_t nheap, capheap;
  msg_t *q_oldest, *q_newest;
  int64_t nqueued;
  msg_t **all; /* messages not yet delivered, rejected or returned (msg_retire) */
  size_t nall, capall;
  int64_t ndr_conv_failed; /* returned messages that had failed conversion */
  uint64_t next_id;
  struct gen {
    struct store_smtp *p;
    int malformed;
    double rate;
    sim_rng_t rng;
  } gen[2];
  sim_metric_t *m_accepted, *m_timeouts, *m_accept_latency, *m_busy;
  sim_metric_t *m_queue, *m_ready, *m_retry, *m_delivered, *m_attempts;
  sim_metric_t *m_failures, *m_latency, *m_oldest, *m_ndr, *m_while_full;
  sim_metric_t *m_conv_failed_msgs, *m_conv_failed_expired, *m_arrived;
  sim_metric_t *m_delivered_malformed, *m_alloc_failures, *m_since_up;
  int64_t delivered_since_up;
  int64_t nsessions; /* inbound sessions open: waiting for a worker or accepting */
  sim_metric_t *m_sessions;
  sim_rng_t inject_rng;
};

/* ---- helpers (caller holds p->lock) ---------------------------------------------- */

static int heap_less(const msg_t *a, const msg_t *b) {
  if (a->next_try != b->next_try) return a->next_try < b->next_try;
  return a->id < b->id;
}

static void heap_swap(struct store_smtp *p, size_t i, size_t j) {
  msg_t *t = p->heap[i];
  p->heap[i] = p->heap[j];
  p->heap[j] = t;
  p->heap[i]->heap_i = i;
  p->heap[j]->heap_i = j;
}

static void heap_push(struct store_smtp *p, msg_t *m) {
  if (p->nheap == p->capheap) {
    p->capheap = p->capheap ? 2 * p->capheap : 256;
    p->heap = sim_xrealloc(p->heap, p->capheap * sizeof *p->heap);
  }
  size_t i = p->nheap++;
  p->heap[i] = m;
  m->heap_i = i;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!heap_less(p->heap[i], p->heap[up])) break;
    heap_swap(p, i, up);
    i = up;
  }
}

static msg_t *heap_pop(struct store_smtp *p) {
  msg_t *top = p->heap[0];
  p->nheap--;
  if (p->nheap) {
    p->heap[0] = p->heap[p->nheap];
    p->heap[0]->heap_i = 0;
    size_t i = 0;
    for (;;) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      if (l < p->nheap && heap_less(p->heap[l], p->heap[m])) m = l;
      if (r < p->nheap && heap_less(p->heap[r], p->heap[m])) m = r;
      if (m == i) break;
      heap_swap(p, i, m);
      i = m;
    }
  }
  return top;
}

static void gauges(struct store_smtp *p) {
  sim_gauge_set(p->m_queue, (double)p->nqueued);
  sim_gauge_set(p->m_ready, (double)p->nready);
  sim_gauge_set(p->m_retry, (double)p->nheap);
}

static void ready_push(struct store_smtp *p, msg_t *m) {
  m->state = M_READY;
  m->next = NULL;
  if (p->r_tail)
    p->r_tail->next = m;
  else
    p->r_head = m;
  p->r_tail = m;
  p->nready++;
  sim_cond_signal(p->ready_cv);
}

static msg_t *ready_pop(struct store_smtp *p) {
  msg_t *m = p->r_head;
  p->r_head = m->next;
  if (!p->r_head) p->r_tail = NULL;
  m->next = NULL;
  p->nready--;
  return m;
}

static void unqueue(struct store_smtp *p, msg_t *m) {
  if (m->qprev)
    m->qprev->qnext = m->qnext;
  else
    p->q_oldest = m->qnext;
  if (m->qnext)
    m->qnext->qprev = m->qprev;
  else
    p->q_newest = m->qprev;
  m->qprev = m->qnext = NULL;
  p->nqueued--;
}

/* Forgets a message that reached its end (delivered, rejected, returned):
 * nothing refers to it any more, and a run of days must not keep every
 * message it ever saw. What smtp_finish needs of it is counted first. */
static void msg_retire(struct store_smtp *p, msg_t *m) {
  if (m->state == M_NDR && m->failed_conversion) p->ndr_conv_failed++;
  msg_t *last = p->all[--p->nall];
  p->all[m->all_i] = last;
  last->all_i = m->all_i;
  free(m->hdr);
  free(m);
}

/* Returns an expired message to its sender: NDR 4.4.7. */
static void ndr(struct store_smtp *p, msg_t *m) {
  m->state = M_NDR;
  unqueue(p, m);
  sim_counter_add(p->m_ndr, 1);
  sim_trace_emit(p->s->w, "smtp.ndr447", "smtp.local", (int64_t)m->id);
  msg_retire(p, m);
}

/* ---- the store side: one delivery attempt on a store task ------------------------ */

/* Small formatters (snprintf costs more than the rest of a conversion). */
static char *put_str(char *p, const char *z) {
  while (*z) *p++ = *z++;
  return p;
}
static char *put_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}
static char *put_hex(char *p, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int sh = 60; sh >= 0; sh -= 4) *p++ = digits[(v >> sh) & 15];
  return p;
}

static int deliver_fn(store_t *s, void *arg, int64_t val) {
  (void)val;
  msg_t *m = arg;
  if (m->conv_cpu > 0 && sim_cpu_burn(m->conv_cpu) != 0) return STORE_EDOWN;
  /* MIME conversion reads the headers; without the kb941060 fix a
   * malformed message's header data is misread: name plus bytes of the
   * message, a string seen nowhere else. */
  int misread = m->malformed && !store_has_fix(s, STORE_FIX_KB941060);
  char *text = sim_malloc((size_t)m->nhdr * 48);
  const char **keys = sim_malloc((size_t)m->nhdr * sizeof *keys);
  if (!text || !keys) {
    sim_alloc_die(0);
  }
  for (int i = 0; i < m->nhdr; i++) {
    char *k = text + (size_t)i * 48;
    keys[i] = k;
    k = put_str(k, "x-hdr-");
    k = put_u64(k, m->hdr[i]);
    if (misread) {
      *k++ = ':';
      k = put_hex(k, m->id * UINT64_C(0x9E3779B97F4A7C15));
      *k++ = '-';
      k = put_u64(k, (uint64_t)i);
    }
    *k = 0;
  }
  int rc = store__cache_convert(s, keys, m->nhdr);
  free(keys);
  free(text);
  if (rc != 0) return rc;
  void *body = sim_proc_alloc(store_proc(s), m->size ? m->size : 1);
  if (!body) return SIM_EMEMLIMIT;
  /* the message row: a version store page until the delivery commits;
   * full: 0x8004060C, the message stays queued and is retried */
  rc = store_vs_write(s, store_txn_self(s));
  if (rc != 0) {
    sim_proc_free(store_proc(s), body);
    return rc;
  }

  rc = sim_sleep(m->write_time);
  sim_proc_free(store_proc(s), body);
  if (rc != 0) return STORE_EDOWN;
  return 0;
}

/* ---- SMTP threads ----------------------------------------------------------------- */

static void delivery_main(void *arg) {
  struct store_smtp *p = arg;
  store_t *s = p->s;
  sim_mutex_lock(p->lock);
  for (;;) {
    while (!p->r_head) sim_cond_wait(p->ready_cv, p->lock);
    msg_t *m = ready_pop(p);
    if (sim_now(s->w) >= m->expires) {
      ndr(p, m);
      gauges(p);
      continue;
    }
    m->state = M_INFLIGHT;
    gauges(p);
    sim_mutex_unlock(p->lock);

    sim_sem_acquire(p->workers);
    sim_gauge_set(p->m_busy, (double)(s->cfg->smtp_threads -
                                      sim_sem_value(p->workers)));
    sim_counter_add(p->m_attempts, 1);
    sim_trace_emit(s->w, "smtp.attempt", "smtp.local", (int64_t)m->id);
    int rc = store_call(s, STORE_K_DELIVERY, deliver_fn, m, 0,
                        sim_now(s->w) + s->cfg->smtp_submit_timeout, 0);
    sim_sem_release(p->workers);
    sim_gauge_set(p->m_busy, (double)(s->cfg->smtp_threads -
                                      sim_sem_value(p->workers)));

    sim_mutex_lock(p->lock);
    sim_time_t now = sim_now(s->w);
    if (rc == 0) {
      m->state = M_DELIVERED;
      unqueue(p, m);
      sim_counter_add(p->m_delivered, 1);
      if (m->malformed) sim_counter_add(p->m_delivered_malformed, 1);
      p->delivered_since_up++;
      sim_gauge_set(p->m_since_up, (double)p->delivered_since_up);
      sim_sample_add(p->m_latency, (double)(now - m->accepted) / SIM_SEC);
      if (store__cache_full(s)) sim_counter_add(p->m_while_full, 1);
      msg_retire(p, m);
      sim_progress();
    } else {
      m->attempts++;
      sim_counter_add(p->m_failures, 1);
      if (rc == STORE_ECONVERT && !m->failed_conversion) {
        m->failed_conversion = 1;
        sim_counter_add(p->m_conv_failed_msgs, 1);
      }
      if (rc == SIM_EMEMLIMIT) sim_counter_add(p->m_alloc_failures, 1);
      if (now >= m->expires) {
        ndr(p, m);
      } else {
        int k = m->attempts - 1 < 3 ? m->attempts - 1 : 3;
        sim_time_t t = now + s->cfg->smtp_retry[k];
        m->next_try = t < m->expires ? t : m->expires;
        m->state = M_RETRY;
        heap_push(p, m);
        sim_cond_signal(p->retry_cv);
      }
    }
    gauges(p);
  }
}

static void retry_main(void *arg) {
  struct store_smtp *p = arg;
  sim_world_t *w = p->s->w;
  sim_mutex_lock(p->lock);
  for (;;) {
    if (p->nheap == 0) {
      sim_cond_wait(p->retry_cv, p->lock);
      continue;
    }
    msg_t *top = p->heap[0];
    sim_time_t now = sim_now(w);
    if (top->next_try > now) {
      sim_cond_timedwait(p->retry_cv, p->lock, top->next_try);
      continue;
    }
    heap_pop(p);
    if (now >= top->expires)
      ndr(p, top);
    else
      ready_push(p, top);
    gauges(p);
  }
}

static void session_main(void *arg) {
  msg_t *m = arg;
  struct store_smtp *p = m->p;
  store_t *s = p->s;
  sim_time_t t0 = sim_now(s->w);
  int rc = sim_sem_acquire_until(p->workers, t0 + s->cfg->smtp_accept_timeout);
  if (rc != 0) {
    sim_mutex_lock(p->lock);
    m->state = M_REJECTED;
    p->nsessions--;
    sim_gauge_set(p->m_sessions, (double)p->nsessions);
    sim_counter_add(p->m_timeouts, 1);
    sim_trace_emit(s->w, "smtp.timeout", "smtp.session", (int64_t)m->id);
    msg_retire(p, m);
    sim_mutex_unlock(p->lock);
    return;
  }
  sim_gauge_set(p->m_busy,
                (double)(s->cfg->smtp_threads - sim_sem_value(p->workers)));
  sim_sleep(s->cfg->smtp_accept_time);
  sim_sem_release(p->workers);
  sim_gauge_set(p->m_busy,
                (double)(s->cfg->smtp_threads - sim_sem_value(p->workers)));
  sim_mutex_lock(p->lock);
  sim_time_t now = sim_now(s->w);
  m->accepted = now;
  p->nsessions--;
  sim_gauge_set(p->m_sessions, (double)p->nsessions);
  m->expires = m->arrived + s->cfg->smtp_expiration;
  m->qprev = p->q_newest;
  m->qnext = NULL;
  if (p->q_newest)
    p->q_newest->qnext = m;
  else
    p->q_oldest = m;
  p->q_newest = m;
  p->nqueued++;
  ready_push(p, m);
  sim_counter_add(p->m_accepted, 1);
  sim_sample_add(p->m_accept_latency, (double)(now - t0) / SIM_MS);
  gauges(p);
  sim_mutex_unlock(p->lock);
}

/* Makes a message arriving now, draws from rng, enters it in the ledger and
 * starts its SMTP session. Must be called from a simulated thread. */
static uint64_t msg_arrive(struct store_smtp *p, int malformed, sim_rng_t *rng) {
  store_t *s = p->s;
  const store_config_t *c = s->cfg;
  msg_t *m = sim_calloc(1, sizeof *m);
  uint32_t *hdr = sim_malloc((size_t)c->smtp_headers * sizeof *hdr);
  if (!m || !hdr) {
    sim_alloc_die(0);
  }
  m->p = p;
  m->malformed = malformed;
  m->arrived = sim_now(s->w);
  m->size = (uint64_t)sim_dist_sample(&c->smtp_size, rng);
  m->conv_cpu = (sim_time_t)sim_dist_sample(&c->conversion_cpu, rng);
  m->write_time = (sim_time_t)sim_dist_sample(&c->delivery_time, rng);
  m->nhdr = (int)c->smtp_headers;
  m->hdr = hdr;
  for (int i = 0; i < m->nhdr; i++)
    hdr[i] = (uint32_t)store__cache_zipf(s, rng);
  sim_mutex_lock(p->lock);
  m->id = ++p->next_id;
  if (p->nall == p->capall) {
    p->capall = p->capall ? 2 * p->capall : 1024;
    p->all = sim_xrealloc(p->all, p->capall * sizeof *p->all);
  }
  m->all_i = p->nall;
  p->all[p->nall++] = m;
  sim_counter_add(p->m_arrived, 1);
  p->nsessions++;
  sim_gauge_set(p->m_sessions, (double)p->nsessions);
  sim_mutex_unlock(p->lock);
  uint64_t id = m->id;
  sim_thread_spawn(s->w, "smtp-session", p->proc, session_main, m);
  return id;
}

static void generator_main(void *arg) {
  struct gen *g = arg;
  sim_time_t next = sim_now(g->p->s->w);
  for (;;) {
    sim_time_t gap =
        store_arrival_gap(g->p->s, g->malformed ? -1 : STORE_STREAM_SMTP, g->rate, &g->rng, next);
    if (gap < 0 || store_arrival_wait(&next, gap) != 0) return;
    msg_arrive(g->p, g->malformed, &g->rng);
  }
}

uint64_t store__smtp_inject(store_t *s, int malformed) {
  struct store_smtp *p = s->smtp;
  return msg_arrive(p, malformed, &p->inject_rng);
}

/* ---- component hooks ---------------------------------------------------------------- */

/* Caller holds p->lock, or the world is not running. */
static void oldest_age_set(store_t *s, struct store_smtp *p) {
  double age = p->q_oldest
                   ? (double)(sim_now(s->w) - p->q_oldest->accepted) / SIM_SEC
                   : 0.0;
  sim_gauge_set(p->m_oldest, age);
}

static void smtp_sample(store_t *s, void *self) {
  struct store_smtp *p = self;
  sim_mutex_lock(p->lock);
  oldest_age_set(s, p);
  sim_mutex_unlock(p->lock);
}

/* The store came back up: count deliveries since then. */
static void smtp_up(store_t *s, void *self) {
  (void)s;
  struct store_smtp *p = self;
  sim_mutex_lock(p->lock);
  p->delivered_since_up = 0;
  sim_gauge_set(p->m_since_up, 0);
  sim_mutex_unlock(p->lock);
}

static void smtp_report(store_t *s, void *self, char *buf, size_t n) {
  struct store_smtp *p = self;
  if (sim_mutex_trylock(p->lock) != 0) return;
  char tb[64];
  store__appendf(buf, n,
                 "local delivery queue: %lld messages (%lld ready, %zu "
                 "waiting to retry); SMTP workers busy %lld of %lld\n",
                 (long long)p->nqueued, (long long)p->nready, p->nheap,
                 (long long)(s->cfg->smtp_threads - sim_sem_value(p->workers)),
                 (long long)s->cfg->smtp_threads);
  if (p->q_oldest)
    store__appendf(buf, n, "oldest queued message: #%" PRIu64 ", age %s\n",
                   p->q_oldest->id,
                   store__fmt_time(sim_now(s->w) - p->q_oldest->accepted, tb,
                                   sizeof tb));
  sim_mutex_unlock(p->lock);
}

static void smtp_finish(store_t *s, void *self) {
  struct store_smtp *p = self;
  sim_time_t now = sim_now(s->w);
  int64_t expired = p->ndr_conv_failed;
  for (size_t i = 0; i < p->nall; i++) {
    msg_t *m = p->all[i];
    if (m->failed_conversion && m->state != M_DELIVERED &&
        m->state != M_REJECTED && m->expires <= now)
      expired++;
  }
  sim_gauge_set(p->m_conv_failed_expired, (double)expired);
  oldest_age_set(s, p); /* the world is not running: no lock needed */
}

static void smtp_destroy(void *self) {
  struct store_smtp *p = self;
  for (size_t i = 0; i < p->nall; i++) {
    free(p->all[i]->hdr);
    free(p->all[i]);
  }
  free(p->all);
  free(p->heap);
  free(p);
}

static const store_component_t smtp_component = {
    .name = "smtp",
    .up = smtp_up,
    .report = smtp_report,
    .sample = smtp_sample,
    .finish = smtp_finish,
    .destroy = smtp_destroy,
};

static int smtp_init(store_t *s, char *err, size_t nerr) {
  struct store_smtp *p = sim_calloc(1, sizeof *p);
  if (!p) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  sim_world_t *w = s->w;
  p->s = s;
  p->proc = sim_proc_create(w, "smtp", 0);
  p->lock = sim_mutex_create(w, "smtp.lock");
  p->ready_cv = sim_cond_create(w, "smtp.local_delivery");
  p->retry_cv = sim_cond_create(w, "smtp.retry");
  p->workers = sim_sem_create(w, "smtp.workers", s->cfg->smtp_threads);
  p->m_arrived = sim_metric(w, "smtp.arrived", SIM_M_COUNTER, "");
  p->m_accepted = sim_metric(w, "smtp.accepted", SIM_M_COUNTER, "");
  p->m_timeouts = sim_metric(w, "smtp.timeouts", SIM_M_COUNTER, "");
  p->m_accept_latency =
      sim_metric(w, "smtp.accept_latency", SIM_M_SAMPLE, "ms");
  p->m_busy = sim_metric(w, "smtp.workers_busy", SIM_M_GAUGE, "");
  p->m_sessions = sim_metric(w, "smtp.sessions", SIM_M_GAUGE, "");
  p->m_ndr = sim_metric(w, "smtp.ndr447", SIM_M_COUNTER, "");
  p->m_queue = sim_metric(w, "local_delivery.queue", SIM_M_GAUGE, "");
  p->m_ready = sim_metric(w, "local_delivery.ready", SIM_M_GAUGE, "");
  p->m_retry = sim_metric(w, "local_delivery.retry", SIM_M_GAUGE, "");
  p->m_delivered = sim_metric(w, "local_delivery.delivered", SIM_M_COUNTER, "");
  p->m_since_up = sim_metric(w, "local_delivery.delivered_since_restart",
                             SIM_M_GAUGE, "");
  p->m_delivered_malformed =
      sim_metric(w, "local_delivery.delivered_malformed", SIM_M_COUNTER, "");
  p->m_attempts = sim_metric(w, "local_delivery.attempts", SIM_M_COUNTER, "");
  p->m_failures = sim_metric(w, "local_delivery.failures", SIM_M_COUNTER, "");
  p->m_alloc_failures =
      sim_metric(w, "local_delivery.alloc_failures", SIM_M_COUNTER, "");
  p->m_latency = sim_metric(w, "local_delivery.latency", SIM_M_SAMPLE, "s");
  p->m_oldest = sim_metric(w, "local_delivery.oldest_age", SIM_M_GAUGE, "s");
  p->m_while_full = sim_metric(w, "local_delivery.delivered_while_cache_full",
                               SIM_M_COUNTER, "");
  p->m_conv_failed_msgs =
      sim_metric(w, "local_delivery.conversion_failed", SIM_M_COUNTER, "");
  p->m_conv_failed_expired = sim_metric(
      w, "local_delivery.conversion_failed_expired", SIM_M_GAUGE, "");
  s->smtp = p;
  store_component_add(s, &smtp_component, p);

  const store_config_t *c = s->cfg;
  p->gen[0] = (struct gen){p, 0, c->smtp_rate, {{0}}};
  p->gen[1] = (struct gen){p, 1, c->smtp_malformed_rate, {{0}}};
  store_rng(s, &p->gen[0].rng, "store.smtp.inbound");
  store_rng(s, &p->gen[1].rng, "store.smtp.malformed");
  store_rng(s, &p->inject_rng, "store.smtp.inject");
  if (c->smtp_rate > 0 || store_arrival_driven(s, STORE_STREAM_SMTP))
    sim_thread_spawn(w, "smtp-inbound", p->proc, generator_main, &p->gen[0]);
  if (c->smtp_malformed_rate > 0)
    sim_thread_spawn(w, "smtp-inbound-malformed", p->proc, generator_main,
                     &p->gen[1]);
  for (int64_t i = 0; i < c->smtp_threads; i++) {
    char name[48];
    snprintf(name, sizeof name, "smtp-delivery-%" PRId64, i);
    sim_thread_spawn(w, name, p->proc, delivery_main, p);
  }
  sim_thread_spawn(w, "smtp-retry", p->proc, retry_main, p);
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t smtp_params[] = {
    {"store.conversion_cpu", SIM_P_DIST_TIME, STORE_CFG(conversion_cpu), 0, STORE_TMAX, "exp(5ms)",
     "Store CPU for the MIME conversion of one message."},
    {"store.delivery_time", SIM_P_DIST_TIME, STORE_CFG(delivery_time), 0, STORE_TMAX, "exp(40ms)",
     "Time a task spends writing one delivered message."},
    /* ---- the SMTP service ---- */
    {"smtp.threads", SIM_P_INT, STORE_CFG(smtp_threads), 1, 4096, "8",
     "SMTP worker threads, shared by inbound sessions and local delivery."},
    {"smtp.accept_time", SIM_P_DURATION, STORE_CFG(smtp_accept_time), 0, STORE_TMAX, "20ms",
     "Worker time to accept one inbound message."},
    {"smtp.accept_timeout", SIM_P_DURATION, STORE_CFG(smtp_accept_timeout), 0, STORE_TMAX, "5m",
     "A sending server gives up after waiting this long for a worker."},
    {"smtp.submit_timeout", SIM_P_DURATION, STORE_CFG(smtp_submit_timeout), 0, STORE_TMAX, "10m",
     "Local delivery waits this long for a store task before the attempt "
     "fails and is retried."},
    {"smtp.expiration", SIM_P_DURATION, STORE_CFG(smtp_expiration), 0, STORE_TMAX, "2d",
     "A message not delivered after this is returned with NDR 4.4.7."},
    {"smtp.retry_first", SIM_P_DURATION, STORE_CFG(smtp_retry[0]), 0, STORE_TMAX, "15m",
     "Delay before the first retry."},
    {"smtp.retry_second", SIM_P_DURATION, STORE_CFG(smtp_retry[1]), 0, STORE_TMAX, "30m",
     "Delay before the second retry."},
    {"smtp.retry_third", SIM_P_DURATION, STORE_CFG(smtp_retry[2]), 0, STORE_TMAX, "60m",
     "Delay before the third retry."},
    {"smtp.retry_subsequent", SIM_P_DURATION, STORE_CFG(smtp_retry[3]), 0, STORE_TMAX, "240m",
     "Delay before every later retry."},
    /* ---- workload ---- */
    {"workload.smtp.rate", SIM_P_RATE, STORE_CFG(smtp_rate), 0, 10000, "1/s",
     "Well-formed inbound messages per second (Poisson).", .shrinkable = true},
    {"workload.smtp.malformed_rate", SIM_P_RATE, STORE_CFG(smtp_malformed_rate), 0, 10000, "0/s",
     "Inbound messages per second whose headers the MIME conversion misreads "
     "without the kb941060 fix (Poisson).",
     .shrinkable = true},
    {"workload.smtp.size", SIM_P_DIST_SIZE, STORE_CFG(smtp_size), 0, 1024 * STORE_GiB,
     "lognormal(50KiB, 1.0)",
     "Message size; delivery allocates it in the "
     "store arena."},
    {"workload.smtp.headers", SIM_P_INT, STORE_CFG(smtp_headers), 1, 1024, "16",
     "Header properties per message, each looked up in the property cache."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t smtp_metrics[] = {
    {"smtp.arrived", SIM_M_COUNTER, "", "messages that arrived (well-formed and malformed)"},
    {"smtp.accepted",
     SIM_M_COUNTER,
     "",
     "messages an SMTP worker accepted into the local delivery queue",
     {"\\SMTP Server(_Total)\\Messages Received/sec", SIM_DERIVE_RATE, 1, "/s"}},
    {"smtp.timeouts", SIM_M_COUNTER, "",
     "sending servers that gave up: no SMTP worker within `smtp.accept_timeout` (the SMTP service "
     "did not respond)"},
    {"smtp.accept_latency", SIM_M_SAMPLE, "ms",
     "wait for a worker plus the accept time, per accepted message"},
    {"smtp.workers_busy", SIM_M_GAUGE, "", "SMTP worker threads in use (sessions and deliveries)"},
    {"smtp.sessions", SIM_M_GAUGE, "",
     "inbound SMTP sessions open: waiting for a worker or being accepted (the SMTP service's own "
     "queue; grows when it stops responding)"},
    {"smtp.ndr447", SIM_M_COUNTER, "",
     "messages returned to their senders with NDR 4.4.7 (delivery time expired)"},
    {"local_delivery.queue",
     SIM_M_GAUGE,
     "",
     "accepted messages not yet delivered nor returned: ready, in flight or waiting to retry",
     {"\\SMTP Server(_Total)\\Local Queue Length", SIM_DERIVE_VALUE, 1, "",
      "includes messages waiting to retry (`local_delivery.retry`); the Exchange Server Analyzer "
      "errs above 1,000"}},
    {"local_delivery.ready", SIM_M_GAUGE, "", "queued messages ready for a delivery attempt"},
    {"local_delivery.retry", SIM_M_GAUGE, "", "queued messages waiting for their next retry time"},
    {"local_delivery.delivered",
     SIM_M_COUNTER,
     "",
     "messages delivered",
     {"\\MSExchangeIS Mailbox(_Total)\\Local Delivery Rate", SIM_DERIVE_RATE, 1, "/s"}},
    {"local_delivery.delivered_since_restart", SIM_M_GAUGE, "",
     "messages delivered since the store last came up"},
    {"local_delivery.delivered_malformed", SIM_M_COUNTER, "", "of those, malformed messages"},
    {"local_delivery.attempts", SIM_M_COUNTER, "", "delivery attempts handed to the store"},
    {"local_delivery.failures", SIM_M_COUNTER, "",
     "failed attempts (no task within `smtp.submit_timeout`, conversion failed, store down, store "
     "memory refused)"},
    {"local_delivery.alloc_failures", SIM_M_COUNTER, "",
     "attempts that failed because the store arena refused the message's memory"},
    {"local_delivery.latency", SIM_M_SAMPLE, "s", "acceptance to delivery, per delivered message"},
    {"local_delivery.oldest_age", SIM_M_GAUGE, "s",
     "age of the oldest queued message (since acceptance), sampled"},
    {"local_delivery.delivered_while_cache_full", SIM_M_COUNTER, "",
     "messages delivered while the property cache was full (the others still flow)"},
    {"local_delivery.conversion_failed", SIM_M_COUNTER, "",
     "distinct messages whose MIME conversion failed at least once (needed a new cache entry when "
     "the cache was full)"},
    {"local_delivery.conversion_failed_expired", SIM_M_GAUGE, "",
     "set at the end of the run from the message ledger: messages that failed conversion and "
     "reached their expiration undelivered. Equals `smtp.ndr447` when every NDR is due to the full "
     "cache"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t smtp_plots[] = {{"local delivery queue", {"local_delivery.queue"}},
                                             {"local delivery latency", {"local_delivery.latency"}},
                                             {NULL, {NULL}}};

static const char *const smtp_kinds[] = {"delivery", NULL};

const store_mech_t store_smtp_mech = {
    .part = {.name = "smtp",
             .title = "SMTP service and local delivery",
             .file = "sim/store/smtp.c",
             .metrics = smtp_metrics,
             .plots = smtp_plots},
    .params = smtp_params,
    .kinds = smtp_kinds,
    .init = smtp_init,
    /* the SMTP service (IIS) and the store's local delivery queue are Exchange
     * 2000/2003's; 5.5 takes Internet mail through the IMS */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
