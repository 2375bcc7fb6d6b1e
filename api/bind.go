package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
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

// decodeError maps encoding/json errors onto the error vocabulary.
func decodeError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case isTooLarge(err):
		return errs.E(errs.TooLarge, "request body is too large")
	case errors.Is(err, io.EOF):
		return errs.E(errs.Malformed, "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Wrap(errs.Malformed, err, "request body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errs.E(errs.Malformed, "request body must be a JSON object")
		}
		return errs.Field(errs.Invalid, field, "must be a %s, not %s", typ.Type.String(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Field(errs.Invalid, field, "unknown field")
	}
	return errs.Wrap(errs.Malformed, err, "request body is not valid JSON")
}

func itoa(i int) string { return strconv.Itoa(i) }

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

// checkList applies checkText to every entry of a list of short texts.
func checkList(field string, values []string, max int) error {
	for _, v := range values {
		if err := checkText(field, v, max); err != nil {
			return err
		}
	}
	return nil
}
