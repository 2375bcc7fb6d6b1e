package email

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarketerTextsUseTheSmallLanguageOnly(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		`Hi {{.Customer.FirstName}}`,
		`{{if eq .Customer.FirstName "Ada"}}Hi Ada{{else}}Hello{{end}}`,
		`{{with .Incentive}}{{.PercentOff}}% off{{end}}`,
		`{{range .Products}}{{.Name}} for {{$.Customer.FirstName}}{{else}}nothing{{end}}`,
		`{{if and .Incentive (gt .Incentive.PercentOff 10)}}big{{end}} {{len .Products}}`,
		`{{/* a note */}}{{.First.Name | len}}`,
	} {
		t.Run(text, func(t *testing.T) {
			_, err := compile(text)
			require.NoError(t, err)
		})
	}
	for text, why := range map[string]string{
		`{{range 100000000}}x{{end}}`:                           "only {{range .Products}}",
		`{{printf "%0999999999d" 1}}`:                           `"printf" is not allowed`,
		`{{range .Step.Paragraphs}}{{.}}{{end}}`:                "only {{range .Products}}",
		`{{range .Products}}{{range $.Products}}{{end}}{{end}}`: "inside a {{range}}",
		`{{$n := 5}}{{$n}}`:                                     "variables are not allowed",
		`{{define "a"}}x{{end}}`:                                "{{define}}",
		`x{{define "a"}}x{{end}}{{template "a"}}`:               "{{define}}",
		`{{template "layout"}}`:                                 "{{template",
		`{{index .Products 0}}`:                                 `"index" is not allowed`,
		`{{call .Customer.Name}}`:                               `"call" is not allowed`,
		`{{.First.Name.Length}}`:                                "has no fields",
		// The branch sample data never takes is checked all the same.
		`{{if eq .Customer.FirstName "Ada"}}ok{{else}}{{range 1000000000}}{{end}}{{end}}`: "only {{range .Products}}",
		`{{if .Incentive}}{{else}}{{.Customer.Nickname}}{{end}}`:                          ".Customer.Nickname: no such field",
	} {
		t.Run(text, func(t *testing.T) {
			_, err := compile(text)
			require.ErrorContains(t, err, why)
		})
	}
}

func TestMarketerTextOutputIsCapped(t *testing.T) {
	t.Parallel()
	d := SampleData("en", false)
	name := strings.Repeat("n", 300)
	d.Products = []Product{{Name: name}, {Name: name}, {Name: name}}
	text := strings.Repeat(`{{range .Products}}{{.Name}}{{end}}`, 200) // 180 KB if it were allowed to run
	_, err := expand("body", text, d)
	require.True(t, errors.Is(err, ErrTooLarge), "%v", err)
	require.ErrorContains(t, err, "over 32 KB")
}

// BenchmarkLongestMarketerText renders the costliest text the language
// allows within a body's 10,000 characters (a range over three products
// in every 40 characters) against a trivial text: the budget is time
// proportional to the text, with the output capped at MaxTextBytes.
func BenchmarkLongestMarketerText(b *testing.B) {
	d := SampleData("en", true)
	d.Products = []Product{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	for _, bc := range []struct{ name, text string }{
		{"baseline-plain-field", strings.Repeat("x", 9985) + "{{.First.Name}}"},
		{"ranges-everywhere", strings.Repeat(`{{range .Products}}{{.Name}}{{end}}`, 10000/35)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := expand("body", bc.text, d); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				_, _ = expand("body", bc.text, d)
			}
		})
	}
}

// FuzzMarketerText runs arbitrary copy through the checker and, when it
// passes, renders it: nothing panics, and no output passes the budget.
func FuzzMarketerText(f *testing.F) {
	for _, seed := range []string{
		`Hi {{.Customer.FirstName}}`, `{{range .Products}}{{.Name}}{{end}}`, `{{with .Incentive}}{{.PercentOff}}{{end}}`,
		`{{range 10}}{{end}}`, `{{printf "%99d" 1}}`, `{{if eq .Customer.FirstName "Ada"}}{{else}}{{.First.Name}}{{end}}`,
		`{{$.Customer.Name}}`, `{{len .Products | not}}`, `{{ (eq 1 1) }}`, `{{.Step.Paragraphs}}`,
	} {
		f.Add(seed)
	}
	d := SampleData("en", true)
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 10000 { // the longest copy a campaign takes
			return
		}
		out, err := expand("body", text, d)
		if err == nil && len(out) > MaxTextBytes {
			t.Fatalf("rendered %d bytes", len(out))
		}
	})
}
