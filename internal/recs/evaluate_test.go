package recs_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/testdb"
)

// On a history where customers buy within product families, affinity
// learned from co-purchases must beat best sellers. (Two curated rules per
// product, often already owned, need not: the report shows how they do.)
func TestEvaluationRanksStrategiesOnAKnownHistory(t *testing.T) {
	t.Parallel()
	h := recs.Generate(400, 20, 6, 7)
	scores, err := recs.Evaluate(context.Background(), testdb.SQLite(t), h, 100, 100, 3)
	require.NoError(t, err)
	require.Len(t, scores, 4)
	popular, together := scores[0], scores[2]
	require.Equal(t, campaign.StrategyPopularInCategory, popular.Strategy)
	require.Equal(t, 400, popular.Total)
	require.Greater(t, together.HitRate(), popular.HitRate(), "co-purchases know the families")
	require.Equal(t, campaign.StrategySimilarCustomers, scores[3].Strategy)
	require.Greater(t, scores[3].HitRate(), popular.HitRate(), "so do customers' purchases across orders")
	var out bytes.Buffer
	recs.WriteReport(&out, scores)
	require.Contains(t, out.String(), "hit-rate@3")
	t.Log("\n" + out.String())
}
