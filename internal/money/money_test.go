package money

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMinorUnitsFollowTheCurrencysExponent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount, code string
		minor        int64
		err          string
	}{
		{"49.99", "USD", 4999, ""},
		{"899", "EUR", 89900, ""},
		{"1500", "JPY", 1500, ""},
		{"1500.5", "JPY", 0, "no minor unit"},
		{"1.234", "KWD", 1234, ""},
		{"1.001", "USD", 0, "more than 2 decimal places"},
		{"-1", "USD", 0, "non-negative"},
		{"1e13", "USD", 0, "non-negative"},
		{"", "USD", 0, ""},
	} {
		t.Run(tc.amount+" "+tc.code, func(t *testing.T) {
			minor, err := ToMinor(json.Number(tc.amount), tc.code)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.minor, minor)
			if tc.amount != "" {
				back, _ := json.Number(tc.amount).Float64()
				require.InDelta(t, back, ToMajor(minor, tc.code), 1e-9, "round trip")
			}
		})
	}
}

func TestFloatsFromEventPropertiesConvertExactly(t *testing.T) {
	t.Parallel()
	minor, err := FromFloat(0.29, "USD") // 0.29*100 is 28.999999999999996 in binary floating point
	require.NoError(t, err)
	require.EqualValues(t, 29, minor)
	require.True(t, Valid("JPY"))
	require.True(t, Valid("VES"), "a code newer than any table is still a currency")
	require.False(t, Valid("usd"))
	require.False(t, Valid("XYZW"))
	require.Equal(t, 2, Exponent("IDR"), "ISO 4217, not CLDR's display digits")
	require.Equal(t, 3, Exponent("IQD"))
}
