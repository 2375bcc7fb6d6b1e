package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/lift-hq/lift/internal/errs"
)

// VariantHoldout is the variant of enrolments that run the sequence's
// clock but are never emailed: their conversions are what the campaign is
// measured against.
const VariantHoldout = "holdout"

// Weighted is a variant and its relative share of enrolments.
type Weighted struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
}

// Assign places a customer in a variant: sticky and deterministic (a hash
// of customer, campaign and experiment, so the same on every retry,
// replay and re-enrolment), holdoutPercent of customers in the holdout and
// the rest split by weight. The holdout draw is a hash of its own
// (customer and campaign), so it is independent of the variant draw:
// raising the holdout share only moves customers from the variants into
// the holdout, never between variants, and a new experiment keeps the
// same holdout. With no variants everyone not held out gets "A".
func Assign(customerID, campaignID, experiment string, holdoutPercent float64, variants []Weighted) string {
	if uniform(customerID, campaignID, "\x00holdout") < holdoutPercent/100 {
		return VariantHoldout
	}
	total := 0
	for _, v := range variants {
		total += v.Weight
	}
	if total == 0 {
		return "A"
	}
	x := uniform(customerID, campaignID, experiment) * float64(total)
	acc := 0.0
	for _, v := range variants {
		acc += float64(v.Weight)
		if x < acc {
			return v.ID
		}
	}
	return variants[len(variants)-1].ID
}

// uniform hashes its parts to a number uniform in [0, 1).
func uniform(parts ...string) float64 {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	return float64(binary.BigEndian.Uint64(h.Sum(nil)[:8])>>11) / (1 << 53)
}

// Experiment splits a version's enrolments between variants that differ
// in their copy. Each variant has a weight; its steps map overrides
// fields of the campaign's steps (subject, preheader, heading, body,
// cta). The campaign's own copy is what a variant does not override.
type Experiment struct {
	ID       string    `json:"id"`
	Variants []Variant `json:"variants"`
}

// Variant is one arm of an experiment.
type Variant struct {
	ID     string                 `json:"id"`
	Weight int                    `json:"weight"`
	Steps  map[string]VariantStep `json:"steps,omitempty"`
}

// VariantStep is a variant's copy for one step, with its own
// translations: a language the variant does not translate shows the
// variant's copy, never the control's translation of a field the
// variant changed.
type VariantStep struct {
	StepText
	Translations map[string]StepText `json:"translations,omitempty"`
	// At moves the step ("5d", "3d-7d"); Template swaps its layout.
	At       string `json:"at,omitempty"`
	Template string `json:"template,omitempty"`
	// Incentive gives the step an offer; NoIncentive takes the
	// campaign's offer away (discount only in later steps, say).
	Incentive   *Incentive `json:"incentive,omitempty"`
	NoIncentive bool       `json:"no_incentive,omitempty"`
	// Omit drops the step from the variant: a shorter sequence. A longer
	// one is a campaign step the other variants omit.
	Omit bool `json:"omit,omitempty"`
}

// retimes reports whether the override changes when or whether the step
// is sent, which the workflow's plan must know.
func (vs VariantStep) retimes() bool { return vs.At != "" || vs.Omit }

// Weighted lists the experiment's variants for Assign.
func (e *Experiment) Weighted() []Weighted {
	if e == nil {
		return nil
	}
	out := make([]Weighted, len(e.Variants))
	for i, v := range e.Variants {
		out[i] = Weighted{ID: v.ID, Weight: v.Weight}
	}
	return out
}

// HasVariant reports whether a customer can be sent the variant: one of
// the experiment's, or "A" without an experiment. (The holdout is sent
// nothing.)
func (d *Definition) HasVariant(id string) bool {
	if d.Experiment == nil {
		return id == "A"
	}
	for _, v := range d.Experiment.Variants {
		if v.ID == id {
			return true
		}
	}
	return false
}

// ForVariant returns the step as the variant sends it.
func (d *Definition) ForVariant(s Step, variant string) Step {
	if d.Experiment == nil {
		return s
	}
	for _, v := range d.Experiment.Variants {
		if v.ID != variant {
			continue
		}
		vs, ok := v.Steps[s.ID]
		if !ok {
			return s
		}
		if vs.At != "" {
			s.At = vs.At
		}
		if vs.Template != "" {
			s.Template = vs.Template
		}
		switch {
		case vs.NoIncentive:
			s.Incentive = nil
		case vs.Incentive != nil:
			inc := *vs.Incentive
			s.Incentive = &inc
		}
		changed := override(&s.Subject, &s.Preheader, &s.Heading, &s.Body, &s.CTA, &s.CTAURL, vs.StepText)
		tr := make(map[string]StepText, len(s.Translations)+len(vs.Translations))
		for lang, t := range s.Translations {
			// The control's translation of a field the variant changed
			// would undo the variant for that language.
			for _, field := range changed {
				*t.field(field) = ""
			}
			tr[lang] = t
		}
		for lang, t := range vs.Translations {
			base := tr[lang]
			override(&base.Subject, &base.Preheader, &base.Heading, &base.Body, &base.CTA, &base.CTAURL, t)
			tr[lang] = base
		}
		s.Translations = tr
		return s
	}
	return s
}

// VariantSteps is the sequence as the variant sends it: each step with
// the variant's changes, without the steps it omits.
// Steps on a branch's paths are changed (or omitted) alike.
func (d *Definition) VariantSteps(variant string) []Step { return d.variantSteps(d.Steps, variant) }

func (d *Definition) variantSteps(steps []Step, variant string) []Step {
	var out []Step
	for _, s := range steps {
		if d.omits(variant, s.ID) {
			continue
		}
		if s.Branch != nil {
			b := *s.Branch
			b.Then, b.Else = d.variantSteps(b.Then, variant), d.variantSteps(b.Else, variant)
			s.Branch = &b
			out = append(out, s)
			continue
		}
		out = append(out, d.ForVariant(s, variant))
	}
	return out
}

func (d *Definition) omits(variant, stepID string) bool {
	if d.Experiment == nil {
		return false
	}
	for _, v := range d.Experiment.Variants {
		if v.ID == variant {
			return v.Steps[stepID].Omit
		}
	}
	return false
}

// override sets each field that t gives and names the fields it set.
func override(subject, preheader, heading, body, cta, ctaURL *string, t StepText) []string {
	var changed []string
	for _, f := range []struct {
		name string
		dst  *string
		src  string
	}{{"subject", subject, t.Subject}, {"preheader", preheader, t.Preheader}, {"heading", heading, t.Heading}, {"body", body, t.Body},
		{"cta", cta, t.CTA}, {"cta_url", ctaURL, t.CTAURL}} {
		if f.src != "" {
			*f.dst = f.src
			changed = append(changed, f.name)
		}
	}
	return changed
}

func (t *StepText) field(name string) *string {
	switch name {
	case "subject":
		return &t.Subject
	case "preheader":
		return &t.Preheader
	case "heading":
		return &t.Heading
	case "body":
		return &t.Body
	case "cta_url":
		return &t.CTAURL
	default:
		return &t.CTA
	}
}

var variantRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

// validateExperiment checks an experiment against the definition's steps.
func (d *Definition) validateExperiment() error {
	e := d.Experiment
	if e == nil {
		return nil
	}
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, "experiment."+field, format, args...)
	}
	if !idRE.MatchString(e.ID) {
		return bad("id", "must be 1-64 lower-case letters, digits, - or _")
	}
	if len(e.Variants) < 2 || len(e.Variants) > 5 {
		return bad("variants", "must list 2 to 5 variants")
	}
	seen := map[string]bool{}
	for i, v := range e.Variants {
		f := func(name string) string { return fmt.Sprintf("variants[%d].%s", i, name) }
		switch {
		case !variantRE.MatchString(v.ID) || v.ID == VariantHoldout:
			return bad(f("id"), "must be 1-16 letters, digits, - or _, and not %q", VariantHoldout)
		case seen[v.ID]:
			return bad(f("id"), "%q appears twice", v.ID)
		case v.Weight < 1 || v.Weight > 100:
			return bad(f("weight"), "must be 1 to 100")
		}
		seen[v.ID] = true
		for _, stepID := range slices.Sorted(maps.Keys(v.Steps)) {
			if st, ok := d.StepByID(stepID); !ok {
				return bad(f("steps."+stepID), "no step %q in the campaign", stepID)
			} else if st.Kind() != KindEmail {
				return bad(f("steps."+stepID), "step %q is a %s: variants change email steps", stepID, st.Kind())
			}
			vs := v.Steps[stepID]
			if err := checkText("experiment."+f("steps."+stepID+"."), vs.StepText); err != nil {
				return err
			}
			for _, lang := range slices.Sorted(maps.Keys(vs.Translations)) {
				if err := checkText("experiment."+f("steps."+stepID+".translations."+lang+"."), vs.Translations[lang]); err != nil {
					return err
				}
			}
			if vs.NoIncentive && vs.Incentive != nil {
				return bad(f("steps."+stepID+".no_incentive"), "give an incentive or take it away, not both")
			}
		}
		// The variant's own sequence must be a valid campaign: its
		// timing in order, its templates known, its offers sound.
		alt := *d
		alt.Experiment, alt.Holdout, alt.Steps = nil, 0, d.VariantSteps(v.ID)
		if err := alt.Validate(); err != nil {
			if len(alt.Steps) == 0 {
				return bad(f("steps"), "omits every step")
			}
			return bad(f("steps"), "the variant's sequence is invalid: %v", err)
		}
	}
	return nil
}
