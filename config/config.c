/* config.c: dtask's configuration, from a TOML tree to a dt__config.
 *
 * The TOML parser (toml.c) knows nothing about dtask; this file owns the
 * meaning of every section and key but those of [[offload]] entries
 * (config/offload.c, and the files it names), their defaults, and the
 * messages a person sees when a value is wrong.  It is strict: an
 * unknown key is an error with a "did you mean" hint (config/keys.c), a
 * value of the wrong kind is an error that shows what to write, and
 * every message carries the line and column of the offending key or
 * value.  The example config/dtask.example.toml documents the same keys,
 * with the same defaults. */
#include <stdio.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "common/error.h"
#include "config/config.h"
#include "config/file.h"
#include "config/keys.h"
#include "config/offload.h"
#include "config/policy.h"
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
  if (dt__keys_check(t, queue_keys, NULL, NULL, "[queue]", err) != 0)
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
  if (dt__keys_check(t, runner_keys, NULL, NULL, "[runner]", err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "workers")) != NULL) {
    if (dt__keys_int(v, "[runner]", 1, 1024, "workers = 4", &n, err) != 0)
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
  if (dt__keys_check(t, shim_keys, NULL, NULL, "[shim]", err) != 0)
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
  if (dt__keys_check(t, dt__policy_keys, dt__limits_keys, NULL, "[defaults]",
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
    if (!dt__keys_identifier(m->key) || strlen(m->key) >= sizeof u->name)
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
    if (dt__keys_check(m, type_keys, NULL, NULL, section, err) != 0)
      return -EINVAL;
    const dt__toml *vs = dt__toml_get(m, "size");
    const dt__toml *va = dt__toml_get(m, "align");
    if (vs == NULL || va == NULL)
      return dt__error_set(err, m->line, m->col,
                           "type '%s' needs both size and align; write %s = "
                           "{ size = N, align = N } with the values of "
                           "sizeof and _Alignof",
                           m->key, m->key);
    if (dt__keys_int(vs, section, 1, 1ll << 30, "size = 32", &size, err) != 0 ||
        dt__keys_int(va, section, 1, 4096, "align = 8", &align, err) != 0)
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
  rc = dt__keys_check(root, top_keys, NULL, NULL, "the top level", err);
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
    rc = dt__offload_read(text, len, v, cfg, err);
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
             {"offload", dt__offload_keys},
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
