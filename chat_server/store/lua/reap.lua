-- KEYS: workers, chats, presences, queue, loads, sweep. ARGV: prefix, ttl, worker id, now.
-- Marks the visitors and counts off the staff sockets a dead worker held; a worker
-- that beat again meanwhile is left alone. Returns {changed chats, changed presences}.
-- #include lib/sweep.lua
local id = ARGV[3]
if redis.call('EXISTS', prefix .. 'worker:' .. id) == 1 then return {{}, {}} end
if redis.call('SREM', KEYS[1], id) == 0 then return {{}, {}} end
local chats, presences = {}, {}
for _, cid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ck = chat_key(cid)
  local f = redis.call('HMGET', ck, 'visitor_worker', 'state')
  if f[1] == id and f[2] and f[2] ~= 'ended' then
    mark_visitor_away(ck, cid, ARGV[4], KEYS[6])
    touch_chat(cid, KEYS[4], KEYS[2], KEYS[5])
    table.insert(chats, redis.call('HGETALL', ck))
  end
end
local field = 'w:' .. id
for _, staff in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local pk = prefix .. 'presence:' .. staff
  local lost = tonumber(redis.call('HGET', pk, field) or '0')
  if lost > 0 then
    redis.call('HDEL', pk, field)
    local sockets = tonumber(redis.call('HGET', pk, 'sockets')) - lost
    if sockets <= 0 then
      redis.call('HSET', pk, 'sockets', 0, 'disconnected_at', ARGV[4])
    else
      redis.call('HSET', pk, 'sockets', sockets)
    end
    touch(pk)
    table.insert(presences, redis.call('HGETALL', pk))
  end
end
return {chats, presences}
