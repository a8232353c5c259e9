/* test_elf_file.c: unit tests of the on-disk ELF inspector (elf_file.c).
 *
 * The fixtures (tests/fixtures/elf/build.sh) are built by the Makefile
 * into the directory named by DTASK_FIXTURE_DIR; without it every test
 * fails.  Damaged files are written into a temporary directory that the
 * group teardown removes.  Two tests read real system files: libc and libm
 * (always present) and /usr/bin/python3 (tools/deps.sh installs it; the
 * test fails, saying so, when it is absent). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/elf.h"
#include "shim/got.h"

/* The group state: where the fixtures are and a scratch directory. */
typedef struct fixture {
  char dir[PATH_MAX];
  char tmp[PATH_MAX];
  char *saved_llp; /* LD_LIBRARY_PATH at start, restored by teardown */
} fixture;

static int group_setup(void **state) {
  const char *dir = getenv("DTASK_FIXTURE_DIR");
  if (dir == NULL || dir[0] == '\0') {
    fprintf(stderr, "DTASK_FIXTURE_DIR is not set: build the fixtures with "
                    "tests/fixtures/elf/build.sh DIR and set it to DIR.\n");
    return -1;
  }
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "%s", dir);
  snprintf(f->tmp, sizeof f->tmp, "/tmp/dtask-elf-test-XXXXXX");
  if (mkdtemp(f->tmp) == NULL) {
    free(f);
    return -1;
  }
  const char *llp = getenv("LD_LIBRARY_PATH");
  f->saved_llp = llp != NULL ? strdup(llp) : NULL;
  unsetenv("LD_LIBRARY_PATH");
  *state = f;
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int group_teardown(void **state) {
  fixture *f = *state;
  if (f == NULL)
    return 0; /* the setup failed and said why */
  nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (f->saved_llp != NULL)
    setenv("LD_LIBRARY_PATH", f->saved_llp, 1);
  free(f->saved_llp);
  free(f);
  return 0;
}

/* Returns "DIR/name" in buf (PATH_MAX bytes). */
static const char *in(const char *dir, const char *name, char *buf) {
  int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
  assert_true(n > 0 && n < PATH_MAX);
  return buf;
}

/* Reads a whole file; the caller frees the result. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  long n = ftell(fp);
  assert_true(n > 0);
  rewind(fp);
  unsigned char *buf = malloc((size_t)n);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

static void spit(const char *path, const void *buf, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(buf, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

/* Opens a fixture, failing the test if it does not open. */
static dt__elf *open_ok(const char *path) {
  dt__elf *e = NULL;
  char err[512] = "";
  int rc = dt__elf_open(path, &e, err, sizeof err);
  if (rc != 0)
    fail_msg("dt__elf_open(%s) = %d: %s", path, rc, err);
  assert_non_null(e);
  return e;
}

/* Expects path to be refused with rc and a sentence. */
static void expect_refused(const char *path, int want) {
  dt__elf *e = (dt__elf *)&e; /* must be reset to NULL */
  char err[512] = "";
  int rc = dt__elf_open(path, &e, err, sizeof err);
  if (rc != want)
    fail_msg("dt__elf_open(%s) = %d (%s), expected %d", path, rc, err, want);
  assert_null(e);
  assert_true(strlen(err) > 10);
  assert_int_equal(err[strlen(err) - 1], '.');
  assert_non_null(strstr(err, path));
}

static void test_relkind_names(void **state) {
  (void)state;
  assert_string_equal(dt__relkind_name(DT__REL_JUMP_SLOT), "JUMP_SLOT");
  assert_string_equal(dt__relkind_name(DT__REL_GLOB_DAT), "GLOB_DAT");
  assert_string_equal(dt__relkind_name(DT__REL_ABS), "ABS64");
  assert_string_equal(dt__relkind_name(DT__REL_OTHER), "other");
}

static void test_open_program(void **state) {
  fixture *f = *state;
  char p[PATH_MAX];
  dt__elf *e = open_ok(in(f->dir, "elfprog", p));
  assert_string_equal(dt__elf_path(e), p);
  assert_int_equal(dt__elf_is_executable(e), 1);
  assert_int_equal(dt__elf_needed_count(e), 2);
  assert_string_equal(dt__elf_needed(e, 0), "libelfa.so");
  assert_string_equal(dt__elf_needed(e, 1), "libc.so.6");
  assert_null(dt__elf_needed(e, 2));
  dt__elf_close(e);
  dt__elf_close(NULL);
}

static void test_open_library_and_static(void **state) {
  fixture *f = *state;
  char p[PATH_MAX];
  int counts[DT__REL_OTHER + 1];
  dt__elf *e = open_ok(in(f->dir, "libelfa.so", p));
  assert_int_equal(dt__elf_is_executable(e), 0);
  assert_int_equal(dt__elf_needed_count(e), 1);
  assert_string_equal(dt__elf_needed(e, 0), "libc.so.6");
  dt__elf_close(e);

  e = open_ok(in(f->dir, "elfstatic", p));
  assert_int_equal(dt__elf_is_executable(e), 1);
  assert_int_equal(dt__elf_needed_count(e), 0);
  assert_int_equal(dt__elf_imports(e, "fa", counts), 0);
  assert_int_equal(dt__elf_defines(e, "main", NULL, NULL, 0, NULL, NULL), 0);
  dt__elf_close(e);
}

static void test_open_errors(void **state) {
  fixture *f = *state;
  char p[PATH_MAX], src[PATH_MAX];
  size_t len;
  unsigned char *lib = slurp(in(f->dir, "libelfa.so", src), &len);
  ElfW(Ehdr) *eh = (ElfW(Ehdr) *)lib;
  dt__elf *e = NULL;

  expect_refused(in(f->tmp, "does-not-exist", p), -ENOENT);
  expect_refused(f->tmp, -EISDIR);
  spit(in(f->tmp, "empty", p), "", 0);
  expect_refused(p, -ENOEXEC);
  spit(in(f->tmp, "text", p), "#!/bin/sh\necho this is not ELF\n", 31);
  expect_refused(p, -ENOEXEC);
  spit(in(f->tmp, "magic-only", p), "\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0\0",
       18);
  expect_refused(p, -ENOEXEC);
  /* err may be NULL. */
  assert_int_equal(dt__elf_open(p, &e, NULL, 0), -ENOEXEC);
  assert_null(e);

  /* Every truncation of a real library is noticed. */
  const size_t cuts[] = {16, 63, 64, 200, len / 4, len / 2, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    spit(in(f->tmp, "truncated.so", p), lib, cuts[i]);
    expect_refused(p, -ENOEXEC);
  }

  /* Headers that are well-formed but not for us. */
  struct {
    const char *name;
    size_t off;
    unsigned char val;
  } patches[] = {
      {"class32.so", EI_CLASS, ELFCLASS32},
      {"bigendian.so", EI_DATA, ELFDATA2MSB},
      {"badversion.so", EI_VERSION, 7},
      {"machine.so", offsetof(ElfW(Ehdr), e_machine), EM_ARM},
      {"object.o", offsetof(ElfW(Ehdr), e_type), ET_REL},
      {"core", offsetof(ElfW(Ehdr), e_type), ET_CORE},
      {"phentsize.so", offsetof(ElfW(Ehdr), e_phentsize), 7},
      {"phoff.so", offsetof(ElfW(Ehdr), e_phoff) + 3, 0x7f},
      {"shoff.so", offsetof(ElfW(Ehdr), e_shoff) + 4, 0x7f},
  };
  for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
    unsigned char saved = lib[patches[i].off];
    lib[patches[i].off] = patches[i].val;
    spit(in(f->tmp, patches[i].name, p), lib, len);
    lib[patches[i].off] = saved;
    expect_refused(p, -ENOEXEC);
  }
  assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
  free(lib);
}

/* Dynamic entries that point outside the file (or are otherwise
 * impossible) are refused; without section headers, so are bad hash
 * tables, which then give the symbol count. */
static void test_bad_dynamic(void **state) {
  fixture *f = *state;
  char src[PATH_MAX], p[PATH_MAX];
  size_t len;
  unsigned char *orig = slurp(in(f->dir, "libelfa.so", src), &len);
  unsigned char *buf = malloc(len);
  assert_non_null(buf);
  const struct {
    ElfW(Sxword) tag;
    uint64_t val;
    int strip_shdrs;
  } cases[] = {
      {DT_STRTAB, 0x7ffffff0, 0}, {DT_STRSZ, 0x7ffffff0, 0},
      {DT_NEEDED, 0x7ffffff0, 0}, {DT_SYMTAB, 0x7ffffff0, 0},
      {DT_SYMENT, 16, 0},         {DT_JMPREL, 0x7ffffff0, 0},
      {DT_PLTRELSZ, 0x7ffffff0, 0}, {DT_PLTREL, 99, 0},
      {DT_RELA, 0x7ffffff0, 0},   {DT_RELAENT, 3, 0},
      {DT_VERSYM, 0x7ffffff0, 0}, {DT_VERDEF, 0x7ffffff0, 0},
      {DT_VERSYM, 1, 0},          {DT_GNU_HASH, 0x7ffffff0, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(buf, orig, len);
    ElfW(Ehdr) *eh = (ElfW(Ehdr) *)buf;
    ElfW(Phdr) *ph = (ElfW(Phdr) *)(buf + eh->e_phoff);
    int patched = 0;
    for (size_t k = 0; k < eh->e_phnum; k++) {
      if (ph[k].p_type != PT_DYNAMIC)
        continue;
      ElfW(Dyn) *d = (ElfW(Dyn) *)(buf + ph[k].p_offset);
      for (; d->d_tag != DT_NULL; d++)
        if (d->d_tag == cases[i].tag && !patched) {
          d->d_un.d_val = cases[i].val;
          patched = 1;
        }
    }
    if (!patched)
      fail_msg("libelfa.so has no dynamic tag %ld", (long)cases[i].tag);
    if (cases[i].strip_shdrs) {
      eh->e_shoff = 0;
      eh->e_shnum = 0;
      eh->e_shstrndx = 0;
    }
    spit(in(f->tmp, "baddyn.so", p), buf, len);
    expect_refused(p, -ENOEXEC);
  }
  free(buf);
  free(orig);
}

/* A small deterministic generator, so that failures reproduce. */
static uint32_t next_rand(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 33);
}

/* Exercises every query on e; only the absence of crashes is checked. */
static void poke(dt__elf *e) {
  int counts[DT__REL_OTHER + 1];
  char ver[64], out[PATH_MAX];
  int def, refs;
  (void)dt__elf_is_executable(e);
  for (size_t i = 0; i < dt__elf_needed_count(e); i++)
    (void)dt__elf_find_needed(e, dt__elf_needed(e, i), out, sizeof out);
  (void)dt__elf_imports(e, "fa", counts);
  (void)dt__elf_imports(e, "__cxa_finalize", counts);
  (void)dt__elf_defines(e, "fa", NULL, ver, sizeof ver, &def, &refs);
  (void)dt__elf_defines(e, "fv", "V_1", ver, sizeof ver, &def, &refs);
}

/* Random byte damage, biased towards the headers and the dynamic
 * segment, must give either a usable handle or -ENOEXEC. */
static void fuzz_one(const fixture *f, const char *name, uint64_t seed) {
  char src[PATH_MAX], p[PATH_MAX];
  size_t len;
  unsigned char *orig = slurp(in(f->dir, name, src), &len);
  unsigned char *buf = malloc(len);
  assert_non_null(buf);
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)orig;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(orig + eh->e_phoff);
  size_t dyn_off = 0, dyn_len = 1;
  for (size_t i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC) {
      dyn_off = ph[i].p_offset;
      dyn_len = ph[i].p_filesz;
    }
  size_t hdr_len = eh->e_phoff + eh->e_phnum * sizeof *ph;
  int opened = 0;
  in(f->tmp, "fuzz.so", p);
  for (int iter = 0; iter < 300; iter++) {
    memcpy(buf, orig, len);
    int nflips = 1 + (int)(next_rand(&seed) % 4);
    for (int k = 0; k < nflips; k++) {
      uint32_t r = next_rand(&seed), where = next_rand(&seed) % 3;
      size_t pos = where == 0   ? r % hdr_len
                   : where == 1 ? dyn_off + r % dyn_len
                                : r % len;
      buf[pos] = (unsigned char)next_rand(&seed);
    }
    size_t n = iter % 10 == 9 ? next_rand(&seed) % len : len;
    spit(p, buf, n);
    dt__elf *e = NULL;
    char err[512];
    int rc = dt__elf_open(p, &e, err, sizeof err);
    if (rc != 0 && rc != -ENOEXEC)
      fail_msg("iteration %d of %s: rc %d (%s)", iter, name, rc, err);
    if (rc == 0) {
      opened++;
      poke(e);
      dt__elf_close(e);
    }
  }
  assert_true(opened > 0);
  free(buf);
  free(orig);
}

static void test_fuzz_never_crashes(void **state) {
  fixture *f = *state;
  fuzz_one(f, "libelfa.so", 1);
  fuzz_one(f, "libelfa_sysv.so", 2);
  fuzz_one(f, "elfprog", 3);
}

/* Compares two paths by the file they name. */
static void assert_same_file(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  assert_non_null(realpath(a, ra));
  assert_non_null(realpath(b, rb));
  assert_string_equal(ra, rb);
}

static void test_find_needed(void **state) {
  fixture *f = *state;
  char p[PATH_MAX], lib[PATH_MAX], out[PATH_MAX], ver[64];
  int def = -1;
  dt__elf *prog = open_ok(in(f->dir, "elfprog", p));

  /* The fixture library through DT_RUNPATH=$ORIGIN. */
  assert_int_equal(dt__elf_find_needed(prog, "libelfa.so", out, sizeof out),
                   0);
  assert_same_file(out, in(f->dir, "libelfa.so", lib));

  /* libc through /etc/ld.so.conf or the default directories. */
  assert_int_equal(dt__elf_find_needed(prog, "libc.so.6", out, sizeof out),
                   0);
  assert_non_null(strstr(out, "/libc.so.6"));
  dt__elf *libc = open_ok(out);
  assert_int_equal(
      dt__elf_defines(libc, "malloc", NULL, ver, sizeof ver, &def, NULL), 1);
  assert_true(strncmp(ver, "GLIBC_", 6) == 0);
  assert_int_equal(def, 1);
  dt__elf_close(libc);

  assert_int_equal(
      dt__elf_find_needed(prog, "libdtask-nosuch.so.9", out, sizeof out),
      -ENOENT);
  /* A name with a slash is used as it is. */
  assert_int_equal(dt__elf_find_needed(prog, lib, out, sizeof out), 0);
  assert_string_equal(out, lib);
  assert_int_equal(dt__elf_find_needed(prog, "libelfa.so", out, 4),
                   -ENAMETOOLONG);
  dt__elf_close(prog);

  /* Without a search path of its own, the sysv library cannot find the
   * fixture library, which is in no system directory. */
  dt__elf *sysv = open_ok(in(f->dir, "libelfa_sysv.so", p));
  assert_int_equal(dt__elf_find_needed(sysv, "libelfa.so", out, sizeof out),
                   -ENOENT);
  dt__elf_close(sysv);
}

/* DT_RPATH comes before LD_LIBRARY_PATH, DT_RUNPATH after; candidates that
 * are not ELF files are skipped; $ORIGIN of a program resolves links. */
static void test_find_needed_order(void **state) {
  fixture *f = *state;
  char p[PATH_MAX], d[PATH_MAX], lib[PATH_MAX], out[PATH_MAX];
  size_t len;
  unsigned char *bytes = slurp(in(f->dir, "libelfa.so", lib), &len);
  in(f->tmp, "llp", d);
  assert_int_equal(mkdir(d, 0700), 0);
  spit(in(d, "libelfa.so", p), bytes, len);
  free(bytes);
  char llp[PATH_MAX + 32];
  snprintf(llp, sizeof llp, "/nonexistent:%s", d);
  assert_int_equal(setenv("LD_LIBRARY_PATH", llp, 1), 0);

  dt__elf *runpath = open_ok(in(f->dir, "elfprog", p));
  dt__elf *rpath = open_ok(in(f->dir, "elfprog_rpath", p));
  assert_int_equal(
      dt__elf_find_needed(runpath, "libelfa.so", out, sizeof out), 0);
  assert_same_file(out, in(d, "libelfa.so", p));
  assert_int_equal(dt__elf_find_needed(rpath, "libelfa.so", out, sizeof out),
                   0);
  assert_same_file(out, lib);

  spit(in(d, "libelfa.so", p), "not an ELF file\n", 16);
  assert_int_equal(
      dt__elf_find_needed(runpath, "libelfa.so", out, sizeof out), 0);
  assert_same_file(out, lib);
  unsetenv("LD_LIBRARY_PATH");
  dt__elf_close(runpath);
  dt__elf_close(rpath);

  /* A symbolic link to the program: $ORIGIN is the real directory. */
  char link[PATH_MAX];
  assert_int_equal(symlink(in(f->dir, "elfprog", p), in(f->tmp, "prog", link)),
                   0);
  dt__elf *viz = open_ok(link);
  assert_int_equal(dt__elf_find_needed(viz, "libelfa.so", out, sizeof out),
                   0);
  assert_same_file(out, lib);
  dt__elf_close(viz);
}

static void test_imports_program(void **state) {
  fixture *f = *state;
  const char *progs[] = {"elfprog", "elfprog_rpath"};
  char p[PATH_MAX];
  int c[DT__REL_OTHER + 1];
  for (size_t i = 0; i < 2; i++) {
    dt__elf *e = open_ok(in(f->dir, progs[i], p));
    /* fa: address taken in code and in data; its call uses the GOT slot. */
    assert_int_equal(dt__elf_imports(e, "fa", c), 2);
    assert_int_equal(c[DT__REL_JUMP_SLOT], 0);
    assert_int_equal(c[DT__REL_GLOB_DAT], 1);
    assert_int_equal(c[DT__REL_ABS], 1);
    assert_int_equal(c[DT__REL_OTHER], 0);
    /* fa_twice: only called, through the PLT. */
    assert_int_equal(dt__elf_imports(e, "fa_twice", c), 1);
    assert_int_equal(c[DT__REL_JUMP_SLOT], 1);
    assert_int_equal(dt__elf_imports(e, "printf", c), 1);
    assert_int_equal(c[DT__REL_JUMP_SLOT], 1);
    assert_int_equal(dt__elf_imports(e, "nosuch", c), 0);
    for (int k = 0; k <= DT__REL_OTHER; k++)
      assert_int_equal(c[k], 0);
    assert_int_equal(dt__elf_imports(e, "fa", NULL), 2);
    /* A definition is not an import. */
    assert_int_equal(dt__elf_imports(e, "internal_only", c), 0);
    dt__elf_close(e);
  }
  dt__elf *lib = open_ok(in(f->dir, "libelfa.so", p));
  assert_int_equal(dt__elf_imports(lib, "fa", c), 0);
  assert_int_equal(dt__elf_imports(lib, "getenv", c), 1);
  assert_int_equal(c[DT__REL_JUMP_SLOT], 1);
  assert_int_equal(dt__elf_imports(lib, "__cxa_finalize", c), 1);
  assert_int_equal(c[DT__REL_GLOB_DAT], 1);
  dt__elf_close(lib);
}

static void test_defines_versions(void **state) {
  fixture *f = *state;
  char p[PATH_MAX], ver[64];
  int def = -1, refs = -1;
  dt__elf *e = open_ok(in(f->dir, "libelfa.so", p));

  assert_int_equal(dt__elf_defines(e, "fa", NULL, ver, sizeof ver, &def, NULL),
                   1);
  assert_string_equal(ver, "V_1");
  assert_int_equal(def, 1);
  /* Without a wanted version, fv is its default version. */
  assert_int_equal(dt__elf_defines(e, "fv", NULL, ver, sizeof ver, &def, NULL),
                   1);
  assert_string_equal(ver, "V_2");
  assert_int_equal(def, 1);
  assert_int_equal(
      dt__elf_defines(e, "fv", "V_1", ver, sizeof ver, &def, &refs), 1);
  assert_string_equal(ver, "V_1");
  assert_int_equal(def, 0);
  assert_int_equal(refs, 0);
  assert_int_equal(
      dt__elf_defines(e, "fv", "V_2", ver, sizeof ver, &def, NULL), 1);
  assert_int_equal(def, 1);
  assert_int_equal(
      dt__elf_defines(e, "fv", "V_3", ver, sizeof ver, &def, &refs), 0);
  assert_string_equal(ver, "");
  assert_int_equal(def, 0);
  assert_int_equal(dt__elf_defines(e, "fa", "V_2", NULL, 0, NULL, NULL), 0);
  /* A version's own symbol is not a function; local symbols are hidden. */
  assert_int_equal(dt__elf_defines(e, "V_1", NULL, NULL, 0, NULL, NULL), 0);
  assert_int_equal(dt__elf_defines(e, "fv_v1", NULL, NULL, 0, NULL, NULL), 0);
  assert_int_equal(dt__elf_defines(e, "nosuch", NULL, NULL, 0, NULL, NULL), 0);
  /* A short version buffer is truncated, not overrun. */
  assert_int_equal(dt__elf_defines(e, "fa", NULL, ver, 2, NULL, NULL), 1);
  assert_string_equal(ver, "V");
  dt__elf_close(e);
}

static void test_self_refs(void **state) {
  fixture *f = *state;
  char p[PATH_MAX];
  int refs = -1;
  dt__elf *e = open_ok(in(f->dir, "libelfa.so", p));
  assert_int_equal(dt__elf_defines(e, "fa", NULL, NULL, 0, NULL, &refs), 1);
  assert_true(refs > 0);
  assert_int_equal(dt__elf_defines(e, "fa_twice", NULL, NULL, 0, NULL, &refs),
                   1);
  assert_int_equal(refs, 0);
  dt__elf_close(e);
}

/* Opens the program and everything it needs, transitively; returns the
 * number of objects and their handles in objs. */
static size_t load_closure(const char *prog, dt__elf **objs, size_t max) {
  size_t n = 0;
  char out[PATH_MAX];
  objs[n++] = open_ok(prog);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < dt__elf_needed_count(objs[i]); k++) {
      const char *so = dt__elf_needed(objs[i], k);
      if (strcmp(so, "ld-linux-x86-64.so.2") == 0 ||
          strcmp(so, "ld-linux-aarch64.so.1") == 0)
        continue; /* the loader is found through PT_INTERP */
      assert_int_equal(dt__elf_find_needed(objs[i], so, out, sizeof out), 0);
      int seen = 0;
      for (size_t j = 0; j < n; j++) {
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(out, a) && realpath(dt__elf_path(objs[j]), b) &&
            strcmp(a, b) == 0)
          seen = 1;
      }
      if (!seen) {
        assert_true(n < max);
        objs[n++] = open_ok(out);
      }
    }
  return n;
}

static void test_internal_only(void **state) {
  fixture *f = *state;
  char p[PATH_MAX], ver[64];
  int def = -1, refs = -1, c[DT__REL_OTHER + 1];
  dt__elf *objs[16];
  size_t n = load_closure(in(f->dir, "elfprog", p), objs, 16);
  assert_int_equal(n, 3); /* elfprog, libelfa.so, libc.so.6 */

  assert_int_equal(
      dt__elf_defines(objs[0], "internal_only", NULL, ver, sizeof ver, &def,
                      &refs),
      1);
  assert_string_equal(ver, "");
  assert_int_equal(def, 1);
  assert_int_equal(refs, 0);
  int imports = 0, fa_imports = 0;
  for (size_t i = 0; i < n; i++) {
    imports += dt__elf_imports(objs[i], "internal_only", c);
    fa_imports += dt__elf_imports(objs[i], "fa", c);
  }
  assert_int_equal(imports, 0);
  assert_int_equal(fa_imports, 2);
  assert_int_equal(dt__elf_defines(objs[1], "fa", NULL, NULL, 0, NULL, NULL),
                   1);
  for (size_t i = 0; i < n; i++)
    dt__elf_close(objs[i]);
}

/* A real Debian binary: python3 (python3.11 on Debian 12) calls cos from
 * libm through its PLT. */
static void test_python_imports_cos(void **state) {
  (void)state;
  const char *py = "/usr/bin/python3";
  char out[PATH_MAX], ver[64];
  int c[DT__REL_OTHER + 1], def = -1;
  if (access(py, R_OK) != 0)
    fail_msg("%s: %s (Debian package python3; tools/deps.sh installs it)",
             py, strerror(errno));
  dt__elf *e = open_ok(py);
  assert_int_equal(dt__elf_is_executable(e), 1);
  assert_true(dt__elf_imports(e, "cos", c) >= 1);
  assert_true(c[DT__REL_JUMP_SLOT] >= 1);
  assert_int_equal(dt__elf_defines(e, "cos", NULL, NULL, 0, NULL, NULL), 0);
  assert_int_equal(dt__elf_find_needed(e, "libm.so.6", out, sizeof out), 0);
  dt__elf_close(e);

  dt__elf *m = open_ok(out);
  assert_int_equal(dt__elf_defines(m, "cos", NULL, ver, sizeof ver, &def, NULL),
                   1);
#if defined(__x86_64__)
  assert_string_equal(ver, "GLIBC_2.2.5");
#endif
  assert_int_equal(def, 1);
  assert_int_equal(dt__elf_imports(m, "cos", c), 0);
  dt__elf_close(m);
}

/* Without section headers the symbol count comes from DT_GNU_HASH or
 * DT_HASH, and every answer stays the same. */
static void test_no_section_headers(void **state) {
  fixture *f = *state;
  const char *names[] = {"libelfa.so", "libelfa_sysv.so", "elfprog"};
  char src[PATH_MAX], p[PATH_MAX], ver[64];
  int def = -1, refs = -1, c[DT__REL_OTHER + 1];
  for (size_t i = 0; i < 3; i++) {
    size_t len;
    unsigned char *b = slurp(in(f->dir, names[i], src), &len);
    ElfW(Ehdr) *eh = (ElfW(Ehdr) *)b;
    eh->e_shoff = 0;
    eh->e_shnum = 0;
    eh->e_shstrndx = 0;
    spit(in(f->tmp, "noshdr", p), b, len);
    free(b);
    dt__elf *e = open_ok(p);
    if (i < 2) {
      assert_int_equal(
          dt__elf_defines(e, "fa", NULL, ver, sizeof ver, &def, &refs), 1);
      assert_string_equal(ver, "V_1");
      assert_true(refs > 0);
      assert_int_equal(
          dt__elf_defines(e, "fv", "V_1", ver, sizeof ver, &def, NULL), 1);
      assert_int_equal(def, 0);
      assert_int_equal(dt__elf_imports(e, "__cxa_finalize", c), 1);
    } else {
      assert_int_equal(dt__elf_imports(e, "fa", c), 2);
      assert_int_equal(dt__elf_imports(e, "fa_twice", c), 1);
      assert_int_equal(
          dt__elf_defines(e, "internal_only", NULL, NULL, 0, NULL, NULL), 1);
    }
    dt__elf_close(e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relkind_names),
      cmocka_unit_test(test_open_program),
      cmocka_unit_test(test_open_library_and_static),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_bad_dynamic),
      cmocka_unit_test(test_fuzz_never_crashes),
      cmocka_unit_test(test_find_needed),
      cmocka_unit_test(test_find_needed_order),
      cmocka_unit_test(test_imports_program),
      cmocka_unit_test(test_defines_versions),
      cmocka_unit_test(test_self_refs),
      cmocka_unit_test(test_internal_only),
      cmocka_unit_test(test_python_imports_cos),
      cmocka_unit_test(test_no_section_headers),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
