-- KEYS: chat, queue, chats, loads. ARGV: prefix, ttl, chat id.
-- Mark a waiting chat as having waited while nobody was checked in: 1 the first time, else 0.
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 0 end
if redis.call('HSETNX', KEYS[1], 'unstaffed', '1') == 0 then return 0 end
touch_chat(ARGV[3], KEYS[2], KEYS[3], KEYS[4])
return 1
