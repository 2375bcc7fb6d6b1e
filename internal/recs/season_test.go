package recs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

func TestSeasonsWhereTheCustomerLives(t *testing.T) {
	t.Parallel()
	jan := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	jul := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		country string
		at      time.Time
		want    []string
	}{
		{"NO", jan, []string{"winter"}}, {"NO", jul, []string{"summer"}},
		{"AU", jan, []string{"summer"}}, {"AU", jul, []string{"winter"}},
		{"SG", jan, []string{"summer"}}, {"SG", jul, []string{"summer"}},
		{"DE", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), []string{"spring"}},
		{"NZ", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), []string{"autumn"}},
		{"US", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), []string{"winter"}},
		{"", jan, nil},
	} {
		t.Run(c.country+" in "+c.at.Month().String(), func(t *testing.T) {
			require.Equal(t, c.want, seasonsNow(c.country, c.at), "%s in %s", c.country, c.at.Month())
		})
	}
}

func TestNoWinterGearOutOfWinterOrInTheTropics(t *testing.T) {
	t.Parallel()
	st := catalogue()
	coat := models.Product{SKU: "coat", Name: "Down coat", Category: "outdoor", PriceMinor: 20000, InStock: true, Seasons: []string{"autumn", "winter"}}
	st.products["coat"] = coat
	cam := st.products["cam"]
	cam.Complements = []string{"coat", "lens"}
	st.products["cam"] = cam
	at := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	r := &Recommender{Store: st, Now: func() time.Time { return at }}
	spec := campaign.Recommend{Strategy: "complements", Limit: 2}
	recommend := func(country string) []string {
		res, err := r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}, Country: country})
		require.NoError(t, err)
		return res.SKUs()
	}
	require.Equal(t, []string{"coat", "lens"}, recommend("CA"), "January in Canada: winter")
	require.Equal(t, []string{"lens"}, recommend("AU"), "January in Australia: summer")
	require.Equal(t, []string{"lens"}, recommend("SG"), "never winter in Singapore")
	require.Equal(t, []string{"coat", "lens"}, recommend(""), "no country: no season to judge by")
	at = time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC)
	require.Equal(t, []string{"lens"}, recommend("CA"), "July in Canada: summer")
	require.Equal(t, []string{"coat", "lens"}, recommend("AU"), "July in Australia: winter")
}
