package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// SendGridWebhook verifies SendGrid's signed Event Webhook. The endpoint
// needs no API key, so what it takes from anyone is bounded before it
// reads a body: the headers must be there and the timestamp fresh, the
// body at most MaxBytes (SendGrid posts at most 768 KB at a time), and at
// most Concurrent requests are read at once (SendGrid retries a 429).
type SendGridWebhook struct {
	Key        *ecdsa.PublicKey
	MaxAge     time.Duration // oldest timestamp accepted (SENDGRID_WEBHOOK_MAX_AGE)
	MaxBytes   int64         // SENDGRID_WEBHOOK_MAX_BYTES
	Concurrent int           // SENDGRID_WEBHOOK_CONCURRENCY
}

// ParseSendGridKey reads the base64 public key SendGrid shows for a signed
// Event Webhook.
func ParseSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("SendGrid webhook key: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("SendGrid webhook key: %w", err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("SendGrid webhook key is %T, not ECDSA", pub)
	}
	return key, nil
}

// sendgridWebhook applies a batch of SendGrid events. The signature over
// the timestamp header followed by the raw body is checked byte for byte,
// and stale timestamps are refused (sendgrid-go's helper does not check
// age). Events are deduplicated on sg_event_id; SendGrid retries any
// non-2xx for 24 hours, so a failure answers 503 and the batch comes again.
func (h *handlers) sendgridWebhook(c *gin.Context) {
	if h.Webhook.Key == nil {
		writeError(c, h.Logger, errs.E(errs.NotFound, "the SendGrid webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)"))
		return
	}
	sig, ts := c.GetHeader(eventwebhook.VerificationHTTPHeader), c.GetHeader(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "missing %s or %s", eventwebhook.VerificationHTTPHeader, eventwebhook.TimestampHTTPHeader))
		return
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	maxAge := h.Webhook.MaxAge
	if age := h.Now().Sub(time.Unix(sent, 0)); err != nil || age > maxAge || age < -maxAge {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "stale or malformed webhook timestamp"))
		return
	}
	// From here on a failure makes SendGrid retry the batch later, out of
	// order: recorded, so no held send is repeated on the strength of
	// events that may still be on their way.
	defer h.noteWebhookRefusal(c)
	wait := time.NewTimer(webhookSlotWait)
	defer wait.Stop()
	select {
	case h.webhookSlots <- struct{}{}:
		defer func() { <-h.webhookSlots }()
	case <-wait.C:
		c.Header("Retry-After", "5")
		writeError(c, h.Logger, errs.E(errs.TooManyRequests, "too many webhook requests at once; SendGrid retries"))
		return
	case <-c.Request.Context().Done():
		return
	}
	// A slot is for reading a body, not for a slow sender holding it.
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(webhookReadTimeout))
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	if ok, err := eventwebhook.VerifySignature(h.Webhook.Key, body, sig, ts); err != nil || !ok {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "webhook signature does not verify"))
		return
	}
	var events []app.SendGridEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&events); err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	counts := map[string]int{app.OutcomeApplied: 0, app.OutcomeDuplicate: 0, app.OutcomeIgnored: 0}
	for _, ev := range events {
		outcome, err := h.App.ApplySendGridEvent(c.Request.Context(), ev)
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		counts[outcome]++
	}
	c.JSON(http.StatusOK, counts)
}

const (
	// webhookSlotWait is how long a webhook request waits for one of the
	// SENDGRID_WEBHOOK_CONCURRENCY slots before it is answered 429.
	webhookSlotWait = 2 * time.Second
	// webhookReadTimeout bounds reading a webhook body once it holds a
	// slot: SendGrid's batches (at most 768 KB) take far less.
	webhookReadTimeout = 10 * time.Second
)

// noteWebhookRefusal records a webhook request answered with a status
// SendGrid retries: not 2xx, and not the 401/403/404 of a request that
// was not SendGrid's. At most one a second is written per replica.
func (h *handlers) noteWebhookRefusal(c *gin.Context) {
	st := c.Writer.Status()
	if st/100 == 2 || st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusNotFound {
		return
	}
	now := h.Now()
	last := h.lastRefusal.Load()
	if now.Unix() == last || !h.lastRefusal.CompareAndSwap(last, now.Unix()) {
		return
	}
	if err := h.App.WebhookRefused(context.WithoutCancel(c.Request.Context()), st); err != nil {
		h.Logger.Error("webhook refusal not recorded", "status", st, "err", err)
	}
}
