-- KEYS: chat, queue, chats, loads. ARGV: prefix, ttl, chat id, language, active too (1/0).
local fields = redis.call('HMGET', KEYS[1], 'state', 'language', 'requested_language')
if fields[1] ~= 'waiting' and not (fields[1] == 'active' and ARGV[5] == '1') then return {} end
if not fields[3] and fields[2] ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'requested_language', fields[2])
end
redis.call('HSET', KEYS[1], 'language', ARGV[4])
touch_chat(ARGV[3], KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
