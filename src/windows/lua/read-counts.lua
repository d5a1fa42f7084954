--[[
  Reads the count chunks of several series in one call: what HGETALL of each chunk gives, as
  one string per series (a pipeline of one HGETALL per chunk costs the client far more than
  the server: tens of thousands of replies for a tick's first read). Each chunk is one
  redis.call, the bulk of the server's time: the client passes only the chunks a series can
  hold counts in, and leaves filtering and parsing to itself.

  KEYS     count chunk hashes (field: bucket start ms -> count), one series' after the other
  ARGV[i]  how many of KEYS are the i-th series' chunks (0 for a series with none to read)

  Returns  per series (in ARGV's order) its chunks' fields and counts, space-separated:
           "bucket count bucket count ..." ("" when it has none)
]]
local out = {}
local key = 0
for s = 1, #ARGV do
  local parts = {}
  for _ = 1, tonumber(ARGV[s]) do
    key = key + 1
    local fields = redis.call('HGETALL', KEYS[key])
    for i = 1, #fields do parts[#parts + 1] = fields[i] end
  end
  out[s] = table.concat(parts, ' ')
end
return out
