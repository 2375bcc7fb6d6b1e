// Package email renders sequence emails: a responsive HTML layout built
// from html/template blocks, and a plain-text alternative derived from it.
package email

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/aymerick/douceur/inliner"
	cldrcurrency "github.com/bojanz/currency"
	"github.com/inbucket/html2text"
	"github.com/lift-hq/lift/internal/money"
	nethtml "golang.org/x/net/html"
)

//go:embed templates/*.html
var templateFS embed.FS

// Product is a product as an email shows it.
type Product struct {
	SKU      string
	Name     string
	Price    string // formatted for the customer's locale
	URL      string
	ImageURL string
	// Social proof: a rating ("4.8"), its review count, a short quote.
	Rating      string
	Reviews     int
	Testimonial string
}

// Comparison sets the customer's plan beside the next one up: two
// columns (stacked on phones), each the plan, its price and its features.
type Comparison struct {
	CurrentName, CurrentPrice string
	Current                   []string // features
	NextName, NextPrice       string
	Next                      []string
}

// Usage is what the customer used of a plan limit, from a usage event.
type Usage struct {
	Metric  string
	Used    string // formatted for the locale
	Limit   string
	Percent int
}

// Data is everything a template and a subject line may use.
type Data struct {
	Customer   Customer
	Trigger    Trigger
	Products   []Product
	First      Product // Products[0], for subject lines
	Campaign   Campaign
	Step       Step
	Incentive  *Incentive
	Usage      *Usage
	Comparison *Comparison
	Footer     Footer
	// Locale picks the layout's language (de and en ship; en is the
	// fallback); Render fills Labels from it.
	Locale string
	Labels Labels
}

// Customer is the recipient as the email addresses them.
type Customer struct {
	Name      string
	FirstName string
}

// Trigger describes the event that started the sequence.
type Trigger struct {
	ProductName string
	SKU         string
	Category    string
	OrderID     string
}

// Campaign names the sequence.
type Campaign struct {
	ID   string
	Name string
}

// Step is the step's own copy.
type Step struct {
	ID         string
	Heading    string
	Paragraphs []string
	CTA        string
	CTAURL     string
	Preheader  string
}

// Incentive is an offer with a genuine deadline.
type Incentive struct {
	PercentOff int
	Code       string
	Expires    string
}

// Footer carries the legal text every marketing email needs.
type Footer struct {
	PostalAddress     string
	UnsubscribeURL    string // stop this sequence
	UnsubscribeAllURL string // all marketing email
}

// Rendered is a finished email.
type Rendered struct {
	Subject   string
	Preheader string
	HTML      string
	Text      string
}

// Renderer holds the compiled templates. It is safe for concurrent use.
type Renderer struct {
	sets map[string]*template.Template // body template name -> layout wired to it
	css  *cssInliner                   // the layout's stylesheet, prepared once (nil: douceur for each email)
}

// bodyTemplates lists the body templates a step may name; it matches
// campaign.Templates (a test keeps them in step).
var bodyTemplates = []string{"recommendation", "education", "offer", "upsell"}

// NewRenderer compiles the embedded templates once.
func NewRenderer() (*Renderer, error) {
	funcs := template.FuncMap{"greeting": greeting, "view": viewLabel, "percentOff": percentOff,
		"usage": usageLine, "reviews": reviewsLine}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("compile email templates: %w", err)
	}
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{sets: map[string]*template.Template{}, css: newCSSInliner(string(layout))}
	for _, name := range bodyTemplates {
		if base.Lookup(name) == nil {
			return nil, fmt.Errorf("email template %q is missing", name)
		}
		set, err := base.Clone()
		if err != nil {
			return nil, err
		}
		// html/template cannot call a template by a runtime name, so each
		// body gets its own copy of the layout with "body" bound to it.
		if _, err := set.New("body").Parse(`{{template "` + name + `" .}}`); err != nil {
			return nil, err
		}
		r.sets[name] = set
	}
	return r, nil
}

// Render executes the subject line and the named body template.
func (r *Renderer) Render(templateName, subject string, d Data) (Rendered, error) {
	if len(d.Products) > 0 {
		d.First = d.Products[0]
	}
	d.Labels = LabelsFor(d.Locale)
	subj, err := RenderSubject(subject, d)
	if err != nil {
		return Rendered{}, err
	}
	// Headings and copy may use the same fields as the subject line.
	if d.Step.Heading, err = expand("heading", d.Step.Heading, d); err != nil {
		return Rendered{}, err
	}
	paras := make([]string, len(d.Step.Paragraphs))
	for i, p := range d.Step.Paragraphs {
		if paras[i], err = expand("body", p, d); err != nil {
			return Rendered{}, err
		}
	}
	d.Step.Paragraphs = paras
	set, ok := r.sets[templateName]
	if !ok {
		return Rendered{}, fmt.Errorf("unknown email template %q", templateName)
	}
	var buf bytes.Buffer
	buf.Grow(24 << 10) // an email's page, without growing as it is written
	if err := set.ExecuteTemplate(&buf, "layout", layoutData{Data: d, Subject: subj}); err != nil {
		return Rendered{}, fmt.Errorf("render %s: %w", templateName, err)
	}
	html, text, err := r.finish(buf.String())
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: subj, Preheader: d.Step.Preheader, HTML: html, Text: text}, nil
}

// finish inlines the stylesheet and makes the plain-text alternative.
// Mail clients drop <style> blocks: the rules go into style attributes;
// media queries stay in a <style> for the clients that honour them.
func (r *Renderer) finish(page string) (string, string, error) {
	html, doc, err := r.inline(page)
	if err != nil {
		return "", "", fmt.Errorf("inline CSS: %w", err)
	}
	if len(html) > MaxEmailBytes {
		return "", "", fmt.Errorf("the email %w: %d KB of HTML, over %d KB", ErrTooLarge, len(html)>>10, MaxEmailBytes>>10)
	}
	var text string
	if doc != nil { // parsed once for both
		text, err = html2text.FromHTMLNode(doc, html2text.Options{TextOnly: false})
	} else {
		text, err = html2text.FromString(html, html2text.Options{TextOnly: false})
	}
	if err != nil {
		return "", "", fmt.Errorf("plain-text alternative: %w", err)
	}
	return html, text, nil
}

// inline returns the page with its stylesheet inlined and, from the
// prepared path, the parsed document it rendered (nil from douceur's).
func (r *Renderer) inline(page string) (string, *nethtml.Node, error) {
	if r.css != nil {
		doc, err := nethtml.Parse(strings.NewReader(page))
		if err != nil {
			return "", nil, err
		}
		switch err := r.css.inline(doc); {
		case err == nil:
			var b strings.Builder
			b.Grow(len(page) + len(page)/2) // the inlined styles make it longer
			for c := doc.FirstChild; c != nil; c = c.NextSibling {
				if err := nethtml.Render(&b, c); err != nil {
					return "", nil, err
				}
			}
			return b.String(), doc, nil
		case !errors.Is(err, errSlowPath):
			return "", nil, err
		}
	}
	html, err := inliner.Inline(page)
	return html, nil, err
}

type layoutData struct {
	Data
	Subject string
}

// RenderSubject executes a subject-line template; a missing field is an
// error, never "<no value>" in someone's inbox.
func RenderSubject(subject string, d Data) (string, error) {
	s, err := expand("subject", subject, d)
	if err != nil {
		return "", err
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "", fmt.Errorf("subject renders empty")
	}
	if len(s) > 998 { // RFC 5322's line limit, and the column's
		return "", fmt.Errorf("subject renders longer than 998 bytes")
	}
	return s, nil
}

// expand executes a marketer-written text template against d. The result
// is escaped later by html/template where it lands in HTML.
func expand(what, text string, d Data) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := compiled.get(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	w := &cappedWriter{max: MaxTextBytes}
	if err := t.Execute(w, d); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return w.b.String(), nil
}

// compile parses a marketer-written text and checks it against the
// language marketers may use (guard.go). Unknown fields are errors, so a
// typo is refused when the campaign is saved, not sent as "<no value>".
func compile(text string) (*texttemplate.Template, error) {
	t, err := texttemplate.New("t").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if t.Tree == nil {
		return nil, errors.New("{{define}} and {{block}} are not allowed")
	}
	if err := guard(t.Tree.Root, len(t.Templates())); err != nil {
		return nil, err
	}
	return t, nil
}

// textCache keeps marketer-written texts compiled. A published version's
// texts never change, so keying by the text is keying by version (and a
// draft edit is simply a new key); send time only executes. Executing a
// parsed template is safe from many goroutines.
type textCache struct {
	mu    sync.RWMutex
	m     map[string]*texttemplate.Template
	bytes int // total length of the cached texts
}

// maxCompiledBytes bounds the cache by the size of the texts it holds
// (drafts saved over and over add keys); past it, it starts over, and
// the texts of live versions are recompiled on their next send.
const maxCompiledBytes = 8 << 20

var compiled = &textCache{m: map[string]*texttemplate.Template{}}

func (c *textCache) get(text string) (*texttemplate.Template, error) {
	c.mu.RLock()
	t, ok := c.m[text]
	c.mu.RUnlock()
	if ok {
		return t, nil
	}
	t, err := compile(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.bytes+len(text) > maxCompiledBytes {
		c.m, c.bytes = map[string]*texttemplate.Template{}, 0
	}
	if _, ok := c.m[text]; !ok {
		c.m[text] = t
		c.bytes += len(text)
	}
	c.mu.Unlock()
	return t, nil
}

// FormatPrice formats an amount in minor units as the customer's locale
// writes money, from CLDR's data (github.com/bojanz/currency): $399.00 in
// en-US, 1.349,50 € in de-DE, US$399.00 in en-GB. A locale it does not
// know falls back to its language, then to English.
func FormatPrice(minor int64, code, locale string) string {
	amount, err := cldrcurrency.NewAmountFromInt64(minor, code)
	if err != nil {
		return fmt.Sprintf("%.2f %s", money.ToMajor(minor, code), code)
	}
	return cldrcurrency.NewFormatter(cldrcurrency.NewLocale(locale)).Format(amount)
}

// FirstName is the first word of a name.
func FirstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Paragraphs splits copy on blank lines.
func Paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Check executes a marketer-written template (subject, heading or body)
// against sample data, so a field that does not exist is refused when the
// campaign is saved instead of failing every send. withIncentive says
// whether the step carries an incentive; without one .Incentive is nil.
func Check(text string, withIncentive bool) error {
	d := SampleData("en", withIncentive)
	// Usage and the plan comparison exist only for some sends (a usage
	// event, a customer on a plan ladder); the layout shows them when
	// present, but copy must not depend on them.
	d.Usage, d.Comparison = nil, nil
	_, err := expand("template", text, d)
	return err
}

// SampleData is what a campaign is test-rendered with when it is saved:
// every block filled, in the locale's formats.
func SampleData(locale string, withIncentive bool) Data {
	d := Data{
		Locale:   locale,
		Customer: Customer{Name: "Ada Lovelace", FirstName: "Ada"},
		Trigger:  Trigger{ProductName: "X100 Camera", SKU: "cam-x100", Category: "cameras", OrderID: "o-1"},
		Products: []Product{{SKU: "lens-35", Name: "35mm Lens", Price: FormatPrice(27900, "USD", locale), URL: "https://example.com/lens",
			Rating: FormatRating(4.8, locale), Reviews: 120, Testimonial: "Sharp."}},
		Campaign:   Campaign{ID: "sample", Name: "Sample"},
		Step:       Step{ID: "sample"},
		Usage:      &Usage{Metric: "orders", Used: FormatNumber(847, locale), Limit: FormatNumber(1000, locale), Percent: 84},
		Comparison: &Comparison{CurrentName: "Starter", CurrentPrice: FormatPrice(2900, "USD", locale), NextName: "Pro", NextPrice: FormatPrice(9900, "USD", locale), Next: []string{"More"}},
		Footer:     Footer{PostalAddress: "1 Main St", UnsubscribeURL: "https://example.com/u/1", UnsubscribeAllURL: "https://example.com/u/2"},
	}
	d.First = d.Products[0]
	if withIncentive {
		d.Incentive = &Incentive{PercentOff: 15, Code: "SAMPLE", Expires: FormatDate(time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC), locale)}
	}
	return d
}

// TestRender renders a whole step (its template, subject, heading and
// body) in a locale against SampleData: what publishing checks for every
// step and language, so no version goes live with a block that cannot
// render.
func (r *Renderer) TestRender(templateName, subject, heading, body, locale string, withIncentive bool) error {
	_, err := r.SampleRender(templateName, subject, heading, body, locale, withIncentive)
	return err
}

// TestRenderNoProducts renders a step's copy as it goes out when nothing
// is recommended (an optional block that found nothing): the layout must
// render without products as well as with them.
func (r *Renderer) TestRenderNoProducts(templateName, subject, heading, body, locale string, withIncentive bool) error {
	d := SampleData(locale, withIncentive)
	d.Products, d.First = nil, Product{}
	d.Step.Heading, d.Step.Paragraphs = heading, Paragraphs(body)
	_, err := r.Render(templateName, subject, d)
	return err
}

// SampleRender renders a step's copy for the sample customer and
// products, as the console previews it.
func (r *Renderer) SampleRender(templateName, subject, heading, body, locale string, withIncentive bool) (Rendered, error) {
	d := SampleData(locale, withIncentive)
	d.Step.Heading, d.Step.Paragraphs = heading, Paragraphs(body)
	return r.Render(templateName, subject, d)
}
