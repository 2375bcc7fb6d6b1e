package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/demo"
	"github.com/lift-hq/lift/internal/testdb"
)

// Run `go test ./internal/demo -update` after an intended change to the
// demo's campaigns, catalogue or the templates, and review the diff.
var update = flag.Bool("update", false, "rewrite the golden files of the demo's emails")

const key = "lift_test_demo_key_0123456789abcdef"

// seeded is the real router over the application on SQLite, with the
// demo seeded through it as lift dev --demo does.
func seeded(t *testing.T) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	s := testdb.SQLite(t)
	a := apptest.New(t, s)
	_, err := a.App.BootstrapKey(context.Background(), "test", key)
	require.NoError(t, err)
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: a.App, Store: s, MaxBodyBytes: 1 << 20,
		Now: func() time.Time { return apptest.Now }}))
	t.Cleanup(srv.Close)
	ok, err := demo.Seed(context.Background(), srv.URL, key, io.Discard)
	require.NoError(t, err)
	require.True(t, ok)
	return srv
}

type preview struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
	Skipped string `json:"skipped"`
}

func post(t *testing.T, srv *httptest.Server, path string, body []byte, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s", data)
	return data
}

func previewStep(t *testing.T, srv *httptest.Server, campaignID, step, variant, customer string) preview {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"customer_id": customer, "step": step, "variant": variant})
	var p preview
	require.NoError(t, json.Unmarshal(post(t, srv, "/v1/campaigns/"+campaignID+"/preview", body, http.StatusOK), &p))
	return p
}

// TestEveryDemoStepRendersItsContent renders every step of both demo
// campaigns for the customer the demo enrols in it, checks that each
// carries the block it exists for, and compares it with its golden file.
func TestEveryDemoStepRendersItsContent(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	post(t, srv, "/v1/campaigns", []byte(demo.Experiment), http.StatusCreated) // the simulation's campaign
	cases := []struct {
		campaign, step, customer string
		has                      []string
		hasNot                   []string
		variant                  string
	}{
		// Cross-sell: what goes with the camera, how to use it, an offer.
		{"camera-accessories", "complement", "ada", []string{"35mm f/1.8 Prime Lens", "$279.00", "4.8", "The lens I never take off.",
			`class="btn cta" href="https://shop.example.com/p/lens-35?utm_campaign=camera-accessories&amp;utm_content=complement-A`}, nil, ""},
		{"camera-accessories", "guide", "ada", []string{"A spare battery means you never miss the golden hour.", "35mm f/1.8 Prime Lens"},
			[]string{`class="btn cta"`}, ""},
		{"camera-accessories", "bundle", "ada", []string{"15% off", "KIT15", "Claim 15% off"}, nil, ""},
		// Upsell: value with the customer's usage and no ask; the plans
		// side by side; social proof; the incentive.
		{"plan-upgrade", "value", "linus", []string{"847", "1\u00a0000", "(84%)"}, []string{`class="btn cta"`, `class="btn"`, "Pro plan"}, ""},
		{"plan-upgrade", "compare", "linus", []string{"Starter plan", "Pro plan", "10,000 orders a month", "Priority support",
			`class="btn cta" href="https://shop.example.com/p/plan-pro?`, "See Pro"}, nil, ""},
		{"plan-upgrade", "case-study", "linus", []string{"We moved to Pro before our busiest season",
			`class="btn cta" href="https://shop.example.com/customers/northwind?utm_campaign=plan-upgrade&amp;utm_content=case-study-A`,
			"Read Northwind&#39;s story"}, nil, ""},
		{"plan-upgrade", "annual", "linus", []string{"16", "ANNUAL16", "Go annual", "Pro plan"}, nil, ""},
		// The simulation's subject-line test: each variant's welcome.
		{"welcome-test", "hello", "ada", []string{"Three ways to get more from your camera", "A fast card for bursts."}, nil, "A"},
		{"welcome-test", "hello", "ada", []string{"Three ways to get more from your camera"}, nil, "B"},
	}
	var defs = map[string]campaign.Definition{}
	for _, raw := range []string{demo.CrossSell, demo.Upsell, demo.Experiment} {
		var d campaign.Definition
		require.NoError(t, json.Unmarshal([]byte(raw), &d))
		defs[d.ID] = d
	}
	covered := map[string]bool{}
	for _, c := range cases {
		name := c.campaign + "-" + c.step
		if c.variant != "" {
			name += "-" + c.variant
		}
		t.Run(name, func(t *testing.T) {
			p := previewStep(t, srv, c.campaign, c.step, c.variant, c.customer)
			require.Empty(t, p.Skipped)
			for _, s := range c.has {
				require.Contains(t, p.HTML, s)
			}
			for _, s := range c.hasNot {
				require.NotContains(t, p.HTML, s)
			}
			golden(t, name+".html", p.HTML)
			golden(t, name+".txt", "Subject: "+p.Subject+"\n\n"+p.Text)
		})
		covered[c.campaign+"/"+c.step] = true
	}
	for id, d := range defs {
		for _, s := range d.Steps {
			require.True(t, covered[id+"/"+s.ID], "step %s of %s has no golden test", s.ID, id)
		}
	}
}

// TestTheUpsellExampleIsTheDemos: docs/examples/plan-upgrade.json is the
// campaign the demo runs, so what the docs show is what renders above.
func TestTheUpsellExampleIsTheDemos(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/examples/plan-upgrade.json")
	require.NoError(t, err)
	require.JSONEq(t, demo.Upsell, string(doc))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./internal/demo -update")
	require.Equal(t, string(want), got, "%s changed: if intended, run go test ./internal/demo -update and review the diff", path)
}
