/* image.h: the identity of the program image and of the objects loaded
 * into it (queue/image.c).
 *
 * A call must run in the image that made it: the same executable, and the
 * same object defining the called function.  An identity is the object's
 * GNU build-id when it has one (every Debian binary does), else a hash of
 * the file's bytes.  Identities are compared as 64-bit digests; the text
 * form names them in messages and in queue names. */
#ifndef DT_IMAGE_H
#define DT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* One object's identity. */
typedef struct dt__objid {
  uint64_t digest;   /* what tasks carry and runners compare */
  char how;          /* 'b' build-id, 'h' content hash */
  char hex[41];      /* the build-id (up to 20 bytes) or the hash, in hex */
} dt__objid;

int dt__image_self(dt__objid *out, char *name, size_t namesz);
int dt__image_of_addr(const void *addr, dt__objid *out, char *path,
                      size_t pathsz);
int dt__image_of_file(const char *path, dt__objid *out);
int dt__image_queue_name(const dt__objid *id, const char *name, char *out,
                         size_t outsz);
int dt__image_queue_name_of(const char *path, char *out, size_t outsz);
int dt__image_queue_self(char *out, size_t outsz);

#endif /* DT_IMAGE_H */
