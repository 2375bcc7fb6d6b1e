package api_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/domain"
)

// basic is the Authorization header Segment's libraries send: the write
// key as the Basic user name, no password.
func basic(writeKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(writeKey+":"))
}

// Segment's own payload examples (the identify and track specs, the
// e-commerce spec's Order Completed), posted as its libraries post them.
const segmentIdentify = `{
  "anonymousId": "507f191e810c19729de860ea",
  "channel": "browser",
  "context": {"ip": "8.8.8.8", "locale": "en-US", "timezone": "America/Los_Angeles",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/40.0.2214.115 Safari/537.36"},
  "integrations": {"All": false, "Mixpanel": true, "Salesforce": true},
  "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
  "receivedAt": "2015-02-23T22:28:55.387Z",
  "sentAt": "2015-02-23T22:28:55.111Z",
  "timestamp": "2015-02-23T22:28:55.111Z",
  "traits": {"name": "Peter Gibbons", "email": "peter@example.com", "plan": "premium", "logins": 5,
    "address": {"street": "6th St", "city": "San Francisco", "state": "CA", "postalCode": "94103", "country": "USA"}},
  "type": "identify",
  "userId": "97980cfea0067",
  "version": "1.1"
}`

func segmentOrder(messageID, at string) string {
	return fmt.Sprintf(`{
  "type": "track", "userId": "97980cfea0067", "messageId": %q, "timestamp": %q,
  "event": "Order Completed",
  "context": {"library": {"name": "analytics-go", "version": "3.0.0"}},
  "properties": {"checkout_id": "fksdjfsdjfisjf9sdfjsd9f", "order_id": "50314b8e9bcf000000000000", "affiliation": "Google Store",
    "total": 27.50, "subtotal": 22.50, "revenue": 25.00, "shipping": 3, "tax": 2, "discount": 2.5, "coupon": "hasbros", "currency": "USD",
    "products": [
      {"product_id": "507f1f77bcf86cd799439011", "sku": "cam-1", "name": "Monopoly: 3rd Edition", "price": 19, "quantity": 1, "category": "Games",
       "url": "https://www.example.com/product/path", "image_url": "https:///www.example.com/product/path.jpg"},
      {"product_id": "505bd76785ebb509fc183733", "sku": "46493-32", "name": "Uno Card Game", "price": 3, "quantity": 2, "category": "Games"}]}
}`, messageID, at)
}

const segmentCourseClicked = `{
  "anonymousId": "507f191e810c19729de860ea",
  "context": {"ip": "8.8.8.8", "library": {"name": "analytics.js", "version": "2.11.1"}, "locale": "en-US", "timezone": "Europe/Amsterdam"},
  "event": "Course Clicked",
  "integrations": {"All": true, "Mixpanel": false, "Salesforce": false},
  "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
  "properties": {"title": "Intro to Analytics"},
  "receivedAt": "2015-12-12T19:11:01.266Z",
  "sentAt": "2015-12-12T19:11:01.169Z",
  "timestamp": "2015-12-12T19:11:01.249Z",
  "type": "track",
  "userId": "97980cfea0067",
  "originalTimestamp": "2015-12-12T19:11:01.152Z"
}`

func TestSegmentSource(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t) // camera-accessories starts on a purchase of a camera
		seg := func(path, body string) (int, map[string]any) {
			return b.doWith(t, "POST", "/segment/v1/"+path, body, basic(key))
		}
		st, body := seg("identify", segmentIdentify)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, true, body["success"])
		st, cust := b.do(t, "GET", "/v1/customers/97980cfea0067", "")
		require.Equal(t, 200, st)
		require.Equal(t, "peter@example.com", cust["email"])
		require.Equal(t, "Peter Gibbons", cust["name"])
		require.Equal(t, "America/Los_Angeles", cust["timezone"])
		require.Equal(t, "premium", cust["tier"])
		require.Equal(t, false, cust["marketing_consent"], "consent is never assumed")
		require.Equal(t, "segment", cust["consent_source"], "the record says where the profile came from")

		// Consent from the configured trait only, kept as a record.
		b.app.App.Settings.Segment.ConsentTrait = "marketing_opt_in"
		st, _ = seg("identify", `{"type":"identify","userId":"97980cfea0067","traits":{"marketing_opt_in":true},"context":{"ip":"203.0.113.9"}}`)
		require.Equal(t, 200, st)
		_, export := b.do(t, "GET", "/v1/customers/97980cfea0067/export", "")
		records := export["consent_records"].([]any)
		require.Len(t, records, 2, "%v", records)
		last := records[1].(map[string]any)
		require.Equal(t, true, last["granted"])
		require.Equal(t, "segment:marketing_opt_in", last["source"])
		require.Equal(t, "peter@example.com", export["customer"].(map[string]any)["email"], "what identify does not say stays")

		// Order Completed is a purchase with its products; messageId makes
		// a retry the same event.
		now := apptest.Now.Add(-time.Minute).Format(time.RFC3339)
		st, body = seg("track", segmentOrder("ajs-order-1", now))
		require.Equal(t, 200, st, "%v", body)
		require.Len(t, b.seq.Started(), 1, "the purchase started the cross-sell")
		st, _ = seg("track", segmentOrder("ajs-order-1", now))
		require.Equal(t, 200, st)
		require.Len(t, b.seq.Started(), 1, "a retry is not a second purchase")
		_, export = b.do(t, "GET", "/v1/customers/97980cfea0067/export", "")
		order := export["orders"].([]any)[0].(map[string]any)
		require.EqualValues(t, 25, order["revenue"], "revenue as Segment says")
		require.Len(t, order["items"], 2)

		// What Lift does not model is answered 200 and counted, not refused.
		for _, body := range []string{segmentCourseClicked, `{"type":"track","anonymousId":"a-1","event":"Order Completed"}`,
			`{"type":"track","userId":"stranger","event":"Product Viewed","properties":{"sku":"cam-1"}}`} {
			st, out := seg("track", body)
			require.Equal(t, 200, st, "%v", out)
		}
		st, _ = seg("page", `{"type":"page","userId":"97980cfea0067","name":"Home","properties":{"url":"https://shop.example/"}}`)
		require.Equal(t, 200, st)
		events := len(export["events"].([]any))
		_, export = b.do(t, "GET", "/v1/customers/97980cfea0067/export", "")
		require.Len(t, export["events"], events, "nothing recorded for them")

		// A batch, as analytics-go sends it; a product page is a page_view.
		batch := `{"batch":[` + segmentCourseClicked + `,
		  {"type":"page","userId":"97980cfea0067","messageId":"p-1","timestamp":"` + now + `","properties":{"product_id":"lens-1"}},
		  {"type":"track","userId":"97980cfea0067","messageId":"p-2","timestamp":"` + now + `","event":"Product Viewed","properties":{"sku":"cam-1"}}
		],"sentAt":"` + now + `","context":{"library":{"name":"analytics-go"}}}`
		st, body = seg("batch", batch)
		require.Equal(t, 200, st, "%v", body)
		_, export = b.do(t, "GET", "/v1/customers/97980cfea0067/export", "")
		require.Len(t, export["events"], events+2)

		// Auth: the write key is a Lift key with the ingest scope.
		st, body = b.doWith(t, "POST", "/segment/v1/track", segmentCourseClicked, "")
		requireError(t, st, body, 401, "unauthorized", "")
		st, body = b.doWith(t, "POST", "/segment/v1/track", segmentCourseClicked, basic("lift_not_a_key"))
		requireError(t, st, body, 401, "unauthorized", "")
		marketer := b.newKey(t, "marketing", domain.KeyScopeMarketer)
		st, body = b.doWith(t, "POST", "/segment/v1/track", segmentCourseClicked, basic(marketer))
		requireError(t, st, body, 403, "forbidden", "")
		// Segment's size limits: 32 KB a call, 500 KB a batch.
		big := strings.Replace(segmentCourseClicked, `"Intro to Analytics"`, `"`+strings.Repeat("x", 33<<10)+`"`, 1)
		st, body = seg("track", big)
		requireError(t, st, body, 413, "too_large", "")
		st, body = seg("batch", `{"batch":[`+strings.Repeat(segmentCourseClicked+",", 1000)+segmentCourseClicked+`]}`)
		requireError(t, st, body, 413, "too_large", "")
	})
}
