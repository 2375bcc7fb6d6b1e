package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PutDestination creates or replaces a destination.
func (s *Store) PutDestination(ctx context.Context, d *Destination) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"url", "secret", "channel", "include_email", "updated_at"}),
	}).Create(d).Error
	return translate(err, "destination "+d.ID)
}

// GetDestination returns a destination (NotFound when there is none).
func (s *Store) GetDestination(ctx context.Context, id string) (*Destination, error) {
	var d Destination
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error
	return &d, translate(err, "destination "+id)
}

// MissingDestinations returns those of ids no destination has.
func (s *Store) MissingDestinations(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var have []string
	if err := s.db.WithContext(ctx).Model(&Destination{}).Where("id IN ?", ids).Pluck("id", &have).Error; err != nil {
		return nil, translate(err, "destinations")
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(have, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// BeginWebhookAttempt counts an attempt at a step's delivery and returns
// the delivery as it stood: DeliveredAt set means a destination already
// accepted it, and nothing must be posted again.
func (s *Store) BeginWebhookAttempt(ctx context.Context, enrollmentID, stepID, destinationID string) (*WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := WebhookDelivery{EnrollmentID: enrollmentID, StepID: stepID, DestinationID: destinationID}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Where("enrollment_id = ? AND step_id = ?", enrollmentID, stepID).Take(&d).Error; err != nil {
			return err
		}
		if d.DeliveredAt != nil {
			return nil
		}
		d.Attempts++
		return tx.Model(&WebhookDelivery{}).Where("enrollment_id = ? AND step_id = ?", enrollmentID, stepID).
			Update("attempts", d.Attempts).Error
	})
	return &d, translate(err, "webhook delivery")
}

// EndWebhookAttempt records an attempt's answer: the HTTP status (0 for
// none), what went wrong, and when delivered, the time it was accepted.
func (s *Store) EndWebhookAttempt(ctx context.Context, enrollmentID, stepID string, status int, problem string, delivered *time.Time) error {
	if len(problem) > 512 {
		problem = strings.ToValidUTF8(problem[:512], "")
	}
	err := s.db.WithContext(ctx).Model(&WebhookDelivery{}).
		Where("enrollment_id = ? AND step_id = ? AND delivered_at IS NULL", enrollmentID, stepID).
		Updates(map[string]any{"last_status": status, "last_error": problem, "delivered_at": delivered, "updated_at": time.Now().UTC()}).Error
	return translate(err, "webhook delivery")
}

// WebhookDeliveryOf returns a step's delivery (NotFound before its first
// attempt).
func (s *Store) WebhookDeliveryOf(ctx context.Context, enrollmentID, stepID string) (*WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.db.WithContext(ctx).Where("enrollment_id = ? AND step_id = ?", enrollmentID, stepID).Take(&d).Error
	if err != nil {
		return nil, translate(err, "webhook delivery "+enrollmentID+"/"+stepID)
	}
	return &d, nil
}
