package email

import (
	"strings"
	"testing"

	"github.com/aymerick/douceur/inliner"
	"github.com/inbucket/html2text"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// The prepared inliner gives the same bytes as douceur's, HTML and plain
// text, for every template in every locale, with and without products,
// incentive, usage and comparison; and it is the path taken.
func TestPreparedInlinerMatchesDouceur(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	require.NoError(t, err)
	require.NotNil(t, r.css, "the layout's stylesheet takes the prepared path")
	for _, locale := range []string{"en-US", "de-DE", "ja-JP"} {
		for _, name := range bodyTemplates {
			for _, sparse := range []bool{false, true} {
				d := goldenData(locale)
				if sparse {
					d.Products, d.First, d.Incentive, d.Usage, d.Comparison = nil, Product{}, nil, nil, nil
					d.Step.CTA, d.Step.CTAURL = "", ""
				}
				out, err := r.Render(name, "Complete your {{.Trigger.ProductName}} kit", d)
				require.NoError(t, err)
				page := renderPage(t, r, name, d)
				doc, err := html.Parse(strings.NewReader(page))
				require.NoError(t, err)
				require.NoError(t, r.css.inline(doc), "%s/%s: the prepared path", name, locale)
				want, err := inliner.Inline(page)
				require.NoError(t, err)
				require.Equal(t, want, out.HTML, "%s/%s sparse=%v", name, locale, sparse)
				wantText, err := html2text.FromString(want, html2text.Options{})
				require.NoError(t, err)
				require.Equal(t, wantText, out.Text, "%s/%s sparse=%v", name, locale, sparse)
			}
		}
	}
}

// renderPage executes a template without inlining, as Render does first.
func renderPage(t *testing.T, r *Renderer, name string, d Data) string {
	t.Helper()
	if len(d.Products) > 0 {
		d.First = d.Products[0]
	}
	d.Labels = LabelsFor(d.Locale)
	subj, err := RenderSubject("Complete your {{.Trigger.ProductName}} kit", d)
	require.NoError(t, err)
	d.Step.Heading, err = expand("heading", d.Step.Heading, d)
	require.NoError(t, err)
	for i, p := range d.Step.Paragraphs {
		d.Step.Paragraphs[i], err = expand("body", p, d)
		require.NoError(t, err)
	}
	var b strings.Builder
	require.NoError(t, r.sets[name].ExecuteTemplate(&b, "layout", layoutData{Data: d, Subject: subj}))
	return b.String()
}
