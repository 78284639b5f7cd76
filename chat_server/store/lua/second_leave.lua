-- KEYS: chat, queue, chats, loads. ARGV: prefix, ttl, chat id, the second's staff id ('' for any).
-- Take the chat's second out of it: off their load and their seconds set.
-- Returns the chat's HGETALL as it was before (naming who left), or {} when it had no such second.
-- #include lib/staff_load.lua
local id = ARGV[3]
local second = redis.call('HGET', KEYS[1], 'second_id')
if not second or (ARGV[4] ~= '' and second ~= ARGV[4]) then return {} end
local before = redis.call('HGETALL', KEYS[1])
unload(KEYS[4], second, id)
redis.call('SREM', staff_seconds_key(second), id)
redis.call('HDEL', KEYS[1], 'second_id', 'second_as')
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return before
