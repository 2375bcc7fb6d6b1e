package experiment

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// Result is an experiment's state at one look: the analysis, the
// guardrails' pauses (old and new) and the totals behind them.
type Result struct {
	Decision Decision
	PValues  map[string]float64
	Paused   map[string]string
	Variants []models.VariantTotals
	Steps    []models.StepTotals
}

// Evaluate reads the experiment's totals (enrolments on its version since
// it started, until it ended) and analyses them. It changes nothing.
// Enrolments on other versions are left out: a later version without the
// experiment sends everyone the control, and those customers were not
// randomised.
func Evaluate(ctx context.Context, store *models.Store, def *campaign.Definition, e *models.Experiment, now time.Time) (Result, error) {
	to := now
	if e.EndedAt != nil {
		to = *e.EndedAt
	}
	variants, steps, err := store.CampaignReport(ctx, e.CampaignID, e.Version, e.StartedAt, to.Add(time.Nanosecond))
	if err != nil {
		return Result{}, err
	}
	dec, pvals := Analyze(def, e, variants)
	return Result{Decision: dec, PValues: pvals, Variants: variants, Steps: steps,
		Paused: Guardrails(e.GuardrailMinSends, variants, steps, e.Paused, e.Resumed)}, nil
}
