/* policy.c: what an offloaded call does when it fails.
 *
 * A blocking call must never hang forever and never be lost, and a
 * failure must look to the caller like what would have happened locally
 * unless the config says otherwise.  This file owns the failure policy of
 * a symbol: its config keys (valid in [defaults] and in every [[offload]]
 * entry), their checks against the symbol's signature, and the decisions
 * a caller makes with them at run time: whether a returned value is a
 * transient failure to retry, how long to back off, and the value to
 * return instead of running the call.  The mechanisms (the supervisor that
 * kills a worker past its deadline, the caller's retry loop) live in
 * runner/supervisor.c and shim/trip.c. */
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/cond.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/toml.h"
#include "config/types.h"
#include "config/units.h"

#define DEFAULT_RETRIES 3
#define DEFAULT_RETRY_WAIT_NS (100ull * 1000000ull)
#define DEFAULT_RETRY_MAX_WAIT_NS (5ull * 1000000000ull)
#define DEFAULT_WAIT_FOR_RUNNER_NS (30ull * 1000000000ull)
#define DEFAULT_DRAIN_TIMEOUT_NS (30ull * 1000000000ull)
#define MAX_RETRIES 100

/* The errno names dtask accepts in a config, in the order of
 * <asm-generic/errno*.h>; aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP)
 * come last so that a number's name is its first spelling. */
static const struct errname { const char *name; int value; } errnames[] = {
    {"EPERM", EPERM}, {"ENOENT", ENOENT}, {"ESRCH", ESRCH}, {"EINTR", EINTR},
    {"EIO", EIO}, {"ENXIO", ENXIO}, {"E2BIG", E2BIG}, {"ENOEXEC", ENOEXEC},
    {"EBADF", EBADF}, {"ECHILD", ECHILD}, {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT},
    {"ENOTBLK", ENOTBLK}, {"EBUSY", EBUSY}, {"EEXIST", EEXIST},
    {"EXDEV", EXDEV}, {"ENODEV", ENODEV}, {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR}, {"EINVAL", EINVAL}, {"ENFILE", ENFILE},
    {"EMFILE", EMFILE}, {"ENOTTY", ENOTTY}, {"ETXTBSY", ETXTBSY},
    {"EFBIG", EFBIG}, {"ENOSPC", ENOSPC}, {"ESPIPE", ESPIPE},
    {"EROFS", EROFS}, {"EMLINK", EMLINK}, {"EPIPE", EPIPE}, {"EDOM", EDOM},
    {"ERANGE", ERANGE}, {"EDEADLK", EDEADLK}, {"ENAMETOOLONG", ENAMETOOLONG},
    {"ENOLCK", ENOLCK}, {"ENOSYS", ENOSYS}, {"ENOTEMPTY", ENOTEMPTY},
    {"ELOOP", ELOOP}, {"ENOMSG", ENOMSG}, {"EIDRM", EIDRM},
    {"ECHRNG", ECHRNG}, {"EL2NSYNC", EL2NSYNC}, {"EL3HLT", EL3HLT},
    {"EL3RST", EL3RST}, {"ELNRNG", ELNRNG}, {"EUNATCH", EUNATCH},
    {"ENOCSI", ENOCSI}, {"EL2HLT", EL2HLT}, {"EBADE", EBADE},
    {"EBADR", EBADR}, {"EXFULL", EXFULL}, {"ENOANO", ENOANO},
    {"EBADRQC", EBADRQC}, {"EBADSLT", EBADSLT}, {"EBFONT", EBFONT},
    {"ENOSTR", ENOSTR}, {"ENODATA", ENODATA}, {"ETIME", ETIME},
    {"ENOSR", ENOSR}, {"ENONET", ENONET}, {"ENOPKG", ENOPKG},
    {"EREMOTE", EREMOTE}, {"ENOLINK", ENOLINK}, {"EADV", EADV},
    {"ESRMNT", ESRMNT}, {"ECOMM", ECOMM}, {"EPROTO", EPROTO},
    {"EMULTIHOP", EMULTIHOP}, {"EDOTDOT", EDOTDOT}, {"EBADMSG", EBADMSG},
    {"EOVERFLOW", EOVERFLOW}, {"ENOTUNIQ", ENOTUNIQ}, {"EBADFD", EBADFD},
    {"EREMCHG", EREMCHG}, {"ELIBACC", ELIBACC}, {"ELIBBAD", ELIBBAD},
    {"ELIBSCN", ELIBSCN}, {"ELIBMAX", ELIBMAX}, {"ELIBEXEC", ELIBEXEC},
    {"EILSEQ", EILSEQ}, {"ERESTART", ERESTART}, {"ESTRPIPE", ESTRPIPE},
    {"EUSERS", EUSERS}, {"ENOTSOCK", ENOTSOCK},
    {"EDESTADDRREQ", EDESTADDRREQ}, {"EMSGSIZE", EMSGSIZE},
    {"EPROTOTYPE", EPROTOTYPE}, {"ENOPROTOOPT", ENOPROTOOPT},
    {"EPROTONOSUPPORT", EPROTONOSUPPORT},
    {"ESOCKTNOSUPPORT", ESOCKTNOSUPPORT}, {"EOPNOTSUPP", EOPNOTSUPP},
    {"EPFNOSUPPORT", EPFNOSUPPORT}, {"EAFNOSUPPORT", EAFNOSUPPORT},
    {"EADDRINUSE", EADDRINUSE}, {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"ENETDOWN", ENETDOWN}, {"ENETUNREACH", ENETUNREACH},
    {"ENETRESET", ENETRESET}, {"ECONNABORTED", ECONNABORTED},
    {"ECONNRESET", ECONNRESET}, {"ENOBUFS", ENOBUFS}, {"EISCONN", EISCONN},
    {"ENOTCONN", ENOTCONN}, {"ESHUTDOWN", ESHUTDOWN},
    {"ETOOMANYREFS", ETOOMANYREFS}, {"ETIMEDOUT", ETIMEDOUT},
    {"ECONNREFUSED", ECONNREFUSED}, {"EHOSTDOWN", EHOSTDOWN},
    {"EHOSTUNREACH", EHOSTUNREACH}, {"EALREADY", EALREADY},
    {"EINPROGRESS", EINPROGRESS}, {"ESTALE", ESTALE}, {"EUCLEAN", EUCLEAN},
    {"ENOTNAM", ENOTNAM}, {"ENAVAIL", ENAVAIL}, {"EISNAM", EISNAM},
    {"EREMOTEIO", EREMOTEIO}, {"EDQUOT", EDQUOT}, {"ENOMEDIUM", ENOMEDIUM},
    {"EMEDIUMTYPE", EMEDIUMTYPE}, {"ECANCELED", ECANCELED},
    {"ENOKEY", ENOKEY}, {"EKEYEXPIRED", EKEYEXPIRED},
    {"EKEYREVOKED", EKEYREVOKED}, {"EKEYREJECTED", EKEYREJECTED},
    {"EOWNERDEAD", EOWNERDEAD}, {"ENOTRECOVERABLE", ENOTRECOVERABLE},
    {"ERFKILL", ERFKILL}, {"EHWPOISON", EHWPOISON},
    {"EWOULDBLOCK", EWOULDBLOCK}, {"EDEADLOCK", EDEADLOCK},
    {"ENOTSUP", ENOTSUP},
};

/* "EAGAIN" -> EAGAIN; -1 for an unknown name. */
int dt__errno_parse(const char *name) {
  for (size_t i = 0; i < sizeof errnames / sizeof *errnames; i++)
    if (strcmp(errnames[i].name, name) == 0)
      return errnames[i].value;
  return -1;
}

/* EAGAIN -> "EAGAIN"; NULL for an unknown number. */
const char *dt__errno_name(int e) {
  for (size_t i = 0; i < sizeof errnames / sizeof *errnames; i++)
    if (errnames[i].value == e)
      return errnames[i].name;
  return NULL;
}

/* --------------------------------------------------------------- config */

const char *const dt__policy_keys[] = {
    "on_crash",       "on_timeout", "on_unavailable", "timeout",
    "retries",        "retry_wait", "retry_max_wait", "retry_on_errno",
    "retry_if",       "wait_for_runner", "drain_timeout", NULL};
const char *const dt__policy_value_keys[] = {"return", "errno", NULL};

/* Sets the built-in defaults. */
void dt__policy_defaults(dt__policy *p) {
  memset(p, 0, sizeof *p);
  p->on_crash.kind = DT__ON_SIGNAL;
  p->on_timeout.kind = DT__ON_SIGNAL;
  p->on_unavailable.kind = DT__ON_LOCAL;
  p->retries = DEFAULT_RETRIES;
  p->retry_wait_ns = DEFAULT_RETRY_WAIT_NS;
  p->retry_max_wait_ns = DEFAULT_RETRY_MAX_WAIT_NS;
  p->wait_for_runner_ns = DEFAULT_WAIT_FOR_RUNNER_NS;
  p->drain_timeout_ns = DEFAULT_DRAIN_TIMEOUT_NS;
}

/* An errno given as a name ("EIO") or a positive number. */
static int read_errno(const dt__toml *v, const char *what, int *out,
                      dt__error *err) {
  if (v->kind == DT__TOML_INT && v->u.i > 0 && v->u.i < 4096) {
    *out = (int)v->u.i;
    return 0;
  }
  if (v->kind == DT__TOML_STRING) {
    int e = dt__errno_parse(v->u.s);
    if (e > 0) {
      *out = e;
      return 0;
    }
    return dt__error_set(err, v->line, v->col,
                         "%s: \"%s\" is not an errno name; write one such as "
                         "\"EIO\", \"EAGAIN\" or \"ETIMEDOUT\" (the names of "
                         "errno(3))",
                         what, v->u.s);
  }
  return dt__error_set(err, v->line, v->col,
                       "%s must be an errno name such as \"EIO\" (or its "
                       "positive number)",
                       what);
}

/* The words an action may be written as, per key. */
static const char *kind_word(dt__onerr_kind k) {
  switch (k) {
  case DT__ON_SIGNAL:
    return "signal";
  case DT__ON_RETRY:
    return "retry";
  case DT__ON_WAIT:
    return "wait";
  case DT__ON_LOCAL:
    return "local";
  default:
    return "return";
  }
}

/* on_crash / on_timeout: "signal" | "retry" | { return = V, errno = E };
 * on_unavailable: "wait" | "local" | { return = V, errno = E }. */
static int read_action(const dt__toml *v, const char *section, bool unavail,
                       dt__action *a, dt__error *err) {
  const char *forms = unavail ? "\"wait\", \"local\" or { return = -1, "
                                "errno = \"EAGAIN\" }"
                              : "\"signal\", \"retry\" or { return = -1, "
                                "errno = \"EIO\" }";
  dt__action n;
  memset(&n, 0, sizeof n);
  n.line = v->line;
  n.col = v->col;
  if (v->kind == DT__TOML_STRING) {
    const dt__onerr_kind allowed[2] = {
        unavail ? DT__ON_WAIT : DT__ON_SIGNAL,
        unavail ? DT__ON_LOCAL : DT__ON_RETRY};
    for (int i = 0; i < 2; i++)
      if (strcmp(v->u.s, kind_word(allowed[i])) == 0) {
        n.kind = allowed[i];
        *a = n;
        return 0;
      }
    return dt__error_set(err, v->line, v->col,
                         "'%s' in %s is \"%s\"; write %s", v->key, section,
                         v->u.s, forms);
  }
  if (v->kind != DT__TOML_TABLE)
    return dt__error_set(err, v->line, v->col, "'%s' in %s must be %s",
                         v->key, section, forms);
  n.kind = DT__ON_RETURN;
  for (size_t i = 0; i < v->u.list.n; i++) {
    const dt__toml *m = v->u.list.items[i];
    if (strcmp(m->key, "return") == 0) {
      if (m->kind == DT__TOML_INT) {
        n.lit = DT__LIT_INT;
        n.li = m->u.i;
      } else if (m->kind == DT__TOML_FLOAT) {
        n.lit = DT__LIT_FLOAT;
        n.ld = m->u.f;
      } else if (m->kind == DT__TOML_BOOL) {
        n.lit = DT__LIT_BOOL;
        n.li = m->u.b;
      } else {
        return dt__error_set(err, m->line, m->col,
                             "the return value in '%s' must be a number "
                             "(0 for a NULL string), not %s %s",
                             v->key, m->kind == DT__TOML_ARRAY ? "an" : "a",
                             dt__toml_kind_name(m->kind));
      }
    } else if (strcmp(m->key, "errno") == 0) {
      if (read_errno(m, "errno", &n.err, err) != 0)
        return -EINVAL;
    } else {
      return dt__error_set(err, m->key_line, m->key_col,
                           "unknown key '%s' in '%s'; write %s", m->key,
                           v->key, forms);
    }
  }
  *a = n;
  return 0;
}

/* retry_if = "ret OP LITERAL" (cond.c's grammar, with ret as the name). */
static int read_retry_if(const dt__toml *v, const char *section, dt__policy *p,
                         dt__error *err) {
  if (dt__toml_want(v, DT__TOML_STRING, section, "retry_if = \"ret < 0\"",
                      err) != 0)
    return -EINVAL;
  dt__cond c;
  if (dt__cond_parse(v->u.s, &c) != 0 || strcmp(c.name, "ret") != 0)
    goto bad;
  c.line = v->line;
  c.col = v->col;
  p->retry_if = c;
  p->has_retry_if = 1;
  return 0;
bad:
  return dt__error_set(err, v->line, v->col,
                       "retry_if = \"%s\" is not a comparison of the return "
                       "value; write for example \"ret < 0\", \"ret == -1\" "
                       "or \"ret == NULL\" (ret, then == != < <= > >=, then "
                       "a number, true, false or NULL)",
                       v->u.s);
}

/* A duration key into *ns, at most max_ns. */
static int read_duration(const dt__toml *v, const char *section,
                         const char *example, uint64_t max_ns, uint64_t *ns,
                         dt__error *err) {
  uint64_t d;
  if (dt__toml_want(v, DT__TOML_STRING, section, example, err) != 0)
    return -EINVAL;
  if (dt__toml_at(v, section, dt__parse_duration(v->u.s, &d, err), err) != 0)
    return -EINVAL;
  if (d > max_ns)
    return dt__error_set(err, v->line, v->col,
                         "'%s' in %s is \"%s\", longer than the %llu days "
                         "dtask accepts",
                         v->key, section, v->u.s,
                         (unsigned long long)(max_ns / 86400000000000ull));
  *ns = d;
  return 0;
}

/* Reads the policy keys present in table t (other keys are ignored: the
 * caller checks them) over what p holds.  section names the table in
 * messages.  Returns 0 or -EINVAL with err located at the bad value. */
int dt__policy_read(const dt__toml *t, const char *section, dt__policy *p,
                    dt__error *err) {
  const uint64_t week = 7ull * 86400ull * 1000000000ull;
  const dt__toml *v;
  if ((v = dt__toml_get(t, "on_crash")) != NULL &&
      read_action(v, section, false, &p->on_crash, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "on_timeout")) != NULL &&
      read_action(v, section, false, &p->on_timeout, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "on_unavailable")) != NULL &&
      read_action(v, section, true, &p->on_unavailable, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "timeout")) != NULL &&
      read_duration(v, section, "timeout = \"5s\"", week, &p->timeout_ns,
                    err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "retry_wait")) != NULL &&
      read_duration(v, section, "retry_wait = \"100ms\"", week,
                    &p->retry_wait_ns, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "retry_max_wait")) != NULL &&
      read_duration(v, section, "retry_max_wait = \"5s\"", week,
                    &p->retry_max_wait_ns, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "wait_for_runner")) != NULL &&
      read_duration(v, section, "wait_for_runner = \"30s\"", week,
                    &p->wait_for_runner_ns, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "drain_timeout")) != NULL &&
      read_duration(v, section, "drain_timeout = \"30s\"", week,
                    &p->drain_timeout_ns, err) != 0)
    return -EINVAL;
  if ((v = dt__toml_get(t, "retries")) != NULL) {
    if (dt__toml_want(v, DT__TOML_INT, section, "retries = 3", err) != 0)
      return -EINVAL;
    if (v->u.i < 0 || v->u.i > MAX_RETRIES)
      return dt__error_set(err, v->line, v->col,
                           "retries in %s is %lld; it must be between 0 and "
                           "%d",
                           section, v->u.i, MAX_RETRIES);
    p->retries = (int)v->u.i;
  }
  if ((v = dt__toml_get(t, "retry_on_errno")) != NULL) {
    if (dt__toml_want(v, DT__TOML_ARRAY, section,
                        "retry_on_errno = [\"EAGAIN\", \"ETIMEDOUT\"]",
                        err) != 0)
      return -EINVAL;
    if (v->u.list.n == 0 || v->u.list.n > DT__MAX_RETRY_ERRNOS)
      return dt__error_set(err, v->line, v->col,
                           "retry_on_errno in %s lists %zu errno values; "
                           "list 1 to %d, e.g. [\"EAGAIN\", \"ETIMEDOUT\"]",
                           section, v->u.list.n, DT__MAX_RETRY_ERRNOS);
    for (size_t i = 0; i < v->u.list.n; i++)
      if (read_errno(v->u.list.items[i], "each item of retry_on_errno",
                     &p->retry_errnos[i], err) != 0)
        return -EINVAL;
    p->nretry_errnos = (int)v->u.list.n;
    p->errnos_line = v->line;
    p->errnos_col = v->col;
  }
  if ((v = dt__toml_get(t, "retry_if")) != NULL &&
      read_retry_if(v, section, p, err) != 0)
    return -EINVAL;
  if (p->retry_max_wait_ns < p->retry_wait_ns)
    p->retry_max_wait_ns = p->retry_wait_ns;
  return 0;
}

/* The range of an integer return type, as long longs (unsigned 64-bit
 * types are capped at LLONG_MAX: a literal cannot exceed it anyway). */
static void int_range(const dt__type *t, long long *lo, long long *hi) {
  bool sgn = dt__tag_is_signed(t->tag);
  unsigned bits = (unsigned)t->size * 8;
  if (t->tag == DT__T_BOOL) {
    *lo = 0;
    *hi = 1;
  } else if (bits >= 64) {
    *lo = sgn ? LLONG_MIN : 0;
    *hi = LLONG_MAX;
  } else {
    *lo = sgn ? -(1ll << (bits - 1)) : 0;
    *hi = sgn ? (1ll << (bits - 1)) - 1 : (long long)((1ull << bits) - 1);
  }
}

/* Binds a DT__ON_RETURN action's literal to the return type. */
static int bind_action(dt__action *a, const char *key, const dt__sig *sig,
                       const char *section, dt__error *err) {
  const dt__type *t = &sig->ret;
  if (a->kind != DT__ON_RETURN)
    return 0;
  if (t->tag == DT__T_VOID) {
    if (a->lit != DT__LIT_NONE)
      return dt__error_set(err, a->line, a->col,
                           "%s: %s returns void, so %s cannot return a "
                           "value; write %s = { errno = \"EIO\" }",
                           section, sig->name, key, key);
    a->value = 0;
    return 0;
  }
  if (a->lit == DT__LIT_NONE)
    return dt__error_set(err, a->line, a->col,
                         "%s: %s returns %s, so %s must say what to return; "
                         "write %s = { return = %s, errno = \"EIO\" }",
                         section, sig->name, t->name, key, key,
                         t->tag == DT__T_CSTRING ? "0" : "-1");
  if (t->tag == DT__T_CSTRING) {
    if (a->lit != DT__LIT_INT || a->li != 0)
      return dt__error_set(err, a->line, a->col,
                           "%s: %s returns a string; the only value %s can "
                           "return is NULL: write return = 0",
                           section, sig->name, key);
    a->value = 0;
    return 0;
  }
  if (t->tag == DT__T_FLOAT || t->tag == DT__T_DOUBLE) {
    double d = a->lit == DT__LIT_FLOAT ? a->ld : (double)a->li;
    a->value = dt__scalar_from_real(t, d);
    return 0;
  }
  long long lo, hi;
  int_range(t, &lo, &hi);
  if (a->lit == DT__LIT_FLOAT || a->li < lo || a->li > hi) {
    char shown[64];
    if (a->lit == DT__LIT_FLOAT)
      snprintf(shown, sizeof shown, "%g", a->ld);
    else
      snprintf(shown, sizeof shown, "%lld", a->li);
    return dt__error_set(err, a->line, a->col,
                         "%s: %s returns %s, which cannot hold %s; write an "
                         "integer between %lld and %lld",
                         section, sig->name, t->name, shown, lo, hi);
  }
  a->value = (uint64_t)a->li;
  return 0;
}

/* Checks p against the signature it will serve (return values that fit
 * the return type, a retry condition that can be evaluated) and fills in
 * the implied retry condition.  Returns 0 or -EINVAL with err located at
 * the setting (which may be in [defaults]). */
int dt__policy_bind(dt__policy *p, const dt__sig *sig, const char *section,
                    dt__error *err) {
  const dt__type *t = &sig->ret;
  if (bind_action(&p->on_crash, "on_crash", sig, section, err) != 0 ||
      bind_action(&p->on_timeout, "on_timeout", sig, section, err) != 0 ||
      bind_action(&p->on_unavailable, "on_unavailable", sig, section, err) !=
          0)
    return -EINVAL;
  if (!p->has_retry_if && p->nretry_errnos == 0)
    return 0;
  int line = p->has_retry_if ? p->retry_if.line : p->errnos_line;
  int col = p->has_retry_if ? p->retry_if.col : p->errnos_col;
  if (t->tag == DT__T_VOID)
    return dt__error_set(err, line, col,
                         "%s: %s returns void, so there is no return value "
                         "to tell a failure by; remove retry_if and "
                         "retry_on_errno",
                         section, sig->name);
  if (!p->has_retry_if) {
    /* retry_on_errno alone: the C conventions for a failed call. */
    memset(&p->retry_if, 0, sizeof p->retry_if);
    strcpy(p->retry_if.name, "ret");
    p->retry_if.param = -1;
    if (t->tag == DT__T_CSTRING) {
      p->retry_if.op = DT__CMP_EQ;
      p->retry_if.lit = DT__LIT_NULL;
    } else if (dt__tag_is_integer(t->tag) && dt__tag_is_signed(t->tag) &&
               t->tag != DT__T_BOOL) {
      p->retry_if.op = DT__CMP_LT;
      p->retry_if.lit = DT__LIT_INT;
      p->retry_if.i = 0;
    } else {
      return dt__error_set(err, line, col,
                           "%s: retry_on_errno needs to know which return "
                           "values of %s mean failure (it returns %s); add "
                           "for example retry_if = \"ret == 0\"",
                           section, sig->name, t->name);
    }
    p->has_retry_if = 1;
    return 0;
  }
  if (t->tag == DT__T_CSTRING) {
    if (p->retry_if.lit != DT__LIT_NULL ||
        (p->retry_if.op != DT__CMP_EQ && p->retry_if.op != DT__CMP_NE))
      return dt__error_set(err, line, col,
                           "%s: %s returns a string, which retry_if can only "
                           "compare with NULL: write retry_if = \"ret == "
                           "NULL\"",
                           section, sig->name);
    return 0;
  }
  if (p->retry_if.lit == DT__LIT_NULL)
    return dt__error_set(err, line, col,
                         "%s: %s returns %s, not a pointer; compare it with "
                         "a number, e.g. retry_if = \"ret < 0\"",
                         section, sig->name, t->name);
  if (dt__tag_is_integer(t->tag) && p->retry_if.lit == DT__LIT_FLOAT)
    return dt__error_set(err, line, col,
                         "%s: %s returns %s; compare it with an integer, "
                         "not %g",
                         section, sig->name, t->name, p->retry_if.d);
  return 0;
}

/* ---------------------------------------------------------------- calls */

/* Whether the return value in ret satisfies p's retry_if. */
static bool ret_matches(const dt__policy *p, const dt__sig *sig,
                        const void *ret) {
  const dt__type *t = &sig->ret;
  uint64_t v;
  if (t->tag == DT__T_CSTRING) {
    char *str;
    memcpy(&str, ret, sizeof str);
    v = str != NULL;
  } else if (dt__scalar_ret_get(t, ret, &v) != 0) {
    return false;
  }
  return dt__cond_eval(&p->retry_if, t, v) != 0;
}

/* 1 if ret (libffi's return buffer) is a failed call's return: what
 * retry_if says, or without it the C conventions (a negative signed
 * integer, a NULL string); 0 for other types. */
int dt__policy_is_failure(const dt__policy *p, const dt__sig *sig,
                          const void *ret) {
  const dt__type *t = &sig->ret;
  if (p->has_retry_if)
    return ret_matches(p, sig, ret);
  if (t->tag == DT__T_CSTRING) {
    char *str;
    memcpy(&str, ret, sizeof str);
    return str == NULL;
  }
  uint64_t v;
  if (!dt__tag_is_integer(t->tag) || !dt__tag_is_signed(t->tag) ||
      t->tag == DT__T_BOOL || dt__scalar_ret_get(t, ret, &v) != 0)
    return 0;
  return (int64_t)v < 0;
}

/* 1 if a call that returned ret (libffi's return buffer) with errno err
 * should be retried under p. */
int dt__policy_should_retry(const dt__policy *p, const dt__sig *sig,
                            const void *ret, int err) {
  if (!p->has_retry_if || !ret_matches(p, sig, ret))
    return 0;
  if (p->nretry_errnos == 0)
    return 1;
  for (int i = 0; i < p->nretry_errnos; i++)
    if (p->retry_errnos[i] == err)
      return 1;
  return 0;
}

/* The pause before retry number attempt (1-based): full jitter, uniform
 * in [0, min(retry_max_wait, retry_wait * 2^(attempt-1))].  rnd is a
 * uniformly random 64-bit number. */
uint64_t dt__policy_backoff_ns(const dt__policy *p, int attempt,
                               uint64_t rnd) {
  uint64_t cap = p->retry_wait_ns;
  for (int i = 1; i < attempt && cap < p->retry_max_wait_ns; i++)
    cap = cap > UINT64_MAX / 2 ? UINT64_MAX : cap * 2;
  if (cap > p->retry_max_wait_ns)
    cap = p->retry_max_wait_ns;
  return cap == UINT64_MAX ? rnd : rnd % (cap + 1);
}

/* Writes a DT__ON_RETURN action's value into libffi's return buffer. */
void dt__policy_store_return(const dt__action *a, const dt__sig *sig,
                             void *ret) {
  if (sig->ret.tag == DT__T_CSTRING) {
    char *null = NULL;
    memcpy(ret, &null, sizeof null);
    return;
  }
  dt__scalar_ret_set(&sig->ret, a->value, ret);
}

/* Renders an action for dt__policy_describe. */
static void describe_action(const dt__action *a, const char *sig_word,
                            char *out, size_t outsz) {
  if (a->kind != DT__ON_RETURN) {
    snprintf(out, outsz, "%s%s", kind_word(a->kind),
             a->kind == DT__ON_SIGNAL ? sig_word : "");
    return;
  }
  const char *en = a->err ? dt__errno_name(a->err) : NULL;
  char val[64] = "";
  if (a->lit == DT__LIT_FLOAT)
    snprintf(val, sizeof val, "return %g", a->ld);
  else if (a->lit != DT__LIT_NONE)
    snprintf(val, sizeof val, "return %lld", a->li);
  snprintf(out, outsz, "%s%s%s%s", val, val[0] && en ? ", " : "",
           en ? "errno " : "", en ? en : "");
}

/* Writes what p does, in three indented lines (dtask check). */
void dt__policy_describe(const dt__policy *p, FILE *out) {
  char crash[96], tmo[96], unav[96];
  describe_action(&p->on_crash, " (the worker's signal)", crash,
                  sizeof crash);
  describe_action(&p->on_timeout, " (SIGALRM)", tmo, sizeof tmo);
  describe_action(&p->on_unavailable, "", unav, sizeof unav);
  fprintf(out, "      on crash %s; ", crash);
  if (p->timeout_ns > 0)
    fprintf(out, "timeout %gs, then %s\n", (double)p->timeout_ns / 1e9, tmo);
  else
    fprintf(out, "no timeout\n");
  fprintf(out, "      retries %d (backoff %gs up to %gs, full jitter)",
          p->retries, (double)p->retry_wait_ns / 1e9,
          (double)p->retry_max_wait_ns / 1e9);
  if (p->has_retry_if) {
    char cond[128];
    dt__cond_format(&p->retry_if, cond, sizeof cond);
    fprintf(out, "; retry when %s", cond);
    for (int i = 0; i < p->nretry_errnos; i++) {
      const char *n = dt__errno_name(p->retry_errnos[i]);
      fprintf(out, i == 0 ? " and errno is %s" : " or %s", n ? n : "?");
    }
  }
  fprintf(out, "\n      no runner for %gs: %s\n",
          (double)p->wait_for_runner_ns / 1e9, unav);
}
