/* jit.c: owns the offload_if trampolines, a few instructions of x86-64
 * machine code per entry that decide a call before any stub runs.
 *
 * A call that offload_if keeps in the caller would otherwise pay the
 * libffi closure (its frame, the arguments unpacked) and ffi_call to
 * reach the real function: about 45 ns.  The trampoline, which the
 * program's slots get instead of the closure, compares the condition's
 * integer or floating parameter where the ABI left it (a general
 * register, or an XMM
 * register for a float or double) with the literal, as
 * config/cond.c's dt__cond_eval does (C's comparisons: NaN compares
 * false but for !=), and then jumps: to the real function, after
 * counting the call in s->local, with every argument untouched; or to
 * the closure, which offloads the call.  Scratch registers only: rax
 * (not an argument of a fixed-argument function), r10, r11, xmm14 and
 * xmm15 (caller-saved, never arguments).
 *
 * Built once at start-up into one mapping, written and then made
 * read-and-execute (never both writable and executable); where that is
 * refused, or the parameter arrives on the stack (past the sixth
 * integer or the eighth floating argument), the entry keeps its closure.
 * x86-64 only: elsewhere dt__jit_build builds nothing. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/cond.h"
#include "config/sig.h"
#include "config/types.h"
#include "shim/jit.h"
#include "shim/symbol.h"

#define TRAMP_BYTES 128

/* The bytes of one trampoline as they are written. */
typedef struct code {
  uint8_t *p;
  size_t n;
} code;

static void b1(code *c, uint8_t v) { c->p[c->n++] = v; }
static void b8(code *c, uint64_t v) {
  memcpy(c->p + c->n, &v, 8);
  c->n += 8;
}
static void b4(code *c, int32_t v) {
  memcpy(c->p + c->n, &v, 4);
  c->n += 4;
}

/* mov rax, imm64; jmp rax. */
static void jump_to(code *c, const void *to) {
  b1(c, 0x48), b1(c, 0xB8), b8(c, (uint64_t)(uintptr_t)to);
  b1(c, 0xFF), b1(c, 0xE0);
}

/* Jcc rel32 (cc: the second opcode byte, 0x80 + condition) to a place
 * not yet known: returns where its displacement goes. */
static size_t jcc(code *c, uint8_t cc) {
  b1(c, 0x0F), b1(c, cc), b4(c, 0);
  return c->n - 4;
}

/* Points the displacement at at the current end. */
static void land(code *c, size_t at) {
  int32_t rel = (int32_t)(c->n - (at + 4));
  memcpy(c->p + at, &rel, 4);
}

/* ucomisd xmm a, xmm b. */
static void ucomisd(code *c, int a, int b) {
  b1(c, 0x66);
  uint8_t rex = (uint8_t)(0x40 | (a >= 8 ? 4 : 0) | (b >= 8 ? 1 : 0));
  if (rex != 0x40)
    b1(c, rex);
  b1(c, 0x0F), b1(c, 0x2E), b1(c, (uint8_t)(0xC0 | (a & 7) << 3 | (b & 7)));
}

enum { JE = 0x84, JNE = 0x85, JB = 0x82, JAE = 0x83, JBE = 0x86, JA = 0x87,
       JP = 0x8A, JL = 0x8C, JGE = 0x8D, JLE = 0x8E, JG = 0x8F };

/* Where the ABI passes parameter k of sig: *gp (0..5) for an integer or
 * a pointer, *xmm (0..7) for a float or double, -1 for the stack. */
static void place(const dt__sig *sig, int k, int *gp, int *xmm) {
  int g = 0, x = 0;
  *gp = *xmm = -1;
  for (int i = 0; i <= k; i++) {
    const dt__param *p = &sig->params[i];
    bool real = !p->is_buffer && (p->type.tag == DT__T_FLOAT ||
                                  p->type.tag == DT__T_DOUBLE);
    if (i == k) {
      if (real && x < 8)
        *xmm = x;
      else if (!real && g < 6)
        *gp = g;
    }
    if (real)
      x++;
    else
      g++;
  }
}

/* Loads general register gp (0..5: rdi rsi rdx rcx r8 r9) into r11,
 * sign- or zero-extended from the width of t. */
static void load_r11(code *c, int gp, const dt__type *t) {
  static const int regs[6] = {7, 6, 2, 1, 8, 9};
  int r = regs[gp];
  uint8_t hi = r >= 8 ? 1 : 0;
  bool sig = dt__tag_is_signed(t->tag);
  size_t size = t->size;
  if (size == 8) { /* mov r11, r64 */
    b1(c, (uint8_t)(0x49 | (hi << 2))), b1(c, 0x89);
    b1(c, (uint8_t)(0xC0 | (r & 7) << 3 | 3));
  } else if (size == 4 && sig) { /* movsxd r11, r32 */
    b1(c, (uint8_t)(0x4C | hi)), b1(c, 0x63);
    b1(c, (uint8_t)(0xC0 | 3 << 3 | (r & 7)));
  } else if (size == 4) { /* mov r11d, r32: zero-extends */
    b1(c, (uint8_t)(0x41 | (hi << 2))), b1(c, 0x89);
    b1(c, (uint8_t)(0xC0 | (r & 7) << 3 | 3));
  } else { /* movsx/movzx r11, r16 or r8 */
    b1(c, (uint8_t)(0x4C | hi)), b1(c, 0x0F);
    b1(c, size == 2 ? (sig ? 0xBF : 0xB7) : (sig ? 0xBE : 0xB6));
    b1(c, (uint8_t)(0xC0 | 3 << 3 | (r & 7)));
  }
}

/* Writes s's trampoline into c.  Returns false when the condition's
 * parameter is not in a register. */
static bool write_one(code *c, dt__stub *s) {
  const dt__offload *o = s->off;
  const dt__cond *cd = &o->offload_if;
  const dt__type *t = &o->sig.params[cd->param].type;
  int gp, xmm;
  place(&o->sig, cd->param, &gp, &xmm);
  if ((gp < 0 && xmm < 0) || t->tag == DT__T_CSTRING || t->tag == DT__T_USER)
    return false;
  size_t to_off[2];
  int nto = 0;
  bool always = false, never = false;
  if (xmm >= 0) {
    double lit = cd->lit == DT__LIT_FLOAT ? cd->d : (double)cd->i;
    int x = xmm;
    if (t->tag == DT__T_FLOAT) { /* cvtss2sd xmm14, xmmN */
      b1(c, 0xF3), b1(c, 0x44), b1(c, 0x0F), b1(c, 0x5A);
      b1(c, (uint8_t)(0xC0 | 6 << 3 | xmm));
      x = 14;
    }
    uint64_t bits;
    memcpy(&bits, &lit, 8);
    b1(c, 0x49), b1(c, 0xBA), b8(c, bits);               /* mov r10, imm */
    /* movq xmm15, r10 */
    b1(c, 0x66), b1(c, 0x4D), b1(c, 0x0F), b1(c, 0x6E), b1(c, 0xFA);
    switch (cd->op) {
    case DT__CMP_GT: ucomisd(c, x, 15), to_off[nto++] = jcc(c, JA); break;
    case DT__CMP_GE: ucomisd(c, x, 15), to_off[nto++] = jcc(c, JAE); break;
    case DT__CMP_LT: ucomisd(c, 15, x), to_off[nto++] = jcc(c, JA); break;
    case DT__CMP_LE: ucomisd(c, 15, x), to_off[nto++] = jcc(c, JAE); break;
    case DT__CMP_EQ: {
      ucomisd(c, x, 15);
      size_t skip = jcc(c, JP); /* unordered: false */
      to_off[nto++] = jcc(c, JE);
      land(c, skip); /* falls through to the local path below */
      break;
    }
    case DT__CMP_NE:
      ucomisd(c, x, 15);
      to_off[nto++] = jcc(c, JP); /* unordered: true */
      to_off[nto++] = jcc(c, JNE);
      break;
    }
  } else {
    bool sig = dt__tag_is_signed(t->tag);
    uint64_t lit;
    if (sig && cd->big) { /* above every signed value */
      always = cd->op == DT__CMP_NE || cd->op == DT__CMP_LT ||
               cd->op == DT__CMP_LE;
      never = !always;
      lit = 0;
    } else if (!sig && cd->i < 0 && !cd->big) { /* below every value */
      always = cd->op == DT__CMP_NE || cd->op == DT__CMP_GT ||
               cd->op == DT__CMP_GE;
      never = !always;
      lit = 0;
    } else {
      lit = !sig && cd->big ? cd->u : (uint64_t)cd->i;
    }
    if (!always && !never) {
      load_r11(c, gp, t);
      b1(c, 0x49), b1(c, 0xBA), b8(c, lit);     /* mov r10, imm64 */
      b1(c, 0x4D), b1(c, 0x39), b1(c, 0xD3);   /* cmp r11, r10 */
      static const uint8_t ss[] = {JE, JNE, JL, JLE, JG, JGE};
      static const uint8_t us[] = {JE, JNE, JB, JBE, JA, JAE};
      to_off[nto++] = jcc(c, (sig ? ss : us)[cd->op]);
    }
  }
  if (always) {
    jump_to(c, s->code);
    return true;
  }
  /* The call stays here: counted, then the real function. */
  b1(c, 0x48), b1(c, 0xB8), b8(c, (uint64_t)(uintptr_t)&s->local);
  b1(c, 0xF0), b1(c, 0x48), b1(c, 0xFF), b1(c, 0x00); /* lock inc [rax] */
  jump_to(c, s->real);
  for (int i = 0; i < nto; i++)
    land(c, to_off[i]);
  jump_to(c, s->code); /* offloaded: the closure */
  return true;
}

/* Builds the trampolines of the entries of stubs[0..n) that have
 * offload_if and a resolved definition, and points their code at them
 * (what the loader then patches into the program's slots).  The mapping
 * lives as long as the process.  Returns how many were built (0 on
 * another architecture, or when executable memory is refused). */
int dt__jit_build(dt__stub *stubs, size_t n) {
#if defined(__x86_64__)
  size_t want = 0;
  for (size_t i = 0; i < n; i++)
    want += stubs[i].off->has_offload_if && stubs[i].real != NULL;
  if (want == 0)
    return 0;
  long page = sysconf(_SC_PAGESIZE);
  size_t bytes = (want * TRAMP_BYTES + (size_t)page - 1) & ~((size_t)page - 1);
  uint8_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return 0;
  size_t built = 0, at = 0;
  for (size_t i = 0; i < n; i++) {
    dt__stub *s = &stubs[i];
    s->tramp = NULL;
    if (!s->off->has_offload_if || s->real == NULL)
      continue;
    code c = {mem + at, 0};
    if (!write_one(&c, s))
      continue;
    s->tramp = mem + at;
    at += TRAMP_BYTES;
    built++;
  }
  if (built == 0 || mprotect(mem, bytes, PROT_READ | PROT_EXEC) != 0) {
    munmap(mem, bytes);
    for (size_t i = 0; i < n; i++)
      stubs[i].tramp = NULL;
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (stubs[i].tramp != NULL)
      stubs[i].code = stubs[i].tramp;
  return (int)built;
#else
  (void)stubs;
  (void)n;
  return 0;
#endif
}
