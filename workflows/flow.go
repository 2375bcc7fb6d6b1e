package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
)

// from is the moment the next step's offset counts from: the enrolment,
// or the end of the last wait_for.
func (s *sequence) from() time.Time {
	if s.since.IsZero() {
		return s.in.EnrolledAt
	}
	return s.since
}

// runFlowStep runs step i of a flow kind: a branch takes a path (its
// steps run next), a wait_for waits for its event or its time, a webhook
// posts to its destination.
func (s *sequence) runFlowStep(ctx workflow.Context, i int) error {
	if !s.flows {
		// No history recorded before the change holds a flow step, so
		// this only marks the histories that do.
		workflow.GetVersion(ctx, changeFlowSteps, workflow.DefaultVersion, 1)
		s.flows = true
	}
	step := s.in.Steps[i]
	s.journey.CurrentStep = step.ID
	before := s.reached
	if before.IsZero() {
		before = s.in.EnrolledAt
	}
	s.reached = workflow.Now(ctx)
	switch step.Kind {
	case campaign.KindBranch:
		return s.branch(ctx, i)
	case campaign.KindWaitFor:
		return s.waitFor(ctx, i, before)
	case campaign.KindWebhook:
		return s.webhook(ctx, i)
	}
	return temporal.NewNonRetryableApplicationError("unknown step kind "+step.Kind, "flow", nil)
}

func (s *sequence) ref(stepID string) StepRef {
	return StepRef{
		EnrollmentID: s.in.EnrollmentID, CustomerID: s.in.CustomerID, CampaignID: s.in.CampaignID,
		Version: s.in.Version, StepID: stepID, Variant: s.in.Variant, TriggerEventID: s.in.TriggerEventID,
	}
}

// branch decides by the facts now and puts the chosen path's steps right
// after the branch; the journey lists the path taken, not the other.
func (s *sequence) branch(ctx workflow.Context, i int) error {
	step := s.in.Steps[i]
	var out BranchOutcome
	if err := execActivity(ctx, "branch "+step.ID, ActivityEvaluateBranch, s.ref(step.ID), &out); err != nil {
		return err
	}
	path, steps := "else", step.Else
	if out.Then {
		path, steps = "then", step.Then
	}
	now := workflow.Now(ctx)
	st := &s.journey.Steps[i]
	st.Status, st.Path, st.Reason, st.DoneAt = StepBranched, path, out.Reason, &now
	states := make([]StepState, 0, len(steps))
	for _, p := range steps {
		states = append(states, StepState{ID: p.ID, Kind: p.Kind, Status: StepScheduled})
	}
	s.in.Steps = slices.Insert(slices.Clone(s.in.Steps), i+1, steps...)
	s.journey.Steps = slices.Insert(s.journey.Steps, i+1, states...)
	workflow.GetLogger(ctx).Info("branch", "step", step.ID, "path", path)
	return nil
}

// waitFor waits for the customer's next matching event (a flow_event
// signal naming this step) or for its time to run out. The next event is
// one that happened once the flow had reached the step before the wait
// (since): a click right after the email counts even if its signal came
// before the workflow got to the wait; older events, and signals without
// a time that came before the wait, do not. Exit signals and pauses work
// as in any wait.
func (s *sequence) waitFor(ctx workflow.Context, i int, since time.Time) error {
	step := s.in.Steps[i]
	s.waitingFor, s.waitSince, s.flowHit = step.ID, since, nil
	ch := workflow.GetSignalChannel(ctx, SignalFlowEvent)
	for {
		var ev FlowEvent
		if !ch.ReceiveAsync(&ev) {
			break
		}
		if !ev.At.IsZero() && s.meets(ev) && s.flowHit == nil {
			s.flowHit = &ev
		}
	}
	within := campaign.Offset{}
	if step.Within != nil {
		within = *step.Within
	}
	deadline := workflow.Now(ctx).Add(Scale(within, s.in.Day))
	st := &s.journey.Steps[i]
	st.Status, st.DueAt = StepWaiting, &deadline
	err := s.wait(ctx, deadline, step.Event+" ("+step.ID+")")
	s.waitingFor = ""
	hit := s.flowHit
	s.flowHit = nil
	if err != nil || s.ended() {
		return err
	}
	now := workflow.Now(ctx)
	s.since = now
	st.DoneAt = &now
	if hit != nil {
		st.Status, st.Reason = StepMet, hit.Type+" received"
		if hit.EventID != "" {
			st.Reason += " (event " + hit.EventID + ")"
		}
		return nil
	}
	st.Status, st.Reason = StepTimedOut, "no "+step.Event+" within "+within.String()
	if step.ExitOnTimeout {
		s.exit(domain.StatusCompleted, "wait "+step.ID+" timed out: "+st.Reason)
	}
	return nil
}

// meets reports whether a flow event ends the wait in progress: it names
// the wait and (when it says when it happened) happened since the wait's
// start, to the second (SendGrid's event times are whole seconds).
func (s *sequence) meets(ev FlowEvent) bool {
	return s.waitingFor != "" && slices.Contains(ev.Steps, s.waitingFor) &&
		(ev.At.IsZero() || !ev.At.Before(s.waitSince.Truncate(time.Second)))
}

// webhookOptions: a destination may be down for a while. Each attempt
// has 30 seconds; attempts back off to ten minutes apart and stop after
// 24 hours, when the step fails. CallWebhook returns a non-retryable
// error for a refusal that retrying cannot fix (a 4xx but 408 and 429).
func webhookOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
		},
		Summary: summary,
	}
}

// webhook posts the step to its destination, at its "at" when it has
// one. The holdout is never contacted. CallWebhook delivers at most once
// per step and defers a delivery that reaches the customer (an SMS, a
// push) past quiet hours and frequency caps.
func (s *sequence) webhook(ctx workflow.Context, i int) error {
	step := s.in.Steps[i]
	st := &s.journey.Steps[i]
	done := func(status, reason string) {
		now := workflow.Now(ctx)
		st.Status, st.Reason, st.DoneAt = status, reason, &now
	}
	if s.in.Variant == VariantHoldout {
		done(StepHoldout, "holdout group: never contacted")
		return nil
	}
	due := workflow.Now(ctx)
	if step.Window != (campaign.Window{}) {
		due = SendTime(s.from(), step.Window, s.loc, SendWindow{Start: 0, End: 24 * 60}, s.in.Day)
	}
	st.Status, st.DueAt = StepWaiting, &due
	for {
		if err := s.wait(ctx, due, "webhook "+step.ID); err != nil || s.ended() {
			return err
		}
		var out WebhookOutcome
		actx := workflow.WithActivityOptions(ctx, webhookOptions("webhook "+step.ID))
		err := workflow.ExecuteActivity(actx, ActivityCallWebhook, WebhookInput{Ref: s.ref(step.ID), Day: s.in.Day}).Get(ctx, &out)
		var appErr *temporal.ApplicationError
		var timeout *temporal.TimeoutError
		switch {
		case errors.As(err, &timeout): // first: it wraps the last attempt's error
			done(StepFailed, "the destination did not accept it within 24 hours")
			return nil
		case errors.As(err, &appErr):
			done(StepFailed, appErr.Message())
			return nil
		case err != nil:
			return err
		case out.Deferred:
			st.Reason = out.Reason
			due = s.nextAllowed(out.RetryAt)
			continue
		case out.Skipped:
			done(StepSkipped, out.Reason)
		default:
			done(StepSent, out.Reason)
		}
		return nil
	}
}
