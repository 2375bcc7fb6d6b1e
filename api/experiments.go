package api

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/models"
)

// StartExperimentRequest is the body of POST /v1/campaigns/{id}/experiments:
// how the experiment in the campaign's published version is judged.
// Every field is optional.
type StartExperimentRequest struct {
	Metric            string   `json:"metric"`              // conversion_rate (default) or revenue_per_recipient
	MinSends          *int     `json:"min_sends"`           // per variant before a winner is called; default 200
	Alpha             *float64 `json:"alpha"`               // false-positive rate; default 0.05
	AutoPromote       bool     `json:"auto_promote"`        // conclude on its own when a winner is clear
	MoveRunning       bool     `json:"move_running"`        // on automatic promotion, move running enrolments too
	GuardrailMinSends *int     `json:"guardrail_min_sends"` // default 200
}

// ConcludeRequest is the body of POST .../experiments/{exp}/conclude.
// Without a winner the analysis' winner is promoted (409 if there is
// none yet).
type ConcludeRequest struct {
	Winner      string `json:"winner"`
	MoveRunning bool   `json:"move_running"`
}

// ResumeRequest lifts a guardrail pause on a variant, or one of its steps.
type ResumeRequest struct {
	Variant string `json:"variant"`
	Step    string `json:"step"`
}

// ExperimentResponse is an experiment's state and, from GET of one
// experiment, its analysis and guardrails now.
type ExperimentResponse struct {
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
	Routing       []campaign.Weighted  `json:"routing"`
	Paused        map[string]string    `json:"paused"`
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

func (h *handlers) startExperiment(c *gin.Context) {
	var req StartExperimentRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	e, def, err := h.start(c.Request.Context(), c.Param("id"), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, experimentResponse(e, def))
}

// start checks the settings and starts the experiment in the campaign's
// published version; the API and the console both come here.
func (h *handlers) start(ctx context.Context, campaignID string, req StartExperimentRequest) (*models.Experiment, *campaign.Definition, error) {
	e := &models.Experiment{CampaignID: campaignID, Status: domain.ExperimentRunning, Metric: cmp.Or(req.Metric, experiment.MetricConversionRate),
		MinSends: experiment.DefaultMinSends, Alpha: experiment.DefaultAlpha, AutoPromote: req.AutoPromote,
		MoveRunning: req.MoveRunning, GuardrailMinSends: experiment.DefaultGuardrailMinSends, StartedAt: h.Now().UTC(),
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
		return nil, nil, errs.Field(errs.Invalid, "metric", "must be %q or %q (opens are not a metric: mailbox providers inflate them)",
			experiment.MetricConversionRate, experiment.MetricRevenuePerRecipient)
	case e.MinSends < 1 || e.MinSends > 1_000_000:
		return nil, nil, errs.Field(errs.Invalid, "min_sends", "must be 1 to 1000000")
	case e.Alpha <= 0 || e.Alpha > 0.2:
		return nil, nil, errs.Field(errs.Invalid, "alpha", "must be above 0 and at most 0.2")
	case e.GuardrailMinSends < 1 || e.GuardrailMinSends > 1_000_000:
		return nil, nil, errs.Field(errs.Invalid, "guardrail_min_sends", "must be 1 to 1000000")
	case req.MoveRunning && !req.AutoPromote:
		return nil, nil, errs.Field(errs.Invalid, "move_running", "only goes with auto_promote; a manual promotion says it in conclude")
	}
	def, version, err := h.publishedDefinition(ctx, campaignID)
	if err == nil && def.Experiment == nil {
		err = errs.E(errs.Conflict, "campaign %s v%d has no experiment: add one to the definition and publish", campaignID, version)
	}
	if err != nil {
		return nil, nil, err
	}
	e.ID, e.Version = def.Experiment.ID, version
	if prev, err := h.Store.GetExperiment(ctx, campaignID, e.ID); err == nil {
		return nil, nil, errs.E(errs.Conflict, "experiment %s was started on %s and is %s: a new run needs a new experiment id",
			e.ID, prev.StartedAt.Format(time.DateOnly), prev.Status)
	}
	return e, def, h.Store.StartExperiment(ctx, e)
}

func (h *handlers) listExperiments(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := h.Store.GetCampaign(ctx, c.Param("id")); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	es, err := h.Store.ListExperiments(ctx, c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	out := []ExperimentResponse{}
	for i := range es {
		def, err := h.versionDefinition(ctx, es[i].CampaignID, es[i].Version)
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		out = append(out, experimentResponse(&es[i], def))
	}
	c.JSON(http.StatusOK, gin.H{"experiments": out})
}

func (h *handlers) getExperiment(c *gin.Context) {
	e, def, ok := h.loadExperiment(c)
	if !ok {
		return
	}
	resp, err := h.analyse(c.Request.Context(), e, def)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, resp)
}

// analyse adds the analysis and guardrail state to an experiment's
// response; it changes nothing (the daily check stores the evidence).
func (h *handlers) analyse(ctx context.Context, e *models.Experiment, def *campaign.Definition) (ExperimentResponse, error) {
	resp := experimentResponse(e, def)
	res, err := experiment.Evaluate(ctx, h.Store, def, e, h.Now().UTC())
	if err != nil {
		return resp, err
	}
	resp.Analysis = &res.Decision
	state := func(variant, step string, sent, unsub, complaints int64) GuardrailState {
		key := models.PausedKey(variant, step)
		g := GuardrailState{Variant: variant, Step: step, Sent: sent, UnsubscribeRate: ratio(unsub, sent),
			ComplaintRate: ratio(complaints, sent), Paused: e.Paused[key]}
		if g.Paused == "" {
			g.Breached = res.Paused[key]
		}
		return g
	}
	for _, v := range res.Variants {
		if v.Variant != campaign.VariantHoldout {
			resp.Guardrails = append(resp.Guardrails, state(v.Variant, "", v.Sent, v.Unsubscribed, v.Complained))
		}
	}
	for _, s := range res.Steps {
		resp.Guardrails = append(resp.Guardrails, state(s.Variant, s.StepID, s.Sent, s.Unsubscribed, s.Complained))
	}
	slices.SortFunc(resp.Guardrails, func(a, b GuardrailState) int {
		return strings.Compare(a.Variant+"\x00"+a.Step, b.Variant+"\x00"+b.Step)
	})
	return resp, nil
}

func (h *handlers) stopExperiment(c *gin.Context) {
	e, def, ok := h.loadExperiment(c)
	if !ok {
		return
	}
	e, err := h.Store.EndExperiment(c.Request.Context(), e.CampaignID, e.ID, domain.ExperimentStopped, "", false, h.Now().UTC())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, experimentResponse(e, def))
}

// concludeExperiment promotes a winner: new enrolments get it and, with
// move_running, running enrolments switch to it at their next step.
// Concluding again with the same winner answers 200 (and starts a move
// still pending), so a client can retry after a 503.
func (h *handlers) concludeExperiment(c *gin.Context) {
	var req ConcludeRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	e, def, ok := h.loadExperiment(c)
	if !ok {
		return
	}
	e, err := h.conclude(c.Request.Context(), e, def, req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	resp := experimentResponse(e, def)
	resp.Moving = e.MovePending
	c.JSON(http.StatusOK, resp)
}

// conclude promotes the named winner (or the analysis' winner) and starts
// moving running enrolments when asked; the API and the console both
// come here.
func (h *handlers) conclude(ctx context.Context, e *models.Experiment, def *campaign.Definition, req ConcludeRequest) (*models.Experiment, error) {
	if req.Winner == "" && e.Status == domain.ExperimentRunning {
		res, err := experiment.Evaluate(ctx, h.Store, def, e, h.Now().UTC())
		if err != nil {
			return nil, err
		}
		if res.Decision.Winner == "" {
			return nil, errs.E(errs.Conflict, "no winner yet (%s): name one to promote it anyway, or stop the experiment",
				res.Decision.Verdict)
		}
		req.Winner = res.Decision.Winner
	}
	if !def.HasVariant(req.Winner) {
		return nil, errs.Field(errs.Invalid, "winner", "no variant %q in experiment %s", req.Winner, e.ID)
	}
	e, err := h.Store.EndExperiment(ctx, e.CampaignID, e.ID, domain.ExperimentConcluded, req.Winner, req.MoveRunning, h.Now().UTC())
	if err != nil {
		return nil, err
	}
	if e.MovePending {
		// The promotion stands and the move is recorded as pending: if
		// Temporal does not answer now, the daily check makes it, or the
		// client asks again.
		if err := h.Sequences.Promote(ctx, e.CampaignID, e.ID, e.Winner); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (h *handlers) resumeExperimentVariant(c *gin.Context) {
	var req ResumeRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	e, def, ok := h.loadExperiment(c)
	if !ok {
		return
	}
	if !def.HasVariant(req.Variant) {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "variant", "no variant %q in experiment %s", req.Variant, e.ID))
		return
	}
	e, err := h.Store.ResumeExperimentVariant(c.Request.Context(), e.CampaignID, e.ID, models.PausedKey(req.Variant, req.Step), h.Now())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, experimentResponse(e, def))
}

func (h *handlers) loadExperiment(c *gin.Context) (*models.Experiment, *campaign.Definition, bool) {
	ctx := c.Request.Context()
	e, err := h.Store.GetExperiment(ctx, c.Param("id"), c.Param("exp"))
	if err != nil {
		writeError(c, h.Logger, err)
		return nil, nil, false
	}
	def, err := h.versionDefinition(ctx, e.CampaignID, e.Version)
	if err != nil {
		writeError(c, h.Logger, err)
		return nil, nil, false
	}
	return e, def, true
}

// publishedDefinition is the campaign's latest published version.
func (h *handlers) publishedDefinition(ctx context.Context, id string) (*campaign.Definition, int, error) {
	m, err := h.Store.GetCampaign(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if m.LatestVersion == 0 {
		return nil, 0, errs.E(errs.Conflict, "campaign %s has not been published", id)
	}
	def, err := h.versionDefinition(ctx, id, m.LatestVersion)
	return def, m.LatestVersion, err
}

func (h *handlers) versionDefinition(ctx context.Context, id string, version int) (*campaign.Definition, error) {
	v, err := h.Store.GetCampaignVersion(ctx, id, version)
	if err != nil {
		return nil, err
	}
	var def campaign.Definition
	if err := json.Unmarshal(v.Definition, &def); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "campaign %s v%d", id, version)
	}
	return &def, nil
}

func experimentResponse(e *models.Experiment, def *campaign.Definition) ExperimentResponse {
	paused := e.Paused
	if paused == nil {
		paused = map[string]string{}
	}
	return ExperimentResponse{
		CampaignID: e.CampaignID, ID: e.ID, Version: e.Version, Status: e.Status, Metric: e.Metric, MinSends: e.MinSends,
		Alpha: e.Alpha, AutoPromote: e.AutoPromote, MoveRunning: e.MoveRunning, GuardrailMinSends: e.GuardrailMinSends,
		Winner: e.Winner, Variants: def.Experiment.Weighted(), Routing: experiment.Routing(def, e), Paused: paused,
		StartedAt: e.StartedAt, EndedAt: e.EndedAt, LastCheckedAt: e.LastCheckedAt,
	}
}
