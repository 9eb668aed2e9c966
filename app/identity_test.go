package app

// Client identity through the real router on loopback: forged headers buy
// nothing, rotations are bounded by the per-IP ceiling, the guide's
// scenarios measured per strategy, tokens and tiers, /whoami, and keys
// that agree across instances only when they should.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// identHeaders builds a header from "Name: value" strings; repeated names
// add values.
func identHeaders(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		h.Add(k, v)
	}
	return h
}

// identAsk posts one question with h and returns the response, its body
// read.
func identAsk(srv *httptest.Server, h http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/chat", strings.NewReader(`{"question": "what is a sliding window?"}`))
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// identStatus posts one question and returns the status.
func identStatus(t *testing.T, srv *httptest.Server, h http.Header) int {
	t.Helper()
	resp, _, err := identAsk(srv, h)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// identBurst sends n questions at once: n goroutines wait on one start
// channel, request i carries headers(i). It returns how many were
// admitted; any status other than 200 or 429 fails the test.
func identBurst(t *testing.T, srv *httptest.Server, n int, headers func(i int) http.Header) int {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := 0; i < n; i++ {
		h := headers(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, _, err := identAsk(srv, h)
			if err != nil {
				t.Error(err)
				return
			}
			switch resp.StatusCode {
			case http.StatusOK:
				mu.Lock()
				admitted++
				mu.Unlock()
			case http.StatusTooManyRequests:
			default:
				t.Errorf("status %d, want 200 or 429", resp.StatusCode)
			}
		}()
	}
	close(start)
	wg.Wait()
	return admitted
}

// identWhoami asks GET /whoami with h.
func identWhoami(t *testing.T, srv *httptest.Server, h http.Header) whoamiReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/whoami", nil)
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/whoami: status %d (%s), want 200", resp.StatusCode, b)
	}
	var w whoamiReply
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		t.Fatalf("/whoami: %v", err)
	}
	return w
}

// identAddrs returns n distinct random IPv4 addresses outside the
// trusted ranges, the same on every run.
func identAddrs(n int) []string {
	rnd := rand.New(rand.NewPCG(4, 1000))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		a := fmt.Sprintf("%d.%d.%d.%d", 11+rnd.IntN(150), rnd.IntN(256), rnd.IntN(256), 1+rnd.IntN(254))
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

const identUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func TestForgedForwardedForFromUntrustedPeerGainsNothing(t *testing.T) {
	// With no trusted proxy, the loopback test client is a client on the
	// open internet, and every X-Forwarded-For it sends is a lie.
	srv, logs := newLoggedServer(t, map[string]string{"TRUSTED_PROXIES": "none"})
	forged := identAddrs(1000)
	admitted := identBurst(t, srv, len(forged), func(i int) http.Header {
		return identHeaders("User-Agent: "+identUA, "X-Forwarded-For: "+forged[i])
	})
	if admitted != 3 {
		t.Errorf("1,000 forged X-Forwarded-For values: admitted %d, want 3", admitted)
	}
	w := identWhoami(t, srv, identHeaders("X-Forwarded-For: 6.6.6.6"))
	if w.ClientIP != "127.0.0.1" || w.Rule != "peer (untrusted, header ignored)" || len(w.Chain) != 0 {
		t.Errorf("/whoami: got %+v, want the peer, header ignored", w)
	}
	if n := strings.Count(logs.String(), "not a trusted proxy"); n != 1 {
		t.Errorf("warnings about X-Forwarded-For from an untrusted peer: got %d, want 1", n)
	}
}

func TestNoWarningWithoutForwardedFor(t *testing.T) {
	srv, logs := newLoggedServer(t, map[string]string{"TRUSTED_PROXIES": "none"})
	identStatus(t, srv, identHeaders("User-Agent: "+identUA))
	identWhoami(t, srv, nil)
	if strings.Contains(logs.String(), "not a trusted proxy") {
		t.Errorf("got a warning without any X-Forwarded-For")
	}
}

// TestTrustedProxyChains sends the chains a trusted proxy (loopback, by
// default) could pass on. Each resolves to the client or to the peer;
// never to 6.6.6.6, the value the client forged.
func TestTrustedProxyChains(t *testing.T) {
	srv, _ := newLoggedServer(t, nil)
	const forged = "6.6.6.6"
	many := func(entry string, n int) string { return strings.TrimSuffix(strings.Repeat(entry+", ", n), ", ") }
	tests := []struct {
		name     string
		headers  http.Header
		wantIP   string
		wantRule string
	}{
		{"forged entry, then the client", identHeaders("X-Forwarded-For: 6.6.6.6, 198.51.100.1"), "198.51.100.1", "x-forwarded-for"},
		{"garbage, then the client", identHeaders("X-Forwarded-For: <script>alert(1)</script>, unknown, ;;, 198.51.100.1"), "198.51.100.1", "x-forwarded-for"},
		{"client, then garbage", identHeaders("X-Forwarded-For: 6.6.6.6, 198.51.100.1, garbage"), "127.0.0.1", "peer (bad chain)"},
		{"duplicate headers", identHeaders("X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 198.51.100.1"), "198.51.100.1", "x-forwarded-for"},
		{"duplicate headers, forged private hop", identHeaders("X-Forwarded-For: 6.6.6.6, 10.0.0.1", "X-Forwarded-For: 198.51.100.1, 10.0.0.2"), "198.51.100.1", "x-forwarded-for"},
		{"IPv4-mapped IPv6", identHeaders("X-Forwarded-For: 6.6.6.6, ::ffff:198.51.100.1"), "198.51.100.1", "x-forwarded-for"},
		{"IPv4-mapped private address is a trusted hop", identHeaders("X-Forwarded-For: 6.6.6.6, 198.51.100.1, ::ffff:192.168.1.1"), "198.51.100.1", "x-forwarded-for"},
		{"zone", identHeaders("X-Forwarded-For: 6.6.6.6, 2001:db8::1%eth0"), "2001:db8::1", "x-forwarded-for"},
		{"zone on IPv4", identHeaders("X-Forwarded-For: 198.51.100.1%25eth0"), "127.0.0.1", "peer (bad chain)"},
		{"port", identHeaders("X-Forwarded-For: 6.6.6.6, [2001:db8::1]:4711"), "2001:db8::1", "x-forwarded-for"},
		{"only trusted hops", identHeaders("X-Forwarded-For: 10.6.6.6, 192.168.0.1"), "127.0.0.1", "peer (every hop trusted)"},
		{"10,000 forged entries, then the client", identHeaders("X-Forwarded-For: " + many(forged, 10000) + ", 198.51.100.1"), "198.51.100.1", "x-forwarded-for"},
		{"10,000 trusted entries", identHeaders("X-Forwarded-For: " + many("10.0.0.1", 10000)), "127.0.0.1", "peer (bad chain)"},
		{"the client, then 10,000 trusted entries", identHeaders("X-Forwarded-For: 198.51.100.1, " + many("10.0.0.1", 10000)), "127.0.0.1", "peer (bad chain)"},
		{"10,000 headers", func() http.Header {
			h := http.Header{"X-Forwarded-For": make([]string, 0, 10001)}
			for i := 0; i < 10000; i++ {
				h["X-Forwarded-For"] = append(h["X-Forwarded-For"], forged)
			}
			h["X-Forwarded-For"] = append(h["X-Forwarded-For"], "198.51.100.1")
			return h
		}(), "198.51.100.1", "x-forwarded-for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := identWhoami(t, srv, tt.headers)
			if w.ClientIP == forged {
				t.Fatalf("resolved to the forged %s", forged)
			}
			if w.ClientIP != tt.wantIP || w.Rule != tt.wantRule {
				t.Errorf("got %s (%s), want %s (%s)", w.ClientIP, w.Rule, tt.wantIP, tt.wantRule)
			}
			if w.Peer != "127.0.0.1" {
				t.Errorf("peer: got %s, want 127.0.0.1", w.Peer)
			}
		})
	}

	t.Run("1,000 forged entries in front of one client", func(t *testing.T) {
		forged := identAddrs(1000)
		admitted := identBurst(t, srv, len(forged), func(i int) http.Header {
			return identHeaders("User-Agent: "+identUA, "X-Forwarded-For: "+forged[i]+", 198.51.100.99")
		})
		if admitted != 3 {
			t.Errorf("admitted %d, want 3", admitted)
		}
	})
}

// TestRotationBoundedByPerIPCeiling rotates one header 1,000 times from
// one address, all at once. Each value is a new client under the
// strategies that read it; the per-IP ceiling (60/minute) is what bounds
// the total, instead of 3 x 1,000.
func TestRotationBoundedByPerIPCeiling(t *testing.T) {
	tests := []struct {
		strategy string
		header   string
		perIP    string
		want     int
	}{
		{"session", "User-Agent", "60/minute", 60},
		{"fingerprint", "Accept-Language", "60/minute", 60},
		{"client-id", "X-Session-ID", "60/minute", 60},
		{"client-id", "User-Agent", "60/minute", 60},
		{"ip", "User-Agent", "60/minute", 3},
		// What the ceiling prevents: every rotation a fresh quota.
		{"session", "User-Agent", "off", 1000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s rotating %s, per-IP %s", tt.strategy, tt.header, tt.perIP), func(t *testing.T) {
			// The sliding log counts exactly: the default sliding window
			// estimates the previous window's share, and a burst that
			// crosses a minute boundary may get one or two more.
			srv, _ := newLoggedServer(t, map[string]string{"RATE_LIMIT_KEY": tt.strategy, "RATE_LIMIT_PER_IP": tt.perIP, "RATE_LIMIT_STRATEGY": "sliding-log"})
			admitted := identBurst(t, srv, 1000, func(i int) http.Header {
				h := identHeaders("User-Agent: "+identUA, "Accept-Language: en-US", "X-Forwarded-For: 198.51.100.20")
				h.Set(tt.header, fmt.Sprintf("rotated-%04d", i))
				return h
			})
			if admitted != tt.want {
				t.Errorf("admitted %d of 1,000, want %d", admitted, tt.want)
			}
		})
	}
}

func TestIPv6RotationInsideOne64IsOneClient(t *testing.T) {
	for _, strategy := range []string{"ip", "session"} {
		t.Run(strategy, func(t *testing.T) {
			srv, _ := newLoggedServer(t, map[string]string{"RATE_LIMIT_KEY": strategy})
			rnd := rand.New(rand.NewPCG(6, 64))
			admitted := identBurst(t, srv, 1000, func(i int) http.Header {
				a := fmt.Sprintf("2001:db8:5:6:%x:%x:%x:%x", rnd.Uint32()&0xffff, rnd.Uint32()&0xffff, rnd.Uint32()&0xffff, rnd.Uint32()&0xffff)
				return identHeaders("User-Agent: "+identUA, "X-Forwarded-For: "+a)
			})
			if admitted != 3 {
				t.Errorf("1,000 addresses in 2001:db8:5:6::/64: admitted %d, want 3", admitted)
			}
			if got := identStatus(t, srv, identHeaders("User-Agent: "+identUA, "X-Forwarded-For: 2001:db8:5:7::1")); got != http.StatusOK {
				t.Errorf("the next /64: status %d, want 200", got)
			}
		})
	}
}

// identPerson is one visitor of a scenario: where they come from and what
// their browser or app sends.
type identPerson struct {
	ip, ua, lang string
	// session is the X-Session-ID their page or app keeps; account is the
	// subject of their token under the user strategy.
	session, account string
}

func (p identPerson) headers(token string) http.Header {
	h := identHeaders("X-Forwarded-For: "+p.ip, "User-Agent: "+p.ua, "Accept-Language: "+p.lang, "Accept-Encoding: gzip, deflate, br, zstd", "X-Session-ID: "+p.session)
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// identScenarios are the guide's situations. Every person sends one
// question; under the user strategy every person is signed in.
func identScenarios() []struct {
	name   string
	people []identPerson
	want   map[string]int
} {
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	firefox := identUA
	sid := func(s string, i int) string { return fmt.Sprintf("%s-%d", s, i) }

	var coffee, office, mobile, browsers, moving []identPerson
	for i := 0; i < 3; i++ {
		coffee = append(coffee, identPerson{"198.51.100.10", chrome, "en-US,en;q=0.9", sid("c", i), fmt.Sprintf("coffee-%d", i)})
	}
	for i := 0; i < 30; i++ {
		office = append(office, identPerson{"198.51.100.20", chrome, "en-GB,en;q=0.9", sid("o", i), fmt.Sprintf("office-%d", i)})
	}
	for i := 0; i < 20; i++ {
		ua := fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_%d) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Safari/605.1.15", i/4, i)
		office = append(office, identPerson{"198.51.100.20", ua, "en-GB,en;q=0.9", sid("o", 100+i), fmt.Sprintf("office-%d", 100+i)})
	}
	for i := 0; i < 40; i++ {
		mobile = append(mobile, identPerson{"203.0.113.50", "SmartDocsApp/2.1 (Android 14; okhttp/4.12)", "en", sid("m", i), fmt.Sprintf("mobile-%d", i)})
	}
	browsers = []identPerson{
		{"198.51.100.30", chrome, "en-US,en;q=0.9", sid("b", 1), "pat"},
		{"198.51.100.30", firefox, "en-US,en;q=0.5", sid("b", 2), "pat"},
	}
	for _, ip := range []string{"198.51.100.40", "203.0.113.41", "2001:db8:41::7"} {
		moving = append(moving, identPerson{ip, "SmartDocsApp/2.1 (iOS 17)", "en", sid("p", 1), "sam"})
	}
	return []struct {
		name   string
		people []identPerson
		want   map[string]int
	}{
		{"coffee shop: 3 people, one IP, same browser", coffee,
			map[string]int{"ip": 1, "session": 1, "fingerprint": 1, "client-id": 3, "user": 3}},
		{"office: one IP, 30 identical browsers plus 20 others", office,
			map[string]int{"ip": 1, "session": 21, "fingerprint": 21, "client-id": 50, "user": 50}},
		{"mobile app: 40 people, one User-Agent behind carrier NAT", mobile,
			map[string]int{"ip": 1, "session": 1, "fingerprint": 1, "client-id": 40, "user": 40}},
		{"two browsers of one person", browsers,
			map[string]int{"ip": 1, "session": 2, "fingerprint": 2, "client-id": 2, "user": 1}},
		{"one phone moving across three networks", moving,
			map[string]int{"ip": 3, "session": 3, "fingerprint": 3, "client-id": 3, "user": 1}},
	}
}

const identJWTSecret = "scenario-secret-0123456789abcdef0123"

func identToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(identJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScenarios measures, for each strategy, how many distinct limits
// each scenario yields: with a limit of 1 per minute and no per-IP
// ceiling, every admitted question is one limit. /whoami's key prefixes
// must count the same.
func TestScenarios(t *testing.T) {
	strategies := []string{"ip", "session", "fingerprint", "client-id", "user"}
	var table strings.Builder
	fmt.Fprintf(&table, "| scenario | people | %s |\n", strings.Join(strategies, " | "))
	for _, sc := range identScenarios() {
		accounts := map[string]bool{}
		for _, p := range sc.people {
			accounts[p.account] = true
		}
		row := fmt.Sprintf("| %s | %d |", sc.name, len(accounts))
		for _, strategy := range strategies {
			t.Run(sc.name+"/"+strategy, func(t *testing.T) {
				srv, _ := newLoggedServer(t, map[string]string{
					"RATE_LIMIT": "1/minute", "RATE_LIMIT_PER_IP": "off",
					"RATE_LIMIT_KEY": strategy, "JWT_SECRET": identJWTSecret,
				})
				admitted := 0
				prefixes := map[string]bool{}
				for _, p := range sc.people {
					token := ""
					if strategy == "user" {
						token = identToken(t, jwt.MapClaims{"sub": p.account})
					}
					prefixes[identWhoami(t, srv, p.headers(token)).KeyPrefix] = true
					if identStatus(t, srv, p.headers(token)) == http.StatusOK {
						admitted++
					}
				}
				if admitted != sc.want[strategy] || len(prefixes) != admitted {
					t.Errorf("got %d limits (%d key prefixes), want %d", admitted, len(prefixes), sc.want[strategy])
				}
				row += fmt.Sprintf(" %d |", admitted)
			})
		}
		table.WriteString(row + "\n")
	}
	t.Logf("distinct limits per scenario:\n%s", table.String())
}

// TestAbsurdHeaders sends what no browser would. Nothing crashes, no
// response echoes more than a bounded slice of it, and every distinct
// value is one more client under the same per-IP ceiling.
func TestAbsurdHeaders(t *testing.T) {
	t.Run("200 distinct 64 KiB User-Agents", func(t *testing.T) {
		srv, _ := newLoggedServer(t, nil)
		admitted := identBurst(t, srv, 200, func(i int) http.Header {
			return identHeaders(fmt.Sprintf("User-Agent: %04d%s", i, strings.Repeat("A", 64<<10)))
		})
		if admitted != 60 {
			t.Errorf("admitted %d, want the per-IP ceiling of 60", admitted)
		}
	})
	t.Run("200 distinct invalid UTF-8 User-Agents", func(t *testing.T) {
		srv, _ := newLoggedServer(t, nil)
		admitted := identBurst(t, srv, 200, func(i int) http.Header {
			return identHeaders(fmt.Sprintf("User-Agent: \xff\xfe%d\xc3\x28", i), "X-Session-ID: \xff\xfe")
		})
		if admitted != 60 {
			t.Errorf("admitted %d, want the per-IP ceiling of 60", admitted)
		}
	})
	t.Run("64 KiB and invalid UTF-8 in the chain", func(t *testing.T) {
		srv, _ := newLoggedServer(t, nil)
		w := identWhoami(t, srv, identHeaders("X-Forwarded-For: 198.51.100.1, \xff"+strings.Repeat("9", 64<<10)))
		if w.ClientIP != "127.0.0.1" || w.Rule != "peer (bad chain)" {
			t.Errorf("got %s (%s), want the peer", w.ClientIP, w.Rule)
		}
		for _, c := range w.Chain {
			if len(c) > 80 {
				t.Errorf("chain echoes %d bytes, want a clipped entry", len(c))
			}
		}
	})
	t.Run("control characters", func(t *testing.T) {
		srv, _ := newLoggedServer(t, nil)
		// The client library refuses to send these, so write the bytes.
		for _, ua := range []string{"a\x00b", "a\x01b", "\x1b[31mred", "a\x7fb", "a\rb"} {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			body := `{"question": "hi"}`
			fmt.Fprintf(conn, "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nUser-Agent: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", ua, len(body), body)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("User-Agent %q: %v", ua, err)
			}
			resp.Body.Close()
			conn.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("User-Agent %q: status %d, want 400 from the HTTP server", ua, resp.StatusCode)
			}
		}
		if got := identStatus(t, srv, identHeaders("User-Agent: "+identUA)); got != http.StatusOK {
			t.Errorf("after the garbage: status %d, want 200", got)
		}
	})
}

// An answered question's log line carries the client's key prefix, the
// one GET /whoami reports, and never its address or User-Agent; its
// refusals have no line of their own.
func TestRequestLogKey(t *testing.T) {
	srv, logs := newLoggedServer(t, map[string]string{"LOG_FORMAT": "json"})
	h := identHeaders("X-Forwarded-For: 198.51.100.23", "User-Agent: "+identUA)
	prefix := identWhoami(t, srv, h).KeyPrefix
	for range 5 { // three answers, two refusals
		identStatus(t, srv, h)
	}
	var chats, keyed int
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, `"route":"/chat"`) {
			continue
		}
		chats++
		if strings.Contains(line, `"status":200`) && strings.Contains(line, `"key":"`+prefix+`"`) {
			keyed++
		}
		if strings.Contains(line, "198.51.100.23") || strings.Contains(line, identUA) {
			t.Errorf("a request line holds the address or the User-Agent: %s", line)
		}
	}
	if chats != 3 || keyed != 3 {
		t.Errorf("got %d /chat lines, %d of them answered with key %s; want 3 and 3 (refusals summarized):\n%s", chats, keyed, prefix, logs.String())
	}
}

func TestWhoAmI(t *testing.T) {
	srv, _ := newLoggedServer(t, nil)
	h := identHeaders("X-Forwarded-For: 6.6.6.6, 198.51.100.1", "User-Agent: "+identUA)
	w := identWhoami(t, srv, h)
	want := whoamiReply{ClientIP: "198.51.100.1", Peer: "127.0.0.1", Chain: []string{"6.6.6.6", "198.51.100.1"}, Rule: "x-forwarded-for", Strategy: "session", Platform: "none", Limit: "3 per 1 minute", KeyPrefix: w.KeyPrefix}
	if fmt.Sprint(w) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", w, want)
	}
	if len(w.KeyPrefix) != 8 || strings.Trim(w.KeyPrefix, "0123456789abcdef") != "" {
		t.Errorf("key_prefix %q: want 8 hex characters", w.KeyPrefix)
	}
	if other := identWhoami(t, srv, identHeaders("X-Forwarded-For: 198.51.100.1", "User-Agent: Chrome")); other.KeyPrefix == w.KeyPrefix {
		t.Errorf("another browser got the same key prefix %s", w.KeyPrefix)
	}
	// /whoami is not limited and counts nothing.
	for i := 0; i < 10; i++ {
		identWhoami(t, srv, h)
	}
	if got := identStatus(t, srv, h); got != http.StatusOK {
		t.Errorf("chat after 11 /whoami: status %d, want 200", got)
	}
	resp, err := srv.Client().Post(srv.URL+"/whoami", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /whoami: status %d, want 405", resp.StatusCode)
	}
}

func TestUserStrategyAndTiers(t *testing.T) {
	srv, _ := newLoggedServer(t, map[string]string{
		"RATE_LIMIT_KEY":    "user",
		"JWT_SECRET":        identJWTSecret,
		"RATE_LIMIT":        "3/minute",
		"RATE_LIMIT_PER_IP": "4/minute",
		"RATE_LIMIT_TIERS":  "free=2/minute,pro=5/minute;100/day",
	})
	office := func(token string) http.Header {
		h := identHeaders("X-Forwarded-For: 198.51.100.60", "User-Agent: "+identUA)
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return h
	}
	count := func(t *testing.T, n int, h func(i int) http.Header) int {
		t.Helper()
		return identBurst(t, srv, n, h)
	}

	t.Run("tiers", func(t *testing.T) {
		tests := []struct {
			name   string
			claims jwt.MapClaims
			want   int
			tier   string
			limit  string
		}{
			{"free", jwt.MapClaims{"sub": "ann", "tier": "free"}, 2, "free", "2 per 1 minute"},
			{"pro, in any case", jwt.MapClaims{"sub": "bob", "tier": "PRO"}, 5, "pro", "5 per 1 minute;100 per 1 day"},
			{"unknown tier gets the default", jwt.MapClaims{"sub": "cat", "tier": "gold"}, 3, "gold", "3 per 1 minute"},
			{"no tier gets the default", jwt.MapClaims{"sub": "dan"}, 3, "", "3 per 1 minute"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tok := identToken(t, tt.claims)
				w := identWhoami(t, srv, office(tok))
				if !w.SignedIn || w.Tier != tt.tier || w.Limit != tt.limit || w.Strategy != "user" {
					t.Errorf("/whoami: got %+v, want signed in, tier %q, limit %q", w, tt.tier, tt.limit)
				}
				if got := count(t, 50, func(int) http.Header { return office(tok) }); got != tt.want {
					t.Errorf("burst of 50: admitted %d, want %d", got, tt.want)
				}
			})
		}
	})

	t.Run("a user keeps one limit across networks", func(t *testing.T) {
		tok := identToken(t, jwt.MapClaims{"sub": "eve", "tier": "free"})
		ips := []string{"198.51.100.70", "203.0.113.70", "2001:db8:70::1"}
		got := count(t, 30, func(i int) http.Header {
			return identHeaders("X-Forwarded-For: "+ips[i%3], "User-Agent: ua-"+fmt.Sprint(i), "Authorization: Bearer "+tok)
		})
		if got != 2 {
			t.Errorf("admitted %d, want the free tier's 2", got)
		}
	})

	t.Run("signed-in users are not held to the per-IP ceiling", func(t *testing.T) {
		// Two pro users behind one address: 5 each, though the ceiling
		// for that address is 4.
		a := identToken(t, jwt.MapClaims{"sub": "fay", "tier": "pro"})
		b := identToken(t, jwt.MapClaims{"sub": "gus", "tier": "pro"})
		got := count(t, 40, func(i int) http.Header {
			tok := a
			if i%2 == 1 {
				tok = b
			}
			return identHeaders("X-Forwarded-For: 198.51.100.80", "Authorization: Bearer "+tok)
		})
		if got != 10 {
			t.Errorf("admitted %d, want 10", got)
		}
	})

	t.Run("without a token: fingerprint under the anonymous limit and the per-IP ceiling", func(t *testing.T) {
		if got := count(t, 20, func(int) http.Header { return identHeaders("X-Forwarded-For: 198.51.100.90", "User-Agent: "+identUA) }); got != 3 {
			t.Errorf("one anonymous client: admitted %d, want 3", got)
		}
		got := count(t, 200, func(i int) http.Header {
			return identHeaders("X-Forwarded-For: 198.51.100.91", fmt.Sprintf("User-Agent: rotating-%d", i))
		})
		if got != 4 {
			t.Errorf("rotating User-Agents: admitted %d, want the per-IP ceiling of 4", got)
		}
	})

	t.Run("invalid tokens are 401 and count nothing", func(t *testing.T) {
		alien, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "mallory"}).SignedString([]byte("another-secret-0123456789abcdef0123"))
		none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5In0."
		tests := []struct {
			name, header, detail string
		}{
			{"expired", "Bearer " + identToken(t, jwt.MapClaims{"sub": "hal", "exp": time.Now().Add(-time.Hour).Unix()}), "Token has expired"},
			{"not valid yet", "Bearer " + identToken(t, jwt.MapClaims{"sub": "hal", "nbf": time.Now().Add(time.Hour).Unix()}), "Token is not valid yet"},
			{"alg none", "Bearer " + none, "Invalid token"},
			{"another secret", "Bearer " + alien, "Invalid token"},
			{"garbage", "Bearer garbage", "Invalid token"},
			{"empty", "Bearer ", "Invalid token"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := identHeaders("X-Forwarded-For: 198.51.100.95", "User-Agent: "+identUA, "Authorization: "+tt.header)
				for i := 0; i < 5; i++ {
					resp, body, err := identAsk(srv, h)
					if err != nil {
						t.Fatal(err)
					}
					var got struct{ Detail string }
					json.Unmarshal(body, &got)
					if resp.StatusCode != http.StatusUnauthorized || got.Detail != tt.detail || resp.Header.Get("WWW-Authenticate") == "" {
						t.Fatalf("status %d, body %s; want 401 with detail %q and WWW-Authenticate", resp.StatusCode, body, tt.detail)
					}
				}
			})
		}
		// Thirty 401s later, the same address and browser without a
		// token still has its whole anonymous quota.
		resp, _, err := identAsk(srv, identHeaders("X-Forwarded-For: 198.51.100.95", "User-Agent: "+identUA))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "2" {
			t.Errorf("anonymous after 401s: status %d, remaining %s; want 200 with 2 left", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/whoami", nil)
		req.Header.Set("Authorization", "Bearer garbage")
		wr, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wr.Body.Close()
		if wr.StatusCode != http.StatusUnauthorized {
			t.Errorf("/whoami with a bad token: status %d, want 401", wr.StatusCode)
		}
	})

	t.Run("a default tier for signed-in users", func(t *testing.T) {
		srv2, _ := newLoggedServer(t, map[string]string{
			"RATE_LIMIT_KEY":   "user",
			"JWT_SECRET":       identJWTSecret,
			"RATE_LIMIT_TIERS": "default=4/minute,pro=6/minute",
		})
		tok := identToken(t, jwt.MapClaims{"sub": "ivy", "tier": "gold"})
		if got := identBurst(t, srv2, 20, func(int) http.Header { return office(tok) }); got != 4 {
			t.Errorf("unknown tier with a default tier: admitted %d, want 4", got)
		}
	})
}

// TestKeysAcrossInstances: instances on one Redis agree on every key with
// no configuration; processes in memory mode do not, unless they share
// RATE_LIMIT_SECRET.
func TestKeysAcrossInstances(t *testing.T) {
	client := identHeaders("X-Forwarded-For: 198.51.100.123", "User-Agent: "+identUA)

	t.Run("redis, no secret", func(t *testing.T) {
		rs := redistest.Start(t, redistest.Options{})
		vars := map[string]string{"REDIS_URL": rs.URL()}
		a, _ := newLoggedServer(t, vars)
		b, _ := newLoggedServer(t, vars)
		wa, wb := identWhoami(t, a, client), identWhoami(t, b, client)
		if wa.KeyPrefix != wb.KeyPrefix {
			t.Fatalf("key prefixes: got %s and %s, want one", wa.KeyPrefix, wb.KeyPrefix)
		}
		secret, err := rs.Client().Get(t.Context(), secretKey).Result()
		if err != nil || len(secret) != 64 {
			t.Errorf("shared secret in Redis: got %q, %v; want 64 hex characters", secret, err)
		}
		for i := 0; i < 3; i++ {
			if got := identStatus(t, a, client); got != http.StatusOK {
				t.Fatalf("request %d on instance A: status %d, want 200", i+1, got)
			}
		}
		if got := identStatus(t, b, client); got != http.StatusTooManyRequests {
			t.Errorf("4th request, on instance B: status %d, want 429", got)
		}
		// The counter in Redis is the key /whoami describes.
		keys, err := rs.Client().Keys(t.Context(), "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, k := range keys {
			found = found || strings.Contains(k, "}"+wa.KeyPrefix)
		}
		if !found {
			t.Errorf("no Redis key holds key_prefix %s: %v", wa.KeyPrefix, keys)
		}
	})

	t.Run("memory, no secret", func(t *testing.T) {
		a, _ := newLoggedServer(t, nil)
		b, _ := newLoggedServer(t, nil)
		if wa, wb := identWhoami(t, a, client), identWhoami(t, b, client); wa.KeyPrefix == wb.KeyPrefix {
			t.Errorf("key prefixes: got %s twice, want a secret per process", wa.KeyPrefix)
		}
	})

	t.Run("memory, RATE_LIMIT_SECRET", func(t *testing.T) {
		vars := map[string]string{"RATE_LIMIT_SECRET": "a shared secret of some length"}
		a, _ := newLoggedServer(t, vars)
		b, _ := newLoggedServer(t, vars)
		if wa, wb := identWhoami(t, a, client), identWhoami(t, b, client); wa.KeyPrefix != wb.KeyPrefix {
			t.Errorf("key prefixes: got %s and %s, want one", wa.KeyPrefix, wb.KeyPrefix)
		}
	})
}

// TestLimitsWithBadToken: GET /limits answers a token that cannot be
// believed the way /chat does, 401, not as a server fault.
func TestLimitsWithBadToken(t *testing.T) {
	srv, _ := newLoggedServer(t, map[string]string{"RATE_LIMIT_KEY": "user", "JWT_SECRET": identJWTSecret})
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"no token", "", http.StatusOK},
		{"garbage token", "Bearer not.a.token", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/limits", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("GET /limits: status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
