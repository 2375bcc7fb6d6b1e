package models

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClaimMessage returns the message for (m.EnrollmentID, m.StepID), creating
// it from m if there is none. created reports whether m was inserted. The
// unique idempotency key makes this safe under retries and races.
func (s *Store) ClaimMessage(ctx context.Context, m *Message) (msg *Message, created bool, err error) {
	m.IdempotencyKey = MessageKey(m.EnrollmentID, m.StepID)
	m.Error, m.RecommendNote = clip(m.Error, 1000), clip(m.RecommendNote, 300)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "idempotency_key"}}, DoNothing: true}).Create(m)
	if res.Error != nil {
		return nil, false, translate(res.Error, "message")
	}
	if res.RowsAffected == 1 {
		return m, true, nil
	}
	var existing Message
	err = s.db.WithContext(ctx).First(&existing, "idempotency_key = ?", m.IdempotencyKey).Error
	return &existing, false, translate(err, "message")
}

// GetMessage returns one message.
func (s *Store) GetMessage(ctx context.Context, id string) (*Message, error) {
	var m Message
	err := s.db.WithContext(ctx).First(&m, "id = ?", id).Error
	return found(&m, err, "message "+id)
}

// Rendered is a message's content as the mailer will send it.
type Rendered struct {
	Subject, Preheader, HTML, Text string
	Headers                        map[string]string
}

// SaveRendered stores the rendered content of a pending message.
func (s *Store) SaveRendered(ctx context.Context, id string, r Rendered) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status IN ?", id, []domain.MessageStatus{domain.MessagePending, domain.MessageReady}).
		Updates(&Message{Subject: r.Subject, Preheader: r.Preheader, HTML: r.HTML, Text: r.Text, Headers: r.Headers, Status: domain.MessageReady}).Error
	return translate(err, "message "+id)
}

// ClaimSending records that the mailer is about to be called. It moves the
// message from the state the caller read (ready, or sending since
// sendingAt) to sending since at, and reports whether it did: when it did
// not, someone else sent or claimed it first. After a crash, a message
// found "sending" may or may not have reached the provider: Send reconciles
// it before claiming it again.
func (s *Store) ClaimSending(ctx context.Context, id string, status domain.MessageStatus, sendingAt *time.Time, at time.Time) (bool, error) {
	q := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status = ?", id, status)
	switch {
	case status == domain.MessageSending && sendingAt != nil:
		q = q.Where("sending_at = ?", *sendingAt)
	case status != domain.MessageReady:
		return false, errs.E(errs.Conflict, "message %s is %s", id, status)
	}
	res := q.Updates(map[string]any{"status": domain.MessageSending, "sending_at": at})
	return res.RowsAffected == 1, translate(res.Error, "message "+id)
}

// MarkReady returns a "sending" message to ready: the mailer refused it
// for now, so it was certainly not sent.
func (s *Store) MarkReady(ctx context.Context, id string) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status = ?", id, domain.MessageSending).
		Update("status", domain.MessageReady).Error
	return translate(err, "message "+id)
}

// MarkSent records that the mailer accepted the message. It only moves a
// message that is not yet sent, and reports whether it did.
func (s *Store) MarkSent(ctx context.Context, id, provider, providerID string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status IN ?", id, []domain.MessageStatus{domain.MessageReady, domain.MessageSending}).
		Updates(map[string]any{"status": domain.MessageSent, "provider": provider, "provider_message_id": clip(providerID, 200), "sent_at": at, "error": ""})
	return res.RowsAffected == 1, translate(res.Error, "message "+id)
}

// ConfirmMessage records that SendGrid told Lift about the message (any
// event) at receivedAt: SendGrid has it, so a message still "sending"
// becomes sent, with providerID and the event's time.
func (s *Store) ConfirmMessage(ctx context.Context, id, provider, providerID string, at, receivedAt time.Time) error {
	if _, err := s.MarkSent(ctx, id, provider, providerID, at); err != nil {
		return err
	}
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND confirmed_at IS NULL", id).
		Updates(map[string]any{"confirmed_at": receivedAt, "error": ""}).Error
	return translate(err, "message "+id)
}

// LaterSends describes the sends the mailer certainly accepted after a
// moment (other than one message): whether the first n of them are all
// confirmed (and there is at least one), and how many are confirmed in all.
func (s *Store) LaterSends(ctx context.Context, after time.Time, exceptID string, n int) (firstConfirmed bool, confirmed int64, err error) {
	later := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&Message{}).
			Where("sending_at > ? AND status = ? AND id <> ?", after, domain.MessageSent, exceptID)
	}
	var first []Message
	if err := later().Select("id", "confirmed_at").Order("sending_at").Limit(n).Find(&first).Error; err != nil {
		return false, 0, translate(err, "messages")
	}
	firstConfirmed = len(first) > 0
	for _, m := range first {
		firstConfirmed = firstConfirmed && m.ConfirmedAt != nil
	}
	err = later().Where("confirmed_at IS NOT NULL").Count(&confirmed).Error
	return firstConfirmed, confirmed, translate(err, "messages")
}

// WebhookRefusal records that Lift answered a webhook request with a
// status SendGrid retries (429, 5xx, a body it could not read): events in
// it arrive later, out of order, or (after SendGrid's 24 hours) never.
type WebhookRefusal struct {
	ID     uint      `gorm:"primaryKey"`
	At     time.Time `gorm:"not null;index"`
	Status int       `gorm:"not null"`
}

// WebhookRefusalTTL is how long refusals are kept: longer than SendGrid
// retries a batch.
const WebhookRefusalTTL = 48 * time.Hour

// RecordWebhookRefusal stores a refusal.
func (s *Store) RecordWebhookRefusal(ctx context.Context, at time.Time, status int) error {
	return translate(s.db.WithContext(ctx).Create(&WebhookRefusal{At: at, Status: status}).Error, "webhook refusal")
}

// LastWebhookRefusal is the latest refusal since a moment, or nil.
func (s *Store) LastWebhookRefusal(ctx context.Context, since time.Time) (*time.Time, error) {
	var rs []WebhookRefusal
	err := s.db.WithContext(ctx).Where("at >= ?", since).Order("at DESC").Limit(1).Find(&rs).Error
	if err != nil || len(rs) == 0 {
		return nil, translate(err, "webhook refusals")
	}
	return &rs[0].At, nil
}

// ResolveHeld settles a message held "sending" by an operator who looked
// it up at the provider: sent, or not sent (back to ready, so the waiting
// step sends it). Anything but a "sending" message is a conflict.
func (s *Store) ResolveHeld(ctx context.Context, id string, sent bool, at time.Time) error {
	q := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status = ?", id, domain.MessageSending)
	var res *gorm.DB
	if sent {
		res = q.Updates(map[string]any{"status": domain.MessageSent, "sent_at": at, "error": "marked sent by an operator"})
	} else {
		res = q.Updates(map[string]any{"status": domain.MessageReady, "error": ""})
	}
	if res.Error != nil {
		return translate(res.Error, "message "+id)
	}
	if res.RowsAffected == 0 {
		m, err := s.GetMessage(ctx, id)
		if err != nil {
			return err
		}
		return errs.E(errs.Conflict, "message %s is %s, not sending: there is nothing to resolve", id, m.Status)
	}
	return nil
}

// NoteMessage sets the reason a message waits without changing its status.
func (s *Store) NoteMessage(ctx context.Context, id, reason string) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ?", id).Update("error", clip(reason, 1000)).Error
	return translate(err, "message "+id)
}

// MarkMessage sets a message's status with a reason (skipped, failed).
func (s *Store) MarkMessage(ctx context.Context, id string, status domain.MessageStatus, reason string) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status <> ?", id, domain.MessageSent).
		Updates(map[string]any{"status": status, "error": clip(reason, 1000)}).Error
	return translate(err, "message "+id)
}

// MessageByProviderID finds the message SendGrid calls sgMessageID:
// "<X-Message-Id>.filter…", where the X-Message-Id recorded at send time
// may itself contain dots. Every dot-separated prefix is a candidate; the
// longest that matches wins.
func (s *Store) MessageByProviderID(ctx context.Context, sgMessageID string) (*Message, error) {
	var candidates []string
	for i := len(sgMessageID) - 1; i > 0; i-- {
		if sgMessageID[i] == '.' {
			candidates = append(candidates, sgMessageID[:i])
		}
	}
	candidates = append(candidates, sgMessageID)
	var ms []Message
	err := s.db.WithContext(ctx).Omit("html", "text").Where("provider_message_id IN ?", candidates).Find(&ms).Error
	if err != nil {
		return nil, translate(err, "message")
	}
	var best *Message
	for i := range ms {
		if best == nil || len(ms[i].ProviderMessageID) > len(best.ProviderMessageID) {
			best = &ms[i]
		}
	}
	if best == nil {
		return nil, errs.E(errs.NotFound, "no message with provider ID %s", sgMessageID)
	}
	return best, nil
}

// RecordWebhookEvent stores a SendGrid event's ID; fresh is false when it
// was already applied.
func (s *Store) RecordWebhookEvent(ctx context.Context, e *WebhookEvent) (fresh bool, err error) {
	e.Type = clip(e.Type, 32)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(e)
	return res.RowsAffected == 1, translate(res.Error, "webhook event")
}

// WebhookEventSeen reports whether a SendGrid event was already applied.
func (s *Store) WebhookEventSeen(ctx context.Context, sgEventID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&WebhookEvent{}).Where("sg_event_id = ?", sgEventID).Count(&n).Error
	return n > 0, translate(err, "webhook event")
}

// UpdateDelivery records a message's delivery status and engagement.
// Events arrive in any order: "deferred" never overwrites a final status
// (delivered, bounced, dropped), and engagement times keep the first
// occurrence.
func (s *Store) UpdateDelivery(ctx context.Context, id string, delivery string, opened, clicked *time.Time) error {
	db := s.db.WithContext(ctx).Model(&Message{}).Where("id = ?", id)
	if delivery == "deferred" {
		db = db.Where("delivery IN ?", []string{"", "deferred"})
	}
	if delivery != "" {
		if err := db.Update("delivery", delivery).Error; err != nil {
			return translate(err, "message "+id)
		}
	}
	if opened != nil {
		err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND opened_at IS NULL", id).Update("opened_at", *opened).Error
		if err != nil {
			return translate(err, "message "+id)
		}
	}
	if clicked != nil {
		err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND clicked_at IS NULL", id).Update("clicked_at", *clicked).Error
		if err != nil {
			return translate(err, "message "+id)
		}
	}
	return nil
}

// MessageFilter selects messages; empty fields match everything.
type MessageFilter struct {
	CustomerID   string
	CampaignID   string
	EnrollmentID string
	Limit        int
	NewestFirst  bool
}

// ListMessages returns messages without their bodies, oldest first unless
// NewestFirst.
func (s *Store) ListMessages(ctx context.Context, f MessageFilter) ([]Message, error) {
	q := s.db.WithContext(ctx).Omit("html", "text")
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.CampaignID != "" {
		q = q.Where("campaign_id = ?", f.CampaignID)
	}
	if f.EnrollmentID != "" {
		q = q.Where("enrollment_id = ?", f.EnrollmentID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	order := "created_at, id"
	if f.NewestFirst {
		order = "created_at DESC, id DESC"
	}
	var ms []Message
	err := q.Order(order).Limit(f.Limit).Find(&ms).Error
	return ms, translate(err, "messages")
}

// RecordConversion stores a conversion once per enrollment and order.
func (s *Store) RecordConversion(ctx context.Context, c *Conversion) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(c).Error
	return translate(err, "conversion")
}

// Conversions returns an enrollment's conversions.
func (s *Store) Conversions(ctx context.Context, enrollmentID string) ([]Conversion, error) {
	var cs []Conversion
	err := s.db.WithContext(ctx).Where("enrollment_id = ?", enrollmentID).Order("id").Find(&cs).Error
	return cs, translate(err, "conversions")
}

// outcomeColumns are the columns that record what an email prompted.
var outcomeColumns = map[domain.MessageOutcome]string{
	domain.OutcomeUnsubscribed: "unsubscribed_at",
	domain.OutcomeComplained:   "complained_at",
}

// MarkLatestMessage credits an unsubscribe or complaint made on Lift's
// own page to the customer's latest sent email in the scope (one
// campaign, or all).
func (s *Store) MarkLatestMessage(ctx context.Context, customerID, campaignID string, outcome domain.MessageOutcome, at time.Time) error {
	q := s.db.WithContext(ctx).Model(&Message{}).Select("id").
		Where("customer_id = ? AND sent_at IS NOT NULL", customerID)
	if campaignID != "" {
		q = q.Where("campaign_id = ?", campaignID)
	}
	var ids []string
	if err := q.Order("sent_at DESC, id DESC").Limit(1).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return translate(err, "messages")
	}
	return s.MarkMessageOutcome(ctx, ids[0], outcome, at)
}

// MarkMessageOutcome records the first unsubscribe or complaint an email
// prompted.
func (s *Store) MarkMessageOutcome(ctx context.Context, messageID string, outcome domain.MessageOutcome, at time.Time) error {
	col, ok := outcomeColumns[outcome]
	if !ok {
		return errs.E(errs.Internal, "unknown message outcome %q", outcome)
	}
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND "+col+" IS NULL", messageID).Update(col, at).Error
	return translate(err, "message "+messageID)
}
