package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/models"
)

// TestReportRevenueFollowsTheCurrencysExponent: yen have no minor unit,
// so 3,000 stored is ¥3,000, not ¥30.
func TestReportRevenueFollowsTheCurrencysExponent(t *testing.T) {
	t.Parallel()
	variants := []models.VariantTotals{{Variant: "A", Enrolled: 2, Converted: 1, RevenueMinor: 3000, RevenueSumSq: 9e6, Sent: 2}}
	steps := []models.StepTotals{{Variant: "A", StepID: "s1", Sent: 2, Conversions: 1, RevenueMinor: 3000}}
	for _, tc := range []struct {
		name       string
		currencies []string
		revenue    float64
		currency   string
	}{
		{"yen", []string{"JPY"}, 3000, "JPY"},
		{"dollars", []string{"USD"}, 30, "USD"},
		{"no orders yet", nil, 30, ""},
		{"two currencies", []string{"EUR", "USD"}, 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := buildReport("cam", time.Time{}, time.Now(), tc.currencies, variants, steps)
			require.Equal(t, tc.currency, r.Currency)
			require.InDelta(t, tc.revenue, r.Variants[0].Revenue, 1e-9)
			require.InDelta(t, tc.revenue/2, r.Variants[0].RevenuePerRecipient, 1e-9)
			require.InDelta(t, tc.revenue, r.Steps[0].Revenue, 1e-9)
			require.NotEmpty(t, r.RevenueNote)
		})
	}
}
