-- KEYS: chat, chats, msgs, cids, sweep. ARGV: prefix, ttl, chat id.
local id = ARGV[3]
if redis.call('HGET', KEYS[1], 'state') ~= 'ended' then return {} end
local h = redis.call('HGETALL', KEYS[1])
local staff = redis.call('HGET', KEYS[1], 'staff_id')
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[2], id)
redis.call('SREM', KEYS[5], id)
if staff then
  redis.call('SREM', staff_chats_key(staff), id)
  redis.call('SREM', active_key(staff), id)
end
return h
