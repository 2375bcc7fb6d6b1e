package app

import (
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/telemetry"
)

// countEvent records an ingested event by type and outcome. The type label
// is one of the known event types (or "invalid"), so a caller cannot grow
// the number of series.
func (a *App) countEvent(typ string, res EventResult, err error) {
	if !campaign.IsEventType(typ) {
		typ = "invalid"
	}
	outcome := "recorded"
	switch {
	case err != nil:
		outcome = "rejected" // the caller's to fix: invalid, unknown customer, a conflicting retry
		switch errs.CodeOf(err) {
		case errs.Unavailable, errs.Internal, errs.TooManyRequests:
			outcome = "failed"
		}
	case len(res.Started) > 0:
		outcome = "enrolled"
	case len(res.Signalled) > 0:
		outcome = "signalled"
	}
	a.Metrics.WithTags(map[string]string{"type": typ, "outcome": outcome}).Counter(telemetry.MetricEventsIngested).Inc(1)
}

// countEnrolment records a sequence started for a campaign.
func (a *App) countEnrolment(campaignID string) {
	a.Metrics.WithTags(map[string]string{"campaign": campaignID}).Counter(telemetry.MetricEnrolments).Inc(1)
}

// countRefusal records an entry the gate refused, by campaign and reason
// (one of the gate's fixed refused* values).
func (a *App) countRefusal(campaignID, reason string) {
	a.Metrics.WithTags(map[string]string{"campaign": campaignID, "reason": reason}).Counter(telemetry.MetricEntriesRefused).Inc(1)
}

// CountHeldStep records a step held back from sending, by campaign and
// reason (coupon_pool_empty).
func (a *App) CountHeldStep(campaignID, reason string) {
	a.Metrics.WithTags(map[string]string{"campaign": campaignID, "reason": reason}).Counter(telemetry.MetricStepsHeld).Inc(1)
}

// countWebhook records a flow webhook attempt by destination and outcome.
func (a *App) countWebhook(destination string, status int) {
	outcome := "refused"
	switch {
	case status >= 200 && status < 300:
		outcome = "delivered"
	case status == 0 || status == 408 || status == 429 || status >= 500:
		outcome = "retried"
	}
	a.Metrics.WithTags(map[string]string{"destination": destination, "outcome": outcome}).Counter(telemetry.MetricWebhookDeliveries).Inc(1)
}

// sendGridEventTypes are the webhook's event types; any other is "other".
var sendGridEventTypes = map[string]bool{
	"processed": true, "dropped": true, "delivered": true, "deferred": true, "bounce": true, "open": true,
	"click": true, "spamreport": true, "unsubscribe": true, "group_unsubscribe": true, "group_resubscribe": true,
}

// countWebhookEvent records a provider event by type and what became of it.
func (a *App) countWebhookEvent(typ, outcome string) {
	if !sendGridEventTypes[typ] {
		typ = "other"
	}
	a.Metrics.WithTags(map[string]string{"type": typ, "outcome": outcome}).Counter(telemetry.MetricWebhookEvents).Inc(1)
}
