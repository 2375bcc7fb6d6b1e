package app

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// ExperimentSettings say how the experiment in the campaign's published
// version is judged (the body of POST /v1/campaigns/{id}/experiments).
// Every field is optional.
type ExperimentSettings struct {
	Metric            string   `json:"metric"`              // conversion_rate (default) or revenue_per_recipient
	MinSends          *int     `json:"min_sends"`           // per variant before a winner is called; default 200
	Alpha             *float64 `json:"alpha"`               // false-positive rate; default 0.05
	AutoPromote       bool     `json:"auto_promote"`        // conclude on its own when a winner is clear
	MoveRunning       bool     `json:"move_running"`        // on automatic promotion, move running enrolments too
	GuardrailMinSends *int     `json:"guardrail_min_sends"` // default 200
}

// Conclusion promotes a winner (the body of POST .../experiments/{exp}/conclude).
// Without a winner the analysis' winner is promoted (409 if there is
// none yet).
type Conclusion struct {
	Winner      string `json:"winner"`
	MoveRunning bool   `json:"move_running"`
}

// Resumption lifts a guardrail pause on a variant, or one of its steps.
type Resumption struct {
	Variant string `json:"variant"`
	Step    string `json:"step"`
}

// ExperimentView is an experiment's state and, from GET of one
// experiment, its analysis and guardrails now.
type ExperimentView struct {
	CampaignID        string                  `json:"campaign_id"`
	ID                string                  `json:"id"`
	Version           int                     `json:"version"`
	Status            domain.ExperimentStatus `json:"status"`
	Metric            string                  `json:"metric"`
	MinSends          int                     `json:"min_sends"`
	Alpha             float64                 `json:"alpha"`
	AutoPromote       bool                    `json:"auto_promote"`
	MoveRunning       bool                    `json:"move_running"`
	GuardrailMinSends int                     `json:"guardrail_min_sends"`
	Winner            string                  `json:"winner,omitempty"`
	Variants          []campaign.Weighted     `json:"variants"`
	// Routing is where new enrolments go now (before the holdout share).
	Routing []campaign.Weighted `json:"routing"`
	Paused  map[string]string   `json:"paused"`
	// PausedReason says why the campaign takes no new enrolments because
	// of this experiment: every variant they could go to is paused by its
	// guardrail. A running experiment so held reads status "paused".
	PausedReason  string               `json:"paused_reason,omitempty"`
	StartedAt     time.Time            `json:"started_at"`
	EndedAt       *time.Time           `json:"ended_at,omitempty"`
	LastCheckedAt *time.Time           `json:"last_checked_at,omitempty"`
	Analysis      *experiment.Decision `json:"analysis,omitempty"`
	Guardrails    []GuardrailState     `json:"guardrails,omitempty"`
	// Moving is set when running enrolments are being moved to the winner.
	Moving bool `json:"moving_running_enrolments,omitempty"`
}

// GuardrailState is one variant's or step's unsubscribe and complaint
// rates against the limits.
type GuardrailState struct {
	Variant         string  `json:"variant"`
	Step            string  `json:"step,omitempty"`
	Sent            int64   `json:"sent"`
	UnsubscribeRate float64 `json:"unsubscribe_rate"`
	ComplaintRate   float64 `json:"complaint_rate"`
	Paused          string  `json:"paused,omitempty"` // why, if paused
	// Breached is set when the rates pass a limit now; the daily check
	// pauses it.
	Breached string `json:"breached,omitempty"`
}

// newExperiment is a running experiment with the settings, checked (its
// ID and version are the caller's to set).
func (a *App) newExperiment(campaignID string, req ExperimentSettings) (*models.Experiment, error) {
	e := &models.Experiment{CampaignID: campaignID, Status: domain.ExperimentRunning, Metric: cmp.Or(req.Metric, experiment.MetricConversionRate),
		MinSends: experiment.DefaultMinSends, Alpha: experiment.DefaultAlpha, AutoPromote: req.AutoPromote,
		MoveRunning: req.MoveRunning, GuardrailMinSends: experiment.DefaultGuardrailMinSends, StartedAt: a.now(),
		PValues: map[string]float64{}, Paused: map[string]string{}}
	if req.MinSends != nil {
		e.MinSends = *req.MinSends
	}
	if req.Alpha != nil {
		e.Alpha = *req.Alpha
	}
	if req.GuardrailMinSends != nil {
		e.GuardrailMinSends = *req.GuardrailMinSends
	}
	switch {
	case e.Metric != experiment.MetricConversionRate && e.Metric != experiment.MetricRevenuePerRecipient:
		return nil, errs.Field(errs.Invalid, "metric", "must be %q or %q (opens are not a metric: mailbox providers inflate them)",
			experiment.MetricConversionRate, experiment.MetricRevenuePerRecipient)
	case e.MinSends < 1 || e.MinSends > 1_000_000:
		return nil, errs.Field(errs.Invalid, "min_sends", "must be 1 to 1000000")
	case e.Alpha <= 0 || e.Alpha > 0.2:
		return nil, errs.Field(errs.Invalid, "alpha", "must be above 0 and at most 0.2")
	case e.GuardrailMinSends < 1 || e.GuardrailMinSends > 1_000_000:
		return nil, errs.Field(errs.Invalid, "guardrail_min_sends", "must be 1 to 1000000")
	case req.MoveRunning && !req.AutoPromote:
		return nil, errs.Field(errs.Invalid, "move_running", "only goes with auto_promote; a manual promotion says it in conclude")
	}
	return e, nil
}

// StartExperiment checks the settings and starts the experiment in the
// campaign's published version.
func (a *App) StartExperiment(ctx context.Context, campaignID string, req ExperimentSettings) (*ExperimentView, error) {
	e, err := a.newExperiment(campaignID, req)
	if err != nil {
		return nil, err
	}
	def, version, err := a.defs.Published(ctx, campaignID)
	if err == nil && def.Experiment == nil {
		err = errs.E(errs.Conflict, "campaign %s v%d has no experiment: add one to the definition and publish", campaignID, version)
	}
	if err != nil {
		return nil, err
	}
	e.ID, e.Version = def.Experiment.ID, version
	if prev, err := a.Store.GetExperiment(ctx, campaignID, e.ID); err == nil {
		return nil, errs.E(errs.Conflict, "experiment %s was started on %s and is %s: a new run needs a new experiment id",
			e.ID, prev.StartedAt.Format(time.DateOnly), prev.Status)
	}
	if err := a.Store.StartExperiment(ctx, e); err != nil {
		return nil, err
	}
	v := view(e, def)
	return &v, nil
}

// Experiments lists a campaign's experiments, newest first.
func (a *App) Experiments(ctx context.Context, campaignID string) ([]ExperimentView, error) {
	if _, err := a.Store.GetCampaign(ctx, campaignID); err != nil {
		return nil, err
	}
	es, err := a.Store.ListExperiments(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	out := []ExperimentView{}
	for i := range es {
		def, err := a.defs.Version(ctx, es[i].CampaignID, es[i].Version)
		if err != nil {
			return nil, err
		}
		out = append(out, view(&es[i], def))
	}
	return out, nil
}

// Experiment returns an experiment with its analysis and guardrail state
// now. It changes nothing (the daily check stores the evidence).
func (a *App) Experiment(ctx context.Context, campaignID, id string) (*ExperimentView, error) {
	e, def, err := a.experiment(ctx, campaignID, id)
	if err != nil {
		return nil, err
	}
	return a.analyse(ctx, e, def)
}

// CurrentExperiment is the campaign's latest experiment with its
// analysis, or nil when none was ever started.
func (a *App) CurrentExperiment(ctx context.Context, campaignID string) (*ExperimentView, error) {
	e, err := a.Store.CurrentExperiment(ctx, campaignID)
	if err != nil || e == nil {
		return nil, err
	}
	def, err := a.defs.Version(ctx, campaignID, e.Version)
	if err != nil {
		return nil, err
	}
	return a.analyse(ctx, e, def)
}

func (a *App) analyse(ctx context.Context, e *models.Experiment, def *campaign.Definition) (*ExperimentView, error) {
	v := view(e, def)
	res, err := experiment.Evaluate(ctx, a.Store, def, e, a.now())
	if err != nil {
		return nil, err
	}
	v.Analysis = &res.Decision
	state := func(variant, step string, sent, unsub, complaints int64) GuardrailState {
		key := models.PausedKey(variant, step)
		g := GuardrailState{Variant: variant, Step: step, Sent: sent, UnsubscribeRate: ratio(unsub, sent),
			ComplaintRate: ratio(complaints, sent), Paused: e.Paused[key]}
		if g.Paused == "" {
			g.Breached = res.Paused[key]
		}
		return g
	}
	for _, t := range res.Variants {
		if t.Variant != campaign.VariantHoldout {
			v.Guardrails = append(v.Guardrails, state(t.Variant, "", t.Sent, t.Unsubscribed, t.Complained))
		}
	}
	for _, s := range res.Steps {
		v.Guardrails = append(v.Guardrails, state(s.Variant, s.StepID, s.Sent, s.Unsubscribed, s.Complained))
	}
	slices.SortFunc(v.Guardrails, func(a, b GuardrailState) int {
		return strings.Compare(a.Variant+"\x00"+a.Step, b.Variant+"\x00"+b.Step)
	})
	return &v, nil
}

// StopExperiment stops a running experiment: new enrolments get the
// control.
func (a *App) StopExperiment(ctx context.Context, campaignID, id string) (*ExperimentView, error) {
	e, def, err := a.experiment(ctx, campaignID, id)
	if err != nil {
		return nil, err
	}
	if e, err = a.Store.EndExperiment(ctx, e.CampaignID, e.ID, domain.ExperimentStopped, "", false, a.now()); err != nil {
		return nil, err
	}
	v := view(e, def)
	return &v, nil
}

// ConcludeExperiment promotes a winner (the named one, or the analysis'
// winner: a conflict while there is none): new enrolments get it and,
// with MoveRunning, running enrolments switch to it at their next step.
// Concluding again with the same winner succeeds (and starts a move still
// pending), so a caller can retry after an outage. The API, the console
// and automatic promotion all conclude here.
func (a *App) ConcludeExperiment(ctx context.Context, campaignID, id string, c Conclusion) (*ExperimentView, error) {
	e, def, err := a.experiment(ctx, campaignID, id)
	if err != nil {
		return nil, err
	}
	if e, err = a.conclude(ctx, e, def, c, true); err != nil {
		return nil, err
	}
	v := view(e, def)
	v.Moving = e.MovePending
	return &v, nil
}

// conclude is the one way an experiment is concluded. With startMove a
// pending move of running enrolments starts now; the daily check passes
// false because it makes the pending moves itself.
func (a *App) conclude(ctx context.Context, e *models.Experiment, def *campaign.Definition, c Conclusion, startMove bool) (*models.Experiment, error) {
	if c.Winner == "" && e.Status == domain.ExperimentRunning {
		res, err := experiment.Evaluate(ctx, a.Store, def, e, a.now())
		if err != nil {
			return nil, err
		}
		if res.Decision.Winner == "" {
			return nil, errs.E(errs.Conflict, "no winner yet (%s): name one to promote it anyway, or stop the experiment",
				res.Decision.Verdict)
		}
		c.Winner = res.Decision.Winner
	}
	if !def.HasVariant(c.Winner) {
		return nil, errs.Field(errs.Invalid, "winner", "no variant %q in experiment %s", c.Winner, e.ID)
	}
	e, err := a.Store.EndExperiment(ctx, e.CampaignID, e.ID, domain.ExperimentConcluded, c.Winner, c.MoveRunning, a.now())
	if err != nil {
		return nil, err
	}
	if e.MovePending && startMove {
		// The promotion stands and the move is recorded as pending: if
		// Temporal does not answer now, the daily check makes it, or the
		// caller asks again.
		if err := a.Sequences.Promote(ctx, e.CampaignID, e.ID, e.Winner); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// ResumeVariant lifts a guardrail pause on a variant or one of its steps;
// the guardrails leave it alone from then on.
func (a *App) ResumeVariant(ctx context.Context, campaignID, id string, r Resumption) (*ExperimentView, error) {
	e, def, err := a.experiment(ctx, campaignID, id)
	if err != nil {
		return nil, err
	}
	if !def.HasVariant(r.Variant) {
		return nil, errs.Field(errs.Invalid, "variant", "no variant %q in experiment %s", r.Variant, e.ID)
	}
	if e, err = a.Store.ResumeExperimentVariant(ctx, e.CampaignID, e.ID, models.PausedKey(r.Variant, r.Step), a.now()); err != nil {
		return nil, err
	}
	v := view(e, def)
	return &v, nil
}

func (a *App) experiment(ctx context.Context, campaignID, id string) (*models.Experiment, *campaign.Definition, error) {
	e, err := a.Store.GetExperiment(ctx, campaignID, id)
	if err != nil {
		return nil, nil, err
	}
	def, err := a.defs.Version(ctx, e.CampaignID, e.Version)
	if err != nil {
		return nil, nil, err
	}
	return e, def, nil
}

// CheckExperiments looks at every running experiment once: it folds the
// day's evidence into the always-valid p-values, pauses variants and
// steps whose unsubscribe or complaint rate passed its guardrail, and
// concludes experiments with automatic promotion whose winner is clear
// (through ConcludeExperiment, like a person would). It returns every
// promotion whose move of running enrolments is still pending (recorded
// in the store, so a failed attempt is retried by the next check, never
// lost). progress is called after each experiment.
func (a *App) CheckExperiments(ctx context.Context, progress func(done int)) ([]workflows.Promotion, error) {
	running, err := a.Store.RunningExperiments(ctx)
	if err != nil {
		return nil, err
	}
	for i := range running {
		progress(i)
		e := &running[i]
		def, err := a.defs.Version(ctx, e.CampaignID, e.Version)
		if err != nil {
			return nil, err
		}
		if def.Experiment == nil || def.Experiment.ID != e.ID {
			continue
		}
		now := a.now()
		res, err := experiment.Evaluate(ctx, a.Store, def, e, now)
		if err != nil {
			return nil, err
		}
		saved, err := a.Store.SaveExperimentCheck(ctx, e.CampaignID, e.ID, res.PValues, res.Paused, now)
		if err != nil {
			return nil, err
		}
		for key, why := range saved.Paused {
			if _, was := e.Paused[key]; !was {
				a.Logger.Warn("experiment guardrail paused a variant", "campaign", e.CampaignID, "experiment", e.ID, "paused", key, "why", why)
			}
		}
		if !e.AutoPromote || res.Decision.Winner == "" || saved.Status != domain.ExperimentRunning {
			continue
		}
		// The check's workflow makes the pending moves itself (below).
		_, err = a.conclude(ctx, saved, def, Conclusion{Winner: res.Decision.Winner, MoveRunning: e.MoveRunning}, false)
		if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
			// This experiment cannot be concluded as it stands: the others
			// are still checked, and a person can conclude it by hand.
			a.Logger.Error("experiment not concluded automatically", "campaign", e.CampaignID, "experiment", e.ID, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		a.Logger.Info("experiment concluded automatically", "campaign", e.CampaignID, "experiment", e.ID, "winner", res.Decision.Winner)
	}
	pending, err := a.Store.PendingMoves(ctx)
	if err != nil {
		return nil, err
	}
	var moves []workflows.Promotion
	for _, e := range pending {
		moves = append(moves, workflows.Promotion{CampaignID: e.CampaignID, ExperimentID: e.ID, Winner: e.Winner})
	}
	return moves, nil
}

// MovePosition is how far a move of running enrolments has got: the last
// enrolment ID it handled and how many it signalled.
type MovePosition struct {
	After string
	Moved int
}

// MoveRunning signals every running enrolment of the campaign that is
// neither in the winner nor in the holdout to switch to the winner at its
// next step boundary. It pages by enrolment ID from pos, calling progress
// after each page, so a retry resumes where the last attempt stopped.
// Sequences that ended meanwhile are skipped. When every page is done it
// records the move as done and returns how many it signalled.
func (a *App) MoveRunning(ctx context.Context, p workflows.Promotion, pos MovePosition, progress func(MovePosition)) (int, error) {
	plans := map[int]*campaign.Plan{}
	for {
		page, err := a.Store.RunningToMove(ctx, p.CampaignID, []string{p.Winner, campaign.VariantHoldout}, pos.After, 500)
		if err != nil {
			return pos.Moved, err
		}
		if len(page) == 0 {
			return pos.Moved, a.Store.MoveDone(ctx, p.CampaignID, p.ExperimentID)
		}
		for _, e := range page {
			plan, ok := plans[e.Version]
			if !ok {
				def, err := a.defs.Version(ctx, e.CampaignID, e.Version)
				if err != nil {
					return pos.Moved, err
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
			err := a.Sequences.SwitchVariant(ctx, e.WorkflowID, *plan, p.Winner)
			switch {
			case errs.Is(err, errs.NotFound): // ended meanwhile
			case err != nil:
				return pos.Moved, err
			default:
				pos.Moved++
			}
		}
		pos.After = page[len(page)-1].ID
		progress(pos)
	}
}

func view(e *models.Experiment, def *campaign.Definition) ExperimentView {
	paused := e.Paused
	if paused == nil {
		paused = map[string]string{}
	}
	status, held := e.Status, experiment.Halted(def, e)
	if held != "" && status == domain.ExperimentRunning {
		status = domain.ExperimentPaused
	}
	return ExperimentView{
		CampaignID: e.CampaignID, ID: e.ID, Version: e.Version, Status: status, Metric: e.Metric, MinSends: e.MinSends,
		Alpha: e.Alpha, AutoPromote: e.AutoPromote, MoveRunning: e.MoveRunning, GuardrailMinSends: e.GuardrailMinSends,
		Winner: e.Winner, Variants: def.Experiment.Weighted(), Routing: experiment.Routing(def, e), Paused: paused,
		PausedReason: held, StartedAt: e.StartedAt, EndedAt: e.EndedAt, LastCheckedAt: e.LastCheckedAt,
	}
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// LatestExperiment is the campaign's most recently started experiment,
// the one that decides new enrolments' variants (nil: none ever started).
func (a *App) LatestExperiment(ctx context.Context, campaignID string) (*models.Experiment, error) {
	return a.Store.CurrentExperiment(ctx, campaignID)
}
