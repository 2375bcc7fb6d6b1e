package recs

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// DB serves recommendations from the model the last rebuild stored.
type DB struct {
	Store *models.Store
}

// GetProducts reads products from the catalogue.
func (d DB) GetProducts(ctx context.Context, skus []string) (map[string]models.Product, error) {
	return d.Store.GetProducts(ctx, skus)
}

// Ladder reads a plan ladder from the catalogue.
func (d DB) Ladder(ctx context.Context, category string) ([]models.Product, error) {
	return d.Store.Ladder(ctx, category)
}

// Info is the stats of the stored model (zero before the first rebuild).
func (d DB) Info(ctx context.Context) (Stats, error) {
	st, err := d.Store.RecsState(ctx)
	if err != nil || len(st.Model) == 0 {
		return Stats{}, err
	}
	var out Stats
	return out, json.Unmarshal(st.Model, &out)
}

// Auto is what the last rebuild's evaluation made auto stand for.
func (d DB) Auto(ctx context.Context) (Choice, error) {
	st, err := d.Store.RecsState(ctx)
	if err != nil || st.Auto == "" {
		return DefaultAuto, err
	}
	c := Choice{Strategy: campaign.Strategy(st.Auto), Reason: st.AutoReason}
	if st.BuiltAt != nil {
		c.DecidedAt = st.BuiltAt.UTC()
	}
	return c, nil
}

// Items reads the stored product stats.
func (d DB) Items(ctx context.Context, skus []string) (map[string]ItemStats, error) {
	rows, err := d.Store.ProductStats(ctx, skus)
	out := make(map[string]ItemStats, len(rows))
	for _, r := range rows {
		out[r.SKU] = ItemStats{SKU: r.SKU, Orders: r.Orders, Customers: r.Customers}
	}
	return out, err
}

// Pairs reads bought_together's stored neighbours.
func (d DB) Pairs(ctx context.Context, skus []string) (map[string][]Neighbor, error) {
	rows, err := d.Store.AffinitiesOf(ctx, skus)
	out := map[string][]Neighbor{}
	for _, r := range rows {
		out[r.SKUA] = append(out[r.SKUA], Neighbor{SKU: r.SKUB, Count: r.Orders, Score: r.Score})
	}
	return out, err
}

// Similar reads similar_customers' stored neighbours.
func (d DB) Similar(ctx context.Context, skus []string) (map[string][]Neighbor, error) {
	rows, err := d.Store.SimilarOf(ctx, skus)
	out := map[string][]Neighbor{}
	for _, r := range rows {
		out[r.SKUA] = append(out[r.SKUA], Neighbor{SKU: r.SKUB, Count: r.Customers, Score: r.Score})
	}
	return out, err
}

// Popular reads the stored best sellers of a window and category.
func (d DB) Popular(ctx context.Context, days int, category string, limit int) ([]Popular, bool, error) {
	rows, kept, err := d.Store.Popular(ctx, days, category, limit)
	out := make([]Popular, len(rows))
	for i, r := range rows {
		out[i] = Popular{SKU: r.SKU, Orders: r.Orders}
	}
	return out, kept, err
}

// Rows turns the model into the rows SaveModel stores.
func (m *Model) Rows() models.ModelTables {
	items, pairs, similar, popular := m.Tables()
	var t models.ModelTables
	for _, it := range items {
		t.Items = append(t.Items, models.ProductStat{SKU: it.SKU, Orders: it.Orders, Customers: it.Customers})
	}
	for _, a := range slices.Sorted(maps.Keys(pairs)) {
		orders := max(m.items[a].Orders, 1)
		for _, nb := range pairs[a] {
			conf := float64(nb.Count) / float64(orders)
			p := float64(m.items[nb.SKU].Orders) / float64(max(m.Stats.Orders, 1))
			lift := 0.0
			if p > 0 {
				lift = conf / p
			}
			t.Affinities = append(t.Affinities, models.Affinity{SKUA: a, SKUB: nb.SKU, Orders: nb.Count, Confidence: conf, Lift: lift, Score: nb.Score})
		}
	}
	for _, a := range slices.Sorted(maps.Keys(similar)) {
		for _, nb := range similar[a] {
			t.Similar = append(t.Similar, models.ItemSimilarity{SKUA: a, SKUB: nb.SKU, Customers: nb.Count, Score: nb.Score})
		}
	}
	for _, days := range slices.Sorted(maps.Keys(popular)) {
		for _, c := range slices.Sorted(maps.Keys(popular[days])) {
			for i, p := range popular[days][c] {
				t.Popular = append(t.Popular, models.PopularProduct{WindowDays: days, Category: c, Rank: i + 1, SKU: p.SKU, Orders: p.Orders})
			}
		}
	}
	return t
}
