package app

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
)

// CheckID checks a caller's identifier (customer, product, event); the
// API checks a path's ID with it before reading the body.
func CheckID(field, id string) error { return validID(field, id) }

// validID checks a caller's identifier (customer, product, order,
// event): valid UTF-8, at most 128 bytes, and no control characters
// anywhere, so no ID can carry a separator into a token, a header or a
// log line.
func validID(field, id string) error {
	if strings.TrimSpace(id) == "" || len(id) > 128 || !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl) {
		return errs.Field(errs.Invalid, field, "must be 1-128 characters without control characters")
	}
	return nil
}

// validCustomerID is validID for a new customer's ID, which must not be
// an email address: the ID stays in the audit log, Temporal's history
// and workflow IDs after erasure, so it must not be personal data
// itself. Use the shop's own customer number.
func validCustomerID(field, id string) error {
	if err := validID(field, id); err != nil {
		return err
	}
	if at := strings.LastIndexByte(id, '@'); at > 0 && strings.Contains(id[at+1:], ".") {
		return errs.Field(errs.Invalid, field, "must not be an email address: it outlives erasure in logs and workflow history; use the shop's customer number")
	}
	return nil
}

// CheckText is checkText for the HTTP layer's own inputs (headers).
func CheckText(field, value string, max int) error { return checkText(field, value, max) }

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

func firstErr(errors ...error) error {
	for _, err := range errors {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkCurrency requires an ISO 4217 code like USD.
func checkCurrency(field, code string) error {
	if !money.Valid(code) {
		return errs.Field(errs.Invalid, field, "must be an ISO 4217 code like USD")
	}
	return nil
}

// toMinor converts an amount in major units into the currency's minor
// units (49.99 USD is 4999, 1500 JPY is 1500).
func toMinor(field string, amount json.Number, currency string) (int64, error) {
	minor, err := money.ToMinor(amount, currency)
	if err != nil {
		return 0, errs.Field(errs.Invalid, field, "%v", err)
	}
	return minor, nil
}

// floatToMinor is toMinor for an amount an event carries as a number.
func floatToMinor(field string, amount float64, currency string) (int64, error) {
	minor, err := money.FromFloat(amount, currency)
	if err != nil {
		return 0, errs.Field(errs.Invalid, field, "%v", err)
	}
	return minor, nil
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
