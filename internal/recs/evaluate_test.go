package recs_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/recs"
)

// On a history where customers buy within product families, what is
// learned from co-purchases and from customers' purchases must beat
// best sellers at predicting the next order.
func TestEvaluationRanksStrategiesOnAKnownHistory(t *testing.T) {
	t.Parallel()
	h := recs.Generate(2000, 40, 6, 1)
	cat, cats := h.Catalogue()
	rep, err := recs.EvaluateOrders(context.Background(), h.Orders, cat, cats,
		recs.EvalOptions{Model: recs.ModelOptions{MinSupport: 3}, MinOrders: 500, MinCustomers: 1000})
	require.NoError(t, err)
	var out bytes.Buffer
	recs.WriteReport(&out, rep)
	t.Log("\n" + out.String())
	next := rep.Protocols[0]
	require.Equal(t, recs.ProtocolNextOrder, next.Name)
	require.Greater(t, next.Cases, 300)
	hit := map[string]float64{}
	for _, s := range append(next.Strategies, next.Baselines...) {
		hit[s.Name] = s.HitRate3()
	}
	require.Greater(t, hit["bought_together"], 1.3*hit[recs.BaselineAllTime], "co-purchases know the families")
	require.Greater(t, hit["similar_customers"], 1.3*hit[recs.BaselineAllTime], "so do customers' purchases across orders")
}
