package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Cap is a frequency cap: at most Max marketing emails per Window.
type Cap struct {
	Window time.Duration
	Max    int
}

// ReserveSend reserves a slot for message under the customer's frequency
// caps. When a cap is full it reserves nothing and returns the first moment
// a slot frees up. Reservations for one customer are serialised (a
// PostgreSQL advisory lock; SQLite's single writer), so two sequences due
// in the same instant can never both pass a full cap. Reserving the same
// message again succeeds without taking a second slot.
func (s *Store) ReserveSend(ctx context.Context, customerID, messageID string, now time.Time, caps []Cap) (ok bool, retryAt time.Time, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "lift-send:"+customerID).Error; err != nil {
				return translate(err, "send slot")
			}
		}
		var mine int64
		if err := tx.Model(&SendSlot{}).Where("message_id = ?", messageID).Count(&mine).Error; err != nil {
			return translate(err, "send slot")
		}
		if mine > 0 {
			ok = true
			return nil
		}
		for _, c := range caps {
			if c.Max <= 0 || c.Window <= 0 {
				continue
			}
			var recent []time.Time
			err := tx.Model(&SendSlot{}).Where("customer_id = ? AND at > ?", customerID, now.Add(-c.Window)).
				Order("at DESC").Limit(c.Max).Pluck("at", &recent).Error
			if err != nil {
				return translate(err, "send slot")
			}
			if len(recent) >= c.Max {
				// The oldest of the newest Max slots leaves the window first.
				if free := recent[c.Max-1].Add(c.Window); free.After(retryAt) {
					retryAt = free
				}
			}
		}
		if !retryAt.IsZero() {
			return nil
		}
		ok = true
		return translate(tx.Create(&SendSlot{CustomerID: customerID, MessageID: messageID, At: now}).Error, "send slot")
	})
	return ok, retryAt, err
}

// ReleaseSend frees a message's slot: the email was not sent after all.
func (s *Store) ReleaseSend(ctx context.Context, messageID string) error {
	return translate(s.db.WithContext(ctx).Where("message_id = ?", messageID).Delete(&SendSlot{}).Error, "send slot")
}
