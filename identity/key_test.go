package identity

import (
	"net/http"
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
