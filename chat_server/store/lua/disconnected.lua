-- KEYS: presence, presences. ARGV: prefix, ttl, now, worker.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local field = 'w:' .. ARGV[4]
local left = redis.call('HINCRBY', KEYS[1], field, -1)
if left <= 0 then redis.call('HDEL', KEYS[1], field) end
-- A socket of a worker that was reaped meanwhile has been counted off already.
if left < 0 then return redis.call('HGETALL', KEYS[1]) end
local sockets = tonumber(redis.call('HGET', KEYS[1], 'sockets')) - 1
if sockets < 0 then sockets = 0 end
redis.call('HSET', KEYS[1], 'sockets', sockets)
if sockets == 0 then
  redis.call('HSET', KEYS[1], 'disconnected_at', ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'disconnected_at')
end
touch_presence(KEYS[1], KEYS[2])
return redis.call('HGETALL', KEYS[1])
