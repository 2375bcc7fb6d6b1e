package api

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
)

// bind decodes a JSON body into dst strictly: unknown fields, trailing data
// and wrong types are refused with the field named.
func bind(c *gin.Context, dst any) error {
	return decodeFrom(c.Request.Body, dst)
}

// decodeStrict decodes one JSON value the way bind does.
func decodeStrict(raw []byte, dst any) error {
	return decodeFrom(bytes.NewReader(raw), dst)
}

func decodeFrom(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return errs.E(errs.Malformed, "request body must hold exactly one JSON object")
		}
		return nil
	}
	return decodeError(err)
}

// decodeError maps a body's decoding errors onto the error vocabulary.
func decodeError(err error) error {
	if isTooLarge(err) {
		return errs.E(errs.TooLarge, "request body is too large")
	}
	return errs.FromJSON(err)
}

// checkText refuses text a database column cannot hold the same way on
// PostgreSQL and SQLite: invalid UTF-8, NUL and other control characters,
// or more than max characters.
func checkText(field, value string, max int) error {
	if !utf8.ValidString(value) {
		return errs.Field(errs.Invalid, field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(value) > max {
		return errs.Field(errs.Invalid, field, "must be at most %d characters", max)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return errs.Field(errs.Invalid, field, "must not contain control characters")
		}
	}
	return nil
}
