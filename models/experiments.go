package models

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// StartExperiment records an experiment as running. Starting one that
// already exists is a conflict: an experiment ID names one run, so its
// results are never mixed with an earlier run's.
func (s *Store) StartExperiment(ctx context.Context, e *Experiment) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return startExperimentTx(tx, e) })
}

func startExperimentTx(tx *gorm.DB, e *Experiment) error {
	var running int64
	if err := tx.Model(&Experiment{}).Where("campaign_id = ? AND status = ?", e.CampaignID, domain.ExperimentRunning).
		Count(&running).Error; err != nil {
		return translate(err, "experiments")
	}
	if running > 0 {
		return errs.E(errs.Conflict, "campaign %s already has a running experiment: stop or conclude it first", e.CampaignID)
	}
	return translate(tx.Create(e).Error, "experiment "+e.ID)
}

// GetExperiment returns one experiment.
func (s *Store) GetExperiment(ctx context.Context, campaignID, id string) (*Experiment, error) {
	var e Experiment
	err := s.db.WithContext(ctx).Where("campaign_id = ? AND id = ?", campaignID, id).First(&e).Error
	return found(&e, err, "experiment "+id)
}

// ListExperiments returns a campaign's experiments, newest first.
func (s *Store) ListExperiments(ctx context.Context, campaignID string) ([]Experiment, error) {
	var es []Experiment
	err := s.db.WithContext(ctx).Where("campaign_id = ?", campaignID).Order("started_at DESC, version DESC, id DESC").Find(&es).Error
	return es, translate(err, "experiments")
}

// CurrentExperiment is the experiment that decides a new enrolment's
// variant: the campaign's most recently started one (nil: none ever
// started).
func (s *Store) CurrentExperiment(ctx context.Context, campaignID string) (*Experiment, error) {
	var es []Experiment
	err := s.db.WithContext(ctx).Where("campaign_id = ?", campaignID).Order("started_at DESC, version DESC, id DESC").Limit(1).Find(&es).Error
	if err != nil || len(es) == 0 {
		return nil, translate(err, "experiments")
	}
	return &es[0], nil
}

// RunningExperiments lists every running experiment, for the daily check.
func (s *Store) RunningExperiments(ctx context.Context) ([]Experiment, error) {
	var es []Experiment
	err := s.db.WithContext(ctx).Where("status = ?", domain.ExperimentRunning).Order("campaign_id, id").Find(&es).Error
	return es, translate(err, "experiments")
}

// EndExperiment stops or concludes a running experiment (winner "" keeps
// the control). Promoting a winner clears the guardrail pauses on it: a
// person chose it. With moveRunning the move is recorded as pending until
// MoveDone. Concluding again with the same winner is allowed (it returns
// the experiment, so a move that failed to start can be asked again);
// anything else on an ended experiment is a conflict.
func (s *Store) EndExperiment(ctx context.Context, campaignID, id string, status domain.ExperimentStatus, winner string, moveRunning bool, at time.Time) (*Experiment, error) {
	var out *Experiment
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e Experiment
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("campaign_id = ? AND id = ?", campaignID, id).First(&e).Error; err != nil {
			return translate(err, "experiment "+id)
		}
		switch {
		case e.Status == domain.ExperimentConcluded && status == domain.ExperimentConcluded && e.Winner == winner:
			if moveRunning && !e.MoveRunning {
				e.MoveRunning, e.MovePending = true, true
			}
		case e.Status != domain.ExperimentRunning:
			return errs.E(errs.Conflict, "experiment %s is %s, not running", id, e.Status)
		default:
			e.Status, e.Winner, e.MoveRunning, e.MovePending, e.EndedAt = status, winner, moveRunning, moveRunning && winner != "", &at
			for key := range e.Paused {
				if winner != "" && (key == winner || strings.HasPrefix(key, winner+"/")) {
					delete(e.Paused, key)
				}
			}
		}
		err := tx.Model(&Experiment{}).Where("campaign_id = ? AND id = ?", campaignID, id).Updates(map[string]any{
			"status": e.Status, "winner": e.Winner, "move_running": e.MoveRunning, "move_pending": e.MovePending,
			"ended_at": e.EndedAt, "paused": jsonValue(e.Paused)}).Error
		out = &e
		return translate(err, "experiment "+id)
	})
	return out, err
}

// PendingMoves lists concluded experiments whose move of running
// enrolments to the winner has not finished.
func (s *Store) PendingMoves(ctx context.Context) ([]Experiment, error) {
	var es []Experiment
	err := s.db.WithContext(ctx).Where("status = ? AND move_pending", domain.ExperimentConcluded).Order("campaign_id, id").Find(&es).Error
	return es, translate(err, "experiments")
}

// MoveDone records that every running enrolment was moved to the winner.
func (s *Store) MoveDone(ctx context.Context, campaignID, id string) error {
	err := s.db.WithContext(ctx).Model(&Experiment{}).Where("campaign_id = ? AND id = ?", campaignID, id).
		Update("move_pending", false).Error
	return translate(err, "experiment "+id)
}

// SaveExperimentCheck stores what a check found: the always-valid
// p-values, and the guardrail pauses it adds. It merges under a row lock,
// so a pause a person lifted meanwhile (Resumed) stays lifted and no
// pause is lost. Only a running experiment is updated.
func (s *Store) SaveExperimentCheck(ctx context.Context, campaignID, id string, pvalues map[string]float64, paused map[string]string, at time.Time) (*Experiment, error) {
	var out *Experiment
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e Experiment
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("campaign_id = ? AND id = ?", campaignID, id).First(&e).Error; err != nil {
			return translate(err, "experiment "+id)
		}
		if e.Status != domain.ExperimentRunning {
			out = &e
			return nil
		}
		if e.Paused == nil {
			e.Paused = map[string]string{}
		}
		for key, why := range paused {
			if _, resumed := e.Resumed[key]; !resumed {
				if _, ok := e.Paused[key]; !ok {
					e.Paused[key] = why
				}
			}
		}
		e.PValues, e.LastCheckedAt = pvalues, &at
		out = &e
		return translate(tx.Model(&Experiment{}).Where("campaign_id = ? AND id = ?", campaignID, id).Updates(map[string]any{
			"p_values": jsonValue(e.PValues), "paused": jsonValue(e.Paused), "last_checked_at": at}).Error, "experiment "+id)
	})
	return out, err
}

// ResumeExperimentVariant lifts a guardrail pause on a variant or step.
// The guardrails leave it alone from then on: a person has looked.
func (s *Store) ResumeExperimentVariant(ctx context.Context, campaignID, id, key string, at time.Time) (*Experiment, error) {
	var out *Experiment
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e Experiment
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("campaign_id = ? AND id = ?", campaignID, id).First(&e).Error; err != nil {
			return translate(err, "experiment "+id)
		}
		if _, ok := e.Paused[key]; !ok {
			return errs.E(errs.NotFound, "%s is not paused", key)
		}
		delete(e.Paused, key)
		if e.Resumed == nil {
			e.Resumed = map[string]string{}
		}
		e.Resumed[key] = at.UTC().Format(time.RFC3339)
		if err := tx.Model(&Experiment{}).Where("campaign_id = ? AND id = ?", campaignID, id).
			Updates(map[string]any{"paused": jsonValue(e.Paused), "resumed": jsonValue(e.Resumed)}).Error; err != nil {
			return translate(err, "experiment "+id)
		}
		out = &e
		return nil
	})
	return out, err
}

// jsonValue encodes a serializer:json column's value for a map update,
// which does not run the serializer.
func jsonValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// RunningToMove pages through a campaign's running enrolments whose
// variant is none of keep, by ID after afterID.
func (s *Store) RunningToMove(ctx context.Context, campaignID string, keep []string, afterID string, limit int) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Select("id", "customer_id", "campaign_id", "version", "workflow_id", "variant").
		Where("campaign_id = ? AND status = ? AND variant NOT IN ? AND id > ?", campaignID, domain.StatusRunning, keep, afterID).
		Order("id").Limit(limit).Find(&es).Error
	return es, translate(err, "enrollments")
}
