/* elf_file.c: the on-disk ELF inspector behind `dtask check --binary`.
 *
 * This file owns reading a program or shared library from disk (never
 * running it): validating the file, walking its dynamic section, listing
 * its DT_NEEDED entries, finding the file the dynamic loader would load
 * for each of them, and answering two questions about a symbol: which
 * relocations of an object name it as an import (and of which kind), and
 * whether the object defines it (and in which version).  A person uses the
 * answers to learn, before running anything, which calls the GOT patcher
 * will be able to catch.
 *
 * The parser reads what the dynamic loader reads: the program headers,
 * PT_DYNAMIC, and the tables it points to, translating their virtual
 * addresses to file offsets through the PT_LOAD segments.  So it works on
 * stripped files; section headers are only used, when present, to learn
 * the exact size of the dynamic symbol table.  Every offset, size and
 * alignment is checked against the mapping, so that a truncated or garbage
 * file yields -ENOEXEC and a sentence instead of a crash. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "runner/elf.h"
#include "shim/got.h"

/* The machine this code runs on, its relocation types and its multiarch
 * library directory name.  Only files for this machine are accepted. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define HOST_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define HOST_R_GLOB_DAT R_X86_64_GLOB_DAT
#define HOST_R_ABS R_X86_64_64
#define HOST_MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define HOST_R_GLOB_DAT R_AARCH64_GLOB_DAT
#define HOST_R_ABS R_AARCH64_ABS64
#define HOST_MULTIARCH "aarch64-linux-gnu"
#else
#error "dtask's ELF inspector supports x86_64 and aarch64 only"
#endif

#if __ELF_NATIVE_CLASS == 64
#define HOST_CLASS ELFCLASS64
#define R_SYM(i) ELF64_R_SYM(i)
#define R_TYPE(i) ELF64_R_TYPE(i)
#define ST_TYPE(i) ELF64_ST_TYPE(i)
#define ST_BIND(i) ELF64_ST_BIND(i)
#define ST_VIS(o) ELF64_ST_VISIBILITY(o)
#else
#error "dtask's ELF inspector expects a 64-bit host"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* How deep `include` lines of /etc/ld.so.conf may nest (guards loops). */
#define CONF_MAX_DEPTH 8

/* One table of dynamic relocations (DT_RELA, DT_REL or DT_JMPREL).  REL
 * and RELA entries share their first two fields, which is all we read. */
typedef struct reltab {
  const unsigned char *base;
  size_t count;
  size_t entsz;
} reltab;

struct dt__elf {
  char *path;                 /* malloc'd copy of the path opened */
  const unsigned char *map;   /* read-only mapping of the whole file */
  size_t size;                /* file size, the bound of every access */
  const ElfW(Ehdr) *eh;
  const ElfW(Phdr) *ph;
  size_t phnum;
  bool has_interp;
  const char *strtab;         /* DT_STRTAB, strsz bytes */
  size_t strsz;
  const ElfW(Sym) *syms;      /* DT_SYMTAB, nsyms entries */
  size_t nsyms;
  const ElfW(Versym) *versym; /* DT_VERSYM, nsyms entries, or NULL */
  ElfW(Addr) verdef;          /* DT_VERDEF as a virtual address, or 0 */
  size_t verdefnum;
  reltab rel[3];
  const char **needed;        /* malloc'd; the strings live in the map */
  size_t nneeded;
  const char *rpath;          /* DT_RPATH or NULL */
  const char *runpath;        /* DT_RUNPATH or NULL */
  bool nodeflib;              /* DF_1_NODEFLIB: skip the default dirs */
};

/* Writes a sentence into err and returns rc. */
static int fail(char *err, size_t errsz, int rc, const char *fmt, ...)
    DT__PRINTF(4, 5);
static int fail(char *err, size_t errsz, int rc, const char *fmt, ...) {
  if (err != NULL && errsz > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* Returns a pointer to size bytes at file offset off, or NULL unless they
 * lie inside the file and off is a multiple of align.  The mapping starts
 * on a page boundary, so off's alignment is the pointer's. */
static const void *file_at(const dt__elf *e, uint64_t off, uint64_t size,
                           size_t align) {
  if (off > e->size || size > e->size - off || off % align != 0)
    return NULL;
  return e->map + off;
}

/* Translates the virtual address va to a pointer into the file through the
 * PT_LOAD segment that holds it in its file part.  Returns NULL unless need
 * bytes are available there and va is aligned; *avail (if not NULL) gets
 * how many bytes the segment holds from va on. */
static const void *vaddr_at(const dt__elf *e, ElfW(Addr) va, uint64_t need,
                            size_t align, uint64_t *avail) {
  for (size_t i = 0; i < e->phnum; i++) {
    const ElfW(Phdr) *p = &e->ph[i];
    if (p->p_type != PT_LOAD || va < p->p_vaddr ||
        va - p->p_vaddr >= p->p_filesz)
      continue;
    uint64_t delta = va - p->p_vaddr;
    uint64_t left = p->p_filesz - delta;
    if (need > left)
      return NULL;
    if (avail != NULL)
      *avail = left;
    /* PT_LOAD bounds were checked at open, so this cannot fail on size. */
    return file_at(e, p->p_offset + delta, need, align);
  }
  return NULL;
}

/* Returns the NUL-terminated string at offset off of the dynamic string
 * table, or NULL if it does not lie (with its NUL) inside the table. */
static const char *str_at(const dt__elf *e, uint64_t off) {
  if (e->strtab == NULL || off >= e->strsz)
    return NULL;
  if (memchr(e->strtab + off, '\0', e->strsz - off) == NULL)
    return NULL;
  return e->strtab + off;
}

/* Walks the version definitions.  With ndx != 0, stops at the definition
 * whose index is ndx and points *name at its name.  Returns 1 when found,
 * 0 when not, -ENOEXEC when the chain leaves the file. */
static int verdef_walk(const dt__elf *e, unsigned ndx, const char **name) {
  ElfW(Addr) va = e->verdef;
  for (size_t i = 0; va != 0 && i < e->verdefnum; i++) {
    const ElfW(Verdef) *vd =
        vaddr_at(e, va, sizeof *vd, _Alignof(ElfW(Verdef)), NULL);
    if (vd == NULL)
      return -ENOEXEC;
    const ElfW(Verdaux) *aux = vaddr_at(e, va + vd->vd_aux, sizeof *aux,
                                        _Alignof(ElfW(Verdaux)), NULL);
    if (aux == NULL || str_at(e, aux->vda_name) == NULL)
      return -ENOEXEC;
    if (ndx != 0 && (vd->vd_ndx & 0x7fff) == ndx) {
      *name = str_at(e, aux->vda_name);
      return 1;
    }
    if (vd->vd_next == 0)
      break;
    va += vd->vd_next;
  }
  return 0;
}

/* Counts the dynamic symbols: from the SHT_DYNSYM section header when the
 * file has one for symtab_va, else from DT_HASH (nchain), else by walking
 * DT_GNU_HASH to the end of its last chain.  Returns the count, 0 if no
 * source is available, or -ENOEXEC. */
static long long count_syms(const dt__elf *e, ElfW(Addr) symtab_va,
                            ElfW(Addr) hash_va, ElfW(Addr) gnu_va) {
  const ElfW(Ehdr) *eh = e->eh;
  if (eh->e_shoff != 0 && eh->e_shentsize == sizeof(ElfW(Shdr))) {
    const ElfW(Shdr) *sh = file_at(e, eh->e_shoff, sizeof *sh,
                                   _Alignof(ElfW(Shdr)));
    size_t shnum = eh->e_shnum;
    if (sh != NULL && shnum == 0)
      shnum = sh[0].sh_size; /* more than SHN_LORESERVE sections */
    if (sh != NULL && shnum <= e->size / sizeof *sh &&
        file_at(e, eh->e_shoff, shnum * sizeof *sh, 1) != NULL) {
      for (size_t i = 0; i < shnum; i++)
        if (sh[i].sh_type == SHT_DYNSYM && sh[i].sh_addr == symtab_va &&
            sh[i].sh_entsize == sizeof(ElfW(Sym)))
          return (long long)(sh[i].sh_size / sizeof(ElfW(Sym)));
    }
  }
  if (hash_va != 0) {
    const uint32_t *h = vaddr_at(e, hash_va, 8, 4, NULL);
    return h == NULL ? -ENOEXEC : (long long)h[1];
  }
  if (gnu_va != 0) {
    const uint32_t *h = vaddr_at(e, gnu_va, 16, 4, NULL);
    if (h == NULL)
      return -ENOEXEC;
    uint32_t nbuckets = h[0], symoffset = h[1], bloomsz = h[2];
    ElfW(Addr) buckets_va =
        gnu_va + 16 + (ElfW(Addr))bloomsz * sizeof(ElfW(Addr));
    const uint32_t *b =
        vaddr_at(e, buckets_va, (uint64_t)nbuckets * 4, 4, NULL);
    if (b == NULL)
      return -ENOEXEC;
    uint32_t last = 0;
    for (uint32_t i = 0; i < nbuckets; i++)
      if (b[i] > last)
        last = b[i];
    if (last < symoffset)
      return symoffset;
    ElfW(Addr) chain_va = buckets_va + (ElfW(Addr))nbuckets * 4;
    for (;; last++) {
      const uint32_t *c =
          vaddr_at(e, chain_va + (ElfW(Addr))(last - symoffset) * 4, 4, 4,
                   NULL);
      if (c == NULL || last == UINT32_MAX)
        return -ENOEXEC;
      if (*c & 1)
        return (long long)last + 1;
    }
  }
  return 0;
}

/* Checks the ELF header and the program headers. */
static int parse_headers(dt__elf *e, char *err, size_t errsz) {
  const char *p = e->path;
  const unsigned char *id = e->map;
  if (e->size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0)
    return fail(err, errsz, -ENOEXEC,
                "%s is not an ELF file: it does not start with the ELF "
                "magic number.", p);
  if (e->size < sizeof(ElfW(Ehdr)))
    return fail(err, errsz, -ENOEXEC,
                "%s is truncated: it is shorter than an ELF header.", p);
  if (id[EI_CLASS] != HOST_CLASS || id[EI_DATA] != HOST_DATA)
    return fail(err, errsz, -ENOEXEC,
                "%s is an ELF file for another word size or byte order "
                "than this machine's.", p);
  e->eh = (const ElfW(Ehdr) *)e->map;
  if (id[EI_VERSION] != EV_CURRENT || e->eh->e_version != EV_CURRENT)
    return fail(err, errsz, -ENOEXEC,
                "%s has an unknown ELF version.", p);
  if (e->eh->e_machine != HOST_MACHINE)
    return fail(err, errsz, -ENOEXEC,
                "%s is built for another machine (e_machine %u, expected "
                "%u).", p, (unsigned)e->eh->e_machine, (unsigned)HOST_MACHINE);
  if (e->eh->e_type != ET_EXEC && e->eh->e_type != ET_DYN)
    return fail(err, errsz, -ENOEXEC,
                "%s is neither a program nor a shared library (an object "
                "file or a core dump?).", p);
  if (e->eh->e_phentsize != sizeof(ElfW(Phdr)) || e->eh->e_phnum == 0 ||
      e->eh->e_phnum == PN_XNUM)
    return fail(err, errsz, -ENOEXEC,
                "%s has no usable program header table.", p);
  e->phnum = e->eh->e_phnum;
  e->ph = file_at(e, e->eh->e_phoff, e->phnum * sizeof(ElfW(Phdr)),
                  _Alignof(ElfW(Phdr)));
  if (e->ph == NULL)
    return fail(err, errsz, -ENOEXEC,
                "%s is truncated or corrupt: its program header table lies "
                "outside the file.", p);
  for (size_t i = 0; i < e->phnum; i++) {
    const ElfW(Phdr) *ph = &e->ph[i];
    if ((ph->p_type == PT_LOAD || ph->p_type == PT_DYNAMIC ||
         ph->p_type == PT_INTERP) &&
        file_at(e, ph->p_offset, ph->p_filesz, 1) == NULL)
      return fail(err, errsz, -ENOEXEC,
                  "%s is truncated: its segment %zu extends past the end of "
                  "the file.", p, i);
    if (ph->p_type == PT_INTERP)
      e->has_interp = true;
  }
  /* The loader ignores section headers, but a section header table that
   * runs past the end is the surest sign of a truncated file. */
  if (e->eh->e_shoff != 0 &&
      (e->eh->e_shoff > e->size ||
       (uint64_t)e->eh->e_shnum * e->eh->e_shentsize >
           e->size - e->eh->e_shoff))
    return fail(err, errsz, -ENOEXEC,
                "%s is truncated: its section header table extends past the "
                "end of the file.", p);
  return 0;
}

/* Sets up one relocation table from its address, size and entry size. */
static int set_reltab(dt__elf *e, reltab *t, ElfW(Addr) va, uint64_t sz,
                      uint64_t entsz, size_t minent) {
  if (va == 0 || sz == 0)
    return 0;
  if (entsz < minent || entsz % _Alignof(ElfW(Rel)) != 0)
    return -ENOEXEC;
  t->base = vaddr_at(e, va, sz, _Alignof(ElfW(Rel)), NULL);
  if (t->base == NULL)
    return -ENOEXEC;
  t->count = sz / entsz;
  t->entsz = entsz;
  return 0;
}

/* Reads PT_DYNAMIC and sets up every table the queries use. */
static int parse_dynamic(dt__elf *e, char *err, size_t errsz) {
  const ElfW(Phdr) *dynph = NULL;
  for (size_t i = 0; i < e->phnum; i++)
    if (e->ph[i].p_type == PT_DYNAMIC)
      dynph = &e->ph[i];
  if (dynph == NULL)
    return 0; /* statically linked: nothing to import or export */
  const ElfW(Dyn) *dyn = file_at(e, dynph->p_offset, dynph->p_filesz,
                                 _Alignof(ElfW(Dyn)));
  const char *p = e->path;
  if (dyn == NULL)
    return fail(err, errsz, -ENOEXEC,
                "%s is corrupt: its dynamic section is misaligned.", p);
  size_t ndyn = dynph->p_filesz / sizeof *dyn;
  ElfW(Addr) strtab = 0, symtab = 0, hash = 0, gnuhash = 0, versym = 0;
  ElfW(Addr) rela = 0, relv = 0, jmprel = 0;
  uint64_t strsz = 0, relasz = 0, relsz = 0, pltrelsz = 0;
  uint64_t relaent = sizeof(ElfW(Rela)), relent = sizeof(ElfW(Rel));
  uint64_t syment = sizeof(ElfW(Sym)), pltrel = DT_RELA;
  uint64_t rpath = UINT64_MAX, runpath = UINT64_MAX;
  for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
    uint64_t v = dyn[i].d_un.d_val;
    switch (dyn[i].d_tag) {
    case DT_NEEDED: e->nneeded++; break;
    case DT_STRTAB: strtab = v; break;
    case DT_STRSZ: strsz = v; break;
    case DT_SYMTAB: symtab = v; break;
    case DT_SYMENT: syment = v; break;
    case DT_HASH: hash = v; break;
    case DT_GNU_HASH: gnuhash = v; break;
    case DT_RELA: rela = v; break;
    case DT_RELASZ: relasz = v; break;
    case DT_RELAENT: relaent = v; break;
    case DT_REL: relv = v; break;
    case DT_RELSZ: relsz = v; break;
    case DT_RELENT: relent = v; break;
    case DT_JMPREL: jmprel = v; break;
    case DT_PLTRELSZ: pltrelsz = v; break;
    case DT_PLTREL: pltrel = v; break;
    case DT_VERSYM: versym = v; break;
    case DT_VERDEF: e->verdef = v; break;
    case DT_VERDEFNUM: e->verdefnum = v; break;
    case DT_RPATH: rpath = v; break;
    case DT_RUNPATH: runpath = v; break;
    case DT_FLAGS_1: e->nodeflib = (v & DF_1_NODEFLIB) != 0; break;
    default: break;
    }
  }
  if (strtab != 0) {
    e->strtab = vaddr_at(e, strtab, strsz, 1, NULL);
    e->strsz = strsz;
    if (e->strtab == NULL)
      return fail(err, errsz, -ENOEXEC,
                  "%s is truncated or corrupt: its dynamic string table lies "
                  "outside the file.", p);
  }
  if (e->nneeded > 0) {
    e->needed = calloc(e->nneeded, sizeof *e->needed);
    if (e->needed == NULL)
      return -ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++)
    if (dyn[i].d_tag == DT_NEEDED &&
        (e->needed[k++] = str_at(e, dyn[i].d_un.d_val)) == NULL)
      return fail(err, errsz, -ENOEXEC,
                  "%s is corrupt: a DT_NEEDED entry does not name a string.",
                  p);
  if ((rpath != UINT64_MAX && (e->rpath = str_at(e, rpath)) == NULL) ||
      (runpath != UINT64_MAX && (e->runpath = str_at(e, runpath)) == NULL))
    return fail(err, errsz, -ENOEXEC,
                "%s is corrupt: its DT_RPATH or DT_RUNPATH is not a string.",
                p);

  /* Like glibc, do not count PLT relocations twice when DT_RELASZ (or
   * DT_RELSZ) also covers the DT_JMPREL table placed at its end. */
  if (jmprel != 0 && pltrel == DT_RELA && rela != 0 && relasz >= pltrelsz &&
      rela + relasz == jmprel + pltrelsz && jmprel >= rela)
    relasz -= pltrelsz;
  if (jmprel != 0 && pltrel == DT_REL && relv != 0 && relsz >= pltrelsz &&
      relv + relsz == jmprel + pltrelsz && jmprel >= relv)
    relsz -= pltrelsz;
  if ((jmprel != 0 && pltrel != DT_RELA && pltrel != DT_REL) ||
      set_reltab(e, &e->rel[0], rela, relasz, relaent,
                 sizeof(ElfW(Rela))) < 0 ||
      set_reltab(e, &e->rel[1], relv, relsz, relent, sizeof(ElfW(Rel))) < 0 ||
      set_reltab(e, &e->rel[2], jmprel, pltrelsz,
                 pltrel == DT_RELA ? relaent : relent,
                 pltrel == DT_RELA ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel))) <
          0)
    return fail(err, errsz, -ENOEXEC,
                "%s is truncated or corrupt: a relocation table lies outside "
                "the file or has a bad entry size.", p);

  /* The symbol table: its size, then every relocation's index in it. */
  if (symtab != 0) {
    long long n = count_syms(e, symtab, hash, gnuhash);
    if (syment != sizeof(ElfW(Sym)) || n < 0 ||
        (unsigned long long)n > e->size / sizeof(ElfW(Sym)))
      return fail(err, errsz, -ENOEXEC,
                  "%s is corrupt: the size of its dynamic symbol table "
                  "cannot be determined.", p);
    size_t maxsym = 0;
    for (size_t t = 0; t < 3; t++)
      for (size_t i = 0; i < e->rel[t].count; i++) {
        const ElfW(Rel) *r =
            (const void *)(e->rel[t].base + i * e->rel[t].entsz);
        if (R_SYM(r->r_info) >= maxsym)
          maxsym = R_SYM(r->r_info) + 1;
      }
    if (n == 0) /* no hash table nor section header: trust the relocs */
      n = (long long)maxsym;
    e->nsyms = (size_t)n;
    e->syms = vaddr_at(e, symtab, e->nsyms * sizeof(ElfW(Sym)),
                       _Alignof(ElfW(Sym)), NULL);
    if (e->syms == NULL || maxsym > e->nsyms)
      return fail(err, errsz, -ENOEXEC,
                  "%s is truncated or corrupt: its dynamic symbol table lies "
                  "outside the file or is smaller than its relocations "
                  "need.", p);
  }
  /* Without a symbol table nsyms stays 0 and the queries skip every
   * relocation (such relocations can only be relative ones). */
  if (versym != 0 && e->nsyms > 0) {
    e->versym = vaddr_at(e, versym, e->nsyms * sizeof(ElfW(Versym)),
                         _Alignof(ElfW(Versym)), NULL);
    if (e->versym == NULL)
      return fail(err, errsz, -ENOEXEC,
                  "%s is truncated or corrupt: its symbol version table lies "
                  "outside the file.", p);
  }
  if (verdef_walk(e, 0, NULL) < 0)
    return fail(err, errsz, -ENOEXEC,
                "%s is truncated or corrupt: its version definitions lie "
                "outside the file.", p);
  return 0;
}

/* On success *out is a new handle the caller owns and frees with
 * dt__elf_close; it keeps the file mapped (not open) until then.  On
 * failure nothing is kept and err holds a sentence. */
int dt__elf_open(const char *path, dt__elf **out, char *err, size_t errsz) {
  struct stat st;
  int rc;
  if (out == NULL || path == NULL)
    return -EINVAL;
  *out = NULL;
  if (err != NULL && errsz > 0)
    err[0] = '\0';
  /* O_NONBLOCK: a FIFO given as the program must not hang dtask check
   * (it is refused below as not a regular file). */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    rc = -errno;
    return fail(err, errsz, rc, "cannot open %s: %s.", path, strerror(-rc));
  }
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    close(fd);
    return fail(err, errsz, rc, "cannot stat %s: %s.", path, strerror(-rc));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fail(err, errsz, S_ISDIR(st.st_mode) ? -EISDIR : -ENOEXEC,
                "%s is not a regular file.", path);
  }
  if (st.st_size < EI_NIDENT) {
    close(fd);
    return fail(err, errsz, -ENOEXEC,
                "%s is not an ELF file: it is only %lld bytes long.", path,
                (long long)st.st_size);
  }
  dt__elf *e = calloc(1, sizeof *e);
  if (e == NULL || (e->path = strdup(path)) == NULL) {
    free(e);
    close(fd);
    return fail(err, errsz, -ENOMEM, "out of memory opening %s.", path);
  }
  e->size = (size_t)st.st_size;
  void *m = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
  rc = -errno;
  close(fd);
  if (m == MAP_FAILED) {
    free(e->path);
    free(e);
    return fail(err, errsz, rc, "cannot map %s: %s.", path, strerror(-rc));
  }
  e->map = m;
  rc = parse_headers(e, err, errsz);
  if (rc == 0)
    rc = parse_dynamic(e, err, errsz);
  if (rc < 0) {
    if (rc == -ENOMEM)
      fail(err, errsz, rc, "out of memory reading %s.", path);
    dt__elf_close(e);
    return rc;
  }
  *out = e;
  return 0;
}

/* Unmaps the file and frees e and every string it handed out.  NULL is
 * accepted. */
void dt__elf_close(dt__elf *e) {
  if (e == NULL)
    return;
  if (e->map != NULL)
    munmap((void *)e->map, e->size);
  free(e->needed);
  free(e->path);
  free(e);
}

/* The path e was opened with, owned by e. */
const char *dt__elf_path(const dt__elf *e) { return e->path; }

/* 1 for a program (ET_EXEC, or ET_DYN with an interpreter: a PIE), else 0.
 * Note that libc.so.6 has an interpreter too, so it counts as a program. */
int dt__elf_is_executable(const dt__elf *e) {
  return e->eh->e_type == ET_EXEC ||
         (e->eh->e_type == ET_DYN && e->has_interp);
}

/* The number of DT_NEEDED entries of e. */
size_t dt__elf_needed_count(const dt__elf *e) { return e->nneeded; }

/* The i-th DT_NEEDED entry (a string owned by e, valid until
 * dt__elf_close), or NULL when i is out of range. */
const char *dt__elf_needed(const dt__elf *e, size_t i) {
  return i < e->nneeded ? e->needed[i] : NULL;
}

/* 1 if path is a regular ELF file for this class and machine, like the
 * loader checks its candidates (it skips the others and keeps looking). */
static bool probe(const char *path) {
  ElfW(Ehdr) eh;
  struct stat st;
  /* O_NONBLOCK: a FIFO among the candidates must not hang the probe. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return false;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
            memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
            eh.e_ident[EI_CLASS] == HOST_CLASS &&
            eh.e_ident[EI_DATA] == HOST_DATA &&
            eh.e_machine == HOST_MACHINE && eh.e_type == ET_DYN;
  close(fd);
  return ok;
}

/* Tries dir/soname (dir has dirlen bytes; empty means the current
 * directory, as in LD_LIBRARY_PATH).  Returns 0 and fills out when the
 * candidate is usable, -ENOENT when it is not, -ENAMETOOLONG when out is
 * too small for it. */
static int try_dir(const char *dir, size_t dirlen, const char *soname,
                   char *out, size_t outsz) {
  char path[PATH_MAX];
  if (dirlen == 0) {
    dir = ".";
    dirlen = 1;
  }
  int n = snprintf(path, sizeof path, "%.*s/%s", (int)dirlen, dir, soname);
  if (n < 0 || (size_t)n >= sizeof path || !probe(path))
    return -ENOENT;
  if ((size_t)n >= outsz)
    return -ENAMETOOLONG;
  memcpy(out, path, (size_t)n + 1);
  return 0;
}

/* Writes into buf the directory $ORIGIN stands for in e's search paths:
 * the directory of the program's real path (the loader reads it from
 * /proc/self/exe, so symlinks are resolved) or of the library's path. */
static void origin_of(const dt__elf *e, char *buf, size_t bufsz) {
  char real[PATH_MAX];
  const char *p = e->path;
  if (dt__elf_is_executable(e) && realpath(e->path, real) != NULL)
    p = real;
  const char *slash = strrchr(p, '/');
  if (slash == NULL)
    snprintf(buf, bufsz, ".");
  else if (slash == p)
    snprintf(buf, bufsz, "/");
  else
    snprintf(buf, bufsz, "%.*s", (int)(slash - p), p);
}

/* Tries every element of list (separated by any of seps), expanding
 * $ORIGIN and ${ORIGIN} to origin when origin is not NULL.  Other dynamic
 * string tokens ($LIB, $PLATFORM) are left as written. */
static int try_list(const char *list, const char *seps, const char *origin,
                    const char *soname, char *out, size_t outsz) {
  while (list != NULL && *list != '\0') {
    size_t len = strcspn(list, seps);
    char dir[PATH_MAX];
    size_t n = 0;
    bool fits = true;
    for (size_t i = 0; i < len && fits;) {
      const char *s = list + i;
      size_t tok = 0;
      if (origin != NULL && len - i >= 9 && strncmp(s, "${ORIGIN}", 9) == 0)
        tok = 9;
      else if (origin != NULL && len - i >= 7 &&
               strncmp(s, "$ORIGIN", 7) == 0 &&
               (len - i == 7 || !(s[7] == '_' || (s[7] >= '0' && s[7] <= '9') ||
                                  (s[7] >= 'A' && s[7] <= 'Z') ||
                                  (s[7] >= 'a' && s[7] <= 'z'))))
        tok = 7;
      const char *add = tok ? origin : s;
      size_t addlen = tok ? strlen(origin) : 1;
      fits = n + addlen < sizeof dir;
      if (fits) {
        memcpy(dir + n, add, addlen);
        n += addlen;
      }
      i += tok ? tok : 1;
    }
    if (fits) {
      int rc = try_dir(dir, n, soname, out, outsz);
      if (rc != -ENOENT)
        return rc;
    }
    list += len;
    if (*list != '\0')
      list++;
  }
  return -ENOENT;
}

/* Tries the directories listed in the ld.so.conf-format file conf,
 * following `include` lines (globs, relative to conf's directory). */
static int try_conf(const char *conf, int depth, const char *soname,
                    char *out, size_t outsz) {
  if (depth > CONF_MAX_DEPTH)
    return -ENOENT;
  FILE *f = fopen(conf, "re");
  if (f == NULL)
    return -ENOENT;
  char *line = NULL;
  size_t cap = 0;
  int rc = -ENOENT;
  while (rc == -ENOENT && getline(&line, &cap, f) >= 0) {
    line[strcspn(line, "#\r\n")] = '\0';
    char *s = line + strspn(line, " \t");
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
      s[--len] = '\0';
    if (len == 0 || (strncmp(s, "hwcap", 5) == 0 && (s[5] == ' ' ||
                                                     s[5] == '\t')))
      continue;
    if (strncmp(s, "include", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
      char pat[PATH_MAX];
      const char *arg = s + 7 + strspn(s + 7, " \t");
      const char *slash = strrchr(conf, '/');
      if (arg[0] == '/' || slash == NULL)
        snprintf(pat, sizeof pat, "%s", arg);
      else
        snprintf(pat, sizeof pat, "%.*s/%s", (int)(slash - conf), conf, arg);
      glob_t g;
      if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && rc == -ENOENT; i++)
          rc = try_conf(g.gl_pathv[i], depth + 1, soname, out, outsz);
      }
      globfree(&g);
      continue;
    }
    /* Legacy "dir=type" lines: the type is ignored, as ldconfig does. */
    s[strcspn(s, "=")] = '\0';
    len = strlen(s);
    while (len > 1 && s[len - 1] == '/')
      s[--len] = '\0';
    rc = try_dir(s, len, soname, out, outsz);
  }
  free(line);
  fclose(f);
  return rc;
}

/* Writes into out (outsz bytes) the path the loader would load for soname
 * when `from` needs it.  Returns 0, -ENOENT when no usable file is found,
 * or -ENAMETOOLONG when out is too small.
 *
 * Simplifications against ld.so: /etc/ld.so.cache is not read (the
 * directories of /etc/ld.so.conf are searched instead, which finds the
 * same files unless the cache is stale); only `from`'s own DT_RPATH is
 * used, while ld.so also uses those of the objects that loaded it, up to
 * the program; $ORIGIN is not expanded in LD_LIBRARY_PATH; hwcap
 * subdirectories are not searched.  ld.so also reuses an object already
 * loaded under the same soname before searching (which is how, say,
 * systemd's private libraries find each other), so a caller walking the
 * DT_NEEDED closure should first match the sonames it has already found. */
int dt__elf_find_needed(const dt__elf *from, const char *soname, char *out,
                        size_t outsz) {
  static const char *const defaults[] = {
      "/lib/" HOST_MULTIARCH, "/usr/lib/" HOST_MULTIARCH,
      "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
  char origin[PATH_MAX];
  int rc = -ENOENT;

  if (soname == NULL || soname[0] == '\0' || out == NULL || outsz == 0)
    return -EINVAL;
  if (strchr(soname, '/') != NULL) {
    if (!probe(soname))
      return -ENOENT;
    if (strlen(soname) >= outsz)
      return -ENAMETOOLONG;
    memcpy(out, soname, strlen(soname) + 1);
    return 0;
  }
  origin_of(from, origin, sizeof origin);
  if (from->runpath == NULL && from->rpath != NULL)
    rc = try_list(from->rpath, ":", origin, soname, out, outsz);
  if (rc == -ENOENT)
    rc = try_list(getenv("LD_LIBRARY_PATH"), ":;", NULL, soname, out, outsz);
  if (rc == -ENOENT && from->runpath != NULL)
    rc = try_list(from->runpath, ":", origin, soname, out, outsz);
  if (rc == -ENOENT && !from->nodeflib)
    rc = try_conf("/etc/ld.so.conf", 0, soname, out, outsz);
  for (size_t i = 0; rc == -ENOENT && !from->nodeflib &&
                     i < sizeof defaults / sizeof defaults[0];
       i++)
    rc = try_dir(defaults[i], strlen(defaults[i]), soname, out, outsz);
  return rc;
}

/* Maps a relocation type to the kind dtask reports. */
static dt__relkind relkind_of(unsigned type) {
  switch (type) {
  case HOST_R_JUMP_SLOT:
    return DT__REL_JUMP_SLOT;
  case HOST_R_GLOB_DAT:
    return DT__REL_GLOB_DAT;
  case HOST_R_ABS:
    return DT__REL_ABS;
  default:
    return DT__REL_OTHER;
  }
}

/* Calls fn for every dynamic relocation of e whose symbol index is in the
 * symbol table (and not 0). */
typedef void (*reloc_fn)(void *ctx, size_t symidx, unsigned type);
static void each_reloc(const dt__elf *e, reloc_fn fn, void *ctx) {
  for (size_t t = 0; t < 3; t++)
    for (size_t i = 0; i < e->rel[t].count; i++) {
      const ElfW(Rel) *r =
          (const void *)(e->rel[t].base + i * e->rel[t].entsz);
      size_t idx = R_SYM(r->r_info);
      if (idx != 0 && idx < e->nsyms)
        fn(ctx, idx, (unsigned)R_TYPE(r->r_info));
    }
}

/* The state shared by the relocation visitors below. */
typedef struct match_ctx {
  const dt__elf *e;
  const char *sym;
  bool want_defined;
  int versym;   /* the defined symbol's version index, or -1 for any */
  int *counts;  /* per kind, may be NULL */
  int total;
} match_ctx;

/* Counts a relocation whose symbol entry is named m->sym and is undefined
 * (an import) or defined (a self reference) as m->want_defined says. */
static void match_reloc(void *ctx, size_t idx, unsigned type) {
  match_ctx *m = ctx;
  const ElfW(Sym) *s = &m->e->syms[idx];
  const char *name = str_at(m->e, s->st_name);
  if ((s->st_shndx != SHN_UNDEF) != m->want_defined || name == NULL ||
      strcmp(name, m->sym) != 0)
    return;
  if (m->versym >= 0 && m->e->versym != NULL &&
      (m->e->versym[idx] & 0x7fff) != m->versym)
    return;
  if (m->counts != NULL)
    m->counts[relkind_of(type)]++;
  m->total++;
}

/* Counts imports of sym in e per kind into counts (DT__REL_OTHER + 1
 * entries, zeroed first; may be NULL) and returns the total. */
int dt__elf_imports(const dt__elf *e, const char *sym, int *counts) {
  match_ctx m = {e, sym, false, -1, counts, 0};
  if (counts != NULL)
    memset(counts, 0, (DT__REL_OTHER + 1) * sizeof *counts);
  if (sym == NULL)
    return -EINVAL;
  each_reloc(e, match_reloc, &m);
  return m.total;
}

/* Gives the version of dynamic symbol idx: its name ("" when unversioned
 * or for the base version) and whether it is the default one (@@). */
static const char *version_of(const dt__elf *e, size_t idx, bool *is_def) {
  *is_def = true;
  if (e->versym == NULL)
    return "";
  unsigned v = e->versym[idx];
  const char *name = NULL;
  *is_def = (v & 0x8000) == 0;
  if ((v & 0x7fff) <= VER_NDX_GLOBAL ||
      verdef_walk(e, v & 0x7fff, &name) != 1)
    return "";
  return name;
}

/* Looks for a defined, exported function named sym (preferring its
 * default version unless want_version names one).  ver (versz bytes),
 * is_default and self_refs may be NULL; what they receive is a copy.
 * Returns 1 when found, 0 when not, -EINVAL without sym. */
int dt__elf_defines(const dt__elf *e, const char *sym, const char *want_version,
                    char *ver, size_t versz, int *is_default, int *self_refs) {
  size_t best = 0;
  bool best_def = false;
  const char *best_ver = "";
  if (ver != NULL && versz > 0)
    ver[0] = '\0';
  if (is_default != NULL)
    *is_default = 0;
  if (self_refs != NULL)
    *self_refs = 0;
  if (sym == NULL)
    return -EINVAL;
  for (size_t i = 1; i < e->nsyms; i++) {
    const ElfW(Sym) *s = &e->syms[i];
    unsigned type = ST_TYPE(s->st_info), bind = ST_BIND(s->st_info);
    unsigned vis = ST_VIS(s->st_other);
    const char *name = str_at(e, s->st_name);
    if (s->st_shndx == SHN_UNDEF ||
        (type != STT_FUNC && type != STT_GNU_IFUNC) ||
        (bind != STB_GLOBAL && bind != STB_WEAK) ||
        vis == STV_HIDDEN || vis == STV_INTERNAL || name == NULL ||
        strcmp(name, sym) != 0)
      continue;
    bool def;
    const char *v = version_of(e, i, &def);
    if (want_version != NULL && strcmp(v, want_version) != 0)
      continue;
    if (best == 0 || (def && !best_def)) {
      best = i;
      best_def = def;
      best_ver = v;
    }
  }
  if (best == 0)
    return 0;
  if (ver != NULL && versz > 0)
    snprintf(ver, versz, "%s", best_ver);
  if (is_default != NULL)
    *is_default = best_def;
  if (self_refs != NULL) {
    match_ctx m = {e, sym, true,
                   e->versym != NULL ? (int)(e->versym[best] & 0x7fff) : -1,
                   NULL, 0};
    each_reloc(e, match_reloc, &m);
    *self_refs = m.total;
  }
  return 1;
}
