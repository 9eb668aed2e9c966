package analytics

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// splitmix is a deterministic, well-mixed hash of i, so the sketch's
// error in these tests is the same on every run.
func splitmix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func TestSketch(t *testing.T) {
	for _, n := range []int{0, 1, 10, 1000, 20_000, 100_000, 1_000_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newSketch()
			for i := range n {
				s.Add(splitmix(uint64(i)))
				s.Add(splitmix(uint64(i))) // repeats do not count
			}
			got := s.Count()
			// 0.81% standard error: allow 2.5%, three standard errors.
			if diff := math.Abs(float64(got) - float64(n)); diff > 0.025*float64(n)+0.5 {
				t.Errorf("got %d, want %d ± 2.5%%", got, n)
			}
		})
	}
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)} }
func ev(key, ip, sess, ua string) Event {
	return Event{Key: key, IPKey: ip, Session: sess, Agent: ua, Allowed: true}
}
func refused(key, ip, sess, ua string) Event {
	e := ev(key, ip, sess, ua)
	e.Allowed = false
	return e
}

func report(t *testing.T, a *Analytics) Report {
	t.Helper()
	rep, err := a.Report(t.Context())
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	return rep
}

func TestCollisionRate(t *testing.T) {
	type step struct {
		advance time.Duration
		events  []Event
		want    Collision
	}
	steps := []step{
		{events: []Event{ev("k1", "i1", "s1", "ua"), ev("k1", "i1", "s2", "ua"), ev("k2", "i2", "s3", "ua"), ev("k2", "i2", "s3", "ua"), ev("k3", "i3", "", "curl")},
			want: Collision{Keys: 3, WithSession: 2, Shared: 1, Rate: 0.5, SampleRate: 1}},
		// 59 minutes on, k2 comes back with a second session.
		{advance: 59 * time.Minute, events: []Event{ev("k2", "i2", "s4", "ua")},
			want: Collision{Keys: 3, WithSession: 2, Shared: 2, Rate: 1, SampleRate: 1}},
		// Another 2 minutes: k1's and k3's requests are over an hour old;
		// k2's s3 is too, so k2 now had one session in the last hour.
		{advance: 2 * time.Minute,
			want: Collision{Keys: 1, WithSession: 1, Shared: 0, Rate: 0, SampleRate: 1}},
		{advance: 2 * time.Hour, want: Collision{SampleRate: 1}},
	}
	c := newClock()
	a := New(Options{Now: c.now})
	for i, s := range steps {
		c.add(s.advance)
		for _, e := range s.events {
			a.Record(e)
		}
		if got := report(t, a).Collision; got != s.want {
			t.Errorf("step %d: got %+v, want %+v", i, got, s.want)
		}
	}
}

// With far more keys than SampleKeys, memory stays bounded and the rate is
// estimated from a uniform sample.
func TestCollisionSampleIsBounded(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now, SampleKeys: 256})
	const n = 20_000
	for i := range n {
		k := fmt.Sprintf("key%d", i)
		a.Record(ev(k, "", "a", ""))
		if i%4 == 0 {
			a.Record(ev(k, "", "b", ""))
		}
	}
	if len(a.keys.keys) > 256 {
		t.Errorf("sample holds %d keys, want at most 256", len(a.keys.keys))
	}
	got := report(t, a).Collision
	if got.SampleRate >= 1 {
		t.Errorf("sample rate %v, want below 1", got.SampleRate)
	}
	if math.Abs(got.Rate-0.25) > 0.1 {
		t.Errorf("rate %.3f, want 0.25 ± 0.1", got.Rate)
	}
	if got.Keys < n/2 || got.Keys > n*2 {
		t.Errorf("estimated keys %d, want about %d", got.Keys, n)
	}
}

func TestUniqueClientsInMemory(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now})
	for i := range 1000 {
		a.Record(ev(fmt.Sprintf("k%d", i), "", "", ""))
	}
	if got := report(t, a).Unique; !near(got.ThisHour, 1000) || !near(got.Today, 1000) || got.LastHour != 0 {
		t.Errorf("got %+v, want about 1000 this hour and today, 0 last hour", got)
	}
	c.add(time.Hour)
	for i := range 500 {
		a.Record(ev(fmt.Sprintf("k%d", i), "", "", ""))
	}
	if got := report(t, a).Unique; !near(got.ThisHour, 500) || !near(got.LastHour, 1000) || !near(got.Today, 1000) {
		t.Errorf("got %+v, want about 500 this hour, 1000 last hour and 1000 today", got)
	}
	c.add(24 * time.Hour)
	if got := report(t, a).Unique; got.ThisHour != 0 || got.Today != 0 || !near(got.Yesterday, 1000) {
		t.Errorf("got %+v, want 0 this hour and today, about 1000 yesterday", got)
	}
}

func near(got uint64, want float64) bool { return math.Abs(float64(got)-want) <= 0.03*want }

func TestPerMinute(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now})
	a.Record(ev("k", "", "", ""))
	a.Record(refused("k", "", "", ""))
	c.add(time.Minute)
	a.Record(ev("k", "", "", ""))
	rep := report(t, a)
	if len(rep.Minutes) != 60 {
		t.Fatalf("got %d minutes, want 60", len(rep.Minutes))
	}
	last, prev := rep.Minutes[59], rep.Minutes[58]
	if last.Allowed != 1 || last.Limited != 0 || prev.Allowed != 1 || prev.Limited != 1 {
		t.Errorf("got last %+v, previous %+v; want 1/0 and 1/1", last, prev)
	}
	if !last.Start.Equal(time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)) {
		t.Errorf("last minute starts %v, want 12:01", last.Start)
	}
	if rep.Allowed != 2 || rep.Limited != 1 {
		t.Errorf("got %d allowed, %d limited in the hour; want 2, 1", rep.Allowed, rep.Limited)
	}
	c.add(time.Hour)
	if rep := report(t, a); rep.Allowed != 0 || rep.Limited != 0 {
		t.Errorf("an hour later: got %d allowed, %d limited; want 0, 0", rep.Allowed, rep.Limited)
	}
}

func TestBypassSuspects(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now})
	for i := range 10 { // one address, ten browsers
		a.Record(ev(fmt.Sprintf("rot%d", i), "rotator", "s", fmt.Sprintf("UA %d", i)))
	}
	for i := range 20 { // one address, twenty sessions
		a.Record(refused("k", "churner", fmt.Sprintf("s%d", i), "UA"))
	}
	for i := range 3 { // a household
		a.Record(ev(fmt.Sprintf("h%d", i), "home", fmt.Sprintf("s%d", i), fmt.Sprintf("UA %d", i)))
	}
	got := report(t, a).Suspects
	want := []Suspect{
		{IPKey: "churner", Agents: 1, Sessions: 20, Requests: 20, Refusals: 20},
		{IPKey: "rotator", Agents: 10, Sessions: 1, Requests: 10},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	c.add(time.Hour)
	if got := report(t, a).Suspects; len(got) != 0 {
		t.Errorf("an hour later: got %+v, want none", got)
	}
}

func TestTopOffenders(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now})
	for i := range 12 {
		key := fmt.Sprintf("k%02d", i)
		a.Record(ev(key, "", "", ""))
		for range i {
			a.Record(refused(key, "", "", ""))
		}
	}
	got := report(t, a).Offenders
	if len(got) != topN {
		t.Fatalf("got %d offenders, want %d", len(got), topN)
	}
	if got[0] != (Offense{Key: "k11", Refusals: 11}) || got[9].Key != "k02" {
		t.Errorf("got %+v, want k11 (11 refusals) first and k02 last", got)
	}
	// Half an hour into the next hour, last hour's refusals count half.
	c.add(time.Hour)
	c.t = c.t.Truncate(time.Hour).Add(30 * time.Minute)
	a.Record(refused("k11", "", "", ""))
	if got := report(t, a).Offenders[0]; got.Key != "k11" || got.Refusals != 1+6 {
		t.Errorf("got %+v, want k11 with 1 + 11/2 ≈ 7 refusals", got)
	}
}

func TestTrackingIsBounded(t *testing.T) {
	c := newClock()
	a := New(Options{Now: c.now, MaxTracked: 100})
	for i := range 5000 {
		k := fmt.Sprint(i)
		a.Record(refused(k, k, k, k))
	}
	if len(a.ips) > 100 || len(a.refused) > 100 {
		t.Errorf("tracking %d addresses and %d keys, want at most 100 each", len(a.ips), len(a.refused))
	}
}

// Two instances sharing one Redis report the same unique clients and the
// sum of their minute counts.
func TestRedisIsShared(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newClock()
	one := New(Options{Redis: srv.Client(), Now: c.now})
	two := New(Options{Redis: srv.Client(), Now: c.now})
	for i := range 300 {
		one.Record(ev(fmt.Sprintf("k%d", i), "", "", ""))
		two.Record(refused(fmt.Sprintf("k%d", i+100), "", "", "")) // 200 new, 100 shared
	}
	ctx := context.Background()
	if err := two.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Analytics{one, two} {
		rep := report(t, a)
		if rep.Store != "redis" || !near(rep.Unique.ThisHour, 400) || !near(rep.Unique.Today, 400) {
			t.Errorf("got store %q, unique %+v; want redis and about 400 this hour and today", rep.Store, rep.Unique)
		}
		if rep.Allowed != 300 || rep.Limited != 300 {
			t.Errorf("got %d allowed, %d limited; want 300, 300", rep.Allowed, rep.Limited)
		}
	}
	c.add(time.Hour)
	if rep := report(t, one); rep.Unique.ThisHour != 0 || !near(rep.Unique.LastHour, 400) {
		t.Errorf("an hour later got %+v, want 0 this hour and about 400 last hour", rep.Unique)
	}
}

// A flush that fails keeps its counts for the next one.
func TestRedisFlushRetries(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newClock()
	a := New(Options{Redis: srv.Client(), Now: c.now})
	a.Record(ev("k", "", "", ""))
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err == nil {
		t.Fatal("flush to a stopped Redis: got nil error")
	}
	srv.Restart()
	if rep := report(t, a); rep.Allowed != 1 || rep.Unique.ThisHour != 1 {
		t.Errorf("after the retry got %d allowed, %d unique; want 1, 1", rep.Allowed, rep.Unique.ThisHour)
	}
}

// BenchmarkRecord is the cost analytics adds to each rate-limited request
// (memory mode; in Redis mode the shared part waits for the next flush).
func BenchmarkRecord(b *testing.B) {
	a := New(Options{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("%016x", splitmix(uint64(i)))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		a.Record(Event{Key: k, IPKey: k[:8], Session: k[4:], Agent: "Mozilla/5.0", Allowed: i%4 != 0})
		i++
	}
}
