/* stub.c: the libffi closures that stand in for offloaded functions.
 *
 * For every [[offload]] entry the shim makes one ffi_cif (prepared once,
 * from the parsed signature) and one ffi_closure.  The closure's code
 * address is what GOT slots and dlsym() hand to the program, so a call to
 * a listed function lands in stub_call() below with its arguments already
 * unpacked by libffi.  By default stub_call() hands the call to the
 * offload path (call.c), or async.c's for an async entry; in sync mode
 * it forwards the call inline with ffi_call, so the program behaves
 * exactly as without dtask (and with nothing traced no stub is patched
 * in at all: dt__direct, set by shim.c); and a call that its entry's
 * offload_if turns down runs inline too.
 * DTASK_TRACE=1 prints one line per call.
 *
 * The call path never allocates and never takes a lock: the trace line is
 * formatted on the stack, the call counter is an atomic add. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/cond.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "shim/async.h"
#include "shim/call.h"
#include "shim/ffitype.h"
#include "shim/stub.h"

int dt__mode = DT__MODE_OFFLOAD;
bool dt__direct = false;

/* Appends a short rendering of argument i to buf at *pos. */
static void describe_arg(const dt__param *p, void *arg, char *buf,
                         size_t size, size_t *pos) {
  size_t left = *pos < size ? size - *pos : 0;
  int n = 0;
  if (p->is_buffer) {
    void *ptr = *(void **)arg;
    n = ptr == NULL ? snprintf(buf + *pos, left, "%s=NULL", p->name)
                    : snprintf(buf + *pos, left, "%s=%s[%p]", p->name,
                               p->dir == DT__DIR_IN    ? "in"
                               : p->dir == DT__DIR_OUT ? "out"
                                                       : "inout",
                               ptr);
  } else {
    switch (p->type.tag) {
    case DT__T_CSTRING: {
      const char *s = *(const char **)arg;
      n = s == NULL ? snprintf(buf + *pos, left, "%s=NULL", p->name)
                    : snprintf(buf + *pos, left, "%s=\"%.24s%s\"", p->name, s,
                               strlen(s) > 24 ? "..." : "");
      break;
    }
    case DT__T_FLOAT:
      n = snprintf(buf + *pos, left, "%s=%g", p->name, (double)*(float *)arg);
      break;
    case DT__T_DOUBLE:
      n = snprintf(buf + *pos, left, "%s=%g", p->name, *(double *)arg);
      break;
    default: {
      /* Integers: the wire form, widened by width and signedness. */
      uint64_t v = 0;
      dt__scalar_get(&p->type, arg, &v);
      n = dt__tag_is_signed(p->type.tag)
              ? snprintf(buf + *pos, left, "%s=%lld", p->name,
                         (long long)(int64_t)v)
              : snprintf(buf + *pos, left, "%s=%llu", p->name,
                         (unsigned long long)v);
    }
    }
  }
  if (n > 0)
    *pos += (size_t)n;
}

/* Renders the return value (the buffer libffi gave the closure). */
static void describe_ret(const dt__type *t, void *ret, char *buf, size_t size,
                         size_t *pos) {
  size_t left = *pos < size ? size - *pos : 0;
  int n = 0;
  switch (t->tag) {
  case DT__T_VOID:
    break;
  case DT__T_CSTRING: {
    const char *s = *(const char **)ret;
    n = s == NULL ? snprintf(buf + *pos, left, " = NULL")
                  : snprintf(buf + *pos, left, " = \"%.24s%s\"", s,
                             strlen(s) > 24 ? "..." : "");
    break;
  }
  case DT__T_FLOAT:
    n = snprintf(buf + *pos, left, " = %g", (double)*(float *)ret);
    break;
  case DT__T_DOUBLE:
    n = snprintf(buf + *pos, left, " = %g", *(double *)ret);
    break;
  default:
    /* libffi widens integer returns smaller than ffi_arg to ffi_arg. */
    if (t->size < sizeof(ffi_arg))
      n = dt__tag_is_signed(t->tag)
              ? snprintf(buf + *pos, left, " = %lld",
                         (long long)*(ffi_sarg *)ret)
              : snprintf(buf + *pos, left, " = %llu",
                         (unsigned long long)*(ffi_arg *)ret);
    else
      n = dt__tag_is_signed(t->tag)
              ? snprintf(buf + *pos, left, " = %lld", *(long long *)ret)
              : snprintf(buf + *pos, left, " = %llu",
                         *(unsigned long long *)ret);
  }
  if (n > 0)
    *pos += (size_t)n;
}

/* Writes the DTASK_TRACE line of one call that ran where says (local:
 * kept here by sync mode or offload_if). */
static void trace_call(const dt__stub *s, void *ret, void **args, int err,
                       uint64_t ns, bool local, dt__where where) {
  char buf[768];
  size_t pos = 0;
  const dt__sig *sig = &s->off->sig;
  int n = snprintf(buf, sizeof buf, "%s(", s->off->symbol);
  pos = n > 0 ? (size_t)n : 0;
  for (int i = 0; i < sig->nparams && pos < sizeof buf; i++) {
    if (i > 0 && pos + 2 < sizeof buf) {
      buf[pos++] = ',';
      buf[pos++] = ' ';
    }
    describe_arg(&sig->params[i], args[i], buf, sizeof buf, &pos);
  }
  if (pos + 1 < sizeof buf)
    buf[pos++] = ')';
  buf[pos < sizeof buf ? pos : sizeof buf - 1] = '\0';
  describe_ret(&sig->ret, ret, buf, sizeof buf, &pos);
  static const char *const ran[] = {
      [DT__RAN_WORKER] = "offloaded",
      [DT__RAN_INLINE] = "inline (fallback)",
      [DT__RAN_SOME] = "offloaded (some slices inline)",
      [DT__RAN_VALUE] = "not run (on_* value)",
      [DT__RAN_QUEUED] = "queued (async)",
      [DT__RAN_CACHE] = "cached answer"};
  dt__trace("%s errno=%d %s %.1fus", buf, err,
            dt__mode == DT__MODE_SYNC ? "sync"
            : local                   ? "local (offload_if)"
                                      : ran[where],
            (double)ns / 1e3);
}

/* Whether a call goes to the runners: when the entry has offload_if, the
 * argument it names decides (one comparison: no lock, no allocation). */
static bool wants_offload(const dt__stub *s, void **args) {
  const dt__offload *o = s->off;
  if (!o->has_offload_if)
    return true;
  const dt__param *p = &o->sig.params[o->offload_if.param];
  uint64_t v;
  if (dt__scalar_get(&p->type, args[o->offload_if.param], &v) != 0)
    return true;
  return dt__cond_eval(&o->offload_if, &p->type, v) != 0;
}

/* The closure body: every intercepted call arrives here. */
static void stub_call(ffi_cif *cif, void *ret, void **args, void *data) {
  dt__stub *s = data;
  uint64_t t0 = 0;

  if (dt__in_shim) {
    /* A call made by the shim itself: run it untouched. */
    ffi_call(cif, FFI_FN(s->real), ret, args);
    return;
  }
  __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
  if (dt__trace_on) {
    int saved = errno;
    t0 = dt__now_ns();
    errno = saved;
  }
  bool local = dt__mode == DT__MODE_SYNC;
  if (!local && !wants_offload(s, args)) {
    local = true;
    __atomic_add_fetch(&s->local, 1, __ATOMIC_RELAXED);
  }
  dt__where where = DT__RAN_INLINE;
  if (local)
    ffi_call(cif, FFI_FN(s->real), ret, args);
  else if (s->off->async)
    where = dt__async_call(s, ret, args);
  else
    where = dt__offload_call(s, ret, args);
  if (dt__trace_on) {
    int err = errno;
    dt__in_shim = 1;
    trace_call(s, ret, args, err, dt__now_ns() - t0, local, where);
    dt__in_shim = 0;
    errno = err;
  }
}

/* Builds the closures of stubs[0..n) in one mapping of this file's own:
 * written while it is writable, then made read-and-execute (never both at
 * once).  libffi's ffi_closure_alloc would give each its own and, the
 * first time, reads /proc/mounts and /proc/self/status to choose how
 * (about 80 us of a program's start-up).  Each closure is its own code
 * address.  Returns 0, or -1 with nothing built (the mapping refused or
 * not made executable: the caller asks libffi instead). */
static int closures_mapped(dt__stub *stubs, size_t n) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || n == 0)
    return -1;
  size_t bytes = (n * sizeof(ffi_closure) + (size_t)page - 1) &
                 ~((size_t)page - 1);
  ffi_closure *cl = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (cl == MAP_FAILED)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (ffi_prep_closure_loc(&cl[i], &stubs[i].cif, stub_call, &stubs[i],
                             &cl[i]) != FFI_OK) {
      munmap(cl, bytes);
      return -1;
    }
  if (mprotect(cl, bytes, PROT_READ | PROT_EXEC) != 0) {
    munmap(cl, bytes);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    stubs[i].closure = &cl[i];
    stubs[i].code = &cl[i];
  }
  return 0;
}

/* Prepares each stub's cif from its entry's signature and creates the
 * closures whose code calls stub_call: in one mapping of their own
 * (closures_mapped), or from libffi's ffi_closure_alloc where that
 * mapping cannot be made executable.  Each stub's off must be set.
 * Returns 0; or -EINVAL (libffi refused stubs[*bad]'s signature) or
 * -ENOMEM, with *bad the stub that failed and no closure built.
 *
 * The closures are never freed: a patched GOT slot or a pointer returned
 * by dlsym may be called until the process ends. */
int dt__stub_init(dt__stub *stubs, size_t n, size_t *bad) {
  for (size_t i = 0; i < n; i++) {
    dt__stub *s = &stubs[i];
    const dt__sig *sig = &s->off->sig;
    dt__sig_ffi(sig, &s->ffi_ret, s->ffi_args);
    if (ffi_prep_cif(&s->cif, FFI_DEFAULT_ABI, (unsigned)sig->nparams,
                     s->ffi_ret, s->ffi_args) != FFI_OK) {
      *bad = i;
      return -EINVAL;
    }
  }
  if (closures_mapped(stubs, n) == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    dt__stub *s = &stubs[i];
    s->closure = ffi_closure_alloc(sizeof(ffi_closure), &s->code);
    int rc = s->closure == NULL ? -ENOMEM
             : ffi_prep_closure_loc(s->closure, &s->cif, stub_call, s,
                                    s->code) != FFI_OK ? -EINVAL
                                                       : 0;
    if (rc != 0) { /* none is in use yet: all are given back */
      for (size_t j = 0; j <= i; j++) {
        if (stubs[j].closure != NULL)
          ffi_closure_free(stubs[j].closure);
        stubs[j].closure = NULL;
        stubs[j].code = NULL;
      }
      *bad = i;
      return rc;
    }
  }
  return 0;
}

/* Describes the build of the object that defines s, for log lines:
 * "build D (build-id H)" or "build D (content hash H)", D the digest that
 * tasks carry and runners compare, or "unknown build".  Returns out. */
const char *dt__stub_build(const dt__stub *s, char *out, size_t outsz) {
  if (!s->def_known)
    snprintf(out, outsz, "unknown build");
  else
    snprintf(out, outsz, "build %016llx (%s %s)",
             (unsigned long long)s->def_id.digest,
             s->def_id.how == 'b' ? "build-id" : "content hash",
             s->def_id.hex);
  return out;
}
