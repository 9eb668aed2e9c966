package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/maphash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Hasher turns what identifies a client into a keyed hash (HMAC-SHA256), so
// that counters, Redis contents and logs never hold an address or a
// User-Agent, and nobody without the secret can test guesses against
// them. Every process that shares a secret computes the same keys. Safe
// for concurrent use; the secret can be replaced while it is used.
type Hasher struct {
	cur atomic.Pointer[keyed]
}

// keyed is one secret and a pool of HMAC states keyed with it: hmac.New
// allocates about a kilobyte, too much to pay twice per request.
type keyed struct {
	secret []byte
	pool   sync.Pool // of *macState
}

type macState struct {
	mac hash.Hash
	buf [512]byte
	out [sha256.Size]byte
}

// NewHasher returns a Hasher with the given secret. An empty secret gets
// a random one, good for this process only.
func NewHasher(secret []byte) *Hasher {
	h := &Hasher{}
	if len(secret) == 0 {
		secret = RandomSecret()
	}
	h.SetSecret(secret)
	return h
}

// SetSecret replaces the secret.
func (h *Hasher) SetSecret(secret []byte) {
	k := &keyed{secret: append([]byte(nil), secret...)}
	k.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, k.secret)} }
	h.cur.Store(k)
}

// Sum returns 16 hex characters of HMAC-SHA256 over the parts, each
// length-prefixed so that no two lists of parts hash alike.
func (h *Hasher) Sum(parts ...string) string { return h.cur.Load().sum(parts...) }

// sum is Sum under k's secret, so that a caller who loaded k once labels
// what it computes with the secret it was computed under.
func (k *keyed) sum(parts ...string) string {
	st := k.pool.Get().(*macState)
	st.mac.Reset()
	for _, p := range parts {
		l := len(p)
		st.buf[0], st.buf[1], st.buf[2], st.buf[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		st.mac.Write(st.buf[:4])
		for len(p) > 0 {
			n := copy(st.buf[:], p)
			st.mac.Write(st.buf[:n])
			p = p[n:]
		}
	}
	sum := st.mac.Sum(st.out[:0])
	var hx [16]byte
	hex.Encode(hx[:], sum[:8])
	k.pool.Put(st)
	return string(hx[:])
}

// RandomSecret returns 32 random bytes.
func RandomSecret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// Keys computes the rate-limit keys of requests that went through a
// Resolver's Middleware (and, for ByUser, a Verifier's). A key is
// "{tag}hash": the hash of every part the Strategy listed, after the hash
// of its first part in braces. Address-bound strategies list the address
// subject first, so that a client's key shares its tag, and a later Redis
// Cluster's slot, with the per-IP key of its address. Keys remembers
// recent keys (see keyCache). Safe for concurrent use.
type Keys struct {
	hasher   *Hasher
	strategy Strategy
	cache    keyCache
}

// NewKeys returns Keys that hash with h under strategy s.
func NewKeys(h *Hasher, s Strategy) *Keys {
	k := &Keys{hasher: h, strategy: s}
	k.cache.seed = maphash.MakeSeed()
	return k
}

// ErrNotResolved is returned for a request that did not pass through
// Resolver.Middleware.
var ErrNotResolved = errors.New("identity: request has no resolved client address")

// Client returns the per-client key: "{tag}client-hash", 16 hex
// characters each. Its error is the Strategy's: a *TokenError for a bad
// bearer token under ByUser. Within a request that passed
// Resolver.Middleware the key is worked out once: the limiter, its hooks
// and the bans each ask for it, and the Strategy reads the request as
// it was when the first of them asked.
func (k *Keys) Client(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	cur := k.hasher.cur.Load()
	m := res.client
	if m != nil {
		m.mu.Lock()
		key, hit := m.key, m.keys == k && m.cur == cur
		m.mu.Unlock()
		if hit {
			return key, nil
		}
	}
	parts, err := k.strategy(r, res.subjectOf())
	if err != nil {
		return "", err // not kept: a request is refused once
	}
	if len(parts) == 0 {
		return "", errors.New("identity: the key strategy listed nothing")
	}
	key := k.key(cur, parts)
	if m != nil {
		m.mu.Lock()
		m.keys, m.cur, m.key = k, cur, key
		m.mu.Unlock()
	}
	return key, nil
}

// IP returns the per-address key: "{ip-hash}".
func (k *Keys) IP(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	// The per-IP key is the tag of the per-client key of the subject
	// alone: "{ip-hash}ip-hash" cut short, one cache entry for both.
	parts := [1]string{res.subjectOf()}
	return k.key(k.hasher.cur.Load(), parts[:])[:tagLen], nil
}

// ShortKey is what logs and GET /whoami may show of a per-client key: the
// first 8 hex characters of the part that tells clients apart (after the
// tag), never enough to test guesses against.
func ShortKey(key string) string {
	if i := strings.IndexByte(key, '}'); i >= 0 {
		key = key[i+1:]
	}
	if len(key) > 8 {
		key = key[:8]
	}
	return key
}

// tagLen is the length of "{tag}".
const tagLen = 1 + 16 + 1

// key returns "{tag}hash" of parts under the secret cur, from the cache
// when it can. The tag is the key of the first part alone cut short,
// looked up the same way: a client new to the cache, from an address that
// is not, pays one HMAC.
func (k *Keys) key(cur *keyed, parts []string) string {
	slot := k.cache.slot(parts)
	if e := slot.Load(); e.holds(cur, parts) {
		return e.key
	}
	var key string
	if len(parts) == 1 {
		sum := cur.sum(parts[0])
		key = "{" + sum + "}" + sum
	} else {
		key = k.key(cur, parts[:1])[:tagLen] + cur.sum(parts...)
	}
	k.cache.put(slot, cur, parts, key)
	return key
}

// keySlots is how many keys a Keys remembers; a client takes a slot, and
// so does its address. A flood from one client re-derives the same keys
// thousands of times a second, each HMAC half a microsecond: a small
// table is enough to spare them, and a client that loses its slot to
// another only pays the HMACs again.
const keySlots = 1024

// maxCachedParts bounds the parts an entry holds, in bytes: a
// fingerprint of three headers at maxHeader fits, so the table holds at
// most about keySlots × 2 KiB, whatever the clients send. Longer parts
// (only a custom Strategy lists them) are hashed every time.
const maxCachedParts = 2 << 10

// keyCache is a direct-mapped table of recently computed keys: a slot is
// chosen by a seeded non-cryptographic hash of the parts and holds at
// most one immutable entry, replaced whole, so memory stays fixed and
// readers take no lock. The seed is random per process, so that clients
// cannot choose parts that evict another client's key. Entries hold the
// parts in the clear, in this process's memory only, as a request being
// served does. The zero value needs a seed.
type keyCache struct {
	seed  maphash.Seed
	slots [keySlots]atomic.Pointer[cachedKey]
}

// cachedKey is the key of parts under one secret. An entry made under an
// older secret is never served: SetSecret makes a new keyed, and entries
// compare the pointer.
type cachedKey struct {
	keyed *keyed
	parts []string
	key   string
}

// slot returns the slot of parts. Parts are length-prefixed as in Sum, so
// that parts that join alike do not crowd one slot.
func (c *keyCache) slot(parts []string) *atomic.Pointer[cachedKey] {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, p := range parts {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.WriteString(p)
	}
	return &c.slots[h.Sum64()%keySlots]
}

// holds reports whether e is the key of parts under cur; e may be nil.
func (e *cachedKey) holds(cur *keyed, parts []string) bool {
	return e != nil && e.keyed == cur && slices.Equal(e.parts, parts)
}

// put stores the key of parts in slot, in place of what was there. The
// parts are copied into one string, so that an entry never keeps a
// request's headers alive.
func (c *keyCache) put(slot *atomic.Pointer[cachedKey], cur *keyed, parts []string, key string) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > maxCachedParts {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		b.WriteString(p)
	}
	joined := b.String()
	e := &cachedKey{keyed: cur, parts: make([]string, len(parts)), key: key}
	for i, p := range parts {
		e.parts[i], joined = joined[:len(p)], joined[len(p):]
	}
	slot.Store(e)
}
