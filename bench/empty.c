/* empty.c: libempty.so, a shared library with nothing in it.
 *
 * The exec benchmark (bench/run.sh, "Exec of a program that catches
 * nothing") preloads it to measure what preloading any library costs a
 * program (opening, mapping and relocating one more object), so that the
 * shim's own cost can be read as the difference from it. */

/* ISO C wants a declaration in every translation unit; this one emits
 * nothing. */
typedef int dt_bench_empty;
