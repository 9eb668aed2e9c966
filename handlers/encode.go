package handlers

import (
	"net/http"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// fieldError is one entry of FastAPI's 422 "detail" list.
type fieldError = respond.FieldError

func invalid(errs ...fieldError) error { return respond.Invalid(errs...) }

// writeRequestError writes an error of decode or validate.
func writeRequestError(w http.ResponseWriter, err error) { respond.Refuse(w, err) }

// decode reads a JSON body into v: a JSON content type (or none), at most
// maxBody bytes, exactly one JSON value (trailing data is a 422, as in
// FastAPI). Its errors are for writeRequestError.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return respond.Decode(w, r, v, respond.DecodeOptions{MaxBytes: maxBody})
}
