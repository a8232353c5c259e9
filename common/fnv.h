/* fnv.h: FNV-1a, 64 bits: the one short hash of names and bytes that the
 * fingerprint (queue/wire.c), image identities (queue/image.c), interned
 * strings (shim/rstring.c), GOT records (shim/got.c) and the answers
 * cache's order (queue/lmdb_cache.c) use.  Not for anything an attacker
 * chooses to collide: the answers cache's keys are SHA-256
 * (common/sha256.h). */
#ifndef DT_FNV_H
#define DT_FNV_H

#include <stddef.h>
#include <stdint.h>

#define DT__FNV_OFFSET 0xcbf29ce484222325ull
#define DT__FNV_PRIME 0x100000001b3ull

/* FNV-1a over the n bytes at p, continuing from h (DT__FNV_OFFSET to
 * start). */
static inline uint64_t dt__fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * DT__FNV_PRIME;
  return h;
}

#endif /* DT_FNV_H */
