// Package recs chooses the products an email recommends. Each strategy
// produces ranked candidates with the reason each was chosen; one filter
// pipeline then applies to all of them: pins and blocks, nothing the
// customer owns, nothing out of stock or unknown, not the trigger product,
// nothing unsuited to the customer's region, nothing far above the
// trigger's price. A strategy that cannot apply falls back, and
// popular_in_category is the last resort.
package recs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// Store is what the recommender reads.
type Store interface {
	GetProducts(ctx context.Context, skus []string) (map[string]models.Product, error)
	CountOrders(ctx context.Context) (int64, error)
	Affinities(ctx context.Context, skus []string, limit int) ([]models.Affinity, error)
	PopularInCategory(ctx context.Context, categories []string, since time.Time, limit int) ([]string, error)
	Ladder(ctx context.Context, category string) ([]models.Product, error)
	CountBuyers(ctx context.Context) (int64, error)
	Similar(ctx context.Context, skus []string, limit int) ([]models.ItemSimilarity, error)
}

// Recommender applies the strategies.
type Recommender struct {
	Store Store
	// MinOrders is the order history bought_together needs; with less it
	// falls back to complements (LIFT_RECS_MIN_ORDERS).
	MinOrders int64
	// MinCustomers is the number of buyers similar_customers needs; with
	// fewer it falls back to bought_together (LIFT_RECS_MIN_CUSTOMERS).
	MinCustomers int64
	// PopularWindow is how far back popular_in_category counts (default 90 days).
	PopularWindow time.Duration
	Now           func() time.Time

	// The history sizes that switch strategies are counted at most once
	// per countTTL, not on every send: they move slowly.
	mu     sync.Mutex
	counts map[string]counted
}

type counted struct {
	n  int64
	at time.Time
}

const countTTL = 10 * time.Minute

// count returns a history size, counting again when the last count is
// older than countTTL.
func (r *Recommender) count(ctx context.Context, name string, fn func(context.Context) (int64, error)) (int64, error) {
	now := r.now()
	r.mu.Lock()
	c, ok := r.counts[name]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < countTTL {
		return c.n, nil
	}
	n, err := fn(ctx)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	if r.counts == nil {
		r.counts = map[string]counted{}
	}
	r.counts[name] = counted{n: n, at: now}
	r.mu.Unlock()
	return n, nil
}

// Request is one step's ask.
type Request struct {
	Spec    campaign.Recommend
	Trigger []string        // the products the sequence is about
	Owned   map[string]bool // everything the customer has bought, fetched now
	Country string          // the customer's, for regional products
	Tier    string          // the customer's current plan (a product SKU), for next_tier
}

// Pick is one recommended product and why it was chosen.
type Pick struct {
	SKU    string `json:"sku"`
	Reason string `json:"reason"`
}

// Result is a recommendation: the picks, the strategy that produced them,
// and a note when it fell back.
type Result struct {
	Picks    []Pick            `json:"picks"`
	Strategy campaign.Strategy `json:"strategy"`
	Note     string            `json:"note,omitempty"`
}

// SKUs lists the picks' SKUs.
func (r Result) SKUs() []string {
	out := make([]string, len(r.Picks))
	for i, p := range r.Picks {
		out[i] = p.SKU
	}
	return out
}

const candidatePool = 50

// Recommend chooses up to the step's limit of products.
func (r *Recommender) Recommend(ctx context.Context, req Request) (Result, error) {
	triggers, err := r.Store.GetProducts(ctx, req.Trigger)
	if err != nil {
		return Result{}, err
	}
	strategy := req.Spec.Strategy
	var note string
	if strategy == campaign.StrategySimilarCustomers {
		n, err := r.count(ctx, "buyers", r.Store.CountBuyers)
		if err != nil {
			return Result{}, err
		}
		if min := r.MinCustomers; n < min {
			strategy, note = campaign.StrategyBoughtTogether, fmt.Sprintf("similar_customers needs %d customers with orders, there are %d: used bought_together", min, n)
		}
	}
	if strategy == campaign.StrategyBoughtTogether {
		n, err := r.count(ctx, "orders", r.Store.CountOrders)
		if err != nil {
			return Result{}, err
		}
		if min := r.MinOrders; n < min {
			strategy, note = campaign.StrategyComplements, joinNote(note, fmt.Sprintf("bought_together needs %d orders of history, there are %d: used complements", min, n))
		}
	}
	var allow func(models.Product) bool
	var cands []Pick
	if strategy == campaign.StrategyNextTier {
		current, ok, err := r.currentTier(ctx, req, triggers)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{Strategy: strategy, Note: "the customer is on no plan ladder: nothing to upsell"}, nil
		}
		// Pins too: an upsell must never suggest a downgrade.
		allow = func(p models.Product) bool { return p.Category == current.Category && p.TierRank > current.TierRank }
		if cands, err = r.ladderAbove(ctx, current); err != nil {
			return Result{}, err
		}
	} else if cands, err = r.candidates(ctx, strategy, req, triggers); err != nil {
		return Result{}, err
	}
	picks, err := r.filter(ctx, req, triggers, cands, allow)
	if err != nil {
		return Result{}, err
	}
	if len(picks) == 0 && strategy == campaign.StrategyNextTier {
		// No fallback: best sellers in a plan category are other plans,
		// lower ones included.
		return Result{Strategy: strategy, Note: "no plan above the customer's: nothing to upsell"}, nil
	}
	if len(picks) == 0 && strategy != campaign.StrategyPopularInCategory {
		note = joinNote(note, fmt.Sprintf("%s found nothing suitable: used popular_in_category", strategy))
		strategy = campaign.StrategyPopularInCategory
		if cands, err = r.candidates(ctx, strategy, req, triggers); err != nil {
			return Result{}, err
		}
		if picks, err = r.filter(ctx, req, triggers, cands, nil); err != nil {
			return Result{}, err
		}
	}
	return Result{Picks: picks, Strategy: strategy, Note: note}, nil
}

// candidates lists a strategy's ranked candidates with reasons.
func (r *Recommender) candidates(ctx context.Context, strategy campaign.Strategy, req Request, triggers map[string]models.Product) ([]Pick, error) {
	var out []Pick
	name := func(sku string) string {
		if p, ok := triggers[sku]; ok && p.Name != "" {
			return p.Name
		}
		return sku
	}
	switch strategy {
	case campaign.StrategyComplements:
		for _, t := range req.Trigger {
			for _, c := range triggers[t].Complements {
				out = append(out, Pick{SKU: c, Reason: "goes with your " + name(t)})
			}
		}
	case campaign.StrategyBoughtTogether:
		as, err := r.Store.Affinities(ctx, req.Trigger, candidatePool)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			out = append(out, Pick{SKU: a.SKUB, Reason: fmt.Sprintf("%.0f%% of customers who bought %s also bought it (lift %.1f)",
				100*a.Confidence, name(a.SKUA), a.Lift)})
		}
	case campaign.StrategySimilarCustomers:
		sims, err := r.Store.Similar(ctx, req.Trigger, candidatePool)
		if err != nil {
			return nil, err
		}
		for _, s := range sims {
			out = append(out, Pick{SKU: s.SKUB, Reason: fmt.Sprintf("customers who bought %s also bought it (%d of them, similarity %.2f)",
				name(s.SKUA), s.Customers, s.Score)})
		}
	case campaign.StrategyPopularInCategory:
		var cats []string
		for _, t := range req.Trigger {
			if c := triggers[t].Category; c != "" {
				cats = append(cats, c)
			}
		}
		// Best sellers in the trigger's categories first, then anywhere, in
		// case the category's are all owned or unsuitable.
		since := r.now().Add(-r.popularWindow())
		if len(cats) > 0 {
			skus, err := r.Store.PopularInCategory(ctx, cats, since, candidatePool)
			if err != nil {
				return nil, err
			}
			for _, sku := range skus {
				out = append(out, Pick{SKU: sku, Reason: "a best seller in " + strings.Join(cats, ", ")})
			}
		}
		skus, err := r.Store.PopularInCategory(ctx, nil, since, candidatePool)
		if err != nil {
			return nil, err
		}
		for _, sku := range skus {
			out = append(out, Pick{SKU: sku, Reason: "a best seller"})
		}
	default:
		return nil, fmt.Errorf("unknown strategy %q", strategy)
	}
	return out, nil
}

// ladderAbove lists the plans above current on its ladder, lowest first.
func (r *Recommender) ladderAbove(ctx context.Context, current models.Product) ([]Pick, error) {
	ladder, err := r.Store.Ladder(ctx, current.Category)
	if err != nil {
		return nil, err
	}
	var out []Pick
	for _, p := range ladder {
		if p.TierRank > current.TierRank {
			out = append(out, Pick{SKU: p.SKU, Reason: "the next plan up from your " + current.Name})
		}
	}
	return out, nil
}

// currentTier is the customer's plan: their recorded tier, or else a
// trigger product on a ladder (the plan a usage event is about).
func (r *Recommender) currentTier(ctx context.Context, req Request, triggers map[string]models.Product) (models.Product, bool, error) {
	if req.Tier != "" {
		ps, err := r.Store.GetProducts(ctx, []string{req.Tier})
		if err != nil {
			return models.Product{}, false, err
		}
		if p, ok := ps[req.Tier]; ok && p.TierRank > 0 {
			return p, true, nil
		}
	}
	for _, sku := range req.Trigger {
		if p := triggers[sku]; p.TierRank > 0 {
			return p, true, nil
		}
	}
	return models.Product{}, false, nil
}

// filter applies pins, blocks and the suitability rules, and the limit;
// allow, when set, is one more rule every product (pins included) must pass.
func (r *Recommender) filter(ctx context.Context, req Request, triggers map[string]models.Product, cands []Pick, allow func(models.Product) bool) ([]Pick, error) {
	pool := make([]Pick, 0, len(req.Spec.Pin)+len(cands))
	for _, sku := range req.Spec.Pin {
		pool = append(pool, Pick{SKU: sku, Reason: "chosen by the marketer"})
	}
	pool = append(pool, cands...)
	skus := make([]string, len(pool))
	for i, p := range pool {
		skus[i] = p.SKU
	}
	catalogue, err := r.Store.GetProducts(ctx, skus)
	if err != nil {
		return nil, err
	}
	ceiling := int64(0) // price ceiling from the dearest trigger product
	if ratio := req.Spec.MaxPriceRatio; ratio > 0 {
		for _, t := range triggers {
			if c := int64(float64(t.PriceMinor) * ratio); c > ceiling {
				ceiling = c
			}
		}
	}
	blocked := map[string]bool{}
	for _, sku := range req.Spec.Block {
		blocked[sku] = true
	}
	for _, sku := range req.Trigger {
		blocked[sku] = true
	}
	seen := map[string]bool{}
	var out []Pick
	for _, p := range pool {
		prod, ok := catalogue[p.SKU]
		switch {
		case seen[p.SKU], blocked[p.SKU], req.Owned[p.SKU], !ok, !prod.InStock:
			continue
		case !suits(prod, req.Country), !inSeason(prod.Seasons, req.Country, r.now()):
			continue
		case ceiling > 0 && prod.PriceMinor > ceiling:
			continue
		case allow != nil && !allow(prod):
			continue
		}
		seen[p.SKU] = true
		out = append(out, p)
		if len(out) == req.Spec.LimitOrDefault() {
			break
		}
	}
	return out, nil
}

// suits reports whether a product may be recommended in a country.
func suits(p models.Product, country string) bool {
	if len(p.Regions) == 0 {
		return true
	}
	for _, r := range p.Regions {
		if r == country {
			return true
		}
	}
	return false
}

// joinNote chains fallback notes: similar_customers → bought_together → complements.
func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (r *Recommender) popularWindow() time.Duration {
	if r.PopularWindow > 0 {
		return r.PopularWindow
	}
	return 90 * 24 * time.Hour
}

func (r *Recommender) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
