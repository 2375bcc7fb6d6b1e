package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
)

// activityOptions retry forever with capped backoff: a database or mail
// provider outage delays a step, it never loses one. Permanent failures are
// returned as non-retryable application errors by the activities. The
// 30-second timeout is also how long an attempt lost with a crashed worker
// takes to be retried.
func activityOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
		Summary: summary,
	}
}

// SequenceWorkflow runs one enrollment: for each step it waits until the
// step is due (or an exit signal arrives), checks eligibility, chooses
// recommendations, renders and sends the email; after the last step it
// stays open for the attribution window so a late purchase still counts.
func SequenceWorkflow(ctx workflow.Context, in SequenceInput) (SequenceResult, error) {
	s := &sequence{in: in, loc: LoadLocation(in.Timezone)}
	s.journey = Journey{
		EnrollmentID: in.EnrollmentID, CampaignID: in.CampaignID, CustomerID: in.CustomerID,
		Version: in.Version, Variant: in.Variant, Status: domain.StatusRunning,
	}
	for _, st := range in.Steps {
		s.journey.Steps = append(s.journey.Steps, StepState{ID: st.ID, Kind: st.Kind, Status: StepScheduled})
	}
	if err := s.register(ctx); err != nil {
		return SequenceResult{}, err
	}
	// Version 1 runs a step as one activity (RunStep), folds the
	// EmailsSent upsert into the next NextEmailAt one and records the
	// enrollment with a local activity: three billable actions a step
	// instead of nine, and fewer history events. It implies the two
	// changes before it, whose markers it no longer records (each
	// GetVersion costs two history events).
	s.oneActivity = workflow.GetVersion(ctx, changeOneActivityStep, workflow.DefaultVersion, 1) >= 1
	if s.oneActivity {
		s.cancelsTimers, s.switches = true, true
	} else {
		// Version 1 cancels a wait's timer as soon as a signal or pause
		// wakes the workflow; histories recorded before it leave the
		// timer pending.
		s.cancelsTimers = workflow.GetVersion(ctx, changeCancelWaitTimer, workflow.DefaultVersion, 1) >= 1
		// Version 1 listens for a promoted winner (switch_variant); older
		// histories never did, so a worker on older code that saw the
		// signal ignored it, and replaying them must ignore it too.
		s.switches = workflow.GetVersion(ctx, changeSwitchVariant, workflow.DefaultVersion, 1) >= 1
	}
	err := s.run(ctx)
	switch {
	case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		s.exit(domain.StatusCancelled, "cancelled by an operator")
	case err != nil:
		// Record the outcome even when the sequence fails, then fail
		// visibly so operators see the error in the UI.
		s.exit(domain.StatusFailed, "failed: "+err.Error())
		_, _ = s.finish(ctx)
		return SequenceResult{}, err
	}
	return s.finish(ctx)
}

type sequence struct {
	in       SequenceInput
	loc      *time.Location
	journey  Journey
	pending  []pendingSignal
	wake     workflow.Channel // pause and resume wake a blocked wait
	order    string           // converting order
	revenue  int64
	upserted *time.Time     // NextEmailAt as last upserted
	switchTo *SwitchVariant // a promoted winner, applied at the next step boundary
	stepWait bool           // waiting for a step's due time: a switch re-plans it

	cancelsTimers bool // see changeCancelWaitTimer
	switches      bool // see changeSwitchVariant
	oneActivity   bool // see changeOneActivityStep
	// sentPending: EmailsSent changed and goes out with the next upsert
	// (oneActivity only).
	sentPending bool

	// Flow steps (flow.go). since is when the steps' offsets count from:
	// the enrolment, then the end of the last wait_for. waitingFor is the
	// wait_for step being waited on, flowHit the event that ended it.
	since      time.Time
	waitingFor string
	waitSince  time.Time // events that happened before it are not the next one
	flowHit    *FlowEvent
	flows      bool      // see changeFlowSteps
	reached    time.Time // when the flow reached the current step
}

// Change IDs for workflow.GetVersion. Every change to what the workflow
// does gets one, so running sequences replay on new code.
const (
	changeCancelWaitTimer = "cancel-wait-timer"
	changeSwitchVariant   = "switch-variant"
	changeOneActivityStep = "one-activity-step"
	// changeSwitchVersion: version 1 applies a switch that names a newer
	// campaign version (publishing with move_running). Before it, such a
	// switch moved the variant's steps only; a history where that
	// happened replays as it ran.
	changeSwitchVersion = "switch-version"
	// changeFlowSteps: version 1 runs branch, wait_for and webhook steps
	// (flow.go). Asked when the first such step is reached, so sequences
	// of email steps only record nothing new.
	changeFlowSteps = "flow-steps"
)

type pendingSignal struct {
	name string
	sig  ExitSignal
}

func (s *sequence) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryJourney, func() (Journey, error) {
		return s.journey, nil
	}); err != nil {
		return err
	}
	s.wake = workflow.NewBufferedChannel(ctx, 1)
	for _, u := range []struct {
		name  string
		pause bool
	}{{UpdatePause, true}, {UpdateResume, false}} {
		pause := u.pause
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, func(ctx workflow.Context) (Journey, error) {
			s.journey.Paused = pause
			s.wake.SendAsync(true)
			return s.journey, nil
		}, workflow.UpdateHandlerOptions{Validator: func() error {
			if s.journey.Status != domain.StatusRunning {
				return fmt.Errorf("sequence has already ended (%s)", s.journey.Status)
			}
			return nil
		}})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *sequence) run(ctx workflow.Context) error {
	in := s.in
	record := StartEnrollmentInput{
		EnrollmentID: in.EnrollmentID, CustomerID: in.CustomerID, CampaignID: in.CampaignID,
		Version: in.Version, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Variant: in.Variant,
		TriggerEventID: in.TriggerEventID, EntryKey: in.EntryKey, EnrolledAt: in.EnrolledAt,
	}
	var err error
	if s.oneActivity {
		// The API recorded it already; this makes sure, within the first
		// workflow task (one marker event, not three activity events).
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 10 * time.Second, RetryPolicy: activityOptions("").RetryPolicy, Summary: "record enrollment",
		})
		var started Started
		err = workflow.ExecuteLocalActivity(lctx, ActivityStartEnrollment, record).Get(ctx, &started)
		for _, e := range started.Exits { // applied by the first wait, like any signal
			s.pending = append(s.pending, pendingSignal{name: e.Signal, sig: e.Exit})
		}
	} else {
		err = execActivity(ctx, "record enrollment", ActivityStartEnrollment, record, nil)
	}
	if err != nil {
		return err
	}
	for i := 0; i < len(s.in.Steps); i++ {
		s.applySwitch(ctx, i)
		step := s.in.Steps[i]
		if step.Kind != "" {
			if err := s.runFlowStep(ctx, i); err != nil || s.ended() {
				return err
			}
			continue
		}
		// s.in, not in: a move onto a newer version changes the send
		// window and the attribution window. After a wait_for, offsets
		// count from when it ended.
		due := SendTime(s.from(), step.Window, s.loc, s.in.SendWindow, in.Day)
		if in.Anchor != nil {
			due = SendTimeBefore(*in.Anchor, step.Window.Min, s.loc, s.in.SendWindow, in.Day)
			if due.Before(in.EnrolledAt) {
				now := workflow.Now(ctx)
				s.journey.Steps[i] = StepState{ID: step.ID, Status: StepSkipped, DueAt: &due, DoneAt: &now,
					Reason: "its time had passed when the customer enrolled"}
				continue
			}
		}
		s.journey.Steps[i].DueAt = &due
		s.journey.CurrentStep = step.ID
		s.journey.Steps[i].Status = StepWaiting
		s.stepWait = true
		err := s.wait(ctx, due, "step "+step.ID)
		s.stepWait = false
		if err != nil || s.ended() {
			return err
		}
		if s.switchTo != nil {
			i-- // a winner was promoted while waiting: plan this step again
			continue
		}
		s.reached = workflow.Now(ctx)
		if err := s.runStep(ctx, i); err != nil || s.ended() {
			return err
		}
	}
	s.journey.CurrentStep = ""
	end := workflow.Now(ctx).Add(Scale(s.in.Attribution, in.Day))
	if err := s.wait(ctx, end, "attribution window"); err != nil || s.ended() {
		return err
	}
	s.exit(domain.StatusCompleted, "all steps done")
	return nil
}

// wait blocks until at, handling exit signals and pauses as they come.
// An exit signal cancels the pending timer at once.
func (s *sequence) wait(ctx workflow.Context, at time.Time, what string) error {
	wasPaused := false
	for {
		if err := s.handleSignals(ctx); err != nil || s.ended() {
			return err
		}
		now := workflow.Now(ctx)
		if s.journey.Paused {
			wasPaused = true
			s.setWaiting(ctx, nil, "paused by an operator; "+what+" waits for resume")
			if err := s.block(ctx, nil); err != nil {
				return err
			}
			continue
		}
		if wasPaused && !now.Before(at) && s.waitingFor == "" {
			// Resumed after the due time: send at the next allowed moment,
			// not in the middle of the customer's night.
			at = s.nextAllowed(now)
			wasPaused = false
		}
		if !now.Before(at) || (s.stepWait && s.switchTo != nil) || s.flowHit != nil {
			s.setWaiting(ctx, nil, "")
			return nil
		}
		s.setWaiting(ctx, &at, what+" due at "+at.UTC().Format(time.RFC3339))
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(timerCtx, at.Sub(now), workflow.TimerOptions{Summary: "wait for " + what})
		err := s.block(ctx, timer)
		if s.cancelsTimers {
			cancelTimer() // a signal or a pause woke us: the timer goes at once
		}
		if err != nil {
			return err
		}
	}
}

// block waits for one thing to happen: an exit signal, a pause or resume,
// the timer (if any), or cancellation of the workflow.
func (s *sequence) block(ctx workflow.Context, timer workflow.Future) error {
	sel := workflow.NewSelector(ctx)
	for _, name := range ExitSignals {
		name := name
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			var sig ExitSignal
			c.Receive(ctx, &sig)
			s.pending = append(s.pending, pendingSignal{name: name, sig: sig})
		})
	}
	if s.switches {
		sel.AddReceive(workflow.GetSignalChannel(ctx, SignalSwitchVariant), func(c workflow.ReceiveChannel, _ bool) {
			var sw SwitchVariant
			c.Receive(ctx, &sw)
			s.switchTo = &sw
		})
	}
	if s.waitingFor != "" {
		sel.AddReceive(workflow.GetSignalChannel(ctx, SignalFlowEvent), func(c workflow.ReceiveChannel, _ bool) {
			var ev FlowEvent
			c.Receive(ctx, &ev)
			if s.meets(ev) {
				s.flowHit = &ev
			}
		})
	}
	sel.AddReceive(s.wake, func(c workflow.ReceiveChannel, _ bool) {
		var v bool
		c.Receive(ctx, &v)
	})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	if timer != nil {
		sel.AddFuture(timer, func(workflow.Future) {})
	}
	sel.Select(ctx)
	return ctx.Err()
}

// applySwitch moves the sequence to a promoted winner before step i: the
// steps already done stay as they were, the rest follow the winner's
// plan (its timing, without steps it omits or has done). The holdout is
// never switched: it is the baseline.
func (s *sequence) applySwitch(ctx workflow.Context, i int) {
	if !s.switches {
		return
	}
	ch := workflow.GetSignalChannel(ctx, SignalSwitchVariant)
	for {
		var sw SwitchVariant
		if !ch.ReceiveAsync(&sw) {
			break
		}
		s.switchTo = &sw
	}
	sw := s.switchTo
	s.switchTo = nil
	if sw == nil || s.in.Variant == VariantHoldout || sw.Variant == VariantHoldout {
		return
	}
	moves := sw.Version > s.in.Version && s.oneActivity &&
		workflow.GetVersion(ctx, changeSwitchVersion, workflow.DefaultVersion, 1) >= 1
	if !moves && sw.Variant == s.in.Variant {
		return
	}
	done := map[string]bool{}
	for _, st := range s.in.Steps[:i] {
		done[st.ID] = true
	}
	steps := slices.Clone(s.in.Steps[:i])
	states := slices.Clone(s.journey.Steps[:i])
	// A branch already taken is followed down the path it took, so the
	// rest of that path (as the new plan has it) still runs.
	taken := map[string]string{}
	for _, st := range states {
		if st.Path != "" {
			taken[st.ID] = st.Path
		}
	}
	var add func([]StepPlan)
	add = func(plan []StepPlan) {
		for _, st := range plan {
			switch {
			case !done[st.ID]:
				steps = append(steps, st)
				states = append(states, StepState{ID: st.ID, Kind: st.Kind, Status: StepScheduled})
			case taken[st.ID] == "then":
				add(st.Then)
			case taken[st.ID] == "else":
				add(st.Else)
			}
		}
	}
	add(sw.Steps)
	s.in.Steps, s.journey.Steps = steps, states
	if moves {
		if s.journey.MovedFromVersion == 0 {
			s.journey.MovedFromVersion = s.in.Version
		}
		s.in.Version, s.journey.Version = sw.Version, sw.Version
		if sw.SendWindow != nil {
			s.in.SendWindow = *sw.SendWindow
		}
		if sw.Attribution != nil {
			s.in.Attribution = *sw.Attribution
		}
		workflow.GetLogger(ctx).Info("moved to a newer version", "version", sw.Version, "from_step", i)
	}
	if sw.Variant != s.in.Variant {
		if s.journey.SwitchedFrom == "" && !moves {
			s.journey.SwitchedFrom = s.in.Variant
		}
		s.in.Variant, s.journey.Variant = sw.Variant, sw.Variant
		_ = workflow.UpsertTypedSearchAttributes(ctx, VariantKey.ValueSet(sw.Variant))
		workflow.GetLogger(ctx).Info("moved to the promoted variant", "variant", sw.Variant, "from_step", i)
	}
}

// nextAllowed is the first moment at or after t inside the customer's send
// window (with real days).
func (s *sequence) nextAllowed(t time.Time) time.Time {
	if s.in.Day != Day {
		return t
	}
	return NextInWindow(t, s.loc, s.in.SendWindow)
}

func (s *sequence) setWaiting(ctx workflow.Context, next *time.Time, why string) {
	s.journey.Waiting = why
	s.journey.NextEmailAt = next
	if s.oneActivity && next == nil && why == "" {
		// The email is due now: NextEmailAt keeps its time until the
		// next wait replaces it, in one upsert with EmailsSent.
		return
	}
	var updates []temporal.SearchAttributeUpdate
	if !sameTime(next, s.upserted) {
		update := NextEmailAtKey.ValueUnset()
		if next != nil {
			update = NextEmailAtKey.ValueSet(*next)
		}
		updates = append(updates, update)
		s.upserted = next
	}
	if s.sentPending {
		updates = append(updates, EmailsSentKey.ValueSet(int64(s.journey.EmailsSent)))
		s.sentPending = false
	}
	if len(updates) > 0 {
		_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
	if why != "" {
		workflow.SetCurrentDetails(ctx, why)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (s *sequence) runStep(ctx workflow.Context, i int) error {
	in := s.in
	st := &s.journey.Steps[i]
	ref := StepRef{
		EnrollmentID: in.EnrollmentID, CustomerID: in.CustomerID, CampaignID: in.CampaignID,
		Version: in.Version, StepID: st.ID, Variant: in.Variant, TriggerEventID: in.TriggerEventID,
	}
	done := func(status, reason string) {
		now := workflow.Now(ctx)
		st.Status, st.Reason, st.DoneAt = status, reason, &now
	}
	if in.Variant == VariantHoldout {
		done(StepHoldout, "holdout group: never emailed")
		return nil
	}
	if s.oneActivity {
		return s.runStepOnce(ctx, st, ref, done)
	}

	var elig Eligibility
	if err := execActivity(ctx, "eligibility for "+st.ID, ActivityCheckEligibility, ref, &elig); err != nil {
		return err
	}
	if !elig.Eligible {
		done(StepNotReached, elig.Reason)
		s.exit(elig.Status, elig.Reason)
		return nil
	}

	var prep Prepared
	if err := execActivity(ctx, "recommendations for "+st.ID, ActivityPrepare, ref, &prep); err != nil {
		return err
	}
	st.MessageID = prep.MessageID
	switch {
	case prep.AlreadySent:
		s.journey.EmailsSent++
		done(StepSent, "sent before a restart")
		return s.recordProgress(ctx, st.ID)
	case prep.Skip:
		done(StepSkipped, prep.Reason)
		return s.recordProgress(ctx, st.ID)
	}

	msg := MessageRef{MessageID: prep.MessageID}
	if err := execActivity(ctx, "render "+st.ID, ActivityRender, msg, nil); err != nil {
		return s.stepFailed(ctx, st, done, err)
	}
	// A signal that arrived while choosing and rendering still wins over
	// the send, and a pause holds it until resume.
	if err := s.wait(ctx, workflow.Now(ctx), "send "+st.ID); err != nil || s.ended() {
		if s.ended() {
			done(StepNotReached, s.journey.ExitReason)
		}
		return err
	}
	var sent Sent
	for {
		sent = Sent{} // decoding into a used value would keep its old fields
		err := execActivity(ctx, "send "+st.ID, ActivitySend, SendInput{MessageID: msg.MessageID, Day: in.Day}, &sent)
		if err != nil {
			return s.stepFailed(ctx, st, done, err)
		}
		if !sent.Deferred {
			break
		}
		// A frequency cap is full: wait for the next allowed moment, never
		// drop the email. The journey says why it waits.
		st.Status, st.Reason = StepWaiting, sent.Reason
		if err := s.wait(ctx, s.nextAllowed(sent.RetryAt), st.ID+" ("+sent.Reason+")"); err != nil || s.ended() {
			if s.ended() {
				done(StepNotReached, s.journey.ExitReason)
			}
			return err
		}
		st.Reason = ""
	}
	switch {
	case sent.Failed:
		done(StepFailed, sent.Reason)
		return s.recordProgress(ctx, st.ID)
	case sent.Skipped:
		done(StepSkipped, sent.Reason)
		return s.recordProgress(ctx, st.ID)
	}
	s.journey.EmailsSent++
	done(StepSent, "")
	_ = workflow.UpsertTypedSearchAttributes(ctx, EmailsSentKey.ValueSet(int64(s.journey.EmailsSent)))
	return s.recordProgress(ctx, st.ID)
}

// runStepOnce runs a step as one activity, RunStep, called again only
// when a frequency cap deferred the send (after waiting for the moment
// it names). A signal that arrives while it runs is applied when it
// returns; RunStep checks consent and suppression right before the mailer.
func (s *sequence) runStepOnce(ctx workflow.Context, st *StepState, ref StepRef, done func(string, string)) error {
	for {
		var out StepOutcome
		err := execActivity(ctx, "step "+st.ID, ActivityRunStep, RunStepInput{Ref: ref, EmailsSent: s.journey.EmailsSent, Day: s.in.Day}, &out)
		if err != nil {
			return err
		}
		st.MessageID = out.Prepared.MessageID
		switch {
		case !out.Eligibility.Eligible:
			done(StepNotReached, out.Eligibility.Reason)
			s.exit(out.Eligibility.Status, out.Eligibility.Reason)
			return nil
		case out.Prepared.AlreadySent:
			s.journey.EmailsSent++
			s.sentPending = true
			done(StepSent, "sent before a restart")
			return nil
		case out.Prepared.Skip:
			done(StepSkipped, out.Prepared.Reason)
			return nil
		case out.RenderError != "":
			done(StepFailed, out.RenderError)
			return nil
		case out.Sent.Deferred:
			// A frequency cap is full: wait for the next allowed moment,
			// never drop the email. The journey says why it waits.
			st.Status, st.Reason = StepWaiting, out.Sent.Reason
			if err := s.wait(ctx, s.nextAllowed(out.Sent.RetryAt), st.ID+" ("+out.Sent.Reason+")"); err != nil || s.ended() {
				if s.ended() {
					done(StepNotReached, s.journey.ExitReason)
				}
				return err
			}
			st.Reason = ""
			continue
		case out.Sent.Failed:
			done(StepFailed, out.Sent.Reason)
			return nil
		case out.Sent.Skipped:
			done(StepSkipped, out.Sent.Reason)
			return nil
		}
		s.journey.EmailsSent++
		s.sentPending = true
		done(StepSent, "")
		return nil
	}
}

// stepFailed turns a permanent activity failure into a failed step and moves
// on; anything else (cancellation) is returned.
func (s *sequence) stepFailed(ctx workflow.Context, st *StepState, done func(string, string), err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	done(StepFailed, appErr.Message())
	return s.recordProgress(ctx, st.ID)
}

func (s *sequence) recordProgress(ctx workflow.Context, stepID string) error {
	return execActivity(ctx, "record progress", ActivityRecordProgress, ProgressInput{
		EnrollmentID: s.in.EnrollmentID, StepID: stepID, EmailsSent: s.journey.EmailsSent,
	}, nil)
}

// handleSignals applies every exit signal delivered so far, including
// those that arrived in the same workflow task as a timer.
func (s *sequence) handleSignals(ctx workflow.Context) error {
	for _, name := range ExitSignals {
		ch := workflow.GetSignalChannel(ctx, name)
		var sig ExitSignal
		for ch.ReceiveAsync(&sig) {
			s.pending = append(s.pending, pendingSignal{name: name, sig: sig})
			sig = ExitSignal{}
		}
	}
	for len(s.pending) > 0 && !s.ended() {
		p := s.pending[0]
		s.pending = s.pending[1:]
		switch p.name {
		case SignalUnsubscribe:
			if p.sig.CampaignID == "" || p.sig.CampaignID == s.in.CampaignID {
				s.exit(domain.StatusUnsubscribed, "unsubscribed")
			}
		case SignalComplaint:
			s.exit(domain.StatusComplained, "complaint received")
		case SignalSupportTicket:
			if s.in.Kind == campaign.Upsell || slices.Contains(s.in.ExitOn, campaign.GoalSupportTicket) {
				s.exit(domain.StatusSuppressed, "support ticket opened: upsells paused")
			}
		case SignalBounce:
			s.exit(domain.StatusBounced, "the address bounced")
		case SignalErased:
			s.exit(domain.StatusErased, "the customer was erased (GDPR): nothing more is sent")
		case SignalConsentWithdrawn:
			s.exit(domain.StatusNoConsent, "marketing consent withdrawn")
		case SignalUpgrade:
			if slices.Contains(s.in.ExitOn, campaign.GoalUpgrade) && (len(s.in.UpgradeTo) == 0 || slices.Contains(s.in.UpgradeTo, p.sig.Tier)) {
				s.exit(domain.StatusConverted, strings.TrimSpace("upgrade "+p.sig.Tier))
			}
		case SignalPurchase:
			goals := s.purchaseGoals()
			if len(goals) == 0 || p.sig.OrderID == "" {
				continue
			}
			var res PurchaseResult
			err := execActivity(ctx, "check purchase", ActivityEvaluatePurchase, PurchaseInput{
				EnrollmentID: s.in.EnrollmentID, OrderID: p.sig.OrderID, Goals: goals, TriggerEventID: s.in.TriggerEventID,
				Day: s.in.Day,
			}, &res)
			if err != nil {
				return err
			}
			if res.Converts {
				s.order, s.revenue = p.sig.OrderID, res.RevenueMinor
				reason := string(res.Goal) + ": order " + p.sig.OrderID
				if res.Step != "" {
					reason += ", credited to step " + res.Step
				}
				s.exit(domain.StatusConverted, reason)
			}
		}
	}
	return nil
}

func (s *sequence) purchaseGoals() []campaign.Goal {
	var gs []campaign.Goal
	for _, g := range s.in.ExitOn {
		if g.IsPurchase() {
			gs = append(gs, g)
		}
	}
	return gs
}

func (s *sequence) exit(status domain.SequenceStatus, reason string) {
	if s.ended() {
		return
	}
	s.journey.Status, s.journey.ExitReason = status, reason
}

// promotedTo is the winner a promotion moved the sequence to, or "".
func (s *sequence) promotedTo() string {
	if s.journey.SwitchedFrom == "" {
		return ""
	}
	return s.journey.Variant
}

func (s *sequence) ended() bool { return s.journey.Status != domain.StatusRunning }

func (s *sequence) finish(ctx workflow.Context) (SequenceResult, error) {
	// Recording the outcome must survive a cancellation that arrives now.
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	for i := range s.journey.Steps {
		if st := &s.journey.Steps[i]; st.Status == StepScheduled || st.Status == StepWaiting {
			st.Status, st.Reason = StepNotReached, s.journey.ExitReason
		}
	}
	s.journey.CurrentStep, s.journey.Waiting, s.journey.NextEmailAt = "", "", nil
	s.sentPending = false // the final upsert carries it
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		SequenceStatusKey.ValueSet(string(s.journey.Status)), NextEmailAtKey.ValueUnset(),
		EmailsSentKey.ValueSet(int64(s.journey.EmailsSent)))
	workflow.SetCurrentDetails(ctx, "ended: "+string(s.journey.Status)+" ("+s.journey.ExitReason+")")
	err := execActivity(ctx, "record outcome", ActivityFinishEnrollment, FinishInput{
		EnrollmentID: s.in.EnrollmentID, Status: s.journey.Status, Reason: s.journey.ExitReason,
		ConvertedOrder: s.order, RevenueMinor: s.revenue, EmailsSent: s.journey.EmailsSent,
		EndedAt: workflow.Now(ctx), Steps: s.journey.Steps, PromotedTo: s.promotedTo(),
	}, nil)
	if err != nil {
		return SequenceResult{}, err
	}
	return SequenceResult{
		Status: s.journey.Status, Reason: s.journey.ExitReason,
		EmailsSent: s.journey.EmailsSent, ConvertedOrder: s.order,
	}, nil
}

// execActivity runs one activity with the standard options and a summary
// that shows in the Temporal UI.
func execActivity(ctx workflow.Context, summary, activity string, arg, result any) error {
	ctx = workflow.WithActivityOptions(ctx, activityOptions(summary))
	return workflow.ExecuteActivity(ctx, activity, arg).Get(ctx, result)
}
