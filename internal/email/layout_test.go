package email

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/testbrowser"
)

// TestLayoutInHeadlessChromium renders a sample email in Debian's Chromium
// at phone and desktop widths: at 375 px nothing scrolls sideways, the
// product cards stack and the call to action is a full tap target; at
// 1200 px the email keeps its 600 px column with the cards side by side.
// Screenshots go to $LIFT_ARTIFACTS_DIR (CI keeps them) or a temp dir.
func TestLayoutInHeadlessChromium(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	require.NoError(t, err)
	d := Data{
		Locale: "en-US", Customer: Customer{FirstName: "Ada"}, Trigger: Trigger{ProductName: "X100 Camera"},
		Products: []Product{
			{Name: "35mm f/1.8 Prime Lens", Price: "$279.00", URL: "https://shop.example/lens"},
			{Name: "128GB UHS-II SD Card", Price: "$49.99", URL: "https://shop.example/sd"},
			{Name: "City Camera Bag", Price: "$89.00", URL: "https://shop.example/bag"},
		},
		Step: Step{Heading: "Get more from your new camera", Paragraphs: []string{"Customers who bought the X100 often add these."},
			CTA: "Shop accessories", CTAURL: "https://shop.example/accessories", Preheader: "Three picks for your camera"},
		Incentive: &Incentive{PercentOff: 15, Code: "KIT15", Expires: "Monday 11 May"},
		Footer:    Footer{PostalAddress: "1 Main St, Springfield", UnsubscribeURL: "https://x/u/1", UnsubscribeAllURL: "https://x/u/2"},
	}
	out, err := r.Render("offer", "Complete your {{.Trigger.ProductName}} kit", d)
	require.NoError(t, err)
	page := filepath.Join(t.TempDir(), "email.html")
	require.NoError(t, os.WriteFile(page, []byte(out.HTML), 0o644))
	ctx, artifacts := testbrowser.Start(t, 60*time.Second)

	type box struct{ Left, Top, Right, Bottom, Width, Height float64 }
	type layout struct {
		ScrollWidth float64
		CTA, Column box
		Cards       []box
	}
	const measureJS = `(() => {
	  const b = e => { const r = e.getBoundingClientRect(); return {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom, Width: r.width, Height: r.height}; };
	  return {ScrollWidth: document.documentElement.scrollWidth, CTA: b(document.querySelector('a.cta')),
	          Column: b(document.querySelector('table.container')), Cards: [...document.querySelectorAll('td.card')].map(b)};
	})()`
	measure := func(width int64) (layout, []byte) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.EmulateViewport(width, 900))
		require.NoError(t, err)
		_, err = chromedp.Run(ctx, chromedp.Navigate("file://"+page))
		require.NoError(t, err)
		l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measureJS))
		require.NoError(t, err)
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		return l, shot
	}

	phone, shot := measure(375)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "email-375.png"), shot, 0o644))
	require.LessOrEqual(t, phone.ScrollWidth, 375.0, "no horizontal scroll on a phone")
	require.GreaterOrEqual(t, phone.CTA.Height, 44.0, "the call to action is a full tap target")
	require.LessOrEqual(t, phone.CTA.Right, 375.0, "and fully on screen")
	require.Len(t, phone.Cards, 3)
	require.Greater(t, phone.Cards[1].Top, phone.Cards[0].Top, "product cards stack in one column")

	desktop, shot := measure(1200)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "email-1200.png"), shot, 0o644))
	require.LessOrEqual(t, desktop.Column.Width, 600.0, "a 600 px column on desktop")
	require.Equal(t, desktop.Cards[0].Top, desktop.Cards[1].Top, "cards side by side")
	t.Logf("screenshots in %s", artifacts)
}
