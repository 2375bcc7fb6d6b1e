package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

const key = "test-key-0123456789abcdef0123456789"

func signer(t *testing.T) unsub.Signer {
	t.Helper()
	s, err := unsub.NewSigner(strings.Repeat("u", 32)) // apptest's secret
	require.NoError(t, err)
	return s
}

// bundle is the real router over the real application and a store, with
// fakes of Temporal and the mailer.
type bundle struct {
	h      *gin.Engine
	store  *models.Store
	seq    *apptest.Sequences
	mailer *apptest.Mailer
	app    *apptest.Bundle
}

// eachStore runs a test against a bundle on SQLite and one on
// PostgreSQL, in parallel; on builds a bundle on a given store.
func eachStore(t *testing.T, test func(t *testing.T, b *bundle)) {
	testdb.EachParallel(t, func(t *testing.T, s *models.Store) {
		test(t, on(t, s))
	})
}

func on(t testing.TB, store *models.Store, opts ...func(*api.Deps)) *bundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	a := apptest.New(t, store)
	_, err := a.App.BootstrapKey(context.Background(), "test", key)
	require.NoError(t, err)
	d := api.Deps{App: a.App, Store: store, MaxBodyBytes: 64 << 10, Now: func() time.Time { return apptest.Now },
		TemporalUI: "http://ui.example:8233", Namespace: "shop",
		Webhook: api.SendGridWebhook{MaxAge: a.Config.SendGridWebhookMaxAge, MaxBytes: a.Config.SendGridWebhookMaxBytes,
			Concurrent: a.Config.SendGridWebhookConcurrency}}
	for _, o := range opts {
		o(&d)
	}
	return &bundle{h: api.NewRouter(d), store: store, seq: a.Sequences, mailer: a.Mailer, app: a}
}

// do sends a request with the test key and returns the status and body.
func (b *bundle) do(t testing.TB, method, path, body string) (int, map[string]any) {
	t.Helper()
	return b.doWith(t, method, path, body, "Bearer "+key)
}

func (b *bundle) doWith(t testing.TB, method, path, body, auth string, headers ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	var out map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	}
	return rec.Code, out
}

// newKey makes an API key with scopes through the API and returns it.
func (b *bundle) newKey(t testing.TB, name string, scopes ...domain.KeyScope) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "scopes": scopes})
	require.NoError(t, err)
	st, out := b.do(t, "POST", "/v1/api-keys", string(body))
	require.Equal(t, 201, st, "%v", out)
	return out["key"].(string)
}

// requireError asserts an error response's status, code and field.
func requireError(t *testing.T, status int, body map[string]any, wantStatus int, code, field string) {
	t.Helper()
	require.Equal(t, wantStatus, status, "%v", body)
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "error body: %v", body)
	require.Equal(t, code, e["code"], "%v", e)
	if field != "" {
		require.Equal(t, field, e["field"], "%v", e)
	}
	require.NotEmpty(t, e["message"])
}

const cameraCampaign = `{
  "id": "camera-accessories", "name": "Camera accessories", "kind": "cross_sell",
  "trigger": {"event": "purchase", "where": {"category": "cameras"}},
  "exit_on": ["purchase_of_recommended", "complaint", "unsubscribe"],
  "steps": [
    {"id": "complement", "at": "3d-7d", "subject": "Complete your {{.Trigger.ProductName}} kit",
     "template": "recommendation", "recommend": {"strategy": "complements", "limit": 2}},
    {"id": "guide", "at": "10d-14d", "subject": "5 accessories", "template": "education"}
  ]
}`

// seed creates a camera, a customer and the published camera campaign.
func (b *bundle) seed(t testing.TB) {
	t.Helper()
	st, body := b.do(t, "PUT", "/v1/products/cam-1", `{"name":"X100","category":"cameras","price":899,"currency":"USD","complements":["lens-1"]}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "PUT", "/v1/products/lens-1", `{"name":"35mm lens","category":"lenses","price":279.5}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","name":"Ada","timezone":"Europe/London","marketing_consent":true}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns", cameraCampaign)
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
	require.Equal(t, 201, st, "%v", body)
	require.EqualValues(t, 1, body["version"])
}

// camerasBoughtBy has customers c-0 … c-(n-1), each consenting, buy cam-1.
func (b *bundle) camerasBoughtBy(t *testing.T, n int) {
	t.Helper()
	b.camerasBoughtByPrefix(t, "c-", n)
}

// camerasBoughtByPrefix has n new customers, named prefix0, prefix1, …,
// buy a camera.
func (b *bundle) camerasBoughtByPrefix(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c := fmt.Sprint(prefix, i)
		st, body := b.do(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"id":"ev-%s","type":"purchase","customer_id":"%s","properties":{"order_id":"o-%s","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`, c, c, c))
		require.Equal(t, 202, st, "%v", body)
	}
}

const purchase = `{"id":"%s","type":"purchase","customer_id":"ada","properties":{"order_id":"%s","currency":"USD","items":[{"sku":"%s","quantity":1,"price":899}]}}`

func TestAuthentication(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.doWith(t, "GET", "/v1/campaigns", "", "")
		requireError(t, st, body, 401, "unauthorized", "")
		st, body = b.doWith(t, "GET", "/v1/campaigns", "", "Bearer wrong")
		requireError(t, st, body, 401, "unauthorized", "")
		st, body = b.doWith(t, "GET", "/v1/campaigns", "", "Basic "+key)
		requireError(t, st, body, 401, "unauthorized", "")
		st, _ = b.do(t, "GET", "/v1/campaigns", "")
		require.Equal(t, 200, st)
		st, _ = b.doWith(t, "GET", "/healthz", "", "")
		require.Equal(t, 200, st, "health checks need no key")
	})
}

func TestBadInputIsRefusedWithTheFieldNamed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		cases := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"malformed JSON", "POST", "/v1/events", `{"type":`, 400, "malformed", ""},
			{"empty body", "POST", "/v1/events", ``, 400, "malformed", ""},
			{"not an object", "POST", "/v1/events", `[1,2]`, 400, "malformed", ""},
			{"trailing data", "POST", "/v1/events", `{"type":"purchase"} {}`, 400, "malformed", ""},
			{"unknown field", "POST", "/v1/events", `{"type":"purchase","customerId":"ada"}`, 422, "invalid", "customerId"},
			{"wrong type", "POST", "/v1/events", `{"type":7}`, 422, "invalid", "type"},
			{"missing type", "POST", "/v1/events", `{"customer_id":"ada"}`, 422, "invalid", "type"},
			{"unknown event type", "POST", "/v1/events", `{"type":"bought","customer_id":"ada"}`, 422, "invalid", "type"},
			{"missing customer_id", "POST", "/v1/events", `{"type":"purchase"}`, 422, "invalid", "customer_id"},
			{"purchase without items", "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-9"}}`, 422, "invalid", "properties.items"},
			{"purchase without order", "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"items":[{"sku":"cam-1","quantity":1,"price":1}]}}`, 422, "invalid", "properties.order_id"},
			{"bad quantity", "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-9","items":[{"sku":"cam-1","quantity":0,"price":1}]}}`, 422, "invalid", "properties.items[0].quantity"},
			{"usage without limit", "POST", "/v1/events", `{"type":"usage","customer_id":"ada","properties":{"metric":"orders","used":5}}`, 422, "invalid", "properties.limit"},
			{"future event", "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","occurred_at":"2030-01-01T00:00:00Z","properties":{"name":"x"}}`, 422, "invalid", "occurred_at"},
			{"bad email", "PUT", "/v1/customers/bob", `{"email":"bob@","marketing_consent":true}`, 422, "invalid", "email"},
			{"bad time zone", "PUT", "/v1/customers/bob", `{"email":"bob@example.com","timezone":"Mars/Base","marketing_consent":true}`, 422, "invalid", "timezone"},
			{"consent missing", "PUT", "/v1/customers/bob", `{"email":"bob@example.com"}`, 422, "invalid", "marketing_consent"},
			{"negative price", "PUT", "/v1/products/p", `{"name":"P","price":-1}`, 422, "invalid", "price"},
			{"sub-cent price", "PUT", "/v1/products/p", `{"name":"P","price":1.234}`, 422, "invalid", "price"},
			{"bad currency", "PUT", "/v1/products/p", `{"name":"P","currency":"usd"}`, 422, "invalid", "currency"},
			{"unknown season", "PUT", "/v1/products/p", `{"name":"P","seasons":["winter","monsoon"]}`, 422, "invalid", "seasons[1]"},
			{"negative tier rank", "PUT", "/v1/products/p", `{"name":"P","tier_rank":-1}`, 422, "invalid", "tier_rank"},
			{"feature with control character", "PUT", "/v1/products/p", `{"name":"P","features":["ok","bad\u0007"]}`, 422, "invalid", "features"},
			{"campaign bad offset", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `"at": "3d-7d"`, `"at": "soon"`, 1), 422, "invalid", "steps[0].at"},
			{"campaign bad template", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `"template": "education"`, `"template": "poster"`, 1), 422, "invalid", "steps[1].template"},
			{"campaign bad subject", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `5 accessories`, `{{.Oops`, 1), 422, "invalid", "steps[1].subject"},
			{"campaign unknown template field", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `5 accessories`, `{{.Customer.Nickname}}`, 1), 422, "invalid", "steps[1].subject"},
			{"campaign incentive field without incentive", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `5 accessories`, `{{.Incentive.Code}}`, 1), 422, "invalid", "steps[1].subject"},
			{"customer name with NUL", "PUT", "/v1/customers/bob", `{"email":"bob@example.com","name":"Bo\u0000b","marketing_consent":true}`, 422, "invalid", "name"},
			{"customer name too long", "PUT", "/v1/customers/bob", `{"email":"bob@example.com","name":"` + strings.Repeat("b", 201) + `","marketing_consent":true}`, 422, "invalid", "name"},
			{"bad occurred_at", "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","occurred_at":"yesterday","properties":{"name":"x"}}`, 422, "invalid", "occurred_at"},
			{"campaign unknown field", "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `"kind"`, `"knd": 1, "kind"`, 1), 422, "invalid", "knd"},
			{"campaign duplicate", "POST", "/v1/campaigns", cameraCampaign, 409, "conflict", ""},
			{"campaign id mismatch", "PUT", "/v1/campaigns/other", cameraCampaign, 422, "invalid", "id"},
			{"unknown campaign", "GET", "/v1/campaigns/nope", "", 404, "not_found", ""},
			{"publish unknown campaign", "POST", "/v1/campaigns/nope/publish", "", 404, "not_found", ""},
			{"unknown message", "GET", "/v1/messages/nope/html", "", 404, "not_found", ""},
			{"journeys of unknown customer", "GET", "/v1/customers/nope/journeys", "", 404, "not_found", ""},
			{"pause a sequence that is not running", "POST", "/v1/customers/ada/journeys/camera-accessories/pause", "", 404, "not_found", ""},
			{"unknown route", "GET", "/v1/nothing", "", 404, "not_found", ""},
			{"wrong method", "DELETE", "/v1/events", "", 405, "method_not_allowed", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var events int64
				require.NoError(t, b.store.DB().Model(&models.Event{}).Count(&events).Error)
				st, body := b.do(t, c.method, c.path, c.body)
				requireError(t, st, body, c.status, c.code, c.field)
				var after int64
				require.NoError(t, b.store.DB().Model(&models.Event{}).Count(&after).Error)
				require.Equal(t, events, after, "nothing half-written")
				require.Empty(t, b.seq.Started(), "nothing enrolled")
			})
		}
	})
}

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		big := `{"type":"milestone","customer_id":"ada","properties":{"name":"` + strings.Repeat("x", 70<<10) + `"}}`
		st, body := b.do(t, "POST", "/v1/events", big)
		requireError(t, st, body, 413, "too_large", "")
	})
}

func TestPurchaseEnrolsMatchingCampaignsOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st, "%v", body)
		require.Len(t, body["started"], 1)
		started := body["started"].([]any)[0].(map[string]any)
		require.Equal(t, "seq/camera-accessories/ada", started["workflow_id"])
		require.Len(t, b.seq.Started(), 1)
		in := b.seq.Started()[0]
		require.Equal(t, "Europe/London", in.Timezone)
		require.Equal(t, "ev-1", in.TriggerEventID)
		require.Equal(t, 1, in.Version)
		require.Len(t, in.Steps, 2)
		require.Equal(t, 3, in.Steps[0].Window.Min.Days)
		require.Equal(t, 7, in.Steps[0].Window.Max.Days)
		require.Equal(t, workflows.DefaultSendWindow, in.SendWindow)

		// The same event again (a client retry) enrols nobody twice.
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st, "%v", body)
		require.Empty(t, body["started"])
		require.Len(t, body["already_enrolled"], 1)
		require.Len(t, b.seq.Started(), 1)

		// The same order again without an event ID (a retry after a timeout)
		// is the same purchase: nobody is enrolled twice.
		st, body = b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Equal(t, "ev-1", body["event_id"])
		require.Len(t, b.seq.Started(), 1)

		// The same ID for a different event is refused.
		st, body = b.do(t, "POST", "/v1/events", `{"id":"ev-1","type":"page_view","customer_id":"ada","properties":{"sku":"cam-1"}}`)
		requireError(t, st, body, 409, "conflict", "id")
		// So is the same ID with other properties or another time: only a
		// retry of the same event replays.
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "lens-1"))
		requireError(t, st, body, 409, "conflict", "id")
		st, body = b.do(t, "POST", "/v1/events", `{"id":"ev-1","type":"purchase","customer_id":"ada","occurred_at":"2026-05-01T09:00:00Z","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
		requireError(t, st, body, 409, "conflict", "id")

		// Another customer's order ID is a conflict, named.
		st, body = b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"bob","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":1}]}}`)
		requireError(t, st, body, 409, "conflict", "properties.order_id")

		// A later purchase signals the running sequence so its exit goals are checked.
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-2", "o-2", "lens-1"))
		require.Equal(t, 202, st, "%v", body)
		require.Empty(t, body["started"], "a lens is not a camera")
		// The retry signalled too (the workflow ignores its own trigger order);
		// this purchase is the one that may convert.
		require.Equal(t, []string{"seq/camera-accessories/ada purchase", "seq/camera-accessories/ada purchase",
			"seq/camera-accessories/ada purchase"}, b.seq.Signals())
	})
}

func TestEventsThatMatchNoTriggerStartNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "lens-1"))
		require.Equal(t, 202, st, "%v", body)
		require.Empty(t, body["started"])
		st, _ = b.do(t, "POST", "/v1/events", `{"type":"usage","customer_id":"ada","properties":{"metric":"orders","used":5,"limit":10}}`)
		require.Equal(t, 202, st)
		require.Empty(t, b.seq.Started())
	})
}

func TestUnsubscribeEventSuppressesAndSignals(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		st, body := b.do(t, "POST", "/v1/events", `{"type":"unsubscribe","customer_id":"ada"}`)
		require.Equal(t, 202, st, "%v", body)
		require.Equal(t, []string{"seq/camera-accessories/ada unsubscribe"}, b.seq.Signals())
		sup, err := b.store.Suppressed(context.Background(), "ada@example.com", "camera-accessories")
		require.NoError(t, err)
		require.NotNil(t, sup)
	})
}

func TestTemporalDownIs503AndReadyzSaysSo(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.seq.StartErr = errs.E(errs.Unavailable, "temporal unreachable")
		st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		requireError(t, st, body, 503, "unavailable", "")
		// The client retries the same event once Temporal is back: it enrols.
		b.seq.StartErr = nil
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st, "%v", body)
		require.Len(t, body["started"], 1)

		b.seq.PingErr = errs.E(errs.Unavailable, "down")
		st, body = b.doWith(t, "GET", "/readyz", "", "")
		require.Equal(t, 503, st)
		require.Equal(t, "unavailable", body["checks"].(map[string]any)["temporal"])
		require.Equal(t, "ok", body["checks"].(map[string]any)["database"])
	})
}

func TestConsentIsARecord(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","marketing_consent":true,"consent_source":"checkout"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "checkout", body["consent_source"])
		require.Equal(t, "2026-05-04T10:00:00Z", body["consent_at"])
		require.Equal(t, "UTC", body["timezone"])
		require.Equal(t, "en", body["locale"])
		require.Equal(t, "explicit", body["consent_basis"])
		st, body = b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","name":"Bob","marketing_consent":true}`)
		require.Equal(t, 200, st)
		require.Equal(t, "checkout", body["consent_source"], "updating the profile keeps the consent record")

		st, body = b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","marketing_consent":true,"consent_basis":"soft_opt_in",
			"country":"GB","consent_source":"checkout-2","consent_wording_version":"v3","consent_ip":"203.0.113.9","consent_user_agent":"Mozilla/5.0"}`)
		require.Equal(t, 200, st, "%v", body)
		st, _ = b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","marketing_consent":false,"consent_source":"preference-centre"}`)
		require.Equal(t, 200, st)
		history, err := b.store.ConsentHistory(context.Background(), "bob")
		require.NoError(t, err)
		require.Len(t, history, 3, "granted, basis changed, withdrawn")
		require.Equal(t, models.ConsentRecord{ID: history[1].ID, CustomerID: "bob", Channel: "email", Granted: true, Basis: "soft_opt_in", Source: "checkout-2",
			WordingVersion: "v3", IP: "203.0.113.9", UserAgent: "Mozilla/5.0", At: history[1].At}, history[1])
		require.False(t, history[2].Granted)
		require.Equal(t, "preference-centre", history[2].Source)

		for body, field := range map[string]string{
			`{"email":"bob@example.com","marketing_consent":true,"consent_basis":"implied"}`:   "consent_basis",
			`{"email":"bob@example.com","marketing_consent":false,"consent_basis":"explicit"}`: "consent_basis",
			`{"email":"bob@example.com","marketing_consent":true,"country":"Germany"}`:         "country",
			`{"email":"bob@example.com","marketing_consent":true,"consent_ip":"nope"}`:         "consent_ip",
		} {
			t.Run(body, func(t *testing.T) {
				st, out := b.do(t, "PUT", "/v1/customers/bob", body)
				requireError(t, st, out, 422, "invalid", field)
			})
		}
	})
}

// TestIDsHoldNoControlCharacters: no ID can carry a separator into a
// token, a header or a log line; whichever ID it is.
func TestIDsHoldNoControlCharacters(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		for _, tc := range []struct{ method, path, body, field string }{
			{"PUT", "/v1/customers/victim%1Fx", `{"email":"v@example.com","marketing_consent":true}`, "id"},
			{"PUT", "/v1/customers/tab%09bed", `{"email":"v@example.com","marketing_consent":true}`, "id"},
			{"PUT", "/v1/products/sku%7F", `{"name":"x","price":1}`, "sku"},
			{"POST", "/v1/events", `{"id":"ev\u001f1","type":"milestone","customer_id":"ada","properties":{"name":"x"}}`, "id"},
			{"POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o\u0085","items":[{"sku":"cam-1","quantity":1,"price":1}]}}`, "properties.order_id"},
			{"POST", "/v1/events", `{"type":"page_view","customer_id":"ada","properties":{"sku":"cam\u001f1"}}`, "properties.sku"},
			{"POST", "/v1/events", `{"type":"unsubscribe","customer_id":"ada","properties":{"campaign_id":"x\u001fy"}}`, "properties.campaign_id"},
		} {
			t.Run(tc.path+" "+tc.field, func(t *testing.T) {
				st, body := b.do(t, tc.method, tc.path, tc.body)
				requireError(t, st, body, 422, "invalid", tc.field)
			})
		}
	})
}

func TestWithdrawingConsentEndsRunningSequences(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		st, body := b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","timezone":"Europe/London","marketing_consent":false}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, []string{"seq/camera-accessories/ada consent_withdrawn"}, b.seq.Signals())
	})
}

func TestMessageHTMLIsServedWithAStrictCSP(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		m, _, err := b.store.ClaimMessage(ctx, &models.Message{ID: "m-1", EnrollmentID: "e-1", StepID: "s", CustomerID: "ada",
			CampaignID: "c", Variant: "A", Status: domain.MessagePending})
		require.NoError(t, err)
		require.NoError(t, b.store.SaveRendered(ctx, m.ID, models.Rendered{Subject: "Hi", HTML: "<p>Hello</p>", Text: "Hello"}))
		req := httptest.NewRequest("GET", "/v1/messages/m-1/html", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "<p>Hello</p>", rec.Body.String())
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
		st, body := b.do(t, "GET", "/v1/messages?customer_id=ada", "")
		require.Equal(t, 200, st)
		require.Len(t, body["messages"], 1)
	})
}

// TestOpenAPIDocumentsEveryRoute keeps api/openapi.yaml true to the router.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	r := on(t, testdb.SQLite(t), func(d *api.Deps) { d.DevOutbox = true }).h
	doc, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(doc, &spec))
	for _, route := range r.Routes() {
		path := strings.ReplaceAll(route.Path, `\:`, ":") // an escaped, literal colon
		path = regexp.MustCompile(`/:(\w+)`).ReplaceAllString(path, "/{$1}")
		ops, ok := spec.Paths[path]
		require.True(t, ok, "%s is not in openapi.yaml", path)
		_, ok = ops[strings.ToLower(route.Method)]
		require.True(t, ok, "%s %s is not in openapi.yaml", route.Method, path)
	}
}

func TestDevOutboxAnswersOnlyTheLocalMachine(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	h := on(t, testdb.SQLite(t), func(d *api.Deps) { d.DevOutbox = true }).h
	for _, tc := range []struct {
		addr, host string
		want       int
	}{
		{"127.0.0.1:5000", "localhost:8080", 200}, {"[::1]:5000", "[::1]:8080", 200}, {"127.0.0.1:5000", "127.0.0.1", 200},
		{"192.0.2.7:5000", "localhost:8080", 404},
		// A page on attacker.example whose name was rebound to 127.0.0.1.
		{"127.0.0.1:5000", "attacker.example:8080", 404},
	} {
		t.Run(tc.addr+" "+tc.host, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/dev/outbox", nil)
			req.RemoteAddr, req.Host = tc.addr, tc.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code)
		})
	}
}

// post sends a form body with no API key, as a mailbox provider or a
// browser would.
func (b *bundle) post(t *testing.T, path, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	return rec
}

func TestOneClickUnsubscribeAsAMailboxProviderSendsIt(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		token := signer(t).Token(unsub.Scope{CustomerID: "ada"})

		// A link scanner's GET shows the page and changes nothing.
		req := httptest.NewRequest("GET", "/u/"+token, nil)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code)
		require.Contains(t, rec.Body.String(), "Stop all marketing email")
		sup, err := b.store.Suppressed(context.Background(), "ada@example.com", "camera-accessories")
		require.NoError(t, err)
		require.Nil(t, sup, "GET never unsubscribes")
		require.Empty(t, b.seq.Signals())

		// RFC 8058: POST with exactly this body, no cookie, no key.
		rec = b.post(t, "/u/"+token, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.Empty(t, rec.Header().Get("Location"), "no redirect")
		sup, err = b.store.Suppressed(context.Background(), "ada@example.com", "any-campaign")
		require.NoError(t, err)
		require.NotNil(t, sup, "suppressed for all marketing email")
		require.Equal(t, []string{"seq/camera-accessories/ada unsubscribe"}, b.seq.Signals(), "running sequences end at once")

		// Some providers send multipart; the same request works again (idempotent).
		rec = b.post(t, "/u/"+token, "multipart/form-data; boundary=X",
			"--X\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--X--\r\n")
		require.Equal(t, 200, rec.Code, rec.Body.String())
	})
}

func TestUnsubscribePageStopsOneSequenceOrEverything(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		token := signer(t).Token(unsub.Scope{CustomerID: "ada", CampaignID: "camera-accessories"})
		rec := b.post(t, "/u/"+token, "application/x-www-form-urlencoded", "scope=campaign")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "no more emails from this sequence")
		ctx := context.Background()
		sup, err := b.store.Suppressed(ctx, "ada@example.com", "camera-accessories")
		require.NoError(t, err)
		require.NotNil(t, sup)
		sup, err = b.store.Suppressed(ctx, "ada@example.com", "another")
		require.NoError(t, err)
		require.Nil(t, sup, "only this sequence")

		rec = b.post(t, "/u/"+token, "application/x-www-form-urlencoded", "scope=all")
		require.Equal(t, 200, rec.Code)
		sup, err = b.store.Suppressed(ctx, "ada@example.com", "another")
		require.NoError(t, err)
		require.NotNil(t, sup)

		rec = b.post(t, "/u/"+token, "application/x-www-form-urlencoded", "")
		require.Equal(t, 400, rec.Code, "a POST must say what to stop")
	})
}

func TestForgedUnsubscribeTokensChangeNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		other, err := unsub.NewSigner(strings.Repeat("z", 32))
		require.NoError(t, err)
		good := signer(t).Token(unsub.Scope{CustomerID: "bob"})
		_, mac, _ := strings.Cut(good, ".")
		for name, token := range map[string]string{
			"signed with another key":       other.Token(unsub.Scope{CustomerID: "ada"}),
			"bob's signature on ada's name": base64.RawURLEncoding.EncodeToString([]byte("ada\x1f")) + "." + mac,
			"garbage":                       "not-a-token",
		} {
			t.Run(name, func(t *testing.T) {
				rec := b.post(t, "/u/"+token, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
				require.Equal(t, 403, rec.Code, name)
			})
		}
		sup, err := b.store.Suppressed(context.Background(), "ada@example.com", "camera-accessories")
		require.NoError(t, err)
		require.Nil(t, sup)
	})
}

// TestErasureTakesStoredAnswersThatNameTheCustomer: a preview answered
// with an Idempotency-Key holds the customer's name and live unsubscribe
// links; after erasure the key replays nothing.
func TestErasureTakesStoredAnswersThatNameTheCustomer(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		preview := `{"customer_id":"ada","step":"guide"}`
		st, body := b.doWith(t, "POST", "/v1/campaigns/camera-accessories/preview", preview, "Bearer "+key, "Idempotency-Key", "p-1")
		require.Equal(t, 200, st, "%v", body)
		require.Contains(t, body["html"], "Ada")
		st, _ = b.do(t, "DELETE", "/v1/customers/ada", "")
		require.Equal(t, 200, st)
		st, body = b.doWith(t, "POST", "/v1/campaigns/camera-accessories/preview", preview, "Bearer "+key, "Idempotency-Key", "p-1")
		requireError(t, st, body, 404, "not_found", "customer_id")
	})
}

func TestErasureKeepsOnlyAHashedSuppression(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		ctx := context.Background()
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		m, _, err := b.store.ClaimMessage(ctx, &models.Message{ID: "m-1", EnrollmentID: "e-1", StepID: "s", CustomerID: "ada",
			CampaignID: "camera-accessories", Variant: "A", Status: domain.MessagePending})
		require.NoError(t, err)
		require.NoError(t, b.store.SaveRendered(ctx, m.ID, models.Rendered{Subject: "Hi Ada", HTML: "<p>Hi Ada</p>", Text: "Hi Ada"}))

		st, export := b.do(t, "GET", "/v1/customers/ada/export", "")
		require.Equal(t, 200, st)
		require.Equal(t, "ada@example.com", export["customer"].(map[string]any)["email"])
		require.Len(t, export["events"], 1)
		require.Len(t, export["orders"], 1)
		require.Len(t, export["consent_records"], 1)
		require.Equal(t, "<p>Hi Ada</p>", export["messages"].([]any)[0].(map[string]any)["html"])

		st, body := b.do(t, "DELETE", "/v1/customers/ada", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, []any{"seq/camera-accessories/ada"}, body["cancelled"], "running sequences are cancelled")

		st, body = b.do(t, "GET", "/v1/customers/ada", "")
		requireError(t, st, body, 404, "not_found", "")
		msg, err := b.store.GetMessage(ctx, "m-1")
		require.NoError(t, err)
		require.Empty(t, msg.Subject+msg.HTML+msg.Text, "no personal data left in messages")
		_, err = b.store.GetEvent(ctx, "ev-1")
		require.True(t, errs.Is(err, errs.NotFound))
		raw, err := json.Marshal(dumpTables(t, b.store))
		require.NoError(t, err)
		require.NotContains(t, string(raw), "ada@example.com", "the address is gone from every table")

		// The address is never mailed again, even if the customer comes back.
		sup, err := b.store.Suppressed(ctx, "ADA@example.com", "any")
		require.NoError(t, err)
		require.Equal(t, domain.ReasonErased, sup.Reason)

		st, body = b.do(t, "DELETE", "/v1/customers/ada", "")
		requireError(t, st, body, 404, "not_found", "")
	})
}

// dumpTables reads every row Lift stores, for checks that no PII is left.
func dumpTables(t *testing.T, s *models.Store) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, table := range []string{"customers", "consent_records", "events", "orders", "order_items", "enrollments", "messages", "suppressions", "send_slots"} {
		var rows []map[string]any
		require.NoError(t, s.DB().Table(table).Find(&rows).Error)
		out[table] = rows
	}
	return out
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		auth := "Bearer " + key
		body := `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`
		st, first := b.doWith(t, "POST", "/v1/events", body, auth, "Idempotency-Key", "k-1")
		require.Equal(t, 202, st, "%v", first)
		require.Len(t, first["started"], 1)

		// A retry gets the first response, byte for byte, and enrols nobody twice.
		st, again := b.doWith(t, "POST", "/v1/events", body, auth, "Idempotency-Key", "k-1")
		require.Equal(t, 202, st)
		require.Equal(t, first, again)
		require.Len(t, b.seq.Started(), 1)

		// The same key with another body is refused.
		st, out := b.doWith(t, "POST", "/v1/events", strings.Replace(body, "o-1", "o-2", 1), auth, "Idempotency-Key", "k-1")
		requireError(t, st, out, 422, "invalid", "Idempotency-Key")

		// Errors are replayed too: a 4xx is the answer to that request.
		bad := `{"type":"bought","customer_id":"ada"}`
		st, out = b.doWith(t, "POST", "/v1/events", bad, auth, "Idempotency-Key", "k-2")
		requireError(t, st, out, 422, "invalid", "type")
		st, out = b.doWith(t, "POST", "/v1/events", bad, auth, "Idempotency-Key", "k-2")
		requireError(t, st, out, 422, "invalid", "type")

		// A 5xx is not kept: the retry after the outage runs again.
		b.seq.StartErr = errs.E(errs.Unavailable, "temporal down")
		body3 := strings.Replace(body, "o-1", "o-3", 1)
		st, out = b.doWith(t, "POST", "/v1/events", body3, auth, "Idempotency-Key", "k-3")
		requireError(t, st, out, 503, "unavailable", "")
		b.seq.StartErr = nil
		b.seq.SetRunning("seq/camera-accessories/ada", false)
		st, out = b.doWith(t, "POST", "/v1/events", body3, auth, "Idempotency-Key", "k-3")
		require.Equal(t, 202, st, "%v", out)
		require.Len(t, out["started"], 1)

		// Keys belong to the API key that used them.
		other := b.newKey(t, "other", domain.KeyScopeIngest)
		st, out = b.doWith(t, "POST", "/v1/events", strings.Replace(body, "o-1", "o-4", 1), "Bearer "+other, "Idempotency-Key", "k-1")
		require.Equal(t, 202, st, "%v", out)
	})
}

func TestEventBatchAnswersPerItem(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		batch := `{"events":[
		  {"id":"ev-1","type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}},
		  {"type":"bought","customer_id":"ada"},
		  {"type":"page_view","customer_id":"nobody","properties":{"sku":"cam-1"}},
		  {"type":"milestone","customer_id":"ada","properties":{"name":"third_order"},"extra":1}
		]}`
		st, body := b.do(t, "POST", "/v1/events:batch", batch)
		require.Equal(t, 200, st, "%v", body)
		results := body["results"].([]any)
		require.Len(t, results, 4)
		status := func(i int) float64 { return results[i].(map[string]any)["status"].(float64) }
		field := func(i int) any { return results[i].(map[string]any)["error"].(map[string]any)["field"] }
		require.EqualValues(t, 202, status(0))
		require.Len(t, results[0].(map[string]any)["result"].(map[string]any)["started"], 1)
		require.EqualValues(t, 422, status(1))
		require.Equal(t, "events[1].type", field(1))
		require.EqualValues(t, 202, status(2), "a customer Lift does not know yet: held")
		require.Contains(t, results[2].(map[string]any)["result"].(map[string]any)["held"], `no customer "nobody" yet`)
		require.EqualValues(t, 422, status(3))
		require.Equal(t, "events[3].extra", field(3))

		// A batch may be larger than one request's limit (64 KiB in these tests).
		big := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"type":"milestone","customer_id":"ada","properties":{"name":"`+strings.Repeat("x", 200)+`"}},`, 500), ",") + `]}`
		require.Greater(t, len(big), 64<<10)
		st, body = b.do(t, "POST", "/v1/events:batch", big)
		require.Equal(t, 200, st, "%v", body)

		st, body = b.do(t, "POST", "/v1/events:batch", `{"events":[]}`)
		requireError(t, st, body, 422, "invalid", "events")
		many := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"type":"milestone","customer_id":"ada","properties":{"name":"x"}},`, 1001), ",") + `]}`
		st, body = b.do(t, "POST", "/v1/events:batch", many)
		requireError(t, st, body, 422, "invalid", "events")
	})
}

func TestDeliveryTriggersOnTheOrdersProducts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		delivered := strings.NewReplacer(`"id": "camera-accessories"`, `"id": "camera-delivered"`,
			`"event": "purchase"`, `"event": "delivered"`).Replace(cameraCampaign)
		st, body := b.do(t, "POST", "/v1/campaigns", delivered)
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/camera-delivered/publish", "")
		require.Equal(t, 201, st)

		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		require.Len(t, body["started"], 1, "the purchase starts only the purchase campaign")

		// The delivery carries only the order ID: the camera comes from the order.
		st, body = b.do(t, "POST", "/v1/events", `{"type":"delivered","customer_id":"ada","properties":{"order_id":"o-1"}}`)
		require.Equal(t, 202, st, "%v", body)
		started := body["started"].([]any)
		require.Len(t, started, 1)
		require.Equal(t, "camera-delivered", started[0].(map[string]any)["campaign_id"])
	})
}

func TestUpgradeRecordsTheTier(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.do(t, "POST", "/v1/events", `{"type":"upgrade","customer_id":"ada","properties":{"tier":"pro"}}`)
		require.Equal(t, 202, st, "%v", body)
		st, body = b.do(t, "GET", "/v1/customers/ada", "")
		require.Equal(t, 200, st)
		require.Equal(t, "pro", body["tier"])
	})
}

func TestReentryRules(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		upsell := `{"id":"pro-upsell","name":"Pro","kind":"upsell","trigger":{"event":"usage","where":{"ratio_gte":0.8}},
		  "reentry":{"rule":"once","key":["metric","period"]},"exit_on":["upgrade"],
		  "steps":[{"id":"a","at":"1d","subject":"You're near your limit","template":"upsell"}]}`
		st, body := b.do(t, "POST", "/v1/campaigns", upsell)
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/pro-upsell/publish", "")
		require.Equal(t, 201, st)
		usage := func(used int, period string) map[string]any {
			st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"usage","customer_id":"ada","properties":{"metric":"orders","used":%d,"limit":1000,"period":"%s"}}`, used, period))
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		require.Len(t, usage(850, "2026-05")["started"], 1)
		// The sequence ends; crossing again in the same billing period does not re-enter.
		b.seq.SetRunning("seq/pro-upsell/ada", false)
		require.NoError(t, b.store.FinishEnrollment(context.Background(), b.seq.Started()[0].EnrollmentID, models.EnrollmentOutcome{Status: domain.StatusCompleted, EndedAt: time.Now()}))
		again := usage(900, "2026-05")
		require.Empty(t, again["started"])
		require.Contains(t, again["skipped"].([]any)[0].(map[string]any)["reason"], "already entered once for orders|2026-05")
		// The next billing period is a new crossing.
		require.Len(t, usage(810, "2026-06")["started"], 1)

		bad := strings.Replace(upsell, `"rule":"once"`, `"rule":"twice"`, 1)
		st, body = b.do(t, "PUT", "/v1/campaigns/pro-upsell", bad)
		requireError(t, st, body, 422, "invalid", "reentry.rule")
		bad = strings.Replace(upsell, `"rule":"once"`, `"rule":"once_per"`, 1)
		st, body = b.do(t, "PUT", "/v1/campaigns/pro-upsell", bad)
		requireError(t, st, body, 422, "invalid", "reentry.period")
	})
}

func TestSupportTicketPausesUpsells(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		upsell := `{"id":"pro-upsell","name":"Pro","kind":"upsell","trigger":{"event":"usage","where":{"ratio_gte":0.8}},
		  "exit_on":["upgrade"],"steps":[{"id":"a","at":"1d","subject":"You're near your limit","template":"upsell"}]}`
		st, _ := b.do(t, "POST", "/v1/campaigns", upsell)
		require.Equal(t, 201, st)
		st, _ = b.do(t, "POST", "/v1/campaigns/pro-upsell/publish", "")
		require.Equal(t, 201, st)
		usage := `{"type":"usage","customer_id":"ada","properties":{"metric":"orders","used":900,"limit":1000}}`
		st, body := b.do(t, "POST", "/v1/events", usage)
		require.Equal(t, 202, st)
		require.Len(t, body["started"], 1)

		st, body = b.do(t, "POST", "/v1/events", `{"type":"support_ticket","customer_id":"ada","properties":{"severity":"high"}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Contains(t, b.seq.Signals(), "seq/pro-upsell/ada support_ticket", "the running upsell is told")

		b.seq.SetRunning("seq/pro-upsell/ada", false) // it ended
		st, body = b.do(t, "POST", "/v1/events", usage)
		require.Equal(t, 202, st)
		require.Empty(t, body["started"], "no new upsell for 14 days")
		require.Contains(t, body["skipped"].([]any)[0].(map[string]any)["reason"], "upsells are paused")
	})
}

func TestBrowseAbandonmentAfterThreeViewsWithoutAPurchase(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		browse := `{"id":"browse","name":"Still thinking?","kind":"cross_sell",
		  "trigger":{"event":"page_view","where":{"views_gte":3,"owned":false},"within":"7d"},
		  "reentry":{"rule":"once_per","period":"30d"},"exit_on":["purchase_any"],
		  "steps":[{"id":"a","at":"1d","subject":"Still thinking about it?","template":"recommendation","recommend":{"strategy":"complements"}}]}`
		st, body := b.do(t, "POST", "/v1/campaigns", browse)
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/browse/publish", "")
		require.Equal(t, 201, st)
		view := func(sku string) map[string]any {
			st, body := b.do(t, "POST", "/v1/events", `{"type":"page_view","customer_id":"ada","properties":{"sku":"`+sku+`"}}`)
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		require.Empty(t, view("lens-1")["started"])
		require.Empty(t, view("lens-1")["started"])
		require.Empty(t, view("cam-1")["started"], "views of another product do not count")
		started := view("lens-1")["started"].([]any)
		require.Len(t, started, 1, "the third view of the lens")

		// Somebody who already owns the product is not chased for it.
		st, _ = b.do(t, "PUT", "/v1/customers/bob", `{"email":"bob@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st)
		st, _ = b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"bob","properties":{"order_id":"o-b","items":[{"sku":"lens-1","quantity":1,"price":279.5}]}}`)
		require.Equal(t, 202, st)
		for i := 0; i < 3; i++ {
			st, body := b.do(t, "POST", "/v1/events", `{"type":"page_view","customer_id":"bob","properties":{"sku":"lens-1"}}`)
			require.Equal(t, 202, st)
			require.Empty(t, body["started"])
		}
	})
}

// TestPropertiesNeverStandInForComputedFacts: what Lift works out itself
// (views, ownership, categories, usage ratios, customer attributes) cannot
// be claimed by the caller's properties.
func TestPropertiesNeverStandInForComputedFacts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		for _, c := range []string{
			`{"id":"browse","name":"Browse","kind":"cross_sell","trigger":{"event":"page_view","where":{"views_gte":3,"owned":false}},
			  "steps":[{"id":"a","at":"1d","subject":"Still thinking?","template":"education"}]}`,
			`{"id":"cams","name":"Cameras","kind":"cross_sell","trigger":{"event":"milestone","where":{"category":"cameras"}},
			  "steps":[{"id":"a","at":"1d","subject":"For your camera","template":"education"}]}`,
			`{"id":"near-limit","name":"Near the limit","kind":"upsell","trigger":{"event":"milestone","where":{"ratio_gte":0.8}},
			  "steps":[{"id":"a","at":"1d","subject":"Time to upgrade","template":"education"}]}`,
			`{"id":"pro-only","name":"Pro only","kind":"cross_sell","trigger":{"event":"milestone","where":{"customer.tier":"pro"}},
			  "steps":[{"id":"a","at":"1d","subject":"For pros","template":"education"}]}`,
		} {
			st, body := b.do(t, "POST", "/v1/campaigns", c)
			require.Equal(t, 201, st, "%v", body)
			var def struct{ ID string }
			require.NoError(t, json.Unmarshal([]byte(c), &def))
			st, body = b.do(t, "POST", "/v1/campaigns/"+def.ID+"/publish", "")
			require.Equal(t, 201, st, "%v", body)
		}
		// Ada owns the camera, viewed it once, and is on no plan.
		st, _ := b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
		require.Equal(t, 202, st)
		for _, ev := range []string{
			`{"type":"page_view","customer_id":"ada","properties":{"sku":"cam-1","views":99,"owned":false}}`,
			`{"type":"milestone","customer_id":"ada","properties":{"name":"x","category":"cameras"}}`,
			`{"type":"milestone","customer_id":"ada","properties":{"name":"x","ratio":0.99}}`,
			`{"type":"milestone","customer_id":"ada","properties":{"name":"x","customer.tier":"pro"}}`,
		} {
			t.Run(ev, func(t *testing.T) {
				st, body := b.do(t, "POST", "/v1/events", ev)
				require.Equal(t, 202, st, "%v", body)
				require.Empty(t, body["started"], "a claimed fact started a campaign")
			})
		}
	})
}

// TestNumbersAndSizesAreRefusedWithTheFieldNamed: out-of-range numbers,
// overflowing totals, oversized events in a batch, strings longer than
// their columns and far-away anchors are 422s naming the field, on both
// databases, alone or in a batch.
func TestNumbersAndSizesAreRefusedWithTheFieldNamed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		long := strings.Repeat("x", 200)
		for _, tc := range []struct{ name, event, field string }{
			{"a number no float64 holds", `{"type":"milestone","customer_id":"ada","properties":{"name":"x","n":[1,1e400]}}`, "properties.n[1]"},
			{"a quantity beyond reason", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-q","items":[{"sku":"cam-1","quantity":1e7,"price":1}]}}`, "properties.items[0].quantity"},
			{"a total that would overflow", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-t","items":[{"sku":"cam-1","quantity":1000000,"price":99999999999}]}}`, "properties.items[0]"},
			{"a SKU longer than its column", `{"type":"page_view","customer_id":"ada","properties":{"sku":"` + long + `"}}`, "properties.sku"},
			{"an order ID longer than its column", `{"type":"delivered","customer_id":"ada","properties":{"order_id":"` + long + `"}}`, "properties.order_id"},
			{"a campaign that cannot exist", `{"type":"unsubscribe","customer_id":"ada","properties":{"campaign_id":"` + long + `"}}`, "properties.campaign_id"},
			{"an anchor in 9999", `{"type":"trial_ending","customer_id":"ada","properties":{"ends_at":"9999-01-01T00:00:00Z"}}`, "properties.ends_at"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, body := b.do(t, "POST", "/v1/events", tc.event)
				requireError(t, st, body, 422, "invalid", tc.field)
				st, body = b.do(t, "POST", "/v1/events:batch", `{"events":[`+tc.event+`]}`)
				require.Equal(t, 200, st, "%v", body)
				item := body["results"].([]any)[0].(map[string]any)
				require.EqualValues(t, 422, item["status"], "%v", item)
				require.Equal(t, "events[0]."+tc.field, item["error"].(map[string]any)["field"])
			})
		}

		t.Run("an event in a batch has the limit it has alone", func(t *testing.T) {
			big := `{"type":"milestone","customer_id":"ada","properties":{"name":"` + strings.Repeat("y", 70<<10) + `"}}`
			st, body := b.do(t, "POST", "/v1/events", big)
			requireError(t, st, body, 413, "too_large", "")
			st, body = b.do(t, "POST", "/v1/events:batch", `{"events":[`+big+`]}`)
			require.Equal(t, 200, st, "%v", body)
			require.EqualValues(t, 413, body["results"].([]any)[0].(map[string]any)["status"])
		})

		t.Run("a refused item does not make a batch re-run its good events", func(t *testing.T) {
			batch := `{"events":[{"id":"ev-good","type":"milestone","customer_id":"ada","properties":{"name":"x"}},
				{"type":"milestone","customer_id":"ada","properties":{"n":1e400}}]}`
			st, first := b.doWith(t, "POST", "/v1/events:batch", batch, "Bearer "+key, "Idempotency-Key", "batch-1e400")
			require.Equal(t, 200, st, "%v", first)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v1/events:batch", strings.NewReader(batch))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Idempotency-Key", "batch-1e400")
			b.h.ServeHTTP(rec, req)
			require.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"), "the first answer is replayed: nothing ran twice")
		})
	})
}

func TestTrialEndingCampaignCountsBackFromEndsAt(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		trial := `{"id":"trial-upgrade","name":"Before your trial ends","kind":"upsell","anchor":"ends_at",
		  "trigger":{"event":"trial_ending"},"exit_on":["upgrade"],
		  "steps":[{"id":"ten","at":"10d","subject":"10 days left","template":"upsell"},{"id":"three","at":"3d","subject":"3 days left","template":"offer"}]}`
		st, body := b.do(t, "POST", "/v1/campaigns", trial)
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/trial-upgrade/publish", "")
		require.Equal(t, 201, st)

		st, body = b.do(t, "POST", "/v1/events", `{"type":"trial_ending","customer_id":"ada","properties":{}}`)
		requireError(t, st, body, 422, "invalid", "properties.ends_at")
		st, body = b.do(t, "POST", "/v1/events", `{"type":"trial_ending","customer_id":"ada","properties":{"ends_at":"2026-05-18T10:00:00Z"}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Len(t, body["started"], 1)
		require.Equal(t, time.Date(2026, 5, 18, 10, 0, 0, 0, time.UTC), b.seq.Started()[0].Anchor.UTC())

		bad := strings.Replace(trial, `"at":"3d"`, `"at":"12d"`, 1)
		st, body = b.do(t, "PUT", "/v1/campaigns/trial-upgrade", bad)
		requireError(t, st, body, 422, "invalid", "steps[1].at")
	})
}

// TestQuietCustomersEnterReEngagement: no workflow watches a customer.
// The periodic scan (App.StartQuiet) finds, from the store, the customers
// whose last event is older than a campaign's "after", within its entry
// window, and starts each quiet spell's campaign once; any event starts a
// new spell, an old (backfilled) one does not; the gate applies (filters,
// re-entry, the upsell pause); erasure takes the customer out.
func TestQuietCustomersEnterReEngagement(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		day := 24 * time.Hour
		scan := func(at time.Time) (app.QuietScan, []string) {
			t.Helper()
			b.app.SetNow(at)
			before := len(b.seq.Started())
			res, err := b.app.App.StartQuiet(context.Background(), nil)
			require.NoError(t, err)
			var ids []string
			for _, in := range b.seq.Started()[before:] {
				ids = append(ids, in.CampaignID+"/"+in.CustomerID)
			}
			return res, ids
		}
		publish := func(def string) {
			st, body := b.do(t, "POST", "/v1/campaigns", def)
			require.Equal(t, 201, st, "%v", body)
			var d struct{ ID string }
			require.NoError(t, json.Unmarshal([]byte(def), &d))
			st, body = b.do(t, "POST", "/v1/campaigns/"+d.ID+"/publish", "")
			require.Equal(t, 201, st, "%v", body)
		}
		step := `"steps":[{"id":"a","at":"0d","subject":"We miss you","template":"education"}]`
		publish(`{"id":"winback","name":"We miss you","kind":"cross_sell","trigger":{"event":"inactivity","after":"30d"},` + step + `}`)
		publish(`{"id":"pro-only","name":"P","kind":"cross_sell","trigger":{"event":"inactivity","after":"30d","where":{"customer.tier":"pro"}},` + step + `}`)
		publish(`{"id":"upsell","name":"U","kind":"upsell","trigger":{"event":"inactivity","after":"30d"},` + step + `}`)
		for _, c := range []string{"bob", "cy"} {
			st, body := b.do(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","marketing_consent":true}`)
			require.Equal(t, 200, st, "%v", body)
		}

		// Events start no workflow: they move the customer's last event.
		milestone := func(c string, at, now time.Time) {
			b.app.SetNow(now)
			st, body := b.do(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"`+c+`","occurred_at":"`+at.Format(time.RFC3339)+`","properties":{"name":"x"}}`)
			require.Equal(t, 202, st, "%v", body)
		}
		milestone("ada", apptest.Now, apptest.Now)
		milestone("bob", apptest.Now, apptest.Now)
		require.Empty(t, b.seq.Signals(), "no watcher workflow")
		require.NoError(t, b.store.PauseUpsells(context.Background(), "bob", apptest.Now.Add(40*day)))

		res, started := scan(apptest.Now.Add(29 * day))
		require.Empty(t, started, "not quiet for 30 days yet")
		require.Equal(t, 3, res.Campaigns)
		res, started = scan(apptest.Now.Add(30*day + time.Hour))
		require.Equal(t, []string{"upsell/ada", "winback/ada", "winback/bob"}, sorted(started),
			"ada is not on the pro tier; bob's upsells are paused; cy never sent an event")
		require.Equal(t, 3, res.Started)
		e, err := b.store.RunningEnrollments(context.Background(), "ada")
		require.NoError(t, err)
		require.Len(t, e, 2, "the enrolments are recorded at once")

		// Once per quiet spell, even after the sequence has ended.
		b.seq.SetRunning(workflows.SequenceWorkflowID("winback", "ada"), false)
		_, started = scan(apptest.Now.Add(30*day + 2*time.Hour))
		require.Empty(t, started)

		// A backfilled event leaves the spell as it is; a fresh one starts
		// a new spell, and the win-back comes again 30 days later.
		milestone("ada", apptest.Now.Add(-400*day), apptest.Now.Add(30*day+3*time.Hour))
		_, started = scan(apptest.Now.Add(30*day + 3*time.Hour))
		require.Empty(t, started)
		milestone("ada", apptest.Now.Add(35*day), apptest.Now.Add(35*day))
		_, started = scan(apptest.Now.Add(65*day + time.Hour))
		require.Equal(t, []string{"winback/ada"}, started, "upsell/ada is still running")

		// A spell that reached "after" longer ago than the entry window
		// (24h) enrols no one: bob's upsell pause ended on day 40, after
		// his window had closed.
		_, started = scan(apptest.Now.Add(41 * day))
		require.Empty(t, started)

		// Erasure takes the customer out of the scan.
		st, body := b.do(t, "DELETE", "/v1/customers/ada", "")
		require.Equal(t, 200, st, "%v", body)
		milestone("cy", apptest.Now.Add(66*day), apptest.Now.Add(66*day))
		_, started = scan(apptest.Now.Add(96*day + time.Hour))
		require.Equal(t, []string{"upsell/cy", "winback/cy"}, sorted(started))

		st, body = b.do(t, "POST", "/v1/events", `{"type":"inactivity","customer_id":"cy"}`)
		requireError(t, st, body, 422, "invalid", "type")
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestTriggersCanFilterOnCustomerAttributes(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		starter := `{"id":"starter-upsell","name":"Starter to Pro","kind":"upsell",
		  "trigger":{"event":"usage","where":{"ratio_gte":0.8,"customer.tier":"starter"}},"exit_on":["upgrade"],
		  "steps":[{"id":"a","at":"1d","subject":"Near your limit","template":"upsell"}]}`
		st, body := b.do(t, "POST", "/v1/campaigns", starter)
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/starter-upsell/publish", "")
		require.Equal(t, 201, st)
		usage := `{"type":"usage","customer_id":"ada","properties":{"metric":"orders","used":900,"limit":1000}}`
		st, body = b.do(t, "POST", "/v1/events", usage)
		require.Equal(t, 202, st)
		require.Empty(t, body["started"], "ada has no tier yet")
		st, _ = b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","timezone":"Europe/London","marketing_consent":true,"tier":"starter"}`)
		require.Equal(t, 200, st)
		st, body = b.do(t, "POST", "/v1/events", usage)
		require.Equal(t, 202, st)
		require.Len(t, body["started"], 1)
	})
}

func TestBatchWithAnOutageIsNotReplayedForItsKey(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		batch := `{"events":[{"id":"ev-1","type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}]}`
		b.seq.StartErr = errs.E(errs.Unavailable, "temporal down")
		st, body := b.doWith(t, "POST", "/v1/events:batch", batch, "Bearer "+key, "Idempotency-Key", "batch-1")
		require.Equal(t, 200, st)
		require.EqualValues(t, 503, body["results"].([]any)[0].(map[string]any)["status"])
		b.seq.StartErr = nil
		st, body = b.doWith(t, "POST", "/v1/events:batch", batch, "Bearer "+key, "Idempotency-Key", "batch-1")
		require.Equal(t, 200, st)
		require.EqualValues(t, 202, body["results"].([]any)[0].(map[string]any)["status"], "the retry ran again")
		st, again := b.doWith(t, "POST", "/v1/events:batch", batch, "Bearer "+key, "Idempotency-Key", "batch-1")
		require.Equal(t, 200, st)
		require.Equal(t, body, again, "a complete answer is replayed")
		require.Len(t, b.seq.Started(), 1)
	})
}

func TestRecommendationRulesAndRebuild(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.do(t, "PUT", "/v1/recommendation-rules", `{"rules":[{"sku":"cam-1","complements":["lens-1"]},{"sku":"lens-1","complements":["cam-1"]}]}`)
		require.Equal(t, 200, st, "%v", body)
		require.EqualValues(t, 2, body["updated"])
		st, body = b.do(t, "GET", "/v1/products/lens-1", "")
		require.Equal(t, 200, st)
		require.Equal(t, []any{"cam-1"}, body["complements"])

		st, body = b.do(t, "PUT", "/v1/recommendation-rules", `{"rules":[{"sku":"cam-1","complements":["lens-1"]},{"sku":"ghost","complements":[]}]}`)
		requireError(t, st, body, 404, "not_found", "rules")
		st, body = b.do(t, "GET", "/v1/products/cam-1", "")
		require.Equal(t, 200, st)
		require.Equal(t, []any{"lens-1"}, body["complements"], "all or nothing")
		st, body = b.do(t, "PUT", "/v1/recommendation-rules", `{"rules":[{"sku":"cam-1","complements":["cam-1"]}]}`)
		requireError(t, st, body, 422, "invalid", "rules[0].complements[0]")
		st, body = b.do(t, "PUT", "/v1/products/parka", `{"name":"Parka","regions":["Norway"]}`)
		requireError(t, st, body, 422, "invalid", "regions[0]")
		st, body = b.do(t, "PUT", "/v1/products/coat", `{"name":"Coat","seasons":["autumn","winter"]}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "PUT", "/v1/products/coat", `{"name":"Down coat","seasons":["autumn","winter"]}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, []any{"autumn", "winter"}, body["seasons"], "stored, and kept on update")

		for i := 0; i < 3; i++ {
			st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-%d","items":[{"sku":"cam-1","quantity":1,"price":1},{"sku":"lens-1","quantity":1,"price":1}]}}`, i))
			require.Equal(t, 202, st)
		}
		st, body = b.do(t, "POST", "/v1/recommendations/rebuild", "")
		require.Equal(t, 202, st, "%v", body)
		require.Equal(t, true, body["started"])
		st, body = b.do(t, "GET", "/v1/recommendations/rebuild", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "idle", body["state"], "finished")
		model := body["model"].(map[string]any)
		require.EqualValues(t, 2, model["pairs"], "cam-1 and lens-1 in 3 orders, both ways")
		require.EqualValues(t, 3, model["orders"])
		require.EqualValues(t, 1, model["customers"])
		require.EqualValues(t, 0, model["similar_pairs"], "three orders by one customer are one shared customer, below the minimum of 3")
		auto := body["auto"].(map[string]any)
		require.Equal(t, "bought_together", auto["strategy"])
		require.Contains(t, auto["reason"], "fewer than 200 evaluation cases")
	})
}

func TestPreviewRendersTheDraftWithReasons(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		store := b.store
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)

		st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"complement"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "Complete your X100 kit", body["subject"])
		require.Contains(t, body["html"], "35mm lens")
		require.Equal(t, "complements", body["strategy"])
		require.Equal(t, []any{map[string]any{"sku": "lens-1", "reason": "goes with your X100"}}, body["recommendations"])
		// The preview's unsubscribe links are inert, as a test send's: a
		// reviewer clicking around does not unsubscribe the real customer.
		require.Contains(t, body["headers"].(map[string]any)["List-Unsubscribe"], "https://lift.example.com/u/test-send")
		require.Contains(t, body["html"], "https://lift.example.com/u/test-send")
		raw, _ := json.Marshal(body)
		for _, sc := range []unsub.Scope{{CustomerID: "ada"}, {CustomerID: "ada", CampaignID: "camera-accessories"}} {
			require.NotContains(t, string(raw), signer(t).Token(sc))
		}
		var n int64
		require.NoError(t, store.DB().Model(&models.Message{}).Count(&n).Error)
		require.Zero(t, n, "a preview stores nothing")

		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"nope"}`)
		requireError(t, st, body, 404, "not_found", "step")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"nobody","step":"complement"}`)
		requireError(t, st, body, 404, "not_found", "customer_id")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"step":"complement"}`)
		requireError(t, st, body, 422, "invalid", "customer_id")
	})
}

func TestTestSendGoesToTheReviewerWithInertUnsubscribeLinks(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		mailer := b.mailer
		store, unsubscribe := b.store, signer(t)
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		var before int64
		require.NoError(t, store.DB().Model(&models.Message{}).Count(&before).Error)

		st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/test-send", `{"customer_id":"ada","step":"complement","to":"review@example.com"}`)
		require.Equal(t, 202, st, "%v", body)
		require.Equal(t, "[Test] Complete your X100 kit", body["subject"])
		require.Equal(t, "fake", body["provider"])
		require.Len(t, mailer.Sent(), 1)
		sent := mailer.Sent()[0]
		require.Equal(t, "review@example.com", sent.To, "the reviewer, never the customer")
		require.Contains(t, sent.HTML, "35mm lens", "rendered for the customer's data")
		require.NotContains(t, sent.HTML+sent.Text, unsubscribe.Token(unsub.Scope{CustomerID: "ada"}),
			"a reviewer clicking around must not unsubscribe the real customer")
		require.NotContains(t, sent.HTML+sent.Text, unsubscribe.Token(unsub.Scope{CustomerID: "ada", CampaignID: "camera-accessories"}))
		require.Contains(t, sent.HTML, "https://lift.example.com/u/test-send")
		require.Empty(t, sent.CustomArgs["message_id"], "webhook events of a test send match no message")
		var after int64
		require.NoError(t, store.DB().Model(&models.Message{}).Count(&after).Error)
		require.Equal(t, before, after, "a test send is not a campaign message")

		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/test-send", `{"customer_id":"ada","step":"complement","to":"not an address"}`)
		requireError(t, st, body, 422, "invalid", "to")
		require.NoError(t, store.Suppress(context.Background(), "gone@example.com", "", "unsubscribed"))
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/test-send", `{"customer_id":"ada","step":"complement","to":"gone@example.com"}`)
		requireError(t, st, body, 409, "conflict", "to")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/test-send", `{"customer_id":"ada","step":"complement","to":"review@example.com","variant":"holdout"}`)
		requireError(t, st, body, 422, "invalid", "variant")
		require.Len(t, mailer.Sent(), 1)
		// Ada owns the lens too now: the step would be skipped, so there is nothing to test-send.
		st, _ = b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-2", "o-2", "lens-1"))
		require.Equal(t, 202, st)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/test-send", `{"customer_id":"ada","step":"complement","to":"review@example.com","trigger_skus":["cam-1"]}`)
		requireError(t, st, body, 409, "conflict", "customer_id")
		require.Len(t, mailer.Sent(), 1)
	})
}

func TestEveryStepIsTestRenderedOnSaveAndOnPublish(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		// Every field resolves, yet the subject renders empty for a step
		// without an incentive: only rendering the whole email finds it.
		empty := strings.Replace(cameraCampaign, `5 accessories`, `{{if .Incentive}}Save now{{end}}`, 1)
		st, body := b.do(t, "POST", "/v1/campaigns", empty)
		requireError(t, st, body, 422, "invalid", "steps[1].subject")
		require.Contains(t, body["error"].(map[string]any)["message"], "renders empty")

		// A draft that predates the check (written straight to the store) is
		// refused at publish, with the field named.
		st, body = b.do(t, "POST", "/v1/campaigns", cameraCampaign)
		require.Equal(t, 201, st, "%v", body)
		def := strings.Replace(cameraCampaign, `5 accessories`, `{{.Customer.Nickname}}`, 1)
		var canonical map[string]any
		require.NoError(t, json.Unmarshal([]byte(def), &canonical))
		raw, err := json.Marshal(canonical)
		require.NoError(t, err)
		require.NoError(t, b.store.DB().Model(&models.Campaign{}).Where("id = ?", "camera-accessories").Update("definition", raw).Error)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		requireError(t, st, body, 422, "invalid", "steps[1].subject")
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 0, body["latest_version"], "nothing was published")
	})
}

// TestMarketerTextHasABudget: copy that would spin a core or fill memory
// is refused when it is saved, in every branch, whatever the sample
// customer's data would take; copy saved before the check is refused at
// preview.
func TestMarketerTextHasABudget(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		for _, copy := range []string{
			`{{range 100000000}}x{{end}}`,
			`{{printf \"%0999999999d\" 1}}`,
			`{{if eq .Customer.FirstName \"Ada\"}}Hi{{else}}{{range 1000000000}}{{end}}{{end}}`,
		} {
			t.Run(copy, func(t *testing.T) {
				st, body := b.do(t, "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `5 accessories`, copy, 1))
				requireError(t, st, body, 422, "invalid", "steps[1].subject")
			})
		}
		// A draft written before the check: the preview refuses it, at once.
		b.seed(t)
		def := strings.Replace(cameraCampaign, `5 accessories`, `{{range 100000000}}x{{end}}`, 1)
		var canonical map[string]any
		require.NoError(t, json.Unmarshal([]byte(def), &canonical))
		raw, err := json.Marshal(canonical)
		require.NoError(t, err)
		require.NoError(t, b.store.DB().Model(&models.Campaign{}).Where("id = ?", "camera-accessories").Update("definition", raw).Error)
		st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"guide"}`)
		requireError(t, st, body, 422, "invalid", "")
		require.Contains(t, body["error"].(map[string]any)["message"], "only {{range .Products}}")
	})
}

func TestHoldoutCustomersAreEnrolledAsHoldout(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.do(t, "PUT", "/v1/products/cam-1", `{"name":"X100","category":"cameras","price":899}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell", "holdout": 60,`, 1))
		requireError(t, st, body, 422, "invalid", "holdout")
		st, body = b.do(t, "POST", "/v1/campaigns", strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell", "holdout": 20,`, 1))
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)

		const n = 200
		b.camerasBoughtBy(t, n)
		held := map[string]bool{}
		for _, in := range b.seq.Started() {
			require.Contains(t, []string{"A", workflows.VariantHoldout}, in.Variant)
			if in.Variant == workflows.VariantHoldout {
				held[in.CustomerID] = true
			}
		}
		require.Len(t, b.seq.Started(), n)
		require.InDelta(t, 0.20*n, len(held), 0.20*n*0.5, "about a fifth held out")
		// The enrolment records the variant the workflow runs.
		var enrolled []models.Enrollment
		require.NoError(t, b.store.DB().Find(&enrolled).Error)
		require.Len(t, enrolled, n)
		for _, e := range enrolled {
			require.Equal(t, held[e.CustomerID], e.Variant == workflows.VariantHoldout, e.CustomerID)
		}
	})
}

func TestExperimentVariantsAreAssignedCheckedAndPreviewed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		seq := b.seq
		withExperiment := func(subjectB string) string {
			return strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell", "holdout": 10,
	  "experiment": {"id": "subject-1", "variants": [{"id": "A", "weight": 1},
	    {"id": "B", "weight": 1, "steps": {"complement": {"subject": "`+subjectB+`"}}}]},`, 1)
		}
		// A variant's copy is checked like the campaign's, with its field named.
		st, body := b.do(t, "POST", "/v1/campaigns", withExperiment("{{.Customer.Nickname}}"))
		requireError(t, st, body, 422, "invalid", "experiment.variants[1].steps.complement.subject")
		st, body = b.do(t, "POST", "/v1/campaigns", withExperiment("Your {{.Trigger.ProductName}} deserves a {{.First.Name}}"))
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)
		for _, p := range []string{`{"name":"X100","category":"cameras","price":899,"complements":["lens-1"]}`, `{"name":"35mm lens","category":"lenses","price":279.5,"url":"https://shop.example/lens"}`} {
			sku := map[bool]string{true: "cam-1", false: "lens-1"}[strings.Contains(p, "X100")]
			st, body = b.do(t, "PUT", "/v1/products/"+sku, p)
			require.Equal(t, 200, st, "%v", body)
		}

		// Until the experiment starts, everyone not held out gets the control.
		b.camerasBoughtByPrefix(t, "early-", 40)
		for _, in := range seq.Started() {
			require.Contains(t, []string{"A", workflows.VariantHoldout}, in.Variant)
		}
		seq.ClearStarted()
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/experiments", `{}`)
		require.Equal(t, 201, st, "%v", body)

		const n = 400
		b.camerasBoughtBy(t, n)
		counts := map[string]int{}
		for _, in := range seq.Started() {
			counts[in.Variant]++
			require.Equal(t, in.Variant, campaign.Assign(in.CustomerID, "camera-accessories", "subject-1", 10, []campaign.Weighted{{ID: "A", Weight: 1}, {ID: "B", Weight: 1}}),
				"the variant is the deterministic assignment")
		}
		require.InDelta(t, 0.10*n, counts[workflows.VariantHoldout], 0.10*n*0.6)
		require.InDelta(t, 0.45*n, counts["A"], 0.45*n*0.25)
		require.InDelta(t, 0.45*n, counts["B"], 0.45*n*0.25)

		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"c-1","step":"complement","variant":"B"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "Your X100 deserves a 35mm lens", body["subject"])
		require.Contains(t, body["html"], "utm_content=complement-B")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"c-1","step":"complement","variant":"A"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "Complete your X100 kit", body["subject"])
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"c-1","step":"complement","variant":"b"}`)
		requireError(t, st, body, 422, "invalid", "variant")
	})
}

func TestTranslationsAreCheckedOnSave(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		withDE := strings.Replace(cameraCampaign, `"template": "education"}`, `"template": "education", "translations": {"de": {"subject": "5 Zubehörteile"}}}`, 1)
		st, body := b.do(t, "POST", "/v1/campaigns", withDE)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", strings.Replace(withDE, `"de"`, `"fr"`, 1))
		requireError(t, st, body, 422, "invalid", "steps[1].translations.fr")
		st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", strings.Replace(withDE, `5 Zubehörteile`, `{{.Kunde}}`, 1))
		requireError(t, st, body, 422, "invalid", "steps[1].translations.de.subject")
	})
}

// The experiment lifecycle through the API: start (checked), read the
// analysis, stop (control only), and a new run concluded with a winner
// that takes new enrolments and, when asked, running ones.
func TestExperimentLifecycle(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		seq := b.seq
		def := strings.Replace(cameraCampaign, `"kind": "cross_sell",`, `"kind": "cross_sell",
	  "experiment": {"id": "subj-1", "variants": [{"id": "A", "weight": 1},
	    {"id": "B", "weight": 1, "steps": {"complement": {"subject": "Made for your {{.Trigger.ProductName}}", "at": "2d"}}}]},`, 1)
		st, body := b.do(t, "POST", "/v1/campaigns", def)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "PUT", "/v1/products/cam-1", `{"name":"X100","category":"cameras","price":899,"complements":["lens-1"]}`)
		require.Equal(t, 200, st, "%v", body)
		const start = "/v1/campaigns/camera-accessories/experiments"
		st, body = b.do(t, "POST", start, `{}`)
		requireError(t, st, body, 409, "conflict", "")
		require.Contains(t, body["error"].(map[string]any)["message"], "has not been published")
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)

		for _, bad := range []struct{ body, field string }{
			{`{"metric":"open_rate"}`, "metric"},
			{`{"min_sends":0}`, "min_sends"},
			{`{"alpha":0.5}`, "alpha"},
			{`{"guardrail_min_sends":-1}`, "guardrail_min_sends"},
			{`{"move_running":true}`, "move_running"},
			{`{"metrc":"conversion_rate"}`, "metrc"},
		} {
			t.Run(bad.field, func(t *testing.T) {
				st, body = b.do(t, "POST", start, bad.body)
				requireError(t, st, body, 422, "invalid", bad.field)
			})
		}
		st, body = b.do(t, "POST", start, `{"metric":"revenue_per_recipient","min_sends":50}`)
		require.Equal(t, 201, st, "%v", body)
		require.Equal(t, "running", body["status"])
		require.Equal(t, "subj-1", body["id"])
		require.Len(t, body["routing"], 2)
		st, body = b.do(t, "POST", start, `{}`)
		requireError(t, st, body, 409, "conflict", "")

		b.camerasBoughtByPrefix(t, "r-", 60)
		var bSteps []workflows.StepPlan
		for _, in := range seq.Started() {
			if in.Variant == "B" {
				bSteps = in.Steps
			}
		}
		require.NotNil(t, bSteps, "some customers got B")
		require.Equal(t, 2, bSteps[0].Window.Min.Days, "B's first email goes on day 2: variants can differ in timing")

		st, body = b.do(t, "GET", start+"/subj-1", "")
		require.Equal(t, 200, st, "%v", body)
		analysis := body["analysis"].(map[string]any)
		require.Equal(t, "revenue_per_recipient", analysis["metric"])
		require.Equal(t, false, analysis["ready"], "nothing sent yet")
		require.Len(t, analysis["arms"], 2)
		st, body = b.do(t, "GET", start, "")
		require.Equal(t, 200, st, "%v", body)
		require.Len(t, body["experiments"], 1)

		// Concluding without a winner when there is none yet is refused.
		st, body = b.do(t, "POST", start+"/subj-1/conclude", `{}`)
		requireError(t, st, body, 409, "conflict", "")
		st, body = b.do(t, "POST", start+"/subj-1/conclude", `{"winner":"Z"}`)
		requireError(t, st, body, 422, "invalid", "winner")

		st, body = b.do(t, "POST", start+"/subj-1/stop", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "stopped", body["status"])
		require.Equal(t, []any{map[string]any{"id": "A", "weight": float64(1)}}, body["routing"])
		st, body = b.do(t, "POST", start+"/subj-1/stop", "")
		requireError(t, st, body, 409, "conflict", "")
		seq.ClearStarted()
		b.camerasBoughtByPrefix(t, "s-", 20)
		for _, in := range seq.Started() {
			require.Equal(t, "A", in.Variant, "stopped: everyone gets the control")
		}

		// A new run needs a new experiment ID.
		st, body = b.do(t, "POST", start, `{}`)
		requireError(t, st, body, 409, "conflict", "")
		st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", strings.Replace(def, `"subj-1"`, `"subj-2"`, 1))
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", start, `{}`)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", start+"/subj-2/conclude", `{"winner":"B","move_running":true}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "concluded", body["status"])
		require.Equal(t, "B", body["winner"])
		require.Equal(t, true, body["moving_running_enrolments"])
		require.Contains(t, seq.Signals(), "promote/camera-accessories/subj-2 B")
		// Asking again (say after a 503) is fine and starts the pending move
		// again; another winner is a conflict.
		st, body = b.do(t, "POST", start+"/subj-2/conclude", `{"winner":"B","move_running":true}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", start+"/subj-2/conclude", `{"winner":"A"}`)
		requireError(t, st, body, 409, "conflict", "")
		seq.ClearStarted()
		b.camerasBoughtByPrefix(t, "w-", 20)
		for _, in := range seq.Started() {
			require.Equal(t, "B", in.Variant, "concluded: everyone gets the winner")
		}
		st, body = b.do(t, "POST", start+"/subj-2/resume", `{"variant":"B"}`)
		requireError(t, st, body, 404, "not_found", "")
		st, body = b.do(t, "GET", start+"/nope", "")
		requireError(t, st, body, 404, "not_found", "")
	})
}

// TestOnlyFreshEventsEnrol: loading a shop's history (a purchase from last
// year) records the order and enrols no one, saying why; an event inside
// the campaign's entry window (enter_within, 24 h by default) enrols; an
// anchored event whose end has passed enrols no one; and an old event
// starts no inactivity watcher.
func TestOnlyFreshEventsEnrol(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		at := func(d time.Duration) string { return apptest.Now.Add(-d).Format(time.RFC3339) }
		purchase := func(order string, ago time.Duration) map[string]any {
			st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"purchase","customer_id":"ada","occurred_at":%q,
			  "properties":{"order_id":%q,"currency":"USD","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`, at(ago), order))
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		old := purchase("o-2025", 400*24*time.Hour)
		require.Empty(t, old["started"], "a year-old order mails no one")
		require.Contains(t, old["skipped"].([]any)[0].(map[string]any)["reason"], "the event happened 400 days ago, outside the campaign's entry window (enter_within 1 day)", "durations in words a person reads")
		st, body := b.do(t, "GET", "/v1/customers/ada/export", "")
		require.Equal(t, 200, st, "%v", body)
		require.Contains(t, fmt.Sprint(body["orders"]), "o-2025", "the order counts for history")

		fresh := purchase("o-today", 2*time.Hour)
		require.Len(t, fresh["started"], 1, "%v", fresh)
		// An order older than the sequence it would exit (a backfill, a
		// late queue) does not end it; one newer than the enrolment does.
		b.app.SetNow(apptest.Now.Add(time.Hour))
		require.Empty(t, purchase("o-before", 3*time.Hour)["signalled"], "the customer entered after this order")
		require.Empty(t, purchase("o-2024", 700*24*time.Hour)["signalled"])
		require.Len(t, purchase("o-after", -30*time.Minute)["signalled"], 1, "an order after enrolment exits")

		// A campaign may take events up to three days old.
		b.seq.SetRunning("seq/camera-accessories/ada", false)
		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories", "")
		require.Equal(t, 200, st)
		def := strings.Replace(cameraCampaign, `"kind"`, `"enter_within":"3d","kind"`, 1)
		st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", def)
		require.Equal(t, 200, st, "%v", body)
		st, _ = b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
		require.Equal(t, 201, st)
		require.NotEmpty(t, purchase("o-2days", 48*time.Hour)["started"])
		for _, bad := range []string{`"0h"`, `"soon"`, `"400d"`} {
			st, body = b.do(t, "PUT", "/v1/campaigns/camera-accessories", strings.Replace(def, `"3d"`, bad, 1))
			requireError(t, st, body, 422, "invalid", "enter_within")
		}

		// A trial that has already ended: nothing to count down to.
		trial := `{"id":"trial-upgrade","name":"Before your trial ends","kind":"upsell","anchor":"ends_at",
		  "trigger":{"event":"trial_ending"},"exit_on":["upgrade"],
		  "steps":[{"id":"three","at":"3d","subject":"3 days left","template":"upsell"}]}`
		st, _ = b.do(t, "POST", "/v1/campaigns", trial)
		require.Equal(t, 201, st)
		st, _ = b.do(t, "POST", "/v1/campaigns/trial-upgrade/publish", "")
		require.Equal(t, 201, st)
		st, body = b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"trial_ending","customer_id":"ada","properties":{"ends_at":%q}}`, at(time.Hour)))
		require.Equal(t, 202, st, "%v", body)
		require.Empty(t, body["started"])
		require.Contains(t, body["skipped"].([]any)[0].(map[string]any)["reason"], "is in the past")

		// An old visit does not restart the customer's quiet spell (the
		// re-engagement scan counts from the latest event); a fresh one
		// does.
		last, err := b.store.LastEventAt(context.Background(), "ada")
		require.NoError(t, err)
		st, _ = b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"milestone","customer_id":"ada","occurred_at":%q,"properties":{"name":"x"}}`, at(90*24*time.Hour)))
		require.Equal(t, 202, st)
		again, err := b.store.LastEventAt(context.Background(), "ada")
		require.NoError(t, err)
		require.True(t, again.Equal(last), "a backfilled visit leaves %s, not %s", last, again)
		st, _ = b.do(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","properties":{"name":"x"}}`)
		require.Equal(t, 202, st)
		again, err = b.store.LastEventAt(context.Background(), "ada")
		require.NoError(t, err)
		require.True(t, again.Equal(b.app.App.Now().UTC()), "a fresh visit moves it to now: %s", again)
	})
}

// TestMilestonesFromWhatLiftKnows: a trigger may filter on the
// customer's order history as Lift has recorded it (a third purchase, a
// lifetime spend, a customer of a year), so a backend need not compute
// it; a caller's own property of the same name counts for nothing.
func TestMilestonesFromWhatLiftKnows(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		third := `{"id":"third-order","name":"Thanks for your third order","kind":"cross_sell",
		  "trigger":{"event":"purchase","where":{"customer.orders_gte":3,"customer.revenue_gte":1000}},"exit_on":["purchase_any"],
		  "steps":[{"id":"thanks","at":"1d","subject":"Three orders in","template":"education"}]}`
		loyal := `{"id":"anniversary","name":"A year with us","kind":"cross_sell",
		  "trigger":{"event":"milestone","where":{"customer.days_since_first_order_gte":365}},
		  "steps":[{"id":"year","at":"1d","subject":"A year already","template":"education"}]}`
		for _, def := range []string{third, loyal} {
			st, body := b.do(t, "POST", "/v1/campaigns", def)
			require.Equal(t, 201, st, "%v", body)
			var c struct{ ID string }
			data, _ := json.Marshal(body)
			require.NoError(t, json.Unmarshal(data, &c))
			st, body = b.do(t, "POST", "/v1/campaigns/"+c.ID+"/publish", "")
			require.Equal(t, 201, st, "%v", body)
		}
		started := func(body map[string]any, campaignID string) bool {
			for _, s := range body["started"].([]any) {
				if s.(map[string]any)["campaign_id"] == campaignID {
					return true
				}
			}
			return false
		}
		purchase := func(order string, ago time.Duration, price float64) map[string]any {
			st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"purchase","customer_id":"ada","occurred_at":%q,
			  "properties":{"order_id":%q,"currency":"USD","items":[{"sku":"lens-1","quantity":1,"price":%v}],
			  "customer.orders":99,"customer.revenue":99999}}`, apptest.Now.Add(-ago).Format(time.RFC3339), order, price))
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		milestone := func() map[string]any {
			st, body := b.do(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","properties":{"name":"login","customer.days_since_first_order":400}}`)
			require.Equal(t, 202, st, "%v", body)
			return body
		}
		require.False(t, started(milestone(), "anniversary"), "no orders: no first order to count from, whatever the event claims")
		// An order from last year: recorded, counts for history, enrols no one.
		require.False(t, started(purchase("o-1", 400*24*time.Hour, 600), "third-order"))
		require.False(t, started(purchase("o-2", time.Hour, 300), "third-order"), "two orders, whatever the event claims")
		b.seq.SetRunning("seq/camera-accessories/ada", false)
		require.False(t, started(purchase("o-3", time.Hour, 50), "third-order"), "three orders but $950 in all")
		require.True(t, started(purchase("o-4", time.Hour, 60), "third-order"), "four orders and $1,010")
		require.True(t, started(milestone(), "anniversary"), "the first order was 400 days ago")
	})
}

// TestPublishingWarnsWhatAMarketerWouldWantToKnow: an offer that has
// already ended, or ends before its step first goes out; anchored times
// under a compressed day; emails without a postal address (CAN-SPAM).
// The version is published all the same: each is a warning, not an error.
func TestPublishingWarnsWhatAMarketerWouldWantToKnow(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	b.seed(t)
	st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", "")
	require.Equal(t, 201, st)
	require.Equal(t, []any{}, body["warnings"], "nothing to say about a sound campaign")

	ended := apptest.Now.Add(-time.Hour).Format(time.RFC3339)
	soon := apptest.Now.Add(48 * time.Hour).Format(time.RFC3339)
	def := fmt.Sprintf(`{"id":"bfcm","name":"Black Friday","kind":"cross_sell","trigger":{"event":"purchase"},
	  "steps":[{"id":"early","at":"1d","subject":"Early access","template":"offer","incentive":{"percent_off":20,"code":"BF20","ends_at":%q}},
	           {"id":"late","at":"5d","subject":"Last chance","template":"offer","incentive":{"percent_off":20,"code":"BF20","ends_at":%q}}]}`, ended, soon)
	st, body = b.do(t, "POST", "/v1/campaigns", def)
	require.Equal(t, 201, st, "%v", body)
	b.app.App.Settings.PostalAddress = ""
	st, body = b.do(t, "POST", "/v1/campaigns/bfcm/publish", "")
	require.Equal(t, 201, st, "%v", body)
	warnings := fmt.Sprint(body["warnings"])
	require.Contains(t, warnings, "steps[0].incentive.ends_at: the offer ended at "+ended+": step early will be skipped for everyone")
	require.Contains(t, warnings, "steps[1].incentive.ends_at: the offer ends at "+soon+", before step late first goes out (5d after enrolment)")
	require.Contains(t, warnings, "LIFT_POSTAL_ADDRESS is not set")
	st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"complement","trigger_skus":["cam-1"]}`)
	require.Equal(t, 200, st, "%v", body)
	require.Contains(t, fmt.Sprint(body["warnings"]), "CAN-SPAM", "a preview says the footer lacks an address")

	// An anchored campaign under a compressed day says what is compressed.
	b.app.App.Settings.Day = time.Second
	trial := `{"id":"trial","name":"Trial ends","kind":"upsell","anchor":"ends_at","trigger":{"event":"trial_ending"},
	  "steps":[{"id":"three","at":"3d","subject":"3 days left","template":"upsell"}]}`
	st, body = b.do(t, "POST", "/v1/campaigns", trial)
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/trial/publish", "")
	require.Equal(t, 201, st, "%v", body)
	require.Contains(t, fmt.Sprint(body["warnings"]), "anchor: one sequence day is 1s here, and an event's ends_at counts down compressed too")
}

// TestPublishWithMoveRunningMovesOlderEnrolments: publishing with
// move_running starts the move, and the move signals each running
// enrolment on an older version (never the holdout's) with the new
// version's plan, in its own variant where the version has it.
func TestPublishWithMoveRunningMovesOlderEnrolments(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		b.camerasBoughtBy(t, 3)
		st, body := b.do(t, "POST", "/v1/campaigns/camera-accessories/publish", `{"move_running":true}`)
		require.Equal(t, 201, st, "%v", body)
		require.EqualValues(t, 2, body["version"])
		require.Equal(t, true, body["moving_running_enrolments"])
		require.Contains(t, b.seq.Signals(), "move-version/camera-accessories/2")

		n, err := b.app.App.MoveToVersion(context.Background(), workflows.VersionMove{CampaignID: "camera-accessories", Version: 2},
			app.MovePosition{}, func(app.MovePosition) {})
		require.NoError(t, err)
		require.Equal(t, 3, n)
		for id, sw := range b.seq.Switched() {
			require.Equal(t, 2, sw.Version, id)
			require.Equal(t, "A", sw.Variant, id)
			require.NotEmpty(t, sw.Steps)
		}
		// Asked again (Temporal was down at publish): the same move.
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/move-running", "")
		require.Equal(t, 202, st, "%v", body)
		require.EqualValues(t, 2, body["version"])
		st, body = b.do(t, "POST", "/v1/campaigns/nope/move-running", "")
		require.Equal(t, 404, st, "%v", body)
	})
}

func TestCouponPoolsAreFilledAndCounted(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.do(t, "PUT", "/v1/coupon-pools/bf-codes", `{"codes":["BF-1","BF-2"]}`)
		require.Equal(t, 200, st, "%v", body)
		require.EqualValues(t, 2, body["available"])
		require.EqualValues(t, 2, body["added"])
		st, body = b.do(t, "PUT", "/v1/coupon-pools/bf-codes", `{"codes":["BF-2","BF-3"]}`)
		require.Equal(t, 200, st, "%v", body)
		require.EqualValues(t, 1, body["added"], "a code the pool holds is kept as it was")
		require.EqualValues(t, 3, body["total"])
		st, body = b.do(t, "GET", "/v1/coupon-pools/bf-codes", "")
		require.Equal(t, 200, st, "%v", body)
		require.EqualValues(t, 3, body["available"])
		st, body = b.do(t, "PUT", "/v1/coupon-pools/bf-codes", `{"codes":["ok","no spaces"]}`)
		requireError(t, st, body, 422, "invalid", "codes[1]")
		st, body = b.do(t, "PUT", "/v1/coupon-pools/BAD", `{"codes":["X"]}`)
		requireError(t, st, body, 422, "invalid", "id")
		st, body = b.do(t, "GET", "/v1/coupon-pools/none", "")
		require.Equal(t, 404, st, "%v", body)
		// Or Lift makes them from a pattern: random, unambiguous, unique.
		st, body = b.do(t, "PUT", "/v1/coupon-pools/gen", `{"pattern":"BF-####-####","count":500}`)
		require.Equal(t, 200, st, "%v", body)
		require.EqualValues(t, 500, body["added"])
		require.EqualValues(t, 500, body["available"])
		var codes []string
		require.NoError(t, b.store.DB().Model(&models.CouponCode{}).Where("pool_id = ?", "gen").Pluck("code", &codes).Error)
		require.Len(t, codes, 500)
		for _, c := range codes {
			require.Regexp(t, `^BF-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`, c)
		}
		st, body = b.do(t, "PUT", "/v1/coupon-pools/gen", `{"pattern":"BF-##","count":5}`)
		requireError(t, st, body, 422, "invalid", "pattern")
		st, body = b.do(t, "PUT", "/v1/coupon-pools/gen", `{"pattern":"BF-######","codes":["X"]}`)
		requireError(t, st, body, 422, "invalid", "pattern")
		st, body = b.do(t, "PUT", "/v1/coupon-pools/gen", `{"pattern":"BF-######","count":0}`)
		requireError(t, st, body, 422, "invalid", "count")
		// A step names a pool or a code, not both.
		st, body = b.do(t, "POST", "/v1/campaigns", `{"id":"bf","name":"BF","kind":"cross_sell","trigger":{"event":"purchase"},
		  "steps":[{"id":"offer","at":"1d","subject":"x","template":"offer","incentive":{"percent_off":20,"code":"X","pool":"bf-codes"}}]}`)
		requireError(t, st, body, 422, "invalid", "steps[0].incentive.pool")
	})
}

// Flows through the API: destinations are registered (admin) and shown
// without their secret; a flow posting to an unregistered destination is
// not published; a wait_for is ended by the customer's matching event,
// named in the signal, and not by one its where does not match.
func TestFlowsWaitForEventsAndPostToDestinations(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		const secret = "0123456789abcdef0123456789abcdef"
		st, body := b.do(t, "PUT", "/v1/destinations/crm", `{"url":"http://127.0.0.1:9/hook","secret":"`+secret+`"}`)
		require.Equal(t, 200, st, "%v", body)
		require.NotContains(t, fmt.Sprint(body), secret)
		st, body = b.do(t, "GET", "/v1/destinations/crm", "")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "http://127.0.0.1:9/hook", body["url"])
		require.NotContains(t, fmt.Sprint(body), secret)
		st, body = b.do(t, "PUT", "/v1/destinations/crm", `{"url":"http://169.254.169.254/","secret":"`+secret+`"}`)
		requireError(t, st, body, 422, "invalid", "url")
		st, body = b.do(t, "GET", "/v1/destinations/none", "")
		require.Equal(t, 404, st, "%v", body)

		st, body = b.do(t, "POST", "/v1/campaigns", `{"id":"flow","name":"Flow","kind":"cross_sell","trigger":{"event":"milestone"},
		  "steps":[{"id":"a","at":"1d","subject":"x","template":"education"},
		    {"id":"b","branch":{"if":{"clicked":"a"},"then":[{"id":"c","at":"bad","subject":"y","template":"education"}]}}]}`)
		requireError(t, st, body, 422, "invalid", "steps[1].branch.then[0].at")

		flow := `{"id":"flow","name":"Flow","kind":"cross_sell","trigger":{"event":"milestone"},
		  "steps":[{"id":"delivery","wait_for":{"event":"delivered","within":"10d","where":{"carrier":"dhl"}}},
		    {"id":"hello","at":"1d","subject":"It arrived","template":"education"},
		    {"id":"tell","webhook":{"destination":"sales"}}]}`
		st, body = b.do(t, "POST", "/v1/campaigns", flow)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/flow/publish", "")
		requireError(t, st, body, 422, "invalid", "steps[2].webhook.destination")
		st, body = b.do(t, "PUT", "/v1/destinations/sales", `{"url":"https://sales.example/lift","secret":"`+secret+`"}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/flow/publish", "")
		require.Equal(t, 201, st, "%v", body)

		st, body = b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","properties":{"name":"signed_up"}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Len(t, body["started"], 1)
		before := len(b.seq.Signals())
		st, body = b.do(t, "POST", "/v1/events", `{"type":"delivered","customer_id":"ada","properties":{"order_id":"o-9","carrier":"ups"}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Len(t, b.seq.Signals(), before, "the wait's where does not match a UPS delivery")
		st, body = b.do(t, "POST", "/v1/events", `{"type":"delivered","customer_id":"ada","properties":{"order_id":"o-9","carrier":"dhl"}}`)
		require.Equal(t, 202, st, "%v", body)
		require.Equal(t, "seq/flow/ada flow_event delivery", b.seq.Signals()[before])
		require.Contains(t, fmt.Sprint(body["signalled"]), "flow_event")
	})
}

// The report gives each node of a flow its journeys, outcomes,
// conversions and revenue, and the campaign page draws the flow.
func TestFlowReportAndDiagram(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		const secret = "0123456789abcdef0123456789abcdef"
		st, body := b.do(t, "PUT", "/v1/destinations/crm", `{"url":"https://crm.example/hook","secret":"`+secret+`"}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns", `{"id":"flow","name":"Flow <b>","kind":"upsell","trigger":{"event":"milestone"},
		  "steps":[{"id":"comparison","at":"1d","subject":"Compare","template":"education"},
		    {"id":"engaged","branch":{"if":{"clicked":"comparison"},"then":[{"id":"tell-sales","webhook":{"destination":"crm"}}],
		      "else":[{"id":"reminder","at":"3d","subject":"Still <there>?","template":"education"}]}}]}`)
		require.Equal(t, 201, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/flow/publish", "")
		require.Equal(t, 201, st, "%v", body)
		ended := func(id string, status domain.SequenceStatus, revenue int64, steps ...domain.StepState) {
			require.NoError(t, b.store.DB().Create(&models.Enrollment{ID: id, CustomerID: "c-" + id, CampaignID: "flow", Version: 1,
				WorkflowID: "seq/flow/c-" + id, Variant: "A", Status: status, RevenueMinor: revenue, EnrolledAt: apptest.Now.Add(-time.Hour),
				Steps: steps}).Error)
		}
		sent := domain.StepState{ID: "comparison", Status: "sent"}
		ended("e1", domain.StatusConverted, 12000, sent, domain.StepState{ID: "engaged", Kind: "branch", Status: "branched", Path: "then"},
			domain.StepState{ID: "tell-sales", Kind: "webhook", Status: "sent"})
		ended("e2", domain.StatusCompleted, 0, sent, domain.StepState{ID: "engaged", Kind: "branch", Status: "branched", Path: "else"},
			domain.StepState{ID: "reminder", Status: "sent"})
		ended("e3", domain.StatusUnsubscribed, 0, sent, domain.StepState{ID: "engaged", Status: "not_reached"})

		st, body = b.do(t, "GET", "/v1/campaigns/flow/report", "")
		require.Equal(t, 200, st, "%v", body)
		var r struct{ Flow []app.FlowNode }
		raw, _ := json.Marshal(body)
		require.NoError(t, json.Unmarshal(raw, &r))
		nodes := map[string]app.FlowNode{}
		for _, n := range r.Flow {
			nodes[n.ID] = n
		}
		require.Equal(t, []string{"comparison", "engaged", "tell-sales", "reminder"}, []string{r.Flow[0].ID, r.Flow[1].ID, r.Flow[2].ID, r.Flow[3].ID})
		require.Equal(t, 3, nodes["comparison"].Entered)
		require.Equal(t, 2, nodes["engaged"].Entered, "not reached is not entered")
		require.Equal(t, map[string]int{"then": 1, "else": 1}, nodes["engaged"].Outcomes)
		require.Equal(t, 1, nodes["tell-sales"].Converted)
		require.InDelta(t, 120.0, nodes["tell-sales"].Revenue, 0.001, "revenue of the converted journeys through the node")
		require.Zero(t, nodes["reminder"].Converted)
		require.Equal(t, "steps[1].branch.else[0]", nodes["reminder"].Path)

		// Preview takes the way through the branches to a step on a path.
		st, body = b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/flow/preview", `{"customer_id":"ada","step":"reminder"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, []any{"engaged: else"}, body["path"])
		require.Equal(t, "Still <there>?", body["subject"])
		st, body = b.do(t, "POST", "/v1/campaigns/flow/preview", `{"customer_id":"ada","step":"engaged"}`)
		requireError(t, st, body, 422, "invalid", "step")

		br := &browser{t: t, b: b}
		require.Equal(t, 303, br.signIn(key))
		st, page, _ := br.get("/console/campaigns/flow")
		require.Equal(t, 200, st, page)
		require.Contains(t, page, `<svg`)
		require.Contains(t, page, `if clicked=comparison`)
		require.Contains(t, page, `Still &lt;there&gt;?`, "texts in the SVG are escaped")
		require.NotContains(t, page, `Still <there>`)
		require.Contains(t, page, "1 in · 1 sent · 1 conv")
	})
}

// lift dev's outbox opens and clicks a sent email as its recipient
// would, so flows that branch on engagement can be driven locally: the
// engagement is recorded and the flow's waiting sequence is told; another
// site's page cannot do it.
func TestDevOutboxOpensAndClicksLikeARecipient(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	b := on(t, testdb.SQLite(t), func(d *api.Deps) { d.DevOutbox = true })
	const secret = "0123456789abcdef0123456789abcdef"
	st, body := b.do(t, "PUT", "/v1/destinations/crm", `{"url":"https://crm.example/hook","secret":"`+secret+`"}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns", `{"id":"flow","name":"Flow","kind":"upsell","trigger":{"event":"milestone"},
	  "steps":[{"id":"comparison","at":"1d","subject":"Compare","template":"education"},
	    {"id":"clicked","wait_for":{"event":"click","step":"comparison","within":"3d"}},
	    {"id":"tell","webhook":{"destination":"crm"}}]}`)
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/flow/publish", "")
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "PUT", "/v1/customers/ada", `{"email":"ada@example.com","marketing_consent":true}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"ada","properties":{"name":"x"}}`)
	require.Equal(t, 202, st, "%v", body)
	enr := body["started"].([]any)[0].(map[string]any)["enrollment_id"].(string)
	msg := &models.Message{ID: "m-1", EnrollmentID: enr, CustomerID: "ada", CampaignID: "flow", StepID: "comparison", Variant: "A",
		IdempotencyKey: enr + "/comparison", Status: domain.MessageSent}
	require.NoError(t, b.store.DB().Create(msg).Error)

	send := func(path, site string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, nil)
		req.RemoteAddr, req.Host = "127.0.0.1:5000", "localhost:8080"
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, 403, send("/dev/outbox/m-1/click", "cross-site").Code, "another site's page")
	require.Equal(t, 422, send("/dev/outbox/m-1/forward", "").Code)
	require.Equal(t, 303, send("/dev/outbox/m-1/open", "same-origin").Code, "the outbox page's button")
	require.Equal(t, 200, send("/dev/outbox/m-1/click", "").Code, "curl")
	m, err := b.store.GetMessage(context.Background(), "m-1")
	require.NoError(t, err)
	require.NotNil(t, m.OpenedAt)
	require.NotNil(t, m.ClickedAt)
	require.Contains(t, b.seq.Signals(), "seq/flow/ada flow_event clicked")
}
