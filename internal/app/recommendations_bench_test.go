package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// history fills a PostgreSQL store with lines order lines, three per
// order over 2,000 products of skewed popularity (power(random(), 3)
// favours a few best sellers, as real catalogues do), customers with
// about seven orders each, over a year.
func history(b *testing.B, s *models.Store, lines int) {
	b.Helper()
	orders := (lines + 2) / 3
	for _, q := range []string{
		`INSERT INTO customers (id, email, timezone, locale, consent, created_at, updated_at)
		 SELECT 'c' || g, 'c' || g || '@example.com', 'UTC', 'en', false, now(), now() FROM generate_series(0, ` + itoa(orders/7) + `) AS g`,
		`INSERT INTO products (sku, name, category, price_minor, currency, in_stock, created_at, updated_at)
		 SELECT 'p' || g, 'p' || g, 'cat' || (g % 20), 1000, 'USD', true, now(), now() FROM generate_series(0, 1999) AS g`,
		`INSERT INTO orders (id, customer_id, currency, revenue_minor, occurred_at, created_at)
		 SELECT 'o' || g, 'c' || (g % ` + itoa(orders/7) + `), 'USD', 3000, now() - (g % 365) * interval '1 day', now() FROM generate_series(0, ` + itoa(orders-1) + `) AS g`,
		`INSERT INTO order_items (order_id, sku, quantity, price_minor)
		 SELECT order_id, sku, COUNT(*), 1000 FROM (
		   SELECT 'o' || (g / 3) AS order_id, 'p' || floor(power(random(), 3) * 2000)::int AS sku
		   FROM generate_series(0, ` + itoa(lines-1) + `) AS g) l GROUP BY order_id, sku`,
		`ANALYZE`,
	} {
		if err := s.DB().Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkRecommendationRebuild rebuilds the model (pairs, the
// customers' linear model, best sellers, the evaluation) from 100,000
// order lines in PostgreSQL, then from the same history with one order of
// 10,000 lines added (as an import before the 500-line bound could have
// stored it), in the same run: pair mining samples 100 of its products,
// so the order costs about what 100 lines do, not the square of 10,000.
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench RecommendationRebuild -benchtime 3x ./internal/app/
func BenchmarkRecommendationRebuild(b *testing.B) {
	s := testdb.Postgres(b)
	history(b, s, 100_000)
	bundle := apptest.New(b, s)
	ctx := context.Background()
	rebuild := func(b *testing.B) {
		for b.Loop() {
			bundle.SetNow(bundle.Clock().Add(time.Hour)) // past the last lease
			st, err := bundle.App.RebuildRecommendations(ctx)
			if err != nil || st.State != "idle" {
				b.Fatalf("%v %+v", err, st)
			}
			b.ReportMetric(float64(st.Model.Pairs), "pairs")
			b.ReportMetric(float64(st.Model.SampledOrders), "sampled-orders")
		}
	}
	b.Run("history", rebuild)
	if err := s.DB().Exec(`INSERT INTO orders (id, customer_id, currency, revenue_minor, occurred_at, created_at) VALUES ('huge', 'c1', 'USD', 0, now(), now())`).Error; err != nil {
		b.Fatal(err)
	}
	if err := s.DB().Exec(`INSERT INTO order_items (order_id, sku, quantity, price_minor) SELECT 'huge', 'x' || g, 1, 100 FROM generate_series(1, 10000) AS g`).Error; err != nil {
		b.Fatal(err)
	}
	b.Run("history+10000-line-order", rebuild)
}

// BenchmarkEvaluation scores every strategy on 1,000,000 order lines in
// PostgreSQL (a seeded sample of customers: LIFT_RECS_EVAL_MAX_LINES,
// 300,000 lines), beside a plain SQL count of each product's orders over
// the same table (the best sellers, the cheapest question one can ask of
// it), in the same run.
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench Evaluation -benchtime 1x -timeout 30m ./internal/app/
func BenchmarkEvaluation(b *testing.B) {
	s := testdb.Postgres(b)
	history(b, s, 1_000_000)
	bundle := apptest.New(b, s)
	ctx := context.Background()
	b.Run("sql-popularity-count", func(b *testing.B) {
		for b.Loop() {
			var n int64
			if err := s.DB().Raw(`SELECT COUNT(*) FROM (SELECT sku, COUNT(*) FROM order_items GROUP BY sku) t`).Scan(&n).Error; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			rep, err := bundle.App.EvaluateRecommendations(ctx, app.EvaluateInput{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rep.Protocols[0].Cases+rep.Protocols[1].Cases), "cases")
		}
	})
}

// BenchmarkRecommendAtSend is what one send (or preview) pays for its
// recommendations at 1,000,000 order lines in PostgreSQL, after a
// rebuild: popular_in_category from the precomputed best sellers, against
// bought_together (indexed pairs) and against counting the window's best
// sellers per send, as Lift did before (popular_in_category took 0.35 s a
// preview on 81,000 lines in SQLite), in the same run.
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench RecommendAtSend -timeout 30m ./internal/app/
func BenchmarkRecommendAtSend(b *testing.B) {
	s := testdb.Postgres(b)
	history(b, s, 1_000_000)
	bundle := apptest.New(b, s)
	ctx := context.Background()
	if _, err := bundle.App.RebuildRecommendations(ctx); err != nil {
		b.Fatal(err)
	}
	step := func(strategy campaign.Strategy) campaign.Step {
		return campaign.Step{ID: "s", Recommend: &campaign.Recommend{Strategy: strategy, Limit: 3}}
	}
	for _, strategy := range []campaign.Strategy{campaign.StrategyPopularInCategory, campaign.StrategyBoughtTogether} {
		b.Run(string(strategy), func(b *testing.B) {
			for b.Loop() {
				res, _, err := bundle.App.StepRecommendations(ctx, step(strategy), "c1", []string{"p1"})
				if err != nil || len(res.Picks) == 0 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
	b.Run("live-sql-popularity (before)", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.PopularInCategory(ctx, []string{"cat1"}, bundle.Clock().Add(-90*24*time.Hour), 100); err != nil {
				b.Fatal(err)
			}
		}
	})
}
