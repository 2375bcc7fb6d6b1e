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

// Upsell is the SaaS plan upsell.
const Upsell = `{
  "id": "plan-upgrade",
  "name": "Starter to Pro upsell",
  "kind": "upsell",
  "trigger": {"event": "usage", "where": {"ratio_gte": 0.8}},
  "exit_on": ["upgrade", "complaint", "unsubscribe"],
  "steps": [
    {"id": "limit-near", "at": "1d-3d", "subject": "You're at 80% of your plan", "template": "upsell",
     "heading": "You're growing fast", "body": "Pro lifts your limits before they slow you down.",
     "cta": "Compare plans", "recommend": {"strategy": "complements", "limit": 1}},
    {"id": "case-study", "at": "5d-7d", "subject": "How teams like yours scale on Pro", "template": "education",
     "body": "Teams that move to Pro before hitting their limit never see a paused workflow."},
    {"id": "annual", "at": "10d-12d", "subject": "Two months free on annual Pro", "template": "offer",
     "cta": "Go annual", "recommend": {"strategy": "complements", "limit": 1},
     "incentive": {"percent_off": 16, "code": "ANNUAL16", "expires_in": "5d"}},
    {"id": "last-call", "at": "14d-16d", "subject": "Last call: your Pro offer ends soon", "template": "offer",
     "recommend": {"strategy": "complements", "limit": 1},
     "incentive": {"percent_off": 16, "code": "ANNUAL16", "expires_in": "2d"}}
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
}

var catalogue = []product{
	{SKU: "cam-x100", Name: "X100 Mirrorless Camera", Category: "cameras", Price: 899,
		Complements: []string{"lens-35", "sd-128", "bag-city"}},
	{SKU: "cam-z50", Name: "Z50 Travel Camera", Category: "cameras", Price: 649,
		Complements: []string{"tripod-go", "sd-128", "battery-np"}},
	{SKU: "lens-35", Name: "35mm f/1.8 Prime Lens", Category: "lenses", Price: 279, Complements: []string{"cam-x100"}},
	{SKU: "sd-128", Name: "128GB UHS-II SD Card", Category: "storage", Price: 49.99},
	{SKU: "bag-city", Name: "City Camera Bag", Category: "bags", Price: 89},
	{SKU: "tripod-go", Name: "GoLite Travel Tripod", Category: "tripods", Price: 129},
	{SKU: "battery-np", Name: "Spare Battery NP-W", Category: "power", Price: 59, InStock: false},
	{SKU: "plan-starter", Name: "Starter plan", Category: "plans", Price: 29, Complements: []string{"plan-pro"}},
	{SKU: "plan-pro", Name: "Pro plan", Category: "plans", Price: 99},
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
	c := &client{base: baseURL, key: apiKey}
	var existing struct {
		Campaigns []struct{ ID string } `json:"campaigns"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/campaigns", nil, &existing); err != nil {
		return err
	}
	if len(existing.Campaigns) > 0 {
		fmt.Fprintln(out, "demo: already seeded; running sequences carry on.")
		return nil
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
			return err
		}
	}
	for _, def := range []string{CrossSell, Upsell} {
		var created struct{ ID string }
		if err := c.do(ctx, http.MethodPost, "/v1/campaigns", json.RawMessage(def), &created); err != nil {
			return err
		}
		if err := c.do(ctx, http.MethodPost, "/v1/campaigns/"+created.ID+"/publish", nil, nil); err != nil {
			return err
		}
	}
	for _, cust := range customers {
		if err := c.do(ctx, http.MethodPut, "/v1/customers/"+cust["id"].(string), without(cust, "id"), nil); err != nil {
			return err
		}
	}
	for _, ev := range events {
		if err := c.do(ctx, http.MethodPost, "/v1/events", ev, nil); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "demo: seeded 9 products, 2 campaigns, 4 customers and 4 events; watch the outbox.")
	if err := convertGrace(ctx, c, out); err != nil {
		return err
	}
	return simulateAndReport(ctx, baseURL, apiKey, out)
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
