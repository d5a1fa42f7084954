--[[
  Queues one webhook delivery, unless it is already queued, dead, or was delivered recently
  (the same alert version accepted twice is sent once).

  KEYS[1]  due zset      (member: delivery id -> due ms)
  KEYS[2]  job hash      (data, attempts, token, last_error, dead_at)
  KEYS[3]  done marker

  ARGV[1]  delivery id
  ARGV[2]  due time (ms)
  ARGV[3]  data: the delivery's content as JSON
  ARGV[4]  pending deliveries at most
  ARGV[5]  TTL (s) of the job hash

  Returns 1 queued, 0 already known, -1 the queue is full (nothing written).
]]
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[2], 'data', ARGV[3], 'attempts', 0)
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
