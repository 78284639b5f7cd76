-- KEYS: workers. ARGV: prefix, ttl.
local dead = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', prefix .. 'worker:' .. id) == 0 then table.insert(dead, id) end
end
return dead
