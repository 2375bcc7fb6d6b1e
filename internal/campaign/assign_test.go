package campaign

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAssignmentFollowsTheWeightsOver100000Customers(t *testing.T) {
	const n = 100000
	counts := map[string]int{}
	variants := []Weighted{{"A", 70}, {"B", 30}}
	for i := 0; i < n; i++ {
		counts[Assign(fmt.Sprint("c-", i), "camera", "subject-test", 10, variants)]++
	}
	// 10 % held out, the other 90 % split 70/30. The tolerance is five
	// standard deviations of a binomial at n = 100,000 (at most 0.8 %).
	for v, want := range map[string]float64{VariantHoldout: 0.10, "A": 0.63, "B": 0.27} {
		got := float64(counts[v]) / n
		require.InDelta(t, want, got, 0.008, "variant %s: %.4f", v, got)
	}
}

func TestAssignmentIsStickyAndHoldoutGrowsOnlyFromTheVariants(t *testing.T) {
	variants := []Weighted{{"A", 1}, {"B", 1}}
	for i := 0; i < 2000; i++ {
		c := fmt.Sprint("c-", i)
		first := Assign(c, "camera", "x", 10, variants)
		require.Equal(t, first, Assign(c, "camera", "x", 10, variants), "same inputs, same variant: retries and replays agree")
		if first == VariantHoldout {
			require.Equal(t, VariantHoldout, Assign(c, "camera", "x", 20, variants), "a bigger holdout keeps everyone already held out")
		} else if wider := Assign(c, "camera", "x", 20, variants); wider != VariantHoldout {
			require.Equal(t, first, wider, "customers not moved into the holdout keep their variant")
		}
	}
	require.Equal(t, "A", Assign("c-1", "camera", "", 0, nil), "no experiment: everyone gets A")
	held := 0
	for i := 0; i < 1000; i++ {
		if Assign(fmt.Sprint("c-", i), "camera", "x", 0, variants) == VariantHoldout {
			held++
		}
	}
	require.Zero(t, held, "no holdout share, nobody held out")
}
