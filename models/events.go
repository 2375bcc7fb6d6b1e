package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/lift-hq/lift/internal/errs"
)

// Errors RecordEvent wraps in a conflict, to tell which row existed.
var (
	ErrEventRecorded = errors.New("an event with this ID was already recorded")
	ErrOrderRecorded = errors.New("an order with this ID was already recorded")
)

// RecordEvent stores an event and, for a purchase, its order, in one
// transaction: either both are stored or neither is. A repeated event ID
// is a conflict wrapping ErrEventRecorded, a repeated order ID one
// wrapping ErrOrderRecorded.
func (s *Store) RecordEvent(ctx context.Context, e *Event, o *Order) error {
	if sku, ok := e.Properties["sku"].(string); ok {
		e.SKU = sku
	}
	conflict := func(err, which error, what string) error {
		err = translate(err, what)
		if errs.Is(err, errs.Conflict) {
			return errs.Wrap(errs.Conflict, fmt.Errorf("%w: %w", which, err), "%s was already recorded", what)
		}
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(e).Error; err != nil {
			return conflict(err, ErrEventRecorded, "event "+e.ID)
		}
		if o != nil {
			if err := tx.Create(o).Error; err != nil {
				return conflict(err, ErrOrderRecorded, "order "+o.ID)
			}
		}
		return translate(touchActivity(tx, e.CustomerID, e.OccurredAt), "customer activity")
	})
}

// touchActivity moves the customer's last event time forward to at, never
// back (a backfilled event leaves it).
func touchActivity(tx *gorm.DB, customerID string, at time.Time) error {
	return tx.Exec(`INSERT INTO customer_activity (customer_id, last_event_at) VALUES (?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET last_event_at = excluded.last_event_at
		WHERE customer_activity.last_event_at < excluded.last_event_at`, customerID, at.UTC()).Error
}

// EventSKUs returns the products an event is about: a purchase's items, a
// "sku" property, or, for an event that names an order without items (a
// delivery), that order's items.
func (s *Store) EventSKUs(ctx context.Context, e *Event) ([]string, error) {
	var skus []string
	if items, ok := e.Properties["items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				if sku, ok := m["sku"].(string); ok && sku != "" {
					skus = append(skus, sku)
				}
			}
		}
	}
	if sku, ok := e.Properties["sku"].(string); ok && sku != "" {
		skus = append(skus, sku)
	}
	if orderID, ok := e.Properties["order_id"].(string); ok && len(skus) == 0 && orderID != "" {
		o, err := s.GetOrder(ctx, orderID)
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if o.CustomerID == e.CustomerID {
			for _, it := range o.Items {
				skus = append(skus, it.SKU)
			}
		}
	}
	return skus, nil
}

// CountEvents counts the customer's events of a type about a product since
// a time, e.g. page views of one SKU in the last 7 days.
func (s *Store) CountEvents(ctx context.Context, customerID, eventType, sku string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Event{}).
		Where("customer_id = ? AND type = ? AND sku = ? AND occurred_at >= ?", customerID, eventType, sku, since).
		Count(&n).Error
	return n, translate(err, "events")
}

// EventsSince returns the customer's events of the given types that
// happened at or after since, but the one named except, oldest first.
func (s *Store) EventsSince(ctx context.Context, customerID string, types []string, since time.Time, except string) ([]Event, error) {
	var es []Event
	err := s.db.WithContext(ctx).Where("customer_id = ? AND type IN ? AND occurred_at >= ? AND id <> ?", customerID, types, since, except).
		Order("occurred_at").Order("id").Limit(100).Find(&es).Error
	return es, translate(err, "events")
}

// LatestEvent returns the customer's most recent event of a type, or nil
// when there is none.
func (s *Store) LatestEvent(ctx context.Context, customerID, eventType string) (*Event, error) {
	var es []Event
	err := s.db.WithContext(ctx).Where("customer_id = ? AND type = ?", customerID, eventType).
		Order("occurred_at DESC").Order("id DESC").Limit(1).Find(&es).Error
	if err != nil || len(es) == 0 {
		return nil, translate(err, "events")
	}
	return &es[0], nil
}

// GetEvent returns one stored event.
func (s *Store) GetEvent(ctx context.Context, id string) (*Event, error) {
	var e Event
	err := s.db.WithContext(ctx).First(&e, "id = ?", id).Error
	return found(&e, err, "event "+id)
}

// GetOrder returns an order with its items.
func (s *Store) GetOrder(ctx context.Context, id string) (*Order, error) {
	var o Order
	err := s.db.WithContext(ctx).Preload("Items").First(&o, "id = ?", id).Error
	return found(&o, err, "order "+id)
}

// QuietCustomers returns up to limit customers, in ID order after
// afterID, whose latest event happened in (from, to] and who have not
// entered campaignID since: the customers whose quiet spell reached a
// re-engagement campaign's "after" in that span and who are not yet in it.
func (s *Store) QuietCustomers(ctx context.Context, campaignID string, from, to time.Time, afterID string, limit int) ([]Customer, error) {
	var cs []Customer
	err := s.db.WithContext(ctx).
		Joins("JOIN customer_activity ON customer_activity.customer_id = customers.id").
		Where("customer_activity.last_event_at > ? AND customer_activity.last_event_at <= ? AND customers.id > ?", from.UTC(), to.UTC(), afterID).
		Where(`NOT EXISTS (SELECT 1 FROM enrollments WHERE enrollments.customer_id = customers.id
			AND enrollments.campaign_id = ? AND enrollments.enrolled_at >= customer_activity.last_event_at)`, campaignID).
		Order("customers.id").Limit(limit).Find(&cs).Error
	return cs, translate(err, "quiet customers")
}

// LastEventAt returns when the customer's latest event happened (zero
// when it has none).
func (s *Store) LastEventAt(ctx context.Context, customerID string) (time.Time, error) {
	var a CustomerActivity
	err := s.db.WithContext(ctx).Where("customer_id = ?", customerID).Limit(1).Find(&a).Error
	return a.LastEventAt, translate(err, "customer activity")
}

// OrderHistory is what Lift knows of a customer's orders: how many, what
// they came to by currency (minor units), and when the first was placed.
type OrderHistory struct {
	Orders     int64
	ByCurrency map[string]int64
	First      *time.Time
}

// CustomerOrderHistory sums a customer's recorded orders: one aggregate
// query, and one indexed read for the first order's time (SQLite's MIN
// over a datetime column answers a string, so the column is read as is).
func (s *Store) CustomerOrderHistory(ctx context.Context, customerID string) (OrderHistory, error) {
	var rows []struct {
		Currency string
		Orders   int64
		Revenue  float64
	}
	db := s.db.WithContext(ctx)
	// Summed as a double and saturated in Go: a customer's lifetime
	// revenue must not overflow a bigint (an error on PostgreSQL, on
	// SQLite too), however many large orders an import brought.
	err := db.Raw(`SELECT currency, COUNT(*) AS orders, COALESCE(SUM(CAST(revenue_minor AS DOUBLE PRECISION)), 0) AS revenue
	FROM orders WHERE customer_id = ? GROUP BY currency`, customerID).Scan(&rows).Error
	h := OrderHistory{ByCurrency: map[string]int64{}}
	if err != nil {
		return h, translate(err, "orders")
	}
	for _, r := range rows {
		h.Orders += r.Orders
		h.ByCurrency[r.Currency] = SaturatingInt(r.Revenue)
	}
	if h.Orders == 0 {
		return h, nil
	}
	var first []Order
	if err := db.Select("occurred_at").Where("customer_id = ?", customerID).Order("occurred_at").Limit(1).Find(&first).Error; err != nil {
		return h, translate(err, "orders")
	}
	if len(first) == 1 {
		at := first[0].OccurredAt.UTC()
		h.First = &at
	}
	return h, nil
}

// SaturatingInt converts a sum read as a double to an int64, clamped to
// int64's range (a sum past it is a sum of absurd amounts, not an error).
func SaturatingInt(f float64) int64 {
	switch {
	case f != f: // NaN
		return 0
	case f >= 9.2e18:
		return math.MaxInt64
	case f <= -9.2e18:
		return math.MinInt64
	}
	return int64(math.Round(f))
}

// LatestEvents returns a customer's latest n events of a type, newest
// first.
func (s *Store) LatestEvents(ctx context.Context, customerID, eventType string, n int) ([]Event, error) {
	var es []Event
	err := s.db.WithContext(ctx).Where("customer_id = ? AND type = ?", customerID, eventType).
		Order("occurred_at DESC").Order("id DESC").Limit(n).Find(&es).Error
	return es, translate(err, "events")
}
