/* redis.c: the "redis" queue backend: a queue in a Redis server, served
 * by runners on any host that reaches it (Redis Streams and a consumer
 * group; server-side scripts for every step that must be atomic).
 *
 * Keys of one image's queue, all under one hash tag (one cluster slot),
 * P = "dtask:{NAME/IMAGE}:" (NAME: [queue] name, or the leaf of [queue]
 * path; IMAGE: the per-image directory's name):
 *
 *   P id        counter: call and blob ids, taken in blocks of ID_BLOCK
 *   P tasks     stream of tasks, consumer group "w": each entry has
 *               i (call id), c (caller "HOST:PID"), t (tries), r (record),
 *               and a task with admission g (gate) and n (running), R
 *               (rate), T (interval, µs) and B (burst), and p when it is
 *               its rate's first waiter; an entry with no i is no task
 *               (a tick: redis_admit.c), deleted when read
 *   P calls     hash: call id -> "CALLER ENTRY" while its caller may
 *               still want the answer ("CALLER 0-0" while parked by
 *               admission); "b" blob id -> CALLER
 *   P r:ID      the answer of call ID: a stream of one entry, f (who
 *               stored it: DT__FROM_*) and r (the result record); it
 *               expires after REPLY_TTL_S if no one reads it
 *   P b:ID      a fan-out call's shared in buffer (blob): a string, or
 *               a list of parts when larger than one value
 *   P k:ID      the parts of call ID's task when its record is larger
 *               than one value (the server's proto-max-bulk-len): the
 *               entry then has k (count) and z (bytes) and an empty r;
 *               written by the caller before the entry, deleted with the
 *               task (answer, cancel, crash answer) or its caller
 *   P a:ID      the parts of a large answer (r:ID's entry has k and z),
 *               renamed there from the answering worker's own
 *               P a:ID:HOST:PID by the script that checks it holds the
 *               task; deleted with r:ID, expiring with it
 *   P pools     hash: "HOST:PID" of a pool's supervisor -> "MS WORKERS",
 *               MS its last beat in the server's clock
 *   P beat      stream of beats (the last few), that wait_runner blocks on
 *   P status    hash: "HOST:PID" of a pool's supervisor -> its status
 *               record (runner/poolstat.c), rewritten every tick
 *   P trips     hash: the callers' round trips, "c:SYMBOL" calls,
 *               "r:SYMBOL" retries, "h:SYMBOL:BUCKET" a histogram's
 *               bucket, "H:SYMBOL" answers the cache gave, "M:SYMBOL"
 *               calls it had not (redis_call.c adds, redis_status.c
 *               reads)
 *   P held      hash: call id -> GATE, the gate whose slot it holds
 *               (admitted, or woken from the gate's wait list, or
 *               waiting for its rate after the gate let it through)
 *   P run:GATE  set: the calls holding a slot of GATE (at most running)
 *   P wait:GATE list: the calls parked until GATE has room, first first
 *   P rwait:RATE list: the calls parked until RATE lets them start
 *   P later     sorted set: each RATE with calls parked, scored by when
 *               its first may start (µs, the server's clock)
 *   P park:ID   hash: the stream entry's fields of parked call ID
 *   P parked    hash: parked call id -> "w GATE" (on P wait:GATE) or
 *               "r RATE" (on P rwait:RATE)
 *   P tat       hash: RATE -> its theoretical arrival time (GCRA, µs)
 *   P c:HEX     the answers cache (redis_cache.c): an answer under its
 *               key's hash HEX, its time stored (8 bytes, µs) first
 *   P cl:ENTRY  sorted set: the HEX of entry ENTRY's answers by last use
 *   P cb        hash: ENTRY -> bytes its cached answers take
 *
 * The claim is XREADGROUP, which hands a task out and records it as
 * pending for that worker (consumer "HOST:PID") in one step.  A claim
 * is a lease: the supervisor of the worker's host renews it on every
 * tick while the worker lives (XCLAIM ... JUSTID), and any supervisor's
 * sweep gives back to the stream a task whose lease went LEASE_MS
 * without renewal (its host died or is cut off), or whose worker on its
 * own host is gone, at most MAX_TRIES times.  XACK does not check who
 * owns an entry, so completing does, in the same script that stores the
 * answer, acks and deletes the task: exactly one answer per call.  The
 * caller waits for its answer with a blocking XREAD of P r:ID, which
 * consumes nothing: a reconnect reads it again.
 *
 * Records are bytes the wire format checks (queue/wire.h): nothing here
 * trusts a record.
 *
 * Admission (redis_admit.c says how): a worker that claims a task with
 * admission runs ADMIT on it before running it, which admits it or
 * parks it (out of the stream, on P wait:GATE or P rwait:RATE), so that
 * a refused task waits in Redis, never in a worker; every script that
 * ends a gated call gives its slot to the gate's next waiter, and a
 * worker moves the first waiters of the due rates of P later back
 * before it blocks.
 *
 * This file owns the table of operations; redis_call.c (callers),
 * redis_pool.c (workers, pools), redis_sweep.c, redis_status.c and
 * redis_cache.c define them, with their scripts; redis_admit.c
 * admission; redis_core.c what they share; redis_script.c runs the
 * scripts (by their SHA-1 once sent); redis_parts.c values in parts;
 * rconn.c the connections. */
#include "queue/redis.h"
#include "queue/redis_ops.h"

const dt__queue_ops dt__queue_redis_ops = {
    .name = "redis",
    .open = dt__rd_open,
    .close = dt__rd_close,
    .waiter = dt__rd_waiter,
    .waiter_release = dt__rd_waiter_release,
    .submit = dt__rd_submit,
    .slot_seq = dt__rd_slot_seq,
    .wait = dt__rd_wait,
    .wait_since = dt__rd_wait_since,
    .drop = dt__rd_drop,
    .cancel = dt__rd_cancel,
    .claim = dt__rd_claim,
    .complete = dt__rd_complete,
    .fail_claim = dt__rd_fail_claim,
    .reject = dt__rd_reject,
    .kick = dt__rd_kick,
    .heartbeat = dt__rd_heartbeat,
    .runner_recent = dt__rd_runner_recent,
    .runner_alive = dt__rd_runner_alive,
    .wait_runner = dt__rd_wait_runner,
    .set_workers = dt__rd_set_workers,
    .workers = dt__rd_workers,
    .next_id = dt__rd_next_id,
    .sweep = dt__rd_sweep,
    .stat = dt__rd_stat,
    .blob_put = dt__rd_blob_put,
    .blob_read = dt__rd_blob_read,
    .blob_drop = dt__rd_blob_drop,
    .claim_caller = dt__rd_claim_caller,
    .pool_put = dt__rd_pool_put,
    .pool_list = dt__rd_pool_list,
    .trips_add = dt__rd_trips_add,
    .trips_list = dt__rd_trips_list,
    .trips_reset = dt__rd_trips_reset,
    .cache_get = dt__rd_cache_get,
    .cache_put = dt__rd_cache_put,
    .images = dt__rd_images,
};
