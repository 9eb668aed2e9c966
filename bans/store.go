package bans

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// MemoryStore keeps bans in this process: they are not shared with other
// instances and are lost when it stops. The zero value is ready; it is
// safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	bans    map[string]Ban
	version int64
	log     []Change // the last logSize changes, the newest last
}

var (
	_ Store  = (*MemoryStore)(nil)
	_ Logged = (*MemoryStore)(nil)
)

// note records a change (under mu).
func (m *MemoryStore) note(c Change) {
	m.version++
	if len(m.log) == logSize {
		m.log = append(m.log[:0], m.log[1:]...)
	}
	m.log = append(m.log, c)
}

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, b Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bans == nil {
		m.bans = map[string]Ban{}
	}
	m.bans[b.ID] = b
	m.note(Change{Put: &b})
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.bans[id]; !ok {
		return ErrNotFound
	}
	delete(m.bans, id)
	m.note(Change{Deleted: id})
	return nil
}

// Version implements Versioned.
func (m *MemoryStore) Version(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

// Changes implements Logged.
func (m *MemoryStore) Changes(_ context.Context, from, to int64) ([]Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// m.log[i] took the store to version m.version-len(m.log)+1+i.
	first := m.version - int64(len(m.log)) + 1
	if from+1 < first || to > m.version || from > to {
		return nil, false, nil
	}
	return append([]Change(nil), m.log[from+1-first:to+1-first]...), true, nil
}

// All implements Store.
func (m *MemoryStore) All(context.Context) ([]Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Ban, 0, len(m.bans))
	for _, b := range m.bans {
		out = append(out, b)
	}
	return out, nil
}

// RedisStore keeps bans as JSON in one Redis hash, field = id, shared by
// every instance and kept without expiry (Bans removes expired ones), so
// they survive restarts of the app, and of Redis when it persists. The
// same hash holds the change count ("_version") and the last logSize
// changes ("_log:<version>"), written by one script with each change, so
// that an instance catches up by reading only what changed; one key keeps
// it atomic on a Redis Cluster too. It is safe for concurrent use.
type RedisStore struct {
	rdb redis.Cmdable
	key string
}

// versionField is the hash field that counts changes, logPrefix starts
// the fields of the log. Ban ids are hex, so neither clashes with one.
const (
	versionField = "_version"
	logPrefix    = "_log:"
)

var (
	_ Store  = (*RedisStore)(nil)
	_ Logged = (*RedisStore)(nil)
)

// NewRedisStore returns a store in the hash key (such as
// "smartdocs:bans").
func NewRedisStore(rdb redis.Cmdable, key string) *RedisStore {
	return &RedisStore{rdb: rdb, key: key}
}

// change puts (ARGV[2] a ban's JSON) or deletes (ARGV[2] empty) the ban
// ARGV[1], counts the change, logs it under its version ("+" and the JSON,
// or "-" and the id) and forgets the change ARGV[3] versions older. It
// returns the number of fields deleted or set; deleting a missing ban
// changes nothing and returns 0.
var change = redis.NewScript(`
local n
if ARGV[2] == '' then
  n = redis.call('HDEL', KEYS[1], ARGV[1])
  if n == 0 then return 0 end
else
  n = 1
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local v = redis.call('HINCRBY', KEYS[1], '_version', 1)
if ARGV[2] == '' then
  redis.call('HSET', KEYS[1], '_log:' .. v, '-' .. ARGV[1])
else
  redis.call('HSET', KEYS[1], '_log:' .. v, '+' .. ARGV[2])
end
redis.call('HDEL', KEYS[1], '_log:' .. (v - tonumber(ARGV[3])))
return n
`)

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, b Ban) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return change.Run(ctx, s.rdb, []string{s.key}, b.ID, v, logSize).Err()
}

// Delete implements Store.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	n, err := change.Run(ctx, s.rdb, []string{s.key}, id, "", logSize).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Version implements Versioned: one HGET, 0 while the hash has never
// changed.
func (s *RedisStore) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.HGet(ctx, s.key, versionField).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// Changes implements Logged: one HMGET of the log fields from+1 to to.
func (s *RedisStore) Changes(ctx context.Context, from, to int64) ([]Change, bool, error) {
	if from >= to || to-from > logSize {
		return nil, from == to, nil
	}
	fields := make([]string, 0, to-from)
	for v := from + 1; v <= to; v++ {
		fields = append(fields, logPrefix+strconv.FormatInt(v, 10))
	}
	vals, err := s.rdb.HMGet(ctx, s.key, fields...).Result()
	if err != nil {
		return nil, false, err
	}
	out := make([]Change, 0, len(vals))
	for _, v := range vals {
		entry, _ := v.(string)
		switch {
		case strings.HasPrefix(entry, "-"):
			out = append(out, Change{Deleted: entry[1:]})
		case strings.HasPrefix(entry, "+"):
			var b Ban
			if json.Unmarshal([]byte(entry[1:]), &b) != nil {
				return nil, false, nil
			}
			out = append(out, Change{Put: &b})
		default: // forgotten already
			return nil, false, nil
		}
	}
	return out, true, nil
}

// scanCount is how many fields one HSCAN asks for.
const scanCount = 1000

// All implements Store. A field that is not a ban is skipped. It reads the
// hash with HSCAN, a thousand fields a call, rather than one HGETALL: with
// 100,000 bans an HGETALL holds Redis for about a second, and the rate
// limiter's calls would wait behind it.
func (s *RedisStore) All(ctx context.Context) ([]Ban, error) {
	seen := map[string]bool{}
	var out []Ban
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, s.key, cursor, "", scanCount).Result()
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			id, v := kv[i], kv[i+1]
			// HSCAN may return a field twice; "_" starts the
			// version and the log.
			if strings.HasPrefix(id, "_") || seen[id] {
				continue
			}
			var b Ban
			if json.Unmarshal([]byte(v), &b) != nil || b.ID != id {
				continue
			}
			seen[id] = true
			out = append(out, b)
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}
