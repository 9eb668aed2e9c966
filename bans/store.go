package bans

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/redis/go-redis/v9"
)

// MemoryStore keeps bans in this process: they are not shared with other
// instances and are lost when it stops. The zero value is ready; it is
// safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	bans map[string]Ban
}

var _ Store = (*MemoryStore)(nil)

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, b Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bans == nil {
		m.bans = map[string]Ban{}
	}
	m.bans[b.ID] = b
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
	return nil
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
// they survive restarts of the app, and of Redis when it persists. It is
// safe for concurrent use.
type RedisStore struct {
	rdb redis.Cmdable
	key string
}

var _ Store = (*RedisStore)(nil)

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
	return s.rdb.HSet(ctx, s.key, b.ID, v).Err()
}

// Delete implements Store.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	n, err := s.rdb.HDel(ctx, s.key, id).Result()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// All implements Store. A field that is not a ban is skipped.
func (s *RedisStore) All(ctx context.Context) ([]Ban, error) {
	m, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Ban, 0, len(m))
	for id, v := range m {
		var b Ban
		if json.Unmarshal([]byte(v), &b) != nil || b.ID != id {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}
