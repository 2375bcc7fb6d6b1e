package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// RebuildAffinities recomputes bought_together's affinity table and
// similar_customers' item similarities (both off the send path). It
// returns the number of affinity pairs.
func (a *Activities) RebuildAffinities(ctx context.Context, minSupport int) (int64, error) {
	n, _, err := a.Store.RebuildRecommendations(ctx, minSupport)
	return n, err
}

// PurgeExpired deletes what has outlived its retention; see app.Purge.
func (a *Activities) PurgeExpired(ctx context.Context) (workflows.Purged, error) {
	return a.App.Purge(ctx)
}
