/* dwarf.c: owns dtask sig's reading of function prototypes from the DWARF
 * debug info of a program or shared object (draft/draft.h says what a
 * reader fills and what it leaves to the rules).
 *
 * libdw is loaded with dlopen by dt__draft_dwarf (and left loaded: the
 * command ends right after): the shim, the runner and every other
 * command of the dtask binary never map it.  Each function taken from it
 * is held in a pointer of the type its header declares, so the compiler
 * checks every call.  The file is read through libdwfl's offline reporting, which
 * also finds a separate debug file by build-id or .gnu_debuglink (beside
 * the file, in its .debug/ folder or under /usr/lib/debug).
 *
 * A function is the external DW_TAG_subprogram of that name (or linkage
 * name); when several describe it, a definition beats a declaration, a
 * prototyped one an unprototyped one, and one naming all its parameters
 * one that does not (a program's DWARF declares, without parameter
 * names, the library functions it calls).  An inlined or cloned copy is
 * read through its DW_AT_abstract_origin.  Short of a definition, the
 * one whose code holds the address of the global function symbol of that
 * name is taken: an alias (glibc's printf is __printf's code).
 *
 * Everything is bounded: scopes are searched MAX_SCOPE deep, a chain of
 * typedefs and qualifiers is followed MAX_HOPS links, types nest
 * MAX_DEPTH deep (below that a type is DT__CK_OTHER "..."), and a
 * record's members are walked for its alignment and has_pointers without
 * following pointers, so a struct that points to itself ends. */
#include <dlfcn.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "draft/dwarf.h"

#define LIBDW "libdw.so.1"
#define MAX_SCOPE 8
#define MAX_HOPS 32
#define MAX_DEPTH 16
#define DEFINED 8 /* what being a definition weighs (score_of) */

/* What is taken from libdw (and, through it, from libelf). */
#define DW_API(X)                                                          \
  X(dwfl_begin) X(dwfl_end) X(dwfl_errmsg) X(dwfl_report_begin)            \
  X(dwfl_report_offline) X(dwfl_report_end) X(dwfl_build_id_find_elf)      \
  X(dwfl_standard_find_debuginfo) X(dwfl_offline_section_address)          \
  X(dwfl_module_getdwarf) X(dwfl_module_getelf) X(dwarf_get_units)         \
  X(dwarf_child) X(dwarf_siblingof) X(dwarf_tag) X(dwarf_diename)          \
  X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_formref_die)               \
  X(dwarf_formstring) X(dwarf_formudata) X(dwarf_formsdata)                \
  X(dwarf_formflag) X(dwarf_decl_file) X(dwarf_decl_line)                  \
  X(dwarf_bytesize) X(elf_nextscn) X(elf_getdata) X(elf_strptr)            \
  X(gelf_getshdr) X(gelf_getdyn) X(dwfl_module_getsymtab)                 \
  X(dwfl_module_getsym_info) X(dwarf_haspc) X(dwarf_diecu) X(dwarf_srclang)

#define DW_MEMBER(f) __typeof__(f) *f;
typedef struct api {
  void *lib;
  DW_API(DW_MEMBER)
} api;

/* Formats into dst (n bytes), truncating. */
DT__PRINTF(3, 4)
static void fmt(char *dst, size_t n, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  vsnprintf(dst, n, f, ap);
  va_end(ap);
}

/* Fills err (if not NULL; no line or column) and returns rc. */
DT__PRINTF(3, 4)
static int fail(dt__error *err, int rc, const char *f, ...) {
  if (err != NULL) {
    err->line = err->col = 0;
    va_list ap;
    va_start(ap, f);
    vsnprintf(err->msg, sizeof err->msg, f, ap);
    va_end(ap);
  }
  return rc;
}

/* Loads libdw into a; 0, or -ELIBACC with err filled (a->lib NULL). */
static int api_load(api *a, dt__error *err) {
  memset(a, 0, sizeof *a);
  a->lib = dlopen(LIBDW, RTLD_NOW | RTLD_LOCAL);
  if (a->lib == NULL)
    return fail(err, -ELIBACC,
                "cannot load " LIBDW " (%s): install it: apt-get install "
                "libdw1",
                dlerror());
  const char *missing = NULL;
#define DW_LOAD(f)                                                         \
  if (missing == NULL && (a->f = (__typeof__(f) *)dlsym(a->lib, #f)) == NULL) \
    missing = #f;
  DW_API(DW_LOAD)
#undef DW_LOAD
  if (missing == NULL)
    return 0;
  dlclose(a->lib);
  a->lib = NULL;
  return fail(err, -ELIBACC,
              LIBDW " has no %s: install a newer one: apt-get install libdw1",
              missing);
}

/* ---------------------------------------------------------- DIE helpers */

/* The DIE that die's DW_AT_type names, in out; NULL for none (void). */
static Dwarf_Die *type_of(const api *a, Dwarf_Die *die, Dwarf_Die *out) {
  Dwarf_Attribute at;
  if (a->dwarf_attr_integrate(die, DW_AT_type, &at) == NULL)
    return NULL;
  return a->dwarf_formref_die(&at, out);
}

/* The DIE that die's attribute name refers to (not integrated), or NULL. */
static Dwarf_Die *ref_of(const api *a, Dwarf_Die *die, int name,
                         Dwarf_Die *out) {
  Dwarf_Attribute at;
  if (a->dwarf_attr(die, (unsigned)name, &at) == NULL)
    return NULL;
  return a->dwarf_formref_die(&at, out);
}

/* Moves die to its next sibling; false at the last. */
static bool sibling(const api *a, Dwarf_Die *die) {
  Dwarf_Die next;
  if (a->dwarf_siblingof(die, &next) != 0)
    return false;
  *die = next;
  return true;
}

/* die's unsigned constant attribute name (not integrated). */
static bool udata_of(const api *a, Dwarf_Die *die, int name,
                     Dwarf_Word *out) {
  Dwarf_Attribute at;
  return a->dwarf_attr(die, (unsigned)name, &at) != NULL &&
         a->dwarf_formudata(&at, out) == 0;
}

/* die's flag attribute name, following abstract origins and
 * specifications when integrate. */
static bool flag_of(const api *a, Dwarf_Die *die, int name, bool integrate) {
  Dwarf_Attribute at;
  bool v = false;
  Dwarf_Attribute *p = integrate
                           ? a->dwarf_attr_integrate(die, (unsigned)name, &at)
                           : a->dwarf_attr(die, (unsigned)name, &at);
  return p != NULL && a->dwarf_formflag(p, &v) == 0 && v;
}

static bool is_qualifier(int tag) {
  return tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
         tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type ||
         tag == DW_TAG_immutable_type;
}

/* Strips typedefs and qualifiers off die into out; false for void (or a
 * chain too long). */
static bool strip(const api *a, Dwarf_Die *die, Dwarf_Die *out) {
  *out = *die;
  for (int hops = 0; hops < MAX_HOPS; hops++) {
    int tag = a->dwarf_tag(out);
    if (tag != DW_TAG_typedef && !is_qualifier(tag))
      return true;
    Dwarf_Die next;
    if (type_of(a, out, &next) == NULL)
      return false;
    *out = next;
  }
  return false;
}

static bool is_valist_name(const char *s) {
  return strcmp(s, "va_list") == 0 || strcmp(s, "__gnuc_va_list") == 0 ||
         strcmp(s, "__builtin_va_list") == 0;
}

static bool is_valist_tag(const api *a, Dwarf_Die *die) {
  const char *s = a->dwarf_diename(die);
  return a->dwarf_tag(die) == DW_TAG_structure_type && s != NULL &&
         strcmp(s, "__va_list_tag") == 0;
}

/* ---------------------------------------------------------------- types */

/* An integer's C spelling from its DW_AT_name: GCC's "long unsigned int"
 * becomes "unsigned long", "short int" "short"; a name with a word it
 * does not know ("__int128 unsigned", "wchar_t") keeps that word. */
static void int_name(const char *dw, char *out, size_t n) {
  int nlong = 0;
  bool uns = false, sig = false, shrt = false, chr = false;
  char other[64] = "";
  char buf[96];
  fmt(buf, sizeof buf, "%s", dw);
  for (char *save = NULL, *w = strtok_r(buf, " ", &save); w != NULL;
       w = strtok_r(NULL, " ", &save)) {
    if (strcmp(w, "long") == 0)
      nlong++;
    else if (strcmp(w, "unsigned") == 0)
      uns = true;
    else if (strcmp(w, "signed") == 0)
      sig = true;
    else if (strcmp(w, "short") == 0)
      shrt = true;
    else if (strcmp(w, "char") == 0)
      chr = true;
    else if (strcmp(w, "int") != 0)
      fmt(other, sizeof other, "%s", w);
  }
  const char *base = other[0] != '\0' ? other
                     : chr            ? "char"
                     : shrt           ? "short"
                     : nlong >= 2     ? "long long"
                     : nlong == 1     ? "long"
                                      : "int";
  const char *pre = uns ? "unsigned " : chr && sig ? "signed " : "";
  fmt(out, n, "%s%s", pre, base);
}

/* How t is written where it is used: its outermost typedef, else its C
 * name, with its const. */
static void spell(const dt__ctype *t, char *out, size_t n) {
  const char *base = t->ntypedefs > 0 ? t->typedefs[0] : t->c_name;
  if (!t->is_const)
    fmt(out, n, "%s", base);
  else if (t->kind == DT__CK_POINTER && t->ntypedefs == 0)
    fmt(out, n, "%sconst", base);
  else
    fmt(out, n, "const %s", base);
}

static dt__ctype *conv(const api *a, Dwarf_Die *die, int depth);

static dt__ctype *new_named(dt__ckind kind, const char *c_name) {
  dt__ctype *t = dt__ctype_new(kind);
  if (t != NULL)
    fmt(t->c_name, sizeof t->c_name, "%s", c_name);
  return t;
}

/* A record's alignment: DW_AT_alignment, else the largest of its
 * members' (base types their size up to 16, pointers their size, arrays
 * their element's, records recursively), lowered while it does not
 * divide the size (a packed record).  With top (the record itself, not
 * one nested in it), sets *flex when a member is an array without a
 * bound (a flexible array member).  Sets *ptrs when a member at any
 * depth is a pointer; pointers are never followed. */
static uint64_t record_align(const api *a, Dwarf_Die *rec, int depth,
                             bool top, bool *ptrs, bool *flex) {
  Dwarf_Word explicit_al = 0;
  bool has_explicit = udata_of(a, rec, DW_AT_alignment, &explicit_al);
  uint64_t al = 0;
  Dwarf_Die m, td, t;
  bool more = depth < MAX_DEPTH && a->dwarf_child(rec, &m) == 0;
  for (; more; more = sibling(a, &m)) {
    int mtag = a->dwarf_tag(&m);
    if (mtag != DW_TAG_member && mtag != DW_TAG_inheritance)
      continue;
    if (type_of(a, &m, &td) == NULL || !strip(a, &td, &t))
      continue;
    Dwarf_Die sub;
    Dwarf_Word bound;
    if (top && a->dwarf_tag(&t) == DW_TAG_array_type &&
        a->dwarf_child(&t, &sub) == 0 &&
        !udata_of(a, &sub, DW_AT_count, &bound) &&
        !udata_of(a, &sub, DW_AT_upper_bound, &bound))
      *flex = true; /* T data[]: its length is not in the type */
    for (int hops = 0; a->dwarf_tag(&t) == DW_TAG_array_type; hops++)
      if (hops == MAX_HOPS || type_of(a, &t, &td) == NULL ||
          !strip(a, &td, &t))
        break;
    uint64_t mal = 0;
    int sz = a->dwarf_bytesize(&t);
    switch (a->dwarf_tag(&t)) {
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type:
    case DW_TAG_ptr_to_member_type:
      *ptrs = true;
      mal = sz > 0 ? (uint64_t)sz : 8;
      break;
    case DW_TAG_base_type:
    case DW_TAG_enumeration_type:
      mal = sz > 16 ? 16 : sz > 0 ? (uint64_t)sz : 0;
      break;
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
      mal = record_align(a, &t, depth + 1, false, ptrs, flex);
      break;
    default:
      break;
    }
    Dwarf_Word own = 0; /* _Alignas on the member */
    if (udata_of(a, &m, DW_AT_alignment, &own) && own > mal)
      mal = own;
    if (mal > al)
      al = mal;
  }
  if (has_explicit)
    return explicit_al;
  int size = a->dwarf_bytesize(rec);
  while (al > 1 && size > 0 && (uint64_t)size % al != 0)
    al /= 2;
  return al;
}

/* A struct, union or class. */
static dt__ctype *conv_record(const api *a, Dwarf_Die *d, int depth) {
  dt__ctype *t = dt__ctype_new(DT__CK_RECORD);
  if (t == NULL)
    return NULL;
  int tag = a->dwarf_tag(d);
  const char *kw = tag == DW_TAG_union_type   ? "union"
                   : tag == DW_TAG_class_type ? "class"
                                              : "struct";
  const char *name = a->dwarf_diename(d);
  fmt(t->tag, sizeof t->tag, "%s", name != NULL ? name : "");
  fmt(t->c_name, sizeof t->c_name, "%s%s%s", kw, name != NULL ? " " : "",
      name != NULL ? name : "");
  t->is_union = tag == DW_TAG_union_type;
  t->complete = !flag_of(a, d, DW_AT_declaration, false);
  int size = a->dwarf_bytesize(d);
  t->size = size > 0 ? (uint64_t)size : 0;
  t->align = t->complete ? record_align(a, d, depth, true, &t->has_pointers,
                                         &t->has_flexible)
                         : 0;
  return t;
}

/* An enum: its size, and its signedness from its underlying type, else
 * its DW_AT_encoding, else whether an enumerator is negative. */
static dt__ctype *conv_enum(const api *a, Dwarf_Die *d) {
  dt__ctype *t = dt__ctype_new(DT__CK_ENUM);
  if (t == NULL)
    return NULL;
  const char *name = a->dwarf_diename(d);
  fmt(t->tag, sizeof t->tag, "%s", name != NULL ? name : "");
  fmt(t->c_name, sizeof t->c_name, "enum%s%s", name != NULL ? " " : "",
      name != NULL ? name : "");
  t->complete = !flag_of(a, d, DW_AT_declaration, false);
  int size = a->dwarf_bytesize(d);
  t->size = t->align = size > 0 ? (uint64_t)size : 0;
  Dwarf_Die u, us;
  Dwarf_Word enc = 0;
  if (type_of(a, d, &u) != NULL && strip(a, &u, &us) &&
      udata_of(a, &us, DW_AT_encoding, &enc)) {
    t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
  } else if (udata_of(a, d, DW_AT_encoding, &enc)) {
    t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
  } else if (a->dwarf_child(d, &u) == 0) {
    do {
      Dwarf_Attribute at;
      Dwarf_Sword v = 0;
      if (a->dwarf_tag(&u) == DW_TAG_enumerator &&
          a->dwarf_attr(&u, DW_AT_const_value, &at) != NULL &&
          a->dwarf_formsdata(&at, &v) == 0 && v < 0)
        t->is_signed = true;
    } while (sibling(a, &u));
  }
  return t;
}

static dt__ctype *conv_base(const api *a, Dwarf_Die *d) {
  Dwarf_Word enc = 0;
  udata_of(a, d, DW_AT_encoding, &enc);
  int size = a->dwarf_bytesize(d);
  const char *name = a->dwarf_diename(d);
  dt__ckind kind = DT__CK_OTHER;
  switch (enc) {
  case DW_ATE_boolean:
  case DW_ATE_signed:
  case DW_ATE_unsigned:
  case DW_ATE_signed_char:
  case DW_ATE_unsigned_char:
  case DW_ATE_UTF:
    kind = DT__CK_INT;
    break;
  case DW_ATE_float:
    if (size == 4 || size == 8 || size == 16)
      kind = DT__CK_REAL;
    break;
  default:
    break;
  }
  dt__ctype *t = dt__ctype_new(kind);
  if (t == NULL)
    return NULL;
  t->size = size > 0 ? (uint64_t)size : 0;
  t->align = t->size > 16 ? 16 : t->size;
  t->is_bool = enc == DW_ATE_boolean;
  t->is_char = enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char;
  t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
  if (kind == DT__CK_INT && !t->is_bool && name != NULL)
    int_name(name, t->c_name, sizeof t->c_name);
  else
    fmt(t->c_name, sizeof t->c_name, "%s", name != NULL ? name : "?");
  return t;
}

/* A function type, the pointee of a function pointer: only its kind
 * matters to the rules, which refuse it. */
static dt__ctype *conv_function(void) {
  return new_named(DT__CK_FUNCTION, "a function");
}

/* A pointer; a pointer to struct __va_list_tag is a va_list parameter
 * as x86-64 passes it. */
static dt__ctype *conv_pointer(const api *a, Dwarf_Die *d, int depth) {
  Dwarf_Die p, ps;
  Dwarf_Die *pd = type_of(a, d, &p);
  if (pd != NULL && strip(a, pd, &ps) && is_valist_tag(a, &ps))
    return new_named(DT__CK_VALIST, "va_list");
  dt__ctype *t = dt__ctype_new(DT__CK_POINTER);
  if (t == NULL)
    return NULL;
  int size = a->dwarf_bytesize(d);
  t->size = t->align = size > 0 ? (uint64_t)size : 8;
  t->pointee = conv(a, pd, depth + 1);
  if (t->pointee == NULL) {
    dt__ctype_free(t);
    return NULL;
  }
  char inner[96];
  spell(t->pointee, inner, sizeof inner);
  if (t->pointee->kind == DT__CK_FUNCTION && t->pointee->ntypedefs == 0)
    fmt(t->c_name, sizeof t->c_name, "a function pointer");
  else
    fmt(t->c_name, sizeof t->c_name, "%s%s*", inner,
        inner[0] != '\0' && inner[strlen(inner) - 1] == '*' ? "" : " ");
  return t;
}

/* An array: one ARRAY per dimension, outermost first. */
static dt__ctype *conv_array(const api *a, Dwarf_Die *d, int depth) {
  uint64_t counts[8];
  int ndim = 0;
  Dwarf_Die s, e;
  bool more = a->dwarf_child(d, &s) == 0;
  for (; more; more = sibling(a, &s)) {
    if (a->dwarf_tag(&s) != DW_TAG_subrange_type || ndim == 8)
      continue;
    Dwarf_Word v = 0;
    uint64_t c = 0;
    if (udata_of(a, &s, DW_AT_count, &v))
      c = v;
    else if (udata_of(a, &s, DW_AT_upper_bound, &v))
      c = v + 1;
    counts[ndim++] = c;
  }
  dt__ctype *t = conv(a, type_of(a, d, &e), depth + 1);
  for (int i = ndim - 1; i >= 0 && t != NULL; i--) {
    dt__ctype *arr = dt__ctype_new(DT__CK_ARRAY);
    if (arr == NULL) {
      dt__ctype_free(t);
      return NULL;
    }
    arr->pointee = t;
    arr->count = counts[i];
    arr->size = counts[i] * t->size;
    arr->align = t->align;
    char inner[96];
    spell(t, inner, sizeof inner);
    char *dims = t->kind == DT__CK_ARRAY && t->ntypedefs == 0
                     ? strchr(inner, '[')
                     : NULL;
    if (dims != NULL)
      fmt(arr->c_name, sizeof arr->c_name, "%.*s[%llu]%s",
          (int)(dims - inner), inner, (unsigned long long)counts[i], dims);
    else
      fmt(arr->c_name, sizeof arr->c_name, "%s [%llu]", inner,
          (unsigned long long)counts[i]);
    t = arr;
  }
  return t;
}

/* The type under the typedefs and qualifiers. */
static dt__ctype *conv_real(const api *a, Dwarf_Die *d, int depth) {
  const char *name = a->dwarf_diename(d);
  switch (a->dwarf_tag(d)) {
  case DW_TAG_base_type:
    return conv_base(a, d);
  case DW_TAG_enumeration_type:
    return conv_enum(a, d);
  case DW_TAG_structure_type:
    if (is_valist_tag(a, d))
      return new_named(DT__CK_VALIST, "va_list");
    return conv_record(a, d, depth);
  case DW_TAG_union_type:
  case DW_TAG_class_type:
    return conv_record(a, d, depth);
  case DW_TAG_pointer_type:
    return conv_pointer(a, d, depth);
  case DW_TAG_subroutine_type:
    return conv_function();
  case DW_TAG_array_type:
    return conv_array(a, d, depth);
  default:
    return new_named(DT__CK_OTHER, name != NULL ? name : "?");
  }
}

/* The dt__ctype of the type DIE die (NULL: void), or NULL when out of
 * memory.  The caller frees it. */
static dt__ctype *conv(const api *a, Dwarf_Die *die, int depth) {
  char tds[DT__CTYPE_CHAIN][64];
  int ntd = 0;
  bool is_const = false;
  dt__ctype *t = NULL;
  Dwarf_Die cur, next;
  bool have = die != NULL;
  if (have)
    cur = *die;
  int hops = 0;
  for (; have && hops < MAX_HOPS; hops++) {
    int tag = a->dwarf_tag(&cur);
    if (tag == DW_TAG_typedef) {
      const char *name = a->dwarf_diename(&cur);
      if (name != NULL && ntd < DT__CTYPE_CHAIN)
        fmt(tds[ntd++], sizeof tds[0], "%s", name);
      if (name != NULL && is_valist_name(name)) {
        t = new_named(DT__CK_VALIST, "va_list");
        break;
      }
    } else if (is_qualifier(tag)) {
      is_const |= tag == DW_TAG_const_type;
    } else {
      break;
    }
    have = type_of(a, &cur, &next) != NULL;
    if (have)
      cur = next;
  }
  if (t == NULL && !have)
    t = new_named(DT__CK_VOID, "void");
  else if (t == NULL && (hops == MAX_HOPS || depth >= MAX_DEPTH))
    t = new_named(DT__CK_OTHER, "...");
  else if (t == NULL)
    t = conv_real(a, &cur, depth);
  if (t == NULL)
    return NULL;
  t->ntypedefs = ntd;
  memcpy(t->typedefs, tds, sizeof tds[0] * (size_t)ntd);
  t->is_const |= is_const;
  return t;
}

/* ------------------------------------------------------------ functions */

typedef struct search {
  const api *a;
  dt__cfunc *funcs;
  size_t n;
  Dwarf_Die *best; /* n: the best DIE of each function so far */
  int *score;      /* n: its score, 0 for none */
} search;

/* How good a description of its function fn is: definition over
 * declaration, prototyped, every parameter named, a place to cite. */
static int score_of(const api *a, Dwarf_Die *fn) {
  bool named = true;
  Dwarf_Die p;
  bool more = a->dwarf_child(fn, &p) == 0;
  for (; more; more = sibling(a, &p))
    if (a->dwarf_tag(&p) == DW_TAG_formal_parameter &&
        a->dwarf_diename(&p) == NULL)
      named = false;
  return 1 + (flag_of(a, fn, DW_AT_declaration, false) ? 0 : DEFINED) +
         (flag_of(a, fn, DW_AT_prototyped, true) ? 4 : 0) + (named ? 2 : 0) +
         (a->dwarf_decl_file(fn) != NULL ? 1 : 0);
}

/* Moves an inlined or cloned copy fn to the abstract instance it was
 * made from. */
static void to_origin(const api *a, Dwarf_Die *fn) {
  Dwarf_Die origin;
  for (int i = 0; i < MAX_HOPS; i++) {
    if (ref_of(a, fn, DW_AT_abstract_origin, &origin) == NULL)
      break;
    *fn = origin;
  }
}

/* Weighs the subprogram DIE die for each wanted function it names. */
static void consider(search *s, Dwarf_Die *die) {
  const api *a = s->a;
  Dwarf_Die fn = *die;
  to_origin(a, &fn);
  const char *name = a->dwarf_diename(&fn), *link = NULL;
  Dwarf_Attribute at;
  if (a->dwarf_attr_integrate(&fn, DW_AT_linkage_name, &at) != NULL ||
      a->dwarf_attr_integrate(&fn, DW_AT_MIPS_linkage_name, &at) != NULL)
    link = a->dwarf_formstring(&at);
  if (name == NULL && link == NULL)
    return;
  int score = -1;
  for (size_t i = 0; i < s->n; i++) {
    const char *want = s->funcs[i].name;
    if ((name == NULL || strcmp(name, want) != 0) &&
        (link == NULL || strcmp(link, want) != 0))
      continue;
    if (!flag_of(a, &fn, DW_AT_external, true))
      return;
    if (score < 0)
      score = score_of(a, &fn);
    if (score > s->score[i]) {
      s->score[i] = score;
      s->best[i] = fn;
    }
  }
}

/* Searches the children of scope for subprograms, into nested scopes. */
static void scan(search *s, Dwarf_Die *scope, int depth) {
  Dwarf_Die c;
  bool more = depth < MAX_SCOPE && s->a->dwarf_child(scope, &c) == 0;
  for (; more; more = sibling(s->a, &c)) {
    int tag = s->a->dwarf_tag(&c);
    if (tag == DW_TAG_subprogram)
      consider(s, &c);
    if (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
        tag == DW_TAG_namespace)
      scan(s, &c, depth + 1);
  }
}

/* The subprogram whose code holds the address of mod's global function
 * symbol name, in out: a function the DWARF knows by another name (glibc's
 * printf is an alias of __printf).  Units are searched by their ranges,
 * not .debug_aranges (clang writes none); bias is dw's (getdwarf). */
static bool by_symbol(const api *a, Dwfl_Module *mod, Dwarf *dw,
                      Dwarf_Addr bias, const char *name, Dwarf_Die *out) {
  int nsym = a->dwfl_module_getsymtab(mod);
  /* fopen@@GLIBC_2.2.5 is fopen, not fopen@GLIBC_2.1 (an old one's). */
  size_t len = strlen(name);
  for (int i = 1; i < nsym; i++) {
    GElf_Sym sym;
    GElf_Addr addr, sbias;
    GElf_Word shndx;
    Elf *elf;
    const char *s =
        a->dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &sbias);
    if (s == NULL || strncmp(s, name, len) != 0 ||
        (s[len] != '\0' && strncmp(s + len, "@@", 2) != 0) ||
        sym.st_shndx == SHN_UNDEF ||
        GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
        GELF_ST_BIND(sym.st_info) == STB_LOCAL)
      continue;
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie, c;
    uint8_t unit_type;
    while (a->dwarf_get_units(dw, cu, &cu, NULL, &unit_type, &cudie,
                              NULL) == 0) {
      if (a->dwarf_haspc(&cudie, addr - bias) != 1)
        continue;
      bool more = a->dwarf_child(&cudie, &c) == 0;
      for (; more; more = sibling(a, &c))
        if (a->dwarf_tag(&c) == DW_TAG_subprogram &&
            a->dwarf_haspc(&c, addr - bias) == 1) {
          *out = c;
          to_origin(a, out);
          return true;
        }
    }
    return false;
  }
  return false;
}

/* Whether fn has parameters of its own (a definition whose
 * DW_AT_specification holds them has none). */
static bool has_params(const api *a, Dwarf_Die *fn) {
  Dwarf_Die p;
  bool more = a->dwarf_child(fn, &p) == 0;
  for (; more; more = sibling(a, &p))
    if (a->dwarf_tag(&p) == DW_TAG_formal_parameter ||
        a->dwarf_tag(&p) == DW_TAG_unspecified_parameters)
      return true;
  return false;
}

/* Fills f from the subprogram DIE fn; 0 or -ENOMEM (f then holds what
 * was filled, for dt__cfunc_clear). */
static int fill(const api *a, Dwarf_Die *fn, dt__cfunc *f) {
  f->found = true;
  const char *file = a->dwarf_decl_file(fn);
  int line = 0;
  if (file != NULL && a->dwarf_decl_line(fn, &line) == 0)
    fmt(f->where, sizeof f->where, "%s:%d", file, line);
  else
    fmt(f->where, sizeof f->where, "%s", file != NULL ? file : "");
  Dwarf_Die t, spec, p;
  if ((f->ret = conv(a, type_of(a, fn, &t), 0)) == NULL)
    return -ENOMEM;
  Dwarf_Die *holder = fn;
  if (!has_params(a, fn) && ref_of(a, fn, DW_AT_specification, &spec))
    holder = &spec;
  /* C says int f() without DW_AT_prototyped (C++ never writes it). */
  Dwarf_Die cu;
  int lang = a->dwarf_diecu(fn, &cu, NULL, NULL) != NULL
                 ? a->dwarf_srclang(&cu)
                 : -1;
  f->no_prototype = (lang == DW_LANG_C89 || lang == DW_LANG_C ||
                     lang == DW_LANG_C99 || lang == DW_LANG_C11) &&
                    !flag_of(a, holder, DW_AT_prototyped, true);
  bool more = a->dwarf_child(holder, &p) == 0;
  for (; more; more = sibling(a, &p)) {
    int tag = a->dwarf_tag(&p);
    if (tag == DW_TAG_unspecified_parameters)
      f->variadic = true;
    if (tag != DW_TAG_formal_parameter)
      continue;
    if (f->nparams == DT__MAX_PARAMS) {
      f->too_many = true;
      continue;
    }
    dt__cparam *cp = &f->params[f->nparams];
    const char *name = a->dwarf_diename(&p);
    fmt(cp->name, sizeof cp->name, "%s", name != NULL ? name : "");
    cp->attr_len = -1;
    if ((cp->type = conv(a, type_of(a, &p, &t), 0)) == NULL)
      return -ENOMEM;
    f->nparams++;
  }
  return 0;
}

/* The DT_SONAME of elf, else "" (a program, or a library without one). */
static void soname_of(const api *a, Elf *elf, char *out, size_t n) {
  out[0] = '\0';
  Elf_Scn *scn = NULL;
  while (elf != NULL && (scn = a->elf_nextscn(elf, scn)) != NULL) {
    GElf_Shdr sh;
    if (a->gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_DYNAMIC ||
        sh.sh_entsize == 0)
      continue;
    Elf_Data *data = a->elf_getdata(scn, NULL);
    for (size_t i = 0; data != NULL && i < sh.sh_size / sh.sh_entsize; i++) {
      GElf_Dyn dyn;
      if (a->gelf_getdyn(data, (int)i, &dyn) == NULL || dyn.d_tag == DT_NULL)
        break;
      const char *s = dyn.d_tag == DT_SONAME
                          ? a->elf_strptr(elf, sh.sh_link, dyn.d_un.d_val)
                          : NULL;
      if (s != NULL) {
        fmt(out, n, "%s", s);
        return;
      }
    }
  }
}

/* Reads funcs[0..n) (each .name set by the caller) from the DWARF of the
 * ELF object at path (a program or a shared object, built with -g), or of
 * its separate debug file found by build-id/.gnu_debuglink.
 * Returns 0 with funcs[i].found telling which were found, or a negative
 * errno with err (a sentence, no line or column) saying what is wrong
 * and what to do: -ENOENT path missing; -ENOEXEC not an ELF object;
 * -ENODATA no debug info ("PATH is stripped / has no DWARF: rebuild it
 * with -g"); -ELIBACC libdw.so.1 cannot be loaded ("install it: apt-get
 * install libdw1").
 *
 * Each funcs[i] must own nothing or what an earlier read left in it: it is
 * cleared first (dt__cfunc_clear), and on failure every one is left
 * cleared.  On success a found function owns its ret and its parameters'
 * types, which the caller frees with dt__cfunc_clear; where is the
 * declaration's "file:line" (the file as the DWARF names it, absolute or
 * relative to the compile directory), library the object's DT_SONAME or
 * "", ret a DT__CK_VOID type for void.  Other errors: -EACCES and the
 * like from open (err says), -ENOEXEC also for a file that is not
 * regular or that libdw cannot read, -ENOMEM. */
int dt__draft_dwarf(const char *path, dt__cfunc *funcs, size_t n,
                    dt__error *err) {
  for (size_t i = 0; i < n; i++)
    dt__cfunc_clear(&funcs[i]);
  if (err != NULL)
    err->msg[0] = '\0';
  /* O_NONBLOCK: a FIFO must not hang the command (refused below). */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int rc = -errno;
    return fail(err, rc, "cannot open %s: %s: give the path of a "
                "program or shared object built with -g", path, strerror(-rc));
  }
  struct stat st;
  unsigned char magic[SELFMAG];
  int rc = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    rc = fail(err, -ENOEXEC, "%s is not a regular file: give the "
              "path of a program or shared object", path);
  else if (pread(fd, magic, SELFMAG, 0) != SELFMAG ||
           memcmp(magic, ELFMAG, SELFMAG) != 0)
    rc = fail(err, -ENOEXEC, "%s is not an ELF object: give the "
              "program or shared object itself", path);
  api a;
  if (rc == 0)
    rc = api_load(&a, err);
  if (rc < 0) {
    close(fd);
    return rc;
  }

  search s = {.a = &a, .funcs = funcs, .n = n};
  char *debuginfo_path = NULL; /* the default: .debug, /usr/lib/debug */
  Dwfl_Callbacks cb = {.find_elf = a.dwfl_build_id_find_elf,
                       .find_debuginfo = a.dwfl_standard_find_debuginfo,
                       .section_address = a.dwfl_offline_section_address,
                       .debuginfo_path = &debuginfo_path};
  Dwfl *dwfl = a.dwfl_begin(&cb);
  Dwfl_Module *mod = NULL;
  Dwarf *dw = NULL;
  Dwarf_Addr bias = 0;
  if (dwfl == NULL) {
    rc = fail(err, -ENOMEM, "out of memory reading %s", path);
    goto out;
  }
  a.dwfl_report_begin(dwfl);
  mod = a.dwfl_report_offline(dwfl, path, path, fd);
  if (mod == NULL) {
    rc = fail(err, -ENOEXEC, "libdw cannot read %s (%s): give an "
              "intact program or shared object", path, a.dwfl_errmsg(-1));
    goto out;
  }
  fd = -1; /* libdwfl's now */
  a.dwfl_report_end(dwfl, NULL, NULL);
  /* A damaged object has no Elf (or no section) for libdw. */
  Elf *elf = a.dwfl_module_getelf(mod, &bias);
  if (elf == NULL || a.elf_nextscn(elf, NULL) == NULL) {
    rc = fail(err, -ENOEXEC, "libdw cannot read %s (%s): give an "
              "intact program or shared object", path,
              elf == NULL ? a.dwfl_errmsg(-1) : "no section");
    goto out;
  }
  if ((dw = a.dwfl_module_getdwarf(mod, &bias)) == NULL) {
    rc = fail(err, -ENODATA, "%s is stripped or has no DWARF debug "
              "info: rebuild it with -g, or install its debug symbols",
              path);
    goto out;
  }
  s.best = calloc(n > 0 ? n : 1, sizeof *s.best);
  s.score = calloc(n > 0 ? n : 1, sizeof *s.score);
  if (s.best == NULL || s.score == NULL) {
    rc = fail(err, -ENOMEM, "out of memory reading %s", path);
    goto out;
  }
  Dwarf_CU *cu = NULL;
  Dwarf_Die cudie;
  uint8_t unit_type;
  while (a.dwarf_get_units(dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0)
    scan(&s, &cudie, 0);

  char library[sizeof funcs[0].library];
  soname_of(&a, elf, library, sizeof library);
  for (size_t i = 0; i < n && rc == 0; i++) {
    /* Short of a definition, one under another name is better. */
    bool alias = s.score[i] <= DEFINED &&
                 by_symbol(&a, mod, dw, bias, funcs[i].name, &s.best[i]);
    if (s.score[i] == 0 && !alias)
      continue;
    fmt(funcs[i].library, sizeof funcs[i].library, "%s", library);
    if (fill(&a, &s.best[i], &funcs[i]) < 0)
      rc = fail(err, -ENOMEM, "out of memory reading %s", path);
  }
out:
  if (rc < 0)
    for (size_t i = 0; i < n; i++)
      dt__cfunc_clear(&funcs[i]);
  free(s.best);
  free(s.score);
  if (dwfl != NULL)
    a.dwfl_end(dwfl);
  if (fd >= 0)
    close(fd);
  /* libdw stays mapped until the command exits: unloading a library that
   * has thread-local data crashes LeakSanitizer's exit scan, and dtask
   * sig ends right after this read. */
  return rc;
}
