package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is matched (errors.Is) by every *TokenError.
var ErrInvalidToken = errors.New("identity: invalid bearer token")

// errNoVerifier is ByUser's answer for a request that did not pass
// Verifier.Middleware: a wiring mistake that must not turn every user
// anonymous without a word.
var errNoVerifier = errors.New("identity: the user key strategy needs Verifier.Middleware")

// TokenError is a bearer token that was sent but cannot be believed:
// malformed, badly signed, signed with an algorithm that is not accepted,
// expired, not yet valid, for another issuer or audience, or without a
// subject. Reason is safe to show the client (an HTTP 401); Err is for
// logs.
type TokenError struct {
	Reason string
	Err    error
}

func (e *TokenError) Error() string { return "identity: bearer token: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Is makes every TokenError match ErrInvalidToken.
func (e *TokenError) Is(target error) bool { return target == ErrInvalidToken }

func invalidToken(why string) *TokenError {
	return &TokenError{Reason: "Invalid token", Err: errors.New(why)}
}

// User is who a verified bearer token says sent a request.
type User struct {
	// Subject is the sub claim, never empty.
	Subject string
	// Tier is the tier claim in lower case; "" when it is absent or not a
	// string.
	Tier string
}

// VerifierOptions says which tokens to believe. At least one key is
// required.
type VerifierOptions struct {
	// Secret verifies HS256 tokens (JWT_SECRET), at least MinSecret
	// bytes; nil accepts no HS256 token.
	Secret []byte
	// PublicKeys verify RS256 (*rsa.PublicKey, 2048 bits or more) and
	// ES256 (*ecdsa.PublicKey on P-256) tokens (JWT_PUBLIC_KEY_FILE; see
	// ParsePublicKeys). A token is checked against every key of its
	// algorithm's type, so keys can be rotated by listing old and new.
	PublicKeys []crypto.PublicKey
	// TierClaim names the claim that holds the user's tier
	// (JWT_TIER_CLAIM); default "tier".
	TierClaim string
	// Issuer, when set, must equal the iss claim (JWT_ISSUER).
	Issuer string
	// Audience, when set, must include the aud claim (JWT_AUDIENCE):
	// needed when the key also signs tokens for other services.
	Audience []string
	// Now is the clock for exp and nbf; default time.Now.
	Now func() time.Time
}

const (
	// MinSecret is the shortest HS256 secret accepted: RFC 7518 asks for
	// a key at least as long as the hash.
	MinSecret = 32
	// MaxToken is the longest bearer token read; a longer one is invalid
	// before anything is decoded.
	MaxToken = 8 << 10
	// Leeway is the clock skew allowed on exp and nbf.
	Leeway = 30 * time.Second
	// maxSubject and maxTier bound the claims kept from a token.
	maxSubject = 256
	maxTier    = 64
)

// Verifier checks JWT bearer tokens. The algorithm of a token must be one
// that a configured key serves (HS256 for Secret, RS256 and ES256 for
// PublicKeys), and each algorithm is checked only against keys of its own
// type: "alg": "none" and algorithm confusion (an HS256 token "signed"
// with a public key as the HMAC secret) are refused. exp and nbf are
// checked when present, with Leeway. Safe for concurrent use.
type Verifier struct {
	parser    *jwt.Parser
	secret    []byte
	rsa, ec   []jwt.VerificationKey
	tierClaim string
}

// NewVerifier checks opts and returns a Verifier.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	v := &Verifier{tierClaim: opts.TierClaim}
	if v.tierClaim == "" {
		v.tierClaim = "tier"
	}
	var methods []string
	if len(opts.Secret) > 0 {
		if len(opts.Secret) < MinSecret {
			return nil, fmt.Errorf("identity: HS256 secret of %d bytes: want at least %d", len(opts.Secret), MinSecret)
		}
		v.secret = append([]byte(nil), opts.Secret...)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	for i, k := range opts.PublicKeys {
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("identity: public key %d: %w", i+1, err)
		}
		switch k := k.(type) {
		case *rsa.PublicKey:
			v.rsa = append(v.rsa, k)
		case *ecdsa.PublicKey:
			v.ec = append(v.ec, k)
		}
	}
	if len(v.rsa) > 0 {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	if len(v.ec) > 0 {
		methods = append(methods, jwt.SigningMethodES256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("identity: no key to verify tokens with: want an HS256 secret or RS256/ES256 public keys")
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(Leeway),
		// Base64 with non-zero padding bits would let one signature be
		// written several ways.
		jwt.WithStrictDecoding(),
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if len(opts.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(opts.Audience...))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

func checkKey(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits: want at least 2048", k.N.BitLen())
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("ECDSA key on %s: ES256 needs P-256", k.Curve.Params().Name)
		}
		return nil
	}
	return fmt.Errorf("%T: want an RSA (RS256) or P-256 ECDSA (ES256) public key", k)
}

// key hands the parser the keys of the token's algorithm family only.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if v.secret != nil {
			return v.secret, nil
		}
	case *jwt.SigningMethodRSA:
		if len(v.rsa) > 0 {
			return jwt.VerificationKeySet{Keys: v.rsa}, nil
		}
	case *jwt.SigningMethodECDSA:
		if len(v.ec) > 0 {
			return jwt.VerificationKeySet{Keys: v.ec}, nil
		}
	}
	return nil, fmt.Errorf("no key for algorithm %v", t.Header["alg"])
}

// Verify checks a token and returns its user. Its errors are
// *TokenError.
func (v *Verifier) Verify(token string) (User, error) {
	if len(token) > MaxToken {
		return User{}, invalidToken("longer than MaxToken")
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.key); err != nil {
		te := &TokenError{Reason: "Invalid token", Err: err}
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			te.Reason = "Token has expired"
		case errors.Is(err, jwt.ErrTokenNotValidYet):
			te.Reason = "Token is not valid yet"
		}
		return User{}, te
	}
	sub, err := claims.GetSubject()
	if err != nil || sub == "" || len(sub) > maxSubject {
		return User{}, invalidToken("no usable sub claim")
	}
	u := User{Subject: sub}
	if tier, ok := claims[v.tierClaim].(string); ok && len(tier) <= maxTier {
		u.Tier = strings.ToLower(strings.TrimSpace(tier))
	}
	return u, nil
}

// bearer finds the token of an Authorization header. Another scheme
// (Basic, ...) is not a token: the request is anonymous. Several
// Authorization headers, or "Bearer" without a token, are invalid.
func bearer(values []string) (token string, sent bool, err error) {
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, invalidToken("several Authorization headers")
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	token = strings.TrimSpace(rest)
	if token == "" {
		return "", true, invalidToken("empty bearer token")
	}
	return token, true, nil
}

// authState is what Middleware found for one request, worked out on first
// use so that routes which never ask pay nothing.
type authState struct {
	once     sync.Once
	v        *Verifier
	values   []string
	user     User
	signedIn bool
	err      error
}

func (st *authState) get() *authState {
	st.once.Do(func() {
		tok, sent, err := bearer(st.values)
		switch {
		case err != nil:
			st.err = err
		case sent:
			st.user, st.err = st.v.Verify(tok)
			st.signedIn = st.err == nil
		}
	})
	return st
}

type authKey struct{}

// Middleware stores the request's bearer token in its context, verified
// the first time ByUser or UserFrom asks. It refuses nothing itself: the
// rate limiter's key function returns the *TokenError, and the caller
// maps it to 401.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &authState{v: v, values: r.Header.Values("Authorization")}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, st)))
	})
}

func authFrom(ctx context.Context) (*authState, bool) {
	st, ok := ctx.Value(authKey{}).(*authState)
	if !ok {
		return nil, false
	}
	return st.get(), true
}

// UserFrom returns the user of the request's bearer token as
// Verifier.Middleware found it. ok is false when no token was sent or the
// middleware did not run; err is the *TokenError of a token that cannot
// be believed.
func UserFrom(ctx context.Context) (u User, ok bool, err error) {
	st, found := authFrom(ctx)
	if !found {
		return User{}, false, nil
	}
	return st.user, st.signedIn, st.err
}

// ParsePublicKeys reads the PEM blocks of JWT_PUBLIC_KEY_FILE: one or
// more "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE"
// blocks, each an RSA key of 2048 bits or more or a P-256 ECDSA key. A
// private key in the file is an error: the server must never hold one.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var k crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			if strings.Contains(block.Type, "PRIVATE") {
				return nil, fmt.Errorf("identity: PEM block %d is a private key: give only public keys", n)
			}
			return nil, fmt.Errorf("identity: PEM block %d is %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("identity: PEM block %d: %w", n, err)
		}
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("identity: PEM block %d: %w", n, err)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("identity: no PEM public key found")
	}
	return out, nil
}
