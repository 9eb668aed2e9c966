package bans

import (
	"context"
	"encoding/json"
	"errors"
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
}

var (
	_ Store     = (*MemoryStore)(nil)
	_ Versioned = (*MemoryStore)(nil)
)

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, b Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bans == nil {
		m.bans = map[string]Ban{}
	}
	m.bans[b.ID] = b
	m.version++
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
	m.version++
	return nil
}

// Version implements Versioned.
func (m *MemoryStore) Version(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
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
// field "_version" of the same hash counts the changes, in the same
// transaction as each change, so that an instance reads the whole hash
// only when it moved. It is safe for concurrent use.
type RedisStore struct {
	rdb redis.Cmdable
	key string
}

// versionField is the hash field that counts changes. Ban ids are hex, so
// it cannot clash with one.
const versionField = "_version"

var (
	_ Store     = (*RedisStore)(nil)
	_ Versioned = (*RedisStore)(nil)
)

// NewRedisStore returns a store in the hash key (such as
// "smartdocs:bans").
func NewRedisStore(rdb redis.Cmdable, key string) *RedisStore {
	return &RedisStore{rdb: rdb, key: key}
}

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, b Ban) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.key, b.ID, v)
		p.HIncrBy(ctx, s.key, versionField, 1)
		return nil
	})
	return err
}

// Delete implements Store.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, s.key, id)
		p.HIncrBy(ctx, s.key, versionField, 1)
		return nil
	})
	if err != nil {
		return err
	}
	if del.Val() == 0 {
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
			// HSCAN may return a field twice.
			if id == versionField || seen[id] {
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
