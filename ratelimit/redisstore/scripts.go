package redisstore

// The scripts share a preamble: now in microseconds, from ARGV[1] when the
// caller gives it, else from Redis's TIME. ARGV[2] is '1' to count an
// admitted request, '0' to only look. ARGV[2i+1], ARGV[2i+2] are limit i's
// request count and window in microseconds. Each returns
// {allowed, now, then three numbers per key} describing the state before
// the request was counted.
const scriptNow = `
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local out = {1, now}
`

// slidingScript keeps a hash per key: w (current window index), c and p
// (current and previous window counts). It sets the key's expiry once per
// window, on the window's first count.
const slidingScript = scriptNow + `
local st = {}
for i = 1, #KEYS do
  local lim = tonumber(ARGV[2*i+1])
  local w = tonumber(ARGV[2*i+2])
  local idx = math.floor(now / w)
  local e = now - idx * w
  local v = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local win = tonumber(v[1])
  local c, p = 0, 0
  if win == idx then
    c = tonumber(v[2]) or 0
    p = tonumber(v[3]) or 0
  elseif win == idx - 1 then
    p = tonumber(v[2]) or 0
  end
  if p * (w - e) / w + c + 1 > lim then out[1] = 0 end
  st[i] = {idx, c, p, w, win ~= idx}
  out[#out+1] = p
  out[#out+1] = c
  out[#out+1] = e
end
if out[1] == 1 and ARGV[2] == '1' then
  for i = 1, #KEYS do
    local s = st[i]
    redis.call('HSET', KEYS[i], 'w', s[1], 'c', s[2] + 1, 'p', s[3])
    if s[5] then
      -- The first count of a window: the key must outlive the next
      -- window, where this one's count is still weighed. Two windows
      -- from now do, so later counts in this window need not extend it.
      redis.call('PEXPIRE', KEYS[i], math.ceil(2 * s[4] / 1000))
    end
  end
end
return out
`

// fixedScript is the guide's INCR + EXPIRE, one key per window, its
// expiry set on the window's first count.
const fixedScript = scriptNow + `
local st = {}
for i = 1, #KEYS do
  local lim = tonumber(ARGV[2*i+1])
  local w = tonumber(ARGV[2*i+2])
  local idx = math.floor(now / w)
  local k = KEYS[i] .. ':' .. idx
  local c = tonumber(redis.call('GET', k)) or 0
  if c + 1 > lim then out[1] = 0 end
  st[i] = {k, w - (now - idx * w), c == 0}
  out[#out+1] = c
  out[#out+1] = now - idx * w
  out[#out+1] = 0
end
if out[1] == 1 and ARGV[2] == '1' then
  for i = 1, #KEYS do
    redis.call('INCR', st[i][1])
    if st[i][3] then
      -- A new window's key: it lives to the window's end (and a second
      -- for clocks), so later counts need not extend it.
      redis.call('PEXPIRE', st[i][1], math.ceil(st[i][2] / 1000) + 1000)
    end
  end
end
return out
`

// logScript is the guide's sorted-set log: one member per admitted request,
// scored by its time.
const logScript = scriptNow + `
for i = 1, #KEYS do
  local lim = tonumber(ARGV[2*i+1])
  local w = tonumber(ARGV[2*i+2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - w)
  local c = redis.call('ZCARD', KEYS[i])
  local blocking, newest = 0, 0
  if c > 0 then
    newest = tonumber(redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')[2])
  end
  if c + 1 > lim then
    out[1] = 0
    blocking = tonumber(redis.call('ZRANGE', KEYS[i], c - lim, c - lim, 'WITHSCORES')[2])
  end
  out[#out+1] = c
  out[#out+1] = blocking
  out[#out+1] = newest
end
if out[1] == 1 and ARGV[2] == '1' then
  for i = 1, #KEYS do
    local w = tonumber(ARGV[2*i+2])
    local t = string.format('%d', now)
    redis.call('ZADD', KEYS[i], t, t .. '-' .. string.format('%d', out[3*i]))
    redis.call('PEXPIRE', KEYS[i], math.ceil(w / 1000))
  end
end
return out
`
