-- KEYS: queue. ARGV: prefix, ttl. Returns the hashes of the waiting chats in order.
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', chat_key(id))
  if #h > 0 then out[#out + 1] = h end
end
return out
