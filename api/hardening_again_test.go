package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/unsub"
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

// Test sends go only where an operator allowed, at a bounded rate per
// key, and the audit log names the recipient.
func TestTestSendsGoOnlyWhereAllowedAtABoundedRate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.app.App.Settings.TestSendAllow = []string{"shop.example", "ceo@partner.example"}
		b.app.App.Settings.TestSendsPerHour = 3
		b.seed(t)
		st, _ := b.do(t, "POST", "/v1/events", fmt.Sprintf(purchase, "ev-1", "o-1", "cam-1"))
		require.Equal(t, 202, st)
		marketer := "Bearer " + b.newKey(t, "marketing", domain.KeyScopeMarketer)
		send := func(to string) (int, map[string]any) {
			return b.doWith(t, "POST", "/v1/campaigns/camera-accessories/test-send",
				`{"customer_id":"ada","step":"complement","to":"`+to+`"}`, marketer)
		}
		for _, to := range []string{"victim@bank.example", "ceo@partner.example.evil", "x@notshop.example"} {
			st, body := send(to)
			requireError(t, st, body, 403, "forbidden", "to")
		}
		require.Empty(t, b.mailer.Sent(), "nothing went to an address nobody allowed")
		for _, to := range []string{"review@shop.example", "ceo@partner.example", "qa@eu.shop.example"} {
			st, body := send(to)
			require.Equal(t, 202, st, "%v", body)
		}
		st, body := send("review@shop.example")
		requireError(t, st, body, 429, "too_many_requests", "")
		require.Len(t, b.mailer.Sent(), 3)
		entries := b.audit(t, "?action=campaign.test_send").Entries
		var subjects []string
		for _, e := range entries {
			subjects = append(subjects, e.Subject)
		}
		require.Contains(t, subjects, "to:ceo@partner.example", "the recipient is on record")
		require.Contains(t, subjects, "ada")
	})
}

// A preview's data carries the inert unsubscribe URL: copy that compares
// the footer's link character by character learns nothing of the token.
func TestPreviewsCarryNoRealUnsubscribeTokenToCompare(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		probe := strings.Replace(cameraCampaign, `"template": "education"`,
			`"template": "education", "body": "{{if ge .Footer.UnsubscribeAllURL \"https://lift.example.com/u/M\"}}HIGH{{else}}LOW{{end}}"`, 1)
		st, body := b.do(t, "PUT", "/v1/campaigns/camera-accessories", probe)
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"guide"}`)
		require.Equal(t, 200, st, "%v", body)
		// "/u/test-send" sorts above "/u/M" whatever the customer's token.
		require.Contains(t, body["text"], "HIGH")
		require.NotContains(t, fmt.Sprint(body), signer(t).Token(unsub.Scope{CustomerID: "ada"}))
	})
}

// A call from a browser (a public write key) cannot take over a known
// customer's email or consent; a server's can, and a setting can narrow
// that to named keys.
func TestSegmentBrowserCallsCannotChangeAKnownProfile(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.app.App.Settings.Segment.ConsentTrait = "marketing_opt_in"
		st, body := b.do(t, "PUT", "/v1/customers/u-1", `{"email":"owner@example.com","marketing_consent":false}`)
		require.Equal(t, 200, st, "%v", body)
		identify := func(channel, email string) {
			st, body := b.doWith(t, "POST", "/segment/v1/identify", `{"type":"identify","userId":"u-1","channel":"`+channel+
				`","messageId":"m-`+channel+`","traits":{"email":"`+email+`","marketing_opt_in":true}}`, basic(key))
			require.Equal(t, 200, st, "%v", body)
		}
		identify("client", "attacker@evil.example")
		identify("browser", "attacker@evil.example")
		c, err := b.store.GetCustomer(context.Background(), "u-1")
		require.NoError(t, err)
		require.Equal(t, "owner@example.com", c.Email)
		require.False(t, c.Consent)

		identify("server", "new-owner@example.com")
		c, err = b.store.GetCustomer(context.Background(), "u-1")
		require.NoError(t, err)
		require.Equal(t, "new-owner@example.com", c.Email)
		require.True(t, c.Consent, "the server's call records consent")

		// Segment batches have the events' bound.
		items := strings.TrimSuffix(strings.Repeat(`{"type":"page","userId":"u-1"},`, 1001), ",")
		st, body = b.doWith(t, "POST", "/segment/v1/batch", `{"batch":[`+items+`]}`, basic(key))
		requireError(t, st, body, 422, "invalid", "batch")
	})
}
