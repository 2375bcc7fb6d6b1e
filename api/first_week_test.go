package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A preview without trigger_skus is about the customer's latest event
// the campaign's trigger matches, filter included: a furniture campaign
// previews the chair, not the file box bought since; with no such event
// it says so.
func TestPreviewUsesTheLatestEventTheTriggerMatches(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		for sku, p := range map[string]string{
			"chair": `{"name":"Office Chair","category":"furniture","price":199,"complements":["desk"]}`,
			"desk":  `{"name":"Desk","category":"furniture","price":399}`,
			"box":   `{"name":"File Box","category":"office","price":9,"complements":["cam-1"]}`,
		} {
			st, body := b.do(t, "PUT", "/v1/products/"+sku, p)
			require.Equal(t, 200, st, "%v", body)
		}
		furniture := strings.NewReplacer(`"id": "camera-accessories"`, `"id": "furniture"`, `"category": "cameras"`, `"category": "furniture"`).Replace(cameraCampaign)
		st, body := b.do(t, "POST", "/v1/campaigns", furniture)
		require.Equal(t, 201, st, "%v", body)
		preview := func() map[string]any {
			st, body := b.do(t, "POST", "/v1/campaigns/furniture/preview", `{"customer_id":"ada","step":"complement"}`)
			require.Equal(t, 200, st, "%v", body)
			return body
		}
		body = preview()
		require.Contains(t, fmt.Sprint(body["warnings"]), "no matching event", "ada bought no furniture yet")

		b.app.SetNow(b.app.Clock())
		for i, sku := range []string{"chair", "box"} {
			st, body := b.do(t, "POST", "/v1/events", fmt.Sprintf(`{"id":"ev-%d","type":"purchase","customer_id":"ada","occurred_at":"2026-05-0%dT09:00:00Z",
				"properties":{"order_id":"o-%d","items":[{"sku":"%s","quantity":1,"price":1}]}}`, i, i+1, i, sku))
			require.Equal(t, 202, st, "%v", body)
		}
		body = preview()
		require.Contains(t, body["subject"], "Office Chair", "the chair, the latest purchase the trigger matches, not the file box after it")
		require.NotContains(t, fmt.Sprint(body["warnings"]), "no matching event")
	})
}
