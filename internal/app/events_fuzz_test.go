package app

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzEventParsing feeds arbitrary events through the validator: it must
// never panic, and an accepted purchase must carry a consistent order.
func FuzzEventParsing(f *testing.F) {
	for _, seed := range []string{
		`{"type":"purchase","customer_id":"c","properties":{"order_id":"o","items":[{"sku":"a","quantity":2,"price":9.99}],"revenue":19.98}}`,
		`{"type":"purchase","customer_id":"c","properties":{"order_id":"o","currency":"JPY","items":[{"sku":"a","quantity":1,"price":1500}]}}`,
		`{"type":"usage","customer_id":"c","properties":{"metric":"orders","used":847,"limit":1000}}`,
		`{"type":"purchase","customer_id":"c","properties":{"order_id":"o","items":[{"sku":"a","quantity":1e308,"price":-0}]}}`,
		`{"type":"milestone","customer_id":"c","occurred_at":"2026-01-02T03:04:05Z","properties":{"name":"x"}}`,
		`{"type":"page_view","customer_id":"c","properties":{"sku":null}}`,
		`{"id":"\u0000","type":"unsubscribe","customer_id":"c","properties":{"campaign_id":7}}`,
		`[]`, `{}`, `null`, `{"type":"purchase","customer_id":"c","properties":{"items":[1,"x",{}]}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var ev Event
		if err := jsonStrict(body, &ev); err != nil {
			return
		}
		if _, err := normalize(ev.Properties, "properties"); err != nil {
			return
		}
		order, err := validateEvent(&ev, now)
		if err != nil || order == nil {
			return
		}
		if len(order.Items) == 0 || order.RevenueMinor < 0 {
			t.Fatalf("accepted an inconsistent order: %+v", order)
		}
		for _, it := range order.Items {
			if it.Quantity < 1 || it.PriceMinor < 0 || it.SKU == "" {
				t.Fatalf("accepted a bad item: %+v", it)
			}
		}
	})
}

// jsonStrict decodes as the API does: numbers kept as json.Number.
func jsonStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(dst)
}
