package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lift-hq/lift/internal/devstack"
)

// TestOneTraceFollowsAnEvent posts an event with a W3C traceparent and
// finds, in that one trace, the HTTP request, the Temporal call that
// started the sequence, the workflow run and its activities (the send
// among them); and no span carries the request's path (customer IDs,
// unsubscribe tokens) or the caller's address.
func TestOneTraceFollowsAnEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	spans := tracetest.NewInMemoryExporter()
	d, a := startDevWith(t, nil, devstack.WithSpanExporter(spans))
	defer d.Stop(context.Background())
	seed(t, a, "tess")

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest("POST", a.url+"/v1/events", strings.NewReader(purchase("tess", "o-tess", "cam")))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("X-Request-ID", "checkout-42")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 202, res.StatusCode)
	require.Equal(t, "checkout-42", res.Header.Get("X-Request-ID"), "the caller's request ID comes back")

	eventually(t, 30*time.Second, "tess's sequence to complete", func() bool {
		j := a.journeys(t, "tess")
		return len(j) == 1 && j[0].Status == "completed"
	})
	// Spans are exported in batches, and the workflow's own ends just
	// after its last activity: flush until it is there.
	names := map[string]int{}
	eventually(t, 30*time.Second, "the workflow's span", func() bool {
		require.NoError(t, d.Telemetry.Flush(context.Background()))
		clear(names)
		for _, s := range spans.GetSpans() {
			for _, kv := range s.Attributes {
				switch kv.Key {
				case "url.path":
					require.NotContains(t, kv.Value.AsString(), "tess", "span %q", s.Name)
				case "client.address", "network.peer.address", "user_agent.original":
					require.Empty(t, kv.Value.AsString(), "span %q: %s", s.Name, kv.Key)
				}
			}
			if s.SpanContext.TraceID().String() == traceID {
				names[s.Name]++
			}
		}
		return names["RunWorkflow:Sequence"] > 0
	})
	t.Logf("spans in the event's trace: %v", names)
	require.Equal(t, 1, names["POST /v1/events"], "%v", names)
	require.Equal(t, 1, names["StartWorkflow:Sequence"], "%v", names)
	require.Positive(t, names["RunWorkflow:Sequence"], "%v", names)
	require.GreaterOrEqual(t, names["RunActivity:RunStep"], 3, "every step (its send included), in the same trace: %v", names)
}

// scrape reads a Prometheus endpoint, with key when not empty.
func scrape(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// metricLine finds the sample of name whose labels include every one of
// labels (k="v" pairs) and returns its value, or "".
func metricLine(text, name string, labels ...string) string {
next:
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		return line[strings.LastIndex(line, " ")+1:]
	}
	return ""
}
