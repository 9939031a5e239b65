/*
 * storesim scenario layer: the one table of models this build knows.
 *
 * The queueing model is always there; the store model joins when its header
 * exists (so the scenario layer never waits for it). The table is constant:
 * no state.
 */
#include <string.h>

#include "storesim/qmodel.h"
#include "storesim/scenario.h"
#if defined(__has_include)
#if __has_include("storesim/store.h")
#include "storesim/store.h"
#define SCN_HAVE_STORE 1
#endif
#endif

static const sim_model_t *const models[] = {
#ifdef SCN_HAVE_STORE
    &store_model,
#endif
    &queue_model,
};

const sim_model_t *const *scn_models(size_t *n) {
  *n = sizeof models / sizeof models[0];
  return models;
}

const sim_model_t *scn_model_find(const char *name) {
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
    if (!strcmp(models[i]->name, name)) return models[i];
  return NULL;
}
