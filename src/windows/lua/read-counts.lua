--[[
  Reads the count chunks of several series in one call: what HGETALL of each chunk gives, as
  one string per series (a pipeline of one HGETALL per chunk costs the client far more than
  the server: tens of thousands of replies for a tick's first read).

  KEYS     count chunk hashes (field: bucket start ms -> count), ARGV[1] per series, one series
           after the other
  ARGV[1]  chunks per series

  Returns  per series (in KEYS' order) its chunks' fields and counts, space-separated:
           "bucket count bucket count ..." ("" when it has none)
]]
local per = tonumber(ARGV[1])
local out = {}
for s = 0, #KEYS / per - 1 do
  local parts = {}
  for c = 1, per do
    local fields = redis.call('HGETALL', KEYS[s * per + c])
    for i = 1, #fields do parts[#parts + 1] = fields[i] end
  end
  out[s + 1] = table.concat(parts, ' ')
end
return out
