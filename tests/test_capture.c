/*
 * Workload from a Performance Monitor capture (workload.from_perfmon,
 * sim/store/capture.c) and `storesim diff` of two Performance Monitor logs:
 * the shipped replay scenario's arrivals follow the synthetic capture
 * interval by interval (its rates in the run's own --perfmon log), bad
 * captures are errors at their position, and diff compares counters by
 * name whatever the machine. Runs the storesim binary of the build.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIN STORESIM_BINARY_DIR "/storesim"
#define SRC STORESIM_SOURCE_DIR
#define REPLAY SRC "/scenarios/perfmon-replay.yaml"
#define CAPTURE SRC "/scenarios/captures/SYNTHETIC-evening.csv"

static char out[1 << 17];
static char dir[256];

#define sh(...) kt_shf(out, sizeof out, __VA_ARGS__)

static void mkscratch(void) { kt_scratch(dir, sizeof dir, "test_capture"); }
static void rmscratch(void) { kt_unscratch(dir); }
TestSuite(capture, .init = mkscratch, .fini = rmscratch);

/* A scenario in dir using a capture written there. */
static void write_files(const char *csv, const char *map) {
  char p[400];
  FILE *f;
  snprintf(p, sizeof p, "%s/c.csv", dir);
  cr_assert((f = fopen(p, "w")));
  fputs(csv, f);
  fclose(f);
  snprintf(p, sizeof p, "%s/s.yaml", dir);
  cr_assert((f = fopen(p, "w")));
  fprintf(f,
          "id: cap\ntitle: t\nduration: 1m\nworkload:\n  from_perfmon:\n    file: c.csv\n"
          "    map: { %s }\nvariants:\n  without_fix: { fixes: [] }\n  with_fix: { fixes: [] }\n",
          map);
  fclose(f);
}

#define HDR                                                                                        \
  "\"(PDH-CSV 4.0) (Coordinated Universal Time)(0)\",\"\\\\M1\\MSExchangeIS\\RPC "                 \
  "Operations/sec\"\r\n"

Test(capture, the_replay_follows_the_capture) {
  cr_assert_eq(sh("'%s' run " REPLAY " --variant without_fix --perfmon '%s/sim.csv'", BIN, dir), 0,
               "%s", out);
  /* the run's RPC Operations/sec over the 2 h averages the capture's 8.36/s */
  cr_assert_eq(sh("'%s' diff " CAPTURE " '%s/sim.csv' --rel 0.02 --json", BIN, dir), 1, "%s", out);
  cr_assert(strstr(out, "{\"counter\":\"\\\\MSExchangeIS\\\\RPC Operations/sec\",\"mean_a\":8.36"),
            "%s", out);
  cr_assert_eq(sh("'%s' diff " CAPTURE " '%s/sim.csv' --json | python3 -c 'import json,sys; "
                  "c=[x for x in json.load(sys.stdin)[\"changes\"] if "
                  "x[\"counter\"].endswith(\"RPC Operations/sec\")][0]; "
                  "assert abs(c[\"mean_b\"]/c[\"mean_a\"]-1) < 0.02, c'",
                  BIN, dir),
               0, "the mean rate within 2%%: %s", out);
  cr_assert_eq(sh("'%s' diff '%s/sim.csv' '%s/sim.csv'", BIN, dir, dir), 0, "%s", out);
  cr_assert(strstr(out, "same: "), "%s", out);
  /* a quiet interval in the capture is quiet in the run: rate 0 from 0:00:30
   * to 0:01:00 gives no RPC there */
  write_files(HDR "\"01/01/2007 00:00:00.000\",\" \"\r\n"
                  "\"01/01/2007 00:00:30.000\",\"20\"\r\n"
                  "\"01/01/2007 00:01:00.000\",\"0\"\r\n",
              "mapi: '\\MSExchangeIS\\RPC Operations/sec'");
  cr_assert_eq(sh("'%s' run '%s/s.yaml' --json --set sample_interval=10s", BIN, dir), 0, "%s", out);
  cr_assert(strstr(out, "\"capture.mapi.rate\":{\"kind\":\"gauge\",\"unit\":\"/s\",\"min\":0,"
                        "\"max\":20"),
            "%s", out);
}

Test(capture, bad_captures_are_positioned_errors) {
  static const struct {
    const char *csv, *map, *says;
  } bad[] = {
      {"a,b\r\n1,2\r\n3,4\r\n", "mapi: x", "c.csv:1:1: error: not a Performance Monitor CSV log"},
      {HDR "\"01/01/2007 00:00:00.000\",\" \"\r\n\"01/01/2007 00:00:15.000\",\"abc\"\r\n",
       "mapi: '\\MSExchangeIS\\RPC Operations/sec'", "c.csv:3:2: error: 'abc' is not a rate"},
      {HDR "\"01/01/2007 00:00:00.000\",\" \"\r\n\"13/01/2007 00:00:15.000\",\"1\"\r\n",
       "mapi: '\\MSExchangeIS\\RPC Operations/sec'", "c.csv:3:1: error: '13/01/2007 00:00:15.000'"},
      {HDR "\"01/01/2007 00:00:15.000\",\" \"\r\n\"01/01/2007 00:00:00.000\",\"1\"\r\n",
       "mapi: '\\MSExchangeIS\\RPC Operations/sec'", "the sample times must increase"},
      {HDR "\"01/01/2007 00:00:00.000\",\" \"\r\n\"01/01/2007 00:00:15.000\",\"1\"\r\n",
       "mapi: '\\MSExchangeIS\\RPC Latency'",
       "counter '\\MSExchangeIS\\RPC Latency' is not a column"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_files(bad[i].csv, bad[i].map);
    cr_assert_eq(sh("'%s' validate '%s/s.yaml' 2>&1", BIN, dir), 2, "%zu: %s", i, out);
    cr_assert(strstr(out, bad[i].says), "%zu: %s", i, out);
  }
  /* a file that is not there: the key's position in the scenario */
  cr_assert_eq(sh("sed -i 's/file: c.csv/file: none.csv/' '%s/s.yaml' && '%s' validate "
                  "'%s/s.yaml' 2>&1",
                  dir, BIN, dir),
               2, "%s", out);
  cr_assert(strstr(out, "/s.yaml:6:11: error: workload.from_perfmon.file: cannot read '"), "%s",
            out);
  cr_assert_eq(sh("'%s' diff " CAPTURE " " REPLAY " 2>&1", BIN), 2, "%s", out);
  cr_assert(strstr(out, "a Performance Monitor log (.csv) is compared with another one"), "%s",
            out);
}
