/*
 * storesim store model: the property cache (KB941060).
 *
 * A fixed-capacity open-addressing hash table of header data strings, living
 * in the store process's jemalloc arena: the slot array and every key are
 * real allocations there, so a store restart (arena reset) really empties it.
 * It holds at most `capacity` entries and nothing evicts them: once full,
 * looking up an absent key fails, and the MIME conversion of the message that
 * needed it fails (store__cache_convert returns STORE_ECONVERT).
 *
 * Invariants: 0 <= n <= capacity; nslots is a power of two >= 2 * capacity,
 * so probing always ends on an empty slot; a key is stored once.
 *
 * The component (one per store) owns the live table behind its own mutex
 * "store.propcache"; the down hook forgets the table (its memory goes with
 * the arena reset), the up hook builds an empty one.
 *
 * Header popularity: valid header names are indexes into a vocabulary of
 * `smtp_vocabulary` names with Zipf(s) popularity, sampled with Walker's
 * alias method (two draws per name).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "store_int.h"

typedef struct slot {
  uint64_t hash;
  char *key; /* NULL: empty */
} slot_t;

struct store_propcache {
  sim_proc_t *proc;
  slot_t *slots;
  uint64_t nslots; /* power of two */
  int64_t n, capacity;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h ? h : 1;
}

store_propcache_t *store_propcache_create(sim_proc_t *p, int64_t capacity) {
  store_propcache_t *c = sim_proc_alloc(p, sizeof *c);
  if (!c) return NULL;
  uint64_t ns = 2;
  while (ns < (uint64_t)capacity * 2) ns <<= 1;
  c->slots = sim_proc_alloc(p, ns * sizeof *c->slots);
  if (!c->slots) {
    sim_proc_free(p, c);
    return NULL;
  }
  memset(c->slots, 0, ns * sizeof *c->slots);
  c->proc = p;
  c->nslots = ns;
  c->n = 0;
  c->capacity = capacity;
  return c;
}

int store_propcache_get(store_propcache_t *c, const char *key) {
  uint64_t h = hash_str(key);
  uint64_t mask = c->nslots - 1;
  uint64_t i = h & mask;
  while (c->slots[i].key) {
    if (c->slots[i].hash == h && strcmp(c->slots[i].key, key) == 0) return 1;
    i = (i + 1) & mask;
  }
  if (c->n >= c->capacity) return STORE_ECONVERT;
  size_t len = strlen(key) + 1;
  char *k = sim_proc_alloc(c->proc, len);
  if (!k) return STORE_ECONVERT;
  memcpy(k, key, len);
  c->slots[i].hash = h;
  c->slots[i].key = k;
  c->n++;
  return 0;
}

int64_t store_propcache_entries(const store_propcache_t *c) { return c->n; }
void store_propcache_free(store_propcache_t *c) {
  if (!c) return;
  for (uint64_t i = 0; i < c->nslots; i++)
    if (c->slots[i].key) sim_proc_free(c->proc, c->slots[i].key);
  sim_proc_free(c->proc, c->slots);
  sim_proc_free(c->proc, c);
}

/* ---- the component --------------------------------------------------------------- */

struct store_cache {
  store_t *s;
  sim_mutex_t *lock;
  store_propcache_t *pc; /* NULL while the store is down */
  double *alias_p;       /* Walker alias table over the vocabulary (host) */
  int64_t *alias_k;
  int64_t nvocab;
  int full;              /* the cache is full now */
  sim_metric_t *m_entries, *m_capacity, *m_failures, *m_hits, *m_inserts;
  sim_metric_t *m_full_at, *m_last_full_at, *m_conv_fail;
};

static void cache_build(store_t *s, struct store_cache *c) {
  c->pc = store_propcache_create(s->proc, s->cfg->cache_capacity);
  c->full = 0;
  sim_gauge_set(c->m_entries, 0);
}

static void cache_down(store_t *s, void *self) {
  (void)s;
  struct store_cache *c = self;
  sim_mutex_lock(c->lock);
  c->pc = NULL; /* its memory goes with the arena reset */
  c->full = 0;
  sim_gauge_set(c->m_entries, 0);
  sim_mutex_unlock(c->lock);
}

static void cache_up(store_t *s, void *self) {
  struct store_cache *c = self;
  sim_mutex_lock(c->lock);
  cache_build(s, c);
  sim_mutex_unlock(c->lock);
}

static void cache_report(store_t *s, void *self, char *buf, size_t n) {
  (void)s;
  struct store_cache *c = self;
  if (sim_mutex_trylock(c->lock) != 0) return;
  if (c->pc)
    store__appendf(buf, n, "property cache: %lld of %lld entries\n",
                   (long long)c->pc->n, (long long)c->pc->capacity);
  sim_mutex_unlock(c->lock);
}

static void cache_destroy(void *self) {
  struct store_cache *c = self;
  free(c->alias_p);
  free(c->alias_k);
  free(c);
}

static const store_component_t cache_component = {
    .name = "propcache",
    .down = cache_down,
    .up = cache_up,
    .report = cache_report,
    .destroy = cache_destroy,
};

static int cache_init(store_t *s, char *err, size_t nerr) {
  struct store_cache *c = sim_calloc(1, sizeof *c);
  if (!c) goto oom;
  c->s = s;
  c->nvocab = s->cfg->smtp_vocabulary;
  c->alias_p = sim_malloc((size_t)c->nvocab * sizeof *c->alias_p);
  c->alias_k = sim_malloc((size_t)c->nvocab * sizeof *c->alias_k);
  int64_t *small = sim_malloc((size_t)c->nvocab * sizeof *small);
  int64_t *large = sim_malloc((size_t)c->nvocab * sizeof *large);
  if (!c->alias_p || !c->alias_k || !small || !large) {
    free(small);
    free(large);
    goto oom;
  }
  /* Walker's alias method (Vose's variant): O(1) per draw. */
  double sum = 0;
  for (int64_t i = 0; i < c->nvocab; i++) {
    c->alias_p[i] = 1.0 / pow((double)(i + 1), s->cfg->smtp_zipf);
    sum += c->alias_p[i];
  }
  int64_t ns = 0, nl = 0;
  for (int64_t i = 0; i < c->nvocab; i++) {
    c->alias_p[i] = c->alias_p[i] / sum * (double)c->nvocab;
    c->alias_k[i] = i;
    if (c->alias_p[i] < 1.0)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    int64_t l = small[--ns], g = large[nl - 1];
    c->alias_k[l] = g;
    c->alias_p[g] -= 1.0 - c->alias_p[l];
    if (c->alias_p[g] < 1.0) {
      nl--;
      small[ns++] = g;
    }
  }
  while (nl > 0) c->alias_p[large[--nl]] = 1.0;
  while (ns > 0) c->alias_p[small[--ns]] = 1.0;
  free(small);
  free(large);
  c->lock = sim_mutex_create(s->w, "store.propcache");
  c->m_entries = sim_metric(s->w, "cache.entries", SIM_M_GAUGE, "");
  c->m_capacity = sim_metric(s->w, "cache.capacity", SIM_M_GAUGE, "");
  c->m_inserts = sim_metric(s->w, "cache.inserts", SIM_M_COUNTER, "");
  c->m_hits = sim_metric(s->w, "cache.hits", SIM_M_COUNTER, "");
  c->m_failures = sim_metric(s->w, "cache.insert_failures", SIM_M_COUNTER, "");
  c->m_full_at = sim_metric(s->w, "cache.full_at", SIM_M_GAUGE, "s");
  c->m_last_full_at = sim_metric(s->w, "cache.last_full_at", SIM_M_GAUGE, "s");
  c->m_conv_fail =
      sim_metric(s->w, "conversion.failures", SIM_M_COUNTER, "");
  sim_gauge_set(c->m_capacity, (double)s->cfg->cache_capacity);
  sim_gauge_set(c->m_full_at, -1);
  sim_gauge_set(c->m_last_full_at, -1);
  cache_build(s, c);
  if (!c->pc) {
    if (err) snprintf(err, nerr, "store arena refused the property cache");
    cache_destroy(c);
    return SIM_EMEMLIMIT;
  }
  s->cache = c;
  store_component_add(s, &cache_component, c);
  return 0;
oom:
  if (c) cache_destroy(c);
  if (err) snprintf(err, nerr, "out of host memory");
  return SIM_ENOMEM;
}

int store__cache_convert(store_t *s, const char *const *keys, int nkeys) {
  struct store_cache *c = s->cache;
  int rc = 0;
  sim_mutex_lock(c->lock);
  if (!c->pc) {
    sim_mutex_unlock(c->lock);
    return STORE_EDOWN;
  }
  int64_t hits = 0, inserts = 0;
  for (int i = 0; i < nkeys; i++) {
    int r = store_propcache_get(c->pc, keys[i]);
    if (r == 1) {
      hits++;
    } else if (r == 0) {
      inserts++;
    } else {
      rc = STORE_ECONVERT;
      break;
    }
  }
  sim_counter_add(c->m_hits, hits);
  sim_counter_add(c->m_inserts, inserts);
  if (inserts) sim_gauge_set(c->m_entries, (double)c->pc->n);
  if (c->pc->n == c->pc->capacity && !c->full) {
    c->full = 1;
    sim_trace_emit(s->w, "cache.full", "store.propcache", c->pc->n);
    if (sim_metric_value(c->m_full_at) < 0)
      sim_gauge_set(c->m_full_at, (double)sim_now(s->w) / SIM_SEC);
    sim_gauge_set(c->m_last_full_at, (double)sim_now(s->w) / SIM_SEC);
  }
  if (rc) {
    sim_counter_add(c->m_failures, 1);
    sim_counter_add(c->m_conv_fail, 1);
  }
  sim_mutex_unlock(c->lock);
  return rc;
}

int store__cache_full(store_t *s) {
  struct store_cache *c = s->cache;
  sim_mutex_lock(c->lock);
  int full = c->full;
  sim_mutex_unlock(c->lock);
  return full;
}

int64_t store__cache_zipf(store_t *s, sim_rng_t *r) {
  struct store_cache *c = s->cache;
  int64_t i = (int64_t)sim_rng_below(r, (uint64_t)c->nvocab);
  return sim_rng_uniform(r) < c->alias_p[i] ? i : c->alias_k[i];
}

/* ---- the descriptor ---------------------------------------------------------- */

static const sim_param_t cache_params[] = {
    {"store.cache_capacity", SIM_P_INT, STORE_CFG(cache_capacity), 1, 16777216, "65536",
     "Entries of the store's property cache; fixed, no eviction (KB941060)."},
    {"workload.smtp.vocabulary", SIM_P_INT, STORE_CFG(smtp_vocabulary), 1, 16777216, "4000",
     "Distinct valid header names."},
    {"workload.smtp.zipf", SIM_P_FLOAT, STORE_CFG(smtp_zipf), 0, 10, "1.0",
     "Zipf exponent of header name popularity."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t cache_metrics[] = {
    {"cache.entries", SIM_M_GAUGE, "", "entries in the property cache (0 after a restart)"},
    {"cache.capacity", SIM_M_GAUGE, "", "capacity (`store.cache_capacity`, 65,536)"},
    {"cache.inserts", SIM_M_COUNTER, "", "entries added"},
    {"cache.hits", SIM_M_COUNTER, "", "header lookups that found their entry"},
    {"cache.insert_failures", SIM_M_COUNTER, "",
     "conversions that needed a new entry when the cache was full"},
    {"cache.full_at", SIM_M_GAUGE, "s", "virtual time the cache first became full; -1 if never"},
    {"cache.last_full_at", SIM_M_GAUGE, "s",
     "virtual time the cache last became full (again after a restart emptied it); -1 if never"},
    {"conversion.failures", SIM_M_COUNTER, "",
     "failed MIME conversions (attempts, not distinct messages)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t cache_plots[] = {{"property cache entries", {"cache.entries"}},
                                              {NULL, {NULL}}};

const store_mech_t store_cache_mech = {
    .part = {.name = "cache",
             .title = "KB941060: the property cache fills with bad header data",
             .file = "sim/store/cache.c",
             .fix = "kb941060",
             .fix_doc = "Incorrect header data is not cached: entries stay bounded by the distinct "
                        "valid names, no NDR.",
             .metrics = cache_metrics,
             .plots = cache_plots,
             .never = (const char *const[]){"cache.full_at", NULL}},
    .params = cache_params,
    .init = cache_init,
    /* KB941060: the cache SMTP local delivery's MIME conversion fills (Exchange 2003) */
    .versions = STORE_VERSION_BIT(STORE_VERSION_2003),
};
