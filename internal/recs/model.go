package recs

import (
	"cmp"
	"context"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"time"
)

// A Model is what the history-based strategies learn from a shop's
// orders, built in one pass over them (Builder) and stored as tables
// between rebuilds (models.Store.SaveModel):
//
//   - bought_together: for each product, the products bought in the same
//     orders, each with its co-purchase count and a score, the confidence
//     of the pair shrunk toward the partner's popularity (shrunkConfidence);
//   - similar_customers: an item-to-item linear model over customers'
//     purchase sets (EASE, Steck 2019), fitted in closed form over the
//     products with the most buyers; a product's score for a customer is
//     the sum of its weights from everything they bought;
//   - popularity: the best sellers over all time and over each window,
//     overall and per category.
//
// The evaluation builds the same Model from the orders before a cut-off
// and serves recommendations from it (Model implements the Recommender's
// Store), so what it measures is what a send would do.
type Model struct {
	Stats Stats
	// items: per product, its stats; pairs and ease: per product, its
	// kept neighbours, best first.
	items map[string]ItemStats
	pairs map[string][]Neighbor
	ease  map[string][]Neighbor
	// popular: per window in days (0: all time), per category ("": every
	// category), the best sellers.
	popular map[int]map[string][]Popular
	catalog Catalog
}

// Stats describes the history a model was built from.
type Stats struct {
	Orders    int64 `json:"orders"`
	Lines     int64 `json:"lines"`
	Customers int64 `json:"customers"`
	Products  int64 `json:"products"`
	// SampledOrders had more distinct products than MaxOrderLines: pairs
	// were mined from a sample of their lines (seeded by the order's ID).
	SampledOrders int64 `json:"sampled_orders"`
	// Pairs and SimilarPairs are the neighbours kept.
	Pairs        int64 `json:"pairs"`
	SimilarPairs int64 `json:"similar_pairs"`
	// ModelProducts is how many products the linear model covers.
	ModelProducts int64 `json:"model_products"`
	// From and To bound the orders' times.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// WindowOrders counts the orders in each popularity window (days).
	WindowOrders map[int]int64 `json:"window_orders,omitempty"`
}

// ItemStats is one product's share of the history.
type ItemStats struct {
	SKU       string
	Orders    int64 // orders that hold it
	Customers int64 // customers who bought it
}

// Neighbor is a product scored from another.
type Neighbor struct {
	SKU   string
	Count int64   // orders (bought_together) or customers (similar_customers) with both
	Score float64 // the strategy's score of SKU given the other
}

// Popular is a best seller: a product and its orders in the window.
type Popular struct {
	SKU    string
	Orders int64
}

// Catalog says which category a product is in (for popularity per
// category); a product it does not know is in none.
type Catalog func(sku string) (category string, ok bool)

// ModelOptions bound and tune a build.
type ModelOptions struct {
	// MinSupport is the fewest orders (customers, for the linear model)
	// two products must share to be paired.
	MinSupport int
	// MaxOrderLines is the most distinct products of one order that
	// pair mining reads; a larger order is sampled (default 100). Mining
	// an order costs the square of its lines: this bounds one order's
	// cost at about 5,000 pairs, whatever an import holds.
	MaxOrderLines int
	// MaxCustomerProducts bounds one customer's purchase set the same
	// way for the linear model (default 200).
	MaxCustomerProducts int
	// ModelProducts is how many products (those with the most buyers)
	// the linear model covers (default 1,000): fitting inverts a matrix
	// of that side, about a second at 1,000 and eight at 2,000.
	ModelProducts int
	// Lambda is the linear model's L2 regularisation (default 200).
	Lambda float64
	// Shrink is how many orders of evidence a pair's confidence needs
	// before it outweighs the partner's popularity (default 10).
	Shrink float64
	// Neighbors is how many neighbours each product keeps (default 100).
	Neighbors int
	// Windows are the popularity windows to keep, besides all time.
	Windows []time.Duration
	// Popular is how many best sellers each list keeps (default 100).
	Popular int
	// Now ends the popularity windows (default: the last order's time).
	Now time.Time
}

func (o ModelOptions) withDefaults() ModelOptions {
	o.MinSupport = max(o.MinSupport, 1)
	o.MaxOrderLines = cmp.Or(o.MaxOrderLines, 100)
	o.MaxCustomerProducts = cmp.Or(o.MaxCustomerProducts, 200)
	o.ModelProducts = cmp.Or(o.ModelProducts, 1000)
	o.Lambda = cmp.Or(o.Lambda, 200)
	o.Shrink = cmp.Or(o.Shrink, 10)
	o.Neighbors = cmp.Or(o.Neighbors, 100)
	o.Popular = cmp.Or(o.Popular, 100)
	return o
}

// Order is one order as a model reads it: its products, each once.
type Order struct {
	ID       string
	Customer string
	At       time.Time
	SKUs     []string
}

// Builder accumulates orders into a Model. Products and customers are
// numbered as they come, so memory grows with the distinct products,
// customers and pairs, not with the lines.
type Builder struct {
	opt     ModelOptions
	catalog Catalog
	sku     map[string]int32
	skus    []string
	cust    map[string]int32
	owned   []map[int32]struct{} // per customer, the products bought
	orders  []int64              // per product, orders holding it
	times   []orderTime          // per order, its time and products, for the windows
	pairs   map[uint64]int32     // unordered pair (a<b) -> orders
	stats   Stats
}

type orderTime struct {
	at   int64 // unix seconds
	skus []int32
}

// NewBuilder starts a model.
func NewBuilder(opt ModelOptions, catalog Catalog) *Builder {
	return &Builder{opt: opt.withDefaults(), catalog: catalog, sku: map[string]int32{}, cust: map[string]int32{},
		pairs: map[uint64]int32{}}
}

func (b *Builder) skuID(s string) int32 {
	if id, ok := b.sku[s]; ok {
		return id
	}
	id := int32(len(b.skus))
	b.sku[s] = id
	b.skus = append(b.skus, s)
	b.orders = append(b.orders, 0)
	return id
}

// Add counts one order. An order's products are deduplicated; pairs are
// mined from at most MaxOrderLines of them, chosen by a hash of the
// order's ID and the product, so a rebuild samples the same lines.
func (b *Builder) Add(o Order) {
	if len(o.SKUs) == 0 {
		return
	}
	ids := make([]int32, 0, len(o.SKUs))
	for _, s := range o.SKUs {
		ids = append(ids, b.skuID(s))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	b.stats.Orders++
	b.stats.Lines += int64(len(ids))
	at := o.At.UTC()
	if b.stats.From.IsZero() || at.Before(b.stats.From) {
		b.stats.From = at
	}
	if at.After(b.stats.To) {
		b.stats.To = at
	}
	for _, id := range ids {
		b.orders[id]++
	}
	b.times = append(b.times, orderTime{at: at.Unix(), skus: ids})
	c, ok := b.cust[o.Customer]
	if !ok {
		c = int32(len(b.owned))
		b.cust[o.Customer] = c
		b.owned = append(b.owned, map[int32]struct{}{})
	}
	for _, id := range ids {
		if len(b.owned[c]) >= b.opt.MaxCustomerProducts {
			break
		}
		b.owned[c][id] = struct{}{}
	}
	mined := ids
	if len(ids) > b.opt.MaxOrderLines {
		b.stats.SampledOrders++
		mined = sample(o.ID, ids, b.skus, b.opt.MaxOrderLines)
	}
	for i, x := range mined {
		for _, y := range mined[i+1:] {
			b.pairs[uint64(x)<<32|uint64(y)]++
		}
	}
}

// sample keeps n of an order's products: those whose hash with the
// order's ID is lowest, so the same order samples the same lines.
func sample(orderID string, ids []int32, names []string, n int) []int32 {
	type keyed struct {
		id int32
		h  uint64
	}
	ks := make([]keyed, len(ids))
	for i, id := range ids {
		h := fnv.New64a()
		h.Write([]byte(orderID))
		h.Write([]byte{0})
		h.Write([]byte(names[id]))
		ks[i] = keyed{id, h.Sum64()}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Compare(a.h, b.h) })
	out := make([]int32, n)
	for i := range out {
		out[i] = ks[i].id
	}
	slices.Sort(out)
	return out
}

// Build fits the model. It honours ctx between its phases and inside
// the linear model's fit.
func (b *Builder) Build(ctx context.Context) (*Model, error) {
	m := &Model{Stats: b.stats, items: map[string]ItemStats{}, pairs: map[string][]Neighbor{}, ease: map[string][]Neighbor{},
		popular: map[int]map[string][]Popular{}, catalog: b.catalog}
	m.Stats.Customers = int64(len(b.owned))
	m.Stats.Products = int64(len(b.skus))
	buyers := make([]int64, len(b.skus))
	for _, set := range b.owned {
		for id := range set {
			buyers[id]++
		}
	}
	for id, s := range b.skus {
		m.items[s] = ItemStats{SKU: s, Orders: b.orders[id], Customers: buyers[id]}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.buildPairs(m)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.buildEASE(ctx, m, buyers); err != nil {
		return nil, err
	}
	b.buildPopular(m)
	return m, nil
}

// shrunkConfidence is bought_together's score of b given a: the share
// of a's orders that also hold b, shrunk toward b's share of all orders
// by k orders of evidence. A pair seen in 1 of a's 2 orders (confidence
// 50 %) no longer outranks one seen in 300 of 1,000 (30 %), and a rare
// partner's lift no longer puts it first: with little evidence the score
// is b's popularity, with much it is the pair's confidence.
func shrunkConfidence(together, ordersA, ordersB, orders int64, k float64) float64 {
	p := float64(ordersB) / float64(max(orders, 1))
	return (float64(together) + k*p) / (float64(ordersA) + k)
}

func (b *Builder) buildPairs(m *Model) {
	n := b.stats.Orders
	for key, c := range b.pairs {
		if int(c) < b.opt.MinSupport {
			continue
		}
		x, y := int32(key>>32), int32(key&0xffffffff)
		sx, sy := b.skus[x], b.skus[y]
		m.pairs[sx] = append(m.pairs[sx], Neighbor{SKU: sy, Count: int64(c), Score: shrunkConfidence(int64(c), b.orders[x], b.orders[y], n, b.opt.Shrink)})
		m.pairs[sy] = append(m.pairs[sy], Neighbor{SKU: sx, Count: int64(c), Score: shrunkConfidence(int64(c), b.orders[y], b.orders[x], n, b.opt.Shrink)})
	}
	for s, ns := range m.pairs {
		m.pairs[s] = best(ns, b.opt.Neighbors)
		m.Stats.Pairs += int64(len(m.pairs[s]))
	}
}

// best sorts neighbours best first (score, then count, then SKU) and
// keeps n.
func best(ns []Neighbor, n int) []Neighbor {
	slices.SortFunc(ns, func(a, b Neighbor) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.SKU, b.SKU)
	})
	if len(ns) > n {
		ns = slices.Clip(ns[:n])
	}
	return ns
}

func (b *Builder) buildPopular(m *Model) {
	now := b.opt.Now
	if now.IsZero() {
		now = b.stats.To
	}
	windows := map[int]int64{0: math.MinInt64}
	for _, w := range b.opt.Windows {
		if d := int(w / (24 * time.Hour)); d > 0 {
			windows[d] = now.Add(-time.Duration(d) * 24 * time.Hour).Unix()
		}
	}
	m.Stats.WindowOrders = map[int]int64{}
	for days, since := range windows {
		counts := make([]int64, len(b.skus))
		var orders int64
		for _, o := range b.times {
			if o.at < since || o.at > now.Unix() {
				continue
			}
			orders++
			for _, id := range o.skus {
				counts[id]++
			}
		}
		if days > 0 {
			m.Stats.WindowOrders[days] = orders
		}
		byCat := map[string][]Popular{}
		for id, n := range counts {
			if n == 0 {
				continue
			}
			p := Popular{SKU: b.skus[id], Orders: n}
			byCat[""] = append(byCat[""], p)
			if b.catalog != nil {
				if c, ok := b.catalog(p.SKU); ok && c != "" {
					byCat[c] = append(byCat[c], p)
				}
			}
		}
		for c, ps := range byCat {
			slices.SortFunc(ps, func(a, b Popular) int {
				if c := cmp.Compare(b.Orders, a.Orders); c != 0 {
					return c
				}
				return cmp.Compare(a.SKU, b.SKU)
			})
			if len(ps) > b.opt.Popular {
				ps = slices.Clip(ps[:b.opt.Popular])
			}
			byCat[c] = ps
		}
		m.popular[days] = byCat
	}
}

// Model answers the Recommender's questions about the history itself;
// ModelStore adds the catalogue.

// Items is the stats of each of skus the model knows.
func (m *Model) Items(_ context.Context, skus []string) (map[string]ItemStats, error) {
	out := make(map[string]ItemStats, len(skus))
	for _, s := range skus {
		if it, ok := m.items[s]; ok {
			out[s] = it
		}
	}
	return out, nil
}

// Pairs is bought_together's neighbours of each of skus.
func (m *Model) Pairs(_ context.Context, skus []string) (map[string][]Neighbor, error) {
	return pick(m.pairs, skus), nil
}

// Similar is similar_customers' neighbours of each of skus.
func (m *Model) Similar(_ context.Context, skus []string) (map[string][]Neighbor, error) {
	return pick(m.ease, skus), nil
}

// Popular is the best sellers of a window (0: all time) in a category
// ("": all), and whether the model kept that window.
func (m *Model) Popular(_ context.Context, days int, category string, limit int) ([]Popular, bool, error) {
	byCat, ok := m.popular[days]
	if !ok {
		return nil, false, nil
	}
	ps := byCat[category]
	return ps[:min(limit, len(ps))], true, nil
}

// Info is the history the model was built from.
func (m *Model) Info(context.Context) (Stats, error) { return m.Stats, nil }

// Tables is the model as rows, to store: each product's stats, the pairs
// and the similar products, and the best-seller lists.
func (m *Model) Tables() (items []ItemStats, pairs, similar map[string][]Neighbor, popular map[int]map[string][]Popular) {
	for _, s := range slices.Sorted(maps.Keys(m.items)) {
		items = append(items, m.items[s])
	}
	return items, m.pairs, m.ease, m.popular
}

func pick(from map[string][]Neighbor, skus []string) map[string][]Neighbor {
	out := make(map[string][]Neighbor, len(skus))
	for _, s := range skus {
		if ns, ok := from[s]; ok {
			out[s] = ns
		}
	}
	return out
}
