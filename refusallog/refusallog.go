// Package refusallog summarizes refused requests for the log. A flood is
// thousands of refusals a second; one log line each would cost more than
// the refusal itself and bury everything else. A Summary counts them by
// key and policy instead and writes, once per interval, a bounded number
// of lines: the keys refused most, then a total.
//
// Nothing is lost by it: metrics count every refusal (the caller reports
// each one there too); the log tells who and how much, not each request.
package refusallog

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultEvery   = 10 * time.Second
	DefaultTop     = 10
	DefaultMaxKeys = 10_000
)

// Options configures a Summary. The zero value of every field takes its
// default.
type Options struct {
	// Logger receives the summary lines; nil discards them.
	Logger *slog.Logger
	// Every is the interval Run flushes at; default DefaultEvery (10s).
	Every time.Duration
	// Top is how many keys a flush names at most, the ones refused most;
	// default DefaultTop (10). A flush writes at most Top+1 lines.
	Top int
	// MaxKeys bounds the keys counted apart within one interval, so that a
	// flood from millions of keys holds a fixed amount of memory; the
	// refusals of keys beyond it count in the total only. Default
	// DefaultMaxKeys (10,000).
	MaxKeys int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Message is what the line per key says, "refused" by default, and
	// TotalMessage what the total line says, "refusals" by default: a
	// Summary of something other than refusals names it.
	Message, TotalMessage string
}

// Summary counts refusals between flushes. Safe for concurrent use.
type Summary struct {
	opts Options

	mu     sync.Mutex
	counts map[origin]int64
	// total counts every refusal since the last flush, untracked those of
	// keys past MaxKeys.
	total, untracked int64
	since            time.Time
}

// origin is who was refused under which policy.
type origin struct{ key, policy string }

// New returns a Summary whose interval starts now.
func New(opts Options) *Summary {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Top <= 0 {
		opts.Top = DefaultTop
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Message == "" {
		opts.Message = "refused"
	}
	if opts.TotalMessage == "" {
		opts.TotalMessage = "refusals"
	}
	return &Summary{opts: opts, counts: make(map[origin]int64), since: opts.Now()}
}

// Add counts one refusal of key (a short form that is safe to log, such
// as identity.ShortKey) under policy (the layer that refused, or "banned").
// It takes one lock and no allocation once the key is known.
func (s *Summary) Add(key, policy string) {
	o := origin{key, policy}
	s.mu.Lock()
	s.total++
	// While there is room, one increment (one hash) counts a key, known
	// or new; only a full map needs a lookup first.
	if len(s.counts) < s.opts.MaxKeys {
		s.counts[o]++
	} else if _, ok := s.counts[o]; ok {
		s.counts[o]++
	} else {
		s.untracked++
	}
	s.mu.Unlock()
}

// Flush writes the interval's summary, if anything was refused, and
// starts a new interval: one line per key among the Top refused most
// (Options.Message, "refused": the key, the policy, the count and the
// interval), then one line with the total and the number of keys
// (Options.TotalMessage, "refusals").
func (s *Summary) Flush(ctx context.Context) {
	now := s.opts.Now()
	s.mu.Lock()
	counts, total, untracked, since := s.counts, s.total, s.untracked, s.since
	s.counts = make(map[origin]int64, min(len(counts), s.opts.MaxKeys))
	s.total, s.untracked, s.since = 0, 0, now
	s.mu.Unlock()
	if total == 0 {
		return
	}
	type entry struct {
		origin
		n int64
	}
	top := make([]entry, 0, len(counts))
	for o, n := range counts {
		top = append(top, entry{o, n})
	}
	// Most refused first; equal counts in key order, so that a flush
	// reads the same however the map iterated.
	slices.SortFunc(top, func(a, b entry) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.policy, b.policy))
	})
	interval := now.Sub(since).Round(time.Second).String()
	log := s.opts.Logger
	for _, e := range top[:min(len(top), s.opts.Top)] {
		log.LogAttrs(ctx, slog.LevelInfo, s.opts.Message,
			slog.Int64("requests", e.n), slog.String("key", e.key), slog.String("policy", e.policy),
			slog.String("in_the_last", interval))
	}
	keys := int64(len(counts))
	if untracked > 0 {
		// Keys past MaxKeys were not told apart: at least one more.
		keys++
	}
	log.LogAttrs(ctx, slog.LevelInfo, s.opts.TotalMessage,
		slog.Int64("requests", total), slog.Int64("keys", keys), slog.Int("keys_shown", min(len(top), s.opts.Top)),
		slog.Int64("requests_of_keys_not_counted_apart", untracked), slog.String("in_the_last", interval))
}

// Run flushes every Options.Every until ctx ends, then flushes once more,
// so that the last interval is not lost at shutdown.
func (s *Summary) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			s.Flush(ctx)
		}
	}
}
