-- KEYS: presence, presences. ARGV: prefix, ttl, staff id, alias, max chats, worker.
-- Besides the total, "w:{worker}" counts the member's sockets on each worker (for reaping).
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'staff_id', ARGV[3], 'available', '0', 'sockets', '0')
end
redis.call('HSET', KEYS[1], 'alias', ARGV[4], 'max_chats', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'sockets', 1)
redis.call('HINCRBY', KEYS[1], 'w:' .. ARGV[6], 1)
redis.call('HDEL', KEYS[1], 'disconnected_at')
redis.call('SADD', KEYS[2], ARGV[3])
touch_presence(KEYS[1], KEYS[2])
return redis.call('HGETALL', KEYS[1])
