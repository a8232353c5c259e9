/* clang.c: dtask sig's header reader.
 *
 * This file owns the conversation with libclang: it loads the library
 * with dlopen (so that LLVM is mapped only into this command, never into
 * the shim or a runner), parses one header as C, finds the declarations
 * of the wanted functions and describes each in the model of
 * draft/draft.h: types through their typedef chains, sizes and
 * alignments from clang's own layout, directions from Doxygen's
 * @param[in]/[out] and from GCC access attributes written in the header.
 * It decides nothing about the signature language (draft/rules.c does).
 *
 * libclang's C API is stable across releases (its types are plain
 * structs passed by value), so the few types and functions used are
 * declared here rather than taken from libclang-14-dev, which would make
 * every build pull in LLVM's static archives.  The values below were
 * checked against clang-c/Index.h of LLVM 14. */
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "draft/clang.h"
#include "draft/draft.h"

/* ------------------------------------------------------ libclang's ABI */

typedef void *CXIndex;
typedef void *CXTranslationUnit;
typedef void *CXFile;
typedef void *CXDiagnostic;
typedef struct {
  const void *data;
  unsigned flags;
} CXString;
typedef struct {
  int kind;
  int xdata;
  const void *data[3];
} CXCursor;
typedef struct {
  int kind;
  void *data[2];
} CXType;
typedef struct {
  const void *ptr_data[2];
  unsigned int_data;
} CXSourceLocation;
typedef struct {
  const void *ptr_data[2];
  unsigned begin, end;
} CXSourceRange;
typedef struct {
  unsigned int_data[4];
  void *ptr_data;
} CXToken;
typedef struct {
  const void *node;
  CXTranslationUnit tu;
} CXComment;
struct CXUnsavedFile {
  const char *name;
  const char *contents;
  unsigned long length;
};
typedef int (*CXCursorVisitor)(CXCursor, CXCursor, void *);
typedef int (*CXFieldVisitor)(CXCursor, void *);

enum {
  CXT_Void = 2, CXT_Bool = 3, CXT_Char_U = 4, CXT_UChar = 5, CXT_UShort = 8,
  CXT_UInt = 9, CXT_ULong = 10, CXT_ULongLong = 11, CXT_Char_S = 13,
  CXT_SChar = 14, CXT_WChar = 15, CXT_Short = 16, CXT_Int = 17,
  CXT_Long = 18, CXT_LongLong = 19, CXT_Float = 21, CXT_Double = 22,
  CXT_LongDouble = 23, CXT_Pointer = 101, CXT_Record = 105, CXT_Enum = 106,
  CXT_Typedef = 107, CXT_FunctionNoProto = 110, CXT_FunctionProto = 111,
  CXT_ConstantArray = 112, CXT_IncompleteArray = 114, CXT_Elaborated = 119,
  CXT_Attributed = 163
};
enum {
  CXC_UnionDecl = 3, CXC_FunctionDecl = 8, CXC_ParmDecl = 10
};
enum { CXVisit_Break = 0, CXVisit_Continue = 1 };
enum { CXDiag_Error = 3, CXDiag_Fatal = 4 };
enum { CXTU_SkipFunctionBodies = 0x40, CXTU_KeepGoing = 0x200 };
enum { CXComment_ParamCommand = 7 };
enum { CXToken_Punctuation = 0, CXToken_Identifier = 2, CXToken_Literal = 3 };

/* The functions used, loaded by name: X(return type, name, parameters). */
#define DT__CLANG_FUNCS(X)                                                     \
  X(CXIndex, clang_createIndex, (int, int))                                    \
  X(void, clang_disposeIndex, (CXIndex))                                       \
  X(int, clang_parseTranslationUnit2,                                          \
    (CXIndex, const char *, const char *const *, int, struct CXUnsavedFile *, \
     unsigned, unsigned, CXTranslationUnit *))                                 \
  X(void, clang_disposeTranslationUnit, (CXTranslationUnit))                   \
  X(CXCursor, clang_getTranslationUnitCursor, (CXTranslationUnit))             \
  X(unsigned, clang_visitChildren, (CXCursor, CXCursorVisitor, void *))        \
  X(int, clang_getCursorKind, (CXCursor))                                      \
  X(CXString, clang_getCursorSpelling, (CXCursor))                             \
  X(const char *, clang_getCString, (CXString))                                \
  X(void, clang_disposeString, (CXString))                                     \
  X(CXType, clang_getCursorType, (CXCursor))                                   \
  X(CXType, clang_getCursorResultType, (CXCursor))                             \
  X(int, clang_Cursor_getNumArguments, (CXCursor))                             \
  X(CXCursor, clang_Cursor_getArgument, (CXCursor, unsigned))                  \
  X(unsigned, clang_isFunctionTypeVariadic, (CXType))                          \
  X(CXType, clang_getCanonicalType, (CXType))                                  \
  X(CXType, clang_getPointeeType, (CXType))                                    \
  X(CXType, clang_getTypedefDeclUnderlyingType, (CXCursor))                    \
  X(CXCursor, clang_getTypeDeclaration, (CXType))                              \
  X(CXType, clang_Type_getNamedType, (CXType))                                 \
  X(CXType, clang_Type_getModifiedType, (CXType))                              \
  X(CXType, clang_getArrayElementType, (CXType))                               \
  X(long long, clang_getArraySize, (CXType))                                   \
  X(long long, clang_Type_getSizeOf, (CXType))                                 \
  X(long long, clang_Type_getAlignOf, (CXType))                                \
  X(unsigned, clang_isConstQualifiedType, (CXType))                            \
  X(CXString, clang_getTypeSpelling, (CXType))                                 \
  X(CXString, clang_getTypedefName, (CXType))                                  \
  X(CXType, clang_getEnumDeclIntegerType, (CXCursor))                          \
  X(unsigned, clang_Cursor_isAnonymous, (CXCursor))                            \
  X(unsigned, clang_Type_visitFields, (CXType, CXFieldVisitor, void *))        \
  X(CXSourceLocation, clang_getCursorLocation, (CXCursor))                     \
  X(void, clang_getSpellingLocation,                                           \
    (CXSourceLocation, CXFile *, unsigned *, unsigned *, unsigned *))          \
  X(CXString, clang_getFileName, (CXFile))                                     \
  X(unsigned, clang_getNumDiagnostics, (CXTranslationUnit))                    \
  X(CXDiagnostic, clang_getDiagnostic, (CXTranslationUnit, unsigned))          \
  X(int, clang_getDiagnosticSeverity, (CXDiagnostic))                          \
  X(CXString, clang_formatDiagnostic, (CXDiagnostic, unsigned))                \
  X(void, clang_disposeDiagnostic, (CXDiagnostic))                             \
  X(CXComment, clang_Cursor_getParsedComment, (CXCursor))                      \
  X(int, clang_Comment_getKind, (CXComment))                                   \
  X(unsigned, clang_Comment_getNumChildren, (CXComment))                       \
  X(CXComment, clang_Comment_getChild, (CXComment, unsigned))                  \
  X(CXString, clang_ParamCommandComment_getParamName, (CXComment))             \
  X(unsigned, clang_ParamCommandComment_isDirectionExplicit, (CXComment))      \
  X(int, clang_ParamCommandComment_getDirection, (CXComment))                  \
  X(CXSourceRange, clang_getCursorExtent, (CXCursor))                          \
  X(CXSourceLocation, clang_getRangeStart, (CXSourceRange))                    \
  X(CXSourceLocation, clang_getRangeEnd, (CXSourceRange))                      \
  X(CXSourceRange, clang_getRange, (CXSourceLocation, CXSourceLocation))       \
  X(CXSourceLocation, clang_getLocationForOffset,                              \
    (CXTranslationUnit, CXFile, unsigned))                                     \
  X(const char *, clang_getFileContents,                                       \
    (CXTranslationUnit, CXFile, size_t *))                                     \
  X(void, clang_tokenize,                                                      \
    (CXTranslationUnit, CXSourceRange, CXToken **, unsigned *))                \
  X(int, clang_getTokenKind, (CXToken))                                        \
  X(CXString, clang_getTokenSpelling, (CXTranslationUnit, CXToken))            \
  X(void, clang_disposeTokens, (CXTranslationUnit, CXToken *, unsigned))

typedef struct api {
  void *lib;
#define DT__FIELD(ret, name, params) ret(*name) params;
  DT__CLANG_FUNCS(DT__FIELD)
#undef DT__FIELD
} api;

/* The libraries tried, newest first among those Debian 12 ships. */
static const char *const libnames[] = {
    "libclang-14.so.1", "libclang.so.1",
    "/usr/lib/llvm-14/lib/libclang.so.1", "libclang-16.so.1",
    "libclang-15.so.1", "libclang-13.so.1", NULL};

/* Loads libclang into *a.  Returns 0, or -ELIBACC with err filled. */
static int api_load(api *a, dt__error *err) {
  memset(a, 0, sizeof *a);
  for (int i = 0; libnames[i] != NULL && a->lib == NULL; i++)
    a->lib = dlopen(libnames[i], RTLD_NOW | RTLD_LOCAL);
  if (a->lib == NULL) {
    dt__error_set(err, 0, 0,
                  "cannot load libclang (tried libclang-14.so.1 and others): "
                  "install it with apt-get install libclang1-14");
    return -ELIBACC;
  }
#define DT__LOAD(ret, name, params)                                           \
  *(void **)&a->name = dlsym(a->lib, #name);                                  \
  if (a->name == NULL) {                                                      \
    dt__error_set(err, 0, 0,                                                  \
                  "the libclang found lacks %s: install libclang1-14",        \
                  #name);                                                     \
    dlclose(a->lib);                                                          \
    return -ELIBACC;                                                          \
  }
  DT__CLANG_FUNCS(DT__LOAD)
#undef DT__LOAD
  return 0;
}

/* Copies s into buf (bufsz bytes) and disposes of s. */
static void take(const api *a, CXString s, char *buf, size_t bufsz) {
  const char *c = a->clang_getCString(s);
  snprintf(buf, bufsz, "%s", c != NULL ? c : "");
  a->clang_disposeString(s);
}

/* ------------------------------------------------------------- types */

/* What has_pointers needs while it walks records. */
typedef struct field_walk {
  const api *a;
  int depth;
  bool found;
} field_walk;

static bool type_has_pointers(const api *a, CXType t, int depth);

/* Field visitor: notes a pointer among the fields. */
static int field_visit(CXCursor c, void *data) {
  field_walk *w = data;
  if (type_has_pointers(w->a, w->a->clang_getCursorType(c), w->depth + 1)) {
    w->found = true;
    return CXVisit_Break;
  }
  return CXVisit_Continue;
}

/* True when t holds a pointer at any depth (records, arrays); records
 * nested deeper than 16 are counted as holding one. */
static bool type_has_pointers(const api *a, CXType t, int depth) {
  if (depth > 16)
    return true;
  t = a->clang_getCanonicalType(t);
  while (t.kind == CXT_ConstantArray || t.kind == CXT_IncompleteArray)
    t = a->clang_getCanonicalType(a->clang_getArrayElementType(t));
  if (t.kind == CXT_Pointer)
    return true;
  if (t.kind != CXT_Record)
    return false;
  field_walk w = {a, depth, false};
  a->clang_Type_visitFields(t, field_visit, &w);
  return w.found;
}

/* Field visitor: notes a flexible array member (T data[]). */
static int flex_visit(CXCursor c, void *data) {
  field_walk *w = data;
  CXType t = w->a->clang_getCanonicalType(w->a->clang_getCursorType(c));
  if (t.kind == CXT_IncompleteArray) {
    w->found = true;
    return CXVisit_Break;
  }
  return CXVisit_Continue;
}

/* True for the typedef names of va_list. */
static bool is_valist_name(const char *s) {
  return strcmp(s, "va_list") == 0 || strcmp(s, "__gnuc_va_list") == 0 ||
         strcmp(s, "__builtin_va_list") == 0;
}

/* The C name of a canonical type, qualifiers dropped. */
static void c_name_of(const api *a, CXType canon, char *buf, size_t bufsz) {
  char s[128];
  take(a, a->clang_getTypeSpelling(canon), s, sizeof s);
  const char *p = s;
  for (;;) {
    if (strncmp(p, "const ", 6) == 0)
      p += 6;
    else if (strncmp(p, "volatile ", 9) == 0)
      p += 9;
    else if (strncmp(p, "restrict ", 9) == 0)
      p += 9;
    else
      break;
  }
  size_t n = strlen(p);
  n = n < bufsz ? n : bufsz - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
}

/* Describes t in a new dt__ctype.  Returns it (the caller frees it with
 * dt__ctype_free), or NULL when out of memory. */
static dt__ctype *describe(const api *a, CXType t, int depth) {
  dt__ctype *d = dt__ctype_new(DT__CK_OTHER);
  if (d == NULL)
    return NULL;
  /* Peel sugar: elaborated names, attributes, typedefs (noted). */
  for (int guard = 0; guard < 64; guard++) {
    if (a->clang_isConstQualifiedType(t))
      d->is_const = true;
    if (t.kind == CXT_Elaborated) {
      t = a->clang_Type_getNamedType(t);
    } else if (t.kind == CXT_Attributed) {
      t = a->clang_Type_getModifiedType(t);
    } else if (t.kind == CXT_Typedef) {
      char name[64];
      take(a, a->clang_getTypedefName(t), name, sizeof name);
      if (is_valist_name(name)) {
        d->kind = DT__CK_VALIST;
        snprintf(d->c_name, sizeof d->c_name, "va_list");
        return d;
      }
      if (d->ntypedefs < DT__CTYPE_CHAIN)
        snprintf(d->typedefs[d->ntypedefs++], sizeof d->typedefs[0], "%s",
                 name);
      t = a->clang_getTypedefDeclUnderlyingType(a->clang_getTypeDeclaration(t));
    } else {
      break;
    }
  }
  CXType canon = a->clang_getCanonicalType(t);
  if (a->clang_isConstQualifiedType(canon))
    d->is_const = true;
  c_name_of(a, canon, d->c_name, sizeof d->c_name);
  long long size = a->clang_Type_getSizeOf(canon);
  long long align = a->clang_Type_getAlignOf(canon);
  d->size = size > 0 ? (uint64_t)size : 0;
  d->align = align > 0 ? (uint64_t)align : 0;
  switch (canon.kind) {
  case CXT_Void:
    d->kind = DT__CK_VOID;
    break;
  case CXT_Bool:
    d->kind = DT__CK_INT;
    d->is_bool = true;
    break;
  case CXT_Char_S: case CXT_SChar: case CXT_Char_U: case CXT_UChar:
    d->kind = DT__CK_INT;
    d->is_char = true;
    d->is_signed = canon.kind == CXT_Char_S || canon.kind == CXT_SChar;
    break;
  case CXT_Short: case CXT_Int: case CXT_Long: case CXT_LongLong:
  case CXT_WChar:
    d->kind = DT__CK_INT;
    d->is_signed = true;
    break;
  case CXT_UShort: case CXT_UInt: case CXT_ULong: case CXT_ULongLong:
    d->kind = DT__CK_INT;
    break;
  case CXT_Float: case CXT_Double: case CXT_LongDouble:
    d->kind = DT__CK_REAL;
    break;
  case CXT_Pointer: case CXT_IncompleteArray:
  case CXT_ConstantArray: {
    CXType elem = canon.kind == CXT_Pointer ? a->clang_getPointeeType(t)
                                            : a->clang_getArrayElementType(t);
    if (canon.kind == CXT_ConstantArray) {
      d->kind = DT__CK_ARRAY;
      long long cnt = a->clang_getArraySize(canon);
      d->count = cnt > 0 ? (uint64_t)cnt : 0;
    } else {
      d->kind = DT__CK_POINTER;
    }
    if (depth >= 8) { /* int ******** */
      d->pointee = dt__ctype_new(DT__CK_OTHER);
    } else {
      d->pointee = describe(a, elem, depth + 1);
    }
    if (d->pointee == NULL) {
      dt__ctype_free(d);
      return NULL;
    }
    /* a va_list parameter decays to struct __va_list_tag *. */
    if (d->pointee->kind == DT__CK_RECORD &&
        strcmp(d->pointee->tag, "__va_list_tag") == 0)
      d->kind = DT__CK_VALIST;
    break;
  }
  case CXT_Record: {
    CXCursor decl = a->clang_getTypeDeclaration(canon);
    d->kind = DT__CK_RECORD;
    d->is_union = a->clang_getCursorKind(decl) == CXC_UnionDecl;
    if (!a->clang_Cursor_isAnonymous(decl))
      take(a, a->clang_getCursorSpelling(decl), d->tag, sizeof d->tag);
    d->complete = size >= 0;
    d->has_pointers = d->complete && type_has_pointers(a, canon, 0);
    field_walk fw = {a, 0, false};
    if (d->complete)
      a->clang_Type_visitFields(canon, flex_visit, &fw);
    d->has_flexible = fw.found;
    break;
  }
  case CXT_Enum: {
    CXCursor decl = a->clang_getTypeDeclaration(canon);
    CXType it =
        a->clang_getCanonicalType(a->clang_getEnumDeclIntegerType(decl));
    d->kind = DT__CK_ENUM;
    take(a, a->clang_getCursorSpelling(decl), d->tag, sizeof d->tag);
    if (a->clang_Cursor_isAnonymous(decl))
      d->tag[0] = '\0';
    d->complete = size > 0;
    d->is_signed = it.kind == CXT_Int || it.kind == CXT_Long ||
                   it.kind == CXT_LongLong || it.kind == CXT_Short ||
                   it.kind == CXT_SChar || it.kind == CXT_Char_S;
    break;
  }
  case CXT_FunctionProto: case CXT_FunctionNoProto:
    d->kind = DT__CK_FUNCTION;
    break;
  default:
    d->kind = DT__CK_OTHER;
    break;
  }
  if (d->kind == DT__CK_RECORD && strcmp(d->tag, "__va_list_tag") == 0 &&
      depth == 0)
    d->kind = DT__CK_VALIST;
  return d;
}

/* ---------------------------------------------------- directions */

/* Reads Doxygen's @param[in]/[out]/[in,out] of fn into f's params. */
static void doc_directions(const api *a, CXCursor fn, dt__cfunc *f) {
  CXComment full = a->clang_Cursor_getParsedComment(fn);
  if (full.node == NULL)
    return;
  unsigned n = a->clang_Comment_getNumChildren(full);
  for (unsigned i = 0; i < n; i++) {
    CXComment c = a->clang_Comment_getChild(full, i);
    if (a->clang_Comment_getKind(c) != CXComment_ParamCommand ||
        !a->clang_ParamCommandComment_isDirectionExplicit(c))
      continue;
    char name[64];
    take(a, a->clang_ParamCommandComment_getParamName(c), name, sizeof name);
    int dir = a->clang_ParamCommandComment_getDirection(c);
    for (int p = 0; p < f->nparams; p++)
      if (name[0] != '\0' && strcmp(f->params[p].name, name) == 0)
        f->params[p].doc_dir = dir == 0   ? DT__PD_IN
                               : dir == 1 ? DT__PD_OUT
                                          : DT__PD_INOUT;
  }
}

/* The direction a GCC access mode names, with or without underscores;
 * -1 for a word that is not one. */
static int access_mode(const char *w) {
  char s[32];
  size_t len = strlen(w);
  if (len >= 4 && strncmp(w, "__", 2) == 0 && strcmp(w + len - 2, "__") == 0) {
    snprintf(s, sizeof s, "%.*s", (int)(len - 4), w + 2);
    w = s;
  }
  if (strcmp(w, "read_only") == 0)
    return DT__PD_IN;
  if (strcmp(w, "write_only") == 0)
    return DT__PD_OUT;
  if (strcmp(w, "read_write") == 0)
    return DT__PD_INOUT;
  if (strcmp(w, "none") == 0)
    return DT__PD_NONE;
  return -1;
}

/* The source range of fn's whole declaration as written: its extent
 * stretched up to 1 KiB further, because the extent ends with the
 * parameter list and attributes written after it through macros that
 * clang expands to nothing (glibc's) are outside it.  The scan stops at
 * the declaration's ';'. */
static CXSourceRange decl_range(const api *a, CXTranslationUnit tu,
                                CXCursor fn) {
  CXSourceRange ext = a->clang_getCursorExtent(fn);
  CXFile file = NULL;
  unsigned end = 0;
  size_t size = 0;
  a->clang_getSpellingLocation(a->clang_getRangeEnd(ext), &file, NULL, NULL,
                               &end);
  if (file == NULL || a->clang_getFileContents(tu, file, &size) == NULL)
    return ext;
  size_t stop = (size_t)end + 1024 < size ? (size_t)end + 1024 : size;
  return a->clang_getRange(
      a->clang_getRangeStart(ext),
      a->clang_getLocationForOffset(tu, file, (unsigned)stop));
}

/* Reads GCC access attributes written in fn's declaration, as
 * __attribute__((access(MODE, REF[, SIZE]))) or through glibc's
 * __attr_access((MODE, REF[, SIZE])) and __fortified_attr_access: the
 * tokens are the header's own, before macro expansion, because clang
 * drops the attribute itself. */
static void attr_directions(const api *a, CXTranslationUnit tu, CXCursor fn,
                            dt__cfunc *f) {
  CXToken *toks = NULL;
  unsigned n = 0;
  a->clang_tokenize(tu, decl_range(a, tu, fn), &toks, &n);
  if (toks == NULL)
    return;
  char w[64];
  int depth = 0;
  for (unsigned i = 0; i < n; i++) {
    if (a->clang_getTokenKind(toks[i]) == CXToken_Punctuation) {
      take(a, a->clang_getTokenSpelling(tu, toks[i]), w, sizeof w);
      depth += strcmp(w, "(") == 0 ? 1 : strcmp(w, ")") == 0 ? -1 : 0;
      if (depth <= 0 && (strcmp(w, ";") == 0 || strcmp(w, "{") == 0))
        break;
      continue;
    }
    if (a->clang_getTokenKind(toks[i]) != CXToken_Identifier)
      continue;
    take(a, a->clang_getTokenSpelling(tu, toks[i]), w, sizeof w);
    if (strcmp(w, "access") != 0 && strcmp(w, "__access__") != 0 &&
        strcmp(w, "__attr_access") != 0 &&
        strcmp(w, "__fortified_attr_access") != 0)
      continue;
    unsigned j = i + 1;
    int parens = 0;
    while (j < n && a->clang_getTokenKind(toks[j]) == CXToken_Punctuation) {
      take(a, a->clang_getTokenSpelling(tu, toks[j]), w, sizeof w);
      if (strcmp(w, "(") != 0)
        break;
      parens++;
      j++;
    }
    if (parens == 0 || j >= n)
      continue;
    take(a, a->clang_getTokenSpelling(tu, toks[j]), w, sizeof w);
    int mode = access_mode(w);
    long nums[2] = {-1, -1};
    int got = 0;
    for (j++; j + 1 < n && got < 2; j += 2) {
      take(a, a->clang_getTokenSpelling(tu, toks[j]), w, sizeof w);
      if (strcmp(w, ",") != 0 ||
          a->clang_getTokenKind(toks[j + 1]) != CXToken_Literal)
        break;
      take(a, a->clang_getTokenSpelling(tu, toks[j + 1]), w, sizeof w);
      char *end;
      nums[got++] = strtol(w, &end, 10);
      if (*end != '\0')
        break;
    }
    if (mode < 0 || nums[0] < 1 || nums[0] > f->nparams)
      continue;
    dt__cparam *p = &f->params[nums[0] - 1];
    p->attr_dir = (dt__pdir)mode;
    if (nums[1] >= 1 && nums[1] <= f->nparams)
      p->attr_len = (int)nums[1] - 1;
  }
  a->clang_disposeTokens(tu, toks, n);
}

/* ------------------------------------------------------- functions */

/* Fills f from the function declaration fn.  Returns 0 or -ENOMEM. */
static int read_func(const api *a, CXTranslationUnit tu, CXCursor fn,
                     dt__cfunc *f) {
  dt__cfunc_clear(f);
  f->found = true;
  CXFile file = NULL;
  unsigned line = 0;
  a->clang_getSpellingLocation(a->clang_getCursorLocation(fn), &file, &line,
                               NULL, NULL);
  char path[200] = "";
  if (file != NULL)
    take(a, a->clang_getFileName(file), path, sizeof path);
  snprintf(f->where, sizeof f->where, "%s:%u", path, line);
  CXType ft = a->clang_getCursorType(fn);
  f->no_prototype = a->clang_getCanonicalType(ft).kind == CXT_FunctionNoProto;
  f->variadic = !f->no_prototype && a->clang_isFunctionTypeVariadic(ft);
  f->ret = describe(a, a->clang_getCursorResultType(fn), 0);
  if (f->ret == NULL)
    return -ENOMEM;
  int n = a->clang_Cursor_getNumArguments(fn);
  if (n > DT__MAX_PARAMS) {
    f->too_many = true;
    n = DT__MAX_PARAMS;
  }
  for (int i = 0; i < n; i++) {
    CXCursor pc = a->clang_Cursor_getArgument(fn, (unsigned)i);
    dt__cparam *p = &f->params[i];
    take(a, a->clang_getCursorSpelling(pc), p->name, sizeof p->name);
    p->attr_len = -1;
    p->type = describe(a, a->clang_getCursorType(pc), 0);
    f->nparams = i + 1;
    if (p->type == NULL)
      return -ENOMEM;
  }
  doc_directions(a, fn, f);
  attr_directions(a, tu, fn, f);
  return 0;
}

/* Counts the named parameters of a declaration: a later one with names
 * is preferred to an earlier without. */
static int named_params(const api *a, CXCursor fn) {
  int n = a->clang_Cursor_getNumArguments(fn), named = 0;
  for (int i = 0; i < n; i++) {
    char name[8];
    CXCursor arg = a->clang_Cursor_getArgument(fn, (unsigned)i);
    take(a, a->clang_getCursorSpelling(arg), name, sizeof name);
    named += name[0] != '\0';
  }
  return named;
}

typedef struct walk {
  const api *a;
  CXTranslationUnit tu;
  dt__cfunc *funcs;
  size_t n;
  int *best; /* per function: named parameters of the one read, -1 none */
  int rc;
} walk;

/* Top-level visitor: reads each wanted function's best declaration. */
static int visit_top(CXCursor c, CXCursor parent, void *data) {
  (void)parent;
  walk *w = data;
  if (w->a->clang_getCursorKind(c) != CXC_FunctionDecl)
    return CXVisit_Continue;
  char name[128];
  take(w->a, w->a->clang_getCursorSpelling(c), name, sizeof name);
  for (size_t i = 0; i < w->n; i++) {
    if (strcmp(w->funcs[i].name, name) != 0)
      continue;
    int named = named_params(w->a, c);
    if (named > w->best[i]) {
      w->best[i] = named;
      int rc = read_func(w->a, w->tu, c, &w->funcs[i]);
      if (rc < 0) {
        w->rc = rc;
        return CXVisit_Break;
      }
    }
  }
  return CXVisit_Continue;
}

/* The directory of the C compiler's own headers (stddef.h), for a
 * libclang installed without its resource headers: "" when none. */
static void builtin_dir(char *buf, size_t bufsz) {
  glob_t g;
  buf[0] = '\0';
  if (glob("/usr/lib/llvm-*/lib/clang/*/include/stddef.h", 0, NULL, &g) == 0) {
    globfree(&g);
    return; /* libclang finds its own */
  }
  if (glob("/usr/lib/gcc/*/*/include/stddef.h", 0, NULL, &g) == 0 &&
      g.gl_pathc > 0) {
    snprintf(buf, bufsz, "%.*s", (int)(strlen(g.gl_pathv[0]) - 9),
             g.gl_pathv[0]);
    globfree(&g);
  }
}

/* Reports the parse's errors on stderr (the first five) and returns 0
 * when there were none.  A header that does not parse is never drafted:
 * clang reads an unknown type name as int, and a wrong draft is worse
 * than none.  Returns -ENOENT when a file was not found (the header, or
 * one it includes), else -EINVAL, with err filled. */
static int diagnostics(const api *a, CXTranslationUnit tu, const char *header,
                       dt__error *err) {
  unsigned n = a->clang_getNumDiagnostics(tu);
  int errors = 0;
  bool missing = false;
  char first[400] = "";
  for (unsigned i = 0; i < n; i++) {
    CXDiagnostic dg = a->clang_getDiagnostic(tu, i);
    int sev = a->clang_getDiagnosticSeverity(dg);
    char text[400];
    take(a, a->clang_formatDiagnostic(dg, 0x1 | 0x2 /* location, column */),
         text, sizeof text);
    a->clang_disposeDiagnostic(dg);
    if (sev != CXDiag_Error && sev != CXDiag_Fatal)
      continue;
    if (errors++ < 5)
      fprintf(stderr, "dtask sig: %s\n", text);
    if (strstr(text, "file not found") != NULL && !missing) {
      missing = true;
      snprintf(first, sizeof first, "%s", text);
    } else if (first[0] == '\0') {
      snprintf(first, sizeof first, "%s", text);
    }
  }
  if (errors == 0)
    return 0;
  if (missing) {
    const char *q = strstr(first, "error: ");
    dt__error_set(err, 0, 0,
                  "%s: %s; install the package that ships it, or give -I DIR",
                  header, q != NULL ? q + 7 : first);
    return -ENOENT;
  }
  dt__error_set(err, 0, 0,
                "%s does not parse as C (%d error%s, the first above): give "
                "the -I and -D options its compiler needs",
                header, errors, errors == 1 ? "" : "s");
  return -EINVAL;
}

int dt__draft_clang(const char *header, const char *const *opts, int nopts,
                    dt__cfunc *funcs, size_t n, dt__error *err) {
  api a;
  int rc = api_load(&a, err);
  if (rc < 0)
    return rc;
  char src[4200];
  size_t hl = strlen(header);
  if (hl >= 3 && header[0] == '<' && header[hl - 1] == '>') {
    snprintf(src, sizeof src, "#include %s\n", header);
  } else if (access(header, R_OK) != 0) {
    dt__error_set(err, 0, 0, "%s: %s", header, strerror(errno));
    dlclose(a.lib);
    return -ENOENT;
  } else {
    char *abs = realpath(header, NULL);
    snprintf(src, sizeof src, "#include \"%s\"\n", abs != NULL ? abs : header);
    free(abs);
  }
  const char *args[8 + DT__CLANG_MAX_OPTS];
  int na = 0;
  char inc[256];
  args[na++] = "-xc";
  args[na++] = "-std=gnu11";
  builtin_dir(inc, sizeof inc);
  if (inc[0] != '\0') {
    args[na++] = "-nobuiltininc";
    args[na++] = "-isystem";
    args[na++] = inc;
  }
  for (int i = 0; i < nopts && i < DT__CLANG_MAX_OPTS; i++)
    args[na++] = opts[i];
  struct CXUnsavedFile uf = {"dtask-sig.c", src, (unsigned long)strlen(src)};
  CXIndex idx = a.clang_createIndex(0, 0);
  CXTranslationUnit tu = NULL;
  int perr = a.clang_parseTranslationUnit2(
      idx, "dtask-sig.c", args, na, &uf, 1,
      CXTU_SkipFunctionBodies | CXTU_KeepGoing, &tu);
  if (perr != 0 || tu == NULL) {
    dt__error_set(err, 0, 0, "%s: libclang could not parse it (error %d)",
             header, perr);
    rc = -EINVAL;
  } else {
    rc = diagnostics(&a, tu, header, err);
  }
  if (rc == 0) {
    int best[64];
    for (size_t i = 0; i < n && i < 64; i++)
      best[i] = -1;
    walk w = {&a, tu, funcs, n < 64 ? n : 64, best, 0};
    a.clang_visitChildren(a.clang_getTranslationUnitCursor(tu), visit_top, &w);
    rc = w.rc;
    if (rc == -ENOMEM)
      dt__error_set(err, 0, 0, "out of memory");
  }
  if (tu != NULL)
    a.clang_disposeTranslationUnit(tu);
  a.clang_disposeIndex(idx);
  dlclose(a.lib);
  return rc;
}
