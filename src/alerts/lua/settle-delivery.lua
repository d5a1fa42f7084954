--[[
  Settles a claimed delivery: delivered, to retry later, or dead. Only the holder of the claim
  may settle it; a worker whose lease ran out (and whose delivery another worker took) cannot.

  KEYS[1]  due zset
  KEYS[2]  dead zset     (member: delivery id -> dead at ms)
  KEYS[3]  job hash
  KEYS[4]  done marker

  ARGV[1]  delivery id
  ARGV[2]  claim token
  ARGV[3]  outcome: done | retry | dead
  ARGV[4]  retry: next due time (ms); dead: dead at (ms); done: unused
  ARGV[5]  error of the attempt ("" for done)
  ARGV[6]  done: TTL (s) of the done marker; dead: TTL (s) of the dead letter
  ARGV[7]  dead letters kept at most (the oldest are deleted)
  ARGV[8]  prefix of the job hashes (for deleting the oldest dead letters)

  Returns 1 settled, 0 the claim was lost (nothing written).
]]
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then return 0 end
local id = ARGV[1]
if ARGV[3] == 'done' then
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[4], '1', 'EX', ARGV[6])
elseif ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[3], 'last_error', ARGV[5])
  redis.call('HDEL', KEYS[3], 'token')
  redis.call('ZADD', KEYS[1], ARGV[4], id)
else
  redis.call('ZREM', KEYS[1], id)
  redis.call('HSET', KEYS[3], 'last_error', ARGV[5], 'dead_at', ARGV[4])
  redis.call('HDEL', KEYS[3], 'token')
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[4], id)
  local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[7])
  if excess > 0 then
    local old = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
    for _, oldId in ipairs(old) do redis.call('DEL', ARGV[8] .. oldId) end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
  end
end
return 1
