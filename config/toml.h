/* toml.h: a strict parser for the TOML subset dtask needs (config/toml.c).
 *
 * Tables, arrays of tables, dotted and quoted keys, basic and literal
 * strings (single-line and multi-line) with escapes, integers (decimal
 * with '_', hex, octal, binary), floats, booleans, arrays and inline
 * tables, comments.  Dates and times are rejected with a message.
 * Duplicate keys and redefined tables are errors.  Every node remembers
 * where it was written. */
#ifndef DT_TOML_H
#define DT_TOML_H

#include "common/error.h"

typedef enum dt__toml_kind {
  DT__TOML_TABLE,
  DT__TOML_ARRAY,
  DT__TOML_STRING,
  DT__TOML_INT,
  DT__TOML_FLOAT,
  DT__TOML_BOOL
} dt__toml_kind;

typedef struct dt__toml dt__toml;
struct dt__toml {
  dt__toml_kind kind;
  int line, col;         /* where the value starts (for a table made by a
                            [header], where the header starts) */
  char *key;             /* key within the parent table; NULL for array items
                            and the root */
  int key_line, key_col; /* where the key was written (0 for the root) */
  union {
    char *s;       /* DT__TOML_STRING: NUL-terminated, UTF-8 */
    long long i;   /* DT__TOML_INT */
    double f;      /* DT__TOML_FLOAT */
    int b;         /* DT__TOML_BOOL: 0 or 1 */
    struct {       /* DT__TOML_TABLE (members in the order written) and
                      DT__TOML_ARRAY (items in order) */
      dt__toml **items;
      size_t n;
    } list;
  } u;
  unsigned flags; /* parser bookkeeping (explicit/implicit/inline/AOT) */
};

int dt__toml_parse(const char *text, size_t len, dt__toml **out,
                   dt__error *err);
void dt__toml_free(dt__toml *root);
const dt__toml *dt__toml_get(const dt__toml *t, const char *key);
const char *dt__toml_kind_name(dt__toml_kind kind);

/* Reading one value of a config table, with messages located at it. */
int dt__toml_want(const dt__toml *v, dt__toml_kind kind, const char *section,
                  const char *example, dt__error *err);
int dt__toml_at(const dt__toml *v, const char *section, int rc,
                dt__error *err);

#endif /* DT_TOML_H */
