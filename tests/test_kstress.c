/*
 * Randomized kernel stress test (issue 12): from a seed, a random program of
 * threads over a few mutexes, condition variables, semaphores and processes
 * runs under one scheduler with the kernel's invariant checker on every
 * scheduling step (sim/kernel/kcheck.c; compiled in the debug, asan and tsan
 * presets, so in release and clang builds this suite still runs the programs
 * and the end-of-run checks, without the per-step ones).
 *
 * A thread's program is a random sequence of: lock (random order, so
 * lock-order deadlocks happen), trylock, unlock; timed waits on a condition
 * variable with short deadlines (sometimes none), signal, broadcast;
 * semaphore acquires with deadlines, tryacquire, release; sleeps (0 too),
 * CPU burns shorter and longer than the quantum; spawns (joinable or not),
 * joins, cancels of other threads, early exits (holding locks or not, while
 * others wait on them or join them), memory alloc/free in processes with a
 * limit, process restarts (sim_proc_reset) and yields. Callbacks signal,
 * release, cancel and spawn from the scheduler's context. Each world runs in
 * two sim_world_run calls (to a random time, then to the end), sometimes with
 * metric sampling events in the heap.
 *
 * Outcomes: the run finishes, or hangs (a lock-order deadlock, a join cycle,
 * a wait on a lock whose owner exited: the detectors report it, SIM_EHANG),
 * both valid. What is checked: the kernel never crashes or trips an
 * invariant; every call returns a documented code; a condition wait returns
 * with its mutex held; at the end the full invariant check passes, every
 * thread is accounted for (the threads the program believes alive are
 * exactly the world's live threads; none after a finished run), a hang has a
 * report, and sim_world_destroy is clean (no leak under ASan: the test
 * in_process_no_leak runs 50 seeds of each scheduler in its own process,
 * which LeakSanitizer checks at exit).
 *
 * Each scheduler (fifo, random:S, pct:S:2, pct:S:3) is one test running its
 * seeds in a forked child, so a crash, an abort or a hang (alarm) names the
 * seed, and the test goes on with the next one and reports every failing
 * seed. Time: 2000 seeds per scheduler (8,000 worlds, plus 200 in
 * process); the suite takes about 4 s in a debug build, 16 s with ASan (26 s
 * beside the rest of ctest -j2), 2 s in release, measured on the 2-core CI
 * machine. A reverted ce66125 (a finished thread frees its own struct while
 * it hands off) fails about one seed in 20 under every scheduler, the first
 * within 40 seeds.
 *
 * Longer soak, or one seed again:
 *   STORESIM_KSTRESS_SEEDS=20000 build/debug/test_kstress --jobs 2
 *   STORESIM_KSTRESS_FIRST=1234 STORESIM_KSTRESS_SEEDS=1 \
 *     build/debug/test_kstress --filter 'kstress/random'
 * (STORESIM_KSTRESS_SEEDS: seeds per scheduler, STORESIM_KSTRESS_FIRST: the
 * first seed, default 1; STORESIM_KSTRESS_NOFORK=1 runs the seeds in the
 * test's own process, for a debugger: criterion --debug=gdb;
 * STORESIM_KSTRESS_VERBOSE=1 prints each world's outcome, =2 its reports.)
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"

/* The kernel's internal checker hooks (sim/kernel/kcheck.c). */
void sim__kcheck(sim_world_t *w, const sim_thread_t *running);
void sim__kcheck_every_step(sim_world_t *w);
int sim__kcheck_enabled(void);

#define NM 3     /* mutexes */
#define NC 2     /* condition variables */
#define NS 2     /* semaphores */
#define NP 3     /* processes (the default one and two more) */
#define NALLOC 8 /* live allocations kept per process */
#define MAXT 20  /* threads per world */
#define DEFAULT_SEEDS 2000

/* A failed expectation inside a world: say what and abort (the parent names
 * the seed). */
#define KS_CHECK(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "kstress: check failed: %s: ", #cond);                                       \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

typedef struct slot {
  sim_thread_t *t; /* valid while alive, or until joined for a joinable one */
  int idx, nops;
  bool joinable, alive, join_claimed, joined;
  uint64_t rng;
  sim_proc_t *proc;
} slot_t;

/* One world's program state (one world at a time per process). */
static struct {
  sim_world_t *w;
  uint64_t rng; /* the main program's and callbacks' stream */
  sim_mutex_t *m[NM];
  sim_cond_t *c[NC];
  sim_sem_t *s[NS];
  sim_proc_t *p[NP];
  void *allocs[NP][NALLOC];
  int nallocs[NP];
  slot_t slots[MAXT];
  int nslots;
} S;

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static unsigned rnd(uint64_t *x, unsigned n) { return (unsigned)(splitmix(x) % n); }

static sim_time_t short_time(uint64_t *x) {
  switch (rnd(x, 5)) {
  case 0: return 0;
  case 1: return 1 + rnd(x, 10);
  case 2: return 1 + rnd(x, 2000);
  case 3: return SIM_US * (1 + rnd(x, 50));
  default: return SIM_MS * (1 + rnd(x, 3));
  }
}

static void body(void *arg);

/* Spawns a thread into a new slot, if there is room; from a thread or a
 * callback. */
static void spawn_slot(uint64_t *x) {
  if (S.nslots >= MAXT) return;
  slot_t *sl = &S.slots[S.nslots];
  memset(sl, 0, sizeof *sl);
  sl->idx = S.nslots;
  sl->nops = 8 + (int)rnd(x, 50);
  sl->joinable = rnd(x, 2);
  sl->rng = splitmix(x);
  sl->proc = S.p[rnd(x, NP)];
  char name[16];
  snprintf(name, sizeof name, "k%d", sl->idx);
  sl->t = sl->joinable ? sim_thread_spawn_joinable(S.w, name, sl->proc, body, sl)
                       : sim_thread_spawn(S.w, name, sl->proc, body, sl);
  KS_CHECK(sl->t != NULL, "spawn of %s failed", name);
  sl->alive = true;
  S.nslots++;
}

static int held_index(sim_mutex_t **held, int nheld, sim_mutex_t *m) {
  for (int i = 0; i < nheld; i++)
    if (held[i] == m) return i;
  return -1;
}

static int midx(const sim_mutex_t *m) {
  for (int i = 0; i < NM; i++)
    if (S.m[i] == m) return i;
  return -1;
}

static void drop(sim_mutex_t **held, int *nheld, int i) { held[i] = held[--*nheld]; }

static void mem_op(uint64_t *x, slot_t *me) {
  int pi = (int)rnd(x, NP);
  sim_proc_t *p = S.p[pi];
  switch (rnd(x, 8)) {
  case 0: /* a process restart: every allocation in it is gone */
    sim_proc_reset(p);
    S.nallocs[pi] = 0;
    KS_CHECK(sim_proc_mem_used(p) == 0, "used %zu after reset", sim_proc_mem_used(p));
    break;
  case 1:
  case 2:
  case 3:
    if (S.nallocs[pi] > 0) {
      int k = (int)rnd(x, (unsigned)S.nallocs[pi]);
      sim_proc_free(p, S.allocs[pi][k]);
      S.allocs[pi][k] = S.allocs[pi][--S.nallocs[pi]];
      break;
    }
    /* fall through */
  default: {
    void *q = sim_proc_alloc(p, 1 + rnd(x, 3) * (size_t)rnd(x, 40000));
    if (!q) break; /* past the process's limit */
    if (S.nallocs[pi] < NALLOC) S.allocs[pi][S.nallocs[pi]++] = q;
    else sim_proc_free(p, q);
  }
  }
  (void)me;
}

static void body(void *arg) {
  slot_t *me = arg;
  uint64_t *x = &me->rng;
  sim_world_t *w = S.w;
  sim_mutex_t *held[NM];
  int nheld = 0;
  int64_t units = 0; /* semaphore units taken and not given back (any sem) */
  for (int op = 0; op < me->nops; op++) {
    unsigned k = rnd(x, 22);
    switch (k) {
    case 0:
    case 1:
    case 2: { /* lock: mostly in index order, one time in eight in any */
      int mi = (int)rnd(x, NM);
      sim_mutex_t *m = S.m[mi];
      if (held_index(held, nheld, m) >= 0 || nheld >= 2) break;
      if (rnd(x, 8) && nheld > 0 && midx(held[nheld - 1]) > mi) break;
      sim_mutex_lock(m);
      KS_CHECK(sim_mutex_held(m), "lock returned without the mutex");
      held[nheld++] = m;
      break;
    }
    case 3: {
      sim_mutex_t *m = S.m[rnd(x, NM)];
      if (held_index(held, nheld, m) >= 0) break;
      int rc = sim_mutex_trylock(m);
      KS_CHECK(rc == 0 || rc == SIM_EBUSY, "trylock rc %d", rc);
      if (rc == 0) held[nheld++] = m;
      break;
    }
    case 4:
    case 5:
      if (nheld > 0) {
        int i = (int)rnd(x, (unsigned)nheld);
        sim_mutex_unlock(held[i]);
        drop(held, &nheld, i);
      }
      break;
    case 6:
    case 7: { /* timed wait on a condition variable */
      sim_cond_t *c = S.c[rnd(x, NC)];
      sim_mutex_t *m = S.m[rnd(x, NM)];
      if (rnd(x, 8)) { /* mostly holding no other lock, or it deadlocks soon */
        for (int i = nheld - 1; i >= 0; i--)
          if (held[i] != m) {
            sim_mutex_unlock(held[i]);
            drop(held, &nheld, i);
          }
      }
      if (held_index(held, nheld, m) < 0) {
        sim_mutex_lock(m);
        held[nheld++] = m;
      }
      sim_time_t dl = rnd(x, 40) == 0 ? -1 : sim_now(w) + short_time(x);
      int rc = sim_cond_timedwait(c, m, dl);
      KS_CHECK(rc == 0 || rc == SIM_ETIMEDOUT || rc == SIM_ECANCELED, "cond wait rc %d", rc);
      KS_CHECK(sim_mutex_held(m), "cond wait returned without its mutex (rc %d)", rc);
      break;
    }
    case 8:
      if (rnd(x, 3)) sim_cond_signal(S.c[rnd(x, NC)]);
      else sim_cond_broadcast(S.c[rnd(x, NC)]);
      break;
    case 9: { /* semaphore acquire with a deadline */
      sim_sem_t *s = S.s[rnd(x, NS)];
      int rc;
      if (rnd(x, 4) == 0) {
        rc = sim_sem_tryacquire(s);
        KS_CHECK(rc == 0 || rc == SIM_EBUSY, "tryacquire rc %d", rc);
      } else {
        sim_time_t dl = rnd(x, 40) == 0 ? -1 : sim_now(w) + short_time(x);
        rc = sim_sem_acquire_until(s, dl);
        KS_CHECK(rc == 0 || rc == SIM_ETIMEDOUT || rc == SIM_ECANCELED, "acquire rc %d", rc);
      }
      if (rc == 0) units++;
      break;
    }
    case 10:
      if (units > 0 || rnd(x, 3) == 0) {
        sim_sem_release(S.s[rnd(x, NS)]);
        if (units > 0) units--;
      }
      break;
    case 11:
    case 12: {
      int rc = sim_sleep(short_time(x));
      KS_CHECK(rc == 0 || rc == SIM_ECANCELED, "sleep rc %d", rc);
      break;
    }
    case 13: {
      sim_time_t d = rnd(x, 3) == 0 ? 0 : rnd(x, 2) ? short_time(x) : SIM_MS * (5 + rnd(x, 20));
      int rc = sim_cpu_burn(d);
      KS_CHECK(rc == 0 || rc == SIM_ECANCELED, "burn rc %d", rc);
      break;
    }
    case 14: spawn_slot(x); break;
    case 15: { /* join a joinable thread nobody joins yet */
      int j = (int)rnd(x, (unsigned)S.nslots);
      slot_t *sl = &S.slots[j];
      if (sl == me || !sl->joinable || sl->join_claimed) break;
      sl->join_claimed = true; /* before the unlocks: each is a scheduling point */
      if (rnd(x, 8))           /* mostly without holding locks */
        while (nheld > 0) sim_mutex_unlock(held[--nheld]);
      sim_thread_join(sl->t);
      KS_CHECK(!sl->alive, "joined k%d is still alive", j);
      sl->joined = true;
      sl->t = NULL;
      break;
    }
    case 16: { /* cancel another thread */
      slot_t *sl = &S.slots[rnd(x, (unsigned)S.nslots)];
      if (sl != me && sl->alive) sim_thread_cancel(sl->t);
      break;
    }
    case 17:
    case 18: mem_op(x, me); break;
    case 19: sim_yield(); break;
    case 20:
      sim_progress();
      sim_request();
      break;
    case 21: /* exit early, maybe holding locks that others wait for */
      if (rnd(x, 3) == 0) {
        if (rnd(x, 40))
          while (nheld > 0) sim_mutex_unlock(held[--nheld]);
        me->alive = false;
        sim_thread_exit();
      }
      break;
    }
  }
  while (nheld > 0) {
    int i = (int)rnd(x, (unsigned)nheld);
    sim_mutex_unlock(held[i]);
    drop(held, &nheld, i);
  }
  me->alive = false;
}

/* Callbacks: the scheduler's context pokes the program. */
static void poke(sim_world_t *w, void *arg) {
  uint64_t *x = &S.rng;
  switch (rnd(x, 5)) {
  case 0: sim_cond_signal(S.c[rnd(x, NC)]); break;
  case 1: sim_cond_broadcast(S.c[rnd(x, NC)]); break;
  case 2: sim_sem_release(S.s[rnd(x, NS)]); break;
  case 3: {
    slot_t *sl = &S.slots[rnd(x, (unsigned)S.nslots)];
    if (sl->alive) sim_thread_cancel(sl->t);
    break;
  }
  default: spawn_slot(x); break;
  }
  if (arg && rnd(x, 2)) sim_at(w, sim_now(w) + short_time(x), poke, arg);
}

static int count_live(sim_world_t *w) {
  int n = 0;
  for (int i = 0; i < S.nslots; i++) n += S.slots[i].alive;
  return n;
}

static void one_seed(const char *kind, uint64_t seed) {
  char sched[64];
  if (strcmp(kind, "fifo") == 0) snprintf(sched, sizeof sched, "fifo");
  else if (strcmp(kind, "random") == 0)
    snprintf(sched, sizeof sched, "random:%llu", (unsigned long long)seed);
  else snprintf(sched, sizeof sched, "pct:%llu:%s", (unsigned long long)seed, kind + 3);
  memset(&S, 0, sizeof S);
  S.rng = seed * 0x100000001b3ull ^ (uint64_t)kind[0] << 56 ^ (uint64_t)strlen(kind);
  uint64_t *x = &S.rng;
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.seed = seed;
  o.sched = sched;
  o.stack_size = 64 * 1024;
  o.ncores = 1 + (int)rnd(x, 3);
  o.cpu_quantum = SIM_MS * (1 + rnd(x, 10));
  o.spin_window = rnd(x, 2) ? 0 : 20 * SIM_MS;
  o.sample_interval = rnd(x, 3) == 0 ? 100 * SIM_US : 0;
  o.machine_mem_limit = rnd(x, 3) == 0 ? (size_t)1 << 20 : 0;
  sim_world_t *w = NULL;
  char err[256];
  int rc = sim_world_create(&o, &w, err, sizeof err);
  KS_CHECK(rc == 0, "sim_world_create: %s", err);
  S.w = w;
  sim__kcheck_every_step(w);
  for (int i = 0; i < NM; i++) {
    char n[8];
    snprintf(n, sizeof n, "m%d", i);
    S.m[i] = sim_mutex_create(w, n);
  }
  for (int i = 0; i < NC; i++) S.c[i] = sim_cond_create(w, i ? "c1" : "c0");
  for (int i = 0; i < NS; i++) S.s[i] = sim_sem_create(w, i ? "s1" : "s0", rnd(x, 3));
  S.p[0] = sim_world_default_proc(w);
  for (int i = 1; i < NP; i++) {
    S.p[i] = sim_proc_create(w, i == 1 ? "p1" : "p2", rnd(x, 2) ? 0 : 64 * 1024);
    KS_CHECK(S.p[i] != NULL, "sim_proc_create");
  }
  int n0 = 2 + (int)rnd(x, 6);
  for (int i = 0; i < n0; i++) spawn_slot(x);
  int ncb = (int)rnd(x, 5);
  for (int i = 0; i < ncb; i++) sim_at(w, short_time(x), poke, i == 0 ? &S : NULL);

  sim_time_t t1 = short_time(x);
  rc = sim_world_run(w, t1);
  KS_CHECK(rc == 0 || rc == SIM_EHANG, "first run to %lld: %s (%s)", (long long)t1,
           sim_strerror(rc), sim_world_last_error(w));
  if (rc == 0) {
    KS_CHECK(sim_now(w) >= t1 || sim_world_live_threads(w) == 0, "stopped at %lld before %lld",
             (long long)sim_now(w), (long long)t1);
    rc = sim_world_run(w, SIM_TIME_MAX);
    KS_CHECK(rc == 0 || rc == SIM_EHANG, "run: %s (%s)", sim_strerror(rc), sim_world_last_error(w));
  }
  sim__kcheck(w, NULL);
  uint64_t nlive = sim_world_live_threads(w);
  KS_CHECK((uint64_t)count_live(w) == nlive,
           "%d threads alive by the program, %llu live in the world", count_live(w),
           (unsigned long long)nlive);
  if (rc == 0) {
    KS_CHECK(nlive == 0, "a finished run left %llu live threads", (unsigned long long)nlive);
  } else {
    KS_CHECK(nlive > 0, "a hang with no live thread");
    bool hang = false;
    for (size_t i = 0; i < sim_world_nreports(w); i++)
      hang |= sim_world_report(w, i)->kind == SIM_R_HANG;
    KS_CHECK(hang, "a hang without a hang report");
  }
  for (int i = 0; i < NP; i++)
    KS_CHECK(sim_proc_mem_used(S.p[i]) == sim_proc_mem_jemalloc(S.p[i]),
             "process %d: used %zu, jemalloc %zu", i, sim_proc_mem_used(S.p[i]),
             sim_proc_mem_jemalloc(S.p[i]));
  if (getenv("STORESIM_KSTRESS_VERBOSE"))
    fprintf(stderr, "kstress: %s seed %llu: %s, %d threads, %llu steps, %zu reports, t=%lld\n",
            sched, (unsigned long long)seed, rc ? "hang" : "done", S.nslots,
            (unsigned long long)sim_world_steps(w), sim_world_nreports(w), (long long)sim_now(w));
  if (getenv("STORESIM_KSTRESS_VERBOSE") && atoi(getenv("STORESIM_KSTRESS_VERBOSE")) > 1)
    for (size_t i = 0; i < sim_world_nreports(w); i++)
      fprintf(stderr, "%s\n", sim_world_report(w, i)->text);
  sim_world_destroy(w);
  S.w = NULL;
}

static uint64_t env_u64(const char *name, uint64_t def) {
  const char *s = getenv(name);
  return s && *s ? strtoull(s, NULL, 10) : def;
}

/* Runs the scheduler's seeds in forked children; a child that dies names its
 * seed through shared memory and the next child goes on after it. */
static void run_seeds(const char *kind) {
  uint64_t first = env_u64("STORESIM_KSTRESS_FIRST", 1);
  uint64_t n = env_u64("STORESIM_KSTRESS_SEEDS", DEFAULT_SEEDS);
  volatile uint64_t *cur =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert(cur != MAP_FAILED);
  uint64_t next = first, nfail = 0, failed[8];
  if (getenv("STORESIM_KSTRESS_NOFORK")) { /* in this process, for a debugger */
    for (uint64_t s = first; s < first + n; s++) one_seed(kind, s);
    return;
  }
  while (next < first + n) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork");
    if (pid == 0) {
      for (uint64_t s = next; s < first + n; s++) {
        *cur = s;
        alarm(60); /* a hang of the kernel itself */
        one_seed(kind, s);
      }
      alarm(0);
      _exit(0);
    }
    int st = 0;
    cr_assert(waitpid(pid, &st, 0) == pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) break;
    uint64_t bad = *cur;
    fprintf(stderr, "kstress: %s seed %llu failed (%s %d), seed #%llu of this run\n", kind,
            (unsigned long long)bad, WIFSIGNALED(st) ? "signal" : "exit status",
            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
            (unsigned long long)(bad - first + 1));
    if (nfail < 8) failed[nfail] = bad;
    nfail++;
    next = bad + 1;
  }
  munmap((void *)cur, 4096);
  char list[256] = "";
  for (uint64_t i = 0; i < nfail && i < 8; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), " %llu",
             (unsigned long long)failed[i]);
  cr_assert_eq(
      nfail, 0,
      "%s: %llu of %llu seeds failed; the first: %s (rerun one: STORESIM_KSTRESS_FIRST=%llu "
      "STORESIM_KSTRESS_SEEDS=1 test_kstress --filter 'kstress/%s')",
      kind, (unsigned long long)nfail, (unsigned long long)n, list,
      nfail ? (unsigned long long)failed[0] : 0ull, kind);
}

Test(kstress, checker_is_on_in_checked_builds) {
#if defined(__OPTIMIZE__)
  cr_log_info("optimised build: invariant checker %s", sim__kcheck_enabled() ? "on" : "off");
#else
  cr_assert(sim__kcheck_enabled(), "a debug build without the invariant checker (STORESIM_KCHECK)");
#endif
}

/* The same programs in the test's own process, which LeakSanitizer checks
 * when it exits (a forked child cannot be checked reliably: the thread
 * Criterion runs beside the test is not in it, and LeakSanitizer warns that
 * its leak report may be false). */
Test(kstress, in_process_no_leak) {
  static const char *const kinds[] = {"fifo", "random", "pct2", "pct3"};
  for (int k = 0; k < 4; k++)
    for (uint64_t s = 1; s <= 50; s++) one_seed(kinds[k], s);
}

Test(kstress, fifo, .timeout = 600) { run_seeds("fifo"); }
Test(kstress, random, .timeout = 600) { run_seeds("random"); }
Test(kstress, pct2, .timeout = 600) { run_seeds("pct2"); }
Test(kstress, pct3, .timeout = 600) { run_seeds("pct3"); }
