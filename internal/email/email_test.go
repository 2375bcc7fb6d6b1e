package email

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
)

func TestEveryCampaignTemplateExists(t *testing.T) {
	t.Parallel()
	want := append([]string{}, campaign.Templates...)
	got := append([]string{}, bodyTemplates...)
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)
}

func TestRenderIsResponsiveAndHasAPlainTextAlternative(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	require.NoError(t, err)
	d := Data{
		Customer:  Customer{Name: "Ada Lovelace", FirstName: "Ada"},
		Trigger:   Trigger{ProductName: "X100"},
		Products:  []Product{{Name: "35mm <Lens>", Price: "$279.00", URL: "https://shop.example/lens?utm_source=lift", ImageURL: "https://img.example/lens.jpg"}},
		Step:      Step{Heading: "For your {{.Trigger.ProductName}}", Paragraphs: []string{"Hello {{.Customer.FirstName}}."}, CTA: "Shop", CTAURL: "https://shop.example/lens", Preheader: "Two picks"},
		Incentive: &Incentive{PercentOff: 15, Code: "KIT15", Expires: "Monday 11 May"},
		Footer:    Footer{PostalAddress: "1 Main St, Springfield"},
	}
	for _, name := range bodyTemplates {
		t.Run(name, func(t *testing.T) {
			out, err := r.Render(name, "Complete your {{.Trigger.ProductName}} kit with {{.First.Name}}", d)
			require.NoError(t, err)
			require.Equal(t, "Complete your X100 kit with 35mm <Lens>", out.Subject)
			require.Equal(t, "Two picks", out.Preheader)
			for _, want := range []string{
				`name="viewport"`, `max-width:600px`, `@media only screen and (max-width: 600px)`,
				`line-height: 20px; padding: 12px 16px;`, // the .btn rule, inlined by the CSS inliner
				`alt="35mm &lt;Lens&gt;"`, `width="176" height="176"`,
				`For your X100`, `Hello Ada.`, `1 Main St, Springfield`, `35mm &lt;Lens&gt;`,
			} {
				require.Contains(t, out.HTML, want)
			}
			require.NotContains(t, out.HTML, "<Lens>", "product names are escaped")
			require.NotContains(t, out.HTML, "a.btn {", "class rules are inlined, not left for clients that drop <style>")
			require.Contains(t, out.Text, "35mm <Lens>")
			require.Contains(t, out.Text, "1 Main St, Springfield")
			require.NotContains(t, out.Text, "<td")
		})
	}
}

func TestSubjectWithAMissingFieldIsAnError(t *testing.T) {
	t.Parallel()
	_, err := RenderSubject("Hi {{.Customer.Nickname}}", Data{})
	require.Error(t, err)
	_, err = RenderSubject("   ", Data{})
	require.Error(t, err)
}

func TestFormatPrice(t *testing.T) {
	t.Parallel()
	// As CLDR writes money in each locale.
	require.Equal(t, "$49.99", FormatPrice(4999, "USD", "en"))
	require.Equal(t, "$399.00", FormatPrice(39900, "USD", "en-US"))
	require.Equal(t, "1.349,50\u00a0€", FormatPrice(134950, "EUR", "de-DE"))
	require.Equal(t, "US$399.00", FormatPrice(39900, "USD", "en-GB"))
	require.Equal(t, "￥1,200", FormatPrice(1200, "JPY", "ja-JP"))
	require.Equal(t, "12.00 XYZ", FormatPrice(1200, "XYZ", "en"))
	require.Equal(t, "4.8", FormatRating(4.8, "en-US"))
	require.Equal(t, "4,8", FormatRating(4.8, "de-DE"))
	require.Equal(t, "5.0", FormatRating(5, "en"))
}

func TestLocalesWithFallback(t *testing.T) {
	t.Parallel()
	require.Equal(t, "de", Base("de-CH"))
	require.Equal(t, "de", Base("de"))
	require.Equal(t, "en", Base("fr-FR"), "French is not shipped: English")
	require.Equal(t, "en", Base("not a locale"))
	day := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	require.Equal(t, "Wednesday 6 May", FormatDate(day, "en-GB"))
	require.Equal(t, "Thursday, December 3", FormatDate(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), "en-US"))
	require.Equal(t, "Wednesday, May 6", FormatDate(day, "en"), "CLDR's en is American")
	require.Equal(t, "Mittwoch, 6. Mai", FormatDate(day, "de-AT"))

	r, err := NewRenderer()
	require.NoError(t, err)
	d := Data{Locale: "de-DE", Customer: Customer{FirstName: "Jana"},
		Products:  []Product{{Name: "Objektiv", Price: FormatPrice(27999, "EUR", "de-DE"), URL: "https://shop.example/o"}},
		Incentive: &Incentive{PercentOff: 15, Code: "KIT15", Expires: FormatDate(day, "de")},
		Footer:    Footer{UnsubscribeURL: "https://x/u/1", UnsubscribeAllURL: "https://x/u/2", PostalAddress: "Hauptstr. 1, Berlin"}}
	out, err := r.Render("offer", "Ihr Angebot", d)
	require.NoError(t, err)
	for _, want := range []string{`lang="de"`, "Hallo Jana,", "Objektiv ansehen", "15 % Rabatt", "Mit dem Code", "Angebot gültig bis Mittwoch, 6. Mai",
		"279,99", "Alle Marketing-E-Mails abbestellen", "Kein Interesse? Diese E-Mails abbestellen"} {
		require.Contains(t, out.HTML, want)
	}
}

func TestUsageSummaryAndSocialProofBlocks(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	require.NoError(t, err)
	for locale, want := range map[string][]string{
		"en-US": {"You have used 847 of 1,000 orders (84%).", "★ 4.8 · 1204 reviews", "“Paid for itself in a week.”"},
		"de-DE": {"Sie haben 847 von 1.000 orders genutzt (84 %).", "★ 4.8 · 1204 Bewertungen"},
	} {
		t.Run(locale, func(t *testing.T) {
			d := Data{Locale: locale,
				Usage:    &Usage{Metric: "orders", Used: FormatNumber(847, locale), Limit: FormatNumber(1000, locale), Percent: 84},
				Products: []Product{{Name: "Pro plan", Price: "$99.00", URL: "https://x/pro", Rating: "4.8", Reviews: 1204, Testimonial: "Paid for itself in a week."}}}
			out, err := r.Render("upsell", "Time for Pro", d)
			require.NoError(t, err)
			for _, w := range want {
				require.Contains(t, out.HTML, w, locale)
			}
		})
	}
}
