/* bigbuf.h: which of a call's buffers travel through the calling
 * thread's arena instead of its record (shim/bigbuf.c). */
#ifndef DT_BIGBUF_H
#define DT_BIGBUF_H

#include <stdbool.h>

#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/state.h"
#include "shim/symbol.h"

/* The fewest bytes of in and out buffers that send a call through the
 * arena: below them the record carries them as fast. */
#define DT__BIGBUF_MIN ((uint64_t)64 << 10)

bool dt__bigbuf_place(const dt__stub *s, dt__queue *q, dt__thread_state *ts,
                      void **args, dt__wire_arena *ar);
bool dt__bigbuf_again(const dt__stub *s, dt__queue *q, dt__thread_state *ts,
                      void **args, dt__wire_arena *ar);
void dt__bigbuf_fill(const dt__stub *s, void **args, const dt__wire_arena *ar);
void dt__bigbuf_abandon(dt__queue *q, dt__thread_state *ts);

#endif /* DT_BIGBUF_H */
