import { createHash } from 'node:crypto';

/**
 * The Redis engine's Lua scripts (docs/cluster.md, "Scripts"). Redis runs each script atomically, so every
 * rule that must hold across instances (one holder per name, one join order, the room's sequence) is one
 * script on one room's keys: no locks of our own, and each script touches a single Cluster slot.
 */
export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Shared by every room script. KEYS: meta, names, members, hosts, order, log (redis-keys.ts).
 * ARGV[1] pub/sub channel, [2] publish command (SPUBLISH or PUBLISH), [3] stream length, [4] stream idle
 * ttl (s), [5] deadline (Redis time in ms; 0 = none), [6] ttl of an emptied room (s); the script's own
 * arguments follow from ARGV[7].
 */
const ROOM_PRELUDE = `
local meta, names, members, hosts, order, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local pub, pubcmd = ARGV[1], ARGV[2]
local maxlen, logttl, deadline, emptyttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

-- A command that reaches Redis after its sender gave up on it (Redis was paused, the network slow) does
-- nothing: the sender has already told its client "unavailable", and that must stay true.
local function late()
  if deadline == 0 then return false end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline
end

-- Sequences one event, appends it to the bounded stream and publishes it, in one step (redis-entry.ts).
local function emit(kind, action, from, to, body)
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local epoch = redis.call('HGET', meta, 'epoch')
  local entry = 'v1\\n' .. epoch .. '\\n' .. seq .. '\\n' .. kind .. '\\n' .. action .. '\\n' .. from .. '\\n' .. to .. '\\n' .. body
  redis.call('XADD', log, 'MAXLEN', maxlen, seq .. '-0', 'p', entry)
  redis.call('EXPIRE', log, logttl)
  redis.call(pubcmd, pub, entry)
  return seq
end

-- Frees a member's name and place; the rest of the room hears 'left'. False when it was not a member.
local function release(ch)
  local name = redis.call('HGET', members, ch)
  if not name then return false end
  redis.call('HDEL', members, ch)
  redis.call('HDEL', hosts, ch)
  redis.call('ZREM', order, ch)
  if redis.call('HGET', names, name) == ch then redis.call('HDEL', names, name) end
  emit('left', 'peer-left', ch, '*', name)
  return true
end

-- A room nobody is in any more fades away; a claim brings it back (PERSIST).
local function fade_if_empty()
  if redis.call('HLEN', members) == 0 then
    redis.call('EXPIRE', meta, emptyttl)
    redis.call('EXPIRE', log, emptyttl)
  end
end

local function room_exists()
  return redis.call('EXISTS', meta) == 1
end
`;

/** ARGV[7] channel, [8] name, [9] max members, [10] host token, [11] a fresh epoch in case the room is new. */
export const CLAIM = script(
  'claim',
  `${ROOM_PRELUDE}
if late() then return {'late'} end
local ch, name, max, host = ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10]
if not room_exists() then
  -- New, expired or lost with a Redis restart: whatever is left of an older epoch is not this room.
  redis.call('DEL', names, members, hosts, order, log)
  redis.call('HSET', meta, 'epoch', ARGV[11], 'seq', 0, 'joins', 0)
end
local epoch = redis.call('HGET', meta, 'epoch')
local seq = tonumber(redis.call('HGET', meta, 'seq'))
local holder = redis.call('HGET', names, name)
if holder == ch then return {'ok', epoch, seq, redis.call('HLEN', members)} end
if holder then return {'taken', epoch, seq} end
if redis.call('HEXISTS', members, ch) == 1 then return {'named', epoch, seq} end
if redis.call('HLEN', members) >= max then return {'full', epoch, seq} end
redis.call('HSET', names, name, ch)
redis.call('HSET', members, ch, name)
redis.call('HSET', hosts, ch, host)
redis.call('PERSIST', meta)
return {'ok', epoch, seq, redis.call('HLEN', members)}
`,
);

/** ARGV[7] channel, [8] frame. Returns {'ok', seq, channel1, name1, ...} for the members that joined earlier. */
export const JOIN = script(
  'join',
  `${ROOM_PRELUDE}
if late() then return {'late'} end
local ch = ARGV[7]
if not room_exists() or redis.call('HEXISTS', members, ch) == 0 then return {'not-member'} end
local mine = redis.call('ZSCORE', order, ch)
if not mine then
  mine = redis.call('HINCRBY', meta, 'joins', 1)
  redis.call('ZADD', order, mine, ch)
end
local earlier = redis.call('ZRANGEBYSCORE', order, '-inf', '(' .. mine)
local to = ch
if #earlier > 0 then to = table.concat(earlier, ' ') .. ' ' .. ch end
local seq = emit('msg', 'new-join', ch, to, ARGV[8])
local out = {'ok', seq}
for _, c in ipairs(earlier) do
  out[#out + 1] = c
  out[#out + 1] = redis.call('HGET', members, c)
end
return out
`,
);

/** ARGV[7] sender, [8] target channel or '*', [9] action label, [10] frame. */
export const SEND = script(
  'send',
  `${ROOM_PRELUDE}
if late() then return {'late'} end
local from, to = ARGV[7], ARGV[8]
if not room_exists() or redis.call('HEXISTS', members, from) == 0 then return {'not-member'} end
if to ~= '*' and redis.call('HEXISTS', members, to) == 0 then return {'unknown-target'} end
return {'ok', emit('msg', ARGV[9], from, to, ARGV[10])}
`,
);

/** ARGV[7] channel. No deadline: a release is always true, however late it arrives. Returns 1 or 0. */
export const LEAVE = script(
  'leave',
  `${ROOM_PRELUDE}
local ch = ARGV[7]
if not room_exists() then
  redis.call('DEL', names, members, hosts, order)
  return 0
end
local released = release(ch)
fade_if_empty()
if released then return 1 end
return 0
`,
);

/** ARGV[7] dead instance token. Releases every member it hosted; returns how many. */
export const SWEEP = script(
  'sweep',
  `${ROOM_PRELUDE}
local dead = ARGV[7]
if not room_exists() then return 0 end
local all = redis.call('HGETALL', hosts)
local n = 0
for i = 1, #all, 2 do
  if all[i + 1] == dead and release(all[i]) then n = n + 1 end
end
fade_if_empty()
return n
`,
);

/**
 * KEYS meta, log; ARGV[1] last seq seen, [2] of which epoch ('' for none), [3] how many. Returns {'none'}
 * for a room with no state, else {'ok', epoch, seq, entry...}: the room's current epoch and last seq, and
 * the stream's entries after the caller's seq (from the start when the caller's epoch is not the room's).
 */
export const TAIL = script(
  'tail',
  `
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not m[1] then return {'none'} end
local after = tonumber(ARGV[1])
if m[1] ~= ARGV[2] then after = 0 end
local out = {'ok', m[1], tonumber(m[2])}
local entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', tonumber(ARGV[3]))
for _, e in ipairs(entries) do out[#out + 1] = e[2][2] end
return out
`,
);

/**
 * KEYS instances, sweeping, generation; ARGV[1] token, [2] ttl (ms), [3] the generation this instance
 * knows, [4] a fresh generation in case there is none, [5] '1' to register. Returns {status, generation,
 * Redis time in ms}; status `reset` (Redis lost its data) or `swept` (declared dead) renews nothing.
 */
export const HEARTBEAT = script(
  'heartbeat',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gen = redis.call('GET', KEYS[3])
if not gen then
  gen = ARGV[4]
  redis.call('SET', KEYS[3], gen)
end
local status = 'ok'
if ARGV[5] ~= '1' then
  if gen ~= ARGV[3] then status = 'reset'
  elseif not redis.call('ZSCORE', KEYS[1], ARGV[1]) then status = 'swept' end
end
if status == 'ok' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
return {status, gen, now}
`,
);

/**
 * KEYS instances, sweeping; ARGV[1] own token, [2] lease (ms), [3] at most this many. Moves instances
 * past their deadline to `sweeping` under a lease, and re-leases sweeps whose sweeper died; returns the
 * tokens this caller must sweep. Only one caller gets each token per lease.
 */
export const TAKE_DEAD = script(
  'take-dead',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  if token ~= ARGV[1] then
    redis.call('ZREM', KEYS[1], token)
    redis.call('ZADD', KEYS[2], now + lease, token)
    out[#out + 1] = token
  end
end
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZADD', KEYS[2], now + lease, token)
  out[#out + 1] = token
end
return out
`,
);

export const ALL_SCRIPTS = [CLAIM, JOIN, SEND, LEAVE, SWEEP, TAIL, HEARTBEAT, TAKE_DEAD];
