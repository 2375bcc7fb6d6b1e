package activities

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Prepare creates the step's message, keyed by (enrollment, step), with the
// recommendations it will show. A step that needs recommendations and has
// none is skipped, not sent empty. Calling it again returns what the first
// call decided.
func (a *Activities) Prepare(ctx context.Context, ref workflows.StepRef) (workflows.Prepared, error) {
	def, err := a.App.Definitions().Version(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return workflows.Prepared{}, err
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok {
		return workflows.Prepared{}, errs.E(errs.NotFound, "step %s not in %s v%d", ref.StepID, ref.CampaignID, ref.Version)
	}
	step = def.ForVariant(step, ref.Variant)
	msg := &models.Message{
		ID: uuid.NewString(), EnrollmentID: ref.EnrollmentID, StepID: ref.StepID,
		CustomerID: ref.CustomerID, CampaignID: ref.CampaignID, Variant: ref.Variant,
		Status: domain.MessagePending,
	}
	paused, err := a.guardrailPause(ctx, def, ref)
	if err != nil {
		return workflows.Prepared{}, err
	}
	unmet, err := a.App.OnlyIfUnmet(ctx, ref.EnrollmentID, step)
	if err != nil {
		return workflows.Prepared{}, err
	}
	if paused != "" {
		msg.Status, msg.Error = domain.MessageSkipped, paused
	} else if unmet != "" {
		msg.Status, msg.Error = domain.MessageSkipped, unmet
	} else if why := a.offerEnded(step); why != "" {
		msg.Status, msg.Error = domain.MessageSkipped, why
	} else if step.UsesRecommendations() {
		if err := a.recommend(ctx, ref, step, msg); err != nil {
			return workflows.Prepared{}, err
		}
	}
	msg, _, err = a.Store.ClaimMessage(ctx, msg)
	if err != nil {
		return workflows.Prepared{}, err
	}
	p := workflows.Prepared{MessageID: msg.ID, Items: len(msg.Recommended)}
	switch msg.Status {
	case domain.MessageSent:
		p.AlreadySent = true
	case domain.MessageSkipped, domain.MessageFailed:
		p.Skip, p.Reason = true, msg.Error
	}
	return p, nil
}

// guardrailPause says why the experiment's guardrails hold the
// variant's step, or "".
func (a *Activities) guardrailPause(ctx context.Context, def *campaign.Definition, ref workflows.StepRef) (string, error) {
	if def.Experiment == nil {
		return "", nil
	}
	exp, err := a.Store.CurrentExperiment(ctx, ref.CampaignID)
	if err != nil || exp == nil || exp.ID != def.Experiment.ID {
		return "", err
	}
	return experiment.PausedReason(exp, ref.Variant, ref.StepID), nil
}

// offerEnded says why a step must not be sent because its offer has
// ended, or "".
func (a *Activities) offerEnded(step campaign.Step) string {
	if step.Incentive == nil {
		return ""
	}
	if end, ok := step.Incentive.End(); ok && !a.now().Before(end) {
		return "the offer ended " + end.UTC().Format(time.RFC3339) + ": an expired offer is never sent"
	}
	return ""
}

// recommend applies the step's strategy (internal/recs) at send time, so
// what the customer bought since enrolment is left out. With an optional
// block, a failing recommender means an email without recommendations; an
// empty result without one skips the step.
func (a *Activities) recommend(ctx context.Context, ref workflows.StepRef, step campaign.Step, msg *models.Message) error {
	trigger, err := a.App.TriggerSKUs(ctx, ref.TriggerEventID)
	if err != nil {
		return err
	}
	res, skip, err := a.App.StepRecommendations(ctx, step, ref.CustomerID, trigger)
	switch {
	case err != nil && step.Recommend.Optional && !app.CopyNamesProducts(step):
		msg.RecommendNote = "the recommender failed (" + err.Error() + "): sent without recommendations"
		return nil
	case err != nil:
		return err
	}
	msg.Recommended, msg.RecommendNote, msg.Strategy = res.SKUs(), res.Note, string(res.Strategy)
	msg.Reasons = map[string]string{}
	for _, p := range res.Picks {
		msg.Reasons[p.SKU] = p.Reason
	}
	if skip != "" {
		msg.Status = domain.MessageSkipped
		msg.Error = skip
	}
	return nil
}
