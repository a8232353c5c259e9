/* config.c: dtask's configuration, from a TOML tree to a dt__config.
 *
 * The TOML parser (toml.c) knows nothing about dtask; this file owns the
 * meaning of every section and key, their defaults, and the messages a
 * person sees when a value is wrong.  It is strict: an unknown key is an
 * error with a "did you mean" hint, a value of the wrong kind is an error
 * that shows what to write, and every message carries the line and column
 * of the offending key or value.  The example config/dtask.example.toml
 * documents the same keys, with the same defaults. */
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "common/error.h"
#include "config/cond.h"
#include "config/async.h"
#include "config/config.h"
#include "config/file.h"
#include "config/deny.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"
#include "config/types.h"
#include "config/units.h"
#include "config/url.h"

/* Defaults, also written in config/dtask.example.toml and the README. */
#define DEFAULT_BACKEND "lmdb"
#define DEFAULT_QUEUE_PATH "/dev/shm/dtask-$USER/default"
#define DEFAULT_MAP_SIZE (1ull << 30)
#define MIN_CALL_SIZE (4ull << 10)
#define MAX_CALL_SIZE_DEFAULT (2ull << 30)
#define DEFAULT_WORKERS 4
#define DEFAULT_AUTOSTART 1
#define DEFAULT_IDLE_EXIT_NS (30ull * 1000000000ull)

static const char *const top_keys[] = {"queue",   "runner", "types",
                                       "offload", "shim",   "defaults",
                                       NULL};
static const char *const queue_keys[] = {"backend",       "path",
                                         "map_size",      "max_call_size",
                                         "arena",         "url",
                                         "password_file", "name",
                                         NULL};
/* The keys of [queue] that only the "redis" backend reads. */
static const char *const redis_keys[] = {"url", "password_file", "name", NULL};
static const char *const runner_keys[] = {"workers", "autostart", "idle_exit",
                                          NULL};
static const char *const shim_keys[] = {"strict", "progress", NULL};
static const char *const type_keys[] = {"size", "align", NULL};
static const char *const offload_keys[] = {
    "symbol",          "signature", "version",         "library",
    "required",        "offload_if", "async",          "max_concurrency",
    "concurrency_key", "rate_limit", "cache",          NULL};

/* Rejects any member of table t not listed in allowed or in extra (which
 * may be NULL), naming section ("[queue]") and the closest allowed key
 * when there is one. */
static int check_keys2(const dt__toml *t, const char *const *allowed,
                       const char *const *extra, const char *const *extra2,
                       const char *section, dt__error *err) {
  const char *all[48];
  size_t n = 0;
  for (const char *const *a = allowed; *a != NULL && n < 47; a++)
    all[n++] = *a;
  for (const char *const *a = extra; a != NULL && *a != NULL && n < 47; a++)
    all[n++] = *a;
  for (const char *const *a = extra2; a != NULL && *a != NULL && n < 47; a++)
    all[n++] = *a;
  all[n] = NULL;
  for (size_t i = 0; i < t->u.list.n; i++) {
    const dt__toml *m = t->u.list.items[i];
    bool ok = false;
    for (const char *const *a = all; *a != NULL; a++)
      if (strcmp(*a, m->key) == 0)
        ok = true;
    if (ok)
      continue;
    const char *hint = dt__did_you_mean(m->key, all);
    char list[512] = "";
    size_t used = 0;
    for (const char *const *a = all; *a != NULL && used < sizeof list; a++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                               used ? ", " : "", *a);
    if (hint != NULL)
      return dt__error_set(err, m->key_line, m->key_col,
                           "unknown key '%s' in %s; did you mean '%s'?",
                           m->key, section, hint);
    return dt__error_set(err, m->key_line, m->key_col,
                         "unknown key '%s' in %s; the keys are: %s", m->key,
                         section, list);
  }
  return 0;
}

/* check_keys2 with one list of allowed keys. */
static int check_keys(const dt__toml *t, const char *const *allowed,
                      const char *section, dt__error *err) {
  return check_keys2(t, allowed, NULL, NULL, section, err);
}

/* Reads an integer member within [lo, hi]. */
static int get_int(const dt__toml *v, const char *section, long long lo,
                   long long hi, const char *example, long long *out,
                   dt__error *err) {
  if (dt__toml_want(v, DT__TOML_INT, section, example, err) != 0)
    return -EINVAL;
  if (v->u.i < lo || v->u.i > hi)
    return dt__error_set(err, v->line, v->col,
                         "'%s' in %s is %lld; it must be between %lld and "
                         "%lld",
                         v->key, section, v->u.i, lo, hi);
  *out = v->u.i;
  return 0;
}

/* True if s is a C identifier: a letter or '_', then letters, digits or
 * '_'. */
static bool is_identifier(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

/* Reads a size key of [queue] (v, named key; example is a value to
 * suggest) into *out: a plain number of bytes, or a string with a unit.
 * Returns 0, or -EINVAL with err located at v. */
static int read_size(const dt__toml *v, const char *key, const char *example,
                     uint64_t *out, dt__error *err) {
  char hint[64];
  snprintf(hint, sizeof hint, "%s = %s", key, example);
  if (v->kind == DT__TOML_INT) {
    if (v->u.i < 0)
      return dt__error_set(err, v->line, v->col,
                           "%s must be positive; write for example %s", key,
                           hint);
    *out = (uint64_t)v->u.i;
    return 0;
  }
  if (dt__toml_want(v, DT__TOML_STRING, "[queue]", hint, err) != 0)
    return -EINVAL;
  if (dt__toml_at(v, "[queue]", dt__parse_size(v->u.s, out, err), err) != 0)
    return -EINVAL;
  return 0;
}

/* The default [queue] max_call_size for a map of map_size bytes: a
 * quarter of it (what one task may take), kept between 4 KiB and 2 GiB.
 * Returns it in bytes. */
uint64_t dt__config_call_default(uint64_t map_size) {
  uint64_t v = map_size / 4;
  if (v < MIN_CALL_SIZE)
    v = MIN_CALL_SIZE;
  if (v > MAX_CALL_SIZE_DEFAULT)
    v = MAX_CALL_SIZE_DEFAULT;
  return v;
}

/* The keys of [queue] for backend = "redis": url, password_file, name
 * (t is the [queue] table).  With another backend they are errors.  The
 * password file is not read here: the backend reads it when it
 * connects. */
static int read_redis(const dt__toml *t, dt__config *cfg, dt__error *err) {
  const dt__toml *v, *vb = dt__toml_get(t, "backend");
  if (vb == NULL)
    vb = t; /* not reached: "redis" is only ever written */
  if (strcmp(cfg->backend, "redis") != 0) {
    for (const char *const *k = redis_keys; *k != NULL; k++)
      if ((v = dt__toml_get(t, *k)) != NULL)
        return dt__error_set(err, v->key_line, v->key_col,
                             "'%s' in [queue] applies only with backend = "
                             "\"redis\" (the backend is \"%s\"); add "
                             "backend = \"redis\" or remove %s",
                             *k, cfg->backend, *k);
    return 0;
  }
  if ((v = dt__toml_get(t, "url")) == NULL)
    return dt__error_set(err, vb->line, vb->col,
                         "backend = \"redis\" needs the server's address: "
                         "add url = \"redis://127.0.0.1:6379/0\" or url = "
                         "\"unix:///run/redis/redis.sock\" to [queue]");
  if (dt__toml_want(v, DT__TOML_STRING, "[queue]",
                    "url = \"redis://127.0.0.1:6379/0\"", err) != 0)
    return -EINVAL;
  if (strlen(v->u.s) >= sizeof cfg->url)
    return dt__error_set(err, v->line, v->col,
                         "url is longer than %zu bytes; write the server's "
                         "address alone, e.g. url = "
                         "\"redis://127.0.0.1:6379/0\"",
                         sizeof cfg->url - 1);
  if (dt__toml_at(v, "[queue]", dt__url_parse(v->u.s, &cfg->redis, err),
                  err) != 0)
    return -EINVAL;
  snprintf(cfg->url, sizeof cfg->url, "%s", v->u.s);
  const dt__toml *vp = dt__toml_get(t, "password_file");
  if (cfg->redis.pass[0] != '\0') {
    struct stat st;
    if (vp != NULL)
      return dt__error_set(err, vp->key_line, vp->key_col,
                           "url carries a password and password_file is "
                           "given too; keep one: remove the password from "
                           "url (redis://HOST:PORT/DB) or remove "
                           "password_file");
    bool file = strcmp(cfg->path, "<embedded>") != 0;
    if (file && stat(cfg->path, &st) != 0)
      return dt__error_set(err, v->line, v->col,
                           "url carries a password, and the config file "
                           "%s cannot be checked for who may read it (%s); "
                           "put the password in a file of its own and write "
                           "password_file = \"~/.config/dtask/redis.pass\" "
                           "instead",
                           cfg->path, strerror(errno));
    if (file && (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
      return dt__error_set(err, v->line, v->col,
                           "url carries a password, and the config file "
                           "%s is readable by group or others (mode %04o): "
                           "run chmod 600 %s, or put the password in a file "
                           "of its own and write password_file = "
                           "\"~/.config/dtask/redis.pass\" instead",
                           cfg->path, (unsigned)(st.st_mode & 07777),
                           cfg->path);
  }
  if ((v = vp) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, "[queue]",
                      "password_file = \"~/.config/dtask/redis.pass\"",
                      err) != 0 ||
        dt__toml_at(v, "[queue]",
                    dt__expand_path(v->u.s, cfg->password_file,
                                    sizeof cfg->password_file, err),
                    err) != 0)
      return -EINVAL;
    if (cfg->password_file[0] != '/')
      return dt__error_set(err, v->line, v->col,
                           "password_file \"%s\" must be absolute, so that "
                           "the program and its runners read the same file; "
                           "write for example password_file = "
                           "\"~/.config/dtask/redis.pass\"",
                           cfg->password_file);
  }
  if ((v = dt__toml_get(t, "name")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, "[queue]", "name = \"reports\"",
                      err) != 0)
      return -EINVAL;
    size_t n = strlen(v->u.s);
    bool ok = n >= 1 && n <= 64;
    for (const char *c = v->u.s; ok && *c; c++) /* not isalnum: locales */
      ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
           (*c >= '0' && *c <= '9') || strchr("._-", *c) != NULL;
    if (!ok)
      return dt__error_set(err, v->line, v->col,
                           "queue name \"%s\" must be 1 to 64 letters, "
                           "digits, '.', '_' or '-' (it prefixes the Redis "
                           "keys); write for example name = \"reports\", or "
                           "remove name to derive it from path",
                           v->u.s);
    snprintf(cfg->queue_name, sizeof cfg->queue_name, "%s", v->u.s);
  }
  return 0;
}

/* [queue]: backend, path, map_size, max_call_size, arena, and the keys
 * of the "redis" backend (read_redis). */
static int read_queue(const dt__toml *t, dt__config *cfg, dt__error *err) {
  const dt__toml *v;
  if (check_keys(t, queue_keys, "[queue]", err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "backend")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, "[queue]", "backend = \"lmdb\"", err) != 0)
      return -EINVAL;
    if (strcmp(v->u.s, "lmdb") != 0 && strcmp(v->u.s, "redis") != 0)
      return dt__error_set(err, v->line, v->col,
                           "queue backend \"%s\" is not built; dtask has "
                           "\"lmdb\" (an embedded queue in shared memory, "
                           "one machine) and \"redis\" (Redis Streams, with "
                           "url): write backend = \"lmdb\" or backend = "
                           "\"redis\"",
                           v->u.s);
    snprintf(cfg->backend, sizeof cfg->backend, "%s", v->u.s);
  }
  if ((v = dt__toml_get(t, "path")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, "[queue]",
             "path = \"/dev/shm/dtask-$USER/default\"", err) != 0)
      return -EINVAL;
    if (dt__toml_at(v, "[queue]",
           dt__expand_path(v->u.s, cfg->queue_path, sizeof cfg->queue_path,
                           err),
           err) != 0)
      return -EINVAL;
    if (cfg->queue_path[0] != '/')
      return dt__error_set(err, v->line, v->col,
                           "queue path \"%s\" must be absolute, so that the "
                           "program and its runners find the same queue "
                           "whatever their working directory; write for "
                           "example \"/dev/shm/dtask-$USER/%s\"",
                           cfg->queue_path, cfg->queue_path);
  }
  if ((v = dt__toml_get(t, "map_size")) != NULL) {
    if (read_size(v, "map_size", "\"1GiB\"", &cfg->map_size, err) != 0)
      return -EINVAL;
    if (cfg->map_size < (1ull << 20))
      return dt__error_set(err, v->line, v->col,
                           "map_size is %llu bytes; the queue needs at least "
                           "1MiB: write for example map_size = \"64MiB\"",
                           (unsigned long long)cfg->map_size);
  }
  cfg->max_call_size = dt__config_call_default(cfg->map_size);
  if ((v = dt__toml_get(t, "max_call_size")) != NULL) {
    if (read_size(v, "max_call_size", "\"16MiB\"", &cfg->max_call_size,
                  err) != 0)
      return -EINVAL;
    if (cfg->max_call_size < MIN_CALL_SIZE)
      return dt__error_set(err, v->line, v->col,
                           "max_call_size is %llu bytes; a call needs at "
                           "least 4KiB: write for example max_call_size = "
                           "\"16MiB\"",
                           (unsigned long long)cfg->max_call_size);
    if (cfg->max_call_size > cfg->map_size / 4)
      return dt__error_set(err, v->line, v->col,
                           "max_call_size is %llu bytes, more than a quarter "
                           "of map_size (%llu bytes), the most one call's "
                           "task or result may take in the queue: raise "
                           "map_size or lower max_call_size",
                           (unsigned long long)cfg->max_call_size,
                           (unsigned long long)(cfg->map_size / 4));
  }
  if ((v = dt__toml_get(t, "arena")) != NULL) {
    if (dt__toml_want(v, DT__TOML_BOOL, "[queue]", "arena = false", err) != 0)
      return -EINVAL;
    if (strcmp(cfg->backend, "lmdb") != 0)
      return dt__error_set(err, v->key_line, v->key_col,
                           "'arena' in [queue] applies only with backend = "
                           "\"lmdb\" (a Redis queue's workers may run on "
                           "other hosts, so its calls carry their buffers "
                           "in their records); remove arena");
    cfg->arena = v->u.b;
  }
  return read_redis(t, cfg, err);
}

/* [runner]: workers, autostart, idle_exit. */
static int read_runner(const dt__toml *t, dt__config *cfg, dt__error *err) {
  const dt__toml *v;
  long long n;
  if (check_keys(t, runner_keys, "[runner]", err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "workers")) != NULL) {
    if (get_int(v, "[runner]", 1, 1024, "workers = 4", &n, err) != 0)
      return -EINVAL;
    cfg->workers = (int)n;
  }
  if ((v = dt__toml_get(t, "autostart")) != NULL) {
    if (dt__toml_want(v, DT__TOML_BOOL, "[runner]", "autostart = true", err) != 0)
      return -EINVAL;
    cfg->autostart = v->u.b;
  }
  if ((v = dt__toml_get(t, "idle_exit")) != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, "[runner]", "idle_exit = \"30s\"", err) != 0)
      return -EINVAL;
    if (dt__toml_at(v, "[runner]", dt__parse_duration(v->u.s, &cfg->idle_exit_ns, err),
           err) != 0)
      return -EINVAL;
  }
  return 0;
}

/* [shim]: strict, progress. */
static int read_shim(const dt__toml *t, dt__config *cfg, dt__error *err) {
  const dt__toml *v;
  if (check_keys(t, shim_keys, "[shim]", err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "strict")) != NULL) {
    if (dt__toml_want(v, DT__TOML_BOOL, "[shim]", "strict = true", err) != 0)
      return -EINVAL;
    cfg->strict = v->u.b;
  }
  if ((v = dt__toml_get(t, "progress")) != NULL) {
    if (dt__toml_want(v, DT__TOML_BOOL, "[shim]", "progress = true", err) !=
        0)
      return -EINVAL;
    cfg->progress = v->u.b;
  }
  return 0;
}

/* [defaults]: the failure policy every [[offload]] entry starts from. */
static int read_defaults(const dt__toml *t, dt__config *cfg, dt__error *err) {
  if (check_keys2(t, dt__policy_keys, dt__limits_keys, NULL, "[defaults]",
                  err) != 0)
    return -EINVAL;
  if (dt__limits_read(t, "[defaults]", &cfg->defaults_limits, err) != 0)
    return -EINVAL;
  return dt__policy_read(t, "[defaults]", &cfg->defaults, err);
}

/* [types]: name = { size = N, align = N }. */
static int read_types(const dt__toml *t, dt__config *cfg, dt__error *err) {
  cfg->types = calloc(t->u.list.n ? t->u.list.n : 1, sizeof *cfg->types);
  if (cfg->types == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < t->u.list.n; i++) {
    const dt__toml *m = t->u.list.items[i];
    dt__utype *u = &cfg->types[cfg->ntypes];
    dt__type scalar;
    long long size = 0, align = 0;
    char section[96];

    snprintf(section, sizeof section, "[types] %s", m->key);
    if (!is_identifier(m->key) || strlen(m->key) >= sizeof u->name)
      return dt__error_set(err, m->key_line, m->key_col,
                           "type name '%s' must be an identifier of at most "
                           "63 letters, digits and '_'",
                           m->key);
    static const char *const reserved[] = {"struct", "const", "enum",
                                           "volatile", "unsigned", "signed",
                                           "union", "in", "out", "inout",
                                           NULL};
    for (const char *const *r = reserved; *r != NULL; r++)
      if (strcmp(*r, m->key) == 0)
        return dt__error_set(err, m->key_line, m->key_col,
                             "'%s' is a reserved word of the signature "
                             "language and cannot name a type; use the "
                             "C type's name without it (e.g. point for "
                             "struct point)",
                             m->key);
    if (dt__type_lookup(m->key, NULL, 0, &scalar) == 0)
      return dt__error_set(err, m->key_line, m->key_col,
                           "type '%s' is built into dtask's signature "
                           "language; give the declared type another name",
                           m->key);
    if (m->kind != DT__TOML_TABLE)
      return dt__error_set(err, m->line, m->col,
                           "type '%s' must be a table; write %s = { size = "
                           "32, align = 8 } with its sizeof and _Alignof",
                           m->key, m->key);
    if (check_keys(m, type_keys, section, err) != 0)
      return -EINVAL;
    const dt__toml *vs = dt__toml_get(m, "size");
    const dt__toml *va = dt__toml_get(m, "align");
    if (vs == NULL || va == NULL)
      return dt__error_set(err, m->line, m->col,
                           "type '%s' needs both size and align; write %s = "
                           "{ size = N, align = N } with the values of "
                           "sizeof and _Alignof",
                           m->key, m->key);
    if (get_int(vs, section, 1, 1ll << 30, "size = 32", &size, err) != 0 ||
        get_int(va, section, 1, 4096, "align = 8", &align, err) != 0)
      return -EINVAL;
    if ((align & (align - 1)) != 0)
      return dt__error_set(err, va->line, va->col,
                           "align of '%s' is %lld, which is not a power of "
                           "two; write the value of _Alignof(%s)",
                           m->key, align, m->key);
    if (size % align != 0)
      return dt__error_set(err, vs->line, vs->col,
                           "size of '%s' (%lld) is not a multiple of its "
                           "align (%lld), which no C type allows; write the "
                           "value of sizeof(%s)",
                           m->key, size, align, m->key);
    snprintf(u->name, sizeof u->name, "%s", m->key);
    u->size = (size_t)size;
    u->align = (size_t)align;
    u->line = m->key_line;
    cfg->ntypes++;
  }
  return 0;
}

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
  if (check_keys2(t, offload_keys, dt__policy_keys, dt__split_keys, section,
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
    if (!is_identifier(vsym->u.s) || strlen(vsym->u.s) >= sizeof o->symbol)
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

/* [[offload]]: an array of tables. */
static int read_offloads(const source *src, const dt__toml *a, dt__config *cfg,
                         dt__error *err) {
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

/* Sets every default but the queue path's, expanded only when [queue]
 * path gives none ($USER may need the password database). */
static void set_defaults(dt__config *cfg, const char *path) {
  snprintf(cfg->path, sizeof cfg->path, "%s", path ? path : "<embedded>");
  snprintf(cfg->backend, sizeof cfg->backend, "%s", DEFAULT_BACKEND);
  cfg->queue_path[0] = '\0';
  cfg->map_size = DEFAULT_MAP_SIZE;
  cfg->max_call_size = dt__config_call_default(DEFAULT_MAP_SIZE);
  cfg->arena = 1;
  cfg->workers = DEFAULT_WORKERS;
  cfg->autostart = DEFAULT_AUTOSTART;
  cfg->idle_exit_ns = DEFAULT_IDLE_EXIT_NS;
  dt__policy_defaults(&cfg->defaults);
  dt__limits_defaults(&cfg->defaults_limits);
}

/* Table-valued sections must be tables. */
static int want_table(const dt__toml *v, dt__error *err) {
  if (v->kind == DT__TOML_TABLE)
    return 0;
  return dt__error_set(err, v->key_line, v->key_col,
                       "'%s' must be a table: write [%s] on a line of its "
                       "own, then its keys",
                       v->key, v->key);
}

/* Parses config text.  path is used in messages only.  On success *out is
 * owned by the caller (dt__config_free).  On error returns -EINVAL and err
 * holds the line/column and a sentence; err holds the file name only in
 * a command to run on it (chmod 600 FILE, for a url with a password in a
 * file that group or others may read: path must then name a real file,
 * or be NULL for text that comes from no file).
 *
 * Sections are read in a fixed order ([types]
 * before [[offload]]) whatever their order in the file, because
 * signatures refer to declared types, and [defaults] before [[offload]]
 * because each entry starts from them. */
int dt__config_parse(const char *text, size_t len, const char *path,
                     dt__config **out, dt__error *err) {
  dt__toml *root = NULL;
  dt__config *cfg;
  const dt__toml *v;
  source src = {text, len};
  int rc;

  *out = NULL;
  rc = dt__toml_parse(text, len, &root, err);
  if (rc != 0)
    return rc;
  cfg = calloc(1, sizeof *cfg);
  if (cfg == NULL) {
    dt__toml_free(root);
    return -ENOMEM;
  }
  set_defaults(cfg, path);
  rc = check_keys(root, top_keys, "the top level", err);
  if (rc == 0 && (v = dt__toml_get(root, "queue")) != NULL)
    rc = want_table(v, err) ? -EINVAL : read_queue(v, cfg, err);
  if (rc == 0 && (v = dt__toml_get(root, "runner")) != NULL)
    rc = want_table(v, err) ? -EINVAL : read_runner(v, cfg, err);
  if (rc == 0 && (v = dt__toml_get(root, "shim")) != NULL)
    rc = want_table(v, err) ? -EINVAL : read_shim(v, cfg, err);
  if (rc == 0 && (v = dt__toml_get(root, "defaults")) != NULL)
    rc = want_table(v, err) ? -EINVAL : read_defaults(v, cfg, err);
  if (rc == 0 && (v = dt__toml_get(root, "types")) != NULL)
    rc = want_table(v, err) ? -EINVAL : read_types(v, cfg, err);
  if (rc == 0 && (v = dt__toml_get(root, "offload")) != NULL)
    rc = read_offloads(&src, v, cfg, err);
  if (rc == 0 && cfg->queue_path[0] == '\0' &&
      dt__expand_path(DEFAULT_QUEUE_PATH, cfg->queue_path,
                      sizeof cfg->queue_path, err) != 0)
    rc = -EINVAL;
  dt__toml_free(root);
  if (rc != 0) {
    dt__config_free(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

/* Reads the file at path (dt__config_read) and parses it.  On success
 * *out is owned by the caller (dt__config_free).  Returns 0, -errno when
 * the file cannot be read, or -EINVAL with err located at the problem. */
int dt__config_load(const char *path, dt__config **out, dt__error *err) {
  char *text = NULL;
  size_t n = 0;
  *out = NULL;
  int rc = dt__config_read(path, &text, &n, err);
  if (rc == 0)
    rc = dt__config_parse(text, n, path, out, err);
  free(text);
  return rc;
}

/* Frees a config returned by dt__config_parse or dt__config_load, and
 * everything it owns.  NULL is allowed. */
void dt__config_free(dt__config *cfg) {
  if (cfg == NULL)
    return;
  free(cfg->types);
  free(cfg->offloads);
  free(cfg);
}

/* Calls fn(table, key, ctx) for every key the parser accepts, from the
 * same tables it checks files against, for the documentation checks
 * (tests/config/test_docs.c).  table is "" for the top-level tables,
 * "queue", "runner", "shim", "types" (the keys of a type's table),
 * "defaults", "offload", or "offload.split" (the keys of split's table);
 * the policy keys and the keys of a policy value table are given for
 * both "defaults" and "offload". */
void dt__config_keys(void (*fn)(const char *table, const char *key,
                                void *ctx),
                     void *ctx) {
  static const struct {
    const char *table;
    const char *const *keys;
  } all[] = {{"", top_keys},
             {"queue", queue_keys},
             {"runner", runner_keys},
             {"shim", shim_keys},
             {"types", type_keys},
             {"defaults", dt__policy_keys},
             {"defaults", dt__policy_value_keys},
             {"defaults", dt__limits_keys},
             {"offload", offload_keys},
             {"offload", dt__policy_keys},
             {"offload", dt__policy_value_keys},
             {"offload", dt__split_keys},
             {"offload.split", dt__split_table_keys},
             {"offload.rate_limit", dt__limits_rate_keys},
             {"offload.cache", dt__limits_cache_keys}};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    for (const char *const *k = all[i].keys; *k != NULL; k++)
      fn(all[i].table, *k, ctx);
}
