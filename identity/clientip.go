// Package identity tells HTTP clients apart for rate limiting: it finds
// the real client address behind proxies that are trusted, verifies the
// bearer tokens of signed-in users, and turns what is known of a client
// into a keyed hash that reveals nothing.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
)

// defaultTrusted are the proxies believed when TRUSTED_PROXIES is unset:
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
// "" gives DefaultTrusted; "none" trusts no proxy; the word "default" in
// the list stands for DefaultTrusted ("default,100.64.0.0/10").
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
		if strings.EqualFold(part, "default") {
			out = append(out, DefaultTrusted()...)
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("identity: %q is not a CIDR or an IP address", part)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 means 10.0.0.0/8: peers are unmapped
			// before they are compared.
			if p.Bits() < 96 {
				return nil, fmt.Errorf("identity: %q mixes IPv4-mapped and IPv6 addresses", part)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("identity: no CIDR given")
	}
	return out, nil
}

// MaxHops bounds how far back an X-Forwarded-For chain is walked, and so
// the largest TRUSTED_PROXY_HOPS. Real chains have a handful of entries; a
// longer run of trusted hops is not believed, and the request is keyed on
// the peer.
const MaxHops = 32

// maxEntry is the longest X-Forwarded-For entry or client-address header
// read: "[ffff:...:ffff%zone]:65535" fits; anything longer is garbage.
const maxEntry = 64

// The rules a Resolution can report.
const (
	RulePeer          = "peer"
	RuleUntrusted     = "peer (untrusted, header ignored)"
	RuleForwardedFor  = "x-forwarded-for"
	RuleHops          = "x-forwarded-for (hop count)"
	RuleBadChain      = "peer (bad chain)"
	RuleAllTrusted    = "peer (every hop trusted)"
	RuleShortChain    = "peer (chain shorter than the hop count)"
	RuleNoHeader      = "peer (client-address header missing)"
	RuleBadHeader     = "peer (bad client-address header)"
	ruleHeaderPrefix  = "header "
	forwardedForField = "X-Forwarded-For"
)

// Resolution is what the server worked out about where a request came
// from.
type Resolution struct {
	// IP is the client address used for rate limiting. It is the peer
	// unless a trusted proxy said otherwise, and never an address a
	// client could choose.
	IP netip.Addr
	// Peer is the TCP peer that sent the request.
	Peer netip.Addr
	// Chain is what the forwarding header said, as received: the
	// X-Forwarded-For entries (at most MaxHops from the right) or the
	// client-address header's value; empty when not consulted.
	Chain []string
	// Rule says which rule chose IP: one of the Rule constants, or
	// "header " and the lower-case name of the client-address header.
	Rule string

	// subject is Subject(IP), worked out once by Middleware: the
	// per-client and per-IP keys each need it, and the bans and the
	// limiter each ask for both keys. Empty outside Middleware.
	subject string
	// client holds the per-client key once a Keys has worked it out,
	// for the others who ask during the same request (the limiter, its
	// decision hook, the bans, the log). Nil outside Middleware.
	client *clientMemo
}

// clientMemo is the per-client key of one request, with the Keys and the
// secret that made it: another Keys (another strategy) or a new secret
// works it out again.
type clientMemo struct {
	mu   sync.Mutex
	keys *Keys
	cur  *keyed
	key  string
}

// stored is what Middleware stores: the Resolution and its memo in one
// allocation.
type stored struct {
	res  Resolution
	memo clientMemo
}

// subjectOf returns Subject(res.IP).
func (res *Resolution) subjectOf() string {
	if res.subject != "" {
		return res.subject
	}
	return Subject(res.IP)
}

// ResolverOptions says which proxies are in front of the app and how they
// report the client. The zero value trusts no proxy: every request is
// keyed on its TCP peer.
type ResolverOptions struct {
	// Trusted are the proxies whose forwarding headers are believed
	// (TRUSTED_PROXIES). From any other peer, X-Forwarded-For and Header
	// are ignored.
	Trusted []netip.Prefix
	// Hops, when above zero, is how many proxies append to
	// X-Forwarded-For in front of the app (TRUSTED_PROXY_HOPS): the
	// client is the Hops-th entry from the right, whatever its address.
	// Use it when a proxy on the way has a public address (a CDN edge)
	// that cannot be listed in Trusted. Too high a count lets clients
	// choose their address; check with GET /whoami and a forged header.
	// Zero walks the chain from the right past Trusted addresses.
	Hops int
	// Header, when set, names one header holding the client address that
	// the proxy in front always overwrites, such as CF-Connecting-IP
	// (CLIENT_IP_HEADER). It takes precedence over X-Forwarded-For and
	// Hops and is believed only from a Trusted peer.
	Header string
	// OnUntrusted, when set, is called whenever a peer that is not
	// trusted sends X-Forwarded-For or Header: the sign of a proxy
	// missing from Trusted, or of a client forging it. It must be cheap;
	// the caller decides how often to log.
	OnUntrusted func(peer netip.Addr, header string)
}

// Resolver finds the client address of a request. It believes forwarding
// headers only when the TCP peer is itself a trusted proxy. Then, by
// default, it takes the rightmost X-Forwarded-For entry that is not a
// trusted proxy: each proxy appends the address it saw, so entries to the
// left of that one are whatever the client chose to send. Anything it
// cannot make sense of (garbage, too long a chain of trusted hops, a
// missing header) falls back to the peer, which a client cannot forge.
// Safe for concurrent use.
type Resolver struct {
	opts ResolverOptions
	// rule is the Rule of a Resolution from Header.
	rule string
}

// NewResolver checks opts and returns a Resolver.
func NewResolver(opts ResolverOptions) (*Resolver, error) {
	if opts.Hops < 0 || opts.Hops > MaxHops {
		return nil, fmt.Errorf("identity: %d hops: want 0 to %d", opts.Hops, MaxHops)
	}
	if opts.Header != "" {
		if !validHeaderName(opts.Header) {
			return nil, fmt.Errorf("identity: %q is not a header name", opts.Header)
		}
		if strings.EqualFold(opts.Header, forwardedForField) {
			return nil, errors.New("identity: X-Forwarded-For is a chain, not a client-address header: leave the header unset and use the trusted proxies or a hop count")
		}
		opts.Header = textproto.CanonicalMIMEHeaderKey(opts.Header)
		if opts.Hops > 0 {
			return nil, errors.New("identity: a client-address header and a hop count exclude each other")
		}
	}
	if (opts.Header != "" || opts.Hops > 0) && len(opts.Trusted) == 0 {
		return nil, errors.New("identity: a client-address header or a hop count needs a trusted proxy to come from")
	}
	rs := &Resolver{opts: opts}
	rs.opts.Trusted = append([]netip.Prefix(nil), opts.Trusted...)
	if opts.Header != "" {
		rs.rule = ruleHeaderPrefix + strings.ToLower(opts.Header)
	}
	return rs, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (rs *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range rs.opts.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve works out where r came from.
func (rs *Resolver) Resolve(r *http.Request) Resolution {
	peer := parsePeer(r.RemoteAddr)
	res := Resolution{IP: peer, Peer: peer, Rule: RulePeer}
	xff := r.Header.Values(forwardedForField)
	var hv []string
	if rs.opts.Header != "" {
		hv = r.Header.Values(rs.opts.Header)
	}
	if len(xff) == 0 && len(hv) == 0 && rs.opts.Header == "" {
		return res
	}
	if !peer.IsValid() || !rs.isTrusted(peer) {
		if len(xff) == 0 && len(hv) == 0 {
			return res
		}
		res.Rule = RuleUntrusted
		if rs.opts.OnUntrusted != nil && peer.IsValid() {
			name := forwardedForField
			if len(hv) > 0 {
				name = rs.opts.Header
			}
			rs.opts.OnUntrusted(peer, name)
		}
		return res
	}
	switch {
	case rs.opts.Header != "":
		rs.fromHeader(&res, hv)
	case rs.opts.Hops > 0:
		rs.fromHops(&res, xff)
	case len(xff) > 0:
		rs.fromChain(&res, xff)
	}
	return res
}

// fromHeader believes the one value of the client-address header. Two
// values mean a proxy appended instead of overwriting, and then the
// client may have written one of them: the peer is used.
func (rs *Resolver) fromHeader(res *Resolution, values []string) {
	switch len(values) {
	case 0:
		res.Rule = RuleNoHeader
		return
	case 1:
	default:
		res.Rule = RuleBadHeader
		return
	}
	v := strings.TrimSpace(values[0])
	res.Chain = []string{clipEntry(v)}
	a, ok := parseHop(v)
	if !ok {
		res.Rule = RuleBadHeader
		return
	}
	res.IP, res.Rule = a, rs.rule
}

// fromHops takes the Hops-th entry from the right.
func (rs *Resolver) fromHops(res *Resolution, xff []string) {
	chain := lastEntries(xff, rs.opts.Hops)
	res.Chain = clipEntries(chain)
	if len(chain) < rs.opts.Hops {
		res.Rule = RuleShortChain
		return
	}
	a, ok := parseHop(chain[0])
	if !ok {
		res.Rule = RuleBadChain
		return
	}
	res.IP, res.Rule = a, RuleHops
}

// fromChain walks X-Forwarded-For from the right past trusted proxies.
func (rs *Resolver) fromChain(res *Resolution, xff []string) {
	chain := lastEntries(xff, MaxHops+1)
	long := len(chain) > MaxHops
	if long {
		// One entry more than is walked was read only to know that the
		// chain goes on.
		chain = chain[1:]
	}
	res.Chain = clipEntries(chain)
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseHop(chain[i])
		if !ok {
			res.Rule = RuleBadChain
			return
		}
		if !rs.isTrusted(a) {
			res.IP, res.Rule = a, RuleForwardedFor
			return
		}
	}
	if long {
		res.Rule = RuleBadChain
		return
	}
	// Every entry is a trusted address. The leftmost could be a client on
	// the private network, or something the client wrote: the two cannot
	// be told apart, so nothing in the chain is believed.
	res.Rule = RuleAllTrusted
}

// lastEntries returns at most n comma-separated entries from the right end
// of the header values (several X-Forwarded-For headers form one list, in
// order), without splitting more of a huge header than it needs.
func lastEntries(values []string, n int) []string {
	out := make([]string, 0, min(n, 8))
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

// clipEntries bounds what a Resolution repeats of the headers, so that
// /whoami never echoes a megabyte back.
func clipEntries(chain []string) []string {
	out := make([]string, len(chain))
	for i, s := range chain {
		out[i] = clipEntry(s)
	}
	return out
}

func clipEntry(s string) string {
	if len(s) > maxEntry {
		return s[:maxEntry] + "..."
	}
	return s
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[2001:db8::1]:443"), IPv4-mapped IPv6 unmapped,
// any zone dropped.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > maxEntry {
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

type resolutionKey struct{}

// Middleware resolves every request once and stores the Resolution in its
// context, for FromContext.
func (rs *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, withResolution(r, rs.Resolve(r)))
	})
}

// withResolution returns r carrying res, as Middleware passes it on. res
// escapes to the heap once, with its subject and room for the client
// key: this runs on every request.
func withResolution(r *http.Request, res Resolution) *http.Request {
	rd := &stored{res: res}
	rd.res.subject = Subject(res.IP)
	rd.res.client = &rd.memo
	return r.WithContext(context.WithValue(r.Context(), resolutionKey{}, &rd.res))
}

// FromContext returns the Resolution that Middleware stored, if any. The
// handlers of a request share it: read it, never change it.
func FromContext(ctx context.Context) (*Resolution, bool) {
	r, ok := ctx.Value(resolutionKey{}).(*Resolution)
	return r, ok
}
