package activities

import (
	"context"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// StartEnrollment records the enrollment. It is idempotent.
func (a *Activities) StartEnrollment(ctx context.Context, in workflows.StartEnrollmentInput) (workflows.Started, error) {
	if err := a.startEnrollment(ctx, in); err != nil {
		return workflows.Started{}, err
	}
	// The exits a concurrent event sent before this row existed: the API
	// signals the sequences its rows name.
	exits, err := a.App.ExitsSince(ctx, in.CustomerID, in.EnrolledAt, in.TriggerEventID)
	return workflows.Started{Exits: exits}, err
}

func (a *Activities) startEnrollment(ctx context.Context, in workflows.StartEnrollmentInput) error {
	return a.Store.EnsureEnrollment(ctx, &models.Enrollment{
		ID: in.EnrollmentID, CustomerID: in.CustomerID, CampaignID: in.CampaignID, Version: in.Version,
		WorkflowID: in.WorkflowID, Variant: in.Variant, TriggerEventID: in.TriggerEventID, EntryKey: in.EntryKey,
		Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
	})
}

// RecordProgress records the step an enrollment has reached.
func (a *Activities) RecordProgress(ctx context.Context, in workflows.ProgressInput) error {
	return a.Store.UpdateEnrollmentProgress(ctx, in.EnrollmentID, models.EnrollmentProgress{
		CurrentStep: in.StepID, EmailsSent: in.EmailsSent,
	})
}

// FinishEnrollment records how the enrollment ended.
func (a *Activities) FinishEnrollment(ctx context.Context, in workflows.FinishInput) error {
	return a.Store.FinishEnrollment(ctx, in.EnrollmentID, models.EnrollmentOutcome{
		Status: in.Status, ExitReason: in.Reason, ConvertedOrder: in.ConvertedOrder,
		RevenueMinor: in.RevenueMinor, EmailsSent: in.EmailsSent, EndedAt: in.EndedAt,
		Steps: in.Steps, PromotedTo: in.PromotedTo,
	})
}
