package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// No event is lost at the door. An event for a customer Lift does not
// know yet (an order tracked before the identify that creates the
// customer, which is what a checkout that creates the account sends) is
// kept, answered 202 with why, and applied in the order received the
// moment the customer is created: PUT /v1/customers, a Segment identify or
// an import. Its order then joins the customer's history and, still inside
// a campaign's enter_within of when it happened, enrols them as it would
// have. An anonymous visitor's Segment calls are kept the same way under
// their anonymousId and follow them when an identify or alias ties it to
// a customer (Segment's identity rules). Nothing is sent on the strength of
// a held event; it is purged after seven days (models.HeldEventTTL).

// Sources of held events.
const (
	heldREST    = "rest"
	heldSegment = "segment"
)

// anonKey is the key an anonymous visitor's events are held under.
func anonKey(anonymousID string) string { return "anon:" + anonymousID }

// hold keeps an event whose customer does not exist yet.
func (a *App) hold(ctx context.Context, in Event) (EventResult, error) {
	if in.ID == "" {
		in.ID = uuid.NewString()
	}
	in.OccurredAt = in.occurredAt.UTC().Format(time.RFC3339Nano) // applied later as it happened
	payload, err := json.Marshal(in)
	if err != nil {
		return EventResult{}, err
	}
	ok, err := a.Store.HoldEvent(ctx, &models.HeldEvent{Key: in.CustomerID, EventID: in.ID, Source: heldREST, Payload: payload, ReceivedAt: a.now()})
	if err != nil {
		return EventResult{}, err
	}
	if !ok {
		return EventResult{}, errs.Field(errs.TooManyRequests, "customer_id",
			"%d events are already held for customer %q, who does not exist yet: create them (PUT /v1/customers/{id})", models.MaxHeldPerKey, in.CustomerID)
	}
	return EventResult{EventID: in.ID, Started: []StartedSeq{}, AlreadyEnrolled: []StartedSeq{}, Skipped: []SkippedSeq{}, Signalled: []SignalledSeq{},
		Held: fmt.Sprintf("no customer %q yet: the event is kept and applied when they are created (PUT /v1/customers/{id}, a Segment identify or an import), for %d days",
			in.CustomerID, int(models.HeldEventTTL.Hours()/24))}, nil
}

// holdSegment keeps a Segment call of an unknown or anonymous visitor.
func (a *App) holdSegment(ctx context.Context, key string, m SegmentMessage) (bool, error) {
	if m.MessageID == "" {
		m.MessageID = uuid.NewString()
	}
	if m.Timestamp == "" && m.OriginalTimestamp == "" {
		m.Timestamp = a.now().Format(time.RFC3339Nano)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	return a.Store.HoldEvent(ctx, &models.HeldEvent{Key: key, EventID: m.MessageID, Source: heldSegment, Payload: payload, ReceivedAt: a.now()})
}

// ApplyHeld applies the events held for a customer who now exists, in the
// order they came, and says how many. An event Lift refuses now (it is
// invalid, or conflicts with what was recorded since) is dropped with a
// warning; a failure of Lift's stops, and the rest wait for the next try.
func (a *App) ApplyHeld(ctx context.Context, customerID string) (int, error) {
	held, err := a.Store.HeldEvents(ctx, customerID)
	if err != nil || len(held) == 0 {
		return 0, err
	}
	applied := 0
	for _, h := range held {
		var err error
		switch h.Source {
		case heldSegment:
			var m SegmentMessage
			if err = json.Unmarshal(h.Payload, &m); err == nil {
				m.UserID = customerID
				var out SegmentOutcome
				out, err = a.Segment(ctx, m, a.Settings.Segment)
				if err == nil && out.Outcome != SegmentRecorded {
					a.Logger.WarnContext(ctx, "held segment call not applied", "customer", customerID, "outcome", out.Outcome, "reason", out.Reason)
				}
			}
		default:
			var ev Event
			if err = json.Unmarshal(h.Payload, &ev); err == nil {
				ev.CustomerID = customerID
				var res EventResult
				res, err = a.Ingest(ctx, ev)
				if err == nil && res.Held != "" {
					return applied, nil // the customer is gone again: keep the rest
				}
			}
		}
		if e, ok := errs.As(err); ok && e.Code != errs.Internal && e.Code != errs.Unavailable {
			a.Logger.WarnContext(ctx, "held event refused when applied", "customer", customerID, "event_id", h.EventID, "reason", e.Message)
			err = nil
		}
		if err != nil {
			return applied, err
		}
		if err := a.Store.ReleaseHeld(ctx, h.ID); err != nil {
			return applied, err
		}
		applied++
	}
	if applied > 0 {
		a.Logger.InfoContext(ctx, "held events applied", "customer", customerID, "events", applied)
	}
	return applied, nil
}

// applyHeldFor applies what is held for any of customers (after an
// import created them).
func (a *App) applyHeldFor(ctx context.Context, customers []string) {
	keys, err := a.Store.HeldKeys(ctx, customers)
	if err != nil {
		a.Logger.WarnContext(ctx, "held events not looked up", "err", err)
		return
	}
	for _, k := range keys {
		if _, err := a.ApplyHeld(ctx, k); err != nil {
			a.Logger.WarnContext(ctx, "held events not applied; the next change to the customer applies them", "customer", k, "err", err)
		}
	}
}
