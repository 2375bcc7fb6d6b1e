package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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
	var v *CampaignVersion
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Campaign
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&c, "id = ?", id).Error; err != nil {
			return translate(err, "campaign "+id)
		}
		var err error
		v, err = publishTx(tx, &c)
		return err
	})
	return v, err
}

// publishTx snapshots c's draft (as read under lock) as its next version.
func publishTx(tx *gorm.DB, c *Campaign) (*CampaignVersion, error) {
	v := CampaignVersion{CampaignID: c.ID, Version: c.LatestVersion + 1, TriggerEvent: c.TriggerEvent,
		Definition: c.Definition, PublishedAt: time.Now().UTC()}
	if err := tx.Create(&v).Error; err != nil {
		return nil, translate(err, "campaign version")
	}
	res := tx.Model(&Campaign{}).Where("id = ? AND latest_version = ?", c.ID, c.LatestVersion).
		Updates(map[string]any{"latest_version": v.Version, "status": domain.CampaignPublished})
	if res.Error != nil {
		return nil, translate(res.Error, "campaign "+c.ID)
	}
	if res.RowsAffected != 1 {
		return nil, errs.E(errs.Conflict, "campaign %s was published concurrently", c.ID)
	}
	return &v, nil
}

// PublishExperiment writes definition (the published version base with
// an experiment added) as the campaign's draft, publishes it as the next
// version and starts the experiment e on it: in one transaction, so
// nothing is half done. A campaign published since base, or whose draft
// holds changes that were never published, is a conflict that names what
// happened: another marketer's work is never overwritten.
func (s *Store) PublishExperiment(ctx context.Context, campaignID string, base int, definition []byte, e *Experiment) (*CampaignVersion, error) {
	var v *CampaignVersion
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Campaign
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&c, "id = ?", campaignID).Error; err != nil {
			return translate(err, "campaign "+campaignID)
		}
		if c.LatestVersion != base {
			return errs.E(errs.Conflict, "campaign %s was published as v%d since this test was drawn from v%d: reload the form and start again",
				campaignID, c.LatestVersion, base)
		}
		var published CampaignVersion
		if err := tx.First(&published, "campaign_id = ? AND version = ?", campaignID, base).Error; err != nil {
			return translate(err, "campaign version")
		}
		if !jsonEqual(published.Definition, c.Definition) {
			return errs.E(errs.Conflict, "campaign %s has draft changes that were never published: publish or discard them before starting a test here", campaignID)
		}
		c.Definition = definition
		if err := tx.Model(&Campaign{}).Where("id = ?", c.ID).Updates(map[string]any{"definition": definition, "updated_at": time.Now().UTC()}).Error; err != nil {
			return translate(err, "campaign "+c.ID)
		}
		var err error
		if v, err = publishTx(tx, &c); err != nil {
			return err
		}
		e.Version = v.Version
		return startExperimentTx(tx, e)
	})
	return v, err
}

// jsonEqual reports whether two stored definitions say the same thing.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// PauseCampaign holds a whole campaign with a reason: no enrolments, and
// its sends wait; ResumeCampaign (reason "") lets it go on.
func (s *Store) PauseCampaign(ctx context.Context, id, reason string, at *time.Time) error {
	res := s.db.WithContext(ctx).Model(&Campaign{}).Where("id = ?", id).
		Updates(map[string]any{"paused_at": at, "paused_reason": reason, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return translate(res.Error, "campaign "+id)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "campaign %s not found", id)
	}
	return nil
}

// UnpublishCampaign takes a published campaign out of enrolment: its
// running sequences finish on their version; publishing makes it live
// again.
func (s *Store) UnpublishCampaign(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Model(&Campaign{}).Where("id = ? AND status = ?", id, domain.CampaignPublished).
		Updates(map[string]any{"status": domain.CampaignUnpublished, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return translate(res.Error, "campaign "+id)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetCampaign(ctx, id); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "campaign %s is not published", id)
	}
	return nil
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
	err := s.db.WithContext(ctx).Select("campaign_versions.*, campaigns.paused_reason AS paused_reason").
		Joins("JOIN campaigns ON campaigns.id = campaign_versions.campaign_id AND campaigns.latest_version = campaign_versions.version").
		Where("campaigns.status = ? AND campaign_versions.trigger_event = ?", domain.CampaignPublished, eventType).
		Order("campaign_versions.campaign_id").Find(&vs).Error
	return vs, translate(err, "campaign versions")
}
