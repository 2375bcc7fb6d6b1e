package models

import (
	"context"
	"time"
)

// AuditEntry records that a key read a customer's personal data or took
// an admin action: who (the key's ID), what, about whom (an ID), when.
// Never the data itself, so erasure keeps it.
type AuditEntry struct {
	ID        uint      `gorm:"primaryKey"`
	At        time.Time `gorm:"not null;index"`
	KeyID     string    `gorm:"size:32;not null;index"`
	Action    string    `gorm:"size:40;not null;index"`
	SubjectID string    `gorm:"size:128;not null;index"` // a customer, campaign, message or key ID
}

// RecordAudit stores entries.
func (s *Store) RecordAudit(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	return translate(s.db.WithContext(ctx).Create(&es).Error, "audit log")
}

// AuditFilter selects audit entries; empty fields match everything.
// Entries come newest first, Before pages on from an entry ID.
type AuditFilter struct {
	KeyID, Action, SubjectID string
	From, To                 time.Time
	Before                   uint
	Limit                    int
}

// AuditLog returns entries, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := s.db.WithContext(ctx).Model(&AuditEntry{})
	for col, v := range map[string]string{"key_id": f.KeyID, "action": f.Action, "subject_id": f.SubjectID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var es []AuditEntry
	err := q.Order("id DESC").Limit(f.Limit).Find(&es).Error
	return es, translate(err, "audit log")
}

// CountAudit counts a key's entries of an action, about subjects with
// the given prefix, since a time (a rate a key is held to, whichever
// replica served it).
func (s *Store) CountAudit(ctx context.Context, keyID, action, subjectPrefix string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&AuditEntry{}).
		Where("key_id = ? AND action = ? AND subject_id LIKE ? AND at >= ?", keyID, action, subjectPrefix+"%", since).Count(&n).Error
	return n, translate(err, "audit log")
}
