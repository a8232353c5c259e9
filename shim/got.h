/* got.h: redirecting a symbol in the loaded objects of this process by
 * rewriting their GOT slots (shim/got.c), and the relocation kinds that
 * dtask reports (shared with the on-disk reader of `dtask check`). */
#ifndef DT_GOT_H
#define DT_GOT_H

#include <stdint.h>

#include "common/common.h"

typedef enum dt__relkind {
  DT__REL_JUMP_SLOT, /* call through the PLT: caught */
  DT__REL_GLOB_DAT,  /* address taken / -fno-plt call: caught */
  DT__REL_ABS,       /* R_*_64 data pointer: caught only if not relro */
  DT__REL_OTHER
} dt__relkind;

const char *dt__relkind_name(dt__relkind k);

/* One symbol to redirect in the loaded objects of this process. */
typedef struct dt__hook {
  const char *name;    /* symbol name */
  void *real;          /* the definition the program would have called */
  void *stub;          /* where calls must go instead; NULL: only watch
                          for objects that import name */
  uintptr_t def_base;  /* load base of the defining object (its own
                          references are left alone), 0 if unknown */
} dt__hook;

/* Called once per relocation considered. patched is 1 if the slot now
 * holds the stub, 0 if it was left alone (reason says why), -errno on
 * failure, and DT__GOT_WATCHED for an import of a watched name (a hook
 * without a stub). */
#define DT__GOT_WATCHED 2
typedef void (*dt__got_report_fn)(void *ctx, const char *object,
                                  const char *symbol, dt__relkind kind,
                                  int patched, const char *reason);

int dt__got_patch(const dt__hook *hooks, size_t nhooks, const uintptr_t *skip,
                  size_t nskip, dt__got_report_fn report, void *ctx);
void dt__got_reset(void);
int dt__got_object_of(const void *addr, uintptr_t *base, const char **name);

#endif /* DT_GOT_H */
