-- KEYS: worker, workers. ARGV: prefix, ttl, worker id, heartbeat ms.
-- Returns 1 when the worker was registered, 0 when it is new or had been reaped.
local known = redis.call('SISMEMBER', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
touch(KEYS[2])
return known
