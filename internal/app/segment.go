package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/telemetry"
	"github.com/lift-hq/lift/models"
)

// Segment-compatible source: Segment's HTTP tracking API as its libraries
// (and RudderStack, or analytics-go pointed at Lift) send it. identify
// upserts the customer, track and page become Lift events. A message Lift
// does not model is accepted and counted, never refused, so the sender
// does not retry it forever.

// SegmentSettings configure the source.
type SegmentSettings struct {
	// ConsentTrait names the identify trait that carries marketing
	// consent (a boolean). Empty: consent is never taken from Segment.
	ConsentTrait string
	// Events maps Segment event names to Lift event types, over the
	// e-commerce spec's own (Order Completed → purchase, Product Viewed →
	// page_view).
	Events map[string]string
	// ProfileChannels are the channels whose identify may change a known
	// customer's email or consent (default "server"; a call without a
	// channel is a server's). ProfileKeys, when set, are the only API key
	// IDs whose calls may.
	ProfileChannels []string
	ProfileKeys     []string
}

// mayChangeProfile says whether a call may change a known customer's
// email and consent: a browser's or an app's call, signed with a write
// key anyone can read in the page, may not.
func (s SegmentSettings) mayChangeProfile(m SegmentMessage) bool {
	channel := strings.ToLower(strings.TrimSpace(m.Channel))
	if channel == "" {
		channel = "server"
	}
	channels := s.ProfileChannels
	if len(channels) == 0 {
		channels = []string{"server"}
	}
	if !slices.ContainsFunc(channels, func(c string) bool { return strings.EqualFold(strings.TrimSpace(c), channel) }) {
		return false
	}
	return len(s.ProfileKeys) == 0 || slices.Contains(s.ProfileKeys, m.KeyID)
}

// SegmentDefaultEvents are the events of Segment's e-commerce spec Lift
// maps without configuration.
var SegmentDefaultEvents = map[string]string{
	"Order Completed": campaign.EventPurchase,
	"Product Viewed":  campaign.EventPageView,
}

// SegmentMessage is one call of Segment's tracking API.
type SegmentMessage struct {
	Type              string         `json:"type"`
	MessageID         string         `json:"messageId"`
	UserID            string         `json:"userId"`
	AnonymousID       string         `json:"anonymousId"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	Category          string         `json:"category"`
	Timestamp         string         `json:"timestamp"`
	OriginalTimestamp string         `json:"originalTimestamp"`
	Properties        map[string]any `json:"properties"`
	Traits            map[string]any `json:"traits"`
	Context           map[string]any `json:"context"`
	// PreviousID is an alias call's earlier ID.
	PreviousID string `json:"previousId"`
	// Channel is where the call came from: "server", "browser",
	// "client" (analytics.js), "mobile".
	Channel string `json:"channel"`
	// KeyID is the API key the call was signed with (set by the API).
	KeyID string `json:"-"`
}

// Segment outcomes: what became of a message (lift_segment_messages_total).
const (
	SegmentRecorded   = "recorded"   // an event recorded, a customer saved
	SegmentHeld       = "held"       // kept until its customer exists (see hold)
	SegmentUnmodelled = "unmodelled" // an event (or page) Lift has no type for
	SegmentAnonymous  = "anonymous"  // neither a userId nor an anonymousId
	SegmentNoEmail    = "no_email"   // identify of a new customer without an email
	SegmentInvalid    = "invalid"    // the mapped event or profile failed validation, or conflicts
)

// SegmentOutcome is what became of a message, and why, in words the
// sender can act on (answered beside the 200, and logged).
type SegmentOutcome struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// Segment applies one message and says what became of it. An error is
// returned only for what the sender must not retry blindly as is: a
// message that is not Segment's shape (400) or a failure of Lift's (5xx).
// What Lift declines is answered 200 (the sender would otherwise retry it
// forever) with the reason, and logged at warn.
func (a *App) Segment(ctx context.Context, m SegmentMessage, s SegmentSettings) (SegmentOutcome, error) {
	out, err := a.segment(ctx, m, s)
	if err == nil {
		typ := m.Type
		switch typ {
		case "track", "identify", "page", "screen", "group", "alias":
		default:
			typ = "other"
		}
		a.Metrics.WithTags(map[string]string{"type": typ, "outcome": out.Outcome}).Counter(telemetry.MetricSegmentMessages).Inc(1)
		switch out.Outcome {
		case SegmentInvalid, SegmentNoEmail, SegmentAnonymous:
			a.Logger.WarnContext(ctx, "segment call declined", "type", m.Type, "message_id", m.MessageID, "outcome", out.Outcome, "reason", out.Reason)
		}
	}
	return out, err
}

func (a *App) segment(ctx context.Context, m SegmentMessage, s SegmentSettings) (SegmentOutcome, error) {
	if m.Type == "" {
		return SegmentOutcome{}, errs.Field(errs.Malformed, "type", "is required (track, identify, page, …)")
	}
	if m.UserID == "" {
		return a.segmentAnonymous(ctx, m)
	}
	if err := validID("userId", m.UserID); err != nil {
		return SegmentOutcome{SegmentInvalid, "userId: " + errs.Message(err)}, nil
	}
	switch m.Type {
	case "identify":
		return a.segmentIdentify(ctx, m, s)
	case "alias":
		return a.segmentAlias(ctx, m)
	case "track":
		typ := s.Events[m.Event]
		if typ == "" {
			typ = SegmentDefaultEvents[m.Event]
		}
		if typ == "" {
			return SegmentOutcome{SegmentUnmodelled, fmt.Sprintf("no Lift event type for %q (LIFT_SEGMENT_EVENTS maps more)", m.Event)}, nil
		}
		return a.segmentEvent(ctx, m, typ)
	case "page", "screen":
		if segmentSKU(m.Properties) == "" {
			return SegmentOutcome{SegmentUnmodelled, "a page that names no product (properties.sku or product_id)"}, nil
		}
		return a.segmentEvent(ctx, m, campaign.EventPageView)
	}
	return SegmentOutcome{SegmentUnmodelled, m.Type + " calls carry nothing Lift models"}, nil
}

// segmentAnonymous keeps an anonymous visitor's track and page calls
// under their anonymousId, to follow them once an identify or alias ties
// it to a customer.
func (a *App) segmentAnonymous(ctx context.Context, m SegmentMessage) (SegmentOutcome, error) {
	if m.AnonymousID == "" || validID("anonymousId", m.AnonymousID) != nil {
		return SegmentOutcome{SegmentAnonymous, "neither a userId nor an anonymousId: Lift knows customers by their ID"}, nil
	}
	switch m.Type {
	case "track", "page", "screen":
	default:
		return SegmentOutcome{SegmentUnmodelled, "an anonymous " + m.Type + " call: only track and page calls are kept for later"}, nil
	}
	ok, err := a.holdSegment(ctx, anonKey(m.AnonymousID), m)
	if err != nil {
		return SegmentOutcome{}, err
	}
	if !ok {
		return SegmentOutcome{SegmentInvalid, fmt.Sprintf("%d calls are already kept for this anonymousId", models.MaxHeldPerKey)}, nil
	}
	return SegmentOutcome{SegmentHeld, "an anonymous visitor's call: kept, and applied when an identify or alias ties the anonymousId to a customer"}, nil
}

// segmentAlias ties a previous ID (an anonymousId, or an older userId)
// to userId: what was kept under it follows the customer.
func (a *App) segmentAlias(ctx context.Context, m SegmentMessage) (SegmentOutcome, error) {
	prev := firstNonEmpty(m.PreviousID, m.AnonymousID)
	if prev == "" || prev == m.UserID {
		return SegmentOutcome{SegmentUnmodelled, "an alias without a previousId"}, nil
	}
	for _, k := range []string{anonKey(prev), prev} {
		if err := a.Store.RekeyHeld(ctx, k, m.UserID); err != nil {
			return SegmentOutcome{}, err
		}
	}
	if _, err := a.Store.GetCustomer(ctx, m.UserID); err == nil {
		if _, err := a.ApplyHeld(ctx, m.UserID); err != nil {
			return SegmentOutcome{}, err
		}
	}
	return SegmentOutcome{Outcome: SegmentRecorded}, nil
}

// segmentEvent records a track or page call as a Lift event: messageId
// is its ID (a retry is the same event), timestamp its time.
func (a *App) segmentEvent(ctx context.Context, m SegmentMessage, typ string) (SegmentOutcome, error) {
	ev := Event{ID: segmentID(m.MessageID), Type: typ, CustomerID: m.UserID, OccurredAt: segmentTime(m), Properties: map[string]any{}}
	for k, v := range m.Properties {
		ev.Properties[k] = v
	}
	switch typ {
	case campaign.EventPurchase:
		// Segment's Order Completed: order_id, products[{product_id, sku,
		// price, quantity}], currency, revenue or total.
		p := m.Properties
		var items []any
		products, _ := p["products"].([]any)
		for _, raw := range products {
			prod, _ := raw.(map[string]any)
			sku := segmentSKU(prod)
			if sku == "" {
				continue
			}
			qty := prod["quantity"]
			if qty == nil {
				qty = 1.0
			}
			items = append(items, map[string]any{"sku": sku, "quantity": qty, "price": prod["price"]})
		}
		delete(ev.Properties, "products")
		ev.Properties["items"] = items
		if rev, ok := p["revenue"]; ok {
			ev.Properties["revenue"] = rev
		} else if total, ok := p["total"]; ok {
			ev.Properties["revenue"] = total
		}
		if cur, ok := p["currency"].(string); ok {
			ev.Properties["currency"] = strings.ToUpper(cur)
		}
	case campaign.EventPageView:
		ev.Properties["sku"] = segmentSKU(m.Properties)
	}
	if _, err := normalize(ev.Properties, "properties"); err != nil {
		return SegmentOutcome{SegmentInvalid, errs.Message(err)}, nil
	}
	res, err := a.Ingest(ctx, ev)
	switch {
	case err == nil && res.Held != "":
		return SegmentOutcome{SegmentHeld, res.Held}, nil
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict), errs.Is(err, errs.Malformed), errs.Is(err, errs.TooManyRequests):
		reason := errs.Message(err)
		if e, ok := errs.As(err); ok && e.Field != "" {
			reason = e.Field + ": " + reason
		}
		return SegmentOutcome{SegmentInvalid, reason}, nil
	case err != nil:
		return SegmentOutcome{}, err
	}
	return SegmentOutcome{Outcome: SegmentRecorded}, nil
}

// segmentIdentify upserts the customer from an identify call: email and
// name from the traits, time zone and locale from the context (or the
// traits). Consent comes only from the configured trait, as a record
// with the source "segment"; otherwise a new customer has none and a
// known one keeps theirs. A call from a source that may not change a
// profile (SegmentSettings.mayChangeProfile) changes neither a known
// customer's email nor anyone's consent.
func (a *App) segmentIdentify(ctx context.Context, m SegmentMessage, s SegmentSettings) (SegmentOutcome, error) {
	traits := map[string]any{}
	if ct, ok := m.Context["traits"].(map[string]any); ok {
		for k, v := range ct {
			traits[k] = v
		}
	}
	for k, v := range m.Traits {
		traits[k] = v
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return strings.TrimSpace(v) }
	prev, err := a.Store.GetCustomer(ctx, m.UserID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return SegmentOutcome{}, err
	}
	// What the visitor did before they had a userId follows them; it is
	// applied when the customer is saved below.
	if m.AnonymousID != "" && validID("", m.AnonymousID) == nil {
		if err := a.Store.RekeyHeld(ctx, anonKey(m.AnonymousID), m.UserID); err != nil {
			return SegmentOutcome{}, err
		}
	}
	in := CustomerInput{Email: str(traits, "email"), Name: str(traits, "name"), Timezone: str(m.Context, "timezone"),
		Locale: str(m.Context, "locale"), Tier: str(traits, "plan")}
	if in.Name == "" {
		in.Name = strings.TrimSpace(str(traits, "firstName") + " " + str(traits, "lastName"))
	}
	if in.Timezone == "" {
		in.Timezone = str(traits, "timezone")
	}
	if addr, ok := traits["address"].(map[string]any); ok {
		if c := strings.ToUpper(str(addr, "country")); countryRE.MatchString(c) {
			in.Country = c
		}
	}
	trusted := s.mayChangeProfile(m)
	if prev != nil && !trusted && in.Email != "" && !strings.EqualFold(in.Email, prev.Email) {
		a.Logger.InfoContext(ctx, "segment identify from an untrusted source: email kept", "channel", m.Channel, "key", m.KeyID)
		in.Email = prev.Email
	}
	if prev != nil { // what the call does not say stays as it is
		in.Email = firstNonEmpty(in.Email, prev.Email)
		in.Name = firstNonEmpty(in.Name, prev.Name)
		in.Timezone = firstNonEmpty(in.Timezone, prev.Timezone)
		in.Locale = firstNonEmpty(in.Locale, prev.Locale)
		in.Country = firstNonEmpty(in.Country, prev.Country)
		in.Tier = firstNonEmpty(in.Tier, prev.Tier)
		consent := prev.Consent
		in.MarketingConsent, in.ConsentBasis = &consent, prev.ConsentBasis
	} else {
		// A new customer has no consent: recorded as said by Segment.
		no := false
		in.MarketingConsent, in.ConsentSource = &no, "segment"
	}
	if in.Email == "" {
		return SegmentOutcome{SegmentNoEmail, "an identify of a customer Lift does not know, without traits.email: Lift keeps customers by their address; their events are kept until an identify with one"}, nil
	}
	if in.Locale != "" {
		in.Locale = strings.ReplaceAll(in.Locale, "_", "-") // en_US from some libraries
	}
	if s.ConsentTrait != "" && trusted {
		if v, ok := traits[s.ConsentTrait].(bool); ok {
			in.MarketingConsent, in.ConsentBasis = &v, ""
			in.ConsentSource = "segment:" + s.ConsentTrait
			if ip := str(m.Context, "ip"); ip != "" {
				in.ConsentIP = ip
			}
			in.ConsentUserAgent = str(m.Context, "userAgent")
		}
	}
	if _, err := a.SaveCustomer(ctx, m.UserID, in); err != nil {
		if e, ok := errs.As(err); ok && e.Code != errs.Internal && e.Code != errs.Unavailable {
			return SegmentOutcome{SegmentInvalid, e.Field + ": " + e.Message}, nil
		}
		return SegmentOutcome{}, err
	}
	return SegmentOutcome{Outcome: SegmentRecorded}, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// segmentSKU is a product's SKU in Segment's spec: sku, else product_id.
func segmentSKU(p map[string]any) string {
	for _, k := range []string{"sku", "product_id"} {
		switch v := p[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		case float64:
			return fmt.Sprint(v)
		}
	}
	return ""
}

// segmentID turns a messageId into Lift's event ID ("" when none: Lift
// makes one).
func segmentID(messageID string) string {
	if messageID == "" || validID("", messageID) != nil {
		return ""
	}
	return messageID
}

// segmentTime is when the message says it happened: timestamp, else
// originalTimestamp, else now.
func segmentTime(m SegmentMessage) string {
	for _, v := range []string{m.Timestamp, m.OriginalTimestamp} {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return ""
}
