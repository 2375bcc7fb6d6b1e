package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/lift-hq/lift/internal/domain"
	"gorm.io/gorm/clause"
)

// Suppress adds an address to the suppression list (campaignID empty for
// every campaign). Suppressing twice keeps the first entry.
func (s *Store) Suppress(ctx context.Context, email, campaignID string, reason domain.SuppressionReason) error {
	sup := Suppression{EmailHash: HashEmail(email), CampaignID: campaignID, Reason: reason}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error
	return translate(err, "suppression")
}

// Suppressed returns the suppression that stops email to the address for
// the campaign, if any: a global one first.
func (s *Store) Suppressed(ctx context.Context, email, campaignID string) (*Suppression, error) {
	var sups []Suppression
	err := s.db.WithContext(ctx).Where("email_hash = ? AND campaign_id IN ?", HashEmail(email), []string{"", campaignID}).
		Order("campaign_id").Limit(1).Find(&sups).Error
	if err != nil {
		return nil, translate(err, "suppression")
	}
	if len(sups) == 0 {
		return nil, nil
	}
	return &sups[0], nil
}

// NormalizeEmail is the form addresses are compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// HashEmail is how suppressed addresses are stored.
func HashEmail(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}
