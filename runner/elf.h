/* elf.h: an ELF file on disk, read for `dtask check` and never executed
 * (runner/elf_file.c).  The shim does not link it. */
#ifndef DT_ELF_H
#define DT_ELF_H

#include "shim/got.h"

/* Inspects an ELF file on disk (never executes it).  An opaque handle owns
 * a read-only mapping of the file. */
typedef struct dt__elf dt__elf;

/* Opens and validates path (ELF64, the host machine).  On success *out is
 * owned by the caller (dt__elf_close).  On failure returns -errno or
 * -ENOEXEC and writes a sentence into err. */
int dt__elf_open(const char *path, dt__elf **out, char *err, size_t errsz);
void dt__elf_close(dt__elf *e);
const char *dt__elf_path(const dt__elf *e);
int dt__elf_is_executable(const dt__elf *e); /* ET_EXEC, or ET_DYN + PT_INTERP */

/* DT_NEEDED entries, in order.  The strings are owned by e. */
size_t dt__elf_needed_count(const dt__elf *e);
const char *dt__elf_needed(const dt__elf *e, size_t i);

/* Finds the file the dynamic loader would load for soname when needed by
 * `from`: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH
 * ($ORIGIN expanded), /etc/ld.so.conf directories, then the default
 * directories.  Returns 0 and writes the path into out, or -ENOENT. */
int dt__elf_find_needed(const dt__elf *from, const char *soname, char *out,
                        size_t outsz);

/* Counts the dynamic relocations of e that name sym with an undefined
 * symbol table entry (imports), per kind: counts[DT__REL_JUMP_SLOT] etc.
 * counts has DT__REL_OTHER + 1 entries and is zeroed first.  Returns the
 * total. */
int dt__elf_imports(const dt__elf *e, const char *sym, int *counts);

/* Returns 1 if e defines and exports sym (a defined STT_FUNC/STT_GNU_IFUNC
 * dynamic symbol); writes its version name into ver ("" if unversioned)
 * and whether it is the default version (@@) into *is_default.  With
 * want_version non-NULL, only that version matches.  Also counts into
 * *self_refs the relocations in e that name sym although e defines it
 * (its internal calls that go through its own PLT/GOT).  0 if not. */
int dt__elf_defines(const dt__elf *e, const char *sym, const char *want_version,
                    char *ver, size_t versz, int *is_default, int *self_refs);

#endif /* DT_ELF_H */
