package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/workflows"
)

func at(s string) campaign.Window { w, _ := campaign.ParseWindow(s); return w }

func within(days int) *campaign.Offset { return &campaign.Offset{Days: days} }

func flowInput(start time.Time, steps ...workflows.StepPlan) workflows.SequenceInput {
	in := input(start)
	in.Steps = steps
	return in
}

func stepOf(t *testing.T, f *workflows.FinishInput, id string) domain.StepState {
	t.Helper()
	for _, s := range f.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in the journey %+v", id, f.Steps)
	return domain.StepState{}
}

// The physical-goods cross-sell: wait for the delivery, then send two
// days after it, not two days after the purchase.
func TestWaitForDeliveryThenTheNextStepCountsFromIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := flowInput(b.start,
		workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(10)},
		workflows.StepPlan{ID: "complement", Window: at("2d-3d")})
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"delivery"}, Type: "delivered", EventID: "ev-9"})
	}, 4*day)
	res := b.run(t, in)
	require.Equal(t, domain.StatusCompleted, res.Status)
	require.Equal(t, []string{"complement"}, b.sent)
	require.Equal(t, []time.Duration{6 * day}, b.at, "two days after the delivery")
	w := stepOf(t, b.final, "delivery")
	require.Equal(t, workflows.StepMet, w.Status)
	require.Equal(t, campaign.KindWaitFor, w.Kind)
	require.Equal(t, "delivered received (event ev-9)", w.Reason)
	require.Equal(t, 4*day, w.DoneAt.Sub(b.start), "the journey says when the wait ended")
}

func TestWaitForTimesOutAndContinuesOrExits(t *testing.T) {
	t.Parallel()
	t.Run("continue", func(t *testing.T) {
		b := setup(t)
		res := b.run(t, flowInput(b.start,
			workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(10)},
			workflows.StepPlan{ID: "complement", Window: at("2d")}))
		require.Equal(t, domain.StatusCompleted, res.Status)
		require.Equal(t, []time.Duration{12 * day}, b.at, "two days after the wait gave up")
		w := stepOf(t, b.final, "delivery")
		require.Equal(t, workflows.StepTimedOut, w.Status)
		require.Equal(t, "no delivered within 10d", w.Reason)
	})
	t.Run("exit", func(t *testing.T) {
		b := setup(t)
		res := b.run(t, flowInput(b.start,
			workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(10), ExitOnTimeout: true},
			workflows.StepPlan{ID: "complement", Window: at("2d")}))
		require.Equal(t, domain.StatusCompleted, res.Status)
		require.Contains(t, res.Reason, "wait delivery timed out")
		require.Empty(t, b.sent)
		require.Equal(t, 10*day, b.final.EndedAt.Sub(b.start), "ends when the wait runs out")
		require.Equal(t, workflows.StepNotReached, stepOf(t, b.final, "complement").Status)
	})
}

func TestExitSignalsEndASequenceDuringAWaitFor(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{workflows.SignalUnsubscribe, workflows.SignalComplaint, workflows.SignalErased} {
		t.Run(sig, func(t *testing.T) {
			b := setup(t)
			b.env.RegisterDelayedCallback(func() { b.env.SignalWorkflow(sig, workflows.ExitSignal{}) }, 3*day)
			res := b.run(t, flowInput(b.start,
				workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(10)},
				workflows.StepPlan{ID: "complement", Window: at("2d")}))
			require.NotEqual(t, domain.StatusCompleted, res.Status)
			require.Empty(t, b.sent)
			require.Equal(t, 3*day, b.final.EndedAt.Sub(b.start), "at once, not when the wait runs out")
			require.Equal(t, workflows.StepNotReached, stepOf(t, b.final, "delivery").Status)
		})
	}
}

// An event the API sends for another wait, or one that came before the
// wait began, does not end it: the wait is for the next matching event.
func TestAWaitEndsOnlyOnItsOwnNextEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := flowInput(b.start,
		workflows.StepPlan{ID: "welcome", Window: at("1d")},
		workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(10)},
		workflows.StepPlan{ID: "complement", Window: at("1d")})
	b.env.RegisterDelayedCallback(func() { // before the wait began
		b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"delivery"}, Type: "delivered"})
	}, 12*time.Hour)
	b.env.RegisterDelayedCallback(func() { // for another wait
		b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"other"}, Type: "delivered"})
	}, 2*day)
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"delivery"}, Type: "delivered"})
	}, 3*day)
	b.run(t, in)
	require.Equal(t, []string{"welcome", "complement"}, b.sent)
	require.Equal(t, []time.Duration{1 * day, 4 * day}, b.at)
}

// The upsell that alerts sales: the comparison email, a wait of up to
// three days for its click, then a branch on the engagement the SendGrid
// webhook recorded: a click tells sales, no click gets a reminder.
func engagementFlow(start time.Time) workflows.SequenceInput {
	return flowInput(start,
		workflows.StepPlan{ID: "comparison", Window: at("1d")},
		workflows.StepPlan{ID: "clicked-wait", Kind: campaign.KindWaitFor, Event: "click of comparison", Within: within(3)},
		workflows.StepPlan{ID: "engaged", Kind: campaign.KindBranch,
			Then: []workflows.StepPlan{{ID: "tell-sales", Kind: campaign.KindWebhook}},
			Else: []workflows.StepPlan{{ID: "reminder", Window: at("2d")}}})
}

func TestBranchOnEngagementRecordedByTheWebhook(t *testing.T) {
	t.Parallel()
	t.Run("clicked: sales are told", func(t *testing.T) {
		b := setup(t)
		clicked := false
		b.branch = func(ref workflows.StepRef) workflows.BranchOutcome {
			require.Equal(t, "engaged", ref.StepID)
			if clicked {
				return workflows.BranchOutcome{Then: true, Reason: "then: clicked=comparison held"}
			}
			return workflows.BranchOutcome{Reason: "else: clicked=comparison did not hold"}
		}
		b.env.RegisterDelayedCallback(func() {
			clicked = true // the SendGrid webhook recorded the click …
			// … and the API told the waiting sequence.
			b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"clicked-wait"}, Type: "click of comparison"})
		}, 2*day)
		res := b.run(t, engagementFlow(b.start))
		require.Equal(t, domain.StatusCompleted, res.Status)
		require.Equal(t, []string{"comparison"}, b.sent, "no reminder")
		require.Equal(t, []string{"tell-sales"}, b.hooks)
		require.Equal(t, []time.Duration{2 * day}, b.hookAt, "at once after the click")
		br := stepOf(t, b.final, "engaged")
		require.Equal(t, workflows.StepBranched, br.Status)
		require.Equal(t, "then", br.Path)
		require.Equal(t, "then: clicked=comparison held", br.Reason)
		hook := stepOf(t, b.final, "tell-sales")
		require.Equal(t, workflows.StepSent, hook.Status)
		require.Equal(t, campaign.KindWebhook, hook.Kind)
		for _, s := range b.final.Steps {
			require.NotEqual(t, "reminder", s.ID, "the path not taken is not in the journey")
		}
	})
	t.Run("not clicked: a reminder", func(t *testing.T) {
		b := setup(t)
		res := b.run(t, engagementFlow(b.start))
		require.Equal(t, domain.StatusCompleted, res.Status)
		require.Equal(t, []string{"comparison", "reminder"}, b.sent)
		require.Equal(t, []time.Duration{1 * day, 6 * day}, b.at, "two days after the wait ran out on day 4")
		require.Empty(t, b.hooks)
		require.Equal(t, "else", stepOf(t, b.final, "engaged").Path)
	})
}

func TestBranchesNest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.branch = func(ref workflows.StepRef) workflows.BranchOutcome {
		return workflows.BranchOutcome{Then: ref.StepID == "outer"}
	}
	in := flowInput(b.start,
		workflows.StepPlan{ID: "outer", Kind: campaign.KindBranch,
			Then: []workflows.StepPlan{{ID: "inner", Kind: campaign.KindBranch,
				Then: []workflows.StepPlan{{ID: "a", Window: at("1d")}},
				Else: []workflows.StepPlan{{ID: "b", Window: at("2d")}}}},
			Else: []workflows.StepPlan{{ID: "c", Window: at("3d")}}},
		workflows.StepPlan{ID: "last", Window: at("5d")})
	b.run(t, in)
	require.Equal(t, []string{"b", "last"}, b.sent, "then of outer, else of inner, then what follows the branch")
}

func TestWebhookStepOutcomes(t *testing.T) {
	t.Parallel()
	hookFlow := func(start time.Time) workflows.SequenceInput {
		return flowInput(start,
			workflows.StepPlan{ID: "sms", Kind: campaign.KindWebhook, Window: at("1d")},
			workflows.StepPlan{ID: "complement", Window: at("3d")})
	}
	t.Run("at its time", func(t *testing.T) {
		b := setup(t)
		b.run(t, hookFlow(b.start))
		require.Equal(t, []time.Duration{1 * day}, b.hookAt)
		require.Equal(t, "delivered (HTTP 200) after 1 attempts", stepOf(t, b.final, "sms").Reason)
	})
	t.Run("refused for good: the step fails, the sequence goes on", func(t *testing.T) {
		b := setup(t)
		b.webhook = func(workflows.WebhookInput) (workflows.WebhookOutcome, error) {
			return workflows.WebhookOutcome{}, temporal.NewNonRetryableApplicationError("destination crm refused it: HTTP 400", "permanent_remote", nil)
		}
		res := b.run(t, hookFlow(b.start))
		require.Equal(t, domain.StatusCompleted, res.Status)
		s := stepOf(t, b.final, "sms")
		require.Equal(t, workflows.StepFailed, s.Status)
		require.Contains(t, s.Reason, "HTTP 400")
		require.Equal(t, []string{"complement"}, b.sent)
	})
	t.Run("down: retried with backoff, then the step fails", func(t *testing.T) {
		b := setup(t)
		b.webhook = func(workflows.WebhookInput) (workflows.WebhookOutcome, error) {
			return workflows.WebhookOutcome{}, temporal.NewApplicationError("destination crm: HTTP 503", "unavailable")
		}
		res := b.run(t, hookFlow(b.start))
		require.Equal(t, domain.StatusCompleted, res.Status)
		s := stepOf(t, b.final, "sms")
		require.Equal(t, workflows.StepFailed, s.Status, "(the test environment gives up after 10 attempts; a server after 24 hours)")
		require.Contains(t, s.Reason, "HTTP 503")
		require.Len(t, b.hooks, 10)
		for i := 2; i < len(b.hookAt); i++ {
			gap, prev := b.hookAt[i]-b.hookAt[i-1], b.hookAt[i-1]-b.hookAt[i-2]
			require.True(t, gap > prev || gap == 10*time.Minute, "backs off to ten minutes apart: %v", b.hookAt)
		}
		require.Equal(t, []string{"complement"}, b.sent)
	})
	t.Run("quiet hours defer it", func(t *testing.T) {
		b := setup(t)
		calls := 0
		b.webhook = func(workflows.WebhookInput) (workflows.WebhookOutcome, error) {
			calls++
			if calls == 1 {
				return workflows.WebhookOutcome{Deferred: true, RetryAt: b.env.Now().Add(8 * time.Hour), Reason: "quiet hours"}, nil
			}
			return workflows.WebhookOutcome{Delivered: true}, nil
		}
		b.run(t, hookFlow(b.start))
		require.Equal(t, []time.Duration{1 * day, 1*day + 8*time.Hour}, b.hookAt)
		require.Equal(t, workflows.StepSent, stepOf(t, b.final, "sms").Status)
	})
	t.Run("no consent for the channel: skipped", func(t *testing.T) {
		b := setup(t)
		b.webhook = func(workflows.WebhookInput) (workflows.WebhookOutcome, error) {
			return workflows.WebhookOutcome{Skipped: true, Reason: "no marketing consent"}, nil
		}
		b.run(t, hookFlow(b.start))
		require.Equal(t, workflows.StepSkipped, stepOf(t, b.final, "sms").Status)
	})
	t.Run("the holdout is never contacted", func(t *testing.T) {
		b := setup(t)
		in := hookFlow(b.start)
		in.Variant = workflows.VariantHoldout
		b.run(t, in)
		require.Empty(t, b.hooks)
		require.Equal(t, workflows.StepHoldout, stepOf(t, b.final, "sms").Status)
	})
}

// A wait takes the events that happened once the flow reached the step
// before it: a click on the email while it was still being sent counts,
// even though its signal came before the workflow got to the wait; an
// event from before then does not, whenever its signal comes.
func TestAWaitTakesEventsSinceTheStepBeforeIt(t *testing.T) {
	t.Parallel()
	t.Run("a click during the send", func(t *testing.T) {
		b := setup(t)
		send := b.send
		b.send = func(in workflows.SendInput) (workflows.Sent, error) {
			// The recipient clicks at once; the API signals the sequence
			// before RunStep has even returned.
			b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"clicked-wait"}, Type: "click of comparison", At: b.env.Now()})
			return send(in)
		}
		b.branch = func(workflows.StepRef) workflows.BranchOutcome { return workflows.BranchOutcome{Then: true} }
		b.run(t, engagementFlow(b.start))
		w := stepOf(t, b.final, "clicked-wait")
		require.Equal(t, workflows.StepMet, w.Status)
		require.Equal(t, 1*day, w.DoneAt.Sub(b.start), "met at once, not after three days")
	})
	t.Run("an event from before", func(t *testing.T) {
		b := setup(t)
		b.env.RegisterDelayedCallback(func() { // a delivery that happened on day 0, reported late
			b.env.SignalWorkflow(workflows.SignalFlowEvent, workflows.FlowEvent{Steps: []string{"delivery"}, Type: "delivered", At: b.start.Add(-time.Hour)})
		}, 2*day)
		b.run(t, flowInput(b.start,
			workflows.StepPlan{ID: "welcome", Window: at("1d")},
			workflows.StepPlan{ID: "delivery", Kind: campaign.KindWaitFor, Event: "delivered", Within: within(5)},
			workflows.StepPlan{ID: "complement", Window: at("1d")}))
		require.Equal(t, workflows.StepTimedOut, stepOf(t, b.final, "delivery").Status)
	})
}

// A promoted winner (or a move onto a new version) during a branch's
// path keeps the rest of that path, as the new plan has it.
func TestASwitchInsideABranchPathKeepsTheRestOfThePath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.branch = func(workflows.StepRef) workflows.BranchOutcome { return workflows.BranchOutcome{Then: true} }
	plan := func(yAt string) []workflows.StepPlan {
		return []workflows.StepPlan{
			{ID: "b", Kind: campaign.KindBranch, Then: []workflows.StepPlan{{ID: "x", Window: at("1d")}, {ID: "y", Window: at(yAt)}},
				Else: []workflows.StepPlan{{ID: "e", Window: at("1d")}}},
			{ID: "z", Window: at("6d")},
		}
	}
	b.env.RegisterDelayedCallback(func() {
		b.env.SignalWorkflow(workflows.SignalSwitchVariant, workflows.SwitchVariant{Variant: "B", Steps: plan("4d")})
	}, 2*day)
	b.run(t, flowInput(b.start, plan("3d")...))
	require.Equal(t, []string{"x", "y", "z"}, b.sent)
	require.Equal(t, []time.Duration{1 * day, 4 * day, 6 * day}, b.at, "y at B's day 4")
	var ids []string
	for _, s := range b.final.Steps {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"b", "x", "y", "z"}, ids)
}
