// Package bans keeps the clients an operator has banned: one address, an
// address range, or every rate-limit key that starts with a given hex
// prefix (the 8 characters the request log shows), for a while or for
// good. Banned requests are refused with 403 before the rate limiter sees
// them, so they are never counted.
//
// The bans live in a Store: in memory they belong to one process and are
// gone when it stops; in Redis every instance shares them and they
// survive restarts (of the app; of Redis too when it persists its data).
// Checks never wait on the store: each instance answers from a snapshot
// that its own changes update at once and Run refreshes every second, so a
// ban made on one instance reaches the others within about a second.
package bans

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// ErrNotFound is returned for a ban id that does not exist.
var ErrNotFound = errors.New("bans: no such ban")

// ErrInvalid is wrapped by every error of Parse.
var ErrInvalid = errors.New("invalid ban")

// Key prefixes are at least MinKey hex characters, so that a ban cannot
// sweep up a large share of all clients by accident.
const MinKey = 8

// Ban is one ban. Exactly one of IP, Prefix and Key is set.
type Ban struct {
	ID string `json:"id"`
	// IP bans one address (an IPv6 client keeps its other addresses; ban
	// its /64 with Prefix).
	IP string `json:"ip,omitempty"`
	// Prefix bans a range in CIDR notation.
	Prefix string `json:"prefix,omitempty"`
	// Key bans every client whose rate-limit key has a hex part that
	// starts with it: the client part (the 8 characters the request log
	// and /whoami show, or more) or the address tag (which bans every
	// client of one address, as the admin's bypass suspects list them).
	Key    string    `json:"key,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"created_at"`
	// Until is nil for a permanent ban.
	Until *time.Time `json:"expires_at"`
}

// Request is the body of POST /admin/bans.
type Request struct {
	IP     string `json:"ip"`
	Prefix string `json:"prefix"`
	Key    string `json:"key"`
	// Duration is a Go duration ("90m", "1h") or a number of days
	// ("7d"); empty for a permanent ban.
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// Parse checks a request and returns the ban it asks for, made at now,
// without an id. Its errors wrap ErrInvalid and read well to a client.
func Parse(req Request, now time.Time) (Ban, error) {
	bad := func(format string, args ...any) (Ban, error) {
		return Ban{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	b := Ban{Reason: strings.TrimSpace(req.Reason), Since: now.UTC()}
	if len(b.Reason) > 500 {
		return bad("reason: at most 500 characters")
	}
	set := 0
	if s := strings.TrimSpace(req.IP); s != "" {
		set++
		a, err := netip.ParseAddr(s)
		if err != nil {
			return bad("ip %q: want an address such as 198.51.100.7 or 2001:db8::1", s)
		}
		b.IP = a.Unmap().WithZone("").String()
	}
	if s := strings.TrimSpace(req.Prefix); s != "" {
		set++
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return bad("prefix %q: want a CIDR such as 2001:db8::/48 or 203.0.113.0/24", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		b.Prefix = p.Masked().String()
	}
	if s := strings.TrimSpace(req.Key); s != "" {
		set++
		s = strings.ToLower(s)
		if len(s) < MinKey || len(s) > 64 || strings.Trim(s, "0123456789abcdef") != "" {
			return bad("key %q: want %d to 64 hex characters, the start of a rate-limit key as the logs show it", s, MinKey)
		}
		b.Key = s
	}
	if set != 1 {
		return bad("give exactly one of ip, prefix and key")
	}
	if s := strings.TrimSpace(req.Duration); s != "" {
		d, err := parseDuration(s)
		if err != nil || d <= 0 {
			return bad("duration %q: want a positive duration such as 90m, 1h or 7d; leave it out for a permanent ban", s)
		}
		until := b.Since.Add(d)
		b.Until = &until
	}
	return b, nil
}

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n > 36500 {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	return time.ParseDuration(s)
}

// Active reports whether b is in force at now.
func (b Ban) Active(now time.Time) bool { return b.Until == nil || now.Before(*b.Until) }

// matches reports whether b bans a client at ip whose key has the hex
// parts keys.
func (b Ban) matches(ip netip.Addr, keys []string) bool {
	switch {
	case b.IP != "":
		a, err := netip.ParseAddr(b.IP)
		return err == nil && ip.IsValid() && a == ip
	case b.Prefix != "":
		p, err := netip.ParsePrefix(b.Prefix)
		return err == nil && ip.IsValid() && p.Contains(ip)
	case b.Key != "":
		for _, k := range keys {
			if strings.HasPrefix(k, b.Key) {
				return true
			}
		}
	}
	return false
}

// Store keeps bans. Implementations are safe for concurrent use.
type Store interface {
	Put(ctx context.Context, b Ban) error
	// Delete returns ErrNotFound for an unknown id.
	Delete(ctx context.Context, id string) error
	// All returns every ban, expired ones included, in no order.
	All(ctx context.Context) ([]Ban, error)
}

// Options configures Bans.
type Options struct {
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger hears of failed refreshes; default discards.
	Logger *slog.Logger
	// OnBanned, when set, is told of every request Middleware refuses.
	OnBanned func(r *http.Request, b Ban)
}

// Bans adds, lists, lifts and checks bans. It is safe for concurrent use.
type Bans struct {
	store Store
	opts  Options
	snap  atomic.Pointer[[]Ban]
	// mu orders refreshes, so that an old snapshot never replaces a newer.
	mu sync.Mutex
}

// New returns Bans kept in store. Call Refresh (or Run) to load the bans
// the store already holds.
func New(store Store, opts Options) *Bans {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bans{store: store, opts: opts}
	b.snap.Store(&[]Ban{})
	return b
}

// Add stores a new ban with a fresh id and returns it.
func (b *Bans) Add(ctx context.Context, ban Ban) (Ban, error) {
	var id [8]byte
	rand.Read(id[:])
	ban.ID = hex.EncodeToString(id[:])
	if err := b.store.Put(ctx, ban); err != nil {
		return Ban{}, fmt.Errorf("bans: store: %w", err)
	}
	return ban, b.Refresh(ctx)
}

// Remove lifts a ban.
func (b *Bans) Remove(ctx context.Context, id string) error {
	if err := b.store.Delete(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("bans: store: %w", err)
	}
	return b.Refresh(ctx)
}

// List returns the bans in force, oldest first, read from the store.
func (b *Bans) List(ctx context.Context) ([]Ban, error) {
	if err := b.Refresh(ctx); err != nil {
		return nil, err
	}
	return slices.Clone(*b.snap.Load()), nil
}

// Refresh reloads the snapshot from the store, dropping expired bans from
// it (and from the store).
func (b *Bans) Refresh(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	all, err := b.store.All(ctx)
	if err != nil {
		return fmt.Errorf("bans: store: %w", err)
	}
	now := b.opts.Now()
	live := make([]Ban, 0, len(all))
	for _, ban := range all {
		if ban.Active(now) {
			live = append(live, ban)
		} else {
			b.store.Delete(ctx, ban.ID)
		}
	}
	slices.SortFunc(live, func(x, y Ban) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	b.snap.Store(&live)
	return nil
}

// Run refreshes the snapshot every second until ctx ends, so bans made by
// other instances apply here too.
func (b *Bans) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := b.Refresh(ctx)
		if err != nil && !failing && ctx.Err() == nil {
			b.opts.Logger.Warn("cannot refresh the bans; checking against the last list read", "err", err)
		}
		failing = err != nil
	}
}

// Match returns the ban in force that covers a client at ip whose
// rate-limit key has the hex parts keys (client part and address tag), if
// any. It reads the snapshot and does no I/O.
func (b *Bans) Match(ip netip.Addr, keys ...string) (Ban, bool) {
	now := b.opts.Now()
	for _, ban := range *b.snap.Load() {
		if ban.Active(now) && ban.matches(ip, keys) {
			return ban, true
		}
	}
	return Ban{}, false
}

// Middleware refuses banned clients with 403 and a JSON detail. client
// tells a request's address and the hex parts of its rate-limit key.
func (b *Bans) Middleware(client func(r *http.Request) (netip.Addr, []string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(*b.snap.Load()) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			ip, keys := client(r)
			ban, ok := b.Match(ip, keys...)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			if b.opts.OnBanned != nil {
				b.opts.OnBanned(r, ban)
			}
			body := map[string]any{"detail": "Forbidden: this client is banned."}
			if ban.Until != nil {
				body["detail"] = "Forbidden: this client is banned until " + ban.Until.UTC().Format(time.RFC3339) + "."
				body["until"] = ban.Until.UTC()
			}
			w.Header().Set("Cache-Control", "no-store")
			respond.JSON(w, http.StatusForbidden, body)
		})
	}
}
