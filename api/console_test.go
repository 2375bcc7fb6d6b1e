package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// browser is a cookie-keeping client of the console over httptest.
type browser struct {
	t      *testing.T
	b      *bundle
	cookie string
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
	if br.cookie != "" {
		req.Header.Set("Cookie", br.cookie)
	}
	rec := httptest.NewRecorder()
	br.b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "lift_console" {
			br.cookie = c.Name + "=" + c.Value
		}
	}
	return rec.Code, rec.Body.String(), rec.Header()
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
		st, _, _ = br.post("/console/login", url.Values{"api_key": {key}})
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
		st, _, _ := br.post("/console/login", url.Values{"api_key": {key}})
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
