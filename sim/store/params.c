/*
 * storesim store model: the parameter table, fault kinds and fixes.
 *
 * The table is the single source of the model's configuration surface: the
 * scenario loader validates files against it, docs and the JSON Schema are
 * generated from it. Defaults are the published values of DOMAIN.md where one
 * exists. store_config_init must give the same values as the default text;
 * tests/test_store.c parses every default with the scenario layer's parser
 * and compares.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

#define O(f) offsetof(store_config_t, f)
#define TMAX ((double)(400 * SIM_DAY))
#define GiB (1024.0 * 1024.0 * 1024.0)

const sim_param_t store_params[] = {
    /* ---- the store ---- */
    {"store.tasks", SIM_P_INT, O(tasks), 1, 4096, "32",
     "Worker tasks (threads) of the store; every delivery, RPC, OWA request, "
     "move step and transit flush runs on one."},
    {"store.rpc_limit", SIM_P_INT, O(rpc_limit), 1, 100000, "100",
     "Concurrent MAPI RPCs the store services before refusing new ones."},
    {"store.gateway_out_threads", SIM_P_INT, O(gateway_out_threads), 0, 64,
     "1",
     "MTA Gateway Out Threads of the database (0: the MTA takes no transit "
     "mail, the documented way to disable MTA Stacks)."},
    {"store.transit_flush_timeout", SIM_P_DURATION, O(transit_flush_timeout),
     0, TMAX, "150m",
     "How long a transit mail flush waits for the MTA before timing out, "
     "holding its task (KB924567)."},
    {"store.mta_flush_time", SIM_P_DIST_TIME, O(mta_flush_time), 0, TMAX,
     "const(2s)", "Time a gateway out thread takes to complete one flush."},
    {"store.cache_capacity", SIM_P_INT, O(cache_capacity), 1, 16777216,
     "65536",
     "Entries of the store's property cache; fixed, no eviction (KB941060)."},
    {"store.restart_time", SIM_P_DURATION, O(restart_time), 0, TMAX, "1m",
     "Time the store takes to come back up after its tasks stopped."},
    {"store.stop_timeout", SIM_P_DURATION, O(stop_timeout), 0, TMAX, "5m",
     "How long a restart waits for tasks to stop before killing the process."},
    {"store.shutdown_timeout", SIM_P_DURATION, O(shutdown_timeout), 0, TMAX,
     "10m", "Default timeout of a store_shutdown fault that gives none."},
    {"store.memory_limit", SIM_P_SIZE, O(memory_limit), 0, 64 * GiB, "2GiB",
     "Address space of the 32-bit store process (0: unlimited)."},
    {"store.conversion_cpu", SIM_P_DIST_TIME, O(conversion_cpu), 0, TMAX,
     "exp(5ms)", "Store CPU for the MIME conversion of one message."},
    {"store.delivery_time", SIM_P_DIST_TIME, O(delivery_time), 0, TMAX,
     "exp(40ms)", "Time a task spends writing one delivered message."},
    /* ---- the SMTP service ---- */
    {"smtp.threads", SIM_P_INT, O(smtp_threads), 1, 4096, "8",
     "SMTP worker threads, shared by inbound sessions and local delivery."},
    {"smtp.accept_time", SIM_P_DURATION, O(smtp_accept_time), 0, TMAX, "20ms",
     "Worker time to accept one inbound message."},
    {"smtp.accept_timeout", SIM_P_DURATION, O(smtp_accept_timeout), 0, TMAX,
     "5m", "A sending server gives up after waiting this long for a worker."},
    {"smtp.submit_timeout", SIM_P_DURATION, O(smtp_submit_timeout), 0, TMAX,
     "10m",
     "Local delivery waits this long for a store task before the attempt "
     "fails and is retried."},
    {"smtp.expiration", SIM_P_DURATION, O(smtp_expiration), 0, TMAX, "2d",
     "A message not delivered after this is returned with NDR 4.4.7."},
    {"smtp.retry_first", SIM_P_DURATION, O(smtp_retry[0]), 0, TMAX, "15m",
     "Delay before the first retry."},
    {"smtp.retry_second", SIM_P_DURATION, O(smtp_retry[1]), 0, TMAX, "30m",
     "Delay before the second retry."},
    {"smtp.retry_third", SIM_P_DURATION, O(smtp_retry[2]), 0, TMAX, "60m",
     "Delay before the third retry."},
    {"smtp.retry_subsequent", SIM_P_DURATION, O(smtp_retry[3]), 0, TMAX,
     "240m", "Delay before every later retry."},
    /* ---- workload ---- */
    {"workload.smtp.rate", SIM_P_RATE, O(smtp_rate), 0, 10000, "1/s",
     "Well-formed inbound messages per second (Poisson)."},
    {"workload.smtp.malformed_rate", SIM_P_RATE, O(smtp_malformed_rate), 0,
     10000, "0/s",
     "Inbound messages per second whose headers the MIME conversion misreads "
     "without the kb941060 fix (Poisson)."},
    {"workload.smtp.size", SIM_P_DIST_SIZE, O(smtp_size), 0, 1024 * GiB,
     "lognormal(50KiB, 1.0)", "Message size; delivery allocates it in the "
     "store arena."},
    {"workload.smtp.headers", SIM_P_INT, O(smtp_headers), 1, 1024, "16",
     "Header properties per message, each looked up in the property cache."},
    {"workload.smtp.vocabulary", SIM_P_INT, O(smtp_vocabulary), 1, 16777216,
     "4000", "Distinct valid header names."},
    {"workload.smtp.zipf", SIM_P_FLOAT, O(smtp_zipf), 0, 10, "1.0",
     "Zipf exponent of header name popularity."},
    {"workload.owa.rate", SIM_P_RATE, O(owa_rate), 0, 10000, "0.2/s",
     "Outlook Web Access requests per second (Poisson)."},
    {"workload.owa.timeout", SIM_P_DURATION, O(owa_timeout), 0, TMAX, "60s",
     "An OWA client gives up after this."},
    {"workload.owa.service", SIM_P_DIST_TIME, O(owa_service), 0, TMAX,
     "exp(100ms)", "Task time of one OWA request."},
    {"workload.mapi.rate", SIM_P_RATE, O(mapi_rate), 0, 10000, "0.5/s",
     "MAPI (Outlook) RPCs per second (Poisson)."},
    {"workload.mapi.timeout", SIM_P_DURATION, O(mapi_timeout), 0, TMAX, "60s",
     "An Outlook client gives up on an RPC after this."},
    {"workload.mapi.service", SIM_P_DIST_TIME, O(mapi_service), 0, TMAX,
     "exp(20ms)", "Task time of one MAPI RPC."},
    {"workload.moves.at", SIM_P_DURATION, O(moves_at), 0, TMAX, "30m",
     "When the mailbox moves start."},
    {"workload.moves.count", SIM_P_INT, O(moves_count), 0, 10000000, "0",
     "Mailboxes to move (0: no moves)."},
    {"workload.moves.threads", SIM_P_INT, O(moves_threads), 1, 64, "4",
     "Threads of the move task (Move Mailbox wizard default 4)."},
    {"workload.moves.per_mailbox", SIM_P_DIST_TIME, O(moves_per_mailbox), 0,
     TMAX, "uniform(18s, 22s)",
     "Task time to copy one mailbox; a flush is registered after each."},
    /* ---- part 2: KB922768 downloads (spin.c) ---- */
    {"workload.download.rate", SIM_P_RATE, O(download_rate), 0, 10000, "0/s",
     "Outlook message downloads per second of well-formed messages (Poisson)."},
    {"workload.download.malformed_rate", SIM_P_RATE,
     O(download_malformed_rate), 0, 10000, "0/s",
     "Downloads per second of a malformed message (Poisson; KB922768)."},
    {"workload.download.malformed_max", SIM_P_INT, O(download_malformed_max),
     0, 1e9, "0", "Malformed downloads in all (0: no cap)."},
    {"workload.download.retries", SIM_P_INT, O(download_retries), 0, 1000,
     "3", "Times a client whose download hung (timed out) tries it again."},
    {"workload.download.retry_delay", SIM_P_DURATION, O(download_retry_delay),
     0, TMAX, "1m", "Delay before a hung download is tried again."},
    {"workload.download.timeout", SIM_P_DURATION, O(download_timeout), 0,
     TMAX, "60s", "An Outlook client gives up on a download after this."},
    {"store.download_cpu", SIM_P_DIST_TIME, O(download_cpu), 0, TMAX,
     "exp(20ms)", "Store CPU to convert one downloaded message."},
    {"store.download_flush_cpu", SIM_P_DIST_TIME, O(download_flush_cpu), 0,
     TMAX, "const(50ms)",
     "Store CPU of one flush request issued by a failed download (KB922768)."},
    {"store.version_store", SIM_P_SIZE, O(version_store), 0, 64 * GiB,
     "16MiB",
     "Version store of the database: uncommitted changes of open "
     "transactions; full: writes fail with 0x8004060C (MAPI_E_STORE_FULL)."},
    {"store.version_bucket", SIM_P_SIZE, O(version_bucket), 16, GiB, "4KiB",
     "Version store bytes of one write (a flush, marking a message read)."},
    {"store.download_flush_window", SIM_P_INT, O(download_flush_window), 1,
     1024, "4",
     "Flush requests a failed download keeps in flight (each runs on a store "
     "task) without the kb922768 fix."},
    /* ---- part 2: KB898782 third-party MAPI program (leak.c) ---- */
    {"workload.mapi_program.rate", SIM_P_RATE, O(mapiprog_rate), 0, 10000,
     "0/s", "OpenMsgStore calls per second of the MAPI program (0: none)."},
    {"workload.mapi_program.calls", SIM_P_INT, O(mapiprog_calls), 0, 1e12,
     "0", "OpenMsgStore calls in all (0: no cap)."},
    {"workload.mapi_program.leak_per_call", SIM_P_SIZE, O(mapiprog_leak),
     2048, GiB, "64KiB",
     "Bytes each OpenMsgStore call leaks in the program without the kb898782 "
     "fix (>= 2KiB so jemalloc's size classes keep the measure within 1 %)."},
    {"workload.mapi_program.object_size", SIM_P_SIZE, O(mapiprog_object), 16,
     GiB, "8KiB", "Bytes of the message store object each call allocates and "
     "releases."},
    {"workload.mapi_program.memory_limit", SIM_P_SIZE,
     O(mapiprog_memory_limit), 0, 64 * GiB, "2GiB",
     "Address space of the (32-bit) MAPI program (0: unlimited)."},
    {"store.openstore_service", SIM_P_DIST_TIME, O(openstore_service), 0,
     TMAX, "exp(10ms)", "Store task time of one OpenMsgStore."},
    /* ---- part 2: Q279798 IMAIL conversion (imail.c) ---- */
    {"workload.imail.inbound_rate", SIM_P_RATE, O(imail_inbound_rate), 0,
     10000, "0/s",
     "Internet Mail Service inbound messages per second, converted by IMAIL "
     "on a store task."},
    {"workload.imail.outbound_rate", SIM_P_RATE, O(imail_outbound_rate), 0,
     10000, "0/s",
     "POP3/IMAP4/NNTP message reads per second, converted by IMAIL on a store "
     "task."},
    {"workload.imail.count", SIM_P_INT, O(imail_count), 0, 1e12, "0",
     "Messages per direction in all (0: no cap)."},
    {"workload.imail.periodic", SIM_P_BOOL, O(imail_periodic), 0, 1, "false",
     "Constant gaps instead of Poisson, both directions arriving at the same "
     "instants (races decided by the scheduler alone)."},
    {"workload.imail.timeout", SIM_P_DURATION, O(imail_timeout), 0, TMAX,
     "60s", "A POP3/IMAP4 reader gives up after this."},
    {"store.imail.convert_cpu", SIM_P_DIST_TIME, O(imail_convert_cpu), 0,
     TMAX, "exp(5ms)", "IMAIL CPU before its critical sections."},
    {"store.imail.inner_cpu", SIM_P_DIST_TIME, O(imail_inner_cpu), 0, TMAX,
     "exp(2ms)",
     "IMAIL CPU between taking the first and the second critical section (a "
     "scheduling point even when 0)."},
    {"store.imail.locked_cpu", SIM_P_DIST_TIME, O(imail_locked_cpu), 0, TMAX,
     "exp(1ms)", "IMAIL CPU holding both critical sections."},
    {"store.imail.ims_threads", SIM_P_INT, O(imail_ims_threads), 1, 1024, "4",
     "Internet Mail Service inbound threads, each converting one message at "
     "a time on a store task."},
    {"store.imail.protocol_threads", SIM_P_INT, O(imail_protocol_threads), 1,
     1024, "4",
     "POP3/IMAP4 protocol threads, each serving one read at a time on a store "
     "task."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_fault_kind_t store_faults[] = {
    {"mta_disable", "Stop MTA Stacks: gateway out threads take no transit mail."},
    {"mta_enable", "Start MTA Stacks again."},
    {"store_restart",
     "Restart the store: queued and in-flight work fails, tasks restart, the "
     "property cache empties, the store arena is reset; the SMTP queue "
     "survives. timeout: how long to wait for tasks to stop."},
    {"store_shutdown",
     "Shut the store down and wait for its tasks up to timeout; a report says "
     "whether it completed and what every remaining task does."},
    {"program_restart",
     "Restart the third-party MAPI program (KB898782): its process starts "
     "again with an empty arena, so everything it leaked is released."},
    {NULL, NULL}};

static const char *const store_fixes[] = {"kb924567", "kb941060", "kb922768",
                                           "kb898782", "q279798", NULL};

static void dist_const(sim_dist_t *d, double v) {
  memset(d, 0, sizeof *d);
  d->kind = SIM_D_CONST;
  d->a = v;
}
static void dist_exp(sim_dist_t *d, double mean) {
  memset(d, 0, sizeof *d);
  d->kind = SIM_D_EXP;
  d->a = mean;
}

void store_config_init(store_config_t *c) {
  memset(c, 0, sizeof *c);
  c->tasks = 32;
  c->rpc_limit = 100;
  c->gateway_out_threads = 1;
  c->transit_flush_timeout = 150 * SIM_MIN;
  dist_const(&c->mta_flush_time, 2.0 * SIM_SEC);
  c->cache_capacity = 65536;
  c->restart_time = SIM_MIN;
  c->stop_timeout = 5 * SIM_MIN;
  c->shutdown_timeout = 10 * SIM_MIN;
  c->memory_limit = (uint64_t)2 * 1024 * 1024 * 1024;
  dist_exp(&c->conversion_cpu, 5.0 * SIM_MS);
  dist_exp(&c->delivery_time, 40.0 * SIM_MS);
  c->smtp_threads = 8;
  c->smtp_accept_time = 20 * SIM_MS;
  c->smtp_accept_timeout = 5 * SIM_MIN;
  c->smtp_submit_timeout = 10 * SIM_MIN;
  c->smtp_expiration = 2 * SIM_DAY;
  c->smtp_retry[0] = 15 * SIM_MIN;
  c->smtp_retry[1] = 30 * SIM_MIN;
  c->smtp_retry[2] = 60 * SIM_MIN;
  c->smtp_retry[3] = 240 * SIM_MIN;
  c->smtp_rate = 1.0;
  c->smtp_malformed_rate = 0.0;
  memset(&c->smtp_size, 0, sizeof c->smtp_size);
  c->smtp_size.kind = SIM_D_LOGNORMAL;
  c->smtp_size.a = 50.0 * 1024;
  c->smtp_size.b = 1.0;
  c->smtp_headers = 16;
  c->smtp_vocabulary = 4000;
  c->smtp_zipf = 1.0;
  c->owa_rate = 0.2;
  c->owa_timeout = 60 * SIM_SEC;
  dist_exp(&c->owa_service, 100.0 * SIM_MS);
  c->mapi_rate = 0.5;
  c->mapi_timeout = 60 * SIM_SEC;
  dist_exp(&c->mapi_service, 20.0 * SIM_MS);
  c->moves_at = 30 * SIM_MIN;
  c->moves_count = 0;
  c->moves_threads = 4;
  memset(&c->moves_per_mailbox, 0, sizeof c->moves_per_mailbox);
  c->moves_per_mailbox.kind = SIM_D_UNIFORM;
  c->moves_per_mailbox.a = 18.0 * SIM_SEC;
  c->moves_per_mailbox.b = 22.0 * SIM_SEC;
  /* part 2 */
  c->download_retries = 3;
  c->download_retry_delay = SIM_MIN;
  c->download_timeout = 60 * SIM_SEC;
  dist_exp(&c->download_cpu, 20.0 * SIM_MS);
  dist_const(&c->download_flush_cpu, 50.0 * SIM_MS);
  c->version_store = 16 * 1024 * 1024;
  c->version_bucket = 4096;
  c->download_flush_window = 4;
  c->mapiprog_leak = 64 * 1024;
  c->mapiprog_object = 8 * 1024;
  c->mapiprog_memory_limit = (uint64_t)2 * 1024 * 1024 * 1024;
  dist_exp(&c->openstore_service, 10.0 * SIM_MS);
  c->imail_timeout = 60 * SIM_SEC;
  dist_exp(&c->imail_convert_cpu, 5.0 * SIM_MS);
  dist_exp(&c->imail_inner_cpu, 2.0 * SIM_MS);
  dist_exp(&c->imail_locked_cpu, 1.0 * SIM_MS);
  c->imail_ims_threads = 4;
  c->imail_protocol_threads = 4;
}

static void dist_free(sim_dist_t *d) {
  free(d->values);
  d->values = NULL;
  d->nvalues = 0;
}

void store_config_free(void *cfg) {
  store_config_t *c = cfg;
  if (!c) return;
  dist_free(&c->mta_flush_time);
  dist_free(&c->conversion_cpu);
  dist_free(&c->delivery_time);
  dist_free(&c->smtp_size);
  dist_free(&c->owa_service);
  dist_free(&c->mapi_service);
  dist_free(&c->moves_per_mailbox);
  dist_free(&c->download_cpu); /* part 2 */
  dist_free(&c->download_flush_cpu);
  dist_free(&c->openstore_service);
  dist_free(&c->imail_convert_cpu);
  dist_free(&c->imail_inner_cpu);
  dist_free(&c->imail_locked_cpu);
}

/* ---- the model interface ---------------------------------------------------- */

typedef struct store_inst {
  store_t *s;
  sim_fault_t *faults;
  size_t nfaults;
  struct fault_arg {
    struct store_inst *inst;
    size_t i;
  } *args;
} store_inst_t;

static void fault_thread(void *arg) {
  struct fault_arg *fa = arg;
  store_inst_t *inst = fa->inst;
  store_t *s = inst->s;
  const sim_fault_t *f = &inst->faults[fa->i];
  switch (f->kind) {
  case STORE_FAULT_MTA_DISABLE:
    store__mta_set_enabled(s, 0);
    break;
  case STORE_FAULT_MTA_ENABLE:
    store__mta_set_enabled(s, 1);
    break;
  case STORE_FAULT_STORE_RESTART:
    store_restart(s, f->timeout > 0 ? f->timeout : s->cfg->stop_timeout);
    break;
  case STORE_FAULT_STORE_SHUTDOWN:
    store_shutdown(s, f->timeout > 0 ? f->timeout : s->cfg->shutdown_timeout);
    break;
  case STORE_FAULT_PROGRAM_RESTART:
    store__leak_restart_program(s);
    break;
  default:
    break;
  }
}

static void fault_cb(sim_world_t *w, void *arg) {
  struct fault_arg *fa = arg;
  static const char *const names[STORE_NFAULTS] = {
      "fault-mta-disable", "fault-mta-enable", "fault-store-restart",
      "fault-store-shutdown", "fault-program-restart"};
  int k = fa->inst->faults[fa->i].kind;
  sim_thread_spawn(w, (unsigned)k < STORE_NFAULTS ? names[k] : "fault", NULL,
                   fault_thread, fa);
}

static void inst_destroy(void *p) {
  store_inst_t *inst = p;
  if (!inst) return;
  store_destroy(inst->s);
  free(inst->faults);
  free(inst->args);
  free(inst);
}

static void *model_create(sim_world_t *w, const void *cfgp, uint64_t fixes,
                          const sim_fault_t *faults, size_t nfaults, char *err,
                          size_t nerr) {
  const store_config_t *cfg = cfgp;
  store_inst_t *inst = sim_calloc(1, sizeof *inst);
  if (!inst) goto oom;
  if (nfaults) {
    inst->faults = sim_calloc(nfaults, sizeof *inst->faults);
    inst->args = sim_calloc(nfaults, sizeof *inst->args);
    if (!inst->faults || !inst->args) goto oom;
    memcpy(inst->faults, faults, nfaults * sizeof *faults);
    inst->nfaults = nfaults;
  }
  for (size_t i = 0; i < nfaults; i++) {
    if ((unsigned)faults[i].kind >= STORE_NFAULTS) {
      if (err) snprintf(err, nerr, "unknown fault kind %d", faults[i].kind);
      goto fail;
    }
  }
  inst->s = store_create(w, cfg, fixes, err, nerr);
  if (!inst->s) goto fail;
  if (store__cache_init(inst->s, err, nerr) != 0) goto fail;
  if (store__mta_init(inst->s, err, nerr) != 0) goto fail;
  if (store__smtp_init(inst->s, err, nerr) != 0) goto fail;
  if (store__clients_init(inst->s, err, nerr) != 0) goto fail;
  if (store__moves_init(inst->s, err, nerr) != 0) goto fail;
  if (store__spin_init(inst->s, err, nerr) != 0) goto fail;  /* part 2 */
  if (store__leak_init(inst->s, err, nerr) != 0) goto fail;
  if (store__imail_init(inst->s, err, nerr) != 0) goto fail;
  for (size_t i = 0; i < nfaults; i++) {
    inst->args[i].inst = inst;
    inst->args[i].i = i;
    sim_at(w, inst->faults[i].at, fault_cb, &inst->args[i]);
  }
  return inst;
oom:
  if (err) snprintf(err, nerr, "out of host memory");
fail:
  inst_destroy(inst);
  return NULL;
}

store_t *store__inst_store(void *p) { return ((store_inst_t *)p)->s; }

static void model_finish(void *p) {
  store_inst_t *inst = p;
  store_finish(inst->s);
}

const sim_model_t store_model = {
    .name = "store",
    .doc = "The Exchange information store: tasks, SMTP local delivery, OWA "
           "and MAPI clients, MTA and transit flush, mailbox moves, property "
           "cache.",
    .params = store_params,
    .faults = store_faults,
    .fixes = store_fixes,
    .config_size = sizeof(store_config_t),
    .config_free = store_config_free,
    .create = model_create,
    .finish = model_finish,
    .destroy = inst_destroy,
};
