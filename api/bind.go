package api

import (
	"bytes"
	"encoding/json"
	"io"

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

// firstErr returns the first error that is not nil.
func firstErr(errors ...error) error {
	for _, err := range errors {
		if err != nil {
			return err
		}
	}
	return nil
}
