package identity

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestHasher(t *testing.T) {
	a, b := NewHasher([]byte("one secret")), NewHasher([]byte("one secret"))
	if a.Sum("x", "y") != b.Sum("x", "y") {
		t.Errorf("one secret: got two sums, want one")
	}
	if a.Sum("ab", "c") == a.Sum("a", "bc") || a.Sum("abc") == a.Sum("ab", "c") {
		t.Errorf("parts that join alike: got equal sums, want different")
	}
	if NewHasher(nil).Sum("x") == NewHasher(nil).Sum("x") {
		t.Errorf("two random secrets: got one sum, want two")
	}
	if got := len(a.Sum("x")); got != 16 {
		t.Errorf("sum length: got %d, want 16", got)
	}
}

// TestHasherSwapWhileInUse replaces the secret (as the Redis secret
// arriving late does) while requests hash; -race checks the handover.
func TestHasherSwapWhileInUse(t *testing.T) {
	h := NewHasher(nil)
	k := NewKeys(h, BySession)
	r := resolved(t, request("127.0.0.1:1", "User-Agent: x"))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := 0; j < 200; j++ {
				if _, err := k.Client(r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	close(start)
	for i := 0; i < 50; i++ {
		h.SetSecret(RandomSecret())
	}
	wg.Wait()
	h.SetSecret([]byte("final"))
	if got, want := clientKey(t, k, request("127.0.0.1:1", "User-Agent: x")), clientKey(t, NewKeys(NewHasher([]byte("final")), BySession), request("127.0.0.1:1", "User-Agent: x")); got != want {
		t.Errorf("after the swap: got %s, want %s", got, want)
	}
}

// partsStrategy keys a request by its X-Part headers, in order, so that
// tests choose the parts exactly.
func partsStrategy(r *http.Request, _ string) ([]string, error) {
	return r.Header.Values("X-Part"), nil
}

func partsRequest(parts ...string) *http.Request {
	r := request("127.0.0.1:1")
	for _, p := range parts {
		r.Header.Add("X-Part", p)
	}
	return r
}

// TestKeysCacheExact checks that remembered keys are the keys: each list
// of parts is keyed twice by one Keys (the second time from its cache),
// and both must be what the Hasher and a new Keys compute, including for
// parts that join alike, parts equal to the address subject, and parts
// too long to be remembered.
func TestKeysCacheExact(t *testing.T) {
	secret := []byte("test secret")
	h := NewHasher(secret)
	k := NewKeys(h, partsStrategy)
	cases := [][]string{
		{"a", "bc"}, {"ab", "c"}, {"abc"}, {"a", "b", "c"}, {"", "abc"}, {"abc", ""},
		{""}, {"", ""}, {"127.0.0.1"}, {"127.0.0.1", "x"}, {"user:alice"},
		{strings.Repeat("a", 600), strings.Repeat("b", 600), strings.Repeat("c", 600), strings.Repeat("d", 600)},
	}
	for i := 0; i < 300; i++ {
		cases = append(cases, []string{fmt.Sprint(i % 7), fmt.Sprint(i)})
	}
	seen := make(map[string][]string)
	for round := 0; round < 2; round++ {
		for _, parts := range cases {
			want := "{" + h.Sum(parts[0]) + "}" + h.Sum(parts...)
			got := clientKey(t, k, partsRequest(parts...))
			fresh := clientKey(t, NewKeys(NewHasher(secret), partsStrategy), partsRequest(parts...))
			if got != want || fresh != want {
				t.Errorf("round %d, %q: got %s, a new Keys %s, want %s", round, parts, got, fresh, want)
			}
			if other, ok := seen[got]; ok && round == 0 {
				t.Errorf("%q and %q: got one key, want two", parts, other)
			}
			seen[got] = parts
		}
	}
	// Parts that join alike may share a slot; the entry must still tell
	// them apart.
	cur := h.cur.Load()
	clientKey(t, k, partsRequest("a", "bc"))
	if e := k.cache.slot([]string{"a", "bc"}).Load(); !e.holds(cur, []string{"a", "bc"}) || e.holds(cur, []string{"ab", "c"}) {
		t.Errorf(`entry of ["a" "bc"]: holds it %v, holds ["ab" "c"] %v; want true, false`, e.holds(cur, []string{"a", "bc"}), e.holds(cur, []string{"ab", "c"}))
	}
	// The per-IP key shares the cache entry of the subject alone.
	if got, want := mustIP(t, k, resolved(t, partsRequest("127.0.0.1"))), "{"+h.Sum("127.0.0.1")+"}"; got != want {
		t.Errorf("IP: got %s, want %s", got, want)
	}
	if _, err := k.Client(resolved(t, partsRequest())); err == nil {
		t.Errorf("no parts: got a key, want an error")
	}
}

func mustIP(t testing.TB, k *Keys, r *http.Request) string {
	t.Helper()
	key, err := k.IP(r)
	if err != nil {
		t.Fatalf("IP: %v", err)
	}
	return key
}

// TestKeysNewSecret checks that once SetSecret returns, no key computed
// under the old secret is served, though the cache held it.
func TestKeysNewSecret(t *testing.T) {
	h := NewHasher([]byte("old"))
	k := NewKeys(h, BySession)
	req := func() *http.Request { return request("127.0.0.1:1", "User-Agent: x") }
	oldClient, oldIP := clientKey(t, k, req()), mustIP(t, k, resolved(t, req()))
	h.SetSecret([]byte("new"))
	fresh := NewKeys(NewHasher([]byte("new")), BySession)
	if got, want := clientKey(t, k, req()), clientKey(t, fresh, req()); got != want || got == oldClient {
		t.Errorf("client key after SetSecret: got %s, want %s (old %s)", got, want, oldClient)
	}
	if got, want := mustIP(t, k, resolved(t, req())), mustIP(t, fresh, resolved(t, req())); got != want || got == oldIP {
		t.Errorf("IP key after SetSecret: got %s, want %s (old %s)", got, want, oldIP)
	}
	h.SetSecret([]byte("old"))
	if got := clientKey(t, k, req()); got != oldClient {
		t.Errorf("client key back under the old secret: got %s, want %s", got, oldClient)
	}
}

// TestKeysCacheBounded keys many more clients than the cache has slots,
// and parts longer than it keeps: what it holds stays within its bounds.
func TestKeysCacheBounded(t *testing.T) {
	h := NewHasher(nil)
	k := NewKeys(h, partsStrategy)
	for i := 0; i < 8*keySlots; i++ {
		clientKey(t, k, partsRequest("127.0.0.1", fmt.Sprint(i)))
	}
	huge := strings.Repeat("x", 1<<20)
	if got, want := clientKey(t, k, partsRequest(huge)), "{"+h.Sum(huge)+"}"+h.Sum(huge); got != want {
		t.Errorf("huge part: got %s, want %s", got, want)
	}
	entries, held := 0, 0
	for i := range k.cache.slots {
		e := k.cache.slots[i].Load()
		if e == nil {
			continue
		}
		entries++
		n := 0
		for _, p := range e.parts {
			n += len(p)
		}
		if n > maxCachedParts {
			t.Errorf("an entry holds %d bytes of parts, want at most %d", n, maxCachedParts)
		}
		held += n
	}
	if entries == 0 || entries > keySlots {
		t.Errorf("got %d entries, want 1 to %d", entries, keySlots)
	}
	t.Logf("%d entries hold %d bytes of parts", entries, held)
}

// TestKeysCacheHitAllocs checks that a remembered per-IP key costs no
// allocation.
func TestKeysCacheHitAllocs(t *testing.T) {
	k := NewKeys(NewHasher(nil), BySession)
	r := resolved(t, request("127.0.0.1:1", "User-Agent: x"))
	mustIP(t, k, r)
	if got := testing.AllocsPerRun(100, func() { k.IP(r) }); got != 0 {
		t.Errorf("IP from the cache: got %v allocations, want 0", got)
	}
}

// TestKeysClientOncePerRequest asks for one request's client key several
// times, as the limiter, its decision hook and the bans do: the Strategy
// runs once, without allocating again. Another Keys or a new secret works
// the key out afresh, and an error is not kept.
func TestKeysClientOncePerRequest(t *testing.T) {
	calls := 0
	counting := func(r *http.Request, subject string) ([]string, error) {
		calls++
		if r.Header.Get("Authorization") != "" {
			return nil, fmt.Errorf("bad token")
		}
		return BySession(r, subject)
	}
	h := NewHasher([]byte("one"))
	k := NewKeys(h, counting)
	r := resolved(t, request("127.0.0.1:1", "User-Agent: x"))
	first := clientKeyOf(t, k, r)
	for range 3 {
		if got := clientKeyOf(t, k, r); got != first {
			t.Fatalf("second ask: got %s, want %s", got, first)
		}
	}
	if calls != 1 {
		t.Errorf("strategy ran %d times for one request, want 1", calls)
	}
	if got := testing.AllocsPerRun(100, func() { k.Client(r) }); got != 0 {
		t.Errorf("Client asked again: got %v allocations, want 0", got)
	}
	other := NewKeys(NewHasher([]byte("two")), counting)
	if got := clientKeyOf(t, other, r); got == first || calls != 2 {
		t.Errorf("another Keys: got %s (first %s) after %d strategy calls, want a new key from a second call", got, first, calls)
	}
	h.SetSecret([]byte("three"))
	if got, want := clientKeyOf(t, k, r), clientKeyOf(t, NewKeys(NewHasher([]byte("three")), BySession), r); got != want {
		t.Errorf("after SetSecret: got %s, want %s", got, want)
	}
	bad := resolved(t, request("127.0.0.1:1", "User-Agent: x", "Authorization: Bearer x"))
	before := calls
	for range 2 {
		if _, err := k.Client(bad); err == nil {
			t.Fatal("a strategy error was lost")
		}
	}
	if calls-before != 2 {
		t.Errorf("a failing strategy ran %d times for two asks, want 2: errors are not kept", calls-before)
	}
}

func clientKeyOf(t *testing.T, k *Keys, r *http.Request) string {
	t.Helper()
	key, err := k.Client(r)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return key
}

// TestKeysConcurrent keys the same and different clients from many
// goroutines at once; every key must be the one a new Keys computes, and
// -race checks the table.
func TestKeysConcurrent(t *testing.T) {
	secret := []byte("test secret")
	k := NewKeys(NewHasher(secret), BySession)
	const clients = 16
	reqs := make([]*http.Request, clients)
	want := make([]string, clients)
	for i := range reqs {
		reqs[i] = resolved(t, request(fmt.Sprintf("127.0.0.%d:1", i%4), fmt.Sprintf("User-Agent: ua %d", i)))
		want[i], _ = NewKeys(NewHasher(secret), BySession).Client(reqs[i])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				i := 0 // half the goroutines flood one client
				if g%2 == 1 {
					i = (g + j) % clients
				}
				got, err := k.Client(reqs[i])
				if err != nil || got != want[i] {
					t.Errorf("client %d: got %s %v, want %s", i, got, err, want[i])
					return
				}
				if _, err := k.IP(reqs[i]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkClientKey(b *testing.B) {
	for _, name := range []string{"ip", "session", "fingerprint", "client-id"} {
		b.Run(name, func(b *testing.B) {
			s, _ := ParseStrategy(name)
			k := NewKeys(NewHasher(nil), s)
			r := resolved(b, request("10.0.0.2:1", "X-Forwarded-For: 198.51.100.7", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
				"Accept-Language: en-US,en;q=0.5", "Accept-Encoding: gzip, deflate, br", "X-Session-ID: 0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11"))
			b.ReportAllocs()
			for b.Loop() {
				k.Client(r)
			}
		})
	}
}

func BenchmarkResolve(b *testing.B) {
	rs := mustResolver(b, ResolverOptions{Trusted: DefaultTrusted()})
	for _, tt := range []struct {
		name string
		r    *http.Request
	}{
		{"no header", request("203.0.113.9:1")},
		{"three hops", request("10.0.0.2:1", "X-Forwarded-For: 6.6.6.6, 198.51.100.1, 10.0.0.3")},
		{"10,000 entries", request("10.0.0.2:1", "X-Forwarded-For: "+chainOf("6.6.6.6", 10000)+", 198.51.100.1")},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs.Resolve(tt.r)
			}
		})
	}
}

// BenchmarkMiddlewareKeys runs what a rate-limited request costs in this
// package: Middleware, then the per-client and per-IP keys. A repeated
// client is a flood from one client; a rotating User-Agent is a client
// minting a new key every request from one address.
func BenchmarkMiddlewareKeys(b *testing.B) {
	rs := mustResolver(b, ResolverOptions{Trusted: DefaultTrusted()})
	k := NewKeys(NewHasher(nil), BySession)
	h := rs.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := k.Client(r); err != nil {
			b.Fatal(err)
		}
		if _, err := k.IP(r); err != nil {
			b.Fatal(err)
		}
	}))
	const ua = "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	rotating := make([]*http.Request, 16*keySlots)
	for i := range rotating {
		rotating[i] = request("10.0.0.2:1", "X-Forwarded-For: 198.51.100.7", fmt.Sprintf("%s %d", ua, i))
	}
	for _, tt := range []struct {
		name string
		reqs []*http.Request
	}{
		{"repeated client", []*http.Request{request("10.0.0.2:1", "X-Forwarded-For: 198.51.100.7", ua)}},
		{"rotating user-agent", rotating},
	} {
		b.Run(tt.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.ServeHTTP(w, tt.reqs[i%len(tt.reqs)])
				i++
			}
		})
	}
}
