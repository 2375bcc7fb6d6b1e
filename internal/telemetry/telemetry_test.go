package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lift-hq/lift/internal/telemetry"
)

func TestRequestIDsAreTokensNotText(t *testing.T) {
	require.Equal(t, "checkout-42", telemetry.NewRequestID("checkout-42"))
	for _, hostile := range []string{"", "two words", "a\nfake=log line", string(make([]byte, 65)), "ünï"} {
		id := telemetry.NewRequestID(hostile)
		require.NotEqual(t, hostile, id)
		require.Len(t, id, 36, "a new UUID instead of %q", hostile)
	}
}

func TestJSONLogsCarryTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, "json")
	log.InfoContext(telemetry.WithRequestID(context.Background(), "r-1"), "event", "event_id", "e-1")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	require.Equal(t, "r-1", rec["request_id"])
	require.Equal(t, "e-1", rec["event_id"])
	require.Equal(t, "event", rec["msg"])
}

// TestSpansCarryNoPathOrAddress: HTTP instrumentation records the path
// (customer IDs, unsubscribe tokens), the client's address and user agent;
// none of it reaches an exporter.
func TestSpansCarryNoPathOrAddress(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(context.Background(), telemetry.Options{Service: "test", SpanExporter: spans})
	require.NoError(t, err)
	ctx := context.Background()
	_, span := tel.Tracer.Tracer("t").Start(ctx, "GET /u/:token", trace.WithAttributes(
		attribute.String("http.route", "/u/:token"), attribute.String("url.path", "/u/secret-token"),
		attribute.String("client.address", "203.0.113.9"), attribute.String("user_agent.original", "Mozilla"),
	))
	span.End()
	require.NoError(t, tel.Flush(ctx))
	got := spans.GetSpans()
	require.Len(t, got, 1)
	for _, kv := range got[0].Attributes {
		switch kv.Key {
		case "url.path":
			require.Equal(t, "/u/:token", kv.Value.AsString())
		case "client.address", "user_agent.original":
			require.Empty(t, kv.Value.AsString(), kv.Key)
		}
	}
	require.NoError(t, tel.Shutdown(ctx))
}
