package redisstore

import (
	"context"
	"errors"
	"strings"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// In a Redis Cluster a script may touch keys of one hash slot only. A
// rule's keys always share one: its key's hash tag ("{tag}hash") when it
// has one, else the whole key, which the store puts in braces. Rules whose
// keys share a tag, such as a client's key and its address's key, share a
// slot and are decided by one script, exactly as on a single node.
//
// A decision whose rules fall in several slots, such as a client's rules
// and the global budget ("global" has a slot of its own), is decided slot
// by slot, in the order the rules' first appear (the per-client layer
// before the global budget):
//
//  1. Each slot's script reads its counters and counts the request only if
//     all of them have room, atomically, like the single-node script.
//  2. When a slot refuses, the slots before it already counted the
//     request; their counts are given back (latest first), and the later
//     slots are not asked. The decision is a refusal by that slot's rules.
//  3. When every slot admits, the request is admitted, counted everywhere.
//
// No limit is ever exceeded: every count is made by a script that found
// room for it, and a count given back only ever makes room. While a count
// waits to be given back (one round trip) it holds a place that a
// concurrent request of the same client might have had; so near a limit a
// decision may refuse what a single node would have admitted, never the
// reverse. If giving back fails (the node went away), the client keeps one
// count too many until its window passes: again a refusal too many, not an
// admission. If a later slot fails, the error is returned and the earlier
// counts stay, the same trade.

// hashTag is the part of key that Redis Cluster hashes when it is not the
// whole key: what lies between the first '{' and the next '}', if that is
// not empty; "" when the whole key is hashed.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

// slotGroups groups rules by the hash tag of their keys (keys holds each
// limit's key, rule by rule), in the order of each group's first rule.
// Rules with the same tag share a slot; rules with different tags are
// taken to have different slots (two tags may hash alike, which costs
// one more round trip, never correctness).
func slotGroups(rules []ratelimit.Rule, keys []string) [][]int {
	var tags []string
	var groups [][]int
	k := 0
	for i, r := range rules {
		tag := ""
		if len(r.Policy.Limits) > 0 {
			tag = hashTag(keys[k])
		}
		k += len(r.Policy.Limits)
		found := false
		for g, t := range tags {
			if t == tag {
				groups[g] = append(groups[g], i)
				found = true
				break
			}
		}
		if !found {
			tags = append(tags, tag)
			groups = append(groups, []int{i})
		}
	}
	return groups
}

// evalSlots is eval for rules in several slots: one script per slot, in
// the order of groups, as the comment at the top of this file describes.
// e holds the number of limits; keys and lims are every limit's key and
// (requests, window) pair, rule by rule.
func (s *Store) evalSlots(ctx context.Context, rules []ratelimit.Rule, count bool, keys []string, lims []any, groups [][]int, cs *[ratelimit.MaxLimits]ratelimit.Counters, e evaluation) (evaluation, error) {
	// first[i] is the index of rule i's first limit.
	first := make([]int, len(rules)+1)
	for i, r := range rules {
		first[i+1] = first[i] + len(r.Policy.Limits)
	}
	type counted struct {
		keys []string
		lims []any
		now  int64
		cs   []ratelimit.Counters
	}
	var done []counted
	e.admitted = true
	for gi, g := range groups {
		var gkeys []string
		var glims []any
		for _, i := range g {
			gkeys = append(gkeys, keys[first[i]:first[i+1]]...)
			glims = append(glims, lims[2*first[i]:2*first[i+1]]...)
		}
		vals, err := s.run(ctx, s.script, gkeys, s.args(count, glims))
		if err != nil {
			return e, err
		}
		if len(vals) != 2+3*len(gkeys) {
			return e, errors.New("redisstore: eval: unexpected reply")
		}
		now := vals[1]
		if gi == 0 {
			e.now = now
		}
		gcs := make([]ratelimit.Counters, len(gkeys))
		j := 0
		for _, i := range g {
			for k := first[i]; k < first[i+1]; k++ {
				c := ratelimit.Counters{vals[2+3*j], vals[3+3*j], vals[4+3*j]}
				gcs[j] = c
				if s.alg == ratelimit.SlidingLog {
					// A sliding log's counters are timestamps on
					// this node's clock: put them on the first
					// node's, which the decision is made at.
					for t := 1; t < 3; t++ {
						if c[t] != 0 {
							c[t] += e.now - now
						}
					}
				}
				cs[k] = c
				j++
			}
		}
		if vals[0] == 1 {
			if count {
				done = append(done, counted{gkeys, glims, now, gcs})
			}
			continue
		}
		e.admitted = false
		if !count {
			continue // Peek: every slot's standing
		}
		for d := len(done) - 1; d >= 0; d-- {
			s.giveBack(ctx, done[d].keys, done[d].lims, done[d].now, done[d].cs)
		}
		e.part, e.partIdx, e.partCS, e.partNow = make([]ratelimit.Rule, len(g)), g, gcs, now
		for j, i := range g {
			e.part[j] = rules[i]
		}
		return e, nil
	}
	return e, nil
}

// giveBack takes back the count a slot's script made at now (that node's
// clock) for keys. It ignores a failure: the count then stays until its
// window passes, which can only refuse a request, never admit one.
func (s *Store) giveBack(ctx context.Context, keys []string, lims []any, now int64, cs []ratelimit.Counters) {
	args := make([]any, 1, 1+len(keys)*2)
	args[0] = now
	for i := range keys {
		// The window, and what the script read of the key: the sliding
		// log names the member it added by it.
		args = append(args, lims[2*i+1], cs[i][0])
	}
	s.run(ctx, s.refund, keys, args)
}

// refusedByPart is the Result of a cluster decision refused by the rules
// of one slot, its Refused bits put back in the decision's own order.
func (s *Store) refusedByPart(e evaluation) (ratelimit.Result, error) {
	res, err := s.alg.Decide(e.part, e.partNow, e.partCS)
	if err != nil {
		return ratelimit.Result{}, err
	}
	if res.Allowed {
		return ratelimit.Result{}, errors.New("redisstore: eval: script and store disagree")
	}
	var refused uint64
	for j, i := range e.partIdx {
		if j < 64 && i < 64 && res.Refused&(1<<j) != 0 {
			refused |= 1 << i
		}
	}
	res.Refused = refused
	return res, nil
}

// The refund scripts undo one count that the decision script made at
// ARGV[1] (that node's clock, unix microseconds). ARGV[2i] is key i's
// window in microseconds and ARGV[2i+1] the count the decision script
// read from it before counting. A count that has left every window the
// algorithm still weighs is left alone. Each returns {1}.

// slidingRefund takes one from the window the request was counted in:
// still the current one (c), or by now the previous one (p).
const slidingRefund = `
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local w = tonumber(ARGV[2*i])
  local idx = math.floor(now / w)
  local v = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local win = tonumber(v[1])
  if win == idx and (tonumber(v[2]) or 0) > 0 then
    redis.call('HINCRBY', KEYS[i], 'c', -1)
  elseif win == idx + 1 and (tonumber(v[3]) or 0) > 0 then
    redis.call('HINCRBY', KEYS[i], 'p', -1)
  end
end
return {1}
`

// fixedRefund takes one from the window's counter.
const fixedRefund = `
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local w = tonumber(ARGV[2*i])
  local k = KEYS[i] .. ':' .. math.floor(now / w)
  if (tonumber(redis.call('GET', k)) or 0) > 0 then
    redis.call('DECR', k)
  end
end
return {1}
`

// logRefund removes the member the request added: its time and the count
// before it, as logScript names them.
const logRefund = `
local t = string.format('%d', tonumber(ARGV[1]))
for i = 1, #KEYS do
  redis.call('ZREM', KEYS[i], t .. '-' .. string.format('%d', tonumber(ARGV[2*i+1])))
end
return {1}
`
