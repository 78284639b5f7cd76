-- Admit one login attempt against every key, or answer the longest wait.
-- KEYS: one hash per throttled key (fields n: attempts, until: back-off end, gone: when it is
-- forgotten, by the caller's clock; EXPIRE is the safety net by Redis's).
-- ARGV: prefix, ttl, now, base seconds, max seconds, forget seconds, then the
-- free attempts of each key in KEYS order.
local now = tonumber(ARGV[3])
local base = tonumber(ARGV[4])
local most = tonumber(ARGV[5])
local forget = tonumber(ARGV[6])
local wait = 0
for _, key in ipairs(KEYS) do
  local gone = tonumber(redis.call('HGET', key, 'gone') or '0')
  if gone > 0 and gone <= now then redis.call('DEL', key) end
  local ends = tonumber(redis.call('HGET', key, 'until') or '0')
  if ends > now and ends - now > wait then wait = ends - now end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local n = redis.call('HINCRBY', key, 'n', 1)
  local beyond = n - tonumber(ARGV[6 + i])
  local delay = 0
  if beyond > 0 then
    delay = math.min(most, base * 2 ^ (beyond - 1))
    redis.call('HSET', key, 'until', tostring(now + delay))
  end
  redis.call('HSET', key, 'gone', tostring(now + forget + delay))
  redis.call('EXPIRE', key, forget + math.ceil(delay))
end
return '0'
