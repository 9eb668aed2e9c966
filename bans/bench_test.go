package bans

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"testing"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// filled returns Bans holding n bans of every kind, with the prefix and key
// lengths an operator would mix (/24 and /28, /48 and /64, 8 and 16
// digits): 40% IPv4 addresses, 20% IPv6 addresses, 20% ranges, 20% keys.
func filled(b *testing.B, n int) *Bans {
	b.Helper()
	ctx := context.Background()
	store := &MemoryStore{}
	for i := range n {
		var req Request
		switch i % 10 {
		case 0, 1, 2, 3:
			req.IP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		case 4, 5:
			req.IP = fmt.Sprintf("2001:db8:%x::%x", i>>16, i&0xffff)
		case 6:
			req.Prefix = fmt.Sprintf("172.%d.%d.0/%d", 16+i%16, (i>>4)&0xff, 24+4*(i/10%2))
		case 7:
			req.Prefix = fmt.Sprintf("2001:db8:%x:%x::/%d", 0x8000|i>>16, i&0xffff, 48+16*(i/10%2))
		default:
			req.Key = fmt.Sprintf("%08x", i)
			if i/10%2 == 1 {
				req.Key = fmt.Sprintf("%016x", i)
			}
		}
		ban, err := Parse(req, t0)
		if err != nil {
			b.Fatal(err)
		}
		ban.ID = fmt.Sprintf("%016x", i)
		if err := store.Put(ctx, ban); err != nil {
			b.Fatal(err)
		}
	}
	bans := New(store, Options{Max: 1 << 30})
	if err := bans.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	return bans
}

// BenchmarkMiddleware is the cost of the ban check on a request from a
// client no ban covers (the common case), with no bans, with 100 and with
// 100,000 (the same mix of lengths as 100, so the same look-ups).
// Run: go test -run '^$' -bench 'Middleware|Add' ./bans
func BenchmarkMiddleware(b *testing.B) {
	for _, n := range []int{0, 100, 100_000} {
		for _, family := range []string{"v4", "v6"} {
			b.Run(fmt.Sprintf("bans=%d/%s", n, family), func(b *testing.B) {
				bans := filled(b, n)
				ip := netip.MustParseAddr("198.51.100.7")
				if family == "v6" {
					ip = netip.MustParseAddr("2001:db8:ffff:1::7")
				}
				keys := []string{"f1e2d3c4b5a69788", "ffff0000eeee1111"}
				h := bans.Middleware(func(*http.Request) (netip.Addr, []string) { return ip, keys })(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				r := httptest.NewRequest(http.MethodPost, "/chat", nil)
				w := httptest.NewRecorder()
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, r)
				}
				if w.Code != http.StatusOK {
					b.Fatalf("got status %d, want the client let through", w.Code)
				}
			})
		}
	}
}

// BenchmarkAdd is the cost of adding one ban (kept in memory) with none
// and with 100,000 present.
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("bans=%d", n), func(b *testing.B) {
			bans := filled(b, n)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				ban, _ := Parse(Request{IP: netip.AddrFrom4([4]byte{192, byte(i >> 16), byte(i >> 8), byte(i)}).String()}, t0)
				if _, err := bans.Add(ctx, ban); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHeld reports the heap an index of 100,000 bans keeps (B/ban),
// which the garbage collector walks on every cycle; ns/op is the cost of
// building it, as a reload does.
func BenchmarkHeld(b *testing.B) {
	list := filled(b, 100_000).idx.Load().all()
	var before, after runtime.MemStats
	var x *index
	for b.Loop() {
		x = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		x = newIndex(list)
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(x.n.Load()), "B/ban")
}

// BenchmarkReloadRedis compares, with 100,000 bans in Redis, one full read
// into a new index (what an instance pays when it sweeps, or fell more
// than the log behind) with a change made on one instance and caught up
// from the log on another.
func BenchmarkReloadRedis(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	ctx := context.Background()
	store := NewRedisStore(srv.Client(), "smartdocs:bans")
	pipe := srv.Client().Pipeline()
	for _, ban := range filled(b, 100_000).idx.Load().all() {
		v, _ := json.Marshal(ban)
		pipe.HSet(ctx, "smartdocs:bans", ban.ID, v)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	bans := New(store, Options{Max: 1 << 30})
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := bans.reload(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a change costs instead: one instance adds a ban, another
	// catches up from the log.
	b.Run("add+catch-up", func(b *testing.B) {
		other := New(store, Options{Max: 1 << 30})
		i := 0
		for b.Loop() {
			i++
			ban, _ := Parse(Request{IP: netip.AddrFrom4([4]byte{192, byte(i >> 16), byte(i >> 8), byte(i)}).String()}, t0)
			if _, err := other.Add(ctx, ban); err != nil {
				b.Fatal(err)
			}
			if err := bans.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if bans.Len() != 100_000+i {
			b.Fatalf("got %d bans, want %d", bans.Len(), 100_000+i)
		}
	})
}
