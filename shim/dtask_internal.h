/* dtask_internal.h: every dt__ name shared between dtask's source files.
 *
 * This is the one internal header.  Everything a .c file defines that
 * another .c file uses is declared here; everything else is static.
 * Nothing here is exported from libdtask_shim.so: the shim is built with
 * -fvisibility=hidden and exports only the symbols it interposes.
 *
 * Conventions (after libuv and LMDB):
 *   - functions return 0 on success or a negative errno value;
 *   - a function that allocates says in its comment who frees what;
 *   - errors that a person must act on carry a dt__error: a 1-based line
 *     and column (0 when they do not apply) and a sentence that says what
 *     is wrong and what to write instead. */
#ifndef DTASK_INTERNAL_H
#define DTASK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ffi.h>

#if defined(__GNUC__)
#define DT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DT__PRINTF(a, b)
#endif

/* ---------------------------------------------------------------- errors */

/* A located diagnostic.  line/col are 1-based; 0 means "not applicable".
 * msg is one or more sentences, without the location prefix. */
typedef struct dt__error {
  int line;
  int col;
  char msg[512];
} dt__error;

/* Fills err (which may be NULL) and returns -EINVAL, so that parsers can
 * write `return dt__error_set(err, line, col, "...")`. */
int dt__error_set(dt__error *err, int line, int col, const char *fmt, ...)
    DT__PRINTF(4, 5);

/* Formats "FILE:LINE:COL: MSG" (omitting parts that are 0 or NULL) into
 * out, truncating to outsz.  Returns out. */
char *dt__error_format(const dt__error *err, const char *file, char *out,
                       size_t outsz);

/* ------------------------------------------------------------------ TOML */

/* A strict parser for the TOML subset dtask needs: tables, arrays of
 * tables, dotted and quoted keys, basic and literal strings (single-line
 * and multi-line) with escapes, integers (decimal with '_', hex, octal,
 * binary), floats, booleans, arrays and inline tables, comments.
 * Dates and times are rejected with a message.  Duplicate keys and
 * redefined tables are errors.  Every node remembers where it was written. */
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

/* Parses len bytes of text (need not be NUL-terminated).  On success stores
 * a root table in *out, owned by the caller and freed with dt__toml_free.
 * On failure returns -EINVAL (or -ENOMEM), fills err with the line and
 * column of the offending character, and stores nothing. */
int dt__toml_parse(const char *text, size_t len, dt__toml **out,
                   dt__error *err);

/* Frees a tree returned by dt__toml_parse.  NULL is allowed. */
void dt__toml_free(dt__toml *root);

/* Returns the member of table t named key, or NULL.  t must be a table.
 * The result is owned by the tree. */
const dt__toml *dt__toml_get(const dt__toml *t, const char *key);

/* "table", "array", "string", "integer", "float", "boolean". */
const char *dt__toml_kind_name(dt__toml_kind kind);

/* ----------------------------------------------------------------- units */

/* Parses "1GiB", "512 MiB", "64k", "4096" (bytes) into *out.  Accepted
 * suffixes: B, k/K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB; all are powers of
 * 1024.  Returns 0 or -EINVAL (with a sentence in err->msg). */
int dt__parse_size(const char *s, uint64_t *out, dt__error *err);

/* Parses "500ms", "10s", "2m", "1h", "250us", "0" into nanoseconds. */
int dt__parse_duration(const char *s, uint64_t *ns, dt__error *err);

/* Expands $USER, $UID, $HOME, ${NAME} and a leading ~ in path into out.
 * Unknown variables are an error.  Returns 0, -EINVAL or -ENAMETOOLONG. */
int dt__expand_path(const char *path, char *out, size_t outsz,
                    dt__error *err);

/* Returns the candidate closest to word by edit distance when it is close
 * enough to be a plausible typo, else NULL.  candidates ends with NULL. */
const char *dt__did_you_mean(const char *word, const char *const *candidates);

/* ------------------------------------------------------------ signatures */

/* Type tags.  One switch (dt__type_ffi) maps them to libffi types. */
typedef enum dt__tag {
  DT__T_VOID,
  DT__T_BOOL,
  DT__T_CHAR,
  DT__T_SCHAR,
  DT__T_UCHAR,
  DT__T_SHORT,
  DT__T_USHORT,
  DT__T_INT,
  DT__T_UINT,
  DT__T_LONG,
  DT__T_ULONG,
  DT__T_LLONG,
  DT__T_ULLONG,
  DT__T_INT8,
  DT__T_INT16,
  DT__T_INT32,
  DT__T_INT64,
  DT__T_UINT8,
  DT__T_UINT16,
  DT__T_UINT32,
  DT__T_UINT64,
  DT__T_SIZE,
  DT__T_SSIZE,
  DT__T_OFF,
  DT__T_INTPTR,
  DT__T_UINTPTR,
  DT__T_FLOAT,
  DT__T_DOUBLE,
  DT__T_CSTRING, /* const char *, NUL-terminated, NULL allowed */
  DT__T_USER     /* a plain-data type declared under [types] */
} dt__tag;

/* A user type from [types]: copied byte for byte, never passed by value. */
typedef struct dt__utype {
  char name[64];
  size_t size;
  size_t align;
  int line; /* where it was declared in the config */
} dt__utype;

typedef struct dt__type {
  dt__tag tag;
  const char *name;        /* the spelling used in signatures */
  size_t size, align;      /* element size/alignment (pointer size for
                              cstring) */
  const dt__utype *utype;  /* for DT__T_USER */
} dt__type;

/* Fills t for the scalar type name, or for a name declared in utypes.
 * Returns 0 or -ENOENT. */
int dt__type_lookup(const char *name, const dt__utype *utypes, size_t nutypes,
                    dt__type *t);

/* Maps a tag to its libffi type (&ffi_type_pointer for cstring and
 * buffers, NULL for DT__T_USER which is never passed by value). */
ffi_type *dt__type_ffi(dt__tag tag);

/* 1 for the integer tags (bool and char included), 0 otherwise. */
int dt__tag_is_integer(dt__tag tag);

/* 1 if an integer tag is signed. */
int dt__tag_is_signed(dt__tag tag);

typedef enum dt__dir {
  DT__DIR_VALUE, /* a scalar or cstring passed by value */
  DT__DIR_IN,    /* buffer copied to the callee */
  DT__DIR_OUT,   /* buffer copied back to the caller */
  DT__DIR_INOUT  /* both */
} dt__dir;

#define DT__MAX_PARAMS 32
#define DT__MAX_LEN_FACTORS 4

/* LEN = constant * params[0] * params[1] * ...  (constant defaults to 1). */
typedef struct dt__len {
  uint64_t constant;
  int nfactors;
  int factors[DT__MAX_LEN_FACTORS]; /* parameter indices */
} dt__len;

typedef struct dt__param {
  char name[64];
  dt__dir dir;
  dt__type type; /* element type for buffers */
  int is_buffer; /* dir != VALUE */
  dt__len len;   /* for buffers */
  int col;       /* column inside the signature string, 1-based */
} dt__param;

typedef struct dt__sig {
  char name[128]; /* the function name written in the signature */
  dt__type ret;   /* DT__T_VOID, a scalar or DT__T_CSTRING */
  int nparams;
  dt__param params[DT__MAX_PARAMS];
  ffi_type *ffi_ret;
  ffi_type *ffi_args[DT__MAX_PARAMS];
} dt__sig;

/* Parses a signature such as
 *   "int build_report(cstring period, out report r[1])"
 * against the declared user types.  On error returns -EINVAL and fills err
 * with col = column inside text (line is left 0 for the caller to set).
 * The caller owns *sig (plain data, nothing to free). */
int dt__sig_parse(const char *text, const dt__utype *utypes, size_t nutypes,
                  dt__sig *sig, dt__error *err);

/* Writes a one-line rendering of the signature as understood, then one
 * indented line per parameter (direction, element size, length source). */
void dt__sig_describe(const dt__sig *sig, FILE *out);

/* ----------------------------------------------------- symbol deny list */

/* Returns a non-NULL reason ("dtask's allocator", ...) if dtask itself
 * depends on the symbol and it can therefore never be offloaded. */
const char *dt__symbol_denied(const char *name);

/* ---------------------------------------------------------------- config */

/* ------------------------------------------------------ failure policies */

/* What a call does when it fails in a given way (policy.c). */
typedef enum dt__onerr_kind {
  DT__ON_SIGNAL,  /* print one line, then die as the worker did */
  DT__ON_RETRY,   /* run the call again, up to `retries` times */
  DT__ON_RETURN,  /* return a fixed value and set errno */
  DT__ON_WAIT,    /* keep waiting for a runner */
  DT__ON_LOCAL    /* call the real function inline */
} dt__onerr_kind;

/* A literal from the config, kept as written until it is bound to a
 * signature's return type. */
typedef enum dt__lit { DT__LIT_NONE, DT__LIT_INT, DT__LIT_FLOAT,
                       DT__LIT_BOOL, DT__LIT_NULL } dt__lit;

typedef struct dt__action {
  dt__onerr_kind kind;
  dt__lit lit;     /* DT__ON_RETURN: the return value as written */
  long long li;    /* ... DT__LIT_INT / DT__LIT_BOOL */
  double ld;       /* ... DT__LIT_FLOAT */
  uint64_t value;  /* ... bound (dt__policy_bind): the wire's form */
  int err;         /* DT__ON_RETURN: the errno to set (0: leave it) */
  int line, col;   /* where it was written (0: the built-in default) */
} dt__action;

/* A comparison operator of retry_if and offload_if. */
typedef enum dt__cmp { DT__CMP_EQ, DT__CMP_NE, DT__CMP_LT, DT__CMP_LE,
                       DT__CMP_GT, DT__CMP_GE } dt__cmp;

/* One comparison written in the config, "NAME OP LITERAL" (cond.c):
 * retry_if's NAME is ret, offload_if's a parameter. */
typedef struct dt__cond {
  char name[64];  /* as written */
  int param;      /* bound to a parameter: its index; -1 otherwise */
  dt__cmp op;
  dt__lit lit;    /* the literal's kind */
  long long i;    /* DT__LIT_INT, DT__LIT_BOOL */
  unsigned long long u; /* DT__LIT_INT above LLONG_MAX (big set) */
  int big;        /* the literal is u, above every signed value */
  double d;       /* DT__LIT_FLOAT */
  int line, col;  /* where it was written (0: implied) */
} dt__cond;

/* Parses text into *c (param = -1, line and col 0).  Returns 0, or
 * -EINVAL when text is not NAME OP LITERAL; the caller says so. */
int dt__cond_parse(const char *text, dt__cond *c);

/* NULL if c's literal can be compared with a value of type t; otherwise
 * why not, as a phrase ("an integer must be compared with an integer"). */
const char *dt__cond_misfit(const dt__cond *c, const dt__type *t);

/* Whether v, a value of type t in the wire's form (for a cstring: 0 when
 * NULL), satisfies c. */
int dt__cond_eval(const dt__cond *c, const dt__type *t, uint64_t v);

/* Renders c as "NAME OP LITERAL" into out. */
void dt__cond_format(const dt__cond *c, char *out, size_t size);

#define DT__MAX_RETRY_ERRNOS 16

/* Every failure setting of one [[offload]] entry (defaults from the
 * [defaults] table, then the entry's own keys). */
typedef struct dt__policy {
  dt__action on_crash;        /* default: signal */
  dt__action on_timeout;      /* default: signal (SIGALRM) */
  dt__action on_unavailable;  /* default: local */
  uint64_t timeout_ns;        /* 0: none */
  int retries;                /* default 3 */
  uint64_t retry_wait_ns;     /* default 100 ms */
  uint64_t retry_max_wait_ns; /* default 5 s */
  uint64_t wait_for_runner_ns; /* default 30 s */
  int retry_errnos[DT__MAX_RETRY_ERRNOS];
  int nretry_errnos;
  int has_retry_if;           /* retry_if given, or implied (bind) */
  dt__cond retry_if;          /* name "ret"; line 0 when implied */
  int errnos_line, errnos_col;       /* where retry_on_errno was */
} dt__policy;

/* The policy keys, valid in [defaults] and in every [[offload]]. */
extern const char *const dt__policy_keys[];

/* Sets the built-in defaults. */
void dt__policy_defaults(dt__policy *p);

/* Reads the policy keys present in table t (other keys are ignored: the
 * caller checks them) over what p holds.  section names the table in
 * messages.  Returns 0 or -EINVAL with err located at the bad value. */
int dt__policy_read(const dt__toml *t, const char *section,
                    dt__policy *p, dt__error *err);

/* Checks p against the signature it will serve (return values that fit
 * the return type, a retry condition that can be evaluated) and fills in
 * the implied retry condition.  Returns 0 or -EINVAL with err located at
 * the setting (which may be in [defaults]). */
int dt__policy_bind(dt__policy *p, const dt__sig *sig,
                    const char *section, dt__error *err);

/* 1 if ret (libffi's return buffer) is a failed call's return: what
 * retry_if says, or without it the C conventions (a negative signed
 * integer, a NULL string); 0 for other types. */
int dt__policy_is_failure(const dt__policy *p, const dt__sig *sig,
                          const void *ret);

/* 1 if a call that returned ret (libffi's return buffer) with errno err
 * should be retried under p. */
int dt__policy_should_retry(const dt__policy *p, const dt__sig *sig,
                            const void *ret, int err);

/* The pause before retry number attempt (1-based): full jitter, uniform
 * in [0, min(retry_max_wait, retry_wait * 2^(attempt-1))].  rnd is a
 * uniformly random 64-bit number. */
uint64_t dt__policy_backoff_ns(const dt__policy *p, int attempt, uint64_t rnd);

/* Writes a DT__ON_RETURN action's value into libffi's return buffer. */
void dt__policy_store_return(const dt__action *a, const dt__sig *sig,
                             void *ret);

/* Writes what p does, in three indented lines (dtask check). */
void dt__policy_describe(const dt__policy *p, FILE *out);

/* "EAGAIN" -> EAGAIN; -1 for an unknown name. */
int dt__errno_parse(const char *name);
/* EAGAIN -> "EAGAIN"; NULL for an unknown number. */
const char *dt__errno_name(int e);

/* ------------------------------------------------------------- fan-out */

/* How slice return values combine into the call's (split.c). */
typedef enum dt__agg {
  DT__AGG_NONE,          /* void functions */
  DT__AGG_SUM,
  DT__AGG_MIN,
  DT__AGG_MAX,
  DT__AGG_AND,           /* 1 if every slice returned non-zero, else 0 */
  DT__AGG_OR,            /* 1 if any slice returned non-zero, else 0 */
  DT__AGG_FIRST_NONZERO  /* the first slice, in order, that returned
                            non-zero (the C error-code convention) */
} dt__agg;

/* split = { over = "n", chunk = 64 } and aggregate = "sum". */
typedef struct dt__split {
  int enabled;
  int over;           /* index of the integer parameter split over */
  uint64_t chunk;     /* elements per slice (0: not given) */
  uint64_t chunks;    /* number of slices (0: not given; with neither,
                         one slice per worker) */
  uint64_t min_split; /* calls with fewer elements run as one task */
  dt__agg agg;
  /* Per parameter: sliced along `over` (its length has `over` as a
   * factor once), or common to every slice (an in buffer whose length
   * does not depend on it: stored in the queue once). */
  uint8_t sliced[DT__MAX_PARAMS];
  uint8_t common[DT__MAX_PARAMS];
} dt__split;

/* The [[offload]] keys that fan-out adds. */
extern const char *const dt__split_keys[];

/* Reads split, aggregate and min_split from an [[offload]] table and
 * checks them against sig: `over` must be an integer parameter passed by
 * value; every out or inout buffer must be sliced along it; the
 * aggregate must fit the return type.  Returns 0 (s->enabled 0 when the
 * table has no split) or -EINVAL with err located at the bad value. */
int dt__split_read(const dt__toml *t, const char *section, const dt__sig *sig,
                   dt__split *s, dt__error *err);

/* How many slices a call over n elements becomes (workers: the pool's
 * size, for the one-slice-per-worker default).  1 means "do not split". */
uint64_t dt__split_count(const dt__split *s, uint64_t n, int workers);

/* The first element of slice k of count over n elements. */
uint64_t dt__split_start(const dt__split *s, uint64_t n, uint64_t count,
                         uint64_t k);

/* Reads the integer argument args[i] of type t as an unsigned count;
 * -ERANGE when it is negative. */
int dt__arg_count(const dt__type *t, void *arg, uint64_t *n);

/* Writes n into *dst as an argument of integer type t. */
void dt__arg_store(const dt__type *t, uint64_t n, void *dst);

/* Folds one slice's return value (wire form) into *acc.  first is 1 for
 * the first slice.  Returns 1 when the result is decided (first_nonzero
 * found its slice). */
int dt__split_fold(dt__agg agg, const dt__type *t, uint64_t *acc, uint64_t v,
                   int first);

/* Writes how calls are split, in two indented lines (dtask check);
 * nothing when s is not enabled. */
void dt__split_describe(const dt__split *s, const dt__sig *sig, FILE *out);

/* "sum" ... "none"; NULL for an unknown value. */
const char *dt__agg_name(dt__agg agg);

typedef struct dt__offload {
  char symbol[128];
  char version[64];    /* "" when not versioned */
  char library[256];   /* "" when any object may define it */
  int required;        /* not importing it is an error */
  int has_offload_if;  /* offload_if given: other calls run in the caller */
  dt__cond offload_if; /* bound to a scalar parameter passed by value */
  dt__sig sig;
  dt__policy policy;
  dt__split split;
  int line;            /* where the [[offload]] header is */
} dt__offload;

typedef struct dt__config {
  char path[4096]; /* the file it was read from ("<embedded>" if none) */

  /* [queue] */
  char backend[16];       /* "lmdb" */
  char queue_path[4096];  /* expanded */
  uint64_t map_size;      /* bytes */

  /* [runner] */
  int workers;
  int autostart;
  uint64_t idle_exit_ns;

  /* [defaults]: the policy each [[offload]] entry starts from */
  dt__policy defaults;

  /* [types] */
  dt__utype *types;
  size_t ntypes;

  /* [[offload]] */
  dt__offload *offloads;
  size_t noffloads;

  int strict; /* [shim] strict = true, or DTASK_STRICT=1 */
} dt__config;

/* Fails with a located message unless v has the wanted kind; example is
 * a correct line to show.  Shared by config.c and policy.c. */
int dt__config_want(const dt__toml *v, dt__toml_kind kind,
                    const char *section, const char *example, dt__error *err);

/* Re-locates an error from a units helper (which has no position) at v,
 * prefixed with its key and section.  Returns 0 when rc is 0, else
 * -EINVAL. */
int dt__config_at(const dt__toml *v, const char *section, int rc,
                  dt__error *err);

/* Parses config text.  path is used in messages only.  On success *out is
 * owned by the caller (dt__config_free).  On error returns -EINVAL and err
 * holds the line/column and a sentence; err never holds the file name. */
int dt__config_parse(const char *text, size_t len, const char *path,
                     dt__config **out, dt__error *err);

/* Reads and parses a file.  Returns -errno when it cannot be read. */
int dt__config_load(const char *path, dt__config **out, dt__error *err);

/* The file dtask would use: $DTASK_CONFIG, else ./dtask.toml if it exists,
 * else NULL (meaning "no config": nothing to offload). */
const char *dt__config_default_path(void);

void dt__config_free(dt__config *cfg);

/* ----------------------------------------------------- ELF (on disk) */

/* Relocation kinds as dtask reports them. */
typedef enum dt__relkind {
  DT__REL_JUMP_SLOT, /* call through the PLT: caught */
  DT__REL_GLOB_DAT,  /* address taken / -fno-plt call: caught */
  DT__REL_ABS,       /* R_*_64 data pointer: caught only if not relro */
  DT__REL_OTHER
} dt__relkind;

const char *dt__relkind_name(dt__relkind k);

/* Inspects an ELF file on disk (never executes it).  An opaque handle owns
 * a read-only mapping of the file. */
typedef struct dt__elf dt__elf;

/* Opens and validates path (ELF64, the host machine).  On success *out is
 * owned by the caller (dt__elf_close).  On failure returns -errno or
 * -ENOEXEC and writes a sentence into err. */
int dt__elf_open(const char *path, dt__elf **out, char *err, size_t errsz);
void dt__elf_close(dt__elf *e);
const char *dt__elf_path(const dt__elf *e);
int dt__elf_is_executable(const dt__elf *e); /* ET_EXEC, or ET_DYN + PT_INTERP */

/* DT_NEEDED entries, in order.  The strings are owned by e. */
size_t dt__elf_needed_count(const dt__elf *e);
const char *dt__elf_needed(const dt__elf *e, size_t i);

/* Finds the file the dynamic loader would load for soname when needed by
 * `from`: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH
 * ($ORIGIN expanded), /etc/ld.so.conf directories, then the default
 * directories.  Returns 0 and writes the path into out, or -ENOENT. */
int dt__elf_find_needed(const dt__elf *from, const char *soname, char *out,
                        size_t outsz);

/* Counts the dynamic relocations of e that name sym with an undefined
 * symbol table entry (imports), per kind: counts[DT__REL_JUMP_SLOT] etc.
 * counts has DT__REL_OTHER + 1 entries and is zeroed first.  Returns the
 * total. */
int dt__elf_imports(const dt__elf *e, const char *sym, int *counts);

/* Returns 1 if e defines and exports sym (a defined STT_FUNC/STT_GNU_IFUNC
 * dynamic symbol); writes its version name into ver ("" if unversioned)
 * and whether it is the default version (@@) into *is_default.  With
 * want_version non-NULL, only that version matches.  Also counts into
 * *self_refs the relocations in e that name sym although e defines it
 * (its internal calls that go through its own PLT/GOT).  0 if not. */
int dt__elf_defines(const dt__elf *e, const char *sym, const char *want_version,
                    char *ver, size_t versz, int *is_default, int *self_refs);

/* ------------------------------------------------- GOT patching (memory) */

/* One symbol to redirect in the loaded objects of this process. */
typedef struct dt__hook {
  const char *name;    /* symbol name */
  void *real;          /* the definition the program would have called */
  void *stub;          /* where calls must go instead */
  uintptr_t def_base;  /* load base of the defining object (its own
                          references are left alone), 0 if unknown */
} dt__hook;

/* Called once per relocation considered. patched is 1 if the slot now
 * holds the stub, 0 if it was left alone (reason says why), -errno on
 * failure. */
typedef void (*dt__got_report_fn)(void *ctx, const char *object,
                                  const char *symbol, dt__relkind kind,
                                  int patched, const char *reason);

/* Walks the loaded objects with dl_iterate_phdr and, in each object not
 * patched before (tracked by load base and name), points the JUMP_SLOT and
 * GLOB_DAT slots (and R_*_64 data words equal to real) of every hooked
 * symbol at its stub.  The object whose base is skip_base (the shim) and
 * each hook's defining object are left alone.  Read-only (RELRO) pages are
 * made writable for the write and restored after.  Not thread-safe: the
 * caller serializes calls.  Returns the number of slots patched or -errno. */
int dt__got_patch(const dt__hook *hooks, size_t nhooks, uintptr_t skip_base,
                  dt__got_report_fn report, void *ctx);

/* Forgets which objects were patched (tests; and after dlclose when the
 * same base may be reused, which dt__got_patch also detects). */
void dt__got_reset(void);

/* ---------------------------------------------------------- wire format */

/* Task and result records: versioned, little-endian whatever the host,
 * every length checked against the record's size on decode.  A task
 * carries the fingerprint of the offload entries of the config that made
 * it, and the index of its entry; a runner whose fingerprint differs
 * refuses it.  Layout (all integers little-endian):
 *
 *   task   := "DTQ1" u16 version u16 flags u64 fingerprint u32 entry
 *             u32 nargs u64 call_id i32 errno (the caller's, which the
 *             function sees on entry), then one item per parameter:
 *     value   u64 (integers widened by their signedness, float/double
 *             as their IEEE bits)
 *     cstring u32 len (0xffffffff for NULL), len bytes, no NUL
 *     buffer  u8 present (0 for NULL, and then nothing follows), then
 *             u64 nbytes, and for in and inout buffers nbytes bytes
 *   result := "DTR1" u16 version u16 status i32 errno u64 call_id
 *             u64 ret (as a value above), then for a cstring return
 *             u32 len (0xffffffff NULL) + bytes; then for every out or
 *             inout buffer that was present, in parameter order, u64
 *             nbytes + bytes; when status != 0, u32 len + a message
 *             replace everything after call_id.
 */
#define DT__WIRE_VERSION 1

/* Result statuses. */
enum {
  DT__ST_OK = 0,
  DT__ST_MALFORMED = 1,   /* the task record failed validation */
  DT__ST_FINGERPRINT = 2, /* the runner serves a different config */
  DT__ST_NO_ENTRY = 3,    /* entry index out of range */
  DT__ST_NO_SYMBOL = 4,   /* the runner cannot find the function */
  DT__ST_NOMEM = 5,       /* the runner could not allocate */
  DT__ST_CRASH = 6,       /* the worker died running the call */
  DT__ST_TIMEOUT = 7      /* the call ran past its timeout; its worker
                             was killed */
};

/* A stable 64-bit fingerprint of the offload entries of cfg: symbol,
 * version and the signature as parsed (types, directions, lengths). */
uint64_t dt__wire_fingerprint(const dt__config *cfg);

/* The byte count of a buffer parameter for one call: element size times
 * LEN evaluated on the call's integer arguments (args as libffi passes
 * them).  Returns 0 and *nbytes, or -EOVERFLOW, or -ERANGE when a length
 * argument is negative. */
int dt__wire_buffer_bytes(const dt__sig *sig, int param, void **args,
                          uint64_t *nbytes);

/* Computes the size of the task record for a call. */
int dt__wire_task_size(const dt__sig *sig, void **args, size_t *size);

/* Encodes the task into buf, which has exactly the size computed above
 * (buf need not be aligned: LMDB hands out reserved space).  Returns 0 or
 * a negative errno. */
int dt__wire_task_encode(const dt__sig *sig, uint64_t fingerprint,
                         uint32_t entry, uint64_t call_id, int caller_errno,
                         void **args, uint8_t *buf, size_t size);

/* The same, with in buffers passed by reference: refs[i], when not
 * DT__NO_ID, names bytes already stored in the queue (fan-out stores a
 * buffer common to every slice once); the record then carries the id
 * and the size instead of the bytes.  refs may be NULL. */
int dt__wire_task_size_refs(const dt__sig *sig, void **args,
                            const uint64_t *refs, size_t *size);
int dt__wire_task_encode_refs(const dt__sig *sig, uint64_t fingerprint,
                              uint32_t entry, uint64_t call_id,
                              int caller_errno, void **args,
                              const uint64_t *refs, uint8_t *buf,
                              size_t size);

/* Reads the fixed header of a task record.  Returns 0 or -EPROTO. */
int dt__wire_task_peek(const uint8_t *rec, size_t size, uint64_t *fingerprint,
                       uint32_t *entry, uint64_t *call_id);

/* A decoded call, ready for ffi_call: argv[i] points at the i-th argument
 * as libffi wants it.  Owns one heap block (freed by dt__frame_free) that
 * holds an aligned copy of the in buffers and cstrings and zeroed space
 * for out buffers. */
typedef struct dt__frame {
  uint64_t call_id;
  uint32_t entry;
  int caller_errno; /* errno in the caller when it made the call */
  int nargs;
  void *argv[DT__MAX_PARAMS];
  union {
    uint64_t u;
    int64_t i;
    double d;
    float f;
    void *p;
    unsigned char bytes[8];
  } vals[DT__MAX_PARAMS];
  void *buf[DT__MAX_PARAMS];    /* buffer/cstring pointers (NULL if NULL) */
  uint64_t bytes[DT__MAX_PARAMS]; /* buffer sizes */
  void *mem;       /* the block all buffers live in */
  size_t mem_size; /* its size (it may be a larger block, reused) */
} dt__frame;

/* Decodes and validates a task against sig.  Any inconsistency (a length
 * past the end, a size that disagrees with the length arguments, trailing
 * bytes) is -EPROTO with a sentence in msg.  On success f owns its memory. */
int dt__wire_task_decode(const dt__sig *sig, const uint8_t *rec, size_t size,
                         dt__frame *f, char *msg, size_t msgsz);

/* Copies the n bytes stored in the queue under id into dst; 0 or a
 * negative errno (-ENOENT, -EPROTO for another size). */
typedef int (*dt__fetch_fn)(void *ctx, uint64_t id, void *dst, uint64_t n);

/* dt__wire_task_decode for records that may carry references; fetch
 * (with fctx) resolves them.  Without fetch, a reference is -EPROTO. */
int dt__wire_task_decode_refs(const dt__sig *sig, const uint8_t *rec,
                              size_t size, dt__fetch_fn fetch, void *fctx,
                              dt__frame *f, char *msg, size_t msgsz);

void dt__frame_free(dt__frame *f);

/* Encodes the result of a call made with f (ret is libffi's return buffer,
 * err the errno after the call) into a malloc'd record (*out, *size), owned
 * by the caller. */
int dt__wire_result_encode(const dt__sig *sig, const dt__frame *f,
                           const void *ret, int err, uint8_t **out,
                           size_t *size);

/* Encodes an error result (status != DT__ST_OK) with a message and a
 * detail: for DT__ST_CRASH the worker's signal number, or 256 + its exit
 * status when it exited; 0 otherwise.  The caller reads the detail where
 * a result's errno goes. */
int dt__wire_result_error(uint64_t call_id, int status, int detail,
                          const char *msg, uint8_t **out, size_t *size);

/* The wire form of a scalar argument as libffi passes it (arg points at
 * the value, in its own width).  0 or -EINVAL for a type that has no
 * scalar value. */
int dt__wire_arg_value(const dt__type *t, const void *arg, uint64_t *out);

/* The wire form of a return value read from libffi's return buffer
 * (integers narrower than ffi_arg are read as libffi widened them), and
 * its inverse.  0 or -EINVAL for a type that has no scalar value. */
int dt__wire_ret_value(const dt__type *t, const void *ret, uint64_t *out);
void dt__wire_ret_store(const dt__type *t, uint64_t v, void *ret);

/* Caller side: validates a result record against the call's signature and
 * arguments, then writes the return value into ret (libffi's buffer, at
 * least sizeof(ffi_arg)), copies out/inout buffers into the caller's
 * memory and stores errno in *err.  A cstring return is copied into
 * *cstr (grown with the given allocator-free callback-less scheme: the
 * caller passes a buffer and its capacity; -ENOSPC with *need set when it
 * is too small, nothing else written).  Returns the record's status
 * (>= 0), or -EPROTO with a sentence in msg for a malformed record. */
int dt__wire_result_apply(const dt__sig *sig, void **args, uint64_t call_id,
                          const uint8_t *rec, size_t size, void *ret,
                          int *err, char *cstr, size_t cstr_cap, size_t *need,
                          char *msg, size_t msgsz);

/* ---------------------------------------------------------------- queue */

/* The LMDB queue between callers and runner workers, with a doorbell
 * page of futex words beside it (queue.c).  A handle belongs to the
 * process that opened it: after fork the child must open its own
 * (dt__queue_stale says so); the old one is abandoned, never closed,
 * because closing it would release the parent's reader slots. */
typedef struct dt__queue dt__queue;

/* Opens the queue of cfg, creating its directory (0700) and files.  The
 * directory must belong to this user and be closed to group and others;
 * otherwise -EPERM with a sentence in err that says why and what to do.
 * *out is owned by the caller (dt__queue_close). */
int dt__queue_open(const dt__config *cfg, dt__queue **out, char *err,
                   size_t errsz);
void dt__queue_close(dt__queue *q);

/* 1 if q was opened by another process (this one forked since). */
int dt__queue_stale(const dt__queue *q);

/* The queue directory (owned by q). */
const char *dt__queue_dir(const dt__queue *q);

/* Writes a task record in place: called inside the write transaction
 * with size bytes of reserved, unaligned space and the call id. */
typedef int (*dt__encode_fn)(void *ctx, uint8_t *buf, size_t size,
                             uint64_t id);

/* Reads a result record in place: called inside the transaction that
 * then deletes it.  A negative return keeps the record (-ENOSPC: the
 * caller grows a buffer and waits again without sleeping). */
typedef int (*dt__apply_fn)(void *ctx, const uint8_t *rec, size_t size);

/* Caller side.  A waiter slot is this thread's futex word on the
 * doorbell page; dt__queue_submit stores it in the task so that the
 * worker wakes exactly this thread. */
int dt__queue_waiter(dt__queue *q, uint32_t *slot);
/* Gives this thread's slot back (thread exit). */
void dt__queue_waiter_release(dt__queue *q, uint32_t slot);
/* -E2BIG for a task larger than a quarter of the map. */
int dt__queue_submit(dt__queue *q, size_t size, dt__encode_fn enc, void *ctx,
                     uint32_t slot, uint64_t *id);
/* Blocks (futex, no polling) until the result of id is there, then
 * applies and deletes it.  timeout_ns 0 waits forever; -ETIMEDOUT. */
int dt__queue_wait(dt__queue *q, uint64_t id, uint32_t slot,
                   dt__apply_fn apply, void *ctx, uint64_t timeout_ns);
/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep. */
#define DT__NO_ID UINT64_MAX
uint32_t dt__queue_slot_seq(dt__queue *q, uint32_t slot);
int dt__queue_wait_since(dt__queue *q, uint64_t id, uint32_t slot,
                         uint32_t seen, dt__apply_fn apply, void *ctx,
                         uint64_t timeout_ns);
int dt__queue_submit_drop(dt__queue *q, size_t size, dt__encode_fn enc,
                          void *ctx, uint32_t slot, uint64_t drop,
                          uint64_t *id);
int dt__queue_drop(dt__queue *q, uint64_t id);
/* Removes a task that no worker claimed yet, or whose worker died (1),
 * or returns 0 if a live worker has it. */
int dt__queue_cancel(dt__queue *q, uint64_t id);

/* Worker side.  Claims the oldest task (FIFO by id) and copies it into
 * a malloc'd buffer (*rec, owned by the caller).  Blocks on the doorbell
 * until a task arrives or timeout_ns passes (-ETIMEDOUT; 0 = forever).
 * -EINTR when woken by dt__queue_kick.  -E2BIG with *id set when the
 * oldest task is too large to claim (answer it with dt__queue_reject). */
int dt__queue_claim(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id,
                    uint64_t timeout_ns);
/* Stores the result of id, drops its claim, and wakes its caller. */
int dt__queue_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                       size_t size);
/* The supervisor's answer for a worker that died or was killed while
 * running call id: stores rec (a crash or timeout record) only if the
 * claim is still held by that worker pid, so that a call answered in the
 * meantime is never answered twice.  Returns 0, or -ENOENT when the claim
 * is no longer that worker's. */
int dt__queue_fail(dt__queue *q, uint64_t id, int worker, const uint8_t *rec,
                   size_t size);
/* Answers task id with an error record instead of a result: removes the
 * task (or its claim), stores rec, and wakes its caller.  Used when a task
 * cannot be claimed (dt__queue_claim gave -E2BIG with *id set) or its
 * result cannot be stored. */
int dt__queue_reject(dt__queue *q, uint64_t id, const uint8_t *rec,
                     size_t size);
/* Wakes every idle worker (shutdown). */
void dt__queue_kick(dt__queue *q);

/* Runner liveness: a pool publishes its pid and a heartbeat. */
void dt__queue_heartbeat(dt__queue *q, int pid);
/* 1 if a runner pool published a heartbeat within max_age_ns and its
 * process exists. */
int dt__queue_runner_alive(dt__queue *q, uint64_t max_age_ns);
/* The same without asking the kernel whether the process exists: a plain
 * read of the doorbell page, cheap enough for every call. */
int dt__queue_runner_recent(dt__queue *q, uint64_t max_age_ns);

/* Waits (futex on the doorbell, no polling) until a pool is alive, at
 * most timeout_ns.  Returns 0 or -ETIMEDOUT. */
int dt__queue_wait_runner(dt__queue *q, uint64_t max_age_ns,
                          uint64_t timeout_ns);

/* The next call id to be handed out (activity detection). */
uint64_t dt__queue_next_id(dt__queue *q);

/* Removes tasks and results whose caller process is gone, and claims
 * whose worker is gone (their lease lapsed): their tasks go back to the
 * queue while the caller waits, at most 5 times, and are then answered
 * as a crash.  Returns the number of entries removed or requeued. */
int dt__queue_sweep(dt__queue *q);

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_put(dt__queue *q, const void *data, size_t size,
                       uint64_t *id);
int dt__queue_blob_read(dt__queue *q, uint64_t id, void *dst, uint64_t size);
int dt__queue_blob_drop(dt__queue *q, uint64_t id);
int dt__queue_blob_count(dt__queue *q, size_t *blobs);

/* The high-water mark of the queue's map in bytes (its last used page):
 * what the queue has ever needed at once (tests of fan-out). */
uint64_t dt__queue_used_bytes(dt__queue *q);

/* The pool's number of workers, published by its supervisor (0: none
 * known); fan-out makes one slice per worker by default. */
void dt__queue_set_workers(dt__queue *q, int n);
int dt__queue_workers(dt__queue *q);

/* Entry counts (tests and tools). */
int dt__queue_counts(dt__queue *q, size_t *tasks, size_t *claims,
                     size_t *results);

/* ------------------------------------------------------------- logging */

/* Levels for DTASK_LOG=error|warn|info|debug (default: error). */
enum { DT__LOG_ERROR, DT__LOG_WARN, DT__LOG_INFO, DT__LOG_DEBUG };

/* Set once by dt__log_init, read-only afterwards. */
extern int dt__log_level;
extern int dt__trace_on; /* DTASK_TRACE=1 */

/* Reads DTASK_LOG and DTASK_TRACE.  Call once, before any thread. */
void dt__log_init(void);

/* Writes "dtask[PID]: MSG\n" to stderr with one write(2) when level is
 * enabled.  Formats into a stack buffer: never allocates, never takes a
 * stdio lock, preserves errno. */
void dt__log(int level, const char *fmt, ...) DT__PRINTF(2, 3);

/* Writes one "dtask[PID]: trace MSG" line, whatever the level (the
 * caller checks dt__trace_on).  Same guarantees as dt__log. */
void dt__trace(const char *fmt, ...) DT__PRINTF(1, 2);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t dt__now_ns(void);

/* -------------------------------------------------------------- stubs */

/* Latency histograms: 32 linear sub-buckets per power of two of
 * nanoseconds; a percentile is reported as its bucket's upper edge, so
 * it is never below the true value and at most 1/32 (3%) above it. */
#define DT__HIST_BUCKETS 2048
int dt__hist_bucket(uint64_t ns);
uint64_t dt__hist_value(int bucket); /* the bucket's upper edge, in ns */

/* One interposed symbol: its resolved definition and its libffi closure.
 * Owned by the shim for the life of the process (never freed while the
 * program may still call through a patched slot). */
typedef struct dt__stub {
  const dt__offload *off; /* the config entry (owned by the shim's config) */
  void *real;             /* the definition calls are forwarded to */
  uintptr_t def_base;     /* load base of the object defining real */
  const char *def_name;   /* that object's path ("" for the program) */
  ffi_cif cif;
  ffi_closure *closure;
  void *code;             /* the closure's executable address */
  unsigned long calls;    /* intercepted calls (atomic) */
  unsigned long local;    /* ... run in the caller by offload_if (atomic) */
  uint32_t index;         /* the entry's index in the config */
  unsigned long hist[DT__HIST_BUCKETS]; /* offloaded round trips (atomic) */
} dt__stub;

/* Prepares s->cif from off->sig and creates the closure whose code calls
 * the real function.  s->off and s->real must be set.  Returns 0, -ENOMEM
 * or -EINVAL (libffi refused the signature). */
int dt__stub_init(dt__stub *s);

/* Per-thread re-entrancy flag: non-zero while the shim's own code runs on
 * this thread, so that calls the shim makes are never intercepted. */
extern __thread int dt__in_shim __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------- offload paths */

/* How intercepted calls run: inline (DTASK_MODE=sync) or through the
 * queue (the default).  Set once by the shim's constructor. */
enum { DT__MODE_OFFLOAD, DT__MODE_SYNC };
extern int dt__mode;

/* Caller role (offload.c).  dt__offload_init keeps cfg and the stub table
 * (both owned by shim.c for the life of the process). */
void dt__offload_init(const dt__config *cfg, dt__stub *stubs, size_t n);

/* Runs one intercepted call through a runner: encodes it, queues it,
 * blocks until the result arrives, and writes the return value, the
 * out-parameters and errno back.  Never loses the call: if no queue or
 * runner can be had, the call runs inline and a message says why. */
void dt__offload_call(dt__stub *s, void *ret, void **args);

/* At exit: drops the calling thread's last result, still in the queue
 * (other threads drop theirs when they exit), and appends this process's
 * round-trip histograms to $DTASK_STATS for `dtask run`'s summary. */
void dt__offload_fini(void);

/* Runner role (runner.c).  Called from the shim's constructor when
 * DTASK_ROLE=runner: redirects the program's __libc_start_main so that,
 * once every constructor has run, the serve loop runs instead of main. */
int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base);

/* The serve loop itself (supervisor and workers); returns the process's
 * exit status. */
int dt__runner_serve(const dt__config *cfg, dt__stub *stubs, size_t n);

/* ---------------------------------------------------- launching (runner/) */

/* Finds libdtask_shim.so for the commands: $DTASK_SHIM, else beside the
 * running executable, else ../lib/ from it.  Returns 0 or -ENOENT. */
int dt__find_shim(char *out, size_t outsz);

/* Puts shim first in LD_PRELOAD, keeping what was there (and dropping a
 * copy of shim already in the list). */
int dt__env_preload(const char *shim);

/* Parses "[-c FILE] [-w N] [--] PROG [ARGS]" for the launchers.  Returns
 * the index of PROG in argv, 0 after -h (usage printed on stdout), or -1
 * for a usage error (message on stderr, prefixed with cmd). */
int dt__launch_args(const char *cmd, int argc, char **argv, const char **file,
                    int *workers);

/* Finds (file, else $DTASK_CONFIG, else ./dtask.toml), loads and validates
 * the config.  On success *cfg is owned by the caller and abs holds the
 * file's absolute path.  On failure prints "CMD: FILE:LINE:COL: ..." on
 * stderr and returns 2 (the launchers' exit status for a bad config). */
int dt__launch_config(const char *cmd, const char *file, dt__config **cfg,
                      char *abs, size_t abssz);

/* Replaces this process with PROG in runner role: sets LD_PRELOAD,
 * DTASK_ROLE=runner, DTASK_CONFIG and (if workers > 0) DTASK_WORKERS,
 * then execvp.  Returns only on failure (-errno). */
int dt__exec_runner(const char *shim, const char *config, int workers,
                    char **argv);

#endif /* DTASK_INTERNAL_H */
