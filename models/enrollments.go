package models

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
)

// EnsureEnrollment creates the enrollment if it does not exist yet; calling
// it again with the same ID is a no-op, so a retried activity is harmless.
//
// Temporal allows one running sequence per customer and campaign, so a row
// still marked running for another enrollment is stale (its workflow was
// terminated without recording an outcome): it is closed as cancelled in
// the same transaction, and idx_one_running_enrollment keeps holding.
func (s *Store) EnsureEnrollment(ctx context.Context, e *Enrollment) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&Enrollment{}).
			Where("customer_id = ? AND campaign_id = ? AND status = ? AND id <> ?", e.CustomerID, e.CampaignID, domain.StatusRunning, e.ID).
			Updates(map[string]any{"status": domain.StatusCancelled, "exit_reason": "superseded: its workflow is no longer running", "ended_at": time.Now().UTC()}).Error
		if err != nil {
			return translate(err, "enrollment "+e.ID)
		}
		err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(e).Error
		return translate(err, "enrollment "+e.ID)
	})
}

// GetEnrollment returns one enrollment.
func (s *Store) GetEnrollment(ctx context.Context, id string) (*Enrollment, error) {
	var e Enrollment
	err := s.db.WithContext(ctx).First(&e, "id = ?", id).Error
	return found(&e, err, "enrollment "+id)
}

// EnrollmentProgress is what a finished step changes on an enrollment.
type EnrollmentProgress struct {
	CurrentStep string
	EmailsSent  int
}

// UpdateEnrollmentProgress records the step an enrollment has reached.
func (s *Store) UpdateEnrollmentProgress(ctx context.Context, id string, p EnrollmentProgress) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).Where("id = ?", id).
		Updates(map[string]any{"current_step": p.CurrentStep, "emails_sent": p.EmailsSent}).Error
	return translate(err, "enrollment "+id)
}

// MarkEnrollmentPaused marks the customer's running enrollment in a
// campaign paused (at, not nil) or not (nil). It is no error when none
// is running.
func (s *Store) MarkEnrollmentPaused(ctx context.Context, customerID, campaignID string, at *time.Time) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).
		Where("customer_id = ? AND campaign_id = ? AND status = ?", customerID, campaignID, domain.StatusRunning).
		Update("paused_at", at).Error
	return translate(err, "enrollment")
}

// EnrollmentOutcome is how an enrollment ended.
type EnrollmentOutcome struct {
	Status         domain.SequenceStatus
	ExitReason     string
	ConvertedOrder string
	RevenueMinor   int64
	EmailsSent     int
	EndedAt        time.Time
	Steps          []domain.StepState
	PromotedTo     string
}

// FinishEnrollment records how an enrollment ended. Finishing twice keeps
// the first outcome.
func (s *Store) FinishEnrollment(ctx context.Context, id string, o EnrollmentOutcome) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).Where("id = ? AND status = ?", id, domain.StatusRunning).
		Updates(map[string]any{
			"status": o.Status, "exit_reason": clip(o.ExitReason, 300), "converted_order": o.ConvertedOrder,
			"revenue_minor": o.RevenueMinor, "emails_sent": o.EmailsSent, "ended_at": o.EndedAt,
			"steps": stepsJSON(o.Steps), "promoted_to": clip(o.PromotedTo, 64),
		}).Error
	return translate(err, "enrollment "+id)
}

// ListEnrollments returns a customer's enrollments, newest first.
func (s *Store) ListEnrollments(ctx context.Context, customerID string) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Where("customer_id = ?", customerID).
		Order("enrolled_at DESC").Order("id").Find(&es).Error
	return es, translate(err, "enrollments")
}

// EnteredSince reports whether the customer entered the campaign with this
// entry key at or after since (the zero time: ever).
func (s *Store) EnteredSince(ctx context.Context, customerID, campaignID, entryKey string, since time.Time) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Enrollment{}).
		Where("customer_id = ? AND campaign_id = ? AND entry_key = ? AND enrolled_at >= ?", customerID, campaignID, entryKey, since).
		Count(&n).Error
	return n > 0, translate(err, "enrollments")
}

// RunningEnrollments returns the customer's running enrollments.
func (s *Store) RunningEnrollments(ctx context.Context, customerID string) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Where("customer_id = ? AND status = ?", customerID, domain.StatusRunning).
		Order("campaign_id").Find(&es).Error
	return es, translate(err, "enrollments")
}

// stepsJSON is the steps column's value (NULL for none), as the json
// serializer writes it: Updates with a map bypasses the serializer.
func stepsJSON(steps []domain.StepState) any {
	if len(steps) == 0 {
		return nil
	}
	b, err := json.Marshal(steps)
	if err != nil {
		return nil
	}
	return string(b)
}

// MoveEnrollmentVersion records that a running enrollment now follows a
// newer version of its campaign (publishing with move_running); an older
// version, or an ended enrollment, is left as it is, so a retried step
// never moves it back.
func (s *Store) MoveEnrollmentVersion(ctx context.Context, id string, version int) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).Where("id = ? AND status = ? AND version < ?", id, domain.StatusRunning, version).
		Update("version", version).Error
	return translate(err, "enrollment "+id)
}

// RunningBeforeVersion pages (by ID, after afterID) through a campaign's
// running enrollments on versions older than version, but the holdout's.
func (s *Store) RunningBeforeVersion(ctx context.Context, campaignID string, version int, afterID string, limit int) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Select("id", "customer_id", "campaign_id", "version", "workflow_id", "variant").
		Where("campaign_id = ? AND status = ? AND version < ? AND variant <> ? AND id > ?", campaignID, domain.StatusRunning, version, "holdout", afterID).
		Order("id").Limit(limit).Find(&es).Error
	return es, translate(err, "enrollments")
}

// EachEndedJourney calls fn with the ended enrolments of a campaign (of
// version, unless 0) enrolled in [from, to) (unbounded where zero) whose
// steps were kept, a thousand rows at a time: each one's ID, status,
// revenue and steps' final states only.
func (s *Store) EachEndedJourney(ctx context.Context, campaignID string, version int, from, to time.Time, fn func(e *Enrollment)) error {
	q := s.db.WithContext(ctx).Model(&Enrollment{}).Select("id", "status", "revenue_minor", "steps").
		Where("campaign_id = ? AND status <> ? AND steps IS NOT NULL", campaignID, domain.StatusRunning)
	if version > 0 {
		q = q.Where("version = ?", version)
	}
	if !from.IsZero() {
		q = q.Where("enrolled_at >= ?", from)
	}
	if !to.IsZero() {
		q = q.Where("enrolled_at < ?", to)
	}
	var batch []Enrollment
	err := q.FindInBatches(&batch, 1000, func(*gorm.DB, int) error {
		for i := range batch {
			fn(&batch[i])
		}
		return nil
	}).Error
	return translate(err, "enrollments")
}
