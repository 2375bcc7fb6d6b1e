package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// RebuildAffinities rebuilds the recommendation model (see
// app.RebuildRecommendations; the configured minimum support applies,
// the argument is kept for the workflow's recorded shape). It returns
// bought_together's pair count.
func (a *Activities) RebuildAffinities(ctx context.Context, _ int) (int64, error) {
	return a.App.RebuildAffinitiesPairs(ctx)
}

// PurgeExpired deletes what has outlived its retention; see app.Purge.
func (a *Activities) PurgeExpired(ctx context.Context) (workflows.Purged, error) {
	return a.App.Purge(ctx)
}
