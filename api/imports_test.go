package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/testdb"
)

// importFile posts a file to an import endpoint and returns the answer.
func (b *bundle) importFile(t *testing.T, kind, contentType, body string) (int, map[string]any) {
	t.Helper()
	return b.doWith(t, "POST", "/v1/imports/"+kind, body, "Bearer "+key, "Content-Type", contentType)
}

func counts(body map[string]any) string {
	return fmt.Sprintf("rows=%v inserted=%v updated=%v unchanged=%v rejected=%v skipped=%v",
		body["rows"], body["inserted"], body["updated"], body["unchanged"], body["rejected"], body["skipped"])
}

// rowErrors lists an import's rejected rows as "line field".
func rowErrors(body map[string]any) []string {
	var out []string
	for _, e := range body["errors"].([]any) {
		m := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", m["line"], m["field"]))
	}
	return out
}

const importedCustomers = `customer_id,email,name,timezone,locale,country,tier,marketing_consent,consent_source,consent_at
grace,grace@example.com,Grace,America/New_York,en-US,US,pro,true,checkout 2024,2024-03-01T12:00:00Z
alan,alan@example.com,Alan,Europe/London,en-GB,GB,,false,preference centre,2024-05-02
linus,linus@example.com,"Linus, T.",,,FI,,,,
bad-email,not an address,,,,,,,,
bad-consent,b@example.com,,,,,,true,,
bad-zone,z@example.com,,Mars/Base,,,,,,
`

const importedOrders = `order_id,customer_id,occurred_at,sku,quantity,price,currency
o-1,grace,2025-01-10T09:00:00Z,cam-1,1,899.00,USD
o-1,grace,2025-01-10T09:00:00Z,lens-1,2,279.50,USD
o-2,alan,2025-02-11T09:00:00Z,lens-1,1,279.50,USD
o-3,nobody,2025-02-12T09:00:00Z,cam-1,1,899,USD
o-4,alan,2025-02-13T09:00:00Z,cam-1,0,899,USD
o-5,alan,2999-01-01T00:00:00Z,cam-1,1,899,USD
o-1,grace,2025-01-10T09:00:00Z,lens-1,1,279.50,USD
`

// A shop loads its history while a purchase campaign is live: nothing
// enrols, nothing is signalled, nothing is sent; bad rows are named by
// line and field and do not stop the good ones; the same files again
// change nothing.
func TestImportLoadsHistoryWithoutEmailing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t) // camera-accessories is live, on purchase
		signals := len(b.seq.Signals())

		st, body := b.importFile(t, "customers", "text/csv", importedCustomers)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "rows=6 inserted=3 updated=0 unchanged=0 rejected=3 skipped=0", counts(body), "%v", body)
		require.Equal(t, []string{"5 email", "6 consent_source", "7 timezone"}, rowErrors(body))

		st, body = b.do(t, "GET", "/v1/customers/grace", "")
		require.Equal(t, 200, st)
		require.Equal(t, true, body["marketing_consent"], "%v", body)
		require.Equal(t, "checkout 2024", body["consent_source"], "%v", body)
		require.Equal(t, "2024-03-01T12:00:00Z", body["consent_at"], "consent keeps its own time, not the import's")
		st, body = b.do(t, "GET", "/v1/customers/linus", "")
		require.Equal(t, 200, st)
		require.Equal(t, false, body["marketing_consent"], "no consent column: none inferred")
		st, body = b.do(t, "GET", "/v1/customers/grace/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["consent_records"], 1, "%v", body)

		st, body = b.importFile(t, "orders", "text/csv", importedOrders)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "rows=7 inserted=3 updated=0 unchanged=0 rejected=3 skipped=0", counts(body), "%v", body)
		require.EqualValues(t, 1, body["merged"], "line 8 is a second line of lens-1 in o-1: summed into the first")
		require.Equal(t, []string{"5 customer_id", "6 quantity", "7 occurred_at"}, rowErrors(body))
		st, body = b.do(t, "GET", "/v1/customers/grace/export", "")
		require.Equal(t, 200, st)
		orders := body["orders"].([]any)
		require.Len(t, orders, 1)
		require.EqualValues(t, 1737.5, orders[0].(map[string]any)["revenue"], "899 and three lenses at 279.50: %v", orders[0])

		// The recommendations are rebuilt from imported history.
		st, body = b.do(t, "POST", "/v1/recommendations/rebuild", "")
		require.Equal(t, 202, st, "%v", body)
		require.EqualValues(t, 2, body["model"].(map[string]any)["orders"], "%v", body)

		require.Empty(t, b.seq.Started(), "an import enrols no one")
		require.Len(t, b.seq.Signals(), signals, "an import signals nothing")
		require.Empty(t, b.app.Mailer.Sent(), "an import sends nothing")

		// The same files again: nothing changes.
		_, body = b.importFile(t, "customers", "text/csv", importedCustomers)
		require.Equal(t, "rows=6 inserted=0 updated=0 unchanged=3 rejected=3 skipped=0", counts(body))
		_, body = b.importFile(t, "orders", "text/csv", importedOrders)
		require.Equal(t, "rows=7 inserted=0 updated=0 unchanged=3 rejected=3 skipped=0", counts(body))
		st, body = b.do(t, "GET", "/v1/customers/grace/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["consent_records"], 1, "a re-import adds no consent record")

		// A corrected line updates; JSON Lines work the same way.
		st, body = b.importFile(t, "orders", "application/x-ndjson",
			`{"order_id":"o-1","customer_id":"grace","occurred_at":"2025-01-10T09:00:00Z","sku":"lens-1","quantity":4,"price":279.5}
{"order_id":"o-9","customer_id":"grace","occurred_at":"2025-03-01","sku":"cam-1","quantity":1,"price":"899"}
{"order_id":"o-1","customer_id":"alan","occurred_at":"2025-01-10T09:00:00Z","sku":"bag-1","quantity":1,"price":10}
not json
{"order_id":"o-10","customer_id":"grace","occurred_at":"2025-03-01","sku":"cam-1","quantity":1,"price":1,"colour":"red"}
`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "rows=5 inserted=1 updated=1 unchanged=0 rejected=3 skipped=0", counts(body), "%v", body)
		require.Equal(t, []string{"3 customer_id", "4 ", "5 colour"}, rowErrors(body))
		st, body = b.do(t, "GET", "/v1/customers/grace/export", "")
		require.Equal(t, 200, st)
		for _, o := range body["orders"].([]any) {
			if o := o.(map[string]any); o["id"] == "o-1" {
				require.EqualValues(t, 899+4*279.5, o["revenue"], "the order's revenue follows its lines")
			}
		}
		require.Empty(t, b.seq.Started())
		require.Len(t, b.seq.Signals(), signals)
	})
}

const shopifyExport = `Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Fulfillment Service,Variant Price,Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode,Image Src,Image Position,Image Alt Text,Gift Card,Status
trail-shoe,Trail Shoe,<p>Grip.</p>,Acme,Apparel,Shoes,"running, trail",true,Size,42,TS-42,800,shopify,5,deny,manual,129.00,,true,true,,https://cdn.example/ts.jpg,1,Trail shoe,false,active
trail-shoe,,,,,,,,,43,TS-43,800,shopify,0,deny,manual,129.00,,true,true,,https://cdn.example/ts-side.jpg,2,,,
trail-shoe,,,,,,,,,,,,,,,,,,,,,https://cdn.example/ts-back.jpg,3,,,
socks,Wool Socks,,Acme,,,"socks, wool",true,Title,Default Title,WS-1,100,,,deny,manual,15.50,,true,true,,https://cdn.example/ws.jpg,1,,false,active
no-sku,No SKU,,Acme,,Misc,,true,Title,Default Title,,100,,,deny,manual,5,,true,true,,,,,false,active
`

// A catalogue goes in as Lift's columns or as Shopify's product export,
// as it comes.
func TestImportProductsAndShopifyExport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		st, body := b.importFile(t, "products", "text/csv", `sku,name,category,price,currency,url,image_url,in_stock,tier_rank,complements
cam-1,X100,cameras,899.00,USD,https://shop.example/cam-1,https://cdn.example/cam-1.jpg,true,0,lens-1;bag-1
lens-1,35mm lens,lenses,279.5,USD,,,no,,
yen-1,Kettle,home,1500,JPY,,,,,
bad-1,,misc,1,USD,,,,,
bad-2,Thing,misc,1.234,USD,,,,,
bad-3,Thing,misc,1,USD,ftp://x,,,,
`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "rows=6 inserted=3 updated=0 unchanged=0 rejected=3 skipped=0", counts(body), "%v", body)
		require.Equal(t, []string{"5 name", "6 price", "7 url"}, rowErrors(body))
		st, body = b.do(t, "GET", "/v1/products/cam-1", "")
		require.Equal(t, 200, st)
		require.Equal(t, []any{"lens-1", "bag-1"}, body["complements"], "%v", body)
		st, body = b.do(t, "GET", "/v1/products/yen-1", "")
		require.Equal(t, 200, st)
		require.EqualValues(t, 1500, body["price"], "%v", body)

		st, body = b.doWith(t, "POST", "/v1/imports/products?currency=EUR&shop_url=https://shop.example", shopifyExport,
			"Bearer "+key, "Content-Type", "text/csv")
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "rows=5 inserted=3 updated=0 unchanged=0 rejected=1 skipped=1", counts(body), "%v", body)
		require.Equal(t, []string{"6 Variant SKU"}, rowErrors(body))
		st, body = b.do(t, "GET", "/v1/products/TS-43", "")
		require.Equal(t, 200, st)
		require.Equal(t, "Trail Shoe – 43", body["name"])
		require.Equal(t, "Shoes", body["category"])
		require.EqualValues(t, 129, body["price"])
		require.Equal(t, "EUR", body["currency"])
		require.Equal(t, false, body["in_stock"], "no inventory left")
		require.Equal(t, "https://shop.example/products/trail-shoe", body["url"])
		require.Equal(t, "https://cdn.example/ts.jpg", body["image_url"])
		st, body = b.do(t, "GET", "/v1/products/WS-1", "")
		require.Equal(t, 200, st)
		require.Equal(t, "Wool Socks", body["name"])
		require.Equal(t, "socks", body["category"], "no type: the first tag")
		require.Equal(t, true, body["in_stock"], "inventory not tracked")

		_, body = b.doWith(t, "POST", "/v1/imports/products?currency=EUR&shop_url=https://shop.example", shopifyExport,
			"Bearer "+key, "Content-Type", "text/csv")
		require.Equal(t, "rows=5 inserted=0 updated=0 unchanged=3 rejected=1 skipped=1", counts(body), "%v", body)
	})
}

// What is wrong with the file as a whole is refused before any row.
func TestImportRefusesABadFile(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	st, body := b.importFile(t, "orders", "text/csv", "order_id,customer,sku\n")
	requireError(t, st, body, 422, "invalid", "header")
	require.Contains(t, body["error"].(map[string]any)["message"], `unknown column "customer"`)
	st, body = b.importFile(t, "customers", "text/csv", "customer_id,name\n")
	requireError(t, st, body, 422, "invalid", "header")
	require.Contains(t, body["error"].(map[string]any)["message"], `the "email" column is required`)
	st, body = b.importFile(t, "invoices", "text/csv", "a\n")
	requireError(t, st, body, 404, "not_found", "kind")
	st, body = b.importFile(t, "orders", "application/json", "{}")
	requireError(t, st, body, 400, "malformed", "Content-Type")
	st, body = b.importFile(t, "orders", "application/x-ndjson", strings.Repeat("x", 70<<10))
	requireError(t, st, body, 413, "too_large", "")
}

// An import outlives the server's read and write timeouts while it makes
// progress: the handler moves the deadlines on (production servers time
// out a request after 30 s; an import of millions of rows takes longer).
func TestImportOutlivesTheServerTimeouts(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	srv := httptest.NewUnstartedServer(b.h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintln(pw, "sku,name")
		for i := range 8 { // a slow sender: longer than both timeouts
			time.Sleep(100 * time.Millisecond)
			fmt.Fprintf(pw, "p-%d,Product %d\n", i, i)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", srv.URL+"/v1/imports/products", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	require.Equal(t, 200, res.StatusCode, "%s", out)
	require.Contains(t, string(out), `"inserted":8`)
}
