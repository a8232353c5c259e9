/* image.c: owns the identity of the program image and of its objects.
 *
 * The identity of an object is its GNU build-id, read from the PT_NOTE
 * segments that the loader mapped (no file is opened), or, for an object
 * built without one, a hash of the file's bytes.  The executable's
 * identity names the queue its calls go through, so that a call is only
 * ever served by a pool of the same image; the defining object's identity
 * travels with each call, so that a runner never answers with another
 * build of the function.
 *
 * The executable's identity is computed once per process and cached; the
 * functions here allocate nothing and may be called from any thread. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fnv.h"
#include "queue/image.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* The longest build-id kept (sha1's 20 bytes; longer ones are cut). */
#define BUILD_ID_MAX 20

/* Writes n bytes as lower-case hex into out (2n + 1 bytes). */
static void to_hex(const unsigned char *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Fills out from a build-id's bytes. */
static void from_build_id(const unsigned char *id, size_t n, dt__objid *out) {
  if (n > BUILD_ID_MAX)
    n = BUILD_ID_MAX;
  out->how = 'b';
  to_hex(id, n, out->hex);
  out->digest = dt__fnv(dt__fnv(DT__FNV_OFFSET, "b", 1), id, n);
}

/* Looks for an NT_GNU_BUILD_ID note in size bytes of notes at p, aligned
 * to align (4 or 8).  Returns the id's length and points *id at it, or 0. */
static size_t find_build_id(const unsigned char *p, size_t size, size_t align,
                            const unsigned char **id) {
  size_t off = 0;
  if (align != 8)
    align = 4;
  while (size - off >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) nh;
    memcpy(&nh, p + off, sizeof nh);
    size_t name = off + sizeof nh;
    size_t nsz = (nh.n_namesz + align - 1) & ~(align - 1);
    size_t desc = name + nsz;
    size_t dsz = (nh.n_descsz + align - 1) & ~(align - 1);
    if (nsz < nh.n_namesz || desc < name || desc > size ||
        nh.n_descsz > size - desc)
      return 0;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
        memcmp(p + name, "GNU", 4) == 0 && nh.n_descsz > 0) {
      *id = p + desc;
      return nh.n_descsz;
    }
    if (dsz > size - desc)
      return 0;
    off = desc + dsz;
  }
  return 0;
}

/* A hash of the file's bytes: two 64-bit lanes over 8-byte words, so that
 * a large executable without a build-id costs one pass at memory speed. */
static int hash_file(const char *path, dt__objid *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno ? errno : EINVAL;
    close(fd);
    return -e;
  }
  size_t n = (size_t)st.st_size;
  const unsigned char *m = NULL;
  if (n > 0) {
    void *v = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (v == MAP_FAILED) {
      int e = errno;
      close(fd);
      return -e;
    }
    m = v;
  }
  close(fd);
  uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0xc2b2ae3d27d4eb4full;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, m + i, 8);
    a = (a ^ w) * 0xff51afd7ed558ccdull;
    a ^= a >> 29;
    b = (b + w) * 0xc4ceb9fe1a85ec53ull;
    b ^= b >> 31;
  }
  for (; i < n; i++) {
    a = (a ^ m[i]) * DT__FNV_PRIME;
    b = (b + m[i]) * DT__FNV_PRIME;
  }
  if (m != NULL)
    munmap((void *)m, n);
  unsigned char bytes[16];
  memcpy(bytes, &a, 8);
  memcpy(bytes + 8, &b, 8);
  out->how = 'h';
  to_hex(bytes, sizeof bytes, out->hex);
  out->digest =
      dt__fnv(dt__fnv(DT__FNV_OFFSET, "h", 1), bytes, sizeof bytes);
  return 0;
}

/* What find_object looks for and what it found. */
typedef struct lookup {
  uintptr_t addr;      /* an address inside the object; 0: the executable */
  int found;
  const unsigned char *id;
  size_t idlen;
  char path[4096];
} lookup;

/* dl_iterate_phdr callback: stops at the object that maps l->addr (or at
 * the first object, the executable, when addr is 0) and reads its
 * build-id and path. */
static int visit(struct dl_phdr_info *info, size_t size, void *ctx) {
  lookup *l = ctx;
  (void)size;
  int mine = 0;
  if (l->addr == 0) {
    mine = 1; /* the first object is the executable */
  } else {
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
      const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
      uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
      if (ph->p_type == PT_LOAD && l->addr >= lo &&
          l->addr - lo < ph->p_memsz)
        mine = 1;
    }
  }
  if (!mine)
    return 0;
  l->found = 1;
  for (int i = 0; i < info->dlpi_phnum && l->idlen == 0; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_NOTE)
      l->idlen = find_build_id(
          (const unsigned char *)(info->dlpi_addr + ph->p_vaddr),
          ph->p_memsz, ph->p_align, &l->id);
  }
  const char *name = info->dlpi_name;
  if (l->addr == 0 || name == NULL || name[0] == '\0') {
    ssize_t k = readlink("/proc/self/exe", l->path, sizeof l->path - 1);
    l->path[k > 0 ? k : 0] = '\0';
  } else {
    snprintf(l->path, sizeof l->path, "%s", name);
  }
  return 1;
}

/* Fills out (and path) for the object mapping addr (0: the executable). */
static int identify(uintptr_t addr, dt__objid *out, char *path,
                    size_t pathsz) {
  lookup l;
  memset(&l, 0, sizeof l);
  l.addr = addr;
  dl_iterate_phdr(visit, &l);
  if (!l.found)
    return -ENOENT;
  if (path != NULL && pathsz > 0)
    snprintf(path, pathsz, "%s", l.path);
  if (l.idlen > 0) {
    from_build_id(l.id, l.idlen, out);
    return 0;
  }
  return hash_file(addr == 0 ? "/proc/self/exe" : l.path, out);
}

/* The executable's identity and its name (the base name of the file it
 * was started from, e.g. "python3.11", which a runner started from the
 * same file shares), into out and name (namesz bytes; may be NULL).
 * Computed once per process; later calls copy the cached result.
 * Returns 0, or a negative errno when /proc is not mounted and the
 * executable has no build-id. */
int dt__image_self(dt__objid *out, char *name, size_t namesz) {
  static dt__objid cached;
  static char cached_name[256];
  static int state; /* 0: not yet, 1: done, < 0: the error */
  int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  if (s == 0) {
    char path[4096];
    dt__objid id;
    int rc = identify(0, &id, path, sizeof path);
    if (rc == 0) {
      const char *base = strrchr(path, '/');
      base = base != NULL ? base + 1 : path;
      /* Two threads may race here; both compute the same answer. */
      cached = id;
      if (base[0] == '\0')
        base = "program";
      size_t k = strlen(base);
      if (k >= sizeof cached_name)
        k = sizeof cached_name - 1;
      memcpy(cached_name, base, k);
      cached_name[k] = '\0';
      s = 1;
    } else {
      s = rc;
    }
    __atomic_store_n(&state, s, __ATOMIC_RELEASE);
  }
  if (s < 0)
    return s;
  *out = cached;
  if (name != NULL && namesz > 0)
    snprintf(name, namesz, "%s", cached_name);
  return 0;
}

/* The identity of the loaded object that maps addr (a function's
 * address), and its path ("" never: the executable's is read from
 * /proc/self/exe) into path (pathsz bytes; may be NULL).  Returns 0,
 * -ENOENT when no loaded object maps addr, or a negative errno when the
 * object has no build-id and its file cannot be read. */
int dt__image_of_addr(const void *addr, dt__objid *out, char *path,
                      size_t pathsz) {
  if (addr == NULL)
    return -EINVAL;
  return identify((uintptr_t)addr, out, path, pathsz);
}

/* The identity of the ELF file at path, read from its program headers
 * (the same answer as dt__image_of_addr gives once it is loaded).
 * Returns 0, -ENOEXEC for a file that is not a 64-bit ELF object of this
 * machine, or a negative errno. */
int dt__image_of_file(const char *path, dt__objid *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
    close(fd);
    return -ENOEXEC;
  }
  size_t n = (size_t)st.st_size;
  void *v = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (v == MAP_FAILED)
    return -errno;
  const unsigned char *m = v;
  ElfW(Ehdr) eh;
  memcpy(&eh, m, sizeof eh);
  size_t idlen = 0;
  const unsigned char *id = NULL;
  int rc = 0;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phoff > n ||
      (size_t)eh.e_phnum * sizeof(ElfW(Phdr)) > n - eh.e_phoff) {
    rc = -ENOEXEC;
  } else {
    for (int i = 0; i < eh.e_phnum && idlen == 0; i++) {
      ElfW(Phdr) ph;
      memcpy(&ph, m + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
      if (ph.p_type == PT_NOTE && ph.p_offset <= n &&
          ph.p_filesz <= n - ph.p_offset)
        idlen = find_build_id(m + ph.p_offset, ph.p_filesz, ph.p_align, &id);
    }
    if (idlen > 0)
      from_build_id(id, idlen, out);
  }
  munmap(v, n);
  if (rc == 0 && idlen == 0)
    rc = hash_file(path, out);
  return rc;
}

/* Writes the queue name of an image, "NAME-DIGEST" (the digest's 16 hex
 * digits), into out (outsz bytes): the directory (LMDB) or key prefix
 * (another backend) that calls of this image go through.  Characters of
 * name other than letters, digits, '.', '_', '+' and '-' become '_', and
 * name is cut to 64 bytes.  Returns 0 or -ENAMETOOLONG. */
int dt__image_queue_name(const dt__objid *id, const char *name, char *out,
                         size_t outsz) {
  char clean[65];
  size_t k = 0;
  for (; name[k] != '\0' && k < sizeof clean - 1; k++) {
    char c = name[k];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
              c == '-';
    clean[k] = ok ? c : '_';
  }
  clean[k] = '\0';
  if (k == 0 || (k == 1 && clean[0] == '.') ||
      (k == 2 && clean[0] == '.' && clean[1] == '.'))
    clean[0] = '_', clean[1] = '\0';
  int n = snprintf(out, outsz, "%s-%016llx", clean,
                   (unsigned long long)id->digest);
  return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

/* The queue name of the program at path (a file, as `dtask-runner --
 * PROG` or a tool names it): the same name the program computes for
 * itself when it runs (symbolic links resolved).  Returns 0, or a
 * negative errno when the file cannot be found or read. */
int dt__image_queue_name_of(const char *path, char *out, size_t outsz) {
  char real[4096];
  dt__objid id;
  if (realpath(path, real) == NULL)
    return -errno;
  int rc = dt__image_of_file(real, &id);
  if (rc != 0)
    return rc;
  const char *base = strrchr(real, '/');
  return dt__image_queue_name(&id, base != NULL ? base + 1 : real, out,
                              outsz);
}

/* The queue name of this process's own image (dt__image_self), into out.
 * Returns 0, or a negative errno when the image cannot be identified
 * (no build-id and /proc/self/exe unreadable). */
int dt__image_queue_self(char *out, size_t outsz) {
  dt__objid id;
  char name[256];
  int rc = dt__image_self(&id, name, sizeof name);
  return rc != 0 ? rc : dt__image_queue_name(&id, name, out, outsz);
}
