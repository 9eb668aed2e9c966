package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// KeyFunc returns the key a request is counted under; "" leaves it out.
type KeyFunc func(r *http.Request) (string, error)

// KeyByIP keys by client address (IPv6 by /64): the peer, or, when the
// peer is in a trusted prefix, the rightmost X-Forwarded-For address not
// trusted (entries left of it are the client's own words); a garbled
// entry stops the walk. Safe for concurrent use.
func KeyByIP(trusted ...netip.Prefix) KeyFunc {
	trusted = append([]netip.Prefix(nil), trusted...)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) (string, error) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		client, err := netip.ParseAddr(host)
		if err != nil {
			if r.RemoteAddr == "" {
				return "unknown", nil
			}
			return r.RemoteAddr, nil
		}
		client = client.Unmap()
		if isTrusted(client) {
			client = forwardedClient(r.Header.Values("X-Forwarded-For"), client, isTrusted)
		}
		if client.Is6() {
			p, _ := client.Prefix(64)
			return p.String(), nil
		}
		return client.String(), nil
	}
}

// forwardedClient walks X-Forwarded-For from the right, starting from a
// trusted peer, to the first untrusted address.
func forwardedClient(lines []string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		entries := strings.Split(lines[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				return client
			}
			client = a.Unmap()
			if !trusted(client) {
				return client
			}
		}
	}
	return client
}

// KeyByHeader keys by a header's value, as is (hash a secret yourself);
// a request without it is not limited. Safe for concurrent use.
func KeyByHeader(name string) KeyFunc {
	return func(r *http.Request) (string, error) { return r.Header.Get(name), nil }
}

// LimitBy admits requests per window for each key, in store (nil: a new
// MemoryStore), with New's defaults. Its policy is "limit", so two LimitBy
// with one store and window share counters. It panics on a nil key or a
// limit out of range. It is safe for concurrent use.
func LimitBy(store Store, key KeyFunc, requests int, window time.Duration) func(http.Handler) http.Handler {
	l := Limit{Requests: requests, Window: window}
	if err := l.check(); err != nil {
		panic(err)
	}
	if key == nil {
		panic("ratelimit: LimitBy with a nil KeyFunc")
	}
	if store == nil {
		store, _ = NewMemoryStore(MemoryOptions{})
	}
	lim, err := New(Options{Store: store, Layers: []Layer{{Policy: Policy{Name: "limit", Limits: []Limit{l}}, Key: key}}})
	if err != nil {
		panic(err)
	}
	return lim.Handler
}

// LimitByIP is LimitBy(nil, KeyByIP(), requests, window).
func LimitByIP(requests int, window time.Duration) func(http.Handler) http.Handler {
	return LimitBy(nil, KeyByIP(), requests, window)
}
