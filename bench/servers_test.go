package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler times one request through each in-memory variant's
// handler, without sockets or wrk: what the limiter adds to a request in
// CPU and allocations, beside bare chi.
//
//	go test -run '^$' -bench Handler -benchmem ./bench/
func BenchmarkHandler(b *testing.B) {
	for _, p := range paths {
		for _, v := range variants {
			if v.redis {
				continue
			}
			b.Run(string(p)+"/"+v.name, func(b *testing.B) {
				d, err := newDeps("")
				if err != nil {
					b.Fatal(err)
				}
				h := http.Handler(trivial)
				if v.name != "bare-chi" || p == rejected {
					built, release, _, err := v.build(context.Background(), d)
					if err != nil {
						b.Fatal(err)
					}
					defer release()
					h = built
				}
				h = router(h)
				body := `{"question":"How does the rate limiter work?"}`
				r := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(body))
				r.RemoteAddr = "127.0.0.1:40000"
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("User-Agent", "wrk")
				w := discard{h: http.Header{}}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if p == allowed {
						// A new client each time, as wrk's script sends.
						i++
						r.Header["X-Forwarded-For"] = []string{"203.0." + itoa(i>>8&255) + "." + itoa(i&255)}
					}
					clear(w.h)
					h.ServeHTTP(w, r)
				}
			})
		}
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// discard is a ResponseWriter that keeps nothing but a header map.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
