// Package worker registers Lift's workflows and activities on the task
// queue.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/workflows"
)

// New returns a worker for the sequence task queue, not yet started.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	return w
}

// Register adds the sequence workflow and every activity to a registry
// (a worker, a replayer or a test environment).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows adds the workflows only, for a replayer.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.SequenceWorkflow, workflow.RegisterOptions{Name: workflows.SequenceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.InactivityWatchWorkflow, workflow.RegisterOptions{Name: workflows.InactivityWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.RebuildAffinitiesWorkflow, workflow.RegisterOptions{Name: workflows.RebuildWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.CheckExperimentsWorkflow, workflow.RegisterOptions{Name: workflows.CheckExperimentsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.PromoteWorkflow, workflow.RegisterOptions{Name: workflows.PromoteWorkflowName})
}
