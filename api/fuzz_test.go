package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/sendgridfake"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/workflows"
)

// FuzzEventParsing feeds arbitrary bodies through the event decoder and
// validator: they must never panic, and an accepted purchase must carry a
// consistent order.
func FuzzEventParsing(f *testing.F) {
	for _, seed := range []string{
		`{"type":"purchase","customer_id":"c","properties":{"order_id":"o","items":[{"sku":"a","quantity":2,"price":9.99}],"revenue":19.98}}`,
		`{"type":"usage","customer_id":"c","properties":{"metric":"orders","used":847,"limit":1000}}`,
		`{"type":"purchase","customer_id":"c","properties":{"order_id":"o","items":[{"sku":"a","quantity":1e308,"price":-0}]}}`,
		`{"type":"milestone","customer_id":"c","occurred_at":"2026-01-02T03:04:05Z","properties":{"name":"x"}}`,
		`{"type":"page_view","customer_id":"c","properties":{"sku":null}}`,
		`{"id":"\u0000","type":"unsubscribe","customer_id":"c","properties":{"campaign_id":7}}`,
		`[]`, `{}`, `null`, `{"type":"purchase","customer_id":"c","properties":{"items":[1,"x",{}]}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req EventRequest
		if err := decodeStrict(body, &req); err != nil {
			return
		}
		normalize(req.Properties)
		order, err := validateEvent(&req, now)
		if err != nil || order == nil {
			return
		}
		if len(order.Items) == 0 || order.RevenueMinor < 0 {
			t.Fatalf("accepted an inconsistent order: %+v", order)
		}
		for _, it := range order.Items {
			if it.Quantity < 1 || it.PriceMinor < 0 || it.SKU == "" {
				t.Fatalf("accepted a bad item: %+v", it)
			}
		}
	})
}

// FuzzSendGridWebhook posts arbitrary, correctly signed bodies to the
// webhook: it must answer 2xx or 4xx, never fail or panic.
func FuzzSendGridWebhook(f *testing.F) {
	for _, seed := range []string{
		`[{"sg_event_id":"e1","event":"processed","message_id":"m-1","sg_message_id":"x.filter","timestamp":1700000000}]`,
		`[{"sg_event_id":"e2","event":"bounce","type":"bounce","email":"a@example.com","message_id":"m-1"}]`,
		`[{"sg_event_id":"e3","event":"open","sg_machine_open":true,"sg_message_id":"x.y"}]`,
		`[{"event":"click"}]`, `[]`, `{}`, `[1,2]`, `[{"timestamp":"soon"}]`, `[{"sg_event_id":null,"event":7}]`,
	} {
		f.Add([]byte(seed))
	}
	gin.SetMode(gin.TestMode)
	fake, err := sendgridfake.Start()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(fake.Close)
	key, err := ParseSendGridKey(fake.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	store := testdb.SQLite(f)
	h := NewRouter(Deps{Store: store, Sequences: noSequences{}, Webhook: SendGridWebhook{Key: key}})
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest("POST", "/v1/webhooks/sendgrid", strings.NewReader(string(body)))
		req.Header.Set(eventwebhook.TimestampHTTPHeader, ts)
		req.Header.Set(eventwebhook.VerificationHTTPHeader, fake.Sign(ts, body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		if rec.Code == 200 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer")
		}
	})
}

// noSequences is a Temporal stand-in with nothing running.
type noSequences struct{}

var errNotRunning = errs.E(errs.NotFound, "not running")

func (noSequences) Start(context.Context, workflows.SequenceInput, string) (bool, error) {
	return false, errNotRunning
}
func (noSequences) Signal(context.Context, string, string, workflows.ExitSignal) error {
	return errNotRunning
}
func (noSequences) Journey(context.Context, string) (workflows.Journey, error) {
	return workflows.Journey{}, errNotRunning
}
func (noSequences) Update(context.Context, string, string) (workflows.Journey, error) {
	return workflows.Journey{}, errNotRunning
}
func (noSequences) Cancel(context.Context, string) error { return errNotRunning }
func (noSequences) TouchActivity(context.Context, string, time.Time, time.Duration) error {
	return nil
}
func (noSequences) Promote(context.Context, string, string, string) error { return nil }
func (noSequences) Ping(context.Context) error                            { return nil }
