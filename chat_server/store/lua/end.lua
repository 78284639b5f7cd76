-- KEYS: chat, queue, chats, loads, msgs, cids, sweep.
-- ARGV: prefix, ttl, chat id, reason, outcome, now, staff id the chat must belong to ('' for any).
-- #include lib/staff_load.lua
-- #include lib/sweep.lua
local id = ARGV[3]
local fields = redis.call('HMGET', KEYS[1], 'state', 'staff_id', 'resume_hash')
local state = fields[1]
if not state or state == 'ended' then return {} end
if ARGV[7] ~= '' and fields[2] ~= ARGV[7] then return {} end
if state == 'waiting' then redis.call('LREM', KEYS[2], 0, id) end
-- The ended chat stays in the staff member's chats set until it is finished (topics).
if state == 'active' and fields[2] then unload(KEYS[4], fields[2], id) end
-- A second (second_join.lua) stays named on the ended chat (who to tell) but leaves their load.
local second = redis.call('HGET', KEYS[1], 'second_id')
if second then
  unload(KEYS[4], second, id)
  redis.call('SREM', staff_seconds_key(second), id)
end
redis.call('HSET', KEYS[1], 'state', 'ended', 'ended_at', ARGV[6], 'end_reason', ARGV[4], 'outcome', ARGV[5])
if fields[3] then
  local rk = prefix .. 'resume:' .. fields[3]
  if redis.call('GET', rk) == id then redis.call('DEL', rk) end
end
-- Message text exists only while the chat lives.
redis.call('DEL', KEYS[5], KEYS[6])
-- So does the private staff thread (thread_append.lua): its text, client ids and members.
redis.call('DEL', prefix .. 'thread:' .. id, prefix .. 'threadcids:' .. id, prefix .. 'threadwho:' .. id)
-- flood limits: an ended chat no longer counts for its address (create.lua prunes too)
local address = redis.call('HGET', KEYS[1], 'address_hash')
if address then redis.call('SREM', prefix .. 'addrchats:' .. address, id) end
add_to_sweep(KEYS[7], id)
touch_chat(id, KEYS[2], KEYS[3], KEYS[4])
return redis.call('HGETALL', KEYS[1])
