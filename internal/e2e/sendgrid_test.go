package e2e_test

import (
	"context"
	"net/http"
	"sort"
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
