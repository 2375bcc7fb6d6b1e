package models_test

import (
	"context"
	"testing"

	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// BenchmarkAffinityRebuild rebuilds bought_together's affinities from
// 1,000,000 generated order lines (merged into one line per SKU and order,
// as Lift stores them) in PostgreSQL (about 333,000 orders over 2,000
// products with skewed popularity), in SQL (what Lift does) against a
// naive in-memory Go pass that reads every line, counts pairs in maps and
// writes the result back, in the same run:
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench AffinityRebuild -benchtime 1x ./models/
func BenchmarkAffinityRebuild(b *testing.B) {
	s := testdb.Postgres(b) // a schema of its own, migrated
	ctx := context.Background()
	var err error
	// One million lines, three per order; power(random(), 3) skews towards
	// a few best sellers, as real catalogues are.
	err = s.DB().Exec(`INSERT INTO orders (id, customer_id, currency, revenue_minor, occurred_at, created_at)
		SELECT 'o' || g, 'c' || (g % 50000), 'USD', 3000, now(), now() FROM generate_series(0, 333333) AS g`).Error
	if err != nil {
		b.Fatal(err)
	}
	err = s.DB().Exec(`INSERT INTO order_items (order_id, sku, quantity, price_minor)
		SELECT order_id, sku, COUNT(*), 1000 FROM (
		  SELECT 'o' || (g / 3) AS order_id, 'p' || floor(power(random(), 3) * 2000)::int AS sku
		  FROM generate_series(0, 999999) AS g) lines
		GROUP BY order_id, sku`).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := s.DB().Exec("ANALYZE order_items").Error; err != nil {
		b.Fatal(err)
	}
	const minSupport = 3
	var sqlPairs, goPairs int64
	b.Run("sql", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if sqlPairs, err = s.RebuildAffinities(ctx, minSupport); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(sqlPairs), "pairs")
	})
	b.Run("naive-go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if goPairs, err = naiveRebuild(ctx, s, minSupport); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(goPairs), "pairs")
	})
	if sqlPairs != goPairs {
		b.Fatalf("the two passes disagree: sql %d pairs, go %d", sqlPairs, goPairs)
	}
}

// naiveRebuild is the obvious Go implementation: stream every line,
// build baskets, count items and pairs in maps, write the pairs back.
func naiveRebuild(ctx context.Context, s *models.Store, minSupport int64) (int64, error) {
	rows, err := s.DB().WithContext(ctx).Raw("SELECT DISTINCT order_id, sku FROM order_items ORDER BY order_id").Rows()
	if err != nil {
		return 0, err
	}
	type pair struct{ a, b string }
	items, pairs := map[string]int64{}, map[pair]int64{}
	var orders int64
	var current string
	var basket []string
	flush := func() {
		if len(basket) == 0 {
			return
		}
		orders++
		for _, x := range basket {
			items[x]++
			for _, y := range basket {
				if x != y {
					pairs[pair{x, y}]++
				}
			}
		}
		basket = basket[:0]
	}
	for rows.Next() {
		var orderID, sku string
		if err := rows.Scan(&orderID, &sku); err != nil {
			rows.Close()
			return 0, err
		}
		if orderID != current {
			flush()
			current = orderID
		}
		basket = append(basket, sku)
	}
	rows.Close()
	flush()
	var out []models.Affinity
	for p, n := range pairs {
		if n < minSupport {
			continue
		}
		conf := float64(n) / float64(items[p.a])
		out = append(out, models.Affinity{SKUA: p.a, SKUB: p.b, Orders: n, Confidence: conf,
			Lift: conf / (float64(items[p.b]) / float64(orders))})
	}
	if err := s.DB().WithContext(ctx).Exec("DELETE FROM affinities").Error; err != nil {
		return 0, err
	}
	if err := s.DB().WithContext(ctx).CreateInBatches(out, 1000).Error; err != nil {
		return 0, err
	}
	return int64(len(out)), nil
}
