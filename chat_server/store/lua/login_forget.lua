-- Forget some login throttle keys and take one attempt off others.
-- KEYS: the keys to forget, then the keys to refund. ARGV: prefix, ttl, how many to forget.
local clear = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  if i <= clear then
    redis.call('DEL', key)
  elseif tonumber(redis.call('HGET', key, 'n') or '0') > 0 then
    -- Back to no attempts: nothing is left to remember.
    if redis.call('HINCRBY', key, 'n', -1) <= 0 then redis.call('DEL', key) end
  end
end
return 0
