/* test_docs.c: the documentation cannot drift from the parser.
 *
 * Every key the config parser accepts (dt__config_keys, from the tables
 * it checks files against) must be documented in two places:
 *   - config/dtask.example.toml, which documents every key inline: the
 *     key appears there as a word;
 *   - man/dtask.toml.5: in the subsection (.SS) of its table, whose title
 *     names the table in brackets ("[queue]", "[[offload]]"), in bold
 *     (".B key", ".BR key ..." or "\fBkey\fR"); a top-level table has a
 *     subsection of its own.
 * Every DTASK_* variable that the product's sources name (a string
 * literal "DTASK_..." in common/, config/, queue/, runner/, shim/) must
 * be in bold in the manual's ENVIRONMENT section.  The tests run from
 * the top of the source tree (tests/run.sh does).  Controls show that
 * the matchers can fail. */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "testutil.h"

#define MANUAL "man/dtask.toml.5"
#define EXAMPLE "config/dtask.example.toml"

/* The whole of file path, NUL-terminated; fails the test if unreadable.
 * The caller frees it. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    fail_msg("cannot read %s (run from the top of the source tree)", path);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static int is_word(int c) { return isalnum(c) || c == '_'; }

/* 1 if word occurs in text[0, n) with no letter, digit or '_' on either
 * side. */
static int has_word(const char *text, size_t n, const char *word) {
  size_t w = strlen(word);
  for (size_t i = 0; i + w <= n; i++)
    if (memcmp(text + i, word, w) == 0 && (i == 0 || !is_word(text[i - 1])) &&
        (i + w == n || !is_word(text[i + w])))
      return 1;
  return 0;
}

/* 1 if text[0, n) shows word in bold: a ".B word" or ".BR word ..." line,
 * or "\fBword\fR" / "\fBword\fP" anywhere. */
static int has_bold(const char *text, size_t n, const char *word) {
  char pat[160];
  const char *const forms[] = {"\n.B %s\n", "\n.B %s ", "\n.BR %s ",
                               "\\fB%s\\fR", "\\fB%s\\fP", "\\fB%s\\fI"};
  for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
    snprintf(pat, sizeof pat, forms[k], word);
    size_t p = strlen(pat);
    for (size_t i = 0; i + p <= n; i++)
      if (memcmp(text + i, pat, p) == 0)
        return 1;
  }
  return 0;
}

/* The bracketed name the manual's subsection titles use for table. */
static const char *bracket(const char *table, char *buf, size_t size) {
  if (strncmp(table, "offload", 7) == 0)
    return "[[offload]]";
  snprintf(buf, size, "[%s]", table);
  return buf;
}

/* 1 if word is bold in some .SS subsection of man whose title line holds
 * title (each subsection runs to the next .SS or .SH). */
static int bold_in_section(const char *man, const char *title,
                           const char *word) {
  for (const char *s = strstr(man, "\n.SS "); s != NULL;
       s = strstr(s + 1, "\n.SS ")) {
    const char *eol = strchr(s + 1, '\n');
    if (eol == NULL)
      break;
    char head[256];
    size_t hl = (size_t)(eol - s) < sizeof head ? (size_t)(eol - s)
                                                : sizeof head - 1;
    memcpy(head, s, hl);
    head[hl] = '\0';
    if (strstr(head, title) == NULL)
      continue;
    const char *end = eol;
    const char *ss = strstr(eol, "\n.SS "), *sh = strstr(eol, "\n.SH ");
    end = ss != NULL && (sh == NULL || ss < sh) ? ss : sh;
    if (end == NULL)
      end = eol + strlen(eol);
    if (has_bold(eol, (size_t)(end - eol) + 1, word))
      return 1;
  }
  return 0;
}

/* 1 if man has a .SS line whose title holds title. */
static int has_section(const char *man, const char *title) {
  for (const char *s = strstr(man, "\n.SS "); s != NULL;
       s = strstr(s + 1, "\n.SS ")) {
    const char *eol = strchr(s + 1, '\n');
    size_t hl = eol ? (size_t)(eol - s) : strlen(s);
    char head[256];
    if (hl >= sizeof head)
      hl = sizeof head - 1;
    memcpy(head, s, hl);
    head[hl] = '\0';
    if (strstr(head, title) != NULL)
      return 1;
  }
  return 0;
}

typedef struct docs {
  char *example, *man;
  char missing[8192]; /* "table.key in FILE" lines */
  size_t nkeys;
} docs;

static void note_missing(docs *d, const char *what) {
  size_t l = strlen(d->missing);
  snprintf(d->missing + l, sizeof d->missing - l, "  %s\n", what);
}

/* dt__config_keys' callback: looks the key up in both documents. */
static void look_up(const char *table, const char *key, void *ctx) {
  docs *d = ctx;
  char line[256], b[64];
  d->nkeys++;
  if (!has_word(d->example, strlen(d->example), key)) {
    snprintf(line, sizeof line, "%s%s%s: not in " EXAMPLE, table,
             table[0] ? "." : "", key);
    note_missing(d, line);
  }
  int ok;
  if (table[0] == '\0') {
    char t1[64], t2[64];
    snprintf(t1, sizeof t1, "[%s]", key);
    snprintf(t2, sizeof t2, "[[%s]]", key);
    ok = has_section(d->man, t1) || has_section(d->man, t2);
  } else {
    ok = bold_in_section(d->man, bracket(table, b, sizeof b), key);
  }
  if (!ok && table[0] == '\0')
    snprintf(line, sizeof line, "[%s]: no .SS subsection names it in " MANUAL,
             key);
  else if (!ok)
    snprintf(line, sizeof line,
             "%s.%s: not in bold under a .SS naming %s in " MANUAL, table, key,
             bracket(table, b, sizeof b));
  if (!ok)
    note_missing(d, line);
}

static void test_every_key_is_documented(void **state) {
  (void)state;
  docs *d = calloc(1, sizeof *d);
  assert_non_null(d);
  d->example = slurp(EXAMPLE);
  d->man = slurp(MANUAL);
  dt__config_keys(look_up, d);
  assert_true(d->nkeys >= 40);
  if (d->missing[0] != '\0')
    fail_msg("keys the parser accepts but the documents do not cover:\n%s",
             d->missing);
  free(d->example);
  free(d->man);
  free(d);
}

/* The matchers can fail: a key nobody documents, a real key under the
 * wrong table, and a word that is there only inside a longer word. */
static void test_matchers_can_fail(void **state) {
  (void)state;
  char *man = slurp(MANUAL);
  assert_false(bold_in_section(man, "[queue]", "no_such_key"));
  assert_false(bold_in_section(man, "[runner]", "map_size"));
  assert_true(bold_in_section(man, "[queue]", "map_size"));
  assert_false(has_section(man, "[no_such_table]"));
  const char text[] = "retry_wait_more";
  assert_false(has_word(text, strlen(text), "retry_wait"));
  free(man);
}

/* Adds every "DTASK_..." string literal of the files in dir (*.c, *.h)
 * to names (a newline-separated list, without repeats). */
static void literals_in(const char *dir, char *names, size_t size) {
  DIR *dp = opendir(dir);
  if (dp == NULL)
    fail_msg("cannot read the directory %s", dir);
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 3 || (strcmp(e->d_name + l - 2, ".c") != 0 &&
                  strcmp(e->d_name + l - 2, ".h") != 0))
      continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    char *text = slurp(path);
    for (char *p = strstr(text, "\"DTASK_"); p != NULL;
         p = strstr(p + 1, "\"DTASK_")) {
      size_t n = 1;
      while (isupper((unsigned char)p[n]) || p[n] == '_' ||
             isdigit((unsigned char)p[n]))
        n++;
      if (p[n] != '"')
        continue;
      char name[80], key[84];
      snprintf(name, sizeof name, "%.*s", (int)(n - 1), p + 1);
      snprintf(key, sizeof key, "\n%s\n", name);
      if (strstr(names, key) == NULL) {
        size_t used = strlen(names);
        snprintf(names + used, size - used, "%s\n", name);
      }
    }
    free(text);
  }
  closedir(dp);
}

static void test_every_variable_is_documented(void **state) {
  (void)state;
  static char names[4096] = "\n";
  const char *const dirs[] = {"common", "config", "queue", "runner", "shim"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    literals_in(dirs[i], names, sizeof names);
  char *man = slurp(MANUAL);
  const char *env = strstr(man, "\n.SH ENVIRONMENT");
  if (env == NULL) {
    fail_msg(MANUAL " has no ENVIRONMENT section");
    return;
  }
  const char *end = strstr(env + 1, "\n.SH ");
  size_t n = end ? (size_t)(end - env) + 1 : strlen(env);
  char missing[2048] = "";
  int count = 0;
  for (char *s = names + 1; *s != '\0';) {
    char *nl = strchr(s, '\n');
    *nl = '\0';
    count++;
    if (!has_bold(env, n, s)) {
      size_t l = strlen(missing);
      snprintf(missing + l, sizeof missing - l, "  %.60s\n", s);
    }
    s = nl + 1;
  }
  assert_true(count >= 10);
  assert_false(has_bold(env, n, "DTASK_NO_SUCH_VARIABLE"));
  free(man);
  if (missing[0] != '\0')
    fail_msg("variables the sources read but " MANUAL "'s ENVIRONMENT "
             "does not name in bold:\n%s",
             missing);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_key_is_documented),
      cmocka_unit_test(test_matchers_can_fail),
      cmocka_unit_test(test_every_variable_is_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
