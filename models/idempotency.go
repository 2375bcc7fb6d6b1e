package models

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// IdempotencyTTL is how long a key is remembered (at least 24 h, as promised).
const IdempotencyTTL = 48 * time.Hour

// IdempotencyLease is how long a first request may stay in flight; after
// that its key is taken over (its process died before answering).
const IdempotencyLease = time.Minute

// BeginIdempotent claims key for a request. fresh is true when this request
// is the first with the key (or the key expired); otherwise rec is the
// first request's record: compare fingerprints, and replay its response
// once Status is set.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, now time.Time) (rec *IdempotencyRecord, fresh bool, err error) {
	db := s.db.WithContext(ctx)
	err = db.Where("scope = ? AND idem_key = ? AND (created_at < ? OR (status = 0 AND created_at < ?))",
		scope, key, now.Add(-IdempotencyTTL), now.Add(-IdempotencyLease)).Delete(&IdempotencyRecord{}).Error
	if err != nil {
		return nil, false, translate(err, "idempotency key")
	}
	rec = &IdempotencyRecord{Scope: scope, Key: key, Fingerprint: fingerprint, CreatedAt: now}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(rec)
	if res.Error != nil {
		return nil, false, translate(res.Error, "idempotency key")
	}
	if res.RowsAffected == 1 {
		return rec, true, nil
	}
	var prev IdempotencyRecord
	err = db.First(&prev, "scope = ? AND idem_key = ?", scope, key).Error
	return &prev, false, translate(err, "idempotency key")
}

// FinishIdempotent stores the response to replay for the key, and the
// customers it is about (erasing one of them deletes it).
func (s *Store) FinishIdempotent(ctx context.Context, id uint, status int, contentType string, body []byte, subjects []string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&IdempotencyRecord{}).Where("id = ?", id).
			Updates(map[string]any{"status": status, "content_type": contentType, "body": body}).Error
		if err != nil {
			return translate(err, "idempotency key")
		}
		for _, c := range slices.Compact(slices.Sorted(slices.Values(subjects))) {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&IdempotencySubject{RecordID: id, CustomerID: c}).Error; err != nil {
				return translate(err, "idempotency key")
			}
		}
		return nil
	})
}

// ForgetIdempotent drops a key whose request failed in a way worth
// retrying (a 5xx), so the retry runs again.
func (s *Store) ForgetIdempotent(ctx context.Context, id uint) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("record_id = ?", id).Delete(&IdempotencySubject{}).Error; err != nil {
			return translate(err, "idempotency key")
		}
		return translate(tx.Delete(&IdempotencyRecord{}, id).Error, "idempotency key")
	})
}

// How long records kept only for a while are kept: an Idempotency-Key's
// answer for IdempotencyTTL; a SendGrid event's ID, against SendGrid's
// retries (24 hours), for a week; a frequency-cap slot past the longest
// cap window (7 days).
const (
	WebhookEventTTL = 7 * 24 * time.Hour
	SendSlotTTL     = 8 * 24 * time.Hour
)

// Purged counts what Purge deleted.
type Purged struct {
	IdempotencyKeys, WebhookEvents, SendSlots, AuditEntries, ConsoleSessions int64
	HeldEvents                                                               int64
}

// IdempotencySubjects are the customers a stored answer is about.
func (s *Store) IdempotencySubjects(ctx context.Context, recordID uint) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&IdempotencySubject{}).Where("record_id = ?", recordID).Order("customer_id").Pluck("customer_id", &ids).Error
	return ids, translate(err, "idempotency key")
}

// Purge deletes what is kept only for a while and is older than that at
// now: stored Idempotency-Key answers (which may name customers),
// applied SendGrid event IDs, frequency-cap slots, and audit entries
// older than auditRetention.
func (s *Store) Purge(ctx context.Context, now time.Time, auditRetention time.Duration) (Purged, error) {
	var p Purged
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("created_at < ?", now.Add(-IdempotencyTTL)).Delete(&IdempotencyRecord{})
		if res.Error != nil {
			return translate(res.Error, "idempotency keys")
		}
		p.IdempotencyKeys = res.RowsAffected
		if err := tx.Where("record_id NOT IN (SELECT id FROM idempotency_records)").Delete(&IdempotencySubject{}).Error; err != nil {
			return translate(err, "idempotency keys")
		}
		if res = tx.Where("created_at < ?", now.Add(-WebhookEventTTL)).Delete(&WebhookEvent{}); res.Error != nil {
			return translate(res.Error, "webhook events")
		}
		p.WebhookEvents = res.RowsAffected
		if res = tx.Where("at < ?", now.Add(-SendSlotTTL)).Delete(&SendSlot{}); res.Error != nil {
			return translate(res.Error, "send slots")
		}
		p.SendSlots = res.RowsAffected
		if res = tx.Where("at < ?", now.Add(-auditRetention)).Delete(&AuditEntry{}); res.Error != nil {
			return translate(res.Error, "audit log")
		}
		p.AuditEntries = res.RowsAffected
		if res = tx.Where("expires_at <= ?", now).Delete(&ConsoleSession{}); res.Error != nil {
			return translate(res.Error, "console sessions")
		}
		p.ConsoleSessions = res.RowsAffected
		if err := tx.Where("at <= ?", now.Add(-SignInFailureWindow)).Delete(&SignInFailure{}).Error; err != nil {
			return translate(err, "sign-in failures")
		}
		if err := tx.Where("at < ?", now.Add(-WebhookRefusalTTL)).Delete(&WebhookRefusal{}).Error; err != nil {
			return translate(err, "webhook refusals")
		}
		if res = tx.Where("received_at < ?", now.Add(-HeldEventTTL)).Delete(&HeldEvent{}); res.Error != nil {
			return translate(res.Error, "held events")
		}
		p.HeldEvents = res.RowsAffected
		return nil
	})
	return p, err
}
