"""The Lua scripts of the Redis session backend: each state change is one atomic script.

Keys (``P`` is the store's prefix, ``O`` the outbox's):

    P<id>:m          hash    the session: spec fields, state, epoch, n (head offset),
                             created/deadline/ended (ms, Redis clock), producer
    P<id>:l          stream  the log; entry ``<offset>-0`` is ``t <text>`` (a piece),
                             ``d "<in> <out>"`` (done) or ``e <code> m <message>`` (failed)
    P<id>:h          string  the producer's lease (its id, with a PX of ``lease``)
    P<id>:w          channel each entry is also published here, ``<offset>:<kind>:<data>``
                             (t: text; d: "<in> <out>"; e: "<code>\n<message>")
    Pchat:<cid>:m    hash    a chat session: owner, turn (its current stream), delivered
    Pchat:<cid>:h    list    its history, JSON ``{"role", "content"}`` per message
    Od:msg_<id>      hash    a callback delivery (see ``callbacks/redis.py``)
    Odue             zset    deliveries by due time (ms)

Every key carries a TTL. The stream ID of an entry *is* its offset, so readers resume
with ``XRANGE`` from the last ID they delivered, never from "now"; the ``PUBLISH`` in
the same script as the ``XADD`` is what wakes readers (see ``redis_wakeups``). State
"expired" is never written: a pending session whose deadline passed reads as expired.

Scripts that can end a session share ARGV[1..5]: prefix, retention (ms), outbox prefix
('' for no callbacks), outbox TTL (ms), chat TTL (ms). They touch keys they compute
(the outbox, a chat's history), so they need one Redis, not a cluster.
"""

from __future__ import annotations

PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local cfg = {prefix = ARGV[1], retention = tonumber(ARGV[2]), outbox = ARGV[3],
             outbox_ttl = tonumber(ARGV[4]), chat_ttl = tonumber(ARGV[5])}

local function create_session(m, epoch, pending, keep, first)
  local now = now_ms()
  redis.call('HSET', m, 'state', 'pending', 'epoch', epoch, 'n', 0, 'created', now,
             'deadline', now + pending, unpack(ARGV, first))
  redis.call('PEXPIRE', m, pending + keep)
  return now
end

local function push_pair(list, key, value)
  if value then
    list[#list + 1] = key
    list[#list + 1] = value
  end
end

-- End session sid with 'done' or 'failed': the terminal entry, the state, the TTLs,
-- the callback delivery and the chat's answer, all in this one script.
-- Returns 1 if it ended the session, 0 if it had ended already, -1 if it is gone.
local function finish(sid, kind, message, code, itok, otok)
  local m = cfg.prefix .. sid .. ':m'
  local l = cfg.prefix .. sid .. ':l'
  local st = redis.call('HGET', m, 'state')
  if not st then return -1 end
  if st == 'done' or st == 'failed' then return 0 end
  local off = redis.call('HINCRBY', m, 'n', 1)
  if kind == 'done' then
    redis.call('XADD', l, off .. '-0', 'd', itok .. ' ' .. otok)
    redis.call('PUBLISH', cfg.prefix .. sid .. ':w', off .. ':d:' .. itok .. ' ' .. otok)
  else
    redis.call('XADD', l, off .. '-0', 'e', code, 'm', message)
    redis.call('PUBLISH', cfg.prefix .. sid .. ':w', off .. ':e:' .. code .. '\\n' .. message)
  end
  local now = now_ms()
  redis.call('HSET', m, 'state', kind, 'ended', now)
  redis.call('DEL', cfg.prefix .. sid .. ':h')
  redis.call('PEXPIRE', m, cfg.retention)
  redis.call('PEXPIRE', l, cfg.retention)
  local meta = redis.call('HMGET', m, 'resume_url', 'conversation', 'user_id', 'chat_id', 'prompt')
  local want_callback = meta[1] and cfg.outbox ~= ''
  local want_chat = meta[2] and kind == 'done'
  if not (want_callback or want_chat) then return 1 end
  local parts = {}
  for _, row in ipairs(redis.call('XRANGE', l, '-', '+')) do
    local fields = row[2]
    if fields[1] == 't' then parts[#parts + 1] = fields[2] end
  end
  local answer = table.concat(parts)
  if want_callback then
    local did = 'msg_' .. sid
    local entry = cfg.outbox .. 'd:' .. did
    if redis.call('EXISTS', entry) == 0 then
      local args = {'id', did, 'session', sid, 'url', meta[1], 'prompt', meta[5] or '',
                    'answer', answer, 'in', itok, 'out', otok, 'state', 'pending',
                    'attempts', 0, 'created', now, 'next_at', now, 'updated', now}
      push_pair(args, 'user_id', meta[3])
      push_pair(args, 'chat_id', meta[4])
      if kind == 'failed' then
        push_pair(args, 'error_code', code)
        push_pair(args, 'error_message', message)
      end
      redis.call('HSET', entry, unpack(args))
      redis.call('PEXPIRE', entry, cfg.outbox_ttl)
      redis.call('ZADD', cfg.outbox .. 'due', now, did)
      redis.call('PEXPIRE', cfg.outbox .. 'due', cfg.outbox_ttl)
    end
  end
  if want_chat then
    local chat = cfg.prefix .. 'chat:' .. meta[2]
    if redis.call('EXISTS', chat .. ':m') == 1 then
      redis.call('RPUSH', chat .. ':h', cjson.encode({role = 'assistant', content = answer}))
      redis.call('PEXPIRE', chat .. ':h', cfg.chat_ttl)
      redis.call('PEXPIRE', chat .. ':m', cfg.chat_ttl)
    end
  end
  return 1
end
"""

# ARGV[6] session id, [7] epoch, [8] pending ttl (ms), [9] kept after the deadline (ms),
# [10..] field pairs. Returns the creation time (ms).
CREATE = (
    PRELUDE
    + """
return create_session(cfg.prefix .. ARGV[6] .. ':m', ARGV[7], tonumber(ARGV[8]),
                      tonumber(ARGV[9]), 10)
"""
)

# ARGV[6] session id, [7] producer, [8] lease (ms), [9] running TTL (ms). 1: claimed.
START = (
    PRELUDE
    + """
local m = cfg.prefix .. ARGV[6] .. ':m'
local f = redis.call('HMGET', m, 'state', 'deadline')
if f[1] ~= 'pending' then return 0 end
local now = now_ms()
if now >= tonumber(f[2]) then return 0 end
redis.call('HSET', m, 'state', 'running', 'producer', ARGV[7], 'started', now)
redis.call('SET', cfg.prefix .. ARGV[6] .. ':h', ARGV[7], 'PX', ARGV[8])
redis.call('PEXPIRE', m, ARGV[9])
return 1
"""
)

# ARGV[6] session id, [7] producer, [8] lease (ms), [9] running TTL (ms). 1: still ours.
HEARTBEAT = (
    PRELUDE
    + """
local m = cfg.prefix .. ARGV[6] .. ':m'
local f = redis.call('HMGET', m, 'state', 'producer')
if f[1] ~= 'running' or f[2] ~= ARGV[7] then return 0 end
redis.call('SET', cfg.prefix .. ARGV[6] .. ':h', ARGV[7], 'PX', ARGV[8])
redis.call('PEXPIRE', m, ARGV[9])
redis.call('PEXPIRE', cfg.prefix .. ARGV[6] .. ':l', ARGV[9])
return 1
"""
)

# ARGV[6] session id, [7] text, [8] max entries, [9] lease (ms). Returns the offset, or -1
# (not running) or -2 (the log is full: the session was ended with buffer_full). An append
# renews the producer's lease as a heartbeat does: a producer whose loop is too busy to
# beat on time but still appends is alive, and must not be reaped.
APPEND = (
    PRELUDE
    + """
local m = cfg.prefix .. ARGV[6] .. ':m'
local f = redis.call('HMGET', m, 'state', 'n')
if f[1] ~= 'running' then return -1 end
local n = tonumber(f[2])
if n + 2 > tonumber(ARGV[8]) then
  finish(ARGV[6], 'failed', 'the stream exceeded ' .. ARGV[8] .. ' entries', 'buffer_full', 0, 0)
  return -2
end
local l = cfg.prefix .. ARGV[6] .. ':l'
redis.call('HSET', m, 'n', n + 1)
redis.call('XADD', l, (n + 1) .. '-0', 't', ARGV[7])
redis.call('PUBLISH', cfg.prefix .. ARGV[6] .. ':w', (n + 1) .. ':t:' .. ARGV[7])
redis.call('PEXPIRE', cfg.prefix .. ARGV[6] .. ':h', ARGV[9])
if n == 0 then redis.call('PEXPIRE', l, redis.call('PTTL', m)) end
return n + 1
"""
)

# ARGV[6] session id, [7] 'done'|'failed', [8] message, [9] code, [10] in, [11] out.
END = (
    PRELUDE
    + """
return finish(ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
"""
)

# ARGV[6] session id. 1: the session was running with a lapsed lease, and is now failed.
REAP = (
    PRELUDE
    + """
local sid = ARGV[6]
if redis.call('HGET', cfg.prefix .. sid .. ':m', 'state') ~= 'running' then return 0 end
if redis.call('EXISTS', cfg.prefix .. sid .. ':h') == 1 then return 0 end
return finish(sid, 'failed', "the stream's producer stopped responding", 'producer_lost', 0, 0)
"""
)

# ARGV[6] chat id, [7] owner. Returns {owner, turn, delivered} ('' for none).
OPEN_CHAT = (
    PRELUDE
    + """
local m = cfg.prefix .. 'chat:' .. ARGV[6] .. ':m'
local owner = redis.call('HGET', m, 'owner')
if not owner then
  redis.call('HSET', m, 'owner', ARGV[7])
  owner = ARGV[7]
end
if owner == ARGV[7] then
  redis.call('PEXPIRE', m, cfg.chat_ttl)
  redis.call('PEXPIRE', cfg.prefix .. 'chat:' .. ARGV[6] .. ':h', cfg.chat_ttl)
end
local f = redis.call('HMGET', m, 'turn', 'delivered')
return {owner, f[1] or '', f[2] or ''}
"""
)

# ARGV[6] chat id, [7] user message (JSON), [8] new session id, [9] epoch, [10] pending
# ttl (ms), [11] kept after the deadline (ms), [12..] field pairs.
# Returns the new session's creation time (ms), 0 (the previous turn is still pending
# or running) or -1 (no such chat).
BEGIN_TURN = (
    PRELUDE
    + """
local chat = cfg.prefix .. 'chat:' .. ARGV[6]
if redis.call('EXISTS', chat .. ':m') == 0 then return -1 end
local turn = redis.call('HGET', chat .. ':m', 'turn')
if turn then
  local f = redis.call('HMGET', cfg.prefix .. turn .. ':m', 'state', 'deadline')
  if f[1] == 'running' and redis.call('EXISTS', cfg.prefix .. turn .. ':h') == 0 then
    finish(turn, 'failed', "the stream's producer stopped responding", 'producer_lost', 0, 0)
  elseif f[1] == 'running' then
    return 0
  elseif f[1] == 'pending' and now_ms() < tonumber(f[2]) then
    return 0
  end
end
redis.call('RPUSH', chat .. ':h', ARGV[7])
local created = create_session(cfg.prefix .. ARGV[8] .. ':m', ARGV[9], tonumber(ARGV[10]),
                               tonumber(ARGV[11]), 12)
redis.call('HSET', chat .. ':m', 'turn', ARGV[8])
redis.call('HDEL', chat .. ':m', 'delivered')
redis.call('PEXPIRE', chat .. ':m', cfg.chat_ttl)
redis.call('PEXPIRE', chat .. ':h', cfg.chat_ttl)
return created
"""
)

# ARGV[6] chat id, [7] cursor. Sets the chat's delivered cursor if the chat exists.
SET_DELIVERED = (
    PRELUDE
    + """
local m = cfg.prefix .. 'chat:' .. ARGV[6] .. ':m'
if redis.call('EXISTS', m) == 0 then return 0 end
redis.call('HSET', m, 'delivered', ARGV[7])
return 1
"""
)
