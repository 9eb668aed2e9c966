package identity

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// request builds a request from remote with the given headers, each
// "Name: value" (repeated names add values).
func request(remote string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Add(k, v)
	}
	return r
}

func mustResolver(t testing.TB, opts ResolverOptions) *Resolver {
	t.Helper()
	rs, err := NewResolver(opts)
	if err != nil {
		t.Fatalf("NewResolver: %v", err)
	}
	return rs
}

// chainOf joins n copies of entry with ", ".
func chainOf(entry string, n int) string {
	return strings.TrimSuffix(strings.Repeat(entry+", ", n), ", ")
}

func TestResolveChain(t *testing.T) {
	rs := mustResolver(t, ResolverOptions{Trusted: DefaultTrusted()})
	tests := []struct {
		name     string
		remote   string
		headers  []string
		wantIP   string
		wantRule string
	}{
		{"no header", "203.0.113.9:1234", nil, "203.0.113.9", RulePeer},
		{"untrusted peer, forged header", "203.0.113.9:1234", []string{"X-Forwarded-For: 198.51.100.1"}, "203.0.113.9", RuleUntrusted},
		{"trusted peer, one client", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"forged entry left of the client", "10.0.0.2:80", []string{"X-Forwarded-For: 1.1.1.1, 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"trusted proxies right of the client", "10.0.0.2:80", []string{"X-Forwarded-For: 1.1.1.1, 198.51.100.1, 10.1.1.1, 192.168.0.7"}, "198.51.100.1", RuleForwardedFor},
		{"garbage left of the client", "10.0.0.2:80", []string{"X-Forwarded-For: <script>, unknown, , 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"garbage right of the client", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1, garbage"}, "10.0.0.2", RuleBadChain},
		{"empty entry at the right", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1, "}, "10.0.0.2", RuleBadChain},
		{"duplicate headers form one list", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 198.51.100.2"}, "198.51.100.2", RuleForwardedFor},
		{"duplicate headers, forged first", "10.0.0.2:80", []string{"X-Forwarded-For: 1.1.1.1, 2.2.2.2", "X-Forwarded-For: 198.51.100.2, 10.0.0.9"}, "198.51.100.2", RuleForwardedFor},
		{"IPv4-mapped IPv6 client", "10.0.0.2:80", []string{"X-Forwarded-For: ::ffff:198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"IPv4-mapped trusted hop is skipped", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1, ::ffff:10.9.9.9"}, "198.51.100.1", RuleForwardedFor},
		{"IPv4-mapped IPv6 peer", "[::ffff:10.0.0.2]:80", []string{"X-Forwarded-For: 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"zone dropped", "10.0.0.2:80", []string{"X-Forwarded-For: 2001:db8::1%eth0"}, "2001:db8::1", RuleForwardedFor},
		{"zone on an IPv4 address is garbage", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1%eth0"}, "10.0.0.2", RuleBadChain},
		{"port on IPv4", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1:5678"}, "198.51.100.1", RuleForwardedFor},
		{"port on IPv6", "10.0.0.2:80", []string{"X-Forwarded-For: [2001:db8::1]:443"}, "2001:db8::1", RuleForwardedFor},
		{"every hop trusted", "10.0.0.2:80", []string{"X-Forwarded-For: 192.168.1.5, 10.0.0.3"}, "10.0.0.2", RuleAllTrusted},
		{"client forges a private address", "10.0.0.2:80", []string{"X-Forwarded-For: 10.66.66.66"}, "10.0.0.2", RuleAllTrusted},
		{"entry too long", "10.0.0.2:80", []string{"X-Forwarded-For: " + strings.Repeat("1", 100)}, "10.0.0.2", RuleBadChain},
		{"10,000 forged entries, then the client", "10.0.0.2:80", []string{"X-Forwarded-For: " + chainOf("1.2.3.4", 10000) + ", 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"10,000 garbage entries, then the client", "10.0.0.2:80", []string{"X-Forwarded-For: " + chainOf("x", 10000) + ", 198.51.100.1"}, "198.51.100.1", RuleForwardedFor},
		{"10,000 trusted entries", "10.0.0.2:80", []string{"X-Forwarded-For: " + chainOf("10.0.0.1", 10000)}, "10.0.0.2", RuleBadChain},
		{"client behind MaxHops trusted hops", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1, " + chainOf("10.0.0.1", MaxHops-1)}, "198.51.100.1", RuleForwardedFor},
		{"client behind more than MaxHops trusted hops", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1, " + chainOf("10.0.0.1", MaxHops)}, "10.0.0.2", RuleBadChain},
		{"10,000 header lines", "10.0.0.2:80", append(strings.Split(strings.Repeat("X-Forwarded-For: 1.2.3.4\n", 10000), "\n")[:10000], "X-Forwarded-For: 198.51.100.1"), "198.51.100.1", RuleForwardedFor},
		{"IPv6 peer on loopback", "[::1]:80", []string{"X-Forwarded-For: 2001:db8::7"}, "2001:db8::7", RuleForwardedFor},
		{"unparsable peer", "pipe", []string{"X-Forwarded-For: 198.51.100.1"}, "invalid IP", RuleUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rs.Resolve(request(tt.remote, tt.headers...))
			if got := res.IP.String(); got != tt.wantIP {
				t.Errorf("IP: got %s, want %s", got, tt.wantIP)
			}
			if res.Rule != tt.wantRule {
				t.Errorf("rule: got %q, want %q", res.Rule, tt.wantRule)
			}
			if len(res.Chain) > MaxHops {
				t.Errorf("chain: got %d entries, want at most %d", len(res.Chain), MaxHops)
			}
		})
	}
}

func TestResolveHops(t *testing.T) {
	rs := mustResolver(t, ResolverOptions{Trusted: DefaultTrusted(), Hops: 2})
	tests := []struct {
		name     string
		remote   string
		xff      string
		wantIP   string
		wantRule string
	}{
		// A CDN edge (public) appended the client, the platform proxy
		// appended the edge.
		{"client behind two proxies", "10.0.0.2:80", "198.51.100.1, 172.70.1.1", "198.51.100.1", RuleHops},
		{"forged entry is further left", "10.0.0.2:80", "6.6.6.6, 198.51.100.1, 172.70.1.1", "198.51.100.1", RuleHops},
		{"chain too short", "10.0.0.2:80", "172.70.1.1", "10.0.0.2", RuleShortChain},
		{"garbage where the client should be", "10.0.0.2:80", "bogus, 172.70.1.1", "10.0.0.2", RuleBadChain},
		{"untrusted peer", "203.0.113.9:1", "198.51.100.1, 172.70.1.1", "203.0.113.9", RuleUntrusted},
		{"10,000 entries", "10.0.0.2:80", chainOf("6.6.6.6", 10000) + ", 198.51.100.1, 172.70.1.1", "198.51.100.1", RuleHops},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rs.Resolve(request(tt.remote, "X-Forwarded-For: "+tt.xff))
			if got := res.IP.String(); got != tt.wantIP || res.Rule != tt.wantRule {
				t.Errorf("got %s (%s), want %s (%s)", got, res.Rule, tt.wantIP, tt.wantRule)
			}
		})
	}
}

func TestResolveHeader(t *testing.T) {
	rs := mustResolver(t, ResolverOptions{Trusted: DefaultTrusted(), Header: "cf-connecting-ip"})
	const rule = "header cf-connecting-ip"
	tests := []struct {
		name     string
		remote   string
		headers  []string
		wantIP   string
		wantRule string
	}{
		{"header from a trusted peer", "10.0.0.2:80", []string{"CF-Connecting-IP: 198.51.100.1", "X-Forwarded-For: 6.6.6.6, 198.51.100.1, 172.70.1.1"}, "198.51.100.1", rule},
		{"IPv6 client", "10.0.0.2:80", []string{"CF-Connecting-IP: 2001:db8:1:2::9"}, "2001:db8:1:2::9", rule},
		{"X-Forwarded-For alone is not believed", "10.0.0.2:80", []string{"X-Forwarded-For: 198.51.100.1"}, "10.0.0.2", RuleNoHeader},
		{"missing header", "10.0.0.2:80", nil, "10.0.0.2", RuleNoHeader},
		{"two values", "10.0.0.2:80", []string{"CF-Connecting-IP: 6.6.6.6", "CF-Connecting-IP: 198.51.100.1"}, "10.0.0.2", RuleBadHeader},
		{"a list", "10.0.0.2:80", []string{"CF-Connecting-IP: 6.6.6.6, 198.51.100.1"}, "10.0.0.2", RuleBadHeader},
		{"garbage", "10.0.0.2:80", []string{"CF-Connecting-IP: " + strings.Repeat("z", 70000)}, "10.0.0.2", RuleBadHeader},
		{"forged by an untrusted peer", "203.0.113.9:1", []string{"CF-Connecting-IP: 198.51.100.1"}, "203.0.113.9", RuleUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rs.Resolve(request(tt.remote, tt.headers...))
			if got := res.IP.String(); got != tt.wantIP || res.Rule != tt.wantRule {
				t.Errorf("got %s (%s), want %s (%s)", got, res.Rule, tt.wantIP, tt.wantRule)
			}
			for _, c := range res.Chain {
				if len(c) > maxEntry+3 {
					t.Errorf("chain entry of %d bytes, want at most %d", len(c), maxEntry+3)
				}
			}
		})
	}
}

func TestNewResolverRefuses(t *testing.T) {
	tests := []struct {
		name string
		opts ResolverOptions
	}{
		{"negative hops", ResolverOptions{Trusted: DefaultTrusted(), Hops: -1}},
		{"too many hops", ResolverOptions{Trusted: DefaultTrusted(), Hops: MaxHops + 1}},
		{"header and hops", ResolverOptions{Trusted: DefaultTrusted(), Hops: 1, Header: "CF-Connecting-IP"}},
		{"header with no trusted peer", ResolverOptions{Header: "CF-Connecting-IP"}},
		{"hops with no trusted peer", ResolverOptions{Hops: 1}},
		{"X-Forwarded-For as the header", ResolverOptions{Trusted: DefaultTrusted(), Header: "x-forwarded-for"}},
		{"bad header name", ResolverOptions{Trusted: DefaultTrusted(), Header: "CF Connecting IP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewResolver(tt.opts); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func TestOnUntrusted(t *testing.T) {
	type call struct {
		peer   string
		header string
	}
	var calls []call
	rs := mustResolver(t, ResolverOptions{
		Trusted:     DefaultTrusted(),
		Header:      "CF-Connecting-IP",
		OnUntrusted: func(p netip.Addr, h string) { calls = append(calls, call{p.String(), h}) },
	})
	rs.Resolve(request("203.0.113.9:1"))
	rs.Resolve(request("10.0.0.2:1", "X-Forwarded-For: 1.1.1.1"))
	rs.Resolve(request("203.0.113.9:1", "X-Forwarded-For: 1.1.1.1"))
	rs.Resolve(request("203.0.113.9:1", "CF-Connecting-IP: 1.1.1.1"))
	want := []call{{"203.0.113.9", "X-Forwarded-For"}, {"203.0.113.9", "Cf-Connecting-Ip"}}
	if len(calls) != len(want) {
		t.Fatalf("got %d calls %v, want %v", len(calls), calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d: got %v, want %v", i, calls[i], want[i])
		}
	}
}

func TestParseTrusted(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", strings.Join(defaultTrusted, ","), false},
		{"none", "", false},
		{"10.0.0.0/8, 192.0.2.1", "10.0.0.0/8,192.0.2.1/32", false},
		{"default,100.64.0.0/10", strings.Join(defaultTrusted, ",") + ",100.64.0.0/10", false},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", false},
		{"::ffff:192.0.2.1", "192.0.2.1/32", false},
		{"10.1.2.3/8", "10.0.0.0/8", false},
		{"fe80::1%eth0", "", true},
		{"banana", "", true},
		{",", "", true},
		{"::ffff:0:0/90", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ps, err := ParseTrusted(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err: got %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %s, want %s", strings.Join(got, ","), tt.want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
	}
	for _, tt := range tests {
		if got := Subject(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("Subject(%s): got %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := Subject(netip.Addr{}); got != "unknown" {
		t.Errorf("Subject(invalid): got %s, want unknown", got)
	}
}

// FuzzResolve checks, for any peer and any X-Forwarded-For, that the
// resolved address is the peer or an entry no client could have chosen:
// an untrusted one with only trusted proxies to its right.
func FuzzResolve(f *testing.F) {
	seeds := [][2]string{
		{"10.0.0.2:80", "198.51.100.1"},
		{"10.0.0.2:80", "1.1.1.1, 198.51.100.1, 10.0.0.3"},
		{"10.0.0.2:80", "::ffff:198.51.100.1, [2001:db8::1]:443"},
		{"10.0.0.2:80", "fe80::1%eth0"},
		{"10.0.0.2:80", ", ,,"},
		{"[::1]:80", "2001:db8::1"},
		{"203.0.113.9:1", "198.51.100.1"},
		{"garbage", "198.51.100.1"},
		{"10.0.0.2:80", chainOf("10.0.0.1", 40)},
		{"10.0.0.2:80", "198.51.100.1\x00, 10.0.0.1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[1])
	}
	rs := mustResolver(f, ResolverOptions{Trusted: DefaultTrusted()})
	hops := mustResolver(f, ResolverOptions{Trusted: DefaultTrusted(), Hops: 2})
	header := mustResolver(f, ResolverOptions{Trusted: DefaultTrusted(), Header: "X-Real-IP"})
	f.Fuzz(func(t *testing.T, remote, xff, realIP string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header["X-Forwarded-For"] = []string{xff}
		r.Header["X-Real-Ip"] = []string{realIP}
		peer := parsePeer(remote)
		entries := strings.Split(xff, ",")
		for i := range entries {
			entries[i] = strings.TrimSpace(entries[i])
		}

		res := rs.Resolve(r)
		if res.Peer != peer {
			t.Fatalf("peer: got %v, want %v", res.Peer, peer)
		}
		if res.IP.IsValid() != peer.IsValid() {
			t.Fatalf("IP %v valid, peer %v not (or the other way)", res.IP, peer)
		}
		if !rs.isTrusted(peer) && res.IP != peer {
			t.Fatalf("untrusted peer %v: got %v, want the peer", peer, res.IP)
		}
		if res.IP != peer || res.Rule == RuleForwardedFor {
			if res.Rule != RuleForwardedFor || rs.isTrusted(res.IP) {
				t.Fatalf("got %v by %q, want an untrusted X-Forwarded-For entry", res.IP, res.Rule)
			}
			i := len(entries) - 1
			for ; i >= 0; i-- {
				a, ok := parseHop(entries[i])
				if !ok {
					t.Fatalf("entry %q right of the chosen one does not parse", entries[i])
				}
				if !rs.isTrusted(a) {
					break
				}
			}
			if a, _ := parseHop(entries[i]); a != res.IP {
				t.Fatalf("got %v, want the rightmost untrusted entry %q", res.IP, entries[i])
			}
		}

		res = hops.Resolve(r)
		if res.IP != peer {
			if len(entries) < 2 {
				t.Fatalf("hops: got %v from a chain of %d", res.IP, len(entries))
			}
			if a, _ := parseHop(entries[len(entries)-2]); a != res.IP {
				t.Fatalf("hops: got %v, want entry %q", res.IP, entries[len(entries)-2])
			}
		}

		res = header.Resolve(r)
		if res.IP != peer {
			if a, _ := parseHop(strings.TrimSpace(realIP)); a != res.IP {
				t.Fatalf("header: got %v, want %q", res.IP, realIP)
			}
		}
		if len(Subject(res.IP)) > 64 {
			t.Fatalf("subject of %d bytes", len(Subject(res.IP)))
		}
	})
}
