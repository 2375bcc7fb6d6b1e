package e2e_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/sendgridfake"
)

// TestSendGridFaultMatrixEndsWithExactlyOneEmailPerStep sends through the
// SendGrid fake with a fault injected into every step of every sequence:
// rate limiting, server errors, slow answers, and a connection dropped
// after SendGrid accepted the message (Lift cannot know it was sent). Each
// ends with exactly one accepted email per step: retried where SendGrid
// refused, reconciled through the signed processed event where the answer
// was lost.
func TestSendGridFaultMatrixEndsWithExactlyOneEmailPerStep(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	d, _ := startDevWith(t, map[string]string{"LIFT_SENDGRID_FAKE": "true", "SENDGRID_RECONCILE_AFTER": "3s",
		"LIFT_CAP_PER_DAY": "1", "LIFT_CAP_PER_WEEK": "3"})
	defer d.Stop(context.Background())
	a := api{url: d.APIURL, key: apiKey}
	fake := d.SendGridFake()

	faults := map[string]sendgridfake.Fault{
		"rate-limited": {Status: http.StatusTooManyRequests},
		"server-error": {Status: http.StatusInternalServerError},
		"slow":         {Delay: 1500 * time.Millisecond},
		"dropped":      {DropAfterAccept: true},
	}
	var customers []string
	for name := range faults {
		customers = append(customers, name)
	}
	sort.Strings(customers)
	seed(t, a, customers...)
	for _, c := range customers {
		for _, step := range []string{"complement", "guide", "bundle"} {
			fake.InjectFor(c+"@example.com", step, faults[c])
		}
		a.must(t, "POST", "/v1/events", purchase(c, "o-"+c, "cam"), 202)
	}
	for _, c := range customers {
		eventually(t, 60*time.Second, c+"'s sequence to complete", func() bool {
			j := a.journeys(t, c)
			return len(j) == 1 && j[0].Status == "completed"
		})
		accepted := fake.AcceptedFor(c + "@example.com")
		var steps []string
		for _, acc := range accepted {
			steps = append(steps, acc.CustomArgs["step_id"])
			require.Equal(t, "List-Unsubscribe=One-Click", acc.Headers["List-Unsubscribe-Post"])
		}
		require.Equal(t, []string{"complement", "guide", "bundle"}, steps, "%s: exactly one accepted email per step", c)
		ms := a.messages(t, c)
		require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(ms), c)
		// Where the answer was lost, the ID came from the processed event.
		var ids, want []string
		for i := range ms {
			ids = append(ids, ms[i].ProviderMessageID)
			want = append(want, accepted[i].XMessageID)
		}
		require.Equal(t, want, ids, c)
	}
	require.Greater(t, fake.Requests(), 12, "the faults were met and retried")
}

// TestWebhookOutageSendsNothingTwice takes SendGrid's event webhook down
// for the equivalent of an hour (eight times SENDGRID_RECONCILE_AFTER)
// while sends lose their answers: one SendGrid took, one it never got.
// Neither is sent again while the webhook is silent: both are held and
// say so. When the backlog arrives, the one SendGrid took is recorded as
// sent, and the one it never got is sent, once, because the sends after
// it are confirmed and it is not.
func TestWebhookOutageSendsNothingTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	const reconcileAfter = time.Second
	d, _ := startDevWith(t, map[string]string{"LIFT_SENDGRID_FAKE": "true", "SENDGRID_RECONCILE_AFTER": reconcileAfter.String()})
	defer d.Stop(context.Background())
	a := api{url: d.APIURL, key: apiKey}
	fake := d.SendGridFake()
	fake.SetWebhookDown(true)

	customers := []string{"taken", "lost", "plain"}
	seed(t, a, customers...)
	fake.InjectFor("taken@example.com", "complement", sendgridfake.Fault{DropAfterAccept: true})
	fake.InjectFor("lost@example.com", "complement", sendgridfake.Fault{DropBeforeAccept: true})
	for _, c := range customers {
		a.must(t, "POST", "/v1/events", purchase(c, "o-"+c, "cam"), 202)
	}
	for _, c := range []string{"taken", "lost"} {
		eventually(t, 60*time.Second, c+"'s first email to be held", func() bool {
			ms := a.messages(t, c)
			return len(ms) == 1 && ms[0].Status == "sending" && strings.HasPrefix(ms[0].Error, "held:")
		})
	}
	// The outage goes on; the plain customer's later emails go out too,
	// unconfirmed. Still nothing is sent twice.
	time.Sleep(8 * reconcileAfter)
	require.Len(t, fake.AcceptedFor("taken@example.com"), 1, "held, not sent again")
	require.Empty(t, fake.AcceptedFor("lost@example.com"), "held, not sent again")

	fake.SetWebhookDown(false)
	for _, c := range customers {
		eventually(t, 90*time.Second, c+"'s sequence to complete", func() bool {
			j := a.journeys(t, c)
			return len(j) == 1 && j[0].Status == "completed"
		})
		var steps []string
		for _, acc := range fake.AcceptedFor(c + "@example.com") {
			steps = append(steps, acc.CustomArgs["step_id"])
		}
		require.Equal(t, []string{"complement", "guide", "bundle"}, steps, "%s: exactly one email per step", c)
		require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(a.messages(t, c)), c)
	}
}
