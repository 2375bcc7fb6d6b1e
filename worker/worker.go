// Package worker registers Lift's workflows and activities on the task
// queue, each under its name constant from package workflows.
package worker

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/workflows"
)

// New returns a worker for the sequence task queue, not yet started.
// Every activity error passes through activities.Classify.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	opts.Interceptors = append(opts.Interceptors, activities.Interceptor())
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	return w
}

// Register adds every workflow and activity to a registry (a worker, a
// replayer or a test environment).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	RegisterActivities(r, acts)
}

// Workflows maps each workflow name to its function.
func Workflows() map[string]any {
	return map[string]any{
		workflows.SequenceWorkflowName:         workflows.SequenceWorkflow,
		workflows.InactivityWorkflowName:       workflows.InactivityWatchWorkflow,
		workflows.RebuildWorkflowName:          workflows.RebuildAffinitiesWorkflow,
		workflows.CheckExperimentsWorkflowName: workflows.CheckExperimentsWorkflow,
		workflows.PromoteWorkflowName:          workflows.PromoteWorkflow,
		workflows.MoveToVersionWorkflowName:    workflows.MoveToVersionWorkflow,
		workflows.PurgeWorkflowName:            workflows.PurgeWorkflow,
		workflows.DormancyWorkflowName:         workflows.DormancyWorkflow,
		workflows.ExperimentClockWorkflowName:  workflows.ExperimentClockWorkflow,
	}
}

// Activities maps each activity name to the method that implements it.
func Activities(a *activities.Activities) map[string]any {
	return map[string]any{
		workflows.ActivityStartEnrollment:     a.StartEnrollment,
		workflows.ActivityCheckEligibility:    a.CheckEligibility,
		workflows.ActivityPrepare:             a.Prepare,
		workflows.ActivityRender:              a.Render,
		workflows.ActivitySend:                a.Send,
		workflows.ActivityRecordProgress:      a.RecordProgress,
		workflows.ActivityRunStep:             a.RunStep,
		workflows.ActivityEvaluateBranch:      a.EvaluateBranch,
		workflows.ActivityCallWebhook:         a.CallWebhook,
		workflows.ActivityEvaluatePurchase:    a.EvaluatePurchase,
		workflows.ActivityFinishEnrollment:    a.FinishEnrollment,
		workflows.ActivityLoadInactivityPlans: a.LoadInactivityPlans,
		workflows.ActivityFindQuietCustomers:  a.FindQuietCustomers,
		workflows.ActivityRebuildAffinities:   a.RebuildAffinities,
		workflows.ActivityCheckExperiments:    a.CheckExperiments,
		workflows.ActivityMoveToWinner:        a.MoveToWinner,
		workflows.ActivityMoveToVersion:       a.MoveToVersion,
		workflows.ActivityPurgeExpired:        a.PurgeExpired,
	}
}

// RegisterWorkflows adds the workflows only, for a replayer.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	for name, fn := range Workflows() {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}

// RegisterActivities adds every activity under its name.
func RegisterActivities(r sdkworker.ActivityRegistry, acts *activities.Activities) {
	for name, fn := range Activities(acts) {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
