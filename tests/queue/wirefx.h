/* wirefx.h: what the tests of the task and result records share
 * (tests/queue/test_wire*.c): a signature that must parse, little-endian
 * pokes and peeks for patching records by hand, exactly sized copies (so
 * that ASan catches a read past the end), a task encoded and run as a
 * runner would, the closure harness that makes a function callable
 * through the whole wire path, and a small random generator.  Include it after <cmocka.h> and the
 * headers of queue/wire.h and shim/ffitype.h. */
#ifndef DTASK_WIREFX_H
#define DTASK_WIREFX_H


#define TEST_FP 0x0123456789abcdefull
#define TEST_ENTRY 5u

/* Parses a signature that must be valid. */
static inline void parse_sig(const char *text, const dt__utype *ut, size_t nut,
                      dt__sig *sig) {
  dt__error e = {0, 0, ""};
  int rc = dt__sig_parse(text, ut, nut, sig, &e);
  if (rc != 0)
    fail_msg("\"%s\" failed (rc %d) at column %d: %s", text, rc, e.col,
             e.msg);
}

/* Little-endian helpers for building and patching records by hand. */
static inline void poke64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static inline void poke32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t peek64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* A copy of n bytes in a block of exactly n bytes, so that ASan reports
 * any read past the end.  Free with free(). */
static inline uint8_t *exact_copy(const uint8_t *src, size_t n) {
  uint8_t *p = malloc(n > 0 ? n : 1);
  assert_non_null(p);
  if (n > 0)
    memcpy(p, src, n);
  return p;
}

/* Encodes a task for args into a malloc'd block of exactly its size. */
static inline uint8_t *encode_task(const dt__sig *sig, void **args, uint64_t call_id,
                            size_t *size) {
  size_t n = 0;
  int rc = dt__wire_task_size(sig, args, NULL, &n);
  if (rc != 0)
    fail_msg("task size of %s: %d", sig->name, rc);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  assert_int_equal(dt__wire_task_encode(sig, TEST_FP, TEST_ENTRY, call_id, 0,
                                        args, NULL, buf, n),
                   0);
  *size = n;
  return buf;
}

/* Runner side: decodes rec, calls real and encodes its result (malloc'd,
 * exactly sized, returned in *res and *rsize). */
static inline void run_task(const dt__sig *sig, void (*real)(void),
                     const uint8_t *rec, size_t size, uint8_t **res,
                     size_t *rsize) {
  ffi_cif cif;
  ffi_type *fret, *fargs[DT__MAX_PARAMS];
  dt__frame f;
  dt__error werr;
  union {
    ffi_arg a;
    double d;
    void *p;
    uint8_t b[16];
  } rbuf;

  dt__sig_ffi(sig, &fret, fargs);
  assert_int_equal(ffi_prep_cif(&cif, FFI_DEFAULT_ABI,
                                (unsigned)sig->nparams, fret, fargs),
                   FFI_OK);
  int rc = dt__wire_task_decode(sig, rec, size, &f, &werr);
  if (rc != 0)
    fail_msg("decode of %s: %d: %s", sig->name, rc, werr.msg);
  memset(&rbuf, 0, sizeof rbuf);
  errno = 0;
  ffi_call(&cif, real, &rbuf, f.argv);
  int e = errno;
  assert_int_equal(dt__wire_result_encode(sig, &f, &rbuf, e, res, rsize), 0);
  dt__frame_free(&f);
}

/* ------------------------------------------------- the closure harness */

/* One function made callable through the whole wire path. */
typedef struct rt {
  dt__sig sig;
  ffi_cif cif;
  ffi_type *fret, *fargs[DT__MAX_PARAMS]; /* the cif's (shim/ffitype.c) */
  void (*real)(void);
  ffi_closure *closure;
  void *code; /* call this as the function */
  uint64_t call_id;
  char *cstr; /* where returned strings land; starts small */
  size_t cstr_cap;
  int enospc; /* -ENOSPC answers seen (each one grows cstr) */
} rt;

/* Caller -> task -> runner -> ffi_call -> result -> caller.  Returns what
 * dt__wire_result_apply returns after growing cstr as often as needed. */
static inline int rt_pipe(rt *r, void **args, void *ret, int *err) {
  size_t size;
  dt__error werr = {0, 0, ""};
  int rc = dt__wire_task_size(&r->sig, args, NULL, &size);
  if (rc != 0)
    return rc;
  uint8_t *block = malloc(size + 1);
  assert_non_null(block);
  uint8_t *rec = block + 1; /* LMDB's reserved space need not be aligned */
  uint64_t id = ++r->call_id;
  assert_int_equal(dt__wire_task_encode(&r->sig, TEST_FP, TEST_ENTRY, id, 0,
                                        args, NULL, rec, size),
                   0);
  uint64_t fp = 0, cid = 0;
  uint32_t entry = 0;
  assert_int_equal(dt__wire_task_peek(rec, size, &fp, &entry, &cid), 0);
  assert_true(fp == TEST_FP);
  assert_int_equal(entry, TEST_ENTRY);
  assert_true(cid == id);

  uint8_t *res;
  size_t rsize;
  run_task(&r->sig, r->real, rec, size, &res, &rsize);
  free(block);
  uint8_t *res_odd = malloc(rsize + 1);
  assert_non_null(res_odd);
  memcpy(res_odd + 1, res, rsize);
  free(res);
  for (;;) {
    size_t need = 0;
    rc = dt__wire_result_apply(&r->sig, args, id, res_odd + 1, rsize, ret, err,
                               r->cstr, r->cstr_cap, &need, &werr);
    if (rc != -ENOSPC)
      break;
    r->enospc++;
    assert_true(need > r->cstr_cap);
    r->cstr = realloc(r->cstr, need);
    assert_non_null(r->cstr);
    r->cstr_cap = need;
  }
  if (rc != 0)
    print_message("apply of %s: %d: %s\n", r->sig.name, rc, werr.msg);
  free(res_odd);
  return rc;
}

/* The closure body: what the shim's stub will do, minus the queue. */
static inline void rt_handler(ffi_cif *cif, void *ret, void **args, void *data) {
  rt *r = data;
  int err = -1;
  (void)cif;
  int rc = rt_pipe(r, args, ret, &err);
  if (rc != 0)
    fail_msg("round trip of %s failed: %d", r->sig.name, rc);
  errno = err;
}

static inline rt *rt_new(const char *text, const dt__utype *ut, size_t nut,
                  void (*real)(void)) {
  rt *r = calloc(1, sizeof *r);
  assert_non_null(r);
  parse_sig(text, ut, nut, &r->sig);
  r->real = real;
  dt__sig_ffi(&r->sig, &r->fret, r->fargs);
  assert_int_equal(ffi_prep_cif(&r->cif, FFI_DEFAULT_ABI,
                                (unsigned)r->sig.nparams, r->fret, r->fargs),
                   FFI_OK);
  r->closure = ffi_closure_alloc(sizeof(ffi_closure), &r->code);
  assert_non_null(r->closure);
  assert_int_equal(
      ffi_prep_closure_loc(r->closure, &r->cif, rt_handler, r, r->code),
      FFI_OK);
  r->cstr_cap = 8;
  r->cstr = malloc(r->cstr_cap);
  assert_non_null(r->cstr);
  return r;
}

static inline void rt_free(rt *r) {
  ffi_closure_free(r->closure);
  free(r->cstr);
  free(r);
}

/* A small deterministic generator (xorshift64*), for random records. */
static inline uint64_t rng(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545f4914f6cdd1dull;
}

#endif /* DTASK_WIREFX_H */
