-- KEYS: chat, resume, queue, chats, sweep, address set.
-- ARGV: prefix, ttl, chat id, max queue (0 = none), max per address, address hash ('' = none), field, value, ...
-- Returns 1 (created), 0 (exists), -1 (queue full), -2 (the address has its maximum of live chats).
-- #include lib/sweep.lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
-- flood limits: checked in the same script as the RPUSH, so concurrent starts cannot overshoot
local max_queue = tonumber(ARGV[4])
if max_queue > 0 and redis.call('LLEN', KEYS[3]) >= max_queue then return -1 end
if ARGV[6] ~= '' then
  -- The address set lists live chats only: drop the ended and expired ones first.
  local live = 0
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[6])) do
    local state = redis.call('HGET', chat_key(id), 'state')
    if state == 'waiting' or state == 'active' then live = live + 1 else redis.call('SREM', KEYS[6], id) end
  end
  if live >= tonumber(ARGV[5]) then return -2 end
  redis.call('SADD', KEYS[6], ARGV[3])
  touch(KEYS[6])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('HGET', KEYS[1], 'visitor_connected') == '0' then add_to_sweep(KEYS[5], ARGV[3]) end
touch(KEYS[1])
touch(KEYS[3])
touch(KEYS[4])
return 1
