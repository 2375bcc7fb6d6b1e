package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/workflows"
)

// CheckExperiments looks at every running experiment once and returns
// every promotion whose move of running enrolments is still pending; see
// app.CheckExperiments.
func (a *Activities) CheckExperiments(ctx context.Context) ([]workflows.Promotion, error) {
	return a.App.CheckExperiments(ctx, func(done int) { activity.RecordHeartbeat(ctx, done) })
}

// MoveToWinner signals the campaign's running enrolments to switch to the
// winner at their next step boundary (see app.MoveRunning). It heartbeats
// its position, so a retry resumes where the last attempt stopped.
func (a *Activities) MoveToWinner(ctx context.Context, p workflows.Promotion) (int, error) {
	var pos app.MovePosition
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &pos) // a position that does not decode starts over: moving again is harmless
	}
	return a.App.MoveRunning(ctx, p, pos, func(pos app.MovePosition) { activity.RecordHeartbeat(ctx, pos) })
}

// MoveToVersion signals the campaign's running enrolments on older
// versions to follow the published version at their next step boundary
// (see app.MoveToVersion), heartbeating its position like MoveToWinner.
func (a *Activities) MoveToVersion(ctx context.Context, m workflows.VersionMove) (int, error) {
	var pos app.MovePosition
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &pos)
	}
	return a.App.MoveToVersion(ctx, m, pos, func(pos app.MovePosition) { activity.RecordHeartbeat(ctx, pos) })
}
