/* test_toml_tables.c: unit tests of the TOML parser's tables (toml.c):
 * [table] headers, tables implied and defined later, dotted keys beside
 * sub-tables, arrays of tables, a dtask config as a whole, and every way
 * of defining a key or a table twice, each refused at its exact line and
 * column (tests/config/tomlfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/common.h"
#include "config/toml.h"
#include "tomlfx.h"

/* ------------------------------------------------------ valid: tables */

static void tables(void **state) {
  dt__toml *t;
  const dt__toml *v;
  (void)state;
  t = OK("top = 0\n[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n"
         "  [ dog . \"tater.man\" ]\n  type.name = \"pug\"\n['lit']\n[\"\"]\n"
         "x = 1");
  want_int(t, "top", 0);
  v = want(t, "table-1", DT__TOML_TABLE);
  want_pos(v, 2, 1, 2, 2);
  want_int(t, "table-1.key2", 123);
  v = dt__toml_get(want(t, "dog", DT__TOML_TABLE), "tater.man");
  assert_non_null(v);
  want_pos(v, 6, 3, 6, 11);
  want_pos(get(t, "dog"), 6, 5, 6, 5);
  assert_string_equal(dt__toml_get(dt__toml_get(v, "type"), "name")->u.s,
                      "pug");
  assert_int_equal(count(want(t, "lit", DT__TOML_TABLE)), 0);
  assert_int_equal(dt__toml_get(dt__toml_get(t, ""), "x")->u.i, 1);
  /* Members keep the order in which they were written. */
  assert_string_equal(t->u.list.items[0]->key, "top");
  assert_string_equal(t->u.list.items[1]->key, "table-1");
  assert_string_equal(t->u.list.items[2]->key, "dog");
  dt__toml_free(t);
}

static void implicit_then_explicit(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("[x.y.z.w]\na = 1\n[x]\nb = 2\n[x.y]\nc = 3\n[x.y.q]");
  want_int(t, "x.y.z.w.a", 1);
  want_int(t, "x.b", 2);
  want_int(t, "x.y.c", 3);
  /* Defined later: positions move to the defining header. */
  want_pos(get(t, "x"), 3, 1, 3, 2);
  want_pos(get(t, "x.y"), 5, 1, 5, 4);
  /* Still implicit: the position of the name in the first header. */
  want_pos(get(t, "x.y.z"), 1, 6, 1, 6);
  dt__toml_free(t);
}

static void dotted_then_subtable(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n\n"
         "[fruit.apple.texture]\nsmooth = true\n[fruit.apple.taste.x]");
  want_str(t, "fruit.apple.color", "red");
  want_bool(t, "fruit.apple.taste.sweet", 1);
  want_bool(t, "fruit.apple.texture.smooth", 1);
  want(t, "fruit.apple.taste.x", DT__TOML_TABLE);
  want_pos(get(t, "fruit.apple.texture"), 5, 1, 5, 14);
  dt__toml_free(t);
}

static void array_of_tables(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
         "[[products]]  # empty\n\n[[products]]\nname = \"Nail\"\n"
         "color = \"gray\"");
  a = want(t, "products", DT__TOML_ARRAY);
  assert_int_equal(count(a), 3);
  want_pos(a, 1, 1, 1, 3);
  want_pos(item(a, 0), 1, 1, 1, 3);
  want_pos(item(a, 1), 5, 1, 5, 3);
  assert_null(item(a, 1)->key);
  assert_int_equal(item(a, 1)->kind, DT__TOML_TABLE);
  assert_int_equal(count(item(a, 1)), 0);
  assert_string_equal(dt__toml_get(item(a, 0), "name")->u.s, "Hammer");
  assert_string_equal(dt__toml_get(item(a, 2), "color")->u.s, "gray");
  dt__toml_free(t);
}

static void array_of_tables_subtables(void **state) {
  dt__toml *t;
  const dt__toml *f, *v;
  (void)state;
  t = OK("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
         "[[fruits.varieties]]\nname = \"red delicious\"\n"
         "[[fruits.varieties]]\nname = \"granny smith\"\n"
         "[[fruits]]\nname = \"banana\"\n[fruits.physical]\ncolor = "
         "\"yellow\"\n[[fruits.varieties]]\nname = \"plantain\"\n"
         "[a.b]\n[[a.c]]\n[a]");
  f = want(t, "fruits", DT__TOML_ARRAY);
  assert_int_equal(count(f), 2);
  v = dt__toml_get(item(f, 0), "varieties");
  assert_int_equal(count(v), 2);
  assert_string_equal(dt__toml_get(item(v, 1), "name")->u.s,
                      "granny smith");
  assert_string_equal(
      dt__toml_get(dt__toml_get(item(f, 1), "physical"), "color")->u.s,
      "yellow");
  assert_int_equal(count(dt__toml_get(item(f, 1), "varieties")), 1);
  want(t, "a.b", DT__TOML_TABLE);
  assert_int_equal(count(want(t, "a.c", DT__TOML_ARRAY)), 1);
  want_pos(get(t, "a"), 17, 1, 17, 2);
  dt__toml_free(t);
}

static void aot_in_inline_array(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("points = [ { x = 1, y = 2 },\n           { x = 7, y = 8 } ]");
  a = get(t, "points");
  assert_int_equal(count(a), 2);
  assert_int_equal(dt__toml_get(item(a, 1), "x")->u.i, 7);
  want_pos(item(a, 1), 2, 12, 0, 0);
  dt__toml_free(t);
}

static void dtask_config(void **state) {
  static const char text[] =
      "# dtask.toml: what to offload\n"
      "[queue]\n"
      "backend  = \"lmdb\"                     # embedded default\n"
      "path     = \"/dev/shm/dtask-$USER/default\"\n"
      "map_size = \"1GiB\"\n"
      "\n"
      "[runner]\n"
      "workers   = 4\n"
      "autostart = true\n"
      "idle_exit = \"10s\"\n"
      "\n"
      "[types]\n"
      "report = { size = 32, align = 8 }     # plain data\n"
      "\n"
      "[[offload]]\n"
      "symbol    = \"build_report\"\n"
      "signature = \"int build_report(cstring period, out report r[1])\"\n"
      "\n"
      "[[offload]]\n"
      "symbol    = \"crc32\"\n"
      "signature = \"ulong crc32(ulong crc, in uint8 buf[len], uint len)\"\n"
      "library   = 'libz.so.1'\n"
      "required  = false\n";
  dt__toml *t;
  const dt__toml *o, *r;
  (void)state;
  t = OK(text);
  assert_int_equal(count(t), 4);
  want_str(t, "queue.backend", "lmdb");
  want_str(t, "queue.path", "/dev/shm/dtask-$USER/default");
  want_pos(get(t, "queue.path"), 4, 12, 4, 1);
  want_int(t, "runner.workers", 4);
  want_bool(t, "runner.autostart", 1);
  r = want(t, "types.report", DT__TOML_TABLE);
  want_pos(r, 13, 10, 13, 1);
  want_int(t, "types.report.size", 32);
  want_int(t, "types.report.align", 8);
  want_pos(get(t, "types.report.align"), 13, 31, 13, 23);
  o = want(t, "offload", DT__TOML_ARRAY);
  assert_int_equal(count(o), 2);
  want_pos(item(o, 0), 15, 1, 15, 3);
  want_pos(item(o, 1), 19, 1, 19, 3);
  assert_string_equal(dt__toml_get(item(o, 0), "symbol")->u.s,
                      "build_report");
  assert_string_equal(dt__toml_get(item(o, 1), "signature")->u.s,
                      "ulong crc32(ulong crc, in uint8 buf[len], uint len)");
  want_pos(dt__toml_get(item(o, 1), "signature"), 21, 13, 21, 1);
  assert_int_equal(dt__toml_get(item(o, 1), "required")->u.b, 0);
  assert_string_equal(dt__toml_get(item(o, 1), "library")->u.s,
                      "libz.so.1");
  dt__toml_free(t);
}

/* ----------------------------------------------- invalid: duplicates */

static void duplicate_keys(void **state) {
  (void)state;
  BAD("a = 1\na = 2", 2, 1,
      "duplicate key 'a' (first defined at line 1); remove one of them");
  BAD("a = 1\n\"a\" = 2", 2, 1, "duplicate key 'a'");
  BAD("'a' = 1\n  a = 2", 2, 3, "duplicate key 'a'");
  BAD("[t]\nx = 1\ny = 2\nx = 3", 4, 1,
      "duplicate key 'x' (first defined at line 2)");
  BAD("\"\" = 1\n'' = 2", 2, 1, "duplicate key ''");
}

static void duplicate_dotted_keys(void **state) {
  (void)state;
  BAD("a.b = 1\na.b = 2", 2, 3,
      "duplicate key 'a.b' (first defined at line 1)");
  BAD("a.b = 1\na = 2", 2, 1, "duplicate key 'a'");
  BAD("a.b.c = 1\na . b = 2", 2, 5, "duplicate key 'a.b'");
  BAD("x = { a = 1, a = 2 }", 1, 14, "duplicate key 'a'");
  BAD("x = { a.b = 1, a.b = 2 }", 1, 18, "duplicate key 'a.b'");
  BAD("x = { a = {}, a.b = 1 }", 1, 15, "inline table");
}

static void duplicate_key_vs_table(void **state) {
  (void)state;
  BAD("[a.b]\n[a]\nb = 1", 3, 1, "duplicate key 'b' (first defined at line 1)");
  BAD("[a]\nb = 1\n[a.b]", 3, 4,
      "key 'a.b' already holds an integer (line 2), so it cannot also be a "
      "table");
  BAD("[[a]]\nb.c = 1\nb = 2", 3, 1, "duplicate key 'b'");
}

static void table_defined_twice(void **state) {
  (void)state;
  BAD("[a]\n[a]", 2, 2, "table [a] is defined twice (first at line 1)");
  BAD("[a]\nx = 1\n[b]\n[a]", 4, 2, "defined twice");
  BAD("[a]\n[a.b]\n[a . \"b\"]", 3, 6, "table [a.b] is defined twice");
  BAD("[x.y]\n[x]\n[x]", 3, 2, "table [x] is defined twice (first at line 2)");
  BAD("[[t]]\n[t.s]\n[t.s]", 3, 4, "defined twice");
}

static void table_defined_by_dotted_keys(void **state) {
  (void)state;
  BAD("a.b = 1\n[a]", 2, 2,
      "table [a] was already defined with dotted keys at line 1");
  BAD("[fruit]\napple.color = 'red'\n[fruit.apple]", 3, 8,
      "table [fruit.apple] was already defined with dotted keys");
  BAD("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", 3, 14,
      "dotted keys");
}

static void dotted_into_header_table(void **state) {
  (void)state;
  BAD("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, 1,
      "table 'b' was made by the [header] at line 1");
  BAD("[a.b.c.d]\n[a]\nb.c.d.k.t = 1", 3, 1, "made by the [header]");
  BAD("[a.b]\n[a]\nb.x = 1", 3, 1,
      "dotted keys cannot add to a table that a header made");
}

static void extend_inline_table(void **state) {
  (void)state;
  BAD("a = {}\n[a]", 2, 2,
      "table [a] was already written as an inline table at line 1");
  BAD("a = { b = 1 }\n[a.c]", 2, 2,
      "table 'a' was written as an inline table at line 1 and is sealed");
  BAD("a = { b = 1 }\na.c = 2", 2, 1, "is sealed");
  BAD("a = { b = { c = 1 } }\n[a.b.d]", 2, 2, "inline table");
  BAD("a = { b.c = 1 }\n[a.b]", 2, 2, "inline table");
  BAD("a = {}\n[[a]]", 2, 3,
      "[[a]] conflicts with table 'a' (line 1); a key cannot be both");
  BAD("[t]\na = { x = 1 }\n[t.a]", 3, 4, "inline table at line 2");
}

static void extend_static_array(void **state) {
  (void)state;
  BAD("a = [1]\n[[a]]", 2, 3,
      "cannot append to 'a' with [[a]]: it is a static array (line 1)");
  BAD("a = [{ x = 1 }]\n[[a]]", 2, 3, "static array");
  BAD("a = []\n[a.b]", 2, 2, "key 'a' holds an array (line 1)");
  BAD("a = [{}]\na.b = 1", 2, 1, "so dotted keys cannot add to it");
  BAD("a = []\n[a]", 2, 2, "key 'a' already holds an array (line 1)");
}

static void value_used_as_table(void **state) {
  (void)state;
  BAD("a = 1\na.b = 2", 2, 1,
      "key 'a' already holds an integer (line 1), so it cannot also be a "
      "table");
  BAD("a = 1\n[a]", 2, 2, "key 'a' already holds an integer (line 1)");
  BAD("a = \"x\"\n[a.b]", 2, 2, "key 'a' already holds a string");
  BAD("a = 1.5\n[[a]]", 2, 3,
      "key 'a' already holds a float (line 1), so it cannot also be an array "
      "of tables");
  BAD("t.a = true\n[t.a.b]", 2, 4, "key 't.a' already holds a boolean");
}

static void aot_vs_table(void **state) {
  (void)state;
  BAD("[[a]]\n[a]", 2, 2,
      "'a' is an array of tables (line 1); write [[a]] to add an element");
  BAD("[a]\n[[a]]", 2, 3, "[[a]] conflicts with table 'a' (line 1)");
  BAD("[a.b]\n[[a]]", 2, 3, "conflicts with table 'a'");
  BAD("[[a.b]]\n[[a]]", 2, 3, "conflicts with table 'a'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tables),
      cmocka_unit_test(implicit_then_explicit),
      cmocka_unit_test(dotted_then_subtable),
      cmocka_unit_test(array_of_tables),
      cmocka_unit_test(array_of_tables_subtables),
      cmocka_unit_test(aot_in_inline_array),
      cmocka_unit_test(dtask_config),
      cmocka_unit_test(duplicate_keys),
      cmocka_unit_test(duplicate_dotted_keys),
      cmocka_unit_test(duplicate_key_vs_table),
      cmocka_unit_test(table_defined_twice),
      cmocka_unit_test(table_defined_by_dotted_keys),
      cmocka_unit_test(dotted_into_header_table),
      cmocka_unit_test(extend_inline_table),
      cmocka_unit_test(extend_static_array),
      cmocka_unit_test(value_used_as_table),
      cmocka_unit_test(aot_vs_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
