package models

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ConsoleSession is a signed-in console session, kept server-side so
// signing out (or revoking the key) ends it everywhere. The browser holds
// a random token; only its SHA-256 is stored.
type ConsoleSession struct {
	TokenHash []byte    `gorm:"primaryKey;size:32"`
	KeyHash   []byte    `gorm:"size:32;not null;index"` // the API key it signed in with
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// SignInFailure is a failed console sign-in from a source (the SHA-256 of
// the client's address, never the address), counted to limit attempts.
type SignInFailure struct {
	ID     uint      `gorm:"primaryKey"`
	Source string    `gorm:"size:64;not null;index:idx_sign_in_failures_source_at"`
	At     time.Time `gorm:"not null;index:idx_sign_in_failures_source_at"`
}

// SignInFailureWindow is how far back failed sign-ins count.
const SignInFailureWindow = 15 * time.Minute

// CreateConsoleSession stores a new session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs *ConsoleSession) error {
	return translate(s.db.WithContext(ctx).Create(cs).Error, "console session")
}

// ConsoleSession finds the unexpired session with tokenHash; nil when
// there is none.
func (s *Store) ConsoleSession(ctx context.Context, tokenHash []byte, now time.Time) (*ConsoleSession, error) {
	var cs ConsoleSession
	err := s.db.WithContext(ctx).Where("token_hash = ? AND expires_at > ?", tokenHash, now).Take(&cs).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err, "console session")
	}
	return &cs, nil
}

// DeleteConsoleSession ends a session; ending one that is gone is fine.
func (s *Store) DeleteConsoleSession(ctx context.Context, tokenHash []byte) error {
	return translate(s.db.WithContext(ctx).Where("token_hash = ?", tokenHash).Delete(&ConsoleSession{}).Error, "console session")
}

// RecordSignInFailure counts a failed sign-in from source.
func (s *Store) RecordSignInFailure(ctx context.Context, source string, at time.Time) error {
	_, err := s.RecordSignInAttempt(ctx, source, at)
	return err
}

// RecordSignInAttempt counts a sign-in attempt from source before it is
// checked, so parallel attempts all count; the answer is its ID, for
// ForgetSignInAttempt when it succeeds.
func (s *Store) RecordSignInAttempt(ctx context.Context, source string, at time.Time) (uint, error) {
	f := SignInFailure{Source: source, At: at}
	if err := s.db.WithContext(ctx).Create(&f).Error; err != nil {
		return 0, translate(err, "sign-in failures")
	}
	return f.ID, nil
}

// ForgetSignInAttempt uncounts an attempt that succeeded.
func (s *Store) ForgetSignInAttempt(ctx context.Context, id uint) error {
	return translate(s.db.WithContext(ctx).Delete(&SignInFailure{}, id).Error, "sign-in failures")
}

// SignInFailures counts source's failed sign-ins since.
func (s *Store) SignInFailures(ctx context.Context, source string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&SignInFailure{}).Where("source = ? AND at > ?", source, since).Count(&n).Error
	return n, translate(err, "sign-in failures")
}

// InstallSecret is a random secret made once per database and shared by
// every replica, for keyed hashes that need no configuration (e.g. of
// client addresses). Erasing it only resets what was keyed with it.
type InstallSecret struct {
	Name  string `gorm:"primaryKey;size:64"`
	Value []byte `gorm:"not null"`
}

// Secret returns the install secret called name, making it on first use.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	v := make([]byte, 32)
	if _, err := rand.Read(v); err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&InstallSecret{Name: name, Value: v}).Error; err != nil {
		return nil, translate(err, "install secret")
	}
	var sec InstallSecret
	if err := db.Where("name = ?", name).Take(&sec).Error; err != nil {
		return nil, translate(err, "install secret")
	}
	return sec.Value, nil
}
