/*
 * storesim command line: the scenario format generated from the parameter
 * tables (JSON Schema for editors, Markdown for docs/scenarios.md).
 *
 * The only hand-written parts are the top-level keys that are not
 * parameters (id, title, source, description, model, faults, variants,
 * expect); every parameter, fault and fix comes from the tables, so the
 * documentation cannot drift from the code. Output is deterministic (table
 * order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"

typedef struct entry {
  const sim_param_t *p;
  const char *owner; /* "scenario" or a model name */
} entry_t;

/* All parameters: the scenario layer's, then each model's (first wins). */
static size_t all_entries(entry_t *out, size_t max) {
  size_t n = 0, nm;
  const sim_model_t *const *models = scn_models(&nm);
  for (const sim_param_t *p = scn_world_params(); p->path && n < max; p++)
    out[n++] = (entry_t){p, "scenario"};
  for (size_t m = 0; m < nm; m++)
    for (const sim_param_t *p = models[m]->params; p && p->path && n < max; p++) {
      int dup = 0;
      for (size_t i = 0; i < n && !dup; i++) dup = !strcmp(out[i].p->path, p->path);
      if (!dup) out[n++] = (entry_t){p, models[m]->name};
    }
  return n;
}

static const char *models_of(const char *path, char *buf, size_t n) {
  size_t nm;
  const sim_model_t *const *models = scn_models(&nm);
  buf[0] = 0;
  for (size_t m = 0; m < nm; m++)
    for (const sim_param_t *p = models[m]->params; p && p->path; p++)
      if (!strcmp(p->path, path)) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", l ? ", " : "", models[m]->name);
      }
  return buf;
}

/* The versions of the models that have `path` as their version parameter
 * (JSON values for an enum: numbers as numbers) into buf; 0 when none. */
static int version_enum(const char *path, char *buf, size_t n) {
  size_t nm;
  const sim_model_t *const *models = scn_models(&nm);
  buf[0] = 0;
  for (size_t m = 0; m < nm; m++) {
    if (!models[m]->version_param || strcmp(models[m]->version_param, path)) continue;
    for (const char *const *v = models[m]->versions; v && *v; v++) {
      char *end;
      size_t l = strlen(buf);
      (void)strtod(*v, &end);
      snprintf(buf + l, n - l, "%s%s%s%s", l ? ", " : "", *end ? "\"" : "", *v, *end ? "\"" : "");
    }
    return 1;
  }
  return 0;
}

/* " Only in store.version 2003." for a parameter of a part some versions of
 * its model lack. */
static void version_note(const char *path, char *buf, size_t n) {
  size_t nm;
  const sim_model_t *const *models = scn_models(&nm);
  buf[0] = 0;
  for (size_t m = 0; m < nm; m++) {
    const sim_model_t *mo = models[m];
    if (!mo->versions || !mo->param_versions) continue;
    uint32_t all = 0;
    for (int k = 0; mo->versions[k] && k < 32; k++) all |= UINT32_C(1) << k;
    for (size_t i = 0; mo->params[i].path; i++) {
      if (strcmp(mo->params[i].path, path) || (mo->param_versions[i] & all) == all) continue;
      snprintf(buf, n, " Only in %s", mo->version_param);
      for (int k = 0; mo->versions[k] && k < 32; k++)
        if (mo->param_versions[i] & (UINT32_C(1) << k)) {
          size_t l = strlen(buf);
          snprintf(buf + l, n - l, " %s", mo->versions[k]);
        }
      size_t l = strlen(buf);
      snprintf(buf + l, n - l, ".");
      return;
    }
  }
}

static const char *ref_of(sim_ptype_t t) {
  switch (t) {
  case SIM_P_DURATION: return "duration";
  case SIM_P_SIZE: return "size";
  case SIM_P_RATE: return "rate";
  case SIM_P_DIST_TIME: return "dist_time";
  case SIM_P_DIST_SIZE: return "dist_size";
  case SIM_P_DIST_NUM: return "dist_num";
  default: return NULL;
  }
}

static void leaf(FILE *f, const entry_t *e, int ind) {
  const sim_param_t *p = e->p;
  char desc[1200], lo[64], hi[64], own[200];
  snprintf(desc, sizeof desc, "%s", p->doc ? p->doc : "");
  char venum[300];
  int is_version = version_enum(p->path, venum, sizeof venum);
  if ((p->min != 0 || p->max != 0) && !is_version) {
    scn_param_format_base(p, p->min, lo, sizeof lo);
    scn_param_format_base(p, p->max, hi, sizeof hi);
    size_t l = strlen(desc);
    if (p->max >= 9e17) snprintf(desc + l, sizeof desc - l, " At least %s.", lo);
    else snprintf(desc + l, sizeof desc - l, " Range %s to %s.", lo, hi);
  }
  if (strcmp(e->owner, "scenario")) {
    char note[200];
    version_note(p->path, note, sizeof note);
    size_t l = strlen(desc);
    snprintf(desc + l, sizeof desc - l, "%s Model: %s.", note, models_of(p->path, own, sizeof own));
  }
  fprintf(f, "{");
  const char *ref = ref_of(p->type);
  if (is_version) fprintf(f, "\"enum\": [%s]", venum);
  else if (ref) fprintf(f, "\"$ref\": \"#/$defs/%s\"", ref);
  else if (p->type == SIM_P_INT) {
    fprintf(f, "\"type\": \"integer\"");
    if (p->min != 0 || p->max != 0) fprintf(f, ", \"minimum\": %.15g", p->min);
    if ((p->min != 0 || p->max != 0) && p->max < 9e17) fprintf(f, ", \"maximum\": %.15g", p->max);
  } else if (p->type == SIM_P_FLOAT) {
    fprintf(f, "\"type\": \"number\"");
    if (p->min != 0 || p->max != 0) fprintf(f, ", \"minimum\": %.15g, \"maximum\": %.15g", p->min, p->max);
  } else if (p->type == SIM_P_BOOL) fprintf(f, "\"type\": \"boolean\"");
  else fprintf(f, "\"type\": \"string\"");
  if (p->def) {
    fprintf(f, ", \"default\": ");
    if (p->type == SIM_P_INT || p->type == SIM_P_FLOAT) {
      char *end;
      double v = strtod(p->def, &end);
      if (*end == 0) fprintf(f, "%.15g", v);
      else cli_json_str(f, p->def);
    } else if (p->type == SIM_P_BOOL) {
      int b = 0;
      char err[100];
      scn_parse_bool(p->def, &b, err, sizeof err);
      fprintf(f, "%s", b ? "true" : "false");
    } else
      cli_json_str(f, p->def);
  }
  fprintf(f, ", \"description\": ");
  cli_json_str(f, desc);
  fprintf(f, "}");
  (void)ind;
}

/* Emits the properties under prefix (with trailing '.', or "" at the top). */
static void object_props(FILE *f, const entry_t *e, size_t n, const char *prefix, int ind, int *first) {
  size_t pl = strlen(prefix);
  for (size_t i = 0; i < n; i++) {
    const char *path = e[i].p->path;
    if (strncmp(path, prefix, pl)) continue;
    const char *rest = path + pl;
    size_t cl = strcspn(rest, ".");
    /* first occurrence of this component only */
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) {
      const char *pj = e[j].p->path;
      seen = !strncmp(pj, prefix, pl) && strlen(pj + pl) >= cl && !strncmp(pj + pl, rest, cl) &&
             (pj[pl + cl] == '.' || pj[pl + cl] == 0);
    }
    if (seen) continue;
    fprintf(f, "%s\n%*s\"%.*s\": ", *first ? "" : ",", ind, "", (int)cl, rest);
    *first = 0;
    if (!rest[cl]) {
      leaf(f, &e[i], ind);
    } else {
      char sub[256];
      snprintf(sub, sizeof sub, "%s%.*s.", prefix, (int)cl, rest);
      fprintf(f, "{\"type\": \"object\", \"additionalProperties\": false, \"properties\": {");
      int f2 = 1;
      object_props(f, e, n, sub, ind + 2, &f2);
      fprintf(f, "\n%*s}}", ind, "");
    }
  }
}

void cli_print_schema(FILE *f) {
  entry_t e[1024];
  size_t n = all_entries(e, 1024), nm;
  const sim_model_t *const *models = scn_models(&nm);
  const char *num = "[0-9][0-9_]*(\\\\.[0-9]*)?([eE][+-]?[0-9]+)?";
  int first = 0;

  fprintf(f, "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n");
  fprintf(f, "  \"title\": \"storesim scenario\",\n");
  fprintf(f, "  \"description\": \"Generated by `storesim schema --json` from the parameter tables; "
             "see docs/scenarios.md.\",\n");
  fprintf(f, "  \"type\": \"object\",\n  \"required\": [\"id\", \"title\", \"duration\", \"variants\"],\n");
  fprintf(f, "  \"additionalProperties\": false,\n");
  fprintf(f, "  \"patternProperties\": {\"^[A-Za-z_][A-Za-z0-9_]*(\\\\.[A-Za-z0-9_]+)+$\": "
             "{\"description\": \"A parameter written with its dotted path, e.g. store.tasks.\"}},\n");
  fprintf(f, "  \"properties\": {\n");
  fprintf(f, "    \"id\": {\"type\": \"string\", \"pattern\": \"^[A-Za-z0-9_.-]+$\", "
             "\"description\": \"Short name of the scenario (letters, digits, _ - .).\"},\n");
  fprintf(f, "    \"title\": {\"type\": \"string\", \"description\": \"One line: what the scenario reproduces.\"},\n");
  fprintf(f, "    \"source\": {\"type\": \"string\", \"description\": \"The article it comes from, e.g. KB924567.\"},\n");
  fprintf(f, "    \"description\": {\"type\": \"string\", \"description\": \"Free text.\"},\n");
  fprintf(f, "    \"model\": {\"enum\": [");
  for (size_t m = 0; m < nm; m++) fprintf(f, "%s\"%s\"", m ? ", " : "", models[m]->name);
  fprintf(f, "], \"default\": \"store\", \"description\": \"The model the scenario drives.\"},\n");
  fprintf(f, "    \"faults\": {\"type\": \"array\", \"description\": \"Timed faults, in any order.\", "
             "\"items\": {\"type\": \"object\", \"additionalProperties\": false, \"required\": [\"at\", \"action\"], "
             "\"properties\": {\"at\": {\"$ref\": \"#/$defs/duration\"}, \"timeout\": {\"$ref\": \"#/$defs/duration\"}, "
             "\"action\": {\"enum\": [");
  int k = 0;
  for (size_t m = 0; m < nm; m++)
    for (const sim_fault_kind_t *fk = models[m]->faults; fk && fk->name; fk++)
      fprintf(f, "%s\"%s\"", k++ ? ", " : "", fk->name);
  fprintf(f, "]}}}},\n");
  fprintf(f, "    \"variants\": {\"type\": \"object\", \"required\": [\"without_fix\", \"with_fix\"], "
             "\"description\": \"Variant name -> its fixes and parameter overrides.\", "
             "\"additionalProperties\": {\"$ref\": \"#/$defs/variant\"}},\n");
  fprintf(f, "    \"expect\": {\"type\": \"object\", \"description\": \"Variant name -> "
             "expressions that must hold "
             "after its run.\", \"additionalProperties\": {\"oneOf\": [{\"type\": \"string\"}, "
             "{\"type\": \"array\", \"items\": {\"anyOf\": [{\"type\": \"string\"}, "
             "{\"$ref\": \"#/$defs/not_live\"}]}}]}}");
  object_props(f, e, n, "", 4, &first);
  fprintf(f, "\n  },\n  \"$defs\": {\n");
  fprintf(f,
          "    \"not_live\": {\"type\": \"object\", \"required\": [\"expect\", \"not_live\"], "
          "\"additionalProperties\": false, \"description\": \"An expectation that cannot hold on "
          "the threads backend (--backend threads): measured there but not judged.\", "
          "\"properties\": {\"expect\": {\"type\": \"string\", \"description\": \"The "
          "expression.\"}, \"not_live\": {\"type\": \"string\", \"description\": \"Why it "
          "cannot hold on a live run, measured.\"}}},\n");
  fprintf(f, "    \"duration\": {\"anyOf\": [{\"const\": 0}, {\"type\": \"string\", \"pattern\": "
             "\"^\\\\s*(0|(%s(ns|us|ms|s|m|min|h|d))+)\\\\s*$\"}], "
             "\"description\": \"A duration: 150m, 250ms, 2d, 1h30m (units ns us ms s m h d).\"},\n", num);
  fprintf(f, "    \"size\": {\"anyOf\": [{\"const\": 0}, {\"type\": \"string\", \"pattern\": "
             "\"^\\\\s*(0|%s\\\\s*(B|KiB|MiB|GiB|TiB))\\\\s*$\"}], "
             "\"description\": \"A size: 64KiB, 2GiB (units B KiB MiB GiB TiB).\"},\n", num);
  fprintf(f, "    \"rate\": {\"anyOf\": [{\"const\": 0}, {\"type\": \"string\", \"pattern\": "
             "\"^\\\\s*(0|%s\\\\s*/\\\\s*(s|sec|m|min|h|d))\\\\s*$\"}], "
             "\"description\": \"A rate: 20/s, 3/m, 1/h.\"},\n", num);
  const char *dists[3][2] = {{"dist_time", "durations"}, {"dist_size", "sizes"}, {"dist_num", "numbers"}};
  for (int i = 0; i < 3; i++)
    fprintf(f, "    \"%s\": {\"anyOf\": [{\"type\": [\"string\", \"number\"], \"pattern\": "
               "\"^\\\\s*((const|exp|uniform|lognormal|empirical)\\\\(.*\\\\)|[0-9.].*)\\\\s*$\"}, "
               "{\"type\": \"array\", \"minItems\": 1}], \"description\": \"A distribution of %s: "
               "const(x), exp(mean), uniform(a, b), lognormal(median, sigma), empirical(v1, v2, ...), "
               "a bare value (= const), or a list (= empirical).\"},\n", dists[i][0], dists[i][1]);
  fprintf(f, "    \"variant\": {\"type\": [\"object\", \"null\"], \"additionalProperties\": false, \"properties\": {"
             "\"fixes\": {\"type\": \"array\", \"items\": {\"enum\": [");
  k = 0;
  for (size_t m = 0; m < nm; m++)
    for (const char *const *fx = models[m]->fixes; fx && *fx; fx++)
      fprintf(f, "%s\"%s\"", k++ ? ", " : "", *fx);
  fprintf(f, "]}}, \"set\": {\"type\": \"object\", \"description\": \"Parameter overrides, nested or dotted "
             "(store.tasks: 64).\"}, \"description\": {\"type\": \"string\"}}}\n");
  fprintf(f, "  }\n}\n");
}

void cli_print_markdown(FILE *f) {
  size_t nm;
  const sim_model_t *const *models = scn_models(&nm);
  fprintf(f, "<!-- generated by `storesim schema --markdown`; do not edit by hand -->\n\n");
  fprintf(f, "### Scenario keys (every model)\n\n");
  scn_params_md_table(f, scn_world_params());
  scn_params_markdown(f, models, nm);
}
