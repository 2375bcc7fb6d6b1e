package recs

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// History is a generated purchase history with known structure: products
// come in families (a camera, its lenses, bags and cards), and customers
// mostly buy within a family over several orders, with some noise. Each
// customer's last order is held out for evaluation.
type History struct {
	Products []models.Product
	Orders   []models.Order // training orders, oldest first
	Holdout  map[string]models.Order
	Last     map[string]models.Order // each customer's last training order: the trigger
}

// Generate builds a history. The same seed gives the same history.
func Generate(customers, families, perFamily int, seed uint64) History {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := History{Holdout: map[string]models.Order{}, Last: map[string]models.Order{}}
	sku := func(f, i int) string { return fmt.Sprintf("f%03d-%02d", f, i) }
	for f := 0; f < families; f++ {
		for i := 0; i < perFamily; i++ {
			p := models.Product{SKU: sku(f, i), Name: sku(f, i), Category: fmt.Sprintf("cat%02d", f%8),
				PriceMinor: int64(1000 + 500*i), Currency: "USD", InStock: true}
			// Curated rules know two complements of each product: its
			// family's first members (what a merchandiser would pick).
			for j := 0; j < perFamily && len(p.Complements) < 2; j++ {
				if j != i {
					p.Complements = append(p.Complements, sku(f, j))
				}
			}
			h.Products = append(h.Products, p)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := 0; c < customers; c++ {
		cust := fmt.Sprintf("c%05d", c)
		// Popular families are bought more often (a skewed catalogue).
		family := int(float64(families) * rng.Float64() * rng.Float64())
		n := 2 + rng.IntN(4)
		var orders []models.Order
		for o := 0; o < n; o++ {
			order := models.Order{ID: fmt.Sprintf("%s-o%d", cust, o), CustomerID: cust, Currency: "USD",
				OccurredAt: t0.Add(time.Duration(c*10+o) * time.Hour)}
			seen := map[string]bool{}
			for k := 0; k < 1+rng.IntN(3); k++ {
				f := family
				if rng.Float64() < 0.2 { // noise: something from anywhere
					f = rng.IntN(families)
				}
				s := sku(f, rng.IntN(perFamily))
				if !seen[s] {
					seen[s] = true
					order.Items = append(order.Items, models.OrderItem{SKU: s, Quantity: 1, PriceMinor: 1000})
				}
			}
			orders = append(orders, order)
		}
		h.Orders = append(h.Orders, orders[:n-1]...)
		h.Last[cust], h.Holdout[cust] = orders[n-2], orders[n-1]
	}
	return h
}

// EvalStore is what an evaluation needs: the recommender's store plus
// loading the history and building affinities.
type EvalStore interface {
	Store
	UpsertProduct(ctx context.Context, p *models.Product) error
	RecordEvent(ctx context.Context, e *models.Event, o *models.Order) error
	RebuildRecommendations(ctx context.Context, minSupport int) (affinities, similarities int64, err error)
}

// Score is one strategy's result: hit rate at 3 over the held-out orders.
type Score struct {
	Strategy campaign.Strategy
	Hits     int
	Total    int
	Fallback int // recommendations that fell back to another strategy
}

// HitRate is hits over total.
func (s Score) HitRate() float64 {
	if s.Total == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Total)
}

// Evaluate loads a history's training orders into st and measures, for
// each strategy, how often one of 3 recommendations (made from the
// customer's last training order, leaving out what they own) is in their
// held-out order. popular_in_category is the baseline.
func Evaluate(ctx context.Context, st EvalStore, h History, minOrders, minCustomers int64, minSupport int) ([]Score, error) {
	for i := range h.Products {
		if err := st.UpsertProduct(ctx, &h.Products[i]); err != nil {
			return nil, err
		}
	}
	owned := map[string]map[string]bool{}
	for i := range h.Orders {
		o := h.Orders[i]
		if err := st.RecordEvent(ctx, &models.Event{ID: "ev-" + o.ID, Type: "purchase", CustomerID: o.CustomerID, OccurredAt: o.OccurredAt}, &o); err != nil {
			return nil, err
		}
		if owned[o.CustomerID] == nil {
			owned[o.CustomerID] = map[string]bool{}
		}
		for _, it := range o.Items {
			owned[o.CustomerID][it.SKU] = true
		}
	}
	if _, _, err := st.RebuildRecommendations(ctx, minSupport); err != nil {
		return nil, err
	}
	customers := make([]string, 0, len(h.Holdout))
	for c := range h.Holdout {
		customers = append(customers, c)
	}
	sort.Strings(customers)
	r := &Recommender{Store: st, MinOrders: minOrders, MinCustomers: minCustomers, PopularWindow: 10 * 365 * 24 * time.Hour,
		Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}
	var scores []Score
	for _, strategy := range []campaign.Strategy{campaign.StrategyPopularInCategory, campaign.StrategyComplements, campaign.StrategyBoughtTogether, campaign.StrategySimilarCustomers} {
		sc := Score{Strategy: strategy}
		for _, c := range customers {
			var trigger []string
			for _, it := range h.Last[c].Items {
				trigger = append(trigger, it.SKU)
			}
			res, err := r.Recommend(ctx, Request{Spec: campaign.Recommend{Strategy: strategy, Limit: 3}, Trigger: trigger, Owned: owned[c]})
			if err != nil {
				return nil, err
			}
			if res.Strategy != strategy {
				sc.Fallback++
			}
			held := map[string]bool{}
			for _, it := range h.Holdout[c].Items {
				held[it.SKU] = true
			}
			sc.Total++
			for _, p := range res.Picks {
				if held[p.SKU] {
					sc.Hits++
					break
				}
			}
		}
		scores = append(scores, sc)
	}
	return scores, nil
}

// WriteReport prints the scores as a table, each against the baseline.
func WriteReport(w io.Writer, scores []Score) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "strategy\thit-rate@3\thits/customers\tvs popular_in_category\tfell back")
	base := scores[0].HitRate()
	for _, s := range scores {
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", s.HitRate()/base)
		}
		fmt.Fprintf(tw, "%s\t%.1f%%\t%d/%d\t%s\t%d\n", s.Strategy, 100*s.HitRate(), s.Hits, s.Total, ratio, s.Fallback)
	}
	tw.Flush()
}
