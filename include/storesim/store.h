/*
 * storesim: the information store model (Store.exe and the services around
 * it), part 1: the store core (task pool, work queue, RPC admission, process,
 * restart and shutdown), SMTP inbound and local delivery, OWA and MAPI
 * clients, MTA Stacks and the transit mail flush, mailbox moves, the property
 * cache, timed faults, metrics and the task-exhaustion detector.
 *
 * The model is written only against the kernel API (sim.h, sync.h, proc.h,
 * detect.h, trace.h, metrics.h, param.h). It knows nothing of YAML: the
 * scenario layer fills a store_config_t through the parameter table
 * store_params[] and hands it to store_model.create.
 *
 * The core's extension API (work kinds, store_call/store_submit, RPC
 * admission, components with down/up hooks) is in sim/store/store_int.h; part
 * 2 components (spin, leak, IMAIL) plug in there, each in its own .c file.
 *
 * Store states (see sim/store/store.c):
 *
 *   UP   -> DOWN  store_restart / store_shutdown: queued work fails with
 *                 SIM_ECANCELED, tasks are canceled and must exit
 *   DOWN -> UP    store_restart, after every task exited (or the wait timed
 *                 out), the arena was reset and store.restart_time passed
 *   DOWN -> DEAD  store_shutdown: the store stays down
 */
#ifndef STORESIM_STORE_H
#define STORESIM_STORE_H

#include <stdint.h>

#include "storesim/param.h"
#include "storesim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fixes: bit numbers in the `fixes` set given to create ---------------- */
enum {
  STORE_FIX_KB924567 = 0, /* gateway_out_threads == 0: no transit flush */
  STORE_FIX_KB941060 = 1, /* malformed headers read correctly */
  STORE_FIX_KB922768 = 2, /* part 2: a failed download ends with one error */
  STORE_FIX_KB898782 = 3, /* part 2: OpenMsgStore frees what it allocates */
  STORE_FIX_Q279798 = 4,  /* part 2: IMAIL takes its locks in one order */
  STORE_NFIXES
};
#define STORE_FIX(f) (UINT64_C(1) << (f))

/* ---- timed faults: indexes into store_model.faults -------------------------- */
enum {
  STORE_FAULT_MTA_DISABLE = 0,
  STORE_FAULT_MTA_ENABLE,
  STORE_FAULT_STORE_RESTART,
  STORE_FAULT_STORE_SHUTDOWN,
  STORE_FAULT_PROGRAM_RESTART, /* part 2: restart the MAPI program (leak.c) */
  STORE_NFAULTS
};

/* Model-specific result codes, below the kernel's SIM_E* range. */
#define STORE_ECONVERT (-100) /* MIME conversion failed (property cache full) */
#define STORE_EDOWN (-101)    /* the store is down (restart, shutdown) */
#define STORE_EREFUSED (-102) /* RPC refused by the admission limit */

/* A static message for a STORE_E* or SIM_E* code (never NULL). */
const char *store_strerror(int rc);

/* The configuration, filled by the scenario loader from store_params[].
 * Durations are virtual ns, sizes bytes, rates per second. */
typedef struct store_config {
  /* store */
  int64_t tasks;                 /* worker tasks in the pool */
  int64_t rpc_limit;             /* concurrent RPCs before refusing */
  int64_t gateway_out_threads;   /* MTA gateway out threads (0: MTA off) */
  sim_time_t transit_flush_timeout;
  sim_dist_t mta_flush_time;     /* MTA time to take a flush */
  int64_t cache_capacity;        /* property cache entries */
  sim_time_t restart_time;       /* down time of a restart */
  sim_time_t stop_timeout;       /* wait for tasks to stop on restart */
  sim_time_t shutdown_timeout;   /* default timeout of store_shutdown */
  uint64_t memory_limit;         /* store process memory (address space) */
  sim_dist_t conversion_cpu;     /* MIME conversion CPU per message */
  sim_dist_t delivery_time;      /* store-side write of one message */
  /* smtp service */
  int64_t smtp_threads;          /* SMTP worker threads (sessions+delivery) */
  sim_time_t smtp_accept_time;   /* thread time to accept one message */
  sim_time_t smtp_accept_timeout;/* sender gives up after this */
  sim_time_t smtp_submit_timeout;/* store driver waits this long for a task */
  sim_time_t smtp_expiration;    /* NDR 4.4.7 after this */
  sim_time_t smtp_retry[4];      /* 1st, 2nd, 3rd, subsequent retry */
  /* workload */
  double smtp_rate;              /* well-formed messages per second */
  double smtp_malformed_rate;    /* malformed messages per second */
  sim_dist_t smtp_size;
  int64_t smtp_headers;          /* header properties per message */
  int64_t smtp_vocabulary;       /* distinct valid header names */
  double smtp_zipf;              /* Zipf exponent of header popularity */
  double owa_rate;
  sim_time_t owa_timeout;
  sim_dist_t owa_service;
  double mapi_rate;
  sim_time_t mapi_timeout;
  sim_dist_t mapi_service;
  sim_time_t moves_at;
  int64_t moves_count;
  int64_t moves_threads;
  sim_dist_t moves_per_mailbox;
  /* ---- part 2 (sim/store/spin.c, leak.c, imail.c) ---- */
  /* KB922768: Outlook downloads (spin.c) */
  double download_rate;          /* healthy downloads per second */
  double download_malformed_rate;/* downloads of a malformed message */
  int64_t download_malformed_max;/* malformed downloads in all (0: no cap) */
  int64_t download_retries;      /* a hung client retries this often */
  sim_time_t download_retry_delay;
  sim_time_t download_timeout;   /* the client gives up after this */
  sim_dist_t download_cpu;       /* conversion CPU of one download */
  sim_dist_t download_flush_cpu; /* CPU of one flush request */
  uint64_t version_store;        /* version store capacity, bytes */
  uint64_t version_bucket;       /* version store bytes per write */
  int64_t download_flush_window; /* flush requests a failed download keeps
                                    in flight */
  /* KB898782: the third-party MAPI program (leak.c) */
  double mapiprog_rate;          /* OpenMsgStore calls per second */
  int64_t mapiprog_calls;        /* calls in all (0: no cap) */
  uint64_t mapiprog_leak;        /* bytes leaked per call without the fix */
  uint64_t mapiprog_object;      /* bytes of the per-call store object */
  uint64_t mapiprog_memory_limit;/* the program's own address space */
  sim_dist_t openstore_service;  /* store task time of one OpenMsgStore */
  /* Q279798: IMAIL conversion (imail.c) */
  double imail_inbound_rate;     /* IMS inbound messages per second */
  double imail_outbound_rate;    /* POP3/IMAP4/NNTP reads per second */
  int64_t imail_count;           /* messages per direction (0: no cap) */
  int imail_periodic;            /* constant gaps, both directions aligned */
  sim_time_t imail_timeout;      /* an outbound reader gives up after this */
  sim_dist_t imail_convert_cpu;  /* CPU before the critical sections */
  sim_dist_t imail_inner_cpu;    /* CPU between taking the first and second */
  sim_dist_t imail_locked_cpu;   /* CPU holding both */
  int64_t imail_ims_threads;     /* IMS inbound conversion threads */
  int64_t imail_protocol_threads;/* POP3/IMAP4 protocol threads */
} store_config_t;

/* The parameter table ({NULL}-terminated) and the model. */
extern const sim_param_t store_params[];
extern const sim_model_t store_model;

/* Fills c with the defaults of store_params[] (same values as the table's
 * default text; tests/test_store.c checks they agree). Distributions are
 * constant or exponential, so nothing in c needs freeing; store_config_free
 * is still safe on it. */
void store_config_init(store_config_t *c);
/* Frees what a loader allocated inside c (empirical values). Accepts NULL. */
void store_config_free(void *c);

#ifdef __cplusplus
}
#endif
#endif
