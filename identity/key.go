package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
)

// Hasher turns what identifies a client into a keyed hash (HMAC-SHA256), so
// that counters, Redis contents and logs never hold an address or a
// User-Agent, and nobody without the secret can test guesses against
// them. Every process that shares a secret computes the same keys. Safe
// for concurrent use; the secret can be replaced while it is used.
type Hasher struct {
	secret atomic.Pointer[[]byte]
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
	s := append([]byte(nil), secret...)
	h.secret.Store(&s)
}

// Sum returns 16 hex characters of HMAC-SHA256 over the parts, each
// length-prefixed so that no two lists of parts hash alike.
func (h *Hasher) Sum(parts ...string) string {
	m := hmac.New(sha256.New, *h.secret.Load())
	var n [4]byte
	for _, p := range parts {
		l := len(p)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		m.Write(n[:])
		m.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:8])
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
	return "{" + k.hasher.Sum(parts[0]) + "}" + k.hasher.Sum(parts...), nil
}

// IP returns the per-address key: "{ip-hash}".
func (k *Keys) IP(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	return "{" + k.hasher.Sum(Subject(res.IP)) + "}", nil
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
