-- KEYS: queue, chats, loads, staff active set, staff chats set, presence, presences.
-- ARGV: prefix, ttl, staff id, capacity, shift id or "", now.
-- #include lib/staff_load.lua
local staff = ARGV[3]
if current_load(KEYS[3], staff, KEYS[4]) >= tonumber(ARGV[4]) then return {} end
-- A member on a break gets no new chat.
if redis.call('HEXISTS', KEYS[6], 'paused_at') == 1 then return {} end
local id, ck
repeat
  id = redis.call('LPOP', KEYS[1])
  if not id then return {} end
  ck = chat_key(id)
until redis.call('EXISTS', ck) == 1
redis.call('HSET', ck, 'state', 'active')
take_onto_staff(ck, id, staff, ARGV[6], {active = KEYS[4], chats = KEYS[5], presence = KEYS[6]}, KEYS[3], KEYS[7])
if ARGV[5] ~= '' and redis.call('HEXISTS', ck, 'shift_id') == 0 then
  redis.call('HSET', ck, 'shift_id', ARGV[5])
end
if redis.call('HEXISTS', ck, 'first_assigned_at') == 0 then
  redis.call('HSET', ck, 'first_assigned_at', ARGV[6])
end
touch(KEYS[1])
touch_chat(id, KEYS[1], KEYS[2], KEYS[3])
return redis.call('HGETALL', ck)
