package app

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Journey is one enrolment: live from the workflow's journey query while
// it runs, from the store once it has ended (or when Temporal does not
// answer).
type Journey struct {
	EnrollmentID string `json:"enrollment_id"`
	CampaignID   string `json:"campaign_id"`
	Version      int    `json:"version"`
	WorkflowID   string `json:"workflow_id"`
	Variant      string `json:"variant"` // as assigned at enrolment
	// PromotedTo is the variant a promoted winner moved the sequence to
	// for its remaining steps.
	PromotedTo string `json:"promoted_to,omitempty"`
	// MovedFromVersion is the version the sequence started on, when
	// publishing with move_running moved it onto Version (live only).
	MovedFromVersion int                   `json:"moved_from_version,omitempty"`
	Status           domain.SequenceStatus `json:"status"`
	ExitReason       string                `json:"exit_reason,omitempty"`
	CurrentStep      string                `json:"current_step,omitempty"`
	EmailsSent       int                   `json:"emails_sent"`
	NextEmailAt      *time.Time            `json:"next_email_at,omitempty"`
	Waiting          string                `json:"waiting,omitempty"`
	Paused           bool                  `json:"paused"`
	Steps            []workflows.StepState `json:"steps,omitempty"`
	EnrolledAt       time.Time             `json:"enrolled_at"`
	EndedAt          *time.Time            `json:"ended_at,omitempty"`
	Source           string                `json:"source"` // "workflow" or "store"
}

// Journeys returns a customer's enrolments, newest first.
func (a *App) Journeys(ctx context.Context, customerID string) ([]Journey, error) {
	if _, err := a.Store.GetCustomer(ctx, customerID); err != nil {
		return nil, err
	}
	es, err := a.Store.ListEnrollments(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make([]Journey, 0, len(es))
	for _, e := range es {
		out = append(out, a.journey(ctx, e))
	}
	return out, nil
}

func (a *App) journey(ctx context.Context, e models.Enrollment) Journey {
	j := Journey{
		EnrollmentID: e.ID, CampaignID: e.CampaignID, Version: e.Version, WorkflowID: e.WorkflowID,
		Variant: e.Variant, Status: e.Status, ExitReason: e.ExitReason, CurrentStep: e.CurrentStep,
		EmailsSent: e.EmailsSent, EnrolledAt: e.EnrolledAt, EndedAt: e.EndedAt, Source: "store",
		PromotedTo: e.PromotedTo, Steps: e.Steps,
	}
	if e.Status != domain.StatusRunning {
		return j
	}
	live, err := a.Sequences.Journey(ctx, e.WorkflowID)
	switch {
	case err == nil && live.EnrollmentID == e.ID:
		j.Status, j.ExitReason, j.CurrentStep = live.Status, live.ExitReason, live.CurrentStep
		j.EmailsSent, j.NextEmailAt, j.Waiting = live.EmailsSent, live.NextEmailAt, live.Waiting
		j.Paused, j.Steps, j.Source = live.Paused, live.Steps, "workflow"
		j.Version, j.MovedFromVersion = live.Version, live.MovedFromVersion
		if live.SwitchedFrom != "" {
			j.PromotedTo = live.Variant
		}
	case err != nil && !errs.Is(err, errs.NotFound):
		a.Logger.Warn("journey query failed; answering from the store", "err", err)
	}
	return j
}

// PauseJourney holds a customer's running sequence of a campaign until
// ResumeJourney; it answers with the journey.
//
// The enrollment is marked paused first: a step already under way checks
// the mark right before its send and holds it, so a pause overtakes a
// send in progress as it overtakes the next one.
func (a *App) PauseJourney(ctx context.Context, customerID, campaignID string) (workflows.Journey, error) {
	now := a.now()
	if err := a.Store.MarkEnrollmentPaused(ctx, customerID, campaignID, &now); err != nil {
		return workflows.Journey{}, err
	}
	j, err := a.Sequences.Update(ctx, workflows.SequenceWorkflowID(campaignID, customerID), workflows.UpdatePause)
	if err != nil {
		// Not paused after all (ended, or not there): take the mark back.
		if uerr := a.Store.MarkEnrollmentPaused(ctx, customerID, campaignID, nil); uerr != nil {
			a.Logger.WarnContext(ctx, "pause mark not cleared", "err", uerr)
		}
	}
	return j, err
}

// ResumeJourney lets a paused sequence carry on. The mark goes first, so
// the resumed sequence's next step finds it gone.
func (a *App) ResumeJourney(ctx context.Context, customerID, campaignID string) (workflows.Journey, error) {
	if err := a.Store.MarkEnrollmentPaused(ctx, customerID, campaignID, nil); err != nil {
		return workflows.Journey{}, err
	}
	return a.Sequences.Update(ctx, workflows.SequenceWorkflowID(campaignID, customerID), workflows.UpdateResume)
}

// Messages lists messages without their bodies.
func (a *App) Messages(ctx context.Context, f models.MessageFilter) ([]models.Message, error) {
	return a.Store.ListMessages(ctx, f)
}

// Message returns one message with its bodies.
func (a *App) Message(ctx context.Context, id string) (*models.Message, error) {
	return a.Store.GetMessage(ctx, id)
}
