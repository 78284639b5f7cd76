-- KEYS: chat, msgs, cids, queue, chats, loads.
-- ARGV: prefix, ttl, chat id, dedupe field, payload json (a staff message's without its closing
--       brace: the author's alias is added here), counter field, text bytes, max messages
--       (0 = none), max bytes (0 = none), sender ('visitor' or 'staff'), holder (the visitor's
--       socket id, or the staff id).
-- The sender's right to send and the append, in one script: one round trip per message.
-- A visitor's socket must hold the chat (waiting or active); a member must have it, active.
-- The chat's second (second_join.lua) may write as a member too, unless a listener.
-- Returns {0, 'not_held'}, {0, 'not_active'} or {0, 'listener'} (nothing changed), {-1} (the chat
-- is full), or {1, duplicate 0/1, "{seq} {payload}", staff id or '', state, visitor messages,
-- second's staff id or '', workers} where workers names, space-separated, every worker that holds
-- a socket of someone the message goes to (the visitor's, and the member's and second's sockets
-- as their presence counts them per worker): the emit is published to those workers only.
-- A duplicate returns '' (nothing is emitted).
local held = redis.call('HMGET', KEYS[1], 'state', 'visitor_sid', 'staff_id', 'last_seq', 'text_bytes',
  'visitor_messages', 'second_id', 'second_as', 'visitor_worker')
local state, staff, second = held[1], held[3], held[7]
if ARGV[10] == 'visitor' then
  if not state or state == 'ended' or held[2] ~= ARGV[11] then return {0, 'not_held'} end
else
  if not state or (staff ~= ARGV[11] and second ~= ARGV[11]) then return {0, 'not_held'} end
  if state ~= 'active' then return {0, 'not_active'} end
  if staff ~= ARGV[11] and held[8] == 'listener' then return {0, 'listener'} end
end
local visitor_messages = tonumber(held[6] or '0')
-- '*' when a recipient's sockets are not known to be anywhere (a visitor away, a member
-- between connections): then the emit goes to every worker, as python-socketio's would.
local function workers()
  if not held[9] then return '*' end
  local out = {held[9]}
  for _, id in ipairs({staff, second}) do
    if id then
      local counts = redis.call('HGETALL', prefix .. 'presence:' .. id)
      local found = false
      for i = 1, #counts, 2 do
        if string.sub(counts[i], 1, 2) == 'w:' and tonumber(counts[i + 1]) > 0 then
          table.insert(out, string.sub(counts[i], 3))
          found = true
        end
      end
      if not found then return '*' end
    end
  end
  return table.concat(out, ' ')
end
local seen = redis.call('HGET', KEYS[3], ARGV[4])
if seen then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], seen, seen)
  -- A write (the TTL refreshed) so that the WAIT after this script covers the first append,
  -- which may have run on another connection and not reached a replica yet.
  if first[1] then
    touch_chat(ARGV[3], KEYS[4], KEYS[5], KEYS[6])
    return {1, 1, first[1], staff or '', state, visitor_messages, second or '', ''}
  end
end
-- per-chat caps, atomic with the append: messages so far (both senders) and bytes of text
local size, max_messages, max_bytes = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
if max_messages > 0 and tonumber(held[4] or '0') >= max_messages then return {-1} end
if max_bytes > 0 and tonumber(held[5] or '0') + size > max_bytes then return {-1} end
redis.call('HINCRBY', KEYS[1], 'text_bytes', size)
local seq = redis.call('HINCRBY', KEYS[1], 'last_seq', 1)
local count = redis.call('HINCRBY', KEYS[1], ARGV[6], 1)
if ARGV[10] == 'visitor' then visitor_messages = count end
local payload = ARGV[5]
if ARGV[10] == 'staff' then
  local alias = redis.call('HGET', prefix .. 'presence:' .. ARGV[11], 'alias') or ''
  payload = payload .. ', "staff_alias": ' .. cjson.encode(alias) .. '}'
end
local member = seq .. ' ' .. payload
redis.call('ZADD', KEYS[2], seq, member)
redis.call('HSET', KEYS[3], ARGV[4], seq)
touch_chat(ARGV[3], KEYS[4], KEYS[5], KEYS[6])
return {1, 0, member, staff or '', state, visitor_messages, second or '', workers()}
