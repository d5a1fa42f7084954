--[[
  Applies one partition batch of counts atomically, fenced by the partition's applied offset.

  KEYS[1]  offsets hash      (field: partition key -> last applied offset)
  KEYS[2]  series zset       (member: series id -> last bucket start ms)
  KEYS[3]  first-seen hash   (field: series id -> first bucket start ms)
  KEYS[4]  totals hash
  KEYS[5]  changed zset      (member: series id -> seq of the last batch that counted into it)
  KEYS[6]  change-seq hash   (seq: batches that counted something; epoch: when seq started over)
  KEYS[7..] data keys referenced by index from the payload

  ARGV[1]  partition key, or "" for a batch without a source position
  ARGV[2]  expected previous offset ("-1" when none applied yet)
  ARGV[3]  batch last offset
  ARGV[4]  retention TTL (s) for count keys and the fixed keys
  ARGV[5]  detail TTL (s) for author, term and sample keys
  ARGV[6]  samples kept per bucket
  ARGV[7]  TTL (s) of the offsets hash (longer than retention: the fence must outlive redelivery)
  ARGV[9]  TTL (s) of the hourly rollup keys
  ARGV[10] TTL (s) of the seen-sets (dedupSec)
  ARGV[11] TTL (s) of sample texts (x)
  ARGV[8]  payload JSON:
           { c = {{keyIndex, bucketField, n}, ...},      HINCRBY count hashes
             a = {{keyIndex, authorHash, ...}, ...},     PFADD author HLLs
             t = {{keyIndex, term, n}, ...},             ZINCRBY term zsets
             s = {{keyIndex, signalId, ...}, ...},       LPUSH + LTRIM sample lists
             z = {{seriesId, lastBucketMs, firstBucketMs}, ...}, series activity (newest and oldest bucket in the batch)
             h = {{keyIndex, hourOfDay, n}, ...},        HINCRBY hourly rollups (seasonality)
             tot = {{field, n}, ...},                    totals
             d = {{keyIndex, member, ...}, ...},         signal ids to remember in seen-sets (SADD)
             x = {{keyIndex, sampleJson}, ...} }         sample signal contents (SET EX)

  Returns {1} when applied, {0, currentOffset} when the fence did not match, {2, {member, ...}}
  with the members of d already in their seen-set (counted before); in both cases nothing is
  written.
]]
local partition = ARGV[1]
if partition ~= '' then
  local current = redis.call('HGET', KEYS[1], partition) or '-1'
  if current ~= ARGV[2] then
    return {0, current}
  end
end

local retention = tonumber(ARGV[4])
local detailTtl = tonumber(ARGV[5])
local samples = tonumber(ARGV[6])
local p = cjson.decode(ARGV[8])

if p.d then
  local seen = {}
  for _, op in ipairs(p.d) do
    local key = KEYS[op[1]]
    local found = redis.call('SMISMEMBER', key, unpack(op, 2))
    for i, f in ipairs(found) do
      if f == 1 then seen[#seen + 1] = op[i + 1] end
    end
  end
  if #seen > 0 then
    return {2, seen}
  end
  local seenTtl = tonumber(ARGV[10])
  for _, op in ipairs(p.d) do
    local key = KEYS[op[1]]
    redis.call('SADD', key, unpack(op, 2))
    redis.call('EXPIRE', key, seenTtl)
  end
end

for _, op in ipairs(p.c) do
  local key = KEYS[op[1]]
  redis.call('HINCRBY', key, op[2], op[3])
  redis.call('EXPIRE', key, retention)
end
if p.h then
  local hourlyTtl = tonumber(ARGV[9])
  for _, op in ipairs(p.h) do
    local key = KEYS[op[1]]
    redis.call('HINCRBY', key, op[2], op[3])
    redis.call('EXPIRE', key, hourlyTtl)
  end
end
for _, op in ipairs(p.a) do
  local key = KEYS[op[1]]
  redis.call('PFADD', key, unpack(op, 2))
  redis.call('EXPIRE', key, detailTtl)
end
for _, op in ipairs(p.t) do
  local key = KEYS[op[1]]
  redis.call('ZINCRBY', key, op[3], op[2])
  redis.call('EXPIRE', key, detailTtl)
end
for _, op in ipairs(p.s) do
  local key = KEYS[op[1]]
  redis.call('LPUSH', key, unpack(op, 2))
  redis.call('LTRIM', key, 0, samples - 1)
  redis.call('EXPIRE', key, detailTtl)
end
if p.x then
  local textTtl = tonumber(ARGV[11])
  for _, op in ipairs(p.x) do
    redis.call('SET', KEYS[op[1]], op[2], 'EX', textTtl)
  end
end
-- A reader of changes (the detection tick) re-reads only the series counted since its last seq.
local seq = 0
if #p.z > 0 then
  seq = redis.call('HINCRBY', KEYS[6], 'seq', 1)
  if seq == 1 then
    local now = redis.call('TIME')
    redis.call('HSET', KEYS[6], 'epoch', now[1] .. '.' .. now[2])
  end
end
for _, op in ipairs(p.z) do
  redis.call('ZADD', KEYS[5], seq, op[1])
  redis.call('ZADD', KEYS[2], 'GT', op[2], op[1])
  local first = redis.call('HGET', KEYS[3], op[1])
  if (not first) or tonumber(first) > op[3] then
    redis.call('HSET', KEYS[3], op[1], op[3])
  end
end
for _, op in ipairs(p.tot) do
  redis.call('HINCRBY', KEYS[4], op[1], op[2])
end

if partition ~= '' then
  redis.call('HSET', KEYS[1], partition, ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
end
for i = 2, 6 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], retention)
  end
end
return {1}
