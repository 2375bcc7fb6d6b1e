package models

import (
	"context"
	"time"

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

// FinishIdempotent stores the response to replay for the key.
func (s *Store) FinishIdempotent(ctx context.Context, id uint, status int, contentType string, body []byte) error {
	err := s.db.WithContext(ctx).Model(&IdempotencyRecord{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "content_type": contentType, "body": body}).Error
	return translate(err, "idempotency key")
}

// ForgetIdempotent drops a key whose request failed in a way worth
// retrying (a 5xx), so the retry runs again.
func (s *Store) ForgetIdempotent(ctx context.Context, id uint) error {
	return translate(s.db.WithContext(ctx).Delete(&IdempotencyRecord{}, id).Error, "idempotency key")
}
