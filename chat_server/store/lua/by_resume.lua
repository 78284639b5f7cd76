-- KEYS: resume. ARGV: prefix, ttl.
local id = redis.call('GET', KEYS[1])
if not id then return {} end
return redis.call('HGETALL', chat_key(id))
