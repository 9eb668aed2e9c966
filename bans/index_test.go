package bans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// TestMatchKinds checks every kind of ban against clients just inside and
// just outside it, with prefixes of several lengths in use at once.
func TestMatchKinds(t *testing.T) {
	c := &clock{t0}
	b := New(&MemoryStore{}, Options{Now: c.now})
	ids := map[string]string{}
	for name, req := range map[string]Request{
		"v4":      {IP: "198.51.100.7"},
		"v6":      {IP: "2001:db8:1::7"},
		"v4/8":    {Prefix: "10.0.0.0/8"},
		"v4/24":   {Prefix: "203.0.113.0/24"},
		"v4/31":   {Prefix: "192.0.2.6/31"},
		"v6/32":   {Prefix: "2001:db9::/32"},
		"v6/48":   {Prefix: "2001:db8:2::/48"},
		"v6/64":   {Prefix: "2001:db8:3:4::/64"},
		"v6/128":  {Prefix: "2001:db8:5::5/128"},
		"key8":    {Key: "a1b2c3d4"},
		"key12":   {Key: "0123456789ab"},
		"key64":   {Key: strings.Repeat("fe", 32)},
		"expires": {IP: "198.51.100.99", Duration: "1h"},
	} {
		ids[add(t, b, req).ID] = name
	}
	tests := []struct {
		ip   string
		keys []string
		want string // the ban's name, "" for none
	}{
		{"198.51.100.7", nil, "v4"},
		{"::ffff:198.51.100.7", nil, "v4"},
		{"198.51.100.8", nil, ""},
		{"2001:db8:1::7", nil, "v6"},
		{"2001:db8:1::8", nil, ""},
		{"10.255.0.1", nil, "v4/8"},
		{"11.0.0.1", nil, ""},
		{"203.0.113.255", nil, "v4/24"},
		{"203.0.114.0", nil, ""},
		{"192.0.2.7", nil, "v4/31"},
		{"192.0.2.8", nil, ""},
		{"2001:db9:ffff::1", nil, "v6/32"},
		{"2001:dba::1", nil, ""},
		{"2001:db8:2:ffff::1", nil, "v6/48"},
		{"2001:db8:3:4:ffff::1", nil, "v6/64"},
		{"2001:db8:3:5::1", nil, ""},
		{"2001:db8:5::5", nil, "v6/128"},
		{"2001:db8:5::6", nil, ""},
		// An IPv4 range does not cover the IPv6 address with the same bits.
		{"a00::1", nil, ""},
		{"192.0.2.200", []string{"a1b2c3d4ffff0000", "00000000"}, "key8"},
		{"192.0.2.200", []string{"00000000", "a1b2c3d4ffff0000"}, "key8"},
		{"192.0.2.200", []string{"a1b2c3d5ffff0000", "00000000"}, ""},
		{"192.0.2.200", []string{"0123456789abcdef"}, "key12"},
		{"192.0.2.200", []string{"0123456789aacdef"}, ""},
		{"192.0.2.200", []string{strings.Repeat("fe", 32)}, "key64"},
		{"192.0.2.200", []string{strings.Repeat("fe", 31) + "ff"}, ""},
		{"192.0.2.200", []string{"a1b2"}, ""}, // shorter than any ban
		{"", []string{"a1b2c3d4"}, "key8"},    // no address known
		{"198.51.100.99", nil, "expires"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.ip, tt.keys), func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			got := ""
			if ban, ok := b.Match(ip, tt.keys...); ok {
				got = ids[ban.ID]
			}
			if got != tt.want {
				t.Errorf("got ban %q, want %q", got, tt.want)
			}
		})
	}
	c.t = c.t.Add(time.Hour)
	if ban, ok := b.Match(netip.MustParseAddr("198.51.100.99")); ok {
		t.Errorf("an hour on: got %s matched, want the expired ban to match no more", ids[ban.ID])
	}
}

// Several bans on one target: the longest answers; lifting one (the
// newest, or one in the middle) leaves the others, until they end too.
func TestSameTarget(t *testing.T) {
	c := &clock{t0}
	b := New(&MemoryStore{}, Options{Now: c.now})
	ip := netip.MustParseAddr("203.0.113.9")
	one := add(t, b, Request{Prefix: "203.0.113.0/24", Duration: "1h"})
	three := add(t, b, Request{Prefix: "203.0.113.0/24", Duration: "3h"})
	two := add(t, b, Request{Prefix: "203.0.113.0/24", Duration: "2h"})
	steps := []struct {
		advance time.Duration
		remove  string
		want    string
	}{
		{want: three.ID},
		{remove: three.ID, want: two.ID},
		{remove: two.ID, want: one.ID},
		{advance: time.Hour, want: ""},
	}
	for i, s := range steps {
		c.t = c.t.Add(s.advance)
		if s.remove != "" {
			if err := b.Remove(context.Background(), s.remove); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := b.Match(ip)
		if got.ID != s.want {
			t.Errorf("step %d: got ban %q, want %q", i, got.ID, s.want)
		}
	}
}

// naive is the check the index replaces: every ban, one by one.
func naive(list []Ban, ip netip.Addr, keys []string, now time.Time) bool {
	for _, b := range list {
		if !b.Active(now) {
			continue
		}
		switch {
		case b.IP != "":
			if ip.IsValid() && netip.MustParseAddr(b.IP) == ip {
				return true
			}
		case b.Prefix != "":
			if ip.IsValid() && netip.MustParsePrefix(b.Prefix).Contains(ip) {
				return true
			}
		default:
			for _, k := range keys {
				if strings.HasPrefix(k, b.Key) {
					return true
				}
			}
		}
	}
	return false
}

// The index agrees with checking every ban, on random bans and clients
// drawn close together so that many of them hit.
func TestMatchAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &clock{t0}
	b := New(&MemoryStore{}, Options{Now: c.now})
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(256))})
	}
	v6 := func() netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(rng.IntN(4)), 0, 0, byte(rng.IntN(4)), 15: byte(rng.IntN(256))})
	}
	// Keys share their first 4 digits and use two digits after, so that
	// bans of different lengths collide.
	key := func(n int) string {
		s := []byte("a1b2" + strings.Repeat("0", n-4))
		for i := 4; i < n; i++ {
			s[i] = "01"[rng.IntN(2)]
		}
		return string(s)
	}
	var list []Ban
	for range 200 {
		var req Request
		switch rng.IntN(5) {
		case 0:
			req.IP = v4().String()
		case 1:
			req.IP = v6().String()
		case 2:
			req.Prefix = netip.PrefixFrom(v4(), 24+rng.IntN(9)).String()
		case 3:
			req.Prefix = netip.PrefixFrom(v6(), 112+rng.IntN(17)).String()
		default:
			req.Key = key(MinKey + rng.IntN(5))
		}
		if rng.IntN(3) == 0 {
			req.Duration = fmt.Sprintf("%dm", 1+rng.IntN(120))
		}
		list = append(list, add(t, b, req))
	}
	// Lift a third of them.
	for i := 0; i < len(list); i += 3 {
		if err := b.Remove(context.Background(), list[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	var kept []Ban
	for i, ban := range list {
		if i%3 != 0 {
			kept = append(kept, ban)
		}
	}
	hits := 0
	for _, advance := range []time.Duration{0, 30 * time.Minute, 3 * time.Hour} {
		c.t = t0.Add(advance)
		for i := range 2000 {
			ip := v4()
			if i%2 == 1 {
				ip = v6()
			}
			keys := []string{key(16), key(16)}
			if i%4 < 2 {
				keys = []string{"ffff0000ffff0000"}
			}
			want := naive(kept, ip, keys, c.t)
			_, got := b.Match(ip, keys...)
			if got != want {
				t.Fatalf("at +%v, %s %v: got banned %v, want %v", advance, ip, keys, got, want)
			}
			if got {
				hits++
			}
		}
	}
	t.Logf("%d hits of 6000 checks", hits)
	if hits < 500 || hits > 5500 {
		t.Errorf("got %d hits of 6000 checks; the test wants a mix of hits and misses to mean something", hits)
	}
}

// countingStore counts full reads.
type countingStore struct {
	Store
	reads atomic.Int64
}

func (s *countingStore) All(ctx context.Context) ([]Ban, error) {
	s.reads.Add(1)
	return s.Store.All(ctx)
}

func (s *countingStore) Version(ctx context.Context) (int64, error) {
	return s.Store.(Logged).Version(ctx)
}

func (s *countingStore) Changes(ctx context.Context, from, to int64) ([]Change, bool, error) {
	return s.Store.(Logged).Changes(ctx, from, to)
}

// Adding and lifting change the index in place: neither reads the store
// back. Another instance's changes arrive through the store's log, still
// without a full read, unless this one fell more than the log behind.
func TestChangesDoNotReadTheStore(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return &MemoryStore{} },
		"redis": func(t *testing.T) Store {
			return NewRedisStore(redistest.Start(t, redistest.Options{}).Client(), "smartdocs:bans")
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			shared := open(t)
			store := &countingStore{Store: shared}
			b := New(store, Options{})
			other := New(shared, Options{})
			refresh := func(want int64) {
				t.Helper()
				for range 3 {
					if err := b.Refresh(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if got := store.reads.Load(); got != want {
					t.Errorf("got %d full reads, want %d", got, want)
				}
			}
			refresh(1)
			var mine []Ban
			for i := range 100 {
				mine = append(mine, add(t, b, Request{IP: fmt.Sprintf("198.51.100.%d", i)}))
			}
			if err := b.Remove(ctx, mine[99].ID); err != nil {
				t.Fatal(err)
			}
			refresh(1) // its own changes come back through the log: no-ops

			theirs := add(t, other, Request{Key: "a1b2c3d4"})
			if err := other.Remove(ctx, mine[0].ID); err != nil {
				t.Fatal(err)
			}
			refresh(1)
			if got, ok := b.Match(netip.Addr{}, "a1b2c3d4e5f60718"); !ok || got.ID != theirs.ID {
				t.Errorf("the other instance's ban: got %+v, %v; want ban %s", got, ok, theirs.ID)
			}
			if _, ok := b.Match(netip.MustParseAddr("198.51.100.0")); ok {
				t.Error("a ban the other instance lifted still matches")
			}
			if _, ok := b.Match(netip.MustParseAddr("198.51.100.42")); !ok {
				t.Error("an added ban does not match")
			}
			if got := b.Len(); got != 99 {
				t.Errorf("got Len %d, want 99", got)
			}

			// More changes than the log keeps: a full read.
			for range logSize/2 + 1 {
				ban := add(t, other, Request{IP: "203.0.113.1"})
				if err := other.Remove(ctx, ban.ID); err != nil {
					t.Fatal(err)
				}
			}
			refresh(2)
			if got := b.Len(); got != 99 {
				t.Errorf("after the full read: got Len %d, want 99", got)
			}
			all, err := shared.All(ctx)
			if err != nil || len(all) != 99 {
				t.Errorf("got %d bans from the store, %v; want 99 (the version and log are not bans)", len(all), err)
			}
			if r, ok := shared.(*RedisStore); ok {
				fields, err := r.rdb.HKeys(ctx, r.key).Result()
				logged := 0
				for _, f := range fields {
					if strings.HasPrefix(f, logPrefix) {
						logged++
					}
				}
				if err != nil || logged != logSize {
					t.Errorf("got %d log fields, %v; want the last %d changes kept", logged, err, logSize)
				}
			}
		})
	}
}

// A refresh drops expired bans from the index and from the store.
func TestRefreshSweepsExpired(t *testing.T) {
	c := &clock{t0}
	store := &MemoryStore{}
	b := New(store, Options{Now: c.now})
	add(t, b, Request{IP: "198.51.100.7", Duration: "1h"})
	add(t, b, Request{IP: "198.51.100.8"})
	c.t = c.t.Add(time.Hour)
	// What Run does once a minute.
	expired, err := b.reload(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	b.drop(context.Background(), expired)
	all, _ := store.All(context.Background())
	if len(all) != 1 || all[0].IP != "198.51.100.8" || b.Len() != 1 {
		t.Errorf("got %d in the store (%+v), Len %d; want only the permanent ban", len(all), all, b.Len())
	}
}

func TestCap(t *testing.T) {
	ctx := context.Background()
	b := New(&MemoryStore{}, Options{Max: 3})
	var first Ban
	for i := range 3 {
		ban := add(t, b, Request{IP: fmt.Sprintf("198.51.100.%d", i)})
		if i == 0 {
			first = ban
		}
	}
	ban, _ := Parse(Request{IP: "198.51.100.200"}, t0)
	_, err := b.Add(ctx, ban)
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "at most 3 bans") {
		t.Fatalf("fourth add: got %v, want ErrFull saying at most 3 bans", err)
	}
	if _, ok := b.Match(netip.MustParseAddr("198.51.100.200")); ok {
		t.Error("the refused ban matches")
	}
	if err := b.Remove(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(ctx, ban); err != nil {
		t.Errorf("add after a removal: got %v, want room for it", err)
	}
	if got := New(&MemoryStore{}, Options{}).opts.Max; got != DefaultMax {
		t.Errorf("default cap: got %d, want %d", got, DefaultMax)
	}
}

// Adds, removals and refreshes while requests are checked: run with -race.
func TestConcurrentChangesAndChecks(t *testing.T) {
	ctx := context.Background()
	b := New(&MemoryStore{}, Options{})
	stable := add(t, b, Request{Prefix: "203.0.113.0/24"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var misses atomic.Int64
	for range 2 {
		wg.Go(func() {
			ip := netip.MustParseAddr("203.0.113.77")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got, ok := b.Match(ip, "a1b2c3d4e5f60718"); !ok || got.ID != stable.ID {
					misses.Add(1)
				}
				b.Match(netip.MustParseAddr("198.51.100.1"), "00000000")
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.Refresh(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 1500 { // past one chunk of slots
		req := Request{IP: fmt.Sprintf("198.51.%d.%d", i/256, i%256)}
		if i%2 == 1 {
			req = Request{Prefix: fmt.Sprintf("10.%d.0.0/%d", i%256, 16+i%9)}
		}
		ban := add(t, b, req)
		if i%3 == 0 {
			if err := b.Remove(ctx, ban.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if n := misses.Load(); n != 0 {
		t.Errorf("the stable ban failed to match %d times during changes, want 0", n)
	}
	list, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 1500 - 500; len(list) != want || b.Len() != want {
		t.Errorf("got %d bans listed, Len %d; want %d", len(list), b.Len(), want)
	}
}

// Run reads the whole store, whatever its version, a minute after a read
// when a ban has expired since, and ten minutes after one regardless.
func TestSweepDue(t *testing.T) {
	c := &clock{t0}
	b := New(&MemoryStore{}, Options{Now: c.now})
	if err := b.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		add     Request
		due     bool
	}{
		{due: false},
		{advance: time.Minute, due: false}, // nothing has expired
		{add: Request{IP: "198.51.100.7", Duration: "90s"}, due: false},
		{advance: 80 * time.Second, due: false}, // it ends in 10s
		{advance: 10 * time.Second, due: true},  // it has ended
		{advance: 10 * time.Minute, due: true},
	}
	for i, s := range steps {
		c.t = c.t.Add(s.advance)
		if s.add != (Request{}) {
			add(t, b, s.add)
		}
		if got := b.sweepDue(); got != s.due {
			t.Errorf("step %d (at +%v): got due %v, want %v", i, c.t.Sub(t0), got, s.due)
		}
	}
	// What Run does; the read resets the clock.
	expired, err := b.reload(context.Background(), b.sweepDue())
	if err != nil || len(expired) != 1 {
		t.Fatalf("got %v, %v; want the expired ban", expired, err)
	}
	b.drop(context.Background(), expired)
	c.t = c.t.Add(9 * time.Minute)
	if b.sweepDue() {
		t.Error("9 minutes after a full read with nothing expired: got due, want not")
	}
}

// RedisStore.All pages through the hash: more bans than one HSCAN call
// returns all arrive, once each.
func TestRedisAllPages(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	store := NewRedisStore(srv.Client(), "smartdocs:bans")
	const n = 2*scanCount + 500
	pipe := srv.Client().Pipeline()
	for i := range n {
		ban, _ := Parse(Request{IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String()}, t0)
		ban.ID = fmt.Sprintf("%016x", i)
		v, _ := json.Marshal(ban)
		pipe.HSet(ctx, "smartdocs:bans", ban.ID, v)
	}
	pipe.HSet(ctx, "smartdocs:bans", "not-a-ban", "{}")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := store.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, b := range all {
		ids[b.ID] = true
	}
	if len(all) != n || len(ids) != n {
		t.Errorf("got %d bans (%d distinct), want %d", len(all), len(ids), n)
	}
}
