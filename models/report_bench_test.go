package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// BenchmarkCampaignReport reads a campaign's report over 1,000,000
// messages in PostgreSQL: 300,000 enrolments (a sixth held out), four
// emails to each of the 250,000 emailed, about 5 % converting, spread
// over 60 days, next to another campaign's 200,000 messages. "sql" is the
// report's aggregate queries (what Lift does); "naive-go" loads the same
// rows through GORM and sums them in maps, in the same run, as the
// baseline; "full-sql" adds the attribution-lag and three lifetime-value
// queries the API also runs.
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench CampaignReport -benchtime 3x ./models/
func BenchmarkCampaignReport(b *testing.B) {
	s := testdb.Postgres(b) // a schema of its own, migrated
	ctx := context.Background()
	var err error
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO enrollments (id, customer_id, campaign_id, version, workflow_id, variant, status, emails_sent, revenue_minor, enrolled_at, updated_at)
		 SELECT 'e' || g, 'c' || g, CASE WHEN g % 10 < 8 THEN 'cam' ELSE 'other' END, 1, 'w' || g,
		   CASE WHEN g % 6 = 0 THEN 'holdout' WHEN g % 2 = 0 THEN 'A' ELSE 'B' END, 'completed', 4, 0,
		   ?::timestamptz + (g % 60) * INTERVAL '1 day', now()
		 FROM generate_series(0, 374999) AS g`,
		`INSERT INTO messages (id, idempotency_key, enrollment_id, step_id, customer_id, campaign_id, variant, status, sent_at,
		   delivery, opened_at, clicked_at, unsubscribed_at, created_at, updated_at)
		 SELECT e.id || '/' || s, e.id || '/' || s, e.id, 's' || s, e.customer_id, e.campaign_id, e.variant, 'sent', e.enrolled_at,
		   CASE WHEN random() < 0.98 THEN 'delivered' ELSE 'bounced' END,
		   CASE WHEN random() < 0.3 THEN e.enrolled_at END, CASE WHEN random() < 0.05 THEN e.enrolled_at END,
		   CASE WHEN random() < 0.002 THEN e.enrolled_at END, now(), now()
		 FROM enrollments e CROSS JOIN generate_series(1, 4) AS s WHERE e.variant <> 'holdout'`,
		`INSERT INTO conversions (enrollment_id, order_id, customer_id, campaign_id, variant, goal, revenue_minor, currency, step_id,
		   message_id, lag_seconds, ordered_at, created_at)
		 SELECT e.id, 'o' || e.id, e.customer_id, e.campaign_id, e.variant, 'purchase_any', 1000 + (random() * 9000)::int, 'USD',
		   CASE WHEN e.variant = 'holdout' THEN '' ELSE 's' || (1 + (random() * 3)::int) END, NULL,
		   CASE WHEN e.variant = 'holdout' THEN NULL ELSE (random() * 600000)::int END, e.enrolled_at + INTERVAL '2 days', now()
		 FROM enrollments e WHERE random() < 0.05`,
		`INSERT INTO orders (id, customer_id, currency, revenue_minor, occurred_at, created_at)
		 SELECT order_id, customer_id, 'USD', revenue_minor, ordered_at, now() FROM conversions`,
		`ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "?") {
			args = append(args, t0)
		}
		if err := s.DB().Exec(q, args...).Error; err != nil {
			b.Fatal(err)
		}
	}
	var messages int64
	s.DB().Model(&models.Message{}).Where("campaign_id = ?", "cam").Count(&messages)
	from, to, now := t0, t0.AddDate(0, 3, 0), t0.AddDate(2, 0, 0)
	var sqlSent, goSent int64
	b.Run("sql", func(b *testing.B) {
		b.ReportMetric(float64(messages), "messages")
		for i := 0; i < b.N; i++ {
			variants, _, err := s.CampaignReport(ctx, "cam", 0, from, to)
			if err != nil {
				b.Fatal(err)
			}
			sqlSent = 0
			for _, v := range variants {
				sqlSent += v.Sent
			}
		}
	})
	b.Run("naive-go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if goSent, err = naiveReport(ctx, s, "cam", from, to); err != nil {
				b.Fatal(err)
			}
		}
	})
	if sqlSent != goSent || sqlSent != messages {
		b.Fatalf("the two passes disagree: sql %d sent, go %d, table %d", sqlSent, goSent, messages)
	}
	b.Run("full-sql", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := s.CampaignReport(ctx, "cam", 0, from, to); err != nil {
				b.Fatal(err)
			}
			if _, err := s.AttributionLag(ctx, "cam", 0, from, to, 24*time.Hour); err != nil {
				b.Fatal(err)
			}
			if _, err := s.LifetimeValue(ctx, "cam", 0, from, to, now, []time.Duration{91 * 24 * time.Hour, 182 * 24 * time.Hour, 365 * 24 * time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// naiveReport is the obvious Go implementation of the per-variant and
// per-step sums: load the period's enrolments, their messages and
// conversions, and add them up in maps. It returns the emails sent.
func naiveReport(ctx context.Context, s *models.Store, campaignID string, from, to time.Time) (int64, error) {
	db := s.DB().WithContext(ctx)
	var enrs []models.Enrollment
	if err := db.Select("id", "variant").Where("campaign_id = ? AND enrolled_at >= ? AND enrolled_at < ?", campaignID, from, to).
		Find(&enrs).Error; err != nil {
		return 0, err
	}
	variantOf := make(map[string]string, len(enrs))
	type totals struct{ enrolled, converted, revenue, sent, opens, clicks, unsub int64 }
	byVariant, byStep := map[string]*totals{}, map[[2]string]*totals{}
	get := func(m map[string]*totals, k string) *totals {
		if m[k] == nil {
			m[k] = &totals{}
		}
		return m[k]
	}
	for _, e := range enrs {
		variantOf[e.ID] = e.Variant
		get(byVariant, e.Variant).enrolled++
	}
	var msgs []models.Message
	if err := db.Select("id", "enrollment_id", "step_id", "variant", "sent_at", "opened_at", "clicked_at", "unsubscribed_at").
		Where("campaign_id = ?", campaignID).FindInBatches(&msgs, 20000, func(*gorm.DB, int) error {
		for _, m := range msgs {
			v, ok := variantOf[m.EnrollmentID]
			if !ok || m.SentAt == nil {
				continue
			}
			k := [2]string{m.Variant, m.StepID}
			if byStep[k] == nil {
				byStep[k] = &totals{}
			}
			st := byStep[k]
			st.sent++
			get(byVariant, v).sent++
			if m.OpenedAt != nil {
				st.opens++
			}
			if m.ClickedAt != nil {
				st.clicks++
			}
			if m.UnsubscribedAt != nil {
				st.unsub++
			}
		}
		return nil
	}).Error; err != nil {
		return 0, err
	}
	var convs []models.Conversion
	if err := db.Select("enrollment_id", "revenue_minor").Where("campaign_id = ?", campaignID).Find(&convs).Error; err != nil {
		return 0, err
	}
	for _, c := range convs {
		if v, ok := variantOf[c.EnrollmentID]; ok {
			t := get(byVariant, v)
			t.converted++
			t.revenue += c.RevenueMinor
		}
	}
	var sent int64
	for _, t := range byVariant {
		sent += t.sent
	}
	return sent, nil
}
