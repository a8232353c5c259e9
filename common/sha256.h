/* sha256.h: SHA-256 (FIPS 180-4), incremental (common/sha256.c). */
#ifndef DT_SHA256_H
#define DT_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct dt__sha256 {
  uint32_t h[8];
  uint64_t bytes;     /* taken so far */
  uint8_t block[64];  /* the partial block */
  size_t fill;        /* bytes in it */
} dt__sha256;

void dt__sha256_init(dt__sha256 *c);
void dt__sha256_add(dt__sha256 *c, const void *data, size_t n);
void dt__sha256_end(dt__sha256 *c, uint8_t out[32]);

#endif /* DT_SHA256_H */
