package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// CreateCampaign stores a new campaign draft; an existing ID is a conflict.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	c.Status = domain.CampaignDraft
	return translate(s.db.WithContext(ctx).Create(c).Error, "campaign "+c.ID)
}

// SaveCampaignDraft replaces a campaign's draft definition, creating the
// campaign if needed. Published versions are untouched.
func (s *Store) SaveCampaignDraft(ctx context.Context, c *Campaign) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "trigger_event", "definition", "updated_at"}),
	}).Create(c).Error
	return translate(err, "campaign "+c.ID)
}

// GetCampaign returns a campaign.
func (s *Store) GetCampaign(ctx context.Context, id string) (*Campaign, error) {
	var c Campaign
	err := s.db.WithContext(ctx).First(&c, "id = ?", id).Error
	return found(&c, err, "campaign "+id)
}

// ListCampaigns returns every campaign, by ID.
func (s *Store) ListCampaigns(ctx context.Context) ([]Campaign, error) {
	var cs []Campaign
	err := s.db.WithContext(ctx).Order("id").Find(&cs).Error
	return cs, translate(err, "campaigns")
}

// PublishCampaign snapshots the campaign's current draft as the next
// immutable version and returns it.
func (s *Store) PublishCampaign(ctx context.Context, id string) (*CampaignVersion, error) {
	var v CampaignVersion
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Campaign
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&c, "id = ?", id).Error; err != nil {
			return translate(err, "campaign "+id)
		}
		v = CampaignVersion{CampaignID: c.ID, Version: c.LatestVersion + 1, TriggerEvent: c.TriggerEvent,
			Definition: c.Definition, PublishedAt: time.Now().UTC()}
		if err := tx.Create(&v).Error; err != nil {
			return translate(err, "campaign version")
		}
		res := tx.Model(&Campaign{}).Where("id = ? AND latest_version = ?", c.ID, c.LatestVersion).
			Updates(map[string]any{"latest_version": v.Version, "status": domain.CampaignPublished})
		if res.Error != nil {
			return translate(res.Error, "campaign "+id)
		}
		if res.RowsAffected != 1 {
			return errs.E(errs.Conflict, "campaign %s was published concurrently", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// GetCampaignVersion returns one published version.
func (s *Store) GetCampaignVersion(ctx context.Context, campaignID string, version int) (*CampaignVersion, error) {
	var v CampaignVersion
	err := s.db.WithContext(ctx).First(&v, "campaign_id = ? AND version = ?", campaignID, version).Error
	return found(&v, err, fmt.Sprintf("campaign %s version %d", campaignID, version))
}

// LiveVersions returns the latest published version of every published
// campaign triggered by eventType.
func (s *Store) LiveVersions(ctx context.Context, eventType string) ([]CampaignVersion, error) {
	var vs []CampaignVersion
	err := s.db.WithContext(ctx).
		Joins("JOIN campaigns ON campaigns.id = campaign_versions.campaign_id AND campaigns.latest_version = campaign_versions.version").
		Where("campaigns.status = ? AND campaign_versions.trigger_event = ?", domain.CampaignPublished, eventType).
		Order("campaign_versions.campaign_id").Find(&vs).Error
	return vs, translate(err, "campaign versions")
}
