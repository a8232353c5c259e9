/* units.c: sizes, durations, path expansion and "did you mean" hints.
 *
 * A config is written by people, so its values carry units ("1GiB",
 * "500ms") and its paths carry variables ("/dev/shm/dtask-$USER").  This
 * file owns turning those spellings into numbers and strings, and the
 * edit-distance hint that follows an unknown key or type name.  Nothing
 * here allocates. */
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "config/units.h"

/* One unit suffix and its multiplier. */
typedef struct unit {
  const char *suffix;
  uint64_t mult;
} unit;

static const unit size_units[] = {
    {"", 1},          {"B", 1},
    {"k", 1ull << 10}, {"K", 1ull << 10}, {"KB", 1ull << 10}, {"KiB", 1ull << 10},
    {"M", 1ull << 20}, {"MB", 1ull << 20}, {"MiB", 1ull << 20},
    {"G", 1ull << 30}, {"GB", 1ull << 30}, {"GiB", 1ull << 30},
    {"T", 1ull << 40}, {"TB", 1ull << 40}, {"TiB", 1ull << 40},
    {NULL, 0}};

static const unit duration_units[] = {
    {"ns", 1ull},
    {"us", 1000ull},
    {"ms", 1000000ull},
    {"s", 1000000000ull},
    {"m", 60ull * 1000000000ull},
    {"min", 60ull * 1000000000ull},
    {"h", 3600ull * 1000000000ull},
    {NULL, 0}};

/* Parses "<digits>[ ]<suffix>" against a unit table.  what names the kind
 * of value for messages ("size", "duration"); example is a valid spelling. */
static int parse_with_units(const char *s, const unit *units, uint64_t *out,
                            dt__error *err, const char *what,
                            const char *example) {
  const char *p = s;
  uint64_t v = 0;
  int digits = 0;

  while (*p == ' ')
    p++;
  while (isdigit((unsigned char)*p)) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return dt__error_set(err, 0, 0, "%s \"%s\" is too large", what, s);
    v = v * 10 + d;
    digits++;
    p++;
  }
  if (digits == 0)
    return dt__error_set(err, 0, 0,
                         "%s \"%s\" must start with a whole number; write "
                         "for example \"%s\"",
                         what, s, example);
  while (*p == ' ')
    p++;
  for (const unit *u = units; u->suffix != NULL; u++) {
    if (strcmp(p, u->suffix) == 0) {
      if (u->mult != 0 && v > UINT64_MAX / u->mult)
        return dt__error_set(err, 0, 0, "%s \"%s\" is too large", what, s);
      *out = v * u->mult;
      return 0;
    }
  }
  return dt__error_set(err, 0, 0,
                       "%s \"%s\" has an unknown unit \"%s\"; write for "
                       "example \"%s\"",
                       what, s, p, example);
}

/* Parses "1GiB", "512 MiB", "64k", "4096" (bytes) into *out.  Accepted
 * suffixes: B, k/K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB; all are powers of
 * 1024.  Returns 0 or -EINVAL (with a sentence in err->msg).
 *
 * Units are powers of 1024. */
int dt__parse_size(const char *s, uint64_t *out, dt__error *err) {
  return parse_with_units(s, size_units, out, err, "size", "1GiB");
}

/* Parses "500ms", "10s", "2m", "1h", "250us", "0" into nanoseconds.
 *
 * A bare number is accepted only when it is 0,
 * because "30" could mean seconds or milliseconds. */
int dt__parse_duration(const char *s, uint64_t *ns, dt__error *err) {
  const char *b = s;
  size_t n;
  while (*b == ' ')
    b++;
  n = strlen(b);
  while (n > 0 && b[n - 1] == ' ')
    n--;
  if (n > 0 && strspn(b, "0123456789") >= n) {
    if (strspn(b, "0") >= n) {
      *ns = 0;
      return 0;
    }
    return dt__error_set(err, 0, 0,
                         "duration \"%s\" has no unit; write for example "
                         "\"%.*ss\" or \"%.*sms\"",
                         s, (int)n, b, (int)n, b);
  }
  return parse_with_units(s, duration_units, ns, err, "duration", "500ms");
}

/* Appends src[0..n) to out at *pos, failing when out would overflow. */
static int append(char *out, size_t outsz, size_t *pos, const char *src,
                  size_t n) {
  if (*pos + n + 1 > outsz)
    return -ENAMETOOLONG;
  memcpy(out + *pos, src, n);
  *pos += n;
  out[*pos] = '\0';
  return 0;
}

/* Returns the value of one of the variables dtask expands, or NULL.
 * buf holds numbers that are formatted here. */
static const char *variable(const char *name, size_t n, char *buf,
                            size_t bufsz) {
  if (n == 3 && memcmp(name, "UID", 3) == 0) {
    snprintf(buf, bufsz, "%u", (unsigned)getuid());
    return buf;
  }
  if (n == 4 && memcmp(name, "USER", 4) == 0) {
    const char *u = getenv("USER");
    if (u != NULL && u[0] != '\0')
      return u;
    struct passwd *pw = getpwuid(getuid());
    if (pw != NULL) {
      snprintf(buf, bufsz, "%s", pw->pw_name);
      return buf;
    }
    snprintf(buf, bufsz, "%u", (unsigned)getuid());
    return buf;
  }
  if (n == 4 && memcmp(name, "HOME", 4) == 0) {
    const char *h = getenv("HOME");
    if (h != NULL && h[0] != '\0')
      return h;
    struct passwd *pw = getpwuid(getuid());
    if (pw != NULL) {
      snprintf(buf, bufsz, "%s", pw->pw_dir);
      return buf;
    }
    return NULL;
  }
  if (n < 128) {
    char key[128];
    memcpy(key, name, n);
    key[n] = '\0';
    return getenv(key);
  }
  return NULL;
}

/* Expands $USER, $UID, $HOME, ${NAME} and a leading ~ in path into out.
 * Unknown variables are an error.  Returns 0, -EINVAL or -ENAMETOOLONG.
 *
 * Variables are $NAME or ${NAME}, where NAME is
 * letters, digits and '_'; $$ writes a single '$'.  A variable that is not
 * set is an error rather than an empty string, so that "/dev/shm/dtask-$USR"
 * never silently becomes "/dev/shm/dtask-". */
int dt__expand_path(const char *path, char *out, size_t outsz,
                    dt__error *err) {
  size_t pos = 0;
  const char *p = path;
  char buf[256];

  if (outsz == 0)
    return -ENAMETOOLONG;
  out[0] = '\0';
  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
    const char *home = variable("HOME", 4, buf, sizeof buf);
    if (home == NULL)
      return dt__error_set(err, 0, 0,
                           "cannot expand '~' in \"%s\": HOME is not set",
                           path);
    if (append(out, outsz, &pos, home, strlen(home)) != 0)
      goto toolong;
    p++;
  }
  while (*p != '\0') {
    if (*p != '$') {
      if (append(out, outsz, &pos, p, 1) != 0)
        goto toolong;
      p++;
      continue;
    }
    p++;
    if (*p == '$') {
      if (append(out, outsz, &pos, "$", 1) != 0)
        goto toolong;
      p++;
      continue;
    }
    int braced = (*p == '{');
    const char *name = p + braced;
    size_t n = 0;
    while (isalnum((unsigned char)name[n]) || name[n] == '_')
      n++;
    if (n == 0 || (braced && name[n] != '}'))
      return dt__error_set(err, 0, 0,
                           "malformed variable in \"%s\"; write $NAME or "
                           "${NAME}, or $$ for a literal '$'",
                           path);
    const char *val = variable(name, n, buf, sizeof buf);
    if (val == NULL)
      return dt__error_set(err, 0, 0,
                           "variable $%.*s in \"%s\" is not set; dtask "
                           "expands $USER, $UID, $HOME and set environment "
                           "variables",
                           (int)n, name, path);
    if (append(out, outsz, &pos, val, strlen(val)) != 0)
      goto toolong;
    p = name + n + braced;
  }
  return 0;
toolong:
  dt__error_set(err, 0, 0, "path \"%s\" is too long once expanded", path);
  return -ENAMETOOLONG;
}

/* Levenshtein distance with an early cap; short strings only. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t row[65];
  if (la > 64 || lb > 64)
    return (size_t)-1;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = (tolower((unsigned char)a[i - 1]) ==
                     tolower((unsigned char)b[j - 1]))
                        ? 0
                        : 1;
      size_t best = diag + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Returns the candidate closest to word by edit distance when it is close
 * enough to be a plausible typo, else NULL.  candidates ends with NULL.
 *
 * "Close enough" is a distance of at most a third
 * of the word's length (at least 1, at most 3), or a prefix match. */
const char *dt__did_you_mean(const char *word, const char *const *candidates) {
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  size_t len = strlen(word);
  size_t limit = len / 3;

  if (limit < 1)
    limit = 1;
  if (limit > 3)
    limit = 3;
  for (const char *const *c = candidates; *c != NULL; c++) {
    size_t d = edit_distance(word, *c);
    if (d < best_d) {
      best_d = d;
      best = *c;
    }
  }
  if (best != NULL && best_d <= limit)
    return best;
  for (const char *const *c = candidates; *c != NULL; c++)
    if (len >= 3 && strncasecmp(word, *c, len) == 0)
      return *c;
  return NULL;
}
