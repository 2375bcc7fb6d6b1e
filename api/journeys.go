package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/workflows"
)

// JourneyResponse is one enrollment as GET /v1/customers/{id}/journeys
// shows it: live from the workflow's journey query while it runs, from the
// store once it has ended.
type JourneyResponse struct {
	EnrollmentID string `json:"enrollment_id"`
	CampaignID   string `json:"campaign_id"`
	Version      int    `json:"version"`
	WorkflowID   string `json:"workflow_id"`
	Variant      string `json:"variant"` // as assigned at enrolment
	// PromotedTo is the variant a promoted winner moved the sequence to
	// for its remaining steps.
	PromotedTo  string                `json:"promoted_to,omitempty"`
	Status      domain.SequenceStatus `json:"status"`
	ExitReason  string                `json:"exit_reason,omitempty"`
	CurrentStep string                `json:"current_step,omitempty"`
	EmailsSent  int                   `json:"emails_sent"`
	NextEmailAt *time.Time            `json:"next_email_at,omitempty"`
	Waiting     string                `json:"waiting,omitempty"`
	Paused      bool                  `json:"paused"`
	Steps       []workflows.StepState `json:"steps,omitempty"`
	EnrolledAt  time.Time             `json:"enrolled_at"`
	EndedAt     *time.Time            `json:"ended_at,omitempty"`
	Source      string                `json:"source"` // "workflow" or "store"
}

func (h *handlers) listJourneys(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	if _, err := h.Store.GetCustomer(ctx, id); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	es, err := h.Store.ListEnrollments(ctx, id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	out := make([]JourneyResponse, 0, len(es))
	for _, e := range es {
		j := JourneyResponse{
			EnrollmentID: e.ID, CampaignID: e.CampaignID, Version: e.Version, WorkflowID: e.WorkflowID,
			Variant: e.Variant, Status: e.Status, ExitReason: e.ExitReason, CurrentStep: e.CurrentStep,
			EmailsSent: e.EmailsSent, EnrolledAt: e.EnrolledAt, EndedAt: e.EndedAt, Source: "store",
		}
		if e.Status == domain.StatusRunning {
			live, err := h.Sequences.Journey(ctx, e.WorkflowID)
			switch {
			case err == nil && live.EnrollmentID == e.ID:
				j.Status, j.ExitReason, j.CurrentStep = live.Status, live.ExitReason, live.CurrentStep
				j.EmailsSent, j.NextEmailAt, j.Waiting = live.EmailsSent, live.NextEmailAt, live.Waiting
				j.Paused, j.Steps, j.Source = live.Paused, live.Steps, "workflow"
				if live.SwitchedFrom != "" {
					j.PromotedTo = live.Variant
				}
			case err != nil && !errs.Is(err, errs.NotFound):
				h.Logger.Warn("journey query failed; answering from the store", "err", err)
			}
		}
		out = append(out, j)
	}
	c.JSON(http.StatusOK, gin.H{"customer_id": id, "journeys": out})
}

func (h *handlers) pauseJourney(c *gin.Context)  { h.updateJourney(c, workflows.UpdatePause) }
func (h *handlers) resumeJourney(c *gin.Context) { h.updateJourney(c, workflows.UpdateResume) }

func (h *handlers) updateJourney(c *gin.Context, update string) {
	id := workflows.SequenceWorkflowID(c.Param("campaign"), c.Param("id"))
	j, err := h.Sequences.Update(c.Request.Context(), id, update)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, j)
}
