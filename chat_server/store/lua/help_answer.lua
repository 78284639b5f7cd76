-- KEYS: the alarm, the set of open alarms. ARGV: prefix, ttl, alarm id.
-- Returns the alarm's json to the first caller (and forgets it), false to any later one.
local alarm = redis.call('GET', KEYS[1])
if not alarm then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[3])
return alarm
