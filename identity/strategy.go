package identity

import (
	"fmt"
	"net/http"
	"strings"
)

// Strategy lists what tells one client from another (RATE_LIMIT_KEY),
// given the request and its address subject (see Subject). Keys hashes
// the parts; the first part becomes the key's tag. An error refuses the
// request. Each strategy is a trade between keeping strangers apart and
// how cheaply a client can mint a fresh key; whatever the strategy, the
// per-IP ceiling bounds what rotating headers can gain.
type Strategy func(r *http.Request, subject string) ([]string, error)

// maxHeader bounds how much of a header goes into a key: enough to tell
// browsers apart, little enough that a 64 KiB User-Agent costs nothing,
// and two values that differ only beyond it are one client.
const maxHeader = 512

func header(r *http.Request, name string) string {
	s := r.Header.Get(name)
	if len(s) > maxHeader {
		return s[:maxHeader]
	}
	return s
}

// ByIP keys a client by its address alone (IPv6 by /64). It is the hardest
// to dodge, short of changing networks, and the bluntest: everyone behind
// one NAT shares a limit.
func ByIP(r *http.Request, subject string) ([]string, error) { return []string{subject}, nil }

// BySession keys a client by its address and User-Agent, the default:
// people behind one NAT with different browsers get their own limits,
// people with identical browsers share one. A client can multiply its
// quota by rotating User-Agents, which the per-IP ceiling bounds.
func BySession(r *http.Request, subject string) ([]string, error) {
	return []string{subject, header(r, "User-Agent")}, nil
}

// ByFingerprint keys a client by its address, User-Agent, Accept-Language
// and Accept-Encoding: colleagues with one browser build but different
// language settings are told apart. The extra headers are as easy to
// forge as the User-Agent, so it separates honest users better without
// being harder to cheat.
func ByFingerprint(r *http.Request, subject string) ([]string, error) {
	return []string{subject, header(r, "User-Agent"), header(r, "Accept-Language"), header(r, "Accept-Encoding")}, nil
}

// ByClientID keys a client by its address and the X-Session-ID header that
// the bundled page makes once per browser, so that people sharing an
// address and a browser build still get one limit each. A missing or
// invalid id (see ValidSessionID) is ignored, not trusted: the request is
// keyed ByFingerprint. The id is the client's choice, so a script can
// send a new one every time; the per-IP ceiling is what bounds it. The
// address stays in the key, so a guessed or shared id ("undefined") never
// joins clients on different networks.
func ByClientID(r *http.Request, subject string) ([]string, error) {
	if id, ok := SessionID(r); ok {
		return []string{subject, "session-id", id}, nil
	}
	return ByFingerprint(r, subject)
}

// ByUser keys a signed-in client by the subject of its bearer token,
// whatever its address or headers, so that a person keeps one limit
// across networks and devices and a new key costs a new valid token. It
// reads what Verifier.Middleware stored: a request without a token is
// keyed ByFingerprint (and limited as anonymous by the caller), one with a
// token that cannot be believed is refused with the *TokenError, and a
// request that did not pass the middleware is an error, never silently
// anonymous.
func ByUser(r *http.Request, subject string) ([]string, error) {
	st, ok := authFrom(r.Context())
	if !ok {
		return nil, errNoVerifier
	}
	if st.err != nil {
		return nil, st.err
	}
	if !st.signedIn {
		return ByFingerprint(r, subject)
	}
	return []string{"user:" + st.user.Subject}, nil
}

// Strategies lists the values of RATE_LIMIT_KEY, the default first.
const Strategies = "session, ip, fingerprint, client-id or user"

// ParseStrategy maps a RATE_LIMIT_KEY value to its strategy; "" is
// session.
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "session":
		return BySession, nil
	case "ip":
		return ByIP, nil
	case "fingerprint":
		return ByFingerprint, nil
	case "client-id":
		return ByClientID, nil
	case "user":
		return ByUser, nil
	}
	return nil, fmt.Errorf("identity: unknown key strategy %q: want %s", s, Strategies)
}

// maxSessionID is the longest X-Session-ID accepted.
const maxSessionID = 64

// SessionID returns the request's X-Session-ID if there is exactly one
// and it is valid.
func SessionID(r *http.Request) (string, bool) {
	// The canonical key, looked up directly: Values would canonicalize
	// "X-Session-ID" into a new string on every request.
	vs := r.Header["X-Session-Id"]
	if len(vs) != 1 {
		return "", false
	}
	return ValidSessionID(vs[0])
}

// ValidSessionID checks a session id: 1 to 64 URL-safe characters (ASCII
// letters, digits, '-', '.', '_', '~'), which covers the UUID that
// crypto.randomUUID makes. It returns the id in canonical form: a UUID in
// lower case, anything else as given.
func ValidSessionID(s string) (string, bool) {
	if len(s) == 0 || len(s) > maxSessionID {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return "", false
		}
	}
	if isUUID(s) {
		return strings.ToLower(s), true
	}
	return s, true
}

// isUUID reports whether s is 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
