package app

import (
	"context"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// SendGridEvent is the part of a SendGrid event Lift uses. Our custom_args come
// back as top-level fields.
type SendGridEvent struct {
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

// What became of a webhook event.
const (
	OutcomeApplied   = "applied"
	OutcomeDuplicate = "duplicates" // applied before: SendGrid retried
	OutcomeIgnored   = "ignored"    // not about a message Lift sent
)

// ApplySendGridEvent maps one event onto the message's status, the
// suppression list and the running sequence, and says what became of it.
func (a *App) ApplySendGridEvent(ctx context.Context, ev SendGridEvent) (string, error) {
	outcome, err := a.applySendGridEvent(ctx, ev)
	if err != nil {
		a.countWebhookEvent(ev.Event, "failed")
	} else {
		a.countWebhookEvent(ev.Event, outcome)
	}
	return outcome, err
}

func (a *App) applySendGridEvent(ctx context.Context, ev SendGridEvent) (string, error) {
	if ev.EventID == "" || len(ev.EventID) > 128 || len(ev.MessageID) > 64 || len(ev.SGMessageID) > 400 {
		return OutcomeIgnored, nil // not an event about a message Lift sent
	}
	msg, err := a.findMessage(ctx, ev)
	if errs.Is(err, errs.NotFound) {
		return OutcomeIgnored, nil // not one of ours (another sender on the account)
	}
	if err != nil {
		return "", err
	}
	seen, err := a.Store.WebhookEventSeen(ctx, ev.EventID)
	if err != nil || seen {
		return OutcomeDuplicate, err
	}
	// Apply, then record: a crash in between makes SendGrid's retry apply
	// the event again, which every step below tolerates; recording first
	// would lose it.
	at := time.Unix(ev.Timestamp, 0).UTC()
	if err := a.applyToMessage(ctx, msg, ev, at); err != nil {
		return "", err
	}
	if _, err := a.Store.RecordWebhookEvent(ctx, &models.WebhookEvent{SGEventID: ev.EventID, MessageID: msg.ID, Type: ev.Event, At: at}); err != nil {
		return "", err
	}
	return OutcomeApplied, nil
}

// Outcomes an operator gives a held message (ResolveMessage).
const (
	ResolvedSent    = "sent"
	ResolvedNotSent = "not_sent"
)

// ResolveMessage settles a message held because an attempt's answer was
// lost and the webhook has not shown whether the provider has it: an
// operator looked it up (SendGrid's Email Activity) and says it was sent,
// or was not (the waiting step then sends it).
func (a *App) ResolveMessage(ctx context.Context, id, outcome string) error {
	if outcome != ResolvedSent && outcome != ResolvedNotSent {
		return errs.Field(errs.Invalid, "outcome", "must be %q or %q", ResolvedSent, ResolvedNotSent)
	}
	return a.Store.ResolveHeld(ctx, id, outcome == ResolvedSent, a.now())
}

// WebhookRefused records that a webhook request was answered with a
// status SendGrid retries (see models.WebhookRefusal).
func (a *App) WebhookRefused(ctx context.Context, status int) error {
	return a.Store.RecordWebhookRefusal(ctx, a.now(), status)
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

func (a *App) findMessage(ctx context.Context, ev SendGridEvent) (*models.Message, error) {
	if ev.MessageID != "" {
		return a.Store.GetMessage(ctx, ev.MessageID)
	}
	if ev.SGMessageID != "" {
		return a.Store.MessageByProviderID(ctx, ev.SGMessageID)
	}
	return nil, errs.E(errs.NotFound, "event names no message")
}

func (a *App) applyToMessage(ctx context.Context, msg *models.Message, ev SendGridEvent, at time.Time) error {
	store := a.Store
	exit := func(signal string, reason domain.SuppressionReason, campaignOnly bool) error {
		sig := workflows.ExitSignal{EventID: ev.EventID}
		if campaignOnly {
			sig.CampaignID = msg.CampaignID
		}
		if err := store.Suppress(ctx, ev.Email, sig.CampaignID, reason); err != nil {
			return err
		}
		_, err := a.signalRunning(ctx, msg.CustomerID, signal, sig, nil, time.Time{})
		return err
	}
	// Any event says SendGrid has the message: the confirmation an
	// ambiguous send waits for (normally "processed", the first), and the
	// proof that the webhook delivers that other held sends rely on.
	if err := store.ConfirmMessage(ctx, msg.ID, "sendgrid", providerID(ev.SGMessageID), at, a.now()); err != nil {
		return err
	}
	switch ev.Event {
	case "delivered", "deferred", "dropped":
		return store.UpdateDelivery(ctx, msg.ID, ev.Event, nil, nil)
	case "open":
		if ev.MachineOpen { // Apple Mail privacy prefetch: not engagement
			return nil
		}
		if err := store.UpdateDelivery(ctx, msg.ID, "", &at, nil); err != nil {
			return err
		}
		return a.signalEngagement(ctx, msg, campaign.WaitOpen, at)
	case "click":
		if err := store.UpdateDelivery(ctx, msg.ID, "", nil, &at); err != nil {
			return err
		}
		return a.signalEngagement(ctx, msg, campaign.WaitClick, at)
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
		a.Logger.Info("SendGrid group resubscribe not applied", "message_id", msg.ID)
	}
	return nil
}
