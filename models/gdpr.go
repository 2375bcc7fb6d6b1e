package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
)

// Export is everything Lift holds about one customer.
type Export struct {
	Customer       Customer        `json:"customer"`
	ConsentRecords []ConsentRecord `json:"consent_records"`
	Events         []Event         `json:"events"`
	Orders         []Order         `json:"orders"`
	Enrollments    []Enrollment    `json:"enrollments"`
	Messages       []Message       `json:"messages"`
	Suppressions   []Suppression   `json:"suppressions"`
}

// ExportCustomer gathers everything held about a customer.
func (s *Store) ExportCustomer(ctx context.Context, id string) (*Export, error) {
	c, err := s.GetCustomer(ctx, id)
	if err != nil {
		return nil, err
	}
	x := &Export{Customer: *c}
	db := s.db.WithContext(ctx)
	for _, q := range []struct {
		dest any
		db   *gorm.DB
	}{
		{&x.ConsentRecords, db.Where("customer_id = ?", id).Order("at, id")},
		{&x.Events, db.Where("customer_id = ?", id).Order("occurred_at, id")},
		{&x.Orders, db.Preload("Items").Where("customer_id = ?", id).Order("occurred_at, id")},
		{&x.Enrollments, db.Where("customer_id = ?", id).Order("enrolled_at, id")},
		{&x.Messages, db.Where("customer_id = ?", id).Order("created_at, id")},
		{&x.Suppressions, db.Where("email_hash = ?", HashEmail(c.Email)).Order("id")},
	} {
		if err := q.db.Find(q.dest).Error; err != nil {
			return nil, translate(err, "export")
		}
	}
	return x, nil
}

// EraseCustomer deletes a customer's personal data in one transaction: the
// profile, consent records and events, the subject, bodies and headers of
// their messages, and stored Idempotency-Key answers about them. What stays carries no PII: orders, enrollments and
// message statuses under the caller's opaque customer ID (for revenue
// reports), and a hashed global suppression so the address is never
// mailed again.
func (s *Store) EraseCustomer(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Customer
		if err := tx.First(&c, "id = ?", id).Error; err != nil {
			return translate(err, "customer "+id)
		}
		sup := Suppression{EmailHash: HashEmail(c.Email), Reason: domain.ReasonErased}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error; err != nil {
			return translate(err, "suppression")
		}
		// Messages not yet sent are closed, so a render already under way
		// cannot write a name back after this transaction.
		if err := tx.Model(&Message{}).Where("customer_id = ? AND status IN ?", id, []domain.MessageStatus{domain.MessagePending, domain.MessageReady}).
			Updates(map[string]any{"status": domain.MessageSkipped, "error": "customer erased"}).Error; err != nil {
			return translate(err, "messages")
		}
		if err := tx.Model(&Message{}).Where("customer_id = ?", id).Updates(map[string]any{
			"subject": "", "preheader": "", "html": "", "text": "", "headers": nil,
		}).Error; err != nil {
			return translate(err, "messages")
		}
		// Stored Idempotency-Key answers about the customer (an event's
		// result, a preview) go too.
		if err := tx.Where("id IN (SELECT record_id FROM idempotency_subjects WHERE customer_id = ?)", id).
			Delete(&IdempotencyRecord{}).Error; err != nil {
			return translate(err, "idempotency keys")
		}
		if err := tx.Where("customer_id = ?", id).Delete(&IdempotencySubject{}).Error; err != nil {
			return translate(err, "idempotency keys")
		}
		for _, m := range []any{&ConsentRecord{}, &Event{}, &CustomerActivity{}} {
			if err := tx.Where("customer_id = ?", id).Delete(m).Error; err != nil {
				return translate(err, "erase")
			}
		}
		return translate(tx.Delete(&Customer{}, "id = ?", id).Error, "customer "+id)
	})
}
