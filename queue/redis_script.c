/* redis_script.c: running the redis backend's scripts (the static const
 * char arrays of the other redis_*.c files).  A connection sends a
 * script in full (EVAL) the first time it runs it after it connected,
 * then by its SHA-1 (EVALSHA): the server keeps every script it has run
 * until it restarts (or SCRIPT FLUSH), and the text of a long script,
 * sent and hashed by the server on every call, costs every call time
 * (the admission helpers of redis_admit.h are 3 KB).  A server that has
 * lost a script answers NOSCRIPT: dt__rq_eval sends it again in full;
 * for one queued by dt__rq_eval_append, dt__rq_checked says -EAGAIN and
 * the caller sends it again (the connection has forgotten what it
 * sent, so it goes in full).  This file owns the table of scripts'
 * SHA-1s, computed here on first use. */
#include <stdio.h>
#include <string.h>

#include "queue/redis_core.h"

/* The most words of one EVAL (EVAL, script, count, keys, arguments). */
#define EVAL_WORDS 24
/* The scripts whose SHA-1 is kept (one bit each in dt__rconn scripts). */
#define SCRIPTS 64

/* One script known by its SHA-1: script is claimed by one thread (a
 * compare-and-swap from NULL), ready set once sha is written. */
static struct {
  const char *script;
  int ready;
  char sha[41];
} s_table[SCRIPTS];

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

/* SHA-1 (FIPS 180-4) of one 64-byte block p into h. */
static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 80; i++)
    w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5A827999u;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ED9EBA1u;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
    else
      f = b ^ c ^ d, k = 0xCA62C1D6u;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* The SHA-1 of the n bytes at s, in lower-case hex as Redis names a
 * script, into out (41 bytes). */
static void sha1_hex(const char *s, size_t n, char *out) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                   0xC3D2E1F0u};
  uint8_t last[64];
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    sha1_block(h, (const uint8_t *)s + i);
  size_t r = n - i;
  memcpy(last, s + i, r);
  last[r++] = 0x80;
  if (r > 56) {
    memset(last + r, 0, 64 - r);
    sha1_block(h, last);
    r = 0;
  }
  memset(last + r, 0, 56 - r);
  uint64_t bits = (uint64_t)n * 8;
  for (int j = 0; j < 8; j++)
    last[56 + j] = (uint8_t)(bits >> (56 - 8 * j));
  sha1_block(h, last);
  for (int j = 0; j < 5; j++)
    snprintf(out + 8 * j, 9, "%08x", h[j]);
}

/* The slot of script in s_table, its SHA-1 computed on first use (no
 * lock: a thread forked while another computed one never waits for it).
 * Returns the slot, or -1 when the table is full or another thread is
 * computing it at this moment (the script then goes in full). */
static int slot_of(const char *script) {
  for (int i = 0; i < SCRIPTS; i++) {
    const char *p = __atomic_load_n(&s_table[i].script, __ATOMIC_ACQUIRE);
    if (p == NULL) {
      const char *none = NULL;
      if (!__atomic_compare_exchange_n(&s_table[i].script, &none, script,
                                       false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE)) {
        p = none; /* another thread took it first */
      } else {
        sha1_hex(script, strlen(script), s_table[i].sha);
        __atomic_store_n(&s_table[i].ready, 1, __ATOMIC_RELEASE);
        return i;
      }
    }
    if (p == script)
      return __atomic_load_n(&s_table[i].ready, __ATOMIC_ACQUIRE) ? i : -1;
  }
  return -1;
}

/* The SHA-1 by which conn may send the script of slot i: the one it sent
 * in full since it connected; NULL when it must send it in full. */
static const char *sha_for(dt__rconn *conn, int i) {
  if (conn->scripts_epoch != conn->epoch) {
    conn->scripts = 0;
    conn->scripts_epoch = conn->epoch;
  }
  return i >= 0 && (conn->scripts >> i & 1) ? s_table[i].sha : NULL;
}

/* Notes that conn sent the script of slot i in full. */
static void sent_full(dt__rconn *conn, int i) {
  if (i >= 0)
    conn->scripts |= 1ull << i;
}

/* Builds the argv of EVAL script (EVALSHA sha when sha is not NULL) with
 * nkeys keys then nargs arguments (alen[i] gives argument i's length,
 * DT__RQ_STR for a C string; alen NULL: all C strings) into argv/len
 * (EVAL_WORDS slots).  Returns the count. */
static int eval_argv(const char **argv, size_t *len, char *nk, size_t nkcap,
                     const char *script, const char *sha, int nkeys,
                     const char *const *keys, int nargs,
                     const char *const *args, const size_t *alen) {
  int n = 0;
  snprintf(nk, nkcap, "%d", nkeys);
  if (sha != NULL)
    argv[n] = "EVALSHA", len[n++] = 7, argv[n] = sha, len[n++] = 40;
  else
    argv[n] = "EVAL", len[n++] = 4, argv[n] = script,
    len[n++] = strlen(script);
  argv[n] = nk, len[n++] = strlen(nk);
  for (int i = 0; i < nkeys && n < EVAL_WORDS; i++)
    argv[n] = keys[i], len[n++] = strlen(keys[i]);
  for (int i = 0; i < nargs && n < EVAL_WORDS; i++)
    argv[n] = args[i],
    len[n++] = alen != NULL && alen[i] != DT__RQ_STR ? alen[i]
                                                     : strlen(args[i]);
  return n;
}

/* Runs a script on conn (ready) with nkeys keys then nargs arguments, as
 * eval_argv takes them: by its SHA-1 once conn sent it in full, in full
 * again when the server answers NOSCRIPT.  Returns the reply (the caller
 * frees it), or NULL when the link failed or the server answered with
 * an error (dt__rq_checked). */
redisReply *dt__rq_eval(dt__rconn *conn, const char *script, int nkeys,
                        const char *const *keys, int nargs,
                        const char *const *args, const size_t *alen) {
  const char *argv[EVAL_WORDS];
  size_t len[EVAL_WORDS];
  char nk[8];
  int i = slot_of(script);
  const char *sha = sha_for(conn, i);
  int n = eval_argv(argv, len, nk, sizeof nk, script, sha, nkeys, keys,
                    nargs, args, alen);
  redisReply *r = dt__rconn_argv(conn, n, argv, len);
  if (sha != NULL && r != NULL && r->type == REDIS_REPLY_ERROR &&
      strncmp(r->str, "NOSCRIPT", 8) == 0) {
    dt__hi.freeReplyObject(r);
    conn->scripts = 0; /* the server lost them all */
    sha = NULL;
    n = eval_argv(argv, len, nk, sizeof nk, script, NULL, nkeys, keys, nargs,
                  args, alen);
    r = dt__rconn_argv(conn, n, argv, len);
  }
  if (sha == NULL && r != NULL && r->type != REDIS_REPLY_ERROR)
    sent_full(conn, i);
  return dt__rq_checked(conn, r);
}

/* Queues the same script on conn without reading its reply (read it with
 * dt__rconn_get, in order; dt__rq_checked says -EAGAIN for NOSCRIPT, and
 * the caller sends it again).  Returns 0 or -ENOMEM. */
int dt__rq_eval_append(dt__rconn *conn, const char *script, int nkeys,
                       const char *const *keys, int nargs,
                       const char *const *args, const size_t *alen) {
  const char *argv[EVAL_WORDS];
  size_t len[EVAL_WORDS];
  char nk[8];
  int i = slot_of(script);
  const char *sha = sha_for(conn, i);
  int n = eval_argv(argv, len, nk, sizeof nk, script, sha, nkeys, keys,
                    nargs, args, alen);
  int rc = dt__rconn_append(conn, n, argv, len, 0);
  if (rc == 0 && sha == NULL)
    sent_full(conn, i); /* the server keeps it, unless it fails to run */
  return rc;
}
