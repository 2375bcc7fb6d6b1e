package recs

import (
	"context"
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
	products map[string]models.Product
	info     Stats
	items    map[string]ItemStats
	pairs    map[string][]Neighbor
	similar  map[string][]Neighbor
	popular  map[string][]string // category ("" for all) -> best sellers of all time
	auto     Choice
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
func (f *fakeStore) Info(context.Context) (Stats, error) { return f.info, nil }
func (f *fakeStore) Items(_ context.Context, skus []string) (map[string]ItemStats, error) {
	out := map[string]ItemStats{}
	for _, s := range skus {
		if it, ok := f.items[s]; ok {
			out[s] = it
		}
	}
	return out, nil
}
func (f *fakeStore) Pairs(_ context.Context, skus []string) (map[string][]Neighbor, error) {
	return pick(f.pairs, skus), nil
}
func (f *fakeStore) Similar(_ context.Context, skus []string) (map[string][]Neighbor, error) {
	return pick(f.similar, skus), nil
}
func (f *fakeStore) Popular(_ context.Context, days int, category string, limit int) ([]Popular, bool, error) {
	if days != 0 {
		return nil, false, nil
	}
	var out []Popular
	for _, s := range f.popular[category] {
		out = append(out, Popular{SKU: s, Orders: 1})
	}
	return out[:min(limit, len(out))], true, nil
}
func (f *fakeStore) Auto(context.Context) (Choice, error) {
	if f.auto.Strategy == "" {
		return DefaultAuto, nil
	}
	return f.auto, nil
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
	st.items = map[string]ItemStats{"cam": {SKU: "cam", Orders: 100}, "tripod": {SKU: "tripod", Orders: 60}, "strap": {SKU: "strap", Orders: 30}}
	st.pairs = map[string][]Neighbor{"cam": {
		{SKU: "tripod", Count: 40, Score: shrunkConfidence(40, 100, 60, 800, 10)},
		{SKU: "strap", Count: 25, Score: shrunkConfidence(25, 100, 30, 800, 10)},
	}}
	st.info.Orders = 120
	res := recommend(t, st, campaign.Recommend{Strategy: "bought_together", Limit: 2}, nil, "US")
	require.Equal(t, campaign.Strategy("complements"), res.Strategy, "120 orders are too few")
	require.Contains(t, res.Note, "needs 500 orders of history, there are 120")
	require.Equal(t, []string{"lens", "bag"}, res.SKUs())

	st.info.Orders = 800
	res = recommend(t, st, campaign.Recommend{Strategy: "bought_together", Limit: 2}, nil, "US")
	require.Equal(t, campaign.Strategy("bought_together"), res.Strategy)
	require.Equal(t, []string{"tripod", "strap"}, res.SKUs())
	require.Equal(t, "bought with cam in 40 of its 100 orders (40%)", res.Picks[0].Reason)
	require.Empty(t, res.Note)

	// A third slot the pairs cannot fill is topped up with a best
	// seller, which says so; the strategy still answered.
	res = recommend(t, st, campaign.Recommend{Strategy: "bought_together", Limit: 3}, nil, "US")
	require.Equal(t, []string{"tripod", "strap", "drone"}, res.SKUs())
	require.Equal(t, "a best seller", res.Picks[2].Reason)
	require.Equal(t, campaign.Strategy("bought_together"), res.Strategy)
}

// A rare partner seen in one order does not outrank a common one: the
// confidence of a pair is shrunk toward the partner's popularity, so
// with little evidence the ranking is the best sellers'.
func TestBoughtTogetherDoesNotFavourRarePairs(t *testing.T) {
	t.Parallel()
	const orders = 10000
	// bag: 1 of cam's 2,000 orders, but bags sell in 20 orders overall
	// (lift 0.25 · 5 = high). tripod: 600 of cam's 2,000 (30 %).
	rare := shrunkConfidence(1, 2000, 20, orders, 10)
	common := shrunkConfidence(600, 2000, 3000, orders, 10)
	require.Greater(t, common, rare)
	// With no evidence at all the score is the partner's popularity.
	require.InDelta(t, 0.3, shrunkConfidence(0, 0, 3000, orders, 10), 1e-9)
	// With much evidence it is the pair's confidence.
	require.InDelta(t, 0.3, shrunkConfidence(30000, 100000, 10, orders, 10), 1e-3)
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
	st.similar = map[string][]Neighbor{"cam": {{SKU: "tripod", Count: 420, Score: 0.61}, {SKU: "bag", Count: 90, Score: 0.2}},
		"bag": {{SKU: "strap", Count: 80, Score: 0.5}}}
	st.items = map[string]ItemStats{"cam": {SKU: "cam", Orders: 100}, "lens": {SKU: "lens", Orders: 50}}
	st.pairs = map[string][]Neighbor{"cam": {{SKU: "lens", Count: 40, Score: 0.4}}}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	r := &Recommender{Store: st, MinCustomers: 1000, MinOrders: 500, Now: func() time.Time { return now }}
	spec := campaign.Recommend{Strategy: "similar_customers", Limit: 1}

	st.info.Customers, st.info.Orders = 1000, 5000
	res, err := r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("similar_customers"), res.Strategy)
	require.Equal(t, []string{"tripod"}, res.SKUs(), "the highest weight first")
	require.Equal(t, "customers who bought cam also bought it (420 of them)", res.Picks[0].Reason)
	require.Empty(t, res.Note)

	// What the customer owns counts too: the bag they have points at
	// the strap (0.5), above anything the camera points at but the tripod.
	res, err = r.Recommend(context.Background(), Request{Spec: campaign.Recommend{Strategy: "similar_customers", Limit: 2}, Trigger: []string{"cam"}, Owned: map[string]bool{"bag": true}})
	require.NoError(t, err)
	require.Equal(t, []string{"tripod", "strap"}, res.SKUs())

	// The model's stats are not read on every send: a change shows after cacheTTL.
	st.info.Customers = 999
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("similar_customers"), res.Strategy, "read a moment ago")
	now = now.Add(cacheTTL)

	// One customer short: bought_together, which has its own threshold.
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("bought_together"), res.Strategy)
	require.Equal(t, []string{"lens"}, res.SKUs())
	require.Contains(t, res.Note, "similar_customers needs 1000 customers with orders, there are 999")

	// Little history of any kind: down to the manual complements.
	st.info.Orders = 10
	now = now.Add(cacheTTL)
	res, err = r.Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.Strategy("complements"), res.Strategy)
	require.Equal(t, "similar_customers needs 1000 customers with orders, there are 999 (LIFT_RECS_MIN_CUSTOMERS): used bought_together; bought_together needs 500 orders of history, there are 10 (LIFT_RECS_MIN_ORDERS): used complements", res.Note)

	// The thresholds are settings (config.Load holds their defaults):
	// without one, any history is enough.
	st.info.Customers, st.info.Orders = 9999, 5000
	res, err = (&Recommender{Store: st}).Recommend(context.Background(), Request{Spec: spec, Trigger: []string{"cam"}})
	require.NoError(t, err)
	require.Equal(t, campaign.StrategySimilarCustomers, res.Strategy)
}

// auto stands for the strategy the last rebuild's evaluation chose, and
// the result says so.
func TestAutoUsesTheEvaluatedChoice(t *testing.T) {
	t.Parallel()
	st := catalogue()
	st.info.Orders = 800
	res := recommend(t, st, campaign.Recommend{Strategy: campaign.StrategyAuto, Limit: 2}, nil, "US")
	require.NotNil(t, res.Auto)
	require.Equal(t, DefaultAuto, *res.Auto, "before any evaluation: bought_together, saying why")
	st.auto = Choice{Strategy: campaign.StrategyComplements, Reason: "complements scored best"}
	res = recommend(t, st, campaign.Recommend{Strategy: campaign.StrategyAuto, Limit: 2}, nil, "US")
	require.Equal(t, campaign.StrategyComplements, res.Strategy)
	require.Equal(t, "complements scored best", res.Auto.Reason)
	require.Equal(t, []string{"lens", "bag"}, res.SKUs())
}
