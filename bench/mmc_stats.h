/*
 * mmc_stats: how an M/M/c run through the kernel compares with Erlang C,
 * from what the run measured of each customer (arrival, start and end of
 * service, read off the virtual clock). Used by `storesim-bench mmc` and by
 * tests/test_mmc.c.
 *
 * Why more than the raw mean wait: at utilisation 0.9 the waits of
 * successive customers are so correlated that one run's mean wait over 10^6
 * customers has a standard deviation of about 2.9 % (c = 10), so a raw
 * "within 3 %" check fails a correct kernel one run in four. Classical
 * control variates (mean service and inter-arrival time) only bring that to
 * 2.2 %. What works is a martingale control built from the solution of the
 * Poisson equation of the M/M/c birth-death chain (Henderson and Glynn,
 * "Approximating martingales for variance reduction in Markov process
 * simulation", Math. Oper. Res. 2002), used in the usual Lavenberg-Welch
 * batch regression: its standard deviation at 10^6 customers is about 0.1 %
 * for c = 1, 2 and 10 at utilisation 0.9 (measured over 400 seeds).
 *
 * The controls have mean 0 whenever arrivals are Poisson(lambda) and service
 * times iid Exp(mu), whatever the queue does; so the adjusted mean wait tests
 * the queue logic (work conservation: no server idle while a customer
 * waits), and would absorb wrong inputs. Hence the input checks: the mean
 * and second moment of the measured service and inter-arrival times against
 * 1/mu, 2/mu^2, 1/lambda, 2/lambda^2, each within 5 standard deviations.
 * mmc_stats_verdict() requires all of them.
 */
#ifndef STORESIM_BENCH_MMC_STATS_H
#define STORESIM_BENCH_MMC_STATS_H

#include <stddef.h>

/* One customer, in arrival order; times in seconds. */
typedef struct mmc_obs {
  double arrive, start, end;
} mmc_obs_t;

typedef struct mmc_stats {
  double erlang_p, erlang_wait; /* the formulas */
  long kept;                    /* customers after warm-up */
  double p_wait, mean_wait;     /* raw, over kept customers */
  double wait_cv, wait_cv_se;   /* control-variate estimate and its in-run SE */
  double p_wait_cv, p_wait_cv_se;
  /* measured / expected, and the band each must be in (relative) */
  double service_mean, service_m2, inter_mean, inter_m2;
  double tol_mean, tol_m2;
} mmc_stats_t;

/* Computes the statistics of obs[0..n) with the first `first` (>= 1)
 * customers as warm-up, the kept ones in `nbatches` equal batches (>= 5;
 * kept customers beyond a multiple of nbatches are not used for the
 * regression). lambda < c mu. Returns 0, or -1 when the regression could not
 * be made (fewer than 10 kept customers a batch, or singular): the raw
 * figures and input ratios are filled then if there were kept customers, the
 * adjusted ones are NaN. */
int mmc_stats_compute(double lambda, double mu, int c, const mmc_obs_t *obs, long n, long first,
                      int nbatches, mmc_stats_t *out);

/* 1 when everything agrees: inputs within their bands, the adjusted mean
 * wait within wait_tol (relative) of Erlang C, the adjusted P(wait) within
 * p_tol (absolute). Writes what failed (or "ok") into why[0..nwhy). */
int mmc_stats_verdict(const mmc_stats_t *s, double wait_tol, double p_tol, char *why, size_t nwhy);

/* Erlang C: probability of waiting and mean wait in queue, lambda < c mu. */
void mmc_erlang_c(double lambda, double mu, int c, double *p_wait, double *mean_wait);

#endif
