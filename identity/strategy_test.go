package identity

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// resolved returns r as Resolver.Middleware would pass it on.
func resolved(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	rs := mustResolver(t, ResolverOptions{Trusted: DefaultTrusted()})
	return withResolution(r, rs.Resolve(r))
}

func clientKey(t testing.TB, k *Keys, r *http.Request) string {
	t.Helper()
	key, err := k.Client(resolved(t, r))
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return key
}

// TestStrategiesTellApart lists, for each strategy, which changes to a
// request give it another key.
func TestStrategiesTellApart(t *testing.T) {
	base := []string{
		"X-Forwarded-For: 198.51.100.7",
		"User-Agent: Firefox/128",
		"Accept-Language: en-GB",
		"Accept-Encoding: gzip",
		"X-Session-ID: 0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11",
	}
	with := func(name, value string) []string {
		out := make([]string, 0, len(base))
		replaced := false
		for _, h := range base {
			if strings.HasPrefix(h, name+": ") {
				if value != "" {
					out = append(out, name+": "+value)
				}
				replaced = true
				continue
			}
			out = append(out, h)
		}
		if !replaced {
			out = append(out, name+": "+value)
		}
		return out
	}
	changes := []struct {
		name    string
		headers []string
	}{
		{"same request", base},
		{"other address", with("X-Forwarded-For", "198.51.100.8")},
		{"other address in the same IPv6 /64", nil},
		{"other User-Agent", with("User-Agent", "Chrome/126")},
		{"other Accept-Language", with("Accept-Language", "de-DE")},
		{"other Accept-Encoding", with("Accept-Encoding", "br")},
		{"other session id", with("X-Session-ID", "5d1c2a4e-8a4f-4b7a-bf8e-2d1f9e3c7a60")},
		{"same session id in upper case", with("X-Session-ID", "0B7F3F0E-3C2F-4D8E-9A55-0C4A4B9C2F11")},
		{"invalid session id", with("X-Session-ID", "not valid!")},
		{"other User-Agent beyond 512 bytes", nil},
	}
	// For each strategy, the changes that give a new key.
	want := map[string][]string{
		"ip":          {"other address"},
		"session":     {"other address", "other User-Agent"},
		"fingerprint": {"other address", "other User-Agent", "other Accept-Language", "other Accept-Encoding"},
		// An invalid id falls back to the fingerprint: another key.
		"client-id": {"other address", "other session id", "invalid session id"},
	}
	long := strings.Repeat("a", 600)
	for name, newKey := range want {
		t.Run(name, func(t *testing.T) {
			s, err := ParseStrategy(name)
			if err != nil {
				t.Fatal(err)
			}
			k := NewKeys(NewHasher([]byte("test secret")), s)
			ref := clientKey(t, k, request("127.0.0.1:1", base...))
			for _, c := range changes {
				h := c.headers
				switch c.name {
				case "other address in the same IPv6 /64":
					refV6 := clientKey(t, k, request("127.0.0.1:1", with("X-Forwarded-For", "2001:db8:1:2::1")...))
					if got := clientKey(t, k, request("127.0.0.1:1", with("X-Forwarded-For", "2001:db8:1:2:ffff::9")...)); got != refV6 {
						t.Errorf("%s: got a new key, want the same", c.name)
					}
					continue
				case "other User-Agent beyond 512 bytes":
					a := clientKey(t, k, request("127.0.0.1:1", with("User-Agent", long+"x")...))
					b := clientKey(t, k, request("127.0.0.1:1", with("User-Agent", long+"y")...))
					if a != b {
						t.Errorf("%s: got a new key, want the same", c.name)
					}
					continue
				}
				got := clientKey(t, k, request("127.0.0.1:1", h...)) != ref
				wantNew := false
				for _, n := range newKey {
					wantNew = wantNew || n == c.name
				}
				if got != wantNew {
					t.Errorf("%s: new key %v, want %v", c.name, got, wantNew)
				}
			}
		})
	}
}

func TestKeyShape(t *testing.T) {
	h := NewHasher([]byte("test secret"))
	k := NewKeys(h, BySession)
	r := resolved(t, request("127.0.0.1:1", "X-Forwarded-For: 198.51.100.7", "User-Agent: Firefox/128"))
	key, err := k.Client(r)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := k.IP(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 34 || !strings.HasPrefix(key, ip) {
		t.Errorf("got key %q and IP key %q, want 34 characters sharing the IP key's tag", key, ip)
	}
	for _, leak := range []string{"198.51.100.7", "Firefox"} {
		if strings.Contains(key, leak) || strings.Contains(ip, leak) {
			t.Errorf("key %q or %q contains %q", key, ip, leak)
		}
	}
	if got, want := ShortKey(key), key[18:26]; got != want {
		t.Errorf("ShortKey: got %q, want %q", got, want)
	}
	if _, err := k.Client(request("127.0.0.1:1")); err != ErrNotResolved {
		t.Errorf("unresolved request: got %v, want ErrNotResolved", err)
	}
}

// TestAbsurdHeaders feeds what a server would refuse and what it would
// let through: the key stays 34 bytes and nothing panics.
func TestAbsurdHeaders(t *testing.T) {
	values := map[string]string{
		"64 KiB":             strings.Repeat("A", 64<<10),
		"control characters": "\x00\x01\x1b[31m\r\n\x7f",
		"invalid UTF-8":      "\xff\xfe\xc3\x28\xa0\xa1",
		"empty":              "",
	}
	for _, name := range []string{"ip", "session", "fingerprint", "client-id"} {
		s, _ := ParseStrategy(name)
		k := NewKeys(NewHasher(nil), s)
		for what, v := range values {
			r := request("127.0.0.1:1")
			for _, h := range []string{"User-Agent", "Accept-Language", "Accept-Encoding", "X-Session-ID", "X-Forwarded-For"} {
				r.Header.Set(h, v)
			}
			if key := clientKey(t, k, r); len(key) != 34 || !utf8.ValidString(key) {
				t.Errorf("%s, %s: got key %q, want 34 hex characters and braces", name, what, key)
			}
		}
	}
}

func TestValidSessionID(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11", "0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11", true},
		{"0B7F3F0E-3C2F-4D8E-9A55-0C4A4B9C2F11", "0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11", true},
		{"abc_DEF-123.~", "abc_DEF-123.~", true},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), "", false},
		{"", "", false},
		{"has space", "", false},
		{"slash/", "", false},
		{"quote\"", "", false},
		{"null\x00", "", false},
		{"é", "", false},
		{"\xff", "", false},
		{"0B7F3F0E-3C2F-4D8E-9A55-0C4A4B9C2F1G", "0B7F3F0E-3C2F-4D8E-9A55-0C4A4B9C2F1G", true},
	}
	for _, tt := range tests {
		got, ok := ValidSessionID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ValidSessionID(%q): got %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	r := request("127.0.0.1:1", "X-Session-ID: a", "X-Session-ID: b")
	if _, ok := SessionID(r); ok {
		t.Errorf("two X-Session-ID headers: got valid, want ignored")
	}
}

// FuzzSessionID checks the validator's contract on any input: what it
// accepts is 1 to 64 URL-safe bytes, canonical, and stays accepted.
func FuzzSessionID(f *testing.F) {
	for _, s := range []string{"0b7f3f0e-3c2f-4d8e-9a55-0c4a4b9c2f11", "0B7F3F0E-3C2F-4D8E-9A55-0C4A4B9C2F11", "abc", "", "a b", strings.Repeat("z", 65), "\xff", "undefined"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ValidSessionID(s)
		if !ok {
			if got != "" {
				t.Fatalf("rejected %q but returned %q", s, got)
			}
			return
		}
		if len(got) == 0 || len(got) > maxSessionID || len(got) != len(s) {
			t.Fatalf("accepted %q as %q: bad length", s, got)
		}
		if !strings.EqualFold(got, s) {
			t.Fatalf("accepted %q as %q: not the same id", s, got)
		}
		for _, c := range []byte(got) {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~", rune(c)) {
				t.Fatalf("accepted %q with byte %q", got, c)
			}
		}
		again, ok := ValidSessionID(got)
		if !ok || again != got {
			t.Fatalf("canonical %q is not stable: got %q %v", got, again, ok)
		}
	})
}

func TestParseStrategy(t *testing.T) {
	for _, name := range []string{"", "session", "ip", "fingerprint", "client-id", "user", " IP "} {
		if _, err := ParseStrategy(name); err != nil {
			t.Errorf("ParseStrategy(%q): %v", name, err)
		}
	}
	if _, err := ParseStrategy("cookie"); err == nil || !strings.Contains(err.Error(), Strategies) {
		t.Errorf("ParseStrategy(cookie): got %v, want an error listing %s", err, Strategies)
	}
}

func TestPlatformPreset(t *testing.T) {
	for _, name := range []string{"none", "huggingface", "railway", "render", "Render"} {
		p, err := PlatformPreset(name)
		if err != nil {
			t.Fatalf("PlatformPreset(%q): %v", name, err)
		}
		if _, err := ParseTrusted(p.Trusted); err != nil {
			t.Errorf("%s: trusted %q: %v", name, p.Trusted, err)
		}
		if _, err := NewResolver(ResolverOptions{Trusted: DefaultTrusted(), Hops: p.Hops, Header: p.Header}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := PlatformPreset("heroku"); err == nil {
		t.Errorf("PlatformPreset(heroku): got no error, want one")
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "none"},
		{map[string]string{"SPACE_ID": "user/space"}, "huggingface"},
		{map[string]string{"RAILWAY_ENVIRONMENT_ID": "x"}, "railway"},
		{map[string]string{"RAILWAY_PROJECT_ID": "x"}, "railway"},
		{map[string]string{"RENDER": "true"}, "render"},
	}
	for _, tt := range tests {
		if got := DetectPlatform(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("DetectPlatform(%v): got %s, want %s", tt.env, got, tt.want)
		}
	}
}
