/*
 * libFuzzer harness: `--set [variant:]KEY=VALUE` overrides, as the command
 * line hands them to the loader (scn_load_opts_t.sets, applied by
 * scn_load_buffer through split_set/apply_set), on a fixed valid scenario of
 * the store model with two variants.
 *
 * The input is split at newlines: each line is one --set (so several
 * overrides, and base and per-variant ones, interact). Invariants: the
 * loader either loads with no error or files one and hands out nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base[] = "id: fuzzset\n"
                           "title: a fixed scenario for the --set harness\n"
                           "duration: 10m\n"
                           "store: { tasks: 4, gateway_out_threads: 0 }\n"
                           "workload:\n"
                           "  smtp: { rate: 1/s, size: lognormal(50KiB, 1.0) }\n"
                           "  moves: { at: 1m, count: 2, threads: 1, per_mailbox: [1s, 2s, 5s] }\n"
                           "faults:\n"
                           "  - { at: 5m, action: store_restart }\n"
                           "variants:\n"
                           "  without_fix: { fixes: [] }\n"
                           "  with_fix: { fixes: [kb924567], set: { store.tasks: 8 } }\n"
                           "expect:\n"
                           "  without_fix: [ \"tasks.free.min >= 0\" ]\n"
                           "  with_fix: [ \"tasks.free.min > 0 or $store.tasks > 4\" ]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enum { MAXSETS = 16 };
  char *buf = malloc(size + 1);
  const char *sets[MAXSETS];
  size_t nsets = 0;
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = 0;
  for (char *p = buf; nsets < MAXSETS;) {
    char *nl = strchr(p, '\n');
    sets[nsets++] = p;
    if (!nl) break;
    *nl = 0;
    p = nl + 1;
  }
  scn_load_opts_t o = {sets, nsets};
  scn_scenario_t *s = NULL;
  scn_diag_t diag;
  scn_diag_init(&diag);
  int rc = scn_load_buffer("fuzzset.yaml", base, sizeof base - 1, &o, &s, &diag);
  if ((rc == 0) != (s != NULL) || (rc == 0) != (diag.nerrors == 0)) {
    fprintf(stderr, "fuzz_set: rc %d, scenario %p, %d errors\n", rc, (void *)s, diag.nerrors);
    abort();
  }
  scn_scenario_free(s);
  scn_diag_free(&diag);
  free(buf);
  return 0;
}
