-- A change of a group room computed by the group store from the room as read at version
-- ARGV[3]: written only if nobody wrote the room since (compare and set), else nothing.
-- Only the fields that changed are sent: a participant's entry, a counter, the room's cold
-- part (membership, moderation), a message removed, resume tokens indexed or dropped.
-- KEYS: room (hash), members (hash), hot (hash), msgs (zset), rooms (set), then the token keys
--       to set, then the token keys to delete.
-- ARGV: prefix, ttl, version read ('' = open: the room must not exist yet), room id, ops as JSON:
--   {"room": {field: value}, "members": {id: json}, "members_gone": [id], "hot": {id: json},
--    "hot_gone": [id], "add": [seq, message json] and "keep": messages kept, or absent,
--    "remove_seq": "n" or absent, "tokens": [value of each token key to set],
--    "drop": number of token keys to delete, "end": true to delete the whole room}
-- Returns the new version, or false when the room changed (or appeared, or is gone) meanwhile.
local room, members, hot, msgs, rooms = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local version = redis.call('HGET', room, 'v')
if ARGV[3] == '' then
  if version then return false end
elseif version ~= ARGV[3] then
  return false
end
local ops = cjson.decode(ARGV[5])
local tokens = ops.tokens or {}
local first_drop = 6 + #tokens
if ops['end'] then
  for i = first_drop, first_drop + (ops.drop or 0) - 1 do redis.call('DEL', KEYS[i]) end
  redis.call('DEL', room, members, hot, msgs)
  redis.call('SREM', rooms, ARGV[4])
  return 0
end
local fields = {}
for name, value in pairs(ops.room or {}) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
if #fields > 0 then redis.call('HSET', room, unpack(fields)) end
local function write(key, set, gone)
  local pairs_ = {}
  for id, value in pairs(set or {}) do
    pairs_[#pairs_ + 1] = id
    pairs_[#pairs_ + 1] = value
  end
  if #pairs_ > 0 then redis.call('HSET', key, unpack(pairs_)) end
  if gone and #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
end
write(members, ops.members, ops.members_gone)
write(hot, ops.hot, ops.hot_gone)
if ops.add then
  redis.call('ZADD', msgs, ops.add[1], ops.add[2])
  redis.call('ZREMRANGEBYRANK', msgs, 0, -(tonumber(ops.keep) + 1))
end
if ops.remove_seq then redis.call('ZREMRANGEBYSCORE', msgs, ops.remove_seq, ops.remove_seq) end
for i, value in ipairs(tokens) do
  redis.call('SET', KEYS[5 + i], value, 'EX', ttl)
end
for i = first_drop, first_drop + (ops.drop or 0) - 1 do redis.call('DEL', KEYS[i]) end
local next_version = redis.call('HINCRBY', room, 'v', 1)
if ARGV[3] == '' then redis.call('SADD', rooms, ARGV[4]) end
touch(room); touch(members); touch(hot); touch(msgs); touch(rooms)
return next_version
