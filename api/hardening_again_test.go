package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/models"
)

// Issue 24 (hardened again): each finding of the audit, replayed.

// A list inside a list in a condition is refused when the campaign is
// saved; a definition stored before that check matches an event without
// a panic, alone and in a batch.
func TestNestedConditionListsAreRefusedAndNeverPanic(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		bad := strings.Replace(cameraCampaign, `"id": "camera-accessories"`, `"id": "nested"`, 1)
		bad = strings.Replace(bad, `"where": {"category": "cameras"}`, `"where": {"tags": [["a"]]}`, 1)
		st, body := b.do(t, "POST", "/v1/campaigns", bad)
		requireError(t, st, body, 422, "invalid", "trigger.where.tags")

		// The published version as an older Lift would have stored it.
		var v models.CampaignVersion
		require.NoError(t, b.store.DB().Where("campaign_id = ? AND version = 1", "camera-accessories").Take(&v).Error)
		var def map[string]any
		require.NoError(t, json.Unmarshal(v.Definition, &def))
		def["trigger"].(map[string]any)["where"] = map[string]any{"tags": []any{[]any{"a"}}}
		raw, _ := json.Marshal(def)
		require.NoError(t, b.store.DB().Model(&v).Where("campaign_id = ? AND version = 1", "camera-accessories").Update("definition", raw).Error)

		ev := func(id string) string {
			return fmt.Sprintf(`{"id":"%s","type":"purchase","customer_id":"ada","properties":{"order_id":"o-%s","tags":[["a"]],
				"items":[{"sku":"cam-1","quantity":1,"price":899}]}}`, id, id)
		}
		st, body = b.do(t, "POST", "/v1/events", ev("one"))
		require.Equal(t, 202, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/events:batch", `{"events":[`+ev("two")+`,`+ev("three")+`]}`)
		require.Equal(t, 200, st, "%v", body)
		for _, item := range body["results"].([]any) {
			require.EqualValues(t, 202, item.(map[string]any)["status"], "%v", item)
		}
		require.Empty(t, b.seq.Started(), "nothing equals a list inside a list")
	})
}
