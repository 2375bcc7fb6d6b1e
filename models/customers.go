package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UpsertCustomer creates or replaces a customer's profile.
func (s *Store) UpsertCustomer(ctx context.Context, c *Customer) error {
	return s.SaveCustomer(ctx, c, nil)
}

// SaveCustomer creates or replaces a customer's profile and, when consent
// changed, records the change, in one transaction.
func (s *Store) SaveCustomer(ctx context.Context, c *Customer, changes ...*ConsentRecord) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{
				"email", "name", "timezone", "locale", "consent", "consent_basis", "consent_at", "consent_source",
				"country", "tier", "phone", "sms_consent", "sms_consent_at", "sms_consent_source", "updated_at",
			}),
		}).Create(c).Error
		if err != nil {
			return translate(err, "customer")
		}
		for _, change := range changes {
			if change == nil {
				continue
			}
			change.CustomerID = c.ID
			if change.Channel == "" {
				change.Channel = "email"
			}
			if err := tx.Create(change).Error; err != nil {
				return translate(err, "consent record")
			}
		}
		return nil
	})
}

// ConsentHistory returns a customer's consent records, oldest first.
func (s *Store) ConsentHistory(ctx context.Context, customerID string) ([]ConsentRecord, error) {
	var rs []ConsentRecord
	err := s.db.WithContext(ctx).Where("customer_id = ?", customerID).Order("at, id").Find(&rs).Error
	return rs, translate(err, "consent records")
}

// HasOrders reports whether the customer has bought anything: soft opt-in
// only covers existing customers.
func (s *Store) HasOrders(ctx context.Context, customerID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Order{}).Where("customer_id = ?", customerID).Limit(1).Count(&n).Error
	return n > 0, translate(err, "orders")
}

// PauseUpsells keeps upsells from starting for the customer until the
// later of until and any pause already in place.
func (s *Store) PauseUpsells(ctx context.Context, customerID string, until time.Time) error {
	err := s.db.WithContext(ctx).Model(&Customer{}).
		Where("id = ? AND (upsells_paused_until IS NULL OR upsells_paused_until < ?)", customerID, until).
		Update("upsells_paused_until", until).Error
	return translate(err, "customer "+customerID)
}

// SetTier records the customer's plan tier (from an upgrade or downgrade).
func (s *Store) SetTier(ctx context.Context, customerID, tier string) error {
	err := s.db.WithContext(ctx).Model(&Customer{}).Where("id = ?", customerID).Update("tier", tier).Error
	return translate(err, "customer "+customerID)
}

// GetCustomer returns the customer with the given external ID.
func (s *Store) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	var c Customer
	err := s.db.WithContext(ctx).First(&c, "id = ?", id).Error
	return found(&c, err, "customer "+id)
}

// LatestOrderSKUs returns the products of the customer's latest order.
func (s *Store) LatestOrderSKUs(ctx context.Context, customerID string) ([]string, error) {
	var o Order
	err := s.db.WithContext(ctx).Preload("Items").Where("customer_id = ?", customerID).
		Order("occurred_at DESC, id DESC").Limit(1).Find(&o).Error
	if err != nil {
		return nil, translate(err, "orders")
	}
	var skus []string
	for _, it := range o.Items {
		skus = append(skus, it.SKU)
	}
	return skus, nil
}

// OwnedSKUs returns every SKU the customer has ever ordered.
func (s *Store) OwnedSKUs(ctx context.Context, customerID string) (map[string]bool, error) {
	var skus []string
	err := s.db.WithContext(ctx).Model(&OrderItem{}).
		Joins("JOIN orders ON orders.id = order_items.order_id").
		Where("orders.customer_id = ?", customerID).
		Distinct().Pluck("order_items.sku", &skus).Error
	if err != nil {
		return nil, translate(err, "owned products")
	}
	owned := make(map[string]bool, len(skus))
	for _, sku := range skus {
		owned[sku] = true
	}
	return owned, nil
}

// PurchasedSince returns the SKUs and categories of the customer's orders
// placed at or after since (what was bought since an enrolment).
func (s *Store) PurchasedSince(ctx context.Context, customerID string, since time.Time) (skus, categories []string, err error) {
	var rows []struct {
		SKU      string `gorm:"column:sku"`
		Category string
	}
	err = s.db.WithContext(ctx).Model(&OrderItem{}).Select("order_items.sku AS sku, COALESCE(products.category, '') AS category").
		Joins("JOIN orders ON orders.id = order_items.order_id").
		Joins("LEFT JOIN products ON products.sku = order_items.sku").
		Where("orders.customer_id = ? AND orders.occurred_at >= ?", customerID, since).
		Order("order_items.sku").Scan(&rows).Error
	if err != nil {
		return nil, nil, translate(err, "orders")
	}
	for _, r := range rows {
		skus = append(skus, r.SKU)
		if r.Category != "" {
			categories = append(categories, r.Category)
		}
	}
	return skus, categories, nil
}
