-- KEYS: presence, presences. ARGV: prefix, ttl, "1"/"0", now, dropped "1"/"0".
-- Checking in or out ends a break; "dropped" marks a check-out by a lost connection, any other call clears it.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'available') == '0'
    and redis.call('HEXISTS', KEYS[1], 'last_chat_at') == 0 then
  redis.call('HSET', KEYS[1], 'last_chat_at', ARGV[4])
end
redis.call('HSET', KEYS[1], 'available', ARGV[3])
redis.call('HDEL', KEYS[1], 'paused_at')
if ARGV[3] == '0' and ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'dropped', '1')
else
  redis.call('HDEL', KEYS[1], 'dropped')
end
touch_presence(KEYS[1], KEYS[2])
return redis.call('HGETALL', KEYS[1])
