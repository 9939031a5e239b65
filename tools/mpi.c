/*
 * storesim on MPI ranks (docs/scale.md): `mpirun -n N storesim sweep|explore|
 * check --seeds ...` spreads each sweep's runs over the ranks. Built only
 * with MPI (CMake STORESIM_MPI); otherwise, and whenever the process was not
 * started by an MPI launcher or has one rank, nothing here changes anything.
 *
 * Rank 0 runs the command as a single process would, and every sweep it
 * starts goes to mpi_pool_run instead of the local pool: it sends the job
 * (the scenario texts and --set overrides of its cells, the sweep options)
 * to the other ranks, hands out batches of consecutive run indexes on
 * request (large first, smaller near the end, because runs differ in
 * length), and writes the records they send back into the runs' slots of
 * the result, exactly as the local pool writes its workers' records. The
 * other ranks never run the command: they serve jobs (serve) until rank 0
 * says QUIT, so they print nothing and create no file. A rank runs its batch
 * on its own local pool of --jobs forked worker processes
 * (scn_sweep_local), so a run that crashes is one crashed record, not a
 * dead rank.
 *
 * A rank that sends no result for its batch within the batch's deadline
 * ((ceil(runs / jobs) + 1) x --wall-limit + 5 s; none with --wall-limit 0),
 * whose sends fail, or that cannot load the job, is dead for the rest of the
 * command: rank 0 says so on stderr, gives its batch to the next rank that
 * asks, never sends to it again, and ignores anything it sends. With no
 * rank left, rank 0 runs the runs left on its own local pool.
 *
 * Messages (MPI_BYTE on MPI_COMM_WORLD; each carries the sweep's number
 * `seq`, and a result its batch number, so a late answer to an abandoned
 * sweep or a reassigned batch is recognised and dropped):
 *   0 -> r: JOB (seq, options, scenarios)  BATCH (seq, id, lo, hi, runs)
 *           END (seq)  QUIT
 *   r -> 0: RESULT (seq, id, records: scn_sweep_record_put)  FAIL (seq, why)
 *           BYE (the answer to QUIT: nothing follows it)
 *
 * A rank (as rank 0 sees it):
 *   IDLE --give: BATCH--> BUSY --RESULT--> IDLE (records in the result)
 *   BUSY --deadline passed, send failed, FAIL--> DEAD (batch requeued)
 *   IDLE --FAIL--> DEAD
 *
 * State: one process-wide struct (g), as MPI's own state is process-wide.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim_cli.h"

#ifndef STORESIM_MPI

int cli_mpi_start(int *argc, char ***argv, int *status) {
  (void)argc;
  (void)argv;
  (void)status;
  return 0;
}
const scn_sweep_pool_t *cli_mpi_pool(void) { return NULL; }
int cli_mpi_finish(int status) { return status; }

#else

#include <mpi.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "storesim/alloc.h"

enum { TAG_JOB = 1, TAG_BATCH, TAG_END, TAG_QUIT, TAG_RESULT = 10, TAG_FAIL, TAG_BYE };
enum { R_IDLE, R_BUSY, R_DEAD };

/* The grace added to every batch deadline: message transfer, scenario load. */
#define GRACE_S 5.0

typedef struct rank_state {
  int state;        /* R_IDLE, R_BUSY, R_DEAD */
  uint32_t batch;   /* the id of its batch (R_BUSY) */
  size_t lo, hi;    /* its batch's run indexes [lo, hi) */
  int64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
  MPI_Request req;  /* its last BATCH send (MPI_REQUEST_NULL: none) */
  char *msg;        /* that send's buffer */
  size_t nran;      /* runs of this sweep it answered for */
} rank_state_t;

typedef struct pending {
  size_t lo, hi;
  int from;      /* the rank that did not answer for it (0: none) */
  char why[160]; /* what became of that rank */
} pending_t;

static struct {
  int active; /* an MPI run of more than one rank, this is rank 0 */
  int inited; /* MPI_Init was called */
  int nranks;
  uint32_t seq, nbatch;
  int ndead;
  rank_state_t *ranks;
  scn_sweep_pool_t pool;
} g;

/* ---- byte buffers ---- */
typedef struct buf {
  char *p;
  size_t n, cap;
  int oom;
} buf_t;

static void put(buf_t *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->cap - b->n < n) {
    size_t ncap = b->cap ? b->cap : 1024;
    while (ncap - b->n < n) ncap *= 2;
    char *q = sim_realloc(b->p, ncap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = ncap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void put_u64(buf_t *b, uint64_t v) { put(b, &v, sizeof v); }
static void put_str(buf_t *b, const char *z, size_t n) {
  put_u64(b, n);
  put(b, z, n);
}

/* A message being read: get_* return 0, or -1 once it is short. */
typedef struct rd {
  const char *p;
  size_t n, off;
} rd_t;

static int get(rd_t *r, void *p, size_t n) {
  if (r->n - r->off < n) return -1;
  memcpy(p, r->p + r->off, n);
  r->off += n;
  return 0;
}
static uint64_t get_u64(rd_t *r, int *bad) {
  uint64_t v = 0;
  if (get(r, &v, sizeof v)) *bad = 1;
  return v;
}
/* A string of the message, copied (NUL-terminated), or NULL (*bad set). */
static char *get_str(rd_t *r, int *bad, size_t *len) {
  uint64_t n = get_u64(r, bad);
  if (*bad || r->n - r->off < n) {
    *bad = 1;
    return NULL;
  }
  char *z = sim_strndup(r->p + r->off, (size_t)n);
  if (!z) *bad = 1;
  r->off += (size_t)n;
  if (len) *len = (size_t)n;
  return z;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap(void) {
  struct timespec ts = {0, 1000000}; /* 1 ms: rank 0 and idle ranks wait without spinning */
  nanosleep(&ts, NULL);
}

/* Receives the message probed in st (from rank st->MPI_SOURCE) into a new
 * buffer (*n bytes). Returns it, or NULL (host OOM or an MPI error). */
static char *recv_msg(MPI_Status *st, size_t *n) {
  int count = 0;
  MPI_Get_count(st, MPI_BYTE, &count);
  char *p = sim_malloc(count > 0 ? (size_t)count : 1);
  if (!p) return NULL;
  if (MPI_Recv(p, count, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE) != MPI_SUCCESS) {
    free(p);
    return NULL;
  }
  *n = (size_t)(count > 0 ? count : 0);
  return p;
}

/* ---- the job: a sweep's scenarios and options ---- */
static void put_scenario(buf_t *b, const scn_scenario_t *s) {
  put_str(b, s->file, strlen(s->file));
  put_str(b, s->text, s->ntext);
  put_u64(b, s->nsets);
  for (size_t i = 0; i < s->nsets; i++) put_str(b, s->sets[i], strlen(s->sets[i]));
}

/* Appends the job of sweep seq to b (b->oom set when memory ran out). Only
 * a scenario loaded from a text whose model the loader finds by name can be
 * sent (the storesim program's always are; mpi_pool_run checks). */
static void put_job(buf_t *b, uint32_t seq, const scn_scenario_t *s, const scn_sweep_opts_t *o) {
  put(b, &seq, sizeof seq);
  put_str(b, o->variant ? o->variant : "", o->variant ? strlen(o->variant) : 0);
  put_u64(b, o->variant != NULL);
  put_u64(b, (uint64_t)o->sched.kind);
  put_u64(b, o->sched.seed);
  put_u64(b, o->sched.depth);
  put_u64(b, o->sched.steps);
  put_u64(b, (uint64_t)o->vary_world_seed);
  put_u64(b, (uint64_t)o->duration);
  put_u64(b, (uint64_t)o->jobs);
  put(b, &o->wall_limit, sizeof o->wall_limit);
  put_u64(b, (uint64_t)o->stop_on_error);
  put_u64(b, o->nmetrics);
  for (size_t i = 0; i < o->nmetrics; i++) {
    put_str(b, o->metrics[i], strlen(o->metrics[i]));
    put_u64(b, (uint64_t)o->stats[i]);
  }
  put_scenario(b, s);
  put_u64(b, o->ncells);
  for (size_t c = 0; c < o->ncells; c++) put_scenario(b, o->cells[c]);
}

/* A job as a serving rank holds it. */
typedef struct job {
  uint32_t seq;
  int have;
  scn_sweep_opts_t o;
  char *variant;
  char **metrics;
  scn_stat_t *stats;
  scn_scenario_t *s;
  scn_scenario_t **cells;
} job_t;

static void job_free(job_t *j) {
  free(j->variant);
  for (size_t i = 0; j->metrics && i < j->o.nmetrics; i++) free(j->metrics[i]);
  free(j->metrics);
  free(j->stats);
  scn_scenario_free(j->s);
  for (size_t c = 0; j->cells && c < j->o.ncells; c++) scn_scenario_free(j->cells[c]);
  free(j->cells);
  memset(j, 0, sizeof *j);
}

/* Loads one scenario of the job. Returns 0, or -1 with why (n bytes). */
static int get_scenario(rd_t *r, scn_scenario_t **out, char *why, size_t n) {
  int bad = 0;
  size_t ntext = 0;
  char *file = get_str(r, &bad, NULL), *text = get_str(r, &bad, &ntext);
  uint64_t nsets = get_u64(r, &bad);
  char **sets = NULL;
  int rc = -1;
  if (!bad && nsets > r->n) bad = 1;
  if (!bad && nsets && !(sets = sim_calloc((size_t)nsets, sizeof *sets))) bad = 1;
  for (size_t i = 0; !bad && i < nsets; i++) sets[i] = get_str(r, &bad, NULL);
  if (bad) {
    snprintf(why, n, "a malformed job message (or out of host memory)");
  } else {
    scn_load_opts_t lo = {(const char *const *)sets, (size_t)nsets};
    scn_diag_t diag;
    scn_diag_init(&diag);
    if (scn_load_buffer(file, text, ntext, &lo, out, &diag) == 0) rc = 0;
    else { /* the first message: a file it names is not here, say */
      const char *d = diag.text ? diag.text : "";
      snprintf(why, n, "%s does not load here: %.*s", file, (int)strcspn(d, "\n"), d);
    }
    scn_diag_free(&diag);
  }
  for (size_t i = 0; sets && i < nsets; i++) free(sets[i]);
  free(sets);
  free(file);
  free(text);
  return rc;
}

/* Reads a JOB message into *j. Returns 0, or -1 with why. */
static int get_job(const char *p, size_t n, job_t *j, char *why, size_t nwhy) {
  rd_t r = {p, n, 0};
  int bad = 0;
  memset(j, 0, sizeof *j);
  if (get(&r, &j->seq, sizeof j->seq)) bad = 1;
  char *variant = get_str(&r, &bad, NULL);
  if (get_u64(&r, &bad)) j->variant = variant;
  else free(variant);
  j->o.variant = j->variant;
  j->o.sched.kind = (sim_sched_kind_t)get_u64(&r, &bad);
  j->o.sched.seed = get_u64(&r, &bad);
  j->o.sched.depth = get_u64(&r, &bad);
  j->o.sched.steps = get_u64(&r, &bad);
  j->o.vary_world_seed = (int)get_u64(&r, &bad);
  j->o.duration = (sim_time_t)get_u64(&r, &bad);
  j->o.jobs = (int)get_u64(&r, &bad);
  if (get(&r, &j->o.wall_limit, sizeof j->o.wall_limit)) bad = 1;
  j->o.stop_on_error = (int)get_u64(&r, &bad);
  uint64_t nm = get_u64(&r, &bad);
  if (!bad && nm > n) bad = 1;
  if (!bad && nm &&
      (!(j->metrics = sim_calloc((size_t)nm, sizeof *j->metrics)) ||
       !(j->stats = sim_calloc((size_t)nm, sizeof *j->stats))))
    bad = 1;
  if (!bad) j->o.nmetrics = (size_t)nm;
  for (size_t i = 0; !bad && i < nm; i++) {
    j->metrics[i] = get_str(&r, &bad, NULL);
    j->stats[i] = (scn_stat_t)get_u64(&r, &bad);
  }
  j->o.metrics = (const char *const *)j->metrics;
  j->o.stats = j->stats;
  if (bad) {
    snprintf(why, nwhy, "a malformed job message (or out of host memory)");
    return -1;
  }
  if (get_scenario(&r, &j->s, why, nwhy)) return -1;
  uint64_t nc = get_u64(&r, &bad);
  if (bad || nc > n || (nc && !(j->cells = sim_calloc((size_t)nc, sizeof *j->cells)))) {
    snprintf(why, nwhy, "a malformed job message (or out of host memory)");
    return -1;
  }
  for (size_t c = 0; c < nc; c++) {
    if (get_scenario(&r, &j->cells[c], why, nwhy)) return -1;
    j->o.ncells = c + 1;
  }
  j->o.cells = (const scn_scenario_t *const *)j->cells;
  j->have = 1;
  return 0;
}

/* ---- a serving rank ---- */
/* STORESIM_TEST_MPI_RANK=RANK:HOW (stop, kill, exit): the test hook of
 * tests/mpi.sh. Rank RANK stops itself (SIGSTOP: it stops answering),
 * kills itself (SIGKILL) or exits with status 1 when its first batch
 * arrives, as a rank that fails on a cluster would. */
static void test_hook(int rank) {
  const char *e = getenv("STORESIM_TEST_MPI_RANK");
  char how[16];
  int r;
  if (!e || sscanf(e, "%d:%15s", &r, how) != 2 || r != rank) return;
  if (!strcmp(how, "stop")) raise(SIGSTOP);
  else if (!strcmp(how, "kill")) raise(SIGKILL);
  else if (!strcmp(how, "exit")) _exit(1);
}

static void send_fail(uint32_t seq, const char *why) {
  buf_t b = {0};
  put(&b, &seq, sizeof seq);
  put(&b, why, strlen(why));
  if (!b.oom) MPI_Send(b.p, (int)b.n, MPI_BYTE, 0, TAG_FAIL, MPI_COMM_WORLD);
  free(b.p);
}

/* Runs one BATCH of job j and sends its records. Returns 0, or -1 (host
 * OOM: a FAIL was sent). */
static int serve_batch(const job_t *j, const char *p, size_t n) {
  rd_t r = {p, n, 0};
  int bad = 0;
  uint32_t seq = 0, id = 0;
  get(&r, &seq, sizeof seq);
  if (get(&r, &id, sizeof id)) bad = 1;
  uint64_t lo = get_u64(&r, &bad), hi = get_u64(&r, &bad);
  if (bad || seq != j->seq || hi < lo || (hi - lo) * 3 * sizeof(uint64_t) > n) return 0;
  scn_sweep_res_t res = {0};
  buf_t out = {0};
  int rc = 0;
  res.runs = sim_calloc((size_t)(hi - lo) + 1, sizeof *res.runs);
  if (!res.runs) goto oom;
  for (; res.nruns < hi - lo; res.nruns++) {
    scn_sweep_run_t *run = &res.runs[res.nruns];
    run->seed = get_u64(&r, &bad);
    run->variant = (size_t)get_u64(&r, &bad);
    run->cell = (size_t)get_u64(&r, &bad);
    if (run->variant >= j->s->nvariants || (j->o.ncells && run->cell >= j->o.ncells)) bad = 1;
  }
  if (bad) {
    free(res.runs);
    send_fail(seq, "a malformed batch message");
    return -1;
  }
  if (scn_sweep_local(j->s, &j->o, &res)) goto oom;
  put(&out, &seq, sizeof seq);
  put(&out, &id, sizeof id);
  for (size_t i = 0; i < res.nruns && !out.oom; i++) /* a run not taken: all zero, as at rank 0 */
    if (scn_sweep_record_put(&out.p, &out.n, &out.cap, &res.runs[i], lo + i, res.interrupted,
                             j->o.nmetrics))
      out.oom = 1;
  if (out.oom) goto oom;
  MPI_Send(out.p, (int)out.n, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
  goto done;
oom:
  send_fail(seq, "out of host memory");
  rc = -1;
done:
  free(out.p);
  for (size_t i = 0; i < res.nruns; i++) {
    free(res.runs[i].error);
    free(res.runs[i].failed);
    free(res.runs[i].values);
  }
  free(res.runs);
  return rc;
}

/* A rank > 0: serves jobs until QUIT. Returns its exit status. */
static int serve(int rank) {
  job_t j = {0};
  int hooked = 0;
  for (;;) {
    MPI_Status st;
    int flag = 0;
    if (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) break;
    if (!flag) {
      nap();
      continue;
    }
    size_t n = 0;
    char *p = recv_msg(&st, &n);
    if (!p) break;
    if (st.MPI_TAG == TAG_QUIT) {
      /* a rank failed: MPI_Finalize would wait for it, so leave without */
      int failed = n > 0 && p[0];
      free(p);
      MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_BYE, MPI_COMM_WORLD);
      if (failed) {
        job_free(&j);
        _exit(0);
      }
      break;
    }
    uint32_t seq = 0;
    if (n >= sizeof seq) memcpy(&seq, p, sizeof seq);
    if (st.MPI_TAG == TAG_JOB) {
      char why[512];
      job_free(&j);
      if (get_job(p, n, &j, why, sizeof why)) {
        job_free(&j);
        send_fail(seq, why);
      }
    } else if (st.MPI_TAG == TAG_BATCH && j.have && seq == j.seq) {
      if (!hooked++) test_hook(rank);
      serve_batch(&j, p, n);
    } else if (st.MPI_TAG == TAG_END && j.have && seq == j.seq) {
      job_free(&j);
    }
    free(p);
  }
  job_free(&j);
  MPI_Finalize();
  return 0;
}

/* ---- rank 0: the pool ---- */
/* Sends BATCH [lo, hi) of sweep seq to rank k. Returns 0, or -1 (the send
 * failed, or host OOM). */
static int send_batch(int k, const scn_sweep_res_t *r, size_t lo, size_t hi, double wall_limit,
                      int jobs) {
  rank_state_t *x = &g.ranks[k];
  buf_t b = {0};
  uint32_t id = ++g.nbatch;
  put(&b, &g.seq, sizeof g.seq);
  put(&b, &id, sizeof id);
  put_u64(&b, lo);
  put_u64(&b, hi);
  for (size_t i = lo; i < hi; i++) {
    put_u64(&b, r->runs[i].seed);
    put_u64(&b, r->runs[i].variant);
    put_u64(&b, r->runs[i].cell);
  }
  if (b.oom) return free(b.p), -1;
  /* the previous batch was answered: its send is complete */
  if (x->req != MPI_REQUEST_NULL) MPI_Wait(&x->req, MPI_STATUS_IGNORE);
  free(x->msg);
  x->msg = b.p;
  if (MPI_Isend(b.p, (int)b.n, MPI_BYTE, k, TAG_BATCH, MPI_COMM_WORLD, &x->req) != MPI_SUCCESS) {
    x->req = MPI_REQUEST_NULL;
    return -1;
  }
  size_t n = hi - lo, per = (size_t)(jobs < 1 ? 1 : jobs);
  x->state = R_BUSY;
  x->batch = id;
  x->lo = lo;
  x->hi = hi;
  x->deadline = wall_limit > 0
                    ? mono_ns() + (int64_t)(((double)((n + per - 1) / per) + 1) * wall_limit * 1e9 +
                                            GRACE_S * 1e9)
                    : 0;
  return 0;
}

/* Rank k is dead: its batch (if any) goes to the queue, said when it is
 * given to another rank; else it is said now. */
static void rank_dead(int k, pending_t *q, size_t *nq, const char *why) {
  rank_state_t *x = &g.ranks[k];
  if (x->state == R_BUSY) {
    pending_t *p = &q[(*nq)++];
    *p = (pending_t){x->lo, x->hi, k, ""};
    snprintf(p->why, sizeof p->why, "%.*s", (int)sizeof p->why - 1, why);
  } else {
    fprintf(stderr, "storesim: rank %d %s\n", k, why);
  }
  x->state = R_DEAD;
  g.ndead++;
}

/* The size of the next batch: half of what is left shared over the live
 * ranks (guided self-scheduling), at least one run per local worker, at
 * most 16 per local worker. */
static size_t batch_size(size_t left, int nlive, int jobs) {
  size_t per = (size_t)(jobs < 1 ? 1 : jobs), n = left / (2 * (size_t)(nlive < 1 ? 1 : nlive));
  if (n < per) n = per;
  if (n > 16 * per) n = 16 * per;
  return n < left ? n : left;
}

/* Runs the runs [lo, hi) of r on rank 0's own local pool (no rank left). */
static int run_here(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t *r,
                    size_t lo, size_t hi) {
  scn_sweep_res_t part = {.runs = r->runs + lo, .nruns = hi - lo};
  int rc = scn_sweep_local(s, o, &part);
  if (part.interrupted) r->interrupted = 1;
  return rc;
}

static int mpi_pool_run(void *arg, const scn_scenario_t *s, const scn_sweep_opts_t *o,
                        scn_sweep_res_t *r) {
  (void)arg;
  int nlive = g.nranks - 1 - g.ndead;
  /* a scenario the other ranks could not load the same way stays here */
  int portable = s->text && scn_model_find(s->model->name) == s->model;
  for (size_t c = 0; c < o->ncells; c++)
    portable = portable && o->cells[c]->text &&
               scn_model_find(o->cells[c]->model->name) == o->cells[c]->model;
  if (nlive <= 0 || !portable || r->nruns == 0) return scn_sweep_local(s, o, r);

  int rc = 0, interrupted = 0, stopped = 0;
  size_t next = 0, nq = 0;
  pending_t *q = sim_calloc((size_t)g.nranks, sizeof *q);
  buf_t job = {0};
  g.seq++;
  put_job(&job, g.seq, s, o);
  if (!q || job.oom) {
    free(q);
    free(job.p);
    return SIM_ENOMEM;
  }
  MPI_Request *jreq = sim_calloc((size_t)g.nranks, sizeof *jreq);
  if (!jreq) {
    free(q);
    free(job.p);
    return SIM_ENOMEM;
  }
  for (int k = 1; k < g.nranks; k++) {
    jreq[k] = MPI_REQUEST_NULL;
    g.ranks[k].nran = 0;
    if (g.ranks[k].state == R_DEAD) continue;
    g.ranks[k].state = R_IDLE;
    if (MPI_Isend(job.p, (int)job.n, MPI_BYTE, k, TAG_JOB, MPI_COMM_WORLD, &jreq[k]) !=
        MPI_SUCCESS) {
      jreq[k] = MPI_REQUEST_NULL;
      rank_dead(k, q, &nq, "cannot be reached");
    }
  }
  for (;;) {
    if (scn_interrupted()) { /* the ranks' answers are dropped (seq) */
      interrupted = 1;
      break;
    }
    /* hand work to every idle live rank */
    nlive = 0;
    for (int k = 1; k < g.nranks; k++) {
      rank_state_t *x = &g.ranks[k];
      if (x->state == R_DEAD) continue;
      nlive++;
      if (x->state != R_IDLE) continue;
      size_t lo, hi;
      int from = 0;
      char why[160] = "";
      if (nq) { /* a dead rank's batch first: it holds the lowest runs left */
        size_t best = 0;
        for (size_t i = 1; i < nq; i++)
          if (q[i].lo < q[best].lo) best = i;
        lo = q[best].lo;
        hi = q[best].hi;
        from = q[best].from;
        memcpy(why, q[best].why, sizeof why);
        q[best] = q[--nq];
      } else if (next < r->nruns && !stopped) {
        lo = next;
        hi = next + batch_size(r->nruns - next, g.nranks - 1 - g.ndead, o->jobs);
        next = hi;
      } else {
        continue;
      }
      if (send_batch(k, r, lo, hi, o->wall_limit, o->jobs)) {
        pending_t *p = &q[nq++];
        *p = (pending_t){lo, hi, from, ""};
        memcpy(p->why, why, sizeof why);
        rank_dead(k, q, &nq, "cannot be reached");
        nlive--;
        continue;
      }
      if (from)
        fprintf(stderr, "storesim: rank %d %s; its batch of runs %zu-%zu was given to rank %d\n",
                from, why, lo, hi - 1, k);
    }
    int busy = 0;
    for (int k = 1; k < g.nranks; k++) busy += g.ranks[k].state == R_BUSY;
    if (!busy) {
      if (nlive == 0 && (nq || (next < r->nruns && !stopped))) {
        for (size_t i = 0; i < nq && !rc; i++) {
          fprintf(stderr,
                  "storesim: rank %d %s; no rank is left, rank 0 runs its batch of runs "
                  "%zu-%zu itself\n",
                  q[i].from, q[i].why, q[i].lo, q[i].hi - 1);
          rc = run_here(s, o, r, q[i].lo, q[i].hi);
        }
        if (!nq) fprintf(stderr, "storesim: no rank is left; rank 0 runs the rest itself\n");
        if (!rc && !stopped && next < r->nruns) rc = run_here(s, o, r, next, r->nruns);
        nq = 0;
      }
      break;
    }
    MPI_Status st;
    int flag = 0;
    if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
      flag = 0;
    if (flag) {
      size_t n = 0;
      char *p = recv_msg(&st, &n);
      int k = st.MPI_SOURCE;
      if (!p) {
        rc = SIM_ENOMEM;
        break;
      }
      uint32_t seq = 0, id = 0;
      if (n >= sizeof seq) memcpy(&seq, p, sizeof seq);
      rank_state_t *x = k > 0 && k < g.nranks ? &g.ranks[k] : NULL;
      if (x && x->state != R_DEAD && seq == g.seq) {
        if (st.MPI_TAG == TAG_FAIL) {
          char why[600];
          snprintf(why, sizeof why, "failed: %.*s", (int)(n - sizeof seq), p + sizeof seq);
          rank_dead(k, q, &nq, why);
        } else if (st.MPI_TAG == TAG_RESULT && x->state == R_BUSY && n >= sizeof seq + sizeof id &&
                   (memcpy(&id, p + sizeof seq, sizeof id), id == x->batch)) {
          int intr = 0;
          size_t hdr = sizeof seq + sizeof id;
          long used = scn_sweep_record_get(p + hdr, n - hdr, r, o->nmetrics, &intr);
          if (used < 0 || (size_t)used != n - hdr) {
            fprintf(stderr, "storesim: rank %d sent malformed records\n", k);
            rc = SIM_ENOMEM;
          }
          if (intr) interrupted = stopped = 1; /* a rank saw an interrupt: no new batch */
          if (o->stop_on_error)
            for (size_t i = x->lo; i < x->hi; i++)
              if (r->runs[i].error) stopped = 1;
          x->state = R_IDLE;
          x->nran += x->hi - x->lo;
        }
      }
      free(p);
      if (rc) break;
      continue;
    }
    int64_t now = mono_ns();
    for (int k = 1; k < g.nranks; k++) {
      rank_state_t *x = &g.ranks[k];
      if (x->state == R_BUSY && x->deadline && now > x->deadline)
        rank_dead(k, q, &nq, "stopped answering");
    }
    nap();
  }
  if (getenv("STORESIM_MPI_STATS")) { /* how the runs were spread (tests/mpi.sh, docs) */
    fprintf(stderr, "storesim: sweep %" PRIu32 ": %zu runs; runs per rank:", g.seq, r->nruns);
    for (int k = 1; k < g.nranks; k++)
      fprintf(stderr, " %d:%zu%s", k, g.ranks[k].nran, g.ranks[k].state == R_DEAD ? "(dead)" : "");
    fprintf(stderr, "\n");
  }
  /* the end of the sweep for every rank still with us */
  for (int k = 1; k < g.nranks; k++) {
    if (g.ranks[k].state == R_DEAD) continue;
    g.ranks[k].state = R_IDLE;
    MPI_Send(&g.seq, sizeof g.seq, MPI_BYTE, k, TAG_END, MPI_COMM_WORLD);
  }
  /* the job's buffer may be freed once every send of it is done; a send to
   * a dead rank may never be, and then the buffer is left to it */
  int done = 1;
  for (int k = 1; k < g.nranks; k++) {
    if (jreq[k] == MPI_REQUEST_NULL) continue;
    if (g.ranks[k].state != R_DEAD) MPI_Wait(&jreq[k], MPI_STATUS_IGNORE);
    else done = 0;
  }
  if (done) free(job.p);
  free(jreq);
  free(q);
  if (interrupted) r->interrupted = 1;
  return rc;
}

/* Started by an MPI launcher: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), or
 * a PMI/PMIx launcher such as Slurm's srun --mpi=pmix. Without one, MPI is
 * not initialised at all (Open MPI would start a singleton runtime). */
static int under_launcher(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
         getenv("PMI_SIZE");
}

int cli_mpi_start(int *argc, char ***argv, int *status) {
  int rank = 0;
  if (!under_launcher()) return 0;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) {
    fprintf(stderr, "storesim: MPI_Init failed; running as a single process\n");
    return 0;
  }
  g.inited = 1;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_size(MPI_COMM_WORLD, &g.nranks);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (g.nranks <= 1) return 0;
  if (rank > 0) {
    *status = serve(rank);
    g.inited = 0;
    return 1;
  }
  g.ranks = sim_calloc((size_t)g.nranks, sizeof *g.ranks);
  if (!g.ranks) {
    fprintf(stderr, "storesim: out of host memory; running as a single process\n");
    return 0;
  }
  for (int k = 0; k < g.nranks; k++) g.ranks[k].req = MPI_REQUEST_NULL;
  g.pool.run = mpi_pool_run;
  g.active = 1;
  return 0;
}

const scn_sweep_pool_t *cli_mpi_pool(void) { return g.active ? &g.pool : NULL; }

int cli_mpi_finish(int status) {
  if (!g.inited) return status;
  g.inited = 0;
  if (!g.active) {
    MPI_Finalize();
    return status;
  }
  fflush(NULL);
  if (scn_interrupted()) { /* a rank may still be in a batch: end every one */
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  /* every live rank is idle (each sweep waited for its batches): QUIT, and
   * drop anything a rank sent until its BYE */
  char failed = g.ndead > 0;
  int left = 0;
  for (int k = 1; k < g.nranks; k++)
    if (g.ranks[k].state != R_DEAD &&
        MPI_Send(&failed, 1, MPI_BYTE, k, TAG_QUIT, MPI_COMM_WORLD) == MPI_SUCCESS)
      left++;
  int64_t give_up = mono_ns() + (int64_t)30e9;
  while (left > 0 && mono_ns() < give_up) {
    MPI_Status st;
    int flag = 0;
    if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) break;
    if (!flag) {
      nap();
      continue;
    }
    size_t n = 0;
    free(recv_msg(&st, &n));
    left -= st.MPI_TAG == TAG_BYE && st.MPI_SOURCE > 0 && g.ranks[st.MPI_SOURCE].state != R_DEAD;
  }
  if (failed) {
    /* MPI_Finalize would wait for the failed rank (a stopped one never
     * comes): the job ends with MPI_Abort, which mpirun reports and which
     * ends every rank left (but under --enable-recovery a stopped rank
     * stays; docs/scale.md). What this command printed and wrote stays. */
    fprintf(stderr, "storesim: %d rank%s failed; ending the MPI job with MPI_Abort (%d)\n", g.ndead,
            g.ndead == 1 ? "" : "s", status);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  for (int k = 1; k < g.nranks; k++) {
    if (g.ranks[k].req != MPI_REQUEST_NULL) MPI_Wait(&g.ranks[k].req, MPI_STATUS_IGNORE);
    free(g.ranks[k].msg);
  }
  free(g.ranks);
  g.ranks = NULL;
  g.active = 0;
  MPI_Finalize();
  return status;
}

#endif
