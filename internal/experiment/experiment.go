// Package experiment decides what an experiment's numbers mean: which
// variants new enrolments go to, whether a variant has won, and whether
// a guardrail must pause a variant or step. It is pure: the store supplies
// the totals, the API and the daily check act on the answers.
package experiment

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// Metrics a winner is judged on. Opens are deliberately not one: mailbox
// providers' privacy prefetching inflates them.
const (
	MetricConversionRate      = "conversion_rate"
	MetricRevenuePerRecipient = "revenue_per_recipient"
)

// Defaults for a new experiment.
const (
	DefaultMinSends          = 200
	DefaultAlpha             = 0.05
	DefaultGuardrailMinSends = 200
)

// Guardrail limits: a variant or step whose rate passes one, after the
// experiment's GuardrailMinSends, is paused.
const (
	UnsubscribeLimit = 0.005
	ComplaintLimit   = 0.001
)

// Routing is the variants new enrolments of a version are split between,
// given the campaign's current experiment state (nil: never started).
// Until the experiment starts, and after it stops, everyone gets the
// control (the first variant); once concluded, the winner (or the
// control); while it runs, every variant a guardrail has not paused, by
// weight, and none when every variant is paused (Halted says why: the
// campaign takes no enrolments then). Without an experiment in the
// definition it is nil: everyone gets "A".
func Routing(def *campaign.Definition, state *models.Experiment) []campaign.Weighted {
	if def.Experiment == nil {
		return nil
	}
	control := []campaign.Weighted{{ID: def.Experiment.Variants[0].ID, Weight: 1}}
	if state == nil || state.ID != def.Experiment.ID {
		return control
	}
	switch state.Status {
	case domain.ExperimentRunning:
		var out []campaign.Weighted
		for _, v := range def.Experiment.Weighted() {
			if _, paused := state.Paused[v.ID]; !paused {
				out = append(out, v)
			}
		}
		if out == nil {
			return []campaign.Weighted{}
		}
		return out
	case domain.ExperimentConcluded:
		if state.Winner != "" && def.HasVariant(state.Winner) {
			return []campaign.Weighted{{ID: state.Winner, Weight: 1}}
		}
	}
	return control
}

// Arm is one variant's standing in an experiment.
type Arm struct {
	Variant             string  `json:"variant"`
	Control             bool    `json:"control,omitempty"`
	Enrolled            int64   `json:"enrolled"`
	Sent                int64   `json:"sent"`
	Converted           int64   `json:"converted"`
	ConversionRate      float64 `json:"conversion_rate"`
	RevenuePerRecipient float64 `json:"revenue_per_recipient"`
	// Metric is the judged metric's mean with its 95 % interval (revenue
	// in major units).
	Metric stats.Interval `json:"metric"`
	// Effect is the treatment's metric minus the control's, with its
	// 95 % interval; PValue the always-valid p-value of that difference.
	Effect *stats.Interval `json:"effect_vs_control,omitempty"`
	PValue *float64        `json:"p_value,omitempty"`
}

// Decision is an experiment's analysis at one look.
type Decision struct {
	Metric  string  `json:"metric"`
	Alpha   float64 `json:"alpha"`
	Arms    []Arm   `json:"arms"`
	Ready   bool    `json:"ready"` // every variant has its minimum sends
	Winner  string  `json:"winner,omitempty"`
	Verdict string  `json:"verdict"`
}

// Analyze compares every variant with the control (the definition's
// first) on the experiment's metric with the mixture sequential test,
// folding this look into the stored always-valid p-values (returned
// updated). A winner needs every variant to have MinSends emails and a
// p-value under Alpha divided by the number of comparisons (Bonferroni):
// the best variant that beats the control, or the control when every
// other variant is worse than it.
func Analyze(def *campaign.Definition, e *models.Experiment, totals []models.VariantTotals) (Decision, map[string]float64) {
	byVariant := map[string]models.VariantTotals{}
	for _, t := range totals {
		byVariant[t.Variant] = t
	}
	d := Decision{Metric: e.Metric, Alpha: e.Alpha, Ready: true}
	pvals := maps.Clone(e.PValues)
	if pvals == nil {
		pvals = map[string]float64{}
	}
	variants := def.Experiment.Variants
	control := sample(e.Metric, byVariant[variants[0].ID])
	threshold := e.Alpha / float64(len(variants)-1)
	var better, worse []Arm
	scale := 1.0
	if e.Metric == MetricRevenuePerRecipient {
		scale = 100 // minor units to major
	}
	for i, v := range variants {
		t := byVariant[v.ID]
		s := sample(e.Metric, t)
		ci := stats.MeanInterval(s)
		arm := Arm{Variant: v.ID, Control: i == 0, Enrolled: t.Enrolled, Sent: t.Sent, Converted: t.Converted,
			ConversionRate: ratio(t.Converted, t.Enrolled), RevenuePerRecipient: ratio(t.RevenueMinor, t.Enrolled) / 100,
			Metric: stats.Interval{Estimate: ci.Estimate / scale, Low: ci.Low / scale, High: ci.High / scale}}
		if t.Sent < int64(e.MinSends) {
			d.Ready = false
		}
		if i > 0 {
			eff := stats.DiffInterval(s, control)
			eff = stats.Interval{Estimate: eff.Estimate / scale, Low: eff.Low / scale, High: eff.High / scale}
			p := stats.AlwaysValid(pvals[v.ID], stats.MSPRT(s, control, stats.TauStandardized))
			pvals[v.ID] = p
			arm.Effect, arm.PValue = &eff, &p
			_, paused := e.Paused[v.ID]
			if p < threshold && !paused { // a variant its guardrail paused cannot win
				if eff.Estimate > 0 {
					better = append(better, arm)
				} else {
					worse = append(worse, arm)
				}
			}
		}
		d.Arms = append(d.Arms, arm)
	}
	switch {
	case !d.Ready:
		d.Verdict = fmt.Sprintf("collecting: every variant needs %d sends before a winner can be called", e.MinSends)
	case len(better) > 0:
		best := slices.MaxFunc(better, func(a, b Arm) int { return cmp.Compare(a.Metric.Estimate, b.Metric.Estimate) })
		d.Winner = best.Variant
		d.Verdict = fmt.Sprintf("%s beats the control %s on %s (always-valid p = %.4f < %.4f)", best.Variant, variants[0].ID,
			e.Metric, *best.PValue, threshold)
	case len(worse) == len(variants)-1:
		d.Winner = variants[0].ID
		d.Verdict = fmt.Sprintf("the control %s beats every other variant on %s", variants[0].ID, e.Metric)
	default:
		d.Verdict = "no significant difference yet: keep running"
	}
	return d, pvals
}

func sample(metric string, t models.VariantTotals) stats.Sample {
	if metric == MetricRevenuePerRecipient {
		return stats.Sample{N: float64(t.Enrolled), Sum: float64(t.RevenueMinor), SumSq: t.RevenueSumSq}
	}
	return stats.Bernoulli(t.Converted, t.Enrolled)
}

// Guardrails returns what must be paused: variants and variant/step pairs
// (models.PausedKey) whose unsubscribe or complaint rate passed its limit
// after minSends emails, with why. Already paused keys are kept; keys a
// person resumed are left alone.
func Guardrails(minSends int, variants []models.VariantTotals, steps []models.StepTotals, paused, resumed map[string]string) map[string]string {
	out := maps.Clone(paused)
	if out == nil {
		out = map[string]string{}
	}
	check := func(key string, sent, unsub, complaints int64) {
		_, done := resumed[key]
		if _, ok := out[key]; ok || done || sent < int64(minSends) || sent == 0 {
			return
		}
		if r := ratio(complaints, sent); r > ComplaintLimit {
			out[key] = fmt.Sprintf("spam-complaint rate %.2f%% over %.1f%% after %d sends", 100*r, 100*ComplaintLimit, sent)
		} else if r := ratio(unsub, sent); r > UnsubscribeLimit {
			out[key] = fmt.Sprintf("unsubscribe rate %.2f%% over %.1f%% after %d sends", 100*r, 100*UnsubscribeLimit, sent)
		}
	}
	for _, v := range variants {
		if v.Variant != campaign.VariantHoldout {
			check(models.PausedKey(v.Variant, ""), v.Sent, v.Unsubscribed, v.Complained)
		}
	}
	for _, s := range steps {
		check(models.PausedKey(s.Variant, s.StepID), s.Sent, s.Unsubscribed, s.Complained)
	}
	return out
}

// Halted says why the campaign's experiment takes no enrolments ("" while
// it does): every variant new enrolments could go to is paused by its
// guardrail. While the experiment runs that is every variant, the control
// included; once it has ended, the control or winner everyone now gets.
// The campaign must then hold new enrolments rather than send them into a
// variant whose every email would be skipped.
func Halted(def *campaign.Definition, state *models.Experiment) string {
	if def.Experiment == nil || state == nil || state.ID != def.Experiment.ID {
		return ""
	}
	candidates := Routing(def, state)
	if state.Status == domain.ExperimentRunning {
		candidates = def.Experiment.Weighted()
	}
	var why []string
	for _, v := range candidates {
		r, paused := state.Paused[models.PausedKey(v.ID, "")]
		if !paused {
			return ""
		}
		why = append(why, v.ID+": "+r)
	}
	if state.Status == domain.ExperimentRunning {
		return fmt.Sprintf("experiment %s is paused: its guardrails paused every variant (%s); resume a variant, or stop or conclude the experiment, to enrol again",
			state.ID, strings.Join(why, "; "))
	}
	return fmt.Sprintf("experiment %s has %s and sends everyone variant %s, which its guardrail paused (%s); resume the variant to enrol again",
		state.ID, state.Status, candidates[0].ID, strings.TrimPrefix(why[0], candidates[0].ID+": "))
}

// PausedReason says why a guardrail holds a variant's step ("" if none).
func PausedReason(e *models.Experiment, variant, step string) string {
	if e == nil {
		return ""
	}
	if r, ok := e.Paused[models.PausedKey(variant, "")]; ok {
		return "guardrail paused variant " + variant + ": " + r
	}
	if r, ok := e.Paused[models.PausedKey(variant, step)]; ok {
		return "guardrail paused step " + step + " of variant " + variant + ": " + r
	}
	return ""
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
