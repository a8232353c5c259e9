/* fuzz_toml.c: the fuzz harness of the TOML parser (config/toml.c,
 * config/toml_scan.c).
 *
 * The input is config text, as dt__config_read hands a file's bytes to
 * the parser: data[0, size), not NUL-terminated (the parser takes a
 * length).  It is parsed with dt__toml_parse; a tree it accepts is walked
 * whole (every node's kind, key and value read, so that ASan sees any
 * node left half built) and checked against what toml.h promises: every
 * member of a table is what dt__toml_get finds under its key (duplicate
 * keys are refused), and every string is valid UTF-8 without surrogates.
 * A refusal must come with a negative errno and a message.  The tree is
 * freed with dt__toml_free.  Dictionary: tests/fuzz/toml.dict; corpus:
 * tests/fuzz/corpus/toml/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "config/toml.h"
#include "fuzz/fuzz.h"

/* Whether s (NUL-terminated) is valid UTF-8: no overlong form, no
 * surrogate, nothing above U+10FFFF. */
static bool toml_utf8_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p != 0) {
    uint32_t cp;
    int n;
    if (p[0] < 0x80) {
      p++;
      continue;
    } else if ((p[0] & 0xe0) == 0xc0) {
      cp = p[0] & 0x1fu;
      n = 1;
    } else if ((p[0] & 0xf0) == 0xe0) {
      cp = p[0] & 0x0fu;
      n = 2;
    } else if ((p[0] & 0xf8) == 0xf0) {
      cp = p[0] & 0x07u;
      n = 3;
    } else {
      return false;
    }
    for (int i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp > 0x10ffff)
      return false;
    p += n + 1;
  }
  return true;
}

/* Walks the tree under t (depth levels down so far), reading every node
 * and checking the promises of toml.h; returns the number of nodes. */
static size_t toml_walk(const dt__toml *t, int depth) {
  size_t nodes = 1;
  dt__fuzz_check(depth <= 1000, "a tree deeper than any limit");
  dt__fuzz_check(dt__toml_kind_name(t->kind) != NULL, "a node of no kind");
  dt__fuzz_check(t->line >= 1 && t->col >= 1, "a node with no position");
  switch (t->kind) {
  case DT__TOML_STRING:
    dt__fuzz_check(toml_utf8_ok(t->u.s), "a string that is not UTF-8");
    break;
  case DT__TOML_TABLE:
  case DT__TOML_ARRAY:
    for (size_t i = 0; i < t->u.list.n; i++) {
      const dt__toml *c = t->u.list.items[i];
      if (t->kind == DT__TOML_TABLE) {
        dt__fuzz_check(c->key != NULL, "a table member without a key");
        dt__fuzz_check(toml_utf8_ok(c->key), "a key that is not UTF-8");
        dt__fuzz_check(dt__toml_get(t, c->key) == c,
                       "a key that dt__toml_get does not find, or twice");
      } else {
        dt__fuzz_check(c->key == NULL, "an array item with a key");
      }
      nodes += toml_walk(c, depth + 1);
    }
    break;
  case DT__TOML_INT:
  case DT__TOML_FLOAT:
  case DT__TOML_BOOL:
    break;
  }
  return nodes;
}

/* Parses data[0, size) as TOML, walks and checks what it accepts, and
 * frees it.  Always returns 0. */
int dt__fuzz_toml(const uint8_t *data, size_t size) {
  dt__toml *root = NULL;
  dt__error err;
  memset(&err, 0, sizeof err);
  int rc = dt__toml_parse((const char *)data, size, &root, &err);
  if (rc != 0) {
    dt__fuzz_check(rc < 0 && root == NULL, "a failure that is not -errno");
    dt__fuzz_check(err.msg[0] != '\0', "a refusal without a message");
    return 0;
  }
  dt__fuzz_check(root != NULL && root->kind == DT__TOML_TABLE,
                 "a document that is not a table");
  toml_walk(root, 0);
  dt__toml_free(root);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_toml)
