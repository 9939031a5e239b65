/*
 * Exhaustive search over the schedules of one variant up to a preemption
 * bound: a stateless depth-first search with sleep sets (exhaust.h).
 *
 * The search stack holds one node per decision of the current run: its
 * candidates (thread ids; those asleep when the run reached it), the one
 * chosen now with its step's footprint, the preemptions spent before it,
 * and the children already explored (thread, footprint, whether their
 * subtree was complete). Each run forces the choices on the stack, and the
 * dfs policy (sim/kernel/dfs.c) takes the default beyond them; the run's
 * record extends the stack, then the search backtracks to the deepest node
 * with an untried candidate that is not asleep and within the bound.
 *
 * Preemption bound: choosing, at a scheduling point of the running thread
 * R, any other thread costs one preemption; choices after a block, yield or
 * exit (picks) are free. A candidate whose cost would take the schedule past
 * K is not run, and its node is marked cut.
 *
 * Reduction: sleep sets (Godefroid, "Partial-order methods for the
 * verification of concurrent systems", 1996), with a guard for the bound.
 * At node n, a child q already explored is added to the sleep set of the
 * later children, and stays asleep down a branch until a step touching one
 * of the objects of q's step runs; an asleep thread is not chosen.
 *   Independence: two steps whose footprints share no object commute: each
 *   reads and writes only its thread's own state, the sync objects it names
 *   and the data they protect (the model keeps its shared data under kernel
 *   locks, DESIGN.md), and the clock stands still while a thread is asleep
 *   (an asleep thread is READY, and events are only carried out when no
 *   thread is), so neither sees the other's effect; the final state, the
 *   detector reports (a wait-for cycle is in the final state; the lock
 *   order validator sees each thread's own acquisition order) and the
 *   expectations over final counts are the same in both orders.
 *   Soundness with the bound: plain sleep sets are unsound under a
 *   preemption bound (Coons, Musuvathi, McKinley, "Bounded partial-order
 *   reduction", OOPSLA 2013): the schedule that covers a pruned one may need
 *   more preemptions and be cut. So a child joins the sleep set of its later
 *   siblings only when its subtree was complete, no candidate anywhere in
 *   it cut by the bound. Then the classic argument holds unchanged: a
 *   schedule S within the bound is followed down the tree while its next
 *   step is explored; it is never cut by the bound (its own preemptions are
 *   counted the same way on its prefix); if its next step is a thread q
 *   asleep at node m, q was explored at an ancestor a with a complete
 *   subtree and is independent of every step of S between a and m, so S is
 *   equivalent to a schedule that runs q at a, and every schedule below a
 *   through q was explored (none was cut), up to the same argument inside.
 *   A second case needs no completeness: moving q's step from node m (where
 *   a schedule S through r would run it) back to a, before r, changes S's
 *   preemptions only at two places. At m, the switch from the step before
 *   q to the one after it costs no more than the two switches it replaces
 *   (the thread before q was preempted for q already, if it was running).
 *   At a, cost(q) + [q's step ends at a scheduling point, so going on with
 *   r preempts q] replaces cost(r). When that is <= cost(r), the schedule
 *   S' that runs q first has no more preemptions than S, is within the
 *   bound, and is covered in q's subtree by the same argument (induction
 *   over the order of the search). The common case: at a scheduling point
 *   the running thread's own step is explored first (cost 0) and covers the
 *   preempting siblings (cost 1) whatever its subtree; at a pick, a step
 *   that blocks or finishes covers its siblings. Other done children need a
 *   complete subtree, so a bound that cuts often reduces less than an
 *   unbounded search (K at least the run's decisions).
 *   Dependence is over-approximated where the kernel cannot tell: objects
 *   are named, and objects of one name are one object; the CPU cores, the
 *   timer queue and thread creation/exit are objects of their own.
 *
 * Determinism: runs are deterministic and the stack is walked in candidate
 * order, so the counts and the failing schedule depend only on the scenario
 * and the options (single process; --jobs does not apply).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storesim/alloc.h"
#include "storesim/detect.h"
#include "storesim/dfs.h"
#include "storesim/exhaust.h"

typedef struct child {
  uint64_t thread;
  uint32_t *obj;
  uint32_t nobj;
  int complete; /* no candidate in its subtree was cut by the bound */
  int enabled;  /* its step ended at a scheduling point (not blocked, done) */
} child_t;

typedef struct node {
  uint64_t running; /* 0: a pick */
  uint64_t *cand;
  unsigned char *asleep;
  size_t ncand;
  uint64_t chosen;
  uint32_t *fp; /* the chosen step's footprint */
  uint32_t nfp;
  int enabled; /* the chosen step ended at a scheduling point (as child_t) */
  uint64_t pc; /* preemptions before this node */
  child_t *done;
  size_t ndone;
  int cut;                 /* a candidate here was beyond the bound */
  int incomplete;          /* a cut in the current child's subtree */
  sim_dfs_sleeper_t *adds; /* the complete done children, as sleepers */
} node_t;

typedef struct search {
  node_t *st;
  size_t n, cap;
} search_t;

static void node_free(node_t *nd) {
  free(nd->cand);
  free(nd->asleep);
  free(nd->fp);
  for (size_t i = 0; i < nd->ndone; i++) free(nd->done[i].obj);
  free(nd->done);
  free(nd->adds);
  memset(nd, 0, sizeof *nd);
}

static uint64_t cost(const node_t *nd, uint64_t c) { return nd->running && c != nd->running; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* the search's wall limit only */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t *objs_dup(const uint32_t *o, size_t n) {
  uint32_t *p = sim_xmalloc(n * sizeof *p);
  if (n) memcpy(p, o, n * sizeof *p);
  return p;
}

/* world_done: the detector reports that fail a schedule. */
typedef struct seen {
  int deadlock, hang;
} seen_t;

static void read_reports(sim_world_t *w, const scn_variant_t *v, scn_variant_res_t *vr, void *arg) {
  seen_t *sn = arg;
  (void)v, (void)vr;
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    if (r->kind == SIM_R_DEADLOCK) sn->deadlock++;
    if (r->kind == SIM_R_HANG) sn->hang++;
  }
}

static void run_opts(const scn_scenario_t *s, const scn_dfs_opts_t *o, sim_dfs_run_t *dr,
                     scn_run_opts_t *ro) {
  const scn_variant_t *v = scn_variant_find(s, o->variant);
  memset(ro, 0, sizeof *ro);
  ro->variant = o->variant;
  ro->have_seed = 1;
  ro->seed = (uint64_t)v->world.seed;
  ro->sched = (sim_sched_t){.kind = SIM_SCHED_DFS, .dfs = dr};
  ro->duration = o->duration;
  ro->quiet = 1;
}

/* One run: fills dr; *what gets why the schedule failed (allocated) or
 * stays NULL; *hash its trace hash. Returns 0, SIM_ENOMEM, or SIM_EINVAL
 * with *what the reason the run could not start or was interrupted. */
static int run_once(const scn_scenario_t *s, const scn_dfs_opts_t *o, sim_dfs_run_t *dr,
                    char **what, uint64_t *hash, int *interrupted) {
  scn_run_opts_t ro;
  seen_t sn = {0, 0};
  run_opts(s, o, dr, &ro);
  ro.world_done = read_reports;
  ro.world_done_arg = &sn;
  *what = NULL;
  *interrupted = 0;
  scn_result_t *r = scn_run(s, &ro);
  if (!r) return SIM_ENOMEM;
  size_t vi = (size_t)(scn_variant_find(s, o->variant) - s->variants);
  const scn_variant_res_t *vr = &r->variants[vi];
  char buf[1024];
  buf[0] = 0;
  *hash = vr->trace_hash;
  if (!vr->ran) {
    snprintf(buf, sizeof buf, "%s", r->diag.text ? r->diag.text : "the run could not start");
    scn_result_free(r);
    *what = sim_strdup(buf);
    return SIM_EINVAL;
  }
  if (dr->status != SIM_DFS_RAN) { /* stopped by the policy: no verdict */
    scn_result_free(r);
    return 0;
  }
  if (vr->incomplete && scn_interrupted()) {
    *interrupted = 1;
    scn_result_free(r);
    return 0;
  }
  if (sn.deadlock) snprintf(buf, sizeof buf, "deadlock (wait-for cycle)");
  else if (sn.hang) snprintf(buf, sizeof buf, "hang (nothing runnable, nothing pending)");
  else if (vr->incomplete)
    snprintf(buf, sizeof buf, "did not run to its end: %s", vr->error ? vr->error : "?");
  else
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (!scn_expect_failed(e)) continue;
      snprintf(buf, sizeof buf, "expectation %s failed (%s)", e->x->text,
               e->detail ? e->detail : "");
      break;
    }
  if (buf[0] && (sn.deadlock || sn.hang)) { /* name the expectation it breaks too */
    for (size_t x = 0; x < vr->nexpects; x++) {
      const scn_expect_res_t *e = &vr->expects[x];
      if (!scn_expect_failed(e)) continue;
      size_t k = strlen(buf);
      snprintf(buf + k, sizeof buf - k, "; expectation %s failed (%s)", e->x->text,
               e->detail ? e->detail : "");
      break;
    }
  }
  scn_result_free(r);
  if (buf[0] && !(*what = sim_strdup(buf))) return SIM_ENOMEM;
  return 0;
}

/* Whether done child q of nd may put q to sleep in the branch nd->chosen
 * (r): q's subtree was complete, or moving q's step from wherever it would
 * run below r back to the front, before r, never costs a preemption (see
 * the top of this file). */
static int covers(const node_t *nd, const child_t *q) {
  if (q->complete) return 1;
  return cost(nd, q->thread) + (uint64_t)q->enabled <= cost(nd, nd->chosen);
}

/* Room for the node's sleepers (its complete done children). */
static void node_adds(node_t *nd) {
  free(nd->adds);
  nd->adds = sim_xmalloc((nd->ndone ? nd->ndone : 1) * sizeof *nd->adds);
}

int scn_dfs(const scn_scenario_t *s, const scn_dfs_opts_t *o, scn_dfs_res_t *res, char *err,
            size_t nerr) {
  memset(res, 0, sizeof *res);
  if (!o->variant || !scn_variant_find(s, o->variant)) {
    snprintf(err, nerr, "no variant '%s'", o->variant ? o->variant : "");
    return SIM_EINVAL;
  }
  double t0 = now_s();
  search_t S = {0};
  sim_dfs_run_t dr;
  memset(&dr, 0, sizeof dr);
  uint64_t *prefix = NULL;
  const sim_dfs_sleeper_t **adds = NULL;
  size_t *nadds = NULL, capprefix = 0;
  int rc = 0;
  for (;;) {
    if (scn_interrupted()) {
      res->outcome = SCN_DFS_INTERRUPTED;
      break;
    }
    if ((o->max_schedules && res->runs >= o->max_schedules) ||
        (o->wall_limit > 0 && now_s() - t0 > o->wall_limit)) {
      res->outcome = SCN_DFS_BUDGET;
      break;
    }
    /* the forced choices and the sleepers at each */
    if (S.n > capprefix) {
      capprefix = 2 * S.n;
      free(prefix);
      free(adds);
      free(nadds);
      prefix = sim_xmalloc(capprefix * sizeof *prefix);
      adds = sim_xmalloc(capprefix * sizeof *adds);
      nadds = sim_xmalloc(capprefix * sizeof *nadds);
    }
    for (size_t i = 0; i < S.n; i++) {
      node_t *nd = &S.st[i];
      prefix[i] = nd->chosen;
      size_t k = 0;
      if (!o->no_reduction) {
        node_adds(nd);
        for (size_t j = 0; j < nd->ndone; j++)
          if (covers(nd, &nd->done[j]))
            nd->adds[k++] = (sim_dfs_sleeper_t){
                .thread = nd->done[j].thread, .obj = nd->done[j].obj, .nobj = nd->done[j].nobj};
        adds[i] = nd->adds;
      } else {
        adds[i] = NULL;
      }
      nadds[i] = k;
    }
    dr.prefix = prefix;
    dr.nprefix = S.n;
    dr.adds = o->no_reduction ? NULL : adds;
    dr.nadds = nadds;
    dr.from = o->from;
    char *what = NULL;
    uint64_t hash = 0;
    int intr = 0;
    rc = run_once(s, o, &dr, &what, &hash, &intr);
    if (rc == SIM_ENOMEM) break;
    if (rc) {
      res->outcome = SCN_DFS_ERROR;
      res->error = what;
      rc = 0;
      break;
    }
    if (intr) {
      res->outcome = SCN_DFS_INTERRUPTED;
      break;
    }
    res->runs++;
    if (dr.status == SIM_DFS_DIVERGED || dr.npts < S.n) {
      char buf[512];
      snprintf(buf, sizeof buf,
               "run %llu diverged from its forced choices (the model is not deterministic "
               "under this schedule): %s",
               (unsigned long long)res->runs, dr.why[0] ? dr.why : "fewer decisions than forced");
      free(what);
      res->error = sim_strdup(buf);
      res->outcome = SCN_DFS_ERROR;
      break;
    }
    if (dr.npts > res->max_decisions) res->max_decisions = dr.npts;
    /* the stack: refresh the footprints, push the new nodes */
    for (size_t i = 0; i < dr.npts; i++) {
      const sim_dfs_point_t *p = &dr.pts[i];
      if (i >= S.n) {
        if (S.n == S.cap) {
          S.cap = S.cap ? 2 * S.cap : 64;
          node_t *ns = sim_realloc(S.st, S.cap * sizeof *S.st);
          if (!ns) sim_alloc_die(S.cap * sizeof *S.st);
          S.st = ns;
        }
        node_t *nd = &S.st[S.n++];
        memset(nd, 0, sizeof *nd);
        nd->running = p->running;
        nd->ncand = p->ncand;
        nd->cand = sim_xmalloc(p->ncand * sizeof *nd->cand);
        nd->asleep = sim_xmalloc(p->ncand);
        memcpy(nd->cand, dr.ids + p->cand, p->ncand * sizeof *nd->cand);
        memcpy(nd->asleep, dr.asleep + p->cand, p->ncand);
        nd->chosen = p->chosen;
        nd->pc = i == 0 ? 0 : S.st[i - 1].pc + cost(&S.st[i - 1], S.st[i - 1].chosen);
        for (size_t k = 0; k < nd->ncand; k++) {
          if (nd->cand[k] == nd->chosen) continue;
          if (nd->asleep[k]) res->sleep_skipped++;
          else if (nd->pc + cost(nd, nd->cand[k]) > o->max_preemptions) {
            nd->cut = 1;
            res->bound_skipped++;
          }
        }
      }
      node_t *nd = &S.st[i];
      /* the step went on to the next decision as its running thread, or the
       * run ended first (taken as enabled: the safe side) */
      nd->enabled = i + 1 >= dr.npts || dr.pts[i + 1].running == nd->chosen;
      free(nd->fp);
      nd->fp = objs_dup(dr.objs + p->fp, p->nfp);
      nd->nfp = (uint32_t)p->nfp;
    }
    if (dr.status == SIM_DFS_RAN) {
      res->schedules++;
      uint64_t used = S.n ? S.st[S.n - 1].pc + cost(&S.st[S.n - 1], S.st[S.n - 1].chosen) : 0;
      if (used > res->max_used) res->max_used = used;
      if (what) {
        res->outcome = SCN_DFS_FAILED;
        res->fail_what = what;
        res->fail_hash = hash;
        res->fail_preemptions = used;
        res->nfail_choices = S.n;
        res->fail_choices = sim_xmalloc(S.n * sizeof *res->fail_choices);
        for (size_t i = 0; i < S.n; i++) res->fail_choices[i] = S.st[i].chosen;
        break;
      }
    } else {
      res->pruned++;
    }
    free(what);
    if (o->progress) o->progress(o->progress_arg, res->runs, res->schedules, res->pruned);
    /* backtrack */
    int found = 0;
    while (S.n && !found) {
      node_t *nd = &S.st[S.n - 1];
      if (nd->ndone % 8 == 0) {
        child_t *nc = sim_realloc(nd->done, (nd->ndone + 8) * sizeof *nd->done);
        if (!nc) sim_alloc_die((nd->ndone + 8) * sizeof *nd->done);
        nd->done = nc;
      }
      nd->done[nd->ndone++] = (child_t){.thread = nd->chosen,
                                        .obj = objs_dup(nd->fp, nd->nfp),
                                        .nobj = nd->nfp,
                                        .complete = !nd->incomplete,
                                        .enabled = nd->enabled};
      for (size_t k = 0; k < nd->ncand && !found; k++) {
        uint64_t c = nd->cand[k];
        if (nd->asleep[k] || nd->pc + cost(nd, c) > o->max_preemptions) continue;
        int tried = 0;
        for (size_t j = 0; j < nd->ndone; j++) tried |= nd->done[j].thread == c;
        if (tried) continue;
        nd->chosen = c;
        nd->incomplete = 0;
        found = 1;
      }
      if (found) break;
      int incomplete = nd->cut;
      for (size_t j = 0; j < nd->ndone; j++) incomplete |= !nd->done[j].complete;
      node_free(nd);
      S.n--;
      if (S.n) S.st[S.n - 1].incomplete |= incomplete;
    }
    if (!found) {
      res->outcome = SCN_DFS_DONE;
      break;
    }
  }
  /* what is left on the stack: untried candidates within the bound */
  if (res->outcome == SCN_DFS_BUDGET || res->outcome == SCN_DFS_INTERRUPTED)
    for (size_t i = 0; i < S.n; i++) {
      node_t *nd = &S.st[i];
      for (size_t k = 0; k < nd->ncand; k++) {
        uint64_t c = nd->cand[k];
        if (nd->asleep[k] || c == nd->chosen || nd->pc + cost(nd, c) > o->max_preemptions) continue;
        int tried = 0;
        for (size_t j = 0; j < nd->ndone; j++) tried |= nd->done[j].thread == c;
        res->left += !tried;
      }
    }
  for (size_t i = 0; i < S.n; i++) node_free(&S.st[i]);
  free(S.st);
  free(prefix);
  free(adds);
  free(nadds);
  sim_dfs_run_free(&dr);
  res->seconds = now_s() - t0;
  if (rc == SIM_ENOMEM) {
    scn_dfs_res_free(res);
    snprintf(err, nerr, "out of host memory");
  }
  return rc;
}

void scn_dfs_res_free(scn_dfs_res_t *res) {
  if (!res) return;
  free(res->fail_choices);
  free(res->fail_what);
  free(res->error);
  memset(res, 0, sizeof *res);
}

int scn_dfs_log(const scn_scenario_t *s, const scn_dfs_opts_t *o, const scn_dfs_res_t *res,
                const char *path, const scn_sweep_logio_t *io, scn_sweep_replay_t *out) {
  const scn_variant_t *v = scn_variant_find(s, o->variant);
  sim_dfs_run_t dr;
  memset(&dr, 0, sizeof dr);
  dr.prefix = res->fail_choices; /* every choice forced: no sleepers needed */
  dr.nprefix = res->nfail_choices;
  dr.from = o->from;
  scn_sweep_opts_t so = {.variant = o->variant,
                         .sched = {.kind = SIM_SCHED_DFS, .dfs = &dr},
                         .seed_from = (uint64_t)v->world.seed,
                         .seed_to = (uint64_t)v->world.seed,
                         .duration = o->duration,
                         .jobs = 1};
  scn_sweep_run_t run;
  memset(&run, 0, sizeof run);
  run.seed = (uint64_t)v->world.seed;
  run.variant = (size_t)(v - s->variants);
  run.trace_hash = res->fail_hash;
  int rc = scn_sweep_replay(s, &so, &run, path, io, out);
  sim_dfs_run_free(&dr);
  return rc;
}
