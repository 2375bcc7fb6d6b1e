package api_test

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
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/sendgridfake"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// webhookBundle is a router whose webhook trusts the fake's key, and a
// sent message to receive events about.
type webhookBundle struct {
	*bundle
	fake *sendgridfake.Server
	now  time.Time
	msg  *models.Message
}

func setupWebhook(t *testing.T) *webhookBundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	fake, err := sendgridfake.Start()
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	key, err := api.ParseSendGridKey(fake.PublicKey())
	require.NoError(t, err)
	store := testdb.SQLite(t)
	require.NoError(t, store.SetAPIKey(context.Background(), "test", "test-key"))
	seq := &fakeSequences{running: map[string]bool{}}
	w := &webhookBundle{fake: fake, now: time.Now()}
	h := api.NewRouter(api.Deps{Store: store, Sequences: seq, Unsubscribe: signer(t),
		Webhook: api.SendGridWebhook{Key: key, MaxAge: 5 * time.Minute}, Now: func() time.Time { return w.now }})
	w.bundle = &bundle{h: h, store: store, seq: seq}
	w.seed(t)
	st, _ := w.do(t, "POST", "/v1/events", `{"id":"ev-1","type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
	require.Equal(t, 202, st)
	ctx := context.Background()
	m, _, err := store.ClaimMessage(ctx, &models.Message{ID: "m-1", EnrollmentID: "e-1", StepID: "complement", CustomerID: "ada",
		CampaignID: "camera-accessories", Variant: "A", Status: models.MessagePending})
	require.NoError(t, err)
	require.NoError(t, store.SaveRendered(ctx, m.ID, models.Rendered{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi"}))
	require.NoError(t, store.MarkSending(ctx, m.ID, time.Now()))
	w.msg = m
	return w
}

func (w *webhookBundle) event(kind string, extra map[string]any) map[string]any {
	ev := w.fake.Event(sendgridfake.Accepted{XMessageID: "x-msg-1", To: "ada@example.com",
		CustomArgs: map[string]string{"message_id": "m-1", "campaign_id": "camera-accessories"}}, kind)
	for k, v := range extra {
		ev[k] = v
	}
	return ev
}

// post sends a batch signed with the fake's key at ts, optionally altering
// the body after signing.
func (w *webhookBundle) postSigned(t *testing.T, events []map[string]any, ts time.Time, tamper func([]byte) []byte) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(events)
	require.NoError(t, err)
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := w.fake.Sign(stamp, body)
	if tamper != nil {
		body = tamper(body)
	}
	req := httptest.NewRequest("POST", "/v1/webhooks/sendgrid", strings.NewReader(string(body)))
	req.Header.Set(eventwebhook.TimestampHTTPHeader, stamp)
	req.Header.Set(eventwebhook.VerificationHTTPHeader, sig)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

func TestWebhookAppliesSignedEventsOnce(t *testing.T) {
	w := setupWebhook(t)
	ctx := context.Background()
	processed := w.event("processed", nil)
	delivered := w.event("delivered", nil)
	machineOpen := w.event("open", map[string]any{"sg_machine_open": true})
	rec := w.postSigned(t, []map[string]any{processed, delivered, machineOpen}, w.now, nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())

	m, err := w.store.GetMessage(ctx, "m-1")
	require.NoError(t, err)
	require.Equal(t, models.MessageSent, m.Status, "processed confirms an ambiguous send")
	require.Equal(t, "x-msg-1", m.ProviderMessageID, "the X-Message-Id prefix of sg_message_id")
	require.Equal(t, "delivered", m.Delivery)
	require.Nil(t, m.OpenedAt, "machine opens are not engagement")

	// SendGrid retries: the same batch again changes nothing.
	rec = w.postSigned(t, []map[string]any{processed, delivered}, w.now, nil)
	require.Equal(t, 200, rec.Code)
	require.JSONEq(t, `{"applied":0,"duplicates":2}`, rec.Body.String())

	// Out of order: a late "deferred" does not undo "delivered"; a human
	// open and a click are recorded once.
	rec = w.postSigned(t, []map[string]any{w.event("deferred", nil), w.event("open", nil), w.event("click", nil)}, w.now, nil)
	require.Equal(t, 200, rec.Code)
	m, err = w.store.GetMessage(ctx, "m-1")
	require.NoError(t, err)
	require.Equal(t, "delivered", m.Delivery)
	require.NotNil(t, m.OpenedAt)
	require.NotNil(t, m.ClickedAt)

	// Events about messages Lift did not send are ignored, not failed.
	rec = w.postSigned(t, []map[string]any{{"sg_event_id": "x", "event": "delivered", "sg_message_id": "other.filter"}}, w.now, nil)
	require.Equal(t, 200, rec.Code)
}

func TestWebhookComplaintsBouncesAndUnsubscribesSuppressAndExit(t *testing.T) {
	cases := []struct {
		event  map[string]any
		reason string
		signal string
		scope  string
	}{
		{map[string]any{"event": "spamreport"}, models.ReasonSpamReport, "complaint", ""},
		{map[string]any{"event": "bounce", "type": "bounce"}, models.ReasonHardBounce, "bounce", ""},
		{map[string]any{"event": "unsubscribe"}, models.ReasonUnsubscribe, "unsubscribe", ""},
		{map[string]any{"event": "group_unsubscribe", "asm_group_id": 42}, models.ReasonUnsubscribe, "unsubscribe", "camera-accessories"},
	}
	for _, c := range cases {
		t.Run(c.event["event"].(string), func(t *testing.T) {
			w := setupWebhook(t)
			kind := c.event["event"].(string)
			rec := w.postSigned(t, []map[string]any{w.event(kind, c.event)}, w.now, nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			other := "another-campaign"
			sup, err := w.store.Suppressed(context.Background(), "ada@example.com", other)
			require.NoError(t, err)
			if c.scope == "" {
				require.NotNil(t, sup, "suppressed everywhere")
				require.Equal(t, c.reason, sup.Reason)
			} else {
				require.Nil(t, sup, "a group unsubscribe stops one campaign")
			}
			require.Equal(t, []string{"seq/camera-accessories/ada " + c.signal}, w.seq.signals, "the running sequence is told at once")
		})
	}
	t.Run("soft bounce", func(t *testing.T) {
		w := setupWebhook(t)
		rec := w.postSigned(t, []map[string]any{w.event("bounce", map[string]any{"type": "blocked"})}, w.now, nil)
		require.Equal(t, 200, rec.Code)
		sup, err := w.store.Suppressed(context.Background(), "ada@example.com", "x")
		require.NoError(t, err)
		require.Nil(t, sup, "a blocked (soft) bounce does not suppress")
	})
}

func TestWebhookRefusesWhatSendGridDidNotSign(t *testing.T) {
	w := setupWebhook(t)
	events := []map[string]any{w.event("spamreport", nil)}
	other, err := sendgridfake.Start()
	require.NoError(t, err)
	defer other.Close()

	wrongKey := &webhookBundle{bundle: w.bundle, fake: other, now: w.now, msg: w.msg}
	require.Equal(t, 403, wrongKey.postSigned(t, events, w.now, nil).Code, "signed with another key")
	require.Equal(t, 403, w.postSigned(t, events, w.now, func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "spamreport", "delivered!", 1))
	}).Code, "tampered body")
	require.Equal(t, 403, w.postSigned(t, events, w.now.Add(-10*time.Minute), nil).Code, "stale timestamp")
	require.Equal(t, 403, w.postSigned(t, events, w.now.Add(10*time.Minute), nil).Code, "timestamp from the future")

	req := httptest.NewRequest("POST", "/v1/webhooks/sendgrid", strings.NewReader(`[]`))
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	require.Equal(t, 401, rec.Code, "unsigned")

	sup, err := w.store.Suppressed(context.Background(), "ada@example.com", "x")
	require.NoError(t, err)
	require.Nil(t, sup, "nothing changed")
	require.Empty(t, w.seq.signals)
}
