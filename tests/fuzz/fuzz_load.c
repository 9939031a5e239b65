/*
 * libFuzzer harness: the scenario loader (scn_load_buffer) on arbitrary bytes.
 *
 * Invariants checked on every input, beyond "no crash, no sanitizer report,
 * no leak": the loader either hands out a scenario and files no error, or
 * hands out nothing (NULL) and files at least one error; every diagnostic
 * line ends in '\n'. Build and run: see tools/fuzz.sh and the README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "storesim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  scn_scenario_t *s = NULL;
  scn_diag_t diag;
  scn_diag_init(&diag);
  int rc = scn_load_buffer("fuzz.yaml", (const char *)data, size, NULL, &s, &diag);
  if (rc == 0 && (!s || diag.nerrors)) {
    fprintf(stderr, "fuzz_load: success with %d errors or no scenario\n", diag.nerrors);
    abort();
  }
  if (rc != 0 && (s || diag.nerrors == 0)) {
    fprintf(stderr, "fuzz_load: failure (%d) without an error message\n", rc);
    abort();
  }
  if (diag.len && diag.text[diag.len - 1] != '\n') abort();
  scn_scenario_free(s);
  scn_diag_free(&diag);
  return 0;
}
