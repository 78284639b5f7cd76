-- KEYS: chat, queue, chats, loads, staff active set, staff chats set, presence, presences.
-- ARGV: prefix, ttl, chat id, staff id, capacity, shift id or "", now, the member's languages
-- comma-separated ("" speaks every language).
-- #include lib/staff_load.lua
local id, staff = ARGV[3], ARGV[4]
local fields = redis.call('HMGET', KEYS[1], 'state', 'language')
if fields[1] ~= 'waiting' then return {} end
if ARGV[8] ~= '' and not string.find(',' .. ARGV[8] .. ',', ',' .. fields[2] .. ',', 1, true) then
  return {}
end
if current_load(KEYS[4], staff, KEYS[5]) >= tonumber(ARGV[5]) then return {} end
-- A member on a break gets no new chat.
if redis.call('HEXISTS', KEYS[7], 'paused_at') == 1 then return {} end
if redis.call('LREM', KEYS[2], 1, id) == 0 then return {} end
redis.call('HSET', KEYS[1], 'state', 'active')
take_onto_staff(KEYS[1], id, staff, ARGV[7], {active = KEYS[5], chats = KEYS[6], presence = KEYS[7]}, KEYS[4], KEYS[8])
if ARGV[6] ~= '' and redis.call('HEXISTS', KEYS[1], 'shift_id') == 0 then
  redis.call('HSET', KEYS[1], 'shift_id', ARGV[6])
end
if redis.call('HEXISTS', KEYS[1], 'first_assigned_at') == 0 then
  redis.call('HSET', KEYS[1], 'first_assigned_at', ARGV[7])
end
touch(KEYS[2])
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
