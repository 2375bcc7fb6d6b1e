package app

import (
	"context"
	"strconv"
	"time"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// Audit actions: reads of a customer's personal data and admin actions.
const (
	AuditCustomerRead       = "customer.read"
	AuditCustomerExport     = "customer.export"
	AuditCustomerErase      = "customer.erase"
	AuditPreview            = "campaign.preview"
	AuditTestSend           = "campaign.test_send"
	AuditMessageRead        = "message.read"
	AuditAudienceExport     = "segment.export"
	AuditCampaignPublish    = "campaign.publish"
	AuditCampaignApply      = "campaign.apply" // a bundle of campaigns, destinations and pools as code
	AuditExperimentConclude = "experiment.conclude"
	AuditExperimentStart    = "experiment.start" // a test started from the console, with the version it published
	AuditExperimentStop     = "experiment.stop"
	AuditJourneyRead        = "journey.read"
	AuditCampaignPause      = "campaign.pause"
	AuditCampaignResume     = "campaign.resume"
	AuditCampaignUnpublish  = "campaign.unpublish"
	AuditKeyCreate          = "key.create"
	AuditKeyRevoke          = "key.revoke"
	AuditMessageResolve     = "message.resolve"
	AuditImport             = "data.import"
	AuditDestinationPut     = "destination.put"
)

// AuditCLI is the key ID under which lift keys, run with database
// access rather than a key, is recorded.
const AuditCLI = "cli"

// Audit records that a key took an action about subjects (customer,
// campaign, message or key IDs), now. It records IDs only, never data.
func (a *App) Audit(ctx context.Context, keyID, action string, subjects ...string) error {
	now := a.now()
	es := make([]models.AuditEntry, 0, len(subjects))
	for _, s := range subjects {
		es = append(es, models.AuditEntry{At: now, KeyID: keyID, Action: action, SubjectID: clipID(s)})
	}
	return a.Store.RecordAudit(ctx, es)
}

func clipID(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// AuditQuery is a page of the audit log as a caller asks for it.
type AuditQuery struct {
	KeyID, Action, Subject string
	From, To               string // RFC 3339
	Before                 string // the next_before of the previous page
	Limit                  string // 1 to 1000, default 100
}

// AuditEntry is one entry as shown.
type AuditEntry struct {
	ID      uint      `json:"id"`
	At      time.Time `json:"at"`
	KeyID   string    `json:"key_id"`
	Action  string    `json:"action"`
	Subject string    `json:"subject_id"`
}

// AuditPage is a page of entries, newest first, and the cursor to the
// next page (0: none).
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextBefore uint         `json:"next_before,omitempty"`
}

// AuditLog pages through the audit log, newest first, with filters.
func (a *App) AuditLog(ctx context.Context, q AuditQuery) (AuditPage, error) {
	f := models.AuditFilter{KeyID: q.KeyID, Action: q.Action, SubjectID: q.Subject, Limit: 100}
	for _, t := range []struct {
		name, value string
		dst         *time.Time
	}{{"from", q.From, &f.From}, {"to", q.To, &f.To}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.value)
		if err != nil {
			return AuditPage{}, errs.Field(errs.Invalid, t.name, "must be an RFC 3339 time like 2026-11-01T00:00:00Z")
		}
		*t.dst = v.UTC()
	}
	if q.Before != "" {
		n, err := strconv.ParseUint(q.Before, 10, 64)
		if err != nil || n == 0 {
			return AuditPage{}, errs.Field(errs.Invalid, "before", "must be a next_before cursor")
		}
		f.Before = uint(n)
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > 1000 {
			return AuditPage{}, errs.Field(errs.Invalid, "limit", "must be 1 to 1000")
		}
		f.Limit = n
	}
	limit := f.Limit
	f.Limit++ // one more says whether there is a next page
	es, err := a.Store.AuditLog(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	more := len(es) > limit
	es = es[:min(len(es), limit)]
	page := AuditPage{Entries: make([]AuditEntry, 0, len(es))}
	for _, e := range es {
		page.Entries = append(page.Entries, AuditEntry{ID: e.ID, At: e.At, KeyID: e.KeyID, Action: e.Action, Subject: e.SubjectID})
	}
	if more {
		page.NextBefore = es[len(es)-1].ID
	}
	return page, nil
}
