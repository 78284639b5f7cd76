-- The sweep set lists the chats with a deadline: ended, or the visitor away.

local function add_to_sweep(sweep, id)
  redis.call('SADD', sweep, id)
  touch(sweep)
end

-- The visitor's socket is gone: note when, forget the socket, give the chat a deadline.
local function mark_visitor_away(ck, id, now, sweep)
  redis.call('HSET', ck, 'visitor_connected', '0', 'visitor_left_at', now)
  redis.call('HDEL', ck, 'visitor_sid', 'visitor_worker')
  add_to_sweep(sweep, id)
end
