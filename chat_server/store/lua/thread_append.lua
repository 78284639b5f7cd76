-- KEYS: chat, thread, thread cids, thread members.
-- ARGV: prefix, ttl, writer staff id, client id, payload json, members only (1/0), max entries (0 = none),
--       ids to add as members (any number).
-- Returns false (the chat is not active), -1 (the writer is not in the thread), -2 (the thread is full)
-- or {duplicate 0/1, "{seq} {payload}", member id, ...}.
local fields = redis.call('HMGET', KEYS[1], 'state', 'staff_id')
if fields[1] ~= 'active' then return false end
local writer = ARGV[3]
if ARGV[6] == '1' and writer ~= fields[2] and redis.call('SISMEMBER', KEYS[4], writer) == 0 then return -1 end
local function reach()
  local ids = redis.call('SMEMBERS', KEYS[4])
  if fields[2] and redis.call('SISMEMBER', KEYS[4], fields[2]) == 0 then table.insert(ids, fields[2]) end
  return ids
end
local function touch_thread()
  for i = 2, 4 do touch(KEYS[i]) end
end
local field = writer .. ':' .. ARGV[4]
local seen = redis.call('HGET', KEYS[3], field)
if seen then
  local first = redis.call('LINDEX', KEYS[2], tonumber(seen) - 1)
  if first then
    touch_thread()
    local out = {1, first}
    for _, id in ipairs(reach()) do table.insert(out, id) end
    return out
  end
end
local max_entries = tonumber(ARGV[7])
if max_entries > 0 and redis.call('LLEN', KEYS[2]) >= max_entries then return -2 end
local seq = redis.call('LLEN', KEYS[2]) + 1
local member = seq .. ' ' .. ARGV[5]
redis.call('RPUSH', KEYS[2], member)
redis.call('HSET', KEYS[3], field, seq)
redis.call('SADD', KEYS[4], writer)
for i = 8, #ARGV do redis.call('SADD', KEYS[4], ARGV[i]) end
touch_thread()
local out = {0, member}
for _, id in ipairs(reach()) do table.insert(out, id) end
return out
