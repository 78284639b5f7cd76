-- KEYS: chat, queue, chats, loads. ARGV: prefix, ttl, chat id.
-- #include lib/staff_load.lua
local id = ARGV[3]
local fields = redis.call('HMGET', KEYS[1], 'state', 'staff_id')
if fields[1] ~= 'active' then return {} end
redis.call('HSET', KEYS[1], 'state', 'waiting')
redis.call('HDEL', KEYS[1], 'staff_id', 'assigned_at')
-- It goes back to this member first if they return while it still waits.
if fields[2] then redis.call('HSET', KEYS[1], 'returns_to', fields[2]) end
redis.call('LPUSH', KEYS[2], id)
if fields[2] then drop_from_staff(KEYS[4], fields[2], id) end
-- A second (second_join.lua) leaves a chat that goes back to the queue.
local second = redis.call('HGET', KEYS[1], 'second_id')
if second then
  unload(KEYS[4], second, id)
  redis.call('SREM', staff_seconds_key(second), id)
  redis.call('HDEL', KEYS[1], 'second_id', 'second_as')
end
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
