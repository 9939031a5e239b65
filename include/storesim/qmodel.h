/*
 * storesim: the generic queueing model ("model: queue").
 *
 * Customers arrive (Poisson, constant or any interarrival distribution, in
 * batches, plus an optional one-off burst) into a pool of c workers, a kernel
 * semaphore of c units. Each customer is one simulated thread: it waits for a
 * worker (FIFO), is served for a time drawn from the service distribution
 * (sleeping, or burning CPU on the simulated cores), releases the worker and
 * ends. This is enough to check the kernel and the harness against the
 * closed-form results of M/M/1, M/M/c (Erlang C) and M/D/1
 * (Pollaczek-Khinchine); see scenarios/validation/.
 *
 * Random streams (common random numbers across variants): "queue.arrivals"
 * for interarrival times, "queue.service" for service times, drawn in arrival
 * order, so a variant that changes the number of workers sees exactly the
 * same customers.
 *
 * Metrics (registered at create time):
 *   queue.wait       sample, s   time from arrival to service start (served
 *                                customers arriving after queue.warmup)
 *   queue.response   sample, s   wait + service
 *   queue.p_wait     gauge       fraction of those customers that waited > 0
 *   queue.length     gauge       customers waiting for a worker
 *   queue.in_system  gauge       customers waiting or in service
 *   queue.busy       gauge       workers busy
 *   queue.arrivals, queue.served, queue.rejected, queue.timeouts   counters
 */
#ifndef STORESIM_QMODEL_H
#define STORESIM_QMODEL_H

#include "storesim/param.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qm_config {
  int64_t workers;          /* queue.workers */
  int64_t capacity;         /* queue.capacity: max waiting, 0 = unlimited */
  sim_time_t patience;      /* queue.patience: give up after, 0 = never */
  sim_time_t warmup;        /* queue.warmup */
  sim_dist_t interarrival;  /* arrivals.interarrival */
  int64_t batch;            /* arrivals.batch */
  int64_t limit;            /* arrivals.limit: 0 = unlimited */
  sim_time_t start;         /* arrivals.start */
  sim_time_t burst_at;      /* burst.at */
  int64_t burst_count;      /* burst.count */
  sim_dist_t service;       /* service.time */
  int service_cpu;          /* service.cpu */
} qm_config_t;

extern const sim_model_t queue_model;

#ifdef __cplusplus
}
#endif
#endif
