// Package errs is Lift's one error vocabulary. Every layer returns these codes;
// only the HTTP boundary (api.statusFor) and the activity boundary translate them.
package errs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime/debug"
	"strings"
)

// Code classifies an error by what the caller can do about it.
type Code string

// The codes, after benbjohnson/wtf. Stable: clients match on them.
const (
	Invalid         Code = "invalid"           // input failed validation (422)
	Malformed       Code = "malformed"         // input could not be parsed (400)
	NotFound        Code = "not_found"         // the thing does not exist (404)
	Conflict        Code = "conflict"          // state forbids it (409)
	Unauthorized    Code = "unauthorized"      // no or wrong credentials (401)
	Forbidden       Code = "forbidden"         // a signed token or signature does not verify (403)
	TooLarge        Code = "too_large"         // request body over the limit (413)
	TooManyRequests Code = "too_many_requests" // over a rate or concurrency limit; retry later (429)
	Unavailable     Code = "unavailable"       // a dependency is down; retry later (503)
	Internal        Code = "internal"          // a bug or an unexpected failure (500)
	PermanentRemote Code = "permanent_remote"  // a remote refused for good (e.g. SendGrid 400)
)

// Error is a coded error. Field names the offending input field, if any.
type Error struct {
	Code    Code
	Field   string
	Message string
	Err     error // wrapped cause, never shown to clients
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E builds a coded error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field builds a coded error that names the offending input field.
func Field(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to a cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first coded error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// As returns the first coded error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Message is the message of the first coded error in err's chain, or
// err's own text.
func Message(err error) string {
	if e, ok := As(err); ok {
		return e.Message
	}
	return err.Error()
}

// FromJSON maps an encoding/json decoding error onto the vocabulary: a
// wrong type or an unknown field is invalid with the field named;
// anything else is malformed.
func FromJSON(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return E(Malformed, "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return Wrap(Malformed, err, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return E(Malformed, "request body must be a JSON object")
		}
		return Field(Invalid, typ.Field, "must be a %s, not %s", jsonType(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Field(Invalid, field, "unknown field")
	}
	return Wrap(Malformed, err, "request body is not valid JSON")
}

// jsonType names a Go type as the JSON it decodes from: a named string is
// a string, a list of them a list of strings.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String, reflect.Bool:
		return t.Kind().String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list of " + jsonType(t.Elem())
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return t.String()
}

// Recover turns a panic in the calling function into an Internal error
// in *err, with the panic and its stack as the cause (logged, never
// shown). Every goroutine that works for a request defers it, so a bug
// answers 500 for that piece of work instead of ending the process:
//
//	defer errs.Recover(&err)
func Recover(err *error) {
	if p := recover(); p != nil {
		*err = &Error{Code: Internal, Message: "internal error", Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
	}
}
