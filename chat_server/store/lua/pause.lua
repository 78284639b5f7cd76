-- KEYS: presence, presences. ARGV: prefix, ttl, "1" (start a break) / "0" (end it), now.
-- Only a checked-in member pauses; a break that runs keeps its start. The assignment and
-- transfer scripts read 'paused_at' in their own atomic step, so no chat arrives during a break.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'available') ~= '1' then return {} end
if ARGV[3] == '1' then
  if redis.call('HEXISTS', KEYS[1], 'paused_at') == 0 then
    redis.call('HSET', KEYS[1], 'paused_at', ARGV[4])
  end
else
  redis.call('HDEL', KEYS[1], 'paused_at')
end
touch_presence(KEYS[1], KEYS[2])
return redis.call('HGETALL', KEYS[1])
