package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Ladder returns the ranked products (plans) of a category, lowest rank
// first.
func (s *Store) Ladder(ctx context.Context, category string) ([]Product, error) {
	var ps []Product
	err := s.db.WithContext(ctx).Where("category = ? AND tier_rank > 0", category).Order("tier_rank, sku").Find(&ps).Error
	return ps, translate(err, "products")
}

// CountOrders counts the orders on record: bought_together needs enough
// history to say anything.
func (s *Store) CountOrders(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Order{}).Count(&n).Error
	return n, translate(err, "orders")
}

// The recommendation model (internal/recs) is built in Go from one pass
// over the order lines (EachOrder) and stored here between rebuilds
// (SaveModel); sends and previews read it with indexed lookups.

// OrderLines is one order as the model reads it: its products, each once.
type OrderLines struct {
	ID         string
	CustomerID string
	OccurredAt time.Time
	SKUs       []string
}

// EachOrder streams every order with its products, grouped by order, to
// fn, within one read. On PostgreSQL the read has a statement timeout
// (timeout; 0 for none): a history that cannot be read in time fails
// the rebuild rather than holding the database.
func (s *Store) EachOrder(ctx context.Context, timeout time.Duration, fn func(OrderLines) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres && timeout > 0 {
			if err := tx.Exec(fmt.Sprintf("SET LOCAL statement_timeout = %d", timeout.Milliseconds())).Error; err != nil {
				return translate(err, "orders")
			}
		}
		rows, err := tx.Raw(`SELECT o.id, o.customer_id, o.occurred_at, i.sku FROM orders o JOIN order_items i ON i.order_id = o.id ORDER BY o.id, i.sku`).Rows()
		if err != nil {
			return translate(err, "orders")
		}
		defer rows.Close()
		var cur OrderLines
		for rows.Next() {
			var id, cust, sku string
			var at time.Time
			if err := rows.Scan(&id, &cust, &at, &sku); err != nil {
				return translate(err, "orders")
			}
			if id != cur.ID && cur.ID != "" {
				if err := fn(cur); err != nil {
					return err
				}
				cur = OrderLines{}
			}
			if cur.ID == "" {
				cur = OrderLines{ID: id, CustomerID: cust, OccurredAt: at.UTC()}
			}
			cur.SKUs = append(cur.SKUs, sku)
		}
		if err := rows.Err(); err != nil {
			return translate(err, "orders")
		}
		if cur.ID != "" {
			return fn(cur)
		}
		return nil
	})
}

// ModelTables are a recommendation model's rows.
type ModelTables struct {
	Items      []ProductStat
	Affinities []Affinity
	Similar    []ItemSimilarity
	Popular    []PopularProduct
}

// SaveModel replaces the stored model with m in one transaction: readers
// see the old model or the new, never a mix or none.
func (s *Store) SaveModel(ctx context.Context, m ModelTables) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, t := range []struct {
			table string
			rows  any
			n     int
		}{
			{"product_stats", m.Items, len(m.Items)},
			{"affinities", m.Affinities, len(m.Affinities)},
			{"item_similarities", m.Similar, len(m.Similar)},
			{"popular_products", m.Popular, len(m.Popular)},
		} {
			if err := tx.Exec("DELETE FROM " + t.table).Error; err != nil {
				return translate(err, t.table)
			}
			if t.n == 0 {
				continue
			}
			if err := tx.CreateInBatches(t.rows, 1000).Error; err != nil {
				return translate(err, t.table)
			}
		}
		return nil
	})
}

// ProductStats returns the stats of each of skus the model knows.
func (s *Store) ProductStats(ctx context.Context, skus []string) ([]ProductStat, error) {
	var out []ProductStat
	if len(skus) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("sku IN ?", skus).Find(&out).Error
	return out, translate(err, "product stats")
}

// AffinitiesOf returns bought_together's stored neighbours of skus.
func (s *Store) AffinitiesOf(ctx context.Context, skus []string) ([]Affinity, error) {
	var out []Affinity
	if len(skus) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("sku_a, score DESC, sku_b").Find(&out).Error
	return out, translate(err, "affinities")
}

// SimilarOf returns similar_customers' stored neighbours of skus.
func (s *Store) SimilarOf(ctx context.Context, skus []string) ([]ItemSimilarity, error) {
	var out []ItemSimilarity
	if len(skus) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("sku_a, score DESC, sku_b").Find(&out).Error
	return out, translate(err, "item similarities")
}

// Popular returns the stored best sellers of a window (days; 0 is all
// time) in a category ("" for all), best first, and whether the last
// rebuild kept that window at all.
func (s *Store) Popular(ctx context.Context, days int, category string, limit int) ([]PopularProduct, bool, error) {
	var out []PopularProduct
	err := s.db.WithContext(ctx).Where("window_days = ? AND category = ?", days, category).Order("rank").Limit(limit).Find(&out).Error
	if err != nil || len(out) > 0 {
		return out, true, translate(err, "popular products")
	}
	var kept int64
	err = s.db.WithContext(ctx).Model(&PopularProduct{}).Where("window_days = ? AND category = ''", days).Limit(1).Count(&kept).Error
	return out, kept > 0, translate(err, "popular products")
}

// recsStateID is the one row of recs_states.
const recsStateID = 1

// RecsState returns the rebuild's state (a zero state before the first).
func (s *Store) RecsState(ctx context.Context) (RecsState, error) {
	var st []RecsState
	err := s.db.WithContext(ctx).Where("id = ?", recsStateID).Limit(1).Find(&st).Error
	if err != nil || len(st) == 0 {
		return RecsState{ID: recsStateID, State: "idle"}, translate(err, "recommendation state")
	}
	return st[0], nil
}

// ClaimRecsRebuild takes the rebuild's lease until the given time, unless
// another rebuild holds it: false then, and nothing changes.
func (s *Store) ClaimRecsRebuild(ctx context.Context, now, until time.Time) (bool, error) {
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&RecsState{ID: recsStateID, State: "idle"}).Error; err != nil {
		return false, translate(err, "recommendation state")
	}
	res := db.Model(&RecsState{}).Where("id = ? AND (lease_until IS NULL OR lease_until < ?)", recsStateID, now).
		Updates(map[string]any{"state": "running", "lease_until": until, "started_at": now, "error": ""})
	return res.RowsAffected == 1, translate(res.Error, "recommendation state")
}

// FinishRecsRebuild releases the lease and records how the rebuild went:
// st's State, FinishedAt, TookMS and Error always; its model, evaluation
// and auto choice when Model is set (a rebuild that built one).
func (s *Store) FinishRecsRebuild(ctx context.Context, st RecsState) error {
	set := map[string]any{"state": st.State, "lease_until": nil, "finished_at": st.FinishedAt, "took_ms": st.TookMS, "error": st.Error}
	if st.Model != nil {
		set["model"], set["built_at"], set["evaluation"], set["auto"], set["auto_reason"] = st.Model, st.BuiltAt, st.Evaluation, st.Auto, st.AutoReason
	}
	err := s.db.WithContext(ctx).Model(&RecsState{}).Where("id = ?", recsStateID).Updates(set).Error
	return translate(err, "recommendation state")
}

// PopularInCategory counts the best sellers since a time, in the given
// categories (all categories when none is given), most orders first: the
// best sellers of a window the last rebuild did not keep.
func (s *Store) PopularInCategory(ctx context.Context, categories []string, since time.Time, limit int) ([]string, error) {
	q := s.db.WithContext(ctx).Table("order_items").
		Select("order_items.sku").
		Joins("JOIN orders ON orders.id = order_items.order_id").
		Joins("JOIN products ON products.sku = order_items.sku").
		Where("orders.occurred_at >= ?", since)
	if len(categories) > 0 {
		q = q.Where("products.category IN ?", categories)
	}
	var skus []string
	err := q.Group("order_items.sku").Order("COUNT(DISTINCT order_items.order_id) DESC, order_items.sku").Limit(limit).Pluck("order_items.sku", &skus).Error
	return skus, translate(err, "popular products")
}

// ProductCategories maps every product's SKU to its category.
func (s *Store) ProductCategories(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.WithContext(ctx).Model(&Product{}).Select("sku, category").Rows()
	if err != nil {
		return nil, translate(err, "products")
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var sku string
		var cat *string
		if err := rows.Scan(&sku, &cat); err != nil {
			return nil, translate(err, "products")
		}
		if cat != nil {
			out[sku] = *cat
		} else {
			out[sku] = ""
		}
	}
	return out, translate(rows.Err(), "products")
}

// CountOrderLines counts the order lines on record.
func (s *Store) CountOrderLines(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OrderItem{}).Count(&n).Error
	return n, translate(err, "order items")
}

// RecentOrders returns the latest n orders with their products, newest
// first, one per customer (their latest).
func (s *Store) RecentOrders(ctx context.Context, n int) ([]OrderLines, error) {
	db := s.db.WithContext(ctx)
	var orders []Order
	if err := db.Select("id, customer_id, occurred_at").Order("occurred_at DESC, id").Limit(4 * n).Find(&orders).Error; err != nil {
		return nil, translate(err, "orders")
	}
	seen := map[string]bool{}
	var out []OrderLines
	var ids []string
	for _, o := range orders {
		if seen[o.CustomerID] || len(out) == n {
			continue
		}
		seen[o.CustomerID] = true
		out = append(out, OrderLines{ID: o.ID, CustomerID: o.CustomerID, OccurredAt: o.OccurredAt})
		ids = append(ids, o.ID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var items []OrderItem
	if err := db.Select("order_id, sku").Where("order_id IN ?", ids).Order("order_id, sku").Find(&items).Error; err != nil {
		return nil, translate(err, "order items")
	}
	byID := map[string][]string{}
	for _, it := range items {
		byID[it.OrderID] = append(byID[it.OrderID], it.SKU)
	}
	for i := range out {
		out[i].SKUs = byID[out[i].ID]
	}
	return out, nil
}
