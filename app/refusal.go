package app

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// refusals is the app's answer to a refused request (ratelimit's
// Options.OnLimited): 429 with the body the Python original sent, slowapi's
// "error" and FastAPI's "detail" side by side, plus the refusing policy:
//
//	{"error":"Rate limit exceeded: 3 per 1 minute","detail":"Rate limit exceeded: 3 per 1 minute","policy":"per-client"}
//
// Bodies are built once per policy and limit, so that a flood is answered
// with the same few bytes over and over. It is safe for concurrent use.
type refusals struct {
	mu     sync.RWMutex
	bodies map[refusalKey][]byte
}

type refusalKey struct {
	policy, note string
	limit        ratelimit.Limit
}

// maxRefusalBodies bounds the cache; tiers and routes give a handful.
const maxRefusalBodies = 1024

// jsonType is every refusal's Content-Type value, shared: net/http only
// reads it, and an append to it (length and capacity 1) copies it.
var jsonType = []string{"application/json"}

func (f *refusals) write(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
	k := refusalKey{res.Policy, res.Note, res.Limit}
	f.mu.RLock()
	b, ok := f.bodies[k]
	f.mu.RUnlock()
	if !ok {
		b = refusalBody(res)
		f.mu.Lock()
		if f.bodies == nil {
			f.bodies = make(map[refusalKey][]byte)
		}
		if len(f.bodies) < maxRefusalBodies {
			f.bodies[k] = b
		}
		f.mu.Unlock()
	}
	h := w.Header()
	if len(h["Retry-After"]) == 0 {
		// The Limiter sets it unless its Headers leave it out; a
		// refusal without one would leave the client guessing.
		secs := int64((res.RetryAfter + time.Second - 1) / time.Second)
		h["Retry-After"] = []string{strconv.FormatInt(max(secs, 1), 10)}
	}
	h["Content-Type"] = jsonType
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write(b)
}

func refusalBody(res ratelimit.Result) []byte {
	msg := res.Message()
	b := make([]byte, 0, 2*len(msg)+len(res.Policy)+48)
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"policy":`...)
	b = appendJSONString(b, res.Policy)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string: plain printable ASCII
// directly (the common case, no allocation), anything else through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
