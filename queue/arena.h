/* arena.h: a caller thread's arena, the file of the queue directory
 * through which a call's big buffers travel instead of through its
 * record (queue/arena.c).
 *
 * Each waiter slot has one arena file, arena.SLOT, made by the thread
 * that holds the slot and mapped shared by it and by the workers that
 * serve its calls: the caller copies an in buffer there, the function
 * reads it and writes its out buffers there, and the caller copies those
 * back: one copy each way, no page of the queue's map touched.  Its
 * first DT__ARENA_HEAD bytes are a header (the stamp that tasks name,
 * the owner thread); the data area follows.  Only a backend whose
 * workers share the caller's host uses it (dt__queue_ops.arena).
 *
 * Returns follow common/common.h: 0 or a negative errno, with a sentence
 * in err where a function takes one. */
#ifndef DT_QUEUE_ARENA_H
#define DT_QUEUE_ARENA_H

#include <stdint.h>

#include "common/error.h"

/* The header's bytes, before the data area (a page). */
#define DT__ARENA_HEAD 4096u
/* The largest data area: two calls' worth of the largest call a queue
 * takes (a quarter of map_size; wire.h's 1 GiB record bound). */
#define DT__ARENA_MAX ((uint64_t)2 << 30)

/* A caller thread's arena, as its thread state keeps it (zeroed: none). */
typedef struct dt__arena {
  uint8_t *map;   /* the whole file mapped, header first; NULL: none */
  uint64_t len;   /* bytes mapped: the file's size */
  uint64_t stamp; /* written in the header, named by every task */
  uint32_t slot;  /* the waiter slot whose file it is */
  int pid;        /* the process that mapped it */
} dt__arena;

/* The caller's side. */
int dt__arena_reserve(dt__arena *a, int dirfd, const char *dir,
                      uint32_t slot, uint64_t need, dt__error *err);
static inline uint8_t *dt__arena_data(const dt__arena *a) {
  return a->map + DT__ARENA_HEAD;
}
void dt__arena_drop(dt__arena *a, int dirfd);
void dt__arena_forget(dt__arena *a);

/* The worker's side: views of callers' arenas, per process. */
int dt__arena_view(int dirfd, const char *dir, uint32_t slot, uint64_t stamp,
                   uint64_t need, uint8_t **data, dt__error *err);
void dt__arena_views_tidy(int dirfd);
void dt__arena_views_drop(void);

/* The sweep's: the arenas of threads that are gone; and what they all
 * hold (dtask status). */
int dt__arena_sweep(int dirfd);
int dt__arena_usage(int dirfd, size_t *files, uint64_t *bytes);
int dt__arena_drop_process(int dirfd);

#endif /* DT_QUEUE_ARENA_H */
