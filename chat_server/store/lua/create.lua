-- KEYS: chat, resume, queue, chats, sweep. ARGV: prefix, ttl, chat id, field, value, ...
-- #include lib/sweep.lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('HGET', KEYS[1], 'visitor_connected') == '0' then add_to_sweep(KEYS[5], ARGV[3]) end
touch(KEYS[1])
touch(KEYS[3])
touch(KEYS[4])
return 1
