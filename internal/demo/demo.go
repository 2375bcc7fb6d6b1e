// Package demo seeds `lift dev --demo` through the public API, the way a
// backend would: a catalogue, a cross-sell and an upsell campaign, a few
// customers and the events that enrol them. One customer later buys what
// the first email recommended, to show a sequence ending as converted.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// CrossSell and Upsell are the demo campaigns, as a marketer would POST them.
const CrossSell = `{
  "id": "camera-accessories",
  "name": "Camera accessories cross-sell",
  "kind": "cross_sell",
  "trigger": {"event": "purchase", "where": {"category": "cameras"}},
  "exit_on": ["purchase_of_recommended", "complaint", "unsubscribe"],
  "steps": [
    {"id": "complement", "at": "3d-7d", "subject": "Complete your {{.Trigger.ProductName}} kit",
     "preheader": "Two accessories our photographers pair with it",
     "template": "recommendation", "heading": "Get more from your new camera",
     "body": "Customers who bought the {{.Trigger.ProductName}} often add these.",
     "cta": "Shop accessories", "recommend": {"strategy": "complements", "limit": 2}},
    {"id": "guide", "at": "10d-14d", "subject": "5 accessories for better photos", "template": "education",
     "heading": "Five small upgrades, big difference",
     "body": "A spare battery means you never miss the golden hour.\n\nA fast card keeps up with burst shooting.",
     "recommend": {"strategy": "complements", "limit": 3}},
    {"id": "bundle", "at": "18d-21d", "subject": "Add {{.First.Name}} and save 15%", "template": "offer",
     "heading": "A thank-you for shooting with us", "cta": "Claim 15% off",
     "recommend": {"strategy": "complements", "limit": 1},
     "incentive": {"percent_off": 15, "code": "KIT15", "expires_in": "7d"}}
  ]
}`

// Upsell is the SaaS plan upsell, four emails as the upsell guide
// orders them: value first (the customer's own usage, no ask), then the
// plans side by side, then proof from a team like theirs, and only then
// an incentive.
const Upsell = `{
  "id": "plan-upgrade",
  "name": "Starter to Pro upsell",
  "kind": "upsell",
  "trigger": {"event": "usage", "where": {"ratio_gte": 0.8}},
  "exit_on": ["upgrade", "complaint", "unsubscribe"],
  "steps": [
    {"id": "value", "at": "1d-3d", "subject": "Your store is growing fast", "template": "education",
     "preheader": "Here is what your team got done this month",
     "heading": "A busy month for your store",
     "body": "Your team processed more orders this month than ever before. Here is where you stand on your plan."},
    {"id": "compare", "at": "4d-6d", "subject": "Starter and Pro, side by side", "template": "upsell",
     "heading": "What Pro adds for a team your size",
     "body": "Pro lifts the limits you are close to, and adds the reports growing teams ask for.",
     "cta": "See Pro", "recommend": {"strategy": "next_tier", "limit": 1}},
    {"id": "case-study", "at": "8d-10d", "subject": "How Northwind Coffee scaled on Pro", "template": "recommendation",
     "heading": "Teams like yours move before the limit",
     "body": "Northwind Coffee moved to Pro a month before their busiest season, and never saw a paused workflow.",
     "cta": "Read Northwind's story", "cta_url": "https://shop.example.com/customers/northwind",
     "recommend": {"strategy": "next_tier", "limit": 1}},
    {"id": "annual", "at": "12d-14d", "subject": "Two months free on annual Pro", "template": "offer",
     "heading": "Pro, with two months on us",
     "cta": "Go annual", "recommend": {"strategy": "next_tier", "limit": 1},
     "incentive": {"percent_off": 16, "code": "ANNUAL16", "expires_in": "5d"}}
  ]
}`

type product struct {
	SKU         string   `json:"-"`
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Price       float64  `json:"price"`
	Currency    string   `json:"currency"`
	URL         string   `json:"url"`
	ImageURL    string   `json:"image_url"`
	InStock     bool     `json:"in_stock"`
	Complements []string `json:"complements"`
	Rating      float64  `json:"rating,omitempty"`
	Reviews     int      `json:"reviews,omitempty"`
	Testimonial string   `json:"testimonial,omitempty"`
	TierRank    int      `json:"tier_rank,omitempty"`
	Features    []string `json:"features,omitempty"`
}

var catalogue = []product{
	{SKU: "cam-x100", Name: "X100 Mirrorless Camera", Category: "cameras", Price: 899,
		Complements: []string{"lens-35", "sd-128", "bag-city"}},
	{SKU: "cam-z50", Name: "Z50 Travel Camera", Category: "cameras", Price: 649,
		Complements: []string{"tripod-go", "sd-128", "battery-np"}},
	{SKU: "lens-35", Name: "35mm f/1.8 Prime Lens", Category: "lenses", Price: 279, Complements: []string{"cam-x100"},
		Rating: 4.8, Reviews: 214, Testimonial: "The lens I never take off."},
	{SKU: "sd-128", Name: "128GB UHS-II SD Card", Category: "storage", Price: 49.99},
	{SKU: "bag-city", Name: "City Camera Bag", Category: "bags", Price: 89},
	{SKU: "tripod-go", Name: "GoLite Travel Tripod", Category: "tripods", Price: 129},
	{SKU: "battery-np", Name: "Spare Battery NP-W", Category: "power", Price: 59, InStock: false},
	{SKU: "plan-starter", Name: "Starter plan", Category: "plans", Price: 29, Complements: []string{"plan-pro"},
		TierRank: 1, Features: []string{"1,000 orders a month", "2 seats", "Email support"}},
	{SKU: "plan-pro", Name: "Pro plan", Category: "plans", Price: 99, TierRank: 2,
		Features: []string{"10,000 orders a month", "10 seats", "Priority support", "Advanced reports"},
		Rating:   4.9, Reviews: 312, Testimonial: "We moved to Pro before our busiest season and never hit a limit again. Lena, Northwind Coffee"},
}

var customers = []map[string]any{
	{"id": "ada", "email": "ada@example.com", "name": "Ada Lovelace", "timezone": "Europe/London", "marketing_consent": true},
	{"id": "grace", "email": "grace@example.com", "name": "Grace Hopper", "timezone": "America/New_York", "marketing_consent": true},
	{"id": "linus", "email": "linus@example.com", "name": "Linus Torvalds", "timezone": "Europe/Helsinki", "locale": "fi", "marketing_consent": true},
	{"id": "margaret", "email": "margaret@example.com", "name": "Margaret Hamilton", "timezone": "America/Los_Angeles", "marketing_consent": false},
}

var events = []map[string]any{
	{"id": "demo-ada-1", "type": "purchase", "customer_id": "ada", "properties": map[string]any{
		"order_id": "demo-o-1", "currency": "USD", "items": []any{map[string]any{"sku": "cam-x100", "quantity": 1, "price": 899}}}},
	{"id": "demo-grace-1", "type": "purchase", "customer_id": "grace", "properties": map[string]any{
		"order_id": "demo-o-2", "currency": "USD", "items": []any{map[string]any{"sku": "cam-z50", "quantity": 1, "price": 649}}}},
	{"id": "demo-margaret-1", "type": "purchase", "customer_id": "margaret", "properties": map[string]any{
		"order_id": "demo-o-3", "currency": "USD", "items": []any{map[string]any{"sku": "cam-x100", "quantity": 1, "price": 899}}}},
	{"id": "demo-linus-1", "type": "usage", "customer_id": "linus", "properties": map[string]any{
		"metric": "orders", "used": 847, "limit": 1000, "sku": "plan-starter"}},
}

// Run seeds the demo once (a second start finds it seeded and only
// reports), then makes grace buy what her first email recommended.
func Run(ctx context.Context, baseURL, apiKey string, out io.Writer) error {
	seeded, err := Seed(ctx, baseURL, apiKey, out)
	if err != nil || !seeded {
		return err
	}
	c := &client{base: baseURL, key: apiKey}
	if err := convertGrace(ctx, c, out); err != nil {
		return err
	}
	return simulateAndReport(ctx, baseURL, apiKey, out)
}

// Seed loads the demo's catalogue, campaigns, customers and events
// through the API, unless campaigns exist already (then it reports false).
func Seed(ctx context.Context, baseURL, apiKey string, out io.Writer) (bool, error) {
	c := &client{base: baseURL, key: apiKey}
	var existing struct {
		Campaigns []struct{ ID string } `json:"campaigns"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/campaigns", nil, &existing); err != nil {
		return false, err
	}
	if len(existing.Campaigns) > 0 {
		fmt.Fprintln(out, "demo: already seeded; running sequences carry on.")
		return false, nil
	}
	for _, p := range catalogue {
		p.Currency, p.URL = "USD", "https://shop.example.com/p/"+p.SKU
		p.ImageURL = "https://shop.example.com/img/" + p.SKU + ".jpg"
		if p.Complements == nil {
			p.Complements = []string{}
		}
		if p.SKU != "battery-np" {
			p.InStock = true
		}
		if err := c.do(ctx, http.MethodPut, "/v1/products/"+p.SKU, p, nil); err != nil {
			return false, err
		}
	}
	for _, def := range []string{CrossSell, Upsell} {
		var created struct{ ID string }
		if err := c.do(ctx, http.MethodPost, "/v1/campaigns", json.RawMessage(def), &created); err != nil {
			return false, err
		}
		if err := c.do(ctx, http.MethodPost, "/v1/campaigns/"+created.ID+"/publish", nil, nil); err != nil {
			return false, err
		}
	}
	for _, cust := range customers {
		if err := c.do(ctx, http.MethodPut, "/v1/customers/"+cust["id"].(string), without(cust, "id"), nil); err != nil {
			return false, err
		}
	}
	for _, ev := range events {
		if err := c.do(ctx, http.MethodPost, "/v1/events", ev, nil); err != nil {
			return false, err
		}
	}
	fmt.Fprintln(out, "demo: seeded 9 products, 2 campaigns, 4 customers and 4 events; watch the outbox.")
	return true, nil
}

// convertGrace waits for grace's first email and buys its first
// recommendation, which ends her sequence as converted.
func convertGrace(ctx context.Context, c *client, out io.Writer) error {
	for {
		var list struct {
			Messages []struct {
				Status      string   `json:"status"`
				Recommended []string `json:"recommended"`
			} `json:"messages"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/messages?customer_id=grace", nil, &list); err != nil {
			return err
		}
		for _, m := range list.Messages {
			if m.Status == "sent" && len(m.Recommended) > 0 {
				ev := map[string]any{"id": "demo-grace-2", "type": "purchase", "customer_id": "grace", "properties": map[string]any{
					"order_id": "demo-o-4", "currency": "USD",
					"items": []any{map[string]any{"sku": m.Recommended[0], "quantity": 1, "price": 49.99}}}}
				if err := c.do(ctx, http.MethodPost, "/v1/events", ev, nil); err != nil {
					return err
				}
				fmt.Fprintf(out, "demo: grace bought %s from her first email; her sequence ends as converted.\n", m.Recommended[0])
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

type client struct {
	base, key string
}

func (c *client) do(ctx context.Context, method, path string, body, into any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	if into != nil {
		return json.Unmarshal(data, into)
	}
	return nil
}
