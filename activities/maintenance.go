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
	st, err := a.App.RebuildRecommendations(ctx)
	if err != nil || st.Model == nil {
		return 0, err
	}
	return st.Model.Pairs, nil
}

// PurgeExpired deletes what has outlived its retention; see app.Purge.
func (a *Activities) PurgeExpired(ctx context.Context) (workflows.Purged, error) {
	return a.App.Purge(ctx)
}
