package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// RunStep is a whole step in one activity: it sends once, however often
// it is retried, records progress, and holds its send while the
// enrollment is marked paused.
func TestRunStepSendsOnceAndHoldsForAPause(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		at := time.Now()
		require.NoError(t, b.store.MarkEnrollmentPaused(ctx, "ada", "cam", &at))
		in := workflows.RunStepInput{Ref: b.ref, EmailsSent: 0, Day: 24 * time.Hour}
		out, err := b.acts.RunStep(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Sent.Deferred, "held by the pause: %+v", out)
		require.Empty(t, b.mailer.Sent())

		require.NoError(t, b.store.MarkEnrollmentPaused(ctx, "ada", "cam", nil))
		// A pause of the whole campaign holds it too, looking again in an hour.
		require.NoError(t, b.store.PauseCampaign(ctx, "cam", "prices are being fixed", &at))
		out, err = b.acts.RunStep(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Sent.Deferred)
		require.Equal(t, "campaign paused: prices are being fixed", out.Sent.Reason)
		require.WithinDuration(t, time.Now().Add(time.Hour), out.Sent.RetryAt, time.Minute)
		require.Empty(t, b.mailer.Sent())
		require.NoError(t, b.store.PauseCampaign(ctx, "cam", "", nil))
		out, err = b.acts.RunStep(ctx, in)
		require.NoError(t, err)
		require.True(t, out.Eligibility.Eligible)
		require.NotEmpty(t, out.Sent.ProviderMessageID, "%+v", out)
		again, err := b.acts.RunStep(ctx, in) // a retry after the answer was lost
		require.NoError(t, err)
		require.True(t, again.Prepared.AlreadySent)
		require.Len(t, b.mailer.Sent(), 1, "sent once")
		e, err := b.store.GetEnrollment(ctx, "e-1")
		require.NoError(t, err)
		require.Equal(t, 1, e.EmailsSent)
		require.Equal(t, "s1", e.CurrentStep)

		// Not eligible: nothing is prepared or sent.
		require.NoError(t, b.store.Suppress(ctx, "ada@example.com", "", domain.ReasonUnsubscribe))
		out, err = b.acts.RunStep(ctx, workflows.RunStepInput{Ref: withStep(b.ref, "s2")})
		require.NoError(t, err)
		require.False(t, out.Eligibility.Eligible)
		require.Equal(t, domain.StatusSuppressed, out.Eligibility.Status)
		require.Len(t, b.mailer.Sent(), 1)
	})
}

func withStep(ref workflows.StepRef, step string) workflows.StepRef {
	ref.StepID = step
	return ref
}

// A sequence whose enrolment row did not exist when an exit event was
// ingested learns of the event from its first activity; an event from
// before it began, and its own trigger, do not count.
func TestStartEnrollmentFindsExitsItMissed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		began := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond) // after the bundle's own purchase
		for _, ev := range []models.Event{
			{ID: "old", Type: "complaint", CustomerID: "ada", OccurredAt: began.Add(-time.Minute)},
			{ID: "trigger", Type: "upgrade", CustomerID: "ada", OccurredAt: began},
			{ID: "late", Type: "unsubscribe", CustomerID: "ada", OccurredAt: began.Add(time.Second), Properties: map[string]any{"campaign_id": "cam"}},
			{ID: "view", Type: "page_view", CustomerID: "ada", OccurredAt: began.Add(time.Second)},
		} {
			require.NoError(t, b.store.RecordEvent(ctx, &ev, nil))
		}
		started, err := b.acts.StartEnrollment(ctx, workflows.StartEnrollmentInput{EnrollmentID: "e-2", CustomerID: "ada",
			CampaignID: "other", Version: 1, WorkflowID: "seq/other/ada", Variant: "A", TriggerEventID: "trigger", EnrolledAt: began})
		require.NoError(t, err)
		require.Equal(t, []workflows.PendingExit{{Signal: workflows.SignalUnsubscribe, Exit: workflows.ExitSignal{EventID: "late", CampaignID: "cam"}}}, started.Exits)
	})
}
