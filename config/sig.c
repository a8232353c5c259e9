/* sig.c: the signature language.
 *
 * A person writes, for each function to offload, its C prototype in a
 * small language that says what C leaves unsaid: which pointers are
 * inputs or outputs, and how many elements they hold.  For example
 *
 *     int build_report(cstring period, out report r[1])
 *     ulong crc32(ulong crc, in uint8 buf[len], uint len)
 *
 * This file owns that language: the parser that turns a signature into
 * a dt__sig (its types come from config/types.c, which also maps them to
 * ffi types), and the plain-text description `dtask check` prints.
 * dtask never guesses the size of memory behind a pointer, so a pointer
 * without a direction and a length is an error that says what to write. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/sig.h"
#include "config/types.h"
#include "config/units.h"

/* ------------------------------------------------------------ the lexer */

typedef enum tok_kind {
  TK_END,
  TK_IDENT,
  TK_NUMBER,
  TK_PUNCT, /* one of ( ) [ ] , * and "..." */
  TK_BAD
} tok_kind;

typedef struct tok {
  tok_kind kind;
  const char *start;
  size_t len;
  int col;
  uint64_t num;
  bool num_overflow;
} tok;

typedef struct lexer {
  const char *text;
  const char *p;
  tok cur;
} lexer;

/* True for a character that may start an identifier. */
static bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* True for a character that may continue an identifier. */
static bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Reads the next token into lx->cur. */
static void next(lexer *lx) {
  tok *t = &lx->cur;
  while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r')
    lx->p++;
  t->start = lx->p;
  t->col = (int)(lx->p - lx->text) + 1;
  t->num = 0;
  t->num_overflow = false;
  if (*lx->p == '\0') {
    t->kind = TK_END;
    t->len = 0;
  } else if (is_ident_start(*lx->p)) {
    while (is_ident_char(*lx->p))
      lx->p++;
    t->kind = TK_IDENT;
    t->len = (size_t)(lx->p - t->start);
  } else if (*lx->p >= '0' && *lx->p <= '9') {
    while (*lx->p >= '0' && *lx->p <= '9') {
      unsigned d = (unsigned)(*lx->p - '0');
      if (t->num > (UINT64_MAX - d) / 10)
        t->num_overflow = true;
      else
        t->num = t->num * 10 + d;
      lx->p++;
    }
    t->kind = is_ident_char(*lx->p) ? TK_BAD : TK_NUMBER;
    while (is_ident_char(*lx->p))
      lx->p++;
    t->len = (size_t)(lx->p - t->start);
  } else if (strncmp(lx->p, "...", 3) == 0) {
    t->kind = TK_PUNCT;
    t->len = 3;
    lx->p += 3;
  } else if (strchr("()[],*", *lx->p) != NULL) {
    t->kind = TK_PUNCT;
    t->len = 1;
    lx->p++;
  } else {
    t->kind = TK_BAD;
    t->len = 1;
    lx->p++;
  }
}

/* True if t is the punctuation s. */
static bool is_punct(const tok *t, const char *s) {
  return t->kind == TK_PUNCT && t->len == strlen(s) &&
         memcmp(t->start, s, t->len) == 0;
}

/* True if t is the identifier s. */
static bool is_word(const tok *t, const char *s) {
  return t->kind == TK_IDENT && t->len == strlen(s) &&
         memcmp(t->start, s, t->len) == 0;
}

/* Copies an identifier token into buf, failing if it does not fit. */
static int tok_copy(const tok *t, char *buf, size_t bufsz, dt__error *err,
                    const char *what) {
  if (t->len + 1 > bufsz)
    return dt__error_set(err, 0, t->col, "%s '%.*s' is longer than %zu "
                         "characters",
                         what, (int)t->len, t->start, bufsz - 1);
  memcpy(buf, t->start, t->len);
  buf[t->len] = '\0';
  return 0;
}

/* Describes the current token for "expected X, found Y" messages. */
static const char *found(const tok *t, char *buf, size_t bufsz) {
  if (t->kind == TK_END)
    return "the end of the signature";
  snprintf(buf, bufsz, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
  return buf;
}

/* ------------------------------------------------------------ the parser */

/* Multi-word C spellings and what to write instead. */
static const struct {
  const char *first, *second, *instead;
} c_spellings[] = {{"unsigned", "char", "uchar"},
                   {"unsigned", "short", "ushort"},
                   {"unsigned", "int", "uint"},
                   {"unsigned", "long", "ulong"},
                   {"signed", "char", "schar"},
                   {"signed", "int", "int"},
                   {"long", "long", "llong"},
                   {"long", "int", "long"},
                   {"long", "double", "(nothing: long double is not supported)"},
                   {"short", "int", "short"},
                   {NULL, NULL, NULL}};

/* Parses a type name at the current token into *t.  role is "return
 * type" or "parameter type" for messages. */
static int parse_type(lexer *lx, const dt__utype *utypes, size_t nutypes,
                      dt__type *t, dt__error *err, const char *role) {
  char name[64], fb[64];
  tok first = lx->cur;

  if (first.kind != TK_IDENT)
    return dt__error_set(err, 0, first.col, "expected a %s, found %s", role,
                         found(&first, fb, sizeof fb));
  if (is_word(&first, "const") || is_word(&first, "struct") ||
      is_word(&first, "enum") || is_word(&first, "volatile"))
    return dt__error_set(
        err, 0, first.col,
        "'%.*s' is C, not dtask's signature language; write a dtask type "
        "(for a const char * input write cstring; for a struct declare it "
        "under [types] and pass it in a buffer, e.g. in mytype p[1])",
        (int)first.len, first.start);
  if (is_word(&first, "unsigned") || is_word(&first, "signed") ||
      is_word(&first, "long") || is_word(&first, "short")) {
    const char *save = lx->p;
    tok save_tok = lx->cur;
    next(lx);
    for (int i = 0; c_spellings[i].first != NULL; i++) {
      if (is_word(&first, c_spellings[i].first) &&
          is_word(&lx->cur, c_spellings[i].second))
        return dt__error_set(err, 0, first.col,
                             "'%s %s' is C, not dtask's signature language; "
                             "write %s",
                             c_spellings[i].first, c_spellings[i].second,
                             c_spellings[i].instead);
    }
    lx->p = save;
    lx->cur = save_tok;
    if (is_word(&first, "unsigned") || is_word(&first, "signed"))
      return dt__error_set(err, 0, first.col,
                           "'%.*s' alone is C, not dtask's signature "
                           "language; write uint or int",
                           (int)first.len, first.start);
  }
  if (tok_copy(&first, name, sizeof name, err, "type name") != 0) {
    return -EINVAL;
  }
  if (dt__type_lookup(name, utypes, nutypes, t) != 0) {
    const char *cands[96];
    size_t n = 0;
    for (size_t i = 0; dt__type_names[i] != NULL; i++)
      cands[n++] = dt__type_names[i];
    for (size_t i = 0; i < nutypes && n + 1 < sizeof cands / sizeof *cands;
         i++)
      cands[n++] = utypes[i].name;
    cands[n] = NULL;
    const char *hint = dt__did_you_mean(name, cands);
    if (hint != NULL)
      return dt__error_set(err, 0, first.col,
                           "unknown type '%s'; did you mean '%s'?", name,
                           hint);
    return dt__error_set(err, 0, first.col,
                         "unknown type '%s'; use a scalar (int, uint64, "
                         "size_t, double, ...), cstring, or declare it "
                         "under [types] as %s = { size = N, align = N }",
                         name, name);
  }
  next(lx);
  return 0;
}

/* The parameter names one LEN refers to, kept as tokens until every
 * parameter is known. */
typedef struct len_names {
  int n;
  tok names[DT__MAX_LEN_FACTORS];
} len_names;

/* Parses LEN inside [ ]: a product of constants and parameter names.
 * Names are recorded by token and resolved once all parameters are known. */
static int parse_len(lexer *lx, dt__len *len, len_names *names,
                     dt__error *err) {
  char fb[64];
  len->constant = 1;
  len->nfactors = 0;
  names->n = 0;
  for (;;) {
    tok t = lx->cur;
    if (t.kind == TK_NUMBER) {
      if (t.num_overflow || (t.num != 0 && len->constant > UINT64_MAX / t.num))
        return dt__error_set(err, 0, t.col, "length is too large");
      if (t.num == 0)
        return dt__error_set(err, 0, t.col,
                             "a buffer of length 0 carries nothing; give "
                             "it a length of at least 1");
      len->constant *= t.num;
    } else if (is_word(&t, "LEN") && *lx->p == '?') {
      /* dtask sig's placeholder: a draft cannot run unreviewed. */
      return dt__error_set(err, 0, t.col,
                           "LEN? is a placeholder left by dtask sig: write "
                           "the buffer's length (a number, an integer "
                           "parameter's name, or a product such as n*4), as "
                           "the note beside the entry says");
    } else if (t.kind == TK_IDENT) {
      if (names->n == DT__MAX_LEN_FACTORS)
        return dt__error_set(err, 0, t.col,
                             "a length may name at most %d parameters",
                             DT__MAX_LEN_FACTORS);
      names->names[names->n++] = t;
    } else if (t.kind == TK_END || is_punct(&t, "]")) {
      return dt__error_set(err, 0, t.col,
                           "expected a length: a number, an integer "
                           "parameter's name, or a product such as n*4");
    } else {
      return dt__error_set(err, 0, t.col,
                           "unexpected %s in a length; a length is a "
                           "number, an integer parameter's name, or a "
                           "product such as n*4",
                           found(&t, fb, sizeof fb));
    }
    next(lx);
    if (!is_punct(&lx->cur, "*"))
      break;
    next(lx);
  }
  return 0;
}

/* Parses one parameter at the current token. */
static int parse_param(lexer *lx, const dt__utype *utypes, size_t nutypes,
                       dt__param *p, len_names *names, dt__error *err) {
  char fb[64];
  int col = lx->cur.col;
  dt__dir dir = DT__DIR_VALUE;

  memset(p, 0, sizeof *p);
  p->col = col;
  names->n = 0;
  if (is_punct(&lx->cur, "..."))
    return dt__error_set(err, 0, col,
                         "variadic functions cannot be offloaded: libffi "
                         "needs the type of every argument of every call; "
                         "offload a fixed-argument variant instead (e.g. "
                         "vprintf-style functions are not supported either)");
  if (is_word(&lx->cur, "in"))
    dir = DT__DIR_IN;
  else if (is_word(&lx->cur, "out"))
    dir = DT__DIR_OUT;
  else if (is_word(&lx->cur, "inout"))
    dir = DT__DIR_INOUT;
  if (dir != DT__DIR_VALUE)
    next(lx);

  int type_col = lx->cur.col;
  if (parse_type(lx, utypes, nutypes, &p->type, err, "parameter type") != 0)
    return -EINVAL;
  if (p->type.tag == DT__T_VOID)
    return dt__error_set(err, 0, type_col,
                         "a parameter cannot be void; for a function "
                         "without parameters write f() or f(void), and a "
                         "void * needs a real element type, e.g. in uint8 "
                         "buf[len]");
  if (is_punct(&lx->cur, "*")) {
    const char *ty = p->type.name;
    if (p->type.tag == DT__T_CHAR && dir == DT__DIR_VALUE)
      return dt__error_set(
          err, 0, lx->cur.col,
          "a bare pointer cannot be offloaded: dtask never guesses the size "
          "of memory behind a pointer; for a NUL-terminated input write "
          "'cstring NAME', for a buffer write 'in|out|inout char NAME[LEN]'");
    return dt__error_set(
        err, 0, lx->cur.col,
        "a bare pointer cannot be offloaded: dtask never guesses the size "
        "of memory behind a pointer; write 'in %s NAME[LEN]', 'out %s "
        "NAME[LEN]' or 'inout %s NAME[LEN]' where LEN is a number, an "
        "integer parameter or a product such as n*4",
        ty, ty, ty);
  }
  if (lx->cur.kind != TK_IDENT)
    return dt__error_set(err, 0, lx->cur.col,
                         "expected a parameter name after '%s', found %s; "
                         "every parameter needs a name",
                         p->type.name, found(&lx->cur, fb, sizeof fb));
  if (tok_copy(&lx->cur, p->name, sizeof p->name, err, "parameter name") != 0)
    return -EINVAL;
  if (is_word(&lx->cur, "in") || is_word(&lx->cur, "out") ||
      is_word(&lx->cur, "inout"))
    return dt__error_set(err, 0, lx->cur.col,
                         "'%s' is a direction; it goes before the type, "
                         "e.g. out double result[1]",
                         p->name);
  int name_col = lx->cur.col;
  next(lx);

  bool has_len = is_punct(&lx->cur, "[");
  if (has_len) {
    int open_col = lx->cur.col;
    next(lx);
    if (parse_len(lx, &p->len, names, err) != 0)
      return -EINVAL;
    if (p->type.size != 0 && p->len.constant > UINT64_MAX / p->type.size)
      return dt__error_set(err, 0, open_col + 1,
                           "length is too large: %llu elements of %zu bytes "
                           "do not fit in 64 bits",
                           (unsigned long long)p->len.constant, p->type.size);
    if (!is_punct(&lx->cur, "]"))
      return dt__error_set(err, 0, lx->cur.col,
                           "expected ']' to close the length opened at "
                           "column %d, found %s",
                           open_col, found(&lx->cur, fb, sizeof fb));
    next(lx);
  }

  if (p->type.tag == DT__T_CSTRING) {
    if (dir != DT__DIR_VALUE || has_len)
      return dt__error_set(err, 0, dir != DT__DIR_VALUE ? col : name_col,
                           "cstring is always a NUL-terminated input "
                           "passed by value: write 'cstring %s'; for a "
                           "buffer the callee writes characters into, "
                           "write 'out char %s[LEN]'",
                           p->name, p->name);
  } else if (dir == DT__DIR_VALUE && has_len) {
    return dt__error_set(err, 0, col,
                         "buffer '%s' needs a direction: write 'in', 'out' "
                         "or 'inout' before its type, e.g. 'in %s %s[...]'",
                         p->name, p->type.name, p->name);
  } else if (dir != DT__DIR_VALUE && !has_len) {
    return dt__error_set(err, 0, name_col + (int)strlen(p->name),
                         "buffer '%s' needs a length: write '%s[LEN]' "
                         "where LEN is a number, an integer parameter's "
                         "name or a product such as n*4",
                         p->name, p->name);
  } else if (p->type.tag == DT__T_USER && dir == DT__DIR_VALUE) {
    return dt__error_set(err, 0, type_col,
                         "type '%s' is declared under [types] and can only "
                         "travel in a buffer (dtask does not know its "
                         "fields, which decide how it is passed by value); "
                         "write 'in %s %s[1]' if the function takes a "
                         "pointer to it",
                         p->type.name, p->type.name, p->name);
  }
  p->dir = dir;
  p->is_buffer = dir != DT__DIR_VALUE;
  return 0;
}

/* Resolves the names in a parameter's LEN to indices of integer
 * parameters passed by value. */
static int resolve_len(dt__sig *sig, int pi, const len_names *names,
                       dt__error *err) {
  dt__param *p = &sig->params[pi];
  for (int k = 0; k < names->n; k++) {
    const tok *t = &names->names[k];
    int found_at = -1;
    for (int j = 0; j < sig->nparams; j++) {
      if (strlen(sig->params[j].name) == t->len &&
          memcmp(sig->params[j].name, t->start, t->len) == 0)
        found_at = j;
    }
    if (found_at < 0) {
      char list[512] = "";
      size_t used = 0;
      for (int j = 0; j < sig->nparams; j++) {
        const dt__param *q = &sig->params[j];
        if (!q->is_buffer && dt__tag_is_integer(q->type.tag) && j != pi)
          used += (size_t)snprintf(list + used,
                                   used < sizeof list ? sizeof list - used : 0,
                                   "%s%s", used ? ", " : "", q->name);
      }
      return dt__error_set(err, 0, t->col,
                           "length of '%s' names '%.*s', which is not a "
                           "parameter; %s%s",
                           p->name, (int)t->len, t->start,
                           list[0] ? "integer parameters are: " :
                           "this function has no integer parameter, so "
                           "write a constant length",
                           list);
    }
    const dt__param *q = &sig->params[found_at];
    if (found_at == pi || q->is_buffer || !dt__tag_is_integer(q->type.tag))
      return dt__error_set(err, 0, t->col,
                           "length of '%s' names '%s', which is %s; a "
                           "length must name an integer parameter passed "
                           "by value (or be a number)",
                           p->name, q->name,
                           found_at == pi     ? "the buffer itself"
                           : q->is_buffer     ? "a buffer"
                           : q->type.tag == DT__T_CSTRING ? "a cstring"
                                                          : "not an integer");
    p->len.factors[p->len.nfactors++] = found_at;
  }
  return 0;
}

/* Parses a signature such as
 *   "int build_report(cstring period, out report r[1])"
 * against the declared user types.  On error returns -EINVAL and fills err
 * with col = column inside text (line is left 0 for the caller to set).
 * The caller owns *sig (plain data, nothing to free).
 *
 * Grammar:
 *   sig    := type NAME '(' [ 'void' | param { ',' param } ] ')'
 *   param  := 'cstring' NAME | scalar NAME | dir type NAME '[' len ']'
 *   dir    := 'in' | 'out' | 'inout'
 *   len    := factor { '*' factor },  factor := NUMBER | NAME */
int dt__sig_parse(const char *text, const dt__utype *utypes, size_t nutypes,
                  dt__sig *sig, dt__error *err) {
  lexer lx = {text, text, {0}};
  char fb[64];
  len_names names[DT__MAX_PARAMS];

  memset(sig, 0, sizeof *sig);
  next(&lx);
  if (lx.cur.kind == TK_END)
    return dt__error_set(err, 0, 1,
                         "the signature is empty; write the C prototype, "
                         "e.g. \"int f(in double x[n], size_t n)\"");
  int ret_col = lx.cur.col;
  if (parse_type(&lx, utypes, nutypes, &sig->ret, err, "return type") != 0)
    return -EINVAL;
  if (sig->ret.tag == DT__T_USER)
    return dt__error_set(err, 0, ret_col,
                         "a function cannot return '%s' by value through "
                         "dtask; return types are void, a scalar or "
                         "cstring",
                         sig->ret.name);
  if (is_punct(&lx.cur, "*")) {
    if (sig->ret.tag == DT__T_CHAR)
      return dt__error_set(err, 0, lx.cur.col,
                           "a returned pointer cannot be offloaded as is; "
                           "if the function returns a NUL-terminated "
                           "string write 'cstring NAME(...)'");
    return dt__error_set(err, 0, lx.cur.col,
                         "a returned pointer cannot be offloaded: it would "
                         "point into the runner's memory; return types are "
                         "void, a scalar or cstring");
  }
  if (lx.cur.kind != TK_IDENT)
    return dt__error_set(err, 0, lx.cur.col,
                         "expected the function's name after the return "
                         "type, found %s",
                         found(&lx.cur, fb, sizeof fb));
  if (tok_copy(&lx.cur, sig->name, sizeof sig->name, err, "function name") !=
      0)
    return -EINVAL;
  next(&lx);
  if (!is_punct(&lx.cur, "("))
    return dt__error_set(err, 0, lx.cur.col,
                         "expected '(' after the function name '%s', found "
                         "%s",
                         sig->name, found(&lx.cur, fb, sizeof fb));
  next(&lx);

  bool empty = is_punct(&lx.cur, ")");
  if (is_word(&lx.cur, "void")) {
    const char *save = lx.p;
    tok st = lx.cur;
    next(&lx);
    if (is_punct(&lx.cur, ")"))
      empty = true;
    else {
      lx.p = save;
      lx.cur = st;
    }
  }
  while (!empty) {
    if (sig->nparams == DT__MAX_PARAMS)
      return dt__error_set(err, 0, lx.cur.col,
                           "more than %d parameters; dtask supports at most "
                           "%d",
                           DT__MAX_PARAMS, DT__MAX_PARAMS);
    int i = sig->nparams;
    if (parse_param(&lx, utypes, nutypes, &sig->params[i], &names[i], err) !=
        0)
      return -EINVAL;
    for (int j = 0; j < i; j++)
      if (strcmp(sig->params[j].name, sig->params[i].name) == 0)
        return dt__error_set(err, 0, sig->params[i].col,
                             "parameter name '%s' is used twice; give each "
                             "parameter its own name",
                             sig->params[i].name);
    sig->nparams++;
    if (is_punct(&lx.cur, ","))
      next(&lx);
    else if (is_punct(&lx.cur, ")"))
      break;
    else
      return dt__error_set(err, 0, lx.cur.col,
                           "expected ',' or ')' after parameter '%s', found "
                           "%s",
                           sig->params[i].name,
                           found(&lx.cur, fb, sizeof fb));
  }
  if (!is_punct(&lx.cur, ")"))
    return dt__error_set(err, 0, lx.cur.col, "expected ')', found %s",
                         found(&lx.cur, fb, sizeof fb));
  next(&lx);
  if (lx.cur.kind != TK_END)
    return dt__error_set(err, 0, lx.cur.col,
                         "unexpected %s after the closing ')'; a signature "
                         "ends with its parameter list (no ';')",
                         found(&lx.cur, fb, sizeof fb));

  for (int i = 0; i < sig->nparams; i++)
    if (sig->params[i].is_buffer &&
        resolve_len(sig, i, &names[i], err) != 0)
      return -EINVAL;

  return 0;
}

/* --------------------------------------------------------- description */

/* The keyword of a direction, as written in a signature. */
static const char *dir_name(dt__dir d) {
  switch (d) {
  case DT__DIR_IN:
    return "in";
  case DT__DIR_OUT:
    return "out";
  case DT__DIR_INOUT:
    return "inout";
  case DT__DIR_VALUE:
    break;
  }
  return "";
}

/* Writes the length expression of p, e.g. "n*4". */
static void write_len(const dt__sig *sig, const dt__param *p, FILE *out) {
  bool first = true;
  if (p->len.constant != 1 || p->len.nfactors == 0) {
    fprintf(out, "%llu", (unsigned long long)p->len.constant);
    first = false;
  }
  for (int k = 0; k < p->len.nfactors; k++) {
    fprintf(out, "%s%s", first ? "" : "*",
            sig->params[p->len.factors[k]].name);
    first = false;
  }
}

/* The index of sig's parameter named name (names are unique: the parser
 * refuses one used twice), or -1 when it has none. */
int dt__sig_find(const dt__sig *sig, const char *name) {
  for (int i = 0; i < sig->nparams; i++)
    if (strcmp(sig->params[i].name, name) == 0)
      return i;
  return -1;
}

/* Writes a one-line rendering of the signature as understood, then one
 * indented line per parameter (direction, element size, length source). */
void dt__sig_describe(const dt__sig *sig, FILE *out) {
  fprintf(out, "    %s %s(", sig->ret.name, sig->name);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    fprintf(out, "%s", i ? ", " : "");
    if (p->is_buffer) {
      fprintf(out, "%s %s %s[", dir_name(p->dir), p->type.name, p->name);
      write_len(sig, p, out);
      fprintf(out, "]");
    } else {
      fprintf(out, "%s %s", p->type.name, p->name);
    }
  }
  fprintf(out, ")\n");
  if (sig->ret.tag == DT__T_CSTRING)
    fprintf(out, "      returns  cstring, copied back into memory the shim "
                 "owns for the process's life, or a pointer into an "
                 "argument\n");
  else if (sig->ret.tag == DT__T_VOID)
    fprintf(out, "      returns  nothing\n");
  else
    fprintf(out, "      returns  %s (%zu bytes)\n", sig->ret.name,
            sig->ret.size);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    fprintf(out, "      arg %-2d   %-10s ", i + 1, p->name);
    if (p->type.tag == DT__T_CSTRING) {
      fprintf(out, "in     cstring, NUL-terminated, NULL passes as NULL\n");
    } else if (!p->is_buffer) {
      fprintf(out, "value  %s (%zu bytes)\n", p->type.name, p->type.size);
    } else {
      fprintf(out, "%-6s %s[", dir_name(p->dir), p->type.name);
      write_len(sig, p, out);
      fprintf(out, "], %zu bytes per element, length ", p->type.size);
      if (p->len.nfactors == 0) {
        fprintf(out, "constant (%llu bytes)",
                (unsigned long long)(p->len.constant * p->type.size));
      } else {
        fprintf(out, "from ");
        if (p->len.constant != 1)
          fprintf(out, "%llu * ", (unsigned long long)p->len.constant);
        for (int k = 0; k < p->len.nfactors; k++)
          fprintf(out, "%sarg %d (%s)", k ? " * " : "",
                  p->len.factors[k] + 1, sig->params[p->len.factors[k]].name);
      }
      fprintf(out, ", NULL passes as NULL\n");
    }
  }
}
