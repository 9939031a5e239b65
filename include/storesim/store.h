/*
 * storesim: the information store model (Store.exe and the services around
 * it): the store core (task pool, work queue, RPC admission, process, restart
 * and shutdown) and its mechanisms, one file each in sim/store/: SMTP inbound
 * and local delivery, OWA and MAPI clients, MTA Stacks and the transit mail
 * flush (KB924567), mailbox moves, the property cache (KB941060), Outlook
 * downloads and the CPU spin (KB922768), the leaking MAPI program (KB898782)
 * and IMAIL conversion (Q279798).
 *
 * The model is written only against the kernel API (sim.h, sync.h, proc.h,
 * detect.h, trace.h, metrics.h, param.h). It knows nothing of YAML: the
 * scenario layer fills a config through the model's parameter table and
 * hands it to the model's create. The model is assembled from one table of
 * mechanism descriptors (sim/store/model.c); a mechanism's extension API is
 * sim/store/store_int.h, and docs/adding-a-mechanism.md shows how to add one.
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

/* Fix bits in the `fixes` set given to create, and fault kinds, of the
 * mechanisms built in. Both are numbered in table order (model.c: the
 * mechanisms with a fix, and every mechanism's faults, in turn); the
 * assembly checks these constants against the table. */
enum {
  STORE_FIX_KB941060 = 0, /* cache.c: malformed headers read correctly */
  STORE_FIX_KB924567 = 1, /* mta.c: gateway_out_threads == 0: no transit flush */
  STORE_FIX_KB922768 = 2, /* spin.c: a failed download ends with one error */
  STORE_FIX_KB898782 = 3, /* leak.c: OpenMsgStore frees what it allocates */
  STORE_FIX_Q279798 = 4,  /* imail.c: IMAIL takes its locks in one order */
  STORE_NFIXES
};
#define STORE_FIX(f) (UINT64_C(1) << (f))

enum {
  STORE_FAULT_STORE_RESTART = 0, /* store.c */
  STORE_FAULT_STORE_SHUTDOWN,
  STORE_FAULT_MTA_DISABLE, /* mta.c */
  STORE_FAULT_MTA_ENABLE,
  STORE_FAULT_PROGRAM_RESTART, /* leak.c: restart the MAPI program */
  STORE_NFAULTS
};

/* Store versions, the values of store.version in this order (the model's
 * `versions`): each mechanism of the table says in which it exists
 * (store_mech_t.versions, sim/store/model.c). 2003 is the default. */
enum {
  STORE_VERSION_2003 = 0, /* Exchange 2003: SMTP service and local delivery, OWA 2003 */
  STORE_VERSION_55 = 1,   /* Exchange 5.5: Internet Mail Service, POP3/IMAP4/NNTP via IMAIL */
  STORE_NVERSIONS
};
#define STORE_VERSION_BIT(v) (UINT32_C(1) << (v))

/* The range of store.tasks. */
#define STORE_TASKS_MAX 4096

/* Model-specific result codes, below the kernel's SIM_E* range. */
#define STORE_ECONVERT (-100) /* MIME conversion failed (property cache full) */
#define STORE_EDOWN (-101)    /* the store is down (restart, shutdown) */
#define STORE_EREFUSED (-102) /* RPC refused by the admission limit */
/* a write found the version store full: 0x8004060C, MAPI_E_STORE_FULL */
#define STORE_ESTOREFULL (-103)

/* A static message for a STORE_E* or SIM_E* code (never NULL). */
const char *store_strerror(int rc);

/* The configuration of the mechanisms built in, filled by the scenario
 * loader from the model's parameter table (each field's row, with its
 * default and range, is in the mechanism's file). A mechanism added later
 * keeps its parameters in a struct of its own (store_mech_t.config_size).
 * Durations are virtual ns, sizes bytes, rates per second. */
typedef struct store_config {
  /* store */
  double version;                /* store.version: 2003 or 5.5 (STORE_VERSION_*) */
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
  /* KB922768: Outlook downloads (spin.c) */
  double download_rate;          /* healthy downloads per second */
  double download_malformed_rate;/* downloads of a malformed message */
  int64_t download_malformed_max;/* malformed downloads in all (0: no cap) */
  int64_t download_retries;      /* a hung client retries this often */
  sim_time_t download_retry_delay;
  sim_time_t download_timeout;   /* the client gives up after this */
  sim_dist_t download_cpu;       /* conversion CPU of one download */
  sim_dist_t download_flush_cpu; /* CPU of one flush request */
  sim_dist_t download_spin_cpu;  /* CPU of the spinning loop per flush issued */
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
  /* Exchange 5.5: the IMS outbound queue (ims.c) */
  double ims_outbound_rate;     /* messages to the Internet per second */
  int64_t ims_outbound_threads; /* IMS outbound conversion threads */
} store_config_t;

/* The store model, assembled from its mechanism table on first use (safe
 * from any thread). Its params, faults, fixes and parts are the tables of
 * the mechanisms in turn; config_size covers store_config_t and the blocks
 * of mechanisms with a config of their own. Never NULL: a table that does
 * not assemble is a bug and aborts. */
const sim_model_t *store_model(void);

#ifdef __cplusplus
}
#endif
#endif
