/* rules.c: dtask sig's rules, from a C declaration (draft/draft.h) to an
 * [[offload]] entry in the signature language (config/sig.c).
 *
 * This file owns every decision dtask sig makes, and the promise that
 * none is silent:
 *   - what C says exactly (types through typedefs, an enum's integer
 *     type, a T x[4] parameter's length, a Doxygen or GCC access
 *     direction, sizes of plain structs) is written without comment;
 *   - what the rules infer (a direction from const-ness, a length from
 *     a parameter's name, one element behind a pointer) is written with
 *     a "guessed:" note beside the entry;
 *   - what they cannot know is written as the placeholder LEN?, which
 *     `dtask check` rejects, with a "todo:" note saying what to write;
 *   - what cannot travel between processes is refused, the whole entry
 *     commented out with the reason.
 * The readers (draft/clang.c, draft/dwarf.c) only describe. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draft/draft.h"

#define MAX_TYPES 64

/* A [types] entry the drafted entries need. */
typedef struct utype {
  char name[64];
  uint64_t size, align;
  char what[128]; /* "struct crypt_data", for its comment */
} utype;

struct dt__draft {
  char source[256];
  utype types[MAX_TYPES];
  int ntypes;
  FILE *mem;  /* the entries, one after the other (open_memstream) */
  char *text; /* mem's buffer and length, valid after fflush(mem) */
  size_t len;
};

/* Appends printf-style text to the draft's entries. */
static void DT__PRINTF(2, 3) emit(dt__draft *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(d->mem, fmt, ap);
  va_end(ap);
}

/* Returns an empty draft for entries read from source (a header or an
 * object, named in the text's first comment), owned by the caller (free
 * it with dt__draft_free), or NULL when out of memory. */
dt__draft *dt__draft_new(const char *source) {
  dt__draft *d = calloc(1, sizeof *d);
  if (d == NULL)
    return NULL;
  d->mem = open_memstream(&d->text, &d->len);
  if (d->mem == NULL) {
    free(d);
    return NULL;
  }
  snprintf(d->source, sizeof d->source, "%s", source);
  return d;
}

/* Frees d and its text; NULL is allowed. */
void dt__draft_free(dt__draft *d) {
  if (d == NULL)
    return;
  fclose(d->mem);
  free(d->text);
  free(d);
}

/* --------------------------------------------------- one entry's state */

/* A parameter gives at most four notes (its name, two on its direction,
 * its length), the return one: room for all, so that none is lost. */
#define MAX_NOTES (4 * DT__MAX_PARAMS + 2)

/* An entry while it is drafted: its signature text, its notes, the
 * [types] it needs (added to the draft only if it is not refused), and
 * the worst thing found (0 complete, 1 placeholder, 2 refused).  sig
 * holds the longest signature the model allows: 32 buffers of 63-letter
 * types, names and lengths. */
typedef struct entry {
  const dt__cfunc *f;
  char sig[8192];
  size_t siglen;
  bool sig_full, notes_full;
  char notes[MAX_NOTES][640];
  int nnotes;
  const dt__ctype *types[DT__MAX_PARAMS];
  int ntypes;
  int level;
  char refusal[512];
} entry;

/* Adds a note ("guessed: ...", "todo: ...") to the entry. */
static void DT__PRINTF(2, 3) note(entry *e, const char *fmt, ...) {
  if (e->nnotes >= MAX_NOTES) {
    e->notes_full = true;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->notes[e->nnotes++], sizeof e->notes[0], fmt, ap);
  va_end(ap);
}

/* Marks the entry refused with a reason (the first reason wins). */
static void DT__PRINTF(2, 3) refuse(entry *e, const char *fmt, ...) {
  if (e->level == 2)
    return;
  e->level = 2;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->refusal, sizeof e->refusal, fmt, ap);
  va_end(ap);
}

/* Appends to the signature text. */
static void DT__PRINTF(2, 3) sig(entry *e, const char *fmt, ...) {
  if (e->sig_full)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->sig + e->siglen, sizeof e->sig - e->siglen, fmt, ap);
  va_end(ap);
  if (n > 0)
    e->siglen += (size_t)n;
  if (n < 0 || e->siglen >= sizeof e->sig) {
    e->sig_full = true;
    e->siglen = sizeof e->sig - 1;
  }
}

/* Copies s into buf for the draft's text: control characters become '?'
 * (a comment stays on its line), and with quoted, '"' and '\\' are
 * escaped (a TOML string stays closed). */
static const char *clean(const char *s, bool quoted, char *buf,
                         size_t bufsz) {
  size_t n = 0;
  for (; *s != '\0' && n + 3 < bufsz; s++) {
    unsigned char c = (unsigned char)*s;
    if (quoted && (c == '"' || c == '\\'))
      buf[n++] = '\\';
    buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  buf[n] = '\0';
  return buf;
}

/* --------------------------------------------------------------- types */

/* dtask's names for the <stdint.h>/<sys/types.h> typedefs it knows. */
static const struct {
  const char *c, *dt;
} std_names[] = {{"size_t", "size_t"},     {"ssize_t", "ssize_t"},
                 {"off_t", "off_t"},       {"intptr_t", "intptr"},
                 {"uintptr_t", "uintptr"}, {"int8_t", "int8"},
                 {"int16_t", "int16"},     {"int32_t", "int32"},
                 {"int64_t", "int64"},     {"uint8_t", "uint8"},
                 {"uint16_t", "uint16"},   {"uint32_t", "uint32"},
                 {"uint64_t", "uint64"},   {NULL, NULL}};

/* C's integer names and dtask's. */
static const struct {
  const char *c, *dt;
} int_names[] = {{"short", "short"},
                 {"unsigned short", "ushort"},
                 {"int", "int"},
                 {"unsigned int", "uint"},
                 {"long", "long"},
                 {"unsigned long", "ulong"},
                 {"long long", "llong"},
                 {"unsigned long long", "ullong"},
                 {NULL, NULL}};

/* The fixed-width name of an integer of size bytes. */
static const char *sized_int(uint64_t size, bool is_signed) {
  switch (size) {
  case 1: return is_signed ? "int8" : "uint8";
  case 2: return is_signed ? "int16" : "uint16";
  case 4: return is_signed ? "int32" : "uint32";
  case 8: return is_signed ? "int64" : "uint64";
  default: return NULL;
  }
}

/* dtask's name for the scalar t (an INT, ENUM or REAL), or NULL when it
 * has none.  elem: t is a buffer's element, where bytes read better as
 * uint8/int8 than as uchar/schar. */
static const char *scalar_name(const dt__ctype *t, bool elem) {
  for (int i = 0; i < t->ntypedefs; i++) {
    const char *td = t->typedefs[i];
    while (*td == '_') /* glibc's __off_t, __uint32_t */
      td++;
    for (int k = 0; std_names[k].c != NULL; k++)
      if (strcmp(td, std_names[k].c) == 0)
        return std_names[k].dt;
  }
  if (t->kind == DT__CK_REAL)
    return t->size == 4 ? "float" : t->size == 8 ? "double" : NULL;
  if (t->kind == DT__CK_ENUM)
    return t->size == 4 ? (t->is_signed ? "int" : "uint")
                        : sized_int(t->size, t->is_signed);
  if (t->kind != DT__CK_INT)
    return NULL;
  if (t->is_bool)
    return "bool";
  if (t->is_char) {
    if (strcmp(t->c_name, "char") == 0)
      return "char";
    if (elem)
      return t->is_signed ? "int8" : "uint8";
    return t->is_signed ? "schar" : "uchar";
  }
  for (int k = 0; int_names[k].c != NULL; k++)
    if (strcmp(t->c_name, int_names[k].c) == 0)
      return int_names[k].dt;
  return sized_int(t->size, t->is_signed);
}

/* True for a scalar dtask can pass by value. */
static bool is_scalar(const dt__ctype *t) {
  return t != NULL && (t->kind == DT__CK_INT || t->kind == DT__CK_ENUM ||
                       t->kind == DT__CK_REAL);
}

/* True for the stdio stream type. */
static bool is_file(const dt__ctype *t) {
  for (int i = 0; i < t->ntypedefs; i++)
    if (strcmp(t->typedefs[i], "FILE") == 0)
      return true;
  return strcmp(t->tag, "_IO_FILE") == 0;
}

/* A readable name for t in messages: its outermost typedef, else C's. */
static const char *shown(const dt__ctype *t) {
  return t->ntypedefs > 0 ? t->typedefs[0] : t->c_name;
}

/* The [types] name of the record t: its tag, else its typedef; "" when
 * anonymous all the way. */
static const char *record_name(const dt__ctype *t) {
  if (t->tag[0] != '\0')
    return t->tag;
  return t->ntypedefs > 0 ? t->typedefs[t->ntypedefs - 1] : "";
}

/* True when name cannot name a [types] entry: a type of the signature
 * language or one of its reserved words (config/config.c refuses both). */
static bool reserved_name(const char *name) {
  static const char *const words[] = {"struct", "const",    "enum",
                                      "volatile", "unsigned", "signed",
                                      "union",  "in",       "out",
                                      "inout",  NULL};
  dt__type builtin;
  for (int i = 0; words[i] != NULL; i++)
    if (strcmp(name, words[i]) == 0)
      return true;
  return dt__type_lookup(name, NULL, 0, &builtin) == 0;
}

/* Notes that the entry needs the record t under [types], after the draft's
 * types and the entry's own.  Returns 0, or -ENOSPC past MAX_TYPES, or
 * -EEXIST when a type of another size or alignment took its name. */
static int need_type(const dt__draft *d, entry *e, const dt__ctype *t) {
  const char *name = record_name(t);
  uint64_t align = t->align ? t->align : 1;
  for (int i = 0; i < d->ntypes; i++)
    if (strcmp(d->types[i].name, name) == 0)
      return d->types[i].size == t->size && d->types[i].align == align
                 ? 0
                 : -EEXIST;
  for (int i = 0; i < e->ntypes; i++)
    if (strcmp(record_name(e->types[i]), name) == 0)
      return e->types[i]->size == t->size &&
                     (e->types[i]->align ? e->types[i]->align : 1) == align
                 ? 0
                 : -EEXIST;
  if (d->ntypes + e->ntypes >= MAX_TYPES || e->ntypes == DT__MAX_PARAMS)
    return -ENOSPC;
  e->types[e->ntypes++] = t;
  return 0;
}

/* Adds the entry's types to the draft's [types]. */
static void add_types(dt__draft *d, const entry *e) {
  for (int i = 0; i < e->ntypes && d->ntypes < MAX_TYPES; i++) {
    utype *u = &d->types[d->ntypes++];
    snprintf(u->name, sizeof u->name, "%s", record_name(e->types[i]));
    u->size = e->types[i]->size;
    u->align = e->types[i]->align ? e->types[i]->align : 1;
    snprintf(u->what, sizeof u->what, "%s", e->types[i]->c_name);
  }
}

/* ------------------------------------------------------- lengths */

/* True when name ends with suffix, in any case. */
static bool ends_with(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n >= k && strcasecmp(name + n - k, suffix) == 0;
}

/* True for a name that reads as a length or a count. */
static bool length_like(const char *name) {
  while (*name == '_') /* glibc's __n, __len */
    name++;
  static const char *const exact[] = {"n", "num", "nmemb", "nelem", NULL};
  static const char *const suffix[] = {"len", "length", "size", "count",
                                       "bytes", NULL};
  for (int i = 0; exact[i] != NULL; i++)
    if (strcasecmp(name, exact[i]) == 0)
      return true;
  for (int i = 0; suffix[i] != NULL; i++)
    if (ends_with(name, suffix[i]))
      return true;
  return false;
}

/* True when parameter i can be a length: an integer passed by value. */
static bool int_param(const dt__cfunc *f, int i) {
  if (i < 0 || i >= f->nparams)
    return false;
  const dt__ctype *t = f->params[i].type;
  return t != NULL && t->kind == DT__CK_INT && !t->is_bool && !t->is_char;
}

/* What parameter i + 1 says of pointer i's length: 1 an integer named
 * like a length, 2 a pointer to one (the length behind a pointer), 0
 * nothing. */
static int next_length(const dt__cfunc *f, int i) {
  if (i + 1 >= f->nparams || !length_like(f->params[i + 1].name))
    return 0;
  if (int_param(f, i + 1))
    return 1;
  const dt__ctype *qt = f->params[i + 1].type;
  return qt != NULL && qt->kind == DT__CK_POINTER && qt->pointee != NULL &&
                 qt->pointee->kind == DT__CK_INT && !qt->pointee->is_char
             ? 2
             : 0;
}

/* True for the signature language's direction words, which cannot name
 * a parameter. */
static bool is_direction(const char *name) {
  return strcmp(name, "in") == 0 || strcmp(name, "out") == 0 ||
         strcmp(name, "inout") == 0;
}

/* A parameter's name in the signature: its own (with a '_' after a
 * direction word: out_), else argN (1-based). */
static void param_name(const dt__cfunc *f, int i, char *buf, size_t bufsz) {
  const char *name = f->params[i].name;
  if (name[0] == '\0')
    snprintf(buf, bufsz, "arg%d", i + 1);
  else if (is_direction(name))
    snprintf(buf, bufsz, "%.60s_", name);
  else
    snprintf(buf, bufsz, "%s", name);
}

/* Writes the length of pointer parameter i into len: a fact, a guess
 * (noted) or LEN? (noted, level raised). */
static void draft_length(entry *e, int i, const dt__ctype *pt, char *len,
                         size_t lensz) {
  const dt__cfunc *f = e->f;
  const dt__cparam *p = &f->params[i];
  char me[64], other[64];
  param_name(f, i, me, sizeof me);
  if (p->type->kind == DT__CK_ARRAY && p->type->count > 0) {
    snprintf(len, lensz, "%llu", (unsigned long long)p->type->count);
    return;
  }
  if (p->attr_len >= 0 && int_param(f, p->attr_len)) {
    param_name(f, p->attr_len, other, sizeof other);
    snprintf(len, lensz, "%s", other);
    note(e, "from the header: %s holds %s elements (GCC access attribute)",
         me, other);
    return;
  }
  int next = next_length(f, i);
  if (next > 0)
    param_name(f, i + 1, other, sizeof other);
  if (next == 1 && pt->kind != DT__CK_VOID && pt->size != 1 &&
      ends_with(f->params[i + 1].name, "bytes")) {
    snprintf(len, lensz, "LEN?");
    e->level = e->level < 1 ? 1 : e->level;
    note(e, "todo: %s counts bytes and %s's elements are %llu bytes each, "
            "which the signature language cannot divide: replace LEN? with "
            "the number of elements (a number, or an integer parameter that "
            "counts them)",
         other, me, (unsigned long long)pt->size);
    return;
  }
  if (next == 1) {
    snprintf(len, lensz, "%s", other);
    note(e, "guessed: %s holds %s elements (the parameter after it is "
            "named like a length)%s",
         me, other,
         pt->kind == DT__CK_VOID ? ", counted in bytes (void *)" : "");
    return;
  }
  if (next == 2) {
    snprintf(len, lensz, "LEN?");
    e->level = e->level < 1 ? 1 : e->level;
    note(e, "todo: %s's length is *%s, behind a pointer, which the "
            "signature language cannot say: replace LEN? with a fixed "
            "upper bound of %s's size, or keep %s local",
         me, other, me, f->name);
    return;
  }
  /* One element, but for chars: a char * is a string or a buffer. */
  bool writable = !pt->is_const;
  if (pt->kind == DT__CK_RECORD ||
      (writable && is_scalar(pt) && !pt->is_char)) {
    snprintf(len, lensz, "1");
    note(e, "guessed: %s points to one %s (no length given)", me, shown(pt));
    return;
  }
  snprintf(len, lensz, "LEN?");
  e->level = e->level < 1 ? 1 : e->level;
  note(e, "todo: %s's length is not in the declaration: replace LEN? with "
          "a number, an integer parameter's name, or a product such as n*4",
       me);
}

/* -------------------------------------------------------- parameters */

/* Drafts parameter i into the signature. */
static void draft_param(const dt__draft *d, entry *e, int i) {
  const dt__cfunc *f = e->f;
  const dt__cparam *p = &f->params[i];
  const dt__ctype *t = p->type;
  char me[64];
  param_name(f, i, me, sizeof me);
  if (p->name[0] == '\0')
    note(e, "guessed: the declaration names no parameter %d; called %s here",
         i + 1, me);
  else if (is_direction(p->name))
    note(e, "renamed: parameter %s is %s here (%s is a direction word in "
            "signatures)",
         p->name, me, p->name);
  if (t == NULL || t->kind == DT__CK_VOID) {
    refuse(e, "parameter %s has no type dtask can read", me);
    return;
  }
  if (t->kind == DT__CK_VALIST) {
    refuse(e, "%s is a va_list: its arguments live on the caller's stack",
           me);
    return;
  }
  if (is_scalar(t)) {
    const char *name = scalar_name(t, false);
    if (name == NULL) {
      refuse(e, "%s is %s, which dtask cannot pass (long double and wider "
                "integers are not in the signature language)",
             me, shown(t));
      return;
    }
    sig(e, "%s %s", name, me);
    return;
  }
  if (t->kind == DT__CK_RECORD) {
    refuse(e, "%s passes %s by value: dtask passes structs only in "
              "buffers (write a wrapper that takes a pointer)",
           me, shown(t));
    return;
  }
  if (t->kind != DT__CK_POINTER && t->kind != DT__CK_ARRAY) {
    refuse(e, "%s is %s, which dtask cannot pass", me, shown(t));
    return;
  }
  const dt__ctype *pt = t->pointee;
  if (pt == NULL || pt->kind == DT__CK_OTHER) {
    refuse(e, "%s points to a type dtask cannot copy", me);
    return;
  }
  if (pt->kind == DT__CK_FUNCTION) {
    refuse(e, "%s is a function pointer: code addresses do not travel to "
              "another process",
           me);
    return;
  }
  if (pt->kind == DT__CK_ARRAY) {
    refuse(e, "%s points to an array (a T (*)[N]): write a wrapper that "
              "takes the elements as a T * and a length",
           me);
    return;
  }
  if (pt->kind == DT__CK_POINTER || pt->kind == DT__CK_VALIST) {
    refuse(e, "%s is a pointer to a pointer: dtask copies one level of "
              "memory, never what it points to",
           me);
    return;
  }
  if (pt->kind == DT__CK_RECORD && is_file(pt)) {
    refuse(e, "%s is a FILE *: a stdio stream cannot cross processes", me);
    return;
  }
  if (pt->kind == DT__CK_RECORD && !pt->complete) {
    refuse(e, "%s is a handle to an incomplete type (%s): its memory is "
              "not the caller's to copy",
           me, shown(pt));
    return;
  }
  if (pt->kind == DT__CK_RECORD && pt->has_pointers) {
    refuse(e, "%s points to %s, which holds pointers: dtask copies plain "
              "data only",
           me, shown(pt));
    return;
  }
  if (pt->kind == DT__CK_RECORD && pt->has_flexible) {
    refuse(e, "%s points to %s, which ends in a flexible array member: its "
              "length is not in its type, so a copy of sizeof bytes would "
              "lose it",
           me, shown(pt));
    return;
  }
  if (is_scalar(pt) && scalar_name(pt, true) == NULL) {
    refuse(e, "%s points to %s, which dtask cannot copy", me, shown(pt));
    return;
  }
  /* cstring: a const char * with no length beside it. */
  bool has_len = (t->kind == DT__CK_ARRAY && t->count > 0) ||
                 p->attr_len >= 0 || next_length(f, i) > 0;
  if (pt->kind == DT__CK_INT && pt->is_char && pt->is_const && !has_len &&
      strcmp(pt->c_name, "char") == 0 && p->attr_dir != DT__PD_OUT &&
      p->doc_dir != DT__PD_OUT) {
    sig(e, "cstring %s", me);
    note(e, "guessed: %s is a NUL-terminated string (a const char * with "
            "no length beside it)",
         me);
    return;
  }
  /* The element type. */
  char elem[64];
  if (pt->kind == DT__CK_VOID) {
    snprintf(elem, sizeof elem, "uint8");
  } else if (pt->kind == DT__CK_RECORD) {
    const char *rn = record_name(pt);
    if (rn[0] == '\0') {
      refuse(e, "%s points to an anonymous struct: give it a tag or a "
                "typedef to declare it under [types]",
             me);
      return;
    }
    if (reserved_name(rn)) {
      refuse(e, "%s points to %s, whose name is a word of the signature "
                "language: [types] cannot declare it (write a typedef of "
                "another name)",
             me, shown(pt));
      return;
    }
    if (pt->size == 0) {
      refuse(e, "%s points to %s, which has no size: there is nothing to "
                "copy",
             me, shown(pt));
      return;
    }
    int rc = need_type(d, e, pt);
    if (rc == -EEXIST) {
      refuse(e, "%s points to %s, whose name another type of another size "
                "already took in this draft",
             me, shown(pt));
      return;
    }
    if (rc < 0) {
      refuse(e, "too many struct types in one draft");
      return;
    }
    snprintf(elem, sizeof elem, "%s", rn);
  } else {
    snprintf(elem, sizeof elem, "%s", scalar_name(pt, true));
  }
  /* The direction. */
  const char *dir;
  dt__pdir pd = p->attr_dir != DT__PD_NONE ? p->attr_dir : p->doc_dir;
  if (pd != DT__PD_NONE) {
    dir = pd == DT__PD_IN ? "in" : pd == DT__PD_OUT ? "out" : "inout";
    note(e, "from the header: %s is %s (%s)", me, dir,
         p->attr_dir != DT__PD_NONE ? "GCC access attribute"
                                    : "Doxygen @param");
    if (pd == DT__PD_OUT)
      note(e, "guessed: %s writes all of %s (an out buffer comes back "
              "whole, so bytes it leaves become 0 in the caller; write "
              "inout to keep them)",
           f->name, me);
  } else if (pt->is_const) {
    dir = "in";
  } else {
    dir = "inout";
    note(e, "guessed: %s is inout (not const; write out if %s only "
            "writes it, in if it only reads it)",
         me, f->name);
  }
  char len[64];
  draft_length(e, i, pt, len, sizeof len);
  sig(e, "%s %s %s[%s]", dir, elem, me, len);
}

/* Drafts the return type. */
static void draft_return(entry *e) {
  const dt__ctype *t = e->f->ret;
  if (t == NULL || t->kind == DT__CK_VOID) {
    sig(e, "void");
    return;
  }
  if (is_scalar(t)) {
    const char *name = scalar_name(t, false);
    if (name == NULL)
      refuse(e, "it returns %s, which dtask cannot pass", shown(t));
    else
      sig(e, "%s", name);
    return;
  }
  if (t->kind == DT__CK_POINTER && t->pointee != NULL &&
      t->pointee->kind == DT__CK_INT && t->pointee->is_char &&
      strcmp(t->pointee->c_name, "char") == 0) {
    sig(e, "cstring");
    note(e, "guessed: the char * it returns is a NUL-terminated string "
            "(copied back, each distinct string kept once)%s%s%s",
         t->pointee->is_const ? "" : "; it is not const: if the caller "
                                     "frees it (as after strdup), keep ",
         t->pointee->is_const ? "" : e->f->name,
         t->pointee->is_const ? "" : " local");
    return;
  }
  if (t->kind == DT__CK_POINTER) {
    refuse(e, "it returns a pointer (%s *): memory in the worker is not "
              "the caller's",
           t->pointee != NULL ? shown(t->pointee) : "?");
    return;
  }
  refuse(e, "it returns %s by value, which dtask cannot pass", shown(t));
}

/* Refuses the entry when two parameters would share a name in its
 * signature (out and out_, or an unnamed second one and arg2). */
static void check_names(entry *e) {
  char a[64], b[64];
  for (int i = 0; i < e->f->nparams; i++) {
    param_name(e->f, i, a, sizeof a);
    for (int j = i + 1; j < e->f->nparams; j++) {
      param_name(e->f, j, b, sizeof b);
      if (strcmp(a, b) == 0) {
        refuse(e, "parameters %d and %d would both be called %s in its "
                  "signature: rename one in a copy of the declaration",
               i + 1, j + 1, a);
        return;
      }
    }
  }
}

/* Drafts f's entry into d.  Returns 0 for a complete entry (its notes
 * say what was guessed), 1 for one with a placeholder, 2 for a refusal
 * (written as a comment), -ENOMEM. */
int dt__draft_add(dt__draft *d, const dt__cfunc *f) {
  entry *e = calloc(1, sizeof *e);
  if (e == NULL)
    return -ENOMEM;
  e->f = f;
  if (f->variadic)
    refuse(e, "it is variadic: its arguments cannot be described");
  else if (f->no_prototype)
    refuse(e, "it is declared without a prototype (%s()): its parameters "
              "are unknown",
           f->name);
  else if (f->too_many)
    refuse(e, "it takes more than %d parameters", DT__MAX_PARAMS);
  check_names(e);
  draft_return(e);
  sig(e, " %s(", f->name);
  for (int i = 0; i < f->nparams && e->level < 2; i++) {
    if (i > 0)
      sig(e, ", ");
    draft_param(d, e, i);
  }
  sig(e, ")");
  if (e->sig_full || e->notes_full)
    refuse(e, "its entry would be longer than dtask sig can write");
  char buf[520];
  if (e->level == 2) {
    emit(d, "\n# refused: %s (%s): %s\n", f->name,
         clean(f->where, false, buf, sizeof buf), e->refusal);
  } else {
    add_types(d, e);
    emit(d, "\n[[offload]]\n# %s, %s\n", f->name,
         clean(f->where, false, buf, sizeof buf));
    for (int i = 0; i < e->nnotes; i++)
      emit(d, "# %s\n", e->notes[i]);
    emit(d, "signature = \"%s\"\n", e->sig);
    if (f->library[0] != '\0')
      emit(d, "library = \"%s\"\n", clean(f->library, true, buf, sizeof buf));
  }
  int level = e->level;
  free(e);
  return ferror(d->mem) ? -ENOMEM : level;
}

/* Prints the draft: a header comment, the [types] the entries need, then
 * the entries.  Returns 0, or -EIO when out cannot take it. */
int dt__draft_print(const dt__draft *d, FILE *out) {
  char buf[520];
  fprintf(out,
          "# Drafted by dtask sig from %s.\n"
          "# Review each entry: 'guessed:' notes are inferences to confirm,\n"
          "# 'todo:' notes mark a LEN? that dtask check rejects until it is\n"
          "# replaced, 'from the header:' notes say what the header said.\n"
          "# Merge [types] into your config's own.\n",
          clean(d->source, false, buf, sizeof buf));
  if (d->ntypes > 0) {
    fprintf(out, "\n[types]\n");
    for (int i = 0; i < d->ntypes; i++)
      fprintf(out,
              "%s = { size = %llu, align = %llu } # %s, holds no pointers\n",
              d->types[i].name, (unsigned long long)d->types[i].size,
              (unsigned long long)d->types[i].align, d->types[i].what);
  }
  if (fflush(d->mem) != 0)
    return -ENOMEM;
  fwrite(d->text, 1, d->len, out);
  return ferror(out) ? -EIO : 0;
}
