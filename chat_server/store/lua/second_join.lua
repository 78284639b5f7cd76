-- KEYS: chat, queue, chats, loads, second's active set, second's seconds set, second's presence, presences.
-- ARGV: prefix, ttl, chat id, primary's staff id, second's staff id, capacity, role ('responder' or
--       'listener'), now.
-- Bring a colleague into an active chat as its second: they count it in their load (the
-- active set and loads counter, as a chat of their own) until second_leave, end or requeue.
-- Returns {'not_held'}, {'not_active'}, {'second_present'}, {'not_on_duty'} or {'full'}
-- (nothing changed), or the chat's HGETALL.
-- #include lib/staff_load.lua
local id, primary, second = ARGV[3], ARGV[4], ARGV[5]
local fields = redis.call('HMGET', KEYS[1], 'state', 'staff_id', 'second_id', 'seconds')
if not fields[1] or fields[2] ~= primary then return {'not_held'} end
if fields[1] ~= 'active' then return {'not_active'} end
if fields[3] then return {'second_present'} end
local target = redis.call('HMGET', KEYS[7], 'available', 'sockets', 'paused_at')
if target[1] ~= '1' or tonumber(target[2] or '0') < 1 or target[3] then return {'not_on_duty'} end
if current_load(KEYS[4], second, KEYS[5]) >= tonumber(ARGV[6]) then return {'full'} end
local seconds = fields[4] or ''
local listed = false
for role in string.gmatch(seconds, '[^,]+') do
  if role == ARGV[7] then listed = true end
end
if not listed then
  if seconds == '' then seconds = ARGV[7] else seconds = seconds .. ',' .. ARGV[7] end
end
redis.call('HSET', KEYS[1], 'second_id', second, 'second_as', ARGV[7], 'seconds', seconds)
redis.call('SADD', KEYS[5], id)
redis.call('SADD', KEYS[6], id)
redis.call('HINCRBY', KEYS[4], second, 1)
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
