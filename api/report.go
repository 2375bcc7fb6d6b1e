package api

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// VariantReport is one variant's outcome. Against the holdout, the
// difference in conversion rate and in revenue per recipient come with
// 95 % confidence intervals.
type VariantReport struct {
	Variant             string    `json:"variant"`
	Enrolled            int64     `json:"enrolled"`
	Converted           int64     `json:"converted"`
	ConversionRate      float64   `json:"conversion_rate"`
	Revenue             float64   `json:"revenue"`
	RevenuePerRecipient float64   `json:"revenue_per_recipient"`
	Sent                int64     `json:"sent"`
	LiftVsHoldout       *Interval `json:"conversion_lift_vs_holdout,omitempty"`
	IncrementalConv     *float64  `json:"incremental_conversions,omitempty"`
}

// Interval is an estimate with its 95 % confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// StepReport is one step of one variant.
type StepReport struct {
	Variant         string  `json:"variant"`
	Step            string  `json:"step"`
	Sent            int64   `json:"sent"`
	Opens           int64   `json:"unique_opens"`
	Clicks          int64   `json:"unique_clicks"`
	ClickToOpen     float64 `json:"click_to_open_rate"`
	Conversions     int64   `json:"conversions"`
	Revenue         float64 `json:"revenue"`
	RevenuePerEmail float64 `json:"revenue_per_email"`
	ShareOfRevenue  float64 `json:"share_of_sequence_revenue"`
	TrimCandidate   bool    `json:"trim_candidate"`
}

// Report is GET /v1/campaigns/{id}/report.
type Report struct {
	CampaignID string          `json:"campaign_id"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Variants   []VariantReport `json:"variants"`
	Steps      []StepReport    `json:"steps"`
}

// trimShare is the share of a variant's step revenue under which a step
// is flagged as a candidate to trim.
const trimShare = 0.05

// z95 is the two-sided 95 % normal quantile.
var z95 = distuv.UnitNormal.Quantile(0.975)

func (h *handlers) campaignReport(c *gin.Context) {
	id := c.Param("id")
	if _, err := h.Store.GetCampaign(c.Request.Context(), id); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	to, from := time.Now().UTC(), time.Time{}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(c, h.Logger, errs.Field(errs.Invalid, p.name, "must be an RFC 3339 time like 2026-11-01T00:00:00Z"))
				return
			}
			*p.dst = t
		}
	}
	if !from.Before(to) {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "from", "must be before to"))
		return
	}
	variants, steps, err := h.Store.CampaignReport(c.Request.Context(), id, from, to)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, buildReport(id, from, to, variants, steps))
}

// buildReport derives the rates, intervals and shares from the totals.
// Revenue sums minor units across currencies: a campaign is expected to
// sell in one.
func buildReport(id string, from, to time.Time, variants []models.VariantTotals, steps []models.StepTotals) Report {
	r := Report{CampaignID: id, From: from, To: to, Variants: []VariantReport{}, Steps: []StepReport{}}
	sent := map[string]int64{}
	stepRevenue := map[string]int64{}
	for _, s := range steps {
		sent[s.Variant] += s.Sent
		stepRevenue[s.Variant] += s.RevenueMinor
	}
	var holdout *models.VariantTotals
	for i := range variants {
		if variants[i].Variant == campaign.VariantHoldout {
			holdout = &variants[i]
		}
	}
	for _, v := range variants {
		vr := VariantReport{Variant: v.Variant, Enrolled: v.Enrolled, Converted: v.Converted,
			ConversionRate: ratio(v.Converted, v.Enrolled), Revenue: float64(v.RevenueMinor) / 100,
			RevenuePerRecipient: ratio(v.RevenueMinor, v.Enrolled) / 100, Sent: sent[v.Variant]}
		if holdout != nil && v.Variant != campaign.VariantHoldout && v.Enrolled > 0 && holdout.Enrolled > 0 {
			vr.LiftVsHoldout = diffOfProportions(v.Converted, v.Enrolled, holdout.Converted, holdout.Enrolled)
			inc := float64(v.Converted) - float64(v.Enrolled)*ratio(holdout.Converted, holdout.Enrolled)
			vr.IncrementalConv = &inc
		}
		r.Variants = append(r.Variants, vr)
	}
	for _, s := range steps {
		share := ratio(s.RevenueMinor, stepRevenue[s.Variant])
		r.Steps = append(r.Steps, StepReport{Variant: s.Variant, Step: s.StepID, Sent: s.Sent, Opens: s.Opens, Clicks: s.Clicks,
			ClickToOpen: ratio(s.Clicks, s.Opens), Conversions: s.Conversions, Revenue: float64(s.RevenueMinor) / 100,
			RevenuePerEmail: ratio(s.RevenueMinor, s.Sent) / 100, ShareOfRevenue: share,
			TrimCandidate: stepRevenue[s.Variant] > 0 && share < trimShare})
	}
	slices.SortFunc(r.Steps, func(a, b StepReport) int {
		return cmp.Or(cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.Step, b.Step))
	})
	return r
}

// diffOfProportions is p1 - p2 with its 95 % Wald interval.
func diffOfProportions(x1, n1, x2, n2 int64) *Interval {
	p1, p2 := ratio(x1, n1), ratio(x2, n2)
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p2*(1-p2)/float64(n2))
	d := p1 - p2
	return &Interval{Estimate: d, Low: d - z95*se, High: d + z95*se}
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
