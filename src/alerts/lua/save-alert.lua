--[[
  Saves one alert version atomically: state, index, open-alert record, cooldown, event stream
  and outbox, fenced by the detection lease.

  KEYS[1]  alert JSON            KEYS[2]  index zset (id -> updated ms)
  KEYS[3]  open hash (series -> id)
  KEYS[4]  cooldown marker       KEYS[5]  event stream (capped, for readers)
  KEYS[6]  outbox stream (drained to Kafka by the relay)
  KEYS[7]  lease hash { owner, token }
  KEYS[8]  topic index zset      KEYS[9]  dimension index zset
  KEYS[10..12] status index zsets: open, acknowledged, resolved
  KEYS[13] marker that the filter indexes are complete: set by the first save into an empty
           index, else only kept alive (alerts saved before the indexes existed are added by
           the store once, on the first filtered read)

  ARGV[1]  alert id       ARGV[2]  alert JSON      ARGV[3]  updated ms   ARGV[4] status
  ARGV[5]  series         ARGV[6]  ttl (s)         ARGV[7]  event type or ""
  ARGV[8]  cooldown until ms, or "" for none       ARGV[9]  cooldown ttl (s)
  ARGV[10] fencing token, or "" for an unfenced write
  ARGV[11] event id       ARGV[12] event stream max length   ARGV[13] outbox max length
  ARGV[14] alert key prefix (alert key = prefix .. id; same hash tag as KEYS[1])
  ARGV[15] the version the write was made from: "" no check (an opening), "-" the alert must not
           exist, else the SHA-1 of the stored JSON (compare-and-set: the caller read that
           version, merged people's actions or applied one, and retries on -2)

  Returns  1 saved
           0 not saved: an "opened" whose alert exists already (a retried tick), or whose series
             has another alert open (a second ticker)
          -1 not saved: the lease is no longer held under ARGV[10]
          -2 not saved: the stored version is not the one ARGV[15] names (read again, retry)
]]
if ARGV[10] ~= '' then
  if redis.call('TYPE', KEYS[7]).ok ~= 'hash' or redis.call('HGET', KEYS[7], 'token') ~= ARGV[10] then return -1 end
end

if ARGV[15] ~= '' then
  local stored = redis.call('GET', KEYS[1])
  if ARGV[15] == '-' then
    if stored then return -2 end
  elseif not stored or redis.sha1hex(stored) ~= ARGV[15] then
    return -2
  end
end

local id, series, ttl, event = ARGV[1], ARGV[5], ARGV[6], ARGV[7]
if event == 'opened' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  local other = redis.call('HGET', KEYS[3], series)
  if other and other ~= id and redis.call('EXISTS', ARGV[14] .. other) == 1 then return 0 end
end

local fresh = redis.call('EXISTS', KEYS[2]) == 0
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
redis.call('ZADD', KEYS[2], ARGV[3], id)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[8], ARGV[3], id)
redis.call('EXPIRE', KEYS[8], ttl)
redis.call('ZADD', KEYS[9], ARGV[3], id)
redis.call('EXPIRE', KEYS[9], ttl)
local statuses = { open = 10, acknowledged = 11, resolved = 12 }
for status, i in pairs(statuses) do
  if status == ARGV[4] then
    redis.call('ZADD', KEYS[i], ARGV[3], id)
    redis.call('EXPIRE', KEYS[i], ttl)
  else
    redis.call('ZREM', KEYS[i], id)
  end
end
if fresh then redis.call('SET', KEYS[13], '1', 'EX', ttl) else redis.call('EXPIRE', KEYS[13], ttl) end
if ARGV[4] == 'resolved' then
  if redis.call('HGET', KEYS[3], series) == id then redis.call('HDEL', KEYS[3], series) end
  if ARGV[8] ~= '' then redis.call('SET', KEYS[4], ARGV[8], 'EX', ARGV[9]) end
else
  redis.call('HSET', KEYS[3], series, id)
end
redis.call('EXPIRE', KEYS[3], ttl)
if event ~= '' then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[12], '*', 'type', event, 'id', id, 'event_id', ARGV[11], 'alert', ARGV[2])
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[13], '*', 'type', event, 'id', id, 'event_id', ARGV[11], 'alert', ARGV[2])
  redis.call('EXPIRE', KEYS[6], ttl)
end
return 1
