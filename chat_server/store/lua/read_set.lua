-- KEYS: an id set. ARGV: prefix, ttl, key kind ("chat:" or "presence:").
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', prefix .. ARGV[3] .. id)
  if #h > 0 then out[#out + 1] = h end
end
return out
