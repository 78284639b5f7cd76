-- KEYS: chat, queue, chats, loads, sweep. ARGV: prefix, ttl, chat id, "1"/"0", now, sid, worker.
-- #include lib/sweep.lua
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'ended' then return {} end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'visitor_connected', '1', 'visitor_sid', ARGV[6])
  redis.call('HDEL', KEYS[1], 'visitor_left_at')
  redis.call('SREM', KEYS[5], ARGV[3])
  if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[1], 'visitor_worker', ARGV[7])
  else
    redis.call('HDEL', KEYS[1], 'visitor_worker')
  end
else
  if redis.call('HGET', KEYS[1], 'visitor_sid') ~= ARGV[6] then return {} end
  mark_visitor_away(KEYS[1], ARGV[3], ARGV[5], KEYS[5])
end
touch_chat(ARGV[3], KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
