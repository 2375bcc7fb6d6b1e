package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
)

// A new key's secret is never stored, not even as a stored answer for an
// Idempotency-Key: a retry makes another key.
func TestNewKeysAreNotKeptForReplay(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		create := func() map[string]any {
			st, out := b.doWith(t, "POST", "/v1/api-keys", `{"name":"checkout","scopes":["ingest"]}`, "Bearer "+key,
				"Idempotency-Key", "make-checkout-key")
			require.Equal(t, 201, st, "%v", out)
			return out
		}
		first, again := create(), create()
		require.NotEqual(t, first["id"], again["id"], "a retry makes another key; the first stays listed")
		var bodies []string
		require.NoError(t, b.store.DB().Model(&models.IdempotencyRecord{}).Pluck("body", &bodies).Error)
		for _, body := range bodies {
			require.NotContains(t, body, first["key"].(string))
		}
		for _, k := range []map[string]any{first, again} {
			st, _ := b.doWith(t, "GET", "/v1/products/cam-1", "", "Bearer "+k["key"].(string))
			require.NotEqual(t, 401, st)
		}
	})
}

// Two admins revoking each other's keys at once leave one admin key.
func TestTheLastAdminKeySurvivesConcurrentRevokes(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.newKey(t, "second-admin", domain.KeyScopeAdmin)
		ids := b.keyIDs(t)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, id := range []string{ids["test"], ids["second-admin"]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = b.app.App.RevokeKey(context.Background(), id)
			}()
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorContains(t, err, "last admin key")
				failed++
			}
		}
		require.Equal(t, 1, failed, "one revoke wins, the other is refused")
		var active int64
		require.NoError(t, b.store.DB().Model(&models.APIKey{}).Where("revoked_at IS NULL").Count(&active).Error)
		require.EqualValues(t, 1, active)
	})
}

// Parallel guesses all count, and an IPv6 client is counted by its /64.
func TestSignInAttemptsCountBeforeTheKeyIsChecked(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		var wg sync.WaitGroup
		for i := range 3 * app.MaxSignInFailures {
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := &browser{t: t, b: b, addr: fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)}
				br.signIn("guess")
			}()
		}
		wg.Wait()
		br := &browser{t: t, b: b, addr: "[2001:db8:1:2:ffff::1]:443"}
		st := br.signIn(key)
		require.Equal(t, 429, st, "the same /64, over the limit")
		br = &browser{t: t, b: b, addr: "[2001:db8:1:3::1]:443"}
		st = br.signIn(key)
		require.Equal(t, 303, st, "another /64")
		var sources []string
		require.NoError(t, b.store.DB().Model(&models.SignInFailure{}).Distinct().Pluck("source", &sources).Error)
		require.Len(t, sources, 1)
		// A hash, never the address: a hex digest can hold "2001" by
		// chance, so the check is its form, not a substring.
		require.Regexp(t, `^[0-9a-f]{64}$`, sources[0], "the address is kept only as a keyed hash")
	})
}

// A read whose audit entry cannot be stored shows nothing.
func TestReadsThatCannotBeAuditedShowNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		require.NoError(t, b.store.DB().Migrator().DropTable(&models.AuditEntry{}))
		for _, path := range []string{"/v1/customers/ada", "/v1/customers/ada/export"} {
			st, body := b.do(t, "GET", path, "")
			requireError(t, st, body, 503, "unavailable", "")
			require.NotContains(t, fmt.Sprint(body), "ada@example.com", path)
		}
	})
}

// The message list and the audience export record whom they showed.
func TestListsAndExportsRecordEveryCustomerShown(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		db := b.store.DB()
		t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		for _, c := range []string{"ada", "bob"} {
			st, body := b.do(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","marketing_consent":true}`)
			require.Equal(t, 200, st, "%v", body)
			enr := "seg-" + c
			require.NoError(t, db.Create(&models.Enrollment{ID: enr, CustomerID: c, CampaignID: "camera-accessories", Version: 1,
				WorkflowID: "w-" + enr, Variant: "A", Status: domain.StatusCompleted, EnrolledAt: t0}).Error)
			require.NoError(t, db.Create(&models.Message{ID: "m-" + enr, IdempotencyKey: enr + "/guide", EnrollmentID: enr, StepID: "guide",
				CustomerID: c, CampaignID: "camera-accessories", Variant: "A", Status: domain.MessageSent, SentAt: &t0, OpenedAt: &t0}).Error)
		}
		st, _ := b.do(t, "GET", "/v1/messages?campaign_id=camera-accessories", "")
		require.Equal(t, 200, st)
		for _, c := range []string{"ada", "bob"} {
			require.Len(t, b.audit(t, "?action=message.read&subject_id="+c).Entries, 1, c)
		}
		req := httptest.NewRequest("GET", "/v1/campaigns/camera-accessories/segments/opened-not-converted?step=guide", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "bob")
		for _, s := range []string{"ada", "bob", "camera-accessories"} {
			require.Len(t, b.audit(t, "?action=segment.export&subject_id="+s).Entries, 1, s)
		}
	})
}

// A held message is settled by an admin: sent, or not sent (the waiting
// step then sends it); anything not held is a conflict.
func TestHeldMessagesAreResolvedByAnAdmin(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		ctx := context.Background()
		for _, id := range []string{"m-1", "m-2"} {
			_, _, err := b.store.ClaimMessage(ctx, &models.Message{ID: id, EnrollmentID: "e-" + id, StepID: "complement", CustomerID: "ada",
				CampaignID: "camera-accessories", Variant: "A", Status: domain.MessagePending})
			require.NoError(t, err)
			require.NoError(t, b.store.SaveRendered(ctx, id, models.Rendered{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi"}))
			ok, err := b.store.ClaimSending(ctx, id, domain.MessageReady, nil, apptest.Now)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, b.store.NoteMessage(ctx, id, "held: …"))
		}
		st, body := b.do(t, "POST", "/v1/messages/m-1/resolve", `{"outcome":"maybe"}`)
		requireError(t, st, body, 422, "invalid", "outcome")
		st, body = b.do(t, "POST", "/v1/messages/m-1/resolve", `{"outcome":"sent"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "sent", body["status"])
		st, body = b.do(t, "POST", "/v1/messages/m-2/resolve", `{"outcome":"not_sent"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, "ready", body["status"], "the waiting step sends it")
		require.Empty(t, body["error"])
		st, body = b.do(t, "POST", "/v1/messages/m-1/resolve", `{"outcome":"not_sent"}`)
		requireError(t, st, body, 409, "conflict", "")
		st, body = b.do(t, "POST", "/v1/messages/nope/resolve", `{"outcome":"sent"}`)
		requireError(t, st, body, 404, "not_found", "")
		require.Len(t, b.audit(t, "?action=message.resolve&subject_id=m-1").Entries, 1, "the message and its customer are the subjects")
		require.Len(t, b.audit(t, "?action=message.resolve&subject_id=ada").Entries, 2)
	})
}

// The audit log pages without an empty last page, and reads times in any
// offset.
func TestAuditLogPagesAndTimes(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		for i := range 4 {
			b.newKey(t, fmt.Sprint("k", i), domain.KeyScopeIngest) // four key.create entries at apptest.Now
		}
		page := b.audit(t, "?limit=4")
		require.Len(t, page.Entries, 4)
		require.Zero(t, page.NextBefore, "nothing older: no next page")
		page = b.audit(t, "?limit=3")
		require.NotZero(t, page.NextBefore)
		at := apptest.Now.In(time.FixedZone("CEST", 2*3600)).Format(time.RFC3339)
		require.Len(t, b.audit(t, "?from="+url.QueryEscape(at)).Entries, 4, "the same instant, written with an offset")
		require.Empty(t, b.audit(t, "?to="+url.QueryEscape(at)).Entries)
	})
}
