package app

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/internal/respond"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// clientID is the wired client identity: where a request comes from, who
// sent it, the rate-limit keys that follow, and GET /whoami's report of
// all three.
type clientID struct {
	cfg      config.Config
	resolver *identity.Resolver
	// verifier is nil unless RATE_LIMIT_KEY=user.
	verifier *identity.Verifier
	keys     *identity.Keys
	// base is the per-client policy of anonymous clients (RATE_LIMIT);
	// tiers are those of signed-in users by tier name.
	base  *ratelimit.Policy
	tiers map[string]*ratelimit.Policy
}

func newClientID(cfg config.Config, hasher *identity.Hasher, log *slog.Logger) (*clientID, error) {
	var warnOnce sync.Once
	resolver, err := identity.NewResolver(identity.ResolverOptions{
		Trusted: cfg.Trusted,
		Hops:    cfg.Hops,
		Header:  cfg.ClientIPHeader,
		OnUntrusted: func(peer netip.Addr, header string) {
			warnOnce.Do(func() {
				log.Warn(header+" from a peer that is not a trusted proxy: ignored, the peer address is used; if a proxy sits in front of this app, add its range to TRUSTED_PROXIES (or set PLATFORM). Logged once.", "peer", peer.String())
			})
		},
	})
	if err != nil {
		return nil, err
	}
	c := &clientID{
		cfg:      cfg,
		resolver: resolver,
		keys:     identity.NewKeys(hasher, cfg.Key),
		base:     &ratelimit.Policy{Name: "per-client", Limits: cfg.RateLimit},
	}
	if cfg.KeyName == "user" {
		if c.verifier, err = identity.NewVerifier(cfg.JWT); err != nil {
			return nil, err
		}
		c.tiers = make(map[string]*ratelimit.Policy, len(cfg.Tiers))
		for name, ls := range cfg.Tiers {
			c.tiers[name] = &ratelimit.Policy{Name: c.base.Name, Note: name + " tier", Limits: ls}
		}
	} else if cfg.Tiers != nil {
		log.Warn("RATE_LIMIT_TIERS is ignored: tiers apply only with RATE_LIMIT_KEY=user", "key", cfg.KeyName)
	}
	trusted := make([]string, len(cfg.Trusted))
	for i, p := range cfg.Trusted {
		trusted[i] = p.String()
	}
	log.Info("client identity", "key", cfg.KeyName, "platform", cfg.Platform, "trusted_proxies", strings.Join(trusted, ","), "trusted_proxy_hops", cfg.Hops, "client_ip_header", cfg.ClientIPHeader)
	return c, nil
}

// middleware resolves the client address of every request and, under
// RATE_LIMIT_KEY=user, makes its bearer token available (verified on
// first use).
func (c *clientID) middleware(next http.Handler) http.Handler {
	if c.verifier != nil {
		next = c.verifier.Middleware(next)
	}
	return c.resolver.Middleware(next)
}

// clientLayer is chat's per-client layer: RATE_LIMIT, or under
// RATE_LIMIT_KEY=user the signed-in user's tier.
func (c *clientID) clientLayer() ratelimit.Layer {
	l := ratelimit.Layer{Policy: *c.base, Key: c.keys.Client}
	if c.verifier != nil {
		l.Select = c.policy
	}
	return l
}

// ipLayer is the per-IP ceiling (RATE_LIMIT_PER_IP), which every limited
// route shares unless it opts out.
func (c *clientID) ipLayer() ratelimit.Layer {
	return ratelimit.Layer{Policy: ratelimit.Policy{Name: "per-ip", Note: "per IP", Limits: c.cfg.PerIP}, Key: c.ipKey}
}

// shortKey is what the logs show of r's client key (identity.ShortKey),
// or "" when it cannot be worked out (a bad bearer token). The key is
// worked out once per request, so asking again costs a look-up.
func (c *clientID) shortKey(r *http.Request) string {
	k, err := c.keys.Client(r)
	if err != nil {
		return ""
	}
	return identity.ShortKey(k)
}

// ipKey is the per-IP ceiling's key. A signed-in user is kept out of it:
// the ceiling bounds clients that mint keys by rotating headers, which a
// token holder cannot do, and it would make colleagues behind one office
// address share what their tiers grant each of them.
func (c *clientID) ipKey(r *http.Request) (string, error) {
	if c.verifier != nil {
		if _, ok, _ := identity.UserFrom(r.Context()); ok {
			return "", nil
		}
	}
	return c.keys.IP(r)
}

// policy picks a signed-in user's per-client policy: their tier's, the
// "default" tier's for a missing or unknown tier, else RATE_LIMIT (nil).
// Anonymous clients keep RATE_LIMIT.
func (c *clientID) policy(r *http.Request) *ratelimit.Policy {
	u, ok, _ := identity.UserFrom(r.Context())
	if !ok {
		return nil
	}
	if p, found := c.tiers[u.Tier]; found {
		return p
	}
	return c.tiers["default"]
}

// writeTokenError answers a request whose bearer token cannot be believed
// with 401 and FastAPI's {"detail": "..."}, and reports whether err was
// such a case.
func writeTokenError(w http.ResponseWriter, err error) bool {
	var te *identity.TokenError
	if !errors.As(err, &te) {
		return false
	}
	h := w.Header()
	h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	h.Set("Cache-Control", "no-store")
	respond.Error(w, http.StatusUnauthorized, te.Reason)
	return true
}

// whoamiReply is GET /whoami's body.
type whoamiReply struct {
	ClientIP string   `json:"client_ip"`
	Peer     string   `json:"peer"`
	Chain    []string `json:"chain"`
	Rule     string   `json:"rule"`
	// KeyPrefix is identity.ShortKey of the per-client key.
	KeyPrefix string `json:"key_prefix"`
	Strategy  string `json:"strategy"`
	Platform  string `json:"platform"`
	SignedIn  bool   `json:"signed_in"`
	Tier      string `json:"tier,omitempty"`
	// Limit is the per-client limit that applies to the caller.
	Limit string `json:"limit"`
}

// whoami serves GET /whoami: what the server resolved for the caller, so
// that an owner can check a deployment in one request (a forged
// X-Forwarded-For must not show up as client_ip). It counts nothing.
func (c *clientID) whoami() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := identity.FromContext(r.Context())
		key, err := c.keys.Client(r)
		if !ok || err != nil {
			if writeTokenError(w, err) {
				return
			}
			respond.Error(w, http.StatusServiceUnavailable, "Client identity unavailable.")
			return
		}
		out := whoamiReply{
			ClientIP:  res.IP.String(),
			Peer:      res.Peer.String(),
			Chain:     res.Chain,
			Rule:      res.Rule,
			KeyPrefix: identity.ShortKey(key),
			Strategy:  c.cfg.KeyName,
			Platform:  c.cfg.Platform,
			Limit:     config.FormatLimits(c.base.Limits),
		}
		if out.Chain == nil {
			out.Chain = []string{}
		}
		if c.verifier != nil {
			u, signedIn, _ := identity.UserFrom(r.Context())
			out.SignedIn, out.Tier = signedIn, u.Tier
			if p := c.policy(r); p != nil {
				out.Limit = config.FormatLimits(p.Limits)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(out)
	})
}
