-- KEYS: presence, presences. ARGV: prefix, ttl, "1"/"0", now.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'available') == '0'
    and redis.call('HEXISTS', KEYS[1], 'last_chat_at') == 0 then
  redis.call('HSET', KEYS[1], 'last_chat_at', ARGV[4])
end
redis.call('HSET', KEYS[1], 'available', ARGV[3])
touch_presence(KEYS[1], KEYS[2])
return redis.call('HGETALL', KEYS[1])
