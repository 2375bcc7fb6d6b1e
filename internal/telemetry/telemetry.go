// Package telemetry is what an operator watches Lift with: Prometheus
// metrics (the Temporal SDK's and Lift's own, through OpenTelemetry's
// Prometheus exporter), OpenTelemetry traces (exported over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, propagated from the HTTP request
// through Temporal into the workflow and its activities) and structured
// logs carrying the request ID and trace ID of the work they are about.
//
// Nothing here carries PII: metric labels are event types, campaign and
// step IDs and outcomes; logs and spans carry IDs, never an email
// address, a name or a body.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Names of Lift's own metrics, as recorded through the SDK's metrics
// handler. Prometheus shows counters with _total and timers with
// _seconds appended (lift_events_ingested_total, lift_send_latency_seconds).
const (
	// MetricEventsIngested counts events by type and outcome (enrolled,
	// signalled, recorded, rejected, failed).
	MetricEventsIngested = "lift_events_ingested"
	// MetricEnrolments counts sequences started, by campaign.
	MetricEnrolments = "lift_enrolments"
	// MetricEntriesRefused counts customers a campaign's trigger matched
	// but its gate kept out, by campaign and reason: entry_window,
	// campaign_paused (a marketer paused it), upsell_pause, experiment_paused (every variant new enrolments could
	// go to is paused by its guardrail), reentry. The re-engagement scan
	// asks again each tick while a quiet customer stays in the window.
	MetricEntriesRefused = "lift_entries_refused"
	// MetricStepsHeld counts steps held back from sending at each look,
	// by campaign and reason: coupon_pool_empty (the step's coupon pool
	// has no unused code left).
	MetricStepsHeld = "lift_steps_held"
	// MetricWebhookDeliveries counts flow webhook attempts by destination
	// (a registered ID, bounded by the operator) and outcome: delivered,
	// retried (no answer, 408, 429, 5xx) or refused (any other answer).
	MetricWebhookDeliveries = "lift_webhook_deliveries"
	// MetricEmails counts sends by campaign, step and outcome: sent,
	// failed, deferred (a frequency cap), held (an earlier attempt's fate
	// is unknown), skipped (consent, suppression, an ended offer).
	MetricEmails = "lift_emails"
	// MetricSendLatency is the time the provider took to accept an email.
	MetricSendLatency = "lift_send_latency"
	// MetricWebhookEvents counts the provider's events applied, by type.
	MetricWebhookEvents = "lift_webhook_events"
	// MetricSegmentMessages counts Segment-compatible calls by type and
	// outcome (recorded, unmodelled, anonymous, unknown_customer,
	// no_email, invalid).
	MetricSegmentMessages = "lift_segment_messages"
)

// Options configure New.
type Options struct {
	// Service names the process in traces: lift-api, lift-worker.
	Service string
	// SpanExporter, when set, receives every span (tests); otherwise
	// spans are exported over OTLP when the environment names an
	// endpoint, and only propagated when it does not.
	SpanExporter sdktrace.SpanExporter
	// Getenv reads the OTEL_* variables (default os.Getenv).
	Getenv func(string) string
}

// Telemetry is one process's metrics and tracing.
type Telemetry struct {
	// Registry holds every metric this process exports.
	Registry *prometheus.Registry
	// Metrics is the Temporal SDK's metrics handler over Registry; Lift's
	// own metrics go through it too.
	Metrics client.MetricsHandler
	// Tracer traces HTTP requests and Temporal calls.
	Tracer trace.TracerProvider
	// Meters is the OpenTelemetry meter provider behind Metrics (the HTTP
	// middleware records request durations with it).
	Meters metric.MeterProvider
	// Exporting says where spans go ("" when only propagated).
	Exporting string

	meters *sdkmetric.MeterProvider
	traces *sdktrace.TracerProvider
}

// New sets up the process's metrics and tracing, and installs the W3C
// trace-context propagator (not baggage) globally so incoming traceparent headers are
// honoured. Shut it down when the process ends, to flush spans.
func New(ctx context.Context, o Options) (*Telemetry, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", o.Service)), resource.WithFromEnv())
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithResource(res),
		sdkmetric.WithView(view))
	t := &Telemetry{Registry: reg, meters: meters, Meters: meters,
		Metrics: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{Meter: meters.Meter("lift"),
			// Counters as counters (Prometheus's _total), and a metric
			// that cannot be recorded is reported, never a panic.
			UseMonotonicCounters: true, OnError: otel.Handle})}

	// Redaction comes first: no path, address or user agent reaches an
	// exporter.
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(redact{})}
	span := o.SpanExporter
	if span == nil {
		if span, t.Exporting, err = otlpExporter(ctx, o.Getenv); err != nil {
			return nil, err
		}
	} else {
		t.Exporting = "test"
	}
	if span != nil {
		topts = append(topts, sdktrace.WithBatcher(span))
	}
	t.traces = sdktrace.NewTracerProvider(topts...)
	t.Tracer = t.traces
	otel.SetTracerProvider(t.traces)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return t, nil
}

// view shapes every metric stream. Sends and Temporal requests take from
// milliseconds to tens of seconds: histograms in seconds get buckets over
// that range. HTTP server metrics keep the method, the route pattern and
// the status only: the instrumentation also records the Host header's
// port and the like, which a caller without a key could vary to grow
// the number of series.
func view(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	s := sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit}
	matched := false
	if i.Kind == sdkmetric.InstrumentKindHistogram && i.Unit == "s" {
		s.Aggregation = sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}
		matched = true
	}
	if strings.HasPrefix(i.Name, "http.server.") {
		s.AttributeFilter = attribute.NewAllowKeysFilter("http.request.method", "http.route", "http.response.status_code")
		matched = true
	}
	return s, matched
}

// otlpExporter is the OTLP span exporter the standard OTEL_EXPORTER_OTLP_*
// variables describe (endpoint, headers, TLS, protocol grpc or
// http/protobuf, the default), or nil without an endpoint.
func otlpExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, string, error) {
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return nil, "", nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		protocol = "http/protobuf"
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, got %q", protocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return exp, "OTLP " + protocol + " to " + endpoint, nil
}

// Interceptor is the Temporal SDK's tracing interceptor: a client call
// (SignalWithStart from an HTTP request) starts a span whose context
// travels in the workflow's headers to its workflow and activity spans.
func (t *Telemetry) Interceptor() (interceptor.Interceptor, error) {
	// Trace context only: a caller's baggage would otherwise be copied
	// into the workflow's headers, and so into its history.
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: t.traces.Tracer("lift"),
		DisableBaggage: true, TextMapPropagator: propagation.TraceContext{}})
}

// Handler serves the registry in Prometheus's text format.
func (t *Telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{Registry: t.Registry, MaxRequestsInFlight: 4})
}

// Serve serves /metrics on addr until ctx ends. It returns once the
// listener is bound, so a port in use fails the start.
func (t *Telemetry) Serve(ctx context.Context, addr string, done chan<- error) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.Handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			done <- fmt.Errorf("metrics: %w", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return "http://" + ln.Addr().String() + "/metrics", nil
}

// Flush exports the spans still buffered.
func (t *Telemetry) Flush(ctx context.Context) error { return t.traces.ForceFlush(ctx) }

// Shutdown flushes the spans still buffered and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.traces.Shutdown(ctx), t.meters.Shutdown(ctx))
}

// redact keeps PII and secrets out of spans: HTTP instrumentation records
// the request path (customer IDs, unsubscribe tokens), the client's
// address and its user agent. The path becomes the route pattern.
type redact struct{}

func (redact) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	var route string
	found := false
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case "http.route":
			route = kv.Value.AsString()
		case "url.path", "url.full", "url.query", "client.address", "network.peer.address", "user_agent.original", "http.target":
			found = true
		}
	}
	if !found {
		return
	}
	s.SetAttributes(attribute.String("url.path", route), attribute.String("url.full", ""), attribute.String("url.query", ""),
		attribute.String("http.target", ""), attribute.String("client.address", ""),
		attribute.String("network.peer.address", ""), attribute.String("user_agent.original", ""))
}

func (redact) OnEnd(sdktrace.ReadOnlySpan)      {}
func (redact) Shutdown(context.Context) error   { return nil }
func (redact) ForceFlush(context.Context) error { return nil }
