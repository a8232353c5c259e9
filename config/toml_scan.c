/* toml_scan.c: the lower layer of the TOML parser (config/toml.c is the
 * upper one): everything that reads text without building the tree.
 *
 * This file owns the cursor over the text (lines, columns, whitespace,
 * comments, the end of a line), the checks on every byte (NUL, a bare
 * CR, control characters, invalid UTF-8) with their messages, and the
 * tokens that become values or keys: the four string forms with their
 * escapes, integers, floats, booleans, inf and nan, and bare, quoted and
 * dotted keys.  It never calls into toml.c: what it returns is a string,
 * a keypath or one scalar node's kind and value, and toml.c decides
 * where they go.  What the two files share is in config/toml_scan.h.
 *
 * Lines and columns are 1-based.  A column counts bytes from the start of
 * the line, not characters: that is good enough to find the spot in an
 * editor and keeps the bookkeeping trivial. */
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
#include "config/toml_scan.h"

/* The longest float, in bytes, that is accepted. */
#define MAX_FLOAT_LEN 256

/* A growing string; p is NUL-terminated whenever it is not NULL. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

/* ------------------------------------------------------------- cursor */

/* Returns the byte k places ahead of the cursor, or -1 past the end. */
int dt__toml_peek(const dt__toml_parser *p, size_t k) {
  return p->pos + k < p->len ? p->s[p->pos + k] : -1;
}

/* The column of offset at, which must lie on the current line. */
static int col_at(const dt__toml_parser *p, size_t at) {
  return (int)(at - p->bol) + 1;
}

/* The column of the cursor. */
int dt__toml_col(const dt__toml_parser *p) { return col_at(p, p->pos); }

/* True for the characters of a bare key: A-Z a-z 0-9 _ -. */
int dt__toml_is_bare(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Skips spaces and tabs (not newlines). */
void dt__toml_skip_ws(dt__toml_parser *p) {
  while (dt__toml_peek(p, 0) == ' ' || dt__toml_peek(p, 0) == '\t')
    p->pos++;
}

/* True at LF or CRLF.  A CR alone is not a newline (see bad_char). */
int dt__toml_at_newline(const dt__toml_parser *p) {
  return dt__toml_peek(p, 0) == '\n' ||
         (dt__toml_peek(p, 0) == '\r' && dt__toml_peek(p, 1) == '\n');
}

/* Steps over the newline at the cursor and starts the next line. */
static void newline(dt__toml_parser *p) {
  p->pos += dt__toml_peek(p, 0) == '\r' ? 2 : 1;
  p->line++;
  p->bol = p->pos;
}

/* Returns the length of the valid UTF-8 sequence at offset at (1 for
 * ASCII), or 0 if the bytes there are not valid UTF-8: overlong forms,
 * surrogates and code points above U+10FFFF are all rejected. */
static size_t utf8_len(const dt__toml_parser *p, size_t at) {
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
static int is_bad_byte(const dt__toml_parser *p) {
  int c = dt__toml_peek(p, 0);
  if (c < 0 || c == '\t' || c == '\n')
    return 0;
  if (c == '\r')
    return dt__toml_peek(p, 1) != '\n';
  if (c < 0x20 || c == 0x7F)
    return 1;
  return c >= 0x80 && utf8_len(p, p->pos) == 0;
}

/* Reports the bad byte at the cursor.  where finishes the sentence for a
 * control character ("in a comment"); in_string suggests an escape. */
static int bad_char(dt__toml_parser *p, const char *where, int in_string) {
  int c = dt__toml_peek(p, 0);
  int l = p->line, k = dt__toml_col(p);

  if (c == 0)
    return dt__error_set(p->err, l, k,
                         "the text contains a NUL byte; TOML text cannot "
                         "contain U+0000, remove it");
  if (c == '\r' && dt__toml_peek(p, 1) != '\n')
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
static void describe_at(const dt__toml_parser *p, size_t at, char *out,
                        size_t sz) {
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
int dt__toml_unexpected(dt__toml_parser *p, const char *expected,
                        const char *hint) {
  char what[32];

  if (is_bad_byte(p))
    return bad_char(p, "here", 0);
  describe_at(p, p->pos, what, sizeof what);
  return dt__error_set(p->err, p->line, dt__toml_col(p),
                       "expected %s, found %s%s", expected, what, hint);
}

/* Reports that memory ran out; returns -ENOMEM. */
int dt__toml_oom(dt__toml_parser *p) {
  dt__error_set(p->err, p->line, dt__toml_col(p),
                "out of memory while reading the configuration");
  return -ENOMEM;
}

/* Skips a comment up to (not over) the end of its line. */
static int skip_comment(dt__toml_parser *p) {
  p->pos++; /* '#' */
  for (;;) {
    int c = dt__toml_peek(p, 0);
    size_t n;
    if (c < 0 || dt__toml_at_newline(p))
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
int dt__toml_skip_blank(dt__toml_parser *p) {
  for (;;) {
    int rc;
    dt__toml_skip_ws(p);
    if (dt__toml_peek(p, 0) == '#') {
      if ((rc = skip_comment(p)) != 0)
        return rc;
    } else if (dt__toml_at_newline(p)) {
      newline(p);
    } else {
      return 0;
    }
  }
}

/* After a header or a key = value pair, only a comment may follow on the
 * same line.  after names what came before, for the message. */
int dt__toml_end_line(dt__toml_parser *p, const char *after,
                      const char *hint) {
  char expected[96];
  int rc;

  dt__toml_skip_ws(p);
  if (dt__toml_peek(p, 0) == '#' && (rc = skip_comment(p)) != 0)
    return rc;
  if (dt__toml_peek(p, 0) < 0)
    return 0;
  if (dt__toml_at_newline(p)) {
    newline(p);
    return 0;
  }
  snprintf(expected, sizeof expected, "a newline or a comment after %s",
           after);
  return dt__toml_unexpected(p, expected, hint);
}

/* ------------------------------------------------ buffers and key paths */

/* Appends n bytes of src to b; 0 or -ENOMEM (b is then unchanged). */
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

/* Frees the parts of k that no node has taken, and empties k. */
void dt__toml_keypath_free(dt__toml_keypath *k) {
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
void dt__toml_path_name(const dt__toml_keypath *k, int n, char *out,
                        size_t sz) {
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

/* ------------------------------------------------------------- strings */

/* The value of hexadecimal digit c, or -1. */
static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reports a string opened at ol/oc with quote q and never closed. */
static int unterminated(dt__toml_parser *p, int ol, int oc, int q,
                        int multi) {
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
static int parse_unicode(dt__toml_parser *p, sbuf *b) {
  int u = dt__toml_peek(p, 1), bl = p->line, bc = dt__toml_col(p);
  size_t nd = u == 'u' ? 4 : 8, k;
  unsigned long cp = 0;
  unsigned char enc[4];
  size_t n;

  for (k = 0; k < nd; k++) {
    int v = hexval(dt__toml_peek(p, 2 + k));
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
  return sbuf_put(b, enc, n) != 0 ? dt__toml_oom(p) : 0;
}

/* Decodes the escape at the cursor (a backslash) in a basic string.  In a
 * multi-line string, a backslash that ends a line (spaces may follow it)
 * removes itself and all whitespace and newlines up to the next visible
 * character.  ol/oc locate the opening quotes. */
static int parse_escape(dt__toml_parser *p, sbuf *b, int multi, int ol,
                        int oc) {
  int c = dt__toml_peek(p, 1);
  char ch, what[32];

  if (multi) {
    size_t k = 1;
    while (dt__toml_peek(p, k) == ' ' || dt__toml_peek(p, k) == '\t')
      k++;
    if (dt__toml_peek(p, k) == '\n' || dt__toml_peek(p, k) == '\r') {
      p->pos += k;
      for (;;) {
        if (dt__toml_peek(p, 0) == ' ' || dt__toml_peek(p, 0) == '\t')
          p->pos++;
        else if (dt__toml_at_newline(p))
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
    return dt__error_set(p->err, p->line, dt__toml_col(p),
                         "invalid escape: a backslash followed by %s; the "
                         "valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ "
                         "\\uXXXX and \\UXXXXXXXX (write \\\\ for a "
                         "backslash)",
                         what);
  }
  p->pos += 2;
  return sbuf_put(b, &ch, 1) != 0 ? dt__toml_oom(p) : 0;
}

/* Parses any of the four string forms at the cursor (a quote) and stores
 * a new NUL-terminated string in *out, owned by the caller.  Multi-line
 * strings drop a newline right after the opening quotes, and CRLF inside
 * them becomes LF.  Nothing is stored on failure. */
int dt__toml_string(dt__toml_parser *p, char **out) {
  int q = dt__toml_peek(p, 0), ol = p->line, oc = dt__toml_col(p), rc = 0;
  int multi = dt__toml_peek(p, 1) == q && dt__toml_peek(p, 2) == q;
  sbuf b = {NULL, 0, 0};

  p->pos += multi ? 3 : 1;
  if (multi && dt__toml_at_newline(p))
    newline(p);
  for (;;) {
    int c = dt__toml_peek(p, 0);
    size_t n;
    if (c < 0) {
      rc = unterminated(p, ol, oc, q, multi);
    } else if (c == q) {
      size_t run = 1, extra;
      if (!multi) {
        p->pos++;
        break;
      }
      while (run < 5 && dt__toml_peek(p, run) == q)
        run++;
      /* Up to two quotes may end the content right before the closing
       * three; fewer than three quotes are content. */
      extra = run >= 3 ? run - 3 : run;
      if (sbuf_put(&b, q == '"' ? "\"\"" : "''", extra) != 0)
        rc = dt__toml_oom(p);
      p->pos += run;
      if (rc == 0 && run >= 3)
        break;
    } else if (c == '\n' || c == '\r') {
      if (!multi)
        rc = unterminated(p, ol, oc, q, multi);
      else if (!dt__toml_at_newline(p))
        rc = bad_char(p, "", 1);
      else if (sbuf_put(&b, "\n", 1) != 0)
        rc = dt__toml_oom(p);
      else
        newline(p);
    } else if (c == '\\' && q == '"') {
      rc = parse_escape(p, &b, multi, ol, oc);
    } else if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
      if (sbuf_put(&b, p->s + p->pos, 1) != 0)
        rc = dt__toml_oom(p);
      p->pos++;
    } else if (c >= 0x80 && (n = utf8_len(p, p->pos)) > 0) {
      if (sbuf_put(&b, p->s + p->pos, n) != 0)
        rc = dt__toml_oom(p);
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
    return dt__toml_oom(p);
  *out = b.p;
  return 0;
}

/* ---------------------------------------------------------------- keys */

/* Parses one bare or quoted key at the cursor into a new part of k. */
static int parse_simple_key(dt__toml_parser *p, dt__toml_keypath *k) {
  int c = dt__toml_peek(p, 0);
  dt__toml_keypart *kp;

  if (k->n == k->cap) {
    int cap = k->cap ? k->cap * 2 : 4;
    dt__toml_keypart *np = realloc(k->part, (size_t)cap * sizeof *np);
    if (np == NULL)
      return dt__toml_oom(p);
    k->part = np;
    k->cap = cap;
  }
  kp = &k->part[k->n];
  kp->s = NULL;
  kp->owned = 1;
  kp->line = p->line;
  kp->col = dt__toml_col(p);
  if (c == '"' || c == '\'') {
    int rc;
    if (dt__toml_peek(p, 1) == c && dt__toml_peek(p, 2) == c)
      return dt__error_set(p->err, p->line, dt__toml_col(p),
                           "a multi-line string cannot be a key; write the "
                           "key as a \"basic\" or 'literal' string on one "
                           "line");
    if ((rc = dt__toml_string(p, &kp->s)) != 0)
      return rc;
  } else if (dt__toml_is_bare(c)) {
    size_t start = p->pos;
    while (dt__toml_is_bare(dt__toml_peek(p, 0)))
      p->pos++;
    if ((kp->s = malloc(p->pos - start + 1)) == NULL)
      return dt__toml_oom(p);
    memcpy(kp->s, p->s + start, p->pos - start);
    kp->s[p->pos - start] = '\0';
  } else {
    return dt__toml_unexpected(p,
                               "a key (a bare key made of A-Z a-z 0-9 _ -, "
                               "or a quoted key)",
                               "");
  }
  k->n++;
  return 0;
}

/* Parses a possibly dotted key (a . "b" . 'c') and the spaces after it.
 * The caller frees k with dt__toml_keypath_free whatever the result, and checks
 * the depth the key reaches. */
int dt__toml_key(dt__toml_parser *p, dt__toml_keypath *k) {
  for (;;) {
    int rc;
    if ((rc = parse_simple_key(p, k)) != 0)
      return rc;
    /* A key this long is too deep wherever it is used, and the caller
     * reports it at the first part past the limit: stop reading here so
     * that a pathological key cannot take much memory. */
    if (k->n > DT__TOML_MAX_DEPTH + 1)
      return 0;
    dt__toml_skip_ws(p);
    if (dt__toml_peek(p, 0) != '.')
      return 0;
    p->pos++;
    dt__toml_skip_ws(p);
  }
}

/* -------------------------------------------------------- unquoted values */

/* True if c is a digit of base (2, 8, 10 or 16). */
static int is_digit(int c, int base) {
  if (base == 16)
    return hexval(c) >= 0;
  return c >= '0' && c < '0' + base;
}

/* The name of base, for messages. */
static const char *base_name(int base) {
  return base == 16 ? "hexadecimal"
         : base == 8 ? "octal"
         : base == 2 ? "binary"
                     : "decimal";
}

/* The article before base_name(base). */
static const char *a_base(int base) { return base == 8 ? "an" : "a"; }

/* Steps *i over a run of digits of base in which each '_' sits between two
 * digits.  The run must start with a digit. */
static int digits(dt__toml_parser *p, size_t *i, size_t e, int base) {
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
static int to_int(dt__toml_parser *p, dt__toml *n, size_t b, size_t ds,
                  size_t e, int base, int neg) {
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
static int to_float(dt__toml_parser *p, dt__toml *n, size_t b, size_t e) {
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
    return dt__toml_oom(p);
  d = strtod_l(buf, &end, p->cloc);
  if (isinf(d))
    return dt__error_set(p->err, n->line, n->col,
                         "float %s is out of the range of a double", buf);
  n->kind = DT__TOML_FLOAT;
  n->u.f = d;
  return 0;
}

/* Parses the integer or float in [b, e), checking every TOML rule. */
static int parse_number(dt__toml_parser *p, dt__toml *n, size_t b, size_t e) {
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

/* True if the len bytes at t are exactly word. */
static int token_is(const char *t, size_t len, const char *word) {
  return strlen(word) == len && memcmp(t, word, len) == 0;
}

/* True for a decimal digit. */
static int is_dig(int c) { return c >= '0' && c <= '9'; }

/* Parses an unquoted value at the cursor: a boolean, a number, inf or
 * nan.  The token runs over the characters such values (and dates) use,
 * so that "truex" or "1979-05-27" are reported as a whole. */
int dt__toml_scalar(dt__toml_parser *p, dt__toml *n) {
  size_t b = p->pos, len, rlen;
  const char *t = (const char *)p->s + b, *r;
  int c;

  while ((c = dt__toml_peek(p, 0)) >= 0 &&
         (dt__toml_is_bare(c) || c == '+' || c == '.' || c == ':'))
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
