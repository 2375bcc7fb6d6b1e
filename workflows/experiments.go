package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the experiment workflows: a clock (ExperimentClockWorkflow)
// runs the check every day; the API starts a promotion when a marketer
// promotes a winner and asks to move running enrolments.
// CheckExperimentsWorkflow is the check once: the schedule that ran it
// before the clock is deleted by Bootstrap, and its runs still replay.
const (
	CheckExperimentsWorkflowName = "CheckExperiments"
	CheckExperimentsScheduleID   = "lift-check-experiments"
	PromoteWorkflowName          = "PromoteWinner"
	MoveToVersionWorkflowName    = "MoveRunningToVersion"
)

func experimentActivity(ctx workflow.Context, summary string, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
		Summary:             summary,
	})
}

// CheckExperimentsWorkflow checks every running experiment (guardrails,
// evidence, automatic promotion) and moves running enrolments to the
// winners it promoted where the experiment asks for that.
func CheckExperimentsWorkflow(ctx workflow.Context) (int, error) {
	return checkExperiments(ctx)
}

func checkExperiments(ctx workflow.Context) (int, error) {
	var moves []Promotion
	err := workflow.ExecuteActivity(experimentActivity(ctx, "check running experiments", 10*time.Minute), ActivityCheckExperiments).Get(ctx, &moves)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, p := range moves {
		n, err := promote(ctx, p)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// PromoteWorkflow moves a campaign's running enrolments to a promoted
// winner; see activities.MoveToWinner.
func PromoteWorkflow(ctx workflow.Context, p Promotion) (int, error) {
	return promote(ctx, p)
}

func promote(ctx workflow.Context, p Promotion) (int, error) {
	var moved int
	summary := fmt.Sprintf("move %s's running enrolments to %s", p.CampaignID, p.Winner)
	err := workflow.ExecuteActivity(experimentActivity(ctx, summary, time.Hour), ActivityMoveToWinner, p).Get(ctx, &moved)
	return moved, err
}

// MoveToVersionWorkflow moves a campaign's running enrolments on older
// versions onto a newly published one, each at its next step boundary;
// see activities.MoveToVersion.
func MoveToVersionWorkflow(ctx workflow.Context, m VersionMove) (int, error) {
	var moved int
	summary := fmt.Sprintf("move %s's running enrolments onto v%d", m.CampaignID, m.Version)
	err := workflow.ExecuteActivity(experimentActivity(ctx, summary, time.Hour), ActivityMoveToVersion, m).Get(ctx, &moved)
	return moved, err
}
