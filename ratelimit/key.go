package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// KeyFunc returns the key a request is counted under, such as its client's
// address. An error stops the request (see Options.OnError); "" with no
// error leaves the request out of the layer's limit.
type KeyFunc func(r *http.Request) (string, error)

// KeyByIP keys a request by its client's address. With no trusted
// prefixes that is the peer (RemoteAddr), which a client cannot forge.
// When the peer is in a trusted prefix (a proxy of yours),
// X-Forwarded-For is read from the right, skipping trusted addresses, and
// the first untrusted one is the client: entries to its left were written
// by the client itself and are not believed. If every entry is trusted,
// the leftmost is the client; an entry that is not an address ends the
// walk at the address to its right.
//
// IPv6 clients are keyed by their /64, which one host commonly holds
// whole. A RemoteAddr that is not an IP address (a Unix socket) is its own
// key. The KeyFunc is safe for concurrent use.
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

// KeyByHeader keys a request by the value of the named header, such as
// an API key; a request without it is left out of the limit (give it a
// layer keyed by IP too). The value is used as it is: hash it first if it
// is a secret and the store is shared. The KeyFunc is safe for concurrent
// use.
func KeyByHeader(name string) KeyFunc {
	return func(r *http.Request) (string, error) { return r.Header.Get(name), nil }
}

// LimitBy returns middleware that admits at most requests requests per
// window for each key, counted in store (a new MemoryStore, sliding
// window, when nil) with one Store call per request; a refusal gets 429
// and the default headers. The policy is named "limit": handlers wrapped
// by two LimitBy over one shared store with the same window share their
// counters (use New with named policies to keep them apart). It panics on
// a nil key or a limit ParseLimits would refuse (see MaxRequests,
// MaxWindow), as these are mistakes in the program. For more layers,
// other answers or hooks, use New. The middleware is safe for concurrent
// use.
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

// LimitByIP is LimitBy(nil, KeyByIP(), requests, window): requests per
// window for each peer address, in memory. Behind a proxy, use LimitBy
// with KeyByIP and the proxy's prefixes.
func LimitByIP(requests int, window time.Duration) func(http.Handler) http.Handler {
	return LimitBy(nil, KeyByIP(), requests, window)
}
