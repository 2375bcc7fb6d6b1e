package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testForm is the New A/B test form as a marketer fills it in: variant
// B's subject, the split and the settings.
func testForm(csrf, base, subject string) url.Values {
	return url.Values{"csrf": {csrf}, "base_version": {base}, "step": {"complement"},
		"split": {"50", "50", "", ""}, "subject": {subject, "", ""}, "preheader": {"", "", ""}, "heading": {"", "", ""},
		"body": {"", "", ""}, "cta": {"", "", ""}, "cta_url": {"", "", ""}, "at": {"", "", ""}, "percent_off": {"", "", ""},
		"code": {"", "", ""}, "omit": {"", "", ""}, "holdout": {"10"}, "metric": {"conversion_rate"}, "min_sends": {"200"}, "alpha": {"0.05"}}
}

func TestConsoleStartsAnABTestInOneAction(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-ada","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
		require.Equal(t, 202, st, "%v", body)
		br := &browser{t: t, b: b}
		require.Equal(t, 303, br.signIn(key))
		st, page, _ := br.get("/console/campaigns/camera-accessories")
		require.Equal(t, 200, st)
		require.Contains(t, page, `href="/console/campaigns/camera-accessories/tests/new"`)
		csrf := csrfRE.FindStringSubmatch(page)[1]

		st, page, _ = br.get("/console/campaigns/camera-accessories/tests/new")
		require.Equal(t, 200, st, page)
		for _, name := range []string{"step", "subject", "heading", "body", "cta", "split", "holdout", "metric", "min_sends", "alpha"} {
			require.Contains(t, page, `name="`+name+`"`, "the form has an input named after the experiment's %s", name)
		}
		require.Contains(t, page, ">Start test</button>")
		require.Contains(t, page, `name="base_version" value="1"`)

		// A challenger that changes nothing is refused beside its inputs.
		st, page, _ = br.post("/console/campaigns/camera-accessories/tests", withAction(testForm(csrf, "1", ""), "preview"))
		require.Equal(t, 422, st)
		require.Contains(t, page, "variant B changes nothing")
		// A subject that does not parse is shown beside B's subject.
		st, page, _ = br.post("/console/campaigns/camera-accessories/tests", withAction(testForm(csrf, "1", "{{.Oops"), "preview"))
		require.Equal(t, 422, st)
		require.Regexp(t, `name="subject" value="\{\{.Oops"><span class="field-error">`, page)

		// Preview: every variant side by side, for the sample customer
		// and for a real one.
		form := testForm(csrf, "1", "Made for your {{.Trigger.ProductName}}")
		form.Set("customer_id", "ada")
		st, page, _ = br.post("/console/campaigns/camera-accessories/tests", withAction(form, "preview"))
		require.Equal(t, 200, st, page)
		require.Contains(t, page, `id="preview-A"`)
		require.Contains(t, page, `id="preview-B"`)
		require.Contains(t, page, "Made for your X100")
		require.Contains(t, page, `class="phone"`)
		require.Contains(t, page, "ada · Made for your X100")
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 1, body["latest_version"], "a preview changes nothing")

		// Start: v2 is published with the test, and it runs.
		st, _, hdr := br.post("/console/campaigns/camera-accessories/tests", withAction(testForm(csrf, "1", "Made for your {{.Trigger.ProductName}}"), "start"))
		require.Equal(t, 303, st)
		st, page, _ = br.get(hdr.Get("Location"))
		require.Equal(t, 200, st)
		require.Contains(t, page, "Test test-v2 started: v2 is published with it.")
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories/experiments/test-v2", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "running", body["status"])
		require.EqualValues(t, 2, body["version"])
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 2, body["latest_version"])
		def := body["published_definition"].(map[string]any)
		require.EqualValues(t, 10, def["holdout"])
		require.Contains(t, body["definition"].(map[string]any), "experiment", "the draft is the published version")
		st, body = b.do(t, "GET", "/v1/audit-log?action=experiment.start", "")
		require.Equal(t, 200, st)
		require.Contains(t, mustJSON(t, body), "camera-accessories")

		// The same form again (another marketer's tab, drawn from v1): a
		// clear conflict, nothing published.
		st, page, _ = br.post("/console/campaigns/camera-accessories/tests", withAction(testForm(csrf, "1", "Another idea"), "start"))
		require.Equal(t, 409, st)
		require.Contains(t, page, "was published as v2 since this form was drawn from v1")
		// Draft edits that were never published are not overwritten.
		st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", strings.Replace(cameraCampaign, `"5 accessories"`, `"Six accessories"`, 1))
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/experiments/test-v2/stop", "")
		require.Equal(t, 200, st, "%v", body)
		st, page, _ = br.post("/console/campaigns/camera-accessories/tests", withAction(testForm(csrf, "2", "Another idea"), "start"))
		require.Equal(t, 409, st)
		require.Contains(t, page, "has draft changes that were never published")
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 2, body["latest_version"])

		// Without the session's token the form is refused.
		form = withAction(testForm("", "2", "x"), "start")
		form.Del("csrf")
		st, _, _ = br.post("/console/campaigns/camera-accessories/tests", form)
		require.Equal(t, 403, st)
	})
}

func withAction(v url.Values, action string) url.Values {
	v.Set("action", action)
	return v
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
