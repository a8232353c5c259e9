/* toml.c: a strict parser for the subset of TOML 1.0 that dtask reads.
 *
 * Debian 12 packages no C TOML library, and the shim must not pull a large
 * dependency into every process it is preloaded into, so dtask carries its
 * own parser.  This file owns the whole text-to-tree step: it turns config
 * text into a tree of dt__toml nodes (tables, arrays and scalars) and
 * nothing else; what the keys mean is config.c's business.
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
 * Design notes:
 *   - The parser holds no global state; everything lives in a struct
 *     parser on the caller's stack, so concurrent parses are safe.
 *   - Every node is attached to the tree as soon as it is created and is
 *     kept consistent while its value is parsed, so any error path only
 *     has to free the root: nothing can leak.
 *   - Nesting (arrays, inline tables, dotted keys, headers) is capped at
 *     MAX_DEPTH levels, which bounds the recursion of the parser and of
 *     dt__toml_free.
 *   - A dotted key only creates tables or adds to tables that dotted keys
 *     created; it never reaches into a table made by a [header], even one
 *     made implicitly on the way to [a.b.c].  TOML 1.0 is ambiguous there
 *     (toml-lang/toml#846); this is toml-test's reading (invalid/table/
 *     injection-1 and -2) and toml++'s.  Headers may add sub-tables to
 *     tables made by dotted keys, but not define them again.
 *   - Lines and columns are 1-based.  A column counts bytes from the start
 *     of the line, not characters: that is good enough to find the spot in
 *     an editor and keeps the bookkeeping trivial.
 *   - Members of a table are kept in the order written and looked up by a
 *     linear scan; config files have a handful of keys per table. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/toml.h"

/* The deepest a table or an array may sit below the root (at depth 0). */
#define MAX_DEPTH 64

/* The longest float, in bytes, that is accepted. */
#define MAX_FLOAT_LEN 256

/* Bookkeeping kept in dt__toml.flags. */
enum {
  F_IMPLICIT = 1u << 0, /* table created on the path of a [a.b] header */
  F_EXPLICIT = 1u << 1, /* table defined by its own header (or the root) */
  F_DOTTED = 1u << 2,   /* table created by a dotted key (a.b = 1) */
  F_INLINE = 1u << 3,   /* inline table { ... }: sealed once written */
  F_AOT = 1u << 4       /* array created by [[header]]s */
};

typedef struct parser {
  const unsigned char *s; /* the text */
  size_t len;
  size_t pos;   /* the next byte to read */
  int line;     /* the line of pos, 1-based */
  size_t bol;   /* the offset where that line begins */
  dt__error *err;
  dt__toml *cur; /* the table that key = value lines go into */
  int cur_depth; /* its depth below the root */
  locale_t cloc; /* the "C" locale for strtod_l, created on first use */
  /* Room for messages in parse_keyval, kept here rather than in its frame
   * because parse_keyval recurses through inline tables. */
  char name[160];
  char expected[200];
} parser;

/* A growing string; p is NUL-terminated whenever it is not NULL. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

/* One part of a dotted key, with where it was written.  Once the text
 * has been given to a node, owned is 0 and s still points at it (the tree
 * outlives the keypath), so messages can still name the key. */
typedef struct keypart {
  char *s;
  int line, col;
  int owned;
} keypart;

typedef struct keypath {
  int n, cap;
  keypart *part;
} keypath;

static int parse_value(parser *p, dt__toml *n, int depth);
static int parse_keyval(parser *p, dt__toml *table, int depth);

/* ------------------------------------------------------------ reading */

/* Returns the byte k places ahead of the cursor, or -1 past the end. */
static int peek(const parser *p, size_t k) {
  return p->pos + k < p->len ? p->s[p->pos + k] : -1;
}

/* The column of offset at, which must lie on the current line. */
static int col_at(const parser *p, size_t at) {
  return (int)(at - p->bol) + 1;
}

static int col(const parser *p) { return col_at(p, p->pos); }

static int is_bare(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void skip_ws(parser *p) {
  while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
    p->pos++;
}

/* True at LF or CRLF.  A CR alone is not a newline (see bad_char). */
static int at_newline(const parser *p) {
  return peek(p, 0) == '\n' || (peek(p, 0) == '\r' && peek(p, 1) == '\n');
}

/* Steps over the newline at the cursor and starts the next line. */
static void newline(parser *p) {
  p->pos += peek(p, 0) == '\r' ? 2 : 1;
  p->line++;
  p->bol = p->pos;
}

/* Returns the length of the valid UTF-8 sequence at offset at (1 for
 * ASCII), or 0 if the bytes there are not valid UTF-8: overlong forms,
 * surrogates and code points above U+10FFFF are all rejected. */
static size_t utf8_len(const parser *p, size_t at) {
  const unsigned char *s = p->s + at;
  size_t left = p->len - at, n, i;
  unsigned lo = 0x80, hi = 0xBF;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    n = 2;
  } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    n = 3;
    lo = s[0] == 0xE0 ? 0xA0 : 0x80;
    hi = s[0] == 0xED ? 0x9F : 0xBF;
  } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    n = 4;
    lo = s[0] == 0xF0 ? 0x90 : 0x80;
    hi = s[0] == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (left < n || s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return n;
}

/* True if the byte at the cursor can never appear in TOML text at this
 * place: NUL, a CR without LF, another control character, or a byte that
 * does not start valid UTF-8. */
static int is_bad_byte(const parser *p) {
  int c = peek(p, 0);
  if (c < 0 || c == '\t' || c == '\n')
    return 0;
  if (c == '\r')
    return peek(p, 1) != '\n';
  if (c < 0x20 || c == 0x7F)
    return 1;
  return c >= 0x80 && utf8_len(p, p->pos) == 0;
}

/* Reports the bad byte at the cursor.  where finishes the sentence for a
 * control character ("in a comment"); in_string suggests an escape. */
static int bad_char(parser *p, const char *where, int in_string) {
  int c = peek(p, 0);
  int l = p->line, k = col(p);

  if (c == 0)
    return dt__error_set(p->err, l, k,
                         "the text contains a NUL byte; TOML text cannot "
                         "contain U+0000, remove it");
  if (c == '\r' && peek(p, 1) != '\n')
    return dt__error_set(p->err, l, k,
                         "carriage return (CR) without a line feed; end "
                         "lines with LF or CRLF");
  if (c >= 0x80)
    return dt__error_set(p->err, l, k,
                         "invalid UTF-8 sequence starting with byte 0x%02X; "
                         "save the file as UTF-8",
                         (unsigned)c);
  if (in_string)
    return dt__error_set(p->err, l, k,
                         "control character U+%04X is not allowed in a "
                         "string; write it as the escape \\u%04X",
                         (unsigned)c, (unsigned)c);
  return dt__error_set(p->err, l, k,
                       "control character U+%04X is not allowed %s",
                       (unsigned)c, where);
}

/* Describes the character at offset at for a message: 'x', "the end of
 * the line", "the end of the text". */
static void describe_at(const parser *p, size_t at, char *out, size_t sz) {
  int c = at < p->len ? p->s[at] : -1;
  size_t n;

  if (c < 0)
    snprintf(out, sz, "the end of the text");
  else if (c == '\n' || c == '\r')
    snprintf(out, sz, "the end of the line");
  else if (c == '\t')
    snprintf(out, sz, "a tab");
  else if (c >= 0x20 && c < 0x7F)
    snprintf(out, sz, "'%c'", c);
  else if (c >= 0x80 && (n = utf8_len(p, at)) > 0)
    snprintf(out, sz, "'%.*s'", (int)n, (const char *)p->s + at);
  else
    snprintf(out, sz, "byte 0x%02X", (unsigned)c);
}

/* Reports that the cursor is not at what was expected.  hint, which may be
 * "", is appended to the sentence. */
static int unexpected(parser *p, const char *expected, const char *hint) {
  char what[32];

  if (is_bad_byte(p))
    return bad_char(p, "here", 0);
  describe_at(p, p->pos, what, sizeof what);
  return dt__error_set(p->err, p->line, col(p), "expected %s, found %s%s",
                       expected, what, hint);
}

static int oom(parser *p) {
  dt__error_set(p->err, p->line, col(p),
                "out of memory while reading the configuration");
  return -ENOMEM;
}

/* Skips a comment up to (not over) the end of its line. */
static int skip_comment(parser *p) {
  p->pos++; /* '#' */
  for (;;) {
    int c = peek(p, 0);
    size_t n;
    if (c < 0 || at_newline(p))
      return 0;
    if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
      p->pos++;
      continue;
    }
    if (c >= 0x80 && (n = utf8_len(p, p->pos)) > 0) {
      p->pos += n;
      continue;
    }
    return bad_char(p, "in a comment", 0);
  }
}

/* Skips spaces, comments and newlines, as allowed inside an array. */
static int skip_blank(parser *p) {
  for (;;) {
    int rc;
    skip_ws(p);
    if (peek(p, 0) == '#') {
      if ((rc = skip_comment(p)) != 0)
        return rc;
    } else if (at_newline(p)) {
      newline(p);
    } else {
      return 0;
    }
  }
}

/* After a header or a key = value pair, only a comment may follow on the
 * same line.  after names what came before, for the message. */
static int end_line(parser *p, const char *after, const char *hint) {
  char expected[96];
  int rc;

  skip_ws(p);
  if (peek(p, 0) == '#' && (rc = skip_comment(p)) != 0)
    return rc;
  if (peek(p, 0) < 0)
    return 0;
  if (at_newline(p)) {
    newline(p);
    return 0;
  }
  snprintf(expected, sizeof expected, "a newline or a comment after %s",
           after);
  return unexpected(p, expected, hint);
}

/* ------------------------------------------------------------- storage */

static int sbuf_put(sbuf *b, const void *src, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap != 0 ? b->cap : 32;
    char *np;
    while (cap < b->n + n + 1)
      cap *= 2;
    if ((np = realloc(b->p, cap)) == NULL)
      return -ENOMEM;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
  b->p[b->n] = '\0';
  return 0;
}

static dt__toml *node_new(dt__toml_kind kind, int line, int col) {
  dt__toml *n = calloc(1, sizeof *n);
  if (n != NULL) {
    n->kind = kind;
    n->line = line;
    n->col = col;
  }
  return n;
}

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
static int attach(parser *p, dt__toml *parent, dt__toml *child) {
  size_t n = parent->u.list.n;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    size_t cap = n == 0 ? 4 : n * 2;
    dt__toml **items = realloc(parent->u.list.items, cap * sizeof *items);
    if (items == NULL) {
      node_free(child);
      return oom(p);
    }
    parent->u.list.items = items;
  }
  parent->u.list.items[n] = child;
  parent->u.list.n = n + 1;
  return 0;
}

/* Gives the key text of kp to n and records where it was written. */
static void take_key(dt__toml *n, keypart *kp) {
  n->key = kp->s;
  kp->owned = 0;
  n->key_line = kp->line;
  n->key_col = kp->col;
}

static void keypath_free(keypath *k) {
  int i;
  for (i = 0; i < k->n; i++)
    if (k->part[i].owned)
      free(k->part[i].s);
  free(k->part);
  k->part = NULL;
  k->n = k->cap = 0;
}

/* Copies s into out for a message: control bytes become '?', and a long
 * key is cut with "...". */
static void show(const char *s, char *out, size_t sz) {
  size_t i;
  for (i = 0; s[i] != '\0' && i + 1 < sz; i++)
    out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7F) ? '?' : s[i];
  out[i] = '\0';
  if (s[i] != '\0' && sz >= 4)
    memcpy(out + sz - 4, "...", 4);
}

/* Writes the first n parts of k joined by dots, for a message. */
static void path_name(const keypath *k, int n, char *out, size_t sz) {
  char part[80];
  size_t used = 0;
  int i;
  out[0] = '\0';
  for (i = 0; i < n && used + 1 < sz; i++) {
    show(k->part[i].s, part, sizeof part);
    used += (size_t)snprintf(out + used, sz - used, "%s%s", i ? "." : "",
                             part);
  }
}

static const char *a_kind(dt__toml_kind kind) {
  return kind == DT__TOML_INT || kind == DT__TOML_ARRAY ? "an" : "a";
}

/* ------------------------------------------------------------- strings */

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int unterminated(parser *p, int ol, int oc, int q, int multi) {
  if (multi)
    return dt__error_set(p->err, ol, oc,
                         "this multi-line string is never closed; add "
                         "%c%c%c after its last character",
                         q, q, q);
  return dt__error_set(p->err, ol, oc,
                       "this string is never closed; add a closing %c on the "
                       "same line (use %c%c%c for a multi-line string)",
                       q, q, q, q);
}

/* Decodes \uXXXX or \UXXXXXXXX at the cursor (the backslash) into b. */
static int parse_unicode(parser *p, sbuf *b) {
  int u = peek(p, 1), bl = p->line, bc = col(p);
  size_t nd = u == 'u' ? 4 : 8, k;
  unsigned long cp = 0;
  unsigned char enc[4];
  size_t n;

  for (k = 0; k < nd; k++) {
    int v = hexval(peek(p, 2 + k));
    if (v < 0)
      return dt__error_set(p->err, bl, bc,
                           "\\%c must be followed by exactly %d hexadecimal "
                           "digits",
                           u, (int)nd);
    cp = cp * 16 + (unsigned long)v;
  }
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return dt__error_set(p->err, bl, bc,
                         "\\%c%.*s is not a Unicode scalar value (surrogates "
                         "D800-DFFF and values above 10FFFF are not allowed)",
                         u, (int)nd, (const char *)p->s + p->pos + 2);
  if (cp == 0)
    return dt__error_set(p->err, bl, bc,
                         "\\%c%.*s (NUL) is not allowed: dtask's strings are "
                         "NUL-terminated",
                         u, (int)nd, (const char *)p->s + p->pos + 2);
  if (cp < 0x80) {
    enc[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    enc[0] = (unsigned char)(0xC0 | (cp >> 6));
    enc[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    enc[0] = (unsigned char)(0xE0 | (cp >> 12));
    enc[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    enc[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    enc[0] = (unsigned char)(0xF0 | (cp >> 18));
    enc[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    enc[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    enc[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  p->pos += 2 + nd;
  return sbuf_put(b, enc, n) != 0 ? oom(p) : 0;
}

/* Decodes the escape at the cursor (a backslash) in a basic string.  In a
 * multi-line string, a backslash that ends a line (spaces may follow it)
 * removes itself and all whitespace and newlines up to the next visible
 * character.  ol/oc locate the opening quotes. */
static int parse_escape(parser *p, sbuf *b, int multi, int ol, int oc) {
  int c = peek(p, 1);
  char ch, what[32];

  if (multi) {
    size_t k = 1;
    while (peek(p, k) == ' ' || peek(p, k) == '\t')
      k++;
    if (peek(p, k) == '\n' || peek(p, k) == '\r') {
      p->pos += k;
      for (;;) {
        if (peek(p, 0) == ' ' || peek(p, 0) == '\t')
          p->pos++;
        else if (at_newline(p))
          newline(p);
        else
          return 0; /* a bare CR is reported by the caller */
      }
    }
  }
  switch (c) {
  case 'b': ch = '\b'; break;
  case 't': ch = '\t'; break;
  case 'n': ch = '\n'; break;
  case 'f': ch = '\f'; break;
  case 'r': ch = '\r'; break;
  case '"': ch = '"'; break;
  case '\\': ch = '\\'; break;
  case 'u':
  case 'U':
    return parse_unicode(p, b);
  case -1:
    return unterminated(p, ol, oc, '"', multi);
  default:
    describe_at(p, p->pos + 1, what, sizeof what);
    return dt__error_set(p->err, p->line, col(p),
                         "invalid escape: a backslash followed by %s; the "
                         "valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ "
                         "\\uXXXX and \\UXXXXXXXX (write \\\\ for a "
                         "backslash)",
                         what);
  }
  p->pos += 2;
  return sbuf_put(b, &ch, 1) != 0 ? oom(p) : 0;
}

/* Parses any of the four string forms at the cursor (a quote) and stores
 * a new NUL-terminated string in *out, owned by the caller.  Multi-line
 * strings drop a newline right after the opening quotes, and CRLF inside
 * them becomes LF.  Nothing is stored on failure. */
static int parse_string(parser *p, char **out) {
  int q = peek(p, 0), ol = p->line, oc = col(p), rc = 0;
  int multi = peek(p, 1) == q && peek(p, 2) == q;
  sbuf b = {NULL, 0, 0};

  p->pos += multi ? 3 : 1;
  if (multi && at_newline(p))
    newline(p);
  for (;;) {
    int c = peek(p, 0);
    size_t n;
    if (c < 0) {
      rc = unterminated(p, ol, oc, q, multi);
    } else if (c == q) {
      size_t run = 1, extra;
      if (!multi) {
        p->pos++;
        break;
      }
      while (run < 5 && peek(p, run) == q)
        run++;
      /* Up to two quotes may end the content right before the closing
       * three; fewer than three quotes are content. */
      extra = run >= 3 ? run - 3 : run;
      if (sbuf_put(&b, q == '"' ? "\"\"" : "''", extra) != 0)
        rc = oom(p);
      p->pos += run;
      if (rc == 0 && run >= 3)
        break;
    } else if (c == '\n' || c == '\r') {
      if (!multi)
        rc = unterminated(p, ol, oc, q, multi);
      else if (!at_newline(p))
        rc = bad_char(p, "", 1);
      else if (sbuf_put(&b, "\n", 1) != 0)
        rc = oom(p);
      else
        newline(p);
    } else if (c == '\\' && q == '"') {
      rc = parse_escape(p, &b, multi, ol, oc);
    } else if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
      if (sbuf_put(&b, p->s + p->pos, 1) != 0)
        rc = oom(p);
      p->pos++;
    } else if (c >= 0x80 && (n = utf8_len(p, p->pos)) > 0) {
      if (sbuf_put(&b, p->s + p->pos, n) != 0)
        rc = oom(p);
      p->pos += n;
    } else {
      rc = bad_char(p, "", 1);
    }
    if (rc != 0) {
      free(b.p);
      return rc;
    }
  }
  if (b.p == NULL && sbuf_put(&b, "", 0) != 0)
    return oom(p);
  *out = b.p;
  return 0;
}

/* ---------------------------------------------------------------- keys */

/* Parses one bare or quoted key at the cursor into a new part of k. */
static int parse_simple_key(parser *p, keypath *k) {
  int c = peek(p, 0);
  keypart *kp;

  if (k->n == k->cap) {
    int cap = k->cap ? k->cap * 2 : 4;
    keypart *np = realloc(k->part, (size_t)cap * sizeof *np);
    if (np == NULL)
      return oom(p);
    k->part = np;
    k->cap = cap;
  }
  kp = &k->part[k->n];
  kp->s = NULL;
  kp->owned = 1;
  kp->line = p->line;
  kp->col = col(p);
  if (c == '"' || c == '\'') {
    int rc;
    if (peek(p, 1) == c && peek(p, 2) == c)
      return dt__error_set(p->err, p->line, col(p),
                           "a multi-line string cannot be a key; write the "
                           "key as a \"basic\" or 'literal' string on one "
                           "line");
    if ((rc = parse_string(p, &kp->s)) != 0)
      return rc;
  } else if (is_bare(c)) {
    size_t start = p->pos;
    while (is_bare(peek(p, 0)))
      p->pos++;
    if ((kp->s = malloc(p->pos - start + 1)) == NULL)
      return oom(p);
    memcpy(kp->s, p->s + start, p->pos - start);
    kp->s[p->pos - start] = '\0';
  } else {
    return unexpected(p,
                      "a key (a bare key made of A-Z a-z 0-9 _ -, or a "
                      "quoted key)",
                      "");
  }
  k->n++;
  return 0;
}

/* Parses a possibly dotted key (a . "b" . 'c') and the spaces after it.
 * The caller frees k with keypath_free whatever the result, and checks
 * the depth the key reaches. */
static int parse_key(parser *p, keypath *k) {
  for (;;) {
    int rc;
    if ((rc = parse_simple_key(p, k)) != 0)
      return rc;
    /* A key this long is too deep wherever it is used, and the caller
     * reports it at the first part past the limit: stop reading here so
     * that a pathological key cannot take much memory. */
    if (k->n > MAX_DEPTH + 1)
      return 0;
    skip_ws(p);
    if (peek(p, 0) != '.')
      return 0;
    p->pos++;
    skip_ws(p);
  }
}

/* Reports that part i of k names c, which cannot be descended into (by a
 * dotted key when dotted, else by a header). */
static int cannot_extend(parser *p, const keypath *k, int i,
                         const dt__toml *c, int dotted) {
  char name[160];
  const keypart *kp = &k->part[i];

  path_name(k, i + 1, name, sizeof name);
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
static int redefined(parser *p, const keypath *k, const dt__toml *c,
                     int aot) {
  char name[160];
  const keypart *kp = &k->part[k->n - 1];
  int l = kp->line, cl = kp->col;

  path_name(k, k->n, name, sizeof name);
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

/* --------------------------------------------------------------- values */

static int is_digit(int c, int base) {
  if (base == 16)
    return hexval(c) >= 0;
  return c >= '0' && c < '0' + base;
}

static const char *base_name(int base) {
  return base == 16 ? "hexadecimal"
         : base == 8 ? "octal"
         : base == 2 ? "binary"
                     : "decimal";
}

static const char *a_base(int base) { return base == 8 ? "an" : "a"; }

/* Steps *i over a run of digits of base in which each '_' sits between two
 * digits.  The run must start with a digit. */
static int digits(parser *p, size_t *i, size_t e, int base) {
  char what[32];
  if (*i >= e || !is_digit(p->s[*i], base)) {
    describe_at(p, *i < e ? *i : e, what, sizeof what);
    return dt__error_set(p->err, p->line, col_at(p, *i),
                         "expected %s %s digit here, found %s",
                         a_base(base), base_name(base), what);
  }
  while (*i < e) {
    if (is_digit(p->s[*i], base))
      (*i)++;
    else if (p->s[*i] == '_' && *i + 1 < e && is_digit(p->s[*i + 1], base))
      (*i)++;
    else if (p->s[*i] == '_')
      return dt__error_set(p->err, p->line, col_at(p, *i),
                           "an underscore in a number must sit between two "
                           "digits");
    else
      break;
  }
  return 0;
}

/* Converts the digits in [ds, e) (underscores skipped) to n->u.i. */
static int to_int(parser *p, dt__toml *n, size_t b, size_t ds, size_t e,
                  int base, int neg) {
  unsigned long long v = 0, lim = LLONG_MAX;
  size_t i;

  if (neg)
    lim += 1;
  for (i = ds; i < e; i++) {
    unsigned d;
    if (p->s[i] == '_')
      continue;
    d = (unsigned)hexval(p->s[i]);
    if (v > (lim - d) / (unsigned)base)
      return dt__error_set(p->err, n->line, n->col,
                           "integer %.*s does not fit in 64 bits (the range "
                           "is -9223372036854775808 to 9223372036854775807)",
                           (int)(e - b), (const char *)p->s + b);
    v = v * (unsigned)base + d;
  }
  n->kind = DT__TOML_INT;
  n->u.i = !neg ? (long long)v : v == lim ? LLONG_MIN : -(long long)v;
  return 0;
}

/* Converts the validated float in [b, e) to n->u.f.  strtod_l with the
 * "C" locale is used because the program the shim runs in may have set a
 * locale whose decimal point is not '.'. */
static int to_float(parser *p, dt__toml *n, size_t b, size_t e) {
  char buf[MAX_FLOAT_LEN + 1], *end;
  size_t i, k = 0;
  double d;

  if (e - b > MAX_FLOAT_LEN)
    return dt__error_set(p->err, n->line, n->col,
                         "this number is longer than %d characters",
                         MAX_FLOAT_LEN);
  for (i = b; i < e; i++)
    if (p->s[i] != '_')
      buf[k++] = (char)p->s[i];
  buf[k] = '\0';
  if (p->cloc == (locale_t)0 &&
      (p->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)) ==
          (locale_t)0)
    return oom(p);
  d = strtod_l(buf, &end, p->cloc);
  if (isinf(d))
    return dt__error_set(p->err, n->line, n->col,
                         "float %s is out of the range of a double", buf);
  n->kind = DT__TOML_FLOAT;
  n->u.f = d;
  return 0;
}

/* Parses the integer or float in [b, e), checking every TOML rule. */
static int parse_number(parser *p, dt__toml *n, size_t b, size_t e) {
  const unsigned char *s = p->s;
  size_t i = b, ib;
  int neg = 0, sign = 0, is_float = 0, rc;

  if (s[i] == '+' || s[i] == '-') {
    neg = s[i] == '-';
    sign = 1;
    i++;
  }
  if (i + 1 < e && s[i] == '0' &&
      (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
    int base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
    size_t ds = i + 2;
    if (sign)
      return dt__error_set(p->err, n->line, n->col,
                           "a sign is not allowed on a hexadecimal, octal or "
                           "binary integer");
    i = ds;
    if ((rc = digits(p, &i, e, base)) != 0)
      return rc;
    if (i != e)
      return dt__error_set(p->err, p->line, col_at(p, i),
                           "unexpected character '%c' in a %s integer",
                           s[i], base_name(base));
    return to_int(p, n, b, ds, e, base, 0);
  }
  ib = i;
  if ((rc = digits(p, &i, e, 10)) != 0)
    return rc;
  if (s[ib] == '0' && i - ib > 1)
    return dt__error_set(p->err, p->line, col_at(p, ib),
                         "leading zeros are not allowed in a decimal number "
                         "(write 7, not 007)");
  if (i < e && s[i] == '.') {
    is_float = 1;
    i++;
    if ((rc = digits(p, &i, e, 10)) != 0)
      return rc;
  }
  if (i < e && (s[i] == 'e' || s[i] == 'E')) {
    is_float = 1;
    i++;
    if (i < e && (s[i] == '+' || s[i] == '-'))
      i++;
    if ((rc = digits(p, &i, e, 10)) != 0)
      return rc;
  }
  if (i != e)
    return dt__error_set(p->err, p->line, col_at(p, i),
                         "unexpected character '%c' in a number", s[i]);
  return is_float ? to_float(p, n, b, e) : to_int(p, n, b, ib, e, 10, neg);
}

static int token_is(const char *t, size_t len, const char *word) {
  return strlen(word) == len && memcmp(t, word, len) == 0;
}

static int is_dig(int c) { return c >= '0' && c <= '9'; }

/* Parses an unquoted value at the cursor: a boolean, a number, inf or
 * nan.  The token runs over the characters such values (and dates) use,
 * so that "truex" or "1979-05-27" are reported as a whole. */
static int parse_scalar(parser *p, dt__toml *n) {
  size_t b = p->pos, len, rlen;
  const char *t = (const char *)p->s + b, *r;
  int c;

  while ((c = peek(p, 0)) >= 0 &&
         (is_bare(c) || c == '+' || c == '.' || c == ':'))
    p->pos++;
  len = p->pos - b;
  if (token_is(t, len, "true") || token_is(t, len, "false")) {
    n->kind = DT__TOML_BOOL;
    n->u.b = t[0] == 't';
    return 0;
  }
  if ((len >= 5 && is_dig(t[0]) && is_dig(t[1]) && is_dig(t[2]) &&
       is_dig(t[3]) && t[4] == '-') ||
      (len >= 3 && is_dig(t[0]) && is_dig(t[1]) && t[2] == ':'))
    return dt__error_set(p->err, n->line, n->col,
                         "dates and times are not supported by dtask's TOML "
                         "subset; write the value as a string, e.g. "
                         "\"2024-01-01\"");
  r = t[0] == '+' || t[0] == '-' ? t + 1 : t;
  rlen = len - (size_t)(r - t);
  if (token_is(r, rlen, "inf") || token_is(r, rlen, "nan")) {
    n->kind = DT__TOML_FLOAT;
    n->u.f = r[0] == 'i' ? (double)INFINITY : (double)NAN;
    if (t[0] == '-')
      n->u.f = -n->u.f;
    return 0;
  }
  if (r != t || is_dig(r[0]) || r[0] == '.')
    return parse_number(p, n, b, p->pos);
  return dt__error_set(p->err, n->line, n->col,
                       "'%.*s' is not a valid value; booleans are written "
                       "true or false, and strings must be quoted, e.g. "
                       "\"%.*s\"",
                       (int)(len > 40 ? 40 : len), t,
                       (int)(len > 40 ? 40 : len), t);
}

/* Parses [ ... ] into n, which sits at depth. */
static int parse_array(parser *p, dt__toml *n, int depth) {
  int ol = p->line, oc = col(p), rc;

  if (depth > MAX_DEPTH)
    return dt__error_set(p->err, ol, oc,
                         "arrays and tables nested deeper than %d levels "
                         "are not supported",
                         MAX_DEPTH);
  n->kind = DT__TOML_ARRAY;
  p->pos++;
  for (;;) {
    dt__toml *item;
    /* Reached first, after an item or after a comma: so "[]" and a
     * trailing comma are both accepted. */
    if ((rc = skip_blank(p)) != 0)
      return rc;
    if (peek(p, 0) == ']') {
      p->pos++;
      return 0;
    }
    if (peek(p, 0) >= 0) {
      if ((item = node_new(DT__TOML_TABLE, p->line, col(p))) == NULL)
        return oom(p);
      if ((rc = attach(p, n, item)) != 0 ||
          (rc = parse_value(p, item, depth + 1)) != 0 ||
          (rc = skip_blank(p)) != 0)
        return rc;
    }
    if (peek(p, 0) < 0)
      return dt__error_set(p->err, ol, oc,
                           "this array is never closed; add ']' after its "
                           "last item");
    if (peek(p, 0) == ']') {
      p->pos++;
      return 0;
    }
    if (peek(p, 0) != ',')
      return unexpected(p, "',' or ']' after an array item", "");
    p->pos++;
  }
}

/* Skips spaces inside an inline table, where the line may not end. */
static int inline_ws(parser *p, int ol, int oc) {
  skip_ws(p);
  if (peek(p, 0) < 0)
    return dt__error_set(p->err, ol, oc,
                         "this inline table is never closed; add '}' on the "
                         "same line");
  if (at_newline(p))
    return dt__error_set(p->err, p->line, col(p),
                         "an inline table must be written on one line; close "
                         "it with '}' before the end of the line, or use a "
                         "[table] section");
  if (peek(p, 0) == '#')
    return dt__error_set(p->err, p->line, col(p),
                         "comments are not allowed inside an inline table");
  return 0;
}

/* Parses { k = v, ... } into n, which sits at depth. */
static int parse_inline(parser *p, dt__toml *n, int depth) {
  int ol = p->line, oc = col(p), rc;

  if (depth > MAX_DEPTH)
    return dt__error_set(p->err, ol, oc,
                         "arrays and tables nested deeper than %d levels "
                         "are not supported",
                         MAX_DEPTH);
  n->kind = DT__TOML_TABLE;
  n->flags = F_INLINE;
  p->pos++;
  if ((rc = inline_ws(p, ol, oc)) != 0)
    return rc;
  if (peek(p, 0) == '}') {
    p->pos++;
    return 0;
  }
  for (;;) {
    int cl, cc;
    if ((rc = parse_keyval(p, n, depth)) != 0 ||
        (rc = inline_ws(p, ol, oc)) != 0)
      return rc;
    if (peek(p, 0) == '}') {
      p->pos++;
      return 0;
    }
    if (peek(p, 0) != ',')
      return unexpected(p, "',' or '}' after a key = value pair", "");
    cl = p->line;
    cc = col(p);
    p->pos++;
    if ((rc = inline_ws(p, ol, oc)) != 0)
      return rc;
    if (peek(p, 0) == '}')
      return dt__error_set(p->err, cl, cc,
                           "a trailing comma is not allowed in an inline "
                           "table; remove it");
  }
}

/* Parses the value at the cursor into n, a placeholder already attached
 * to its parent, which sits at depth below the root. */
static int parse_value(parser *p, dt__toml *n, int depth) {
  int c = peek(p, 0);

  n->line = p->line;
  n->col = col(p);
  if (c == '"' || c == '\'') {
    char *s;
    int rc = parse_string(p, &s);
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
  if (c >= 0 && (is_bare(c) || c == '+' || c == '.'))
    return parse_scalar(p, n);
  return unexpected(p,
                    "a value (a string, number, boolean, array or inline "
                    "table)",
                    "");
}

/* Parses key = value into table, which sits at depth.  Dotted keys create
 * (or reuse) tables flagged F_DOTTED; they may not reach into tables made
 * by headers or inline tables. */
static int parse_keyval(parser *p, dt__toml *table, int depth) {
  keypath k = {0, 0, NULL};
  dt__toml *t = table, *c;
  int rc, i;

  if ((rc = parse_key(p, &k)) != 0)
    goto out;
  /* The parts before the last make tables at depth + 1, depth + 2, ...;
   * the value itself is checked by parse_array and parse_inline. */
  if (depth + k.n - 1 > MAX_DEPTH) {
    keypart *kp = &k.part[MAX_DEPTH - depth];
    rc = dt__error_set(p->err, kp->line, kp->col,
                       "keys nested deeper than %d levels are not supported",
                       MAX_DEPTH);
    goto out;
  }
  for (i = 0; i < k.n - 1; i++) {
    keypart *kp = &k.part[i];
    if ((c = find(t, kp->s)) == NULL) {
      if ((c = node_new(DT__TOML_TABLE, kp->line, kp->col)) == NULL) {
        rc = oom(p);
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
    path_name(&k, k.n, p->name, sizeof p->name);
    rc = dt__error_set(p->err, k.part[k.n - 1].line, k.part[k.n - 1].col,
                       "duplicate key '%s' (first defined at line %d); "
                       "remove one of them",
                       p->name, c->key_line);
    goto out;
  }
  if (peek(p, 0) != '=') {
    path_name(&k, k.n, p->name, sizeof p->name);
    snprintf(p->expected, sizeof p->expected, "'=' after the key '%s'",
             p->name);
    rc = unexpected(p, p->expected, "");
    goto out;
  }
  p->pos++;
  skip_ws(p);
  if ((c = node_new(DT__TOML_TABLE, p->line, col(p))) == NULL) {
    rc = oom(p);
    goto out;
  }
  take_key(c, &k.part[k.n - 1]);
  if ((rc = attach(p, t, c)) == 0)
    rc = parse_value(p, c, depth + k.n);
out:
  keypath_free(&k);
  return rc;
}

/* ------------------------------------------------------------- headers */

/* Finds or creates the table a [header] or [[header]] names and makes it
 * the current table.  hl/hc locate the header's first bracket. */
static int define_table(parser *p, dt__toml *root, keypath *k, int aot,
                        int hl, int hc) {
  dt__toml *t = root, *c = NULL, *elem;
  keypart *last = &k->part[k->n - 1];
  int depth = 0, rc, i;

  /* Walks the parts; the last one stops the walk once its depth is
   * checked.  A part that names an array of tables leads into its last
   * element, two levels down. */
  for (i = 0; i < k->n; i++) {
    keypart *kp = &k->part[i];
    int need = i == k->n - 1 && aot ? 2 : 1;
    c = find(t, kp->s);
    if (c != NULL && c->kind == DT__TOML_ARRAY && (c->flags & F_AOT))
      need = 2;
    if (depth + need > MAX_DEPTH)
      return dt__error_set(p->err, kp->line, kp->col,
                           "tables nested deeper than %d levels are not "
                           "supported",
                           MAX_DEPTH);
    if (i == k->n - 1)
      break;
    if (c == NULL) {
      if ((c = node_new(DT__TOML_TABLE, kp->line, kp->col)) == NULL)
        return oom(p);
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
        return oom(p);
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
      return oom(p);
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
    return oom(p);
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
static int parse_header(parser *p, dt__toml *root) {
  int hl = p->line, hc = col(p), rc;
  int aot = peek(p, 1) == '[';
  keypath k = {0, 0, NULL};

  p->pos += aot ? 2 : 1;
  skip_ws(p);
  if ((rc = parse_key(p, &k)) != 0)
    goto out;
  if (peek(p, 0) != ']') {
    rc = unexpected(p, aot ? "']]' to close the array-of-tables header"
                           : "']' to close the table header",
                    "");
    goto out;
  }
  p->pos++;
  if (aot && peek(p, 0) != ']') {
    rc = unexpected(p, "']]' to close the array-of-tables header", "");
    goto out;
  }
  p->pos += aot;
  rc = define_table(p, root, &k, aot, hl, hc);
out:
  keypath_free(&k);
  return rc;
}

static int parse_document(parser *p, dt__toml *root) {
  /* A UTF-8 byte order mark, which some editors write, is skipped. */
  if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
    p->pos = p->bol = 3;
  for (;;) {
    const char *after = "the value";
    const char *hint = "; put each key = value pair on its own line";
    int c, rc = 0;

    skip_ws(p);
    if ((c = peek(p, 0)) < 0)
      return 0;
    if (c == '[') {
      rc = parse_header(p, root);
      after = "the table header";
      hint = "";
    } else if (c != '#' && !at_newline(p)) {
      rc = parse_keyval(p, p->cur, p->cur_depth);
    }
    if (rc != 0 || (rc = end_line(p, after, hint)) != 0)
      return rc;
  }
}

/* ------------------------------------------------------------- the API */

/* Parses text into a new tree.  On success the caller owns *out and frees
 * it with dt__toml_free; on failure nothing is stored in *out, everything
 * allocated so far is freed, and err (if not NULL) says where and why. */
int dt__toml_parse(const char *text, size_t len, dt__toml **out,
                   dt__error *err) {
  parser p;
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
    return oom(&p);
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
int dt__toml_at(const dt__toml *v, const char *section, int rc, dt__error *err) {
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
