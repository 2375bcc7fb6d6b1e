package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
)

// NewTest is an A/B test as a marketer writes it on the console: which
// step, what each challenger changes, the split, the holdout and how the
// winner is judged. It becomes an experiment block in the published
// definition (see TestDefinition), so everything a JSON author can say
// has the same meaning here.
type NewTest struct {
	// BaseVersion is the published version the form was drawn from: a
	// campaign published since is a conflict, never overwritten.
	BaseVersion int
	// Step is the step whose copy varies, or AllSteps for the timing of
	// the whole sequence (each challenger's At lists an offset per step).
	Step string
	// ControlWeight is the control's share of the split (the current
	// copy, variant A); Challengers are B, C and D, with theirs.
	ControlWeight int
	Challengers   []Challenger
	Holdout       float64
	Settings      ExperimentSettings
}

// AllSteps is NewTest.Step for a test of the whole sequence's timing.
const AllSteps = "*"

// Challenger is one variant of a NewTest: the fields it changes (empty:
// the control's), its share of the split.
type Challenger struct {
	Weight                                 int
	Subject, Preheader, Heading, Body, CTA string
	CTAURL                                 string
	At                                     string // "5d"; with AllSteps, one offset per step, comma-separated
	PercentOff                             int    // an incentive of its own
	Code                                   string // the incentive's code
	NoIncentive                            bool   // takes the step's incentive away
	Omit                                   bool   // leaves the step out
}

// TestPlan is a NewTest made into a definition: what Preview shows and
// StartTest publishes.
type TestPlan struct {
	Definition *campaign.Definition
	Base       int
	// Previews are the chosen step as each variant sends it, rendered for
	// the sample customer: the control first.
	Previews []TestPreview
}

// TestPreview is one variant's email.
type TestPreview struct {
	Variant string
	Omitted bool // the variant leaves the step out
	Email   email.Rendered
	// Customer is the same step rendered for a real customer, when one
	// was named (nil otherwise, or when the step would be skipped).
	Customer *PreviewResult
}

// TestDefinition makes t into the campaign's next definition: the
// published version base with t as its experiment (replacing one it
// had) and t's holdout. The definition is validated as a save would
// validate it, so the error names the field (experiment.variants[1].
// steps.complement.subject) for the form to show beside its input.
func (a *App) TestDefinition(ctx context.Context, campaignID string, t NewTest) (*TestPlan, error) {
	def, version, err := a.defs.Published(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if t.BaseVersion != 0 && t.BaseVersion != version {
		return nil, errs.E(errs.Conflict, "campaign %s was published as v%d since this form was drawn from v%d: reload it", campaignID, version, t.BaseVersion)
	}
	// A deep copy: the published definition is shared through the cache.
	raw, err := json.Marshal(def)
	if err != nil {
		return nil, err
	}
	var next campaign.Definition
	if err := json.Unmarshal(raw, &next); err != nil {
		return nil, err
	}
	if len(next.EmailSteps()) == 0 {
		return nil, errs.Field(errs.Invalid, "step", "campaign %s sends no email: an A/B test varies an email step", campaignID)
	}
	if len(t.Challengers) < 1 || len(t.Challengers) > 3 {
		return nil, errs.Field(errs.Invalid, "experiment.variants", "a test has 2 to 4 variants: the control and 1 to 3 challengers")
	}
	if t.Step != AllSteps {
		if st, ok := next.StepByID(t.Step); !ok || st.Kind() != campaign.KindEmail {
			return nil, errs.Field(errs.Invalid, "step", "no email step %q in campaign %s", t.Step, campaignID)
		}
	}
	exp := &campaign.Experiment{ID: fmt.Sprintf("test-v%d", version+1),
		Variants: []campaign.Variant{{ID: "A", Weight: t.ControlWeight}}}
	for i, c := range t.Challengers {
		v := campaign.Variant{ID: string(rune('B' + i)), Weight: c.Weight, Steps: map[string]campaign.VariantStep{}}
		if t.Step == AllSteps {
			ats := strings.Split(c.At, ",")
			emails := next.EmailSteps()
			if len(ats) != len(emails) {
				return nil, errs.Field(errs.Invalid, fmt.Sprintf("experiment.variants[%d].steps", i+1),
					"give one offset per email step, in order and separated by commas (%d steps)", len(emails))
			}
			for j, st := range emails {
				v.Steps[st.ID] = campaign.VariantStep{At: strings.TrimSpace(ats[j])}
			}
		} else {
			vs := campaign.VariantStep{StepText: campaign.StepText{Subject: c.Subject, Preheader: c.Preheader, Heading: c.Heading,
				Body: c.Body, CTA: c.CTA, CTAURL: c.CTAURL}, At: c.At, Omit: c.Omit, NoIncentive: c.NoIncentive}
			if c.PercentOff != 0 || c.Code != "" {
				inc := campaign.Incentive{PercentOff: c.PercentOff, Code: c.Code}
				if st, _ := next.StepByID(t.Step); st.Incentive != nil {
					inc.ExpiresIn, inc.EndsAt = st.Incentive.ExpiresIn, st.Incentive.EndsAt
				}
				vs.Incentive = &inc
			}
			if vs.StepText == (campaign.StepText{}) && vs.At == "" && !vs.Omit && !vs.NoIncentive && vs.Incentive == nil {
				return nil, errs.Field(errs.Invalid, fmt.Sprintf("experiment.variants[%d].steps", i+1),
					"variant %s changes nothing: give it a subject, copy, CTA, incentive or timing of its own, or remove it", v.ID)
			}
			v.Steps[t.Step] = vs
		}
		exp.Variants = append(exp.Variants, v)
	}
	next.Experiment, next.Holdout = exp, t.Holdout
	if err := next.Validate(); err != nil {
		return nil, err
	}
	if err := a.checkContent(&next); err != nil {
		return nil, err
	}
	if _, err := a.newExperiment(campaignID, t.Settings); err != nil {
		return nil, err
	}
	return &TestPlan{Definition: &next, Base: version}, nil
}

// PreviewTest renders the test's step as each variant sends it, side by
// side: for the sample customer and, when customerID is given, for that
// customer as a send would now.
func (a *App) PreviewTest(ctx context.Context, campaignID string, t NewTest, customerID string) (*TestPlan, error) {
	plan, err := a.TestDefinition(ctx, campaignID, t)
	if err != nil {
		return nil, err
	}
	def := plan.Definition
	step := t.Step
	if step == AllSteps {
		step = def.EmailSteps()[0].ID
	}
	for _, v := range def.Experiment.Variants {
		p := TestPreview{Variant: v.ID}
		var st *campaign.Step
		campaign.Walk(def.VariantSteps(v.ID), func(_ string, s campaign.Step) {
			if s.ID == step {
				st = &s
			}
		})
		if st == nil {
			p.Omitted = true
			plan.Previews = append(plan.Previews, p)
			continue
		}
		if p.Email, err = a.Renderer.SampleRender(st.Template, st.Subject, st.Heading, st.Body, "en", st.Incentive != nil); err != nil {
			return nil, err
		}
		if customerID != "" {
			res, err := a.preview(ctx, def, PreviewInput{StepID: step, CustomerID: customerID, Variant: v.ID})
			if err != nil {
				return nil, err
			}
			p.Customer = &res
		}
		plan.Previews = append(plan.Previews, p)
	}
	return plan, nil
}

// StartTest writes the test into the campaign's draft, publishes it as
// the next version and starts its experiment, in one transaction: if any
// part fails, none is done. Running enrolments keep their version.
func (a *App) StartTest(ctx context.Context, campaignID string, t NewTest) (*ExperimentView, error) {
	plan, err := a.TestDefinition(ctx, campaignID, t)
	if err != nil {
		return nil, err
	}
	e, err := a.newExperiment(campaignID, t.Settings)
	if err != nil {
		return nil, err
	}
	e.ID = plan.Definition.Experiment.ID
	raw, err := json.Marshal(plan.Definition)
	if err != nil {
		return nil, err
	}
	if _, err := a.Store.PublishExperiment(ctx, campaignID, plan.Base, raw, e); err != nil {
		return nil, err
	}
	v := view(e, plan.Definition)
	return &v, nil
}
