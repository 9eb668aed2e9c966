package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "0123456789abcdef0123456789abcdef-test"

// testKeySet holds the keys the token tests sign with.
type testKeySet struct {
	rsa, rsa2 *rsa.PrivateKey
	// ec is configured, ecOther is not.
	ec, ecOther *ecdsa.PrivateKey
	ec384       *ecdsa.PrivateKey
	rsaSmall    *rsa.PrivateKey
}

// testKeys are generated once: RSA generation is slow under -race.
var testKeys = sync.OnceValue(func() (k testKeySet) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ecOther, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	// 1024 bits only to prove it is refused.
	if k.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	return k
})

// now is the fixed clock of the token tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func claims(sub string, extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

func pemOf(t testing.TB, k crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func newTestVerifier(t testing.TB, opts VerifierOptions) *Verifier {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	v, err := NewVerifier(opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// unsigned builds a token with any header and no signature.
func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "."
}

func TestVerify(t *testing.T) {
	k := testKeys()
	all := newTestVerifier(t, VerifierOptions{
		Secret:     []byte(testSecret),
		PublicKeys: []crypto.PublicKey{&k.rsa2.PublicKey, &k.rsa.PublicKey, &k.ec.PublicKey},
	})
	hsOnly := newTestVerifier(t, VerifierOptions{Secret: []byte(testSecret)})
	rsOnly := newTestVerifier(t, VerifierOptions{PublicKeys: []crypto.PublicKey{&k.rsa.PublicKey}})
	scoped := newTestVerifier(t, VerifierOptions{Secret: []byte(testSecret), Issuer: "https://auth.example", Audience: []string{"smartdocs"}, TierClaim: "plan"})

	valid := sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("alice", "tier", "Pro"))
	tampered := strings.Split(valid, ".")
	tampered[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","tier":"pro"}`))
	// The last signature character carries padding bits; flipping them
	// writes the same bytes another way.
	sig := valid[strings.LastIndexByte(valid, '.')+1:]
	last := sig[len(sig)-1]
	alt := strings.IndexByte("AEIMQUYcgkosw048", last)
	malleable := ""
	if alt >= 0 {
		malleable = valid[:len(valid)-1] + string("BFJNRVZdhlptx159"[alt])
	}
	rsaPEM := pemOf(t, &k.rsa.PublicKey)

	tests := []struct {
		name       string
		v          *Verifier
		token      string
		wantSub    string
		wantTier   string
		wantReason string
	}{
		{"HS256", all, valid, "alice", "pro", ""},
		{"RS256, second key of the set", all, sign(t, jwt.SigningMethodRS256, k.rsa, claims("bob")), "bob", "", ""},
		{"RS256, first key of the set", all, sign(t, jwt.SigningMethodRS256, k.rsa2, claims("bob")), "bob", "", ""},
		{"ES256", all, sign(t, jwt.SigningMethodES256, k.ec, claims("carol", "tier", "free")), "carol", "free", ""},
		{"tier not a string", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("dan", "tier", 3)), "dan", "", ""},
		{"expired", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "e", "exp": now.Add(-time.Minute).Unix()}), "", "", "Token has expired"},
		{"expired within the leeway", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "e", "exp": now.Add(-Leeway / 2).Unix()}), "e", "", ""},
		{"not valid yet", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "f", "nbf": now.Add(time.Hour).Unix()}), "", "", "Token is not valid yet"},
		{"no exp is accepted", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "g"}), "g", "", ""},
		{"no sub", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}), "", "", "Invalid token"},
		{"sub not a string", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": 42}), "", "", "Invalid token"},
		{"alg none", all, unsigned(`{"alg":"none","typ":"JWT"}`, `{"sub":"mallory"}`), "", "", "Invalid token"},
		{"alg None", all, unsigned(`{"alg":"None","typ":"JWT"}`, `{"sub":"mallory"}`), "", "", "Invalid token"},
		{"no alg", all, unsigned(`{"typ":"JWT"}`, `{"sub":"mallory"}`), "", "", "Invalid token"},
		{"algorithm confusion: HS256 keyed with the RSA public key", all, sign(t, jwt.SigningMethodHS256, rsaPEM, claims("mallory")), "", "", "Invalid token"},
		{"algorithm confusion against an RS256-only verifier", rsOnly, sign(t, jwt.SigningMethodHS256, rsaPEM, claims("mallory")), "", "", "Invalid token"},
		{"RS256 when only HS256 is configured", hsOnly, sign(t, jwt.SigningMethodRS256, k.rsa, claims("bob")), "", "", "Invalid token"},
		{"HS384 is not accepted", all, sign(t, jwt.SigningMethodHS384, []byte(testSecret), claims("h")), "", "", "Invalid token"},
		{"RS512 is not accepted", all, sign(t, jwt.SigningMethodRS512, k.rsa, claims("h")), "", "", "Invalid token"},
		{"ES256 by an unknown key", all, sign(t, jwt.SigningMethodES256, k.ecOther, claims("x")), "", "", "Invalid token"},
		{"wrong secret", all, sign(t, jwt.SigningMethodHS256, []byte(testSecret+"x"), claims("alice")), "", "", "Invalid token"},
		{"tampered payload", all, strings.Join(tampered, "."), "", "", "Invalid token"},
		{"malleable signature", all, malleable, "", "", "Invalid token"},
		{"garbage", all, "not.a.token", "", "", "Invalid token"},
		{"too long", all, valid + strings.Repeat("A", MaxToken), "", "", "Invalid token"},
		{"issuer and audience match", scoped, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("i", "iss", "https://auth.example", "aud", "smartdocs", "plan", "team")), "i", "team", ""},
		{"wrong audience", scoped, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("i", "iss", "https://auth.example", "aud", "other")), "", "", "Invalid token"},
		{"missing issuer", scoped, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("i", "aud", "smartdocs")), "", "", "Invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == "" {
				t.Skip("no malleable form of this signature")
			}
			u, err := tt.v.Verify(tt.token)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("got %v, want a valid token", err)
				}
				if u.Subject != tt.wantSub || u.Tier != tt.wantTier {
					t.Errorf("got %+v, want subject %q tier %q", u, tt.wantSub, tt.wantTier)
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("got %v (user %+v), want a *TokenError", err, u)
			}
			if te.Reason != tt.wantReason {
				t.Errorf("reason: got %q, want %q", te.Reason, tt.wantReason)
			}
		})
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	k := testKeys()
	tests := []struct {
		name string
		opts VerifierOptions
	}{
		{"no key", VerifierOptions{}},
		{"short secret", VerifierOptions{Secret: []byte("short")}},
		{"small RSA key", VerifierOptions{PublicKeys: []crypto.PublicKey{&k.rsaSmall.PublicKey}}},
		{"P-384 key", VerifierOptions{PublicKeys: []crypto.PublicKey{&k.ec384.PublicKey}}},
		{"private key", VerifierOptions{PublicKeys: []crypto.PublicKey{k.rsa}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewVerifier(tt.opts); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func TestParsePublicKeys(t *testing.T) {
	k := testKeys()
	privDER, err := x509.MarshalPKCS8PrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: now, NotAfter: now.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.ec.PublicKey, k.ec)
	if err != nil {
		t.Fatal(err)
	}
	two := append(pemOf(t, &k.rsa.PublicKey), pemOf(t, &k.ec.PublicKey)...)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	tests := []struct {
		name    string
		data    []byte
		want    int
		wantErr string
	}{
		{"two keys", two, 2, ""},
		{"PKCS #1", pkcs1, 1, ""},
		{"certificate", cert, 1, ""},
		{"comments around keys", append([]byte("# rotated 2026-03\n"), two...), 2, ""},
		{"private key", append(two, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})...), 0, "private key"},
		{"small RSA key", pemOf(t, &k.rsaSmall.PublicKey), 0, "2048"},
		{"P-384", pemOf(t, &k.ec384.PublicKey), 0, "P-256"},
		{"empty", nil, 0, "no PEM"},
		{"not PEM", []byte("hello"), 0, "no PEM"},
		{"broken block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}), 0, "block 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePublicKeys(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.want {
				t.Fatalf("got %d keys, %v; want %d keys", len(keys), err, tt.want)
			}
			if _, err := NewVerifier(VerifierOptions{PublicKeys: keys}); err != nil {
				t.Errorf("NewVerifier: %v", err)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name     string
		values   []string
		wantTok  string
		wantSent bool
		wantErr  bool
	}{
		{"none", nil, "", false, false},
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", true, false},
		{"scheme in any case", []string{"bEaReR   abc"}, "abc", true, false},
		{"other scheme is anonymous", []string{"Basic dXNlcjpwYXNz"}, "", false, false},
		{"bearer without token", []string{"Bearer"}, "", true, true},
		{"bearer with spaces only", []string{"Bearer    "}, "", true, true},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, sent, err := bearer(tt.values)
			if tok != tt.wantTok || sent != tt.wantSent || (err != nil) != tt.wantErr {
				t.Errorf("got %q %v %v, want %q %v error %v", tok, sent, err, tt.wantTok, tt.wantSent, tt.wantErr)
			}
		})
	}
}

// TestByUser runs requests through both middlewares, as the server does.
func TestByUser(t *testing.T) {
	v := newTestVerifier(t, VerifierOptions{Secret: []byte(testSecret)})
	rs := mustResolver(t, ResolverOptions{Trusted: DefaultTrusted()})
	keys := NewKeys(NewHasher([]byte("test secret")), ByUser)
	type seen struct {
		key      string
		err      error
		user     User
		signedIn bool
	}
	serve := func(headers ...string) seen {
		var s seen
		h := rs.Middleware(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.key, s.err = keys.Client(r)
			s.user, s.signedIn, _ = UserFrom(r.Context())
		})))
		h.ServeHTTP(httptest.NewRecorder(), request("127.0.0.1:1", headers...))
		return s
	}
	alice := "Authorization: Bearer " + sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims("alice", "tier", "pro"))

	home := serve("X-Forwarded-For: 198.51.100.1", "User-Agent: Firefox", alice)
	phone := serve("X-Forwarded-For: 2001:db8::1", "User-Agent: Safari", alice)
	if home.err != nil || home.key != phone.key || !home.signedIn || home.user.Tier != "pro" {
		t.Errorf("one user on two networks: got %+v and %+v, want one key, signed in, tier pro", home, phone)
	}
	anon1 := serve("X-Forwarded-For: 198.51.100.1", "User-Agent: Firefox")
	anon2 := serve("X-Forwarded-For: 198.51.100.1", "User-Agent: Chrome")
	if anon1.err != nil || anon1.signedIn || anon1.key == anon2.key || anon1.key == home.key {
		t.Errorf("anonymous: got %+v and %+v, want fingerprint keys apart from the user's", anon1, anon2)
	}
	basic := serve("X-Forwarded-For: 198.51.100.1", "User-Agent: Firefox", "Authorization: Basic eDp5")
	if basic.err != nil || basic.key != anon1.key {
		t.Errorf("Basic auth: got %+v, want the anonymous key %s", basic, anon1.key)
	}
	bad := serve("X-Forwarded-For: 198.51.100.1", "Authorization: Bearer nope")
	if !errors.Is(bad.err, ErrInvalidToken) || bad.key != "" {
		t.Errorf("bad token: got %+v, want ErrInvalidToken", bad)
	}

	// Without the Verifier's middleware, ByUser refuses rather than
	// treating a signed-in user as anonymous.
	var err error
	rs.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err = keys.Client(r)
	})).ServeHTTP(httptest.NewRecorder(), request("127.0.0.1:1", alice))
	if err == nil || errors.Is(err, ErrInvalidToken) {
		t.Errorf("no verifier middleware: got %v, want a wiring error", err)
	}
}

// FuzzJWT feeds arbitrary tokens, and mutations of valid ones, to a
// Verifier that accepts HS256, RS256 and ES256. Whatever it accepts must
// be exactly a token that was signed: no other spelling, algorithm or
// payload passes.
func FuzzJWT(f *testing.F) {
	k := testKeys()
	v := newTestVerifier(f, VerifierOptions{
		Secret:     []byte(testSecret),
		PublicKeys: []crypto.PublicKey{&k.rsa.PublicKey, &k.ec.PublicKey},
	})
	signed := map[string]string{}
	for _, tok := range []string{
		sign(f, jwt.SigningMethodHS256, []byte(testSecret), claims("alice", "tier", "pro")),
		sign(f, jwt.SigningMethodRS256, k.rsa, claims("bob")),
		sign(f, jwt.SigningMethodES256, k.ec, claims("carol")),
	} {
		u, err := v.Verify(tok)
		if err != nil {
			f.Fatalf("seed does not verify: %v", err)
		}
		signed[tok] = u.Subject
		f.Add(tok)
	}
	rsaPEM := pemOf(f, &k.rsa.PublicKey)
	for _, tok := range []string{
		unsigned(`{"alg":"none"}`, `{"sub":"m"}`),
		sign(f, jwt.SigningMethodHS256, rsaPEM, claims("m")),
		sign(f, jwt.SigningMethodHS512, []byte(testSecret), claims("m")),
		"", ".", "..", "a.b.c.d", "eyJ.eyJ.", strings.Repeat("A", 100),
		unsigned(`{"alg":"HS256"}`, `{"sub":"m","exp":1e400}`),
		unsigned(`{"alg":"ES256"}`, `{"sub":{"x":1}}`),
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := v.Verify(tok)
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) || te.Reason == "" {
				t.Fatalf("got %v, want a *TokenError with a reason", err)
			}
			return
		}
		sub, ok := signed[tok]
		if !ok {
			t.Fatalf("accepted a token that was never signed: %q (user %+v)", tok, u)
		}
		if u.Subject != sub {
			t.Fatalf("got subject %q, want %q", u.Subject, sub)
		}
	})
}

func bigOne() *big.Int { return big.NewInt(1) }

func BenchmarkVerify(b *testing.B) {
	k := testKeys()
	v := newTestVerifier(b, VerifierOptions{
		Secret:     []byte(testSecret),
		PublicKeys: []crypto.PublicKey{&k.rsa.PublicKey, &k.ec.PublicKey},
	})
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"HS256", sign(b, jwt.SigningMethodHS256, []byte(testSecret), claims("alice", "tier", "pro"))},
		{"RS256", sign(b, jwt.SigningMethodRS256, k.rsa, claims("alice", "tier", "pro"))},
		{"ES256", sign(b, jwt.SigningMethodES256, k.ec, claims("alice", "tier", "pro"))},
		{"invalid", "garbage.garbage.garbage"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.Verify(tt.token)
			}
		})
	}
}
