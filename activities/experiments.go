package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/workflows"
)

// Switcher tells a running sequence to move to another variant for its
// remaining steps; workflows.Client is one. A sequence that has ended is
// an errs.NotFound.
type Switcher interface {
	SwitchVariant(ctx context.Context, workflowID string, plan campaign.Plan, variant string) error
}

// CheckExperiments looks at every running experiment once: it folds the
// day's evidence into the always-valid p-values, pauses variants and
// steps whose unsubscribe or complaint rate passed its guardrail, and
// concludes experiments with automatic promotion whose winner is clear.
// It returns every promotion whose move of running enrolments is still
// pending (recorded in the store, so a failed attempt is retried by the
// next check, never lost).
func (a *Activities) CheckExperiments(ctx context.Context) ([]workflows.Promotion, error) {
	running, err := a.Store.RunningExperiments(ctx)
	if err != nil {
		return nil, retryable(err)
	}
	logger := activity.GetLogger(ctx)
	for i := range running {
		activity.RecordHeartbeat(ctx, i)
		e := &running[i]
		def, err := a.definition(ctx, e.CampaignID, e.Version)
		if err != nil {
			return nil, retryable(err)
		}
		if def.Experiment == nil || def.Experiment.ID != e.ID {
			continue
		}
		now := a.now()
		res, err := experiment.Evaluate(ctx, a.Store, def, e, now)
		if err != nil {
			return nil, retryable(err)
		}
		saved, err := a.Store.SaveExperimentCheck(ctx, e.CampaignID, e.ID, res.PValues, res.Paused, now)
		if err != nil {
			return nil, retryable(err)
		}
		for key, why := range saved.Paused {
			if _, was := e.Paused[key]; !was {
				logger.Warn("experiment guardrail paused a variant", "campaign", e.CampaignID, "experiment", e.ID, "paused", key, "why", why)
			}
		}
		if !e.AutoPromote || res.Decision.Winner == "" || saved.Status != domain.ExperimentRunning {
			continue
		}
		if _, err := a.Store.EndExperiment(ctx, e.CampaignID, e.ID, domain.ExperimentConcluded, res.Decision.Winner, e.MoveRunning, now); err != nil {
			return nil, retryable(err)
		}
		logger.Info("experiment concluded automatically", "campaign", e.CampaignID, "experiment", e.ID, "winner", res.Decision.Winner)
	}
	pending, err := a.Store.PendingMoves(ctx)
	if err != nil {
		return nil, retryable(err)
	}
	var moves []workflows.Promotion
	for _, e := range pending {
		moves = append(moves, workflows.Promotion{CampaignID: e.CampaignID, ExperimentID: e.ID, Winner: e.Winner})
	}
	return moves, nil
}

// MoveToWinner signals every running enrolment of the campaign that is
// neither in the winner nor in the holdout to switch to the winner at its
// next step boundary. It pages by enrolment ID and heartbeats its
// position, so a retry resumes where the last attempt stopped. Sequences
// that ended meanwhile are skipped. It returns how many it signalled.
func (a *Activities) MoveToWinner(ctx context.Context, p workflows.Promotion) (int, error) {
	if a.Switch == nil {
		return 0, permanent(errors.New("the worker has no Temporal client to signal sequences with"))
	}
	after, moved := "", 0
	if activity.HasHeartbeatDetails(ctx) {
		var cursor struct {
			After string
			Moved int
		}
		if activity.GetHeartbeatDetails(ctx, &cursor) == nil {
			after, moved = cursor.After, cursor.Moved
		}
	}
	plans := map[int]*campaign.Plan{}
	for {
		page, err := a.Store.RunningToMove(ctx, p.CampaignID, []string{p.Winner, campaign.VariantHoldout}, after, 500)
		if err != nil {
			return moved, retryable(err)
		}
		if len(page) == 0 {
			return moved, retryable(a.Store.MoveDone(ctx, p.CampaignID, p.ExperimentID))
		}
		for _, e := range page {
			plan, ok := plans[e.Version]
			if !ok {
				def, err := a.definition(ctx, e.CampaignID, e.Version)
				if err != nil {
					return moved, retryable(err)
				}
				if def.HasVariant(p.Winner) {
					pl := def.Plan()
					plan = &pl
				}
				plans[e.Version] = plan
			}
			if plan == nil { // a version without the winner keeps its own variants
				continue
			}
			err := a.Switch.SwitchVariant(ctx, e.WorkflowID, *plan, p.Winner)
			switch {
			case errs.Is(err, errs.NotFound): // ended meanwhile
			case err != nil:
				return moved, err
			default:
				moved++
			}
		}
		after = page[len(page)-1].ID
		activity.RecordHeartbeat(ctx, struct {
			After string
			Moved int
		}{after, moved})
	}
}
