-- KEYS: chat, queue, chats, loads, to active set, to chats set, to presence, presences.
-- ARGV: prefix, ttl, chat id, from staff, to staff, capacity, now.
-- #include lib/staff_load.lua
local id, from, to = ARGV[3], ARGV[4], ARGV[5]
local fields = redis.call('HMGET', KEYS[1], 'state', 'staff_id', 'second_id')
if fields[1] ~= 'active' or fields[2] ~= from then return {} end
-- Never to the chat's second: they are in it already (they stay on through a transfer).
if fields[3] == to then return {} end
if redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[6]) then return {} end
-- The target must still be checked in and connected (it may have left since it was chosen).
-- A member on a break takes no chat either.
local target = redis.call('HMGET', KEYS[7], 'available', 'sockets', 'paused_at')
if target[1] ~= '1' or tonumber(target[2] or '0') < 1 or target[3] then return {} end
drop_from_staff(KEYS[4], from, id)
take_onto_staff(KEYS[1], id, to, ARGV[7], {active = KEYS[5], chats = KEYS[6], presence = KEYS[7]}, KEYS[4], KEYS[8])
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
