// Package api is Lift's HTTP surface: one Gin router holding every route,
// request DTOs, API-key auth, body limits and the mapping from error codes
// to HTTP statuses.
package api

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/telemetry"
	"github.com/lift-hq/lift/models"
)

// Store is the part of the store the HTTP layer itself needs:
// Idempotency-Key records. *models.Store is one.
type Store interface {
	BeginIdempotent(ctx context.Context, scope, key, fingerprint string, now time.Time) (*models.IdempotencyRecord, bool, error)
	FinishIdempotent(ctx context.Context, id uint, status int, contentType string, body []byte, subjects []string) error
	ForgetIdempotent(ctx context.Context, id uint) error
	IdempotencySubjects(ctx context.Context, recordID uint) ([]string, error)
}

// Deps are the router's dependencies. Every use case is the App's; the
// handlers decode, call it and encode.
type Deps struct {
	App     *app.App
	Store   Store
	Webhook SendGridWebhook // verifies POST /v1/webhooks/sendgrid
	Logger  *slog.Logger
	// MaxBodyBytes bounds every request body (a batch of events and a
	// SendGrid webhook may be 16 times larger).
	MaxBodyBytes int64
	// ImportMaxBytes bounds a bulk import's body, which is read a chunk
	// at a time (default 4 GiB).
	ImportMaxBytes int64
	// DevOutbox serves an unauthenticated outbox page at /dev/outbox. Only
	// lift dev turns it on.
	DevOutbox bool
	Now       func() time.Time // default time.Now
	// SecureCookies marks the console's cookie Secure: Lift's public URL
	// is https, whether or not TLS reaches the app itself.
	SecureCookies bool
	// TrustedProxies are the addresses (IPs or CIDRs) whose
	// X-Forwarded-For names the client, for limiting sign-in attempts by
	// address; none by default, so a client cannot choose its own.
	TrustedProxies []string
	// TemporalUI is the Temporal Web UI's base URL for the console's
	// journey links (none when empty); Namespace is Lift's namespace.
	TemporalUI string
	Namespace  string
	// Telemetry traces each request and serves /metrics to admin keys
	// (none in tests that do not need it).
	Telemetry *telemetry.Telemetry
}

//go:embed openapi.yaml
var openAPI []byte

// NewRouter returns the HTTP handler with every route.
func NewRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ImportMaxBytes == 0 {
		d.ImportMaxBytes = 4 << 30
	}
	h := &handlers{Deps: d, webhookSlots: make(chan struct{}, max(d.Webhook.Concurrent, 1)),
		webhookReads: &readLimits{max: webhookReads * max(d.Webhook.Concurrent, 1)},
		importSlots:  make(chan struct{}, maxImports)}

	r := gin.New()
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		// config.Load checked them; a router without proxies is the safe fallback.
		d.Logger.Error("trusted proxies", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.HandleMethodNotAllowed = true
	r.Use(h.requestID)
	if d.Telemetry != nil {
		// One span per request, continuing a caller's traceparent; the
		// probes and the scrape are not traced.
		r.Use(otelgin.Middleware("lift-api", otelgin.WithTracerProvider(d.Telemetry.Tracer),
			otelgin.WithMeterProvider(d.Telemetry.Meters),
			otelgin.WithSpanNameFormatter(func(c *gin.Context) string { return c.Request.Method + " " + c.FullPath() }),
			otelgin.WithGinFilter(func(c *gin.Context) bool {
				switch c.FullPath() {
				case "/healthz", "/readyz", "/metrics":
					return false
				}
				return true
			})))
	}
	r.Use(h.recoverPanics, h.logRequests, h.limitBody)
	r.NoRoute(func(c *gin.Context) { writeError(c, h.Logger, errRoute) })
	r.NoMethod(func(c *gin.Context) { writeError(c, h.Logger, errMethod) })

	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	if d.Telemetry != nil {
		// Prometheus scrapes with a metrics-scoped key (authorization:
		// Bearer in its scrape config), or without one on LIFT_METRICS_ADDR.
		r.GET("/metrics", h.authenticate, gin.WrapH(d.Telemetry.Handler()))
	}
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openAPI) })
	// Signed by SendGrid, not by an API key.
	r.POST("/v1/webhooks/sendgrid", h.sendgridWebhook)
	// Segment's HTTP tracking API, for Segment and RudderStack
	// destinations and Segment's libraries pointed at Lift.
	seg := r.Group("/segment/v1", h.segmentAuth)
	for _, call := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		seg.POST("/"+call, h.segmentCall)
	}
	seg.POST("/batch", h.segmentBatch)
	// Segment's Node library resolves its path (/v1/batch) against the
	// host it is given, so a host-only setup posts here: the same batch.
	r.POST("/v1/batch", h.segmentAuth, h.segmentBatch)
	r.GET("/u/:token", h.unsubscribeForm)
	r.POST("/u/:token", h.unsubscribePost)

	v1 := r.Group("/v1", h.authenticate, h.audit, h.idempotent)
	v1.PUT("/customers/:id", h.putCustomer)
	v1.GET("/customers/:id", h.getCustomer)
	v1.DELETE("/customers/:id", h.eraseCustomer)
	v1.GET("/customers/:id/export", h.exportCustomer)
	v1.GET("/customers/:id/journeys", h.listJourneys)
	v1.POST("/customers/:id/journeys/:campaign/pause", h.pauseJourney)
	v1.POST("/customers/:id/journeys/:campaign/resume", h.resumeJourney)
	v1.PUT("/products/:sku", h.putProduct)
	v1.GET("/products/:sku", h.getProduct)
	v1.PUT("/recommendation-rules", h.putRules)
	v1.POST("/recommendations/rebuild", h.startRebuild)
	v1.GET("/recommendations/rebuild", h.rebuildStatus)
	v1.POST("/recommendations/evaluate", h.evaluateRecommendations)
	v1.POST("/campaigns", h.createCampaign)
	v1.GET("/campaigns", h.listCampaigns)
	v1.GET("/campaigns/:id", h.getCampaign)
	v1.PUT("/campaigns/:id", h.putCampaign)
	v1.POST("/campaigns/:id/publish", h.publishCampaign)
	v1.POST("/campaigns/:id/move-running", h.moveRunning)
	v1.PUT("/coupon-pools/:id", h.putCoupons)
	v1.GET("/coupon-pools/:id", h.getCoupons)
	v1.PUT("/destinations/:id", h.putDestination)
	v1.GET("/destinations/:id", h.getDestination)
	v1.POST("/campaigns/:id/pause", h.campaignState("pause"))
	v1.POST("/campaigns/:id/resume", h.campaignState("resume"))
	v1.POST("/campaigns/:id/unpublish", h.campaignState("unpublish"))
	v1.POST("/campaigns/:id/preview", h.previewCampaign)
	v1.POST("/campaigns/:id/test-send", h.testSendCampaign)
	v1.GET("/campaigns/:id/report", h.campaignReport)
	v1.GET("/campaigns/:id/segments/opened-not-converted", h.openedNotConverted)
	v1.POST("/campaigns/:id/experiments", h.startExperiment)
	v1.GET("/campaigns/:id/experiments", h.listExperiments)
	v1.GET("/campaigns/:id/experiments/:exp", h.getExperiment)
	v1.POST("/campaigns/:id/experiments/:exp/stop", h.stopExperiment)
	v1.POST("/campaigns/:id/experiments/:exp/conclude", h.concludeExperiment)
	v1.POST("/campaigns/:id/experiments/:exp/resume", h.resumeExperimentVariant)
	v1.POST("/events", h.postEvent)
	v1.POST("/events\\:batch", h.postEventBatch) // a literal colon: /v1/events:batch
	v1.POST("/campaigns\\:apply", h.applyBundle)
	v1.POST("/imports/:kind", h.postImport)
	v1.GET("/messages", h.listMessages)
	v1.GET("/messages/:id", h.getMessage)
	v1.GET("/messages/:id/html", h.getMessageHTML)
	v1.POST("/messages/:id/resolve", h.resolveMessage)
	v1.POST("/api-keys", h.createKey)
	v1.GET("/api-keys", h.listKeys)
	v1.DELETE("/api-keys/:id", h.revokeKey)
	v1.GET("/audit-log", h.auditLog)

	r.GET("/console/login", h.consoleLoginForm)
	r.POST("/console/login", h.consoleLogin)
	console := r.Group("/console", h.consoleAuth)
	console.GET("", h.consoleCampaigns)
	console.POST("/logout", h.consoleLogout)
	console.GET("/campaigns/:id", h.consoleCampaign)
	console.GET("/campaigns/:id/preview", h.consolePreview)
	// The report as GET /v1/campaigns/:id/report gives it, for a signed-in
	// browser (which holds a session cookie, not the API key).
	console.GET("/campaigns/:id/report", h.campaignReport)
	console.POST("/campaigns/:id/experiments/:action", h.consoleExperimentAction)
	console.GET("/campaigns/:id/tests/new", h.consoleNewTest)
	console.POST("/campaigns/:id/tests", h.consoleTest)
	console.POST("/campaigns/:id/state/:action", h.consoleCampaignState)
	console.GET("/recommendations", h.consoleRecommendations)
	console.POST("/recommendations/rebuild", h.consoleRebuild)

	if d.DevOutbox {
		dev := r.Group("/dev", h.localOnly)
		dev.GET("/outbox", h.outboxPage)
		dev.GET("/outbox/:id", h.getMessageHTML)
		dev.POST("/outbox/:id/:event", h.engageMessage)
	}
	return r
}

type handlers struct {
	Deps
	webhookSlots chan struct{} // verified webhook batches being applied now
	webhookReads *readLimits   // webhook bodies being read now
	importSlots  chan struct{} // bulk imports running now
	lastRefusal  atomic.Int64  // the second a webhook refusal was last recorded
	xffWarned    atomic.Bool   // X-Forwarded-For from an untrusted peer was logged
}

func (h *handlers) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz reports whether the database and Temporal both answer.
func (h *handlers) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "temporal": "ok"}
	status := http.StatusOK
	database, temporal := h.App.Ping(ctx)
	if database != nil {
		checks["database"], status = "unavailable", http.StatusServiceUnavailable
	}
	if temporal != nil {
		checks["temporal"], status = "unavailable", http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"status": map[bool]string{true: "ok", false: "unavailable"}[status == http.StatusOK], "checks": checks})
}

// requestID gives each request an ID: the caller's X-Request-ID when it
// is a sane token, else a new one. It is echoed in the response and is
// in every log line about the request.
func (h *handlers) requestID(c *gin.Context) {
	id := telemetry.NewRequestID(c.GetHeader(telemetry.RequestIDHeader))
	c.Header(telemetry.RequestIDHeader, id)
	c.Request = c.Request.WithContext(telemetry.WithRequestID(c.Request.Context(), id))
	c.Next()
}

// logRequests logs each request without PII: the route pattern, not the
// path (which holds customer IDs), and never a body.
func (h *handlers) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	h.Logger.InfoContext(c.Request.Context(), "http", "method", c.Request.Method, "route", c.FullPath(), "status", c.Writer.Status(),
		"ms", time.Since(start).Milliseconds())
}

// recoverPanics answers a handler's panic with a 500 and logs it with its
// value and stack, so the bug can be found.
func (h *handlers) recoverPanics(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // the client went away: nothing to answer
				panic(v)
			}
			h.Logger.ErrorContext(c.Request.Context(), "handler panicked", "route", c.FullPath(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(c, h.Logger, errInternal)
		}
	}()
	c.Next()
}
