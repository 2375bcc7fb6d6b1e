package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

var ctx = context.Background()

type bundle struct {
	acts      *activities.Activities
	app       *app.App
	ab        *apptest.Bundle // the application's bundle: its clock
	signer    unsub.Signer
	store     *models.Store
	mailer    *apptest.Mailer
	ref       workflows.StepRef
	orderedAt time.Time // when b.purchase's orders happen
}

var def = campaign.Definition{
	ID: "cam", Name: "Camera kit", Kind: campaign.CrossSell,
	Trigger: campaign.Trigger{Event: "purchase"},
	ExitOn:  []campaign.Goal{campaign.GoalPurchaseOfRecommended},
	Steps: []campaign.Step{
		{ID: "s1", At: "3d", Subject: "Complete your {{.Trigger.ProductName}} kit", Template: "recommendation",
			CTA: "Shop now", Recommend: &campaign.Recommend{Strategy: "complements", Limit: 2}},
		{ID: "s2", At: "5d", Subject: "Save {{.Incentive.PercentOff}}% on {{.First.Name}}", Template: "offer",
			Recommend: &campaign.Recommend{Strategy: "complements", Limit: 1},
			Incentive: &campaign.Incentive{PercentOff: 15, Code: "KIT15", ExpiresIn: "7d"}},
	},
}

// eachStore runs a test against a bundle on SQLite and one on
// PostgreSQL, in parallel; on builds a bundle on any store: a catalogue,
// a customer, the published campaign and an enrolment.
func eachStore(t *testing.T, test func(t *testing.T, b *bundle)) {
	testdb.EachParallel(t, func(t *testing.T, s *models.Store) {
		test(t, on(t, s))
	})
}

func on(t *testing.T, s *models.Store) *bundle {
	t.Helper()
	a := apptest.New(t, s)
	b := &bundle{store: s, app: a.App, ab: a, signer: a.Signer, mailer: a.Mailer, orderedAt: time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC),
		acts: &activities.Activities{App: a.App}}
	for _, p := range []models.Product{
		{SKU: "cam", Name: "X100", Category: "cameras", PriceMinor: 89900, Currency: "USD", InStock: true,
			Complements: []string{"card", "lens", "bag", "tripod"}},
		{SKU: "card", Name: "SD Card", Category: "storage", PriceMinor: 4999, Currency: "USD", InStock: false},
		{SKU: "lens", Name: "35mm Lens", Category: "lenses", PriceMinor: 27900, Currency: "USD", InStock: true, URL: "https://shop.example/lens"},
		{SKU: "bag", Name: "Bag", Category: "bags", PriceMinor: 8900, Currency: "USD", InStock: true},
		{SKU: "tripod", Name: "Tripod", Category: "tripods", PriceMinor: 12900, Currency: "USD", InStock: true},
	} {
		require.NoError(t, s.UpsertProduct(ctx, &p))
	}
	require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Name: "Ada Lovelace",
		Timezone: "Europe/London", Locale: "en", Consent: true}))
	raw, _ := json.Marshal(def)
	require.NoError(t, s.CreateCampaign(ctx, &models.Campaign{ID: "cam", Name: "Camera kit", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
	_, err := s.PublishCampaign(ctx, "cam")
	require.NoError(t, err)
	b.purchase(t, "ev-1", "o-1", "cam")
	require.NoError(t, s.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-1", CustomerID: "ada", CampaignID: "cam", Version: 1,
		WorkflowID: "seq/cam/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: time.Now()}))
	b.ref = workflows.StepRef{EnrollmentID: "e-1", CustomerID: "ada", CampaignID: "cam", Version: 1, StepID: "s1", Variant: "A", TriggerEventID: "ev-1"}
	return b
}

func (b *bundle) purchase(t *testing.T, eventID, orderID string, skus ...string) {
	t.Helper()
	var items []any
	o := &models.Order{ID: orderID, CustomerID: "ada", EventID: eventID, Currency: "USD", OccurredAt: b.orderedAt}
	for _, sku := range skus {
		items = append(items, map[string]any{"sku": sku, "quantity": 1.0, "price": 1.0})
		o.Items = append(o.Items, models.OrderItem{SKU: sku, Quantity: 1, PriceMinor: 100})
		o.RevenueMinor += 100
	}
	require.NoError(t, b.store.RecordEvent(ctx, &models.Event{ID: eventID, Type: "purchase", CustomerID: "ada",
		OccurredAt: time.Now(), Properties: map[string]any{"order_id": orderID, "items": items}}, o))
}

// rendered prepares and renders a step's message, as the workflow does
// before it sends.
func (b *bundle) rendered(t *testing.T, ref workflows.StepRef) workflows.MessageRef {
	t.Helper()
	p, err := b.acts.Prepare(ctx, ref)
	require.NoError(t, err)
	msg := workflows.MessageRef{MessageID: p.MessageID}
	require.NoError(t, b.acts.Render(ctx, msg))
	return msg
}

// reconciling makes the bundle's mailer confirm sends by event, as
// SendGrid does, sets the activities' clock to a moment the test moves,
// and renders the step's message, ready for a send whose answer is lost.
func (b *bundle) reconciling(t *testing.T) (*time.Time, workflows.MessageRef, workflows.SendInput) {
	t.Helper()
	b.mailer.Reconciler = true
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	b.ab.SetClock(func() time.Time { return now })
	ref := b.rendered(t, b.ref)
	return &now, ref, workflows.SendInput{MessageID: ref.MessageID}
}

func (b *bundle) message(t *testing.T, ref workflows.MessageRef) *models.Message {
	t.Helper()
	m, err := b.store.GetMessage(ctx, ref.MessageID)
	require.NoError(t, err)
	return m
}

func TestPrepareRecommendsComplementsThatAreInStockAndNotOwned(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.purchase(t, "ev-0", "o-0", "bag") // she already has the bag
		p, err := b.acts.Prepare(ctx, b.ref)
		require.NoError(t, err)
		require.False(t, p.Skip)
		require.Equal(t, 2, p.Items)
		m, err := b.store.GetMessage(ctx, p.MessageID)
		require.NoError(t, err)
		require.Equal(t, []string{"lens", "tripod"}, m.Recommended, "card is out of stock, bag is owned, rule order kept")

		again, err := b.acts.Prepare(ctx, b.ref)
		require.NoError(t, err)
		require.Equal(t, p.MessageID, again.MessageID, "a retried Prepare returns the same message")
	})
}

func TestStepWithNothingToRecommendIsSkipped(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.purchase(t, "ev-0", "o-0", "lens", "bag", "tripod")
		p, err := b.acts.Prepare(ctx, b.ref)
		require.NoError(t, err)
		require.True(t, p.Skip)
		require.Contains(t, p.Reason, "nothing to recommend")
		m, err := b.store.GetMessage(ctx, p.MessageID)
		require.NoError(t, err)
		require.Equal(t, domain.MessageSkipped, m.Status)
	})
}

func TestRenderAndSendExactlyOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ref := b.rendered(t, b.ref)
		m := b.message(t, ref)
		require.Equal(t, "Complete your X100 kit", m.Subject)
		require.Contains(t, m.HTML, "35mm Lens")
		require.Contains(t, m.HTML, "utm_content=s1-A")
		require.Contains(t, m.Text, "35mm Lens")
		require.Contains(t, m.HTML, "1 Main St")
		// Both unsubscribe links, signed for this customer, and the RFC 8058 headers.
		sequenceToken := b.signer.Token(unsub.Scope{CustomerID: "ada", CampaignID: "cam"})
		allToken := b.signer.Token(unsub.Scope{CustomerID: "ada"})
		require.Contains(t, m.HTML, `href="https://lift.example.com/u/`+sequenceToken+`"`)
		require.Contains(t, m.HTML, `href="https://lift.example.com/u/`+allToken+`"`)
		require.Equal(t, map[string]string{
			"List-Unsubscribe":      "<https://lift.example.com/u/" + allToken + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}, m.Headers)

		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.Equal(t, "fake-"+ref.MessageID, sent.ProviderMessageID)
		// A retry after the database recorded the send does not resend.
		again, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.Equal(t, sent, again)
		require.Len(t, b.mailer.Sent(), 1)
		e := b.mailer.Sent()[0]
		require.Equal(t, "ada@example.com", e.To)
		require.Equal(t, m.Headers, e.Headers, "the mailer gets the List-Unsubscribe headers")
		require.Equal(t, map[string]string{"message_id": ref.MessageID, "enrollment_id": "e-1", "campaign_id": "cam", "step_id": "s1", "variant": "A"}, e.CustomArgs)
		for _, v := range e.CustomArgs {
			require.NotContains(t, v, "@", "custom args carry opaque IDs only")
		}

		p2, err := b.acts.Prepare(ctx, b.ref)
		require.NoError(t, err)
		require.True(t, p2.AlreadySent)
		require.NoError(t, b.acts.Render(ctx, ref), "rendering a sent message changes nothing")
	})
}

func TestOfferShowsTheIncentiveAndItsDeadline(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		step := b.ref
		step.StepID = "s2"
		m := b.message(t, b.rendered(t, step))
		require.Equal(t, "Save 15% on 35mm Lens", m.Subject)
		require.Contains(t, m.HTML, "KIT15")
		require.Contains(t, m.HTML, "Offer ends Monday, May 11")
	})
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ref := b.rendered(t, b.ref)

		b.mailer.Err = errors.New("connection reset")
		_, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.Error(t, err)
		var appErr *temporal.ApplicationError
		require.False(t, errors.As(activities.Classify(err), &appErr) && appErr.NonRetryable(), "a transient failure is retried")

		b.mailer.Err = errs.E(errs.PermanentRemote, "status 400: invalid from address")
		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.True(t, sent.Failed)
		m := b.message(t, ref)
		require.Equal(t, domain.MessageFailed, m.Status)
		require.Contains(t, m.Error, "invalid from address")
	})
}

func TestSendRechecksSuppressionBeforeMailing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ref := b.rendered(t, b.ref)
		require.NoError(t, b.store.Suppress(ctx, "ada@example.com", "", "unsubscribe"))
		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.True(t, sent.Skipped)
		require.Empty(t, b.mailer.Sent())
		require.Equal(t, domain.MessageSkipped, b.message(t, ref).Status)
	})
}

func TestFrequencyCapDefersTheSecondEmailOfTheDay(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.app.Settings.Caps = []models.Cap{{Window: 24 * time.Hour, Max: 1}}
		first := b.rendered(t, b.ref)
		second := b.ref
		second.StepID = "s2"
		next := b.rendered(t, second)

		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: first.MessageID})
		require.NoError(t, err)
		require.False(t, sent.Deferred)
		sent, err = b.acts.Send(ctx, workflows.SendInput{MessageID: next.MessageID})
		require.NoError(t, err)
		require.True(t, sent.Deferred)
		require.Contains(t, sent.Reason, "at most 1 per day")
		require.True(t, b.ab.Clock().Add(24*time.Hour).Equal(sent.RetryAt), "%s", sent.RetryAt)
		require.Len(t, b.mailer.Sent(), 1, "the capped email was not handed to the mailer")
		require.Equal(t, domain.MessageReady, b.message(t, next).Status, "it waits, ready to send")

		// With a 1-second sequence day the cap window is 1 second too.
		sent, err = b.acts.Send(ctx, workflows.SendInput{MessageID: next.MessageID, Day: time.Second})
		require.NoError(t, err)
		require.True(t, sent.Deferred)
		require.True(t, b.ab.Clock().Add(time.Second).Equal(sent.RetryAt))
	})
}

func TestAmbiguousSendIsReconciledBeforeItIsRepeated(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		now, ref, in := b.reconciling(t)

		// The connection drops after the request went out: did SendGrid accept it?
		b.mailer.Err = errors.New("read tcp: connection reset by peer")
		_, err := b.acts.Send(ctx, in)
		require.Error(t, err)
		require.Equal(t, domain.MessageSending, b.message(t, ref).Status)

		// The retry does not resend blindly: it waits for the processed event.
		b.mailer.Err = nil
		*now = now.Add(time.Minute)
		sent, err := b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred)
		require.Contains(t, sent.Reason, "waiting for its processed event")
		require.Empty(t, b.mailer.Sent())

		// The webhook applies SendGrid's processed event: the next retry finds
		// the message sent and sends nothing.
		moved, err := b.store.MarkSent(ctx, ref.MessageID, "fake", "sg-1", *now)
		require.NoError(t, err)
		require.True(t, moved)
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.Equal(t, "sg-1", sent.ProviderMessageID)
		require.Empty(t, b.mailer.Sent(), "exactly one email")
	})
}

// An ambiguous send is repeated only when the webhook has shown it
// delivers: sends made after it were confirmed and it was not. While the
// webhook shows nothing (down, or replaying a backlog) the message is
// held, however long, and says why.
func TestAmbiguousSendIsHeldUntilTheWebhookShowsItDelivers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.app.Settings.ReconcileAfter = 10 * time.Minute
		now, ref, in := b.reconciling(t)
		b.mailer.Err = errors.New("timeout")
		_, err := b.acts.Send(ctx, in)
		require.ErrorContains(t, err, "timeout")
		attempt := *now
		b.mailer.Err = nil

		// An hour with no events at all: held at every look, with a
		// backoff, never sent again.
		var gap time.Duration
		for now.Before(attempt.Add(time.Hour)) {
			sent, err := b.acts.Send(ctx, in)
			require.NoError(t, err)
			require.True(t, sent.Deferred)
			require.True(t, sent.RetryAt.After(*now))
			*now, gap = sent.RetryAt, sent.RetryAt.Sub(*now)
		}
		require.Equal(t, 1, b.mailer.Attempts(), "not sent again")
		require.GreaterOrEqual(t, gap, 5*time.Minute, "held messages are looked at with a backoff")
		sent, err := b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred)
		require.Contains(t, sent.Reason, "held:")
		m := b.message(t, ref)
		require.Equal(t, domain.MessageSending, m.Status)
		require.Contains(t, m.Error, "held:", "the message says why it waits")

		// A backlog replayed after an outage: a later send that SendGrid
		// certainly accepted is not confirmed yet, so still no proof.
		later := func(id string, at time.Time, confirmed *time.Time) {
			require.NoError(t, b.store.DB().Create(&models.Message{ID: id, IdempotencyKey: "k/" + id, EnrollmentID: "e-x", StepID: "s1",
				CustomerID: "bob", CampaignID: "cam", Variant: "A", Status: domain.MessageSent, SendingAt: &at, SentAt: &at,
				ConfirmedAt: confirmed}).Error)
		}
		confirmedAt := *now
		later("m-later-1", attempt.Add(time.Second), &confirmedAt)
		later("m-later-2", attempt.Add(2*time.Second), nil)
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred, "one of the later sends is not confirmed yet")
		require.Equal(t, 1, b.mailer.Attempts())

		// Every later send is confirmed and this one is not: SendGrid never
		// had it. It is sent again, once.
		require.NoError(t, b.store.DB().Model(&models.Message{}).Where("id = ?", "m-later-2").Update("confirmed_at", now).Error)
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.False(t, sent.Deferred)
		require.Len(t, b.mailer.Sent(), 1)
		m = b.message(t, ref)
		require.Equal(t, domain.MessageSent, m.Status)
		require.Empty(t, m.Error, "no longer held")
	})
}

// A webhook request Lift refused is retried by SendGrid, in any order, for
// 24 hours: while one since the attempt is younger than that, later
// confirmations prove nothing. Without refusals, ten confirmed later
// sends are proof even when an early one never gets its event.
func TestHeldSendWaitsOutRefusedWebhookRequests(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.app.Settings.ReconcileAfter = 10 * time.Minute
		now, _, in := b.reconciling(t)
		b.mailer.Err = errors.New("timeout")
		_, err := b.acts.Send(ctx, in)
		require.Error(t, err)
		b.mailer.Err = nil
		attempt := *now
		later := func(i int, confirmed bool) {
			at := attempt.Add(time.Duration(i+1) * time.Second)
			m := &models.Message{ID: fmt.Sprint("m-later-", i), IdempotencyKey: fmt.Sprint("k/", i), EnrollmentID: "e-x", StepID: "s1",
				CustomerID: "bob", CampaignID: "cam", Variant: "A", Status: domain.MessageSent, SendingAt: &at, SentAt: &at}
			if confirmed {
				m.ConfirmedAt = &at
			}
			require.NoError(t, b.store.DB().Create(m).Error)
		}
		later(0, false) // its event never comes
		for i := 1; i <= 10; i++ {
			later(i, true)
		}
		require.NoError(t, b.store.RecordWebhookRefusal(ctx, attempt.Add(time.Minute), 503))

		*now = attempt.Add(time.Hour)
		sent, err := b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred, "a refused batch may still bring this one's event")
		require.Contains(t, sent.Reason, "refused a webhook request")
		*now = attempt.Add(25 * time.Hour)
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred, "past SendGrid's retries, but the first later send never came: no proof")
		require.Equal(t, 1, b.mailer.Attempts())

		// Without the refusal, ten confirmed later sends are proof enough.
		require.NoError(t, b.store.DB().Where("1 = 1").Delete(&models.WebhookRefusal{}).Error)
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.False(t, sent.Deferred)
		require.Equal(t, 2, b.mailer.Attempts())
	})
}

// The held message's own event ends the hold: it is recorded as sent,
// and nothing is sent again.
func TestHeldSendIsRecordedWhenItsEventComes(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		now, ref, in := b.reconciling(t)
		b.mailer.Err = errors.New("timeout")
		_, err := b.acts.Send(ctx, in)
		require.Error(t, err)
		b.mailer.Err = nil
		*now = now.Add(time.Hour)
		sent, err := b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.True(t, sent.Deferred)
		require.NoError(t, b.store.ConfirmMessage(ctx, ref.MessageID, "sendgrid", "sg-late", now.Add(-59*time.Minute), *now))
		sent, err = b.acts.Send(ctx, in)
		require.NoError(t, err)
		require.Equal(t, "sg-late", sent.ProviderMessageID)
		require.Equal(t, 1, b.mailer.Attempts(), "exactly one email")
		require.Empty(t, b.message(t, ref).Error)
	})
}

func TestIneligibleWhileAmbiguousStaysSending(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		now, ref, _ := b.reconciling(t)
		b.mailer.Err = errors.New("timeout")
		_, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.Error(t, err)
		*now = now.Add(time.Hour) // no processed event came
		require.NoError(t, b.store.Suppress(ctx, "ada@example.com", "", "unsubscribe"))
		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.True(t, sent.Skipped)
		require.Equal(t, domain.MessageSending, b.message(t, ref).Status, "a late processed event can still record it")
	})
}

func TestRefusalForNowIsNotAmbiguous(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.mailer.Reconciler = true
		ref := b.rendered(t, b.ref)
		b.mailer.Err = errs.Wrap(errs.Unavailable, &delivery.RateLimited{Reset: time.Now().Add(time.Minute)}, "429")
		_, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(activities.Classify(err), &appErr), "%v", err)
		require.Equal(t, "rate_limited", appErr.Type())
		require.Greater(t, appErr.NextRetryDelay(), 30*time.Second, "retries at the reset time")
		require.Equal(t, domain.MessageReady, b.message(t, ref).Status, "a 429 was certainly not sent")
		var slots int64
		require.NoError(t, b.store.DB().Model(&models.SendSlot{}).Count(&slots).Error)
		require.Zero(t, slots, "the cap slot is given back until the retry")
		b.mailer.Err = nil
		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		require.False(t, sent.Deferred, "no need to wait for a confirmation")
	})
}

func TestEligibility(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		el, err := b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.True(t, el.Eligible)

		require.NoError(t, b.store.Suppress(ctx, "ADA@example.com", "other-campaign", "unsubscribe"))
		el, err = b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.True(t, el.Eligible, "another campaign's suppression does not apply")

		require.NoError(t, b.store.Suppress(ctx, "ada@example.com", "cam", "unsubscribe"))
		el, err = b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.Equal(t, domain.StatusSuppressed, el.Status)

		require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "new@example.com", Timezone: "UTC", Locale: "en", Consent: false}))
		el, err = b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.Equal(t, domain.StatusNoConsent, el.Status)

		// Soft opt-in: only where the region allows it, only for existing customers.
		require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "new@example.com", Timezone: "UTC",
			Locale: "en", Consent: true, ConsentBasis: domain.BasisSoftOptIn, Country: "DE"}))
		el, err = b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.Equal(t, domain.StatusNoConsent, el.Status)
		require.Contains(t, el.Reason, "soft opt-in is not a lawful basis")
		b.app.Settings.SoftOptIn = []string{"GB", "DE"}
		el, err = b.acts.CheckEligibility(ctx, b.ref)
		require.NoError(t, err)
		require.True(t, el.Eligible, "ada has ordered before: %s", el.Reason)
		require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "newbie", Email: "n@example.com", Timezone: "UTC",
			Locale: "en", Consent: true, ConsentBasis: domain.BasisSoftOptIn, Country: "GB"}))
		ref := b.ref
		ref.CustomerID = "newbie"
		el, err = b.acts.CheckEligibility(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, "soft opt-in covers existing customers only", el.Reason)

		ref.CustomerID = "deleted"
		el, err = b.acts.CheckEligibility(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, domain.StatusCancelled, el.Status)
	})
}

func TestEvaluatePurchase(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ref := b.rendered(t, b.ref)

		eval := func(orderID string, goals ...campaign.Goal) workflows.PurchaseResult {
			res, err := b.acts.EvaluatePurchase(ctx, workflows.PurchaseInput{EnrollmentID: "e-1", OrderID: orderID, Goals: goals, TriggerEventID: "ev-1"})
			require.NoError(t, err)
			return res
		}
		b.purchase(t, "ev-2", "o-2", "lens")
		require.False(t, eval("o-2", campaign.GoalPurchaseOfRecommended).Converts, "recommended but not yet sent")
		_, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		res := eval("o-2", campaign.GoalPurchaseOfRecommended)
		require.True(t, res.Converts)
		require.Equal(t, int64(100), res.RevenueMinor)

		require.False(t, eval("o-1", campaign.GoalPurchaseAny).Converts, "the trigger order never converts")
		require.False(t, eval("o-missing", campaign.GoalPurchaseAny).Converts)
		b.purchase(t, "ev-3", "o-3", "tripod") // recommended were lens and bag
		require.False(t, eval("o-3", campaign.GoalPurchaseOfRecommended).Converts)
		require.True(t, eval("o-3", campaign.GoalPurchaseAny).Converts)
		require.False(t, eval("o-3", campaign.GoalPurchaseInCategory).Converts)
		require.NoError(t, b.store.UpsertProduct(ctx, &models.Product{SKU: "cam2", Name: "X200", Category: "cameras", Currency: "USD", InStock: true}))
		b.purchase(t, "ev-4", "o-4", "cam2")
		require.True(t, eval("o-4", campaign.GoalPurchaseInCategory).Converts)
	})
}

func TestConversionIsCreditedToTheLastEngagedStep(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		ref := b.rendered(t, b.ref)
		_, err := b.acts.Send(ctx, workflows.SendInput{MessageID: ref.MessageID})
		require.NoError(t, err)
		opened := time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC)
		require.NoError(t, b.store.UpdateDelivery(ctx, ref.MessageID, "", &opened, nil))

		b.purchase(t, "ev-2", "o-2", "lens") // at 12:00, an hour after the open
		res, err := b.acts.EvaluatePurchase(ctx, workflows.PurchaseInput{EnrollmentID: "e-1", OrderID: "o-2",
			Goals: []campaign.Goal{campaign.GoalPurchaseAny}, TriggerEventID: "ev-1"})
		require.NoError(t, err)
		require.True(t, res.Converts)
		require.Equal(t, "s1", res.Step)
		convs, err := b.store.Conversions(ctx, "e-1")
		require.NoError(t, err)
		require.Len(t, convs, 1)
		sent, err := b.store.GetMessage(ctx, ref.MessageID)
		require.NoError(t, err)
		lag := int64(convs[0].OrderedAt.Sub(*sent.SentAt) / time.Second)
		require.Positive(t, lag, "the attribution lag runs from the credited email's send to the order")
		require.Equal(t, models.Conversion{ID: convs[0].ID, EnrollmentID: "e-1", OrderID: "o-2", CustomerID: "ada", CampaignID: "cam",
			Variant: "A", Goal: "purchase_any", RevenueMinor: 100, Currency: "USD", StepID: "s1", MessageID: ref.MessageID,
			LagSeconds: &lag, OrderedAt: convs[0].OrderedAt, CreatedAt: convs[0].CreatedAt}, convs[0])

		// Evaluating the same order again records nothing new.
		_, err = b.acts.EvaluatePurchase(ctx, workflows.PurchaseInput{EnrollmentID: "e-1", OrderID: "o-2",
			Goals: []campaign.Goal{campaign.GoalPurchaseAny}, TriggerEventID: "ev-1"})
		require.NoError(t, err)
		convs, err = b.store.Conversions(ctx, "e-1")
		require.NoError(t, err)
		require.Len(t, convs, 1)

		// Six days after the open, outside the 5-day window: not credited.
		b.orderedAt = opened.Add(6 * 24 * time.Hour)
		b.purchase(t, "ev-3", "o-3", "bag")
		res, err = b.acts.EvaluatePurchase(ctx, workflows.PurchaseInput{EnrollmentID: "e-1", OrderID: "o-3",
			Goals: []campaign.Goal{campaign.GoalPurchaseAny}, TriggerEventID: "ev-1"})
		require.NoError(t, err)
		require.True(t, res.Converts)
		require.Empty(t, res.Step)
	})
}

// TestWatchersFromBeforeTheScanRetire: a watcher workflow still running
// from before the re-engagement scan asks for its plans and is told to
// end; the scan (api's TestQuietCustomersEnterReEngagement) does its job.
func TestWatchersFromBeforeTheScanRetire(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		plans, err := b.acts.LoadInactivityPlans(ctx, workflows.InactivityQuery{CustomerID: "ada"})
		require.NoError(t, err)
		require.True(t, plans.Retire)
		require.Empty(t, plans.Plans)
	})
}

// TestCopyOverItsBudgetFailsTheStepForGood: a version published before
// marketer text was checked (written straight to the store) cannot spin
// the worker: the render is refused at once, and for good, not retried.
func TestCopyOverItsBudgetFailsTheStepForGood(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		bad := campaign.Definition{ID: "spin", Name: "Spin", Kind: campaign.CrossSell, Trigger: campaign.Trigger{Event: "purchase"},
			Steps: []campaign.Step{{ID: "s1", At: "1d", Subject: "Hi", Template: "education",
				Body: `{{if eq .Customer.FirstName "Bob"}}hi{{else}}{{range 100000000}}{{end}}{{end}}`}}}
		raw, _ := json.Marshal(bad)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "spin", Name: "Spin", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
		_, err := b.store.PublishCampaign(ctx, "spin")
		require.NoError(t, err)
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-spin", CustomerID: "ada", CampaignID: "spin", Version: 1,
			WorkflowID: "seq/spin/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: time.Now()}))
		p, err := b.acts.Prepare(ctx, workflows.StepRef{EnrollmentID: "e-spin", CustomerID: "ada", CampaignID: "spin", Version: 1, StepID: "s1", Variant: "A"})
		require.NoError(t, err)
		err = b.acts.Render(ctx, workflows.MessageRef{MessageID: p.MessageID})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(activities.Classify(err), &appErr) && appErr.NonRetryable(), "%v", err)
		require.Contains(t, appErr.Error(), "only {{range .Products}}")
	})
}

func TestAnExpiredOfferIsNeverSent(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		b.ab.SetClock(func() time.Time { return now })
		offer := campaign.Definition{ID: "flash", Name: "Flash sale", Kind: campaign.CrossSell,
			Trigger: campaign.Trigger{Event: "purchase"},
			Steps: []campaign.Step{{ID: "deal", At: "1d", Subject: "{{.Incentive.PercentOff}}% off until {{.Incentive.Expires}}", Template: "offer",
				Incentive: &campaign.Incentive{PercentOff: 20, Code: "FLASH", ExpiresIn: "7d", EndsAt: "2026-05-06T18:00:00Z"}}}}
		raw, _ := json.Marshal(offer)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "flash", Name: "Flash", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
		_, err := b.store.PublishCampaign(ctx, "flash")
		require.NoError(t, err)
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-flash", CustomerID: "ada", CampaignID: "flash", Version: 1,
			WorkflowID: "seq/flash/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: now}))
		ref := workflows.StepRef{EnrollmentID: "e-flash", CustomerID: "ada", CampaignID: "flash", Version: 1, StepID: "deal", Variant: "A", TriggerEventID: "ev-1"}

		// The shown deadline is the offer's end, not seven days after sending.
		msg := b.rendered(t, ref)
		require.Equal(t, "20% off until Wednesday, May 6", b.message(t, msg).Subject)

		// The email waited past the end (a cap, a pause): it is not sent.
		now = time.Date(2026, 5, 6, 18, 0, 0, 0, time.UTC)
		sent, err := b.acts.Send(ctx, workflows.SendInput{MessageID: msg.MessageID})
		require.NoError(t, err)
		require.True(t, sent.Skipped)
		require.Contains(t, sent.Reason, "an expired offer is never sent")
		require.Empty(t, b.mailer.Sent())

		// A step prepared after the end is skipped outright.
		ref.EnrollmentID = "e-flash-2"
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-flash-2", CustomerID: "bob", CampaignID: "flash", Version: 1,
			WorkflowID: "seq/flash/bob", Variant: "A", Status: domain.StatusRunning, EnrolledAt: now}))
		p, err := b.acts.Prepare(ctx, ref)
		require.NoError(t, err)
		require.True(t, p.Skip)
	})
}

func TestEmailsSpeakTheCustomersLanguage(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		de := def
		de.ID = "cam-de"
		de.Steps = []campaign.Step{{ID: "s1", At: "1d", Subject: "Complete your {{.Trigger.ProductName}} kit", Template: "recommendation",
			Recommend:    &campaign.Recommend{Strategy: "complements"},
			Translations: map[string]campaign.StepText{"de": {Subject: "Vervollständigen Sie Ihr {{.Trigger.ProductName}}-Set"}}}}
		raw, _ := json.Marshal(de)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "cam-de", Name: "DE", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
		_, err := b.store.PublishCampaign(ctx, "cam-de")
		require.NoError(t, err)
		for _, c := range []struct{ locale, subject, greeting string }{
			{"de-CH", "Vervollständigen Sie Ihr X100-Set", "Hallo Ada,"},
			{"fr", "Complete your X100 kit", "Hi Ada,"},
		} {
			t.Run(c.locale, func(t *testing.T) {
				require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Name: "Ada Lovelace",
					Timezone: "Europe/Zurich", Locale: c.locale, Consent: true}))
				enr := "e-" + c.locale
				require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: enr, CustomerID: "ada", CampaignID: "cam-de", Version: 1,
					WorkflowID: "seq/cam-de/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusCompleted, EnrolledAt: time.Now()}))
				m := b.message(t, b.rendered(t, workflows.StepRef{EnrollmentID: enr, CustomerID: "ada", CampaignID: "cam-de", Version: 1,
					StepID: "s1", Variant: "A", TriggerEventID: "ev-1"}))
				require.Equal(t, c.subject, m.Subject, c.locale)
				require.Contains(t, m.HTML, c.greeting, c.locale)
			})
		}
	})
}

func TestUpsellShowsUsageAndThePlanComparison(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		for _, p := range []models.Product{
			{SKU: "plan-starter", Name: "Starter", Category: "plans", PriceMinor: 2900, Currency: "USD", InStock: true, TierRank: 1,
				Features: []string{"1,000 orders a month", "1 user"}},
			{SKU: "plan-pro", Name: "Pro", Category: "plans", PriceMinor: 9900, Currency: "USD", InStock: true, TierRank: 2,
				Features: []string{"10,000 orders a month", "5 users", "Priority support"}, Rating: 4.8, Reviews: 1204},
		} {
			require.NoError(t, b.store.UpsertProduct(ctx, &p))
		}
		require.NoError(t, b.store.RecordEvent(ctx, &models.Event{ID: "ev-u", Type: "usage", CustomerID: "ada", OccurredAt: time.Now(),
			Properties: map[string]any{"metric": "orders", "used": 847.0, "limit": 1000.0, "sku": "plan-starter"}}, nil))
		up := campaign.Definition{ID: "pro", Name: "Pro upsell", Kind: campaign.Upsell, Trigger: campaign.Trigger{Event: "usage"},
			Steps: []campaign.Step{{ID: "limit", At: "1d", Subject: "You're near your limit", Template: "upsell",
				Recommend: &campaign.Recommend{Strategy: campaign.StrategyNextTier, Limit: 1}}}}
		raw, _ := json.Marshal(up)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "pro", Name: "Pro", Kind: "upsell", TriggerEvent: "usage", Definition: raw}))
		_, err := b.store.PublishCampaign(ctx, "pro")
		require.NoError(t, err)
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "e-pro", CustomerID: "ada", CampaignID: "pro", Version: 1,
			WorkflowID: "seq/pro/ada", Variant: "A", TriggerEventID: "ev-u", Status: domain.StatusRunning, EnrolledAt: time.Now()}))
		m := b.message(t, b.rendered(t, workflows.StepRef{EnrollmentID: "e-pro", CustomerID: "ada", CampaignID: "pro", Version: 1,
			StepID: "limit", Variant: "A", TriggerEventID: "ev-u"}))
		require.Equal(t, []string{"plan-pro"}, m.Recommended)
		require.Equal(t, "the next plan up from your Starter", m.Reasons["plan-pro"])
		for _, want := range []string{"You have used 847 of 1,000 orders (84%).", "Your plan: Starter", "Upgrade to: Pro",
			"$99.00", "10,000 orders a month", "Priority support", "★ 4.8 · 1204 reviews"} {
			require.Contains(t, m.HTML, want)
		}
	})
}

// TestActivitiesAreAdapters: the worker's activities decode and call the
// application layer; the store is the application's, never theirs.
func TestActivitiesAreAdapters(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, strings.Fields(string(out)), "github.com/lift-hq/lift/models")
}
