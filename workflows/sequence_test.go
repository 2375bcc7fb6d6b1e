package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

const day = 24 * time.Hour

// bundle is one workflow test: an environment with every activity mocked
// to succeed, recording when each email was sent.
type bundle struct {
	env   *testsuite.TestWorkflowEnvironment
	start time.Time
	sent  []string        // step IDs in send order
	at    []time.Duration // when, after enrolment
	final *workflows.FinishInput

	// Hand-written fakes the mocks delegate to; tests replace them.
	eligibility func(workflows.StepRef) workflows.Eligibility
	prepare     func(workflows.StepRef) workflows.Prepared
	prepareErr  error // returned by Prepare when set
	send        func(workflows.SendInput) (workflows.Sent, error)
	runSteps    int               // RunStep attempts
	pauseMark   bool              // the enrollment's pause mark, as app.PauseJourney sets it
	started     workflows.Started // what StartEnrollment finds
	// Flow steps: the branch decision, and the webhook calls made.
	branch  func(workflows.StepRef) workflows.BranchOutcome
	webhook func(workflows.WebhookInput) (workflows.WebhookOutcome, error)
	hooks   []string // webhook step IDs called, in order
	hookAt  []time.Duration
}

// patientWorker turns off the deadlock detector's wall-clock second: on
// a busy machine a workflow task can take longer than that without any
// deadlock, and no test may depend on how fast the machine is.
var patientWorker = sdkworker.Options{DeadlockDetectionTimeout: time.Hour}

func setup(t *testing.T) *bundle {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	if os.Getenv("WF_DEBUG") == "" {
		s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	}
	b := &bundle{env: s.NewTestWorkflowEnvironment()}
	b.env.SetWorkerOptions(patientWorker)
	b.start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday, 10:00 UTC
	b.env.SetStartTime(b.start)
	b.env.RegisterWorkflowWithOptions(workflows.SequenceWorkflow, workflow.RegisterOptions{Name: workflows.SequenceWorkflowName})
	liftworker.RegisterActivities(b.env, nil)
	b.env.OnActivity(workflows.ActivityStartEnrollment, mock.Anything, mock.Anything).Return(
		func(context.Context, workflows.StartEnrollmentInput) (workflows.Started, error) {
			return b.started, nil
		}).Maybe()
	b.eligibility = func(workflows.StepRef) workflows.Eligibility { return workflows.Eligibility{Eligible: true} }
	b.prepare = func(ref workflows.StepRef) workflows.Prepared {
		return workflows.Prepared{MessageID: "m-" + ref.StepID, Items: 2}
	}
	b.send = func(ref workflows.SendInput) (workflows.Sent, error) {
		b.sent = append(b.sent, ref.MessageID[2:])
		b.at = append(b.at, b.env.Now().Sub(b.start))
		return workflows.Sent{ProviderMessageID: "p-" + ref.MessageID}, nil
	}
	b.env.OnActivity(workflows.ActivityCheckEligibility, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ref workflows.StepRef) (workflows.Eligibility, error) {
			return b.eligibility(ref), nil
		}).Maybe()
	b.env.OnActivity(workflows.ActivityPrepare, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ref workflows.StepRef) (workflows.Prepared, error) {
			if b.prepareErr != nil {
				return workflows.Prepared{}, b.prepareErr
			}
			return b.prepare(ref), nil
		}).Maybe()
	b.env.OnActivity(workflows.ActivityRender, mock.Anything, mock.Anything).Return(nil).Maybe()
	b.env.OnActivity(workflows.ActivitySend, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ref workflows.SendInput) (workflows.Sent, error) { return b.send(ref) }).Maybe()
	b.env.OnActivity(workflows.ActivityRecordProgress, mock.Anything, mock.Anything).Return(nil).Maybe()
	// RunStep, the one activity of a step, over the same fakes.
	b.env.OnActivity(workflows.ActivityRunStep, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.RunStepInput) (workflows.StepOutcome, error) {
			b.runSteps++
			var out workflows.StepOutcome
			if out.Eligibility = b.eligibility(in.Ref); !out.Eligibility.Eligible {
				return out, nil
			}
			if b.prepareErr != nil {
				return out, b.prepareErr
			}
			if out.Prepared = b.prepare(in.Ref); out.Prepared.Skip || out.Prepared.AlreadySent {
				return out, nil
			}
			if b.pauseMark { // the enrollment's pause mark holds the send
				out.Sent = workflows.Sent{Deferred: true, RetryAt: b.env.Now().Add(10 * time.Second), Reason: "paused by an operator"}
				return out, nil
			}
			sent, err := b.send(workflows.SendInput{MessageID: out.Prepared.MessageID, Day: in.Day})
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.NonRetryable() { // as RunStep reports a permanent refusal
				sent, err = workflows.Sent{Failed: true, Reason: appErr.Message()}, nil
			}
			out.Sent = sent
			return out, err
		}).Maybe()
	b.env.OnActivity(workflows.ActivityEvaluatePurchase, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.PurchaseInput) (workflows.PurchaseResult, error) {
			if in.OrderID == "o-recommended" {
				return workflows.PurchaseResult{Converts: true, Goal: campaign.GoalPurchaseOfRecommended, RevenueMinor: 4999}, nil
			}
			return workflows.PurchaseResult{}, nil
		}).Maybe()
	b.branch = func(workflows.StepRef) workflows.BranchOutcome { return workflows.BranchOutcome{Reason: "else: no"} }
	b.webhook = func(workflows.WebhookInput) (workflows.WebhookOutcome, error) {
		return workflows.WebhookOutcome{Delivered: true, Reason: "delivered (HTTP 200) after 1 attempts"}, nil
	}
	b.env.OnActivity(workflows.ActivityEvaluateBranch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ref workflows.StepRef) (workflows.BranchOutcome, error) {
			return b.branch(ref), nil
		}).Maybe()
	b.env.OnActivity(workflows.ActivityCallWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.WebhookInput) (workflows.WebhookOutcome, error) {
			b.hooks = append(b.hooks, in.Ref.StepID)
			b.hookAt = append(b.hookAt, b.env.Now().Sub(b.start))
			return b.webhook(in)
		}).Maybe()
	b.env.OnActivity(workflows.ActivityFinishEnrollment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.FinishInput) error { b.final = &in; return nil }).Maybe()
	return b
}

func input(start time.Time) workflows.SequenceInput {
	w := func(s string) campaign.Window { x, _ := campaign.ParseWindow(s); return x }
	return workflows.SequenceInput{
		EnrollmentID: "e-1", CustomerID: "c-1", CampaignID: "camera", Version: 1, Variant: "A",
		TriggerEventID: "ev-1", EnrolledAt: start, Day: day, Timezone: "UTC",
		SendWindow: workflows.SendWindow{Start: 0, End: 24 * 60},
		Steps: []workflows.StepPlan{
			{ID: "complement", Window: w("3d-7d")}, {ID: "guide", Window: w("10d-14d")}, {ID: "bundle", Window: w("18d-21d")},
		},
		ExitOn:      []campaign.Goal{campaign.GoalPurchaseOfRecommended, campaign.GoalUpgrade},
		Attribution: campaign.Offset{Days: 5},
	}
}

func (b *bundle) run(t *testing.T, in workflows.SequenceInput) workflows.SequenceResult {
	t.Helper()
	b.env.ExecuteWorkflow(workflows.SequenceWorkflowName, in)
	require.True(t, b.env.IsWorkflowCompleted())
	require.NoError(t, b.env.GetWorkflowError())
	var res workflows.SequenceResult
	require.NoError(t, b.env.GetWorkflowResult(&res))
	return res
}

func TestSequenceSendsEveryStepOnScheduleThenCompletes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.run(t, input(b.start))

	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, 3, res.EmailsSent)
	require.Equal(t, []string{"complement", "guide", "bundle"}, b.sent)
	require.Equal(t, []time.Duration{3 * day, 10 * day, 18 * day}, b.at)
	require.NotNil(t, b.final)
	require.Equal(t, domain.StatusCompleted, b.final.Status)
	// The attribution window keeps it open five days after the last email.
	require.Equal(t, 23*day, b.final.EndedAt.Sub(b.start))
}

func TestExitSignalsEndTheSequenceAtOnceAtEveryStage(t *testing.T) {
	t.Parallel()
	signals := []struct {
		name    string
		payload workflows.ExitSignal
		status  domain.SequenceStatus
	}{
		{workflows.SignalPurchase, workflows.ExitSignal{OrderID: "o-recommended"}, domain.StatusConverted},
		{workflows.SignalUpgrade, workflows.ExitSignal{}, domain.StatusConverted},
		{workflows.SignalComplaint, workflows.ExitSignal{}, domain.StatusComplained},
		{workflows.SignalUnsubscribe, workflows.ExitSignal{}, domain.StatusUnsubscribed},
		{workflows.SignalConsentWithdrawn, workflows.ExitSignal{}, domain.StatusNoConsent},
		{workflows.SignalBounce, workflows.ExitSignal{}, domain.StatusBounced},
		{workflows.SignalErased, workflows.ExitSignal{}, domain.StatusErased},
	}
	// Stages: before the first email, between emails, 29 days into a long
	// wait, and in the attribution window after the last email.
	stages := []struct {
		name  string
		after time.Duration
		sent  int
	}{
		{"before first email", 1 * day, 0},
		{"between emails", 5 * day, 1},
		{"after last email", 20 * day, 3},
	}
	for _, sig := range signals {
		for _, st := range stages {
			t.Run(sig.name+"/"+st.name, func(t *testing.T) {
				b := setup(t)
				b.env.RegisterDelayedCallback(func() {
					b.env.SignalWorkflow(sig.name, sig.payload)
				}, st.after)
				res := b.run(t, input(b.start))
				require.Equal(t, sig.status, res.Status)
				require.Equal(t, st.sent, res.EmailsSent)
				require.Len(t, b.sent, st.sent, "no email after the exit")
				require.Equal(t, st.after, b.final.EndedAt.Sub(b.start), "exit is immediate")
			})
		}
	}
}

func TestExitIsImmediateEvenDeepIntoALongWait(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.Steps = []workflows.StepPlan{{ID: "late", Window: campaign.Window{Min: campaign.Offset{Days: 30}, Max: campaign.Offset{Days: 30}}}}
	b.env.RegisterDelayedCallback(func() { b.env.SignalWorkflow(workflows.SignalUnsubscribe, workflows.ExitSignal{}) }, 29*day)
	res := b.run(t, in)
	require.Equal(t, domain.StatusUnsubscribed, res.Status)
	require.Empty(t, b.sent)
	require.Equal(t, 29*day, b.final.EndedAt.Sub(b.start))
}

func TestSignalsThatMeetNoGoalAreIgnored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.ExitOn = []campaign.Goal{campaign.GoalPurchaseOfRecommended} // no upgrade goal
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalPurchase, workflows.ExitSignal{OrderID: "o-unrelated"})
		b.env.SignalWorkflow(workflows.SignalUpgrade, workflows.ExitSignal{})
		b.env.SignalWorkflow(workflows.SignalUnsubscribe, workflows.ExitSignal{CampaignID: "another-campaign"})
	}, 4*day)
	res := b.run(t, in)
	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, 3, res.EmailsSent)
}

func TestPauseHoldsTheNextEmailUntilResume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var paused workflows.Journey
	b.env.RegisterDelayedCallback(func() {
		b.env.UpdateWorkflow(workflows.UpdatePause, "p1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("pause rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				paused = v.(workflows.Journey)
			},
		})
	}, 2*day)
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		var j workflows.Journey
		require.NoError(t, v.Get(&j))
		require.True(t, j.Paused)
		require.Contains(t, j.Waiting, "paused")
		require.Empty(t, b.sent, "nothing is sent while paused")
	}, 6*day)
	b.env.RegisterDelayedCallback(func() {
		b.env.UpdateWorkflow(workflows.UpdateResume, "r1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("resume rejected: %v", err) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		})
	}, 8*day)
	res := b.run(t, input(b.start))
	require.True(t, paused.Paused)
	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, []string{"complement", "guide", "bundle"}, b.sent)
	// The overdue first email goes at resume; the others keep their days.
	require.Equal(t, []time.Duration{8 * day, 10 * day, 18 * day}, b.at)
}

func TestStepWithNothingToRecommendIsSkippedNotSentEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.prepare = func(ref workflows.StepRef) workflows.Prepared {
		if ref.StepID == "complement" {
			return workflows.Prepared{MessageID: "m-complement", Skip: true, Reason: "nothing to recommend"}
		}
		return workflows.Prepared{MessageID: "m-" + ref.StepID, Items: 1}
	}
	var journey workflows.Journey
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		require.NoError(t, v.Get(&journey))
	}, 11*day)
	res := b.run(t, input(b.start))
	require.Equal(t, []string{"guide", "bundle"}, b.sent)
	require.Equal(t, 2, res.EmailsSent)
	require.Equal(t, workflows.StepSkipped, journey.Steps[0].Status)
	require.Equal(t, "nothing to recommend", journey.Steps[0].Reason)
	require.Equal(t, workflows.StepSent, journey.Steps[1].Status)
	require.Equal(t, workflows.StepWaiting, journey.Steps[2].Status)
	require.NotNil(t, journey.NextEmailAt)
	require.Equal(t, b.start.Add(18*day), journey.NextEmailAt.UTC())
}

func TestNoConsentAtSendTimeEndsTheSequenceUnsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.eligibility = func(workflows.StepRef) workflows.Eligibility {
		return workflows.Eligibility{Status: domain.StatusNoConsent, Reason: "no marketing consent"}
	}
	res := b.run(t, input(b.start))
	require.Equal(t, domain.StatusNoConsent, res.Status)
	require.Empty(t, b.sent)
	require.Equal(t, 3*day, b.final.EndedAt.Sub(b.start))
}

func TestHoldoutRunsTheClockButIsNeverEmailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.Variant = workflows.VariantHoldout
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalPurchase, workflows.ExitSignal{OrderID: "o-recommended"})
	}, 12*day)
	res := b.run(t, in)
	require.Empty(t, b.sent)
	require.Equal(t, domain.StatusConverted, res.Status, "holdout conversions are counted")
}

func TestPermanentSendFailureMovesOnToTheNextStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	calls := 0
	b.send = func(ref workflows.SendInput) (workflows.Sent, error) {
		calls++
		if calls == 1 {
			return workflows.Sent{}, temporal.NewNonRetryableApplicationError("sendgrid refused: 400", "permanent_remote", nil)
		}
		b.sent = append(b.sent, ref.MessageID[2:])
		return workflows.Sent{}, nil
	}
	res := b.run(t, input(b.start))
	require.Equal(t, []string{"guide", "bundle"}, b.sent)
	require.Equal(t, 2, res.EmailsSent)
}

func TestSendWindowUsesTheCustomersClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.Timezone = "America/New_York"
	in.SendWindow = workflows.DefaultSendWindow
	// Enrolled at 10:00 UTC = 05:00 in New York (EST): three days later at
	// 05:00 local is before the window opens, so the email waits for 09:00.
	b.run(t, in)
	ny, _ := time.LoadLocation("America/New_York")
	first := b.start.Add(b.at[0]).In(ny)
	require.Equal(t, 9, first.Hour(), fmt.Sprint(first))
	require.Equal(t, 5, first.Day())
}

func TestSignalDuringAnActivityIsHandledRightAfterIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The purchase arrives while the first email is being sent: it is
	// applied as soon as the send returns, before any further wait.
	b.send = func(ref workflows.SendInput) (workflows.Sent, error) {
		b.sent = append(b.sent, ref.MessageID[2:])
		b.at = append(b.at, b.env.Now().Sub(b.start))
		b.env.SignalWorkflow(workflows.SignalPurchase, workflows.ExitSignal{OrderID: "o-recommended"})
		return workflows.Sent{}, nil
	}
	res := b.run(t, input(b.start))
	require.Equal(t, domain.StatusConverted, res.Status)
	require.Equal(t, "o-recommended", res.ConvertedOrder)
	require.Equal(t, []string{"complement"}, b.sent)
	require.Equal(t, 3*day, b.final.EndedAt.Sub(b.start))
}

func TestPausedSequenceDoesNotSendUntilResumed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Pause while the first step is being prepared: the send waits. The
	// application marks the enrollment paused, then updates the workflow.
	pausing := true
	b.prepare = func(ref workflows.StepRef) workflows.Prepared {
		if ref.StepID == "complement" && pausing {
			pausing = false
			b.pauseMark = true
			b.env.UpdateWorkflow(workflows.UpdatePause, "p", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("pause rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
			})
		}
		return workflows.Prepared{MessageID: "m-" + ref.StepID, Items: 1}
	}
	b.env.RegisterDelayedCallback(func() {
		b.pauseMark = false
		b.env.UpdateWorkflow(workflows.UpdateResume, "r", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("resume rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		})
	}, 4*day)
	res := b.run(t, input(b.start))
	require.Equal(t, 3, res.EmailsSent)
	require.Equal(t, 4*day, b.at[0], "the first email waited for resume")
}

func TestFailureIsRecordedBeforeTheWorkflowFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// (A second OnActivity for Prepare would never be consulted: testify
	// uses the first matching expectation, the one setup registered.)
	b.prepareErr = temporal.NewNonRetryableApplicationError("step missing", "not_found", nil)
	b.env.ExecuteWorkflow(workflows.SequenceWorkflowName, input(b.start))
	require.ErrorContains(t, b.env.GetWorkflowError(), "step missing")
	require.NotNil(t, b.final)
	require.Equal(t, domain.StatusFailed, b.final.Status)
}

func TestFrequencyCapDefersTheSendNeverDropsIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	capped := true
	var journey workflows.Journey
	b.send = func(ref workflows.SendInput) (workflows.Sent, error) {
		if capped {
			capped = false
			return workflows.Sent{Deferred: true, RetryAt: b.env.Now().Add(30 * time.Hour),
				Reason: "frequency cap reached (at most 1 per day)"}, nil
		}
		b.sent = append(b.sent, ref.MessageID[2:])
		b.at = append(b.at, b.env.Now().Sub(b.start))
		return workflows.Sent{}, nil
	}
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		require.NoError(t, v.Get(&journey))
	}, 4*day)
	in := input(b.start)
	in.SendWindow = workflows.DefaultSendWindow // 09:00-20:00 UTC
	res := b.run(t, in)
	require.Equal(t, 3, res.EmailsSent)
	require.Equal(t, []string{"complement", "guide", "bundle"}, b.sent)
	// Due at day 3 10:00, capped until 16:00 the next day: inside the window.
	require.Equal(t, 3*day+30*time.Hour, b.at[0])
	require.Contains(t, journey.Waiting, "frequency cap reached")
	require.Equal(t, workflows.StepWaiting, journey.Steps[0].Status)
	require.Contains(t, journey.Steps[0].Reason, "frequency cap")
}

func TestSupportTicketEndsUpsellsOnly(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind   campaign.Kind
		goals  []campaign.Goal
		status domain.SequenceStatus
	}{
		{campaign.Upsell, nil, domain.StatusSuppressed},
		{campaign.CrossSell, nil, domain.StatusCompleted},
		{campaign.CrossSell, []campaign.Goal{campaign.GoalSupportTicket}, domain.StatusSuppressed},
	} {
		t.Run(string(c.kind)+fmt.Sprint(c.goals), func(t *testing.T) {
			b := setup(t)
			in := input(b.start)
			in.Kind, in.ExitOn = c.kind, c.goals
			b.env.RegisterDelayedCallback(func() {
				b.env.SignalWorkflow(workflows.SignalSupportTicket, workflows.ExitSignal{})
			}, 4*day)
			res := b.run(t, in)
			require.Equal(t, c.status, res.Status, "%s %v", c.kind, c.goals)
		})
	}
}

func TestAnchoredStepsCountBackFromTheAnchor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	ends := b.start.Add(14 * day) // the trial ends in 14 days
	in.Anchor = &ends
	at := func(days int) campaign.Window {
		return campaign.Window{Min: campaign.Offset{Days: days}, Max: campaign.Offset{Days: days}}
	}
	in.Steps = []workflows.StepPlan{{ID: "early", Window: at(20)}, {ID: "ten", Window: at(10)}, {ID: "three", Window: at(3)}, {ID: "last", Window: at(1)}}
	var journey workflows.Journey
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		require.NoError(t, v.Get(&journey))
	}, time.Hour)
	res := b.run(t, in)
	require.Equal(t, []string{"ten", "three", "last"}, b.sent)
	require.Equal(t, []time.Duration{4 * day, 11 * day, 13 * day}, b.at)
	require.Equal(t, 3, res.EmailsSent)
	require.Equal(t, workflows.StepSkipped, journey.Steps[0].Status, "20 days before a trial that ends in 14 had passed")
}

func TestUpgradeGoalCanRequireATargetTier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.UpgradeTo = []string{"pro", "business"}
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalUpgrade, workflows.ExitSignal{Tier: "plus"}) // not enough
	}, 4*day)
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalUpgrade, workflows.ExitSignal{Tier: "pro"})
	}, 12*day)
	res := b.run(t, in)
	require.Equal(t, domain.StatusConverted, res.Status)
	require.Equal(t, "upgrade pro", res.Reason)
	require.Equal(t, 12*day, b.final.EndedAt.Sub(b.start))
}

// A promoted winner takes over at the next step boundary: the step being
// waited for follows the winner's timing, steps already sent stay sent,
// and steps the winner omits are dropped.
func TestSwitchToPromotedWinnerAtNextStepBoundary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := func(s string) campaign.Window { x, _ := campaign.ParseWindow(s); return x }
	variants := map[string]string{}
	b.prepare = func(ref workflows.StepRef) workflows.Prepared {
		variants[ref.StepID] = ref.Variant
		return workflows.Prepared{MessageID: "m-" + ref.StepID, Items: 2}
	}
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalSwitchVariant, workflows.SwitchVariant{Variant: "B", Steps: []workflows.StepPlan{
			{ID: "complement", Window: w("2d")}, {ID: "guide", Window: w("7d")}}}) // B has no bundle step
	}, 5*day)
	var j workflows.Journey
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		require.NoError(t, v.Get(&j))
	}, 8*day)
	res := b.run(t, input(b.start))

	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, []string{"complement", "guide"}, b.sent)
	require.Equal(t, []time.Duration{3 * day, 7 * day}, b.at, "guide moves from day 10 to B's day 7")
	require.Equal(t, map[string]string{"complement": "A", "guide": "B"}, variants)
	require.Equal(t, "B", j.Variant)
	require.Equal(t, "A", j.SwitchedFrom)
	require.Len(t, j.Steps, 2)
	require.Equal(t, workflows.StepSent, j.Steps[0].Status)
}

// Publishing with move_running moves the sequence onto the new version
// at its next step boundary: steps already sent stay sent, the version's
// remaining steps follow with their timing (a new step among them), and
// the journey and every later step name the new version.
func TestMoveOntoANewVersionAtTheNextStepBoundary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := func(s string) campaign.Window { x, _ := campaign.ParseWindow(s); return x }
	versions := map[string]int{}
	b.prepare = func(ref workflows.StepRef) workflows.Prepared {
		versions[ref.StepID] = ref.Version
		return workflows.Prepared{MessageID: "m-" + ref.StepID, Items: 2}
	}
	v2 := campaign.Plan{ID: "camera", Steps: []campaign.PlanStep{{ID: "complement", Window: w("3d-7d")},
		{ID: "tips", Window: w("8d")}, {ID: "bundle", Window: w("12d")}}, WindowStart: 0, WindowEnd: 24 * 60,
		Attribution: campaign.Offset{Days: 2}}
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalSwitchVariant, workflows.MoveTo(v2, 2, "A"))
	}, 5*day)
	var j workflows.Journey
	b.env.RegisterDelayedCallback(func() {
		v, err := b.env.QueryWorkflow(workflows.QueryJourney)
		require.NoError(t, err)
		require.NoError(t, v.Get(&j))
	}, 9*day)
	res := b.run(t, input(b.start))

	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, []string{"complement", "tips", "bundle"}, b.sent, "v1's guide gives way to v2's tips")
	require.Equal(t, []time.Duration{3 * day, 8 * day, 12 * day}, b.at)
	require.Equal(t, map[string]int{"complement": 1, "tips": 2, "bundle": 2}, versions)
	require.Equal(t, 2, j.Version)
	require.Equal(t, 1, j.MovedFromVersion)
	require.Equal(t, "A", j.Variant)
	require.Empty(t, j.SwitchedFrom, "a move is not a promotion")
	require.Equal(t, 14*day, b.final.EndedAt.Sub(b.start), "v2's two-day attribution window")
	require.Equal(t, []string{"complement", "tips", "bundle"}, []string{b.final.Steps[0].ID, b.final.Steps[1].ID, b.final.Steps[2].ID})
}

func TestHoldoutIsNeverSwitched(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := input(b.start)
	in.Variant = workflows.VariantHoldout
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalSwitchVariant, workflows.SwitchVariant{Variant: "B", Steps: in.Steps})
	}, 1*day)
	res := b.run(t, in)
	require.Equal(t, 0, res.EmailsSent)
	require.Empty(t, b.sent)
}

// An exit event ingested while the sequence was starting, before its
// enrolment row existed, is found by its first activity: it ends at once.
func TestExitMissedAtTheStartEndsTheSequence(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.started = workflows.Started{Exits: []workflows.PendingExit{{Signal: workflows.SignalComplaint, Exit: workflows.ExitSignal{EventID: "ev-9"}}}}
	res := b.run(t, input(b.start))
	require.Equal(t, domain.StatusComplained, res.Status)
	require.Empty(t, b.sent)
	require.Equal(t, time.Duration(0), b.final.EndedAt.Sub(b.start))
}
