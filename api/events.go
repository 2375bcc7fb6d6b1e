package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// EventRequest is the body of POST /v1/events.
type EventRequest struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	CustomerID string         `json:"customer_id"`
	OccurredAt string         `json:"occurred_at"` // RFC 3339; default now
	Properties map[string]any `json:"properties"`

	occurredAt time.Time
}

// EventResponse says what an event did.
type EventResponse struct {
	EventID         string         `json:"event_id"`
	Started         []StartedSeq   `json:"started"`
	AlreadyEnrolled []StartedSeq   `json:"already_enrolled"`
	Skipped         []SkippedSeq   `json:"skipped"`
	Signalled       []SignalledSeq `json:"signalled"`
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

// postEvent records one event; see ingest.
func (h *handlers) postEvent(c *gin.Context) {
	var req EventRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	resp, err := h.ingest(c.Request.Context(), &req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, resp)
}

// MaxBatch is the most events POST /v1/events:batch takes.
const MaxBatch = 1000

// BatchRequest is the body of POST /v1/events:batch.
type BatchRequest struct {
	Events []json.RawMessage `json:"events"`
}

// BatchItem is one event's outcome in a batch: its HTTP status and either
// the result or the error it would have had on its own.
type BatchItem struct {
	Index  int            `json:"index"`
	Status int            `json:"status"`
	Result *EventResponse `json:"result,omitempty"`
	Error  *ErrorDetail   `json:"error,omitempty"`
}

// postEventBatch records up to MaxBatch events, each on its own: one bad
// event does not stop the others, and the answer says, per item, what
// happened.
func (h *handlers) postEventBatch(c *gin.Context) {
	var req BatchRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if len(req.Events) == 0 || len(req.Events) > MaxBatch {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "events", "must hold 1 to %d events", MaxBatch))
		return
	}
	items := make([]BatchItem, len(req.Events))
	for i, raw := range req.Events {
		items[i].Index = i
		var ev EventRequest
		err := decodeStrict(raw, &ev)
		var resp EventResponse
		if err == nil {
			resp, err = h.ingest(c.Request.Context(), &ev)
		}
		if err != nil {
			e, _ := errs.As(err)
			if e == nil || e.Code == errs.Internal {
				h.Logger.Error("batch event failed", "index", i, "err", err)
				e = errs.E(errs.Internal, "internal error")
			}
			items[i].Status = statusFor(e.Code)
			if items[i].Status >= 500 {
				c.Set(ctxKeyNotReplayable, true) // an Idempotency-Key retry must run this item again
			}
			items[i].Error = &ErrorDetail{Code: string(e.Code), Field: prefixField(i, e.Field), Message: e.Message}
			continue
		}
		items[i].Status, items[i].Result = http.StatusAccepted, &resp
	}
	c.JSON(http.StatusOK, gin.H{"results": items})
}

func prefixField(i int, field string) string {
	if field == "" {
		return fmt.Sprintf("events[%d]", i)
	}
	return fmt.Sprintf("events[%d].%s", i, field)
}

// ingest records an event, starts every published campaign whose trigger
// it matches and signals the customer's running sequences. An event ID sent
// again (a retry) is processed again idempotently: nothing is enrolled
// twice.
func (h *handlers) ingest(ctx context.Context, req *EventRequest) (EventResponse, error) {
	var resp EventResponse
	normalize(req.Properties)
	now := h.Now().UTC()
	order, err := validateEvent(req, now)
	if err != nil {
		return resp, err
	}
	cust, err := h.Store.GetCustomer(ctx, req.CustomerID)
	if errs.Is(err, errs.NotFound) {
		err = errs.Field(errs.NotFound, "customer_id", "customer %q not found: PUT /v1/customers/{id} first", req.CustomerID)
	}
	if err != nil {
		return resp, err
	}
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	ev := &models.Event{ID: req.ID, Type: req.Type, CustomerID: req.CustomerID, OccurredAt: req.occurredAt, Properties: req.Properties}
	if order != nil {
		order.EventID = ev.ID
	}
	if err := h.Store.RecordEvent(ctx, ev, order); errs.Is(err, errs.Conflict) {
		// A retry (same event ID, or the same order without an ID) is
		// processed again from the stored event; anything else conflicts.
		prev, perr := h.storedEvent(ctx, err, ev.ID, order)
		if perr != nil {
			return resp, perr
		}
		if prev == nil || prev.Type != req.Type || prev.CustomerID != req.CustomerID {
			field := "id"
			if errors.Is(err, models.ErrOrderRecorded) {
				field = "properties.order_id"
			}
			return resp, errs.Field(errs.Conflict, field, "%s", errs.Message(err))
		}
		ev = prev
	} else if err != nil {
		return resp, err
	}
	if tier, _ := ev.Properties["tier"].(string); tier != "" && (ev.Type == campaign.EventUpgrade || ev.Type == campaign.EventDowngrade) {
		if err := h.Store.SetTier(ctx, cust.ID, tier); err != nil {
			return resp, err
		}
		cust.Tier = tier
	}
	if ev.Type == campaign.EventSupportTicket || ev.Type == campaign.EventComplaint {
		until := now.Add(h.UpsellPause)
		if err := h.Store.PauseUpsells(ctx, cust.ID, until); err != nil {
			return resp, err
		}
		if cust.UpsellsPausedUntil == nil || cust.UpsellsPausedUntil.Before(until) {
			cust.UpsellsPausedUntil = &until
		}
	}
	resp = EventResponse{EventID: ev.ID, Started: []StartedSeq{}, AlreadyEnrolled: []StartedSeq{}, Skipped: []SkippedSeq{}, Signalled: []SignalledSeq{}}
	if err := h.enroll(ctx, ev, cust, now, &resp); err != nil {
		return resp, err
	}
	if err := h.touchActivity(ctx, cust.ID, now); err != nil {
		return resp, err
	}
	return resp, h.signal(ctx, ev, cust, &resp)
}

// storedEvent finds the stored event a conflicting one repeats: the same
// event ID, or the same customer's order. It returns nil when there is none.
func (h *handlers) storedEvent(ctx context.Context, conflict error, eventID string, order *models.Order) (*models.Event, error) {
	switch {
	case errors.Is(conflict, models.ErrEventRecorded):
	case errors.Is(conflict, models.ErrOrderRecorded) && order != nil:
		prevOrder, err := h.Store.GetOrder(ctx, order.ID)
		if err != nil || prevOrder.CustomerID != order.CustomerID {
			return nil, err
		}
		eventID = prevOrder.EventID
	default:
		return nil, nil
	}
	prev, err := h.Store.GetEvent(ctx, eventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return prev, err
}

// enroll starts a sequence for every live campaign the event triggers.
func (h *handlers) enroll(ctx context.Context, ev *models.Event, cust *models.Customer, now time.Time, resp *EventResponse) error {
	versions, err := h.Store.LiveVersions(ctx, ev.Type)
	if err != nil || len(versions) == 0 {
		return err
	}
	facts, err := h.facts(ctx, ev, cust)
	if err != nil {
		return err
	}
	for _, v := range versions {
		var def campaign.Definition
		if err := json.Unmarshal(v.Definition, &def); err != nil {
			return errs.Wrap(errs.Internal, err, "campaign %s v%d", v.CampaignID, v.Version)
		}
		matchFacts := facts
		if ev.Type == campaign.EventPageView {
			if matchFacts, err = h.viewFacts(ctx, ev, cust.ID, def.Trigger, facts, now); err != nil {
				return err
			}
		}
		if !campaign.Match(def.Trigger.Where, matchFacts) {
			continue
		}
		if p := cust.UpsellsPausedUntil; def.Kind == campaign.Upsell && p != nil && p.After(now) {
			resp.Skipped = append(resp.Skipped, SkippedSeq{CampaignID: def.ID,
				Reason: "upsells are paused after a support ticket or complaint until " + p.UTC().Format(time.RFC3339)})
			continue
		}
		entryKey := def.EntryKey(ev.Properties)
		if why, err := h.reentryBlocked(ctx, &def, cust.ID, entryKey, ev.Properties, now); err != nil {
			return err
		} else if why != "" {
			resp.Skipped = append(resp.Skipped, SkippedSeq{CampaignID: def.ID, Reason: why})
			continue
		}
		plan := def.Plan()
		if def.Experiment != nil {
			state, err := h.Store.CurrentExperiment(ctx, def.ID)
			if err != nil {
				return err
			}
			plan.Variants = experiment.Routing(&def, state)
		}
		in := workflows.NewSequenceInput(plan, v.Version, uuid.NewString(), cust.ID, cust.Timezone, ev.ID, now, h.Day)
		in.EntryKey = entryKey
		if def.Anchor != "" {
			raw, _ := ev.Properties[def.Anchor].(string)
			anchor, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				resp.Skipped = append(resp.Skipped, SkippedSeq{CampaignID: def.ID,
					Reason: fmt.Sprintf("the event has no %s time (RFC 3339) to count the steps back from", def.Anchor)})
				continue
			}
			scaled := workflows.ScaleAnchor(anchor.UTC(), now, h.Day)
			in.Anchor = &scaled
		}
		seq := StartedSeq{CampaignID: def.ID, Version: v.Version, WorkflowID: workflows.SequenceWorkflowID(def.ID, cust.ID)}
		summary := fmt.Sprintf("%s v%d · customer %s · variant %s", def.Name, v.Version, cust.ID, in.Variant)
		started, err := h.Sequences.Start(ctx, in, summary)
		if err != nil {
			return err
		}
		if started {
			seq.EnrollmentID, seq.Variant = in.EnrollmentID, in.Variant
			resp.Started = append(resp.Started, seq)
			// Record the enrollment now so the caller reads its own write; the
			// workflow's first activity does the same, idempotently, in case
			// this process dies here.
			if err := h.Store.EnsureEnrollment(ctx, &models.Enrollment{
				ID: in.EnrollmentID, CustomerID: cust.ID, CampaignID: def.ID, Version: v.Version,
				WorkflowID: seq.WorkflowID, Variant: in.Variant, TriggerEventID: ev.ID, EntryKey: entryKey,
				Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
			}); err != nil {
				h.Logger.Warn("enrollment row not recorded; the workflow will record it", "err", err)
			}
		} else {
			resp.AlreadyEnrolled = append(resp.AlreadyEnrolled, seq)
		}
	}
	return nil
}

// touchActivity restarts the customer's quiet spell for re-engagement
// campaigns, when any is live.
func (h *handlers) touchActivity(ctx context.Context, customerID string, now time.Time) error {
	live, err := h.Store.LiveVersions(ctx, campaign.TriggerInactivity)
	if err != nil || len(live) == 0 {
		return err
	}
	return h.Sequences.TouchActivity(ctx, customerID, now, h.Day)
}

// reentryBlocked applies the campaign's re-entry rule; it returns why the
// customer may not enter, or "".
func (h *handlers) reentryBlocked(ctx context.Context, def *campaign.Definition, customerID, entryKey string, props map[string]any, now time.Time) (string, error) {
	limited, since := def.ReentrySince(now, h.Day)
	if !limited {
		return "", nil
	}
	entered, err := h.Store.EnteredSince(ctx, customerID, def.ID, entryKey, since)
	if err != nil || !entered {
		return "", err
	}
	what := "already entered once"
	if def.Reentry.Rule == campaign.ReentryOncePer {
		what = "already entered in the last " + def.Reentry.Period
	}
	if entryKey != "" {
		what += " for " + def.EntryValues(props) // the caller's own values; only the hash is stored
	}
	return what + " (re-entry rule " + def.Reentry.Rule + ")", nil
}

// signal tells the customer's running sequences about the event, so exit
// goals are checked at once.
func (h *handlers) signal(ctx context.Context, ev *models.Event, cust *models.Customer, resp *EventResponse) error {
	name, ok := signalFor[ev.Type]
	if !ok {
		return nil
	}
	sig := workflows.ExitSignal{EventID: ev.ID}
	sig.OrderID, _ = ev.Properties["order_id"].(string)
	sig.Tier, _ = ev.Properties["tier"].(string)
	if ev.Type == campaign.EventUnsubscribe {
		sig.CampaignID, _ = ev.Properties["campaign_id"].(string)
		if err := h.Store.Suppress(ctx, cust.Email, sig.CampaignID, domain.ReasonUnsubscribe); err != nil {
			return err
		}
	}
	skip := map[string]bool{}
	for _, s := range resp.Started {
		skip[s.CampaignID] = true
	}
	signalled, err := h.signalRunning(ctx, cust.ID, name, sig, skip)
	resp.Signalled = append(resp.Signalled, signalled...)
	return err
}

// signalRunning sends an exit signal to the customer's running sequence of
// every published campaign (all of them when sig.CampaignID is empty, else
// that one), except the campaigns in skip. Every published campaign's
// workflow ID is tried, so a sequence started a moment ago is reached too.
func (h *handlers) signalRunning(ctx context.Context, customerID, name string, sig workflows.ExitSignal, skip map[string]bool) ([]SignalledSeq, error) {
	cs, err := h.Store.ListCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	var out []SignalledSeq
	for _, camp := range cs {
		if camp.Status != domain.CampaignPublished || skip[camp.ID] || (sig.CampaignID != "" && sig.CampaignID != camp.ID) {
			continue
		}
		id := workflows.SequenceWorkflowID(camp.ID, customerID)
		err := h.Sequences.Signal(ctx, id, name, sig)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, SignalledSeq{CampaignID: camp.ID, WorkflowID: id, Signal: name})
	}
	return out, nil
}

// viewFacts adds, for a page view, "views" (views of the product within the
// trigger's window, this one included) and "owned" (the customer has
// bought it), for browse-abandonment triggers like
// {"views_gte": 3, "owned": false}.
func (h *handlers) viewFacts(ctx context.Context, ev *models.Event, customerID string, tr campaign.Trigger, facts campaign.Facts, now time.Time) (campaign.Facts, error) {
	sku, _ := ev.Properties["sku"].(string)
	views, err := h.Store.CountEvents(ctx, customerID, campaign.EventPageView, sku, now.Add(-tr.ViewsWindow().Scaled(h.Day)))
	if err != nil {
		return nil, err
	}
	owned, err := h.Store.OwnedSKUs(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := campaign.Facts{"views": float64(views), "owned": owned[sku]}
	for k, v := range facts {
		out[k] = v
	}
	return out, nil
}

// facts are what trigger filters match: the properties, the customer's
// attributes (customer.tier, customer.country, customer.locale,
// customer.timezone), the SKUs and categories the event is about (a
// delivery's come from its order) and a usage event's ratio.
func (h *handlers) facts(ctx context.Context, ev *models.Event, cust *models.Customer) (campaign.Facts, error) {
	f := campaign.Facts{}
	for k, v := range ev.Properties {
		f[k] = v
	}
	// Customer attributes, for filters like {"customer.tier": "starter"}.
	f["customer.tier"], f["customer.country"] = cust.Tier, cust.Country
	f["customer.locale"], f["customer.timezone"] = cust.Locale, cust.Timezone
	skus, err := h.Store.EventSKUs(ctx, ev)
	if err != nil {
		return nil, err
	}
	if len(skus) > 0 {
		products, err := h.Store.GetProducts(ctx, skus)
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

// validateEvent checks an event and, for a purchase, builds its order.
func validateEvent(req *EventRequest, now time.Time) (*models.Order, error) {
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
		_, err := str("order_id", true)
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
		_, err := str("sku", true)
		return nil, err
	case campaign.EventUnsubscribe:
		_, err := str("campaign_id", false)
		return nil, err
	case campaign.EventTrialEnding, campaign.EventRenewalDue:
		at, err := str("ends_at", true)
		if err != nil {
			return nil, err
		}
		if _, err := time.Parse(time.RFC3339, at); err != nil {
			return nil, bad("properties.ends_at", "must be an RFC 3339 time like 2026-06-01T00:00:00Z")
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

func purchaseOrder(req *EventRequest, str func(string, bool) (string, error),
	num func(string, float64, bool) (float64, bool, error)) (*models.Order, error) {
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	orderID, err := str("order_id", true)
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
	if !currencyRE.MatchString(currency) {
		return nil, bad("properties.currency", "must be an ISO 4217 code like USD")
	}
	items, ok := req.Properties["items"].([]any)
	if !ok || len(items) == 0 {
		return nil, bad("properties.items", "must list at least one item")
	}
	if len(items) > 500 {
		return nil, bad("properties.items", "at most 500 items")
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
		if !ok || qty < 1 || qty != float64(int(qty)) {
			return nil, bad(field+".quantity", "must be a whole number of at least 1")
		}
		price, _ := m["price"].(float64)
		if _, isNum := m["price"].(float64); m["price"] != nil && !isNum || price < 0 {
			return nil, bad(field+".price", "must be a non-negative amount")
		}
		minor, err := toMinor(field+".price", json.Number(fmt.Sprint(price)))
		if err != nil {
			return nil, err
		}
		sum += minor * int64(qty)
		if j := slices.IndexFunc(order.Items, func(it models.OrderItem) bool { return it.SKU == sku }); j >= 0 {
			order.Items[j].Quantity += int(qty) // one line per SKU
			continue
		}
		order.Items = append(order.Items, models.OrderItem{SKU: sku, Quantity: int(qty), PriceMinor: minor})
	}
	order.RevenueMinor = sum
	if rev, ok, err := num("revenue", 0, false); err != nil {
		return nil, err
	} else if ok {
		minor, err := toMinor("properties.revenue", json.Number(fmt.Sprint(rev)))
		if err != nil {
			return nil, err
		}
		order.RevenueMinor = minor
	}
	return order, nil
}

// normalize turns json.Number values into float64 so properties store and
// match as plain JSON numbers.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}
