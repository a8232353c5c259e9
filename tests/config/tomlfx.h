/* tomlfx.h: what the tests of the TOML parser share (test_toml.c,
 * test_toml_strings.c, test_toml_numbers.c, test_toml_tables.c): parsing
 * a text that must succeed (parse_ok, OK) or fail at an exact line and
 * column with a fragment of the sentence (parse_bad, BAD), following a
 * dotted path of names (get), an array's items (item, count), and checks
 * of a value's kind, value and recorded positions (want, want_str,
 * want_int, want_bool, want_pos).  OK and BAD take string literals, so
 * that sizeof gives their length even when they contain NUL bytes.
 * Include it after <cmocka.h>. */
#ifndef DT_TESTS_TOMLFX_H
#define DT_TESTS_TOMLFX_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/toml.h"

/* Parses text, failing the test with the parser's message on error. */
static inline dt__toml *parse_ok(const char *text, size_t len) {
  dt__error err;
  dt__toml *t = NULL;
  int rc;

  memset(&err, 0, sizeof err);
  rc = dt__toml_parse(text, len, &t, &err);
  if (rc != 0)
    fail_msg("parse failed (%d) at %d:%d: %s", rc, err.line, err.col,
             err.msg);
  assert_non_null(t);
  return t;
}

/* Parses text that must fail at line:col with a message containing frag.
 * The result pointer must be left untouched. */
static inline void parse_bad(const char *text, size_t len, int line, int col,
                             const char *frag) {
  dt__error err;
  dt__toml sentinel, *t = &sentinel;
  int rc;

  memset(&err, 0, sizeof err);
  rc = dt__toml_parse(text, len, &t, &err);
  if (rc == 0) {
    dt__toml_free(t);
    fail_msg("parse of <%s> succeeded; expected an error at %d:%d", text,
             line, col);
  }
  assert_int_equal(rc, -EINVAL);
  assert_ptr_equal(t, &sentinel);
  if (err.line != line || err.col != col || strstr(err.msg, frag) == NULL)
    fail_msg("parse of <%s>: got %d:%d: %s\n  expected %d:%d: ...%s...",
             text, err.line, err.col, err.msg, line, col, frag);
}

#define OK(text) parse_ok(text, sizeof(text) - 1)
#define BAD(text, line, col, frag)                                            \
  parse_bad(text, sizeof(text) - 1, line, col, frag)

/* Follows a dotted path of plain names from t ("a.b.c"). */
static inline const dt__toml *get(const dt__toml *t, const char *path) {
  char buf[256], *save = NULL, *part;

  snprintf(buf, sizeof buf, "%s", path);
  for (part = strtok_r(buf, ".", &save); part != NULL && t != NULL;
       part = strtok_r(NULL, ".", &save))
    t = dt__toml_get(t, part);
  return t;
}

/* Returns item i of array a. */
static inline const dt__toml *item(const dt__toml *a, size_t i) {
  assert_non_null(a);
  assert_int_equal(a->kind, DT__TOML_ARRAY);
  assert_true(i < a->u.list.n);
  return a->u.list.items[i];
}

/* Returns the value at path, which must exist and be of the given kind. */
static inline const dt__toml *want(const dt__toml *t, const char *path,
                                   dt__toml_kind kind) {
  const dt__toml *v = get(t, path);
  if (v == NULL)
    fail_msg("no key %s", path);
  if (v->kind != kind)
    fail_msg("%s is a %s, not a %s", path, dt__toml_kind_name(v->kind),
             dt__toml_kind_name(kind));
  return v;
}

static inline void want_str(const dt__toml *t, const char *path,
                            const char *s) {
  assert_string_equal(want(t, path, DT__TOML_STRING)->u.s, s);
}

static inline void want_int(const dt__toml *t, const char *path,
                            long long i) {
  const dt__toml *v = want(t, path, DT__TOML_INT);
  if (v->u.i != i)
    fail_msg("%s = %lld, expected %lld", path, v->u.i, i);
}

static inline void want_bool(const dt__toml *t, const char *path, int b) {
  assert_int_equal(want(t, path, DT__TOML_BOOL)->u.b, b);
}

/* Checks the position recorded for v's value and for its key. */
static inline void want_pos(const dt__toml *v, int line, int col,
                            int key_line, int key_col) {
  assert_non_null(v);
  if (v->line != line || v->col != col || v->key_line != key_line ||
      v->key_col != key_col)
    fail_msg("position %d:%d key %d:%d, expected %d:%d key %d:%d", v->line,
             v->col, v->key_line, v->key_col, line, col, key_line, key_col);
}

/* The number of members of a table or items of an array. */
static inline size_t count(const dt__toml *t) { return t->u.list.n; }

#endif /* DT_TESTS_TOMLFX_H */
