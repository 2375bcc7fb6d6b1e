package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Event is a customer event as a caller sends it.
type Event struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	CustomerID string         `json:"customer_id"`
	OccurredAt string         `json:"occurred_at"` // RFC 3339; default now
	Properties map[string]any `json:"properties"`

	occurredAt time.Time
}

// EventResult says what an event did.
type EventResult struct {
	EventID         string         `json:"event_id"`
	Started         []StartedSeq   `json:"started"`
	AlreadyEnrolled []StartedSeq   `json:"already_enrolled"`
	Skipped         []SkippedSeq   `json:"skipped"`
	Signalled       []SignalledSeq `json:"signalled"`
	// Held says why the event was kept rather than applied: its customer
	// does not exist yet (see hold).
	Held string `json:"held,omitempty"`
}

// SkippedSeq is a campaign whose trigger matched but which the customer may
// not enter now, and why.
type SkippedSeq struct {
	CampaignID string `json:"campaign_id"`
	Reason     string `json:"reason"`
}

// StartedSeq is a sequence an event started (or found running).
type StartedSeq struct {
	CampaignID   string `json:"campaign_id"`
	Version      int    `json:"version"`
	WorkflowID   string `json:"workflow_id"`
	EnrollmentID string `json:"enrollment_id,omitempty"`
	Variant      string `json:"variant,omitempty"`
}

// SignalledSeq is a running sequence an event signalled.
type SignalledSeq struct {
	CampaignID string `json:"campaign_id"`
	WorkflowID string `json:"workflow_id"`
	Signal     string `json:"signal"`
}

// signalFor maps event types to the exit signal they send running
// sequences.
var signalFor = map[string]string{
	campaign.EventPurchase:      workflows.SignalPurchase,
	campaign.EventUpgrade:       workflows.SignalUpgrade,
	campaign.EventComplaint:     workflows.SignalComplaint,
	campaign.EventUnsubscribe:   workflows.SignalUnsubscribe,
	campaign.EventSupportTicket: workflows.SignalSupportTicket,
}

// Ingest records an event, starts every published campaign whose trigger
// it matches and whose gate lets the customer in, and signals the
// customer's running sequences. An event ID sent again (a retry) is
// processed again idempotently: nothing is enrolled twice.
func (a *App) Ingest(ctx context.Context, in Event) (EventResult, error) {
	res, err := a.ingest(ctx, in)
	a.countEvent(in.Type, res, err)
	if err == nil {
		started := make([]string, len(res.Started))
		for i, s := range res.Started {
			started[i] = s.WorkflowID
		}
		signalled := make([]string, len(res.Signalled))
		for i, s := range res.Signalled {
			signalled[i] = s.WorkflowID
		}
		a.Logger.InfoContext(ctx, "event", "event_id", res.EventID, "type", in.Type, "started", started, "signalled", signalled)
	}
	return res, err
}

func (a *App) ingest(ctx context.Context, in Event) (EventResult, error) {
	var res EventResult
	if _, err := normalize(in.Properties, "properties"); err != nil {
		return res, err
	}
	now := a.now()
	order, err := validateEvent(&in, now)
	if err != nil {
		return res, err
	}
	cust, err := a.Store.GetCustomer(ctx, in.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return a.hold(ctx, in)
	}
	if err != nil {
		return res, err
	}
	if in.ID == "" {
		in.ID = uuid.NewString()
	}
	ev := &models.Event{ID: in.ID, Type: in.Type, CustomerID: in.CustomerID, OccurredAt: in.occurredAt, Properties: in.Properties}
	if order != nil {
		order.EventID = ev.ID
	}
	if err := a.Store.RecordEvent(ctx, ev, order); errs.Is(err, errs.Conflict) {
		// A retry (same event ID, or the same order without an ID) is
		// processed again from the stored event; anything else conflicts.
		prev, perr := a.storedEvent(ctx, err, ev.ID, order)
		if perr != nil {
			return res, perr
		}
		if prev == nil || prev.Type != in.Type || prev.CustomerID != in.CustomerID {
			field := "id"
			if errors.Is(err, models.ErrOrderRecorded) {
				field = "properties.order_id"
			}
			return res, errs.Field(errs.Conflict, field, "%s", errs.Message(err))
		}
		// An event ID names one event: only a retry of the same event
		// (same properties and, when given, the same time) replays it.
		if errors.Is(err, models.ErrEventRecorded) && !sameEvent(prev, ev, in.OccurredAt != "") {
			return res, errs.Field(errs.Conflict, "id",
				"event %s was already recorded with other properties or another time: send a new ID for a new event", ev.ID)
		}
		ev = prev
	} else if err != nil {
		return res, err
	}
	if tier, _ := ev.Properties["tier"].(string); tier != "" && (ev.Type == campaign.EventUpgrade || ev.Type == campaign.EventDowngrade) {
		if err := a.Store.SetTier(ctx, cust.ID, tier); err != nil {
			return res, err
		}
		cust.Tier = tier
	}
	if ev.Type == campaign.EventSupportTicket || ev.Type == campaign.EventComplaint {
		until := now.Add(a.Settings.UpsellPause)
		if err := a.Store.PauseUpsells(ctx, cust.ID, until); err != nil {
			return res, err
		}
		if cust.UpsellsPausedUntil == nil || cust.UpsellsPausedUntil.Before(until) {
			cust.UpsellsPausedUntil = &until
		}
	}
	res = EventResult{EventID: ev.ID, Started: []StartedSeq{}, AlreadyEnrolled: []StartedSeq{}, Skipped: []SkippedSeq{}, Signalled: []SignalledSeq{}}
	if err := a.enrol(ctx, ev, cust, now, &res); err != nil {
		return res, err
	}
	if err := a.signal(ctx, ev, cust, &res); err != nil {
		return res, err
	}
	return res, a.signalWaits(ctx, ev, cust, &res)
}

// sameEvent reports whether ev repeats the stored event prev: the same
// properties (compared as JSON, so key order does not matter) and, when
// the retry gives a time, the same time.
func sameEvent(prev, ev *models.Event, timed bool) bool {
	if timed && !prev.OccurredAt.Equal(ev.OccurredAt) {
		return false
	}
	a, errA := json.Marshal(prev.Properties)
	b, errB := json.Marshal(ev.Properties)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// storedEvent finds the stored event a conflicting one repeats: the same
// event ID, or the same customer's order. It returns nil when there is none.
func (a *App) storedEvent(ctx context.Context, conflict error, eventID string, order *models.Order) (*models.Event, error) {
	switch {
	case errors.Is(conflict, models.ErrEventRecorded):
	case errors.Is(conflict, models.ErrOrderRecorded) && order != nil:
		prevOrder, err := a.Store.GetOrder(ctx, order.ID)
		if err != nil || prevOrder.CustomerID != order.CustomerID {
			return nil, err
		}
		eventID = prevOrder.EventID
	default:
		return nil, nil
	}
	prev, err := a.Store.GetEvent(ctx, eventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return prev, err
}

// enrol starts a sequence for every live campaign the event triggers and
// the gate lets the customer into.
func (a *App) enrol(ctx context.Context, ev *models.Event, cust *models.Customer, now time.Time, res *EventResult) error {
	live, err := a.defs.Live(ctx, ev.Type)
	if err != nil || len(live) == 0 {
		return err
	}
	facts, err := a.facts(ctx, ev, cust, live)
	if err != nil {
		return err
	}
	for _, lv := range live {
		def := lv.Definition
		matchFacts := facts
		if ev.Type == campaign.EventPageView {
			if matchFacts, err = a.viewFacts(ctx, ev, cust.ID, def.Trigger, facts, now); err != nil {
				return err
			}
		}
		v, err := a.gate(ctx, entry{def: def, customer: cust, facts: matchFacts, props: ev.Properties, occurred: ev.OccurredAt,
			paused: lv.Paused, now: now, day: a.Settings.Day})
		if err != nil {
			return err
		}
		if !v.matched {
			continue
		}
		if v.blocked != "" {
			res.Skipped = append(res.Skipped, SkippedSeq{CampaignID: def.ID, Reason: v.blocked})
			continue
		}
		in := a.sequenceInput(def, lv.Version, v.routing, cust, ev.ID, now)
		in.EntryKey = v.entryKey
		if def.Anchor != "" {
			raw, _ := ev.Properties[def.Anchor].(string)
			anchor, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				res.Skipped = append(res.Skipped, SkippedSeq{CampaignID: def.ID,
					Reason: fmt.Sprintf("the event has no %s time (RFC 3339) to count the steps back from", def.Anchor)})
				continue
			}
			if !anchor.After(now) {
				res.Skipped = append(res.Skipped, SkippedSeq{CampaignID: def.ID,
					Reason: fmt.Sprintf("the event's %s (%s) is in the past: there is nothing left to count down to", def.Anchor, anchor.UTC().Format(time.RFC3339))})
				continue
			}
			scaled := workflows.ScaleAnchor(anchor.UTC(), now, a.Settings.Day)
			in.Anchor = &scaled
		}
		seq := StartedSeq{CampaignID: def.ID, Version: lv.Version, WorkflowID: workflows.SequenceWorkflowID(def.ID, cust.ID)}
		summary := fmt.Sprintf("%s v%d · customer %s · variant %s", def.Name, lv.Version, cust.ID, in.Variant)
		started, err := a.Sequences.Start(ctx, in, summary)
		if err != nil {
			return err
		}
		if !started {
			res.AlreadyEnrolled = append(res.AlreadyEnrolled, seq)
			continue
		}
		seq.EnrollmentID, seq.Variant = in.EnrollmentID, in.Variant
		res.Started = append(res.Started, seq)
		a.countEnrolment(def.ID)
		// Record the enrollment now so the caller reads its own write; the
		// workflow's first activity does the same, idempotently, in case
		// this process dies here.
		if err := a.Store.EnsureEnrollment(ctx, &models.Enrollment{
			ID: in.EnrollmentID, CustomerID: cust.ID, CampaignID: def.ID, Version: lv.Version,
			WorkflowID: seq.WorkflowID, Variant: in.Variant, TriggerEventID: ev.ID, EntryKey: in.EntryKey,
			Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
		}); err != nil {
			a.Logger.WarnContext(ctx, "enrollment row not recorded; the workflow will record it", "workflow_id", seq.WorkflowID, "err", err)
		}
	}
	return nil
}

// sequenceInput builds a new enrolment's workflow input: the version's
// plan, with the variants the campaign's experiment routes to now (the
// gate's verdict).
func (a *App) sequenceInput(def *campaign.Definition, version int, routing []campaign.Weighted, cust *models.Customer, eventID string, now time.Time) workflows.SequenceInput {
	plan := def.Plan()
	plan.Variants = routing
	return workflows.NewSequenceInput(plan, version, uuid.NewString(), cust.ID, cust.Timezone, eventID, now, a.Settings.Day)
}

// signal tells the customer's running sequences about the event, so exit
// goals are checked at once.
func (a *App) signal(ctx context.Context, ev *models.Event, cust *models.Customer, res *EventResult) error {
	name, ok := signalFor[ev.Type]
	if !ok {
		return nil
	}
	sig := exitSignal(ev)
	if ev.Type == campaign.EventUnsubscribe {
		if err := a.Store.Suppress(ctx, cust.Email, sig.CampaignID, domain.ReasonUnsubscribe); err != nil {
			return err
		}
	}
	skip := map[string]bool{}
	for _, s := range res.Started {
		skip[s.CampaignID] = true
	}
	// A sequence that began after the event (a backfilled order, a late
	// delivery from a queue) is not exited by it: the customer entered
	// knowing about it.
	signalled, err := a.signalRunning(ctx, cust.ID, name, sig, skip, ev.OccurredAt)
	res.Signalled = append(res.Signalled, signalled...)
	return err
}

// exitSignal is what an exit event tells a running sequence.
func exitSignal(ev *models.Event) workflows.ExitSignal {
	sig := workflows.ExitSignal{EventID: ev.ID}
	sig.OrderID, _ = ev.Properties["order_id"].(string)
	sig.Tier, _ = ev.Properties["tier"].(string)
	if ev.Type == campaign.EventUnsubscribe {
		sig.CampaignID, _ = ev.Properties["campaign_id"].(string)
	}
	return sig
}

// signalRunning sends an exit signal to the customer's running sequences
// (all of them when sig.CampaignID is empty, else that campaign's), but
// those of the campaigns in skip and, unless happened is zero, those that
// began after it. The enrolment rows name them: one RPC per running
// sequence, whatever the number of campaigns. A sequence started a
// moment ago whose row was not yet there is not missed: its first
// activity looks for exit events since it began (ExitsSince).
func (a *App) signalRunning(ctx context.Context, customerID, name string, sig workflows.ExitSignal, skip map[string]bool, happened time.Time) ([]SignalledSeq, error) {
	running, err := a.Store.RunningEnrollments(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var out []SignalledSeq
	for _, e := range running {
		if skip[e.CampaignID] || (sig.CampaignID != "" && sig.CampaignID != e.CampaignID) ||
			(!happened.IsZero() && e.EnrolledAt.After(happened)) {
			continue
		}
		err := a.Sequences.Signal(ctx, e.WorkflowID, name, sig)
		if errs.Is(err, errs.NotFound) {
			continue // ended a moment ago; its row is being finished
		}
		if err != nil {
			return out, err
		}
		out = append(out, SignalledSeq{CampaignID: e.CampaignID, WorkflowID: e.WorkflowID, Signal: name})
	}
	return out, nil
}

// ExitsSince returns the exit signals of the customer's events that
// happened at or after since (a new sequence's start), but its trigger:
// what a sequence whose enrolment row was not yet written when they were
// ingested missed.
func (a *App) ExitsSince(ctx context.Context, customerID string, since time.Time, triggerEventID string) ([]workflows.PendingExit, error) {
	types := slices.Sorted(maps.Keys(signalFor))
	evs, err := a.Store.EventsSince(ctx, customerID, types, since, triggerEventID)
	if err != nil {
		return nil, err
	}
	out := make([]workflows.PendingExit, 0, len(evs))
	for i := range evs {
		out = append(out, workflows.PendingExit{Signal: signalFor[evs[i].Type], Exit: exitSignal(&evs[i])})
	}
	return out, nil
}

// viewFacts adds, for a page view, "views" (views of the product within the
// trigger's window, this one included) and "owned" (the customer has
// bought it), for browse-abandonment triggers like
// {"views_gte": 3, "owned": false}.
func (a *App) viewFacts(ctx context.Context, ev *models.Event, customerID string, tr campaign.Trigger, facts campaign.Facts, now time.Time) (campaign.Facts, error) {
	sku, _ := ev.Properties["sku"].(string)
	views, err := a.Store.CountEvents(ctx, customerID, campaign.EventPageView, sku, now.Add(-tr.ViewsWindow().Scaled(a.Settings.Day)))
	if err != nil {
		return nil, err
	}
	owned, err := a.Store.OwnedSKUs(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(facts)
	out["views"], out["owned"] = float64(views), owned[sku] // computed: never the caller's
	return out, nil
}

// computedFacts are the facts Lift works out itself. An event property of
// the same name never stands in for one: a caller cannot claim a view
// count, ownership, a category or a usage ratio.
var computedFacts = []string{"sku", "category", "ratio", "views", "owned"}

// facts are what trigger filters match: the properties, the customer's
// attributes (customer.tier, customer.country, customer.locale,
// customer.timezone), the SKUs and categories the event is about (a
// delivery's come from its order) and a usage event's ratio. The computed
// ones are Lift's own, whatever the properties say.
func (a *App) facts(ctx context.Context, ev *models.Event, cust *models.Customer, live []LiveVersion) (campaign.Facts, error) {
	f := campaign.Facts{}
	for k, v := range ev.Properties {
		if !slices.Contains(computedFacts, k) && !strings.HasPrefix(k, "customer.") {
			f[k] = v
		}
	}
	for k, v := range customerFacts(cust) { // filters like {"customer.tier": "starter"}
		f[k] = v
	}
	if err := a.addOrderFacts(ctx, live, cust.ID, f); err != nil {
		return nil, err
	}
	skus, err := a.Store.EventSKUs(ctx, ev)
	if err != nil {
		return nil, err
	}
	if len(skus) > 0 {
		products, err := a.Store.GetProducts(ctx, skus)
		if err != nil {
			return nil, err
		}
		var cats []string
		for _, sku := range skus {
			if p, ok := products[sku]; ok && p.Category != "" {
				cats = append(cats, p.Category)
			}
		}
		f["sku"], f["category"] = skus, cats
	}
	if used, ok := ev.Properties["used"].(float64); ok {
		if limit, ok := ev.Properties["limit"].(float64); ok && limit > 0 {
			f["ratio"] = used / limit
		}
	}
	return f, nil
}

// addOrderFacts adds the customer's order history (count, lifetime
// revenue, days since the first order) to f when a live campaign on the
// trigger names one: one query, and none for the events no such filter
// looks at. A purchase's own order is recorded first, so it counts.
func (a *App) addOrderFacts(ctx context.Context, live []LiveVersion, customerID string, f campaign.Facts) error {
	if !slices.ContainsFunc(live, func(lv LiveVersion) bool {
		return campaign.Names(lv.Definition.Trigger.Where, campaign.OrderFacts)
	}) {
		return nil
	}
	h, err := a.Store.CustomerOrderHistory(ctx, customerID)
	if err != nil {
		return err
	}
	revenue := 0.0
	for cur, minor := range h.ByCurrency {
		revenue += money.Major(float64(minor), cur)
	}
	f[campaign.FactOrders], f[campaign.FactRevenue] = float64(h.Orders), revenue
	if h.First != nil {
		f[campaign.FactDaysSinceFirstOrder] = math.Floor(a.now().Sub(*h.First).Hours() / 24)
	}
	return nil
}

// validateEvent checks an event and, for a purchase, builds its order.
func validateEvent(req *Event, now time.Time) (*models.Order, error) {
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	if req.Type == "" {
		return nil, bad("type", "is required (one of %s)", strings.Join(campaign.EventTypes, ", "))
	}
	if !campaign.IsEventType(req.Type) {
		return nil, bad("type", "unknown event type %q (one of %s)", req.Type, strings.Join(campaign.EventTypes, ", "))
	}
	if err := validID("customer_id", req.CustomerID); err != nil {
		return nil, bad("customer_id", "is required")
	}
	if req.ID != "" {
		if err := validID("id", req.ID); err != nil {
			return nil, err
		}
	}
	req.occurredAt = now
	if req.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, req.OccurredAt)
		if err != nil {
			return nil, bad("occurred_at", "must be an RFC 3339 time like 2026-05-04T10:00:00Z")
		}
		if t.After(now.Add(time.Hour)) {
			return nil, bad("occurred_at", "is in the future")
		}
		req.occurredAt = t.UTC()
	}
	if req.Properties == nil {
		req.Properties = map[string]any{}
	}
	p := req.Properties
	str := func(key string, required bool) (string, error) {
		v, ok := p[key]
		if !ok {
			if required {
				return "", bad("properties."+key, "is required for a %s event", req.Type)
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok || (required && strings.TrimSpace(s) == "") {
			return "", bad("properties."+key, "must be a non-empty string")
		}
		return s, nil
	}
	// id reads a property that names something (an order, a product, a
	// campaign): it follows the rules of every ID.
	id := func(key string, required bool) (string, error) {
		v, err := str(key, required)
		if err == nil && v != "" {
			err = validID("properties."+key, v)
		}
		return v, err
	}
	num := func(key string, min float64, strict bool) (float64, bool, error) {
		v, ok := p[key]
		if !ok {
			return 0, false, nil
		}
		n, ok := v.(float64)
		if !ok || n < min || (strict && n == min) {
			cmp := "at least"
			if strict {
				cmp = "greater than"
			}
			return 0, false, bad("properties."+key, "must be a number %s %g", cmp, min)
		}
		return n, true, nil
	}
	switch req.Type {
	case campaign.EventPurchase:
		return purchaseOrder(req, str, num)
	case campaign.EventDelivered:
		_, err := id("order_id", true)
		return nil, err
	case campaign.EventUsage:
		if _, err := str("metric", true); err != nil {
			return nil, err
		}
		if _, ok, err := num("used", 0, false); err != nil || !ok {
			return nil, firstErr(err, bad("properties.used", "is required for a usage event"))
		}
		if _, ok, err := num("limit", 0, true); err != nil || !ok {
			return nil, firstErr(err, bad("properties.limit", "is required for a usage event"))
		}
	case campaign.EventMilestone:
		_, err := str("name", true)
		return nil, err
	case campaign.EventPageView:
		_, err := id("sku", true)
		return nil, err
	case campaign.EventUnsubscribe:
		c, err := str("campaign_id", false)
		if err == nil && c != "" && !campaign.IsID(c) {
			err = bad("properties.campaign_id", "must be a campaign ID: lower-case letters, digits, - or _, at most 64")
		}
		return nil, err
	case campaign.EventTrialEnding, campaign.EventRenewalDue:
		at, err := str("ends_at", true)
		if err != nil {
			return nil, err
		}
		end, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, bad("properties.ends_at", "must be an RFC 3339 time like 2026-06-01T00:00:00Z")
		}
		// A sequence counts back from it and waits for it: a date
		// centuries away would hold a timer, and block re-entry, as long.
		if end.After(now.Add(maxAnchorAhead)) {
			return nil, bad("properties.ends_at", "must be within %d days from now", int(maxAnchorAhead.Hours()/24))
		}
		return nil, nil
	case campaign.EventUpgrade, campaign.EventDowngrade:
		tier, err := str("tier", false)
		if err == nil {
			err = checkText("properties.tier", tier, 64)
		}
		return nil, err
	}
	return nil, nil
}

// maxAnchorAhead is how far ahead a trial's or renewal's end may be.
const maxAnchorAhead = 2 * 366 * 24 * time.Hour

// maxQuantity is the most of one product an order line may hold.
const maxQuantity = 1_000_000

func purchaseOrder(req *Event, str func(string, bool) (string, error),
	num func(string, float64, bool) (float64, bool, error)) (*models.Order, error) {
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	orderID, err := str("order_id", true)
	if err == nil {
		err = validID("properties.order_id", orderID)
	}
	if err != nil {
		return nil, err
	}
	currency, err := str("currency", false)
	if err != nil {
		return nil, err
	}
	if currency == "" {
		currency = "USD"
	}
	if err := checkCurrency("properties.currency", currency); err != nil {
		return nil, err
	}
	items, ok := req.Properties["items"].([]any)
	if !ok || len(items) == 0 {
		return nil, bad("properties.items", "must list at least one item")
	}
	if len(items) > domain.MaxOrderLines {
		return nil, bad("properties.items", "at most %d items", domain.MaxOrderLines)
	}
	order := &models.Order{ID: orderID, CustomerID: req.CustomerID, Currency: currency, OccurredAt: req.occurredAt}
	var sum int64
	for i, it := range items {
		field := fmt.Sprintf("properties.items[%d]", i)
		m, ok := it.(map[string]any)
		if !ok {
			return nil, bad(field, "must be an object with sku, quantity and price")
		}
		sku, _ := m["sku"].(string)
		if validID("", sku) != nil {
			return nil, bad(field+".sku", "is required")
		}
		qty, ok := m["quantity"].(float64)
		if !ok || qty < 1 || qty > maxQuantity || qty != math.Trunc(qty) {
			return nil, bad(field+".quantity", "must be a whole number from 1 to %d", maxQuantity)
		}
		price, _ := m["price"].(float64)
		if _, isNum := m["price"].(float64); m["price"] != nil && !isNum || price < 0 {
			return nil, bad(field+".price", "must be a non-negative amount")
		}
		minor, err := floatToMinor(field+".price", price, currency)
		if err != nil {
			return nil, err
		}
		// Checked before multiplying: a line over the maximum would
		// overflow int64, not merely be large.
		if limit := money.MaxMinor(currency); minor > 0 && int64(qty) > (limit-sum)/minor {
			return nil, bad(field, "the order totals more than %g %s", money.Max, currency)
		}
		sum += minor * int64(qty)
		if j := slices.IndexFunc(order.Items, func(it models.OrderItem) bool { return it.SKU == sku }); j >= 0 {
			if order.Items[j].Quantity+int(qty) > maxQuantity {
				return nil, bad(field+".quantity", "at most %d of one product in an order", maxQuantity)
			}
			order.Items[j].Quantity += int(qty) // one line per SKU
			continue
		}
		order.Items = append(order.Items, models.OrderItem{SKU: sku, Quantity: int(qty), PriceMinor: minor})
	}
	order.RevenueMinor = sum
	if rev, ok, err := num("revenue", 0, false); err != nil {
		return nil, err
	} else if ok {
		minor, err := floatToMinor("properties.revenue", rev, currency)
		if err != nil {
			return nil, err
		}
		order.RevenueMinor = minor
	}
	return order, nil
}

// normalize turns json.Number values into float64 so properties store and
// match as plain JSON numbers. A number no float64 holds (1e400) is
// refused with its path named.
func normalize(v any, path string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			n, err := normalize(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := normalize(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errs.Field(errs.Invalid, path, "must be a number a float64 holds (about ±1.8e308)")
		}
		return f, nil
	}
	return v, nil
}
