/* url.c: owns reading the [queue] url of the "redis" backend, the text
 * a person writes, into a dt__url (config/url.h) that queue/redis.c
 * connects with.
 *
 * Two forms, nothing else:
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
 *   unix://PATH[?db=DB]
 *
 * It is strict: an empty host, a port outside 1..65535, a db that is not
 * a number, an unknown scheme, a field too long for its place in the
 * struct or anything after the last part is an error whose sentence
 * shows what to write.  USER and PASSWORD may carry %XX escapes (for a
 * '@', ':' or '/' in a password).  No message ever repeats the url: it
 * may hold a password.  Positions are the caller's: every error is set at
 * line 0, column 0, for config.c to move onto the url's value. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "config/url.h"

/* What every refusal ends with: the two forms, written out. */
#define URL_FORMS                                                            \
  "write url = \"redis://127.0.0.1:6379/0\" or url = "                       \
  "\"unix:///run/redis/redis.sock\""

/* The value of hex digit c, or -1. */
static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Copies the n bytes at s into out (outsz bytes, NUL-terminated),
 * decoding %XX.  what names the field in messages.  Returns 0, or -EINVAL
 * with err set: a bad escape, an escaped NUL, or too long. */
static int decode(const char *s, size_t n, char *out, size_t outsz,
                  const char *what, dt__error *err) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
      int lo = hi >= 0 && i + 2 < n ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return dt__error_set(err, 0, 0,
                             "the %s in url has a '%%' that is not followed "
                             "by two hex digits; write %%25 for a '%%' "
                             "itself (%%40 for '@', %%3A for ':', %%2F for "
                             "'/')",
                             what);
      c = hi * 16 + lo;
      if (c == 0)
        return dt__error_set(err, 0, 0,
                             "the %s in url holds %%00, a NUL byte, which "
                             "Redis cannot be given; remove it",
                             what);
      i += 2;
    }
    if (k + 1 >= outsz)
      return dt__error_set(err, 0, 0,
                           "the %s in url is longer than %zu bytes, the most "
                           "dtask keeps; write a shorter one",
                           what, outsz - 1);
    out[k++] = (char)c;
  }
  out[k] = '\0';
  return 0;
}

/* Reads the decimal number of the n bytes at s into *out, which must be
 * at most max.  Returns false when s is empty, holds anything but digits
 * or exceeds max. */
static bool number(const char *s, size_t n, long max, long *out) {
  long v = 0;
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
    if (v > max)
      return false;
  }
  *out = v;
  return true;
}

/* Reads the db, the n bytes at s, into out->db.  Returns 0, or -EINVAL
 * with err set; example is the url to suggest. */
static int read_db(const char *s, size_t n, dt__url *out, const char *example,
                   dt__error *err) {
  long v;
  if (!number(s, n, 0x7fffffffL, &v))
    return dt__error_set(err, 0, 0,
                         "the db in url must be a number, 0 or more (Redis "
                         "has 0 to 15 by default); write for example %s",
                         example);
  out->db = (int)v;
  return 0;
}

/* Whether c may appear in a host name or an IPv4 address. */
static bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Reads USER:PASSWORD, the n bytes at s (what came before the '@'), into
 * out->user and out->pass.  Returns 0, or -EINVAL with err set. */
static int read_userinfo(const char *s, size_t n, dt__url *out,
                         dt__error *err) {
  const char *colon = memchr(s, ':', n);
  if (colon == NULL)
    return dt__error_set(err, 0, 0,
                         "the part of url before '@' has no ':'; write "
                         "redis://:PASSWORD@HOST or "
                         "redis://USER:PASSWORD@HOST (or, better, leave the "
                         "password out of url and write password_file = "
                         "\"/path/to/file\")");
  size_t nu = (size_t)(colon - s), np = n - nu - 1;
  if (np == 0)
    return dt__error_set(err, 0, 0,
                         "url has an empty password before '@'; write "
                         "redis://HOST without the '@' part, or "
                         "redis://USER:PASSWORD@HOST");
  if (decode(s, nu, out->user, sizeof out->user, "user", err) != 0 ||
      decode(colon + 1, np, out->pass, sizeof out->pass, "password",
             err) != 0)
    return -EINVAL;
  return 0;
}

/* Reads HOST[:PORT][/DB], the n bytes at s, into out.  Returns 0, or
 * -EINVAL with err set. */
static int read_tcp(const char *s, size_t n, dt__url *out, dt__error *err) {
  const char *end = s + n, *p = s, *hb, *he;
  if (p < end && *p == '[') {
    hb = ++p;
    while (p < end && *p != ']')
      p++;
    he = p;
    bool ok = p < end && he > hb && memchr(hb, ':', (size_t)(he - hb));
    for (const char *q = hb; ok && q < he; q++)
      ok = hexval(*q) >= 0 || *q == ':' || *q == '.';
    if (!ok)
      return dt__error_set(err, 0, 0,
                           "url has a '[' that does not hold an IPv6 "
                           "address closed by ']'; write for example "
                           "url = \"redis://[::1]:6379/0\"");
    p++;
  } else {
    hb = p;
    while (p < end && host_char(*p))
      p++;
    he = p;
  }
  if (he == hb)
    return dt__error_set(err, 0, 0, "url has no host; " URL_FORMS);
  if ((size_t)(he - hb) >= sizeof out->host)
    return dt__error_set(err, 0, 0,
                         "the host in url is longer than %zu bytes; " URL_FORMS,
                         sizeof out->host - 1);
  memcpy(out->host, hb, (size_t)(he - hb));
  out->host[he - hb] = '\0';
  out->port = 6379;
  if (p < end && *p == ':') {
    const char *pb = ++p;
    while (p < end && *p != '/')
      p++;
    long port;
    if (!number(pb, (size_t)(p - pb), 65535, &port) || port < 1)
      return dt__error_set(err, 0, 0,
                           "the port in url must be a number from 1 to "
                           "65535; write for example url = "
                           "\"redis://127.0.0.1:6379/0\"");
    out->port = (int)port;
  }
  if (p < end && *p == '/') {
    p++;
    return read_db(p, (size_t)(end - p), out,
                   "url = \"redis://127.0.0.1:6379/0\"", err);
  }
  if (p < end)
    return dt__error_set(err, 0, 0,
                         "url has '%c' after the host where ':PORT', '/DB' "
                         "or the end belongs; " URL_FORMS,
                         *p);
  return 0;
}

/* Reads PATH[?db=DB], the text after "unix://", into out.  Returns 0, or
 * -EINVAL with err set. */
static int read_unix(const char *s, dt__url *out, dt__error *err) {
  const char *q = strchr(s, '?');
  size_t n = q != NULL ? (size_t)(q - s) : strlen(s);
  if (n == 0 || s[0] != '/')
    return dt__error_set(err, 0, 0,
                         "the socket path in url must be absolute: three "
                         "slashes in all; write for example url = "
                         "\"unix:///run/redis/redis.sock\"");
  if (n >= sizeof out->path)
    return dt__error_set(err, 0, 0,
                         "the socket path in url is %zu bytes, more than the "
                         "%zu a unix socket's address holds; move the socket "
                         "(Redis's unixsocket) to a shorter path such as "
                         "/run/redis/redis.sock",
                         n, sizeof out->path - 1);
  memcpy(out->path, s, n);
  out->path[n] = '\0';
  if (q == NULL)
    return 0;
  if (strncmp(q, "?db=", 4) != 0)
    return dt__error_set(err, 0, 0,
                         "the only option of a unix url is ?db=N; write for "
                         "example url = \"unix:///run/redis/redis.sock?db=0\"");
  return read_db(q + 4, strlen(q + 4), out,
                 "url = \"unix:///run/redis/redis.sock?db=0\"", err);
}

/* Parses s, a url in one of the two forms of the file comment, into *out
 * (zeroed first; the port defaults to 6379 over TCP and 0 for a socket,
 * the db to 0; an IPv6 host is stored without its brackets).  Returns 0,
 * or -EINVAL with a sentence in err, at line 0 column 0, that says what
 * to write; *out is then zeroed again. */
int dt__url_parse(const char *s, dt__url *out, dt__error *err) {
  int rc;
  memset(out, 0, sizeof *out);
  if (strncmp(s, "redis://", 8) == 0) {
    /* The last '@': a password may hold '/', '?' or '#' unescaped. */
    const char *rest = s + 8, *at = strrchr(rest, '@');
    const char *host = at != NULL ? at + 1 : rest;
    rc = at != NULL ? read_userinfo(rest, (size_t)(at - rest), out, err) : 0;
    if (rc == 0)
      rc = read_tcp(host, strlen(host), out, err);
  } else if (strncmp(s, "unix://", 7) == 0) {
    rc = read_unix(s + 7, out, err);
  } else if (strncmp(s, "rediss://", 9) == 0) {
    rc = dt__error_set(err, 0, 0,
                       "url asks for TLS (rediss://), which the hiredis "
                       "dtask is built with (0.14) does not have; reach "
                       "Redis over a unix socket, an SSH tunnel or stunnel, "
                       "and " URL_FORMS);
  } else {
    rc = dt__error_set(err, 0, 0,
                       "url must start with redis:// (TCP) or unix:// (a "
                       "socket); " URL_FORMS);
  }
  if (rc != 0)
    memset(out, 0, sizeof *out);
  return rc;
}
