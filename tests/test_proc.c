/*
 * Tests of simulated processes: memory in a jemalloc arena per process
 * (allocated bytes visible both in the kernel's tally and in jemalloc's
 * statistics, freed bytes gone, per-process and machine limits enforced
 * deterministically, reset empties the arena) and CPU on N cores (busy time,
 * run-queue waits and utilisation against hand arithmetic, exactly).
 */
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdlib.h>

#include "ktest.h"

/* ---- memory ---------------------------------------------------------------- */

static size_t usable(size_t n) { return nallocx(n ? n : 1, 0); }

static void assert_mem(const sim_proc_t *p, size_t want) {
  cr_assert_eq(sim_proc_mem_used(p), want, "kernel tally %zu, expected %zu",
               sim_proc_mem_used(p), want);
  cr_assert_eq(sim_proc_mem_jemalloc(p), want,
               "jemalloc statistics say %zu, expected %zu",
               sim_proc_mem_jemalloc(p), want);
}

Test(mem, processes_and_default) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *d = sim_world_default_proc(w);
  cr_assert_not_null(d);
  cr_assert_str_eq(sim_proc_name(d), "default");
  sim_proc_t *p = sim_proc_create(w, "mda", 12345);
  cr_assert_not_null(p);
  cr_assert_str_eq(sim_proc_name(p), "mda");
  cr_assert_eq(sim_proc_mem_limit(p), 12345);
  cr_assert_eq(sim_world_proc(w, 0), d);
  cr_assert_eq(sim_world_proc(w, 1), p);
  cr_assert_null(sim_world_proc(w, 2));
  assert_mem(p, 0);
  cr_assert_eq(sim_machine_mem_used(w), 0);
  cr_assert_eq(sim_machine_mem_limit(w), 0);
  kt_end(w, 0);
}

Test(mem, allocated_bytes_visible_freed_bytes_gone) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *p = sim_proc_create(w, "mda", 0);
  /* Small, page-sized and large classes. */
  size_t sizes[] = {0, 1, 8, 100, 1000, 4096, 5000, 40000, 100000, 3 << 20};
  size_t n = sizeof sizes / sizeof *sizes;
  void *ptr[16];
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    ptr[i] = sim_proc_alloc(p, sizes[i]);
    cr_assert_not_null(ptr[i]);
    memset(ptr[i], 0xa5, sizes[i]); /* real bytes */
    total += usable(sizes[i]);
    assert_mem(p, total);
  }
  cr_assert_eq(sim_machine_mem_used(w), total);
  /* Free every other one. */
  for (size_t i = 0; i < n; i += 2) {
    sim_proc_free(p, ptr[i]);
    total -= usable(sizes[i]);
    assert_mem(p, total);
  }
  for (size_t i = 1; i < n; i += 2)
    sim_proc_free(p, ptr[i]);
  assert_mem(p, 0);
  cr_assert_eq(sim_machine_mem_used(w), 0);
  sim_proc_free(p, NULL); /* accepted */
  cr_assert_eq(sim_proc_alloc_failures(p), 0);
  kt_end(w, 0);
}

Test(mem, processes_do_not_share_arenas) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *a = sim_proc_create(w, "a", 0);
  sim_proc_t *b = sim_proc_create(w, "b", 0);
  void *x = sim_proc_alloc(a, 70000);
  void *y = sim_proc_alloc(b, 300);
  assert_mem(a, usable(70000));
  assert_mem(b, usable(300));
  cr_assert_eq(sim_machine_mem_used(w), usable(70000) + usable(300));
  /* Host allocations do not show up in a process. */
  void *host = malloc(1 << 20);
  assert_mem(a, usable(70000));
  free(host);
  sim_proc_free(a, x);
  sim_proc_free(b, y);
  kt_end(w, 0);
}

/* A destroyed world's arenas are reset and reused by later processes (proc.c):
 * a process that gets one starts empty and measures what it allocates, even
 * when the world before it left allocations behind; and two live processes
 * never get the same arena. Worlds on several host threads at once share the
 * pool. */
Test(mem, arenas_reused_across_worlds_start_empty) {
  for (int round = 0; round < 20; round++) {
    sim_world_t *w = kt_world(NULL);
    sim_proc_t *a = sim_proc_create(w, "a", 0);
    sim_proc_t *b = sim_proc_create(w, "b", 0);
    assert_mem(a, 0);
    assert_mem(b, 0);
    void *x = sim_proc_alloc(a, 70000);
    void *y = sim_proc_alloc(b, 300);
    cr_assert(x && y);
    assert_mem(a, usable(70000));
    assert_mem(b, usable(300));
    sim_proc_free(a, x); /* y stays allocated: the next world must not see it */
    kt_end(w, 0);
  }
}

static void *world_churn(void *arg) {
  (void)arg;
  for (int round = 0; round < 50; round++) {
    sim_world_t *w = NULL;
    char err[256];
    sim_world_opts_t o;
    sim_world_opts_init(&o);
    o.stack_size = 64 * 1024;
    if (sim_world_create(&o, &w, err, sizeof err) != 0) return "create";
    sim_proc_t *p = sim_proc_create(w, "p", 0);
    if (!p || sim_proc_mem_jemalloc(p) != 0) return "a reused arena was not empty";
    void *q = sim_proc_alloc(p, 1000 + (size_t)round);
    if (!q || sim_proc_mem_jemalloc(p) != usable(1000 + (size_t)round)) return "wrong measure";
    sim_world_destroy(w);
  }
  return NULL;
}

Test(mem, arena_pool_shared_by_host_threads) {
  pthread_t th[4];
  for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&th[i], NULL, world_churn, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    cr_assert_null(r, "host thread %d: %s", i, (const char *)r);
  }
}

/* A pooled arena does not keep a big process's pages: one that held 512 MiB
 * is purged as it enters the pool (proc.c, ARENA_POOL_BYTES), so the host
 * process gets its memory back when the world is destroyed. */
Test(mem, pooled_arenas_give_big_memory_back) {
#ifndef KT_LSAN /* AddressSanitizer's own bookkeeping moves RSS */
  long before = kt_rss_mib();
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *p = sim_proc_create(w, "big", 0);
  enum { N = 512 };
  for (int i = 0; i < N; i++) {
    char *b = sim_proc_alloc(p, 1 << 20);
    cr_assert_not_null(b);
    memset(b, 1, 1 << 20);
  }
  cr_assert_geq(kt_rss_mib() - before, N - 16, "the allocations are resident");
  kt_end(w, 0);
  long left = kt_rss_mib() - before;
  cr_assert_lt(left, 64, "%ld MiB still resident after the world was destroyed", left);
#endif
}

/* Fills p with 1000-byte blocks until refused; returns how many fit. */
static int fill(sim_proc_t *p, void **out, int max) {
  int k = 0;
  while (k < max && (out[k] = sim_proc_alloc(p, 1000)))
    k++;
  return k;
}

Test(mem, process_limit_enforced_deterministically) {
  int first = -1;
  for (int rep = 0; rep < 2; rep++) {
    sim_world_t *w = kt_world(NULL);
    sim_proc_t *p = sim_proc_create(w, "mda", 10000);
    void *blk[64];
    int k = fill(p, blk, 64);
    size_t u = usable(1000);
    cr_assert_eq((size_t)k, 10000 / u, "fits floor(limit / usable size)");
    cr_assert_eq(sim_proc_alloc_failures(p), 1);
    assert_mem(p, (size_t)k * u);
    cr_assert_leq(sim_proc_mem_used(p), 10000);
    /* Failure changes nothing; more failures are counted. */
    cr_assert_null(sim_proc_alloc(p, 1000));
    cr_assert_null(sim_proc_alloc(p, 1 << 20));
    cr_assert_eq(sim_proc_alloc_failures(p), 3);
    assert_mem(p, (size_t)k * u);
    sim_metric_t *mf = sim_world_metric_find(w, "proc.mda.alloc_failures");
    cr_assert_not_null(mf);
    cr_assert_float_eq(sim_metric_value(mf), 3.0, 1e-9);
    /* Freeing one block makes room for exactly one. */
    sim_proc_free(p, blk[0]);
    blk[0] = sim_proc_alloc(p, 1000);
    cr_assert_not_null(blk[0]);
    cr_assert_null(sim_proc_alloc(p, 1000));
    if (rep == 0)
      first = k;
    else
      cr_assert_eq(k, first);
    for (int i = 0; i < k; i++)
      sim_proc_free(p, blk[i]);
    assert_mem(p, 0);
    kt_end(w, 0);
  }
}

Test(mem, machine_limit_shared_by_processes) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.machine_mem_limit = 64 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  cr_assert_eq(sim_machine_mem_limit(w), 64 * 1024);
  sim_proc_t *a = sim_proc_create(w, "a", 0);
  sim_proc_t *b = sim_proc_create(w, "b", 0);
  void *x = sim_proc_alloc(a, 48 * 1024);
  cr_assert_not_null(x);
  void *blk[64];
  int k = fill(b, blk, 64);
  size_t left = 64 * 1024 - usable(48 * 1024);
  cr_assert_eq((size_t)k, left / usable(1000));
  cr_assert_eq(sim_proc_alloc_failures(b), 1, "the failure is b's");
  cr_assert_eq(sim_proc_alloc_failures(a), 0);
  cr_assert_null(sim_proc_alloc(a, 1000), "a is refused by the machine too");
  cr_assert_eq(sim_proc_alloc_failures(a), 1);
  cr_assert_eq(sim_machine_mem_used(w),
               sim_proc_mem_used(a) + sim_proc_mem_used(b));
  cr_assert_leq(sim_machine_mem_used(w), 64 * 1024);
  sim_proc_free(a, x);
  cr_assert_not_null(blk[k] = sim_proc_alloc(b, 1000));
  for (int i = 0; i <= k; i++)
    sim_proc_free(b, blk[i]);
  cr_assert_eq(sim_machine_mem_used(w), 0);
  kt_end(w, 0);
}

Test(mem, reset_empties_the_arena) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *a = sim_proc_create(w, "a", 1 << 20);
  sim_proc_t *b = sim_proc_create(w, "b", 0);
  void *keep = sim_proc_alloc(b, 5000);
  size_t total = 0;
  for (int i = 0; i < 200; i++) {
    size_t sz = 16 + (size_t)i * 37;
    void *q = sim_proc_alloc(a, sz);
    cr_assert_not_null(q);
    memset(q, i, sz);
    total += usable(sz);
  }
  void *big = sim_proc_alloc(a, 200000);
  cr_assert_not_null(big);
  total += usable(200000);
  assert_mem(a, total);
  uint64_t h0 = sim_world_trace_count(w);
  sim_proc_reset(a);
  assert_mem(a, 0);
  cr_assert_eq(sim_machine_mem_used(w), usable(5000), "b is untouched");
  assert_mem(b, usable(5000));
  cr_assert_gt(sim_world_trace_count(w), h0, "a reset is a trace event");
  /* The arena is usable again, up to the full limit. */
  void *blk[2048];
  int k = fill(a, blk, 2048);
  cr_assert_eq((size_t)k, (1u << 20) / usable(1000));
  sim_proc_reset(a);
  assert_mem(a, 0);
  sim_proc_free(b, keep);
  kt_end(w, 0);
}

/* Freed blocks a process keeps for its next allocations of the same size
 * (proc.c, "Quick blocks") are freed bytes: out of the tally and out of the
 * jemalloc figure; they are handed out again (the same addresses), a full
 * cache frees to the arena, and a reset forgets them with the arena (the
 * next allocations are new, valid blocks: ASan would see a stale one). */
Test(mem, freed_blocks_kept_for_reuse_are_freed_bytes) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *p = sim_proc_create(w, "q", 0);
  void *blk[64];
  size_t sizes[] = {4096, 100, 40000}; /* two kept sizes, one too big to keep */
  for (size_t s = 0; s < 3; s++) {
    for (int i = 0; i < 64; i++) {
      blk[i] = sim_proc_alloc(p, sizes[s]);
      cr_assert_not_null(blk[i]);
      memset(blk[i], i, sizes[s]);
    }
    assert_mem(p, 64 * usable(sizes[s]));
    for (int i = 0; i < 64; i++) sim_proc_free(p, blk[i]);
    assert_mem(p, 0);
    cr_assert_eq(sim_machine_mem_used(w), 0);
    void *again = sim_proc_alloc(p, sizes[s]);
    assert_mem(p, usable(sizes[s]));
    /* 16 of a size are kept: the first 16 freed; the last of them comes back */
    if (sizes[s] <= 16384) cr_assert_eq(again, blk[15], "a kept block comes back");
    sim_proc_free(p, again);
  }
  void *a = sim_proc_alloc(p, 4096);
  sim_proc_free(p, a);
  sim_proc_reset(p);
  assert_mem(p, 0);
  for (int i = 0; i < 64; i++) {
    blk[i] = sim_proc_alloc(p, 4096);
    memset(blk[i], 0x5a, 4096);
  }
  assert_mem(p, 64 * usable(4096));
  for (int i = 0; i < 64; i++) sim_proc_free(p, blk[i]);
  assert_mem(p, 0);
  kt_end(w, 0);
}

static sim_proc_t *thread_proc;
static void allocating_thread(void *arg) {
  sim_proc_t *p = sim_thread_proc(sim_self());
  cr_assert_eq(p, thread_proc);
  void *q = sim_proc_alloc(p, 2000);
  cr_assert_not_null(q);
  sim_sleep(SIM_SEC);
  sim_proc_free(p, q);
}

Test(mem, memory_gauge_over_time) {
  sim_world_t *w = kt_world(NULL);
  thread_proc = sim_proc_create(w, "imap", 0);
  sim_thread_spawn(w, "t", thread_proc, allocating_thread, NULL);
  cr_assert_eq(sim_world_run(w, 3 * SIM_SEC), 0);
  sim_metric_t *m = sim_world_metric_find(w, "proc.imap.mem_bytes");
  cr_assert_not_null(m);
  sim_metric_summary_t s;
  sim_metric_summarize(m, &s);
  cr_assert_float_eq(s.max, (double)usable(2000), 1e-9);
  cr_assert_float_eq(s.final, 0.0, 1e-9);
  /* usable(2000) bytes for 1 s of 3 s */
  cr_assert_float_eq(s.twmean, (double)usable(2000) / 3, 1e-6);
  kt_end(w, 0);
}

/* ---- CPU ---------------------------------------------------------------------- */

static void burner(void *arg) {
  sim_time_t d = (sim_time_t)(intptr_t)arg;
  cr_assert_eq(sim_cpu_burn(d), 0);
  sim_trace_emit(sim_thread_world(sim_self()), "done", NULL, 0);
}

static sim_time_t finish[8];
static void burner_logged(void *arg) {
  sim_time_t d = 100 * SIM_MS;
  cr_assert_eq(sim_cpu_burn(d), 0);
  finish[(intptr_t)arg] = sim_now(sim_thread_world(sim_self()));
}

/* 2 cores, 3 burners of 100 ms in their own processes, 10 ms slices, FIFO
 * run queue. Slices by 10 ms interval (1 = T1 ...):
 *   [0,10) 1 2   [10,20) 3 1   [20,30) 2 3   and so on, period 30 ms,
 * so T1 runs 20 ms and waits 10 ms per period and ends at 140 ms after 4
 * waits (40 ms); T2 waits [10,20) [40,50) [70,80) [100,110) [130,140) and
 * T3 waits [0,10) [30,40) [60,70) [90,100) [120,130): 50 ms each, both end
 * at 150 ms. Total wait 140 ms = sum of (finish - 100 ms). */
Test(cpu, two_cores_three_burners_sliced) {
  sim_world_t *w = kt_world(NULL);
  cr_assert_eq(sim_cpu_cores(w), 2);
  sim_proc_t *p[3];
  for (int i = 0; i < 3; i++) {
    char name[8];
    snprintf(name, sizeof name, "p%d", i);
    p[i] = sim_proc_create(w, name, 0);
    sim_thread_spawn(w, name, p[i], burner_logged, (void *)(intptr_t)i);
  }
  cr_assert_eq(sim_world_run(w, 5 * SIM_MS), 0);
  cr_assert_eq(sim_cpu_busy_cores(w), 2);
  cr_assert_eq(sim_cpu_runq(w), 1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 150 * SIM_MS);
  cr_assert_eq(finish[0], 140 * SIM_MS);
  cr_assert_eq(finish[1], 150 * SIM_MS);
  cr_assert_eq(finish[2], 150 * SIM_MS);
  sim_time_t want_wait[3] = {40 * SIM_MS, 50 * SIM_MS, 50 * SIM_MS};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(sim_proc_cpu_busy(p[i]), 100 * SIM_MS, "p%d busy %lld", i,
                 (long long)sim_proc_cpu_busy(p[i]));
    cr_assert_eq(sim_proc_cpu_wait(p[i]), want_wait[i], "p%d wait %lld", i,
                 (long long)sim_proc_cpu_wait(p[i]));
  }
  cr_assert_eq(sim_cpu_busy_cores(w), 0);
  cr_assert_eq(sim_cpu_runq(w), 0);
  /* Utilisation: both cores busy all along, then idle to 300 ms. */
  sim_metric_summary_t s;
  sim_metric_t *busy = sim_world_metric_find(w, "cpu.busy_cores");
  cr_assert_not_null(busy);
  sim_metric_summarize(busy, &s);
  cr_assert_float_eq(s.twmean, 2.0, 1e-12);
  cr_assert_float_eq(s.max, 2.0, 1e-12);
  sim_metric_t *pc = sim_world_metric_find(w, "proc.p0.cpu_cores");
  sim_metric_summarize(pc, &s);
  cr_assert_float_eq(s.twmean, 100.0 / 150.0, 1e-12);
  cr_assert_eq(sim_world_run(w, 300 * SIM_MS), 0);
  sim_metric_summarize(busy, &s);
  cr_assert_float_eq(s.twmean, 1.0, 1e-12);
  kt_end(w, 0);
}

/* One process with all three: the same totals, summed. */
Test(cpu, one_process_sums) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *p = sim_proc_create(w, "p", 0);
  for (int i = 0; i < 3; i++)
    sim_thread_spawn(w, "b", p, burner, (void *)(intptr_t)(100 * SIM_MS));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_proc_cpu_busy(p), 300 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_wait(p), 140 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_busy(sim_world_default_proc(w)), 0);
  kt_end(w, 0);
}

/* Without slicing (quantum longer than the burn): two run to completion and
 * the third waits for one of them: waits 0, 0, 100 ms; utilisation 1.5. */
Test(cpu, two_cores_three_burners_unsliced) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.cpu_quantum = SIM_SEC;
  sim_world_t *w = kt_world_opts(&o);
  sim_proc_t *p[3];
  for (int i = 0; i < 3; i++) {
    char name[8];
    snprintf(name, sizeof name, "p%d", i);
    p[i] = sim_proc_create(w, name, 0);
    sim_thread_spawn(w, name, p[i], burner, (void *)(intptr_t)(100 * SIM_MS));
  }
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 200 * SIM_MS);
  sim_time_t want_wait[3] = {0, 0, 100 * SIM_MS};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(sim_proc_cpu_busy(p[i]), 100 * SIM_MS);
    cr_assert_eq(sim_proc_cpu_wait(p[i]), want_wait[i]);
  }
  sim_metric_summary_t s;
  sim_metric_summarize(sim_world_metric_find(w, "cpu.busy_cores"), &s);
  cr_assert_float_eq(s.twmean, 1.5, 1e-12);
  sim_metric_summarize(sim_world_metric_find(w, "cpu.runq"), &s);
  cr_assert_float_eq(s.twmean, 0.5, 1e-12); /* one waiter for half the run */
  cr_assert_float_eq(s.max, 1.0, 1e-12);
  kt_end(w, 0);
}

/* Uneven work on one core: waits are what a FIFO round robin gives. 1 core,
 * quantum 10 ms, bursts of 30 and 10 ms: A runs [0,10), B [10,20) (waited
 * 10), A [20,40) with no one waiting. */
Test(cpu, one_core_round_robin) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.ncores = 1;
  sim_world_t *w = kt_world_opts(&o);
  sim_proc_t *a = sim_proc_create(w, "a", 0);
  sim_proc_t *b = sim_proc_create(w, "b", 0);
  sim_thread_spawn(w, "a", a, burner, (void *)(intptr_t)(30 * SIM_MS));
  sim_thread_spawn(w, "b", b, burner, (void *)(intptr_t)(10 * SIM_MS));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 40 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_busy(a), 30 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_busy(b), 10 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_wait(a), 10 * SIM_MS);
  cr_assert_eq(sim_proc_cpu_wait(b), 10 * SIM_MS);
  kt_end(w, 0);
}

static void zero_burn(void *arg) {
  sim_time_t t0 = sim_now(sim_thread_world(sim_self()));
  cr_assert_eq(sim_cpu_burn(0), 0);
  cr_assert_eq(sim_now(sim_thread_world(sim_self())), t0);
}

Test(cpu, zero_burn_takes_no_time) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "z", NULL, zero_burn, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 0);
  cr_assert_eq(sim_proc_cpu_busy(sim_world_default_proc(w)), 0);
  kt_end(w, 0);
}

static int cancel_rc = 99;
static void burner_rc(void *arg) { cancel_rc = sim_cpu_burn(100 * SIM_MS); }
static void cb_cancel(sim_world_t *w, void *arg) { sim_thread_cancel(arg); }

/* A thread canceled while waiting for a core leaves the run queue at once;
 * its wait so far is accounted. */
Test(cpu, cancel_while_waiting_for_a_core) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.ncores = 1;
  o.cpu_quantum = SIM_SEC;
  sim_world_t *w = kt_world_opts(&o);
  sim_proc_t *a = sim_proc_create(w, "a", 0);
  sim_proc_t *b = sim_proc_create(w, "b", 0);
  sim_thread_spawn(w, "a", a, burner, (void *)(intptr_t)(100 * SIM_MS));
  sim_thread_t *t = sim_thread_spawn(w, "b", b, burner_rc, NULL);
  sim_at(w, 30 * SIM_MS, cb_cancel, t);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(cancel_rc, SIM_ECANCELED);
  cr_assert_eq(sim_proc_cpu_busy(b), 0);
  cr_assert_eq(sim_proc_cpu_wait(b), 30 * SIM_MS);
  cr_assert_eq(sim_cpu_runq(w), 0);
  cr_assert_eq(sim_now(w), 100 * SIM_MS);
  kt_end(w, 0);
}
