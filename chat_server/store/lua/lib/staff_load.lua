-- A chat onto and off a staff member: their active set (the capacity check), their
-- chats set (what their console lists), the loads counter, their presence's last_chat_at.

-- Take a chat off a staff member's load; the set makes this idempotent.
local function unload(loads, staff, id)
  if redis.call('SREM', active_key(staff), id) == 1 then
    if redis.call('HINCRBY', loads, staff, -1) <= 0 then
      redis.call('HDEL', loads, staff)
    end
  end
end

-- The member's load as their active set has it, after forgetting entries whose chat is no
-- longer active (expired), so a lost chat cannot block capacity; the counter follows the set.
local function current_load(loads, staff, active)
  for _, id in ipairs(redis.call('SMEMBERS', active)) do
    if redis.call('HGET', chat_key(id), 'state') ~= 'active' then
      unload(loads, staff, id)
    end
  end
  local load = redis.call('SCARD', active)
  if load > 0 then redis.call('HSET', loads, staff, load) else redis.call('HDEL', loads, staff) end
  return load
end

-- Take a chat off a staff member altogether: off their load and out of their chats.
local function drop_from_staff(loads, staff, id)
  unload(loads, staff, id)
  redis.call('SREM', staff_chats_key(staff), id)
end

-- Take a chat onto a staff member: the chat names them, their sets and load count it,
-- and their presence (when they have one) notes when they last got a chat.
-- to: {active = their active set, chats = their chats set, presence = their presence hash}.
local function take_onto_staff(ck, id, staff, now, to, loads, presences)
  redis.call('HSET', ck, 'staff_id', staff, 'assigned_at', now)
  redis.call('HDEL', ck, 'returns_to')
  redis.call('SADD', to.active, id)
  redis.call('SADD', to.chats, id)
  redis.call('HINCRBY', loads, staff, 1)
  if redis.call('EXISTS', to.presence) == 1 then
    redis.call('HSET', to.presence, 'last_chat_at', now)
    touch_presence(to.presence, presences)
  end
end
