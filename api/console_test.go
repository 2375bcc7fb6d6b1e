package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// browser is a cookie-keeping client of the console over httptest.
type browser struct {
	t       *testing.T
	b       *bundle
	cookie  string
	addr    string   // the client's address, host:port
	headers []string // sent with every request, name then value
	last    *http.Cookie
}

func (br *browser) get(path string) (int, string, http.Header) {
	req := httptest.NewRequest("GET", path, nil)
	return br.send(req)
}

func (br *browser) post(path string, form url.Values) (int, string, http.Header) {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return br.send(req)
}

func (br *browser) send(req *http.Request) (int, string, http.Header) {
	if br.addr != "" {
		req.RemoteAddr = br.addr
	}
	for i := 0; i+1 < len(br.headers); i += 2 {
		req.Header.Set(br.headers[i], br.headers[i+1])
	}
	if br.cookie != "" {
		req.Header.Set("Cookie", br.cookie)
	}
	rec := httptest.NewRecorder()
	br.b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "lift_console" {
			br.cookie, br.last = c.Name+"="+c.Value, c
			if c.MaxAge < 0 {
				br.cookie = ""
			}
		}
	}
	return rec.Code, rec.Body.String(), rec.Header()
}

// signIn posts an API key to the sign-in form and returns the status.
func (br *browser) signIn(apiKey string) int {
	st, _, _ := br.post("/console/login", url.Values{"api_key": {apiKey}})
	return st
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestConsoleSignInExperimentButtonsAndPreviews(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		def := strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell", "holdout": 10,
	  "experiment": {"id": "subj-1", "variants": [{"id": "A", "weight": 1},
	    {"id": "B", "weight": 1, "steps": {"complement": {"subject": "Made for your {{.Trigger.ProductName}}"}}}]},`, 1)
		st, body := b.do(t, "POST", "/v1/campaigns", def)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)
		br := &browser{t: t, b: b}

		st, _, hdr := br.get("/console")
		require.Equal(t, 303, st, "not signed in")
		require.Equal(t, "/console/login", hdr.Get("Location"))
		st, page, _ := br.post("/console/login", url.Values{"api_key": {"wrong"}})
		require.Equal(t, 401, st)
		require.Contains(t, page, "not valid")
		require.Empty(t, br.cookie)
		st = br.signIn(key)
		require.Equal(t, 303, st)
		require.NotEmpty(t, br.cookie)
		require.NotContains(t, br.cookie, key, "the cookie never holds the key")

		st, page, hdr = br.get("/console")
		require.Equal(t, 200, st)
		require.Contains(t, page, "camera-accessories")
		require.Contains(t, hdr.Get("Content-Security-Policy"), "default-src 'none'")

		st, page, _ = br.get("/console/campaigns/camera-accessories")
		require.Equal(t, 200, st, page)
		require.Contains(t, page, "Start experiment subj-1")
		require.Contains(t, page, `id="previews"`)
		require.Contains(t, page, "Made for your X100", "B's subject, rendered with sample data")
		csrf := csrfRE.FindStringSubmatch(page)[1]

		// The page's report link works from the signed-in browser.
		require.Contains(t, page, `href="/console/campaigns/camera-accessories/report"`)
		st, report, _ := br.get("/console/campaigns/camera-accessories/report")
		require.Equal(t, 200, st, report)
		require.Contains(t, report, `"variants"`)

		// A form without the session's token is refused; with it, it starts.
		st, _, _ = br.post("/console/campaigns/camera-accessories/experiments/start", url.Values{"metric": {"conversion_rate"}})
		require.Equal(t, 403, st)
		st, _, hdr = br.post("/console/campaigns/camera-accessories/experiments/start",
			url.Values{"csrf": {csrf}, "metric": {"conversion_rate"}, "min_sends": {"50"}})
		require.Equal(t, 303, st)
		st, page, _ = br.get(hdr.Get("Location"))
		require.Equal(t, 200, st)
		require.Contains(t, page, "Experiment subj-1 started.")
		require.Contains(t, page, "Promote B")

		// With enrolments, each variant links to its journeys in the Temporal UI.
		st, body = b.do(t, "PUT", "/v1/products/cam-1", `{"name":"X100","category":"cameras","price":899}`)
		require.Equal(t, 200, st, "%v", body)
		b.camerasBoughtByPrefix(t, "k-", 30)
		st, page, _ = br.get("/console/campaigns/camera-accessories")
		require.Equal(t, 200, st)
		require.Contains(t, page, `http://ui.example:8233/namespaces/shop/workflows?query=CampaignId%3D%22camera-accessories%22`)
		require.Contains(t, page, `CampaignId%3D%22camera-accessories%22&#43;AND&#43;Variant%3D%22B%22`)
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories/experiments/subj-1", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 50, body["min_sends"])

		st, _, _ = br.post("/console/campaigns/camera-accessories/experiments/conclude",
			url.Values{"csrf": {csrf}, "winner": {"B"}, "move_running": {"on"}})
		require.Equal(t, 303, st)
		require.Contains(t, b.seq.Signals(), "promote/camera-accessories/subj-1 B")
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories/experiments/subj-1", "")
		require.Equal(t, 200, st)
		require.Equal(t, "concluded", body["status"])

		st, page, _ = br.get("/console/campaigns/camera-accessories/preview?step=complement&variant=B&lang=en")
		require.Equal(t, 200, st, page)
		require.Contains(t, page, "Made for your X100")
		st, page, hdr = br.get("/console/campaigns/camera-accessories/preview?step=complement&variant=B&lang=en&raw=1")
		require.Equal(t, 200, st)
		require.Contains(t, page, "<html")
		require.Contains(t, hdr.Get("Content-Security-Policy"), "default-src 'none'")
		st, _, _ = br.get("/console/campaigns/camera-accessories/preview?step=nope&variant=B")
		require.Equal(t, 404, st)
		st, _, _ = br.get("/console/campaigns/nope")
		require.Equal(t, 404, st)

		st, _, _ = br.post("/console/logout", url.Values{"csrf": {csrf}})
		require.Equal(t, 303, st)
		st, _, _ = br.get("/console")
		require.Equal(t, 303, st, "signed out")
	})
}

// Rotating the API key ends the console sessions it opened.
func TestConsoleSessionEndsWithItsKey(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		br := &browser{t: t, b: b}
		st := br.signIn(key)
		require.Equal(t, 303, st)
		st, _, _ = br.get("/console")
		require.Equal(t, 200, st)
		require.NoError(t, b.store.DB().Exec("DELETE FROM api_keys").Error)
		st, _, _ = br.get("/console")
		require.Equal(t, 303, st)
		br.cookie = "lift_console=forged.value"
		st, _, _ = br.get("/console")
		require.Equal(t, 303, st)
	})
}

// Signing out ends the session on the server: a copy of the cookie taken
// before stops working, on every replica.
func TestConsoleSignOutEndsTheSessionEverywhere(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		br := &browser{t: t, b: b}
		st := br.signIn(key)
		require.Equal(t, 303, st)
		other := &browser{t: t, b: on(t, b.store), cookie: br.cookie}
		st, _, _ = other.get("/console")
		require.Equal(t, 200, st, "another replica sees the session")
		stolen := &browser{t: t, b: b, cookie: br.cookie}

		st, page, _ := br.get("/console")
		require.Equal(t, 200, st)
		csrf := csrfRE.FindStringSubmatch(page)[1]
		st, _, _ = br.post("/console/logout", url.Values{"csrf": {csrf}})
		require.Equal(t, 303, st)
		require.Empty(t, br.cookie, "the browser is told to forget the cookie")
		st, _, hdr := stolen.get("/console")
		require.Equal(t, 303, st, "a copy of the cookie is signed out too")
		require.Equal(t, "/console/login", hdr.Get("Location"))
		st, _, _ = other.get("/console")
		require.Equal(t, 303, st, "on every replica")

		// Sessions end after twelve hours whatever happens.
		st = br.signIn(key)
		require.Equal(t, 303, st)
		require.WithinDuration(t, apptest.Now.Add(12*time.Hour), br.last.Expires, time.Second)
		b.app.SetNow(apptest.Now.Add(12*time.Hour + time.Second))
		st, _, _ = br.get("/console")
		require.Equal(t, 303, st, "expired")
	})
}

// Failed sign-ins are limited per client address, across replicas; the
// client cannot choose its address with X-Forwarded-For unless it comes
// through a trusted proxy.
func TestConsoleSignInAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		guesser := &browser{t: t, b: b, addr: "203.0.113.7:5000"}
		for i := range app.MaxSignInFailures {
			guesser.headers = []string{"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)}
			st := guesser.signIn(fmt.Sprintf("guess-%d", i))
			require.Equal(t, 401, st)
		}
		st, page, hdr := guesser.post("/console/login", url.Values{"api_key": {key}})
		require.Equal(t, 429, st, "even the right key waits once the address is over the limit")
		require.Contains(t, page, "Too many failed sign-ins")
		require.Equal(t, "900", hdr.Get("Retry-After"))
		require.Empty(t, guesser.cookie)
		st = (&browser{t: t, b: on(t, b.store), addr: "203.0.113.7:6000"}).signIn(key)
		require.Equal(t, 429, st, "the count is shared by every replica")

		st = (&browser{t: t, b: b, addr: "192.0.2.1:5000"}).signIn(key)
		require.Equal(t, 303, st, "another address signs in")
		var n int64
		require.NoError(t, b.store.DB().Model(&models.SignInFailure{}).Where("source LIKE ?", "%203.0.113%").Count(&n).Error)
		require.Zero(t, n, "addresses are stored hashed")

		b.app.SetNow(apptest.Now.Add(16 * time.Minute))
		st = guesser.signIn(key)
		require.Equal(t, 303, st, "the window passes")

		// Behind a trusted load balancer, X-Forwarded-For names the client.
		lb := on(t, b.store, func(d *api.Deps) { d.TrustedProxies = []string{"10.0.0.0/8"} })
		for i := range app.MaxSignInFailures {
			br := &browser{t: t, b: lb, addr: fmt.Sprintf("10.0.0.%d:443", i+1), headers: []string{"X-Forwarded-For", "198.51.100.99"}}
			st = br.signIn("nope")
			require.Equal(t, 401, st)
		}
		st = (&browser{t: t, b: lb, addr: "10.0.0.1:443", headers: []string{"X-Forwarded-For", "198.51.100.99"}}).
			signIn(key)
		require.Equal(t, 429, st)
		st = (&browser{t: t, b: lb, addr: "10.0.0.1:443", headers: []string{"X-Forwarded-For", "198.51.100.100"}}).
			signIn(key)
		require.Equal(t, 303, st)
	})
}

// The cookie is Secure when Lift is reached over HTTPS, even when TLS
// ends at a proxy in front of it.
func TestConsoleCookieIsSecureWhenThePublicURLIsHTTPS(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	for _, tc := range []struct {
		secure bool
		want   bool
	}{{false, false}, {true, true}} {
		br := &browser{t: t, b: on(t, s, func(d *api.Deps) { d.SecureCookies = tc.secure })}
		st := br.signIn(key)
		require.Equal(t, 303, st)
		require.Equal(t, tc.want, br.last.Secure)
		require.True(t, br.last.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, br.last.SameSite)
	}
}

// TestConsoleShowsWhyACampaignIsHeld: when the guardrails have paused
// every variant, the campaign page says new enrolments are held and why,
// and the list marks the campaign.
func TestConsoleShowsWhyACampaignIsHeld(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	def := strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell",
	  "experiment": {"id": "subj-1", "variants": [{"id": "A", "weight": 1}, {"id": "B", "weight": 1}]},`, 1)
	st, body := b.do(t, "POST", "/v1/campaigns", def)
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/experiments", `{}`)
	require.Equal(t, 201, st, "%v", body)
	_, err := b.store.SaveExperimentCheck(context.Background(), "camera-accessories", "subj-1", map[string]float64{},
		map[string]string{"A": "spam-complaint rate 0.4%", "B": "unsubscribe rate 0.9%"}, apptest.Now)
	require.NoError(t, err)

	br := &browser{t: t, b: b}
	require.Equal(t, 303, br.signIn(key))
	st, page, _ := br.get("/console/campaigns/camera-accessories")
	require.Equal(t, 200, st)
	require.Contains(t, page, `id="held"`)
	require.Contains(t, page, "New enrolments are held.")
	require.Contains(t, page, "its guardrails paused every variant (A: spam-complaint rate 0.4%; B: unsubscribe rate 0.9%)")
	require.Contains(t, page, `<span class="pill paused">paused</span>`, "the experiment reads paused")
	st, page, _ = br.get("/console")
	require.Equal(t, 200, st)
	require.Contains(t, page, ">held</span>")
	st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
	require.Equal(t, 200, st)
	require.Contains(t, body["held"], "paused every variant")
}

// TestPauseResumeAndUnpublishACampaign: a paused campaign enrols no one
// (the event says why), its page shows the reason, resuming lets it
// enrol again, and an unpublished one takes no one until published.
func TestPauseResumeAndUnpublishACampaign(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		br := &browser{t: t, b: b}
		require.Equal(t, 303, br.signIn(key))
		st, page, _ := br.get("/console/campaigns/camera-accessories")
		require.Equal(t, 200, st)
		csrf := csrfRE.FindStringSubmatch(page)[1]
		st, page, _ = br.post("/console/campaigns/camera-accessories/state/pause", url.Values{"csrf": {csrf}})
		require.Equal(t, 422, st, "a pause needs a reason")
		require.Contains(t, page, "say why")
		st, _, hdr := br.post("/console/campaigns/camera-accessories/state/pause", url.Values{"csrf": {csrf}, "reason": {"prices are being fixed"}})
		require.Equal(t, 303, st)
		st, page, _ = br.get(hdr.Get("Location"))
		require.Equal(t, 200, st)
		require.Contains(t, page, "Campaign paused: it takes no enrolments and its sends wait.")
		require.Contains(t, page, "prices are being fixed")
		require.Contains(t, page, "Resume campaign")

		buy := func(c string) map[string]any {
			st, body := b.do(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","marketing_consent":true}`)
			require.Equal(t, 200, st, "%v", body)
			st, body = b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"`+c+`","properties":{"order_id":"o-`+c+`","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		held := buy("p-1")
		require.Empty(t, held["started"])
		require.Contains(t, fmt.Sprint(held["skipped"]), "the campaign is paused: prices are being fixed")
		require.EqualValues(t, 1, b.app.Metrics.Count("lift_entries_refused", "campaign=camera-accessories", "reason=campaign_paused"))

		st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/resume", "")
		require.Equal(t, 200, st, "%v", body)
		require.Len(t, buy("p-2")["started"], 1, "resumed: it enrols again")

		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/unpublish", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "unpublished", body["status"])
		require.Contains(t, body["held"], "unpublished")
		require.Empty(t, buy("p-3")["started"], "unpublished: no one enters")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/unpublish", "")
		require.Equal(t, 409, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)
		require.Len(t, buy("p-4")["started"], 1, "published again")
		st, body = b.do(t, "GET", "/v1/audit-log?action=campaign.pause", "")
		require.Equal(t, 200, st)
		require.Contains(t, fmt.Sprint(body), "camera-accessories")
	})
}
