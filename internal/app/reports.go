package app

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// Interval is an estimate with its 95 % confidence interval.
type Interval = stats.Interval

// VariantReport is one variant's outcome. Against the holdout, the
// differences in conversion rate and revenue per recipient, and the
// incremental conversions and revenue they imply, come with 95 %
// confidence intervals. Revenue is in major units of the report's
// currency.
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
	SentAfterMove         int64     `json:"sent_after_move"`
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
	// Strategies is the share of the step's sent emails each
	// recommendation strategy answered (a fallback shows here).
	Strategies map[string]float64 `json:"strategies,omitempty"`
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
	CampaignID     string          `json:"campaign_id"`
	Version        int             `json:"version,omitempty"` // 0: every version
	From           time.Time       `json:"from"`
	To             time.Time       `json:"to"`
	Variants       []VariantReport `json:"variants"`
	Steps          []StepReport    `json:"steps"`
	AttributionLag []LagReport     `json:"attribution_lag"`
	LifetimeValue  []LifetimeValue `json:"lifetime_value"`
	// Currency is the currency revenue is in, when the campaign's
	// conversions were paid in one; RevenueNote says what was done when not.
	Currency    string `json:"currency,omitempty"`
	RevenueNote string `json:"revenue_note"`
	// Basis says which population each table counts.
	Basis string `json:"basis"`
	// Flow is each step of a flow (a campaign with branch, wait_for or
	// webhook steps), counted over the ended journeys; see FlowNode.
	Flow []FlowNode `json:"flow,omitempty"`
	// Auto is what the auto strategy stands for now, and why, when a step
	// of the campaign recommends with it.
	Auto *recs.Choice `json:"auto,omitempty"`
}

// usesAuto says whether a step of def recommends with auto.
func usesAuto(def *campaign.Definition) bool {
	for _, st := range def.EmailSteps() {
		if st.Recommend != nil && st.Recommend.Strategy == campaign.StrategyAuto {
			return true
		}
	}
	return false
}

// strategyShares turns a step's counts by strategy into shares.
func strategyShares(counts map[string]int64) map[string]float64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return nil
	}
	out := make(map[string]float64, len(counts))
	for k, c := range counts {
		out[k] = float64(c) / float64(n)
	}
	return out
}

// reportBasis is the report's Basis.
const reportBasis = "each variant row counts the enrolments assigned to the variant and every email they were sent, " +
	"also those sent as a promoted winner after a move (sent_after_move); each step row counts the emails as sent, " +
	"by the variant that sent them, so a moved enrolment's later emails are in the winner's step rows"

// trimShare is the share of a variant's step revenue under which a step
// is flagged as a candidate to trim.
const trimShare = 0.05

// ltvHorizons are the lifetime-value horizons, in sequence days.
var ltvHorizons = []struct {
	label string
	days  int
}{{"3 months", 91}, {"6 months", 182}, {"12 months", 365}}

// Report is a campaign's outcome for the enrolments that started in
// [from, to), on one version or every version (0): per variant and step,
// the attribution lag and lifetime value. The store sums (aggregate SQL);
// this derives the rates, intervals and shares.
func (a *App) Report(ctx context.Context, id string, p Period) (Report, error) {
	version, from, to := p.Version, p.From, p.To
	r, err := a.VariantReport(ctx, id, version, from, to)
	if err != nil {
		return Report{}, err
	}
	r.Version = version
	lags, err := a.Store.AttributionLag(ctx, id, version, from, to, a.Settings.Day)
	if err != nil {
		return Report{}, err
	}
	r.AttributionLag = lagReport(lags)
	horizons := make([]time.Duration, len(ltvHorizons))
	for i, hz := range ltvHorizons {
		horizons[i] = time.Duration(hz.days) * a.Settings.Day
	}
	cohorts, err := a.Store.LifetimeValue(ctx, id, version, from, to, a.now(), horizons)
	if err != nil {
		return Report{}, err
	}
	for i, hz := range ltvHorizons {
		r.LifetimeValue = append(r.LifetimeValue, lifetimeValue(hz.label, hz.days, r.Currency, cohorts[i]))
	}
	return r, nil
}

// VariantReport is the variant and step tables of the report only (the
// console's campaign page): not the lag and lifetime-value queries.
func (a *App) VariantReport(ctx context.Context, id string, version int, from, to time.Time) (Report, error) {
	variants, steps, err := a.Store.CampaignReport(ctx, id, version, from, to)
	if err != nil {
		return Report{}, err
	}
	currencies, err := a.Store.Currencies(ctx, id, version, from, to)
	if err != nil {
		return Report{}, err
	}
	r := buildReport(id, from, to, currencies, variants, steps)
	def, err := a.reportDefinition(ctx, id, version)
	if errs.Is(err, errs.NotFound) { // the totals are the report's; a definition only adds the flow
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if usesAuto(def) {
		st, err := a.RecommendationStatus(ctx)
		if err != nil {
			return r, err
		}
		r.Auto = &st.Auto
	}
	if !def.HasFlow() {
		return r, nil
	}
	r.Flow, err = a.flowReport(ctx, def, id, version, from, to, r.Currency)
	return r, err
}

// reportDefinition is the definition a report draws a flow from: the
// version asked for, else the one the campaign shows.
func (a *App) reportDefinition(ctx context.Context, id string, version int) (*campaign.Definition, error) {
	if version > 0 {
		return a.defs.Version(ctx, id, version)
	}
	def, _, err := a.defs.Shown(ctx, id)
	return def, err
}

// buildReport derives the rates, intervals and shares from the totals.
// Revenue is converted to major units by the currency's exponent.
func buildReport(id string, from, to time.Time, currencies []string, variants []models.VariantTotals, steps []models.StepTotals) Report {
	r := Report{CampaignID: id, From: from, To: to, Variants: []VariantReport{}, Steps: []StepReport{},
		AttributionLag: []LagReport{}, LifetimeValue: []LifetimeValue{}, Basis: reportBasis}
	switch len(currencies) {
	case 0:
		r.RevenueNote = "no revenue yet"
	case 1:
		r.Currency = currencies[0]
		r.RevenueNote = "revenue is in major units of " + r.Currency
	default:
		r.RevenueNote = "revenue sums minor units across " + strings.Join(currencies, ", ") +
			" and shows them with two decimals: a campaign is expected to sell in one currency"
	}
	major := func(minor float64) float64 { return money.Major(minor, r.Currency) }
	majorCI := func(i Interval) Interval { return majorInterval(i, r.Currency) }
	stepRevenue := map[string]int64{} // by sending variant, for each step's share
	for _, s := range steps {
		stepRevenue[s.Variant] += s.RevenueMinor
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
			Revenue: major(float64(v.RevenueMinor)), RevenuePerRecipient: major(ratio(v.RevenueMinor, v.Enrolled)),
			RevenuePerRecipientCI: majorCI(stats.MeanInterval(rev)), Sent: v.Sent, SentAfterMove: v.SentAfterMove, Delivered: v.Delivered,
			BounceRate: ratio(v.Bounced, v.Sent), UnsubscribeRate: ratio(v.Unsubscribed, v.Sent),
			ComplaintRate: ratio(v.Complained, v.Sent)}
		if holdout != nil && v.Variant != campaign.VariantHoldout && v.Enrolled > 0 && holdout.Enrolled > 0 {
			lift := stats.DiffInterval(conv, stats.Bernoulli(holdout.Converted, holdout.Enrolled))
			n := float64(v.Enrolled)
			inc := lift.Estimate * n
			incCI := Interval{Estimate: inc, Low: lift.Low * n, High: lift.High * n}
			revLift := majorCI(stats.DiffInterval(rev, revenueSample(*holdout)))
			incRev := Interval{Estimate: revLift.Estimate * n, Low: revLift.Low * n, High: revLift.High * n}
			vr.LiftVsHoldout, vr.IncrementalConv, vr.IncrementalConvCI = &lift, &inc, &incCI
			vr.RevenueLiftVsHoldout, vr.IncrementalRevenue = &revLift, &incRev
		}
		r.Variants = append(r.Variants, vr)
	}
	for _, s := range steps {
		total := stepRevenue[s.Variant]
		share := ratio(s.RevenueMinor, total)
		r.Steps = append(r.Steps, StepReport{Variant: s.Variant, Step: s.StepID, Sent: s.Sent, Delivered: s.Delivered,
			Opens: s.Opens, Clicks: s.Clicks, ClickToOpen: ratio(s.Clicks, s.Opens), Conversions: s.Conversions,
			ConversionRate: ratio(s.Conversions, s.Sent), Revenue: major(float64(s.RevenueMinor)),
			RevenuePerEmail: major(ratio(s.RevenueMinor, s.Sent)), BounceRate: ratio(s.Bounced, s.Sent),
			UnsubscribeRate: ratio(s.Unsubscribed, s.Sent), ComplaintRate: ratio(s.Complained, s.Sent),
			ShareOfRevenue: share, TrimCandidate: total > 0 && share < trimShare, Strategies: strategyShares(s.Strategies)})
	}
	slices.SortFunc(r.Steps, func(a, b StepReport) int {
		return cmp.Or(cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.Step, b.Step))
	})
	return r
}

func revenueSample(v models.VariantTotals) stats.Sample {
	return stats.Sample{N: float64(v.Enrolled), Sum: float64(v.RevenueMinor), SumSq: v.RevenueSumSq}
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

func lifetimeValue(label string, days int, currency string, cohorts []models.Cohort) LifetimeValue {
	lv := LifetimeValue{Horizon: label, Days: days}
	var emailed, held stats.Sample
	for _, c := range cohorts {
		s := stats.Sample{N: float64(c.Enrolments), Sum: float64(c.RevenueMinor), SumSq: c.RevenueSumSq}
		cr := CohortReport{Enrolments: c.Enrolments, ValuePerCustomer: money.Major(s.Mean(), currency)}
		if c.Group == campaign.VariantHoldout {
			lv.Holdout, held = cr, s
		} else {
			lv.Emailed, emailed = cr, s
		}
	}
	if emailed.N > 0 && held.N > 0 {
		lift := majorInterval(stats.DiffInterval(emailed, held), currency)
		lv.Lift = &lift
	}
	return lv
}

// majorInterval converts an interval in minor units to major units.
func majorInterval(i Interval, currency string) Interval {
	return Interval{Estimate: money.Major(i.Estimate, currency), Low: money.Major(i.Low, currency), High: money.Major(i.High, currency)}
}

// Period is what a report covers: the enrolments on one version (0:
// every version) that started in [From, To).
type Period struct {
	Version  int
	From, To time.Time
}

// ReportPeriod checks the campaign exists, then reads a report's period
// as a caller gives it: version (default every version), from and to
// (RFC 3339; default everything until now).
func (a *App) ReportPeriod(ctx context.Context, campaignID, version, from, to string) (Period, error) {
	if _, err := a.Store.GetCampaign(ctx, campaignID); err != nil {
		return Period{}, err
	}
	p := Period{To: a.now()}
	if version != "" {
		n, err := strconv.Atoi(version)
		if err != nil || n < 1 {
			return Period{}, errs.Field(errs.Invalid, "version", "must be a published version number, 1 or more")
		}
		p.Version = n
	}
	for _, f := range []struct {
		name, value string
		dst         *time.Time
	}{{"from", from, &p.From}, {"to", to, &p.To}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.value)
		if err != nil {
			return Period{}, errs.Field(errs.Invalid, f.name, "must be an RFC 3339 time like 2026-11-01T00:00:00Z")
		}
		*f.dst = t
	}
	if !p.From.Before(p.To) {
		return Period{}, errs.Field(errs.Invalid, "from", "must be before to")
	}
	return p, nil
}

// SegmentRow is one customer of an audience export. The address is the
// SHA-256 of the trimmed, lower-cased address, the form ad platforms
// match on, so the export carries no plain PII.
type SegmentRow struct {
	CustomerID  string
	EmailSHA256 string
	StepID      string
	Variant     string
	EngagedAt   time.Time
}

var stepIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// OpenedNotConverted streams the customers who opened or clicked a step's
// email (any step when step is "") in the period and neither converted
// nor left: an audience for paid channels.
func (a *App) OpenedNotConverted(ctx context.Context, id string, p Period, step string, fn func(SegmentRow) error) error {
	if step != "" && !stepIDRE.MatchString(step) {
		return errs.Field(errs.Invalid, "step", "must be a step id: lower-case letters, digits, - or _")
	}
	return a.Store.OpenedNotConverted(ctx, id, p.Version, step, p.From, p.To, func(r models.SegmentRow) error {
		at := r.OpenedAt
		if at == nil {
			at = r.ClickedAt
		}
		return fn(SegmentRow{CustomerID: r.CustomerID, EmailSHA256: models.HashEmail(r.Email), StepID: r.StepID,
			Variant: r.Variant, EngagedAt: at.UTC()})
	})
}
