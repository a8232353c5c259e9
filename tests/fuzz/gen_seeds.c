/* gen_seeds.c: writes the seed corpora of the wire harnesses
 * (tests/fuzz/fuzz_wire_task.c, fuzz_wire_result.c) with dtask's own
 * encoders, so that the fuzzers start from records a caller and a runner
 * really make.  Run once by `make fuzz-seeds` (tests/fuzz/fuzz.mk); the
 * files it writes are committed, this program is not run by the tests.
 *
 * Usage: gen_seeds DIR   (writes DIR/wire_task/seed-* and
 *                         DIR/wire_result/seed-*)
 *
 * For every signature of tests/fuzz/fuzz_wire.h and a few argument
 * options (DT__FUZZ_ARG_*), a caller's call is encoded as a task (some
 * with an object section, some with in buffers stored once in the queue,
 * some with their in and out buffers in the caller's arena),
 * prefixed with the harness's two bytes (the signature, its options).
 * Each task is then decoded as a runner does, "run" (out buffers written,
 * a value returned: for a string NULL, the runner's own, or a place in
 * an argument) and answered with dt__wire_result_encode; the result,
 * prefixed with the wire_result harness's three bytes (the signature,
 * the same argument options, how it is applied), is its seed, and so is
 * an error result for the same call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "queue/wire.h"
#include "fuzz/fuzz_wire.h"

/* The argument options every signature is encoded with. */
static const unsigned arg_opts[] = {
    0, 1, 2, 3, 2 | DT__FUZZ_ARG_NULL_OUT, 2 | DT__FUZZ_ARG_NULL_IN,
    1 | DT__FUZZ_ARG_NULL_STR, 1 | DT__FUZZ_ARG_EMPTY_STR};

/* The FNV-1a hashes of the seeds written so far, so that a seed that
 * another one already is (a signature without lengths made under other
 * options) is written once. */
static uint64_t written[4096];
static size_t nwritten;

/* Adds n bytes at p to the FNV-1a hash *h. */
static void hash(uint64_t *h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    *h = (*h ^ p[i]) * 0x100000001b3ull;
}

/* Writes prefix[0, np) then rec[0, n) to DIR/what/seed-SIG-VARIANT,
 * unless a seed of the same bytes was written.  0 or -1. */
static int put(const char *dir, const char *what, unsigned sig,
               const char *variant, const uint8_t *prefix, size_t np,
               const uint8_t *rec, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  hash(&h, (const uint8_t *)what, strlen(what) + 1);
  hash(&h, prefix, np);
  hash(&h, rec, n);
  for (size_t i = 0; i < nwritten; i++)
    if (written[i] == h)
      return 0;
  if (nwritten == sizeof written / sizeof *written)
    return -1;
  written[nwritten++] = h;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/seed-%02u-%s", dir, what, sig, variant);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(prefix, 1, np, f) != np ||
      (n > 0 && fwrite(rec, 1, n, f) != n) || fclose(f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

/* The queue of the runner's decode: blob id 4 holds bytes (the harness's
 * fetch answers ids that are 0 modulo 4 with bytes). */
static int fetch(void *ctx, uint64_t id, void *dst, uint64_t n) {
  (void)ctx;
  if (id % 4 != 0)
    return -ENOENT;
  for (uint64_t k = 0; k < n; k++)
    ((unsigned char *)dst)[k] = (unsigned char)(id + k);
  return 0;
}

/* Decodes the task rec as a runner, answers it (ret_how: 0 NULL, 1 the
 * runner's own string, 2 a place in the first argument that has one) and
 * writes the result seeds of signature si under argument options ao. */
static int answer(const char *dir, unsigned si, const dt__sig *sig,
                  unsigned ao, const char *variant, const uint8_t *rec,
                  size_t size, unsigned ret_how) {
  dt__frame f;
  dt__error err;
  if (dt__wire_task_decode_refs(sig, rec, size, fetch, NULL, &f, &err) != 0) {
    fprintf(stderr, "gen_seeds: %s: %s\n", sig->name, err.msg);
    return -1;
  }
  for (int i = 0; i < sig->nparams; i++)
    if (sig->params[i].is_buffer && sig->params[i].dir != DT__DIR_IN &&
        f.buf[i] != NULL)
      memset(f.buf[i], 'a' + i, (size_t)f.bytes[i]);
  union {
    uint64_t u;
    void *p;
    unsigned char b[32];
  } ret;
  memset(&ret, 0, sizeof ret);
  if (sig->ret.tag == DT__T_CSTRING) {
    ret.p = ret_how == 1 ? (void *)"a string of the runner's" : NULL;
    for (int i = 0; i < sig->nparams && ret_how == 2 && ret.p == NULL; i++)
      if (f.buf[i] != NULL && (f.bytes[i] > 0 || !sig->params[i].is_buffer))
        ret.p = f.buf[i];
  } else {
    dt__scalar_ret_set(&sig->ret, 1, &ret);
  }
  uint8_t *res = NULL;
  size_t rsize = 0;
  int rc = dt__wire_result_encode(sig, &f, &ret, ret_how == 1 ? EDOM : 0,
                                  &res, &rsize);
  dt__frame_free(&f);
  if (rc != 0) {
    fprintf(stderr, "gen_seeds: %s: cannot encode a result (%d)\n",
            sig->name, rc);
    return -1;
  }
  /* Applied by dt__wire_result_apply into 64 bytes, or kept by keep. */
  uint8_t pre[3] = {(uint8_t)si, (uint8_t)ao, (uint8_t)(ret_how == 1 ? 1 : 4)};
  char name[128];
  snprintf(name, sizeof name, "%.64s-ret%u", variant, ret_how);
  rc = put(dir, "wire_result", si, name, pre, sizeof pre, res, rsize);
  free(res);
  return rc;
}

/* Writes the seed of the call's task with its in and out buffers in the
 * caller's arena (the harness's block of 64 KiB), one after the other
 * from offset 0, when it has any.  0 or -1. */
static int arena_seed(const char *dir, unsigned si, unsigned oi,
                      const dt__sig *sig, dt__fuzz_call *call) {
  dt__wire_arena ar = {3, 0x5eed5eedull, NULL, {0}};
  uint64_t end = 0, total = 0;
  int placed = 0;
  if (dt__wire_arena_place(sig, call->args, 16, &ar, &end, &total) != 0)
    return -1;
  for (int i = 0; i < sig->nparams; i++)
    placed += ar.off[i] != DT__NO_ID;
  if (placed == 0 || end > 65536)
    return 0;
  size_t size = 0;
  uint8_t *rec = NULL;
  int rc = dt__wire_task_size_arena(sig, call->args, &ar, NULL, &size);
  if (rc == 0 && (rec = malloc(size)) == NULL)
    rc = -ENOMEM;
  if (rc == 0)
    rc = dt__wire_task_encode_arena(sig, 0x5eed, 0, DT__FUZZ_CALL_ID, EAGAIN,
                                    call->args, &ar, NULL, rec, size);
  if (rc != 0) {
    fprintf(stderr, "gen_seeds: %s: cannot encode an arena task (%d)\n",
            sig->name, rc);
    free(rec);
    return -1;
  }
  char name[64];
  snprintf(name, sizeof name, "a%02x-arena", arg_opts[oi]);
  uint8_t pre[2] = {(uint8_t)si, (uint8_t)(1 | (oi % 4) << 3)};
  rc = put(dir, "wire_task", si, name, pre, sizeof pre, rec, size);
  free(rec);
  return rc;
}

/* Encodes the seeds of signature si under argument options opts[oi]:
 * a task without an object section, one with it and its in buffers
 * stored once in the queue, one with its buffers in the caller's arena,
 * and the results of the first. */
static int one(const char *dir, unsigned si, unsigned oi) {
  dt__sig sig;
  dt__fuzz_call call;
  unsigned ao = arg_opts[oi];
  if (dt__fuzz_sig_pick(si, &sig) != 0 ||
      dt__fuzz_call_make(&call, &sig, ao, 1u << 16) != 0) {
    fprintf(stderr, "gen_seeds: signature %u cannot be called\n", si);
    return -1;
  }
  int rc = 0;
  for (int variant = 0; variant < 2 && rc == 0; variant++) {
    static const char path[] = "/usr/lib/x86_64-linux-gnu/libreport.so.1";
    dt__wire_obj obj = {0x1234abcd5678ef00ull, path, sizeof path - 1};
    uint64_t refs[DT__MAX_PARAMS];
    for (int i = 0; i < DT__MAX_PARAMS; i++)
      refs[i] = variant == 1 ? 4u * (uint64_t)(i + 1) : DT__NO_ID;
    const dt__wire_obj *o = variant == 1 ? &obj : NULL;
    size_t size = 0;
    uint8_t *rec = NULL;
    rc = dt__wire_task_size_refs(&sig, call.args, refs, o, &size);
    if (rc == 0 && (rec = malloc(size)) == NULL)
      rc = -ENOMEM;
    if (rc == 0)
      rc = dt__wire_task_encode_refs(&sig, 0x5eed, 0, DT__FUZZ_CALL_ID, EAGAIN,
                                     call.args, refs, o, rec, size);
    if (rc != 0) {
      fprintf(stderr, "gen_seeds: %s: cannot encode a task (%d)\n",
              sig.name, rc);
      free(rec);
      break;
    }
    char name[64];
    snprintf(name, sizeof name, "a%02x%s", ao, variant == 1 ? "-obj" : "");
    /* Task options: a 64 KiB limit, and each string return in turn. */
    uint8_t pre[2] = {(uint8_t)si, (uint8_t)(1 | (oi % 4) << 3)};
    rc = put(dir, "wire_task", si, name, pre, sizeof pre, rec, size);
    for (unsigned how = 0; rc == 0 && how < 3; how++)
      if (how == 0 || sig.ret.tag == DT__T_CSTRING)
        rc = answer(dir, si, &sig, ao, name, rec, size, how);
    free(rec);
  }
  if (rc == 0)
    rc = arena_seed(dir, si, oi, &sig, &call);
  if (rc == 0 && oi == 0) {
    uint8_t *res = NULL;
    size_t rsize = 0;
    rc = dt__wire_result_error(DT__FUZZ_CALL_ID, DT__ST_CRASH, 11,
                               "worker 1234 died of SIGSEGV", &res, &rsize);
    uint8_t pre[3] = {(uint8_t)si, 0, 0};
    if (rc == 0)
      rc = put(dir, "wire_result", si, "error", pre, sizeof pre, res, rsize);
    free(res);
  }
  dt__fuzz_call_free(&call);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_seeds DIR\n");
    return 2;
  }
  char sub[4096];
  snprintf(sub, sizeof sub, "%s/wire_task", argv[1]);
  mkdir(sub, 0755);
  snprintf(sub, sizeof sub, "%s/wire_result", argv[1]);
  mkdir(sub, 0755);
  for (unsigned si = 0; si < DT__FUZZ_NSIGS; si++)
    for (unsigned oi = 0; oi < sizeof arg_opts / sizeof *arg_opts; oi++)
      if (one(argv[1], si, oi) != 0)
        return 1;
  return 0;
}
