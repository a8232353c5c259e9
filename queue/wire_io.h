/* wire_io.h: what the files of the record format share: queue/wire.c,
 * queue/wire_task.c and queue/wire_result.c include it, nothing else.
 *
 * The limits of a record, the bounded writer and reader every byte goes
 * through (inline: they run for every field of every call), and the
 * helpers defined in queue/wire.c. */
#ifndef DT_WIRE_IO_H
#define DT_WIRE_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "config/sig.h"

/* The u32 length that stands for a NULL cstring. */
#define DT__WIRE_NULL_LEN 0xffffffffu
/* The u32 length that says a returned cstring points into one of the
 * call's own arguments: a u32 parameter index and a u64 offset follow
 * instead of bytes (results only; wire.h). */
#define DT__WIRE_ARG_LEN 0xfffffffeu
/* The largest record, and the largest block a runner allocates for one
 * call's buffers. */
#define DT__WIRE_MAX_BYTES ((uint64_t)1 << 30)
/* The fixed part of a result: magic, version, status, errno, call_id. */
#define DT__WIRE_RESULT_HEADER 20

/* Reporting a bad record, and the one check of a signature (queue/wire.c). */
int dt__wire_fail(dt__error *err, int rc, const char *fmt, ...)
    DT__PRINTF(3, 4);
void dt__wire_clear(dt__error *err);
bool dt__wire_sig_ok(const dt__sig *sig);

/* A bounded cursor over an output buffer.  A write that does not fit sets
 * overflow and writes nothing; the caller checks overflow once at the end. */
typedef struct dt__wire_writer {
  uint8_t *p;
  size_t size;
  size_t pos;
  bool overflow;
} dt__wire_writer;

/* Writes n bytes of src at the cursor (nothing if they do not fit). */
static inline void dt__wire_put_bytes(dt__wire_writer *w, const void *src,
                                      size_t n) {
  if (w->overflow || n > w->size - w->pos) {
    w->overflow = true;
    return;
  }
  if (n > 0)
    memcpy(w->p + w->pos, src, n);
  w->pos += n;
}

/* Writes an integer of 1, 2, 4 or 8 bytes, little-endian. */
static inline void dt__wire_put_u8(dt__wire_writer *w, uint8_t v) {
  dt__wire_put_bytes(w, &v, 1);
}

/* The same, 2 bytes. */
static inline void dt__wire_put_u16(dt__wire_writer *w, uint16_t v) {
  uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  dt__wire_put_bytes(w, b, sizeof b);
}

/* The same, 4 bytes. */
static inline void dt__wire_put_u32(dt__wire_writer *w, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  dt__wire_put_bytes(w, b, sizeof b);
}

/* The same, 8 bytes. */
static inline void dt__wire_put_u64(dt__wire_writer *w, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  dt__wire_put_bytes(w, b, sizeof b);
}

/* A bounded cursor over a record.  Each dt__wire_get_ function returns
 * false, and leaves the cursor where it was, when the record has too few
 * bytes left. */
typedef struct dt__wire_reader {
  const uint8_t *p;
  size_t size;
  size_t pos;
} dt__wire_reader;

/* The bytes of the record not read yet. */
static inline size_t dt__wire_left(const dt__wire_reader *r) {
  return r->size - r->pos;
}

/* Points *out at the next n bytes of the record (no copy). */
static inline bool dt__wire_get_bytes(dt__wire_reader *r, uint64_t n,
                                      const uint8_t **out) {
  if (n > dt__wire_left(r))
    return false;
  *out = r->p + r->pos;
  r->pos += (size_t)n;
  return true;
}

/* Reads an integer of 1, 2, 4 or 8 bytes, little-endian. */
static inline bool dt__wire_get_u8(dt__wire_reader *r, uint8_t *v) {
  const uint8_t *b;
  if (!dt__wire_get_bytes(r, 1, &b))
    return false;
  *v = b[0];
  return true;
}

/* The same, 2 bytes. */
static inline bool dt__wire_get_u16(dt__wire_reader *r, uint16_t *v) {
  const uint8_t *b;
  if (!dt__wire_get_bytes(r, 2, &b))
    return false;
  *v = (uint16_t)(b[0] | (unsigned)b[1] << 8);
  return true;
}

/* The same, 4 bytes. */
static inline bool dt__wire_get_u32(dt__wire_reader *r, uint32_t *v) {
  const uint8_t *b;
  if (!dt__wire_get_bytes(r, 4, &b))
    return false;
  *v = 0;
  for (int i = 0; i < 4; i++)
    *v |= (uint32_t)b[i] << (8 * i);
  return true;
}

/* The same, 8 bytes. */
static inline bool dt__wire_get_u64(dt__wire_reader *r, uint64_t *v) {
  const uint8_t *b;
  if (!dt__wire_get_bytes(r, 8, &b))
    return false;
  *v = 0;
  for (int i = 0; i < 8; i++)
    *v |= (uint64_t)b[i] << (8 * i);
  return true;
}

#endif /* DT_WIRE_IO_H */
