package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/models"
)

// Issue 26: no event is lost at the door.

// An order tracked before the identify that creates its customer is
// held, answered with why, and applied when the customer appears: the
// order is in their history and, still inside enter_within, enrols them.
func TestAnOrderBeforeItsCustomerIsHeldAndApplied(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		order := `{"id":"ev-first","type":"purchase","customer_id":"new-1","properties":{"order_id":"o-first","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`
		st, body := b.do(t, "POST", "/v1/events", order)
		require.Equal(t, 202, st, "%v", body)
		require.Contains(t, body["held"], `no customer "new-1" yet`)
		require.Empty(t, b.seq.Started(), "nobody to send to yet")
		st, body = b.do(t, "POST", "/v1/events", order)
		require.Equal(t, 202, st, "a retry is held once: %v", body)

		st, body = b.do(t, "PUT", "/v1/customers/new-1", `{"email":"new-1@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		started := b.seq.Started()
		require.Len(t, started, 1, "the first order enrols, as it would have")
		require.Equal(t, "new-1", started[0].CustomerID)
		st, body = b.do(t, "GET", "/v1/customers/new-1/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 1, "the order is in the customer's history")
		var held int64
		require.NoError(t, b.store.DB().Model(&models.HeldEvent{}).Count(&held).Error)
		require.Zero(t, held, "applied once, then let go")

		// Held past the campaign's enter_within (24 h): history, not a journey.
		late := strings.NewReplacer("new-1", "new-2", "ev-first", "ev-late", "o-first", "o-late").Replace(order)
		st, _ = b.do(t, "POST", "/v1/events", late)
		require.Equal(t, 202, st)
		b.app.SetNow(b.app.Clock().Add(30 * time.Hour))
		st, _ = b.do(t, "PUT", "/v1/customers/new-2", `{"email":"new-2@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st)
		require.Len(t, b.seq.Started(), 1, "an order older than enter_within starts nothing")
		st, body = b.do(t, "GET", "/v1/customers/new-2/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 1)
	})
}

// Segment: Order Completed before the identify (what a checkout that
// creates the account sends) is held and applied; an anonymous visitor's
// calls follow them when an identify or alias names them.
func TestSegmentCallsBeforeTheCustomerAreKept(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		track := func(body string) map[string]any {
			st, out := b.doWith(t, "POST", "/segment/v1/track", body, basic(key))
			require.Equal(t, 200, st, "%v", out)
			return out
		}
		completed := func(user, anon, msg, order string) string {
			return fmt.Sprintf(`{"type":"track","userId":%q,"anonymousId":%q,"messageId":%q,"event":"Order Completed",
				"properties":{"order_id":%q,"currency":"USD","revenue":899,"products":[{"product_id":"cam-1","sku":"cam-1","price":899,"quantity":1}]}}`,
				user, anon, msg, order)
		}
		out := track(completed("u-9", "", "m-1", "o-9"))
		require.Equal(t, "held", out["outcome"])
		require.Contains(t, out["reason"], `no customer "u-9" yet`)
		st, body := b.doWith(t, "POST", "/segment/v1/identify", `{"type":"identify","userId":"u-9","messageId":"m-2",
			"traits":{"email":"u9@example.com"}}`, basic(key))
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "recorded", body["outcome"])
		st, body = b.do(t, "GET", "/v1/customers/u-9/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 1, "the first order joins the history")

		// An anonymous visitor views a product, then signs up.
		out = track(`{"type":"track","anonymousId":"anon-7","messageId":"m-3","event":"Order Completed",
			"properties":{"order_id":"o-anon","currency":"USD","products":[{"sku":"cam-1","price":899,"quantity":1}]}}`)
		require.Equal(t, "held", out["outcome"])
		st, body = b.doWith(t, "POST", "/segment/v1/identify", `{"type":"identify","userId":"u-10","anonymousId":"anon-7",
			"messageId":"m-4","traits":{"email":"u10@example.com"}}`, basic(key))
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "GET", "/v1/customers/u-10/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 1, "the anonymous visitor's order follows them")

		// alias ties an anonymous ID to a customer who exists already.
		track(`{"type":"track","anonymousId":"anon-8","messageId":"m-5","event":"Order Completed",
			"properties":{"order_id":"o-alias","currency":"USD","products":[{"sku":"lens-1","price":279.5,"quantity":1}]}}`)
		st, body = b.doWith(t, "POST", "/segment/v1/alias", `{"type":"alias","userId":"u-9","previousId":"anon-8","messageId":"m-6"}`, basic(key))
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "GET", "/v1/customers/u-9/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 2)

		// An imported order sent again through Segment is declined with the
		// reason in the answer, as REST's 409 says it.
		st, body = b.importFile(t, "orders", "text/csv", "order_id,customer_id,occurred_at,sku,quantity,price\no-imp,u-9,2026-04-01,cam-1,1,899\n")
		require.Equal(t, 200, st, "%v", body)
		out = track(completed("u-9", "", "m-7", "o-imp"))
		require.Equal(t, "invalid", out["outcome"])
		require.Contains(t, out["reason"], "properties.order_id")
	})
}

// The customer import applies what was held for the customers it creates;
// the purge lets go of what waited longer than seven days.
func TestImportsApplyHeldEventsAndThePurgeEndsThem(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		for _, c := range []string{"imp-1", "gone-1"} {
			st, body := b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"`+c+`","properties":{"order_id":"o-`+c+`","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
			require.Equal(t, 202, st, "%v", body)
		}
		st, body := b.importFile(t, "customers", "text/csv", "customer_id,email\nimp-1,imp-1@example.com\n")
		require.Equal(t, 200, st, "%v", body)
		st, body = b.do(t, "GET", "/v1/customers/imp-1/export", "")
		require.Equal(t, 200, st)
		require.Len(t, body["orders"], 1)

		b.app.SetNow(b.app.Clock().Add(8 * 24 * time.Hour))
		p, err := b.app.App.Store.Purge(context.Background(), b.app.Clock(), time.Hour*24*365)
		require.NoError(t, err)
		require.EqualValues(t, 1, p.HeldEvents, "gone-1 never came")
	})
}
