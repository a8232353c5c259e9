/* draft.h: a C function as `dtask sig` reads it from a header (draft/clang.c)
 * or from debug info (draft/dwarf.c), and the rules that draft its
 * [[offload]] entry (draft/rules.c).
 *
 * The readers describe; they never decide.  A reader fills a dt__cfunc
 * with what the declaration says (types through their typedef chains,
 * sizes from the compiler's layout, Doxygen and GCC access directions);
 * the rules alone turn that into the signature language, mark every guess
 * and refuse what cannot travel.  Every dt__ctype is owned by whoever
 * holds the pointer to it and freed with dt__ctype_free. */
#ifndef DT_DRAFT_H
#define DT_DRAFT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/sig.h" /* DT__MAX_PARAMS */

typedef enum dt__ckind {
  DT__CK_VOID,
  DT__CK_INT,      /* an integer: bool and the char types included */
  DT__CK_ENUM,     /* an enum: size and is_signed of its integer type */
  DT__CK_REAL,     /* float (4), double (8), long double (16) */
  DT__CK_POINTER,  /* a pointer to *pointee */
  DT__CK_ARRAY,    /* count elements of *pointee (a parameter T x[N]) */
  DT__CK_RECORD,   /* a struct or a union */
  DT__CK_FUNCTION, /* a function type: the pointee of a function pointer */
  DT__CK_VALIST,   /* va_list, however the reader recognised it */
  DT__CK_OTHER     /* anything else (vectors, _Complex, ...) */
} dt__ckind;

#define DT__CTYPE_CHAIN 6

typedef struct dt__ctype dt__ctype;
struct dt__ctype {
  dt__ckind kind;
  /* The typedef names met on the way to the type, outermost first: a
   * parameter declared uLongf gives {"uLongf", "uLong"}. */
  int ntypedefs;
  char typedefs[DT__CTYPE_CHAIN][64];
  /* The type under the typedefs, spelled in C: "unsigned long",
   * "struct crypt_data", "enum level", "double". */
  char c_name[96];
  /* RECORD and ENUM: the tag ("crypt_data"), "" when anonymous. */
  char tag[64];
  uint64_t size, align; /* bytes; 0 when unknown (an incomplete type) */
  bool is_signed;       /* INT, ENUM */
  bool is_char;         /* INT: char, signed char or unsigned char */
  bool is_bool;         /* INT: _Bool */
  bool is_const;        /* this type itself is const-qualified */
  bool is_union;        /* RECORD */
  bool complete;        /* RECORD, ENUM: defined, not only declared */
  bool has_pointers;    /* RECORD: some member, at any depth, is a pointer */
  bool has_flexible;    /* RECORD: it ends in a flexible array member */
  uint64_t count;       /* ARRAY */
  dt__ctype *pointee;   /* POINTER, ARRAY: owned */
};

typedef enum dt__pdir {
  DT__PD_NONE, /* nothing said */
  DT__PD_IN,
  DT__PD_OUT,
  DT__PD_INOUT
} dt__pdir;

typedef struct dt__cparam {
  char name[64];      /* "" when the declaration names none */
  dt__ctype *type;    /* owned */
  dt__pdir doc_dir;   /* Doxygen @param[in], [out], [in,out] */
  dt__pdir attr_dir;  /* GCC access: read_only, write_only, read_write */
  int attr_len;       /* that attribute's size-index, 0-based; -1 if none */
} dt__cparam;

typedef struct dt__cfunc {
  char name[128];   /* the symbol, set by the caller before reading */
  bool found;       /* set by the reader */
  char where[256];  /* "file:line" of the declaration read */
  char library[256]; /* the shared object it came from, or "" */
  dt__ctype *ret;   /* owned */
  bool variadic;
  bool no_prototype; /* declared as int f(): its parameters are unknown */
  int nparams;      /* up to DT__MAX_PARAMS; too_many past that */
  bool too_many;
  dt__cparam params[DT__MAX_PARAMS];
} dt__cfunc;

/* Allocation, all or nothing: NULL when out of memory. */
dt__ctype *dt__ctype_new(dt__ckind kind);
void dt__ctype_free(dt__ctype *t);
/* Frees what f owns and leaves it empty but for its name. */
void dt__cfunc_clear(dt__cfunc *f);

/* The rules (draft/rules.c).  A draft collects entries and the [types]
 * they need, then prints them as one TOML text. */
typedef struct dt__draft dt__draft;
dt__draft *dt__draft_new(const char *source);
/* Drafts f's entry.  Returns 0 when the entry is complete (its notes say
 * what was guessed), 1 when it holds a placeholder that dtask check
 * rejects, 2 when f is refused (printed as a comment with the reason),
 * or -ENOMEM. */
int dt__draft_add(dt__draft *d, const dt__cfunc *f);
int dt__draft_print(const dt__draft *d, FILE *out);
void dt__draft_free(dt__draft *d);

#endif /* DT_DRAFT_H */
