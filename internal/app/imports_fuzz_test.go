package app

import (
	"bytes"
	"testing"
	"time"
)

// FuzzImportRows feeds arbitrary files through the import's readers and
// row checks of every kind: they must never panic, and an accepted order
// line must be whole.
func FuzzImportRows(f *testing.F) {
	for _, seed := range []string{
		"order_id,customer_id,occurred_at,sku,quantity,price,currency\no-1,c,2025-01-01,a,2,9.99,USD\n",
		"order_id,customer_id,occurred_at,sku,quantity,price,currency\no-1,c,2025-01-01T00:00:00Z,a,1,1500,JPY\no-1,d,2025-01-01,a,1,1,USD\n",
		"\xef\xbb\xbfcustomer_id,email,marketing_consent,consent_source,consent_at\nc,a@example.com,yes,form,2024-01-01\n",
		"Handle,Title,Type,Variant SKU,Variant Price,Variant Inventory Qty,Image Src\nh,T,,S-1,1.5,-3,https://x/y.jpg\nh,,,,,,https://x/z.jpg\n",
		`{"order_id":"o","customer_id":"c","occurred_at":"2025-01-01","sku":"a","quantity":1e308,"price":-0}`,
		`{"sku":"a","name":"n","complements":["b",1]}` + "\n" + `{"sku":"a","name":"n","complements":"b;c;a"}`,
		"a,\"b\nc\",d\n\"", "\n\n\n{", "sku,name\n\"unterminated\n",
	} {
		f.Add([]byte(seed))
	}
	a := &App{Deps: Deps{Now: func() time.Time { return time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC) }}}
	f.Fuzz(func(t *testing.T, body []byte) {
		format := FormatCSV
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			format = FormatNDJSON
		}
		for _, im := range []importer{&customerImporter{a: a}, &productImporter{a: a}, &orderImporter{a: a}} {
			src, err := newRowSource(format, bytes.NewReader(body))
			if err != nil || im.columns(src) != nil {
				continue
			}
			for range 1000 {
				line, r, err := src.next()
				if err != nil {
					if _, ok := err.(*RowError); ok {
						continue
					}
					break
				}
				_, _ = im.add(line, r)
			}
			if o, ok := im.(*orderImporter); ok {
				for _, l := range o.lines {
					if l.Quantity < 1 || l.PriceMinor < 0 || l.OrderID == "" || l.SKU == "" || l.CustomerID == "" || l.Currency == "" {
						t.Fatalf("accepted a bad order line: %+v", l)
					}
				}
			}
		}
	})
}
