// Package bans keeps the clients an operator has banned: one address, an
// address range, or every rate-limit key that starts with a given hex
// prefix (the 8 characters the request log shows), for a while or for
// good. Banned requests are refused with 403 before the rate limiter sees
// them, so they are never counted.
//
// The bans live in a Store: in memory they belong to one process and are
// gone when it stops; in Redis every instance shares them and they
// survive restarts (of the app; of Redis too when it persists its data).
// Checks never wait on the store: each instance answers from an index in
// memory that its own changes update at once and Run brings up to date
// every second, so a ban made on one instance reaches the others within
// about a second. A check costs the same with 100 bans as with 100,000.
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

// Store keeps bans. Implementations are safe for concurrent use.
type Store interface {
	Put(ctx context.Context, b Ban) error
	// Delete returns ErrNotFound for an unknown id.
	Delete(ctx context.Context, id string) error
	// All returns every ban, expired ones included, in no order.
	All(ctx context.Context) ([]Ban, error)
}

// Versioned is an optional Store method: Version returns a number that
// changes whenever Put or Delete changes the bans. Bans uses it to skip
// reading the whole list when nothing changed. Both stores here have it;
// a Store without it is read in full on every refresh.
type Versioned interface {
	Version(ctx context.Context) (int64, error)
}

// Logged is an optional Store method set: a Versioned store that keeps its
// recent changes, so that an instance catches up with the changes made
// elsewhere instead of reading every ban. Both stores here have it.
type Logged interface {
	Versioned
	// Changes returns the changes that took the store from version from
	// to version to, oldest first; ok is false when it no longer holds
	// them all (the caller then reads every ban).
	Changes(ctx context.Context, from, to int64) (changes []Change, ok bool, err error)
}

// Change is one change a Logged store made: a ban put, or one deleted.
type Change struct {
	// Put is the ban put; nil for a deletion.
	Put *Ban
	// Deleted is the id of the ban deleted.
	Deleted string
}

// logSize is how many changes the stores here keep: an instance that falls
// further behind (one that could not reach the store for a while, during
// a burst of changes) reads every ban instead.
const logSize = 1024

// DefaultMax is the default of Options.Max.
const DefaultMax = 100_000

// Run reads the whole store even when its version has not moved: at most
// every sweepEvery when a ban has expired, to drop it from the index and
// the store; and every fullEvery regardless, to see edits made to the
// store behind Bans's back (such as an HDEL by hand).
const (
	sweepEvery = time.Minute
	fullEvery  = 10 * time.Minute
)

// Options configures Bans.
type Options struct {
	// Max is the most bans kept; Add returns ErrFull past it. Zero means
	// DefaultMax. It is checked against this instance's view, so adds
	// made at once on several instances can pass it by a few; bans
	// already in the store beyond it still apply.
	Max int
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger hears of failed refreshes; default discards.
	Logger *slog.Logger
	// OnBanned, when set, is told of every request Middleware refuses,
	// before it answers on w.
	OnBanned func(w http.ResponseWriter, r *http.Request, b Ban)
}

// ErrFull is returned by Add when Options.Max bans are kept. Its message
// gives the cap.
var ErrFull = errors.New("bans: the ban list is full")

// Bans adds, lists, lifts and checks bans. It is safe for concurrent use.
//
// Checks (Match, Middleware) read an in-memory index and never wait on
// the store; they share its read lock, which a change holds for one entry.
// Add and Remove change the store and then one entry of the index.
// Refresh and Run apply the changes other instances made, from the
// store's log (Logged), or else read the whole store into a new index
// built aside and swapped in.
type Bans struct {
	store Store
	opts  Options
	idx   atomic.Pointer[index]
	// mu orders changes to the index, so that an old read of the store
	// never replaces a newer index, and an add or removal made during a
	// reload lands in the index that stays.
	mu sync.Mutex
	// version is the store's version the index reflects (under mu);
	// loaded tells whether there is one.
	version int64
	loaded  bool
	// lastRead is when the store was last read in full (under mu).
	lastRead time.Time
}

// New returns Bans kept in store. Call Refresh (or Run) to load the bans
// the store already holds.
func New(store Store, opts Options) *Bans {
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bans{store: store, opts: opts}
	b.idx.Store(newIndex(nil))
	return b
}

// Len returns how many bans this instance holds, expired ones not yet
// swept included. It does no I/O.
func (b *Bans) Len() int { return int(b.idx.Load().n.Load()) }

// Add stores a new ban with a fresh id and returns it. It returns an error
// wrapping ErrFull when Options.Max bans are held already.
func (b *Bans) Add(ctx context.Context, ban Ban) (Ban, error) {
	if n := b.Len(); n >= b.opts.Max {
		return Ban{}, fmt.Errorf("%w (at most %d bans)", ErrFull, b.opts.Max)
	}
	var id [8]byte
	rand.Read(id[:])
	ban.ID = hex.EncodeToString(id[:])
	if err := b.store.Put(ctx, ban); err != nil {
		return Ban{}, fmt.Errorf("bans: store: %w", err)
	}
	b.mu.Lock()
	b.idx.Load().add(ban)
	b.mu.Unlock()
	return ban, nil
}

// Remove lifts a ban.
func (b *Bans) Remove(ctx context.Context, id string) error {
	if err := b.store.Delete(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			// Another instance may have lifted it; forget it here too.
			b.mu.Lock()
			b.idx.Load().remove(id)
			b.mu.Unlock()
			return err
		}
		return fmt.Errorf("bans: store: %w", err)
	}
	b.mu.Lock()
	b.idx.Load().remove(id)
	b.mu.Unlock()
	return nil
}

// List returns the bans in force, oldest first, after a Refresh.
func (b *Bans) List(ctx context.Context) ([]Ban, error) {
	if err := b.Refresh(ctx); err != nil {
		return nil, err
	}
	now := b.opts.Now()
	list := slices.DeleteFunc(b.idx.Load().all(), func(x Ban) bool { return !x.Active(now) })
	slices.SortFunc(list, func(x, y Ban) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return list, nil
}

// Refresh brings the index up to date with the store. When the store's
// version moved since the last refresh (always, for a store that is not
// Versioned), it applies the changes from the store's log, or, when the
// store is not Logged or its log no longer reaches back that far, reads
// every ban, drops the expired ones (from the store too) and swaps in a
// new index. Checks go on against the old index meanwhile.
func (b *Bans) Refresh(ctx context.Context) error {
	expired, err := b.reload(ctx, false)
	b.drop(ctx, expired)
	return err
}

// reload catches up with the store, as Refresh says; sweep forces a full
// read. It returns the ids of the expired bans a full read left out, for
// drop.
func (b *Bans) reload(ctx context.Context, sweep bool) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// The version is read before the bans, so a change made between the
	// two reads moves it past what is recorded and is read next time.
	v, versioned := int64(0), false
	if vs, ok := b.store.(Versioned); ok {
		var err error
		if v, err = vs.Version(ctx); err != nil {
			return nil, fmt.Errorf("bans: store: %w", err)
		}
		versioned = true
		if !sweep && b.loaded && v == b.version {
			return nil, nil
		}
		if lg, ok := b.store.(Logged); ok && !sweep && b.loaded && v > b.version {
			changes, ok, err := lg.Changes(ctx, b.version, v)
			if err != nil {
				return nil, fmt.Errorf("bans: store: %w", err)
			}
			if ok {
				b.apply(changes)
				b.version = v
				return nil, nil
			}
		}
	}
	all, err := b.store.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("bans: store: %w", err)
	}
	now := b.opts.Now()
	var expired []string
	live := slices.DeleteFunc(all, func(ban Ban) bool {
		if ban.Active(now) {
			return false
		}
		expired = append(expired, ban.ID)
		return true
	})
	b.idx.Store(newIndex(live))
	b.version, b.loaded, b.lastRead = v, versioned, now
	return expired, nil
}

// apply brings changes made elsewhere into the index, one entry each
// (under mu). A change this instance made itself is already there; adding
// it again or removing it twice does nothing.
func (b *Bans) apply(changes []Change) {
	x := b.idx.Load()
	for _, c := range changes {
		if c.Put != nil {
			x.add(*c.Put)
		} else {
			x.remove(c.Deleted)
		}
	}
}

// drop deletes expired bans from the store, outside the lock: they match
// nothing, so there is no hurry, and a store that deletes one at a time
// must not hold up adds meanwhile.
func (b *Bans) drop(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := b.store.Delete(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return // the next sweep tries again
		}
	}
}

// Run refreshes the index every second until ctx ends, so bans made by
// other instances apply here too. With a Versioned store, a refresh reads
// the whole store only when it changed; besides, expired bans are swept
// out within about a minute, and the whole store is read every ten
// minutes regardless.
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
		expired, err := b.reload(ctx, b.sweepDue())
		b.drop(ctx, expired)
		if err != nil && !failing && ctx.Err() == nil {
			b.opts.Logger.Warn("cannot refresh the bans; checking against the last list read", "err", err)
		}
		failing = err != nil
	}
}

// sweepDue tells Run to read the whole store whatever its version.
func (b *Bans) sweepDue() bool {
	now := b.opts.Now()
	b.mu.Lock()
	since := now.Sub(b.lastRead)
	b.mu.Unlock()
	return since >= fullEvery || since >= sweepEvery && b.idx.Load().expiredBy(now)
}

// Match returns the ban in force that covers a client at ip whose
// rate-limit key has the hex parts keys (client part and address tag), if
// any. It reads the index, does no I/O and takes no lock; its cost grows
// with the number of distinct prefix and key lengths banned, not with the
// number of bans.
func (b *Bans) Match(ip netip.Addr, keys ...string) (Ban, bool) {
	return b.idx.Load().match(ip.Unmap().WithZone(""), keys, b.opts.Now())
}

// Middleware refuses banned clients with 403 and a JSON detail. client
// tells a request's address and the hex parts of its rate-limit key.
func (b *Bans) Middleware(client func(r *http.Request) (netip.Addr, []string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b.Len() == 0 {
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
				b.opts.OnBanned(w, r, ban)
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
