package respond

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// FieldError is one entry of FastAPI's 422 "detail" list.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
	// Ctx says more where FastAPI does, such as {"error": "Extra data"}.
	Ctx map[string]string `json:"ctx,omitempty"`
}

// RequestError is a request refused before it is handled: its status and
// the "detail" to answer with (a string, or FastAPI's []FieldError).
type RequestError struct {
	Status int
	Detail any
}

func (e *RequestError) Error() string { return fmt.Sprintf("status %d: %v", e.Status, e.Detail) }

// Invalid returns the 422 that lists errs, as FastAPI's validation does.
func Invalid(errs ...FieldError) error {
	return &RequestError{Status: http.StatusUnprocessableEntity, Detail: errs}
}

// Refuse writes err: a *RequestError with its status and detail, anything
// else as a bare 400 (its text may hold internals, so it is not shown).
func Refuse(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		Error(w, http.StatusBadRequest, "Bad Request")
		return
	}
	JSON(w, re.Status, map[string]any{"detail": re.Detail})
}

// DecodeOptions says what Decode accepts.
type DecodeOptions struct {
	// MaxBytes is the largest body read; past it the answer is 413.
	MaxBytes int64
	// Strict refuses fields v does not have, as a FastAPI model with
	// extra="forbid" does; otherwise they are ignored.
	Strict bool
}

// Decode reads a JSON body into v: a JSON content type (application/json,
// anything +json, or none), at most opts.MaxBytes bytes, and exactly one
// JSON value, which white space may follow but nothing else. Its errors
// are *RequestError, for Refuse: 415, 413, or 422 shaped as FastAPI's,
// with loc ["body", N] at the character where the JSON went wrong.
func Decode(w http.ResponseWriter, r *http.Request, v any, opts DecodeOptions) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &RequestError{Status: http.StatusUnsupportedMediaType, Detail: "Unsupported Media Type: send application/json"}
		}
	}
	// A body announced too large is refused before a byte of it is read:
	// Go's server sends "100 Continue" only when the handler first reads
	// the body, so a client that asked (Expect: 100-continue) gets the 413
	// instead of sending megabytes into a connection about to close, which
	// ends in a reset rather than an answer. Bodies of unknown length are
	// still cut at MaxBytes as they stream.
	if r.ContentLength > opts.MaxBytes {
		return tooLarge(opts.MaxBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, opts.MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(opts.MaxBytes)
		}
		return &RequestError{Status: http.StatusBadRequest, Detail: "Bad Request: the body could not be read"}
	}
	// FastAPI counts positions in characters, Go in bytes.
	at := func(byteOffset int64) int {
		return utf8.RuneCount(body[:min(max(byteOffset, 0), int64(len(body)))])
	}
	jsonInvalid := func(pos int, why string) error {
		fe := FieldError{Loc: []any{"body", pos}, Msg: "JSON decode error", Type: "json_invalid"}
		if why != "" {
			fe.Ctx = map[string]string{"error": why}
		}
		return Invalid(fe)
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	if opts.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			loc := []any{"body"}
			for _, p := range strings.Split(typeErr.Field, ".") {
				if p != "" {
					loc = append(loc, p)
				}
			}
			kind := jsonKind(typeErr.Type.Kind().String())
			return Invalid(FieldError{Loc: loc, Msg: "Input should be a valid " + kind, Type: kind + "_type"})
		case errors.As(err, &syntax):
			// Offset counts the offending byte itself.
			return jsonInvalid(at(syntax.Offset-1), "")
		case errors.Is(err, io.EOF):
			return Invalid(FieldError{Loc: []any{"body"}, Msg: "Field required", Type: "missing"})
		case errors.Is(err, io.ErrUnexpectedEOF):
			return jsonInvalid(at(int64(len(body))), "Expecting value")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Invalid(FieldError{Loc: []any{"body", strings.Trim(name, `"`)}, Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
		}
		return jsonInvalid(0, "")
	}
	// The decoder stops after the first value; FastAPI (Python's json)
	// refuses anything but white space after it.
	rest := body[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		return jsonInvalid(at(int64(len(body)-len(trimmed))), "Extra data")
	}
	return nil
}

// tooLarge is the 413 for a body over max bytes.
func tooLarge(max int64) error {
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("Request body too large: at most %d bytes", max)}
}

// jsonKind names a Go kind as pydantic names the JSON type.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "dictionary"
	case "bool":
		return "boolean"
	}
	return goKind
}
