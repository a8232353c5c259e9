/* names.c: owns reading the names of a config's [[offload]] entries
 * without the config parser, for the preloaded shim.
 *
 * Every program started under LD_PRELOAD pays for what the shim does
 * before main.  On these machines a page fault costs about as much as
 * parsing a small config, so this reader reads the file into one private
 * mapping and keeps the names beside it, with room for the caller's own
 * table: no malloc, no stdio, no tree, and one or two pages touched for a
 * small config.
 * It understands the plain subset that configs are written in: [table]
 * and [[offload]] headers, and `symbol`, `signature`, `version`,
 * `library` and `required` written as one-line strings or booleans (a
 * signature may also be a multi-line string).  It checks nothing else.
 * Whatever it cannot read for certain (an escape in a name, another
 * multi-line string or array, a quoted or dotted key, a
 * header it cannot split, `required = true` or `[shim] strict = true`,
 * the entries or [shim] written inline at the top, `offload = [...]`)
 * it reports as "ask the full parser", which then reads the file and
 * says what is wrong with it, if anything. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/names.h"

/* The largest config file read (the full parser's limit too). */
#define NAMES_MAX_BYTES (4u << 20)

/* The bounds of one line (without its newline) and a cursor in it. */
typedef struct line {
  const char *p, *end;
} line;

/* Skips spaces and tabs. */
static void skip_ws(line *l) {
  while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
    l->p++;
}

/* Whether c may appear in a bare key. */
static bool bare(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Whether the rest of l is empty or a comment. */
static bool rest_empty(line *l) {
  skip_ws(l);
  return l->p == l->end || *l->p == '#';
}

/* Reads a one-line string ("..." without escapes, or '...') into out
 * (outsz bytes, NUL-terminated).  Returns false when the value is not
 * such a string or does not fit. */
static bool get_string(line *l, char *out, size_t outsz) {
  skip_ws(l);
  if (l->p >= l->end || (*l->p != '"' && *l->p != '\''))
    return false;
  char q = *l->p++;
  if (l->end - l->p >= 2 && l->p[0] == q && l->p[1] == q)
    return false; /* a multi-line string */
  const char *b = l->p;
  while (l->p < l->end && *l->p != q) {
    if (q == '"' && *l->p == '\\')
      return false;
    l->p++;
  }
  if (l->p >= l->end)
    return false;
  size_t n = (size_t)(l->p - b);
  l->p++;
  if (n >= outsz || memchr(b, '\0', n) != NULL)
    return false;
  memcpy(out, b, n);
  out[n] = '\0';
  return rest_empty(l);
}

/* Reads true or false.  Returns false when it is neither. */
static bool get_bool(line *l, bool *v) {
  skip_ws(l);
  size_t left = (size_t)(l->end - l->p);
  if (left >= 4 && memcmp(l->p, "true", 4) == 0) {
    *v = true;
    l->p += 4;
  } else if (left >= 5 && memcmp(l->p, "false", 5) == 0) {
    *v = false;
    l->p += 5;
  } else {
    return false;
  }
  return rest_empty(l);
}

/* Whether the value that starts at l may continue on later lines (a
 * multi-line string, or an array or inline table left open): then the
 * lines that follow could not be read one by one. */
static bool value_spans_lines(line l) {
  skip_ws(&l);
  if (l.end - l.p >= 3 && (memcmp(l.p, "\"\"\"", 3) == 0 ||
                           memcmp(l.p, "'''", 3) == 0))
    return true;
  int depth = 0;
  char q = 0;
  for (; l.p < l.end; l.p++) {
    char c = *l.p;
    if (q != 0) {
      if (q == '"' && c == '\\')
        l.p++;
      else if (c == q)
        q = 0;
    } else if (c == '"' || c == '\'') {
      q = c;
    } else if (c == '#') {
      break;
    } else if (c == '[' || c == '{') {
      depth++;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return depth > 0 || q != 0;
}

/* Reads a multi-line string ("""...""" without escapes, or '''...''')
 * that starts at l->p into out (outsz bytes, NUL-terminated; its
 * newlines kept).  It may end on a later line of text (which ends at
 * end): *next gets the offset in text of the line after the one it ends
 * on.  Returns false when it is not such a string, does not fit, or
 * leaves more than a comment after it. */
static bool get_long_string(line *l, const char *text, const char *end,
                            size_t *next, char *out, size_t outsz) {
  skip_ws(l);
  if (end - l->p < 3 || (memcmp(l->p, "\"\"\"", 3) != 0 &&
                         memcmp(l->p, "'''", 3) != 0))
    return false;
  char q = *l->p;
  const char *b = l->p + 3, *e = b;
  while (e + 3 <= end && !(e[0] == q && e[1] == q && e[2] == q)) {
    if ((q == '"' && *e == '\\') || *e == '\0')
      return false;
    e++;
  }
  if (e + 3 > end || (e + 3 < end && e[3] == q))
    return false; /* unterminated, or quotes inside the closing run */
  size_t n = (size_t)(e - b);
  if (n >= outsz)
    return false;
  memcpy(out, b, n);
  out[n] = '\0';
  const char *nl = memchr(e + 3, '\n', (size_t)(end - (e + 3)));
  line rest = {e + 3, nl != NULL ? nl : end};
  if (rest.end > rest.p && rest.end[-1] == '\r')
    rest.end--;
  *next = (size_t)((nl != NULL ? nl : end) - text) + 1;
  return rest_empty(&rest);
}

/* The function name of a signature, "int f(...)" -> "f", into out. */
static bool sig_name(const char *sig, char *out, size_t outsz) {
  const char *paren = strchr(sig, '(');
  if (paren == NULL)
    return false;
  const char *e = paren;
  while (e > sig && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  const char *b = e;
  while (b > sig && bare(b[-1]) && b[-1] != '-')
    b--;
  size_t n = (size_t)(e - b);
  if (n == 0 || n >= outsz)
    return false;
  memcpy(out, b, n);
  out[n] = '\0';
  return true;
}

/* Counts the lines that start an [[offload]] entry: a bound on the
 * entries text can hold. */
size_t dt__names_bound(const char *text, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i + 11 <= len; i++)
    if (text[i] == '[' && memcmp(text + i, "[[offload]]", 11) == 0)
      n++;
  return n;
}

/* The entry being read: its names until it is stored. */
typedef struct cur {
  char symbol[128], version[64], library[256]; /* dt__offload's sizes */
  char sig[512];
  bool has_sig;
} cur;

/* Copies s into the pool at *used (NUL-terminated) and returns the copy;
 * "" is not copied. */
static const char *keep(const char *s, char *pool, size_t *used) {
  if (s[0] == '\0')
    return "";
  size_t k = strlen(s) + 1;
  char *p = pool + *used;
  memcpy(p, s, k);
  *used += k;
  return p;
}

/* Ends the entry c: names it from its signature when it has no symbol
 * key, and stores it into e.  Returns false when it has no name. */
static bool store(cur *c, dt__name *e, char *pool, size_t *used) {
  if (c->symbol[0] == '\0' &&
      (!c->has_sig || !sig_name(c->sig, c->symbol, sizeof c->symbol)))
    return false;
  e->symbol = keep(c->symbol, pool, used);
  e->version = keep(c->version, pool, used);
  e->library = keep(c->library, pool, used);
  e->imported = e->defined = 0;
  return true;
}

/* dt__names_read's reading; *n counts an entry from its header, before
 * it is stored. */
static int scan(const char *text, size_t len, dt__name *out, size_t max,
                char *pool, size_t *n) {
  enum { ROOT, OTHER, OFFLOAD, SHIM } sec = ROOT;
  cur c;
  size_t used = 0;
  *n = 0;
  for (size_t at = 0; at <= len;) {
    const char *nl = memchr(text + at, '\n', len - at);
    line l = {text + at, nl != NULL ? nl : text + len};
    at = (size_t)(l.end - text) + 1;
    if (l.end > l.p && l.end[-1] == '\r')
      l.end--;
    if (rest_empty(&l))
      continue;
    if (*l.p == '[') {
      /* A header: [[offload]], [shim], or another table. */
      bool aot = l.end - l.p >= 2 && l.p[1] == '[';
      l.p += aot ? 2 : 1;
      skip_ws(&l);
      const char *b = l.p;
      while (l.p < l.end && bare(*l.p))
        l.p++;
      size_t k = (size_t)(l.p - b);
      skip_ws(&l);
      if (k == 0 || l.p >= l.end || *l.p != ']' ||
          (aot && (l.end - l.p < 2 || l.p[1] != ']')))
        return DT__NAMES_ASK; /* quoted or dotted, or malformed */
      l.p += aot ? 2 : 1;
      if (!rest_empty(&l))
        return DT__NAMES_ASK;
      if (sec == OFFLOAD && !store(&c, &out[*n - 1], pool, &used))
        return DT__NAMES_ASK;
      if (aot && k == 7 && memcmp(b, "offload", 7) == 0) {
        if (*n >= max)
          return -E2BIG;
        memset(&c, 0, offsetof(cur, sig));
        c.sig[0] = '\0';
        c.has_sig = false;
        (*n)++;
        sec = OFFLOAD;
      } else if (!aot && k == 4 && memcmp(b, "shim", 4) == 0) {
        sec = SHIM;
      } else if (aot || (k == 7 && memcmp(b, "offload", 7) == 0)) {
        return DT__NAMES_ASK;
      } else {
        sec = OTHER;
      }
      continue;
    }
    /* key = value */
    const char *kb = l.p;
    while (l.p < l.end && bare(*l.p))
      l.p++;
    size_t k = (size_t)(l.p - kb);
    skip_ws(&l);
    if (k == 0 || l.p >= l.end || *l.p != '=')
      return DT__NAMES_ASK; /* a quoted or dotted key, or not TOML */
    l.p++;
    bool in_entry = sec == OFFLOAD;
    bool v;
#define KEY(s) (k == sizeof s - 1 && memcmp(kb, s, k) == 0)
    /* offload = [ { ... } ] or shim = { ... } written inline: the same
     * tables, which only the full parser reads. */
    if (sec == ROOT && (KEY("offload") || KEY("shim")))
      return DT__NAMES_ASK;
    if (in_entry && KEY("signature") &&
        get_long_string(&l, text, text + len, &at, c.sig, sizeof c.sig)) {
      c.has_sig = true;
      continue;
    }
    if (value_spans_lines(l))
      return DT__NAMES_ASK;
    if (sec == SHIM && KEY("strict")) {
      if (!get_bool(&l, &v) || v)
        return DT__NAMES_ASK;
    } else if (!in_entry) {
      continue;
    } else if (KEY("symbol")) {
      if (!get_string(&l, c.symbol, sizeof c.symbol) || c.symbol[0] == 0)
        return DT__NAMES_ASK;
    } else if (KEY("signature")) {
      if (!get_string(&l, c.sig, sizeof c.sig))
        return DT__NAMES_ASK;
      c.has_sig = true;
    } else if (KEY("version")) {
      if (!get_string(&l, c.version, sizeof c.version))
        return DT__NAMES_ASK;
    } else if (KEY("library")) {
      if (!get_string(&l, c.library, sizeof c.library))
        return DT__NAMES_ASK;
    } else if (KEY("required")) {
      if (!get_bool(&l, &v) || v)
        return DT__NAMES_ASK;
    }
#undef KEY
  }
  if (sec == OFFLOAD && !store(&c, &out[*n - 1], pool, &used))
    return DT__NAMES_ASK;
  return 0;
}

/* Reads the names of the [[offload]] entries of len bytes of config text
 * into out (max entries, the caller's; *n gets how many); their strings
 * go into pool, which must hold DT__NAMES_POOL(len, max) bytes (each
 * string is a piece of text plus its NUL, at most three per entry), and
 * the entries point into it.  Returns 0 when every entry was read;
 * DT__NAMES_ASK when the full parser must decide (see the file comment),
 * with *n 0 (an entry left half read has no name to watch); or -E2BIG
 * with more than max entries.  Owns nothing; allocates nothing. */
int dt__names_read(const char *text, size_t len, dt__name *out, size_t max,
                   char *pool, size_t *n) {
  int rc = scan(text, len, out, max, pool, n);
  if (rc == DT__NAMES_ASK)
    *n = 0;
  return rc;
}

/* Rounds n up to a multiple of 16. */
static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Reads the config file at path and the names of its [[offload]] entries
 * into one private anonymous mapping, laid out as the text, then `room`
 * (fixed bytes plus per_entry bytes per entry, zeroed, 16-aligned: the
 * caller's own table), then the entries and their strings, so that a
 * small config touches one or two pages.  The mapping is reserved for
 * the largest number of entries the file's size allows, but only what is
 * written is ever touched.  On success out owns the mapping (the caller
 * keeps it for the process's life, or munmaps out->map, out->mapsz).
 * Returns 0 when every entry was read, DT__NAMES_ASK when the full parser
 * must decide (out is filled all the same), or a negative errno (nothing
 * mapped; -EFBIG past the full parser's limit). */
int dt__names_load(const char *path, size_t fixed, size_t per_entry,
                   dt__names *out) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -EINVAL;
  }
  if ((uint64_t)st.st_size > NAMES_MAX_BYTES) {
    close(fd);
    return -EFBIG;
  }
  size_t len = (size_t)st.st_size;
  size_t emax = len / 11 + 1; /* "[[offload]]" is 11 bytes */
  size_t total = up16(len + 1) + up16(fixed + emax * per_entry) +
                 emax * sizeof(dt__name) + len + 3 * emax;
  char *m = mmap(NULL, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    close(fd);
    return -ENOMEM;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, m + got, len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  len = got; /* a file that shrank while read is read as it was */
  size_t e = dt__names_bound(m, len);
  out->map = m;
  out->mapsz = total;
  out->room = m + up16(len + 1);
  out->entries = (dt__name *)(out->room + up16(fixed + e * per_entry));
  char *pool = (char *)(out->entries + e);
  return dt__names_read(m, len, out->entries, e, pool, &out->n) == 0
             ? 0
             : DT__NAMES_ASK;
}
