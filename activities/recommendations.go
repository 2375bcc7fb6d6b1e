package activities

import "context"

// RebuildAffinities recomputes bought_together's affinity table and
// similar_customers' item similarities (both off the send path). It
// returns the number of affinity pairs.
func (a *Activities) RebuildAffinities(ctx context.Context, minSupport int) (int64, error) {
	n, _, err := a.Store.RebuildRecommendations(ctx, minSupport)
	return n, err
}
