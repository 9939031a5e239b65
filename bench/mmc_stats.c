/*
 * mmc_stats.c: Erlang C agreement of a measured M/M/c run (see mmc_stats.h).
 *
 * The control. Let Q(s) be the number in system, I(s) the number in service,
 * and h the solution of the Poisson equation of the M/M/c chain for
 * f(n) = (n - c)^+ (the queue length), D(n) = h(n + 1) - h(n):
 *   n >= c: D(n) = [(n - c) rho/(1 - rho) + rho/(1 - rho)^2 - Lq rho/(1 - rho)] / lambda
 *   n <  c: D(n) = Lq r(n) / lambda,  r(0) = 1, r(n) = 1 + r(n - 1) n / a
 * with a = lambda/mu, rho = a/c, Lq = lambda Wq (Erlang C). Over the
 * inter-arrival interval of each kept customer,
 *   X1 = sum over arrivals of D(Q-) - lambda * integral of D(Q) ds
 *   X2 = -sum over departures of D(Q- - 1) + mu * integral of I D(Q - 1) ds
 *   X3 = A_i - 1/lambda
 * are martingale increments (compensated jumps), mean 0 for Poisson arrivals
 * and exponential services under any non-anticipating queue logic; D only
 * decides how much of the wait's variance they explain. The estimate is the
 * batch-means regression  W = mean(Y) - beta' mean(X),  beta by least squares
 * of the batch means of the wait Y on X1, X2, X3 (with intercept), and its
 * standard error the usual s_e^2 (1/B + xbar' Sxx^-1 xbar) (conservative for
 * this control: 2-3x the spread seen over seeds at B = 50). P(wait) is
 * adjusted the same way, with Y = 1{waited}, D for f(n) = 1{n >= c}:
 *   n >= c: (1 - Pw) rho / ((1 - rho) lambda),  n < c: Pw r(n) / lambda,
 * and the two martingale controls only.
 */
#include "mmc_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mmc_erlang_c(double lambda, double mu, int c, double *p_wait, double *mean_wait) {
  double a = lambda / mu, b = 1.0; /* Erlang B by its recursion */
  for (int k = 1; k <= c; k++) b = a * b / (k + a * b);
  double rho = a / c;
  double p = b / (1.0 - rho * (1.0 - b));
  *p_wait = p;
  *mean_wait = p / (c * mu - lambda);
}

/* ---- the Poisson-equation weights ---- */
typedef struct dfun {
  double lambda, rho, lq, pw;
  int c;
  double *r; /* r(n), n < c */
} dfun_t;

/* For f(n) = (n - c)^+, the queue length (the mean wait's control). */
static double dval(const dfun_t *d, long n) {
  if (n >= d->c) {
    double k = d->rho / (1 - d->rho);
    return ((double)(n - d->c) * k + k / (1 - d->rho) - d->lq * k) / d->lambda;
  }
  return d->lq * d->r[n] / d->lambda;
}

/* For f(n) = 1{n >= c}, all servers busy (P(wait)'s control, by PASTA). */
static double dval_p(const dfun_t *d, long n) {
  if (n >= d->c) return (1 - d->pw) * d->rho / ((1 - d->rho) * d->lambda);
  return d->pw * d->r[n] / d->lambda;
}

/* ---- starts and departures, earliest first ---- */
typedef struct ev {
  double t;
  int dep; /* 0: start of service, 1: departure */
} ev_t;

typedef struct evheap {
  ev_t *v;
  long n, cap;
} evheap_t;

static int ev_push(evheap_t *h, double t, int dep) {
  if (h->n == h->cap) {
    long nc = h->cap ? 2 * h->cap : 1024;
    ev_t *p = realloc(h->v, (size_t)nc * sizeof *p);
    if (!p) return -1;
    h->v = p;
    h->cap = nc;
  }
  long i = h->n++;
  while (i > 0 && h->v[(i - 1) / 2].t > t) {
    h->v[i] = h->v[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->v[i] = (ev_t){t, dep};
  return 0;
}

static ev_t ev_pop(evheap_t *h) {
  ev_t top = h->v[0], last = h->v[--h->n];
  long i = 0;
  for (;;) {
    long l = 2 * i + 1, m = i;
    double mt = last.t;
    if (l < h->n && h->v[l].t < mt) m = l, mt = h->v[l].t;
    if (l + 1 < h->n && h->v[l + 1].t < mt) m = l + 1;
    if (m == i) break;
    h->v[i] = h->v[m];
    i = m;
  }
  if (h->n > 0) h->v[i] = last;
  return top;
}

/* Solves the q x q system a x = b in place (b becomes x); 0 if singular. */
static int solve(double *a, double *b, int q) {
  for (int k = 0; k < q; k++) {
    int p = k;
    for (int i = k + 1; i < q; i++)
      if (fabs(a[i * q + k]) > fabs(a[p * q + k])) p = i;
    if (fabs(a[p * q + k]) < 1e-300) return 0;
    if (p != k) {
      for (int j = 0; j < q; j++) {
        double x = a[k * q + j];
        a[k * q + j] = a[p * q + j];
        a[p * q + j] = x;
      }
      double x = b[k];
      b[k] = b[p];
      b[p] = x;
    }
    for (int i = k + 1; i < q; i++) {
      double f = a[i * q + k] / a[k * q + k];
      for (int j = k; j < q; j++) a[i * q + j] -= f * a[k * q + j];
      b[i] -= f * b[k];
    }
  }
  for (int k = q - 1; k >= 0; k--) {
    for (int j = k + 1; j < q; j++) b[k] -= a[k * q + j] * b[j];
    b[k] /= a[k * q + k];
  }
  return 1;
}

/* Per batch: the wait and its controls, waited-or-not and its controls,
 * and the inter-arrival control shared by both. */
enum { Y_W, X_W1, X_W2, Y_P, X_P1, X_P2, X_A, NCOL };
enum { Q_CTL = 3 };

/* Regression estimate of column y on columns x[0..q) (q <= 3) from nb batch
 * means bm[nb][NCOL]. */
static int cv_estimate(const double *bm, int nb, int y, const int *x, int q, double *est,
                       double *se) {
  double ybar = 0, xbar[Q_CTL] = {0};
  for (int b = 0; b < nb; b++) {
    ybar += bm[b * NCOL + y];
    for (int j = 0; j < q; j++) xbar[j] += bm[b * NCOL + x[j]];
  }
  ybar /= nb;
  for (int j = 0; j < q; j++) xbar[j] /= nb;
  double sxx[Q_CTL * Q_CTL] = {0}, sxy[Q_CTL] = {0}, syy = 0;
  for (int b = 0; b < nb; b++) {
    double dx[Q_CTL], dy = bm[b * NCOL + y] - ybar;
    syy += dy * dy;
    for (int j = 0; j < q; j++) dx[j] = bm[b * NCOL + x[j]] - xbar[j];
    for (int j = 0; j < q; j++) {
      sxy[j] += dx[j] * dy;
      for (int k = 0; k < q; k++) sxx[j * q + k] += dx[j] * dx[k];
    }
  }
  double a[Q_CTL * Q_CTL], beta[Q_CTL], ix[Q_CTL];
  memcpy(a, sxx, sizeof a);
  memcpy(beta, sxy, sizeof beta);
  if (!solve(a, beta, q)) return -1;
  double e = ybar, sse = syy;
  for (int j = 0; j < q; j++) {
    e -= beta[j] * xbar[j];
    sse -= beta[j] * sxy[j];
  }
  memcpy(a, sxx, sizeof a);
  memcpy(ix, xbar, sizeof ix);
  if (!solve(a, ix, q)) return -1;
  double quad = 0;
  for (int j = 0; j < q; j++) quad += xbar[j] * ix[j];
  *est = e;
  *se = sqrt((sse > 0 ? sse : 0) / (nb - q - 1) * (1.0 / nb + quad));
  return 0;
}

int mmc_stats_compute(double lambda, double mu, int c, const mmc_obs_t *obs, long n, long first,
                      int nbatches, mmc_stats_t *out) {
  memset(out, 0, sizeof *out);
  out->wait_cv = out->p_wait_cv = out->wait_cv_se = out->p_wait_cv_se = NAN;
  mmc_erlang_c(lambda, mu, c, &out->erlang_p, &out->erlang_wait);
  long kept = n - first;
  out->kept = kept;
  if (first < 1 || kept < 1) return -1;
  /* too few customers for the regression: the raw figures only */
  int regress = nbatches >= Q_CTL + 2 && kept >= 10L * nbatches;
  long per = regress ? kept / nbatches : kept;

  dfun_t d = {lambda, lambda / (c * mu), lambda * out->erlang_wait, out->erlang_p, c, NULL};
  d.r = malloc((size_t)c * sizeof *d.r);
  double *bm = calloc((size_t)nbatches * NCOL, sizeof *bm);
  evheap_t h = {0};
  int rc = -1;
  if (!d.r || !bm) goto done;
  d.r[0] = 1.0;
  for (int k = 1; k < c; k++) d.r[k] = 1.0 + d.r[k - 1] * k / (lambda / mu);

  /* Replay the measured path: Q and I between arrivals, from the starts
   * and departures recorded for each customer. */
  long Q = 0, I = 0;
  double tcur = 0, waits = 0, nwait = 0, s1 = 0, s2 = 0, a1 = 0, a2 = 0;
  for (long i = 0; i < n; i++) {
    double t = obs[i].arrive;
    int keep = regress && i >= first && (i - first) / per < nbatches;
    double *row = keep ? bm + ((i - first) / per) * NCOL : NULL;
    double xa = 0, xd = 0, pa = 0, pd = 0;
    for (;;) { /* events before this arrival */
      int more = h.n > 0 && h.v[0].t < t;
      double tn = more ? h.v[0].t : t, dt = tn - tcur;
      if (keep) {
        xa -= lambda * dval(&d, Q) * dt;
        pa -= lambda * dval_p(&d, Q) * dt;
        if (I > 0) {
          xd += mu * (double)I * dval(&d, Q - 1) * dt;
          pd += mu * (double)I * dval_p(&d, Q - 1) * dt;
        }
      }
      tcur = tn;
      if (!more) break;
      ev_t e = ev_pop(&h);
      if (!e.dep) {
        I++;
      } else {
        if (keep) {
          xd -= dval(&d, Q - 1);
          pd -= dval_p(&d, Q - 1);
        }
        Q--;
        I--;
      }
    }
    if (keep) {
      xa += dval(&d, Q);
      pa += dval_p(&d, Q);
    }
    Q++;
    if (obs[i].start > t) {
      if (ev_push(&h, obs[i].start, 0)) goto done;
    } else {
      I++;
    }
    if (ev_push(&h, obs[i].end, 1)) goto done;
    if (i >= first) {
      double w = obs[i].start - t, sv = obs[i].end - obs[i].start;
      double ia = t - obs[i - 1].arrive;
      waits += w;
      nwait += w > 0;
      s1 += sv;
      s2 += sv * sv;
      a1 += ia;
      a2 += ia * ia;
      if (row) {
        row[Y_W] += w;
        row[X_W1] += xa;
        row[X_W2] += xd;
        row[Y_P] += w > 0;
        row[X_P1] += pa;
        row[X_P2] += pd;
        row[X_A] += ia - 1.0 / lambda;
      }
    }
  }
  double k = (double)kept;
  out->mean_wait = waits / k;
  out->p_wait = nwait / k;
  out->service_mean = s1 / k * mu;
  out->service_m2 = s2 / k * mu * mu / 2;
  out->inter_mean = a1 / k * lambda;
  out->inter_m2 = a2 / k * lambda * lambda / 2;
  /* exponential: the mean has relative SD 1/sqrt(n), the second moment
   * sqrt(20)/2/sqrt(n) (E X^4 = 24/rate^4) */
  out->tol_mean = 5.0 / sqrt(k);
  out->tol_m2 = 5.0 * sqrt(20.0) / 2.0 / sqrt(k);
  if (!regress) goto done;
  for (int b = 0; b < nbatches; b++)
    for (int j = 0; j < NCOL; j++) bm[b * NCOL + j] /= (double)per;
  /* Not the inter-arrival control for P(wait): for c = 1 its arrival part
   * is exactly -lambda X_A (D is constant), and the regression singular. */
  static const int xw[] = {X_W1, X_W2, X_A}, xp[] = {X_P1, X_P2};
  if (cv_estimate(bm, nbatches, Y_W, xw, 3, &out->wait_cv, &out->wait_cv_se) == 0 &&
      cv_estimate(bm, nbatches, Y_P, xp, 2, &out->p_wait_cv, &out->p_wait_cv_se) == 0)
    rc = 0;
done:
  free(h.v);
  free(bm);
  free(d.r);
  return rc;
}

int mmc_stats_verdict(const mmc_stats_t *s, double wait_tol, double p_tol, char *why, size_t nwhy) {
  struct {
    const char *what;
    double dev, tol;
  } chk[] = {
      {"mean service time / (1/mu)", s->service_mean - 1, s->tol_mean},
      {"service second moment / (2/mu^2)", s->service_m2 - 1, s->tol_m2},
      {"mean inter-arrival time / (1/lambda)", s->inter_mean - 1, s->tol_mean},
      {"inter-arrival second moment / (2/lambda^2)", s->inter_m2 - 1, s->tol_m2},
      {"adjusted mean wait / Erlang C", s->wait_cv / s->erlang_wait - 1, wait_tol},
      {"adjusted P(wait) - Erlang C", s->p_wait_cv - s->erlang_p, p_tol},
  };
  size_t k = 0;
  int ok = 1;
  if (nwhy) why[0] = 0;
  for (size_t i = 0; i < sizeof chk / sizeof *chk; i++) {
    if (fabs(chk[i].dev) <= chk[i].tol) continue; /* NaN fails */
    ok = 0;
    if (k < nwhy) {
      int m = snprintf(why + k, nwhy - k, "%s%s off by %+.4f (band %.4f)", k ? "; " : "",
                       chk[i].what, chk[i].dev, chk[i].tol);
      if (m > 0) k += (size_t)m;
    }
  }
  if (ok && nwhy) snprintf(why, nwhy, "ok");
  return ok;
}
