package workflows

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// Client starts, signals and queries sequences. It is what the API uses.
type Client struct {
	Temporal client.Client
}

// Start starts a sequence. started is false when the customer already has
// a running sequence for the campaign (one at a time).
func (c Client) Start(ctx context.Context, in SequenceInput, summary string) (started bool, err error) {
	opts := client.StartWorkflowOptions{
		ID:                                       SequenceWorkflowID(in.CampaignID, in.CustomerID),
		TaskQueue:                                TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            summary,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			CustomerIDKey.ValueSet(in.CustomerID),
			CampaignIDKey.ValueSet(in.CampaignID),
			VariantKey.ValueSet(in.Variant),
			SequenceStatusKey.ValueSet(string(domain.StatusRunning)),
			EmailsSentKey.ValueSet(0),
		),
	}
	_, err = c.Temporal.ExecuteWorkflow(ctx, opts, SequenceWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(err, "start sequence")
	}
	return true, nil
}

// Signal sends an exit signal to a running sequence. A sequence that has
// already ended is reported as not found.
func (c Client) Signal(ctx context.Context, workflowID, name string, sig ExitSignal) error {
	err := c.Temporal.SignalWorkflow(ctx, workflowID, "", name, sig)
	return translate(err, "signal "+workflowID)
}

// SwitchVariant tells a running sequence to send the variant's remaining
// steps from its next step boundary on.
func (c Client) SwitchVariant(ctx context.Context, workflowID string, plan campaign.Plan, variant string) error {
	err := c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalSwitchVariant, SwitchTo(plan, variant))
	return translate(err, "switch "+workflowID)
}

// SignalFlow tells a running sequence about an event (or a click or an
// open) that the waits it names wait for.
func (c Client) SignalFlow(ctx context.Context, workflowID string, ev FlowEvent) error {
	err := c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalFlowEvent, ev)
	return translate(err, "signal "+workflowID)
}

// SwitchVersion tells a running sequence to follow a newer version of
// its campaign (the variant's remaining steps) from its next step
// boundary on.
func (c Client) SwitchVersion(ctx context.Context, workflowID string, plan campaign.Plan, version int, variant string) error {
	err := c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalSwitchVariant, MoveTo(plan, version, variant))
	return translate(err, "move "+workflowID)
}

// MoveToVersion starts moving a campaign's running enrolments onto a
// published version, in the background; asking twice for the same
// version moves them once.
func (c Client) MoveToVersion(ctx context.Context, campaignID string, version int) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("move-version/%s/%d", campaignID, version), TaskQueue: TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("move running enrolments of %s onto v%d", campaignID, version),
		TypedSearchAttributes: temporal.NewSearchAttributes(CampaignIDKey.ValueSet(campaignID)),
	}, MoveToVersionWorkflowName, VersionMove{CampaignID: campaignID, Version: version})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return unavailable(err, "move running enrolments")
}

// Promote starts moving a campaign's running enrolments to a promoted
// winner, in the background; promoting the same experiment twice moves
// them once.
func (c Client) Promote(ctx context.Context, campaignID, experimentID, winner string) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "promote/" + campaignID + "/" + experimentID, TaskQueue: TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         "move running enrolments of " + campaignID + " to variant " + winner,
		TypedSearchAttributes: temporal.NewSearchAttributes(CampaignIDKey.ValueSet(campaignID), VariantKey.ValueSet(winner)),
	}, PromoteWorkflowName, Promotion{CampaignID: campaignID, ExperimentID: experimentID, Winner: winner})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return unavailable(err, "promote "+campaignID)
}

// RebuildWorkflowID is the ID of a rebuild asked for through the API: one
// runs at a time (a scheduled one takes the same lease in the store).
const RebuildWorkflowID = "rebuild-recommendations"

// StartRebuild starts the recommendation rebuild, or finds the one
// running (started false).
func (c Client) StartRebuild(ctx context.Context) (bool, error) {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: RebuildWorkflowID, TaskQueue: TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            "rebuild the recommendation model (asked through the API)",
	}, RebuildWorkflowName, RebuildInput{})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(err, "start the recommendation rebuild")
	}
	return true, nil
}

// Journey queries a running sequence's journey.
func (c Client) Journey(ctx context.Context, workflowID string) (Journey, error) {
	var j Journey
	v, err := c.Temporal.QueryWorkflow(ctx, workflowID, "", QueryJourney)
	if err != nil {
		return j, translate(err, "query "+workflowID)
	}
	return j, v.Get(&j)
}

// Update pauses or resumes a running sequence and returns its journey.
func (c Client) Update(ctx context.Context, workflowID, update string) (Journey, error) {
	var j Journey
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: update, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return j, translate(err, update+" "+workflowID)
	}
	if err := h.Get(ctx, &j); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return j, errs.Wrap(errs.Conflict, err, "%s", appErr.Message())
		}
		return j, translate(err, update+" "+workflowID)
	}
	return j, nil
}

// Cancel asks a running sequence to stop; it records its outcome as
// cancelled. A sequence that has already ended is reported as not found.
func (c Client) Cancel(ctx context.Context, workflowID string) error {
	return translate(c.Temporal.CancelWorkflow(ctx, workflowID, ""), "cancel "+workflowID)
}

// Ping checks that Temporal answers.
func (c Client) Ping(ctx context.Context) error {
	_, err := c.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return unavailable(err, "temporal unreachable")
}

func translate(err error, what string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errs.Wrap(errs.NotFound, err, "%s: sequence not running", what)
	}
	return unavailable(err, what)
}

func unavailable(err error, what string) error {
	if err == nil {
		return nil
	}
	return errs.Wrap(errs.Unavailable, err, "%s", what)
}
