package experiment

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
)

func def() *campaign.Definition {
	return &campaign.Definition{ID: "cam", Experiment: &campaign.Experiment{ID: "subj", Variants: []campaign.Variant{
		{ID: "A", Weight: 50}, {ID: "B", Weight: 30}, {ID: "C", Weight: 20}}}}
}

func TestRoutingFollowsTheExperimentsState(t *testing.T) {
	t.Parallel()
	d := def()
	control := []campaign.Weighted{{ID: "A", Weight: 1}}
	require.Equal(t, control, Routing(d, nil), "not started: everyone gets the control")
	running := &models.Experiment{ID: "subj", Status: domain.ExperimentRunning}
	require.Equal(t, d.Experiment.Weighted(), Routing(d, running))
	running.Paused = map[string]string{"B": "unsubscribes", "C/s1": "complaints"}
	require.Equal(t, []campaign.Weighted{{ID: "A", Weight: 50}, {ID: "C", Weight: 20}}, Routing(d, running),
		"a paused variant takes no new enrolments; a paused step does not stop its variant")
	require.Empty(t, Halted(d, running))
	running.Paused["A"], running.Paused["C"] = "complaints", "unsubscribes"
	require.Empty(t, Routing(d, running), "every variant paused, the control too: no one is routed")
	require.NotNil(t, Routing(d, running), "and that is not the nil of a definition without an experiment")
	require.Equal(t, "experiment subj is paused: its guardrails paused every variant (A: complaints; B: unsubscribes; C: unsubscribes); resume a variant, or stop or conclude the experiment, to enrol again",
		Halted(d, running))
	require.Equal(t, control, Routing(d, &models.Experiment{ID: "subj", Status: domain.ExperimentStopped}))
	require.Equal(t, "experiment subj has stopped and sends everyone variant A, which its guardrail paused (complaints); resume the variant to enrol again",
		Halted(d, &models.Experiment{ID: "subj", Status: domain.ExperimentStopped, Paused: running.Paused}),
		"a stopped experiment sends the control, which its guardrail still holds")
	require.Empty(t, Halted(d, &models.Experiment{ID: "subj", Status: domain.ExperimentConcluded, Winner: "C", Paused: map[string]string{"A": "complaints"}}),
		"the winner is not paused")
	require.Equal(t, []campaign.Weighted{{ID: "C", Weight: 1}}, Routing(d, &models.Experiment{ID: "subj", Status: domain.ExperimentConcluded, Winner: "C"}))
	require.Equal(t, control, Routing(d, &models.Experiment{ID: "subj", Status: domain.ExperimentConcluded}), "concluded without a winner")
	require.Equal(t, control, Routing(d, &models.Experiment{ID: "older", Status: domain.ExperimentRunning}), "another experiment's state")
	require.Nil(t, Routing(&campaign.Definition{ID: "cam"}, running), "no experiment in the version")
}

func totals(rows ...[4]int64) []models.VariantTotals {
	names := []string{"A", "B", "C"}
	var out []models.VariantTotals
	for i, r := range rows {
		out = append(out, models.VariantTotals{Variant: names[i], Enrolled: r[0], Sent: r[1], Converted: r[2], RevenueMinor: r[3],
			RevenueSumSq: float64(r[3]) * 5000}) // every order worth 50.00
	}
	return out
}

func state(metric string) *models.Experiment {
	return &models.Experiment{ID: "subj", Metric: metric, MinSends: 200, Alpha: 0.05, Status: domain.ExperimentRunning}
}

func TestAnalyzeCallsAWinnerOnlyWithEnoughEvidence(t *testing.T) {
	t.Parallel()
	d := def()
	// B converts 8 % against A's 4 % over 3,000 each; C is like A.
	big := totals([4]int64{3000, 6000, 120, 120 * 5000}, [4]int64{3000, 6000, 240, 240 * 5000}, [4]int64{3000, 6000, 118, 118 * 5000})
	dec, p := Analyze(d, state(MetricConversionRate), big)
	require.True(t, dec.Ready)
	require.Equal(t, "B", dec.Winner, dec.Verdict)
	require.Less(t, p["B"], 0.05/2)
	require.Greater(t, p["C"], 0.05/2)
	require.InDelta(t, 0.04, dec.Arms[1].Effect.Estimate, 1e-9)
	require.True(t, dec.Arms[0].Control)

	// The same on revenue per recipient.
	dec, _ = Analyze(d, state(MetricRevenuePerRecipient), big)
	require.Equal(t, "B", dec.Winner, dec.Verdict)
	require.InDelta(t, 2.0, dec.Arms[1].Effect.Estimate, 1e-9, "50.00 × 4 points, in major units")

	// The same rates under the minimum sends: no call, however good B looks.
	small := totals([4]int64{3000, 150, 120, 0}, [4]int64{3000, 6000, 240, 0}, [4]int64{3000, 6000, 118, 0})
	dec, _ = Analyze(d, state(MetricConversionRate), small)
	require.False(t, dec.Ready)
	require.Empty(t, dec.Winner)
	require.Contains(t, dec.Verdict, "200 sends")

	// B is like A and C is worse: no call, since the control wins only
	// when every other variant loses to it.
	flat := totals([4]int64{3000, 6000, 120, 0}, [4]int64{3000, 6000, 121, 0}, [4]int64{3000, 6000, 60, 0})
	dec, _ = Analyze(d, state(MetricConversionRate), flat)
	require.Empty(t, dec.Winner, dec.Verdict)
	dec, _ = Analyze(d, state(MetricConversionRate), totals([4]int64{3000, 6000, 120, 0}, [4]int64{3000, 6000, 61, 0}, [4]int64{3000, 6000, 60, 0}))
	require.Equal(t, "A", dec.Winner, dec.Verdict)

	// A past look's evidence is kept: the always-valid p-value never
	// rises, so a difference once established stays established.
	e := state(MetricConversionRate)
	e.PValues = map[string]float64{"B": 0.001}
	dec, p = Analyze(d, e, flat)
	require.Equal(t, 0.001, p["B"])
	require.Equal(t, "B", dec.Winner, dec.Verdict)

	// A variant a guardrail paused never wins, however well it converts.
	e = state(MetricConversionRate)
	e.Paused = map[string]string{"B": "unsubscribe rate 0.9 %"}
	dec, _ = Analyze(d, e, big)
	require.Empty(t, dec.Winner, dec.Verdict)
}

func TestGuardrailsPauseVariantsAndSteps(t *testing.T) {
	t.Parallel()
	variants := []models.VariantTotals{
		{Variant: "A", Sent: 1000, Unsubscribed: 5},    // exactly 0.5 %: not over
		{Variant: "B", Sent: 1000, Unsubscribed: 6},    // 0.6 %
		{Variant: "C", Sent: 150, Complained: 10},      // too few sends to judge
		{Variant: "holdout", Sent: 0, Unsubscribed: 0}, // never emailed
	}
	steps := []models.StepTotals{{Variant: "A", StepID: "s2", Sent: 400, Complained: 1}} // 0.25 % > 0.1 %
	got := Guardrails(200, variants, steps, map[string]string{"C/s1": "earlier"}, nil)
	require.Len(t, got, 3)
	require.True(t, strings.HasPrefix(got["B"], "unsubscribe rate 0.60% over 0.5%"), got["B"])
	require.True(t, strings.HasPrefix(got["A/s2"], "spam-complaint rate 0.25% over 0.1%"), got["A/s2"])
	require.Equal(t, "earlier", got["C/s1"], "a pause stays until someone lifts it")
	again := Guardrails(200, variants, steps, nil, map[string]string{"B": "2026-05-01T00:00:00Z"})
	require.NotContains(t, again, "B", "a person resumed B: its guardrail leaves it alone")
	e := &models.Experiment{Paused: got}
	require.Contains(t, PausedReason(e, "B", "s1"), "guardrail paused variant B")
	require.Contains(t, PausedReason(e, "A", "s2"), "guardrail paused step s2 of variant A")
	require.Empty(t, PausedReason(e, "A", "s1"))
}
