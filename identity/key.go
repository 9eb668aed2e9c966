package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// maxHeader bounds how much of a header goes into a key: enough to tell
// browsers apart, little enough that a 64 KiB User-Agent costs nothing.
const maxHeader = 512

func clip(s string) string {
	if len(s) > maxHeader {
		return s[:maxHeader]
	}
	return s
}

// Keys computes the rate-limit keys of requests that went through a
// Resolver's Middleware. Keys of one client share a hash tag in braces,
// the hash of its address, so that a Redis Cluster could keep one
// decision's keys in one slot.
type Keys struct {
	hasher   *Hasher
	strategy Strategy
}

// Strategy lists what tells one client from another, given its address
// subject (see Subject).
type Strategy func(r *http.Request, subject string) []string

// ByIP keys a client by its address alone (IPv6 by /64). Everyone behind
// one NAT shares a limit.
func ByIP(r *http.Request, subject string) []string { return []string{subject} }

// BySession keys a client by its address and User-Agent: people behind one
// NAT with different browsers get their own limits; a client can multiply
// its quota by rotating User-Agents, which the per-IP ceiling bounds.
func BySession(r *http.Request, subject string) []string {
	return []string{subject, clip(r.Header.Get("User-Agent"))}
}

// ParseStrategy maps RATE_LIMIT_KEY values to strategies.
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "session":
		return BySession, nil
	case "ip":
		return ByIP, nil
	}
	return nil, fmt.Errorf("identity: unknown key strategy %q: want session or ip", s)
}

// NewKeys returns Keys that hash with h under strategy s.
func NewKeys(h *Hasher, s Strategy) *Keys { return &Keys{hasher: h, strategy: s} }

// ErrNotResolved is returned for a request that did not pass through
// Resolver.Middleware.
var ErrNotResolved = errors.New("identity: request has no resolved client address")

// Client returns the per-client key: "{ip-hash}client-hash".
func (k *Keys) Client(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	subject := Subject(res.IP)
	return "{" + k.hasher.Sum(subject) + "}" + k.hasher.Sum(k.strategy(r, subject)...), nil
}

// IP returns the per-address key: "{ip-hash}".
func (k *Keys) IP(r *http.Request) (string, error) {
	res, ok := FromContext(r.Context())
	if !ok {
		return "", ErrNotResolved
	}
	return "{" + k.hasher.Sum(Subject(res.IP)) + "}", nil
}
