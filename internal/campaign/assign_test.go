package campaign

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/errs"
)

func TestAssignmentFollowsTheWeightsOver100000Customers(t *testing.T) {
	t.Parallel()
	const n = 100000
	counts := map[string]int{}
	variants := []Weighted{{"A", 70}, {"B", 30}}
	for i := 0; i < n; i++ {
		counts[Assign(fmt.Sprint("c-", i), "camera", "subject-test", 10, variants)]++
	}
	// 10 % held out, the other 90 % split 70/30. The tolerance is five
	// standard deviations of a binomial at n = 100,000 (at most 0.8 %).
	for v, want := range map[string]float64{VariantHoldout: 0.10, "A": 0.63, "B": 0.27} {
		t.Run(v, func(t *testing.T) {
			got := float64(counts[v]) / n
			require.InDelta(t, want, got, 0.008, "variant %s: %.4f", v, got)
		})
	}
}

func TestAssignmentIsStickyAndHoldoutGrowsOnlyFromTheVariants(t *testing.T) {
	t.Parallel()
	variants := []Weighted{{"A", 1}, {"B", 1}}
	for i := 0; i < 2000; i++ {
		c := fmt.Sprint("c-", i)
		first := Assign(c, "camera", "x", 10, variants)
		require.Equal(t, first, Assign(c, "camera", "x", 10, variants), "same inputs, same variant: retries and replays agree")
		if first == VariantHoldout {
			require.Equal(t, VariantHoldout, Assign(c, "camera", "x", 20, variants), "a bigger holdout keeps everyone already held out")
		} else if wider := Assign(c, "camera", "x", 20, variants); wider != VariantHoldout {
			require.Equal(t, first, wider, "customers not moved into the holdout keep their variant")
		}
	}
	require.Equal(t, "A", Assign("c-1", "camera", "", 0, nil), "no experiment: everyone gets A")
	held := 0
	for i := 0; i < 1000; i++ {
		if Assign(fmt.Sprint("c-", i), "camera", "x", 0, variants) == VariantHoldout {
			held++
		}
	}
	require.Zero(t, held, "no holdout share, nobody held out")
}

func TestVariantsOverrideTheCopyTheyChange(t *testing.T) {
	t.Parallel()
	def := &Definition{ID: "camera", Steps: []Step{{ID: "s1", Subject: "Complete your kit", Heading: "For your camera",
		Translations: map[string]StepText{"de": {Subject: "Vervollständigen Sie Ihr Set", Heading: "Für Ihre Kamera"}}}},
		Experiment: &Experiment{ID: "subject", Variants: []Variant{{ID: "A", Weight: 1},
			{ID: "B", Weight: 1, Steps: map[string]VariantStep{"s1": {StepText: StepText{Subject: "Your camera deserves a lens"}}}},
			{ID: "C", Weight: 1, Steps: map[string]VariantStep{"s1": {StepText: StepText{Subject: "Lenses for you"},
				Translations: map[string]StepText{"de": {Subject: "Objektive für Sie"}}}}}}}}
	st := def.Steps[0]
	require.Equal(t, st, def.ForVariant(st, "A"), "the control is the campaign's own copy")
	b := def.ForVariant(st, "B")
	require.Equal(t, "Your camera deserves a lens", b.Subject)
	require.Equal(t, "For your camera", b.Heading, "what B does not change stays")
	require.Equal(t, "Your camera deserves a lens", b.Localized("de").Subject, "never the control's German subject in B")
	require.Equal(t, "Für Ihre Kamera", b.Localized("de").Heading)
	require.Equal(t, "Objektive für Sie", def.ForVariant(st, "C").Localized("de").Subject)
	require.Equal(t, "Vervollständigen Sie Ihr Set", st.Localized("de").Subject, "the definition itself is untouched")
	require.Equal(t, st, def.ForVariant(st, VariantHoldout))
}

func TestExperimentValidation(t *testing.T) {
	t.Parallel()
	valid := func() *Definition {
		d, err := Parse([]byte(`{"id":"c","name":"C","kind":"cross_sell","trigger":{"event":"purchase"},
			"steps":[{"id":"s1","at":"3d","subject":"Hi","template":"education"}],
			"experiment":{"id":"subj","variants":[{"id":"A","weight":1},{"id":"B","weight":1,"steps":{"s1":{"subject":"Hello"}}}]}}`))
		require.NoError(t, err)
		return d
	}
	require.NoError(t, valid().Validate())
	for field, mutate := range map[string]func(d *Definition){
		"experiment.variants":               func(d *Definition) { d.Experiment.Variants = d.Experiment.Variants[:1] },
		"experiment.variants[1].id":         func(d *Definition) { d.Experiment.Variants[1].ID = "A" },
		"experiment.variants[0].weight":     func(d *Definition) { d.Experiment.Variants[0].Weight = 0 },
		"experiment.variants[1].steps.nope": func(d *Definition) { d.Experiment.Variants[1].Steps["nope"] = VariantStep{} },
		"experiment.variants[1].steps.s1.subject": func(d *Definition) {
			d.Experiment.Variants[1].Steps["s1"] = VariantStep{StepText: StepText{Subject: "{{.Oops"}}
		},
		"experiment.id": func(d *Definition) { d.Experiment.ID = "Bad ID" },
		"experiment.variants[1].steps": func(d *Definition) {
			d.Experiment.Variants[1].Steps["s1"] = VariantStep{At: "1d", Omit: false, Template: "no-such-template"}
		},
		"experiment.variants[1].steps.s1.no_incentive": func(d *Definition) {
			d.Experiment.Variants[1].Steps["s1"] = VariantStep{NoIncentive: true, Incentive: &Incentive{PercentOff: 10}}
		},
		"experiment.variants[0].id": func(d *Definition) { d.Experiment.Variants[0].ID = VariantHoldout },
	} {
		t.Run(field, func(t *testing.T) {
			d := valid()
			mutate(d)
			err := d.Validate()
			e, ok := errs.As(err)
			require.True(t, ok, "%s: %v", field, err)
			require.Equal(t, field, e.Field, "%v", err)
		})
	}
}

// Variants can differ in timing, offer and number of steps: each
// variant's sequence is the campaign's with its changes, and the plan the
// workflow runs carries its timing.
func TestVariantsDifferInTimingOfferAndSteps(t *testing.T) {
	t.Parallel()
	d, err := Parse([]byte(`{"id":"c","name":"C","kind":"upsell","trigger":{"event":"usage"},
		"steps":[{"id":"s1","at":"1d-3d","subject":"Hi","template":"education","incentive":{"percent_off":10}},
		         {"id":"s2","at":"5d-7d","subject":"Again","template":"education"},
		         {"id":"s3","at":"10d","subject":"Last","template":"education"}],
		"experiment":{"id":"shape","variants":[{"id":"A","weight":1},
		  {"id":"late-offer","weight":1,"steps":{"s1":{"no_incentive":true},"s2":{"incentive":{"percent_off":15}}}},
		  {"id":"short","weight":1,"steps":{"s2":{"at":"4d"},"s3":{"omit":true}}}]}}`))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	late := d.VariantSteps("late-offer")
	require.Nil(t, late[0].Incentive, "no discount in the first email")
	require.Equal(t, 15, late[1].Incentive.PercentOff, "the discount comes later")
	require.Equal(t, 10, d.Steps[0].Incentive.PercentOff, "the definition itself is untouched")
	short := d.VariantSteps("short")
	require.Len(t, short, 2)
	require.Equal(t, "4d", short[1].At)

	p := d.Plan()
	require.Len(t, p.StepsFor("A"), 3)
	require.Len(t, p.StepsFor("late-offer"), 3, "an offer change does not change the timing")
	require.NotContains(t, p.VariantSteps, "late-offer")
	require.Equal(t, []PlanStep{{ID: "s1", Window: Window{Min: Offset{Days: 1}, Max: Offset{Days: 3}}},
		{ID: "s2", Window: Window{Min: Offset{Days: 4}, Max: Offset{Days: 4}}}}, p.StepsFor("short"))
	require.Len(t, p.StepsFor(VariantHoldout), 3, "the holdout runs the campaign's own clock")

	// A variant whose timing goes backwards is refused with the variant named.
	d.Experiment.Variants[2].Steps["s2"] = VariantStep{At: "12h"}
	e, ok := errs.As(d.Validate())
	require.True(t, ok)
	require.Equal(t, "experiment.variants[2].steps", e.Field)
	require.Contains(t, e.Message, "starts before the previous step")
}
