/*
 * storesim store model: the table of mechanisms, and the model assembled
 * from it.
 *
 * store_mechanisms[] has one row per mechanism, in init order. Everything
 * the scenario layer, the reports and the docs know of the store is read
 * from the rows' descriptors (store_mech_t, store_int.h) and assembled here
 * into one sim_model_t:
 *
 *   params   every row's parameters in turn; rows with a config struct of
 *            their own get it placed after store_config_t (16-byte aligned)
 *            and their offsets moved by its place
 *   faults   every row's faults in turn; a fault runs the row's handler
 *   fixes    the rows that model a fix, in turn: fix bit i is the i-th
 *   kinds    every row's work kinds in turn (tasks.busy.<kind>)
 *   parts    every row's part: metrics and plots
 *
 * The parameter table is the only place a default is written: the scenario
 * layer applies it (scn_params_defaults), the JSON Schema and the docs are
 * generated from it.
 *
 * Instance life: model_create -> store_create (the core) -> each row's init
 * in turn -> timed faults scheduled; model_finish -> store_finish;
 * inst_destroy -> store_destroy (every component's destroy hook).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

const store_mech_t *const store_mechanisms[] = {&store_core_mech,
                                                &store_cache_mech,
                                                &store_mta_mech,
                                                &store_smtp_mech,
                                                &store_clients_mech,
                                                &store_moves_mech,
                                                &store_spin_mech,
                                                &store_leak_mech,
                                                &store_imail_mech,
                                                &store_ims_mech,
                                                NULL};

/* The store versions (store.version), in STORE_VERSION_* order; the first
 * is the default. Which parts each has is in the descriptors
 * (store_mech_t.versions): Exchange 2003 has SMTP local delivery, the MTA's
 * transit flush, Move Mailbox and the KB9xxxxx mechanisms; Exchange 5.5 has
 * the Internet Mail Service's outbound queue (ims.c); both have the core, the
 * MAPI and OWA clients and IMAIL (imail.c). */
static const char *const store_versions[] = {"2003", "5.5", NULL};
#define ALL_VERSIONS ((UINT32_C(1) << STORE_NVERSIONS) - 1)

static uint32_t mech_versions(const store_mech_t *mc) {
  return mc->versions ? mc->versions & ALL_VERSIONS : ALL_VERSIONS;
}

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

struct store_assembly {
  sim_model_t model;
  const store_mech_t **mechs;
  size_t nmechs;
  size_t *cfg_off;    /* per row: where its own config block starts */
  int *fix_bit;       /* per row: its fix bit, or -1 */
  size_t *fault_mech; /* per fault: its row */
  int *fault_local;   /* per fault: its index in the row's faults */
  const char **kinds; /* every work kind, numbered in table order */
  int nkinds;
  size_t config_size;
  sim_param_t *params;
  sim_fault_kind_t *faults;
  const char **fixes;
  const sim_model_part_t **parts;
  uint32_t *param_versions, *fault_versions, *fix_versions; /* per row of each table */
};

size_t store__config_size(const store_assembly_t *as) { return as->config_size; }
int store__nkinds(const store_assembly_t *as) { return as->nkinds; }
const char *store__kind_name(const store_assembly_t *as, int k) {
  return k >= 0 && k < as->nkinds ? as->kinds[k] : "?";
}

static size_t row_of(const store_assembly_t *as, const store_mech_t *mech) {
  for (size_t i = 0; i < as->nmechs; i++)
    if (as->mechs[i] == mech) return i;
  fprintf(stderr, "storesim: mechanism '%s' is not in this store's table\n", mech->part.name);
  abort();
}

const void *store_mech_config(const store_t *s, const store_mech_t *mech) {
  return (const char *)s->cfg + s->as->cfg_off[row_of(s->as, mech)];
}

int store_mech_present(const store_t *s, const store_mech_t *mech) {
  return (mech_versions(s->as->mechs[row_of(s->as, mech)]) & STORE_VERSION_BIT(s->version)) != 0;
}

const char *store_version_name(int version) {
  return version >= 0 && version < STORE_NVERSIONS ? store_versions[version] : "?";
}

int store__version_parse(const char *name) {
  for (int v = 0; name && v < STORE_NVERSIONS; v++)
    if (!strcmp(name, store_versions[v])) return v;
  return -1;
}

int store_mech_has_fix(const store_t *s, const store_mech_t *mech) {
  int bit = s->as->fix_bit[row_of(s->as, mech)];
  return bit >= 0 && store_has_fix(s, bit);
}

store_kind_t store_kind(const store_t *s, const char *name) {
  for (int k = 0; k < s->as->nkinds; k++)
    if (!strcmp(s->as->kinds[k], name)) return (store_kind_t)k;
  fprintf(stderr, "storesim: store_kind: no work kind '%s'\n", name);
  abort();
}

/* ---- the instance ---------------------------------------------------------------- */

typedef struct store_inst {
  store_t *s;
  sim_fault_t *faults;
  size_t nfaults;
  struct fault_arg {
    struct store_inst *inst;
    size_t i;
  } * args;
} store_inst_t;

static void fault_thread(void *arg) {
  struct fault_arg *fa = arg;
  store_t *s = fa->inst->s;
  const sim_fault_t *f = &fa->inst->faults[fa->i];
  const store_mech_t *mech = s->as->mechs[s->as->fault_mech[f->kind]];
  mech->fault(s, s->as->fault_local[f->kind], f);
}

/* A fault runs on a thread of its own, "fault-<name>" with '-' for '_'. */
static void fault_cb(sim_world_t *w, void *arg) {
  struct fault_arg *fa = arg;
  const store_assembly_t *as = fa->inst->s->as;
  char name[64];
  snprintf(name, sizeof name, "fault-%s", as->faults[fa->inst->faults[fa->i].kind].name);
  for (char *p = name; *p; p++)
    if (*p == '_') *p = '-';
  sim_thread_spawn(w, name, NULL, fault_thread, fa);
}

static void inst_destroy(void *p) {
  store_inst_t *inst = p;
  if (!inst) return;
  store_destroy(inst->s);
  free(inst->faults);
  free(inst->args);
  free(inst);
}

static void *model_create(const sim_model_t *m, sim_world_t *w, const void *cfg, uint64_t fixes,
                          const sim_fault_t *faults, size_t nfaults, char *err, size_t nerr) {
  const store_assembly_t *as = m->impl;
  store_inst_t *inst = sim_calloc(1, sizeof *inst);
  if (!inst) goto oom;
  if (nfaults) {
    inst->faults = sim_calloc(nfaults, sizeof *inst->faults);
    inst->args = sim_calloc(nfaults, sizeof *inst->args);
    if (!inst->faults || !inst->args) goto oom;
    memcpy(inst->faults, faults, nfaults * sizeof *faults);
    inst->nfaults = nfaults;
  }
  size_t nkinds = 0;
  while (as->faults[nkinds].name) nkinds++;
  for (size_t i = 0; i < nfaults; i++) {
    if (faults[i].kind < 0 || (size_t)faults[i].kind >= nkinds) {
      if (err) snprintf(err, nerr, "unknown fault kind %d", faults[i].kind);
      goto fail;
    }
  }
  inst->s = store_create(w, as, cfg, fixes, err, nerr);
  if (!inst->s) goto fail;
  /* A part the store's version does not have is not built, and its faults
   * are refused (the scenario layer refuses them first, at their line). */
  uint32_t vbit = STORE_VERSION_BIT(inst->s->version);
  for (size_t i = 0; i < nfaults; i++) {
    const store_mech_t *mc = as->mechs[as->fault_mech[faults[i].kind]];
    if (!(mech_versions(mc) & vbit)) {
      if (err)
        snprintf(err, nerr, "fault '%s' is of part '%s', which store.version %s does not have",
                 as->faults[faults[i].kind].name, mc->part.name,
                 store_version_name(inst->s->version));
      goto fail;
    }
  }
  for (size_t i = 0; i < as->nmechs; i++)
    if ((mech_versions(as->mechs[i]) & vbit) && as->mechs[i]->init &&
        as->mechs[i]->init(inst->s, err, nerr) != 0)
      goto fail;
  for (size_t i = 0; i < nfaults; i++) {
    inst->args[i].inst = inst;
    inst->args[i].i = i;
    sim_at(w, inst->faults[i].at, fault_cb, &inst->args[i]);
  }
  return inst;
oom:
  if (err) snprintf(err, nerr, "out of host memory");
fail:
  inst_destroy(inst);
  return NULL;
}

store_t *store__inst_store(void *p) { return ((store_inst_t *)p)->s; }

static void model_finish(void *p) {
  store_inst_t *inst = p;
  store_finish(inst->s);
}

/* ---- assembly -------------------------------------------------------------------------- */

void store_model_free(sim_model_t *m) {
  if (!m) return;
  store_assembly_t *as = (store_assembly_t *)m->impl;
  free(as->mechs);
  free(as->cfg_off);
  free(as->fix_bit);
  free(as->fault_mech);
  free(as->fault_local);
  free(as->kinds);
  free(as->params);
  free(as->faults);
  free(as->fixes);
  free(as->parts);
  free(as->param_versions);
  free(as->fault_versions);
  free(as->fix_versions);
  free(as);
}

static int twice(const char *const *names, size_t n, const char *what, char *err, size_t nerr) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < i; k++)
      if (!strcmp(names[i], names[k])) {
        if (err) snprintf(err, nerr, "%s '%s' is in the mechanism table twice", what, names[i]);
        return 1;
      }
  return 0;
}

/* The tables are taken with plain calloc, outside the reach of the host
 * allocation fault injector (alloc.h): the default model is built once, on
 * first use by whichever code asks first, and a failure there is not a path
 * a run can take. */
sim_model_t *store_model_build(const store_mech_t *const *extra, char *err, size_t nerr) {
  size_t nrows = 0, nextra = 0, nparams = 0, nfaults = 0, nfixes = 0, nkinds = 0;
  while (store_mechanisms[nrows]) nrows++;
  while (extra && extra[nextra]) nextra++;
  size_t n = nrows + nextra;
  store_assembly_t *as = calloc(1, sizeof *as);
  if (!as) goto oom;
  as->model.impl = as;
  as->mechs = calloc(n, sizeof *as->mechs);
  as->cfg_off = calloc(n, sizeof *as->cfg_off);
  as->fix_bit = calloc(n, sizeof *as->fix_bit);
  as->parts = calloc(n + 1, sizeof *as->parts);
  if (!as->mechs || !as->cfg_off || !as->fix_bit || !as->parts) goto oom;
  as->nmechs = n;
  for (size_t i = 0; i < n; i++) {
    const store_mech_t *mc = as->mechs[i] = i < nrows ? store_mechanisms[i] : extra[i - nrows];
    for (const sim_param_t *p = mc->params; p && p->path; p++) nparams++;
    for (const sim_fault_kind_t *f = mc->faults; f && f->name; f++) nfaults++;
    for (const char *const *k = mc->kinds; k && *k; k++) nkinds++;
    nfixes += mc->part.fix != NULL;
    as->parts[i] = &mc->part;
  }
  as->params = calloc(nparams + 1, sizeof *as->params);
  as->faults = calloc(nfaults + 1, sizeof *as->faults);
  as->fault_mech = calloc(nfaults + 1, sizeof *as->fault_mech);
  as->fault_local = calloc(nfaults + 1, sizeof *as->fault_local);
  as->fixes = calloc(nfixes + 1, sizeof *as->fixes);
  as->kinds = calloc(nkinds + 1, sizeof *as->kinds);
  as->param_versions = calloc(nparams + 1, sizeof *as->param_versions);
  as->fault_versions = calloc(nfaults + 1, sizeof *as->fault_versions);
  as->fix_versions = calloc(nfixes + 1, sizeof *as->fix_versions);
  if (!as->params || !as->faults || !as->fault_mech || !as->fault_local || !as->fixes ||
      !as->kinds || !as->param_versions || !as->fault_versions || !as->fix_versions)
    goto oom;

  /* store_config_t, then each mechanism's own block at a 16-byte boundary
   * (with none, just store_config_t, whatever its size) */
  size_t off = sizeof(store_config_t);
  size_t np = 0, nf = 0, nx = 0;
  for (size_t i = 0; i < n; i++) {
    const store_mech_t *mc = as->mechs[i];
    if (mc->config_size) {
      off = ALIGN16(off);
      as->cfg_off[i] = off;
      off += ALIGN16(mc->config_size);
    }
    for (const sim_param_t *p = mc->params; p && p->path; p++) {
      as->param_versions[np] = mech_versions(mc);
      as->params[np] = *p;
      as->params[np++].offset += as->cfg_off[i];
    }
    int local = 0;
    for (const sim_fault_kind_t *f = mc->faults; f && f->name; f++) {
      if (!mc->fault) {
        if (err)
          snprintf(err, nerr, "mechanism '%s' has faults and no fault handler", mc->part.name);
        goto fail;
      }
      as->fault_mech[nf] = i;
      as->fault_local[nf] = local++;
      as->fault_versions[nf] = mech_versions(mc);
      as->faults[nf++] = *f;
    }
    for (const char *const *k = mc->kinds; k && *k; k++) as->kinds[as->nkinds++] = *k;
    as->fix_bit[i] = mc->part.fix ? (int)nx : -1;
    if (mc->part.fix) {
      as->fix_versions[nx] = mech_versions(mc);
      as->fixes[nx++] = mc->part.fix;
    }
  }
  if (nfixes > 64) {
    if (err) snprintf(err, nerr, "more than 64 fixes");
    goto fail;
  }
  as->config_size = off;
  const char *names[64];
  for (size_t i = 0; i < n && i < 64; i++) names[i] = as->mechs[i]->part.name;
  if (twice(names, n < 64 ? n : 64, "mechanism", err, nerr) ||
      twice(as->fixes, nfixes, "fix", err, nerr) ||
      twice(as->kinds, (size_t)as->nkinds, "work kind", err, nerr))
    goto fail;
  for (size_t i = 0; i < np; i++)
    for (size_t k = 0; k < i; k++)
      if (!strcmp(as->params[i].path, as->params[k].path)) {
        if (err)
          snprintf(err, nerr, "parameter '%s' is in the mechanism table twice", as->params[i].path);
        goto fail;
      }

  as->model.name = "store";
  as->model.doc = "The Exchange information store: tasks, SMTP local delivery, OWA and MAPI "
                  "clients, MTA and transit flush, mailbox moves, property cache (Exchange "
                  "2003); the Internet Mail Service's queues and POP3/IMAP4/NNTP reads through "
                  "IMAIL (Exchange 5.5). `store.version` selects the version; a key, fault or "
                  "fix marked with one version exists only in it.";
  as->model.params = as->params;
  as->model.faults = as->faults;
  as->model.fixes = as->fixes;
  as->model.parts = as->parts;
  as->model.config_size = as->config_size;
  as->model.config_free = NULL; /* the scenario layer frees the table's fields */
  as->model.create = model_create;
  as->model.finish = model_finish;
  as->model.destroy = inst_destroy;
  as->model.version_param = "store.version";
  as->model.versions = store_versions;
  as->model.param_versions = as->param_versions;
  as->model.fault_versions = as->fault_versions;
  as->model.fix_versions = as->fix_versions;
  return &as->model;
oom:
  if (err) snprintf(err, nerr, "out of host memory");
fail:
  if (as) store_model_free(&as->model);
  return NULL;
}

/* The constants of store.h and store_int.h name the built-in rows' fixes,
 * faults and kinds by number: they must follow the table. */
static void check_constants(const store_assembly_t *as) {
  static const struct {
    int v;
    const char *name;
  } fixes[] = {{STORE_FIX_KB941060, "kb941060"},
               {STORE_FIX_KB924567, "kb924567"},
               {STORE_FIX_KB922768, "kb922768"},
               {STORE_FIX_KB898782, "kb898782"},
               {STORE_FIX_Q279798, "q279798"}},
    faults[] = {{STORE_FAULT_STORE_RESTART, "store_restart"},
                {STORE_FAULT_STORE_SHUTDOWN, "store_shutdown"},
                {STORE_FAULT_MTA_DISABLE, "mta_disable"},
                {STORE_FAULT_MTA_ENABLE, "mta_enable"},
                {STORE_FAULT_PROGRAM_RESTART, "program_restart"}},
    kinds[] = {{STORE_K_MAINT, "maint"},       {STORE_K_FLUSH, "flush"},
               {STORE_K_DELIVERY, "delivery"}, {STORE_K_RPC, "rpc"},
               {STORE_K_OWA, "owa"},           {STORE_K_MOVE, "move"},
               {STORE_K_DOWNLOAD, "download"}, {STORE_K_OPENSTORE, "openstore"},
               {STORE_K_IMAIL, "imail"}};
  for (size_t i = 0; i < sizeof fixes / sizeof fixes[0]; i++)
    if (strcmp(as->fixes[fixes[i].v], fixes[i].name)) goto bad;
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
    if (strcmp(as->faults[faults[i].v].name, faults[i].name)) goto bad;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(as->kinds[kinds[i].v], kinds[i].name)) goto bad;
  return;
bad:
  fprintf(stderr, "storesim: STORE_FIX_*, STORE_FAULT_* or STORE_K_* do not follow the "
                  "mechanism table (sim/store/model.c)\n");
  abort();
}

static sim_model_t *the_model;
static pthread_once_t the_once = PTHREAD_ONCE_INIT;

static void build_once(void) {
  char err[256];
  the_model = store_model_build(NULL, err, sizeof err);
  if (!the_model && !strcmp(err, "out of host memory")) sim_alloc_die(0);
  if (!the_model) {
    fprintf(stderr, "storesim: the store model does not assemble: %s\n", err);
    abort();
  }
  check_constants(the_model->impl);
}

const sim_model_t *store_model(void) {
  pthread_once(&the_once, build_once);
  return the_model;
}
