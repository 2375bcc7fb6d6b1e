package email

import (
	"strings"
	"testing"
)

func benchData() Data {
	return Data{
		Locale: "en-US", Customer: Customer{Name: "Ada Lovelace", FirstName: "Ada"},
		Trigger:   Trigger{ProductName: "X100 Camera"},
		Products:  []Product{{Name: "35mm Lens", Price: "$279.00", URL: "https://shop.example/lens", ImageURL: "https://img.example/lens.jpg"}, {Name: "SD Card", Price: "$49.99", URL: "https://shop.example/sd"}},
		Step:      Step{Heading: "For your {{.Trigger.ProductName}}", Paragraphs: []string{"Customers who bought it add these."}, CTA: "Shop", CTAURL: "https://shop.example"},
		Incentive: &Incentive{PercentOff: 15, Code: "KIT15", Expires: "Monday 11 May"},
		Footer:    Footer{PostalAddress: "1 Main St", UnsubscribeURL: "https://x/u/1", UnsubscribeAllURL: "https://x/u/2"},
	}
}

// BenchmarkRender measures emails rendered per second on one core with the
// templates compiled once (what Lift does), against parsing them for every
// email (the baseline), in the same run:
//
//	go test -run '^$' -bench Render -cpu 1 ./internal/email/
func BenchmarkRender(b *testing.B) {
	d := benchData()
	b.Run("compiled-once", func(b *testing.B) {
		r, err := NewRenderer()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := r.Render("offer", "Complete your {{.Trigger.ProductName}} kit", d); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
	})
	b.Run("general-inliner", func(b *testing.B) {
		// The baseline: douceur's inliner and a second parse for the
		// plain text, for every email (the path before the stylesheet
		// was prepared once per renderer).
		r, err := NewRenderer()
		if err != nil {
			b.Fatal(err)
		}
		r.css = nil
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := r.Render("offer", "Complete your {{.Trigger.ProductName}} kit", d); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
	})
	b.Run("parsed-per-email", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			// What a renderer without a compiled cache would do.
			r, err := NewRenderer()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Render("offer", "Complete your {{.Trigger.ProductName}} kit", d); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
	})
}

// BenchmarkMarketerText measures a step's subject, heading and body being
// executed from the compiled-per-version cache (what a send does) against
// parsing them for every email (the baseline), in the same run:
//
//	go test -run '^$' -bench MarketerText -cpu 1 ./internal/email/
func BenchmarkMarketerText(b *testing.B) {
	d := benchData()
	texts := []string{"Complete your {{.Trigger.ProductName}} kit", "For your {{.Trigger.ProductName}}",
		"Hi {{.Customer.FirstName}}, {{.First.Name}} is what customers add to their {{.Trigger.ProductName}}."}
	b.Run("compiled-cache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, t := range texts {
				if _, err := expand("t", t, d); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	})
	b.Run("parsed-per-email", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, t := range texts {
				tmpl, err := compile(t)
				if err != nil {
					b.Fatal(err)
				}
				var sb strings.Builder
				if err := tmpl.Execute(&sb, d); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	})
}
