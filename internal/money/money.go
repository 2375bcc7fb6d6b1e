// Package money converts between the amounts callers send (major units,
// like 49.99 USD or 1500 JPY) and the integer minor units Lift stores,
// by each currency's ISO 4217 exponent: two decimals for USD and EUR,
// none for JPY and KRW, three for KWD and BHD.
package money

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"

	"golang.org/x/text/currency"
)

// Max is the largest amount accepted, in major units.
const Max = 1e12

// Exponent is the number of decimals of a currency's minor unit (2 when
// the code is not an ISO 4217 currency).
func Exponent(code string) int {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale
}

// Valid reports whether code is an ISO 4217 currency code.
func Valid(code string) bool {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	_, err := currency.ParseISO(code)
	return err == nil
}

// ToMinor converts an amount in major units (a JSON number or decimal
// string, e.g. 49.99) into minor units (4999 for USD, 50 for JPY 50).
// Empty means zero. Negative amounts, amounts over Max and more decimals
// than the currency has are refused.
func ToMinor(amount json.Number, code string) (int64, error) {
	if amount == "" {
		return 0, nil
	}
	r, ok := new(big.Rat).SetString(string(amount))
	if !ok || r.Sign() < 0 || r.Cmp(new(big.Rat).SetFloat64(Max)) > 0 {
		return 0, fmt.Errorf("must be a non-negative amount like 49.99")
	}
	exp := Exponent(code)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !scaled.IsInt() {
		if exp == 0 {
			return 0, fmt.Errorf("%s has no minor unit: give a whole amount", code)
		}
		return 0, fmt.Errorf("has more than %d decimal places for %s", exp, code)
	}
	return scaled.Num().Int64(), nil
}

// FromFloat converts a JSON number already decoded as a float64 (an
// event property) into minor units, as ToMinor does.
func FromFloat(amount float64, code string) (int64, error) {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return 0, fmt.Errorf("must be a non-negative amount like 49.99")
	}
	return ToMinor(json.Number(fmt.Sprint(amount)), code)
}

// ToMajor converts minor units into major units: 4999 USD is 49.99,
// 1500 JPY is 1500.
func ToMajor(minor int64, code string) float64 {
	return Major(float64(minor), code)
}

// Major scales any quantity in minor units (an average, an interval's
// bound) into major units.
func Major(minor float64, code string) float64 {
	return minor / math.Pow10(Exponent(code))
}
