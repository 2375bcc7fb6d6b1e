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
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// SendGridWebhook verifies SendGrid's signed Event Webhook.
type SendGridWebhook struct {
	Key    *ecdsa.PublicKey
	MaxAge time.Duration // oldest timestamp accepted (default 5 minutes)
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

// sgEvent is the part of a SendGrid event Lift uses. Our custom_args come
// back as top-level fields.
type sgEvent struct {
	EventID     string `json:"sg_event_id"`
	Event       string `json:"event"`
	Timestamp   int64  `json:"timestamp"`
	SGMessageID string `json:"sg_message_id"`
	MessageID   string `json:"message_id"` // our custom arg
	CampaignID  string `json:"campaign_id"`
	Email       string `json:"email"`
	Type        string `json:"type"` // bounce: "bounce" (hard) or "blocked"
	MachineOpen bool   `json:"sg_machine_open"`
	ASMGroupID  int    `json:"asm_group_id"`
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
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	maxAge := h.Webhook.MaxAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	if age := h.Now().Sub(time.Unix(sent, 0)); err != nil || age > maxAge || age < -maxAge {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "stale or malformed webhook timestamp"))
		return
	}
	if ok, err := eventwebhook.VerifySignature(h.Webhook.Key, body, sig, ts); err != nil || !ok {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "webhook signature does not verify"))
		return
	}
	var events []sgEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&events); err != nil {
		writeError(c, h.Logger, decodeError(err))
		return
	}
	counts := map[string]int{outcomeApplied: 0, outcomeDuplicate: 0, outcomeIgnored: 0}
	for _, ev := range events {
		outcome, err := h.applySendGridEvent(c.Request.Context(), ev)
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		counts[outcome]++
	}
	c.JSON(http.StatusOK, counts)
}

// What became of a webhook event.
const (
	outcomeApplied   = "applied"
	outcomeDuplicate = "duplicates" // applied before: SendGrid retried
	outcomeIgnored   = "ignored"    // not about a message Lift sent
)

// applySendGridEvent maps one event onto the message's status, the
// suppression list and the running sequence, and says what became of it.
func (h *handlers) applySendGridEvent(ctx context.Context, ev sgEvent) (string, error) {
	if ev.EventID == "" {
		return outcomeIgnored, nil
	}
	msg, err := h.findMessage(ctx, ev)
	if errs.Is(err, errs.NotFound) {
		return outcomeIgnored, nil // not one of ours (another sender on the account)
	}
	if err != nil {
		return "", err
	}
	seen, err := h.Store.WebhookEventSeen(ctx, ev.EventID)
	if err != nil || seen {
		return outcomeDuplicate, err
	}
	// Apply, then record: a crash in between makes SendGrid's retry apply
	// the event again, which every step below tolerates; recording first
	// would lose it.
	at := time.Unix(ev.Timestamp, 0).UTC()
	if err := h.applyToMessage(ctx, msg, ev, at); err != nil {
		return "", err
	}
	if _, err := h.Store.RecordWebhookEvent(ctx, &models.WebhookEvent{SGEventID: ev.EventID, MessageID: msg.ID, Type: ev.Event, At: at}); err != nil {
		return "", err
	}
	return outcomeApplied, nil
}

// providerID is the X-Message-Id inside an sg_message_id
// ("<X-Message-Id>.filter…" or "….recvd-…"); the ID itself may hold dots.
func providerID(sgMessageID string) string {
	for _, marker := range []string{".filter", ".recvd-"} {
		if i := strings.Index(sgMessageID, marker); i > 0 {
			return sgMessageID[:i]
		}
	}
	id, _, _ := strings.Cut(sgMessageID, ".")
	return id
}

func (h *handlers) findMessage(ctx context.Context, ev sgEvent) (*models.Message, error) {
	if ev.MessageID != "" {
		return h.Store.GetMessage(ctx, ev.MessageID)
	}
	if ev.SGMessageID != "" {
		return h.Store.MessageByProviderID(ctx, ev.SGMessageID)
	}
	return nil, errs.E(errs.NotFound, "event names no message")
}

func (h *handlers) applyToMessage(ctx context.Context, msg *models.Message, ev sgEvent, at time.Time) error {
	store := h.Store
	exit := func(signal string, reason domain.SuppressionReason, campaignOnly bool) error {
		sig := workflows.ExitSignal{EventID: ev.EventID}
		if campaignOnly {
			sig.CampaignID = msg.CampaignID
		}
		if err := store.Suppress(ctx, ev.Email, sig.CampaignID, reason); err != nil {
			return err
		}
		_, err := h.signalRunning(ctx, msg.CustomerID, signal, sig, nil)
		return err
	}
	switch ev.Event {
	case "processed":
		// The confirmation an ambiguous send waits for.
		_, err := store.MarkSent(ctx, msg.ID, "sendgrid", providerID(ev.SGMessageID), at)
		return err
	case "delivered", "deferred", "dropped":
		return store.UpdateDelivery(ctx, msg.ID, ev.Event, nil, nil)
	case "open":
		if ev.MachineOpen { // Apple Mail privacy prefetch: not engagement
			return nil
		}
		return store.UpdateDelivery(ctx, msg.ID, "", &at, nil)
	case "click":
		return store.UpdateDelivery(ctx, msg.ID, "", nil, &at)
	case "bounce":
		if err := store.UpdateDelivery(ctx, msg.ID, "bounced", nil, nil); err != nil {
			return err
		}
		if ev.Type == "blocked" { // a soft bounce: the address may work later
			return nil
		}
		return exit(workflows.SignalBounce, domain.ReasonHardBounce, false)
	case "spamreport":
		if err := store.MarkMessageOutcome(ctx, msg.ID, domain.OutcomeComplained, at); err != nil {
			return err
		}
		return exit(workflows.SignalComplaint, domain.ReasonSpamReport, false)
	case "unsubscribe", "group_unsubscribe":
		if err := store.MarkMessageOutcome(ctx, msg.ID, domain.OutcomeUnsubscribed, at); err != nil {
			return err
		}
		// Lift sends all its mail under one unsubscribe group
		// (SENDGRID_ASM_GROUP_ID), so leaving the group is leaving all of it.
		return exit(workflows.SignalUnsubscribe, domain.ReasonUnsubscribe, false)
	case "group_resubscribe":
		// Not applied: it must not undo an unsubscribe made on Lift's own
		// page. A customer who wants mail again gives consent again.
		h.Logger.Info("SendGrid group resubscribe not applied", "message_id", msg.ID)
	}
	return nil
}
