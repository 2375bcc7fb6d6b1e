package app_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

func importCSV(t *testing.T, a *app.App, kind, body string, chunk int) app.ImportResult {
	t.Helper()
	res, err := a.Import(context.Background(), kind, app.FormatCSV, strings.NewReader(body), app.ImportOptions{ChunkRows: chunk})
	require.NoError(t, err)
	return res
}

func orderRows(order string, from, to int, price string) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s,ada,2025-01-10,sku-%04d,1,%s\n", order, i, price)
	}
	return b.String()
}

// An import holds an order to an event's bounds: at most 500 lines and
// 1e12 in its currency, counting what earlier chunks and imports stored;
// an order past them is refused, never stored in part, and no sum
// overflows.
func TestImportedOrdersKeepAnEventsBounds(t *testing.T) {
	t.Parallel()
	testdb.EachParallel(t, func(t *testing.T, s *models.Store) {
		b := apptest.New(t, s)
		ctx := context.Background()
		res := importCSV(t, b.App, "customers", "customer_id,email\nada,ada@example.com\n", 0)
		require.EqualValues(t, 1, res.Inserted)
		const head = "order_id,customer_id,occurred_at,sku,quantity,price\n"

		// 501 lines of one order in one chunk: the 501st is refused.
		res = importCSV(t, b.App, "orders", head+orderRows("big", 0, 501, "1"), 0)
		require.EqualValues(t, 500, res.Inserted)
		require.EqualValues(t, 1, res.Rejected)
		require.Equal(t, app.RowError{Line: 502, Field: "order_id", Message: `order "big" already has 500 lines: an order holds at most 500`}, res.Errors[0])

		// Another 20 lines of the stored order, in a later import: the
		// order would hold 520, so all 20 are refused.
		res = importCSV(t, b.App, "orders", head+orderRows("big", 600, 620, "1"), 0)
		require.EqualValues(t, 0, res.Inserted)
		require.EqualValues(t, 20, res.Rejected)
		require.Contains(t, res.Errors[0].Message, "would hold 520 lines with those stored")

		// An order across chunks of 100 rows: the bound holds across them.
		res = importCSV(t, b.App, "orders", head+orderRows("chunked", 0, 450, "1")+orderRows("chunked", 450, 550, "1"), 100)
		require.EqualValues(t, 500, res.Inserted, "%v", res.Errors)
		require.EqualValues(t, 50, res.Rejected)

		// Lines at the most a line may be, which together pass the order's
		// maximum: refused before anything is summed into a bigint.
		res = importCSV(t, b.App, "orders", head+orderRows("dear", 0, 3, "1000000000000"), 0)
		require.EqualValues(t, 1, res.Inserted)
		require.EqualValues(t, 2, res.Rejected)
		require.Equal(t, "price", res.Errors[0].Field)
		// An earlier chunk's dear lines count too.
		res = importCSV(t, b.App, "orders", head+orderRows("dear", 10, 11, "1"), 0)
		require.EqualValues(t, 1, res.Rejected, "%v", res.Errors)
		require.Contains(t, res.Errors[0].Message, "would total more than 1e+12 USD with the lines stored")

		hist, err := s.CustomerOrderHistory(ctx, "ada")
		require.NoError(t, err)
		require.EqualValues(t, 3, hist.Orders)
		require.EqualValues(t, (500+500)*100+100_000_000_000_000, hist.ByCurrency["USD"], "in cents")
		var lines int64
		require.NoError(t, s.DB().Model(&models.OrderItem{}).Where("order_id = ?", "big").Count(&lines).Error)
		require.EqualValues(t, 500, lines)
	})
}

// endless is a file of a header and one quoted field that runs on over
// lines for size bytes, made as it is read.
type endless struct {
	head []byte
	size int64
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && e.read < e.size {
		switch {
		case e.read < int64(len(e.head)):
			p[n] = e.head[e.read]
		case e.read%80 == 79:
			p[n] = '\n'
		default:
			p[n] = 'x'
		}
		n++
		e.read++
	}
	return n, nil
}

// A quoted CSV field that never closes is a record that never ends: the
// import stops at MaxImportLine whatever the lines in it, having read
// little of a 100 MB body and allocated little.
func TestAQuotedFieldOverManyLinesIsBoundedAsARecord(t *testing.T) {
	t.Parallel()
	b := apptest.New(t, testdb.SQLite(t))
	body := &endless{head: []byte("customer_id,email,name\nada,ada@example.com,\""), size: 100 << 20}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := b.App.Import(context.Background(), "customers", app.FormatCSV, body, app.ImportOptions{})
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	require.Contains(t, err.Error(), "a record is longer than 65536 bytes")
	require.Less(t, body.read, int64(1<<20), "stopped within the first MiB")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "allocated far less than the body")
}

// An export whose amount is the line's total gives line_total; lines of
// products the catalogue does not hold go in and are counted and named.
func TestOrderImportsTakeLineTotalsAndNameUnknownProducts(t *testing.T) {
	t.Parallel()
	b := apptest.New(t, testdb.SQLite(t))
	importCSV(t, b.App, "customers", "customer_id,email\nada,ada@example.com\n", 0)
	importCSV(t, b.App, "products", "sku,name,price\ncam-1,Camera,899\n", 0)
	res := importCSV(t, b.App, "orders", "order_id,customer_id,occurred_at,sku,quantity,line_total\n"+
		"o-1,ada,2025-01-10,cam-1,2,1798.00\no-1,ada,2025-01-10,mystery-1,3,10.00\no-2,ada,2025-01-11,mystery-2,1,5\n", 0)
	require.EqualValues(t, 3, res.Inserted, "%v", res.Errors)
	require.EqualValues(t, 2, res.UnknownSKULines)
	require.Equal(t, []string{"mystery-1", "mystery-2"}, res.UnknownSKUs)
	var price int64
	require.NoError(t, b.Store.DB().Model(&models.OrderItem{}).Where("order_id = ? AND sku = ?", "o-1", "cam-1").Pluck("price_minor", &price).Error)
	require.EqualValues(t, 89900, price, "1798.00 over 2: the unit price")
	require.NoError(t, b.Store.DB().Model(&models.OrderItem{}).Where("order_id = ? AND sku = ?", "o-1", "mystery-1").Pluck("price_minor", &price).Error)
	require.EqualValues(t, 333, price, "10.00 over 3, rounded to the cent")

	_, err := b.App.Import(context.Background(), "orders", app.FormatCSV,
		strings.NewReader("order_id,customer_id,occurred_at,sku,quantity,price,line_total\n"), app.ImportOptions{})
	require.ErrorContains(t, err, "give price (the unit price) or line_total")
}
