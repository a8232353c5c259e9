/* toml_scan.h: what the two layers of the TOML parser share.  Private to
 * config/toml_scan.c (characters, strings, numbers, keys) and
 * config/toml.c (the tree), which alone include it. */
#ifndef DT_TOML_SCAN_H
#define DT_TOML_SCAN_H

#include <locale.h>

#include "common/error.h"
#include "config/toml.h"

/* The deepest a table or an array may sit below the root (at depth 0). */
#define DT__TOML_MAX_DEPTH 64

/* One parse, on the caller's stack: the text, the cursor, and the table
 * that key = value lines go into. */
typedef struct dt__toml_parser {
  const unsigned char *s; /* the text */
  size_t len;
  size_t pos;    /* the next byte to read */
  int line;      /* the line of pos, 1-based */
  size_t bol;    /* the offset where that line begins */
  dt__error *err;
  dt__toml *cur; /* the table that key = value lines go into */
  int cur_depth; /* its depth below the root */
  locale_t cloc; /* the "C" locale for strtod_l, created on first use */
  /* Room for messages in parse_keyval, kept here rather than in its frame
   * because parse_keyval recurses through inline tables. */
  char name[160];
  char expected[200];
} dt__toml_parser;

/* One part of a dotted key, with where it was written.  Once the text
 * has been given to a node, owned is 0 and s still points at it (the tree
 * outlives the keypath), so messages can still name the key. */
typedef struct dt__toml_keypart {
  char *s;
  int line, col;
  int owned;
} dt__toml_keypart;

/* A dotted key: n parts in a growing array of cap. */
typedef struct dt__toml_keypath {
  int n, cap;
  dt__toml_keypart *part;
} dt__toml_keypath;

/* The cursor. */
int dt__toml_peek(const dt__toml_parser *p, size_t k);
int dt__toml_col(const dt__toml_parser *p);
int dt__toml_is_bare(int c);
int dt__toml_at_newline(const dt__toml_parser *p);
void dt__toml_skip_ws(dt__toml_parser *p);
int dt__toml_skip_blank(dt__toml_parser *p);
int dt__toml_end_line(dt__toml_parser *p, const char *after,
                      const char *hint);

/* Errors at the cursor. */
int dt__toml_unexpected(dt__toml_parser *p, const char *expected,
                        const char *hint);
int dt__toml_oom(dt__toml_parser *p);

/* Strings, keys and unquoted values. */
int dt__toml_string(dt__toml_parser *p, char **out);
int dt__toml_key(dt__toml_parser *p, dt__toml_keypath *k);
void dt__toml_keypath_free(dt__toml_keypath *k);
void dt__toml_path_name(const dt__toml_keypath *k, int n, char *out,
                        size_t sz);
int dt__toml_scalar(dt__toml_parser *p, dt__toml *n);

#endif /* DT_TOML_SCAN_H */
