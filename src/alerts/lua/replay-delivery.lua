--[[
  Moves a dead letter back to the queue, due now, with its attempts reset (its last error is
  kept until the next attempt).

  KEYS[1]  due zset
  KEYS[2]  dead zset
  KEYS[3]  job hash

  ARGV[1]  delivery id
  ARGV[2]  now (ms)
  ARGV[3]  TTL (s) of the job hash

  Returns {data, last_error} when replayed, or false when the id is not a dead letter.
]]
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return false end
redis.call('ZREM', KEYS[2], ARGV[1])
local data = redis.call('HGET', KEYS[3], 'data')
if not data then return false end
redis.call('HSET', KEYS[3], 'attempts', 0)
redis.call('HDEL', KEYS[3], 'dead_at', 'token')
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return {data, redis.call('HGET', KEYS[3], 'last_error') or ''}
