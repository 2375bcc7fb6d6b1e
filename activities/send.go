package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/telemetry"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
)

// Send hands the rendered message to the mailer, once: a message already
// marked sent is not sent again. Consent and suppression are checked again
// right before the mailer is called, so an unsubscribe that arrives while
// a send is being retried still stops it. A permanent refusal marks the
// message failed and the sequence moves on.
func (a *Activities) Send(ctx context.Context, in workflows.SendInput) (workflows.Sent, error) {
	var campaignID, stepID, outcome string
	out, err := a.send(ctx, in, &campaignID, &stepID, &outcome)
	switch {
	case outcome != "":
	case err != nil:
		outcome = "error" // retried by Temporal
	case out.Failed:
		outcome = "failed"
	case out.Skipped:
		outcome = "skipped"
	case out.Deferred && strings.HasPrefix(out.Reason, "held:"):
		outcome = "held"
	case out.Deferred && strings.HasPrefix(out.Reason, "frequency cap"):
		outcome = "deferred"
	case out.Deferred:
		outcome = "awaiting_confirmation"
	default:
		outcome = "sent"
	}
	if campaignID != "" {
		metrics(ctx).WithTags(map[string]string{"campaign": campaignID, "step": stepID, "outcome": outcome}).
			Counter(telemetry.MetricEmails).Inc(1)
	}
	return out, err
}

// metrics is the activity's metrics handler (tagged with the activity
// and workflow types), or none outside an activity.
func metrics(ctx context.Context) client.MetricsHandler {
	if activity.IsActivity(ctx) {
		return activity.GetMetricsHandler(ctx)
	}
	return client.MetricsNopHandler
}

func (a *Activities) send(ctx context.Context, in workflows.SendInput, campaignID, stepID, outcome *string) (workflows.Sent, error) {
	msg, err := a.Store.GetMessage(ctx, in.MessageID)
	if err != nil {
		return workflows.Sent{}, err
	}
	*campaignID, *stepID = msg.CampaignID, msg.StepID
	switch msg.Status {
	case domain.MessageSent:
		*outcome = "already_sent" // an earlier attempt sent it; its answer was lost
		return workflows.Sent{ProviderMessageID: msg.ProviderMessageID}, nil
	case domain.MessageReady, domain.MessageSending:
	default:
		*outcome = "already_" + string(msg.Status) // an earlier attempt settled it; its answer was lost
		return workflows.Sent{Failed: true, Reason: "message is " + string(msg.Status) + ": " + msg.Error}, nil
	}
	el, cust, err := a.App.Eligibility(ctx, msg.CustomerID, msg.CampaignID)
	if err != nil {
		return workflows.Sent{}, err
	}
	if el.Eligible {
		// An offer that ended while the email waited (a cap, a pause) is
		// never sent.
		if why, err := a.sendOfferEnded(ctx, msg); err != nil {
			return workflows.Sent{}, err
		} else if why != "" {
			el = workflows.Eligibility{Reason: why}
		}
	}
	if !el.Eligible {
		// A message that may already have reached the provider stays
		// "sending", so a late processed event can still record it.
		if msg.Status != domain.MessageSending {
			if err := a.Store.MarkMessage(ctx, msg.ID, domain.MessageSkipped, el.Reason); err != nil {
				return workflows.Sent{}, err
			}
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, err
		}
		return workflows.Sent{Skipped: true, Reason: el.Reason}, nil
	}
	if msg.Status == domain.MessageSending {
		// An earlier attempt died after calling the mailer: it may have
		// been accepted. Wait for the provider to confirm it before
		// sending again.
		d, wait, err := a.awaitReconciliation(ctx, msg)
		if err != nil || wait {
			return d, err
		}
	}
	ok, retryAt, err := a.Store.ReserveSend(ctx, msg.CustomerID, msg.ID, a.now(), a.scaledCaps(in.Day))
	if err != nil {
		return workflows.Sent{}, err
	}
	if !ok {
		return workflows.Sent{Deferred: true, RetryAt: retryAt, Reason: "frequency cap reached (" + a.describeCaps() + ")"}, nil
	}
	// Claim the attempt: exactly one caller moves the message from what it
	// read (ready, or sending since a given moment) to sending-now. Anyone
	// who lost the race, or a processed event that marked it sent in the
	// meantime, makes the claim fail and the retry re-reads.
	claimed, err := a.Store.ClaimSending(ctx, msg.ID, msg.Status, msg.SendingAt, a.now())
	if err != nil {
		return workflows.Sent{}, err
	}
	if !claimed {
		return workflows.Sent{}, fmt.Errorf("message %s changed while it was being sent; re-reading it", msg.ID)
	}
	start := time.Now()
	id, err := a.Mailer.Send(ctx, delivery.Email{
		MessageID: msg.ID, FromEmail: a.App.Settings.FromEmail, FromName: a.App.Settings.FromName,
		To: cust.Email, ToName: cust.Name, Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text, Headers: msg.Headers,
		CustomArgs: map[string]string{
			"message_id": msg.ID, "enrollment_id": msg.EnrollmentID, "campaign_id": msg.CampaignID,
			"step_id": msg.StepID, "variant": msg.Variant,
		},
		Categories: []string{"lift", "campaign-" + msg.CampaignID},
	})
	metrics(ctx).WithTags(map[string]string{"provider": a.Mailer.Name()}).Timer(telemetry.MetricSendLatency).Record(time.Since(start))
	if errs.Is(err, errs.PermanentRemote) {
		if err := a.Store.MarkMessage(ctx, msg.ID, domain.MessageFailed, err.Error()); err != nil {
			return workflows.Sent{}, err
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, err
		}
		return workflows.Sent{Failed: true, Reason: err.Error()}, nil
	}
	if errs.Is(err, errs.Unavailable) {
		// The provider answered and refused for now (429, 500, 503): nothing
		// was sent, so the retry need not wait for a confirmation, and the
		// cap slot is given back until then.
		if err := a.Store.MarkReady(ctx, msg.ID); err != nil {
			return workflows.Sent{}, err
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, err
		}
		return workflows.Sent{}, err // a rate limit is retried at its reset time (Classify)
	}
	if err != nil {
		return workflows.Sent{}, err // ambiguous (a timeout, a dropped connection): the message stays "sending"
	}
	if _, err := a.Store.MarkSent(ctx, msg.ID, a.Mailer.Name(), id, a.now()); err != nil {
		return workflows.Sent{}, err
	}
	return workflows.Sent{ProviderMessageID: id}, nil
}

func (a *Activities) sendOfferEnded(ctx context.Context, msg *models.Message) (string, error) {
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	def, err := a.App.Definitions().Version(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return "", err
	}
	step, _ := def.StepByID(msg.StepID)
	return a.offerEnded(step), nil
}

// awaitReconciliation decides what to do with a message found "sending":
// an earlier attempt called the mailer and never learnt the answer. With a
// mailer that confirms accepted messages by event (SendGrid's webhook):
//
//   - for ReconcileAfter after the attempt, wait for the confirmation,
//     polling every tenth of it (at most 30 s);
//   - then send again only when the webhook has shown it delivers. The
//     first laterSendsChecked sends SendGrid certainly accepted after
//     this attempt are all confirmed while this one is not; or, when Lift
//     refused no webhook request since the attempt (so no batch is being
//     retried out of order), at least laterSendsChecked later ones are.
//     A refusal younger than SendGrid's 24 hours of retries means the
//     event may still come: wait.
//
// Otherwise the message is held, never sent twice: the journey and the
// message say why, the lift_send_held counter counts it, and an operator
// may resolve it (POST /v1/messages/{id}/resolve). Held messages are
// looked at again with a backoff (a tenth of the time held, at most 30
// minutes) so a long outage does not fill the workflow's history.
func (a *Activities) awaitReconciliation(ctx context.Context, msg *models.Message) (workflows.Sent, bool, error) {
	r, ok := a.Mailer.(delivery.Reconciler)
	if !ok || !r.Reconciles() || msg.SendingAt == nil {
		return workflows.Sent{}, false, nil // resending cannot duplicate anything
	}
	now := a.now()
	waited := now.Sub(*msg.SendingAt)
	if waited < a.ReconcileAfter {
		poll := min(a.ReconcileAfter/10, 30*time.Second)
		return workflows.Sent{Deferred: true, RetryAt: now.Add(min(poll, a.ReconcileAfter-waited)),
			Reason: "an earlier attempt may have reached " + a.Mailer.Name() + "; waiting for its processed event before sending again"}, true, nil
	}
	refused, err := a.Store.LastWebhookRefusal(ctx, *msg.SendingAt)
	if err != nil {
		return workflows.Sent{}, false, err
	}
	why := "its event webhook has not yet shown it delivers the events of later sends"
	if refused == nil || now.Sub(*refused) >= webhookRetries {
		first, confirmed, err := a.Store.LaterSends(ctx, *msg.SendingAt, msg.ID, laterSendsChecked)
		if err != nil {
			return workflows.Sent{}, false, err
		}
		if first || (refused == nil && confirmed >= laterSendsChecked) {
			return workflows.Sent{}, false, nil
		}
	} else {
		why = fmt.Sprintf("Lift refused a webhook request %s ago, which SendGrid retries for 24 hours", now.Sub(*refused).Round(time.Second))
	}
	reason := fmt.Sprintf("held: an attempt %s ago may have reached %s, and %s; "+
		"sent again only when it has, marked sent when this one's event comes, or resolved by an operator",
		waited.Round(time.Second), a.Mailer.Name(), why)
	if err := a.Store.NoteMessage(ctx, msg.ID, reason); err != nil {
		return workflows.Sent{}, false, err
	}
	metrics(ctx).Counter(MetricSendHeld).Inc(1)
	poll := min(max(waited/10, a.ReconcileAfter/10), 30*time.Minute)
	return workflows.Sent{Deferred: true, RetryAt: now.Add(poll), Reason: reason}, true, nil
}

// webhookRetries is how long SendGrid retries a webhook request that was
// not answered 2xx.
const webhookRetries = 24 * time.Hour

// laterSendsChecked is how many sends after an ambiguous one must be
// confirmed before it is repeated.
const laterSendsChecked = 10

// MetricSendHeld counts the times a send was held because the webhook had
// not shown whether an earlier attempt reached the provider.
const MetricSendHeld = "lift_send_held"

func (a *Activities) scaledCaps(day time.Duration) []models.Cap {
	if day <= 0 {
		day = 24 * time.Hour
	}
	out := make([]models.Cap, len(a.Caps))
	for i, c := range a.Caps {
		// Windows are whole hours; dividing first keeps this from overflowing.
		out[i] = models.Cap{Window: c.Window / time.Hour * day / 24, Max: c.Max}
	}
	return out
}

func (a *Activities) describeCaps() string {
	var parts []string
	for _, c := range a.Caps {
		if c.Max > 0 {
			parts = append(parts, fmt.Sprintf("at most %d per %s", c.Max, days(c.Window)))
		}
	}
	return strings.Join(parts, ", ")
}

func days(d time.Duration) string {
	if n := d / (24 * time.Hour); n*24*time.Hour == d {
		if n == 1 {
			return "day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
