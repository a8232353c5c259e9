/* lmdb_cache.c: owns the answers cache of an "lmdb" queue, its
 * cache_get and cache_put operations (queue/queue.h).
 *
 * Three databases of the queue's environment hold it:
 *
 *   cache   hash (32 bytes) -> [stored u64: CLOCK_REALTIME ns]
 *                              [entry length u16][entry][result record]
 *   lru     [entry tag u64 BE][use u64 BE] -> hash: the entry's answers
 *           in their order of use, oldest first (entry tag: a 64-bit
 *           FNV-1a of the entry's name; names sharing a tag are told
 *           apart by the entry stored with each answer)
 *   limits  "u" + hash -> [use u64][bytes u64]: where the answer is in
 *           lru, and the bytes its value takes (counted off its entry's
 *           even when the value is found damaged);
 *           "b:" + entry -> u64: the bytes its answers take (the cache
 *           values' sizes); "s" -> u64: the last use number handed out
 *
 * Use numbers only grow (one write transaction at a time hands them out),
 * so lru's order is the order of use across every process.  A hit
 * moves the answer to the end of lru: a get is a write transaction, far
 * cheaper than the call it saves.  The stored time is the wall clock,
 * since answers outlive the machine's boot; ttl is measured on it.
 * Every value read is checked before use: one that is not an answer of
 * this layout is deleted as if absent. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fnv.h"
#include "queue/lmdb_cache.h"

#define HEAD 10u /* stored u64, entry length u16 */

/* The wall clock in ns. */
static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* entry's tag in lru's keys. */
static uint64_t entry_tag(const char *entry, size_t len) {
  return dt__fnv(DT__FNV_OFFSET, entry, len);
}

/* The limits key (prefix + name) into key; returns its size. */
static size_t limits_key(uint8_t *key, const char *prefix, const void *name,
                         size_t len) {
  size_t p = strlen(prefix);
  memcpy(key, prefix, p);
  memcpy(key + p, name, len);
  return p + len;
}

/* Reads a u64 of limits under key (0 when absent).  0 or a negative
 * errno. */
static int get_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, uint64_t *out) {
  MDB_val v;
  int rc = mdb_get(txn, dbi, k, &v);
  *out = rc == 0 && v.mv_size == 8 ? dt__lm_get64(v.mv_data) : 0;
  return rc == MDB_NOTFOUND ? 0 : dt__lmdb_err(rc);
}

/* Writes a u64 of limits under key.  0 or a negative errno. */
static int put_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, uint64_t x) {
  uint8_t b[8];
  MDB_val v = {8, b};
  dt__lm_put64(b, x);
  return dt__lmdb_err(mdb_put(txn, dbi, k, &v, 0));
}

/* The lru key of (tag, use) into key (16 bytes). */
static void lru_key(uint8_t *key, uint64_t tag, uint64_t use) {
  dt__lmdb_key(key, tag);
  dt__lmdb_key(key + 8, use);
}

/* Adds d (may be negative) to entry's byte count in txn.  0 or a
 * negative errno. */
static int add_bytes(MDB_txn *txn, dt__lmdb_env *db, const char *entry,
                     size_t elen, int64_t d) {
  uint8_t key[2 + 128];
  MDB_val k = {limits_key(key, "b:", entry, elen), key};
  uint64_t n;
  int rc = get_u64(txn, db->limits, &k, &n);
  if (rc != 0)
    return rc;
  n = d < 0 && (uint64_t)-d > n ? 0 : n + (uint64_t)d;
  return put_u64(txn, db->limits, &k, n);
}

/* Reads hash's "u" record: its use number and the bytes of its value
 * (both 0 when there is none).  0 or a negative errno. */
static int get_use(MDB_txn *txn, dt__lmdb_env *db, MDB_val *uk,
                   uint64_t *use, uint64_t *bytes) {
  MDB_val v;
  int rc = mdb_get(txn, db->limits, uk, &v);
  *use = *bytes = 0;
  if (rc == 0 && v.mv_size == 16) {
    *use = dt__lm_get64(v.mv_data);
    *bytes = dt__lm_get64((const uint8_t *)v.mv_data + 8);
  }
  return rc == MDB_NOTFOUND ? 0 : dt__lmdb_err(rc);
}

/* Gives hash, whose value takes bytes, the next use number: its lru key
 * moves from its old use (if any) to the new one, under tag.  0 or a
 * negative errno. */
static int touch(MDB_txn *txn, dt__lmdb_env *db, const uint8_t *hash,
                 uint64_t tag, uint64_t bytes) {
  uint8_t ukey[1 + DT__CACHE_HASH], lkey[16], uval[16];
  MDB_val uk = {limits_key(ukey, "u", hash, DT__CACHE_HASH), ukey};
  MDB_val sk = {1, (void *)"s"}, lk = {16, lkey}, uv = {16, uval};
  MDB_val hv = {DT__CACHE_HASH, (void *)hash};
  uint64_t old, was, use;
  int rc = get_use(txn, db, &uk, &old, &was);
  if (rc == 0 && old != 0) {
    lru_key(lkey, tag, old);
    int d = mdb_del(txn, db->lru, &lk, NULL);
    rc = d == MDB_NOTFOUND ? 0 : dt__lmdb_err(d);
  }
  if (rc == 0)
    rc = get_u64(txn, db->limits, &sk, &use);
  if (rc == 0)
    rc = put_u64(txn, db->limits, &sk, ++use);
  if (rc == 0) {
    dt__lm_put64(uval, use);
    dt__lm_put64(uval + 8, bytes);
    rc = dt__lmdb_err(mdb_put(txn, db->limits, &uk, &uv, 0));
  }
  if (rc == 0) {
    lru_key(lkey, tag, use);
    rc = dt__lmdb_err(mdb_put(txn, db->lru, &lk, &hv, 0));
  }
  return rc;
}

/* Deletes the answer of entry under hash with its lru and use records,
 * and uncounts the bytes its use record says it took.  0 or a negative
 * errno. */
static int forget(MDB_txn *txn, dt__lmdb_env *db, const uint8_t *hash,
                  const char *entry, size_t elen) {
  uint8_t ukey[1 + DT__CACHE_HASH], lkey[16];
  MDB_val uk = {limits_key(ukey, "u", hash, DT__CACHE_HASH), ukey};
  MDB_val hk = {DT__CACHE_HASH, (void *)hash}, lk = {16, lkey};
  uint64_t use, vsize;
  int rc = get_use(txn, db, &uk, &use, &vsize);
  if (rc == 0 && use != 0) {
    lru_key(lkey, entry_tag(entry, elen), use);
    mdb_del(txn, db->lru, &lk, NULL);
    mdb_del(txn, db->limits, &uk, NULL);
  }
  if (rc == 0) {
    int d = mdb_del(txn, db->cache, &hk, NULL);
    rc = d == MDB_NOTFOUND ? 0 : dt__lmdb_err(d);
  }
  if (rc == 0)
    rc = add_bytes(txn, db, entry, elen, -(int64_t)vsize);
  return rc;
}

/* The entry a cache value v names, if it is a value of this layout:
 * true with *entry (into v) and *elen. */
static bool value_entry(const MDB_val *v, const char **entry, size_t *elen) {
  if (v->mv_size < HEAD)
    return false;
  uint16_t n;
  memcpy(&n, (const uint8_t *)v->mv_data + 8, 2);
  if (n == 0 || n > 127 || HEAD + n > v->mv_size)
    return false;
  *entry = (const char *)v->mv_data + HEAD;
  *elen = n;
  return true;
}

/* The cache_get operation: the answer under k->hash, if it is there, of
 * k->entry and younger than k->ttl_ns, copied into *rec (malloc'd, the
 * caller frees it), and made the entry's most recently used.  An answer
 * past its ttl is deleted.  Returns 1 with *rec and *size, 0 when there
 * is none, or a negative errno. */
int dt__lm_cache_get(dt__queue *base, const dt__cache_key *k, uint8_t **rec,
                     size_t *size) {
  dt__lmq *q = dt__lm(base);
  MDB_txn *txn;
  MDB_val hk = {DT__CACHE_HASH, (void *)k->hash}, v;
  size_t elen = strnlen(k->entry, 127);
  *rec = NULL;
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  int g = mdb_get(txn, q->db.cache, &hk, &v);
  if (g != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return g == MDB_NOTFOUND ? 0 : dt__lmdb_err(g);
  }
  const char *entry;
  size_t vlen;
  if (!value_entry(&v, &entry, &vlen)) {
    /* Not a value of this layout: gone, as if it had never been.  Under
     * this hash it can only have been k's entry's answer, whose bytes
     * its use record knows. */
    rc = forget(txn, &q->db, k->hash, k->entry, elen);
    rc = rc == 0 ? dt__lmdb_end(&q->db, txn, 1)
                 : (dt__lmdb_end(&q->db, txn, 0), rc);
    return rc < 0 ? rc : 0;
  }
  if (vlen != elen || memcmp(entry, k->entry, elen) != 0) {
    dt__lmdb_end(&q->db, txn, 0); /* another entry's: never given here */
    return 0;
  }
  uint64_t stored = dt__lm_get64(v.mv_data), now = wall_ns();
  if (k->ttl_ns != 0 && (stored > now || now - stored > k->ttl_ns)) {
    rc = forget(txn, &q->db, k->hash, k->entry, elen);
    rc = rc == 0 ? dt__lmdb_end(&q->db, txn, 1)
                 : (dt__lmdb_end(&q->db, txn, 0), rc);
    return rc < 0 ? rc : 0;
  }
  *size = v.mv_size - HEAD - elen;
  *rec = malloc(*size ? *size : 1);
  if (*rec == NULL) {
    dt__lmdb_end(&q->db, txn, 0);
    return -ENOMEM;
  }
  memcpy(*rec, (const uint8_t *)v.mv_data + HEAD + elen, *size);
  rc = touch(txn, &q->db, k->hash, entry_tag(k->entry, elen), v.mv_size);
  if (rc == 0)
    rc = dt__lmdb_end(&q->db, txn, 1);
  else
    dt__lmdb_end(&q->db, txn, 0);
  /* The answer was read: a failure to note its use does not lose it. */
  (void)rc;
  return 1;
}

/* In txn: deletes entry's least recently used answers, other than keep,
 * while its answers take more than max bytes.  0 or a negative errno. */
static int evict(MDB_txn *txn, dt__lmdb_env *db, const char *entry,
                 size_t elen, const uint8_t *keep, uint64_t max) {
  uint8_t key[2 + 128];
  MDB_val bk = {limits_key(key, "b:", entry, elen), key};
  uint64_t tag = entry_tag(entry, elen), bytes;
  uint8_t from[16];
  lru_key(from, tag, 0);
  int rc = get_u64(txn, db->limits, &bk, &bytes);
  while (rc == 0 && bytes > max) {
    MDB_cursor *cur;
    MDB_val lk = {16, from}, hv, v;
    rc = dt__lmdb_err(mdb_cursor_open(txn, db->lru, &cur));
    if (rc != 0)
      break;
    int c = mdb_cursor_get(cur, &lk, &hv, MDB_SET_RANGE);
    uint8_t hash[DT__CACHE_HASH];
    bool found = false;
    /* The oldest answer of this entry (tags may be shared: each answer
     * says whose it is). */
    while (c == 0 && lk.mv_size == 16 && dt__lmdb_id(lk.mv_data) == tag) {
      const char *e;
      size_t el;
      MDB_val hk = {DT__CACHE_HASH, hv.mv_data};
      if (hv.mv_size == DT__CACHE_HASH &&
          memcmp(hv.mv_data, keep, DT__CACHE_HASH) != 0 &&
          mdb_get(txn, db->cache, &hk, &v) == 0 && value_entry(&v, &e, &el) &&
          el == elen && memcmp(e, entry, elen) == 0) {
        memcpy(hash, hv.mv_data, DT__CACHE_HASH);
        memcpy(from, lk.mv_data, 16);
        found = true;
        break;
      }
      c = mdb_cursor_get(cur, &lk, &hv, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (!found)
      break; /* only keep is left: the count is off, not the cache */
    rc = forget(txn, db, hash, entry, elen);
    if (rc == 0)
      rc = get_u64(txn, db->limits, &bk, &bytes);
  }
  return rc;
}

/* The cache_put operation: stores rec (size bytes) as the answer under
 * k->hash, replacing one there, made the entry's most recently used;
 * then evicts the entry's least recently used answers until its answers
 * take at most k->max_bytes.  An answer larger than that alone, or than
 * a quarter of the map, is not stored.  Returns 0 or a negative errno
 * (nothing changed). */
int dt__lm_cache_put(dt__queue *base, const dt__cache_key *k,
                     const uint8_t *rec, size_t size) {
  dt__lmq *q = dt__lm(base);
  size_t elen = strnlen(k->entry, 127);
  MDB_val hk = {DT__CACHE_HASH, (void *)k->hash},
          v = {HEAD + elen + size, NULL}, old;
  if (elen == 0 || v.mv_size > k->max_bytes ||
      v.mv_size > q->db.map_size / 4)
    return 0;
  MDB_txn *txn;
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  if (mdb_get(txn, q->db.cache, &hk, &old) == 0) {
    const char *e;
    size_t el;
    if (value_entry(&old, &e, &el)) {
      char was[128];
      memcpy(was, e, el);
      rc = forget(txn, &q->db, k->hash, was, el);
    } else {
      /* Damaged: under this hash it can only be k's entry's. */
      rc = forget(txn, &q->db, k->hash, k->entry, elen);
    }
  }
  if (rc == 0)
    rc = dt__lmdb_room(&q->db, v.mv_size);
  if (rc == 0)
    rc = dt__lmdb_err(mdb_put(txn, q->db.cache, &hk, &v, MDB_RESERVE));
  if (rc == 0) {
    uint8_t *p = v.mv_data;
    uint16_t n = (uint16_t)elen;
    dt__lm_put64(p, wall_ns());
    memcpy(p + 8, &n, 2);
    memcpy(p + HEAD, k->entry, elen);
    memcpy(p + HEAD + elen, rec, size);
    rc = touch(txn, &q->db, k->hash, entry_tag(k->entry, elen), v.mv_size);
  }
  if (rc == 0)
    rc = add_bytes(txn, &q->db, k->entry, elen, (int64_t)v.mv_size);
  if (rc == 0)
    rc = evict(txn, &q->db, k->entry, elen, k->hash, k->max_bytes);
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  return dt__lmdb_end(&q->db, txn, 1);
}
