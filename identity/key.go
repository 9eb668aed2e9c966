package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
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
func (h *Hasher) Sum(parts ...string) string {
	k := h.cur.Load()
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
// Cluster's slot, with the per-IP key of its address. Safe for concurrent
// use.
type Keys struct {
	hasher   *Hasher
	strategy Strategy
}

// NewKeys returns Keys that hash with h under strategy s.
func NewKeys(h *Hasher, s Strategy) *Keys { return &Keys{hasher: h, strategy: s} }

// ErrNotResolved is returned for a request that did not pass through
// Resolver.Middleware.
var ErrNotResolved = errors.New("identity: request has no resolved client address")

// Client returns the per-client key: "{tag}client-hash", 16 hex
// characters each. Its error is the Strategy's: a *TokenError for a bad
// bearer token under ByUser.
func (k *Keys) Client(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	parts, err := k.strategy(r, Subject(res.IP))
	if err != nil {
		return "", err
	}
	return "{" + k.tag(res, parts[0]) + "}" + k.hasher.Sum(parts...), nil
}

// IP returns the per-address key: "{ip-hash}".
func (k *Keys) IP(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	return "{" + k.tag(res, Subject(res.IP)) + "}", nil
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

// tag hashes the first part of a key, remembering the last answer in the
// request's Resolution: the per-client and per-IP keys of a request share
// it, and each HMAC costs a microsecond.
func (k *Keys) tag(res *Resolution, first string) string {
	if res.memo == nil {
		return k.hasher.Sum(first)
	}
	cur := k.hasher.cur.Load()
	if m := res.memo.Load(); m != nil && m.keyed == cur && m.of == first {
		return m.sum
	}
	sum := k.hasher.Sum(first)
	res.memo.Store(&tagMemo{keyed: cur, of: first, sum: sum})
	return sum
}
