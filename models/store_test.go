package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

var ctx = context.Background()

func TestCustomers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		_, err := s.GetCustomer(ctx, "nobody")
		require.True(t, errs.Is(err, errs.NotFound), "got %v", err)

		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		c := &models.Customer{ID: "c-1", Email: "ada@example.com", Name: "Ada", Timezone: "Europe/London",
			Locale: "en-GB", Consent: true, ConsentAt: &at, ConsentSource: "checkout"}
		require.NoError(t, s.UpsertCustomer(ctx, c))
		c.Name, c.Consent = "Ada L.", false
		require.NoError(t, s.UpsertCustomer(ctx, c))

		got, err := s.GetCustomer(ctx, "c-1")
		require.NoError(t, err)
		require.Equal(t, "Ada L.", got.Name)
		require.False(t, got.Consent)
		require.Equal(t, "Europe/London", got.Timezone)
		require.True(t, at.Equal(*got.ConsentAt))
	})
}

func TestProductsKeepComplementsInOrder(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		require.NoError(t, s.UpsertProduct(ctx, &models.Product{SKU: "cam", Name: "Camera", PriceMinor: 89900,
			Currency: "USD", InStock: true, Complements: []string{"lens", "bag", "card"}}))
		require.NoError(t, s.UpsertProduct(ctx, &models.Product{SKU: "lens", Name: "Lens", Currency: "USD", InStock: false}))
		ps, err := s.GetProducts(ctx, []string{"cam", "lens", "missing"})
		require.NoError(t, err)
		require.Len(t, ps, 2)
		require.Equal(t, []string{"lens", "bag", "card"}, ps["cam"].Complements)
		require.Equal(t, int64(89900), ps["cam"].PriceMinor)
		require.False(t, ps["lens"].InStock)
	})
}

func TestRecordEventIsAllOrNothing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		order := func(id string) *models.Order {
			return &models.Order{ID: id, CustomerID: "c-1", Currency: "USD", RevenueMinor: 100,
				Items: []models.OrderItem{{SKU: "cam", Quantity: 1, PriceMinor: 100}}}
		}
		ev := func(id string) *models.Event {
			return &models.Event{ID: id, Type: "purchase", CustomerID: "c-1", OccurredAt: time.Now(), Properties: map[string]any{"order_id": "o-1"}}
		}
		require.NoError(t, s.RecordEvent(ctx, ev("e-1"), order("o-1")))
		// Same order again under a new event: the event must not be kept.
		err := s.RecordEvent(ctx, ev("e-2"), order("o-1"))
		require.True(t, errs.Is(err, errs.Conflict), "got %v", err)
		_, err = s.GetEvent(ctx, "e-2")
		require.True(t, errs.Is(err, errs.NotFound), "half-written event left behind: %v", err)

		err = s.RecordEvent(ctx, ev("e-1"), nil)
		require.True(t, errs.Is(err, errs.Conflict), "duplicate event ID: %v", err)

		o, err := s.GetOrder(ctx, "o-1")
		require.NoError(t, err)
		require.Len(t, o.Items, 1)
		owned, err := s.OwnedSKUs(ctx, "c-1")
		require.NoError(t, err)
		require.True(t, owned["cam"])
	})
}

func TestPublishedVersionsAreImmutableSnapshots(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		c := &models.Campaign{ID: "cam", Name: "Camera", Kind: "cross_sell", TriggerEvent: "purchase", Definition: []byte(`{"v":1}`)}
		require.NoError(t, s.CreateCampaign(ctx, c))
		err := s.CreateCampaign(ctx, &models.Campaign{ID: "cam", Name: "x", Kind: "upsell", TriggerEvent: "usage", Definition: []byte(`{}`)})
		require.True(t, errs.Is(err, errs.Conflict), "got %v", err)

		live, err := s.LiveVersions(ctx, "purchase")
		require.NoError(t, err)
		require.Empty(t, live, "a draft is not live")

		v1, err := s.PublishCampaign(ctx, "cam")
		require.NoError(t, err)
		require.Equal(t, 1, v1.Version)

		c.Definition, c.TriggerEvent = []byte(`{"v":2}`), "usage"
		require.NoError(t, s.SaveCampaignDraft(ctx, c))
		live, err = s.LiveVersions(ctx, "purchase")
		require.NoError(t, err)
		require.Len(t, live, 1)
		require.JSONEq(t, `{"v":1}`, string(live[0].Definition), "the draft does not change what is live")
		live, err = s.LiveVersions(ctx, "usage")
		require.NoError(t, err)
		require.Empty(t, live, "nor the trigger it listens to")

		v2, err := s.PublishCampaign(ctx, "cam")
		require.NoError(t, err)
		require.Equal(t, 2, v2.Version)
		got1, err := s.GetCampaignVersion(ctx, "cam", 1)
		require.NoError(t, err)
		require.JSONEq(t, `{"v":1}`, string(got1.Definition))
		live, err = s.LiveVersions(ctx, "usage")
		require.NoError(t, err)
		require.Len(t, live, 1)
		require.Equal(t, 2, live[0].Version)
		live, err = s.LiveVersions(ctx, "purchase")
		require.NoError(t, err)
		require.Empty(t, live, "version 2 listens to usage")

		_, err = s.PublishCampaign(ctx, "nope")
		require.True(t, errs.Is(err, errs.NotFound), "got %v", err)
	})
}

func TestOneRunningEnrollmentPerCustomerAndCampaign(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		e := func(id string) *models.Enrollment {
			return &models.Enrollment{ID: id, CustomerID: "c-1", CampaignID: "cam", Version: 1, WorkflowID: "seq/cam/c-1",
				Variant: "A", Status: domain.StatusRunning, EnrolledAt: time.Now()}
		}
		require.NoError(t, s.EnsureEnrollment(ctx, e("e-1")))
		require.NoError(t, s.EnsureEnrollment(ctx, e("e-1")), "ensuring twice is a no-op")
		err := s.DB().Create(e("e-2")).Error
		require.Error(t, err, "the database refuses a second running enrollment")

		require.NoError(t, s.FinishEnrollment(ctx, "e-1", models.EnrollmentOutcome{Status: domain.StatusConverted, ExitReason: "bought", EndedAt: time.Now()}))
		require.NoError(t, s.FinishEnrollment(ctx, "e-1", models.EnrollmentOutcome{Status: domain.StatusCompleted, EndedAt: time.Now()}))
		got, err := s.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.Equal(t, domain.StatusConverted, got.Status, "the first outcome stands")

		require.NoError(t, s.EnsureEnrollment(ctx, e("e-2")), "a new enrollment once the first has ended")
		// A stale running row (its workflow was terminated) is superseded.
		require.NoError(t, s.EnsureEnrollment(ctx, e("e-3")))
		stale, err := s.GetEnrollment(ctx, "e-2")
		require.NoError(t, err)
		require.Equal(t, domain.StatusCancelled, stale.Status)
		running, err := s.RunningEnrollments(ctx, "c-1")
		require.NoError(t, err)
		require.Len(t, running, 1)
		require.Equal(t, "e-3", running[0].ID)
	})
}

func TestClaimMessageCreatesOneMessagePerStepUnderRaces(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		var wg sync.WaitGroup
		ids := make([]string, 8)
		created := make([]bool, 8)
		errors := make([]error, 8) // require may only stop the test from its own goroutine
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, c, err := s.ClaimMessage(ctx, &models.Message{ID: "m-" + string(rune('a'+i)), EnrollmentID: "e-1", StepID: "s1",
					CustomerID: "c-1", CampaignID: "cam", Variant: "A", Status: domain.MessagePending, Recommended: []string{"x"}})
				if errors[i] = err; err == nil {
					ids[i], created[i] = m.ID, c
				}
			}()
		}
		wg.Wait()
		for _, err := range errors {
			require.NoError(t, err)
		}
		n := 0
		for i := range ids {
			require.Equal(t, ids[0], ids[i], "every claim sees the same message")
			if created[i] {
				n++
			}
		}
		require.Equal(t, 1, n)

		require.NoError(t, s.SaveRendered(ctx, ids[0], models.Rendered{Subject: "Hi", Preheader: "pre", HTML: "<p>Hi</p>", Text: "Hi"}))
		moved, err := s.MarkSent(ctx, ids[0], "outbox", "p-1", time.Now())
		require.NoError(t, err)
		require.True(t, moved)
		moved, err = s.MarkSent(ctx, ids[0], "outbox", "p-2", time.Now())
		require.NoError(t, err)
		require.False(t, moved, "a sent message is not sent again")
		require.NoError(t, s.MarkMessage(ctx, ids[0], domain.MessageFailed, "late failure"))
		m, err := s.GetMessage(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, domain.MessageSent, m.Status)
		require.Equal(t, "p-1", m.ProviderMessageID)

		list, err := s.ListMessages(ctx, models.MessageFilter{CustomerID: "c-1"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Empty(t, list[0].HTML, "lists never load bodies")
	})
}

func TestSuppressions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		sup, err := s.Suppressed(ctx, "ada@example.com", "cam")
		require.NoError(t, err)
		require.Nil(t, sup)

		require.NoError(t, s.Suppress(ctx, "Ada@Example.com", "cam", "unsubscribe"))
		require.NoError(t, s.Suppress(ctx, "ada@example.com", "cam", "complaint"), "suppressing twice is fine")
		sup, err = s.Suppressed(ctx, " ADA@example.com", "cam")
		require.NoError(t, err)
		require.Equal(t, domain.ScopeCampaign, sup.Scope())
		require.Equal(t, domain.ReasonUnsubscribe, sup.Reason)
		sup, err = s.Suppressed(ctx, "ada@example.com", "other")
		require.NoError(t, err)
		require.Nil(t, sup, "a campaign suppression does not stop other campaigns")

		require.NoError(t, s.Suppress(ctx, "ada@example.com", "", "hard_bounce"))
		sup, err = s.Suppressed(ctx, "ada@example.com", "other")
		require.NoError(t, err)
		require.Equal(t, domain.ScopeGlobal, sup.Scope())
	})
}

func TestAPIKeysAreStoredHashedAndRevocable(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		admin := func(id, secret string) *models.APIKey {
			return &models.APIKey{KeyID: id, Name: id, Hash: models.HashAPIKey(secret), Scopes: []domain.KeyScope{domain.KeyScopeAdmin}}
		}
		created, err := s.BootstrapAPIKey(ctx, admin("key_first", "first-secret"))
		require.NoError(t, err)
		require.True(t, created, "the first key comes from the environment")
		created, err = s.BootstrapAPIKey(ctx, admin("key_again", "another-secret"))
		require.NoError(t, err)
		require.False(t, created, "once keys exist, a replica's environment changes nothing")

		k, err := s.AuthenticateAPIKey(ctx, models.HashAPIKey("first-secret"))
		require.NoError(t, err)
		require.Equal(t, "key_first", k.KeyID)
		_, err = s.AuthenticateAPIKey(ctx, models.HashAPIKey("first-secreT"))
		require.True(t, errs.Is(err, errs.Unauthorized))
		var n int64
		require.NoError(t, s.DB().Model(&models.APIKey{}).Where("hash = ?", []byte("first-secret")).Count(&n).Error)
		require.Zero(t, n, "the key itself is never stored")

		now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		require.NoError(t, s.TouchAPIKey(ctx, k.ID, now))
		require.NoError(t, s.TouchAPIKey(ctx, k.ID, now.Add(time.Second)), "within a minute: no write")
		ks, err := s.ListAPIKeys(ctx)
		require.NoError(t, err)
		require.True(t, now.Equal(*ks[0].LastUsedAt))

		require.True(t, errs.Is(s.RevokeAPIKey(ctx, "key_first", now), errs.Conflict), "the last admin key stays")
		require.NoError(t, s.CreateAPIKey(ctx, admin("key_second", "second-secret")))
		require.NoError(t, s.RevokeAPIKey(ctx, "key_first", now), "with another admin, rotation can finish")
		_, err = s.AuthenticateAPIKey(ctx, models.HashAPIKey("first-secret"))
		require.True(t, errs.Is(err, errs.Unauthorized), "a revoked key stops working at once")
		require.True(t, errs.Is(s.RevokeAPIKey(ctx, "key_first", now), errs.NotFound))
	})
}

func TestFrequencyCapsHoldUnderRaces(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		caps := []models.Cap{{Window: 24 * time.Hour, Max: 1}, {Window: 7 * 24 * time.Hour, Max: 3}}
		now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		// Many sequences' sends for one customer, all due at the same
		// instant, many times over: exactly one passes each round.
		for round := 0; round < 5; round++ {
			at := now.Add(time.Duration(round) * 25 * time.Hour)
			var wg sync.WaitGroup
			var mu sync.Mutex
			passed := 0
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, _, err := s.ReserveSend(ctx, "c-1", fmt.Sprintf("m-%d-%d", round, i), at, caps)
					assert.NoError(t, err) // not require: this is not the test's goroutine
					if ok {
						mu.Lock()
						passed++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if round < 3 {
				require.Equal(t, 1, passed, "round %d: at most 1 per 24 h", round)
			} else {
				require.Equal(t, 0, passed, "round %d: at most 3 per 7 days", round)
			}
		}
		var slots int64
		require.NoError(t, s.DB().Model(&models.SendSlot{}).Count(&slots).Error)
		require.Equal(t, int64(3), slots)
	})
}

func TestCappedSendLearnsWhenASlotFrees(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		caps := []models.Cap{{Window: 24 * time.Hour, Max: 1}, {Window: 7 * 24 * time.Hour, Max: 3}}
		t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		ok, _, err := s.ReserveSend(ctx, "c-1", "a", t0, caps)
		require.NoError(t, err)
		require.True(t, ok)
		ok, _, err = s.ReserveSend(ctx, "c-1", "a", t0.Add(time.Hour), caps)
		require.NoError(t, err)
		require.True(t, ok, "a retried send keeps its slot")
		ok, retry, err := s.ReserveSend(ctx, "c-1", "b", t0.Add(time.Hour), caps)
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, t0.Add(24*time.Hour).Equal(retry), "free again 24 h after the first: %s", retry)
		ok, _, err = s.ReserveSend(ctx, "c-2", "c", t0.Add(time.Hour), caps)
		require.NoError(t, err)
		require.True(t, ok, "caps are per customer")

		require.NoError(t, s.ReleaseSend(ctx, "a"))
		ok, _, err = s.ReserveSend(ctx, "c-1", "b", t0.Add(time.Hour), caps)
		require.NoError(t, err)
		require.True(t, ok, "a released slot is free")
	})
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		rec, fresh, err := s.BeginIdempotent(ctx, "tenant", "k", "fp-1", now)
		require.NoError(t, err)
		require.True(t, fresh)
		prev, fresh, err := s.BeginIdempotent(ctx, "tenant", "k", "fp-1", now)
		require.NoError(t, err)
		require.False(t, fresh)
		require.Zero(t, prev.Status, "still in progress")
		require.NoError(t, s.FinishIdempotent(ctx, rec.ID, 202, "application/json", []byte(`{"ok":true}`), nil))
		prev, _, err = s.BeginIdempotent(ctx, "tenant", "k", "fp-1", now.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, 202, prev.Status)
		require.JSONEq(t, `{"ok":true}`, string(prev.Body))
		_, fresh, err = s.BeginIdempotent(ctx, "other-tenant", "k", "fp-2", now)
		require.NoError(t, err)
		require.True(t, fresh, "keys are per tenant")
		_, fresh, err = s.BeginIdempotent(ctx, "tenant", "k", "fp-3", now.Add(models.IdempotencyTTL+time.Minute))
		require.NoError(t, err)
		require.True(t, fresh, "an expired key starts over")

		// A request answered with a 5xx forgets its key, so a retry runs.
		rec, fresh, err = s.BeginIdempotent(ctx, "tenant", "forget-me", "fp", now)
		require.NoError(t, err)
		require.True(t, fresh)
		require.NoError(t, s.ForgetIdempotent(ctx, rec.ID))
		_, fresh, err = s.BeginIdempotent(ctx, "tenant", "forget-me", "fp", now.Add(time.Second))
		require.NoError(t, err)
		require.True(t, fresh, "a forgotten key starts over")

		// A first request that never answered (its process died) gives its
		// key up after the lease.
		_, fresh, err = s.BeginIdempotent(ctx, "tenant", "stuck", "fp", now)
		require.NoError(t, err)
		require.True(t, fresh)
		prev, fresh, err = s.BeginIdempotent(ctx, "tenant", "stuck", "fp", now.Add(30*time.Second))
		require.NoError(t, err)
		require.False(t, fresh, "still in flight")
		require.Zero(t, prev.Status)
		_, fresh, err = s.BeginIdempotent(ctx, "tenant", "stuck", "fp", now.Add(2*models.IdempotencyLease))
		require.NoError(t, err)
		require.True(t, fresh, "taken over after the lease")
	})
}

func TestCountEvents(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		for i, at := range []time.Time{t0.Add(-10 * 24 * time.Hour), t0.Add(-time.Hour), t0} {
			require.NoError(t, s.RecordEvent(ctx, &models.Event{ID: fmt.Sprint("v", i), Type: "page_view", CustomerID: "c-1",
				OccurredAt: at, Properties: map[string]any{"sku": "lens"}}, nil))
		}
		n, err := s.CountEvents(ctx, "c-1", "page_view", "lens", t0.Add(-7*24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		n, err = s.CountEvents(ctx, "c-1", "page_view", "cam", t0.Add(-7*24*time.Hour))
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestMessageByProviderIDMatchesTheLongestPrefix(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		for i, pid := range []string{"14c5d75ce93", "14c5d75ce93.dfd.64b469", "W86EgYT6SQKk0lRflfLRsA"} {
			m, _, err := s.ClaimMessage(ctx, &models.Message{ID: fmt.Sprint("m", i), EnrollmentID: "e", StepID: fmt.Sprint("s", i),
				CustomerID: "c", CampaignID: "k", Variant: "A", Status: domain.MessagePending})
			require.NoError(t, err)
			require.NoError(t, s.SaveRendered(ctx, m.ID, models.Rendered{Subject: "x"}))
			_, err = s.MarkSent(ctx, m.ID, "sendgrid", pid, time.Now())
			require.NoError(t, err)
		}
		m, err := s.MessageByProviderID(ctx, "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0")
		require.NoError(t, err)
		require.Equal(t, "m1", m.ID)
		m, err = s.MessageByProviderID(ctx, "W86EgYT6SQKk0lRflfLRsA.filterdrecv-5645d9c87f-6r4tm-1-64F8A9F1-3.0")
		require.NoError(t, err)
		require.Equal(t, "m2", m.ID)
		_, err = s.MessageByProviderID(ctx, "unknown.filter")
		require.True(t, errs.Is(err, errs.NotFound))
	})
}

func TestClaimSendingLetsOneAttemptThrough(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		m, _, err := s.ClaimMessage(ctx, &models.Message{ID: "m", EnrollmentID: "e", StepID: "s", CustomerID: "c",
			CampaignID: "k", Variant: "A", Status: domain.MessagePending})
		require.NoError(t, err)
		require.NoError(t, s.SaveRendered(ctx, m.ID, models.Rendered{Subject: "x"}))
		t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		ok, err := s.ClaimSending(ctx, "m", domain.MessageReady, nil, t0)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.ClaimSending(ctx, "m", domain.MessageReady, nil, t0)
		require.NoError(t, err)
		require.False(t, ok, "a second claim from ready loses")
		stale := t0.Add(-time.Minute)
		ok, err = s.ClaimSending(ctx, "m", domain.MessageSending, &stale, t0.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "a claim on a sending_at that moved loses")
		ok, err = s.ClaimSending(ctx, "m", domain.MessageSending, &t0, t0.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		_, err = s.MarkSent(ctx, "m", "sendgrid", "x", t0)
		require.NoError(t, err)
		at := t0.Add(time.Hour)
		ok, err = s.ClaimSending(ctx, "m", domain.MessageSending, &at, t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "a processed event that marked it sent wins")
	})
}

func TestOrdersStreamGroupedAndPopularityByWindow(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		for _, p := range []models.Product{{SKU: "cam", Category: "cameras"}, {SKU: "lens", Category: "lenses"},
			{SKU: "card", Category: "storage"}, {SKU: "bag", Category: "bags"}} {
			p.Name, p.Currency, p.InStock = p.SKU, "USD", true
			require.NoError(t, s.UpsertProduct(ctx, &p))
		}
		baskets := [][]string{{"cam", "lens"}, {"cam", "lens"}, {"cam", "card"}, {"lens"}, {"bag"}}
		for i, basket := range baskets {
			o := &models.Order{ID: fmt.Sprint("o", i), CustomerID: fmt.Sprint("c", i), Currency: "USD", OccurredAt: t0}
			for _, sku := range basket {
				o.Items = append(o.Items, models.OrderItem{SKU: sku, Quantity: 1, PriceMinor: 100})
			}
			require.NoError(t, s.RecordEvent(ctx, &models.Event{ID: fmt.Sprint("e", i), Type: "purchase", CustomerID: o.CustomerID, OccurredAt: t0}, o))
		}
		var got []models.OrderLines
		require.NoError(t, s.EachOrder(ctx, time.Minute, func(o models.OrderLines) error { got = append(got, o); return nil }))
		require.Len(t, got, 5)
		require.Equal(t, models.OrderLines{ID: "o0", CustomerID: "c0", OccurredAt: t0, SKUs: []string{"cam", "lens"}}, got[0])
		lines, err := s.CountOrderLines(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 8, lines)
		cats, err := s.ProductCategories(ctx)
		require.NoError(t, err)
		require.Equal(t, "lenses", cats["lens"])

		popular, err := s.PopularInCategory(ctx, nil, t0.Add(-time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"cam", "lens", "bag", "card"}, popular)
		popular, err = s.PopularInCategory(ctx, []string{"lenses", "bags"}, t0.Add(-time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"lens", "bag"}, popular)
		popular, err = s.PopularInCategory(ctx, nil, t0.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, popular, "only recent orders count")
	})
}

// The stored model is replaced as a whole, and read back by product.
func TestRecommendationModelIsReplacedWhole(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		first := models.ModelTables{
			Items:      []models.ProductStat{{SKU: "cam", Orders: 3, Customers: 3}, {SKU: "lens", Orders: 3, Customers: 3}},
			Affinities: []models.Affinity{{SKUA: "cam", SKUB: "lens", Orders: 2, Confidence: 0.66, Lift: 1.1, Score: 0.6}},
			Similar:    []models.ItemSimilarity{{SKUA: "cam", SKUB: "lens", Customers: 2, Score: 0.4}},
			Popular: []models.PopularProduct{{WindowDays: 0, Category: "", Rank: 1, SKU: "cam", Orders: 3},
				{WindowDays: 0, Category: "", Rank: 2, SKU: "lens", Orders: 3}, {WindowDays: 90, Category: "", Rank: 1, SKU: "lens", Orders: 1}},
		}
		require.NoError(t, s.SaveModel(ctx, first))
		require.NoError(t, s.SaveModel(ctx, models.ModelTables{Items: first.Items[:1], Popular: first.Popular[:1]}))
		as, err := s.AffinitiesOf(ctx, []string{"cam"})
		require.NoError(t, err)
		require.Empty(t, as, "rebuilding replaces, never accumulates")
		items, err := s.ProductStats(ctx, []string{"cam", "lens"})
		require.NoError(t, err)
		require.Len(t, items, 1)
		pop, kept, err := s.Popular(ctx, 0, "", 10)
		require.NoError(t, err)
		require.True(t, kept)
		require.Equal(t, "cam", pop[0].SKU)
		_, kept, err = s.Popular(ctx, 90, "", 10)
		require.NoError(t, err)
		require.False(t, kept, "the second model kept no 90-day window")
		_, kept, err = s.Popular(ctx, 0, "lenses", 10)
		require.NoError(t, err)
		require.True(t, kept, "the all-time window is kept; lenses just have no best seller in it")
	})
}

// One rebuild holds the lease at a time; a lease that ran out (its
// process died) can be taken again.
func TestOneRecommendationRebuildAtATime(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		ok, err := s.ClaimRecsRebuild(ctx, t0, t0.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.ClaimRecsRebuild(ctx, t0.Add(time.Minute), t0.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "held")
		st, err := s.RecsState(ctx)
		require.NoError(t, err)
		require.Equal(t, "running", st.State)
		ok, err = s.ClaimRecsRebuild(ctx, t0.Add(2*time.Hour), t0.Add(3*time.Hour))
		require.NoError(t, err)
		require.True(t, ok, "the lease ran out")
		done := t0.Add(2*time.Hour + time.Minute)
		require.NoError(t, s.FinishRecsRebuild(ctx, models.RecsState{State: "idle", FinishedAt: &done, TookMS: 60000, Model: []byte(`{"orders":5}`),
			BuiltAt: &done, Auto: "bought_together", AutoReason: "why"}))
		st, err = s.RecsState(ctx)
		require.NoError(t, err)
		require.Equal(t, "idle", st.State)
		require.Nil(t, st.LeaseUntil)
		require.Equal(t, "bought_together", st.Auto)
		ok, err = s.ClaimRecsRebuild(ctx, done, done.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok, "a finished rebuild holds nothing")
	})
}

func TestSetComplementsIsAllOrNothing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		for _, sku := range []string{"a", "b"} {
			require.NoError(t, s.UpsertProduct(ctx, &models.Product{SKU: sku, Name: sku, Currency: "USD", InStock: true, Complements: []string{"x"}}))
		}
		require.NoError(t, s.SetComplements(ctx, map[string][]string{"a": {"b"}, "b": {}}))
		ps, err := s.GetProducts(ctx, []string{"a", "b"})
		require.NoError(t, err)
		require.Equal(t, []string{"b"}, ps["a"].Complements)
		require.Empty(t, ps["b"].Complements)
		err = s.SetComplements(ctx, map[string][]string{"a": {"z"}, "ghost": {"a"}})
		require.True(t, errs.Is(err, errs.NotFound), "got %v", err)
		ps, err = s.GetProducts(ctx, []string{"a"})
		require.NoError(t, err)
		require.Equal(t, []string{"b"}, ps["a"].Complements, "rolled back")
	})
}

func TestCampaignReportSumsInSQL(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		for _, e := range []struct{ id, variant string }{{"e1", "B"}, {"e2", "B"}, {"e3", "holdout"}} {
			require.NoError(t, db.Create(&models.Enrollment{ID: e.id, CustomerID: "c-" + e.id, CampaignID: "cam", Version: 1,
				WorkflowID: "w-" + e.id, Variant: e.variant, Status: domain.StatusRunning, EnrolledAt: t0}).Error)
		}
		require.NoError(t, db.Create(&models.Message{ID: "m1", IdempotencyKey: "e1/s1", EnrollmentID: "e1", StepID: "s1", CustomerID: "c-e1",
			CampaignID: "cam", Variant: "B", Status: domain.MessageSent, SentAt: &t0, OpenedAt: &t0, Delivery: "delivered"}).Error)
		require.NoError(t, db.Create(&models.Message{ID: "m2", IdempotencyKey: "e2/s1", EnrollmentID: "e2", StepID: "s1", CustomerID: "c-e2",
			CampaignID: "cam", Variant: "B", Status: domain.MessageSent, SentAt: &t0, Delivery: "bounced"}).Error)
		require.NoError(t, db.Create(&models.Message{ID: "m3", IdempotencyKey: "e2/s2", EnrollmentID: "e2", StepID: "s2", CustomerID: "c-e2",
			CampaignID: "cam", Variant: "B", Status: domain.MessageSkipped}).Error)
		// The customer of e2 unsubscribes from Lift's page and then reports
		// spam: both are credited to their latest email in the campaign.
		require.NoError(t, s.MarkLatestMessage(ctx, "c-e2", "cam", domain.OutcomeUnsubscribed, t0))
		require.NoError(t, s.MarkMessageOutcome(ctx, "m2", domain.OutcomeComplained, t0))
		require.NoError(t, s.MarkMessageOutcome(ctx, "m2", domain.OutcomeComplained, t0.Add(time.Hour)), "a second report changes nothing")
		for i, c := range []struct {
			enr, variant, step string
			minor              int64
		}{{"e1", "B", "s1", 1999}, {"e1", "B", "s1", 1}, {"e3", "holdout", "", 500}} {
			require.NoError(t, db.Create(&models.Conversion{EnrollmentID: c.enr, OrderID: fmt.Sprint("o", i), CustomerID: "c-" + c.enr,
				CampaignID: "cam", Variant: c.variant, Goal: "purchase", RevenueMinor: c.minor, Currency: "USD", StepID: c.step}).Error)
		}
		variants, steps, err := s.CampaignReport(ctx, "cam", 0, t0.Add(-time.Hour), t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []models.VariantTotals{
			// two orders, one converted enrolment; sum of squares per enrolment: 2000²
			{Variant: "B", Enrolled: 2, Converted: 1, RevenueMinor: 2000, RevenueSumSq: 4e6, Sent: 2, Delivered: 1, Bounced: 1, Unsubscribed: 1, Complained: 1},
			{Variant: "holdout", Enrolled: 1, Converted: 1, RevenueMinor: 500, RevenueSumSq: 25e4},
		}, variants)
		slices.SortFunc(steps, func(a, b models.StepTotals) int { return strings.Compare(a.StepID, b.StepID) })
		require.Equal(t, []models.StepTotals{
			{Variant: "B", StepID: "s1", Sent: 2, Delivered: 1, Bounced: 1, Opens: 1, Unsubscribed: 1, Complained: 1, Conversions: 2, RevenueMinor: 2000},
			{Variant: "B", StepID: "s2"},
		}, steps)
		variants, _, err = s.CampaignReport(ctx, "cam", 0, t0.Add(time.Hour), t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.Empty(t, variants, "enrolled before the period")
	})
}

// After a promotion moved an enrolment from A to the winner B, A's row
// still counts everything about its enrolments (the email sent as B
// too), and B's row nothing of them; the step rows count emails as sent.
func TestCampaignReportCountsEachVariantRowOnOneBasis(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		for _, e := range []struct{ id, variant string }{{"moved", "A"}, {"b", "B"}} {
			require.NoError(t, db.Create(&models.Enrollment{ID: e.id, CustomerID: "c-" + e.id, CampaignID: "cam", Version: 1,
				WorkflowID: "w-" + e.id, Variant: e.variant, Status: domain.StatusRunning, EnrolledAt: t0}).Error)
		}
		for _, m := range []struct{ enr, step, variant, delivery string }{
			{"moved", "s1", "A", "delivered"}, {"moved", "s2", "B", "delivered"}, {"moved", "s3", "B", "bounced"}, {"b", "s1", "B", "delivered"},
		} {
			require.NoError(t, db.Create(&models.Message{ID: m.enr + m.step, IdempotencyKey: m.enr + "/" + m.step, EnrollmentID: m.enr, StepID: m.step,
				CustomerID: "c-" + m.enr, CampaignID: "cam", Variant: m.variant, Status: domain.MessageSent, SentAt: &t0, Delivery: m.delivery}).Error)
		}
		variants, steps, err := s.CampaignReport(ctx, "cam", 0, t0.Add(-time.Hour), t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []models.VariantTotals{
			{Variant: "A", Enrolled: 1, Sent: 3, Delivered: 2, Bounced: 1, SentAfterMove: 2},
			{Variant: "B", Enrolled: 1, Sent: 1, Delivered: 1},
		}, variants)
		var bSent int64
		for _, st := range steps {
			if st.Variant == "B" {
				bSent += st.Sent
			}
		}
		require.EqualValues(t, 3, bSent, "B's step rows count the emails B sent, the moved enrolment's included")
	})
}

func TestReportLagLifetimeValueAndSegment(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
		day := 24 * time.Hour
		for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
			require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: c, Email: c + "@example.com", Timezone: "UTC", Consent: c != "c6"}))
		}
		for _, e := range []struct {
			id, customer, variant string
			status                domain.SequenceStatus
		}{
			{"e1", "c1", "A", domain.StatusConverted}, {"e2", "c2", "A", domain.StatusCompleted},
			{"e3", "c3", "holdout", domain.StatusCompleted}, {"e4", "c4", "A", domain.StatusUnsubscribed},
			{"e5", "c5", "A", domain.StatusCompleted}, {"e6", "c6", "A", domain.StatusCompleted},
		} {
			require.NoError(t, db.Create(&models.Enrollment{ID: e.id, CustomerID: e.customer, CampaignID: "cam", Version: 1,
				WorkflowID: "w-" + e.id, Variant: e.variant, Status: e.status, EnrolledAt: t0}).Error)
		}
		opened := t0.Add(day)
		for _, m := range []struct{ id, enr, customer, step string }{{"m1", "e1", "c1", "s1"}, {"m2", "e2", "c2", "s1"}, {"m3", "e2", "c2", "s2"}, {"m4", "e4", "c4", "s1"},
			{"m5", "e5", "c5", "s1"}, {"m6", "e6", "c6", "s1"}} {
			require.NoError(t, db.Create(&models.Message{ID: m.id, IdempotencyKey: m.enr + "/" + m.step, EnrollmentID: m.enr, StepID: m.step,
				CustomerID: m.customer, CampaignID: "cam", Variant: "A", Status: domain.MessageSent, SentAt: &t0, OpenedAt: &opened}).Error)
		}
		lag := func(d time.Duration) *int64 { s := int64(d / time.Second); return &s }
		require.NoError(t, db.Create(&models.Conversion{EnrollmentID: "e1", OrderID: "o1", CustomerID: "c1", CampaignID: "cam", Variant: "A",
			Goal: "purchase_any", RevenueMinor: 100, StepID: "s1", MessageID: "m1", LagSeconds: lag(2 * time.Hour)}).Error)
		// Orders: c1 buys 100 at day 10 and 50 at day 120; c3 (holdout) 80 at day 30; c2 before enrolling.
		for i, o := range []struct {
			customer string
			at       time.Time
			minor    int64
		}{{"c1", t0.Add(10 * day), 100}, {"c1", t0.Add(120 * day), 50}, {"c3", t0.Add(30 * day), 80}, {"c2", t0.Add(-day), 999}} {
			require.NoError(t, db.Create(&models.Order{ID: fmt.Sprint("o", i+1), CustomerID: o.customer, Currency: "USD", RevenueMinor: o.minor, OccurredAt: o.at}).Error)
		}

		buckets, err := s.AttributionLag(ctx, "cam", 0, t0.Add(-day), t0.Add(day), day)
		require.NoError(t, err)
		require.Equal(t, []models.LagBucket{{Variant: "A", Bucket: 1, Conversions: 1}}, buckets, "2 hours is in 1h-6h")

		now := t0.Add(400 * day)
		ltv, err := s.LifetimeValue(ctx, "cam", 0, t0.Add(-day), t0.Add(day), now, []time.Duration{90 * day, 180 * day})
		require.NoError(t, err)
		require.Equal(t, []models.Cohort{
			{Group: "emailed", Enrolments: 5, RevenueMinor: 100, RevenueSumSq: 100 * 100},
			{Group: "holdout", Enrolments: 1, RevenueMinor: 80, RevenueSumSq: 80 * 80},
		}, ltv[0], "c1's day-120 order is past 3 months; c2's order was before enrolling")
		require.Equal(t, int64(150), ltv[1][0].RevenueMinor, "6 months include c1's day-120 order")
		require.Equal(t, 150.0*150, ltv[1][0].RevenueSumSq, "both of c1's orders are one enrolment's revenue")
		ltv, err = s.LifetimeValue(ctx, "cam", 0, t0.Add(-day), t0.Add(day), t0.Add(100*day), []time.Duration{90 * day, 180 * day})
		require.NoError(t, err)
		require.Len(t, ltv[0], 2, "3 months have passed")
		require.Empty(t, ltv[1], "no enrolment has lived 6 months yet")

		var rows []models.SegmentRow
		collect := func(r models.SegmentRow) error { rows = append(rows, r); return nil }
		// c5 unsubscribed from every campaign through another one; c6 never
		// gave marketing consent.
		require.NoError(t, s.Suppress(ctx, "C5@example.com ", "", domain.ReasonUnsubscribe))
		require.NoError(t, s.OpenedNotConverted(ctx, "cam", 0, "", t0.Add(-day), t0.Add(day), collect))
		require.Len(t, rows, 2, "c2 opened two emails; c1 converted, c4 unsubscribed, c5 is suppressed, c6 has no consent")
		require.Equal(t, "c2", rows[0].CustomerID)
		require.Equal(t, "c2@example.com", rows[0].Email)
		require.Equal(t, []string{"s1", "s2"}, []string{rows[0].StepID, rows[1].StepID})
		rows = nil
		require.NoError(t, s.OpenedNotConverted(ctx, "cam", 0, "s2", t0.Add(-day), t0.Add(day), collect))
		require.Len(t, rows, 1)
	})
}

// TestAmountsStoredInHundredthsAreRescaledOnce: a database written before
// minor units followed the currency's exponent is rewritten by the next
// migration, once.
func TestAmountsStoredInHundredthsAreRescaledOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		// As the previous version stored them: hundredths in every currency.
		require.NoError(t, db.Where("1 = 1").Delete(&models.DataMigration{}).Error)
		for _, p := range []models.Product{
			{SKU: "yen", Name: "Yen", PriceMinor: 150000, Currency: "JPY", InStock: true},
			{SKU: "usd", Name: "Dollar", PriceMinor: 4999, Currency: "USD", InStock: true},
			{SKU: "kwd", Name: "Dinar", PriceMinor: 1234, Currency: "KWD", InStock: true},
		} {
			require.NoError(t, s.UpsertProduct(ctx, &p))
		}
		require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: "c", Email: "c@example.com", Timezone: "UTC"}))
		require.NoError(t, s.RecordEvent(ctx, &models.Event{ID: "ev", Type: "purchase", CustomerID: "c", OccurredAt: time.Now()},
			&models.Order{ID: "o-yen", CustomerID: "c", EventID: "ev", Currency: "JPY", RevenueMinor: 300000,
				Items: []models.OrderItem{{SKU: "yen", Quantity: 2, PriceMinor: 150000}}}))
		require.NoError(t, s.RecordConversion(ctx, &models.Conversion{EnrollmentID: "e", OrderID: "o-yen", CustomerID: "c",
			CampaignID: "cam", Variant: "A", Goal: "purchase_any", RevenueMinor: 300000, Currency: "JPY"}))
		require.NoError(t, db.Create(&models.Enrollment{ID: "e", CustomerID: "c", CampaignID: "cam", Version: 1, WorkflowID: "w",
			Variant: "A", Status: domain.StatusConverted, ConvertedOrder: "o-yen", RevenueMinor: 300000, EnrolledAt: time.Now()}).Error)

		for range 2 { // the second migration changes nothing
			require.NoError(t, s.Migrate(ctx))
			prices := map[string]int64{}
			for _, sku := range []string{"yen", "usd", "kwd"} {
				p, err := s.GetProduct(ctx, sku)
				require.NoError(t, err)
				prices[sku] = p.PriceMinor
			}
			require.Equal(t, map[string]int64{"yen": 1500, "usd": 4999, "kwd": 12340}, prices)
			o, err := s.GetOrder(ctx, "o-yen")
			require.NoError(t, err)
			require.EqualValues(t, 3000, o.RevenueMinor)
			require.EqualValues(t, 1500, o.Items[0].PriceMinor)
			cs, err := s.Conversions(ctx, "e")
			require.NoError(t, err)
			require.EqualValues(t, 3000, cs[0].RevenueMinor)
			e, err := s.GetEnrollment(ctx, "e")
			require.NoError(t, err)
			require.EqualValues(t, 3000, e.RevenueMinor)
		}
	})
}

// TestTextLiftWritesFitsItsColumns: reasons and notes Lift writes itself
// (a long provider error, say) are shortened to their columns, so a write
// PostgreSQL would refuse never fails a step for good or forever.
func TestTextLiftWritesFitsItsColumns(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		long := strings.Repeat("é", 2000)
		m, _, err := s.ClaimMessage(ctx, &models.Message{ID: "m", EnrollmentID: "e", StepID: "s", CustomerID: "c", CampaignID: "cam",
			Variant: "A", Status: domain.MessageSkipped, Error: long, RecommendNote: long})
		require.NoError(t, err)
		require.NoError(t, s.MarkMessage(ctx, m.ID, domain.MessageFailed, long))
		got, err := s.GetMessage(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, 1000, utf8.RuneCountInString(got.Error))
		require.True(t, strings.HasSuffix(got.Error, "…"))
		require.NoError(t, s.EnsureEnrollment(ctx, &models.Enrollment{ID: "e", CustomerID: "c", CampaignID: "cam", Version: 1,
			WorkflowID: "w", Variant: "A", Status: domain.StatusRunning, EnrolledAt: time.Now()}))
		require.NoError(t, s.FinishEnrollment(ctx, "e", models.EnrollmentOutcome{Status: domain.StatusFailed, ExitReason: "failed: " + long, EndedAt: time.Now()}))
		e, err := s.GetEnrollment(ctx, "e")
		require.NoError(t, err)
		require.Equal(t, 300, utf8.RuneCountInString(e.ExitReason))
	})
}

// TestWhatIsKeptForAWhileIsPurged: stored Idempotency-Key answers, SendGrid
// event IDs and cap slots go when their retention has passed, and an
// erased customer's stored answers go at once.
func TestWhatIsKeptForAWhileIsPurged(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s *models.Store) {
		now := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)
		count := func(model any) (n int64) {
			require.NoError(t, s.DB().Model(model).Count(&n).Error)
			return n
		}
		for i, at := range []time.Time{now.Add(-models.IdempotencyTTL - time.Hour), now.Add(-time.Hour)} {
			rec, _, err := s.BeginIdempotent(ctx, "k", fmt.Sprint("key-", i), "fp", at)
			require.NoError(t, err)
			require.NoError(t, s.FinishIdempotent(ctx, rec.ID, 202, "application/json", []byte(`{"customer":"Ada"}`), []string{"ada", "ada"}))
		}
		for i, at := range []time.Time{now.Add(-models.WebhookEventTTL - time.Hour), now.Add(-time.Hour)} {
			require.NoError(t, s.DB().Create(&models.WebhookEvent{SGEventID: fmt.Sprint("sg-", i), MessageID: "m", Type: "open", At: at, CreatedAt: at}).Error)
		}
		for i, at := range []time.Time{now.Add(-models.SendSlotTTL - time.Hour), now.Add(-time.Hour)} {
			require.NoError(t, s.DB().Create(&models.SendSlot{CustomerID: "ada", MessageID: fmt.Sprint("m-", i), At: at}).Error)
		}
		year := 365 * 24 * time.Hour
		require.NoError(t, s.RecordAudit(ctx, []models.AuditEntry{
			{At: now.Add(-year - time.Hour), KeyID: "key_a", Action: "customer.read", SubjectID: "ada"},
			{At: now.Add(-time.Hour), KeyID: "key_a", Action: "customer.read", SubjectID: "ada"},
		}))
		for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
			require.NoError(t, s.CreateConsoleSession(ctx, &models.ConsoleSession{TokenHash: []byte(fmt.Sprintf("%032d", i)),
				KeyHash: make([]byte, 32), CreatedAt: now.Add(-12 * time.Hour), ExpiresAt: exp}))
		}
		require.NoError(t, s.RecordSignInFailure(ctx, "src", now.Add(-models.SignInFailureWindow-time.Second)))
		require.NoError(t, s.RecordSignInFailure(ctx, "src", now.Add(-time.Second)))
		p, err := s.Purge(ctx, now, year)
		require.NoError(t, err)
		require.Equal(t, models.Purged{IdempotencyKeys: 1, WebhookEvents: 1, SendSlots: 1, AuditEntries: 1, ConsoleSessions: 1}, p)
		require.EqualValues(t, 1, count(&models.ConsoleSession{}))
		require.EqualValues(t, 1, count(&models.SignInFailure{}))
		require.EqualValues(t, 1, count(&models.IdempotencyRecord{}))
		require.EqualValues(t, 1, count(&models.IdempotencySubject{}), "the purged answer's subjects went with it")

		// Erasure takes the answers that name the customer with it.
		require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Timezone: "UTC"}))
		require.NoError(t, s.EraseCustomer(ctx, "ada"))
		require.Zero(t, count(&models.IdempotencyRecord{}))
		require.Zero(t, count(&models.IdempotencySubject{}))
		require.EqualValues(t, 1, count(&models.AuditEntry{}), "erasure keeps the audit log: IDs only")
	})
}

// The roles' database URLs name a SQLite file as a path or a sqlite:// URL.
func TestOpenTakesASQLiteURL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lift.db")
	s, err := models.Open("sqlite://" + path)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "the file the URL names")
}
