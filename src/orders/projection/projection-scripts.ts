/**
 * The Lua scripts of the projection. Each runs atomically in Redis, so an event's check-then-write (is it a
 * duplicate? is the order deleted? is it complete now?) can never interleave with another event of the same order,
 * with a second projector process, or with a rebuild.
 *
 * Order state hash fields: `user`; while assembling `l:<seq>` (a product line's JSON), `n` (lines stored), `cs`
 * (OrderCreated's sequence), `head`/`tail` (the JSON around the products), `score`, `member`; once listed, only
 * `user`, `member`, `v` (every event with sequence <= v is reflected) and `vis`; once deleted or canceled, `tomb`
 * and `v`. Outbox sequences: 1 OrderCreateSaga, 2..S-1 OrderAddProduct in line order, S OrderCreated, then the end.
 */

/** KEYS order, index, docs. ARGV kind ('line'|'created'), seq, user, then line JSON | head, tail, score, member. */
export const APPLY_SCRIPT = `
local order, index, docs = KEYS[1], KEYS[2], KEYS[3]
local kind, seq, user = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local state = redis.call('HMGET', order, 'tomb', 'v', 'user', 'cs')
-- Deleted or canceled: an older event arriving late must never bring the order back.
if state[1] then return 'ignored' end
-- Already reflected (applied and compacted, or loaded by a rebuild from PostgreSQL).
if state[2] and seq <= tonumber(state[2]) then return 'duplicate' end
-- The key carries the user's tag, so only a hash written by hand can name another user.
if state[3] and state[3] ~= user then return 'user_mismatch' end
local created = tonumber(state[4])
if kind == 'line' then
  if seq < 2 or (created and seq >= created) then return 'invalid_sequence' end
  if redis.call('HSETNX', order, 'l:' .. seq, ARGV[4]) == 0 then return 'duplicate' end
  redis.call('HINCRBY', order, 'n', 1)
else
  if created then return 'duplicate' end
  if seq < 3 then return 'invalid_sequence' end
  created = seq
  redis.call('HSET', order, 'cs', seq, 'head', ARGV[4], 'tail', ARGV[5], 'score', ARGV[6], 'member', ARGV[7])
end
redis.call('HSET', order, 'user', user)
if not created then return 'applied' end
-- Complete once every line 2..created-1 is here; n is only a cheap first test.
if tonumber(redis.call('HGET', order, 'n') or '0') < created - 2 then return 'applied' end
local lines = {}
for s = 2, created - 1 do
  local line = redis.call('HGET', order, 'l:' .. s)
  if not line then return 'applied' end
  lines[#lines + 1] = line
end
local header = redis.call('HMGET', order, 'head', 'tail', 'score', 'member')
local member = header[4]
redis.call('ZADD', index, header[3], member)
redis.call('HSET', docs, member, header[1] .. table.concat(lines, ',') .. header[2])
redis.call('DEL', order)
redis.call('HSET', order, 'user', user, 'member', member, 'v', created, 'vis', '1')
return 'applied'
`;

/** OrderDeleted / OrderCanceled. KEYS order, index, docs (of the order's user). ARGV seq. */
export const END_SCRIPT = `
local order, index, docs = KEYS[1], KEYS[2], KEYS[3]
local seq = tonumber(ARGV[1])
local state = redis.call('HMGET', order, 'tomb', 'v', 'member', 'vis')
if state[1] then return 'duplicate' end
if state[2] and seq <= tonumber(state[2]) then return 'duplicate' end
if state[4] == '1' then
  redis.call('ZREM', index, state[3])
  redis.call('HDEL', docs, state[3])
end
-- The tombstone stays: it is what keeps late AddProduct/Created of this order out.
redis.call('DEL', order)
redis.call('HSET', order, 'tomb', seq, 'v', seq)
return 'applied'
`;

/**
 * Merges a user's orders as PostgreSQL had them into the projection. KEYS index, docs, built, then one order key
 * per order. ARGV user, '1' to mark the user built, then per order: version (orders.last_event_sequence), member,
 * score, JSON ('' when the order is deleted). A tombstone written by the projector since the snapshot wins; orders
 * listed by the projector since the snapshot (approved after it) are kept, because nothing here removes them.
 */
export const REBUILD_SCRIPT = `
local index, docs, built, user = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
for i = 4, #KEYS do
  local order, a = KEYS[i], 3 + (i - 4) * 4
  local version, member, score, json = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local state = redis.call('HMGET', order, 'tomb', 'v')
  if state[1] or json == '' then
    redis.call('ZREM', index, member)
    redis.call('HDEL', docs, member)
    if not state[1] then
      redis.call('DEL', order)
      redis.call('HSET', order, 'tomb', version, 'v', version)
    end
  else
    -- Events up to version are in the snapshot; only the order's end can follow, and that leaves a tombstone.
    redis.call('DEL', order)
    redis.call('HSET', order, 'user', user, 'member', member, 'v', math.max(version, tonumber(state[2] or '0')), 'vis', '1')
    redis.call('ZADD', index, score, member)
    redis.call('HSET', docs, member, json)
  end
end
if ARGV[2] == '1' then redis.call('SET', built, '1') end
return #KEYS - 3
`;

/** KEYS built, index, docs. ARGV offset, limit, 'asc'|'desc'. {-1} when not built, else {total, json...}. */
export const READ_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local first = tonumber(ARGV[1])
local last = first + tonumber(ARGV[2]) - 1
local members
if ARGV[3] == 'desc' then
  members = redis.call('ZRANGE', KEYS[2], first, last, 'REV')
else
  members = redis.call('ZRANGE', KEYS[2], first, last)
end
local out = { redis.call('ZCARD', KEYS[2]) }
if #members > 0 then
  local found = redis.call('HMGET', KEYS[3], unpack(members))
  for i = 1, #members do
    if found[i] then out[#out + 1] = found[i] end
  end
end
return out
`;

/** KEYS lock. ARGV token. Releases the rebuild lock only if this reader still holds it. */
export const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS lock. ARGV token, ttl (ms). Extends the rebuild lock only if this reader still holds it. */
export const RENEW_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * The repair of one order that PostgreSQL lists but Redis shows otherwise (a forged tombstone, a forged or stale
 * document, foreign fields in its hash). KEYS order, index, docs. ARGV user, member, score, json, version, then the
 * state the caller read: the order hash's fingerprint (see STATE_FINGERPRINT) and the member's document ('' if none).
 * Applied only if Redis still holds what the caller read, so a change made since (by the projector) is never
 * overwritten: 'changed' then, and the next repair looks again.
 */
export const REPAIR_LISTED_SCRIPT = `
local order, index, docs = KEYS[1], KEYS[2], KEYS[3]
local user, member, score, json, version, expected, expectedDoc = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local s = redis.call('HMGET', order, 'tomb', 'v', 'member', 'vis')
local fingerprint = (s[1] or '') .. '|' .. (s[2] or '') .. '|' .. (s[3] or '') .. '|' .. (s[4] or '') .. '|' .. redis.call('HLEN', order)
if fingerprint ~= expected or (redis.call('HGET', docs, member) or '') ~= expectedDoc then return 'changed' end
redis.call('DEL', order)
redis.call('HSET', order, 'user', user, 'member', member, 'v', version, 'vis', '1')
redis.call('ZADD', index, score, member)
redis.call('HSET', docs, member, json)
return 'repaired'
`;

/** Takes a member off a user's list that PostgreSQL does not list. KEYS index, docs. ARGV member, the document read. */
export const REPAIR_UNLISTED_SCRIPT = `
if (redis.call('HGET', KEYS[2], ARGV[1]) or '') ~= ARGV[2] then return 'changed' end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 'repaired'
`;
