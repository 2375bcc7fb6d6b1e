package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// HashAPIKey is how API keys are stored.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// NewKeyID is a fresh public key ID, "key_" and 16 random characters.
func NewKeyID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "key_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// CreateAPIKey stores a new key by its hash, under a public key ID.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	return translate(s.db.WithContext(ctx).Create(k).Error, "api key")
}

// BootstrapAPIKey stores k when no key is active yet, so that the first
// admin key can come from the environment; with keys in place it changes
// nothing (they are managed through the API or `lift keys`). It reports
// whether it stored k.
func (s *Store) BootstrapAPIKey(ctx context.Context, k *APIKey) (bool, error) {
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&APIKey{}).Where("revoked_at IS NULL").Count(&n).Error; err != nil {
			return translate(err, "api keys")
		}
		if n > 0 {
			return nil
		}
		created = true
		return translate(tx.Create(k).Error, "api key")
	})
	return created, err
}

// ListAPIKeys returns every key, revoked ones too, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var ks []APIKey
	err := s.db.WithContext(ctx).Order("created_at, id").Find(&ks).Error
	return ks, translate(err, "api keys")
}

// RevokeAPIKey stops a key from working. Revoking the last active admin
// key is a conflict: nobody could manage keys any more.
func (s *Store) RevokeAPIKey(ctx context.Context, keyID string, at time.Time) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Two admins revoking each other's keys at once must not both see
		// the other key active: lock every active key, in one order, so
		// the second waits and then sees the first's revocation (SQLite's
		// writers are serialised already).
		q := tx.Where("revoked_at IS NULL").Order("id")
		if s.postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var active []APIKey
		if err := q.Find(&active).Error; err != nil {
			return translate(err, "api keys")
		}
		i := slices.IndexFunc(active, func(k APIKey) bool { return k.KeyID == keyID })
		if i < 0 {
			return errs.E(errs.NotFound, "api key %s not found (or revoked already)", keyID)
		}
		k := active[i]
		if k.Has(domain.KeyScopeAdmin) {
			admins := 0
			for _, a := range active {
				if a.ID != k.ID && a.Has(domain.KeyScopeAdmin) {
					admins++
				}
			}
			if admins == 0 {
				return errs.E(errs.Conflict, "%s is the last admin key: create another before revoking it", keyID)
			}
		}
		return translate(tx.Model(&APIKey{}).Where("id = ?", k.ID).Update("revoked_at", at).Error, "api key "+keyID)
	})
}

// AuthenticateAPIKey returns the active key with this hash (HashAPIKey):
// the lookup is by hash, and the final comparison constant-time. A
// console session names its key by hash, so revoking the key ends it.
func (s *Store) AuthenticateAPIKey(ctx context.Context, h []byte) (*APIKey, error) {
	var ks []APIKey
	if err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", h).Limit(1).Find(&ks).Error; err != nil {
		return nil, translate(err, "api key")
	}
	if len(ks) != 1 || subtle.ConstantTimeCompare(ks[0].Hash, h) != 1 {
		return nil, errs.E(errs.Unauthorized, "invalid API key")
	}
	return &ks[0], nil
}

// TouchAPIKey records that a key was used at at, at most once a minute
// (a write per request would cost more than the answer is worth).
func (s *Store) TouchAPIKey(ctx context.Context, id uint, at time.Time) error {
	err := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at.Add(-time.Minute)).
		Update("last_used_at", at).Error
	return translate(err, "api key")
}

// Has reports whether the key may act in scope: an admin key may do
// everything.
func (k *APIKey) Has(scope domain.KeyScope) bool {
	for _, s := range k.Scopes {
		if s == scope || s == domain.KeyScopeAdmin {
			return true
		}
	}
	return false
}
