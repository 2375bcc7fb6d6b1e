package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/internal/telemetry"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Sending a step is one use case: RunStep. The worker's activity only
// decodes its input, calls it and classifies the error; the send state
// machine (pending → ready → sending → sent, failed or skipped, keyed by
// enrolment and step), reconciliation of an ambiguous send, the frequency
// cap's slot, the paused-campaign and coupon holds, the guardrail pause,
// offer expiry and the conversion credit live here.

// RunStep is a whole step in one activity, so a step costs one activity
// start instead of five: eligibility, the message with its
// recommendations (Prepare), the render, the send and the enrollment's
// progress. Each part is idempotent by the step's message, so a retried
// attempt, or the next attempt after a frequency cap deferred the send,
// picks up where the last one stopped and never sends twice.
func (a *App) RunStep(ctx context.Context, in workflows.RunStepInput) (workflows.StepOutcome, error) {
	var out workflows.StepOutcome
	// A sequence moved onto a newer version sends its steps from it: the
	// enrollment says so first, so rendering, offers and goals read it.
	if err := a.Store.MoveEnrollmentVersion(ctx, in.Ref.EnrollmentID, in.Ref.Version); err != nil {
		return out, err
	}
	el, err := a.checkEligibility(ctx, in.Ref)
	if err != nil || !el.Eligible {
		out.Eligibility = el
		return out, err
	}
	out.Eligibility = el
	prep, err := a.PrepareStep(ctx, in.Ref)
	if err != nil {
		return out, err
	}
	out.Prepared = prep
	progress := func(sent int) error {
		return a.RecordProgress(ctx, workflows.ProgressInput{EnrollmentID: in.Ref.EnrollmentID, StepID: in.Ref.StepID, EmailsSent: in.EmailsSent + sent})
	}
	switch {
	case prep.AlreadySent:
		return out, progress(1)
	case prep.Skip:
		return out, progress(0)
	}
	// A step whose incentive draws from a coupon pool gets its code
	// before it renders; an empty pool holds it, never sends it codeless.
	if held, err := a.issueCoupon(ctx, in.Ref, prep.MessageID); err != nil || held != "" {
		if held != "" {
			out.Sent = workflows.Sent{Deferred: true, RetryAt: time.Now().Add(min(max(in.Day/24, pauseRecheck), time.Hour)), Reason: held}
		}
		return out, err
	}
	msg, err := a.Store.GetMessage(ctx, prep.MessageID)
	if err != nil {
		return out, err
	}
	if msg.Status == domain.MessagePending { // rendered once: a deferred send is not rendered again
		if err := a.RenderMessage(ctx, prep.MessageID); err != nil {
			if why, permanent := permanently(err); permanent {
				out.RenderError = why
				return out, progress(0)
			}
			return out, err
		}
	}
	// A pause that overtook this step holds its send: the workflow waits
	// (blocked by the pause) and calls again once resumed.
	enr, err := a.Store.GetEnrollment(ctx, in.Ref.EnrollmentID)
	if err != nil {
		return out, err
	}
	if enr.PausedAt != nil {
		out.Sent = workflows.Sent{Deferred: true, RetryAt: time.Now().Add(pauseRecheck), Reason: "paused by an operator"}
		return out, nil
	}
	// So does a pause of the whole campaign (the reach policy's hold).
	if later, why, err := a.campaignHold(ctx, in.Ref.CampaignID, in.Day); err != nil || why != "" {
		if why != "" {
			out.Sent = workflows.Sent{Deferred: true, RetryAt: later, Reason: why}
		}
		return out, err
	}
	sent, err := a.SendMessage(ctx, workflows.SendInput{MessageID: prep.MessageID, Day: in.Day})
	if err != nil {
		why, permanent := permanently(err)
		if !permanent {
			return out, err
		}
		sent = workflows.Sent{Failed: true, Reason: why}
	}
	out.Sent = sent
	switch {
	case sent.Deferred:
		return out, nil // the workflow waits and calls again
	case sent.Failed || sent.Skipped:
		return out, progress(0)
	}
	return out, progress(1)
}

// pauseRecheck is when a step held by a pause looks again, should the
// pause itself not have reached the workflow by then.
const pauseRecheck = 10 * time.Second

// permanently reports whether err fails a step for good (what the
// activity's classifier makes non-retryable: input that cannot become
// valid, a provider's permanent refusal), and its message.
func permanently(err error) (string, bool) {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.Malformed, errs.NotFound, errs.PermanentRemote:
		return err.Error(), true
	}
	return "", false
}

// issueCoupon draws the message's code when its step's incentive names a
// coupon pool (the same code again on a retry). It says why the step
// must wait when the pool has no unused code.
func (a *App) issueCoupon(ctx context.Context, ref workflows.StepRef, messageID string) (string, error) {
	def, err := a.defs.Version(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return "", err
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok {
		return "", nil
	}
	inc := def.ForVariant(step, ref.Variant).Incentive
	if inc == nil || inc.Pool == "" {
		return "", nil
	}
	_, err = a.Store.IssueCoupon(ctx, inc.Pool, messageID, a.now(), a.CouponExpiry(inc))
	if errors.Is(err, models.ErrPoolEmpty) {
		a.CountHeldStep(ref.CampaignID, "coupon_pool_empty")
		return "coupon pool " + inc.Pool + " has no unused code: the step waits until codes are added", nil
	}
	return "", err
}

// Send hands the rendered message to the mailer, once: a message already
// marked sent is not sent again. Consent and suppression are checked again
// right before the mailer is called, so an unsubscribe that arrives while
// a send is being retried still stops it. A permanent refusal marks the
// message failed and the sequence moves on.
func (a *App) SendMessage(ctx context.Context, in workflows.SendInput) (workflows.Sent, error) {
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
		a.metricsFor(ctx).WithTags(map[string]string{"campaign": campaignID, "step": stepID, "outcome": outcome}).
			Counter(telemetry.MetricEmails).Inc(1)
	}
	return out, err
}

func (a *App) send(ctx context.Context, in workflows.SendInput, campaignID, stepID, outcome *string) (workflows.Sent, error) {
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
	el, cust, err := a.Eligibility(ctx, msg.CustomerID, msg.CampaignID)
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
	ok, retryAt, err := a.TakeSlot(ctx, msg.CustomerID, msg.ID, in.Day)
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
		MessageID: msg.ID, FromEmail: a.Settings.FromEmail, FromName: a.Settings.FromName,
		To: cust.Email, ToName: cust.Name, Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text, Headers: msg.Headers,
		CustomArgs: map[string]string{
			"message_id": msg.ID, "enrollment_id": msg.EnrollmentID, "campaign_id": msg.CampaignID,
			"step_id": msg.StepID, "variant": msg.Variant,
		},
		Categories: []string{"lift", "campaign-" + msg.CampaignID},
	})
	a.metricsFor(ctx).WithTags(map[string]string{"provider": a.Mailer.Name()}).Timer(telemetry.MetricSendLatency).Record(time.Since(start))
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

func (a *App) sendOfferEnded(ctx context.Context, msg *models.Message) (string, error) {
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	def, err := a.defs.Version(ctx, enr.CampaignID, enr.Version)
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
func (a *App) awaitReconciliation(ctx context.Context, msg *models.Message) (workflows.Sent, bool, error) {
	r, ok := a.Mailer.(delivery.Reconciler)
	if !ok || !r.Reconciles() || msg.SendingAt == nil {
		return workflows.Sent{}, false, nil // resending cannot duplicate anything
	}
	now := a.now()
	waited := now.Sub(*msg.SendingAt)
	if waited < a.Settings.ReconcileAfter {
		poll := min(a.Settings.ReconcileAfter/10, 30*time.Second)
		return workflows.Sent{Deferred: true, RetryAt: now.Add(min(poll, a.Settings.ReconcileAfter-waited)),
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
	a.metricsFor(ctx).Counter(MetricSendHeld).Inc(1)
	poll := min(max(waited/10, a.Settings.ReconcileAfter/10), 30*time.Minute)
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

func (a *App) scaledCaps(day time.Duration) []models.Cap {
	if day <= 0 {
		day = 24 * time.Hour
	}
	out := make([]models.Cap, len(a.Settings.Caps))
	for i, c := range a.Settings.Caps {
		// Windows are whole hours; dividing first keeps this from overflowing.
		out[i] = models.Cap{Window: c.Window / time.Hour * day / 24, Max: c.Max}
	}
	return out
}

func (a *App) describeCaps() string {
	var parts []string
	for _, c := range a.Settings.Caps {
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

// Prepare creates the step's message, keyed by (enrollment, step), with the
// recommendations it will show. A step that needs recommendations and has
// none is skipped, not sent empty. Calling it again returns what the first
// call decided.
func (a *App) PrepareStep(ctx context.Context, ref workflows.StepRef) (workflows.Prepared, error) {
	def, err := a.defs.Version(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return workflows.Prepared{}, err
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok {
		return workflows.Prepared{}, errs.E(errs.NotFound, "step %s not in %s v%d", ref.StepID, ref.CampaignID, ref.Version)
	}
	step = def.ForVariant(step, ref.Variant)
	msg := &models.Message{
		ID: uuid.NewString(), EnrollmentID: ref.EnrollmentID, StepID: ref.StepID,
		CustomerID: ref.CustomerID, CampaignID: ref.CampaignID, Variant: ref.Variant,
		Status: domain.MessagePending,
	}
	paused, err := a.guardrailPause(ctx, def, ref)
	if err != nil {
		return workflows.Prepared{}, err
	}
	unmet, err := a.OnlyIfUnmet(ctx, ref.EnrollmentID, step)
	if err != nil {
		return workflows.Prepared{}, err
	}
	if paused != "" {
		msg.Status, msg.Error = domain.MessageSkipped, paused
	} else if unmet != "" {
		msg.Status, msg.Error = domain.MessageSkipped, unmet
	} else if why := a.offerEnded(step); why != "" {
		msg.Status, msg.Error = domain.MessageSkipped, why
	} else if step.UsesRecommendations() {
		if err := a.recommendFor(ctx, ref, step, msg); err != nil {
			return workflows.Prepared{}, err
		}
	}
	msg, _, err = a.Store.ClaimMessage(ctx, msg)
	if err != nil {
		return workflows.Prepared{}, err
	}
	p := workflows.Prepared{MessageID: msg.ID, Items: len(msg.Recommended)}
	switch msg.Status {
	case domain.MessageSent:
		p.AlreadySent = true
	case domain.MessageSkipped, domain.MessageFailed:
		p.Skip, p.Reason = true, msg.Error
	}
	return p, nil
}

// guardrailPause says why the experiment's guardrails hold the
// variant's step, or "".
func (a *App) guardrailPause(ctx context.Context, def *campaign.Definition, ref workflows.StepRef) (string, error) {
	if def.Experiment == nil {
		return "", nil
	}
	exp, err := a.Store.CurrentExperiment(ctx, ref.CampaignID)
	if err != nil || exp == nil || exp.ID != def.Experiment.ID {
		return "", err
	}
	return experiment.PausedReason(exp, ref.Variant, ref.StepID), nil
}

// offerEnded says why a step must not be sent because its offer has
// ended, or "".
func (a *App) offerEnded(step campaign.Step) string {
	if step.Incentive == nil {
		return ""
	}
	if end, ok := step.Incentive.End(); ok && !a.now().Before(end) {
		return "the offer ended " + end.UTC().Format(time.RFC3339) + ": an expired offer is never sent"
	}
	return ""
}

// recommend applies the step's strategy (internal/recs) at send time, so
// what the customer bought since enrolment is left out. With an optional
// block, a failing recommender means an email without recommendations; an
// empty result without one skips the step.
func (a *App) recommendFor(ctx context.Context, ref workflows.StepRef, step campaign.Step, msg *models.Message) error {
	trigger, err := a.TriggerSKUs(ctx, ref.TriggerEventID)
	if err != nil {
		return err
	}
	res, skip, err := a.StepRecommendations(ctx, step, ref.CustomerID, trigger)
	switch {
	case err != nil && step.Recommend.Optional && !CopyNamesProducts(step):
		msg.RecommendNote = "the recommender failed (" + err.Error() + "): sent without recommendations"
		return nil
	case err != nil:
		return err
	}
	msg.Recommended, msg.RecommendNote, msg.Strategy = res.SKUs(), res.Note, string(res.Strategy)
	msg.Reasons = map[string]string{}
	for _, p := range res.Picks {
		msg.Reasons[p.SKU] = p.Reason
	}
	if skip != "" {
		msg.Status = domain.MessageSkipped
		msg.Error = skip
	}
	return nil
}

// EvaluatePurchase decides whether an order meets one of the goals and,
// if it does, records the conversion, credited to the step whose email the
// customer last opened or clicked before buying, within the campaign's
// attribution window. The order that started the sequence never ends it.
func (a *App) EvaluatePurchase(ctx context.Context, in workflows.PurchaseInput) (workflows.PurchaseResult, error) {
	order, err := a.Store.GetOrder(ctx, in.OrderID)
	if errs.Is(err, errs.NotFound) {
		return workflows.PurchaseResult{}, nil
	}
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	if in.TriggerEventID != "" && order.EventID == in.TriggerEventID {
		return workflows.PurchaseResult{}, nil
	}
	msgs, err := a.Store.ListMessages(ctx, models.MessageFilter{EnrollmentID: in.EnrollmentID})
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	goal, err := a.purchaseGoal(ctx, in, order, msgs)
	if err != nil || goal == "" {
		return workflows.PurchaseResult{}, err
	}
	enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	def, err := a.defs.Version(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	day := in.Day
	if day <= 0 {
		day = 24 * time.Hour
	}
	credited := attribute(msgs, order.OccurredAt, def.Attribution().Scaled(day))
	if m, err := a.couponCredit(ctx, order, msgs); err != nil {
		return workflows.PurchaseResult{}, err
	} else if m != nil {
		credited = m
	}
	conv := &models.Conversion{
		EnrollmentID: enr.ID, OrderID: order.ID, CustomerID: enr.CustomerID, CampaignID: enr.CampaignID,
		Variant: enr.Variant, Goal: string(goal), RevenueMinor: order.RevenueMinor, Currency: order.Currency,
		OrderedAt: order.OccurredAt,
	}
	if credited != nil {
		conv.StepID, conv.MessageID = credited.StepID, credited.ID
		if credited.SentAt != nil {
			lag := int64(order.OccurredAt.Sub(*credited.SentAt) / time.Second)
			conv.LagSeconds = &lag
		}
	}
	if err := a.Store.RecordConversion(ctx, conv); err != nil {
		return workflows.PurchaseResult{}, err
	}
	return workflows.PurchaseResult{Converts: true, Goal: goal, RevenueMinor: order.RevenueMinor, Step: conv.StepID}, nil
}

// attribute returns the sent message the customer last opened or clicked
// at or before t and within window of it, or nil.
func attribute(msgs []models.Message, t time.Time, window time.Duration) *models.Message {
	var best *models.Message
	var bestAt time.Time
	for i := range msgs {
		m := &msgs[i]
		if m.Status != domain.MessageSent {
			continue
		}
		for _, at := range []*time.Time{m.OpenedAt, m.ClickedAt} {
			if at == nil || at.After(t) || t.Sub(*at) > window {
				continue
			}
			if best == nil || at.After(bestAt) {
				best, bestAt = m, *at
			}
		}
	}
	return best
}

// purchaseGoal returns the first goal the order meets, or "".
func (a *App) purchaseGoal(ctx context.Context, in workflows.PurchaseInput, order *models.Order, msgs []models.Message) (campaign.Goal, error) {
	bought := map[string]bool{}
	var skus []string
	for _, it := range order.Items {
		bought[it.SKU] = true
		skus = append(skus, it.SKU)
	}
	for _, goal := range in.Goals {
		switch goal {
		case campaign.GoalPurchaseAny:
			return goal, nil
		case campaign.GoalPurchaseOfRecommended:
			for _, m := range msgs {
				if m.Status != domain.MessageSent {
					continue
				}
				for _, sku := range m.Recommended {
					if bought[sku] {
						return goal, nil
					}
				}
			}
		case campaign.GoalPurchaseInCategory:
			enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
			if err != nil {
				return "", err
			}
			trigger, err := a.TriggerSKUs(ctx, enr.TriggerEventID)
			if err != nil {
				return "", err
			}
			ps, err := a.Store.GetProducts(ctx, append(trigger, skus...))
			if err != nil {
				return "", err
			}
			cats := map[string]bool{}
			for _, sku := range trigger {
				if c := ps[sku].Category; c != "" {
					cats[c] = true
				}
			}
			for _, sku := range skus {
				if cats[ps[sku].Category] {
					return goal, nil
				}
			}
		}
	}
	return "", nil
}

// couponCredit is the message whose one-time code the order used
// (properties.coupon of its event), opened or not, if the code was still
// valid when the customer bought; nil otherwise.
func (a *App) couponCredit(ctx context.Context, order *models.Order, msgs []models.Message) (*models.Message, error) {
	if order.EventID == "" {
		return nil, nil
	}
	ev, err := a.Store.GetEvent(ctx, order.EventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	code, _ := ev.Properties["coupon"].(string)
	if code == "" {
		return nil, nil
	}
	c, err := a.Store.CouponByCode(ctx, code)
	if err != nil || c == nil || (c.ExpiresAt != nil && order.OccurredAt.After(*c.ExpiresAt)) {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].ID == *c.MessageID && msgs[i].Status == domain.MessageSent {
			return &msgs[i], nil
		}
	}
	return nil, nil
}

// checkEligibility decides, at send time, whether the customer may get
// this campaign's email (see Eligibility).
func (a *App) checkEligibility(ctx context.Context, ref workflows.StepRef) (workflows.Eligibility, error) {
	el, _, err := a.Eligibility(ctx, ref.CustomerID, ref.CampaignID)
	return el, err
}

// metricsKey carries the metrics handler of the activity a use case runs
// in (tagged with the activity and workflow types).
type metricsKey struct{}

// WithMetrics gives a use case the metrics handler to count with.
func WithMetrics(ctx context.Context, h client.MetricsHandler) context.Context {
	return context.WithValue(ctx, metricsKey{}, h)
}

// metricsFor is the handler WithMetrics gave, or the application's.
func (a *App) metricsFor(ctx context.Context) client.MetricsHandler {
	if h, ok := ctx.Value(metricsKey{}).(client.MetricsHandler); ok && h != nil {
		return h
	}
	return a.Metrics
}

// StartEnrollment records the enrollment (idempotently) and answers the
// exits a concurrent event sent before its row existed.
func (a *App) StartEnrollment(ctx context.Context, in workflows.StartEnrollmentInput) (workflows.Started, error) {
	if err := a.Store.EnsureEnrollment(ctx, &models.Enrollment{
		ID: in.EnrollmentID, CustomerID: in.CustomerID, CampaignID: in.CampaignID, Version: in.Version,
		WorkflowID: in.WorkflowID, Variant: in.Variant, TriggerEventID: in.TriggerEventID, EntryKey: in.EntryKey,
		Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
	}); err != nil {
		return workflows.Started{}, err
	}
	exits, err := a.ExitsSince(ctx, in.CustomerID, in.EnrolledAt, in.TriggerEventID)
	return workflows.Started{Exits: exits}, err
}

// RecordProgress records the step an enrollment has reached.
func (a *App) RecordProgress(ctx context.Context, in workflows.ProgressInput) error {
	return a.Store.UpdateEnrollmentProgress(ctx, in.EnrollmentID, models.EnrollmentProgress{
		CurrentStep: in.StepID, EmailsSent: in.EmailsSent,
	})
}

// FinishEnrollment records how the enrollment ended.
func (a *App) FinishEnrollment(ctx context.Context, in workflows.FinishInput) error {
	return a.Store.FinishEnrollment(ctx, in.EnrollmentID, models.EnrollmentOutcome{
		Status: in.Status, ExitReason: in.Reason, ConvertedOrder: in.ConvertedOrder,
		RevenueMinor: in.RevenueMinor, EmailsSent: in.EmailsSent, EndedAt: in.EndedAt,
		Steps: in.Steps, PromotedTo: in.PromotedTo,
	})
}

// RebuildAffinitiesPairs is the rebuild as the scheduled workflow's
// activity asks for it: bought_together's pair count.
func (a *App) RebuildAffinitiesPairs(ctx context.Context) (int64, error) {
	st, err := a.RebuildRecommendations(ctx)
	if err != nil || st.Model == nil {
		return 0, err
	}
	return st.Model.Pairs, nil
}
