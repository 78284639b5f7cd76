-- KEYS: chat, msgs, cids, queue, chats, loads.
-- ARGV: prefix, ttl, chat id, dedupe field, payload json, counter field,
--       text bytes, max messages (0 = none), max bytes (0 = none), waiting too (1/0).
-- Returns false (not active, nor waiting when allowed), -1 (the chat is full) or {duplicate 0/1, "{seq} {payload}"}.
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'active' and not (state == 'waiting' and ARGV[10] == '1') then return false end
local seen = redis.call('HGET', KEYS[3], ARGV[4])
if seen then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], seen, seen)
  -- A write (the TTL refreshed) so that the WAIT after this script covers the first append,
  -- which may have run on another connection and not reached a replica yet.
  if first[1] then touch_chat(ARGV[3], KEYS[4], KEYS[5], KEYS[6]); return {1, first[1]} end
end
-- per-chat caps, atomic with the append: messages so far (both senders) and bytes of text
local size, max_messages, max_bytes = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local held = redis.call('HMGET', KEYS[1], 'last_seq', 'text_bytes')
if max_messages > 0 and tonumber(held[1] or '0') >= max_messages then return -1 end
if max_bytes > 0 and tonumber(held[2] or '0') + size > max_bytes then return -1 end
redis.call('HINCRBY', KEYS[1], 'text_bytes', size)
local seq = redis.call('HINCRBY', KEYS[1], 'last_seq', 1)
redis.call('HINCRBY', KEYS[1], ARGV[6], 1)
local member = seq .. ' ' .. ARGV[5]
redis.call('ZADD', KEYS[2], seq, member)
redis.call('HSET', KEYS[3], ARGV[4], seq)
touch_chat(ARGV[3], KEYS[4], KEYS[5], KEYS[6])
return {0, member}
