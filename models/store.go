package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite" // pure-Go SQLite, also Temporal's; registers "sqlite"

	"github.com/lift-hq/lift/internal/errs"
)

// Store is Lift's persistence. Every method takes a context and returns
// errors coded with internal/errs (not found, conflict, invalid, internal).
type Store struct {
	db       *gorm.DB
	postgres bool
}

// Open connects to dsn: a postgres:// URL, or else a SQLite file path.
func Open(dsn string) (*Store, error) {
	if IsPostgres(dsn) {
		db, err := gorm.Open(postgres.Open(dsn), gormConfig())
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return &Store{db: db, postgres: true}, nil
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// WAL lets readers run beside the writer; busy_timeout waits out a lock
	// instead of failing; one connection serialises writers so SQLite never
	// answers "database is locked" to a transaction upgrade.
	full := dsn + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: full}), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	return &Store{db: db}, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=")
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:         logger.Default.LogMode(logger.Silent),
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// CheckSchema reports whether the schema is in place, so the API and the
// worker can refuse to start against a database `lift migrate` has not set up.
func (s *Store) CheckSchema(ctx context.Context) error {
	m := s.db.WithContext(ctx).Migrator()
	for _, model := range all() {
		if !m.HasTable(model) {
			return errs.E(errs.Unavailable, "the database has no %T table: run `lift migrate` first", model)
		}
	}
	return nil
}

// Migrate creates or updates the schema. It is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if err := db.AutoMigrate(all()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// One running enrollment per customer and campaign, enforced by the
	// database as well as by the workflow ID.
	if err := db.Exec(`CREATE UNIQUE INDEX IF NOT EXISTS idx_one_running_enrollment
		ON enrollments (customer_id, campaign_id) WHERE status = 'running'`).Error; err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "database unreachable")
	}
	return nil
}

// DB exposes the connection for tests and benchmarks in this module.
func (s *Store) DB() *gorm.DB { return s.db }

// translate maps GORM errors onto the error vocabulary.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.Wrap(errs.NotFound, err, "%s not found", what)
	case errors.Is(err, gorm.ErrDuplicatedKey), isSQLiteUnique(err):
		return errs.Wrap(errs.Conflict, err, "%s already exists", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Unavailable, err, "%s: %v", what, err)
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(errs.Internal, err, "%s", what)
}

// isSQLiteUnique recognises modernc's unique and primary-key violations,
// which GORM's SQLite dialector does not translate.
func isSQLiteUnique(err error) bool {
	var se *moderncsqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == 2067 || code == 1555 // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
}

// --- customers and products ---

// UpsertCustomer creates or replaces a customer's profile.
func (s *Store) UpsertCustomer(ctx context.Context, c *Customer) error {
	return s.SaveCustomer(ctx, c, nil)
}

// SaveCustomer creates or replaces a customer's profile and, when consent
// changed, records the change, in one transaction.
func (s *Store) SaveCustomer(ctx context.Context, c *Customer, change *ConsentRecord) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{
				"email", "name", "timezone", "locale", "consent", "consent_basis", "consent_at", "consent_source",
				"country", "tier", "updated_at",
			}),
		}).Create(c).Error
		if err != nil {
			return translate(err, "customer")
		}
		if change != nil {
			change.CustomerID = c.ID
			return translate(tx.Create(change).Error, "consent record")
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
	return &c, translate(err, "customer "+id)
}

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
	return &p, translate(err, "product "+sku)
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
				return errs.Field(errs.NotFound, "rules", "product %q not found", sku)
			}
		}
		return nil
	})
}

// --- recommendations ---

// Ladder returns the ranked products (plans) of a category, lowest rank
// first.
func (s *Store) Ladder(ctx context.Context, category string) ([]Product, error) {
	var ps []Product
	err := s.db.WithContext(ctx).Where("category = ? AND tier_rank > 0", category).Order("tier_rank, sku").Find(&ps).Error
	return ps, translate(err, "products")
}

// CountOrders counts the orders on record: bought_together needs enough
// history to say anything.
func (s *Store) CountOrders(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Order{}).Count(&n).Error
	return n, translate(err, "orders")
}

// RebuildRecommendations rebuilds everything the history-based strategies
// read: bought_together's affinities, then similar_customers'
// similarities. It returns each table's pair count.
func (s *Store) RebuildRecommendations(ctx context.Context, minSupport int) (affinities, similarities int64, err error) {
	if affinities, err = s.RebuildAffinities(ctx, minSupport); err != nil {
		return 0, 0, err
	}
	similarities, err = s.RebuildSimilarities(ctx, minSupport)
	return affinities, similarities, err
}

// CountBuyers counts the customers with at least one order:
// similar_customers needs enough of them to say anything.
func (s *Store) CountBuyers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Order{}).Distinct("customer_id").Count(&n).Error
	return n, translate(err, "orders")
}

// RebuildSimilarities recomputes item-to-item similarity over customers'
// purchase vectors, in SQL: for each pair of products bought by at least
// minSupport of the same customers, the cosine of the two products'
// buyer sets. The table is swapped in one transaction; it returns the
// number of pairs kept.
func (s *Store) RebuildSimilarities(ctx context.Context, minSupport int) (int64, error) {
	// owned: one row per customer and product however often bought.
	return s.rebuildPairs(ctx, "item_similarities", `
WITH owned AS (
  SELECT DISTINCT o.customer_id, i.sku FROM order_items i JOIN orders o ON o.id = i.order_id),
item AS (SELECT sku, COUNT(*) AS customers FROM owned GROUP BY sku),
pair AS (
  SELECT a.sku AS x, b.sku AS y, COUNT(*) AS customers
  FROM owned a JOIN owned b ON a.customer_id = b.customer_id AND a.sku < b.sku
  GROUP BY a.sku, b.sku HAVING COUNT(*) >= ?),
directed AS (
  SELECT x AS sku_a, y AS sku_b, customers FROM pair
  UNION ALL
  SELECT y AS sku_a, x AS sku_b, customers FROM pair)
INSERT INTO item_similarities (sku_a, sku_b, customers, score)
SELECT p.sku_a, p.sku_b, p.customers, p.customers / SQRT(1.0 * ia.customers * ib.customers)
FROM directed p JOIN item ia ON ia.sku = p.sku_a JOIN item ib ON ib.sku = p.sku_b`, minSupport)
}

// Similar returns, for products whose buyers resemble the buyers of any
// of skus, the most similar first.
func (s *Store) Similar(ctx context.Context, skus []string, limit int) ([]ItemSimilarity, error) {
	var out []ItemSimilarity
	if len(skus) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("score DESC, customers DESC, sku_b").Limit(limit).Find(&out).Error
	return out, translate(err, "item similarities")
}

// RebuildAffinities recomputes every pair's co-purchase support,
// confidence and lift from order history, in SQL, keeping pairs bought
// together in at least minSupport orders, and swaps the table in one
// transaction. It returns the number of pairs kept.
func (s *Store) RebuildAffinities(ctx context.Context, minSupport int) (int64, error) {
	// A SKU appears once per order (idx_order_item), so lines count
	// orders without a DISTINCT pass; each unordered pair is counted once
	// (a.sku < b.sku) and written both ways.
	return s.rebuildPairs(ctx, "affinities", `
WITH total AS (SELECT COUNT(*) AS orders FROM (SELECT order_id FROM order_items GROUP BY order_id) o),
item AS (SELECT sku, COUNT(*) AS orders FROM order_items GROUP BY sku),
pair AS (
  SELECT a.sku AS x, b.sku AS y, COUNT(*) AS orders
  FROM order_items a JOIN order_items b ON a.order_id = b.order_id AND a.sku < b.sku
  GROUP BY a.sku, b.sku HAVING COUNT(*) >= ?),
directed AS (
  SELECT x AS sku_a, y AS sku_b, orders FROM pair
  UNION ALL
  SELECT y AS sku_a, x AS sku_b, orders FROM pair)
INSERT INTO affinities (sku_a, sku_b, orders, confidence, lift)
SELECT p.sku_a, p.sku_b, p.orders,
       1.0 * p.orders / ia.orders,
       (1.0 * p.orders / ia.orders) / (1.0 * ib.orders / t.orders)
FROM directed p JOIN item ia ON ia.sku = p.sku_a JOIN item ib ON ib.sku = p.sku_b CROSS JOIN total t`, minSupport)
}

// rebuildPairs empties a pair table and fills it with one INSERT …
// SELECT, in one transaction, so readers see the old pairs or the new,
// never none. It returns the number of rows inserted.
func (s *Store) rebuildPairs(ctx context.Context, table, insert string, args ...any) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			// The pair aggregation is a large hash: let it stay in memory.
			// JIT compilation costs more than it saves on this one statement.
			for _, set := range []string{"SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off"} {
				if err := tx.Exec(set).Error; err != nil {
					return translate(err, table)
				}
			}
		}
		if err := tx.Exec("DELETE FROM " + table).Error; err != nil {
			return translate(err, table)
		}
		res := tx.Exec(insert, args...)
		n = res.RowsAffected
		return translate(res.Error, table)
	})
	return n, err
}

// Affinities returns, for products bought with any of skus, the best
// pairs first (by lift, then support).
func (s *Store) Affinities(ctx context.Context, skus []string, limit int) ([]Affinity, error) {
	var as []Affinity
	if len(skus) == 0 {
		return as, nil
	}
	err := s.db.WithContext(ctx).Where("sku_a IN ?", skus).Order("lift DESC, orders DESC, sku_b").Limit(limit).Find(&as).Error
	return as, translate(err, "affinities")
}

// PopularInCategory returns the best-selling SKUs since a time, in the
// given categories (all categories when none is given), most orders first.
func (s *Store) PopularInCategory(ctx context.Context, categories []string, since time.Time, limit int) ([]string, error) {
	q := s.db.WithContext(ctx).Table("order_items").
		Select("order_items.sku").
		Joins("JOIN orders ON orders.id = order_items.order_id").
		Joins("JOIN products ON products.sku = order_items.sku").
		Where("orders.occurred_at >= ?", since)
	if len(categories) > 0 {
		q = q.Where("products.category IN ?", categories)
	}
	var skus []string
	err := q.Group("order_items.sku").Order("COUNT(DISTINCT order_items.order_id) DESC, order_items.sku").Limit(limit).Pluck("order_items.sku", &skus).Error
	return skus, translate(err, "popular products")
}

// --- events and orders ---

// RecordEvent stores an event and, for a purchase, its order, in one
// transaction: either both are stored or neither is. A repeated event ID is
// a conflict on field "id", a repeated order ID one on
// "properties.order_id".
func (s *Store) RecordEvent(ctx context.Context, e *Event, o *Order) error {
	if sku, ok := e.Properties["sku"].(string); ok {
		e.SKU = sku
	}
	conflict := func(err error, field, what string) error {
		err = translate(err, what)
		if errs.Is(err, errs.Conflict) {
			return &errs.Error{Code: errs.Conflict, Field: field, Message: what + " was already recorded", Err: err}
		}
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(e).Error; err != nil {
			return conflict(err, "id", "event "+e.ID)
		}
		if o != nil {
			if err := tx.Create(o).Error; err != nil {
				return conflict(err, "properties.order_id", "order "+o.ID)
			}
		}
		return nil
	})
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

// GetEvent returns one stored event.
func (s *Store) GetEvent(ctx context.Context, id string) (*Event, error) {
	var e Event
	err := s.db.WithContext(ctx).First(&e, "id = ?", id).Error
	return &e, translate(err, "event "+id)
}

// GetOrder returns an order with its items.
func (s *Store) GetOrder(ctx context.Context, id string) (*Order, error) {
	var o Order
	err := s.db.WithContext(ctx).Preload("Items").First(&o, "id = ?", id).Error
	return &o, translate(err, "order "+id)
}

// --- campaigns ---

// CreateCampaign stores a new campaign draft; an existing ID is a conflict.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	c.Status = CampaignDraft
	return translate(s.db.WithContext(ctx).Create(c).Error, "campaign "+c.ID)
}

// SaveCampaignDraft replaces a campaign's draft definition, creating the
// campaign if needed. Published versions are untouched.
func (s *Store) SaveCampaignDraft(ctx context.Context, c *Campaign) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "kind", "trigger_event", "definition", "updated_at"}),
	}).Create(c).Error
	return translate(err, "campaign "+c.ID)
}

// GetCampaign returns a campaign.
func (s *Store) GetCampaign(ctx context.Context, id string) (*Campaign, error) {
	var c Campaign
	err := s.db.WithContext(ctx).First(&c, "id = ?", id).Error
	return &c, translate(err, "campaign "+id)
}

// ListCampaigns returns every campaign, by ID.
func (s *Store) ListCampaigns(ctx context.Context) ([]Campaign, error) {
	var cs []Campaign
	err := s.db.WithContext(ctx).Order("id").Find(&cs).Error
	return cs, translate(err, "campaigns")
}

// PublishCampaign snapshots the campaign's current draft as the next
// immutable version and returns it.
func (s *Store) PublishCampaign(ctx context.Context, id string) (*CampaignVersion, error) {
	var v CampaignVersion
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Campaign
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&c, "id = ?", id).Error; err != nil {
			return translate(err, "campaign "+id)
		}
		v = CampaignVersion{CampaignID: c.ID, Version: c.LatestVersion + 1, TriggerEvent: c.TriggerEvent,
			Definition: c.Definition, PublishedAt: time.Now().UTC()}
		if err := tx.Create(&v).Error; err != nil {
			return translate(err, "campaign version")
		}
		res := tx.Model(&Campaign{}).Where("id = ? AND latest_version = ?", c.ID, c.LatestVersion).
			Updates(map[string]any{"latest_version": v.Version, "status": CampaignPublished})
		if res.Error != nil {
			return translate(res.Error, "campaign "+id)
		}
		if res.RowsAffected != 1 {
			return errs.E(errs.Conflict, "campaign %s was published concurrently", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// GetCampaignVersion returns one published version.
func (s *Store) GetCampaignVersion(ctx context.Context, campaignID string, version int) (*CampaignVersion, error) {
	var v CampaignVersion
	err := s.db.WithContext(ctx).First(&v, "campaign_id = ? AND version = ?", campaignID, version).Error
	return &v, translate(err, fmt.Sprintf("campaign %s version %d", campaignID, version))
}

// LiveVersions returns the latest published version of every published
// campaign triggered by eventType.
func (s *Store) LiveVersions(ctx context.Context, eventType string) ([]CampaignVersion, error) {
	var vs []CampaignVersion
	err := s.db.WithContext(ctx).
		Joins("JOIN campaigns ON campaigns.id = campaign_versions.campaign_id AND campaigns.latest_version = campaign_versions.version").
		Where("campaigns.status = ? AND campaign_versions.trigger_event = ?", CampaignPublished, eventType).
		Order("campaign_versions.campaign_id").Find(&vs).Error
	return vs, translate(err, "campaign versions")
}

// --- enrollments ---

// EnsureEnrollment creates the enrollment if it does not exist yet; calling
// it again with the same ID is a no-op, so a retried activity is harmless.
//
// Temporal allows one running sequence per customer and campaign, so a row
// still marked running for another enrollment is stale (its workflow was
// terminated without recording an outcome): it is closed as cancelled in
// the same transaction, and idx_one_running_enrollment keeps holding.
func (s *Store) EnsureEnrollment(ctx context.Context, e *Enrollment) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Model(&Enrollment{}).
			Where("customer_id = ? AND campaign_id = ? AND status = ? AND id <> ?", e.CustomerID, e.CampaignID, StatusRunning, e.ID).
			Updates(map[string]any{"status": StatusCancelled, "exit_reason": "superseded: its workflow is no longer running", "ended_at": time.Now().UTC()}).Error
		if err != nil {
			return translate(err, "enrollment "+e.ID)
		}
		err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(e).Error
		return translate(err, "enrollment "+e.ID)
	})
}

// GetEnrollment returns one enrollment.
func (s *Store) GetEnrollment(ctx context.Context, id string) (*Enrollment, error) {
	var e Enrollment
	err := s.db.WithContext(ctx).First(&e, "id = ?", id).Error
	return &e, translate(err, "enrollment "+id)
}

// EnrollmentProgress is what a finished step changes on an enrollment.
type EnrollmentProgress struct {
	CurrentStep string
	EmailsSent  int
}

// UpdateEnrollmentProgress records the step an enrollment has reached.
func (s *Store) UpdateEnrollmentProgress(ctx context.Context, id string, p EnrollmentProgress) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).Where("id = ?", id).
		Updates(map[string]any{"current_step": p.CurrentStep, "emails_sent": p.EmailsSent}).Error
	return translate(err, "enrollment "+id)
}

// EnrollmentOutcome is how an enrollment ended.
type EnrollmentOutcome struct {
	Status         string
	ExitReason     string
	ConvertedOrder string
	RevenueMinor   int64
	EmailsSent     int
	EndedAt        time.Time
}

// FinishEnrollment records how an enrollment ended. Finishing twice keeps
// the first outcome.
func (s *Store) FinishEnrollment(ctx context.Context, id string, o EnrollmentOutcome) error {
	err := s.db.WithContext(ctx).Model(&Enrollment{}).Where("id = ? AND status = ?", id, StatusRunning).
		Updates(map[string]any{
			"status": o.Status, "exit_reason": o.ExitReason, "converted_order": o.ConvertedOrder,
			"revenue_minor": o.RevenueMinor, "emails_sent": o.EmailsSent, "ended_at": o.EndedAt,
		}).Error
	return translate(err, "enrollment "+id)
}

// ListEnrollments returns a customer's enrollments, newest first.
func (s *Store) ListEnrollments(ctx context.Context, customerID string) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Where("customer_id = ?", customerID).
		Order("enrolled_at DESC").Order("id").Find(&es).Error
	return es, translate(err, "enrollments")
}

// EnteredSince reports whether the customer entered the campaign with this
// entry key at or after since (the zero time: ever).
func (s *Store) EnteredSince(ctx context.Context, customerID, campaignID, entryKey string, since time.Time) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Enrollment{}).
		Where("customer_id = ? AND campaign_id = ? AND entry_key = ? AND enrolled_at >= ?", customerID, campaignID, entryKey, since).
		Count(&n).Error
	return n > 0, translate(err, "enrollments")
}

// RunningEnrollments returns the customer's running enrollments.
func (s *Store) RunningEnrollments(ctx context.Context, customerID string) ([]Enrollment, error) {
	var es []Enrollment
	err := s.db.WithContext(ctx).Where("customer_id = ? AND status = ?", customerID, StatusRunning).
		Order("campaign_id").Find(&es).Error
	return es, translate(err, "enrollments")
}

// --- messages ---

// ClaimMessage returns the message for (m.EnrollmentID, m.StepID), creating
// it from m if there is none. created reports whether m was inserted. The
// unique idempotency key makes this safe under retries and races.
func (s *Store) ClaimMessage(ctx context.Context, m *Message) (msg *Message, created bool, err error) {
	m.IdempotencyKey = MessageKey(m.EnrollmentID, m.StepID)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "idempotency_key"}}, DoNothing: true}).Create(m)
	if res.Error != nil {
		return nil, false, translate(res.Error, "message")
	}
	if res.RowsAffected == 1 {
		return m, true, nil
	}
	var existing Message
	err = s.db.WithContext(ctx).First(&existing, "idempotency_key = ?", m.IdempotencyKey).Error
	return &existing, false, translate(err, "message")
}

// GetMessage returns one message.
func (s *Store) GetMessage(ctx context.Context, id string) (*Message, error) {
	var m Message
	err := s.db.WithContext(ctx).First(&m, "id = ?", id).Error
	return &m, translate(err, "message "+id)
}

// Rendered is a message's content as the mailer will send it.
type Rendered struct {
	Subject, Preheader, HTML, Text string
	Headers                        map[string]string
}

// SaveRendered stores the rendered content of a pending message.
func (s *Store) SaveRendered(ctx context.Context, id string, r Rendered) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status IN ?", id, []string{MessagePending, MessageReady}).
		Updates(&Message{Subject: r.Subject, Preheader: r.Preheader, HTML: r.HTML, Text: r.Text, Headers: r.Headers, Status: MessageReady}).Error
	return translate(err, "message "+id)
}

// ClaimSending records that the mailer is about to be called. It moves the
// message from the state the caller read (ready, or sending since
// sendingAt) to sending since at, and reports whether it did: when it did
// not, someone else sent or claimed it first. After a crash, a message
// found "sending" may or may not have reached the provider: Send reconciles
// it before claiming it again.
func (s *Store) ClaimSending(ctx context.Context, id, status string, sendingAt *time.Time, at time.Time) (bool, error) {
	q := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status = ?", id, status)
	switch {
	case status == MessageSending && sendingAt != nil:
		q = q.Where("sending_at = ?", *sendingAt)
	case status != MessageReady:
		return false, errs.E(errs.Conflict, "message %s is %s", id, status)
	}
	res := q.Updates(map[string]any{"status": MessageSending, "sending_at": at})
	return res.RowsAffected == 1, translate(res.Error, "message "+id)
}

// MarkReady returns a "sending" message to ready: the mailer refused it
// for now, so it was certainly not sent.
func (s *Store) MarkReady(ctx context.Context, id string) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status = ?", id, MessageSending).
		Update("status", MessageReady).Error
	return translate(err, "message "+id)
}

// MarkSent records that the mailer accepted the message. It only moves a
// message that is not yet sent, and reports whether it did.
func (s *Store) MarkSent(ctx context.Context, id, provider, providerID string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status IN ?", id, []string{MessageReady, MessageSending}).
		Updates(map[string]any{"status": MessageSent, "provider": provider, "provider_message_id": providerID, "sent_at": at})
	return res.RowsAffected == 1, translate(res.Error, "message "+id)
}

// MarkMessage sets a message's status with a reason (skipped, failed).
func (s *Store) MarkMessage(ctx context.Context, id, status, reason string) error {
	err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND status <> ?", id, MessageSent).
		Updates(map[string]any{"status": status, "error": reason}).Error
	return translate(err, "message "+id)
}

// MessageByProviderID finds the message SendGrid calls sgMessageID:
// "<X-Message-Id>.filter…", where the X-Message-Id recorded at send time
// may itself contain dots. Every dot-separated prefix is a candidate; the
// longest that matches wins.
func (s *Store) MessageByProviderID(ctx context.Context, sgMessageID string) (*Message, error) {
	var candidates []string
	for i := len(sgMessageID) - 1; i > 0; i-- {
		if sgMessageID[i] == '.' {
			candidates = append(candidates, sgMessageID[:i])
		}
	}
	candidates = append(candidates, sgMessageID)
	var ms []Message
	err := s.db.WithContext(ctx).Omit("html", "text").Where("provider_message_id IN ?", candidates).Find(&ms).Error
	if err != nil {
		return nil, translate(err, "message")
	}
	var best *Message
	for i := range ms {
		if best == nil || len(ms[i].ProviderMessageID) > len(best.ProviderMessageID) {
			best = &ms[i]
		}
	}
	if best == nil {
		return nil, errs.E(errs.NotFound, "no message with provider ID %s", sgMessageID)
	}
	return best, nil
}

// RecordWebhookEvent stores a SendGrid event's ID; fresh is false when it
// was already applied.
func (s *Store) RecordWebhookEvent(ctx context.Context, e *WebhookEvent) (fresh bool, err error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(e)
	return res.RowsAffected == 1, translate(res.Error, "webhook event")
}

// WebhookEventSeen reports whether a SendGrid event was already applied.
func (s *Store) WebhookEventSeen(ctx context.Context, sgEventID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&WebhookEvent{}).Where("sg_event_id = ?", sgEventID).Count(&n).Error
	return n > 0, translate(err, "webhook event")
}

// UpdateDelivery records a message's delivery status and engagement.
// Events arrive in any order: "deferred" never overwrites a final status
// (delivered, bounced, dropped), and engagement times keep the first
// occurrence.
func (s *Store) UpdateDelivery(ctx context.Context, id string, delivery string, opened, clicked *time.Time) error {
	db := s.db.WithContext(ctx).Model(&Message{}).Where("id = ?", id)
	if delivery == "deferred" {
		db = db.Where("delivery IN ?", []string{"", "deferred"})
	}
	if delivery != "" {
		if err := db.Update("delivery", delivery).Error; err != nil {
			return translate(err, "message "+id)
		}
	}
	if opened != nil {
		err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND opened_at IS NULL", id).Update("opened_at", *opened).Error
		if err != nil {
			return translate(err, "message "+id)
		}
	}
	if clicked != nil {
		err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND clicked_at IS NULL", id).Update("clicked_at", *clicked).Error
		if err != nil {
			return translate(err, "message "+id)
		}
	}
	return nil
}

// MessageFilter selects messages; empty fields match everything.
type MessageFilter struct {
	CustomerID   string
	CampaignID   string
	EnrollmentID string
	Limit        int
	NewestFirst  bool
}

// ListMessages returns messages without their bodies, oldest first unless
// NewestFirst.
func (s *Store) ListMessages(ctx context.Context, f MessageFilter) ([]Message, error) {
	q := s.db.WithContext(ctx).Omit("html", "text")
	if f.CustomerID != "" {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.CampaignID != "" {
		q = q.Where("campaign_id = ?", f.CampaignID)
	}
	if f.EnrollmentID != "" {
		q = q.Where("enrollment_id = ?", f.EnrollmentID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	order := "created_at, id"
	if f.NewestFirst {
		order = "created_at DESC, id DESC"
	}
	var ms []Message
	err := q.Order(order).Limit(f.Limit).Find(&ms).Error
	return ms, translate(err, "messages")
}

// RecordConversion stores a conversion once per enrollment and order.
func (s *Store) RecordConversion(ctx context.Context, c *Conversion) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(c).Error
	return translate(err, "conversion")
}

// Conversions returns an enrollment's conversions.
func (s *Store) Conversions(ctx context.Context, enrollmentID string) ([]Conversion, error) {
	var cs []Conversion
	err := s.db.WithContext(ctx).Where("enrollment_id = ?", enrollmentID).Order("id").Find(&cs).Error
	return cs, translate(err, "conversions")
}

// --- frequency caps ---

// Cap is a frequency cap: at most Max marketing emails per Window.
type Cap struct {
	Window time.Duration
	Max    int
}

// ReserveSend reserves a slot for message under the customer's frequency
// caps. When a cap is full it reserves nothing and returns the first moment
// a slot frees up. Reservations for one customer are serialised (a
// PostgreSQL advisory lock; SQLite's single writer), so two sequences due
// in the same instant can never both pass a full cap. Reserving the same
// message again succeeds without taking a second slot.
func (s *Store) ReserveSend(ctx context.Context, customerID, messageID string, now time.Time, caps []Cap) (ok bool, retryAt time.Time, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "lift-send:"+customerID).Error; err != nil {
				return translate(err, "send slot")
			}
		}
		var mine int64
		if err := tx.Model(&SendSlot{}).Where("message_id = ?", messageID).Count(&mine).Error; err != nil {
			return translate(err, "send slot")
		}
		if mine > 0 {
			ok = true
			return nil
		}
		for _, c := range caps {
			if c.Max <= 0 || c.Window <= 0 {
				continue
			}
			var recent []time.Time
			err := tx.Model(&SendSlot{}).Where("customer_id = ? AND at > ?", customerID, now.Add(-c.Window)).
				Order("at DESC").Limit(c.Max).Pluck("at", &recent).Error
			if err != nil {
				return translate(err, "send slot")
			}
			if len(recent) >= c.Max {
				// The oldest of the newest Max slots leaves the window first.
				if free := recent[c.Max-1].Add(c.Window); free.After(retryAt) {
					retryAt = free
				}
			}
		}
		if !retryAt.IsZero() {
			return nil
		}
		ok = true
		return translate(tx.Create(&SendSlot{CustomerID: customerID, MessageID: messageID, At: now}).Error, "send slot")
	})
	return ok, retryAt, err
}

// ReleaseSend frees a message's slot: the email was not sent after all.
func (s *Store) ReleaseSend(ctx context.Context, messageID string) error {
	return translate(s.db.WithContext(ctx).Where("message_id = ?", messageID).Delete(&SendSlot{}).Error, "send slot")
}

// --- suppressions ---

// Suppress adds an address to the suppression list (campaignID empty for
// every campaign). Suppressing twice keeps the first entry.
func (s *Store) Suppress(ctx context.Context, email, campaignID, reason string) error {
	sup := Suppression{EmailHash: HashEmail(email), CampaignID: campaignID, Reason: reason}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error
	return translate(err, "suppression")
}

// Suppressed returns the suppression that stops email to the address for
// the campaign, if any: a global one first.
func (s *Store) Suppressed(ctx context.Context, email, campaignID string) (*Suppression, error) {
	var sups []Suppression
	err := s.db.WithContext(ctx).Where("email_hash = ? AND campaign_id IN ?", HashEmail(email), []string{"", campaignID}).
		Order("campaign_id").Limit(1).Find(&sups).Error
	if err != nil {
		return nil, translate(err, "suppression")
	}
	if len(sups) == 0 {
		return nil, nil
	}
	return &sups[0], nil
}

// NormalizeEmail is the form addresses are compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// HashEmail is how suppressed addresses are stored.
func HashEmail(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// --- idempotency keys ---

// IdempotencyTTL is how long a key is remembered (at least 24 h, as promised).
const IdempotencyTTL = 48 * time.Hour

// IdempotencyLease is how long a first request may stay in flight; after
// that its key is taken over (its process died before answering).
const IdempotencyLease = time.Minute

// BeginIdempotent claims key for a request. fresh is true when this request
// is the first with the key (or the key expired); otherwise rec is the
// first request's record: compare fingerprints, and replay its response
// once Status is set.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, now time.Time) (rec *IdempotencyRecord, fresh bool, err error) {
	db := s.db.WithContext(ctx)
	err = db.Where("scope = ? AND idem_key = ? AND (created_at < ? OR (status = 0 AND created_at < ?))",
		scope, key, now.Add(-IdempotencyTTL), now.Add(-IdempotencyLease)).Delete(&IdempotencyRecord{}).Error
	if err != nil {
		return nil, false, translate(err, "idempotency key")
	}
	rec = &IdempotencyRecord{Scope: scope, Key: key, Fingerprint: fingerprint, CreatedAt: now}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(rec)
	if res.Error != nil {
		return nil, false, translate(res.Error, "idempotency key")
	}
	if res.RowsAffected == 1 {
		return rec, true, nil
	}
	var prev IdempotencyRecord
	err = db.First(&prev, "scope = ? AND idem_key = ?", scope, key).Error
	return &prev, false, translate(err, "idempotency key")
}

// FinishIdempotent stores the response to replay for the key.
func (s *Store) FinishIdempotent(ctx context.Context, id uint, status int, contentType string, body []byte) error {
	err := s.db.WithContext(ctx).Model(&IdempotencyRecord{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "content_type": contentType, "body": body}).Error
	return translate(err, "idempotency key")
}

// ForgetIdempotent drops a key whose request failed in a way worth
// retrying (a 5xx), so the retry runs again.
func (s *Store) ForgetIdempotent(ctx context.Context, id uint) error {
	return translate(s.db.WithContext(ctx).Delete(&IdempotencyRecord{}, id).Error, "idempotency key")
}

// --- GDPR ---

// Export is everything Lift holds about one customer.
type Export struct {
	Customer       Customer        `json:"customer"`
	ConsentRecords []ConsentRecord `json:"consent_records"`
	Events         []Event         `json:"events"`
	Orders         []Order         `json:"orders"`
	Enrollments    []Enrollment    `json:"enrollments"`
	Messages       []Message       `json:"messages"`
	Suppressions   []Suppression   `json:"suppressions"`
}

// ExportCustomer gathers everything held about a customer.
func (s *Store) ExportCustomer(ctx context.Context, id string) (*Export, error) {
	c, err := s.GetCustomer(ctx, id)
	if err != nil {
		return nil, err
	}
	x := &Export{Customer: *c}
	db := s.db.WithContext(ctx)
	for _, q := range []struct {
		dest any
		db   *gorm.DB
	}{
		{&x.ConsentRecords, db.Where("customer_id = ?", id).Order("at, id")},
		{&x.Events, db.Where("customer_id = ?", id).Order("occurred_at, id")},
		{&x.Orders, db.Preload("Items").Where("customer_id = ?", id).Order("occurred_at, id")},
		{&x.Enrollments, db.Where("customer_id = ?", id).Order("enrolled_at, id")},
		{&x.Messages, db.Where("customer_id = ?", id).Order("created_at, id")},
		{&x.Suppressions, db.Where("email_hash = ?", HashEmail(c.Email)).Order("id")},
	} {
		if err := q.db.Find(q.dest).Error; err != nil {
			return nil, translate(err, "export")
		}
	}
	return x, nil
}

// EraseCustomer deletes a customer's personal data in one transaction: the
// profile, consent records and events, and the subject, bodies and headers
// of their messages. What stays carries no PII: orders, enrollments and
// message statuses under the caller's opaque customer ID (for revenue
// reports), and a hashed global suppression so the address is never
// mailed again.
func (s *Store) EraseCustomer(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Customer
		if err := tx.First(&c, "id = ?", id).Error; err != nil {
			return translate(err, "customer "+id)
		}
		sup := Suppression{EmailHash: HashEmail(c.Email), Reason: ReasonErased}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&sup).Error; err != nil {
			return translate(err, "suppression")
		}
		// Messages not yet sent are closed, so a render already under way
		// cannot write a name back after this transaction.
		if err := tx.Model(&Message{}).Where("customer_id = ? AND status IN ?", id, []string{MessagePending, MessageReady}).
			Updates(map[string]any{"status": MessageSkipped, "error": "customer erased"}).Error; err != nil {
			return translate(err, "messages")
		}
		if err := tx.Model(&Message{}).Where("customer_id = ?", id).Updates(map[string]any{
			"subject": "", "preheader": "", "html": "", "text": "", "headers": nil,
		}).Error; err != nil {
			return translate(err, "messages")
		}
		for _, m := range []any{&ConsentRecord{}, &Event{}} {
			if err := tx.Where("customer_id = ?", id).Delete(m).Error; err != nil {
				return translate(err, "erase")
			}
		}
		return translate(tx.Delete(&Customer{}, "id = ?", id).Error, "customer "+id)
	})
}

// --- API keys ---

// HashAPIKey is how API keys are stored.
func HashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// SetAPIKey makes key the one API key under name: a rotated key replaces
// the previous one, which stops working.
func (s *Store) SetAPIKey(ctx context.Context, name, key string) error {
	h := HashAPIKey(key)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("name = ? AND hash <> ?", name, h).Delete(&APIKey{}).Error; err != nil {
			return translate(err, "api key")
		}
		k := APIKey{Name: name, Hash: h}
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "hash"}}, DoNothing: true}).Create(&k).Error
		return translate(err, "api key")
	})
}

// CheckAPIKey reports whether key is a known API key. The lookup is by hash,
// and the final comparison is constant-time.
func (s *Store) CheckAPIKey(ctx context.Context, key string) (bool, error) {
	return s.CheckAPIKeyHash(ctx, HashAPIKey(key))
}

// CheckAPIKeyHash reports whether a key with this hash still exists (a
// console session names its key by hash, so rotating the key ends it).
func (s *Store) CheckAPIKeyHash(ctx context.Context, h []byte) (bool, error) {
	var ks []APIKey
	if err := s.db.WithContext(ctx).Where("hash = ?", h).Limit(1).Find(&ks).Error; err != nil {
		return false, translate(err, "api key")
	}
	return len(ks) == 1 && subtle.ConstantTimeCompare(ks[0].Hash, h) == 1, nil
}
