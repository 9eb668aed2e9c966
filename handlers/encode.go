package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// fieldError is one entry of FastAPI's 422 "detail" list.
type fieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// requestError is a bad request, ready to be written.
type requestError struct {
	status int
	detail any
}

func (e *requestError) Error() string { return fmt.Sprintf("status %d: %v", e.status, e.detail) }

func invalid(errs ...fieldError) error {
	return &requestError{status: http.StatusUnprocessableEntity, detail: errs}
}

// writeRequestError writes err, which must be a *requestError.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		respond.Error(w, http.StatusBadRequest, "Bad Request")
		return
	}
	respond.JSON(w, re.status, map[string]any{"detail": re.detail})
}

// decode reads a JSON body into v: a JSON content type (or none), at most
// maxBody bytes, exactly one JSON value. Its errors are *requestError.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType, detail: "Unsupported Media Type: send application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &tooBig):
			return &requestError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("Request body too large: at most %d bytes", maxBody)}
		case errors.As(err, &typeErr):
			loc := []any{"body"}
			for _, p := range strings.Split(typeErr.Field, ".") {
				if p != "" {
					loc = append(loc, p)
				}
			}
			return invalid(fieldError{Loc: loc, Msg: "Input should be a valid " + jsonKind(typeErr.Type.Kind().String()), Type: jsonKind(typeErr.Type.Kind().String()) + "_type"})
		case errors.As(err, &syntax):
			return invalid(fieldError{Loc: []any{"body", syntax.Offset}, Msg: "JSON decode error", Type: "json_invalid"})
		case errors.Is(err, io.EOF):
			return invalid(fieldError{Loc: []any{"body"}, Msg: "Field required", Type: "missing"})
		default:
			return invalid(fieldError{Loc: []any{"body"}, Msg: "JSON decode error", Type: "json_invalid"})
		}
	}
	if dec.More() {
		return invalid(fieldError{Loc: []any{"body"}, Msg: "JSON decode error: more than one value", Type: "json_invalid"})
	}
	return nil
}

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
