/*
 * A decision log replays to the run it recorded, for every shipped scenario
 * and variant under the random and PCT schedulers: the same trace hash.
 * Replay once matched among the first 64 READY threads only and, past them,
 * took another thread of the same name and operation: q279798 under
 * random:1 replayed silently to another run. By default seed 1 of each
 * scheduler and at most 3 h of virtual time per run (about a minute in a
 * release build); the soak: STORESIM_REPLAY_SEEDS=N runs seeds 1..N over the
 * scenarios' whole durations.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storesim/scenario.h"

#define SRC STORESIM_SOURCE_DIR

static uint64_t run_hash(const scn_scenario_t *s, const char *variant, const char *sched,
                         const char *dlog, sim_time_t duration, int *ran) {
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.variant = variant;
  char err[256];
  cr_assert_eq(sim_sched_parse(sched, &o.sched, err, sizeof err), 0, "%s", err);
  o.decision_log = dlog;
  o.quiet = 1;
  o.duration = duration;
  scn_result_t *r = scn_run(s, &o);
  cr_assert_not_null(r);
  uint64_t h = 0;
  *ran = 0;
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran) {
      h = r->variants[i].trace_hash;
      *ran = !r->variants[i].incomplete;
      if (!*ran) cr_log_error("%s %s %s: %s", s->id, variant, sched,
                              r->variants[i].error ? r->variants[i].error : "incomplete");
    }
  scn_result_free(r);
  return h;
}

Test(replay, every_shipped_variant_replays_its_decision_log, .timeout = 1800) {
  const char *e = getenv("STORESIM_REPLAY_SEEDS");
  int nseeds = e ? atoi(e) : 1;
  sim_time_t cap = e ? 0 : 3 * SIM_HOUR;
  glob_t g;
  cr_assert_eq(glob(SRC "/scenarios/*.yaml", 0, NULL, &g), 0);
  char path[] = "/tmp/storesim-test-replay-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  size_t checked = 0;
  for (size_t f = 0; f < g.gl_pathc; f++) {
    scn_scenario_t *s = NULL;
    scn_diag_t d = {0};
    cr_assert_eq(scn_load(g.gl_pathv[f], NULL, &s, &d), 0, "%s", d.text);
    scn_diag_free(&d);
    sim_time_t duration = cap && s->world.duration > cap ? cap : 0;
    for (size_t v = 0; v < s->nvariants; v++)
      for (int seed = 1; seed <= nseeds; seed++)
        for (int pct = 0; pct <= 1; pct++) {
          char sched[64], rsched[96];
          snprintf(sched, sizeof sched, pct ? "pct:%d:3" : "random:%d", seed);
          int ran1, ran2;
          uint64_t a = run_hash(s, s->variants[v].name, sched, path, duration, &ran1);
          snprintf(rsched, sizeof rsched, "replay:%s", path);
          uint64_t b = run_hash(s, s->variants[v].name, rsched, NULL, duration, &ran2);
          cr_assert(ran1 && ran2, "%s %s %s: a run did not complete", s->id, s->variants[v].name,
                    sched);
          cr_assert_eq(a, b, "%s --variant %s --sched %s: the replay of its decision log gives "
                             "trace hash %016llx, the run %016llx",
                       g.gl_pathv[f], s->variants[v].name, sched, (unsigned long long)b,
                       (unsigned long long)a);
          checked++;
        }
    scn_scenario_free(s);
  }
  unlink(path);
  globfree(&g);
  cr_assert_geq(checked, 30u);
}
