package respond

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

type question struct {
	Question string `json:"question"`
	Tags     []string
}

// decodeCase runs Decode on body and returns what Refuse would answer,
// or 0 and "" when it decoded.
func decodeCase(t *testing.T, contentType, body string, opts DecodeOptions) (int, string, question) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	var q question
	if err := Decode(w, r, &q, opts); err != nil {
		Refuse(w, err)
		return w.Code, strings.TrimSpace(w.Body.String()), q
	}
	return 0, "", q
}

func TestDecode(t *testing.T) {
	opts := DecodeOptions{MaxBytes: 64}
	tests := []struct {
		name, ct, body string
		opts           DecodeOptions
		status         int
		want           string // the whole answer, or the decoded question when status is 0
	}{
		{"one object", "application/json", `{"question":"a"}`, opts, 0, "a"},
		{"white space after", "application/json", "{\"question\":\"a\"} \r\n\t", opts, 0, "a"},
		{"white space before", "", " \n{\"question\":\"a\"}", opts, 0, "a"},
		{"+json type", "application/vnd.api+json; charset=utf-8", `{"question":"a"}`, opts, 0, "a"},
		{"second object", "application/json", `{"question":"a"}{"x":1}`, opts, 422,
			`{"detail":[{"loc":["body",16],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Extra data"}}]}`},
		{"second object after space", "application/json", `{"question":"a"}  {"x":1}`, opts, 422,
			`{"detail":[{"loc":["body",18],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Extra data"}}]}`},
		{"stray brace", "application/json", `{"question":"a"}}`, opts, 422,
			`{"detail":[{"loc":["body",16],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Extra data"}}]}`},
		{"stray bracket", "application/json", `{"question":"a"}]`, opts, 422,
			`{"detail":[{"loc":["body",16],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Extra data"}}]}`},
		{"trailing word", "application/json", `{"question":"é"} x`, opts, 422,
			`{"detail":[{"loc":["body",17],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Extra data"}}]}`},
		{"syntax error", "application/json", `{"question":}`, opts, 422,
			`{"detail":[{"loc":["body",12],"msg":"JSON decode error","type":"json_invalid"}]}`},
		{"cut short", "application/json", `{"question": `, opts, 422,
			`{"detail":[{"loc":["body",13],"msg":"JSON decode error","type":"json_invalid","ctx":{"error":"Expecting value"}}]}`},
		{"empty", "application/json", ``, opts, 422,
			`{"detail":[{"loc":["body"],"msg":"Field required","type":"missing"}]}`},
		{"wrong type", "application/json", `{"question":1}`, opts, 422,
			`{"detail":[{"loc":["body","question"],"msg":"Input should be a valid string","type":"string_type"}]}`},
		{"unknown field ignored", "application/json", `{"question":"a","x":1}`, opts, 0, "a"},
		{"unknown field refused", "application/json", `{"question":"a","x":1}`, DecodeOptions{MaxBytes: 64, Strict: true}, 422,
			`{"detail":[{"loc":["body","x"],"msg":"Extra inputs are not permitted","type":"extra_forbidden"}]}`},
		{"too large", "application/json", `{"question":"` + strings.Repeat("a", 64) + `"}`, opts, 413,
			`{"detail":"Request body too large: at most 64 bytes"}`},
		{"form", "application/x-www-form-urlencoded", `question=a`, opts, 415,
			`{"detail":"Unsupported Media Type: send application/json"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, q := decodeCase(t, tt.ct, tt.body, tt.opts)
			if status != tt.status {
				t.Fatalf("got status %d (%s), want %d", status, body, tt.status)
			}
			if status == 0 {
				if q.Question != tt.want {
					t.Errorf("got question %q, want %q", q.Question, tt.want)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("got %s, not JSON: %v", body, err)
			}
			json.Unmarshal([]byte(tt.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %s, want %s", body, tt.want)
			}
		})
	}
}

// untouchable is a body that fails the test if it is read.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("the body was read; want it refused on its Content-Length first")
	return 0, io.EOF
}

// TestDecodeRefusesOnContentLength: a body announced over MaxBytes is a
// 413 without a byte read, so Go's server never sends 100 Continue for
// it; a body of unknown length is still cut as it streams.
func TestDecodeRefusesOnContentLength(t *testing.T) {
	tests := []struct {
		name   string
		length int64
		body   io.Reader
		status int
	}{
		{"announced too large, never read", 10 << 20, nil, 413},
		{"announced at the cap", 64, strings.NewReader(`{"question":"` + strings.Repeat("a", 48) + `"}`), 0},
		{"unknown length, too large", -1, strings.NewReader(`{"question":"` + strings.Repeat("a", 100) + `"}`), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == nil {
				body = untouchable{t}
			}
			r := httptest.NewRequest(http.MethodPost, "/", body)
			r.ContentLength = tt.length
			w := httptest.NewRecorder()
			var q question
			status := 0
			if err := Decode(w, r, &q, DecodeOptions{MaxBytes: 64}); err != nil {
				Refuse(w, err)
				status = w.Code
			}
			if status != tt.status {
				t.Errorf("got status %d (%s), want %d", status, w.Body.String(), tt.status)
			}
		})
	}
}
