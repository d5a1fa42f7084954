--[[
  Claims the deliveries that are due for one worker, earliest first. A claimed delivery's score
  moves to the end of the lease: if the worker does not settle it by then (it died), it is due
  again for any worker. Each claim counts as an attempt.

  KEYS[1]  due zset      (member: delivery id -> due ms)

  ARGV[1]  now (ms)
  ARGV[2]  deliveries at most
  ARGV[3]  lease (ms)
  ARGV[4]  claim token (settling needs it)
  ARGV[5]  prefix of the job hashes (job key = prefix .. id; same hash tag as KEYS[1])

  Returns a flat array: id, data, attempts, last_error ("" when none), for each claimed one.
  Ids whose job hash expired are dropped from the due set.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local leaseEnd = tonumber(ARGV[1]) + tonumber(ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[5] .. id
  local data = redis.call('HGET', key, 'data')
  if not data then
    redis.call('ZREM', KEYS[1], id)
  else
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'token', ARGV[4])
    redis.call('ZADD', KEYS[1], leaseEnd, id)
    out[#out + 1] = id
    out[#out + 1] = data
    out[#out + 1] = attempts
    out[#out + 1] = redis.call('HGET', key, 'last_error') or ''
  end
end
return out
