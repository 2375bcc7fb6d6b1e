package email

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Run `go test ./internal/email -run Golden -update` after an intended
// change to the templates, and read the diff of testdata/golden before
// committing it: it is exactly what every inbox will see change.
var update = flag.Bool("update", false, "rewrite the golden files of rendered emails")

// goldenData fills every block the templates have, in the locale's own
// formats, so each golden file shows each block.
func goldenData(locale string) Data {
	day := time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)
	price := func(minor int64) string { return FormatPrice(minor, "EUR", locale) }
	lens := Product{SKU: "lens-35", Name: "35mm f/2 lens", Price: price(27900), URL: "https://shop.example/lens-35?utm_source=lift",
		ImageURL: "https://img.shop.example/lens-35.jpg", Rating: FormatRating(4.8, locale), Reviews: 1204, Testimonial: "Sharp wide open."}
	strap := Product{SKU: "strap", Name: "Leather strap", Price: price(3900), URL: "https://shop.example/strap?utm_source=lift"}
	return Data{
		Locale:     locale,
		Customer:   Customer{Name: "Ada Lovelace", FirstName: "Ada"},
		Trigger:    Trigger{ProductName: "X100", SKU: "cam-x100", Category: "cameras", OrderID: "o-1001"},
		Products:   []Product{lens, strap},
		First:      lens,
		Campaign:   Campaign{ID: "camera-accessories", Name: "Camera accessories"},
		Step:       Step{ID: "complement", Heading: "For your {{.Trigger.ProductName}}", Paragraphs: []string{"Hello {{.Customer.FirstName}}, two picks for your new camera."}, CTA: "Shop the kit", CTAURL: "https://shop.example/kit?utm_source=lift", Preheader: "Two picks for your X100"},
		Incentive:  &Incentive{PercentOff: 15, Code: "KIT15", Expires: FormatDate(day, locale)},
		Usage:      &Usage{Metric: "orders", Used: FormatNumber(847, locale), Limit: FormatNumber(1000, locale), Percent: 84},
		Comparison: &Comparison{CurrentName: "Starter", CurrentPrice: price(2900), Current: []string{"1,000 orders a month"}, NextName: "Pro", NextPrice: price(9900), Next: []string{"10,000 orders a month", "Priority support"}},
		Footer:     Footer{PostalAddress: "1 Main St, Springfield", UnsubscribeURL: "https://lift.example/u/seq", UnsubscribeAllURL: "https://lift.example/u/all"},
	}
}

// TestRenderedEmailsMatchTheGoldenFiles pins the HTML and the plain text of
// every template in every shipped locale, so a change to a block, the CSS
// inliner or a translation shows up as a reviewable diff.
func TestRenderedEmailsMatchTheGoldenFiles(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	require.NoError(t, err)
	for _, locale := range []string{"en-US", "de-DE"} {
		for _, name := range bodyTemplates {
			t.Run(name+"/"+locale, func(t *testing.T) {
				out, err := r.Render(name, "Complete your {{.Trigger.ProductName}} kit", goldenData(locale))
				require.NoError(t, err)
				base := filepath.Join("testdata", "golden", name+"."+locale)
				golden(t, base+".html", out.HTML)
				golden(t, base+".txt", "Subject: "+out.Subject+"\nPreheader: "+out.Preheader+"\n\n"+out.Text)
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./internal/email -run Golden -update")
	require.Equal(t, string(want), got, "%s changed: if intended, run go test ./internal/email -run Golden -update and review the diff", path)
}
