/* toml.c: a strict parser for the subset of TOML 1.0 that dtask reads.
 *
 * Debian 12 packages no C TOML library, and the shim must not pull a large
 * dependency into every process it is preloaded into, so dtask carries its
 * own parser.  The parser owns the whole text-to-tree step: it turns
 * config text into a tree of dt__toml nodes (tables, arrays and scalars)
 * and nothing else; what the keys mean is config.c's business.
 *
 * The subset is: comments, bare, quoted and dotted keys, [tables],
 * [[arrays.of.tables]], basic and literal strings (single-line and
 * multi-line) with escapes, integers (decimal with '_', 0x, 0o, 0b),
 * floats (including inf and nan), booleans, arrays and inline tables.
 * Anything else, dates and times included, is an error with a line, a
 * column and a sentence that says what to write instead; nothing is
 * silently ignored.  Duplicate keys and redefined tables are errors, with
 * the implicit-table rules of TOML 1.0.
 *
 * The parser has two layers.  config/toml_scan.c reads the text: the
 * cursor, whitespace and comments, strings, numbers and keys.  This file,
 * above it, builds the tree: nodes, values, arrays and inline tables,
 * key = value pairs, [headers], the document, the public API, and the
 * helpers config readers use on the tree (dt__toml_want, dt__toml_at).
 * It calls toml_scan.c, never the other way round.
 *
 * Design notes:
 *   - The parser holds no global state; everything lives in a
 *     dt__toml_parser on the caller's stack, so concurrent parses are
 *     safe.
 *   - Every node is attached to the tree as soon as it is created and is
 *     kept consistent while its value is parsed, so any error path only
 *     has to free the root: nothing can leak.
 *   - Nesting (arrays, inline tables, dotted keys, headers) is capped at
 *     DT__TOML_MAX_DEPTH levels, which bounds the recursion of the parser
 *     and of dt__toml_free.
 *   - A dotted key only creates tables or adds to tables that dotted keys
 *     created; it never reaches into a table made by a [header], even one
 *     made implicitly on the way to [a.b.c].  TOML 1.0 is ambiguous there
 *     (toml-lang/toml#846); this is toml-test's reading (invalid/table/
 *     injection-1 and -2) and toml++'s.  Headers may add sub-tables to
 *     tables made by dotted keys, but not define them again.
 *   - Members of a table are kept in the order written and looked up by a
 *     linear scan; config files have a handful of keys per table. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/toml.h"
#include "config/toml_scan.h"

/* Bookkeeping kept in dt__toml.flags. */
enum {
  F_IMPLICIT = 1u << 0, /* table created on the path of a [a.b] header */
  F_EXPLICIT = 1u << 1, /* table defined by its own header (or the root) */
  F_DOTTED = 1u << 2,   /* table created by a dotted key (a.b = 1) */
  F_INLINE = 1u << 3,   /* inline table { ... }: sealed once written */
  F_AOT = 1u << 4       /* array created by [[header]]s */
};

/* Values and key = value pairs recurse through arrays and inline tables. */
static int parse_value(dt__toml_parser *p, dt__toml *n, int depth);
static int parse_keyval(dt__toml_parser *p, dt__toml *table, int depth);

/* ---------------------------------------------------------------- nodes */

/* A new node of kind written at line/col, or NULL when memory ran out. */
static dt__toml *node_new(dt__toml_kind kind, int line, int col) {
  dt__toml *n = calloc(1, sizeof *n);
  if (n != NULL) {
    n->kind = kind;
    n->line = line;
    n->col = col;
  }
  return n;
}

/* Frees n and everything below it (recursion bounded by the depth cap). */
static void node_free(dt__toml *n) {
  size_t i;
  if (n == NULL)
    return;
  free(n->key);
  if (n->kind == DT__TOML_STRING) {
    free(n->u.s);
  } else if (n->kind == DT__TOML_TABLE || n->kind == DT__TOML_ARRAY) {
    for (i = 0; i < n->u.list.n; i++)
      node_free(n->u.list.items[i]);
    free(n->u.list.items);
  }
  free(n);
}

/* Appends child to the table or array parent.  The list capacity is not
 * stored: it is 4, then the next power of two, so it is full exactly when
 * n is 0 or a power of two from 4 up.  On failure child is freed. */
static int attach(dt__toml_parser *p, dt__toml *parent, dt__toml *child) {
  size_t n = parent->u.list.n;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    size_t cap = n == 0 ? 4 : n * 2;
    dt__toml **items = realloc(parent->u.list.items, cap * sizeof *items);
    if (items == NULL) {
      node_free(child);
      return dt__toml_oom(p);
    }
    parent->u.list.items = items;
  }
  parent->u.list.items[n] = child;
  parent->u.list.n = n + 1;
  return 0;
}

/* Gives the key text of kp to n and records where it was written. */
static void take_key(dt__toml *n, dt__toml_keypart *kp) {
  n->key = kp->s;
  kp->owned = 0;
  n->key_line = kp->line;
  n->key_col = kp->col;
}

/* The article before dt__toml_kind_name(kind). */
static const char *a_kind(dt__toml_kind kind) {
  return kind == DT__TOML_INT || kind == DT__TOML_ARRAY ? "an" : "a";
}

/* ----------------------------------------------------- tables named by keys */

/* Reports that part i of k names c, which cannot be descended into (by a
 * dotted key when dotted, else by a header). */
static int cannot_extend(dt__toml_parser *p, const dt__toml_keypath *k, int i,
                         const dt__toml *c, int dotted) {
  char name[160];
  const dt__toml_keypart *kp = &k->part[i];

  dt__toml_path_name(k, i + 1, name, sizeof name);
  if (c->kind == DT__TOML_TABLE && (c->flags & F_INLINE))
    return dt__error_set(p->err, kp->line, kp->col,
                         "table '%s' was written as an inline table at line "
                         "%d and is sealed; put all of its keys inside the "
                         "braces",
                         name, c->key_line);
  if (c->kind == DT__TOML_TABLE)
    return dt__error_set(p->err, kp->line, kp->col,
                         "table '%s' was made by the [header] at line %d, "
                         "and dotted keys cannot add to a table that a "
                         "header made; write the key in that table's own "
                         "[section] instead",
                         name, c->line);
  if (c->kind == DT__TOML_ARRAY)
    return dt__error_set(p->err, kp->line, kp->col,
                         "key '%s' holds an array (line %d), so %s cannot "
                         "add to it",
                         name, c->key_line,
                         dotted ? "dotted keys" : "a [header]");
  return dt__error_set(p->err, kp->line, kp->col,
                       "key '%s' already holds %s %s (line %d), so it "
                       "cannot also be a table",
                       name, a_kind(c->kind), dt__toml_kind_name(c->kind),
                       c->key_line);
}

/* Reports a header whose last part names c, which it cannot define. */
static int redefined(dt__toml_parser *p, const dt__toml_keypath *k,
                     const dt__toml *c, int aot) {
  char name[160];
  const dt__toml_keypart *kp = &k->part[k->n - 1];
  int l = kp->line, cl = kp->col;

  dt__toml_path_name(k, k->n, name, sizeof name);
  if (!aot && c->kind == DT__TOML_TABLE && (c->flags & F_INLINE))
    return dt__error_set(p->err, l, cl,
                         "table [%s] was already written as an inline table "
                         "at line %d, and an inline table is sealed",
                         name, c->key_line);
  if (!aot && c->kind == DT__TOML_TABLE && (c->flags & F_DOTTED))
    return dt__error_set(p->err, l, cl,
                         "table [%s] was already defined with dotted keys at "
                         "line %d; a table cannot be defined both ways",
                         name, c->key_line);
  if (!aot && c->kind == DT__TOML_TABLE)
    return dt__error_set(p->err, l, cl,
                         "table [%s] is defined twice (first at line %d); "
                         "merge the two sections into one",
                         name, c->line);
  if (!aot && c->kind == DT__TOML_ARRAY && (c->flags & F_AOT))
    return dt__error_set(p->err, l, cl,
                         "'%s' is an array of tables (line %d); write [[%s]] "
                         "to add an element",
                         name, c->key_line, name);
  if (aot && c->kind == DT__TOML_ARRAY)
    return dt__error_set(p->err, l, cl,
                         "cannot append to '%s' with [[%s]]: it is a static "
                         "array (line %d), and static arrays cannot be "
                         "extended",
                         name, name, c->key_line);
  if (aot && c->kind == DT__TOML_TABLE)
    return dt__error_set(p->err, l, cl,
                         "[[%s]] conflicts with table '%s' (line %d); a key "
                         "cannot be both a table and an array of tables",
                         name, name, c->line);
  return dt__error_set(p->err, l, cl,
                       "key '%s' already holds %s %s (line %d), so it cannot "
                       "also be %s",
                       name, a_kind(c->kind), dt__toml_kind_name(c->kind),
                       c->key_line, aot ? "an array of tables" : "a table");
}

/* Returns the member of t named key, for the parser (mutable). */
static dt__toml *find(dt__toml *t, const char *key) {
  return (dt__toml *)dt__toml_get(t, key);
}

/* ----------------------------------------------- arrays and inline tables */

/* Parses [ ... ] into n, which sits at depth. */
static int parse_array(dt__toml_parser *p, dt__toml *n, int depth) {
  int ol = p->line, oc = dt__toml_col(p), rc;

  if (depth > DT__TOML_MAX_DEPTH)
    return dt__error_set(p->err, ol, oc,
                         "arrays and tables nested deeper than %d levels "
                         "are not supported",
                         DT__TOML_MAX_DEPTH);
  n->kind = DT__TOML_ARRAY;
  p->pos++;
  for (;;) {
    dt__toml *item;
    /* Reached first, after an item or after a comma: so "[]" and a
     * trailing comma are both accepted. */
    if ((rc = dt__toml_skip_blank(p)) != 0)
      return rc;
    if (dt__toml_peek(p, 0) == ']') {
      p->pos++;
      return 0;
    }
    if (dt__toml_peek(p, 0) >= 0) {
      if ((item = node_new(DT__TOML_TABLE, p->line, dt__toml_col(p))) == NULL)
        return dt__toml_oom(p);
      if ((rc = attach(p, n, item)) != 0 ||
          (rc = parse_value(p, item, depth + 1)) != 0 ||
          (rc = dt__toml_skip_blank(p)) != 0)
        return rc;
    }
    if (dt__toml_peek(p, 0) < 0)
      return dt__error_set(p->err, ol, oc,
                           "this array is never closed; add ']' after its "
                           "last item");
    if (dt__toml_peek(p, 0) == ']') {
      p->pos++;
      return 0;
    }
    if (dt__toml_peek(p, 0) != ',')
      return dt__toml_unexpected(p, "',' or ']' after an array item", "");
    p->pos++;
  }
}

/* Skips spaces inside an inline table, where the line may not end. */
static int inline_ws(dt__toml_parser *p, int ol, int oc) {
  dt__toml_skip_ws(p);
  if (dt__toml_peek(p, 0) < 0)
    return dt__error_set(p->err, ol, oc,
                         "this inline table is never closed; add '}' on the "
                         "same line");
  if (dt__toml_at_newline(p))
    return dt__error_set(p->err, p->line, dt__toml_col(p),
                         "an inline table must be written on one line; close "
                         "it with '}' before the end of the line, or use a "
                         "[table] section");
  if (dt__toml_peek(p, 0) == '#')
    return dt__error_set(p->err, p->line, dt__toml_col(p),
                         "comments are not allowed inside an inline table");
  return 0;
}

/* Parses { k = v, ... } into n, which sits at depth. */
static int parse_inline(dt__toml_parser *p, dt__toml *n, int depth) {
  int ol = p->line, oc = dt__toml_col(p), rc;

  if (depth > DT__TOML_MAX_DEPTH)
    return dt__error_set(p->err, ol, oc,
                         "arrays and tables nested deeper than %d levels "
                         "are not supported",
                         DT__TOML_MAX_DEPTH);
  n->kind = DT__TOML_TABLE;
  n->flags = F_INLINE;
  p->pos++;
  if ((rc = inline_ws(p, ol, oc)) != 0)
    return rc;
  if (dt__toml_peek(p, 0) == '}') {
    p->pos++;
    return 0;
  }
  for (;;) {
    int cl, cc;
    if ((rc = parse_keyval(p, n, depth)) != 0 ||
        (rc = inline_ws(p, ol, oc)) != 0)
      return rc;
    if (dt__toml_peek(p, 0) == '}') {
      p->pos++;
      return 0;
    }
    if (dt__toml_peek(p, 0) != ',')
      return dt__toml_unexpected(p, "',' or '}' after a key = value pair", "");
    cl = p->line;
    cc = dt__toml_col(p);
    p->pos++;
    if ((rc = inline_ws(p, ol, oc)) != 0)
      return rc;
    if (dt__toml_peek(p, 0) == '}')
      return dt__error_set(p->err, cl, cc,
                           "a trailing comma is not allowed in an inline "
                           "table; remove it");
  }
}

/* Parses the value at the cursor into n, a placeholder already attached
 * to its parent, which sits at depth below the root. */
static int parse_value(dt__toml_parser *p, dt__toml *n, int depth) {
  int c = dt__toml_peek(p, 0);

  n->line = p->line;
  n->col = dt__toml_col(p);
  if (c == '"' || c == '\'') {
    char *s;
    int rc = dt__toml_string(p, &s);
    if (rc != 0)
      return rc;
    n->kind = DT__TOML_STRING;
    n->u.s = s;
    return 0;
  }
  if (c == '[')
    return parse_array(p, n, depth);
  if (c == '{')
    return parse_inline(p, n, depth);
  if (c >= 0 && (dt__toml_is_bare(c) || c == '+' || c == '.'))
    return dt__toml_scalar(p, n);
  return dt__toml_unexpected(p,
                             "a value (a string, number, boolean, array or "
                             "inline table)",
                             "");
}

/* Parses key = value into table, which sits at depth.  Dotted keys create
 * (or reuse) tables flagged F_DOTTED; they may not reach into tables made
 * by headers or inline tables. */
static int parse_keyval(dt__toml_parser *p, dt__toml *table, int depth) {
  dt__toml_keypath k = {0, 0, NULL};
  dt__toml *t = table, *c;
  int rc, i;

  if ((rc = dt__toml_key(p, &k)) != 0)
    goto out;
  /* The parts before the last make tables at depth + 1, depth + 2, ...;
   * the value itself is checked by parse_array and parse_inline. */
  if (depth + k.n - 1 > DT__TOML_MAX_DEPTH) {
    dt__toml_keypart *kp = &k.part[DT__TOML_MAX_DEPTH - depth];
    rc = dt__error_set(p->err, kp->line, kp->col,
                       "keys nested deeper than %d levels are not supported",
                       DT__TOML_MAX_DEPTH);
    goto out;
  }
  for (i = 0; i < k.n - 1; i++) {
    dt__toml_keypart *kp = &k.part[i];
    if ((c = find(t, kp->s)) == NULL) {
      if ((c = node_new(DT__TOML_TABLE, kp->line, kp->col)) == NULL) {
        rc = dt__toml_oom(p);
        goto out;
      }
      c->flags = F_DOTTED;
      take_key(c, kp);
      if ((rc = attach(p, t, c)) != 0)
        goto out;
    } else if (c->kind != DT__TOML_TABLE || !(c->flags & F_DOTTED)) {
      rc = cannot_extend(p, &k, i, c, 1);
      goto out;
    }
    t = c;
  }
  if ((c = find(t, k.part[k.n - 1].s)) != NULL) {
    dt__toml_path_name(&k, k.n, p->name, sizeof p->name);
    rc = dt__error_set(p->err, k.part[k.n - 1].line, k.part[k.n - 1].col,
                       "duplicate key '%s' (first defined at line %d); "
                       "remove one of them",
                       p->name, c->key_line);
    goto out;
  }
  if (dt__toml_peek(p, 0) != '=') {
    dt__toml_path_name(&k, k.n, p->name, sizeof p->name);
    snprintf(p->expected, sizeof p->expected, "'=' after the key '%s'",
             p->name);
    rc = dt__toml_unexpected(p, p->expected, "");
    goto out;
  }
  p->pos++;
  dt__toml_skip_ws(p);
  if ((c = node_new(DT__TOML_TABLE, p->line, dt__toml_col(p))) == NULL) {
    rc = dt__toml_oom(p);
    goto out;
  }
  take_key(c, &k.part[k.n - 1]);
  if ((rc = attach(p, t, c)) == 0)
    rc = parse_value(p, c, depth + k.n);
out:
  dt__toml_keypath_free(&k);
  return rc;
}

/* ------------------------------------------------------------- headers */

/* Finds or creates the table a [header] or [[header]] names and makes it
 * the current table.  hl/hc locate the header's first bracket. */
static int define_table(dt__toml_parser *p, dt__toml *root,
                        dt__toml_keypath *k, int aot, int hl, int hc) {
  dt__toml *t = root, *c = NULL, *elem;
  dt__toml_keypart *last = &k->part[k->n - 1];
  int depth = 0, rc, i;

  /* Walks the parts; the last one stops the walk once its depth is
   * checked.  A part that names an array of tables leads into its last
   * element, two levels down. */
  for (i = 0; i < k->n; i++) {
    dt__toml_keypart *kp = &k->part[i];
    int need = i == k->n - 1 && aot ? 2 : 1;
    c = find(t, kp->s);
    if (c != NULL && c->kind == DT__TOML_ARRAY && (c->flags & F_AOT))
      need = 2;
    if (depth + need > DT__TOML_MAX_DEPTH)
      return dt__error_set(p->err, kp->line, kp->col,
                           "tables nested deeper than %d levels are not "
                           "supported",
                           DT__TOML_MAX_DEPTH);
    if (i == k->n - 1)
      break;
    if (c == NULL) {
      if ((c = node_new(DT__TOML_TABLE, kp->line, kp->col)) == NULL)
        return dt__toml_oom(p);
      c->flags = F_IMPLICIT;
      take_key(c, kp);
      if ((rc = attach(p, t, c)) != 0)
        return rc;
    } else if (c->kind == DT__TOML_ARRAY && (c->flags & F_AOT)) {
      c = c->u.list.items[c->u.list.n - 1]; /* its last element */
    } else if (c->kind != DT__TOML_TABLE || (c->flags & F_INLINE)) {
      return cannot_extend(p, k, i, c, 0);
    }
    depth += need;
    t = c;
  }
  if (!aot) {
    if (c == NULL) {
      if ((c = node_new(DT__TOML_TABLE, hl, hc)) == NULL)
        return dt__toml_oom(p);
      take_key(c, last);
      if ((rc = attach(p, t, c)) != 0)
        return rc;
    } else if (c->kind == DT__TOML_TABLE && (c->flags & F_IMPLICIT)) {
      /* A table made on the path of an earlier header is defined now. */
      c->line = hl;
      c->col = hc;
      c->key_line = last->line;
      c->key_col = last->col;
    } else {
      return redefined(p, k, c, 0);
    }
    c->flags = F_EXPLICIT;
    p->cur = c;
    p->cur_depth = depth + 1;
    return 0;
  }
  if (c == NULL) {
    if ((c = node_new(DT__TOML_ARRAY, hl, hc)) == NULL)
      return dt__toml_oom(p);
    c->flags = F_AOT;
    take_key(c, last);
    if ((rc = attach(p, t, c)) != 0)
      return rc;
  } else if (c->kind != DT__TOML_ARRAY || !(c->flags & F_AOT)) {
    return redefined(p, k, c, 1);
  }
  /* Elements have no key; key_line/key_col say where their header names
   * the array, which is useful in messages. */
  if ((elem = node_new(DT__TOML_TABLE, hl, hc)) == NULL)
    return dt__toml_oom(p);
  elem->flags = F_EXPLICIT;
  elem->key_line = last->line;
  elem->key_col = last->col;
  if ((rc = attach(p, c, elem)) != 0)
    return rc;
  p->cur = elem;
  p->cur_depth = depth + 2;
  return 0;
}

/* Parses a [header] or [[header]] at the cursor. */
static int parse_header(dt__toml_parser *p, dt__toml *root) {
  int hl = p->line, hc = dt__toml_col(p), rc;
  int aot = dt__toml_peek(p, 1) == '[';
  dt__toml_keypath k = {0, 0, NULL};

  p->pos += aot ? 2 : 1;
  dt__toml_skip_ws(p);
  if ((rc = dt__toml_key(p, &k)) != 0)
    goto out;
  if (dt__toml_peek(p, 0) != ']') {
    rc = dt__toml_unexpected(p,
                             aot ? "']]' to close the array-of-tables header"
                                 : "']' to close the table header",
                             "");
    goto out;
  }
  p->pos++;
  if (aot && dt__toml_peek(p, 0) != ']') {
    rc = dt__toml_unexpected(p, "']]' to close the array-of-tables header", "");
    goto out;
  }
  p->pos += aot;
  rc = define_table(p, root, &k, aot, hl, hc);
out:
  dt__toml_keypath_free(&k);
  return rc;
}

/* Parses the whole text into root, line by line: blank lines, comments,
 * [headers] and key = value pairs. */
static int parse_document(dt__toml_parser *p, dt__toml *root) {
  /* A UTF-8 byte order mark, which some editors write, is skipped. */
  if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
    p->pos = p->bol = 3;
  for (;;) {
    const char *after = "the value";
    const char *hint = "; put each key = value pair on its own line";
    int c, rc = 0;

    dt__toml_skip_ws(p);
    if ((c = dt__toml_peek(p, 0)) < 0)
      return 0;
    if (c == '[') {
      rc = parse_header(p, root);
      after = "the table header";
      hint = "";
    } else if (c != '#' && !dt__toml_at_newline(p)) {
      rc = parse_keyval(p, p->cur, p->cur_depth);
    }
    if (rc != 0 || (rc = dt__toml_end_line(p, after, hint)) != 0)
      return rc;
  }
}

/* ------------------------------------------------------------- the API */

/* Parses text into a new tree.  On success the caller owns *out and frees
 * it with dt__toml_free; on failure nothing is stored in *out, everything
 * allocated so far is freed, and err (if not NULL) says where and why. */
int dt__toml_parse(const char *text, size_t len, dt__toml **out,
                   dt__error *err) {
  dt__toml_parser p;
  dt__toml *root;
  int rc;

  if (out == NULL || (text == NULL && len > 0))
    return dt__error_set(err, 0, 0, "dt__toml_parse: no text or no result");
  if (len > (size_t)INT_MAX)
    return dt__error_set(err, 0, 0,
                         "the configuration is larger than 2 GiB");
  memset(&p, 0, sizeof p);
  p.s = (const unsigned char *)text;
  p.len = len;
  p.line = 1;
  p.err = err;
  if ((root = node_new(DT__TOML_TABLE, 1, 1)) == NULL)
    return dt__toml_oom(&p);
  root->flags = F_EXPLICIT;
  p.cur = root;
  rc = parse_document(&p, root);
  if (p.cloc != (locale_t)0)
    freelocale(p.cloc);
  if (rc != 0) {
    node_free(root);
    return rc;
  }
  *out = root;
  return 0;
}

/* Frees root and everything below it, keys and strings included. */
void dt__toml_free(dt__toml *root) { node_free(root); }

/* Looks key up among the members of table t.  The result belongs to the
 * tree; NULL if t is not a table or has no such member. */
const dt__toml *dt__toml_get(const dt__toml *t, const char *key) {
  size_t i;
  if (t == NULL || key == NULL || t->kind != DT__TOML_TABLE)
    return NULL;
  for (i = 0; i < t->u.list.n; i++) {
    const dt__toml *m = t->u.list.items[i];
    if (m->key != NULL && strcmp(m->key, key) == 0)
      return m;
  }
  return NULL;
}

/* Returns a static name for kind, as used in messages. */
const char *dt__toml_kind_name(dt__toml_kind kind) {
  switch (kind) {
  case DT__TOML_TABLE:
    return "table";
  case DT__TOML_ARRAY:
    return "array";
  case DT__TOML_STRING:
    return "string";
  case DT__TOML_INT:
    return "integer";
  case DT__TOML_FLOAT:
    return "float";
  case DT__TOML_BOOL:
    return "boolean";
  }
  return "value";
}

/* ------------------------------------------------ reading config values */

/* Fails with a located message unless v has the wanted kind; example is
 * a correct line to show.  Used by every reader of a config section. */
int dt__toml_want(const dt__toml *v, dt__toml_kind kind, const char *section,
                const char *example, dt__error *err) {
  if (v->kind == kind)
    return 0;
  return dt__error_set(err, v->line, v->col,
                       "'%s' in %s must be %s %s, not %s %s; write for "
                       "example: %s",
                       v->key ? v->key : "value", section,
                       kind == DT__TOML_INT ? "an" : "a",
                       dt__toml_kind_name(kind),
                       v->kind == DT__TOML_INT || v->kind == DT__TOML_ARRAY
                           ? "an"
                           : "a",
                       dt__toml_kind_name(v->kind), example);
}

/* Re-locates an error from a units helper (which has no position) at v,
 * prefixed with its key and section.  Returns 0 when rc is 0, else
 * -EINVAL. */
int dt__toml_at(const dt__toml *v, const char *section, int rc,
                dt__error *err) {
  if (rc == 0)
    return 0;
  if (err != NULL) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    dt__error_set(err, v->line, v->col, "'%s' in %s: %s", v->key, section,
                  msg);
  }
  return -EINVAL;
}
