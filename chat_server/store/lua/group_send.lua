-- One group message, appended: the checks of groups.room.send (or none for a moderator's),
-- the next seq, the message added to the sorted set, the sender's own small entry and the
-- room's counters updated. Nothing else of the room is read or written, so the cost of a
-- message does not grow with the room.
-- KEYS: room (hash), members (hash), hot (hash), msgs (zset), rooms (set).
-- ARGV: prefix, ttl, member id ('' for a moderator), client id, text, at (ISO), now (seconds, as
--       Python's repr of the float), messages per second, messages kept, moderator alias.
-- Returns false without the room, {'err', code, slow mode seconds} when refused, or {'ok', seq, duplicate 0/1, nickname}.
local room, members, hot, msgs, rooms = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local function touch_room()
  touch(room); touch(members); touch(hot); touch(msgs); touch(rooms)
end
if redis.call('EXISTS', room) == 0 then return false end
local member_id, client_id, text, at, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local nickname = ARGV[10]
local moderator = member_id == ''
local mine
if not moderator then
  local raw = redis.call('HGET', members, member_id)
  if not raw then return {'err', 'not_in_group', 0} end
  local member = cjson.decode(raw)
  nickname = member.nickname
  local held = redis.call('HGET', hot, member_id)
  mine = held and cjson.decode(held) or {s = '', c = {}}
  for _, pair in ipairs(mine.c) do
    if pair[1] == client_id then
      -- A write (the TTLs refreshed) so that the WAIT after this script covers the first
      -- message, which may have been written on another connection.
      touch_room()
      return {'ok', pair[2], 1, nickname}
    end
  end
  local state = redis.call('HMGET', room, 'paused', 'slow_seconds', 'window_start', 'window_count')
  local stamp, slow = tonumber(now), tonumber(state[2] or '0')
  if member.waiting then return {'err', 'still_waiting', slow} end
  if member.muted then return {'err', 'muted', slow} end
  if state[1] == '1' then return {'err', 'group_paused', slow} end
  if slow > 0 and mine.s ~= '' and stamp - tonumber(mine.s) < slow then return {'err', 'slow_mode', slow} end
  local window_start, window_count = state[3] or '0.0', tonumber(state[4] or '0')
  if stamp - tonumber(window_start) >= 1.0 then window_start, window_count = now, 0 end
  if window_count >= tonumber(ARGV[8]) then return {'err', 'rate_limited', slow} end
  redis.call('HSET', room, 'window_start', window_start, 'window_count', window_count + 1)
end
local seq = redis.call('HINCRBY', room, 'last_seq', 1)
redis.call('HINCRBY', room, 'messages', 1)
redis.call('HINCRBY', room, 'v', 1)
if not moderator then
  mine.s = now
  mine.c[#mine.c + 1] = {client_id, seq}
  -- As many client ids as groups.room.CLIENT_IDS_KEPT, the oldest forgotten first.
  while #mine.c > 32 do table.remove(mine.c, 1) end
  redis.call('HSET', hot, member_id, cjson.encode(mine))
end
local message = cjson.encode({
  seq = seq, text = text, at = at, nickname = nickname,
  member_id = moderator and cjson.null or member_id, moderator = moderator,
})
redis.call('ZADD', msgs, seq, message)
redis.call('ZREMRANGEBYRANK', msgs, 0, -(tonumber(ARGV[9]) + 1))
touch_room()
return {'ok', seq, 0, nickname}
