-- KEYS: chat. ARGV: prefix, ttl, flag category.
-- Returns false (no such chat, or still waiting) or {added 0/1, HGETALL of the chat}.
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'active' and state ~= 'ended' then return false end
local flags = redis.call('HGET', KEYS[1], 'flags') or ''
for flag in string.gmatch(flags, '[^,]+') do
  if flag == ARGV[3] then return {0, redis.call('HGETALL', KEYS[1])} end
end
redis.call('HSET', KEYS[1], 'flags', flags == '' and ARGV[3] or (flags .. ',' .. ARGV[3]))
touch(KEYS[1])
return {1, redis.call('HGETALL', KEYS[1])}
