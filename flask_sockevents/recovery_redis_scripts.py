"""The Lua scripts of the Redis recovery store (:mod:`.recovery_redis`).

Each runs atomically in Redis, which is what makes the store's guarantees
hold across processes: a packet is appended and the log trimmed to its
bounds in one step (:data:`LOG`), a lost session is written and the number
kept bounded in one step (:data:`KEEP`), and a session is taken at most once
whichever processes race for it (:data:`TAKE`). Each script says its
``KEYS``, its ``ARGV`` and what it returns.

:data:`TAKE` and :data:`KEEP` reach keys they derive from a session record
(its owner's liveness keys, the sessions pushed out by the cap), which Redis
Cluster does not allow: the store needs one Redis server.
"""

from __future__ import annotations

__all__ = ["KEEP", "LOG", "TAKE"]

# Stream ids as {milliseconds, sequence} compared in Lua (numbers are doubles:
# exact for the milliseconds of any date, and for sequences below 2^53).
_IDS = """
local function parse_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return {tonumber(ms), tonumber(seq)}
end
local function older(a, b)
  local x, y = parse_id(a), parse_id(b)
  return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2])
end
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
"""

#: KEYS: stream, its meta hash. ARGV: packet, max_packets, max_bytes, window (ms).
#: Appends, then trims the oldest entries (exactly, never the one just added)
#: while any bound is exceeded; notes in meta the bytes the stream holds and
#: the newest entry pushed out by the count or byte cap (``capped``); lets both
#: keys expire after the window.
LOG = (
    _IDS
    + """
local id = redis.call('XADD', KEYS[1], '*', 'p', ARGV[1])
local total = redis.call('HINCRBY', KEYS[2], 'bytes', #ARGV[1])
local length = redis.call('XLEN', KEYS[1])
if length == 1 and total ~= #ARGV[1] then
  total = #ARGV[1]  -- a new stream: whatever the counter held is stale
  redis.call('HSET', KEYS[2], 'bytes', total)
end
local excess = length - tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local oldest_kept = now_ms() - window
local first_kept = nil
local capped = nil
local removed = false
local start = '-'
local count = 2
while first_kept == nil do
  local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', count)
  for _, entry in ipairs(entries) do
    local aged = parse_id(entry[1])[1] < oldest_kept
    if entry[1] == id or (excess <= 0 and total <= max_bytes and not aged) then
      first_kept = entry[1]
      break
    end
    if not aged then
      capped = entry[1]  -- a packet a client in the window may have missed
    end
    excess = excess - 1
    total = total - #entry[2][2]
    removed = true
  end
  if first_kept == nil then
    start = '(' .. entries[#entries][1]
    count = math.min(count * 2, 128)
  end
end
if removed then
  redis.call('XTRIM', KEYS[1], 'MINID', first_kept)
  redis.call('HSET', KEYS[2], 'bytes', total)
end
if capped then
  redis.call('HSET', KEYS[2], 'capped', capped)
end
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return id
"""
)

#: KEYS: session, stream, its meta hash, owner's alive key, owner's seen key, lost index.
#: ARGV: namespace, offset, owner seen by the caller, '1' if its connection is closed, pid.
#: Deletes the session and returns {state, lost_at, last id to read}, or nil.
#:
#: The offset is good when it is in the log, or when it left the log for its
#: age (it is older than every entry, and not in the future) and no newer
#: packet was pushed out by the count or byte cap. A packet that left for its
#: age was logged more than the window ago, before any session still in the
#: window was lost: no client that may recover missed it.
TAKE = (
    _IDS
    + """
local record = redis.call('HMGET', KEYS[1], 's', 'n', 'l', 'o')
if not record[1] or record[2] ~= ARGV[1] then
  return nil
end
local lost_at = record[3]
if lost_at == '' then
  if record[4] ~= ARGV[3] then
    return nil
  end
  if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[4]) == 1 then
    return nil
  end
  lost_at = redis.call('GET', KEYS[5])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[6], ARGV[5])
if not lost_at then
  return nil
end
local offset = ARGV[2]
if #redis.call('XRANGE', KEYS[2], offset, offset) == 0 then
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if (first and not older(offset, first[1])) or parse_id(offset)[1] > now_ms() then
    return nil
  end
end
local capped = redis.call('HGET', KEYS[3], 'capped')
if capped and older(offset, capped) then
  return nil
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
return {record[1], lost_at, last and last[1] or offset}
"""
)


#: KEYS: session, lost index. ARGV: state, namespace, lost_at, owner, TTL (ms),
#: pid, max_sessions, oldest lost_at still in the window, session key prefix.
#: Writes the lost session, indexes it by lost_at, drops index entries past the
#: window (their sessions expired), and drops the sessions lost first while
#: more than max_sessions are kept.
KEEP = """
redis.call('HSET', KEYS[1], 's', ARGV[1], 'n', ARGV[2], 'l', ARGV[3], 'o', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[8])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[7])
if excess > 0 then
  for _, pid in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do
    local key = ARGV[9] .. pid
    if redis.call('HGET', key, 'l') ~= '' then
      redis.call('DEL', key)
    end
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
"""
