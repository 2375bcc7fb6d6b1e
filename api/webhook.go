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
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// SendGridWebhook verifies SendGrid's signed Event Webhook. The endpoint
// needs no API key, so what it takes from anyone is bounded before it
// reads a body: the headers must be there and the timestamp fresh, the
// body at most MaxBytes (SendGrid posts at most 768 KB at a time), read
// in at most 10 s, two at once per client; only a verified batch then
// takes one of Concurrent processing slots (SendGrid retries a 429).
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
	// Reading a body is bounded before anything is verified: at most
	// webhookPeerReads at once from one client and webhookReads in all,
	// each within webhookReadTimeout. Past them the answer is 429 at
	// once (SendGrid retries it); nothing is held, nothing recorded.
	peer := c.ClientIP()
	release, ok := h.webhookReads.acquire(peer)
	if !ok {
		c.Header("Retry-After", "5")
		writeError(c, h.Logger, errs.E(errs.TooManyRequests, "too many webhook requests being read from this client; SendGrid retries"))
		return
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(webhookReadTimeout))
	body, err := io.ReadAll(c.Request.Body)
	release()
	if err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	if ok, err := eventwebhook.VerifySignature(h.Webhook.Key, body, sig, ts); err != nil || !ok {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "webhook signature does not verify"))
		return
	}
	// Verified: SendGrid's own batch. From here on a failure makes
	// SendGrid retry it later, out of order: recorded, so no held send is
	// repeated on the strength of events that may still be on their way.
	// Only a verified request can record one.
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
	// webhookSlotWait is how long a verified webhook request waits for
	// one of the SENDGRID_WEBHOOK_CONCURRENCY slots before it is answered
	// 429.
	webhookSlotWait = 2 * time.Second
	// webhookReadTimeout bounds reading a webhook body: SendGrid's
	// batches (at most 768 KB) take far less.
	webhookReadTimeout = 10 * time.Second
	// webhookPeerReads bounds the bodies read at once from one client,
	// webhookReads (times SENDGRID_WEBHOOK_CONCURRENCY) those in all: a
	// few slow senders cannot keep SendGrid's batches from being read.
	webhookPeerReads = 2
	webhookReads     = 8
)

// readLimits counts the webhook bodies being read, per client and in all.
type readLimits struct {
	mu      sync.Mutex
	perPeer map[string]int
	total   int
	max     int
}

// acquire takes a read for peer, or says no; release gives it back.
func (l *readLimits) acquire(peer string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perPeer == nil {
		l.perPeer = map[string]int{}
	}
	if l.total >= l.max || l.perPeer[peer] >= webhookPeerReads {
		return nil, false
	}
	l.total++
	l.perPeer[peer]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.perPeer[peer]--; l.perPeer[peer] == 0 {
				delete(l.perPeer, peer)
			}
		})
	}, true
}

// noteWebhookRefusal records a verified webhook request answered with a
// status SendGrid retries (not 2xx). At most one a second is written per
// replica.
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
