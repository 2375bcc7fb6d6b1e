package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/sendgridfake"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// FuzzSendGridWebhook posts arbitrary, correctly signed bodies to the
// webhook over a store holding real sent messages, so the bodies that
// name them run the event-applying paths (delivery, engagement,
// suppression, exit signals): the answer must be 2xx or 4xx, never a
// failure or a panic, and every applied event must apply once.
func FuzzSendGridWebhook(f *testing.F) {
	for _, seed := range []string{
		`[{"sg_event_id":"e1","event":"processed","message_id":"m-1","sg_message_id":"sg-1.filter0001","timestamp":1700000000}]`,
		`[{"sg_event_id":"e2","event":"bounce","type":"bounce","email":"ada@example.com","message_id":"m-1"}]`,
		`[{"sg_event_id":"e3","event":"bounce","type":"blocked","sg_message_id":"sg-2.recvd-x"}]`,
		`[{"sg_event_id":"e4","event":"open","sg_machine_open":true,"sg_message_id":"sg-1.x"}]`,
		`[{"sg_event_id":"e5","event":"open","message_id":"m-2","timestamp":1700000100}]`,
		`[{"sg_event_id":"e6","event":"click","message_id":"m-2","timestamp":1700000200}]`,
		`[{"sg_event_id":"e7","event":"spamreport","message_id":"m-1","email":"ada@example.com"}]`,
		`[{"sg_event_id":"e8","event":"group_unsubscribe","asm_group_id":4,"message_id":"m-2","email":"ada@example.com"}]`,
		`[{"sg_event_id":"e9","event":"delivered","message_id":"m-1"},{"sg_event_id":"e9","event":"delivered","message_id":"m-1"}]`,
		`[{"sg_event_id":"e10","event":"deferred","message_id":"m-2"},{"sg_event_id":"e11","event":"dropped","message_id":"m-2"}]`,
		`[{"sg_event_id":"e12","event":"group_resubscribe","message_id":"m-1"}]`,
		`[{"event":"click"}]`, `[]`, `{}`, `[1,2]`, `[{"timestamp":"soon"}]`, `[{"sg_event_id":null,"event":7}]`,
	} {
		f.Add([]byte(seed))
	}
	fake, err := sendgridfake.Start()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(fake.Close)
	key, err := api.ParseSendGridKey(fake.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	store := testdb.SQLite(f)
	b := on(f, store, func(d *api.Deps) { d.Webhook.Key, d.Webhook.MaxAge = key, time.Hour; d.Now = time.Now })
	seedSentMessages(f, b)
	f.Fuzz(func(t *testing.T, body []byte) {
		post := func() (int, map[string]any) {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req := httptest.NewRequest("POST", "/v1/webhooks/sendgrid", strings.NewReader(string(body)))
			req.Header.Set(eventwebhook.TimestampHTTPHeader, ts)
			req.Header.Set(eventwebhook.VerificationHTTPHeader, fake.Sign(ts, body))
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, req)
			var out map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			if rec.Code >= 500 {
				t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
			}
			if rec.Code == 200 && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("invalid JSON answer")
			}
			return rec.Code, out
		}
		if st, _ := post(); st != 200 {
			return
		}
		// SendGrid retries a batch it got no 2xx for: nothing applies twice.
		if st, again := post(); st != 200 || again["applied"] != 0.0 {
			t.Fatalf("a repeated batch applied events again: %d %v", st, again)
		}
	})
}

// seedSentMessages stores a customer with a running enrolment and two
// sent messages, m-1 and m-2 (provider IDs sg-1 and sg-2), for the
// webhook's events to be about.
func seedSentMessages(t testing.TB, b *bundle) {
	t.Helper()
	ctx := context.Background()
	b.seed(t)
	now := time.Now().UTC()
	e := &models.Enrollment{ID: "e-1", CustomerID: "ada", CampaignID: "camera-accessories", Version: 1,
		WorkflowID: "seq/camera-accessories/ada", Variant: "A", Status: domain.StatusRunning, EnrolledAt: now}
	if err := b.store.EnsureEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	b.seq.SetRunning(e.WorkflowID, true)
	for i, id := range []string{"m-1", "m-2"} {
		m := &models.Message{ID: id, EnrollmentID: e.ID, StepID: []string{"complement", "guide"}[i], CustomerID: "ada",
			CampaignID: e.CampaignID, Variant: "A", Status: domain.MessagePending}
		if _, _, err := b.store.ClaimMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := b.store.SaveRendered(ctx, id, models.Rendered{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.MarkSent(ctx, id, "sendgrid", []string{"sg-1", "sg-2"}[i], now); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzEventBatch posts arbitrary bodies to POST /v1/events:batch, through
// the real router and application over a store with campaigns to enrol
// in: the answer is 200 with one result per event or a 4xx, never a
// failure or a panic, and each event gets the answer it gets alone.
func FuzzEventBatch(f *testing.F) {
	for _, seed := range []string{
		`{"events":[{"id":"e1","type":"purchase","customer_id":"ada","properties":{"order_id":"o1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}]}`,
		`{"events":[{"id":"e2","type":"page_view","customer_id":"ada","properties":{"sku":"cam-1","views":99,"owned":false}}]}`,
		`{"events":[{"id":"e3","type":"usage","customer_id":"bob","properties":{"metric":"seats","used":8,"limit":10}},{"id":"e3","type":"milestone","customer_id":"bob"}]}`,
		`{"events":[{"type":"purchase","customer_id":"ada","properties":{"order_id":"o2","items":[{"sku":"cam-1","quantity":1e400,"price":1}]}}]}`,
		`{"events":[{"type":"purchase","customer_id":"a\u001fb","occurred_at":"9999-01-01T00:00:00Z"}]}`,
		`{"events":[{"type":"complaint","customer_id":"ada"},{"type":"unsubscribe","customer_id":"ada","properties":{"campaign_id":"camera-accessories"}}]}`,
		`{"events":[]}`, `{"events":[1,"x",null,{}]}`, `{}`, `[]`, `{"events":{"a":1}}`,
	} {
		f.Add([]byte(seed))
	}
	b := on(f, testdb.SQLite(f))
	b.seed(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		st, out := b.do(t, "POST", "/v1/events:batch", string(body))
		if st >= 500 {
			t.Fatalf("status %d for %q: %v", st, body, out)
		}
		if st != 200 {
			return
		}
		results, _ := out["results"].([]any)
		var req struct{ Events []json.RawMessage }
		if err := json.Unmarshal(body, &req); err != nil || len(results) != len(req.Events) {
			t.Fatalf("%d results for %q", len(results), body)
		}
		for i, r := range results {
			item := r.(map[string]any)
			status := int(item["status"].(float64))
			if status >= 500 {
				t.Fatalf("event %d failed: %v", i, item)
			}
			// Alone, the same event meets the same limits.
			alone, _ := b.do(t, "POST", "/v1/events", string(req.Events[i]))
			if (status == 413 || status == 422) != (alone == 413 || alone == 422) && alone != 409 {
				t.Fatalf("event %d: %d in a batch, %d alone: %s", i, status, alone, req.Events[i])
			}
		}
	})
}
