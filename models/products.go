package models

import (
	"context"
	"maps"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/errs"
)

// UpsertProduct creates or replaces a catalogue entry.
func (s *Store) UpsertProduct(ctx context.Context, p *Product) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "sku"}},
		DoUpdates: clause.AssignmentColumns([]string{
			"name", "category", "price_minor", "currency", "url", "image_url", "in_stock", "complements", "regions", "seasons",
			"rating", "reviews", "testimonial", "tier_rank", "features", "updated_at",
		}),
	}).Create(p).Error
	return translate(err, "product")
}

// GetProduct returns one product.
func (s *Store) GetProduct(ctx context.Context, sku string) (*Product, error) {
	var p Product
	err := s.db.WithContext(ctx).First(&p, "sku = ?", sku).Error
	return found(&p, err, "product "+sku)
}

// GetProducts returns the products among skus that exist, keyed by SKU.
func (s *Store) GetProducts(ctx context.Context, skus []string) (map[string]Product, error) {
	out := make(map[string]Product, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	var ps []Product
	if err := s.db.WithContext(ctx).Where("sku IN ?", skus).Find(&ps).Error; err != nil {
		return nil, translate(err, "products")
	}
	for _, p := range ps {
		out[p.SKU] = p
	}
	return out, nil
}

// SetComplements replaces the complement rules of many products in one
// transaction; every product must exist.
func (s *Store) SetComplements(ctx context.Context, rules map[string][]string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, sku := range slices.Sorted(maps.Keys(rules)) {
			// Select + struct so the JSON serializer applies (and an empty
			// list is written, not skipped).
			res := tx.Model(&Product{}).Where("sku = ?", sku).Select("complements").Updates(&Product{Complements: rules[sku]})
			if res.Error != nil {
				return translate(res.Error, "product "+sku)
			}
			if res.RowsAffected == 0 {
				return errs.E(errs.NotFound, "product %q not found", sku)
			}
		}
		return nil
	})
}
