package models

import (
	"context"
	"time"

	"gorm.io/gorm"
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

// RebuildRecommendations rebuilds everything the history-based strategies
// read: bought_together's affinities, then similar_customers'
// similarities. It returns each table's pair count.
func (s *Store) RebuildRecommendations(ctx context.Context, minSupport int) (affinities, similarities int64, err error) {
	if affinities, err = s.RebuildAffinities(ctx, minSupport); err != nil {
		return 0, 0, err
	}
	similarities, err = s.RebuildSimilarities(ctx, minSupport)
	return affinities, similarities, err
}

// CountBuyers counts the customers with at least one order:
// similar_customers needs enough of them to say anything.
func (s *Store) CountBuyers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Order{}).Distinct("customer_id").Count(&n).Error
	return n, translate(err, "orders")
}

// RebuildSimilarities recomputes item-to-item similarity over customers'
// purchase vectors, in SQL: for each pair of products bought by at least
// minSupport of the same customers, the cosine of the two products'
// buyer sets. The table is swapped in one transaction; it returns the
// number of pairs kept.
func (s *Store) RebuildSimilarities(ctx context.Context, minSupport int) (int64, error) {
	// owned: one row per customer and product however often bought.
	return s.rebuildPairs(ctx, "item_similarities", `
WITH owned AS (
  SELECT DISTINCT o.customer_id, i.sku FROM order_items i JOIN orders o ON o.id = i.order_id),
item AS (SELECT sku, COUNT(*) AS customers FROM owned GROUP BY sku),
pair AS (
  SELECT a.sku AS x, b.sku AS y, COUNT(*) AS customers
  FROM owned a JOIN owned b ON a.customer_id = b.customer_id AND a.sku < b.sku
  GROUP BY a.sku, b.sku HAVING COUNT(*) >= ?),
directed AS (
  SELECT x AS sku_a, y AS sku_b, customers FROM pair
  UNION ALL
  SELECT y AS sku_a, x AS sku_b, customers FROM pair)
INSERT INTO item_similarities (sku_a, sku_b, customers, score)
SELECT p.sku_a, p.sku_b, p.customers, p.customers / SQRT(1.0 * ia.customers * ib.customers)
FROM directed p JOIN item ia ON ia.sku = p.sku_a JOIN item ib ON ib.sku = p.sku_b`, minSupport)
}

// Similar returns, for products whose buyers resemble the buyers of any
// of skus, the most similar first.
func (s *Store) Similar(ctx context.Context, skus []string, limit int) ([]ItemSimilarity, error) {
	var out []ItemSimilarity
	if len(skus) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("score DESC, customers DESC, sku_b").Limit(limit).Find(&out).Error
	return out, translate(err, "item similarities")
}

// RebuildAffinities recomputes every pair's co-purchase support,
// confidence and lift from order history, in SQL, keeping pairs bought
// together in at least minSupport orders, and swaps the table in one
// transaction. It returns the number of pairs kept.
func (s *Store) RebuildAffinities(ctx context.Context, minSupport int) (int64, error) {
	// A SKU appears once per order (idx_order_item), so lines count
	// orders without a DISTINCT pass; each unordered pair is counted once
	// (a.sku < b.sku) and written both ways.
	return s.rebuildPairs(ctx, "affinities", `
WITH total AS (SELECT COUNT(*) AS orders FROM (SELECT order_id FROM order_items GROUP BY order_id) o),
item AS (SELECT sku, COUNT(*) AS orders FROM order_items GROUP BY sku),
pair AS (
  SELECT a.sku AS x, b.sku AS y, COUNT(*) AS orders
  FROM order_items a JOIN order_items b ON a.order_id = b.order_id AND a.sku < b.sku
  GROUP BY a.sku, b.sku HAVING COUNT(*) >= ?),
directed AS (
  SELECT x AS sku_a, y AS sku_b, orders FROM pair
  UNION ALL
  SELECT y AS sku_a, x AS sku_b, orders FROM pair)
INSERT INTO affinities (sku_a, sku_b, orders, confidence, lift)
SELECT p.sku_a, p.sku_b, p.orders,
       1.0 * p.orders / ia.orders,
       (1.0 * p.orders / ia.orders) / (1.0 * ib.orders / t.orders)
FROM directed p JOIN item ia ON ia.sku = p.sku_a JOIN item ib ON ib.sku = p.sku_b CROSS JOIN total t`, minSupport)
}

// rebuildPairs empties a pair table and fills it with one INSERT …
// SELECT, in one transaction, so readers see the old pairs or the new,
// never none. It returns the number of rows inserted.
func (s *Store) rebuildPairs(ctx context.Context, table, insert string, args ...any) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			// The pair aggregation is a large hash: let it stay in memory.
			// JIT compilation costs more than it saves on this one statement.
			for _, set := range []string{"SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off"} {
				if err := tx.Exec(set).Error; err != nil {
					return translate(err, table)
				}
			}
		}
		if err := tx.Exec("DELETE FROM " + table).Error; err != nil {
			return translate(err, table)
		}
		res := tx.Exec(insert, args...)
		n = res.RowsAffected
		return translate(res.Error, table)
	})
	return n, err
}

// Affinities returns, for products bought with any of skus, the best
// pairs first (by lift, then support).
func (s *Store) Affinities(ctx context.Context, skus []string, limit int) ([]Affinity, error) {
	var as []Affinity
	if len(skus) == 0 {
		return as, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("lift DESC, orders DESC, sku_b").Limit(limit).Find(&as).Error
	return as, translate(err, "affinities")
}

// PopularInCategory returns the best-selling SKUs since a time, in the
// given categories (all categories when none is given), most orders first.
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
