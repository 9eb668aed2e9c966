package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Algorithm defaults to SlidingWindow.
	Algorithm Algorithm
	// Prefix starts every key; default "rl".
	Prefix string
	// Now, when set, replaces Redis's own clock. Leave it nil in
	// production: then every decision reads TIME inside the script, so
	// instances whose clocks disagree still share one limit. Tests set it
	// to move time without sleeping.
	Now func() time.Time
	// Pipelines is how many round trips to Redis may be in flight at
	// once, each carrying the decisions that arrived while the others
	// were out (see batcher); default DefaultPipelines. A negative value
	// sends every decision in a round trip of its own, as does a client
	// without Pipeline().
	Pipelines int
}

// RedisStore keeps counters in Redis, shared by every process that uses
// the same server and prefix. Each decision is one EVALSHA of one Lua
// script (EVAL once after a server restart flushed its script cache): the
// script reads every counter of the decision, and only if all have room
// counts the request in all of them, so the decision is atomic across any
// number of processes. Under load, the scripts of concurrent decisions
// share round trips (see RedisOptions.Pipelines).
//
// Keys are Prefix:algorithm:policy:key:window-seconds. A RedisStore is
// safe for concurrent use.
type RedisStore struct {
	rdb    redis.Scripter
	alg    Algorithm
	prefix string
	now    func() time.Time
	script *redis.Script
	tag    string
	batch  *batcher // nil: one round trip per decision
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store that uses rdb (a *redis.Client, a
// *redis.ClusterClient or a *redis.Ring).
func NewRedisStore(rdb redis.Scripter, opts RedisOptions) (*RedisStore, error) {
	alg, err := ParseAlgorithm(string(opts.Algorithm))
	if err != nil {
		return nil, err
	}
	s := &RedisStore{rdb: rdb, alg: alg, prefix: opts.Prefix, now: opts.Now}
	if s.prefix == "" {
		s.prefix = "rl"
	}
	switch alg {
	case SlidingWindow:
		s.script, s.tag = redis.NewScript(slidingScript), "sw"
	case FixedWindow:
		s.script, s.tag = redis.NewScript(fixedScript), "fw"
	case SlidingLog:
		s.script, s.tag = redis.NewScript(logScript), "sl"
	}
	if p, ok := rdb.(pipeliner); ok && opts.Pipelines >= 0 {
		slots := opts.Pipelines
		if slots == 0 {
			slots = DefaultPipelines
		}
		s.batch = newBatcher(p, s.script, slots)
	}
	return s, nil
}

// Allow implements Store.
func (s *RedisStore) Allow(ctx context.Context, rules []Rule) (Result, error) {
	var owner [MaxLimits]int
	var us [MaxLimits]usage
	n, err := s.eval(ctx, rules, true, &owner, &us)
	if err != nil {
		return Result{}, err
	}
	return decide(rules, us[:n], owner[:n]), nil
}

// Peek implements Store.
func (s *RedisStore) Peek(ctx context.Context, rules []Rule) ([]State, error) {
	var owner [MaxLimits]int
	var us [MaxLimits]usage
	n, err := s.eval(ctx, rules, false, &owner, &us)
	if err != nil {
		return nil, err
	}
	return states(rules, us[:n], owner[:n]), nil
}

// eval runs the script once and turns its reply into usages.
func (s *RedisStore) eval(ctx context.Context, rules []Rule, count bool, owner *[MaxLimits]int, us *[MaxLimits]usage) (int, error) {
	n, err := flatten(rules, owner)
	if err != nil {
		return 0, err
	}
	keys := make([]string, n)
	args := make([]any, 2, 2+2*n)
	args[0], args[1] = "", "0"
	if s.now != nil {
		args[0] = s.now().UnixMicro()
	}
	if count {
		args[1] = "1"
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		r := rules[owner[i]]
		l := r.Policy.Limits[limitIndex(rules, i)]
		b.Reset()
		b.WriteString(s.prefix)
		b.WriteByte(':')
		b.WriteString(s.tag)
		b.WriteByte(':')
		b.WriteString(r.Policy.Name)
		b.WriteByte(':')
		b.WriteString(r.Key)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(int64(l.Window/time.Second), 10))
		keys[i] = b.String()
		args = append(args, l.Requests, l.Window.Microseconds())
	}
	var vals []int64
	if s.batch != nil {
		vals, err = s.batch.run(ctx, keys, args)
	} else {
		vals, err = s.script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	}
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis eval: %w", err)
	}
	if len(vals) != 2+3*n {
		return 0, errors.New("ratelimit: redis eval: unexpected reply")
	}
	now := vals[1]
	allowed := true
	for i := 0; i < n; i++ {
		l := rules[owner[i]].Policy.Limits[limitIndex(rules, i)]
		a, b, c := vals[2+3*i], vals[3+3*i], vals[4+3*i]
		switch s.alg {
		case SlidingWindow:
			us[i] = slidingUsage(l, a, b, c)
		case FixedWindow:
			us[i] = fixedUsage(l, a, b)
		case SlidingLog:
			us[i] = logUsage(l, now, a, b, c)
		}
		allowed = allowed && us[i].fits
	}
	if (vals[0] == 1) != allowed {
		// The script and Go compare the same numbers the same way;
		// disagreement means a bug, and the script's word (what was
		// counted) is the one that holds.
		return 0, errors.New("ratelimit: redis eval: script and store disagree")
	}
	return n, nil
}

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
