package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// HeldEvent is an event Lift could not apply yet because its customer is
// not known: an order tracked before the identify that creates the
// customer (what a checkout that creates the account sends), or a
// Segment call that names only an anonymousId. It is kept, keyed by the
// customer it names ("anon:<anonymousId>" for an anonymous one), and
// applied, in the order received, when that customer is created or the
// anonymous ID is tied to one. Nothing is sent on its strength until
// then; it is purged after HeldEventTTL.
type HeldEvent struct {
	ID         uint      `gorm:"primaryKey"`
	Key        string    `gorm:"column:customer_key;size:160;not null;uniqueIndex:idx_held_key_event,priority:1"`
	EventID    string    `gorm:"size:128;not null;uniqueIndex:idx_held_key_event,priority:2"`
	Source     string    `gorm:"size:16;not null"` // rest (an Event) or segment (a Segment call)
	Payload    []byte    `gorm:"not null"`
	ReceivedAt time.Time `gorm:"not null;index"`
}

// HeldEventTTL is how long an event waits for its customer.
const HeldEventTTL = 7 * 24 * time.Hour

// MaxHeldPerKey bounds the events held for one unknown customer.
const MaxHeldPerKey = 100

// HoldEvent keeps an event for a customer not known yet. The same event
// held again (a retry) is kept once; it reports false when the key
// already holds MaxHeldPerKey events.
func (s *Store) HoldEvent(ctx context.Context, e *HeldEvent) (bool, error) {
	ok := true
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&HeldEvent{}).Where("customer_key = ?", e.Key).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxHeldPerKey {
			var same int64
			if err := tx.Model(&HeldEvent{}).Where("customer_key = ? AND event_id = ?", e.Key, e.EventID).Count(&same).Error; err != nil {
				return err
			}
			ok = same > 0
			return nil
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(e).Error
	})
	return ok, translate(err, "held events")
}

// HeldEvents returns the events held for keys, oldest first.
func (s *Store) HeldEvents(ctx context.Context, keys ...string) ([]HeldEvent, error) {
	var out []HeldEvent
	if len(keys) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("customer_key IN ?", keys).Order("received_at, id").Find(&out).Error
	return out, translate(err, "held events")
}

// HeldKeys returns which of keys hold events.
func (s *Store) HeldKeys(ctx context.Context, keys []string) ([]string, error) {
	var out []string
	err := inBatches(keys, func(part []string) error {
		var found []string
		if err := s.db.WithContext(ctx).Model(&HeldEvent{}).Where("customer_key IN ?", part).Distinct().Pluck("customer_key", &found).Error; err != nil {
			return err
		}
		out = append(out, found...)
		return nil
	})
	return out, translate(err, "held events")
}

// RekeyHeld moves the events held under one key to another (an anonymous
// visitor identified as a customer).
func (s *Store) RekeyHeld(ctx context.Context, from, to string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// An event held under both keys stays once, under the new one.
		if err := tx.Where("customer_key = ? AND event_id IN (SELECT event_id FROM held_events WHERE customer_key = ?)", from, to).Delete(&HeldEvent{}).Error; err != nil {
			return err
		}
		return tx.Model(&HeldEvent{}).Where("customer_key = ?", from).Update("customer_key", to).Error
	})
	return translate(err, "held events")
}

// ReleaseHeld deletes a held event once applied.
func (s *Store) ReleaseHeld(ctx context.Context, id uint) error {
	return translate(s.db.WithContext(ctx).Delete(&HeldEvent{}, id).Error, "held events")
}
