-- Prepended to every script by the loader (chat_server/store/lua/__init__.py).
-- ARGV[1] is the key prefix and ARGV[2] the TTL in seconds, for every script.
local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local function touch(key)
  redis.call('EXPIRE', key, ttl)
end
local function chat_key(id)
  return prefix .. 'chat:' .. id
end
local function active_key(staff)
  return prefix .. 'staff:' .. staff .. ':active'
end
local function staff_chats_key(staff)
  return prefix .. 'staff:' .. staff .. ':chats'
end
-- The active chats a member is in as the second (second_join.lua).
local function staff_seconds_key(staff)
  return prefix .. 'staff:' .. staff .. ':seconds'
end
-- Refresh the TTL of every key of a chat and of each index that lists it.
local function touch_chat(id, queue, chats, loads)
  local ck = chat_key(id)
  touch(ck)
  touch(prefix .. 'msgs:' .. id)
  touch(prefix .. 'cids:' .. id)
  touch(chats)
  local fields = redis.call('HMGET', ck, 'resume_hash', 'staff_id', 'state', 'second_id')
  if fields[1] then touch(prefix .. 'resume:' .. fields[1]) end
  if fields[2] then
    touch(active_key(fields[2]))
    touch(staff_chats_key(fields[2]))
    touch(loads)
  end
  if fields[4] then
    touch(active_key(fields[4]))
    touch(staff_seconds_key(fields[4]))
  end
  if fields[3] == 'waiting' then touch(queue) end
end
-- A presence and the set that lists it expire together.
local function touch_presence(presence, presences)
  touch(presence)
  touch(presences)
end
