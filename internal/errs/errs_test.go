package errs

import (
	"errors"
	"testing"
)

func TestRecoverTurnsAPanicIntoAnInternalError(t *testing.T) {
	t.Parallel()
	run := func() (err error) {
		defer Recover(&err)
		var m map[string]int
		m["x"] = 1 // panics
		return nil
	}
	err := run()
	var e *Error
	if !errors.As(err, &e) || e.Code != Internal || e.Message != "internal error" {
		t.Fatalf("got %v", err)
	}
	ok := func() (err error) {
		defer Recover(&err)
		return E(NotFound, "x")
	}
	if !Is(ok(), NotFound) {
		t.Fatal("an error returned without a panic is kept")
	}
}
