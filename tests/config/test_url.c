/* test_url.c: unit tests of the [queue] url reader (config/url.c).
 *
 * Every accepted form with the fields it fills and their defaults, then
 * every refusal with the phrase its sentence must carry; a refused url
 * leaves the struct zeroed, and no message repeats the password. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/url.h"
#include "testutil.h"

/* Parses s, which must be accepted, into *u. */
static void ok(const char *s, dt__url *u) {
  dt__error err;
  memset(&err, 0, sizeof err);
  int rc = dt__url_parse(s, u, &err);
  if (rc != 0)
    fail_msg("\"%s\" refused (rc %d): %s", s, rc, err.msg);
}

/* Asserts that s is refused with phrase in the message, at line 0 col 0,
 * with the struct left zeroed and the message free of "s3cret". */
static void bad(const char *s, const char *phrase) {
  dt__error err;
  dt__url u, zero;
  memset(&err, 0, sizeof err);
  memset(&u, 0x5a, sizeof u);
  memset(&zero, 0, sizeof zero);
  int rc = dt__url_parse(s, &u, &err);
  if (rc != -EINVAL)
    fail_msg("\"%s\" accepted (rc %d, host \"%s\", path \"%s\")", s, rc,
             u.host, u.path);
  assert_contains(err.msg, phrase);
  assert_int_equal(err.line, 0);
  assert_int_equal(err.col, 0);
  assert_null(strstr(err.msg, "s3cret"));
  assert_memory_equal(&u, &zero, sizeof u);
}

static void test_tcp_forms(void **state) {
  (void)state;
  dt__url u;
  ok("redis://127.0.0.1", &u);
  assert_string_equal(u.host, "127.0.0.1");
  assert_int_equal(u.port, 6379);
  assert_int_equal(u.db, 0);
  assert_string_equal(u.path, "");
  assert_string_equal(u.user, "");
  assert_string_equal(u.pass, "");

  ok("redis://redis.example.com:6380/3", &u);
  assert_string_equal(u.host, "redis.example.com");
  assert_int_equal(u.port, 6380);
  assert_int_equal(u.db, 3);

  ok("redis://cache_1-a:1/15", &u);
  assert_string_equal(u.host, "cache_1-a");
  assert_int_equal(u.port, 1);
  assert_int_equal(u.db, 15);

  ok("redis://localhost:65535", &u);
  assert_int_equal(u.port, 65535);
  ok("redis://localhost/2147483647", &u);
  assert_int_equal(u.port, 6379);
  assert_int_equal(u.db, 2147483647);

  ok("redis://[::1]", &u);
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 6379);
  ok("redis://[fe80::1:a2B]:7000/1", &u);
  assert_string_equal(u.host, "fe80::1:a2B");
  assert_int_equal(u.port, 7000);
  assert_int_equal(u.db, 1);
  ok("redis://[::ffff:10.0.0.1]:6379/0", &u);
  assert_string_equal(u.host, "::ffff:10.0.0.1");
}

static void test_tcp_credentials(void **state) {
  (void)state;
  dt__url u;
  ok("redis://:s3cret@10.0.0.2:6379/0", &u);
  assert_string_equal(u.user, "");
  assert_string_equal(u.pass, "s3cret");
  assert_string_equal(u.host, "10.0.0.2");

  ok("redis://alice:pa:ss@host", &u);
  assert_string_equal(u.user, "alice");
  assert_string_equal(u.pass, "pa:ss");
  assert_string_equal(u.host, "host");
  assert_int_equal(u.port, 6379);

  /* %XX in the user and the password; the last '@' ends them. */
  ok("redis://al%69ce:p%40ss%2Fw%3a%25d@host:1/2", &u);
  assert_string_equal(u.user, "alice");
  assert_string_equal(u.pass, "p@ss/w:%d");
  ok("redis://:a@b/c?d@host/4", &u);
  assert_string_equal(u.pass, "a@b/c?d");
  assert_string_equal(u.host, "host");
  assert_int_equal(u.db, 4);

  /* The longest user and password that fit. */
  char s[1024], user[128], pass[256];
  memset(user, 'u', sizeof user - 1);
  user[sizeof user - 1] = '\0';
  memset(pass, 'p', sizeof pass - 1);
  pass[sizeof pass - 1] = '\0';
  snprintf(s, sizeof s, "redis://%s:%s@h", user, pass);
  ok(s, &u);
  assert_string_equal(u.user, user);
  assert_string_equal(u.pass, pass);
}

static void test_unix_forms(void **state) {
  (void)state;
  dt__url u;
  ok("unix:///run/redis/redis.sock", &u);
  assert_string_equal(u.path, "/run/redis/redis.sock");
  assert_string_equal(u.host, "");
  assert_int_equal(u.port, 0);
  assert_int_equal(u.db, 0);
  ok("unix:///tmp/r.sock?db=7", &u);
  assert_string_equal(u.path, "/tmp/r.sock");
  assert_int_equal(u.db, 7);
  ok("unix:///a@b:c", &u);
  assert_string_equal(u.path, "/a@b:c");
  assert_string_equal(u.pass, "");

  /* 107 bytes is the most a sockaddr_un path holds with its NUL. */
  char s[256], path[108];
  memset(path, 'x', sizeof path - 1);
  path[0] = '/';
  path[sizeof path - 1] = '\0';
  snprintf(s, sizeof s, "unix://%s", path);
  ok(s, &u);
  assert_int_equal(strlen(u.path), 107);
  snprintf(s, sizeof s, "unix://%sx", path);
  bad(s, "the socket path in url is 108 bytes, more than the 107");
}

static void test_refused_schemes(void **state) {
  (void)state;
  const char *forms = "write url = \"redis://127.0.0.1:6379/0\" or url = "
                      "\"unix:///run/redis/redis.sock\"";
  bad("", forms);
  bad("127.0.0.1:6379", "url must start with redis:// (TCP) or unix://");
  bad("127.0.0.1:6379", forms);
  bad("http://127.0.0.1:6379", forms);
  bad("REDIS://127.0.0.1", forms);
  bad("redis:/127.0.0.1", forms);
  bad("unix:/run/redis.sock", forms);
  bad("rediss://:s3cret@host:6380", "TLS (rediss://)");
  bad("rediss://host", "an SSH tunnel or stunnel");
}

static void test_refused_tcp(void **state) {
  (void)state;
  bad("redis://", "url has no host");
  bad("redis://:6379/0", "url has no host");
  bad("redis://:s3cret@", "url has no host");
  bad("redis:///0", "url has no host");
  bad("redis://host:0", "the port in url must be a number from 1 to 65535");
  bad("redis://host:65536", "from 1 to 65535");
  bad("redis://host:99999999999999999999", "from 1 to 65535");
  bad("redis://host:", "from 1 to 65535");
  bad("redis://host:-1", "from 1 to 65535");
  bad("redis://host:63x9", "from 1 to 65535");
  bad("redis://host/", "the db in url must be a number, 0 or more");
  bad("redis://host/-1", "0 or more");
  bad("redis://host/one", "0 or more");
  bad("redis://host/0/1", "0 or more");
  bad("redis://host/0?x=1", "0 or more");
  bad("redis://host/2147483648", "0 or more");
  bad("redis://host#frag", "url has '#' after the host");
  bad("redis://host?db=1", "url has '?' after the host");
  bad("redis://ho st", "url has ' ' after the host");
  bad("redis://[::1", "IPv6 address closed by ']'");
  bad("redis://[]:6379", "IPv6 address closed by ']'");
  bad("redis://[host]:6379", "IPv6 address closed by ']'");
  bad("redis://[::1]x", "url has 'x' after the host");
}

static void test_refused_credentials(void **state) {
  (void)state;
  bad("redis://s3cret@host", "the part of url before '@' has no ':'");
  bad("redis://alice:@host", "url has an empty password");
  bad("redis://:@host", "url has an empty password");
  bad("redis://:s3cret%4@host", "not followed by two hex digits");
  bad("redis://:s3cret%zz@host", "not followed by two hex digits");
  bad("redis://:s3cret%@host", "not followed by two hex digits");
  bad("redis://al%g1:s3cret@host", "the user in url has a '%'");
  bad("redis://:s3cret%00@host", "holds %00");

  char s[1200], user[129], pass[257];
  memset(user, 'u', sizeof user - 1);
  user[sizeof user - 1] = '\0';
  memset(pass, 'p', sizeof pass - 1);
  pass[sizeof pass - 1] = '\0';
  snprintf(s, sizeof s, "redis://%s:s3cret@h", user);
  bad(s, "the user in url is longer than 127 bytes");
  snprintf(s, sizeof s, "redis://:%s@h", pass);
  bad(s, "the password in url is longer than 255 bytes");
  /* Escapes count once decoded: 255 "%41" is 255 bytes. */
  size_t k = (size_t)snprintf(s, sizeof s, "redis://:");
  for (int i = 0; i < 255; i++)
    k += (size_t)snprintf(s + k, sizeof s - k, "%%41");
  snprintf(s + k, sizeof s - k, "@h");
  dt__url u;
  ok(s, &u);
  assert_int_equal(strlen(u.pass), 255);
  assert_int_equal(u.pass[0], 'A');
}

static void test_refused_long_host(void **state) {
  (void)state;
  char s[400], host[257];
  dt__url u;
  memset(host, 'h', sizeof host - 1);
  host[255] = '\0';
  snprintf(s, sizeof s, "redis://%s:1", host);
  ok(s, &u);
  assert_int_equal(strlen(u.host), 255);
  host[255] = 'h';
  host[256] = '\0';
  snprintf(s, sizeof s, "redis://%s:1", host);
  bad(s, "the host in url is longer than 255 bytes");
}

static void test_refused_unix(void **state) {
  (void)state;
  bad("unix://", "the socket path in url must be absolute");
  bad("unix://run/redis.sock", "must be absolute");
  bad("unix://?db=1", "must be absolute");
  bad("unix:///r.sock?db=", "the db in url must be a number");
  bad("unix:///r.sock?db=-2", "0 or more");
  bad("unix:///r.sock?db=1x", "0 or more");
  bad("unix:///r.sock?db=1&x=2", "0 or more");
  bad("unix:///r.sock?password=s3cret", "the only option of a unix url is "
                                        "?db=N");
  bad("unix:///r.sock?", "the only option of a unix url");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_forms),
      cmocka_unit_test(test_tcp_credentials),
      cmocka_unit_test(test_unix_forms),
      cmocka_unit_test(test_refused_schemes),
      cmocka_unit_test(test_refused_tcp),
      cmocka_unit_test(test_refused_credentials),
      cmocka_unit_test(test_refused_long_host),
      cmocka_unit_test(test_refused_unix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
