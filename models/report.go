package models

import (
	"context"
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
	// Sent, Unsubscribed and Complained count the emails of the
	// variant's enrolments (by the variant assigned at enrolment, even
	// if a promotion later moved them to the winner).
	Sent         int64
	Unsubscribed int64
	Complained   int64
}

// StepTotals is one step of one variant: its emails and what they earned.
type StepTotals struct {
	Variant      string
	StepID       string
	Sent         int64
	Delivered    int64
	Bounced      int64
	Opens        int64 // unique human opens
	Clicks       int64 // unique clicks
	Unsubscribed int64
	Complained   int64
	Conversions  int64 // attributed to this step
	RevenueMinor int64
}

// CampaignReport sums a campaign's enrolments, emails and conversions by
// variant and by step, for the enrolments that started in [from, to). It
// runs three aggregate queries; nothing is summed in Go.
func (s *Store) CampaignReport(ctx context.Context, campaignID string, from, to time.Time) ([]VariantTotals, []StepTotals, error) {
	db := s.db.WithContext(ctx)
	var variants []VariantTotals
	err := db.Raw(`
SELECT e.variant AS variant, COUNT(*) AS enrolled, COUNT(c.enrollment_id) AS converted,
	CAST(COALESCE(SUM(c.revenue), 0) AS BIGINT) AS revenue_minor,
	COALESCE(SUM(CAST(c.revenue AS DOUBLE PRECISION) * c.revenue), 0) AS revenue_sum_sq,
	CAST(COALESCE(SUM(m.sent), 0) AS BIGINT) AS sent, CAST(COALESCE(SUM(m.unsubscribed), 0) AS BIGINT) AS unsubscribed,
	CAST(COALESCE(SUM(m.complained), 0) AS BIGINT) AS complained
FROM enrollments e
LEFT JOIN (SELECT enrollment_id, SUM(revenue_minor) AS revenue FROM conversions WHERE campaign_id = ? GROUP BY enrollment_id) c
	ON c.enrollment_id = e.id
LEFT JOIN (SELECT enrollment_id, COUNT(sent_at) AS sent, COUNT(unsubscribed_at) AS unsubscribed, COUNT(complained_at) AS complained
	FROM messages WHERE campaign_id = ? GROUP BY enrollment_id) m ON m.enrollment_id = e.id
WHERE e.campaign_id = ? AND e.enrolled_at >= ? AND e.enrolled_at < ?
GROUP BY e.variant ORDER BY e.variant`, campaignID, campaignID, campaignID, from, to).Scan(&variants).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	var sends []StepTotals
	err = db.Raw(`
SELECT m.variant AS variant, m.step_id AS step_id, COUNT(m.sent_at) AS sent,
	COUNT(CASE WHEN m.delivery = 'delivered' THEN 1 END) AS delivered, COUNT(CASE WHEN m.delivery = 'bounced' THEN 1 END) AS bounced,
	COUNT(m.opened_at) AS opens, COUNT(m.clicked_at) AS clicks,
	COUNT(m.unsubscribed_at) AS unsubscribed, COUNT(m.complained_at) AS complained
FROM messages m JOIN enrollments e ON e.id = m.enrollment_id
WHERE e.campaign_id = ? AND e.enrolled_at >= ? AND e.enrolled_at < ?
GROUP BY m.variant, m.step_id`, campaignID, from, to).Scan(&sends).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	var earned []StepTotals
	err = db.Raw(`
SELECT c.variant AS variant, c.step_id AS step_id, COUNT(*) AS conversions, CAST(COALESCE(SUM(c.revenue_minor), 0) AS BIGINT) AS revenue_minor
FROM conversions c JOIN enrollments e ON e.id = c.enrollment_id
WHERE e.campaign_id = ? AND e.enrolled_at >= ? AND e.enrolled_at < ? AND c.step_id <> ''
GROUP BY c.variant, c.step_id`, campaignID, from, to).Scan(&earned).Error
	if err != nil {
		return nil, nil, translate(err, "report")
	}
	type key struct{ variant, step string }
	byKey := map[key]int{}
	for i, st := range sends {
		byKey[key{st.Variant, st.StepID}] = i
	}
	for _, e := range earned {
		i, ok := byKey[key{e.Variant, e.StepID}]
		if !ok {
			sends = append(sends, StepTotals{Variant: e.Variant, StepID: e.StepID})
			i = len(sends) - 1
		}
		sends[i].Conversions, sends[i].RevenueMinor = e.Conversions, e.RevenueMinor
	}
	return variants, sends, nil
}
