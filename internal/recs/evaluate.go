package recs

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// Evaluation scores the strategies on a shop's own orders, offline, the
// way the shop would meet them: the orders are sorted by time; a Model is
// built from the first TrainShare of them, exactly as a rebuild builds
// one; the cases are drawn from the rest, so nothing is learned from the
// future; and each case asks the real Recommender (the same filters,
// fallbacks and top-ups as a send) for three products.
//
// Two protocols:
//
//   - next_order: a customer whose last order falls after the cut-off;
//     the recommendation is the cross-sell their previous order would
//     ask for (trigger: that order; owned: everything before the last
//     order); a hit is a product of the last order they did not own.
//   - same_basket: an order after the cut-off with two or more products;
//     one of them, not owned before, is held out (chosen by the seed) and
//     the rest is the trigger; owned is what the customer bought before.
//
// hit_rate@k is the share of cases with a held-out product among the
// first k picks, with a 95 % Wilson interval. Two baselines answer in
// the same shape: the best sellers of all time and of the window (both
// as of the cut-off, both through the same filters).

// Protocol names.
const (
	ProtocolNextOrder  = "next_order"
	ProtocolSameBasket = "same_basket"
)

// Baseline names.
const (
	BaselineAllTime = "popular_all_time"
	BaselineWindow  = "popular_window"
)

// EvalOptions tune an evaluation.
type EvalOptions struct {
	// Seed makes the sample and the held-out lines repeatable (default 1).
	Seed uint64
	// MaxCases is the most cases drawn per protocol (default 2,000): a
	// seeded sample when there are more.
	MaxCases int
	// TrainShare is the share of orders, oldest first, the model learns
	// from (default 0.8).
	TrainShare float64
	// Window is the popularity window of the window baseline and of the
	// strategies' best sellers, in days (default 90; 0 is all time).
	Window int
	// Model tunes the model (as the rebuild's).
	Model ModelOptions
	// MinOrders, MinCustomers and MinWindowOrders are the Recommender's.
	MinOrders, MinCustomers, MinWindowOrders int64
	// Strategies to score (default: every learned one).
	Strategies []campaign.Strategy
}

func (o EvalOptions) withDefaults() EvalOptions {
	o.Seed = cmp.Or(o.Seed, 1)
	o.MaxCases = cmp.Or(o.MaxCases, 2000)
	if o.TrainShare <= 0 || o.TrainShare >= 1 {
		o.TrainShare = 0.8
	}
	if o.Window < 0 {
		o.Window = 0
	}
	if o.Strategies == nil {
		o.Strategies = campaign.LearnedStrategies
	}
	return o
}

// Report is an evaluation's answer (POST /v1/recommendations/evaluate).
type Report struct {
	Protocols []ProtocolReport `json:"protocols"`
	Warnings  []string         `json:"warnings"`
	// History is what was read; Train what the model learned from.
	History Stats     `json:"history"`
	Train   Stats     `json:"train"`
	Cutoff  time.Time `json:"cutoff,omitzero"`
	Seed    uint64    `json:"seed"`
	Window  int       `json:"window_days"`
	// Sampled says how the history was cut down, when it was.
	Sampled string `json:"sampled,omitempty"`
	TookMS  int64  `json:"took_ms"`
}

// ProtocolReport is one protocol's scores.
type ProtocolReport struct {
	Name       string        `json:"name"`
	Cases      int           `json:"cases"`
	Available  int           `json:"available"` // cases before sampling
	Strategies []StrategyHit `json:"strategies"`
	Baselines  []StrategyHit `json:"baselines"`
	// Best is the strategy with the highest hit_rate@3, and its ratio to
	// the better baseline.
	Best      string  `json:"best,omitempty"`
	BestRatio float64 `json:"best_ratio,omitempty"`
}

// StrategyHit is one strategy's (or baseline's) scores.
type StrategyHit struct {
	Name      string                    `json:"name"`
	HitRate   map[string]float64        `json:"hit_rate"`
	HitRateCI map[string]stats.Interval `json:"hit_rate_ci"`
	Hits      map[string]int            `json:"hits"`
	// Coverage is the share of cases the strategy answered itself, not
	// through a fallback to another strategy.
	Coverage float64 `json:"coverage"`
	// Fallbacks: the strategies it fell back to, as shares of cases.
	Fallbacks map[string]float64 `json:"fallbacks"`
	// Empty is the share of cases with nothing to recommend at all.
	Empty float64 `json:"empty"`
}

// HitRate3 is the hit rate at three.
func (s StrategyHit) HitRate3() float64 { return s.HitRate["3"] }

type evalCase struct {
	customer string
	trigger  []string
	owned    map[string]bool
	held     map[string]bool
}

// memCatalogue is a catalogue in memory (the generated history's).
type memCatalogue map[string]models.Product

func (c memCatalogue) GetProducts(_ context.Context, skus []string) (map[string]models.Product, error) {
	out := make(map[string]models.Product, len(skus))
	for _, s := range skus {
		if p, ok := c[s]; ok {
			out[s] = p
		}
	}
	return out, nil
}

func (c memCatalogue) Ladder(_ context.Context, category string) ([]models.Product, error) {
	var out []models.Product
	for _, p := range c {
		if p.Category == category && p.TierRank > 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b models.Product) int {
		return cmp.Or(cmp.Compare(a.TierRank, b.TierRank), cmp.Compare(a.SKU, b.SKU))
	})
	return out, nil
}

// modelStore serves recommendations from an in-memory model.
type modelStore struct {
	Catalogue
	*Model
	auto Choice
}

func (m modelStore) Auto(context.Context) (Choice, error) { return m.auto, nil }

// EvaluateOrders scores the strategies on orders (any order; they are
// sorted by time here), with products from cat. categories says each
// product's category, for popularity per category.
func EvaluateOrders(ctx context.Context, orders []Order, cat Catalogue, categories Catalog, opt EvalOptions) (Report, error) {
	start := time.Now()
	opt = opt.withDefaults()
	rep := Report{Seed: opt.Seed, Window: opt.Window, Warnings: []string{}, Protocols: []ProtocolReport{}}
	slices.SortStableFunc(orders, func(a, b Order) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	all := NewBuilder(opt.Model, nil)
	for _, o := range orders {
		all.Add(o)
	}
	rep.History = all.stats
	rep.History.Customers = int64(len(all.owned))
	rep.History.Products = int64(len(all.skus))
	if len(orders) < 20 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d orders: too few to evaluate anything (import the shop's order history with lift import)", len(orders)))
		rep.TookMS = time.Since(start).Milliseconds()
		return rep, nil
	}
	cut := int(float64(len(orders)) * opt.TrainShare)
	rep.Cutoff = orders[cut].At
	mopt := opt.Model
	mopt.Now = rep.Cutoff
	if opt.Window > 0 {
		mopt.Windows = append(slices.Clone(mopt.Windows), time.Duration(opt.Window)*24*time.Hour)
	}
	b := NewBuilder(mopt, categories)
	for _, o := range orders[:cut] {
		b.Add(o)
	}
	model, err := b.Build(ctx)
	if err != nil {
		return rep, err
	}
	rep.Train = model.Stats
	store := modelStore{Catalogue: &cachedCatalogue{Catalogue: cat, known: map[string]*models.Product{}}, Model: model, auto: DefaultAuto}
	r := &Recommender{Store: store, MinOrders: opt.MinOrders, MinCustomers: opt.MinCustomers, MinWindowOrders: opt.MinWindowOrders,
		Now: func() time.Time { return rep.Cutoff }}
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	for _, p := range []struct {
		name  string
		cases []evalCase
	}{
		{ProtocolNextOrder, nextOrderCases(orders, cut)},
		{ProtocolSameBasket, sameBasketCases(orders, cut, opt.Seed)},
	} {
		pr := ProtocolReport{Name: p.name, Available: len(p.cases), Strategies: []StrategyHit{}, Baselines: []StrategyHit{}}
		cases := p.cases
		if len(cases) > opt.MaxCases {
			rng.Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
			cases = cases[:opt.MaxCases]
		}
		pr.Cases = len(cases)
		if len(cases) == 0 {
			rep.Warnings = append(rep.Warnings, noCases(p.name))
			rep.Protocols = append(rep.Protocols, pr)
			continue
		}
		for _, s := range opt.Strategies {
			hit, err := score(ctx, cases, string(s), func(c evalCase) (Result, error) {
				return r.Recommend(ctx, Request{Spec: campaign.Recommend{Strategy: s, Limit: 3, Window: windowSpec(opt.Window)}, Trigger: c.trigger, Owned: c.owned})
			})
			if err != nil {
				return rep, err
			}
			pr.Strategies = append(pr.Strategies, hit)
		}
		for _, bl := range []struct {
			name string
			days int
		}{{BaselineAllTime, 0}, {BaselineWindow, opt.Window}} {
			hit, err := score(ctx, cases, bl.name, func(c evalCase) (Result, error) {
				return r.baseline(ctx, Request{Spec: campaign.Recommend{Limit: 3}, Trigger: c.trigger, Owned: c.owned}, bl.days)
			})
			if err != nil {
				return rep, err
			}
			pr.Baselines = append(pr.Baselines, hit)
		}
		pr.Best, pr.BestRatio = best3(pr)
		rep.Protocols = append(rep.Protocols, pr)
	}
	rep.Warnings = append(rep.Warnings, r.thinData(rep, opt)...)
	rep.TookMS = time.Since(start).Milliseconds()
	return rep, nil
}

func windowSpec(days int) string {
	if days == 0 {
		return "all"
	}
	return fmt.Sprintf("%dd", days)
}

func noCases(protocol string) string {
	if protocol == ProtocolNextOrder {
		return "next_order: no customer has an order after the cut-off and one before it, so repeat purchases cannot be measured"
	}
	return "same_basket: no order after the cut-off holds two products or more"
}

// thinData says what the shop's history is too thin for.
func (r *Recommender) thinData(rep Report, opt EvalOptions) []string {
	var out []string
	if c := rep.Train.Customers; c < r.MinCustomers {
		out = append(out, fmt.Sprintf("similar_customers needs %d customers with orders (LIFT_RECS_MIN_CUSTOMERS) and the model learned from %d: it falls back to bought_together here", r.MinCustomers, c))
	}
	if o := rep.Train.Orders; o < r.MinOrders {
		out = append(out, fmt.Sprintf("bought_together needs %d orders (LIFT_RECS_MIN_ORDERS) and the model learned from %d: it falls back to complements here", r.MinOrders, o))
	}
	if rep.Train.Pairs == 0 {
		out = append(out, fmt.Sprintf("no two products share %d orders (LIFT_AFFINITY_MIN_SUPPORT): bought_together has nothing to say and tops up with best sellers", max(opt.Model.MinSupport, 1)))
	}
	if opt.Window > 0 {
		if n := rep.Train.WindowOrders[opt.Window]; n < r.minWindowOrders() {
			out = append(out, fmt.Sprintf("the %d days before the cut-off hold %d orders (fewer than %d): best sellers widen to all time", opt.Window, n, r.minWindowOrders()))
		}
	}
	for _, p := range rep.Protocols {
		if p.Cases > 0 && p.Cases < MinAutoCases {
			out = append(out, fmt.Sprintf("%s: %d cases, fewer than %d: the intervals are wide and auto does not trust them", p.Name, p.Cases, MinAutoCases))
		}
	}
	return out
}

// MinAutoCases is the fewest cases a protocol needs before auto trusts it.
const MinAutoCases = 200

// best3 is the strategy with the best hit rate at three and its ratio to
// the better baseline.
func best3(pr ProtocolReport) (string, float64) {
	var name string
	top := -1.0
	for _, s := range pr.Strategies {
		if s.HitRate3() > top {
			name, top = s.Name, s.HitRate3()
		}
	}
	base := 0.0
	for _, b := range pr.Baselines {
		base = max(base, b.HitRate3())
	}
	if base == 0 {
		return name, 0
	}
	return name, top / base
}

// score runs every case through recommend and counts hits at 1 to 3.
func score(ctx context.Context, cases []evalCase, name string, recommend func(evalCase) (Result, error)) (StrategyHit, error) {
	hits := [3]int{}
	own, empty := 0, 0
	fallbacks := map[string]int{}
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return StrategyHit{}, err
		}
		res, err := recommend(c)
		if err != nil {
			return StrategyHit{}, err
		}
		switch {
		case len(res.Picks) == 0:
			empty++
		case string(res.Strategy) == name || strings.HasPrefix(name, "popular_"):
			own++
		default:
			fallbacks[string(res.Strategy)]++
		}
		for i, p := range res.Picks {
			if c.held[p.SKU] {
				for k := i; k < 3; k++ {
					hits[k]++
				}
				break
			}
		}
	}
	n := len(cases)
	out := StrategyHit{Name: name, HitRate: map[string]float64{}, HitRateCI: map[string]stats.Interval{}, Hits: map[string]int{},
		Coverage: float64(own) / float64(n), Fallbacks: map[string]float64{}, Empty: float64(empty) / float64(n)}
	for k := range 3 {
		key := fmt.Sprint(k + 1)
		iv := stats.MeanInterval(stats.Bernoulli(int64(hits[k]), int64(n)))
		out.HitRate[key], out.HitRateCI[key], out.Hits[key] = iv.Estimate, iv, hits[k]
	}
	for s, c := range fallbacks {
		out.Fallbacks[s] = float64(c) / float64(n)
	}
	return out, nil
}

// baseline recommends the best sellers of a window in every category,
// through the same filters as the strategies.
func (r *Recommender) baseline(ctx context.Context, req Request, days int) (Result, error) {
	triggers, err := r.Store.GetProducts(ctx, req.Trigger)
	if err != nil {
		return Result{}, err
	}
	ps, _, err := r.Store.Popular(ctx, days, "", popularPool)
	if err != nil {
		return Result{}, err
	}
	cands := make([]candidate, len(ps))
	for i, p := range ps {
		cands[i] = candidate{Pick: Pick{SKU: p.SKU, Reason: "a best seller"}}
	}
	picks, _, err := r.filter(ctx, req, triggers, cands, nil)
	return Result{Picks: picks, Strategy: campaign.StrategyPopularInCategory}, err
}

// nextOrderCases: each customer with two orders or more whose last order
// is after the cut-off.
func nextOrderCases(orders []Order, cut int) []evalCase {
	byCust := map[string][]int{}
	for i, o := range orders {
		byCust[o.Customer] = append(byCust[o.Customer], i)
	}
	var out []evalCase
	for _, c := range slices.Sorted(maps.Keys(byCust)) {
		idx := byCust[c]
		last := idx[len(idx)-1]
		if len(idx) < 2 || last < cut {
			continue
		}
		owned := map[string]bool{}
		for _, i := range idx[:len(idx)-1] {
			for _, s := range orders[i].SKUs {
				owned[s] = true
			}
		}
		held := map[string]bool{}
		for _, s := range orders[last].SKUs {
			if !owned[s] {
				held[s] = true
			}
		}
		if len(held) == 0 {
			continue // a repeat of what they had: no recommendation can hit it
		}
		out = append(out, evalCase{customer: c, trigger: slices.Clone(orders[idx[len(idx)-2]].SKUs), owned: owned, held: held})
	}
	return out
}

// sameBasketCases: each order after the cut-off with two products or
// more, one held out.
func sameBasketCases(orders []Order, cut int, seed uint64) []evalCase {
	owned := map[string]map[string]bool{}
	var out []evalCase
	for i, o := range orders {
		mine := owned[o.Customer]
		if i >= cut {
			var fresh []string
			for _, s := range o.SKUs {
				if !mine[s] {
					fresh = append(fresh, s)
				}
			}
			if len(o.SKUs) >= 2 && len(fresh) > 0 {
				slices.Sort(fresh)
				h := fnv.New64a()
				fmt.Fprintf(h, "%d/%s", seed, o.ID)
				held := fresh[h.Sum64()%uint64(len(fresh))]
				var trigger []string
				for _, s := range o.SKUs {
					if s != held {
						trigger = append(trigger, s)
					}
				}
				out = append(out, evalCase{customer: o.Customer, trigger: trigger, owned: maps.Clone(mine), held: map[string]bool{held: true}})
			}
		}
		if mine == nil {
			mine = map[string]bool{}
			owned[o.Customer] = mine
		}
		for _, s := range o.SKUs {
			mine[s] = true
		}
	}
	return out
}

// WriteReport prints a report as tables, each strategy against the
// better baseline.
func WriteReport(w io.Writer, rep Report) {
	fmt.Fprintf(w, "history: %d orders, %d customers, %d products; learned from %d orders before %s\n",
		rep.History.Orders, rep.History.Customers, rep.History.Products, rep.Train.Orders, rep.Cutoff.Format("2006-01-02"))
	if rep.Sampled != "" {
		fmt.Fprintln(w, "sampled:", rep.Sampled)
	}
	for _, p := range rep.Protocols {
		fmt.Fprintf(w, "\n%s: %d cases", p.Name, p.Cases)
		if p.Available > p.Cases {
			fmt.Fprintf(w, " (a seeded sample of %d)", p.Available)
		}
		fmt.Fprintln(w)
		if p.Cases == 0 {
			continue
		}
		base := 0.0
		for _, b := range p.Baselines {
			base = max(base, b.HitRate3())
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "strategy\thit@1\thit@2\thit@3\t95% interval @3\tvs best seller\tcoverage\tfell back to")
		for _, s := range append(slices.Clone(p.Strategies), p.Baselines...) {
			ratio := "-"
			if base > 0 {
				ratio = fmt.Sprintf("%.2fx", s.HitRate3()/base)
			}
			var fb []string
			for _, k := range slices.Sorted(maps.Keys(s.Fallbacks)) {
				fb = append(fb, fmt.Sprintf("%s %.0f%%", k, 100*s.Fallbacks[k]))
			}
			ci := s.HitRateCI["3"]
			fmt.Fprintf(tw, "%s\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%–%.1f%%\t%s\t%.0f%%\t%s\n", s.Name, 100*s.HitRate["1"], 100*s.HitRate["2"], 100*s.HitRate3(),
				100*ci.Low, 100*ci.High, ratio, 100*s.Coverage, strings.Join(fb, ", "))
		}
		tw.Flush()
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}

// History is a generated purchase history with known structure: products
// come in families (a camera, its lenses, bags and cards), and customers
// mostly buy within a family over several orders, with some noise.
type History struct {
	Products []models.Product
	Orders   []Order
}

// Catalogue is the generated history's products.
func (h History) Catalogue() (Catalogue, Catalog) {
	c := memCatalogue{}
	for _, p := range h.Products {
		c[p.SKU] = p
	}
	return c, func(sku string) (string, bool) { p, ok := c[sku]; return p.Category, ok }
}

// Generate builds a history. The same seed gives the same history.
func Generate(customers, families, perFamily int, seed uint64) History {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var h History
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
		// A customer's orders spread over the year, so every period has
		// first and repeat orders alike.
		at := t0.Add(time.Duration(rng.IntN(200*24)) * time.Hour)
		for o := 0; o < n; o++ {
			order := Order{ID: fmt.Sprintf("%s-o%d", cust, o), Customer: cust, At: at}
			at = at.Add(time.Duration(24+rng.IntN(40*24)) * time.Hour)
			seen := map[string]bool{}
			for k := 0; k < 1+rng.IntN(3); k++ {
				f := family
				if rng.Float64() < 0.2 { // noise: something from anywhere
					f = rng.IntN(families)
				}
				s := sku(f, rng.IntN(perFamily))
				if !seen[s] {
					seen[s] = true
					order.SKUs = append(order.SKUs, s)
				}
			}
			h.Orders = append(h.Orders, order)
		}
	}
	return h
}

// cachedCatalogue remembers every product it has read (and every SKU it
// did not find): an evaluation asks for the same products thousands of
// times, and the catalogue does not change under it.
type cachedCatalogue struct {
	Catalogue
	known map[string]*models.Product
}

func (c *cachedCatalogue) GetProducts(ctx context.Context, skus []string) (map[string]models.Product, error) {
	var missing []string
	for _, s := range skus {
		if _, ok := c.known[s]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		got, err := c.Catalogue.GetProducts(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, s := range missing {
			if p, ok := got[s]; ok {
				c.known[s] = &p
			} else {
				c.known[s] = nil
			}
		}
	}
	out := make(map[string]models.Product, len(skus))
	for _, s := range skus {
		if p := c.known[s]; p != nil {
			out[s] = *p
		}
	}
	return out, nil
}
