package recs

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// fakeStore is a hand-made catalogue and history where the right answer
// is known.
type fakeStore struct {
	products   map[string]models.Product
	orders     int64
	affinities []models.Affinity
	popular    map[string][]string // category ("" for all) -> best sellers
	buyers     int64
	similar    []models.ItemSimilarity
}

func (f *fakeStore) CountBuyers(context.Context) (int64, error) { return f.buyers, nil }
func (f *fakeStore) Similar(_ context.Context, skus []string, _ int) ([]models.ItemSimilarity, error) {
	var out []models.ItemSimilarity
	for _, x := range f.similar {
		if slices.Contains(skus, x.SKUA) {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeStore) GetProducts(_ context.Context, skus []string) (map[string]models.Product, error) {
	out := map[string]models.Product{}
	for _, s := range skus {
		if p, ok := f.products[s]; ok {
			out[s] = p
		}
	}
	return out, nil
}
func (f *fakeStore) CountOrders(context.Context) (int64, error) { return f.orders, nil }
func (f *fakeStore) Affinities(_ context.Context, skus []string, limit int) ([]models.Affinity, error) {
	var out []models.Affinity
	for _, a := range f.affinities {
		for _, s := range skus {
			if a.SKUA == s {
				out = append(out, a)
			}
		}
	}
	return out, nil
}
func (f *fakeStore) PopularInCategory(_ context.Context, cats []string, _ time.Time, _ int) ([]string, error) {
	if len(cats) == 0 {
		return f.popular[""], nil
	}
	var out []string
	for _, c := range cats {
		out = append(out, f.popular[c]...)
	}
	return out, nil
}

func (f *fakeStore) Ladder(_ context.Context, category string) ([]models.Product, error) {
	var out []models.Product
	for _, p := range f.products {
		if p.Category == category && p.TierRank > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TierRank < out[j].TierRank })
	return out, nil
}

func catalogue() *fakeStore {
	p := func(sku, cat string, price int64, stock bool, comps ...string) models.Product {
		return models.Product{SKU: sku, Name: sku, Category: cat, PriceMinor: price, InStock: stock, Complements: comps}
	}
	products := map[string]models.Product{}
	for _, pr := range []models.Product{
		p("cam", "cameras", 90000, true, "card", "lens", "bag", "tripod"),
		p("lens", "lenses", 28000, true), p("card", "storage", 5000, false), p("bag", "bags", 9000, true),
		p("tripod", "tripods", 13000, true), p("drone", "drones", 400000, true), p("parka", "outdoor", 30000, true),
		p("strap", "bags", 2000, true),
	} {
		products[pr.SKU] = pr
	}
	parka := products["parka"]
	parka.Regions = []string{"NO", "SE", "FI"}
	products["parka"] = parka
	return &fakeStore{products: products, popular: map[string][]string{
		"cameras": {"cam"}, "": {"cam", "drone", "strap", "lens"},
	}}
}

func recommend(t *testing.T, st *fakeStore, spec campaign.Recommend, owned map[string]bool, country string) Result {
	t.Helper()
	r := &Recommender{Store: st, MinOrders: 500}
	res, err := r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}, Owned: owned, Country: country})
	require.NoError(t, err)
	return res
}

func TestComplementsKeepRuleOrderAndSkipWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	res := recommend(t, catalogue(), campaign.Recommend{Strategy: "complements", Limit: 2}, map[string]bool{"bag": true}, "US")
	require.Equal(t, []string{"lens", "tripod"}, res.SKUs(), "card is out of stock, bag is owned")
	require.Equal(t, "goes with your cam", res.Picks[0].Reason)
	require.Equal(t, campaign.Strategy("complements"), res.Strategy)
	require.Empty(t, res.Note)
}

func TestBoughtTogetherNeedsEnoughHistory(t *testing.T) {
	t.Parallel()
	st := catalogue()
	st.affinities = []models.Affinity{
		{SKUA: "cam", SKUB: "tripod", Orders: 40, Confidence: 0.4, Lift: 3.1},
		{SKUA: "cam", SKUB: "strap", Orders: 25, Confidence: 0.25, Lift: 2.0},
	}
	st.orders = 120
	res := recommend(t, st, campaign.Recommend{Strategy: "bought_together", Limit: 2}, nil, "US")
	require.Equal(t, campaign.Strategy("complements"), res.Strategy, "120 orders are too few")
	require.Contains(t, res.Note, "needs 500 orders of history, there are 120")
	require.Equal(t, []string{"lens", "bag"}, res.SKUs())

	st.orders = 800
	res = recommend(t, st, campaign.Recommend{Strategy: "bought_together", Limit: 2}, nil, "US")
	require.Equal(t, campaign.Strategy("bought_together"), res.Strategy)
	require.Equal(t, []string{"tripod", "strap"}, res.SKUs())
	require.Equal(t, "40% of customers who bought cam also bought it (lift 3.1)", res.Picks[0].Reason)
}

func TestPopularInCategoryIsTheLastResort(t *testing.T) {
	t.Parallel()
	owned := map[string]bool{"lens": true, "bag": true, "tripod": true}
	res := recommend(t, catalogue(), campaign.Recommend{Strategy: "complements", Limit: 3}, owned, "US")
	require.Equal(t, campaign.Strategy("popular_in_category"), res.Strategy)
	require.Contains(t, res.Note, "complements found nothing suitable")
	// Cameras' best seller is the trigger itself: the fallback widens to
	// every category, and never recommends the camera just bought.
	require.Equal(t, []string{"drone", "strap"}, res.SKUs())
}

func TestFiltersPinsBlocksRegionsAndPriceBand(t *testing.T) {
	t.Parallel()
	st := catalogue()
	cam := st.products["cam"]
	cam.Complements = []string{"parka", "drone", "lens", "strap"}
	st.products["cam"] = cam

	res := recommend(t, st, campaign.Recommend{Strategy: "complements", Limit: 3, MaxPriceRatio: 2}, nil, "US")
	require.Equal(t, []string{"lens", "strap"}, res.SKUs(), "the parka is for the Nordics; the drone is over twice the camera's price")

	res = recommend(t, st, campaign.Recommend{Strategy: "complements", Limit: 3, MaxPriceRatio: 2}, nil, "NO")
	require.Equal(t, []string{"parka", "lens", "strap"}, res.SKUs())

	res = recommend(t, st, campaign.Recommend{Strategy: "complements", Limit: 2, Pin: []string{"tripod", "card"}, Block: []string{"lens"}}, nil, "US")
	require.Equal(t, []string{"tripod", "drone"}, res.SKUs(), "the pinned tripod first; the pinned card is out of stock; lens blocked; parka not for the US")
	require.Equal(t, "chosen by the marketer", res.Picks[0].Reason)
}

func TestNextTierIsTheNextPlanUpTheLadder(t *testing.T) {
	t.Parallel()
	st := catalogue()
	for i, name := range []string{"starter", "pro", "business", "enterprise"} {
		st.products["plan-"+name] = models.Product{SKU: "plan-" + name, Name: name, Category: "plans", TierRank: i + 1, InStock: true}
	}
	r := &Recommender{Store: st}
	spec := campaign.Recommend{Strategy: "next_tier", Limit: 1}

	// The usage event is about the starter plan.
	res, err := r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"plan-starter"}, Owned: map[string]bool{"plan-starter": true}})
	require.NoError(t, err)
	require.Equal(t, []string{"plan-pro"}, res.SKUs())
	require.Equal(t, "the next plan up from your starter", res.Picks[0].Reason)

	// The customer's recorded tier wins over the trigger.
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"plan-starter"}, Tier: "plan-business"})
	require.NoError(t, err)
	require.Equal(t, []string{"plan-enterprise"}, res.SKUs())

	// At the top of the ladder there is no next tier, and no fallback to
	// best sellers either: in a plan category those are lower plans.
	st.popular["plans"] = []string{"plan-starter", "plan-pro"}
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Tier: "plan-enterprise", Trigger: []string{"plan-enterprise"}})
	require.NoError(t, err)
	require.Empty(t, res.Picks)
	require.Equal(t, campaign.Strategy("next_tier"), res.Strategy)
	require.Contains(t, res.Note, "no plan above the customer's")

	// A pinned plan is still an upsell only if it is above the customer's.
	pinned := campaign.Recommend{Strategy: "next_tier", Limit: 2, Pin: []string{"plan-starter", "plan-enterprise"}}
	res, err = r.Recommend(context.Background(), Request{Spec: pinned, Tier: "plan-pro"})
	require.NoError(t, err)
	require.Equal(t, []string{"plan-enterprise", "plan-business"}, res.SKUs(), "never the starter plan to a pro customer")

	// Not on a ladder at all: nothing to upsell, and the note says why.
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Empty(t, res.Picks)
	require.Contains(t, res.Note, "on no plan ladder")
}

func TestSimilarCustomersNeedsEnoughBuyersThenFallsBackInOrder(t *testing.T) {
	t.Parallel()
	st := catalogue()
	st.similar = []models.ItemSimilarity{{SKUA: "cam", SKUB: "tripod", Customers: 420, Score: 0.61}, {SKUA: "cam", SKUB: "bag", Customers: 90, Score: 0.2}}
	st.affinities = []models.Affinity{{SKUA: "cam", SKUB: "lens", Orders: 40, Confidence: 0.4, Lift: 2}}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	r := &Recommender{Store: st, MinCustomers: 1000, MinOrders: 500, Now: func() time.Time { return now }}
	spec := campaign.Recommend{Strategy: "similar_customers", Limit: 1}

	st.buyers, st.orders = 1000, 5000
	res, err := r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("similar_customers"), res.Strategy)
	require.Equal(t, []string{"tripod"}, res.SKUs(), "the most similar buyers first")
	require.Equal(t, "customers who bought cam also bought it (420 of them, similarity 0.61)", res.Picks[0].Reason)
	require.Empty(t, res.Note)

	// The counts are not taken on every send: a change shows after countTTL.
	st.buyers = 999
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("similar_customers"), res.Strategy, "counted a moment ago")
	now = now.Add(countTTL)

	// One customer short: bought_together, which has its own threshold.
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("bought_together"), res.Strategy)
	require.Equal(t, []string{"lens"}, res.SKUs())
	require.Contains(t, res.Note, "similar_customers needs 1000 customers with orders, there are 999")

	// Little history of any kind: down to the manual complements.
	st.orders = 10
	now = now.Add(countTTL)
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("complements"), res.Strategy)
	require.Equal(t, "similar_customers needs 1000 customers with orders, there are 999: used bought_together; bought_together needs 500 orders of history, there are 10: used complements", res.Note)

	// The thresholds are settings (config.Load holds their defaults):
	// without one, any history is enough.
	st.buyers, st.orders = 9999, 5000
	res, err = (&Recommender{Store: st}).Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.StrategySimilarCustomers, res.Strategy)
}
