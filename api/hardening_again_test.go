package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/testdb"
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

// A sign-in posted from another site is refused: no session to carry a
// CSRF token exists yet, so the browser's own word decides.
func TestConsoleSignInRefusesAnotherSite(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	evil := &browser{t: t, b: b, headers: []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}}
	require.Equal(t, 403, evil.signIn(key))
	require.Empty(t, evil.cookie, "no session")
	origin := &browser{t: t, b: b, headers: []string{"Origin", "https://evil.example"}}
	require.Equal(t, 403, origin.signIn(key), "an older browser without Sec-Fetch-Site still sends Origin")
	own := &browser{t: t, b: b, headers: []string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}}
	require.Equal(t, 303, own.signIn(key))
	public := &browser{t: t, b: b, headers: []string{"Origin", apptest.PublicURL}}
	require.Equal(t, 303, public.signIn(key), "LIFT_PUBLIC_URL's host, behind a proxy")
	require.Equal(t, 303, (&browser{t: t, b: b}).signIn(key), "curl sends neither")
}

// Marketers see a destination's scheme and host, never the path that is
// often the hook's secret; admins see it whole. Network failures are
// stored and logged in words that name no host.
func TestDestinationURLsAndErrorsKeepTheirSecrets(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	secret := strings.Repeat("s", 32)
	st, body := b.do(t, "PUT", "/v1/destinations/slack", `{"url":"https://hooks.slack.example/services/T000/B000/XXXXSECRET","secret":"`+secret+`"}`)
	require.Equal(t, 200, st, "%v", body)
	marketer := "Bearer " + b.newKey(t, "marketing", domain.KeyScopeMarketer)
	st, body = b.doWith(t, "GET", "/v1/destinations/slack", "", marketer)
	require.Equal(t, 200, st)
	require.Equal(t, "https://hooks.slack.example/…", body["url"])
	st, body = b.do(t, "GET", "/v1/destinations/slack", "")
	require.Equal(t, 200, st)
	require.Contains(t, body["url"], "XXXXSECRET")

	for _, err := range []error{
		&url.Error{Op: "Post", URL: "http://2130706433/hook", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "2130706433", IsNotFound: true}}},
		&url.Error{Op: "Post", URL: "http://10.0.0.7:9/hook", Err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 9}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}},
		context.DeadlineExceeded,
	} {
		msg := app.NetError(err)
		require.NotContains(t, msg, "2130706433")
		require.NotContains(t, msg, "10.0.0.7")
		require.NotEqual(t, "a network error", msg, "%v is classified", err)
	}
}

// Imports and journey reads are on record; a customer ID that is an
// email address is refused (it would outlive erasure in history and logs).
func TestImportsAndJourneyReadsAreAuditedAndIDsAreNotEmails(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		st, body := b.importFile(t, "customers", "text/csv", "customer_id,email\ngrace,grace@example.com\n")
		require.Equal(t, 200, st, "%v", body)
		require.Len(t, b.audit(t, "?action=data.import&subject_id=import:customers").Entries, 1)
		st, _ = b.do(t, "GET", "/v1/customers/ada/journeys", "")
		require.Equal(t, 200, st)
		require.Len(t, b.audit(t, "?action=journey.read&subject_id=ada").Entries, 1)

		st, body = b.do(t, "PUT", "/v1/customers/ada@example.com", `{"email":"ada@example.com"}`)
		requireError(t, st, body, 422, "invalid", "id")
		_, body = b.importFile(t, "customers", "text/csv", "customer_id,email\nlinus@example.org,linus@example.org\n")
		require.EqualValues(t, 1, body["rejected"], "%v", body)
	})
}

// The console's A/B form on a flow that sends no email says so, never 500.
func TestConsoleABFormOnAFlowWithoutEmail(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	secret := strings.Repeat("s", 32)
	st, body := b.do(t, "PUT", "/v1/destinations/crm", `{"url":"https://crm.example/hook","secret":"`+secret+`"}`)
	require.Equal(t, 200, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns", `{"id":"hook-only","name":"Hook","kind":"cross_sell","trigger":{"event":"purchase"},
		"steps":[{"id":"tell","webhook":{"destination":"crm"}}]}`)
	require.Equal(t, 201, st, "%v", body)
	st, body = b.do(t, "POST", "/v1/campaigns/hook-only/publish", "")
	require.Equal(t, 201, st, "%v", body)
	br := &browser{t: t, b: b}
	require.Equal(t, 303, br.signIn(key))
	st, page, _ := br.get("/console/campaigns/hook-only/tests/new")
	require.Equal(t, 422, st, page)
	csrf := csrfRE.FindStringSubmatch(func() string { _, p, _ := br.get("/console/campaigns/hook-only"); return p }())
	require.Len(t, csrf, 2)
	st, page, _ = br.post("/console/campaigns/hook-only/tests", url.Values{"csrf": {csrf[1]}, "step": {"tell"}, "action": {"preview"}})
	require.Equal(t, 422, st, page)
	require.Contains(t, page, "sends no email")
}
