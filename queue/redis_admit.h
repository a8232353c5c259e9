/* redis_admit.h: admission on the redis backend (queue/redis_admit.c
 * owns it; queue/redis.c lists the keys): the Lua that every script
 * which ends, parks or moves a gated call starts with, and the C side
 * of submitting, admitting and promoting tasks. */
#ifndef DT_QUEUE_REDIS_ADMIT_H
#define DT_QUEUE_REDIS_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "queue/redis_core.h"

/* The entry a parked task's value in P calls names ("CALLER 0-0"): no
 * stream entry has that id, so a script that looks for it there finds
 * nothing. */
/* How close to a rate's due time a worker stops blocking on the server
 * and waits out the rest itself (dt__rq_block_ms). */
#define DT__RQ_NEAR_NS 2500000ull

#define DT__RQ_PARKED "0-0"

/* The Lua helpers of admission, put before a script's own text; the
 * script's KEYS[1] must be P tasks (P is taken from it).  The keys they
 * name from P are all under the queue's hash tag (one cluster slot).
 *   live(m): whether call m still holds its slot of a gate: its caller
 *     waits (P calls) and its task is held by a worker, in the stream
 *     not yet handed out (after the group's last-delivered-id: a waiter
 *     woken for it), or parked on a rate's list.
 *   prune(g): takes out of P run:g the members that are not live.
 *   unpark(id, first): puts parked task id back into the stream (P calls
 *     then names its new entry; with first (a time, µs), the entry gets
 *     p = first: the first waiter of its rate, put back at that time,
 *     which ADMIT lets pass the others and decides as of then); false,
 *     with what is left of it deleted, when its record or caller is
 *     gone.
 *   wake(g): while P run:g has room for the first waiter of P wait:g
 *     (its own running count; a full gate is pruned once first), moves
 *     it into the stream holding its slot (P held), in order.
 *   release(id): call id leaves the gate it holds, and wake gives its
 *     slot to the next waiter.
 *   unqueue(id): takes parked task id out of its wait list (a rate's
 *     list left empty leaves P later), with its fields; 1, or 0 when it
 *     was not parked. */
#define DT__RQ_GATE_LUA                                                     \
  "local P = string.sub(KEYS[1], 1, -6)\n"                                  \
  "local lastd\n"                                                           \
  "local function sid(e)\n"                                                 \
  " local a, b = string.match(e or '', '^(%d+)-(%d+)$')\n"                  \
  " return tonumber(a), tonumber(b)\n"                                      \
  "end\n"                                                                   \
  "local function fresh(e)\n"                                               \
  " if not lastd then\n"                                                    \
  "  lastd = '0-0'\n"                                                       \
  "  local gs = redis.pcall('XINFO', 'GROUPS', KEYS[1])\n"                  \
  "  for _, g in ipairs(gs.err and {} or gs) do\n"                          \
  "   local t = {}\n"                                                       \
  "   for i = 1, #g - 1, 2 do t[g[i]] = g[i + 1] end\n"                     \
  "   if t['name'] == 'w' then lastd = t['last-delivered-id'] end\n"        \
  "  end\n"                                                                 \
  " end\n"                                                                  \
  " local a, b = sid(e)\n"                                                  \
  " local c, d = sid(lastd)\n"                                              \
  " return a ~= nil and c ~= nil and (a > c or (a == c and b > d))\n"       \
  "end\n"                                                                   \
  "local function live(m)\n"                                                \
  " local v = redis.call('HGET', P .. 'calls', m)\n"                        \
  " local e = v and string.match(v, ' (%S+)$')\n"                           \
  " if not sid(e) then return false end\n"                                  \
  " if e == '" DT__RQ_PARKED "' then return string.sub(redis.call('HGET',"  \
  " P .. 'parked', m) or '', 1, 2) == 'r ' end\n"                           \
  " local p = redis.pcall('XPENDING', KEYS[1], 'w', e, e, 1)\n"             \
  " if not p.err and #p > 0 then return true end\n"                         \
  " return fresh(e)\n"                                                      \
  "end\n"                                                                   \
  "local function prune(g)\n"                                               \
  " local run = P .. 'run:' .. g\n"                                         \
  " for _, m in ipairs(redis.call('SMEMBERS', run)) do\n"                   \
  "  if not live(m) then redis.call('SREM', run, m)\n"                      \
  "   if redis.call('HGET', P .. 'held', m) == g then\n"                    \
  "    redis.call('HDEL', P .. 'held', m) end\n"                            \
  "  end\n"                                                                 \
  " end\n"                                                                  \
  "end\n"                                                                   \
  "local function unpark(id, first)\n"                                      \
  " local pk = P .. 'park:' .. id\n"                                        \
  " local f = redis.call('HGETALL', pk)\n"                                  \
  " local v = redis.call('HGET', P .. 'calls', id)\n"                       \
  " redis.call('DEL', pk) redis.call('HDEL', P .. 'parked', id)\n"          \
  " if #f == 0 or not v then redis.call('DEL', P .. 'k:' .. id)\n"          \
  "  if v and string.match(v, ' " DT__RQ_PARKED "$') then\n"                \
  "   redis.call('HDEL', P .. 'calls', id) end\n"                           \
  "  return false\n"                                                        \
  " end\n"                                                                  \
  " if first then f[#f + 1] = 'p' f[#f + 1] = first end\n"                 \
  " local e = redis.call('XADD', KEYS[1], '*', unpack(f))\n"                \
  " redis.call('HSET', P .. 'calls', id, string.match(v, '^(%S+)') .. ' '"  \
  " .. e)\n"                                                                \
  " return true\n"                                                          \
  "end\n"                                                                   \
  "local function wake(g)\n"                                                \
  " local run, wait, pruned = P .. 'run:' .. g, P .. 'wait:' .. g, false\n" \
  " while true do\n"                                                        \
  "  local w = redis.call('LINDEX', wait, 0)\n"                             \
  "  if not w then return end\n"                                            \
  "  local n = math.max(1, tonumber(redis.call('HGET', P .. 'park:' .. w,"  \
  " 'n')) or 1)\n"                                                          \
  "  if not pruned and redis.call('SCARD', run) >= n then\n"                \
  "   prune(g) pruned = true end\n"                                         \
  "  if redis.call('SCARD', run) >= n then return end\n"                    \
  "  redis.call('LPOP', wait)\n"                                            \
  "  if unpark(w) then redis.call('SADD', run, w)\n"                        \
  "   redis.call('HSET', P .. 'held', w, g) end\n"                          \
  " end\n"                                                                  \
  "end\n"                                                                   \
  "local function release(id)\n"                                            \
  " local g = redis.call('HGET', P .. 'held', id)\n"                        \
  " if not g then return end\n"                                             \
  " redis.call('HDEL', P .. 'held', id)\n"                                   \
  " redis.call('SREM', P .. 'run:' .. g, id)\n"                             \
  " wake(g)\n"                                                              \
  "end\n"                                                                   \
  "local function unqueue(id)\n"                                            \
  " local w = redis.call('HGET', P .. 'parked', id)\n"                      \
  " if not w then return 0 end\n"                                           \
  " local l = P .. (string.sub(w, 1, 1) == 'r' and 'rwait:' or 'wait:')"    \
  " .. string.sub(w, 3)\n"                                                  \
  " redis.call('LREM', l, 0, id)\n"                                         \
  " if string.sub(w, 1, 1) == 'r' and redis.call('LLEN', l) == 0 then\n"   \
  "  redis.call('ZREM', P .. 'later', string.sub(w, 3)) end\n"             \
  " redis.call('HDEL', P .. 'parked', id) redis.call('DEL', P .. 'park:'"   \
  " .. id)\n"                                                               \
  " return 1\n"                                                             \
  "end\n"

/* The admission arguments of the SUBMIT script (gate, running, rate,
 * interval in µs, burst), formatted by dt__rq_admit_args. */
typedef struct dt__rq_adm {
  char running[16], interval[24], burst[16];
  const char *args[5];
} dt__rq_adm;

int dt__rq_admit_args(const dt__admit *adm, dt__rq_adm *a);
int dt__rq_admit(dt__rq *q, const redisReply *fv, const char *entry,
                 uint64_t id, bool *later);
int dt__rq_promote(dt__rq *q);
bool dt__rq_promote_due(const dt__rq *q);
int dt__rq_promote_append(dt__rq *q);
void dt__rq_promote_read(dt__rq *q);
long long dt__rq_block_ms(const dt__rq *q, long long ms);
void dt__rq_tick(dt__rq *q);

#endif /* DT_QUEUE_REDIS_ADMIT_H */
