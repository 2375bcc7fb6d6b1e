package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// RunStep is a whole step in one activity, so a step costs one activity
// start instead of five: eligibility, the message with its
// recommendations (Prepare), the render, the send and the enrollment's
// progress. Each part is idempotent by the step's message, so a retried
// attempt, or the next attempt after a frequency cap deferred the send,
// picks up where the last one stopped and never sends twice.
func (a *Activities) RunStep(ctx context.Context, in workflows.RunStepInput) (workflows.StepOutcome, error) {
	var out workflows.StepOutcome
	// A sequence moved onto a newer version sends its steps from it: the
	// enrollment says so first, so rendering, offers and goals read it.
	if err := a.Store.MoveEnrollmentVersion(ctx, in.Ref.EnrollmentID, in.Ref.Version); err != nil {
		return out, err
	}
	el, err := a.CheckEligibility(ctx, in.Ref)
	if err != nil || !el.Eligible {
		out.Eligibility = el
		return out, err
	}
	out.Eligibility = el
	prep, err := a.Prepare(ctx, in.Ref)
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
		if err := a.Render(ctx, workflows.MessageRef{MessageID: prep.MessageID}); err != nil {
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
	// So does a pause of the whole campaign, looked at again hourly (a
	// 24th of a compressed day): the pause may last days.
	camp, err := a.Store.GetCampaign(ctx, in.Ref.CampaignID)
	if err != nil {
		return out, err
	}
	if camp.PausedAt != nil {
		recheck := min(max(in.Day/24, pauseRecheck), time.Hour)
		out.Sent = workflows.Sent{Deferred: true, RetryAt: time.Now().Add(recheck), Reason: "campaign paused: " + camp.PausedReason}
		return out, nil
	}
	sent, err := a.Send(ctx, workflows.SendInput{MessageID: prep.MessageID, Day: in.Day})
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

// permanently reports whether Classify makes err a failure for good, and
// its message.
func permanently(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if errors.As(Classify(err), &appErr) && appErr.NonRetryable() {
		return appErr.Message(), true
	}
	return "", false
}

// issueCoupon draws the message's code when its step's incentive names a
// coupon pool (the same code again on a retry). It says why the step
// must wait when the pool has no unused code.
func (a *Activities) issueCoupon(ctx context.Context, ref workflows.StepRef, messageID string) (string, error) {
	def, err := a.App.Definitions().Version(ctx, ref.CampaignID, ref.Version)
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
	_, err = a.Store.IssueCoupon(ctx, inc.Pool, messageID, a.now(), a.App.CouponExpiry(inc))
	if errors.Is(err, models.ErrPoolEmpty) {
		a.App.CountHeldStep(ref.CampaignID, "coupon_pool_empty")
		return "coupon pool " + inc.Pool + " has no unused code: the step waits until codes are added", nil
	}
	return "", err
}
