package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VariantTotals is one variant's enrolments and their outcomes over a
// period (enrolments that started in it). The holdout is a variant too.
type VariantTotals struct {
	Variant      string
	Enrolled     int64
	Converted    int64 // enrolments with at least one conversion
	RevenueMinor int64
	// RevenueSumSq is the sum over enrolments of the squared revenue
	// (minor units), for the variance of revenue per recipient.
	RevenueSumSq float64
	// Sent, Delivered, Bounced, Unsubscribed and Complained count the
	// emails of the variant's enrolments (by the variant assigned at
	// enrolment, even if a promotion later moved them to the winner):
	// every column of a variant's row counts the same population.
	Sent         int64
	Delivered    int64
	Bounced      int64
	Unsubscribed int64
	Complained   int64
	// SentAfterMove is how many of Sent went out as another variant: the
	// promoted winner these enrolments were moved to.
	SentAfterMove int64
}

// StepTotals is one step of one variant: its emails and what they earned.
type StepTotals struct {
	Variant      string
	StepID       string
	Sent         int64
	Delivered    int64
	Bounced      int64
	Opens        int64 // unique human opens; a click counts as one (images off: no open is seen)
	Clicks       int64 // unique clicks
	Unsubscribed int64
	Complained   int64
	Conversions  int64 // attributed to this step
	RevenueMinor int64
	// Strategies counts the step's sent emails by the recommendation
	// strategy that answered (after any fallback).
	Strategies map[string]int64 `gorm:"-"`
}

// CampaignReport sums a campaign's enrolments, emails and conversions by
// variant and by step, for the enrolments that started in [from, to)
// (on one version, or every version when version is 0). It
// runs three aggregate queries, each reading its table once; Go only
// merges their small results. Variant totals count by the variant
// assigned at enrolment, step totals by the variant that sent the email
// (they differ only for enrolments moved to a promoted winner).
func (s *Store) CampaignReport(ctx context.Context, campaignID string, version int, from, to time.Time) ([]VariantTotals, []StepTotals, error) {
	db := s.db.WithContext(ctx)
	var variants []VariantTotals
	err := db.Raw(`
SELECT e.variant AS variant, COUNT(*) AS enrolled, COUNT(c.enrollment_id) AS converted,
	CAST(COALESCE(SUM(c.revenue), 0) AS BIGINT) AS revenue_minor,
	COALESCE(SUM(CAST(c.revenue AS DOUBLE PRECISION) * c.revenue), 0) AS revenue_sum_sq
FROM enrollments e
LEFT JOIN (SELECT enrollment_id, SUM(revenue_minor) AS revenue FROM conversions WHERE campaign_id = ? GROUP BY enrollment_id) c
	ON c.enrollment_id = e.id
WHERE e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ?
GROUP BY e.variant ORDER BY e.variant`, campaignID, campaignID, version, version, from, to).Scan(&variants).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	var sends []struct {
		Assigned string
		StepTotals
	}
	err = db.Raw(`
SELECT e.variant AS assigned, m.variant AS variant, m.step_id AS step_id, COUNT(m.sent_at) AS sent,
	COUNT(CASE WHEN m.delivery = 'delivered' THEN 1 END) AS delivered, COUNT(CASE WHEN m.delivery = 'bounced' THEN 1 END) AS bounced,
	COUNT(CASE WHEN m.opened_at IS NOT NULL OR m.clicked_at IS NOT NULL THEN 1 END) AS opens, COUNT(m.clicked_at) AS clicks,
	COUNT(m.unsubscribed_at) AS unsubscribed, COUNT(m.complained_at) AS complained
FROM messages m JOIN enrollments e ON e.id = m.enrollment_id
WHERE m.campaign_id = ? AND e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ?
GROUP BY e.variant, m.variant, m.step_id`, campaignID, campaignID, version, version, from, to).Scan(&sends).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	// A conversion is credited to the email's step as that email was sent:
	// by the message's variant, which differs from the enrolment's after a
	// promotion moved it.
	var earned []StepTotals
	err = db.Raw(`
SELECT COALESCE(m.variant, c.variant) AS variant, c.step_id AS step_id, COUNT(*) AS conversions,
	CAST(COALESCE(SUM(c.revenue_minor), 0) AS BIGINT) AS revenue_minor
FROM conversions c JOIN enrollments e ON e.id = c.enrollment_id
LEFT JOIN messages m ON m.id = c.message_id
WHERE c.campaign_id = ? AND e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ? AND c.step_id <> ''
GROUP BY COALESCE(m.variant, c.variant), c.step_id`, campaignID, campaignID, version, version, from, to).Scan(&earned).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	byVariant := map[string]int{}
	for i, v := range variants {
		byVariant[v.Variant] = i
	}
	type key struct{ variant, step string }
	byKey := map[key]int{}
	var steps []StepTotals
	for _, row := range sends {
		if i, ok := byVariant[row.Assigned]; ok {
			v := &variants[i]
			v.Sent += row.Sent
			v.Delivered += row.Delivered
			v.Bounced += row.Bounced
			v.Unsubscribed += row.Unsubscribed
			v.Complained += row.Complained
			if row.Variant != row.Assigned {
				v.SentAfterMove += row.Sent
			}
		}
		k := key{row.Variant, row.StepID}
		i, ok := byKey[k]
		if !ok {
			steps = append(steps, StepTotals{Variant: row.Variant, StepID: row.StepID})
			i = len(steps) - 1
			byKey[k] = i
		}
		st := &steps[i]
		st.Sent += row.Sent
		st.Delivered += row.Delivered
		st.Bounced += row.Bounced
		st.Opens += row.Opens
		st.Clicks += row.Clicks
		st.Unsubscribed += row.Unsubscribed
		st.Complained += row.Complained
	}
	for _, e := range earned {
		i, ok := byKey[key{e.Variant, e.StepID}]
		if !ok {
			steps = append(steps, StepTotals{Variant: e.Variant, StepID: e.StepID})
			i = len(steps) - 1
			byKey[key{e.Variant, e.StepID}] = i
		}
		steps[i].Conversions, steps[i].RevenueMinor = e.Conversions, e.RevenueMinor
	}
	// Which strategy answered each step's recommendations, so a fallback
	// shows where it happens, not only message by message.
	var mix []struct {
		Variant, StepID, Strategy string
		Sent                      int64
	}
	err = db.Raw(`
SELECT m.variant AS variant, m.step_id AS step_id, m.strategy AS strategy, COUNT(*) AS sent
FROM messages m JOIN enrollments e ON e.id = m.enrollment_id
WHERE m.campaign_id = ? AND e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ?
	AND m.sent_at IS NOT NULL AND m.strategy IS NOT NULL AND m.strategy <> ''
GROUP BY m.variant, m.step_id, m.strategy`, campaignID, campaignID, version, version, from, to).Scan(&mix).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	for _, m := range mix {
		if i, ok := byKey[key{m.Variant, m.StepID}]; ok {
			if steps[i].Strategies == nil {
				steps[i].Strategies = map[string]int64{}
			}
			steps[i].Strategies[m.Strategy] += m.Sent
		}
	}
	return variants, steps, nil
}

// LagBucket counts conversions by the time from the credited email's
// send to the order.
type LagBucket struct {
	Variant     string
	Bucket      int // index into LagBuckets
	Conversions int64
}

// LagBuckets are the attribution-lag buckets' upper bounds in sequence
// days (the last is open): under an hour, 6 hours, a day, 3 days, 7 days,
// and later.
var LagBuckets = []struct {
	Label string
	Days  float64
}{{"<1h", 1.0 / 24}, {"1h-6h", 0.25}, {"6h-1d", 1}, {"1d-3d", 3}, {"3d-7d", 7}, {">=7d", 0}}

// AttributionLag buckets the period's credited conversions by lag. day
// is the length of a sequence day (24h except in demos).
func (s *Store) AttributionLag(ctx context.Context, campaignID string, version int, from, to time.Time, day time.Duration) ([]LagBucket, error) {
	var cases strings.Builder
	cases.WriteString("CASE")
	args := []any{}
	for i, b := range LagBuckets[:len(LagBuckets)-1] {
		fmt.Fprintf(&cases, " WHEN c.lag_seconds < ? THEN %d", i)
		args = append(args, int64(b.Days*day.Seconds()))
	}
	fmt.Fprintf(&cases, " ELSE %d END", len(LagBuckets)-1)
	var out []LagBucket
	err := s.db.WithContext(ctx).Raw(`
SELECT variant, bucket, COUNT(*) AS conversions FROM (
	SELECT c.variant AS variant, `+cases.String()+` AS bucket
	FROM conversions c JOIN enrollments e ON e.id = c.enrollment_id
	WHERE e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ? AND c.lag_seconds IS NOT NULL) x
GROUP BY variant, bucket ORDER BY variant, bucket`, append(args, campaignID, version, version, from, to)...).Scan(&out).Error
	return out, translate(err, "report")
}

// Cohort is the revenue of one group's enrolments (emailed or holdout)
// from all the customer's orders within a horizon after enrolment, over
// the enrolments old enough to have lived the whole horizon.
type Cohort struct {
	Group        string // "emailed" or "holdout"
	Enrolments   int64
	RevenueMinor int64
	RevenueSumSq float64
}

// LifetimeValue sums, for each horizon, each customer's order revenue in
// the horizon after enrolment, for the emailed and the holdout groups,
// over the period's enrolments that started at least that horizon before
// now. One pass over the enrolments and their orders serves every
// horizon: the result has one []Cohort per horizon, in order.
func (s *Store) LifetimeValue(ctx context.Context, campaignID string, version int, from, to, now time.Time, horizons []time.Duration) ([][]Cohort, error) {
	out := make([][]Cohort, len(horizons))
	if len(horizons) == 0 {
		return out, nil
	}
	// SQLite holds times as text in Go's format ("2006-01-02 15:04:05
	// +0000 UTC", all UTC): its first 19 characters are what datetime()
	// reads and compare in order.
	start, at, end := "substr(e.enrolled_at, 1, 19)", "substr(o.occurred_at, 1, 19)", "datetime(substr(e.enrolled_at, 1, 19), '+' || ? || ' seconds')"
	if s.postgres {
		start, at, end = "e.enrolled_at", "o.occurred_at", "e.enrolled_at + (? * INTERVAL '1 second')"
	}
	longest, shortest := slices.Max(horizons), slices.Min(horizons)
	if matured := now.Add(-shortest); matured.Before(to) {
		to = matured // no enrolment after this has lived any horizon
	}
	var inner, outer strings.Builder
	var innerArgs []any
	for i, h := range horizons {
		fmt.Fprintf(&inner, ", COALESCE(SUM(CASE WHEN %s <= %s THEN o.revenue_minor END), 0) AS r%d", at, end, i)
		fmt.Fprintf(&inner, ", MAX(CASE WHEN e.enrolled_at < ? THEN 1 ELSE 0 END) AS m%d", i)
		innerArgs = append(innerArgs, int64(h.Seconds()), now.Add(-h))
		fmt.Fprintf(&outer, ", SUM(m%[1]d), CAST(COALESCE(SUM(m%[1]d * r%[1]d), 0) AS BIGINT), COALESCE(SUM(m%[1]d * CAST(r%[1]d AS DOUBLE PRECISION) * r%[1]d), 0)", i)
	}
	query := `
SELECT grp` + outer.String() + `
FROM (
	SELECT e.id, CASE WHEN e.variant = 'holdout' THEN 'holdout' ELSE 'emailed' END AS grp` + inner.String() + `
	FROM enrollments e
	LEFT JOIN orders o ON o.customer_id = e.customer_id AND ` + at + ` > ` + start + ` AND ` + at + ` <= ` + end + `
	WHERE e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ?
	GROUP BY e.id, e.variant) x
GROUP BY grp ORDER BY grp`
	args := append(innerArgs, int64(longest.Seconds()), campaignID, version, version, from, to)
	rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, translate(err, "report")
	}
	defer rows.Close()
	for rows.Next() {
		var group string
		n, sum, sq := make([]int64, len(horizons)), make([]int64, len(horizons)), make([]float64, len(horizons))
		dst := []any{&group}
		for i := range horizons {
			dst = append(dst, &n[i], &sum[i], &sq[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, translate(err, "report")
		}
		for i := range horizons {
			if n[i] > 0 {
				out[i] = append(out[i], Cohort{Group: group, Enrolments: n[i], RevenueMinor: sum[i], RevenueSumSq: sq[i]})
			}
		}
	}
	return out, translate(rows.Err(), "report")
}

// SegmentRow is a customer who opened a step's email and did not convert.
type SegmentRow struct {
	CustomerID string
	Email      string
	StepID     string
	Variant    string
	OpenedAt   *time.Time // the first human open
	ClickedAt  *time.Time
}

// OpenedNotConverted calls fn for each of the period's enrolments that
// opened (a human open) or clicked a step's email (all steps when step
// is "") and neither converted nor left (unsubscribed, complained,
// bounced, suppressed), whose customer gave marketing consent — an
// audience for paid channels. Rows come in customer order, a page at a
// time, so a slow reader never holds a connection (SQLite has one).
func (s *Store) OpenedNotConverted(ctx context.Context, campaignID string, version int, step string, from, to time.Time, fn func(SegmentRow) error) error {
	const page = 1000
	q := `
SELECT m.id AS id, m.customer_id AS customer_id, cu.email AS email, m.step_id AS step_id, m.variant AS variant,
	m.opened_at AS opened_at, m.clicked_at AS clicked_at
FROM messages m
JOIN enrollments e ON e.id = m.enrollment_id
JOIN customers cu ON cu.id = m.customer_id
WHERE e.campaign_id = ? AND (? = 0 OR e.version = ?) AND e.enrolled_at >= ? AND e.enrolled_at < ?
	AND (m.opened_at IS NOT NULL OR m.clicked_at IS NOT NULL) AND cu.consent
	AND NOT EXISTS (SELECT 1 FROM messages left_ WHERE left_.enrollment_id = e.id
		AND (left_.unsubscribed_at IS NOT NULL OR left_.complained_at IS NOT NULL))
	AND e.status NOT IN ('converted', 'unsubscribed', 'complained', 'bounced', 'no_consent', 'suppressed')
	AND NOT EXISTS (SELECT 1 FROM conversions c WHERE c.enrollment_id = e.id)
	AND (m.customer_id, m.step_id, m.id) > (?, ?, ?)`
	var after [3]string
	for {
		args := []any{campaignID, version, version, from, to, after[0], after[1], after[2]}
		sql := q
		if step != "" {
			sql += " AND m.step_id = ?"
			args = append(args, step)
		}
		var rows []struct {
			ID string
			SegmentRow
		}
		if err := s.db.WithContext(ctx).Raw(sql+" ORDER BY m.customer_id, m.step_id, m.id LIMIT ?", append(args, page)...).
			Scan(&rows).Error; err != nil {
			return translate(err, "segment")
		}
		if len(rows) == 0 {
			return nil
		}
		hashes := make([]string, len(rows))
		for i, r := range rows {
			hashes[i] = HashEmail(r.Email)
		}
		var suppressed []string
		if err := s.db.WithContext(ctx).Model(&Suppression{}).Where("email_hash IN ? AND campaign_id IN ?", hashes, []string{"", campaignID}).
			Pluck("email_hash", &suppressed).Error; err != nil {
			return translate(err, "segment")
		}
		skip := make(map[string]bool, len(suppressed))
		for _, h := range suppressed {
			skip[h] = true
		}
		for i, r := range rows {
			if skip[hashes[i]] {
				continue
			}
			if err := fn(r.SegmentRow); err != nil {
				return err
			}
		}
		last := rows[len(rows)-1]
		after = [3]string{last.CustomerID, last.StepID, last.ID}
	}
}

// Currencies lists the currencies of the orders of the customers who
// enrolled in the campaign in [from, to) (on one version, or every version
// when version is 0): the money a report over them counts.
func (s *Store) Currencies(ctx context.Context, campaignID string, version int, from, to time.Time) ([]string, error) {
	q := s.db.WithContext(ctx).Table("orders").Distinct("orders.currency").
		Joins("JOIN enrollments ON enrollments.customer_id = orders.customer_id").
		Where("enrollments.campaign_id = ? AND enrollments.enrolled_at >= ? AND enrollments.enrolled_at < ?", campaignID, from, to)
	if version != 0 {
		q = q.Where("enrollments.version = ?", version)
	}
	var out []string
	err := q.Order("orders.currency").Pluck("orders.currency", &out).Error
	return out, translate(err, "orders")
}
