// Package identity tells HTTP clients apart for rate limiting: it finds
// the real client address behind proxies that are trusted, and turns what
// is known of a client into a keyed hash that reveals nothing.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultTrusted are the proxies believed when TRUSTED_PROXIES is unset:
// loopback and the private ranges, where Hugging Face Spaces, Railway and
// Render run the proxy in front of the app.
var defaultTrusted = []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}

// DefaultTrusted returns the default trusted proxy ranges.
func DefaultTrusted() []netip.Prefix {
	out := make([]netip.Prefix, len(defaultTrusted))
	for i, s := range defaultTrusted {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// ParseTrusted parses a comma-separated list of CIDRs or single addresses.
// "" gives DefaultTrusted; "none" trusts no proxy.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return DefaultTrusted(), nil
	case "none":
		return []netip.Prefix{}, nil
	}
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, fmt.Errorf("identity: %q is not a CIDR or an IP address", part)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("identity: no CIDR given")
	}
	return out, nil
}

// maxHops bounds how far back an X-Forwarded-For chain is walked. Real
// chains have a handful of entries; a longer run of trusted hops is not
// believed, and the request is keyed on the peer.
const maxHops = 32

// Resolution is what the server worked out about where a request came
// from.
type Resolution struct {
	// IP is the client address used for rate limiting.
	IP netip.Addr
	// Peer is the TCP peer that sent the request.
	Peer netip.Addr
	// Chain is the X-Forwarded-For chain as received (at most maxHops
	// entries from the right), empty when not consulted.
	Chain []string
	// Rule says which rule chose IP: "peer", "peer (untrusted, header
	// ignored)", "x-forwarded-for", or "peer (bad chain)".
	Rule string
}

// Resolver finds the client address of a request. It believes
// X-Forwarded-For only when the TCP peer is itself a trusted proxy, and
// then takes the rightmost address that is not a trusted proxy: each proxy
// appends the address it saw, so entries to the left of that one are
// whatever the client chose to send. Safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	// onUntrustedXFF is called when an untrusted peer sends
	// X-Forwarded-For: a sign of a proxy missing from the trusted list.
	onUntrustedXFF func(peer netip.Addr)
}

// NewResolver returns a Resolver that trusts the given proxies.
// onUntrustedXFF may be nil.
func NewResolver(trusted []netip.Prefix, onUntrustedXFF func(peer netip.Addr)) *Resolver {
	return &Resolver{trusted: trusted, onUntrustedXFF: onUntrustedXFF}
}

func (rs *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range rs.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve works out where r came from.
func (rs *Resolver) Resolve(r *http.Request) Resolution {
	peer := parsePeer(r.RemoteAddr)
	res := Resolution{IP: peer, Peer: peer, Rule: "peer"}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return res
	}
	if !peer.IsValid() || !rs.isTrusted(peer) {
		res.Rule = "peer (untrusted, header ignored)"
		if rs.onUntrustedXFF != nil && peer.IsValid() {
			rs.onUntrustedXFF(peer)
		}
		return res
	}
	chain := lastEntries(xff, maxHops+1)
	res.Chain = chain
	if len(chain) > maxHops {
		res.Chain = chain[1:]
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if len(chain)-i > maxHops {
			break
		}
		a, ok := parseHop(chain[i])
		if !ok {
			res.Rule = "peer (bad chain)"
			return res
		}
		if !rs.isTrusted(a) {
			res.IP, res.Rule = a, "x-forwarded-for"
			return res
		}
		if i == 0 {
			// Every hop is a trusted proxy: the client is on the
			// private network itself.
			res.IP, res.Rule = a, "x-forwarded-for"
			return res
		}
	}
	res.Rule = "peer (bad chain)"
	return res
}

// lastEntries returns at most n comma-separated entries from the right end
// of the header values (several X-Forwarded-For headers form one list, in
// order), without splitting more of a huge header than it needs.
func lastEntries(values []string, n int) []string {
	out := make([]string, 0, 8)
	for v := len(values) - 1; v >= 0 && len(out) < n; v-- {
		s := values[v]
		for len(out) < n {
			i := strings.LastIndexByte(s, ',')
			out = append(out, strings.TrimSpace(s[i+1:]))
			if i < 0 {
				break
			}
			s = s[:i]
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[2001:db8::1]:443"), IPv4-mapped IPv6 unmapped,
// any zone dropped.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func parsePeer(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// Subject is the part of an address a client is keyed by: the address
// itself for IPv4, the /64 prefix for IPv6, because one subscriber is
// usually handed a whole /64 and can pick any address inside it.
func Subject(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

type ctxKey struct{}

// Middleware resolves every request once and stores the Resolution in its
// context, for FromContext.
func (rs *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := rs.Resolve(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &res)))
	})
}

// FromContext returns the Resolution that Middleware stored, if any.
func FromContext(ctx context.Context) (*Resolution, bool) {
	r, ok := ctx.Value(ctxKey{}).(*Resolution)
	return r, ok
}
