package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// EvaluateBranch decides a flow's branch by the enrolment's facts now;
// see app.EvaluateBranch.
func (a *Activities) EvaluateBranch(ctx context.Context, ref workflows.StepRef) (workflows.BranchOutcome, error) {
	return a.App.EvaluateBranch(ctx, ref)
}

// CallWebhook delivers a flow's webhook step, at most once; see
// app.CallWebhook. A destination that does not answer, or answers 408,
// 429 or 5xx, is retried by the workflow's policy (up to 24 hours); any
// other refusal is permanent (Classify).
func (a *Activities) CallWebhook(ctx context.Context, in workflows.WebhookInput) (workflows.WebhookOutcome, error) {
	return a.App.CallWebhook(ctx, in)
}
