package telemetry

import (
	"context"
	"io"
	"log/slog"
	"regexp"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
)

// NewLogger is the process's logger: text (the default, for people) or
// JSON (LIFT_LOG_FORMAT=json, for log pipelines). Every record logged
// with a context carries that context's request ID and trace ID.
func NewLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(ContextHandler{h})
}

// ContextHandler adds the request ID and the trace ID of the record's
// context to every record.
type ContextHandler struct{ slog.Handler }

// Handle adds request_id and trace_id, when ctx has them.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h ContextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

type requestIDKey struct{}

// RequestIDHeader is the header a request ID comes in and goes back in.
const RequestIDHeader = "X-Request-ID"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// NewRequestID returns the caller's request ID when it is a sane token
// (at most 64 letters, digits and ._:-), else a new one: a caller cannot
// put arbitrary text into Lift's logs through it.
func NewRequestID(given string) string {
	if validRequestID.MatchString(given) {
		return given
	}
	return uuid.NewString()
}

// WithRequestID returns ctx carrying the request ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is ctx's request ID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
