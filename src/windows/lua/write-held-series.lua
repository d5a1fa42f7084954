--[[
  Writes part of a pipeline's held series (WindowStore.writeHeldSeries): what the detection
  tick holds of each series, for the next process that starts or takes the tick over. Entries
  only move forward, so that a writer that fell behind (a holder cut off, a slow follower)
  cannot make the set older than it was.

  KEYS[1]  the hash: series -> "readSeq firstSeen lastBucket[ counts...]", plus the fields
           "\0epoch", "\0seq" (the sequence number the set is whole at) and "\0limit"
  ARGV[1]  epoch of the change sequence: a set of another epoch is dropped first
  ARGV[2]  completeSeq ("" for none): the set is whole at it (kept only if later than the stored one)
  ARGV[3]  the writer's limit (stored with completeSeq)
  ARGV[4]  TTL in milliseconds, from this write
  ARGV[5]  how many entries follow, as pairs: series, value (each value starts with its readSeq)
  then     the series to forget, each with the readSeq up to which it was not held
]]
local key = KEYS[1]
if redis.call('HGET', key, '\0epoch') ~= ARGV[1] then
  redis.call('DEL', key)
  redis.call('HSET', key, '\0epoch', ARGV[1])
end
local seqOf = function(value) return tonumber(string.match(value, '^%d+')) end

local entries = tonumber(ARGV[5])
if entries > 0 then
  local names = {}
  for e = 1, entries do names[e] = ARGV[4 + 2 * e] end
  local old = redis.call('HMGET', key, unpack(names))
  local set = {}
  for e = 1, entries do
    local value = ARGV[5 + 2 * e]
    if not old[e] or seqOf(old[e]) <= seqOf(value) then
      set[#set + 1] = names[e]
      set[#set + 1] = value
    end
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
end

local first = 6 + 2 * entries
if first < #ARGV then
  local names = {}
  for i = first, #ARGV, 2 do names[#names + 1] = ARGV[i] end
  local old = redis.call('HMGET', key, unpack(names))
  local gone = {}
  for f = 1, #names do
    if old[f] and seqOf(old[f]) <= tonumber(ARGV[first + 2 * f - 1]) then gone[#gone + 1] = names[f] end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
end

if ARGV[2] ~= '' then
  local complete = tonumber(redis.call('HGET', key, '\0seq') or '-1')
  if tonumber(ARGV[2]) > complete then redis.call('HSET', key, '\0seq', ARGV[2], '\0limit', ARGV[3]) end
end
redis.call('PEXPIRE', key, ARGV[4])
return 1
