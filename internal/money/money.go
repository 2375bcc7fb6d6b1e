// Package money converts between the amounts callers send (major units,
// like 49.99 USD or 1500 JPY) and the integer minor units Lift stores,
// by each currency's ISO 4217 exponent: two decimals for USD and EUR,
// none for JPY and KRW, three for KWD and BHD, four for CLF.
package money

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
)

// Max is the largest amount accepted, in major units.
const Max = 1e12

// exponents are the ISO 4217 currencies whose minor unit is not a
// hundredth (ISO 4217 list one, as amended to 2024). CLDR's figures, which
// golang.org/x/text carries, are display conventions (IDR shown without
// decimals) and lag the standard, so they are not used here.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// Exponent is the number of decimals of a currency's minor unit: 2 but
// for the currencies ISO 4217 gives another.
func Exponent(code string) int {
	if e, ok := exponents[code]; ok {
		return e
	}
	return 2
}

// Valid reports whether code is shaped like an ISO 4217 code (three
// capital letters); codes newer than any table are accepted.
func Valid(code string) bool {
	if len(code) != 3 {
		return false
	}
	for _, r := range code {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
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

// MaxMinor is Max in the currency's minor units: the largest amount Lift
// keeps, far inside int64.
func MaxMinor(code string) int64 {
	return int64(Max) * int64(math.Pow10(Exponent(code)))
}
