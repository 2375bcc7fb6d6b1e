package models

import (
	"context"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/money"
)

// DataMigration records a one-off rewrite of stored data, so that it runs
// once per database.
type DataMigration struct {
	Name      string `gorm:"primaryKey;size:100"`
	AppliedAt time.Time
}

// dataMigrations run in order, each once, in one transaction with its
// record; a second `lift migrate` running at the same time waits on the
// record and skips it.
var dataMigrations = []struct {
	name string
	run  func(tx *gorm.DB) error
}{
	{"2026-11-money-exponents", rescaleMoney},
	{"2026-11-api-key-scopes", scopeOldKeys},
}

func (s *Store) migrateData(ctx context.Context) error {
	for _, m := range dataMigrations {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&DataMigration{Name: m.name, AppliedAt: time.Now().UTC()})
			if res.Error != nil || res.RowsAffected == 0 { // applied before
				return res.Error
			}
			return m.run(tx)
		})
		if err != nil {
			return fmt.Errorf("data migration %s: %w", m.name, err)
		}
	}
	return nil
}

// rescaleMoney rewrites amounts stored before minor units followed the
// currency's ISO 4217 exponent, when every currency was kept in
// hundredths (with at most two decimals): 1,500 JPY was 150000 and is
// 1500; 12.34 KWD was 1234 and is 12340.
func rescaleMoney(tx *gorm.DB) error {
	var currencies []string
	if err := tx.Raw(`SELECT currency FROM products UNION SELECT currency FROM orders
		UNION SELECT currency FROM conversions`).Scan(&currencies).Error; err != nil {
		return err
	}
	for _, cur := range currencies {
		e := money.Exponent(cur)
		if e == 2 {
			continue
		}
		scaled := func(col string) string {
			if e < 2 {
				return fmt.Sprintf("CAST(ROUND(%s / %d.0) AS BIGINT)", col, int(math.Pow10(2-e)))
			}
			return fmt.Sprintf("%s * %d", col, int(math.Pow10(e-2)))
		}
		for _, stmt := range []string{
			"UPDATE products SET price_minor = " + scaled("price_minor") + " WHERE currency = ?",
			"UPDATE orders SET revenue_minor = " + scaled("revenue_minor") + " WHERE currency = ?",
			"UPDATE order_items SET price_minor = " + scaled("price_minor") + " WHERE order_id IN (SELECT id FROM orders WHERE currency = ?)",
			"UPDATE conversions SET revenue_minor = " + scaled("revenue_minor") + " WHERE currency = ?",
			"UPDATE enrollments SET revenue_minor = " + scaled("revenue_minor") + " WHERE converted_order IN (SELECT id FROM orders WHERE currency = ?)",
		} {
			if err := tx.Exec(stmt, cur).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// scopeOldKeys gives the keys stored before keys had scopes and public IDs
// both: they could do everything, so they are admin keys.
func scopeOldKeys(tx *gorm.DB) error {
	var ks []APIKey
	if err := tx.Where("key_id IS NULL OR key_id = ''").Find(&ks).Error; err != nil {
		return err
	}
	for _, k := range ks {
		err := tx.Model(&APIKey{}).Where("id = ?", k.ID).Select("key_id", "scopes").
			Updates(&APIKey{KeyID: NewKeyID(), Scopes: []domain.KeyScope{domain.KeyScopeAdmin}}).Error
		if err != nil {
			return err
		}
	}
	return nil
}
