package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/money"
)

// Bulk import writes history (customers, the catalogue, past orders)
// straight into the tables, a chunk per transaction: it never records an
// event, so nothing enrols, signals or sends. Every chunk is idempotent by
// ID: importing the same rows again changes nothing.

// ImportCounts is what a chunk did: rows inserted, updated (a value
// changed) and unchanged, and rows refused by what is already stored.
type ImportCounts struct {
	Inserted, Updated, Unchanged int64
	Rejected                     []ImportReject
	// UnknownLines are order lines of SKUs the catalogue does not hold,
	// UnknownSKUs those SKUs (the application fills them).
	UnknownLines int64
	UnknownSKUs  []string
}

// ImportReject is a row the database refused, by its line in the file.
type ImportReject struct {
	Line    int64
	Field   string
	Message string
}

// OrderLine is one line of a past order: the order's header (customer,
// time, currency) repeats on each of its lines.
type OrderLine struct {
	Line       int64 // in the file, for errors
	OrderID    string
	CustomerID string
	OccurredAt time.Time
	SKU        string
	Quantity   int64
	PriceMinor int64
	Currency   string
}

// ImportOrderLines stores past order lines in one transaction: an order
// is created with its first lines and its revenue is the sum of its lines;
// a line (order, SKU) already stored with the same quantity and price is
// unchanged, with others updated. A line is refused when its customer does
// not exist, or when its order is stored for another customer, time or
// currency. Lines must be unique by (order, SKU) within a call.
func (s *Store) ImportOrderLines(ctx context.Context, lines []OrderLine) (ImportCounts, error) {
	if len(lines) == 0 {
		return ImportCounts{}, nil
	}
	if s.postgres {
		return s.importOrderLinesPG(ctx, lines)
	}
	return s.importOrderLinesGORM(ctx, lines)
}

// importOrderLinesPG COPYs the lines into a temporary table and upserts
// from it with set-based statements: a million lines go in at about the
// speed of a plain COPY.
func (s *Store) importOrderLinesPG(ctx context.Context, lines []OrderLine) (ImportCounts, error) {
	var out ImportCounts
	sqlDB, err := s.db.DB()
	if err != nil {
		return out, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return out, translate(err, "orders")
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		return pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			var err error
			out, err = importOrderLinesTx(ctx, tx, lines)
			return err
		})
	})
	return out, translate(err, "orders")
}

func importOrderLinesTx(ctx context.Context, tx pgx.Tx, lines []OrderLine) (ImportCounts, error) {
	var out ImportCounts
	ids := map[string]bool{}
	for _, l := range lines {
		ids[l.OrderID] = true
	}
	rows, _ := tx.Query(ctx, `SELECT order_id, sku, quantity, price_minor FROM order_items WHERE order_id = ANY($1)`, keys(ids))
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderItem, error) {
		var it OrderItem
		return it, r.Scan(&it.OrderID, &it.SKU, &it.Quantity, &it.PriceMinor)
	})
	if err != nil {
		return out, err
	}
	lines, out.Rejected = capOrders(lines, items)
	capped := len(out.Rejected)
	if len(lines) == 0 {
		return out, nil
	}
	// A crash may lose the last chunks committed: the import is
	// idempotent, and running it again restores them. Waiting for each
	// chunk's WAL flush would not make it safer.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO off`); err != nil {
		return out, err
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS lift_import_lines (
		line bigint NOT NULL, order_id text NOT NULL, customer_id text NOT NULL, occurred_at timestamptz NOT NULL,
		sku text NOT NULL, quantity bigint NOT NULL, price_minor bigint NOT NULL, currency text NOT NULL
	) ON COMMIT DELETE ROWS`); err != nil {
		return out, err
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"lift_import_lines"},
		[]string{"line", "order_id", "customer_id", "occurred_at", "sku", "quantity", "price_minor", "currency"},
		pgx.CopyFromSlice(len(lines), func(i int) ([]any, error) {
			l := lines[i]
			return []any{l.Line, l.OrderID, l.CustomerID, l.OccurredAt, l.SKU, l.Quantity, l.PriceMinor, l.Currency}, nil
		}))
	if err != nil {
		return out, err
	}
	// Refuse what contradicts the store, then drop it from the batch.
	rows, _ = tx.Query(ctx, `
		SELECT t.line, 'customer_id', 'no such customer: import customers first' FROM lift_import_lines t
		WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)
		UNION ALL
		SELECT t.line,
		  CASE WHEN o.customer_id <> t.customer_id THEN 'customer_id' WHEN o.currency <> t.currency THEN 'currency' ELSE 'occurred_at' END,
		  CASE WHEN o.customer_id <> t.customer_id THEN 'the order is stored for another customer'
		       WHEN o.currency <> t.currency THEN 'the order is stored in ' || o.currency
		       ELSE 'the order is stored with another time' END
		FROM lift_import_lines t JOIN orders o ON o.id = t.order_id
		WHERE o.customer_id <> t.customer_id OR o.currency <> t.currency OR o.occurred_at <> t.occurred_at`)
	rejects, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportReject, error) {
		var j ImportReject
		return j, r.Scan(&j.Line, &j.Field, &j.Message)
	})
	if err != nil {
		return out, err
	}
	if len(rejects) > 0 {
		bad := make([]int64, len(rejects))
		for i, j := range rejects {
			bad[i] = j.Line
		}
		if _, err := tx.Exec(ctx, `DELETE FROM lift_import_lines WHERE line = ANY($1)`, bad); err != nil {
			return out, err
		}
		slices.SortFunc(rejects, func(a, b ImportReject) int { return int(a.Line - b.Line) })
		rejects = slices.CompactFunc(rejects, func(a, b ImportReject) bool { return a.Line == b.Line })
		out.Rejected = append(out.Rejected, rejects...)
	}
	// New orders, with the revenue of their lines (all new with them).
	rows, _ = tx.Query(ctx, `
		INSERT INTO orders (id, customer_id, event_id, revenue_minor, currency, occurred_at, created_at)
		SELECT order_id, min(customer_id), '', sum(quantity * price_minor), min(currency), min(occurred_at), now()
		FROM lift_import_lines GROUP BY order_id
		ON CONFLICT (id) DO NOTHING RETURNING id`)
	created, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return out, err
	}
	fresh := make(map[string]bool, len(created))
	for _, id := range created {
		fresh[id] = true
	}
	// Lines: insert, or update only when a value differs.
	rows, _ = tx.Query(ctx, `
		WITH up AS (
		INSERT INTO order_items (order_id, sku, quantity, price_minor)
		SELECT order_id, sku, quantity, price_minor FROM lift_import_lines
		ON CONFLICT (order_id, sku) DO UPDATE SET quantity = excluded.quantity, price_minor = excluded.price_minor
		WHERE (order_items.quantity, order_items.price_minor) IS DISTINCT FROM (excluded.quantity, excluded.price_minor)
		RETURNING order_id, xmax = 0 AS inserted)
		SELECT order_id, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up GROUP BY order_id`)
	var changed []string // stored orders whose lines changed
	var orderID string
	var inserted, updated int64
	_, err = pgx.ForEachRow(rows, []any{&orderID, &inserted, &updated}, func() error {
		out.Inserted += inserted
		out.Updated += updated
		if !fresh[orderID] {
			changed = append(changed, orderID)
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	out.Unchanged = int64(len(lines)-(len(out.Rejected)-capped)) - out.Inserted - out.Updated
	if len(changed) > 0 {
		slices.Sort(changed)
		_, err = tx.Exec(ctx, `UPDATE orders o SET revenue_minor = s.total
			FROM (SELECT order_id, sum(quantity * price_minor) AS total FROM order_items
			      WHERE order_id = ANY($1) GROUP BY order_id) s
			WHERE o.id = s.order_id`, slices.Compact(changed))
	}
	return out, err
}

// importOrderLinesGORM is the portable path (SQLite): the same rules,
// row by row inside one transaction.
func (s *Store) importOrderLinesGORM(ctx context.Context, lines []OrderLine) (ImportCounts, error) {
	var out ImportCounts
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = ImportCounts{}
		ids := map[string]bool{}
		custs := map[string]bool{}
		for _, l := range lines {
			ids[l.OrderID], custs[l.CustomerID] = true, true
		}
		known, err := existing[Customer](tx, "id", keys(custs))
		if err != nil {
			return err
		}
		orders, err := findIn[Order](tx, "id", keys(ids))
		if err != nil {
			return err
		}
		stored := map[string]Order{}
		for _, o := range orders {
			stored[o.ID] = o
		}
		items, err := findIn[OrderItem](tx, "order_id", keys(ids))
		if err != nil {
			return err
		}
		lines, out.Rejected = capOrders(lines, items)
		type key struct{ order, sku string }
		have := map[key]OrderItem{}
		for _, it := range items {
			have[key{it.OrderID, it.SKU}] = it
		}
		touched := map[string]bool{}
		for _, l := range lines {
			o, isStored := stored[l.OrderID]
			switch {
			case !known[l.CustomerID]:
				out.Rejected = append(out.Rejected, ImportReject{l.Line, "customer_id", "no such customer: import customers first"})
				continue
			case isStored && o.CustomerID != l.CustomerID:
				out.Rejected = append(out.Rejected, ImportReject{l.Line, "customer_id", "the order is stored for another customer"})
				continue
			case isStored && o.Currency != l.Currency:
				out.Rejected = append(out.Rejected, ImportReject{l.Line, "currency", "the order is stored in " + o.Currency})
				continue
			case isStored && !o.OccurredAt.Equal(l.OccurredAt):
				out.Rejected = append(out.Rejected, ImportReject{l.Line, "occurred_at", "the order is stored with another time"})
				continue
			}
			if !isStored {
				o = Order{ID: l.OrderID, CustomerID: l.CustomerID, Currency: l.Currency, OccurredAt: l.OccurredAt}
				if err := tx.Create(&o).Error; err != nil {
					return err
				}
				stored[o.ID] = o
			}
			it, ok := have[key{l.OrderID, l.SKU}]
			switch {
			case !ok:
				it = OrderItem{OrderID: l.OrderID, SKU: l.SKU, Quantity: int(l.Quantity), PriceMinor: l.PriceMinor}
				if err := tx.Create(&it).Error; err != nil {
					return err
				}
				out.Inserted++
			case int64(it.Quantity) != l.Quantity || it.PriceMinor != l.PriceMinor:
				if err := tx.Model(&OrderItem{}).Where("id = ?", it.ID).
					Updates(map[string]any{"quantity": l.Quantity, "price_minor": l.PriceMinor}).Error; err != nil {
					return err
				}
				out.Updated++
			default:
				out.Unchanged++
				continue
			}
			touched[l.OrderID] = true
		}
		for _, id := range keys(touched) {
			if err := tx.Exec(`UPDATE orders SET revenue_minor =
				(SELECT COALESCE(sum(quantity * price_minor), 0) FROM order_items WHERE order_id = ?) WHERE id = ?`, id, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return out, translate(err, "orders")
}

// findIn loads T's rows whose column is one of ids.
func findIn[T any](tx *gorm.DB, column string, ids []string) ([]T, error) {
	var out []T
	err := inBatches(ids, func(part []string) error {
		var rows []T
		err := tx.Where(column+" IN ?", part).Find(&rows).Error
		out = append(out, rows...)
		return err
	})
	return out, err
}

// existing returns which of ids are stored in T's table, by column.
func existing[T any](tx *gorm.DB, column string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	err := inBatches(ids, func(part []string) error {
		var found []string
		if err := tx.Model(new(T)).Where(column+" IN ?", part).Pluck(column, &found).Error; err != nil {
			return err
		}
		for _, id := range found {
			out[id] = true
		}
		return nil
	})
	return out, err
}

// inBatches calls f with ids 500 at a time (SQLite bounds a statement's
// parameters).
func inBatches(ids []string, f func([]string) error) error {
	for part := range slices.Chunk(ids, 500) {
		if err := f(part); err != nil {
			return err
		}
	}
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// CustomerImport is one imported customer: the profile's imported
// columns and, when the file states consent, its record.
type CustomerImport struct {
	Line     int64
	Customer Customer // ID, Email, Name, Timezone, Locale, Country, Tier
	// Consent is the imported consent record (nil: the file says
	// nothing about consent, and the stored state stays).
	Consent *ConsentRecord
}

// ImportCustomers creates or updates customers in one transaction. Only
// the imported columns are compared and written; a consent record is
// added when the file's consent (granted, source, time) differs from the
// stored one, and then sets the customer's consent.
func (s *Store) ImportCustomers(ctx context.Context, rows []CustomerImport) (ImportCounts, error) {
	var out ImportCounts
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = ImportCounts{}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.Customer.ID
		}
		cs, err := findIn[Customer](tx, "id", ids)
		if err != nil {
			return err
		}
		stored := make(map[string]Customer, len(cs))
		for _, c := range cs {
			stored[c.ID] = c
		}
		now := time.Now().UTC()
		var create []Customer
		var records []ConsentRecord
		for _, r := range rows {
			c := r.Customer
			prev, ok := stored[c.ID]
			if ok {
				c.Consent, c.ConsentBasis, c.ConsentAt, c.ConsentSource = prev.Consent, prev.ConsentBasis, prev.ConsentAt, prev.ConsentSource
				c.UpsellsPausedUntil, c.CreatedAt = prev.UpsellsPausedUntil, prev.CreatedAt
			}
			if rec := r.Consent; rec != nil && !(ok && sameConsent(prev, *rec)) {
				c.Consent, c.ConsentSource = rec.Granted, rec.Source
				at := rec.At
				c.ConsentAt = &at
				c.ConsentBasis = ""
				if rec.Granted {
					c.ConsentBasis = rec.Basis
				}
				rec.CustomerID = c.ID
				records = append(records, *rec)
			}
			switch {
			case !ok:
				c.CreatedAt, c.UpdatedAt = now, now
				create = append(create, c)
				out.Inserted++
			case sameImportedCustomer(prev, c):
				out.Unchanged++
			default:
				c.UpdatedAt = now
				if err := tx.Model(&Customer{}).Where("id = ?", c.ID).Select(
					"email", "name", "timezone", "locale", "country", "tier", "consent", "consent_basis", "consent_at",
					"consent_source", "updated_at").Updates(&c).Error; err != nil {
					return err
				}
				out.Updated++
			}
		}
		if len(create) > 0 {
			if err := tx.CreateInBatches(create, 200).Error; err != nil {
				return err
			}
		}
		if len(records) > 0 {
			return tx.CreateInBatches(records, 200).Error
		}
		return nil
	})
	return out, translate(err, "customers")
}

func sameConsent(c Customer, rec ConsentRecord) bool {
	return c.Consent == rec.Granted && c.ConsentSource == rec.Source && c.ConsentAt != nil && c.ConsentAt.Equal(rec.At) &&
		(!rec.Granted || c.ConsentBasis == rec.Basis)
}

func sameImportedCustomer(a, b Customer) bool {
	return a.Email == b.Email && a.Name == b.Name && a.Timezone == b.Timezone && a.Locale == b.Locale &&
		a.Country == b.Country && a.Tier == b.Tier && a.Consent == b.Consent && a.ConsentBasis == b.ConsentBasis &&
		a.ConsentSource == b.ConsentSource && timesEqual(a.ConsentAt, b.ConsentAt)
}

func timesEqual(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// ProductImport is one imported catalogue entry. Only the imported
// columns are written; ratings, testimonials, regions and the rest are
// left as they are.
type ProductImport struct {
	Line    int64
	Product Product // SKU, Name, Category, PriceMinor, Currency, URL, ImageURL, InStock, TierRank, Complements
}

// importedProductColumns are the product columns an import writes.
var importedProductColumns = []string{"name", "category", "price_minor", "currency", "url", "image_url", "in_stock", "tier_rank", "complements"}

// ImportProducts creates or updates catalogue entries in one transaction.
func (s *Store) ImportProducts(ctx context.Context, rows []ProductImport) (ImportCounts, error) {
	var out ImportCounts
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = ImportCounts{}
		skus := make([]string, len(rows))
		for i, r := range rows {
			skus[i] = r.Product.SKU
		}
		ps, err := findIn[Product](tx, "sku", skus)
		if err != nil {
			return err
		}
		stored := make(map[string]Product, len(ps))
		for _, p := range ps {
			stored[p.SKU] = p
		}
		var create []Product
		for _, r := range rows {
			p := r.Product
			if p.Complements == nil {
				p.Complements = []string{}
			}
			prev, ok := stored[p.SKU]
			switch {
			case !ok:
				create = append(create, p)
				out.Inserted++
			case sameImportedProduct(prev, p):
				out.Unchanged++
			default:
				if err := tx.Model(&Product{}).Where("sku = ?", p.SKU).
					Select(append(slices.Clone(importedProductColumns), "updated_at")).Updates(&p).Error; err != nil {
					return err
				}
				out.Updated++
			}
		}
		if len(create) > 0 {
			return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(create, 200).Error
		}
		return nil
	})
	return out, translate(err, "products")
}

func sameImportedProduct(a, b Product) bool {
	return a.Name == b.Name && a.Category == b.Category && a.PriceMinor == b.PriceMinor && a.Currency == b.Currency &&
		a.URL == b.URL && a.ImageURL == b.ImageURL && a.InStock == b.InStock && a.TierRank == b.TierRank &&
		slices.Equal(a.Complements, b.Complements)
}

// capOrders refuses every line, in this chunk, of an order that with its
// lines already stored would hold more than domain.MaxOrderLines lines or
// total more than the currency's maximum: the bounds an event has, and an
// order is never stored past them in part. The totals are summed with a
// check, so no sum overflows.
func capOrders(lines []OrderLine, stored []OrderItem) ([]OrderLine, []ImportReject) {
	type tally struct {
		lines map[string]int64 // SKU -> line total, the chunk's over the stored
		over  bool
	}
	byOrder := map[string]*tally{}
	get := func(id string) *tally {
		t := byOrder[id]
		if t == nil {
			t = &tally{lines: map[string]int64{}}
			byOrder[id] = t
		}
		return t
	}
	for _, it := range stored {
		get(it.OrderID).lines[it.SKU] = int64(it.Quantity) * it.PriceMinor
	}
	currency := map[string]string{}
	for _, l := range lines {
		get(l.OrderID).lines[l.SKU] = l.Quantity * l.PriceMinor
		currency[l.OrderID] = l.Currency
	}
	why := map[string]ImportReject{}
	for id, cur := range currency {
		t := byOrder[id]
		if n := len(t.lines); n > domain.MaxOrderLines {
			why[id] = ImportReject{Field: "order_id", Message: fmt.Sprintf("order %q would hold %d lines with those stored: an order holds at most %d", id, n, domain.MaxOrderLines)}
			continue
		}
		limit, total := money.MaxMinor(cur), int64(0)
		for _, v := range t.lines {
			if v > limit-total {
				why[id] = ImportReject{Field: "price", Message: fmt.Sprintf("order %q would total more than %g %s with the lines stored", id, money.Max, cur)}
				break
			}
			total += v
		}
	}
	if len(why) == 0 {
		return lines, nil
	}
	keep := lines[:0:0]
	var rejected []ImportReject
	for _, l := range lines {
		if r, bad := why[l.OrderID]; bad {
			r.Line = l.Line
			rejected = append(rejected, r)
			continue
		}
		keep = append(keep, l)
	}
	return keep, rejected
}
