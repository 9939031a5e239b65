/*
 * Perfetto / Chrome trace export: a world with sleeps, CPU burns, lock holds,
 * a deadlock left open at the end and sampled metrics is exported, then
 * checked by tools/check-trace.py against the format's rules (well-formed
 * JSON, monotonic timestamps per track, balanced async begin/end, spans that
 * do not overlap).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/proc.h"
#include "storesim/report.h"
#include "storesim/sim.h"
#include "storesim/sync.h"
#include "storesim/trace.h"

typedef struct {
  sim_mutex_t *a, *b;
  int order;
} abba_t;

static void locker(void *arg) {
  abba_t *x = arg;
  sim_mutex_t *first = x->order ? x->b : x->a, *second = x->order ? x->a : x->b;
  sim_mutex_lock(first);
  sim_cpu_burn(5 * SIM_MS);
  sim_mutex_lock(second);
  sim_mutex_unlock(second);
  sim_mutex_unlock(first);
}

static void sleeper(void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++) {
    sim_sleep(3 * SIM_MS);
    sim_cpu_burn(SIM_MS);
    sim_trace_emit(sim_thread_world(sim_self()), "model.tick", "sleeper", i);
  }
}

static sim_world_t *make(void) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.keep_trace = 1;
  o.sample_interval = SIM_MS;
  sim_world_t *w;
  cr_assert_eq(sim_world_create(&o, &w, NULL, 0), 0);
  return w;
}

Test(perfetto, export_passes_format_checks) {
  sim_world_t *w = make();
  abba_t x1 = {sim_mutex_create(w, "A"), sim_mutex_create(w, "B"), 0};
  abba_t x2 = x1;
  x2.order = 1;
  sim_thread_spawn(w, "ab", NULL, locker, &x1);
  sim_thread_spawn(w, "ba", NULL, locker, &x2);
  sim_thread_spawn(w, "sleeper", NULL, sleeper, NULL);
  sim_world_run(w, 100 * SIM_MS);

  char path[] = "/tmp/storesim-perfetto-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  report_perfetto_t *p = report_perfetto_begin(f);
  cr_assert_eq(report_perfetto_world(p, w, 1, "without_fix"), 0);
  cr_assert_eq(report_perfetto_world(p, w, 2, "again"), 0);
  cr_assert_eq(report_perfetto_end(p), 0);
  fclose(f);

  /* The deadlocked threads' blocks are closed at the end as unfinished, and
   * the lock holds are ended. */
  f = fopen(path, "r");
  char *buf = NULL;
  size_t n = 0;
  cr_assert(getdelim(&buf, &n, '\0', f) > 0);
  fclose(f);
  cr_expect(strstr(buf, "\"unfinished\":true") != NULL);
  cr_expect(strstr(buf, "holds A") != NULL);
  cr_expect(strstr(buf, "mutex B") != NULL || strstr(buf, "mutex A") != NULL);
  cr_expect(strstr(buf, "model.tick sleeper") != NULL);
  cr_expect(strstr(buf, "\"ph\":\"C\",\"name\":\"cpu.busy_cores\"") != NULL);
  free(buf);

  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "python3 %s/tools/check-trace.py %s --expect-threads 3 "
           "--expect-counters 2",
           STORESIM_SOURCE_DIR, path);
  cr_expect_eq(system(cmd), 0, "check-trace.py rejected the export");
  remove(path);
  sim_world_destroy(w);
}

Test(perfetto, checker_rejects_broken_traces) {
  /* the validator must be able to fail: unbalanced async and time going back */
  char path[] = "/tmp/storesim-perfetto-bad-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fputs("{\"traceEvents\":[{\"ph\":\"b\",\"cat\":\"lock\",\"id\":\"1\",\"pid\":1,"
        "\"tid\":1,\"ts\":5},{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":1,"
        "\"ts\":2}]}",
        f);
  fclose(f);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "python3 %s/tools/check-trace.py %s >/dev/null",
           STORESIM_SOURCE_DIR, path);
  cr_expect_neq(system(cmd), 0);
  remove(path);
}
