package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the clocks: one long-running workflow for each periodic job
// whose period is a sequence day or less (finding quiet customers,
// checking experiments). A Temporal Schedule would start a workflow per
// run, and at a compressed day (the demo's 5 s) those runs bury the
// journeys in the Temporal UI; a clock is one row, and one timer and one
// activity per tick. Jobs that run hourly or daily (the affinity
// rebuild, the purge) stay Schedules, which operators can pause and
// trigger from the UI.
const (
	DormancyWorkflowName        = "FindQuietCustomers"
	DormancyWorkflowID          = "lift-find-quiet-customers"
	ExperimentClockWorkflowName = "CheckExperimentsClock"
	ExperimentClockWorkflowID   = "lift-check-experiments-clock"
	// SignalEvery changes a clock's period (EnsureClock sends it).
	SignalEvery = "every"
)

// ClockInput starts (or continues) a clock.
type ClockInput struct {
	Every time.Duration `json:"every"`
}

// ticksBeforeContinueAsNew keeps a clock's history short: a tick is about
// ten events.
const ticksBeforeContinueAsNew = 500

// DormancyWorkflow finds the customers who have gone quiet every period
// and starts their re-engagement campaigns (app.StartQuiet): one query
// of the store per tick, in place of a watcher workflow per customer.
func DormancyWorkflow(ctx workflow.Context, in ClockInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		// A scan that keeps failing gives way to the next tick, which
		// scans the same window again.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 3},
		Summary:     "find quiet customers",
	})
	return clock(ctx, DormancyWorkflowName, in, func(ctx workflow.Context) error {
		var scan QuietScan
		return workflow.ExecuteActivity(ctx, ActivityFindQuietCustomers).Get(ctx, &scan)
	})
}

// ExperimentClockWorkflow checks running experiments every period, as
// CheckExperimentsWorkflow does once.
func ExperimentClockWorkflow(ctx workflow.Context, in ClockInput) error {
	return clock(ctx, ExperimentClockWorkflowName, in, func(ctx workflow.Context) error {
		_, err := checkExperiments(ctx)
		return err
	})
}

// clock runs tick, then waits the period, over and over; a failed tick is
// logged and the next one runs on time. It continues as new every
// ticksBeforeContinueAsNew ticks, or sooner when Temporal suggests it.
func clock(ctx workflow.Context, name string, in ClockInput, tick func(workflow.Context) error) error {
	every := max(in.Every, time.Second)
	periods := workflow.GetSignalChannel(ctx, SignalEvery)
	newPeriod := func() {
		var e time.Duration
		for periods.ReceiveAsync(&e) {
			if e >= time.Second {
				every = e
			}
		}
	}
	for ticks := 1; ; ticks++ {
		newPeriod()
		if err := tick(ctx); err != nil {
			var canceled *temporal.CanceledError
			if errors.As(err, &canceled) || ctx.Err() != nil {
				return err
			}
			workflow.GetLogger(ctx).Error("clock tick failed; the next tick runs on time", "clock", name, "error", err)
		}
		if ticks >= ticksBeforeContinueAsNew || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			newPeriod()
			return workflow.NewContinueAsNewError(ctx, name, ClockInput{Every: every})
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(timerCtx, every, workflow.TimerOptions{Summary: "next tick"})
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.AddReceive(periods, func(workflow.ReceiveChannel, bool) {}) // a new period applies from now
		sel.Select(ctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// EnsureClock starts the clock workflow, or tells the running one its
// period (a new LIFT_DAY takes effect at the next start of Lift).
func EnsureClock(ctx context.Context, c client.Client, id, workflowName string, every time.Duration) error {
	_, err := c.SignalWithStartWorkflow(ctx, id, SignalEvery, every, client.StartWorkflowOptions{
		ID: id, TaskQueue: TaskQueue,
		StaticSummary: fmt.Sprintf("%s every %s", workflowName, every),
	}, workflowName, ClockInput{Every: every})
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// DeleteSchedule removes a schedule a clock replaced, if it is there.
func DeleteSchedule(ctx context.Context, c client.Client, id string) error {
	err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	return nil
}
