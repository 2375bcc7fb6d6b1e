package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/domain"
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

// eachWebhookStore runs a test against a webhook bundle on SQLite and one
// on PostgreSQL, in parallel.
func eachWebhookStore(t *testing.T, test func(t *testing.T, w *webhookBundle)) {
	testdb.EachParallel(t, func(t *testing.T, s *models.Store) {
		test(t, setupWebhook(t, s))
	})
}

func setupWebhook(t *testing.T, store *models.Store) *webhookBundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	fake, err := sendgridfake.Start()
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	key, err := api.ParseSendGridKey(fake.PublicKey())
	require.NoError(t, err)
	w := &webhookBundle{fake: fake, now: time.Now()}
	w.bundle = on(t, store, func(d *api.Deps) {
		d.Webhook.Key, d.Webhook.MaxAge = key, 5*time.Minute
		d.Now = func() time.Time { return w.now }
	})
	w.seed(t)
	st, _ := w.do(t, "POST", "/v1/events", `{"id":"ev-1","type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
	require.Equal(t, 202, st)
	ctx := context.Background()
	m, _, err := store.ClaimMessage(ctx, &models.Message{ID: "m-1", EnrollmentID: "e-1", StepID: "complement", CustomerID: "ada",
		CampaignID: "camera-accessories", Variant: "A", Status: domain.MessagePending})
	require.NoError(t, err)
	require.NoError(t, store.SaveRendered(ctx, m.ID, models.Rendered{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi"}))
	claimed, err := store.ClaimSending(ctx, m.ID, domain.MessageReady, nil, time.Now())
	require.NoError(t, err)
	require.True(t, claimed)
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
	t.Parallel()
	eachWebhookStore(t, func(t *testing.T, w *webhookBundle) {
		ctx := context.Background()
		processed := w.event("processed", nil)
		delivered := w.event("delivered", nil)
		machineOpen := w.event("open", map[string]any{"sg_machine_open": true})
		rec := w.postSigned(t, []map[string]any{processed, delivered, machineOpen}, w.now, nil)
		require.Equal(t, 200, rec.Code, rec.Body.String())

		m, err := w.store.GetMessage(ctx, "m-1")
		require.NoError(t, err)
		require.Equal(t, domain.MessageSent, m.Status, "processed confirms an ambiguous send")
		require.Equal(t, "x-msg-1", m.ProviderMessageID, "the X-Message-Id prefix of sg_message_id")
		require.Equal(t, "delivered", m.Delivery)
		require.Nil(t, m.OpenedAt, "machine opens are not engagement")

		// SendGrid retries: the same batch again changes nothing.
		rec = w.postSigned(t, []map[string]any{processed, delivered}, w.now, nil)
		require.Equal(t, 200, rec.Code)
		require.JSONEq(t, `{"applied":0,"duplicates":2,"ignored":0}`, rec.Body.String())

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
		require.JSONEq(t, `{"applied":0,"duplicates":0,"ignored":1}`, rec.Body.String())
	})
}

func TestWebhookComplaintsBouncesAndUnsubscribesSuppressAndExit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		event  map[string]any
		reason domain.SuppressionReason
		signal string
		scope  string
	}{
		{map[string]any{"event": "spamreport"}, domain.ReasonSpamReport, "complaint", ""},
		{map[string]any{"event": "bounce", "type": "bounce"}, domain.ReasonHardBounce, "bounce", ""},
		{map[string]any{"event": "unsubscribe"}, domain.ReasonUnsubscribe, "unsubscribe", ""},
		{map[string]any{"event": "group_unsubscribe", "asm_group_id": 42}, domain.ReasonUnsubscribe, "unsubscribe", ""},
	}
	for _, c := range cases {
		t.Run(c.event["event"].(string), func(t *testing.T) {
			t.Parallel()
			w := setupWebhook(t, testdb.SQLite(t))
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
				require.Nil(t, sup)
			}
			require.Equal(t, []string{"seq/camera-accessories/ada " + c.signal}, w.seq.Signals(), "the running sequence is told at once")
		})
	}
	t.Run("soft bounce", func(t *testing.T) {
		t.Parallel()
		w := setupWebhook(t, testdb.SQLite(t))
		rec := w.postSigned(t, []map[string]any{w.event("bounce", map[string]any{"type": "blocked"})}, w.now, nil)
		require.Equal(t, 200, rec.Code)
		sup, err := w.store.Suppressed(context.Background(), "ada@example.com", "x")
		require.NoError(t, err)
		require.Nil(t, sup, "a blocked (soft) bounce does not suppress")
	})
}

func TestWebhookRefusesWhatSendGridDidNotSign(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, func(t *testing.T, w *webhookBundle) {
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
		require.Empty(t, w.seq.Signals())
	})
}

// TestWebhookTakesSendGridsDocumentedSampleBatch posts a batch shaped like
// the sample in SendGrid's Event Webhook reference (categories as a string
// or a list, string attempts, no custom args: matched on the sg_message_id
// prefix), signed as SendGrid signs it.
func TestWebhookTakesSendGridsDocumentedSampleBatch(t *testing.T) {
	t.Parallel()
	eachWebhookStore(t, func(t *testing.T, w *webhookBundle) {
		ctx := context.Background()
		_, err := w.store.MarkSent(ctx, "m-1", "sendgrid", "14c5d75ce93.dfd.64b469", w.now)
		require.NoError(t, err)
		sample := `[
		 {"email":"ada@example.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"},
		 {"email":"ada@example.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"deferred","category":"cat facts","sg_event_id":"t7LEShmowp86DTdUW8M-GQ==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","response":"400 try again later","attempt":"5"},
		 {"email":"ada@example.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":["cat facts","dog facts"],"sg_event_id":"rWVYmVk90MjZJ9iohOBa3w==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","response":"250 OK"},
		 {"email":"ada@example.com","timestamp":1513299569,"event":"open","sg_machine_open":false,"category":"cat facts","sg_event_id":"FOTFFO0ecsBE-zxFXfs6WA==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)","ip":"255.255.255.255"},
		 {"email":"ada@example.com","timestamp":1513299569,"event":"click","category":"cat facts","sg_event_id":"kCAi1KttyQdEKHhdC-nuEA==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0","ip":"255.255.255.255","url":"http://www.sendgrid.com/"},
		 {"email":"ada@example.com","timestamp":1513299569,"event":"group_unsubscribe","category":"cat facts","sg_event_id":"ahSCB7xYcXFb-hEaawsPRw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","asm_group_id":10},
		 {"email":"ada@example.com","timestamp":1513299569,"event":"group_resubscribe","category":"cat facts","sg_event_id":"w_u0vJhLT-OFfprar5N93g==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","asm_group_id":10},
		 {"email":"ada@example.com","timestamp":1513299569,"event":"bounce","category":"cat facts","sg_event_id":"6g4ZI7SA-xmRDv57GoPIPw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","reason":"500 unknown recipient","status":"5.0.0","type":"bounce"}
		]`
		var events []map[string]any
		require.NoError(t, json.Unmarshal([]byte(sample), &events))
		rec := w.postSigned(t, events, w.now, nil)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.JSONEq(t, `{"applied":8,"duplicates":0,"ignored":0}`, rec.Body.String())

		m, err := w.store.GetMessage(ctx, "m-1")
		require.NoError(t, err)
		require.Equal(t, "bounced", m.Delivery)
		require.NotNil(t, m.OpenedAt)
		require.NotNil(t, m.ClickedAt)
		sup, err := w.store.Suppressed(ctx, "ada@example.com", "camera-accessories")
		require.NoError(t, err)
		require.Equal(t, domain.ReasonUnsubscribe, sup.Reason, "the group unsubscribe stands: a resubscribe never lifts it")
		require.Equal(t, []string{"seq/camera-accessories/ada unsubscribe", "seq/camera-accessories/ada bounce"}, w.seq.Signals())
		m, err = w.store.GetMessage(ctx, "m-1")
		require.NoError(t, err)
		require.Equal(t, "14c5d75ce93.dfd.64b469", m.ProviderMessageID)
	})
}

// countingBody records how much of it was read; read blocks until
// release is closed when it is set.
type countingBody struct {
	n       int64
	size    int64
	reading chan struct{} // closed at the first Read
	release chan struct{}
	once    sync.Once
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.reading != nil {
		b.once.Do(func() { close(b.reading) })
	}
	if b.release != nil {
		<-b.release
	}
	if b.n >= b.size {
		return 0, io.EOF
	}
	k := min(int64(len(p)), b.size-b.n)
	b.n += k
	for i := range p[:k] {
		p[i] = ' '
	}
	return int(k), nil
}

func (b *countingBody) Close() error { return nil }

// TestWebhookChecksBeforeItReads: the unauthenticated endpoint reads no
// body with a stale timestamp or a declared size over its limit; reads a
// bounded number at once from one client, so slow unsigned senders hold
// nothing a signed batch needs; and records a refusal (which holds every
// ambiguous send for a day) only for a batch whose signature verified.
func TestWebhookChecksBeforeItReads(t *testing.T) {
	t.Parallel()
	w := setupWebhook(t, testdb.SQLite(t))
	post := func(body *countingBody, ts time.Time, length int64, peer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/webhooks/sendgrid", nil)
		req.Body, req.ContentLength = body, length
		req.RemoteAddr = peer + ":40000"
		req.Header.Set(eventwebhook.TimestampHTTPHeader, strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set(eventwebhook.VerificationHTTPHeader, "MEUCIQ")
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		return rec
	}
	const outsider = "203.0.113.7"
	huge := int64(16 << 20)

	stale := &countingBody{size: huge}
	require.Equal(t, 403, post(stale, w.now.Add(-time.Hour), -1, outsider).Code)
	require.Zero(t, stale.n, "a stale timestamp is refused before the body is read")

	declared := &countingBody{size: huge}
	require.Equal(t, 413, post(declared, w.now, huge, outsider).Code)
	require.Zero(t, declared.n, "a declared size over the limit is refused before the body is read")

	refusals := func() (n int64) {
		require.NoError(t, w.store.DB().Model(&models.WebhookRefusal{}).Count(&n).Error)
		return n
	}
	undeclared := &countingBody{size: huge}
	require.Equal(t, 413, post(undeclared, w.now, -1, outsider).Code)
	require.LessOrEqual(t, undeclared.n, int64(4<<20), "an undeclared size is read only up to the limit")
	truncated := &countingBody{size: 10}
	require.Equal(t, 403, post(truncated, w.now, 100, outsider).Code)
	require.Zero(t, refusals(), "nothing unsigned records a refusal: only SendGrid's own batches can hold sends back")

	// Two slow bodies from one client are read at once; a third from it
	// is told to come back at once, and a signed batch from elsewhere is
	// applied meanwhile.
	var held []*countingBody
	done := make(chan struct{})
	for range 2 {
		b := &countingBody{size: 2, reading: make(chan struct{}), release: make(chan struct{})}
		held = append(held, b)
		go func() { post(b, w.now, 2, outsider); done <- struct{}{} }()
		<-b.reading
	}
	rec := post(&countingBody{size: 2}, w.now, 2, outsider)
	require.Equal(t, 429, rec.Code)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	signed := w.postSigned(t, []map[string]any{w.event("delivered", nil)}, w.now, nil)
	require.Equal(t, 200, signed.Code, "%s", signed.Body)
	for _, b := range held {
		close(b.release)
		<-done
	}
	require.Equal(t, 403, post(&countingBody{size: 2}, w.now, 2, outsider).Code, "a read is free again: the forged signature is checked")
	require.Zero(t, refusals())
}
