package api

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// Interval is an estimate with its 95 % confidence interval.
type Interval = stats.Interval

// VariantReport is one variant's outcome. Against the holdout, the
// differences in conversion rate and revenue per recipient, and the
// incremental conversions and revenue they imply, come with 95 %
// confidence intervals. Revenue is in major units.
type VariantReport struct {
	Variant               string    `json:"variant"`
	Enrolled              int64     `json:"enrolled"`
	Converted             int64     `json:"converted"`
	ConversionRate        float64   `json:"conversion_rate"`
	ConversionRateCI      Interval  `json:"conversion_rate_ci"`
	Revenue               float64   `json:"revenue"`
	RevenuePerRecipient   float64   `json:"revenue_per_recipient"`
	RevenuePerRecipientCI Interval  `json:"revenue_per_recipient_ci"`
	Sent                  int64     `json:"sent"`
	Delivered             int64     `json:"delivered"`
	BounceRate            float64   `json:"bounce_rate"`
	UnsubscribeRate       float64   `json:"unsubscribe_rate"`
	ComplaintRate         float64   `json:"complaint_rate"`
	LiftVsHoldout         *Interval `json:"conversion_lift_vs_holdout,omitempty"`
	IncrementalConv       *float64  `json:"incremental_conversions,omitempty"`
	IncrementalConvCI     *Interval `json:"incremental_conversions_ci,omitempty"`
	RevenueLiftVsHoldout  *Interval `json:"revenue_per_recipient_lift_vs_holdout,omitempty"`
	IncrementalRevenue    *Interval `json:"incremental_revenue,omitempty"`
}

// StepReport is one step of one variant.
type StepReport struct {
	Variant         string  `json:"variant"`
	Step            string  `json:"step"`
	Sent            int64   `json:"sent"`
	Delivered       int64   `json:"delivered"`
	Opens           int64   `json:"unique_opens"`
	Clicks          int64   `json:"unique_clicks"`
	ClickToOpen     float64 `json:"click_to_open_rate"`
	Conversions     int64   `json:"conversions"`
	ConversionRate  float64 `json:"conversion_rate"` // conversions credited per email sent
	Revenue         float64 `json:"revenue"`
	RevenuePerEmail float64 `json:"revenue_per_email"`
	BounceRate      float64 `json:"bounce_rate"`
	UnsubscribeRate float64 `json:"unsubscribe_rate"`
	ComplaintRate   float64 `json:"complaint_rate"`
	ShareOfRevenue  float64 `json:"share_of_sequence_revenue"`
	TrimCandidate   bool    `json:"trim_candidate"`
}

// LagReport is how long after the credited email a variant's customers
// bought: conversions per bucket (in sequence days).
type LagReport struct {
	Variant string       `json:"variant"`
	Buckets []LagBuckets `json:"buckets"`
}

// LagBuckets is one bucket of the attribution lag.
type LagBuckets struct {
	Lag         string  `json:"lag"`
	Conversions int64   `json:"conversions"`
	Share       float64 `json:"share"`
}

// LifetimeValue compares what emailed and held-out customers spent, in
// all orders, over a horizon after enrolment: the lift of the campaign on
// customer lifetime value. Only enrolments old enough to have lived the
// whole horizon count.
type LifetimeValue struct {
	Horizon string       `json:"horizon"` // "3 months"
	Days    int          `json:"days"`
	Emailed CohortReport `json:"emailed"`
	Holdout CohortReport `json:"holdout"`
	Lift    *Interval    `json:"lift_per_customer,omitempty"`
}

// CohortReport is one group's value per enrolment over a horizon.
type CohortReport struct {
	Enrolments       int64   `json:"enrolments"`
	ValuePerCustomer float64 `json:"value_per_customer"`
}

// Report is GET /v1/campaigns/{id}/report.
type Report struct {
	CampaignID      string          `json:"campaign_id"`
	Version         int             `json:"version,omitempty"` // 0: every version
	From            time.Time       `json:"from"`
	To              time.Time       `json:"to"`
	Variants        []VariantReport `json:"variants"`
	Steps           []StepReport    `json:"steps"`
	AttributionLag  []LagReport     `json:"attribution_lag"`
	LifetimeValue   []LifetimeValue `json:"lifetime_value"`
	RevenueCurrency string          `json:"revenue_note"`
}

// trimShare is the share of a variant's step revenue under which a step
// is flagged as a candidate to trim.
const trimShare = 0.05

// ltvHorizons are the lifetime-value horizons, in sequence days.
var ltvHorizons = []struct {
	label string
	days  int
}{{"3 months", 91}, {"6 months", 182}, {"12 months", 365}}

func (h *handlers) campaignReport(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	version, from, to, ok := h.period(c)
	if !ok {
		return
	}
	r, err := h.report(ctx, id, version, from, to)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if wantsCSV(c) {
		writeReportCSV(c, r)
		return
	}
	c.JSON(http.StatusOK, r)
}

// period reads version (default: every version), from and to (RFC 3339;
// default: everything until now) and checks the campaign exists.
func (h *handlers) period(c *gin.Context) (version int, from, to time.Time, ok bool) {
	if _, err := h.Store.GetCampaign(c.Request.Context(), c.Param("id")); err != nil {
		writeError(c, h.Logger, err)
		return 0, from, to, false
	}
	if v := c.Query("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(c, h.Logger, errs.Field(errs.Invalid, "version", "must be a published version number, 1 or more"))
			return 0, from, to, false
		}
		version = n
	}
	to = h.Now().UTC()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(c, h.Logger, errs.Field(errs.Invalid, p.name, "must be an RFC 3339 time like 2026-11-01T00:00:00Z"))
				return 0, from, to, false
			}
			*p.dst = t
		}
	}
	if !from.Before(to) {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "from", "must be before to"))
		return 0, from, to, false
	}
	return version, from, to, true
}

// report reads the totals (aggregate SQL) and derives the rates,
// intervals and shares.
func (h *handlers) report(ctx context.Context, id string, version int, from, to time.Time) (Report, error) {
	variants, steps, err := h.Store.CampaignReport(ctx, id, version, from, to)
	if err != nil {
		return Report{}, err
	}
	r := buildReport(id, from, to, variants, steps)
	r.Version = version
	lags, err := h.Store.AttributionLag(ctx, id, version, from, to, h.Day)
	if err != nil {
		return Report{}, err
	}
	r.AttributionLag = lagReport(lags)
	horizons := make([]time.Duration, len(ltvHorizons))
	for i, hz := range ltvHorizons {
		horizons[i] = time.Duration(hz.days) * h.Day
	}
	cohorts, err := h.Store.LifetimeValue(ctx, id, version, from, to, h.Now().UTC(), horizons)
	if err != nil {
		return Report{}, err
	}
	for i, hz := range ltvHorizons {
		r.LifetimeValue = append(r.LifetimeValue, lifetimeValue(hz.label, hz.days, cohorts[i]))
	}
	return r, nil
}

// buildReport derives the rates, intervals and shares from the totals.
func buildReport(id string, from, to time.Time, variants []models.VariantTotals, steps []models.StepTotals) Report {
	r := Report{CampaignID: id, From: from, To: to, Variants: []VariantReport{}, Steps: []StepReport{},
		AttributionLag: []LagReport{}, LifetimeValue: []LifetimeValue{},
		RevenueCurrency: "revenue is in major units and sums across currencies: a campaign is expected to sell in one"}
	type sums struct{ delivered, bounced, revenue int64 }
	byVariant := map[string]sums{}
	for _, s := range steps {
		v := byVariant[s.Variant]
		v.delivered += s.Delivered
		v.bounced += s.Bounced
		v.revenue += s.RevenueMinor
		byVariant[s.Variant] = v
	}
	var holdout *models.VariantTotals
	for i := range variants {
		if variants[i].Variant == campaign.VariantHoldout {
			holdout = &variants[i]
		}
	}
	for _, v := range variants {
		conv, rev := stats.Bernoulli(v.Converted, v.Enrolled), revenueSample(v)
		vr := VariantReport{Variant: v.Variant, Enrolled: v.Enrolled, Converted: v.Converted,
			ConversionRate: ratio(v.Converted, v.Enrolled), ConversionRateCI: stats.MeanInterval(conv),
			Revenue: float64(v.RevenueMinor) / 100, RevenuePerRecipient: ratio(v.RevenueMinor, v.Enrolled) / 100,
			RevenuePerRecipientCI: major(stats.MeanInterval(rev)), Sent: v.Sent, Delivered: byVariant[v.Variant].delivered,
			BounceRate: ratio(byVariant[v.Variant].bounced, v.Sent), UnsubscribeRate: ratio(v.Unsubscribed, v.Sent),
			ComplaintRate: ratio(v.Complained, v.Sent)}
		if holdout != nil && v.Variant != campaign.VariantHoldout && v.Enrolled > 0 && holdout.Enrolled > 0 {
			lift := stats.DiffInterval(conv, stats.Bernoulli(holdout.Converted, holdout.Enrolled))
			n := float64(v.Enrolled)
			inc := lift.Estimate * n
			incCI := Interval{Estimate: inc, Low: lift.Low * n, High: lift.High * n}
			revLift := major(stats.DiffInterval(rev, revenueSample(*holdout)))
			incRev := Interval{Estimate: revLift.Estimate * n, Low: revLift.Low * n, High: revLift.High * n}
			vr.LiftVsHoldout, vr.IncrementalConv, vr.IncrementalConvCI = &lift, &inc, &incCI
			vr.RevenueLiftVsHoldout, vr.IncrementalRevenue = &revLift, &incRev
		}
		r.Variants = append(r.Variants, vr)
	}
	for _, s := range steps {
		total := byVariant[s.Variant].revenue
		share := ratio(s.RevenueMinor, total)
		r.Steps = append(r.Steps, StepReport{Variant: s.Variant, Step: s.StepID, Sent: s.Sent, Delivered: s.Delivered,
			Opens: s.Opens, Clicks: s.Clicks, ClickToOpen: ratio(s.Clicks, s.Opens), Conversions: s.Conversions,
			ConversionRate: ratio(s.Conversions, s.Sent), Revenue: float64(s.RevenueMinor) / 100,
			RevenuePerEmail: ratio(s.RevenueMinor, s.Sent) / 100, BounceRate: ratio(s.Bounced, s.Sent),
			UnsubscribeRate: ratio(s.Unsubscribed, s.Sent), ComplaintRate: ratio(s.Complained, s.Sent),
			ShareOfRevenue: share, TrimCandidate: total > 0 && share < trimShare})
	}
	slices.SortFunc(r.Steps, func(a, b StepReport) int {
		return cmp.Or(cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.Step, b.Step))
	})
	return r
}

func revenueSample(v models.VariantTotals) stats.Sample {
	return stats.Sample{N: float64(v.Enrolled), Sum: float64(v.RevenueMinor), SumSq: v.RevenueSumSq}
}

// major converts an interval in minor units to major units.
func major(i Interval) Interval {
	return Interval{Estimate: i.Estimate / 100, Low: i.Low / 100, High: i.High / 100}
}

func lagReport(rows []models.LagBucket) []LagReport {
	out := []LagReport{}
	for _, row := range rows {
		if len(out) == 0 || out[len(out)-1].Variant != row.Variant {
			lr := LagReport{Variant: row.Variant}
			for _, b := range models.LagBuckets {
				lr.Buckets = append(lr.Buckets, LagBuckets{Lag: b.Label})
			}
			out = append(out, lr)
		}
		out[len(out)-1].Buckets[row.Bucket].Conversions = row.Conversions
	}
	for _, lr := range out {
		var total int64
		for _, b := range lr.Buckets {
			total += b.Conversions
		}
		for i := range lr.Buckets {
			lr.Buckets[i].Share = ratio(lr.Buckets[i].Conversions, total)
		}
	}
	return out
}

func lifetimeValue(label string, days int, cohorts []models.Cohort) LifetimeValue {
	lv := LifetimeValue{Horizon: label, Days: days}
	var emailed, held stats.Sample
	for _, c := range cohorts {
		s := stats.Sample{N: float64(c.Enrolments), Sum: float64(c.RevenueMinor), SumSq: c.RevenueSumSq}
		cr := CohortReport{Enrolments: c.Enrolments, ValuePerCustomer: s.Mean() / 100}
		if c.Group == campaign.VariantHoldout {
			lv.Holdout, held = cr, s
		} else {
			lv.Emailed, emailed = cr, s
		}
	}
	if emailed.N > 0 && held.N > 0 {
		lift := major(stats.DiffInterval(emailed, held))
		lv.Lift = &lift
	}
	return lv
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// wantsCSV reports whether the client asked for CSV (Accept: text/csv).
func wantsCSV(c *gin.Context) bool {
	return c.NegotiateFormat(gin.MIMEJSON, "text/csv") == "text/csv"
}

// writeReportCSV writes the report as one table: a row per variant
// (level "variant") and per variant and step (level "step").
func writeReportCSV(c *gin.Context, r Report) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-report.csv"`, r.CampaignID))
	w := csv.NewWriter(c.Writer)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	_ = w.Write([]string{"level", "variant", "step", "enrolled", "sent", "delivered", "unique_opens", "unique_clicks",
		"click_to_open_rate", "conversions", "conversion_rate", "revenue", "revenue_per_recipient", "revenue_per_email",
		"bounce_rate", "unsubscribe_rate", "complaint_rate", "share_of_sequence_revenue", "trim_candidate",
		"conversion_lift_vs_holdout", "lift_low", "lift_high", "incremental_conversions", "incremental_revenue"})
	for _, v := range r.Variants {
		row := []string{"variant", v.Variant, "", i(v.Enrolled), i(v.Sent), i(v.Delivered), "", "", "", i(v.Converted),
			f(v.ConversionRate), f(v.Revenue), f(v.RevenuePerRecipient), "", f(v.BounceRate), f(v.UnsubscribeRate),
			f(v.ComplaintRate), "", "", "", "", "", "", ""}
		if v.LiftVsHoldout != nil {
			row[19], row[20], row[21] = f(v.LiftVsHoldout.Estimate), f(v.LiftVsHoldout.Low), f(v.LiftVsHoldout.High)
			row[22], row[23] = f(*v.IncrementalConv), f(v.IncrementalRevenue.Estimate)
		}
		_ = w.Write(row)
	}
	for _, s := range r.Steps {
		_ = w.Write([]string{"step", s.Variant, s.Step, "", i(s.Sent), i(s.Delivered), i(s.Opens), i(s.Clicks),
			f(s.ClickToOpen), i(s.Conversions), f(s.ConversionRate), f(s.Revenue), "", f(s.RevenuePerEmail),
			f(s.BounceRate), f(s.UnsubscribeRate), f(s.ComplaintRate), f(s.ShareOfRevenue), strconv.FormatBool(s.TrimCandidate),
			"", "", "", "", ""})
	}
	w.Flush()
}

var stepIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// openedNotConverted exports, as CSV, the customers who opened or
// clicked a step's email in the period and neither converted nor left:
// an audience for paid channels. Addresses are given as the SHA-256 of
// the trimmed, lower-cased address, the form ad platforms match on, so
// the export carries no plain PII.
func (h *handlers) openedNotConverted(c *gin.Context) {
	version, from, to, ok := h.period(c)
	if !ok {
		return
	}
	step := c.Query("step")
	if step != "" && !stepIDRE.MatchString(step) {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "step", "must be a step id: lower-case letters, digits, - or _"))
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-opened-not-converted.csv"`, c.Param("id")))
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"customer_id", "email_sha256", "step", "variant", "engaged_at"})
	err := h.Store.OpenedNotConverted(c.Request.Context(), c.Param("id"), version, step, from, to, func(r models.SegmentRow) error {
		at := r.OpenedAt
		if at == nil {
			at = r.ClickedAt
		}
		return w.Write([]string{r.CustomerID, models.HashEmail(r.Email), r.StepID, r.Variant, at.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		// Rows may have gone out already: the status is sent, so end the
		// CSV visibly broken rather than silently short.
		h.Logger.Error("segment export failed", "err", err)
		_ = w.Write([]string{"# export failed; retry"})
	}
	w.Flush()
}
