/* got.c: redirects calls in the loaded objects of this process by writing
 * stub addresses into their GOT slots and data words (dt__got_patch).
 *
 * This file owns the in-memory side of interposition: reading each loaded
 * object's dynamic section, finding the relocations that name a hooked
 * symbol, deciding whether the slot they fill may be redirected, and making
 * the write safely (RELRO pages are made writable for the one store and
 * read-only again after).  It also owns the one piece of global state the
 * patcher keeps, the record of objects already processed, so that the
 * dlopen interposer can call dt__got_patch after every load and only new
 * objects are visited.  The on-disk view of the same relocations lives in
 * the ELF reader; this file never opens a file.
 *
 * Only libc basics are called here (dl_iterate_phdr, mprotect, strcmp,
 * sysconf, getauxval): the shim's own GOT is never patched, so none of
 * these calls can reach a stub and recurse. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fnv.h"
#include "shim/got.h"

/* The relocation types that fill a pointer-sized word with a symbol's
 * address.  Only RELA targets with 64-bit pointers are supported. */
#if defined(__x86_64__) && __ELF_NATIVE_CLASS == 64
#define GOT_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define GOT_R_GLOB_DAT R_X86_64_GLOB_DAT
#define GOT_R_ABS R_X86_64_64
#elif defined(__aarch64__) && __ELF_NATIVE_CLASS == 64
#define GOT_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define GOT_R_GLOB_DAT R_AARCH64_GLOB_DAT
#define GOT_R_ABS R_AARCH64_ABS64
#else
/* Elsewhere dt__got_patch returns -ENOSYS; the values below only let the
 * rest of the file compile. */
#define GOT_UNSUPPORTED 1
#define GOT_R_JUMP_SLOT 0xfffffff0u
#define GOT_R_GLOB_DAT 0xfffffff1u
#define GOT_R_ABS 0xfffffff2u
#endif

#if __ELF_NATIVE_CLASS == 64
#define GOT_R_SYM ELF64_R_SYM
#define GOT_R_TYPE ELF64_R_TYPE
#else
#define GOT_R_SYM ELF32_R_SYM
#define GOT_R_TYPE ELF32_R_TYPE
#endif

/* The size of the record of processed objects.  A process with more
 * objects loaded at once still works: the objects that do not fit are
 * simply processed again on every call, which is harmless because
 * patching is idempotent. */
#define GOT_MAX_SEEN 1024

/* One processed object.  An object is identified by its load base, the
 * address of its dynamic section and a hash of its name (the loader may
 * free the name itself on dlclose, so it is not kept).  Because dlclose
 * followed by dlopen can map the same file at the same base, a record also
 * keeps one slot it redirected (sentinel) and the value written there: if
 * that slot no longer holds it, the object was mapped afresh.  An object
 * in which nothing was redirected has no sentinel; it is processed again
 * when the loader's unload counter (dlpi_subs) has moved since. */
typedef struct got_seen {
  uintptr_t base;
  uintptr_t dyn;
  uint64_t name_hash;
  unsigned long long subs;
  uintptr_t sentinel;
  void *sentinel_val;
  unsigned gen; /* the call in which the object was last seen loaded */
} got_seen;

/* The global state of this file: the record above.  It is only touched by
 * dt__got_patch and dt__got_reset, which the caller serializes. */
static got_seen g_seen[GOT_MAX_SEEN];
static size_t g_nseen;
static unsigned g_gen;

/* What one call of dt__got_patch needs while it walks the objects. */
typedef struct got_walk {
  const dt__hook *hooks;
  size_t nhooks;
  const uintptr_t *skip; /* the bases of objects left alone */
  size_t nskip;
  dt__got_report_fn report;
  void *ctx;
  uintptr_t vdso;   /* AT_SYSINFO_EHDR, 0 if there is no vDSO */
  uintptr_t pagesz;
  int total;        /* slots that now hold a stub */
} got_walk;

/* The view of one loaded object during the walk. */
typedef struct got_obj {
  const struct dl_phdr_info *info;
  const char *label;             /* the name used in reports */
  uintptr_t base;                /* dlpi_addr, the load bias */
  uintptr_t map_start;           /* the first mapped page (dladdr's base) */
  uintptr_t lo, hi;              /* the span of its PT_LOAD segments */
  uintptr_t relro_lo, relro_hi;  /* the pages the loader made read-only */
  uintptr_t dyn;                 /* its dynamic section, 0 if none */
  const ElfW(Sym) *symtab;
  const char *strtab;
  size_t strsz;
  uintptr_t sentinel;            /* the first slot redirected, or 0 */
  void *sentinel_val;
} got_obj;

/* v rounded down to a multiple of pagesz (a power of two). */
static uintptr_t got_align_down(uintptr_t v, uintptr_t pagesz) {
  return v & ~(pagesz - 1);
}

/* FNV-1a, enough to tell two object names apart in the record. */
static uint64_t got_hash(const char *s) {
  return dt__fnv(DT__FNV_OFFSET, s, strlen(s));
}

/* Fills o from the program headers of info.  Returns 0 when the object has
 * no PT_LOAD or no PT_DYNAMIC segment (then there is nothing to patch). */
static int got_obj_init(got_obj *o, const struct dl_phdr_info *info,
                        uintptr_t pagesz) {
  memset(o, 0, sizeof *o);
  o->info = info;
  o->base = (uintptr_t)info->dlpi_addr;
  o->label = (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
                 ? info->dlpi_name
                 : "<main program>";
  o->lo = UINTPTR_MAX;
  for (size_t i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = o->base + ph->p_vaddr;
    if (ph->p_type == PT_LOAD) {
      if (start < o->lo)
        o->lo = start;
      if (start + ph->p_memsz > o->hi)
        o->hi = start + ph->p_memsz;
    } else if (ph->p_type == PT_DYNAMIC) {
      o->dyn = start;
    } else if (ph->p_type == PT_GNU_RELRO) {
      /* The loader rounds both ends down to a page (_dl_protect_relro):
       * a partial last page stays writable. */
      o->relro_lo = got_align_down(start, pagesz);
      o->relro_hi = got_align_down(start + ph->p_memsz, pagesz);
    }
  }
  o->map_start = got_align_down(o->lo, pagesz);
  return o->dyn != 0 && o->lo < o->hi;
}

/* Whether b names object o: either its load bias (dlpi_addr) or the
 * address of its first page (dladdr's dli_fbase).  0 never matches. */
static int got_base_matches(const got_obj *o, uintptr_t b) {
  return b != 0 && (b == o->base || b == o->map_start);
}

/* Returns the PT_LOAD header that contains address a, or NULL. */
static const ElfW(Phdr) *got_segment(const got_obj *o, uintptr_t a) {
  for (size_t i = 0; i < o->info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &o->info->dlpi_phdr[i];
    uintptr_t start = o->base + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && a >= start && a - start < ph->p_memsz)
      return ph;
  }
  return NULL;
}

/* Turns a d_ptr value into an address.  glibc relocates the d_ptr entries
 * of a loaded object's dynamic section in place (so they are absolute),
 * except where the section is read-only (the vDSO, MIPS, RISC-V).  A value
 * already inside the object's span is taken as absolute; otherwise, if
 * base + value is inside it, it was a link-time offset.  Anything else is
 * rejected (returns 0).  Link-time offsets are smaller than the span, so
 * the two cases cannot be confused unless the base is 0, where they agree. */
static uintptr_t got_ptr(const got_obj *o, uintptr_t v) {
  if (v >= o->lo && v < o->hi)
    return v;
  if (o->base + v >= o->lo && o->base + v < o->hi)
    return o->base + v;
  return 0;
}

/* Reports one relocation if there is a report callback. */
static void got_say(const got_walk *w, const got_obj *o, const char *sym,
                    dt__relkind kind, int patched, const char *reason) {
  if (w->report != NULL)
    w->report(w->ctx, o->label, sym, kind, patched, reason);
}

/* The protection of the page holding addr right now, as far as the program
 * headers tell: PROT_READ inside the RELRO pages, the segment's flags
 * elsewhere.  Returns -1 if addr is in no segment. */
static int got_prot(const got_obj *o, uintptr_t addr) {
  const ElfW(Phdr) *ph;
  int prot = 0;

  if (addr >= o->relro_lo && addr < o->relro_hi)
    return PROT_READ;
  ph = got_segment(o, addr);
  if (ph == NULL)
    return -1;
  if (ph->p_flags & PF_R)
    prot |= PROT_READ;
  if (ph->p_flags & PF_W)
    prot |= PROT_WRITE;
  if (ph->p_flags & PF_X)
    prot |= PROT_EXEC;
  return prot;
}

/* Stores stub into the pointer-aligned word at slot.  The store is atomic
 * with release order, so a thread calling through the slot meanwhile sees
 * either the old or the new target.  A page that is not writable is made
 * writable (keeping its other rights, so code on it can still run) for the
 * store and given its protection back after.  Returns 0 when stub was
 * stored and the protection is as before, 1 when stub was stored but the
 * protection could not be restored (*err holds -errno), and -errno when
 * nothing was stored. */
static int got_store(const got_walk *w, const got_obj *o, uintptr_t slot,
                     void *stub, int *err) {
  int prot = got_prot(o, slot);
  void *page = (void *)got_align_down(slot, w->pagesz);

  if (prot < 0)
    return -EFAULT;
  if (prot & PROT_WRITE) {
    __atomic_store_n((void **)slot, stub, __ATOMIC_RELEASE);
    return 0;
  }
  if (mprotect(page, w->pagesz, prot | PROT_READ | PROT_WRITE) != 0)
    return -errno;
  __atomic_store_n((void **)slot, stub, __ATOMIC_RELEASE);
  if (mprotect(page, w->pagesz, prot) != 0) {
    *err = -errno;
    return 1;
  }
  return 0;
}

/* Keeps the first redirected slot of o as its sentinel (see got_seen). */
static void got_remember(got_obj *o, uintptr_t slot, void *stub) {
  if (o->sentinel == 0) {
    o->sentinel = slot;
    o->sentinel_val = stub;
  }
}

/* Decides about one relocation of o that names hook h, and redirects its
 * slot when that is safe.  Returns 1 if the slot now holds the stub. */
static int got_one(got_walk *w, got_obj *o, const dt__hook *h,
                   dt__relkind kind, const ElfW(Rela) *r,
                   const ElfW(Sym) *sym) {
  uintptr_t slot = o->base + r->r_offset;
  void *cur;
  const char *done = "patched";
  int rc, err = 0;

  if (h->stub == NULL) {
    /* A watched name: only say that this object refers to it. */
    if (kind != DT__REL_OTHER && sym->st_shndx == SHN_UNDEF)
      got_say(w, o, h->name, kind, DT__GOT_WATCHED, "imported");
    return 0;
  }
  if (got_base_matches(o, h->def_base)) {
    got_say(w, o, h->name, kind, 0,
            "defining object, internal references left alone");
    return 0;
  }
  if (kind == DT__REL_OTHER) {
    got_say(w, o, h->name, kind, 0, "relocation type is not a pointer slot");
    return 0;
  }
  if (kind == DT__REL_ABS && r->r_addend != 0) {
    got_say(w, o, h->name, kind, 0, "data pointer with a non-zero addend");
    return 0;
  }
  if (got_segment(o, slot) == NULL) {
    got_say(w, o, h->name, kind, -EFAULT,
            "slot lies outside the object's segments");
    return 0;
  }
  if (slot % sizeof(void *) != 0) { /* a packed structure: no atomic store */
    got_say(w, o, h->name, kind, 0, "unaligned data word left alone");
    return 0;
  }
  cur = __atomic_load_n((void **)slot, __ATOMIC_RELAXED);
  if (cur == h->stub) {
    got_say(w, o, h->name, kind, 1, "already pointing at the stub");
    got_remember(o, slot, h->stub);
    return 1;
  }
  if (cur != h->real) {
    /* An unresolved lazy slot points back into the object's own PLT.  It
     * is assumed to bind to real, like every other lookup of the name,
     * unless the object defines the name itself: then the loader could
     * bind it to that definition instead, and it is left alone. */
    if (kind != DT__REL_JUMP_SLOT || got_segment(o, (uintptr_t)cur) == NULL) {
      got_say(w, o, h->name, kind, 0, "bound to another definition");
      return 0;
    }
    if (sym->st_shndx != SHN_UNDEF) {
      got_say(w, o, h->name, kind, 0,
              "lazy slot of a symbol this object also defines, binding "
              "unknown");
      return 0;
    }
    done = "lazy slot not yet bound, patched";
  }
  rc = got_store(w, o, slot, h->stub, &err);
  if (rc < 0) {
    got_say(w, o, h->name, kind, rc, "could not make the page writable");
    return 0;
  }
  if (rc == 1)
    got_say(w, o, h->name, kind, err,
            "patched, but the page protection could not be restored");
  else
    got_say(w, o, h->name, kind, 1, done);
  got_remember(o, slot, h->stub);
  return 1;
}

/* Visits the relocations in [rel, rel + size) of o.  Returns the number of
 * slots that now hold a stub. */
static int got_relocs(got_walk *w, got_obj *o, uintptr_t rel, size_t size,
                      size_t ent) {
  int n = 0;

  if (ent < sizeof(ElfW(Rela)))
    return 0;
  for (size_t off = 0; off + sizeof(ElfW(Rela)) <= size; off += ent) {
    const ElfW(Rela) *r = (const ElfW(Rela) *)(rel + off);
    size_t symi = GOT_R_SYM(r->r_info);
    unsigned type = (unsigned)GOT_R_TYPE(r->r_info);
    const ElfW(Sym) *sym;
    const char *name;
    dt__relkind kind;

    if (symi == 0)
      continue;
    sym = &o->symtab[symi];
    if (sym->st_name >= o->strsz)
      continue;
    name = o->strtab + sym->st_name;
    if (type == GOT_R_JUMP_SLOT)
      kind = DT__REL_JUMP_SLOT;
    else if (type == GOT_R_GLOB_DAT)
      kind = DT__REL_GLOB_DAT;
    else if (type == GOT_R_ABS)
      kind = DT__REL_ABS;
    else
      kind = DT__REL_OTHER;
    for (size_t i = 0; i < w->nhooks; i++) {
      /* The first byte first: most relocations name no hooked symbol. */
      if (name[0] == w->hooks[i].name[0] &&
          strcmp(name, w->hooks[i].name) == 0) {
        n += got_one(w, o, &w->hooks[i], kind, r, sym);
        break;
      }
    }
  }
  return n;
}

/* Reads the dynamic section of o and visits its DT_RELA and DT_JMPREL
 * tables.  Returns the number of slots that now hold a stub. */
static int got_object(got_walk *w, got_obj *o) {
  uintptr_t rela = 0, jmprel = 0;
  size_t relasz = 0, relaent = sizeof(ElfW(Rela)), pltrelsz = 0;
  long pltrel = DT_RELA;
  int n = 0;

  for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)o->dyn; d->d_tag != DT_NULL;
       d++) {
    switch (d->d_tag) {
    case DT_SYMTAB:
      o->symtab = (const ElfW(Sym) *)got_ptr(o, d->d_un.d_ptr);
      break;
    case DT_STRTAB:
      o->strtab = (const char *)got_ptr(o, d->d_un.d_ptr);
      break;
    case DT_STRSZ:
      o->strsz = d->d_un.d_val;
      break;
    case DT_RELA:
      rela = got_ptr(o, d->d_un.d_ptr);
      break;
    case DT_RELASZ:
      relasz = d->d_un.d_val;
      break;
    case DT_RELAENT:
      relaent = d->d_un.d_val;
      break;
    case DT_JMPREL:
      jmprel = got_ptr(o, d->d_un.d_ptr);
      break;
    case DT_PLTRELSZ:
      pltrelsz = d->d_un.d_val;
      break;
    case DT_PLTREL:
      pltrel = (long)d->d_un.d_val;
      break;
    default:
      break;
    }
  }
  if (o->symtab == NULL || o->strtab == NULL)
    return 0;
  if (rela != 0)
    n += got_relocs(w, o, rela, relasz, relaent);
  /* Some linkers let DT_RELA cover the PLT relocations too; they are
   * visited once. */
  if (jmprel != 0 && pltrel == DT_RELA &&
      !(rela != 0 && jmprel >= rela && jmprel + pltrelsz <= rela + relasz))
    n += got_relocs(w, o, jmprel, pltrelsz, sizeof(ElfW(Rela)));
  return n;
}

/* Returns the record of the object (base, dyn, name), or NULL. */
static got_seen *got_seen_find(uintptr_t base, uintptr_t dyn, uint64_t h) {
  for (size_t i = 0; i < g_nseen; i++)
    if (g_seen[i].base == base && g_seen[i].dyn == dyn &&
        g_seen[i].name_hash == h)
      return &g_seen[i];
  return NULL;
}

/* Whether the recorded object s is still the object o, unchanged since it
 * was processed (see got_seen). */
static int got_seen_current(const got_seen *s, const got_obj *o,
                            unsigned long long subs) {
  if (s->sentinel == 0)
    return s->subs == subs;
  return got_segment(o, s->sentinel) != NULL &&
         __atomic_load_n((void **)s->sentinel, __ATOMIC_RELAXED) ==
             s->sentinel_val;
}

/* The dl_iterate_phdr callback: processes one object unless it is skipped
 * or was processed before, and records it. */
static int got_visit(struct dl_phdr_info *info, size_t size, void *arg) {
  got_walk *w = arg;
  got_obj o;
  got_seen *s;
  uint64_t h;
  unsigned long long subs = 0;

  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
    subs = info->dlpi_subs;
  if (!got_obj_init(&o, info, w->pagesz))
    return 0;
  if (w->vdso != 0 && w->vdso >= o.lo && w->vdso < o.hi)
    return 0;
  for (size_t i = 0; i < w->nskip; i++)
    if (got_base_matches(&o, w->skip[i]))
      return 0;
  h = got_hash(info->dlpi_name != NULL ? info->dlpi_name : "");
  s = got_seen_find(o.base, o.dyn, h);
  if (s != NULL) {
    s->gen = g_gen;
    if (got_seen_current(s, &o, subs))
      return 0;
  }
  w->total += got_object(w, &o);
  if (s == NULL && g_nseen < GOT_MAX_SEEN)
    s = &g_seen[g_nseen++];
  if (s != NULL) {
    s->base = o.base;
    s->dyn = o.dyn;
    s->name_hash = h;
    s->subs = subs;
    s->sentinel = o.sentinel;
    s->sentinel_val = o.sentinel_val;
    s->gen = g_gen;
  }
  return 0;
}

/* Redirects the hooked symbols in every loaded object not processed before.
 *
 * A hook whose stub is NULL is only watched: nothing is written, and
 * report gets DT__GOT_WATCHED for every relocation of an object that
 * imports the name (the preloaded shim uses this to learn whether a
 * program refers to a listed symbol at all).
 *
 * Ownership: hooks (and the names they point to) are borrowed for the call
 * only.  Each call records the objects it processed in this file's static
 * table, and forgets the objects that are no longer loaded.  report, if
 * not NULL, is called for every relocation that names a hooked symbol,
 * while the loader's lock is held: it must not call dlopen or dlclose.
 *
 * skip holds nskip bases of objects that are not visited at all (the
 * shim's own objects; NULL or 0 of them skips nothing).  Each of them and
 * each hook's def_base may be either the object's load bias (dlpi_addr)
 * or its first page (dladdr's dli_fbase); a base of 0 skips nothing.
 * The return value counts the slots of the objects processed by this
 * call that now hold a stub, whether this call wrote them or found them
 * already written; objects skipped as already processed add nothing, so
 * a repeated call returns 0.
 *
 * Thread-safety: not thread-safe; the caller serializes calls.  Other
 * threads may keep calling through the slots meanwhile: each slot changes
 * atomically from the old target to the stub.  An object that another
 * thread is still relocating (a dlopen in progress) is visible to the walk;
 * its unrelocated slots fail the value checks and are left alone, but the
 * caller should hold the lock of its dlopen interposer while calling, so
 * that only loads the shim does not see (libc's own) can overlap. */
int dt__got_patch(const dt__hook *hooks, size_t nhooks, const uintptr_t *skip,
                  size_t nskip, dt__got_report_fn report, void *ctx) {
  got_walk w;
  long pagesz;
  size_t keep = 0;

  if (nhooks > 0 && hooks == NULL)
    return -EINVAL;
  for (size_t i = 0; i < nhooks; i++)
    if (hooks[i].name == NULL ||
        (hooks[i].stub != NULL && hooks[i].real == NULL))
      return -EINVAL;
#if defined(GOT_UNSUPPORTED)
  return -ENOSYS;
#endif
  if (nhooks == 0)
    return 0;
  pagesz = sysconf(_SC_PAGESIZE);
  if (pagesz <= 0 || (pagesz & (pagesz - 1)) != 0)
    return -EINVAL;
  memset(&w, 0, sizeof w);
  w.hooks = hooks;
  w.nhooks = nhooks;
  w.skip = skip;
  w.nskip = skip != NULL ? nskip : 0;
  w.report = report;
  w.ctx = ctx;
  w.vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  w.pagesz = (uintptr_t)pagesz;
  g_gen++;
  dl_iterate_phdr(got_visit, &w);
  /* Objects not seen in this walk were unloaded: forget them. */
  for (size_t i = 0; i < g_nseen; i++)
    if (g_seen[i].gen == g_gen)
      g_seen[keep++] = g_seen[i];
  g_nseen = keep;
  return w.total;
}

/* Forgets every processed object, so that the next dt__got_patch visits
 * all loaded objects again (slots already holding a stub are counted, not
 * rewritten).  Owns nothing; not thread-safe, like dt__got_patch. */
void dt__got_reset(void) {
  g_nseen = 0;
  memset(g_seen, 0, sizeof g_seen);
}

/* What dt__got_object_of looks for and finds. */
typedef struct got_find {
  uintptr_t addr;
  uintptr_t pagesz;
  uintptr_t base;
  const char *name;
  int found;
} got_find;

/* dl_iterate_phdr callback: stops at the object one of whose PT_LOAD
 * segments holds f->addr, and takes the first page it maps (the lowest
 * PT_LOAD's, as the loader's l_map_start and dladdr's dli_fbase). */
static int got_find_visit(struct dl_phdr_info *info, size_t size, void *arg) {
  got_find *f = arg;
  uintptr_t first = UINTPTR_MAX;
  int hit = 0;
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type != PT_LOAD)
      continue;
    if (lo < first)
      first = lo;
    if (f->addr >= lo && f->addr - lo < ph->p_memsz)
      hit = 1;
  }
  if (!hit)
    return 0;
  f->base = got_align_down(first, f->pagesz);
  f->name = info->dlpi_name != NULL ? info->dlpi_name : "";
  f->found = 1;
  return 1;
}

/* Finds the loaded object that maps addr: the address of its first page
 * into *base (dladdr's dli_fbase, which dt__hook.def_base and skip
 * accept) and its path into *name (owned by the loader; "" for the
 * program, where dladdr says argv[0]).  A cheap dladdr: it walks program
 * headers and never searches a symbol table, where dladdr scans every
 * symbol of the object (libc's: thousands).  Returns 0 or -ENOENT. */
int dt__got_object_of(const void *addr, uintptr_t *base, const char **name) {
  long page = sysconf(_SC_PAGESIZE);
  got_find f = {(uintptr_t)addr, page > 0 ? (uintptr_t)page : 4096, 0, "",
                0};
  dl_iterate_phdr(got_find_visit, &f);
  if (!f.found)
    return -ENOENT;
  *base = f.base;
  if (name != NULL)
    *name = f.name;
  return 0;
}

/* The names dtask uses for relocation kinds in its reports. */
const char *dt__relkind_name(dt__relkind k) {
  switch (k) {
  case DT__REL_JUMP_SLOT:
    return "JUMP_SLOT";
  case DT__REL_GLOB_DAT:
    return "GLOB_DAT";
  case DT__REL_ABS:
    return "ABS64";
  case DT__REL_OTHER:
    break;
  }
  return "other";
}
