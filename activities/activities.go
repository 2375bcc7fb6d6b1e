// Package activities holds the worker's side of the workflows' durable
// steps: each activity decodes its input, calls one use case of the
// application layer (internal/app) and returns; the rules, including the
// whole send of a step, live there. The package does not import the store.
//
// Activities return plain coded errors (internal/errs). Whether Temporal
// retries one is decided in one place, Classify, which the worker installs
// as an interceptor: a bad input can never be retried forever because an
// activity forgot to wrap it.
package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/workflows"
)

// Activities carries the application the activities call. Build it once
// per worker.
type Activities struct {
	App *app.App
}

// counted gives a use case the activity's metrics handler (tagged with
// the activity and workflow types), when it runs in one.
func counted(ctx context.Context) context.Context {
	if activity.IsActivity(ctx) {
		return app.WithMetrics(ctx, activity.GetMetricsHandler(ctx))
	}
	return ctx
}

// RunStep is a whole step in one activity, so a step costs one activity
// start: eligibility, the message with its recommendations, the render,
// the send and the enrolment's progress; see app.RunStep.
func (a *Activities) RunStep(ctx context.Context, in workflows.RunStepInput) (workflows.StepOutcome, error) {
	return a.App.RunStep(counted(ctx), in)
}

// CheckEligibility decides, at send time, whether the customer may get
// this campaign's email; see app.Eligibility.
func (a *Activities) CheckEligibility(ctx context.Context, ref workflows.StepRef) (workflows.Eligibility, error) {
	el, _, err := a.App.Eligibility(ctx, ref.CustomerID, ref.CampaignID)
	return el, err
}

// Prepare creates the step's message with its recommendations; see
// app.PrepareStep.
func (a *Activities) Prepare(ctx context.Context, ref workflows.StepRef) (workflows.Prepared, error) {
	return a.App.PrepareStep(ctx, ref)
}

// Render renders the message into the database; see app.RenderMessage.
func (a *Activities) Render(ctx context.Context, ref workflows.MessageRef) error {
	return a.App.RenderMessage(ctx, ref.MessageID)
}

// Send hands the rendered message to the mailer, once; see
// app.SendMessage.
func (a *Activities) Send(ctx context.Context, in workflows.SendInput) (workflows.Sent, error) {
	return a.App.SendMessage(counted(ctx), in)
}

// EvaluatePurchase decides whether an order meets a goal and records the
// conversion; see app.EvaluatePurchase.
func (a *Activities) EvaluatePurchase(ctx context.Context, in workflows.PurchaseInput) (workflows.PurchaseResult, error) {
	return a.App.EvaluatePurchase(ctx, in)
}

// StartEnrollment records the enrollment; see app.StartEnrollment.
func (a *Activities) StartEnrollment(ctx context.Context, in workflows.StartEnrollmentInput) (workflows.Started, error) {
	return a.App.StartEnrollment(ctx, in)
}

// RecordProgress records the step an enrollment has reached.
func (a *Activities) RecordProgress(ctx context.Context, in workflows.ProgressInput) error {
	return a.App.RecordProgress(ctx, in)
}

// FinishEnrollment records how the enrollment ended.
func (a *Activities) FinishEnrollment(ctx context.Context, in workflows.FinishInput) error {
	return a.App.FinishEnrollment(ctx, in)
}
