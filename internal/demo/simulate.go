package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
)

// Experiment is the demo's A/B test: a welcome email whose subject line
// differs, with a 20 % holdout that is never emailed.
const Experiment = `{
  "id": "welcome-test",
  "name": "Welcome subject-line test",
  "kind": "cross_sell",
  "trigger": {"event": "milestone"},
  "holdout": 20,
  "exit_on": ["purchase_any", "complaint", "unsubscribe"],
  "attribution_window": "60d",
  "experiment": {"id": "subject-1", "variants": [
    {"id": "A", "weight": 1},
    {"id": "B", "weight": 1, "steps": {"hello": {"subject": "{{.Customer.FirstName}}, your kit is one lens away"}}}
  ]},
  "steps": [
    {"id": "hello", "at": "0d", "subject": "Welcome, {{.Customer.FirstName}}", "template": "education",
     "heading": "Three ways to get more from your camera",
     "body": "A prime lens for portraits.\n\nA fast card for bursts.\n\nA bag that fits it all."}
  ]
}`

// TrueRates are the simulated population's conversion rates: what the
// report should recover.
var TrueRates = map[string]float64{campaign.VariantHoldout: 0.10, "A": 0.20, "B": 0.40}

// Population is what a simulation did: per variant, the customers it
// enrolled and those it made buy.
type Population struct {
	Enrolled map[string]int
	Buyers   map[string][]string
}

// Simulate runs a population of n customers with known conversion rates
// (TrueRates) through the Experiment campaign: it publishes the campaign
// and starts the experiment, enrols everyone, waits until each customer
// outside the holdout has had their email (by the report's count), then makes each customer buy
// with their variant's true probability (seeded, so a seed always makes
// the same buyers). The report then shows how close Lift gets to the
// truth.
func Simulate(ctx context.Context, baseURL, apiKey string, n int, seed uint64) (Population, error) {
	c := &client{base: baseURL, key: apiKey}
	pop := Population{Enrolled: map[string]int{}, Buyers: map[string][]string{}}
	if err := c.do(ctx, http.MethodPut, "/v1/products/lens-35", map[string]any{"name": "35mm f/1.8 Prime Lens",
		"category": "lenses", "price": 279, "currency": "USD", "url": "https://shop.example.com/p/lens-35", "in_stock": true}, nil); err != nil {
		return pop, err
	}
	var created struct{ ID string }
	if err := c.do(ctx, http.MethodPost, "/v1/campaigns", json.RawMessage(Experiment), &created); err != nil {
		return pop, err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/campaigns/"+created.ID+"/publish", nil, nil); err != nil {
		return pop, err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/campaigns/"+created.ID+"/experiments", map[string]any{"min_sends": 50}, nil); err != nil {
		return pop, err
	}
	var def campaign.Definition
	if err := json.Unmarshal([]byte(Experiment), &def); err != nil {
		return pop, err
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	var enrol, buy []any
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("sim-%04d", i)
		v := campaign.Assign(id, def.ID, def.Experiment.ID, def.Holdout, def.Experiment.Weighted())
		pop.Enrolled[v]++
		if rng.Float64() < TrueRates[v] {
			pop.Buyers[v] = append(pop.Buyers[v], id)
			buy = append(buy, map[string]any{"type": "purchase", "customer_id": id, "properties": map[string]any{
				"order_id": "sim-o-" + id, "currency": "USD", "items": []any{map[string]any{"sku": "lens-35", "quantity": 1, "price": 279}}}})
		}
		cust := map[string]any{"email": id + "@example.com", "name": "Sam " + id, "timezone": "UTC", "marketing_consent": true}
		if err := c.do(ctx, http.MethodPut, "/v1/customers/"+id, cust, nil); err != nil {
			return pop, err
		}
		enrol = append(enrol, map[string]any{"type": "milestone", "customer_id": id, "properties": map[string]any{"name": "first_login"}})
	}
	if err := c.postEvents(ctx, enrol); err != nil {
		return pop, err
	}
	emailed := int64(pop.Enrolled["A"] + pop.Enrolled["B"])
	for {
		var r struct {
			Variants []struct{ Sent int64 } `json:"variants"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/campaigns/"+def.ID+"/report", nil, &r); err != nil {
			return pop, err
		}
		var sent int64
		for _, v := range r.Variants {
			sent += v.Sent
		}
		if sent >= emailed {
			break
		}
		select {
		case <-ctx.Done():
			return pop, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err := c.engage(ctx, def.ID, pop, seed); err != nil {
		return pop, err
	}
	if err := c.postEvents(ctx, buy); err != nil {
		return pop, err
	}
	return pop, nil
}

// Engagement as the demo simulates it: most buyers click their email
// before they buy (a click is also an open); of the others, some open it
// and a few click.
const (
	buyerClicks  = 0.8
	readerOpens  = 0.4
	readerClicks = 0.1
)

// engage opens and clicks the population's emails as their recipients
// would, through lift dev's outbox (what SendGrid's event webhook reports
// in production), so the step rows and click rates have numbers.
func (c *client) engage(ctx context.Context, campaignID string, pop Population, seed uint64) error {
	var msgs struct {
		Messages []struct {
			ID         string `json:"id"`
			CustomerID string `json:"customer_id"`
			Status     string `json:"status"`
		} `json:"messages"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/messages?campaign_id="+campaignID, nil, &msgs); err != nil {
		return err
	}
	buyers := map[string]bool{}
	for _, bs := range pop.Buyers {
		for _, b := range bs {
			buyers[b] = true
		}
	}
	rng := rand.New(rand.NewPCG(seed, 12)) // apart from the buyers' draw: the same buyers whatever this does
	for _, m := range msgs.Messages {
		if m.Status != "sent" {
			continue
		}
		var acts []string
		switch r := rng.Float64(); {
		case buyers[m.CustomerID] && r < buyerClicks, !buyers[m.CustomerID] && r < readerClicks:
			acts = []string{"open", "click"}
		case !buyers[m.CustomerID] && r < readerOpens:
			acts = []string{"open"}
		}
		for _, act := range acts {
			if err := c.do(ctx, http.MethodPost, "/dev/outbox/"+m.ID+"/"+act, nil, nil); err != nil {
				return fmt.Errorf("%s message %s: %w", act, m.ID, err)
			}
		}
	}
	return nil
}

// simulateBatch is how many events postEvents sends per request: each
// one that enrols starts a workflow inside the request, so a batch is
// kept well inside the API's 30 s write timeout even on a busy machine.
const simulateBatch = 100

// postEvents sends events through the batch endpoint, simulateBatch at a
// time, and fails if any one of them was refused (the batch itself
// answers 200).
func (c *client) postEvents(ctx context.Context, events []any) error {
	for start := 0; start < len(events); start += simulateBatch {
		var out struct {
			Results []struct {
				Index  int `json:"index"`
				Status int `json:"status"`
				Error  *struct {
					Message string `json:"message"`
				} `json:"error"`
			} `json:"results"`
		}
		batch := events[start:min(start+simulateBatch, len(events))]
		if err := c.do(ctx, http.MethodPost, "/v1/events:batch", map[string]any{"events": batch}, &out); err != nil {
			return err
		}
		for _, r := range out.Results {
			if r.Status >= 300 {
				msg := ""
				if r.Error != nil {
					msg = r.Error.Message
				}
				return fmt.Errorf("event %d of the batch was refused (%d): %s", start+r.Index, r.Status, msg)
			}
		}
	}
	return nil
}

// simulateAndReport runs the demo's simulation and prints the report
// against the truth once every purchase is counted.
func simulateAndReport(ctx context.Context, baseURL, apiKey string, out io.Writer) error {
	pop, err := Simulate(ctx, baseURL, apiKey, 500, 2026)
	if err != nil {
		return err
	}
	c := &client{base: baseURL, key: apiKey}
	buyers := 0
	for _, b := range pop.Buyers {
		buyers += len(b)
	}
	for {
		var r struct {
			Variants []struct {
				Variant        string  `json:"variant"`
				Enrolled       int     `json:"enrolled"`
				Converted      int     `json:"converted"`
				ConversionRate float64 `json:"conversion_rate"`
				CI             struct{ Low, High float64 }
			} `json:"variants"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/campaigns/welcome-test/report", nil, &r); err != nil {
			return err
		}
		got := 0
		for _, v := range r.Variants {
			got += v.Converted
		}
		if got >= buyers {
			fmt.Fprintln(out, "demo: the welcome-test experiment, simulated population against the truth:")
			for _, v := range r.Variants {
				fmt.Fprintf(out, "  %-8s enrolled %3d  bought %3d  true rate %.0f%%  reported %.1f%%\n", v.Variant, v.Enrolled,
					v.Converted, 100*TrueRates[v.Variant], 100*v.ConversionRate)
			}
			fmt.Fprintln(out, "demo: read it in the console at "+baseURL+"/console/campaigns/welcome-test")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
