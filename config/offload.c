/* offload.c: the [[offload]] entries of the config: for each, its keys,
 * its signature (config/sig.c), the policy, split, async and limits it
 * names (their own files read those keys), offload_if, and the checks
 * across entries (a symbol listed twice, one dtask cannot offload).  It
 * owns placing an error inside a signature string at the file's line and
 * column.  config/config.c calls dt__offload_read once [types] and
 * [defaults] are read. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "config/async.h"
#include "config/cond.h"
#include "config/config.h"
#include "config/deny.h"
#include "config/keys.h"
#include "config/limits.h"
#include "config/offload.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"
#include "config/types.h"

/* The keys of an [[offload]] table besides those of config/policy.c and
 * config/split.c (which it also accepts). */
const char *const dt__offload_keys[] = {
    "symbol",          "signature", "version",         "library",
    "required",        "offload_if", "async",          "max_concurrency",
    "concurrency_key", "rate_limit", "cache",          NULL};

/* The raw text being parsed, so that a position inside a string value
 * can be mapped back to the file. */
typedef struct source {
  const char *text;
  size_t len;
} source;

/* Finds the file line and column of byte `off` of string value v, by
 * walking the raw string from its opening quote and decoding as TOML does:
 * an escape is several columns for one byte, a multi-line string drops a
 * newline right after its opening delimiter, and a line-ending backslash
 * drops the whitespace after it.  Falls back to the value's own position
 * if the text does not look as expected. */
static void string_position(const source *src, const dt__toml *v, size_t off,
                            int *line, int *col) {
  size_t i = 0;
  int l = 1, c = 1;
  *line = v->line;
  *col = v->col;
  if (src == NULL || src->text == NULL)
    return;
  while (i < src->len && (l < v->line || (l == v->line && c < v->col))) {
    if (src->text[i] == '\n')
      l++, c = 1;
    else
      c++;
    i++;
  }
  if (i >= src->len || (src->text[i] != '"' && src->text[i] != '\''))
    return;
  char q = src->text[i];
  bool multi = i + 2 < src->len && src->text[i + 1] == q &&
               src->text[i + 2] == q;
  bool basic = q == '"';
  size_t skip = multi ? 3 : 1;
  i += skip;
  c += (int)skip;
  if (multi && i < src->len && src->text[i] == '\r')
    i++;
  if (multi && i < src->len && src->text[i] == '\n')
    i++, l++, c = 1;
  size_t k = 0;
  while (i < src->len && k < off) {
    char ch = src->text[i];
    if (basic && ch == '\\' && i + 1 < src->len) {
      char e = src->text[i + 1];
      if (e == 'u' || e == 'U') {
        size_t digits = e == 'u' ? 4 : 8;
        unsigned long cp;
        char hex[9] = {0};
        for (size_t d = 0; d < digits && i + 2 + d < src->len; d++)
          hex[d] = src->text[i + 2 + d];
        cp = strtoul(hex, NULL, 16);
        k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        i += 2 + digits;
        c += (int)(2 + digits);
      } else if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
        i++;
        c++;
        while (i < src->len && strchr(" \t\r\n", src->text[i]) != NULL) {
          if (src->text[i] == '\n')
            l++, c = 1;
          else
            c++;
          i++;
        }
      } else {
        k++;
        i += 2;
        c += 2;
      }
      continue;
    }
    if (ch == '\n')
      l++, c = 1;
    else
      c++;
    i++;
    k++;
  }
  *line = l;
  *col = c;
}

/* Moves a signature error (col inside the signature) to the file line and
 * column of the offending character. */
static int sig_error(const source *src, const dt__toml *v, int entry,
                     const char *symbol, dt__error *err) {
  if (err != NULL) {
    char msg[sizeof err->msg];
    int col = err->col, fline, fcol;
    string_position(src, v, col > 0 ? (size_t)(col - 1) : 0, &fline, &fcol);
    char guess[64] = "?";
    const char *paren = strchr(v->u.s, '(');
    if (symbol[0] == '\0' && paren != NULL) {
      /* Name the entry by the word before '(' when there is no symbol. */
      const char *end = paren, *start;
      while (end > v->u.s && end[-1] == ' ')
        end--;
      start = end;
      while (start > v->u.s && (isalnum((unsigned char)start[-1]) ||
                                start[-1] == '_'))
        start--;
      if (end > start && (size_t)(end - start) < sizeof guess)
        snprintf(guess, sizeof guess, "%.*s", (int)(end - start), start);
    }
    snprintf(msg, sizeof msg, "%s", err->msg);
    dt__error_set(err, fline, fcol,
                  "[[offload]] #%d (%s), signature column %d: %s", entry,
                  symbol[0] ? symbol : guess, col, msg);
  }
  return -EINVAL;
}

/* offload_if = "NAME OP LITERAL": NAME must be a scalar parameter passed
 * by value (the call's size or mode), so that the test costs one
 * comparison in the caller. */
static int read_offload_if(const dt__toml *v, const char *section,
                           dt__offload *o, dt__error *err) {
  const dt__sig *sig = &o->sig;
  if (dt__toml_want(v, DT__TOML_STRING, section, "offload_if = \"n >= 1000\"",
                      err) != 0)
    return -EINVAL;
  dt__cond c;
  if (dt__cond_parse(v->u.s, &c) != 0)
    return dt__error_set(err, v->line, v->col,
                         "%s: offload_if = \"%s\" is not a comparison of a "
                         "parameter; write for example offload_if = \"n >= "
                         "1000\" (a parameter's name, then == != < <= > >=, "
                         "then a number)",
                         section, v->u.s);
  c.param = dt__sig_find(sig, c.name);
  if (c.param < 0)
    return dt__error_set(err, v->line, v->col,
                         "%s: offload_if names '%s', which is not a "
                         "parameter of %s; name one of its integer or "
                         "floating-point parameters passed by value",
                         section, c.name, sig->name);
  const dt__param *p = &sig->params[c.param];
  bool scalar = !p->is_buffer && (dt__tag_is_integer(p->type.tag) ||
                                  p->type.tag == DT__T_FLOAT ||
                                  p->type.tag == DT__T_DOUBLE);
  if (!scalar)
    return dt__error_set(err, v->line, v->col,
                         "%s: offload_if compares '%s', which is %s; name an "
                         "integer or floating-point parameter passed by "
                         "value (a length such as n)",
                         section, c.name,
                         p->is_buffer ? "a buffer" : "a string");
  const char *misfit = dt__cond_misfit(&c, &p->type);
  if (misfit != NULL)
    return dt__error_set(err, v->line, v->col,
                         "%s: offload_if = \"%s\": '%s' is %s, and %s",
                         section, v->u.s, c.name, p->type.name, misfit);
  c.line = v->line;
  c.col = v->col;
  o->offload_if = c;
  o->has_offload_if = 1;
  return 0;
}

/* One [[offload]] table. */
static int read_offload(const source *src, const dt__toml *t, int entry,
                        dt__config *cfg, dt__offload *o, dt__error *err) {
  const dt__toml *v;
  char section[64];
  snprintf(section, sizeof section, "[[offload]] #%d", entry);
  if (t->kind != DT__TOML_TABLE)
    return dt__error_set(err, t->line, t->col,
                         "offload entries must be tables; write [[offload]] "
                         "followed by symbol = ... and signature = ...");
  if (dt__keys_check(t, dt__offload_keys, dt__policy_keys, dt__split_keys, section,
                  err) != 0)
    return -EINVAL;
  o->line = t->line;
  o->policy = cfg->defaults;
  if (dt__policy_read(t, section, &o->policy, err) != 0)
    return -EINVAL;

  const dt__toml *vsym = dt__toml_get(t, "symbol");
  if (vsym != NULL) {
    if (dt__toml_want(vsym, DT__TOML_STRING, section, "symbol = \"build_report\"",
             err) != 0)
      return -EINVAL;
    if (!dt__keys_identifier(vsym->u.s) || strlen(vsym->u.s) >= sizeof o->symbol)
      return dt__error_set(err, vsym->line, vsym->col,
                           "symbol \"%s\" is not a C identifier; write the "
                           "function's name as the linker sees it (without "
                           "@VERSION: put the version in version = \"...\")",
                           vsym->u.s);
    snprintf(o->symbol, sizeof o->symbol, "%s", vsym->u.s);
  }
  const dt__toml *vsig = dt__toml_get(t, "signature");
  if (vsig == NULL)
    return dt__error_set(err, t->line, t->col,
                         "%s%s%s has no signature; write for example "
                         "signature = \"int %s(in double x[n], size_t n)\"",
                         section, o->symbol[0] ? " " : "", o->symbol,
                         o->symbol[0] ? o->symbol : "f");
  if (dt__toml_want(vsig, DT__TOML_STRING, section,
           "signature = \"int f(in double x[n], size_t n)\"", err) != 0)
    return -EINVAL;
  if (dt__sig_parse(vsig->u.s, cfg->types, cfg->ntypes, &o->sig, err) != 0)
    return sig_error(src, vsig, entry, o->symbol, err);
  if (o->symbol[0] == '\0') {
    snprintf(o->symbol, sizeof o->symbol, "%s", o->sig.name);
  } else if (strcmp(o->symbol, o->sig.name) != 0) {
    return dt__error_set(err, vsig->line, vsig->col + 1,
                         "%s: the signature names '%s' but symbol is '%s'; "
                         "write the same name in both (or drop symbol: it "
                         "defaults to the signature's name)",
                         section, o->sig.name, o->symbol);
  }
  const char *why = dt__symbol_denied(o->symbol);
  if (why != NULL) {
    const dt__toml *where = vsym != NULL ? vsym : vsig;
    return dt__error_set(err, where->line, where->col,
                         "'%s' cannot be offloaded: dtask itself depends on "
                         "it (%s), and interposing it would make the shim "
                         "call itself; remove this [[offload]] entry",
                         o->symbol, why);
  }
  if ((v = dt__toml_get(t, "version")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, section, "version = \"GLIBC_2.2.5\"", err) !=
        0)
      return -EINVAL;
    if (v->u.s[0] == '\0' || strchr(v->u.s, '@') != NULL ||
        strlen(v->u.s) >= sizeof o->version)
      return dt__error_set(err, v->line, v->col,
                           "version \"%s\" must be a version name such as "
                           "\"XCRYPT_2.0\", without '@'",
                           v->u.s);
    snprintf(o->version, sizeof o->version, "%s", v->u.s);
  }
  if ((v = dt__toml_get(t, "library")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, section, "library = \"libreport.so\"",
             err) != 0)
      return -EINVAL;
    if (v->u.s[0] == '\0' || strlen(v->u.s) >= sizeof o->library)
      return dt__error_set(err, v->line, v->col,
                           "library must name a shared object, e.g. "
                           "\"libm.so.6\"");
    snprintf(o->library, sizeof o->library, "%s", v->u.s);
  }
  if ((v = dt__toml_get(t, "required")) != NULL) {
    if (dt__toml_want(v, DT__TOML_BOOL, section, "required = true", err) != 0)
      return -EINVAL;
    o->required = v->u.b;
  }
  char named[200];
  snprintf(named, sizeof named, "%s (%s)", section, o->symbol);
  if (dt__policy_bind(&o->policy, &o->sig, named, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "offload_if")) != NULL &&
      read_offload_if(v, named, o, err) != 0)
    return -EINVAL;
  if (dt__split_read(t, named, &o->sig, &o->split, err) != 0 ||
      dt__async_read(t, named, &o->sig, &o->split, &o->async, err) != 0)
    return -EINVAL;
  o->limits = cfg->defaults_limits;
  if (dt__limits_read_entry(t, named, &o->sig, &o->split, o->async,
                            &o->limits, err) != 0)
    return -EINVAL;
  if (strcmp(cfg->backend, "lmdb") == 0 &&
      dt__limits_fit_map(&o->limits, cfg->map_size, named, err) != 0)
    return -EINVAL;
  for (size_t i = 0; i < cfg->noffloads; i++) {
    const dt__offload *p = &cfg->offloads[i];
    if (strcmp(p->symbol, o->symbol) == 0 &&
        strcmp(p->version, o->version) == 0)
      return dt__error_set(err, t->line, t->col,
                           "'%s'%s%s is listed twice (first at line %d); "
                           "keep one [[offload]] entry per symbol",
                           o->symbol, o->version[0] ? "@" : "", o->version,
                           p->line);
  }
  return 0;
}

/* Reads [[offload]], the array of tables a, into cfg->offloads (cfg's
 * [types] and [defaults] already read; text and len are the file's
 * text, to place an error inside a signature string).  Returns 0,
 * -ENOMEM, or -EINVAL with err located at the problem; cfg->offloads is
 * freed with cfg either way (dt__config_free). */
int dt__offload_read(const char *text, size_t len, const dt__toml *a,
                     dt__config *cfg, dt__error *err) {
  const source src_ = {text, len}, *src = &src_;
  if (a->kind != DT__TOML_ARRAY)
    return dt__error_set(err, a->line, a->col,
                         "'offload' must be an array of tables: write "
                         "[[offload]] (double brackets) once per function");
  cfg->offloads = calloc(a->u.list.n ? a->u.list.n : 1, sizeof *cfg->offloads);
  if (cfg->offloads == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < a->u.list.n; i++) {
    dt__offload *o = &cfg->offloads[cfg->noffloads];
    if (read_offload(src, a->u.list.items[i], (int)i + 1, cfg, o, err) != 0)
      return -EINVAL;
    cfg->noffloads++;
  }
  return 0;
}
