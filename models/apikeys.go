package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// HashAPIKey is how API keys are stored.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// SetAPIKey makes key the one API key under name: a rotated key replaces
// the previous one, which stops working.
func (s *Store) SetAPIKey(ctx context.Context, name, key string) error {
	h := HashAPIKey(key)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("name = ? AND hash <> ?", name, h).Delete(&APIKey{}).Error; err != nil {
			return translate(err, "api key")
		}
		k := APIKey{Name: name, Hash: h}
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "hash"}}, DoNothing: true}).Create(&k).Error
		return translate(err, "api key")
	})
}

// CheckAPIKeyHash reports whether a key with this hash (HashAPIKey) is
// known: the lookup is by hash, and the final comparison constant-time. A
// console session names its key by hash, so rotating the key ends it.
func (s *Store) CheckAPIKeyHash(ctx context.Context, h []byte) (bool, error) {
	var ks []APIKey
	if err := s.db.WithContext(ctx).Where("hash = ?", h).Limit(1).Find(&ks).Error; err != nil {
		return false, translate(err, "api key")
	}
	return len(ks) == 1 && subtle.ConstantTimeCompare(ks[0].Hash, h) == 1, nil
}
