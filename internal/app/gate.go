package app

import (
	"context"
	"fmt"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/internal/say"
	"github.com/lift-hq/lift/models"
)

// entry is a customer knocking on a campaign's door: the facts its
// trigger's where filter is matched against and, for an event, the
// properties its re-entry key is read from.
type entry struct {
	def      *campaign.Definition
	customer *models.Customer
	facts    campaign.Facts
	props    map[string]any // nil for the inactivity watcher
	// occurred is when the triggering event happened (zero for the
	// inactivity watcher, whose entry is now).
	occurred time.Time
	// paused is why a marketer paused the campaign ("" while it runs).
	paused string
	now    time.Time
	day    time.Duration // scales re-entry periods
}

// verdict is the gate's answer. matched is false when the trigger's
// filter does not match (the campaign is not about this customer, and
// says nothing); otherwise blocked says why the customer may not enter
// now ("" to enter), and entryKey identifies the entry for re-entry rules.
type verdict struct {
	matched  bool
	blocked  string
	entryKey string
	// routing is the variants the campaign's experiment sends new
	// enrolments to (experiment.Routing), nil without an experiment.
	routing []campaign.Weighted
}

// Why the gate refused an entry: the reason label of
// telemetry.MetricEntriesRefused.
const (
	refusedCampaignPaused   = "campaign_paused"
	refusedEntryWindow      = "entry_window"
	refusedUpsellPause      = "upsell_pause"
	refusedExperimentPaused = "experiment_paused"
	refusedReentry          = "reentry"
)

// gate is the enrolment rule, the one both event ingestion and the
// inactivity watcher ask: the trigger's where filter, the entry window,
// the upsell pause after a support ticket or complaint, an experiment
// whose guardrails paused every variant, and the campaign's re-entry
// rule. Every refusal is counted by reason.
func (a *App) gate(ctx context.Context, e entry) (verdict, error) {
	v, reason, err := a.decide(ctx, e)
	if reason != "" {
		a.countRefusal(e.def.ID, reason)
	}
	return v, err
}

func (a *App) decide(ctx context.Context, e entry) (verdict, string, error) {
	if !campaign.Match(e.def.Trigger.Where, e.facts) {
		return verdict{}, "", nil
	}
	v := verdict{matched: true}
	if e.paused != "" {
		v.blocked = "the campaign is paused: " + e.paused
		return v, refusedCampaignPaused, nil
	}
	if age, window := e.now.Sub(e.occurred), e.def.EntryWindow(); !e.occurred.IsZero() && age > window {
		v.blocked = fmt.Sprintf("the event happened %s ago, outside the campaign's entry window (enter_within %s): it is recorded for history, and enrols no one",
			say.Span(age), say.Span(window))
		return v, refusedEntryWindow, nil
	}
	if e.props != nil { // an inactivity entry has no event to key on
		v.entryKey = e.def.EntryKey(e.props)
	}
	if p := e.customer.UpsellsPausedUntil; e.def.Kind == campaign.Upsell && p != nil && p.After(e.now) {
		v.blocked = "upsells are paused after a support ticket or complaint until " + p.UTC().Format(time.RFC3339)
		return v, refusedUpsellPause, nil
	}
	if e.def.Experiment != nil {
		state, err := a.Store.CurrentExperiment(ctx, e.def.ID)
		if err != nil {
			return v, "", err
		}
		if why := experiment.Halted(e.def, state); why != "" {
			v.blocked = why
			return v, refusedExperimentPaused, nil
		}
		v.routing = experiment.Routing(e.def, state)
	}
	limited, since := e.def.ReentrySince(e.now, e.day)
	if !limited {
		return v, "", nil
	}
	entered, err := a.Store.EnteredSince(ctx, e.customer.ID, e.def.ID, v.entryKey, since)
	if err != nil || !entered {
		return v, "", err
	}
	what := "already entered once"
	if e.def.Reentry.Rule == campaign.ReentryOncePer {
		what = "already entered in the last " + e.def.Reentry.Period
	}
	if v.entryKey != "" {
		what += " for " + e.def.EntryValues(e.props) // the caller's own values; only the hash is stored
	}
	v.blocked = what + " (re-entry rule " + e.def.Reentry.Rule + ")"
	return v, refusedReentry, nil
}

// customerFacts are the customer attributes trigger filters may name
// (customer.tier, customer.country, customer.locale, customer.timezone).
func customerFacts(c *models.Customer) campaign.Facts {
	return campaign.Facts{"customer.tier": c.Tier, "customer.country": c.Country,
		"customer.locale": c.Locale, "customer.timezone": c.Timezone}
}
