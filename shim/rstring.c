/* rstring.c: owns the strings that offloaded calls return to the caller.
 *
 * Each symbol that returns a cstring has a set of the distinct strings it
 * returned (an open-addressing hash table of DT__RSTR_MAX_COUNT * 2
 * slots and one arena of DT__RSTR_MAX_SYM_BYTES, both mapped at its first
 * string; pages are touched as strings are added).  A string is never
 * removed or moved, so a pointer handed out stays valid for the life of
 * the process, as a pointer into a function's static table would.
 *
 * Lookups take no lock: a slot is published with a release store after
 * its record is complete, and never changes afterwards.  Inserts take one
 * process-wide mutex (they are rare: at most DT__RSTR_MAX_COUNT per
 * symbol in the life of the process), and nothing spins.
 *
 * Past the bounds (the symbol's count or bytes, the process's bytes, or
 * one string larger than a symbol's whole arena), a new string is copied
 * into a per-thread ring of DT__RSTR_RING slots instead: valid until
 * DT__RSTR_RING more such strings have come back on the same thread, and
 * until that thread exits.  That is said once per symbol, at DTASK_LOG
 * warn.
 *
 * Memory comes from mmap, never malloc, so that a host that interposes
 * malloc never sees the shim in its allocator. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "common/fnv.h"
#include "common/log.h"
#include "shim/rstring.h"

#define TABLE_SLOTS (DT__RSTR_MAX_COUNT * 2u) /* at most half full */
#define TABLE_MASK (TABLE_SLOTS - 1u)
#define RING_MIN 4096u

/* One interned string: its hash, its length, its bytes and NUL. */
typedef struct rec {
  uint64_t hash;
  uint32_t len;
  uint32_t pad;
  char s[];
} rec;
_Static_assert(sizeof(rec) == DT__RSTR_OVERHEAD, "DT__RSTR_OVERHEAD");

/* One symbol's set.  slots is published once (release) and read without
 * the lock; everything else is written under s_lock, and count and bytes
 * are also read without it as a hint. */
typedef struct sym_set {
  rec **slots;  /* TABLE_SLOTS entries, then the arena; NULL until used */
  char *arena;  /* DT__RSTR_MAX_SYM_BYTES bytes */
  size_t count; /* strings kept */
  size_t bytes; /* arena bytes used */
  int warned;   /* the ring message was said */
} sym_set;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static sym_set *s_sets; /* s_nsets of them, for the life of the process */
static size_t s_nsets;
static size_t s_total; /* arena bytes used by all symbols */
static pthread_key_t s_ring_key;

/* A thread's ring: the next slot to use and each slot's buffer. */
typedef struct ring {
  unsigned next;
  struct {
    char *p;
    size_t cap;
  } slot[DT__RSTR_RING];
} ring;

static __thread ring *t_ring __attribute__((tls_model("initial-exec")));

/* Maps n bytes of private, zeroed, lazily committed memory; NULL on
 * failure.  Unmapped with munmap(p, n) by whoever keeps it. */
static void *map(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The thread-specific data destructor: unmaps an exiting thread's ring
 * (the strings in it die with the thread, as a thread's static buffer
 * would). */
static void free_ring(void *p) {
  ring *r = p;
  if (r == NULL)
    return;
  for (unsigned i = 0; i < DT__RSTR_RING; i++)
    if (r->slot[i].p != NULL)
      munmap(r->slot[i].p, r->slot[i].cap);
  if (t_ring == r)
    t_ring = NULL;
  munmap(r, sizeof *r);
}

/* The fork handler, in the child: another thread of the parent may have
 * held the lock; its half-made insert was never published. */
static void atfork_child(void) {
  pthread_mutex_init(&s_lock, NULL);
}

/* Makes room for the sets of nsyms symbols (indexes 0..nsyms-1, the stub
 * table's) and installs the thread-exit and fork handlers.  Called once,
 * before any call returns a string; the sets live as long as the
 * process.  Returns 0, -EALREADY when called twice, or -ENOMEM. */
int dt__rstr_init(size_t nsyms) {
  if (s_sets != NULL)
    return -EALREADY;
  if (nsyms == 0)
    nsyms = 1;
  sym_set *sets = map(nsyms * sizeof *sets);
  if (sets == NULL)
    return -ENOMEM;
  if (pthread_key_create(&s_ring_key, free_ring) != 0) {
    munmap(sets, nsyms * sizeof *sets);
    return -ENOMEM;
  }
  pthread_atfork(NULL, NULL, atfork_child);
  s_nsets = nsyms;
  __atomic_store_n(&s_sets, sets, __ATOMIC_RELEASE);
  return 0;
}

/* FNV-1a over len bytes of s. */
static uint64_t hash(const char *s, size_t len) {
  return dt__fnv(DT__FNV_OFFSET, s, len);
}

/* The arena bytes a string of len bytes takes (record, NUL, rounding). */
static size_t rec_size(size_t len) {
  return (sizeof(rec) + len + 1 + 7) & ~(size_t)7;
}

/* Looks for the string s (len bytes) in slots, without a lock.  Returns
 * its record, or NULL with *at set to the empty slot where it would go
 * (valid for an insert only while s_lock is held). */
static const rec *find(rec **slots, uint64_t h, const char *s, size_t len,
                       size_t *at) {
  size_t i = (size_t)h & TABLE_MASK;
  for (;;) {
    const rec *r = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
    if (r == NULL) {
      *at = i;
      return NULL;
    }
    if (r->hash == h && r->len == len && memcmp(r->s, s, len) == 0)
      return r;
    i = (i + 1) & TABLE_MASK;
  }
}

/* Whether a string of need arena bytes still fits set's bounds and the
 * process's.  Exact under s_lock, a hint without it. */
static bool fits(const sym_set *set, size_t need) {
  return __atomic_load_n(&set->count, __ATOMIC_RELAXED) < DT__RSTR_MAX_COUNT &&
         need <= DT__RSTR_MAX_SYM_BYTES -
                     __atomic_load_n(&set->bytes, __ATOMIC_RELAXED) &&
         need <= DT__RSTR_MAX_BYTES -
                     __atomic_load_n(&s_total, __ATOMIC_RELAXED);
}

/* Under s_lock: the interned copy of s (len bytes) in set, added if it is
 * new and fits; NULL when it does not fit or no memory can be mapped. */
static const char *intern_locked(sym_set *set, uint64_t h, const char *s,
                                 size_t len) {
  size_t at, need = rec_size(len);
  if (set->slots == NULL) {
    if (!fits(set, need))
      return NULL;
    rec **slots = map(TABLE_SLOTS * sizeof(rec *) + DT__RSTR_MAX_SYM_BYTES);
    if (slots == NULL)
      return NULL;
    set->arena = (char *)(slots + TABLE_SLOTS);
    __atomic_store_n(&set->slots, slots, __ATOMIC_RELEASE);
  }
  const rec *found = find(set->slots, h, s, len, &at);
  if (found != NULL)
    return found->s;
  if (!fits(set, need))
    return NULL;
  rec *r = (rec *)(set->arena + set->bytes);
  r->hash = h;
  r->len = (uint32_t)len;
  memcpy(r->s, s, len);
  r->s[len] = '\0';
  __atomic_store_n(&set->slots[at], r, __ATOMIC_RELEASE);
  __atomic_store_n(&set->count, set->count + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&set->bytes, set->bytes + need, __ATOMIC_RELAXED);
  __atomic_store_n(&s_total, s_total + need, __ATOMIC_RELAXED);
  return r->s;
}

/* Copies s (len bytes) and a NUL into this thread's ring, in the slot
 * after the last one used, and sets *out to the copy.  The copy is valid
 * until DT__RSTR_RING more strings go through this thread's ring, or
 * the thread exits.  Returns 0 or -ENOMEM (*out untouched). */
static int ring_keep(const char *s, size_t len, const char **out) {
  ring *r = t_ring;
  if (r == NULL) {
    r = map(sizeof *r);
    if (r == NULL)
      return -ENOMEM;
    t_ring = r;
    pthread_setspecific(s_ring_key, r);
  }
  unsigned i = r->next;
  if (r->slot[i].cap < len + 1) {
    size_t cap = RING_MIN;
    while (cap < len + 1)
      cap *= 2;
    char *p = map(cap);
    if (p == NULL)
      return -ENOMEM;
    /* The slot's old string is DT__RSTR_RING results old: its time is
     * over. */
    if (r->slot[i].p != NULL)
      munmap(r->slot[i].p, r->slot[i].cap);
    r->slot[i].p = p;
    r->slot[i].cap = cap;
  }
  memcpy(r->slot[i].p, s, len);
  r->slot[i].p[len] = '\0';
  r->next = (i + 1) % DT__RSTR_RING;
  *out = r->slot[i].p;
  return 0;
}

/* Gives the string s (len bytes, need not end with a NUL; no NUL inside)
 * returned by a call of symbol sym (its stub index; name is its name, for
 * the message) a home in the caller, and sets *out to it, NUL-terminated.
 * The same bytes from the same symbol give the same pointer, valid for
 * the life of the process, while the symbol's and the process's bounds
 * hold (rstring.h); past them, a slot of this thread's ring (see
 * ring_keep), with a warning once per symbol.  The memory is rstring.c's:
 * the caller never frees it.  Returns 0, -EINVAL (sym out of range, or
 * dt__rstr_init not called) or -ENOMEM. */
int dt__rstr_keep(uint32_t sym, const char *name, const char *s, size_t len,
                  const char **out) {
  sym_set *sets = __atomic_load_n(&s_sets, __ATOMIC_ACQUIRE);
  if (sets == NULL || sym >= s_nsets || out == NULL || (s == NULL && len > 0))
    return -EINVAL;
  if (s == NULL)
    s = "";
  sym_set *set = &sets[sym];
  /* A string larger than a whole arena is never kept: not even hashed. */
  if (len < DT__RSTR_MAX_SYM_BYTES) {
    uint64_t h = hash(s, len);
    size_t at;
    rec **slots = __atomic_load_n(&set->slots, __ATOMIC_ACQUIRE);
    if (slots != NULL) {
      const rec *r = find(slots, h, s, len, &at);
      if (r != NULL) {
        *out = r->s;
        return 0;
      }
    }
    if (fits(set, rec_size(len))) {
      pthread_mutex_lock(&s_lock);
      const char *p = intern_locked(set, h, s, len);
      pthread_mutex_unlock(&s_lock);
      if (p != NULL) {
        *out = p;
        return 0;
      }
    }
  }
  if (!__atomic_exchange_n(&set->warned, 1, __ATOMIC_RELAXED))
    dt__log(DT__LOG_WARN,
            "%s returned a string that dtask cannot keep for the life of "
            "the process (it keeps %u distinct strings and %zu KiB per "
            "symbol, %zu MiB in all; this one has %zu bytes): such a "
            "string stays valid only until %u more of them come back on "
            "the same thread",
            name != NULL ? name : "a function", DT__RSTR_MAX_COUNT,
            DT__RSTR_MAX_SYM_BYTES >> 10, DT__RSTR_MAX_BYTES >> 20, len,
            DT__RSTR_RING);
  return ring_keep(s, len, out);
}

/* For tests and reports: how many strings symbol sym keeps (*count), the
 * arena bytes they take (*bytes), and the arena bytes of all symbols
 * (*total).  Any pointer may be NULL; a symbol out of range reads 0. */
void dt__rstr_usage(uint32_t sym, size_t *count, size_t *bytes,
                    size_t *total) {
  sym_set *sets = __atomic_load_n(&s_sets, __ATOMIC_ACQUIRE);
  bool ok = sets != NULL && sym < s_nsets;
  if (count != NULL)
    *count = ok ? __atomic_load_n(&sets[sym].count, __ATOMIC_RELAXED) : 0;
  if (bytes != NULL)
    *bytes = ok ? __atomic_load_n(&sets[sym].bytes, __ATOMIC_RELAXED) : 0;
  if (total != NULL)
    *total = __atomic_load_n(&s_total, __ATOMIC_RELAXED);
}
