package activities_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// receiver records the requests a destination gets and answers with
// the statuses it is given, in turn (then 200).
type receiver struct {
	mu       sync.Mutex
	statuses []int
	reqs     []*http.Request
	bodies   [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs, r.bodies = append(r.reqs, req), append(r.bodies, body)
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	w.WriteHeader(status)
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.reqs) }

const secret = "0123456789abcdef0123456789abcdef"

// flowCampaign publishes an upsell that emails, then branches on a click
// of that email: sales hear of clickers (crm), the others get an SMS.
func flowCampaign(t *testing.T, b *bundle, sendWindow string) {
	t.Helper()
	d := campaign.Definition{ID: "alert", Name: "Alert", Kind: campaign.Upsell, Trigger: campaign.Trigger{Event: "usage"},
		SendWindow: sendWindow,
		Steps: []campaign.Step{
			{ID: "s1", At: "1d", Subject: "Compare plans", Template: "education"},
			{ID: "engaged", Branch: &campaign.Branch{If: map[string]any{"clicked": "s1"},
				Then: []campaign.Step{{ID: "tell-sales", Webhook: &campaign.Webhook{Destination: "crm"}}},
				Else: []campaign.Step{{ID: "nudge", Webhook: &campaign.Webhook{Destination: "sms"}}}}},
		}}
	require.NoError(t, d.Validate())
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "alert", Name: "Alert", Kind: "upsell", TriggerEvent: "usage", Definition: raw}))
	_, err = b.store.PublishCampaign(ctx, "alert")
	require.NoError(t, err)
	require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "w-1", CustomerID: "ada", CampaignID: "alert", Version: 1,
		WorkflowID: "seq/alert/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: apptest.Now.Add(-time.Hour)}))
}

func flowRef(step string) workflows.StepRef {
	return workflows.StepRef{EnrollmentID: "w-1", CustomerID: "ada", CampaignID: "alert", Version: 1, StepID: step, Variant: "A", TriggerEventID: "ev-1"}
}

// The branch reads the engagement the SendGrid webhook recorded on the
// enrolment's email: no click, else; a click, then.
func TestBranchFollowsRecordedEngagement(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		flowCampaign(t, b, "")
		p, err := b.acts.Prepare(ctx, flowRef("s1"))
		require.NoError(t, err)
		out, err := b.acts.EvaluateBranch(ctx, flowRef("engaged"))
		require.NoError(t, err)
		require.False(t, out.Then)
		require.Equal(t, "else: clicked=s1 did not hold", out.Reason)

		now := time.Now()
		require.NoError(t, b.store.UpdateDelivery(ctx, p.MessageID, "", nil, &now)) // as the webhook's click event does
		out, err = b.acts.EvaluateBranch(ctx, flowRef("engaged"))
		require.NoError(t, err)
		require.True(t, out.Then)
		require.Equal(t, "then: clicked=s1 held", out.Reason)

		_, err = b.acts.EvaluateBranch(ctx, flowRef("s1"))
		require.Equal(t, errs.Invalid, errs.CodeOf(err), "an email step is not a branch")
	})
}

func TestWebhookIsSignedCarriesNoAddressAndIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		flowCampaign(t, b, "")
		rec := &receiver{statuses: []int{503}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		_, err := b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: srv.URL + "/hook", Secret: secret})
		require.NoError(t, err)
		in := workflows.WebhookInput{Ref: flowRef("tell-sales"), Day: workflows.Day}

		_, err = b.acts.CallWebhook(ctx, in)
		require.Error(t, err, "a 503 is retried")
		require.False(t, isPermanent(err))
		out, err := b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Delivered)
		require.Equal(t, "delivered (HTTP 200) after 2 attempts", out.Reason)

		require.Equal(t, 2, rec.count())
		for i, req := range rec.reqs {
			require.Equal(t, "w-1:tell-sales", req.Header.Get(app.HeaderIdempotency), "the same key on every attempt")
			require.NoError(t, app.VerifyWebhook(secret, req.Header.Get(app.HeaderSignature), rec.bodies[i], apptest.Now, 5*time.Minute))
			require.Error(t, app.VerifyWebhook("another-secret-another-secret!", req.Header.Get(app.HeaderSignature), rec.bodies[i], apptest.Now, 5*time.Minute))
			require.Error(t, app.VerifyWebhook(secret, req.Header.Get(app.HeaderSignature), rec.bodies[i], apptest.Now.Add(time.Hour), 5*time.Minute),
				"an old request cannot be replayed")
			require.Equal(t, "application/json", req.Header.Get("Content-Type"))
		}
		var p app.WebhookPayload
		require.NoError(t, json.Unmarshal(rec.bodies[1], &p))
		require.Equal(t, "ada", p.CustomerID)
		require.Equal(t, "alert", p.Campaign)
		require.Equal(t, "tell-sales", p.Step)
		require.Equal(t, "A", p.Variant)
		require.Equal(t, "purchase", p.Trigger.Type)
		require.Equal(t, &app.WebhookOrder{ID: "o-1", Revenue: 1, Currency: "USD",
			Items: []app.WebhookOrderItem{{SKU: "cam", Name: "X100", Quantity: 1, Price: 1}}}, p.Trigger.Order, "why sales hear of it: the order")
		require.Empty(t, p.Email)
		require.Empty(t, p.Name)
		require.NotContains(t, string(rec.bodies[1]), "ada@example.com", "no address unless the destination asks for it")

		// Asked again (a retried or replayed step): nothing is posted.
		out, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Delivered)
		require.Equal(t, 2, rec.count(), "at most one accepted delivery per step")
		d, err := b.store.WebhookDeliveryOf(ctx, "w-1", "tell-sales")
		require.NoError(t, err)
		require.Equal(t, 2, d.Attempts)
		require.Equal(t, 200, d.LastStatus)

		// A destination that asks for the address gets it.
		_, err = b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: srv.URL + "/hook", Secret: secret, IncludeEmail: true})
		require.NoError(t, err)
		in.Ref.StepID, in.Ref.EnrollmentID = "tell-sales", "w-2"
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "w-2", CustomerID: "ada", CampaignID: "alert", Version: 1,
			WorkflowID: "seq/alert/ada-2", Variant: "A", Status: domain.StatusCompleted, EnrolledAt: apptest.Now}))
		_, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(rec.bodies[2], &p))
		require.Equal(t, "ada@example.com", p.Email)
		require.Equal(t, "Ada Lovelace", p.Name, "and whom to call")
	})
}

func isPermanent(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(activities.Classify(err), &appErr) && appErr.NonRetryable()
}

func TestWebhookRefusedForGoodFailsTheStep(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		flowCampaign(t, b, "")
		rec := &receiver{statuses: []int{400}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		_, err := b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: srv.URL, Secret: secret})
		require.NoError(t, err)
		_, err = b.acts.CallWebhook(ctx, workflows.WebhookInput{Ref: flowRef("tell-sales"), Day: workflows.Day})
		require.True(t, isPermanent(err), "%v", err)
		require.Contains(t, err.Error(), "HTTP 400")
	})
}

// A destination that reaches the customer asks the reach policy: for
// texts, SMS consent (email consent is not enough), the number's
// suppression, quiet hours and the caps.
func TestChannelWebhooksRespectConsentAndQuietHours(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		// 10:00 UTC is 11:00 in London: outside a 12:00-20:00 window.
		flowCampaign(t, b, "12:00-20:00")
		// Email consent alone never covers a text.
		_, err := b.app.PutDestination(ctx, "sms", app.DestinationInput{URL: "http://127.0.0.1:9/none", Secret: secret, Channel: "sms"})
		require.NoError(t, err)
		out, err := b.acts.CallWebhook(ctx, workflows.WebhookInput{Ref: flowRef("nudge"), Day: workflows.Day})
		require.NoError(t, err)
		require.True(t, out.Skipped, "%+v", out)
		require.Equal(t, "no phone number for sms", out.Reason)
		require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Name: "Ada Lovelace",
			Timezone: "Europe/London", Locale: "en", Consent: true, Phone: "+447700900123"}))
		out, err = b.acts.CallWebhook(ctx, workflows.WebhookInput{Ref: flowRef("nudge"), Day: workflows.Day})
		require.NoError(t, err)
		require.True(t, out.Skipped)
		require.Equal(t, "no SMS consent (email consent does not cover texts)", out.Reason)
		require.NoError(t, b.store.UpsertCustomer(ctx, &models.Customer{ID: "ada", Email: "ada@example.com", Name: "Ada Lovelace",
			Timezone: "Europe/London", Locale: "en", Consent: false, Phone: "+447700900123", SMSConsent: true}))
		rec := &receiver{}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		_, err = b.app.PutDestination(ctx, "sms", app.DestinationInput{URL: srv.URL, Secret: secret, Channel: "sms"})
		require.NoError(t, err)
		in := workflows.WebhookInput{Ref: flowRef("nudge"), Day: workflows.Day}
		out, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Deferred)
		require.Equal(t, time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC), out.RetryAt.UTC(), "noon in London")
		require.Zero(t, rec.count())

		// At noon it goes, and takes a slot under the frequency caps: a
		// cap of one a day then holds the next channel message.
		b.app.Settings.Caps = []models.Cap{{Window: 24 * time.Hour, Max: 1}}
		noon := apptest.Now.Add(time.Hour)
		b.app.Now = func() time.Time { return noon }
		out, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Delivered, "%+v", out)
		require.Equal(t, 1, rec.count())
		in.Ref.StepID = "nudge-2" // another step of the same kind, the same day
		_, err = b.acts.CallWebhook(ctx, in)
		require.Equal(t, errs.Invalid, errs.CodeOf(err), "no such step in the campaign")
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "w-3", CustomerID: "ada", CampaignID: "alert", Version: 1,
			WorkflowID: "seq/alert/ada-3", Variant: "A", Status: domain.StatusRunning, EnrolledAt: noon}))
		in.Ref.StepID, in.Ref.EnrollmentID = "nudge", "w-3"
		out, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Deferred, "the cap is full: %+v", out)
		require.Equal(t, "frequency cap reached", out.Reason)
		require.Equal(t, 1, rec.count())

		require.NoError(t, b.store.Suppress(ctx, app.PhoneAddress("+447700900123"), "", "unsubscribed"))
		out, err = b.acts.CallWebhook(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Skipped, "a suppressed number gets no text")
		require.Equal(t, "phone number suppressed (global, unsubscribed)", out.Reason)
		require.Equal(t, 1, rec.count())
	})
}

func TestDestinationsAreValidatedAndKeepTheirSecret(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		cases := map[string]struct {
			in    app.DestinationInput
			field string
		}{
			"metadata service":   {app.DestinationInput{URL: "http://169.254.169.254/latest", Secret: secret}, "url"},
			"aws ipv6 metadata":  {app.DestinationInput{URL: "http://[fd00:ec2::254]/latest", Secret: secret}, "url"},
			"metadata via nat64": {app.DestinationInput{URL: "http://[64:ff9b::a9fe:a9fe]/", Secret: secret}, "url"},
			"alibaba metadata":   {app.DestinationInput{URL: "http://100.100.100.200/latest", Secret: secret}, "url"},
			"this network":       {app.DestinationInput{URL: "http://0.0.0.1/", Secret: secret}, "url"},
			"not http":           {app.DestinationInput{URL: "ftp://crm.example/", Secret: secret}, "url"},
			"credentials":        {app.DestinationInput{URL: "https://u:p@crm.example/", Secret: secret}, "url"},
			"short secret":       {app.DestinationInput{URL: "https://crm.example/", Secret: "short"}, "secret"},
			"long secret":        {app.DestinationInput{URL: "https://crm.example/", Secret: strings.Repeat("s", 257)}, "secret"},
			"channel":            {app.DestinationInput{URL: "https://crm.example/", Secret: secret, Channel: "pigeon"}, "channel"},
		}
		for name, c := range cases {
			_, err := b.app.PutDestination(ctx, "d", c.in)
			e, ok := errs.As(err)
			require.True(t, ok, "%s: %v", name, err)
			require.Equal(t, c.field, e.Field, name)
		}
		v, err := b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: "https://crm.example/hook", Secret: secret, Channel: "sms"})
		require.NoError(t, err)
		raw, _ := json.Marshal(v)
		require.NotContains(t, string(raw), secret)
		require.Equal(t, "sms", v.Channel)
		require.Empty(t, v.Warnings)
		v, err = b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: "https://crm.example/hook", Secret: "s3cret-12"})
		require.NoError(t, err, "a short secret is taken, with a warning")
		require.Len(t, v.Warnings, 1)
	})
}

// Outside lift dev, loopback and private addresses are refused too, when
// registered and when connecting (a name may resolve elsewhere later).
func TestPrivateDestinationsNeedTheSetting(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		flowCampaign(t, b, "")
		rec := &receiver{}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		_, err := b.app.PutDestination(ctx, "crm", app.DestinationInput{URL: srv.URL, Secret: secret})
		require.NoError(t, err, "lift dev's default allows them")
		b.app.Settings.WebhookAllowPrivate = false
		_, err = b.app.PutDestination(ctx, "crm2", app.DestinationInput{URL: srv.URL, Secret: secret})
		require.ErrorContains(t, err, "LIFT_WEBHOOK_ALLOW_PRIVATE")
		_, err = b.acts.CallWebhook(ctx, workflows.WebhookInput{Ref: flowRef("tell-sales"), Day: workflows.Day})
		require.True(t, isPermanent(err), "refused for good, not retried for a day: %v", err)
		require.NotContains(t, err.Error(), srv.URL, "the URL (it may hold a token) stays out of errors")
		require.Zero(t, rec.count(), "the connection itself is refused")
	})
}
