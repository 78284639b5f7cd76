-- KEYS: chat, msgs, cids, queue, chats, loads.
-- ARGV: prefix, ttl, chat id, dedupe field, payload json, counter field.
-- Returns false (not active) or {duplicate 0/1, "{seq} {payload}"}.
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return false end
local seen = redis.call('HGET', KEYS[3], ARGV[4])
if seen then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], seen, seen)
  if first[1] then return {1, first[1]} end
end
local seq = redis.call('HINCRBY', KEYS[1], 'last_seq', 1)
redis.call('HINCRBY', KEYS[1], ARGV[6], 1)
local member = seq .. ' ' .. ARGV[5]
redis.call('ZADD', KEYS[2], seq, member)
redis.call('HSET', KEYS[3], ARGV[4], seq)
touch_chat(ARGV[3], KEYS[4], KEYS[5], KEYS[6])
return {0, member}
