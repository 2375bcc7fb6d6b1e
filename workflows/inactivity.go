package workflows

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/lift-hq/lift/internal/domain"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the inactivity watcher: one long-running workflow per customer,
// signalled on every event, that started re-engagement campaigns when the
// customer had been quiet long enough. DormancyWorkflow's periodic scan of
// the store has replaced it: watchers still running from before retire at
// their next wake-up (the activity answers Retire), and nothing starts new
// ones. The workflow stays registered so they can.
const (
	InactivityWorkflowName = "InactivityWatch"
	SignalActivity         = "activity"
)

// InactivityWorkflowID is the watcher's ID for a customer.
func InactivityWorkflowID(customerID string) string { return "inactivity/" + customerID }

// InactivityInput starts (or continues) a customer's watcher.
type InactivityInput struct {
	CustomerID   string        `json:"customer_id"`
	LastActivity time.Time     `json:"last_activity"`
	Day          time.Duration `json:"day"`
	// Fired lists the campaigns already started for this quiet spell.
	Fired []string `json:"fired,omitempty"`
}

// ActivitySignal tells the watcher the customer did something.
type ActivitySignal struct {
	At time.Time `json:"at"`
}

// signalsBeforeContinueAsNew keeps the watcher's history short: it lives as
// long as the customer does.
const signalsBeforeContinueAsNew = 200

// InactivityWatchWorkflow waits, for each live inactivity campaign, until
// the customer has had no event for the campaign's "after", then starts
// that campaign's sequence (once per quiet spell). Any event starts a new
// spell. With no campaign pending it re-reads the campaigns once a day.
func InactivityWatchWorkflow(ctx workflow.Context, in InactivityInput) error {
	// Campaigns started this quiet spell: a short slice, kept in firing
	// order (no map, so nothing iterates in random order).
	fired := append([]string(nil), in.Fired...)
	last := in.LastActivity
	signals := workflow.GetSignalChannel(ctx, SignalActivity)
	handled := 0
	drain := func() {
		var sig ActivitySignal
		for signals.ReceiveAsync(&sig) {
			handled++
			if sig.At.After(last) {
				last, fired = sig.At, nil
			}
			sig = ActivitySignal{}
		}
	}
	for {
		drain()
		var plans InactivityPlans
		err := execActivity(ctx, "load inactivity campaigns", ActivityLoadInactivityPlans,
			InactivityQuery{CustomerID: in.CustomerID, Day: in.Day}, &plans)
		if err != nil {
			return err
		}
		drain() // activity while the campaigns were read starts a new spell
		if plans.Gone || plans.Retire {
			// The customer was erased, or this build finds quiet customers
			// with DormancyWorkflow's scan, from the store, and the watcher
			// ends. Histories from before carry no Retire and replay as
			// they ran: the answer is in the activity's recorded result, so
			// this needs no GetVersion.
			return nil
		}
		now := workflow.Now(ctx)
		var next time.Time
		for _, p := range plans.Plans {
			if slices.Contains(fired, p.Plan.ID) {
				continue
			}
			at := last.Add(Scale(p.After, in.Day))
			if now.Before(at) {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			if err := startInactivitySequence(ctx, in, p, now); err != nil {
				return err
			}
			fired = append(fired, p.Plan.ID)
		}
		if handled >= signalsBeforeContinueAsNew || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			return workflow.NewContinueAsNewError(ctx, InactivityWorkflowName,
				InactivityInput{CustomerID: in.CustomerID, LastActivity: last, Day: in.Day, Fired: fired})
		}
		wait := in.Day // re-read the campaigns daily when none is pending
		if !next.IsZero() {
			wait = next.Sub(now)
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: "quiet until"})
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.AddReceive(signals, func(workflow.ReceiveChannel, bool) {}) // drained at the top of the loop
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// startInactivitySequence starts a campaign's sequence as a child that
// outlives the watcher. A sequence of the campaign already running is
// left alone.
func startInactivitySequence(ctx workflow.Context, in InactivityInput, p InactivityPlan, now time.Time) error {
	var enrollmentID string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return uuid.NewString() }).Get(&enrollmentID); err != nil {
		return err
	}
	input := NewSequenceInput(p.Plan, p.Version, enrollmentID, in.CustomerID, p.Timezone, "", now, in.Day)
	childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            SequenceWorkflowID(p.Plan.ID, in.CustomerID),
		TaskQueue:             TaskQueue,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         p.Plan.ID + " v" + strconv.Itoa(p.Version) + " · customer " + in.CustomerID + " · inactivity",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			CustomerIDKey.ValueSet(in.CustomerID), CampaignIDKey.ValueSet(p.Plan.ID),
			VariantKey.ValueSet(input.Variant), SequenceStatusKey.ValueSet(string(domain.StatusRunning)), EmailsSentKey.ValueSet(0),
		),
	})
	f := workflow.ExecuteChildWorkflow(childCtx, SequenceWorkflowName, input)
	var started workflow.Execution
	err := f.GetChildWorkflowExecution().Get(ctx, &started)
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &already) {
		return nil
	}
	return err
}
