// Package boot is Lift's composition root: the one place that builds the
// store, the Temporal client, the mailer, the application, the activities
// and the router from the configuration, for every role, and the one place
// that bootstraps what a Temporal namespace needs (search attributes and
// schedules). It links no embedded server and no fake: `lift dev` adds
// those around it (internal/devstack).
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/telemetry"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

// Lift is one process's components, built from the configuration.
type Lift struct {
	Config     config.Config
	Logger     *slog.Logger
	Store      *models.Store
	Temporal   client.Client
	Mailer     delivery.Mailer
	App        *app.App
	Activities *activities.Activities
	Telemetry  *telemetry.Telemetry
}

// Options say what Build builds for which role.
type Options struct {
	// Migrate brings the schema up to date (lift dev, lift migrate);
	// without it Build checks that lift migrate did.
	Migrate bool
	// Service names the process in traces: lift-api, lift-worker, lift-dev.
	Service string
	// SpanExporter receives every span (tests); otherwise the OTEL_*
	// environment decides.
	SpanExporter sdktrace.SpanExporter
}

// Build sets up telemetry, opens the store (bringing the schema up to
// date with o.Migrate, else checking that `lift migrate` did), connects
// to Temporal and assembles the application. Close it when done.
func Build(ctx context.Context, cfg config.Config, logger *slog.Logger, o Options) (_ *Lift, err error) {
	l := &Lift{Config: cfg, Logger: logger}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if o.Service == "" {
		o.Service = "lift"
	}
	if l.Telemetry, err = telemetry.New(ctx, telemetry.Options{Service: o.Service, SpanExporter: o.SpanExporter}); err != nil {
		return nil, err
	}
	if l.Telemetry.Exporting != "" {
		logger.Info("exporting traces", "to", l.Telemetry.Exporting)
	}
	if l.Store, err = OpenStore(ctx, cfg, o.Migrate); err != nil {
		return nil, err
	}
	if l.Temporal, err = Dial(ctx, cfg.Temporal, logger, l.Telemetry); err != nil {
		return nil, err
	}
	renderer, err := email.NewRenderer()
	if err != nil {
		return nil, err
	}
	// lift migrate needs no secret: without one the signer stays empty and
	// the application refuses to render an email (api and worker require it).
	var signer unsub.Signer
	if cfg.UnsubscribeSecret != "" {
		if signer, err = unsub.NewSigner(cfg.UnsubscribeSecret, cfg.UnsubscribePrevious...); err != nil {
			return nil, err
		}
	}
	l.Mailer = Mailer(cfg)
	l.App = app.New(app.Deps{
		Store: l.Store, Sequences: workflows.Client{Temporal: l.Temporal}, Mailer: l.Mailer, Renderer: renderer,
		Signer: signer, Logger: logger, Metrics: l.Telemetry.Metrics,
		Recommender: &recs.Recommender{Store: recs.DB{Store: l.Store}, MinOrders: cfg.RecsMinOrders, MinCustomers: cfg.RecsMinCustomers},
		Settings: app.Settings{
			Day: cfg.Day, UpsellPause: time.Duration(cfg.UpsellPauseDays) * cfg.Day, MinSupport: cfg.AffinityMinSupport,
			SoftOptIn: cfg.SoftOptInCountries, PublicURL: cfg.PublicURL,
			FromEmail: cfg.FromEmail, FromName: cfg.FromName, PostalAddress: cfg.PostalAddress, AuditRetention: cfg.AuditRetention,
			Segment: app.SegmentSettings{ConsentTrait: cfg.SegmentConsentTrait, Events: cfg.SegmentEvents,
				ProfileChannels: cfg.SegmentProfileChannels, ProfileKeys: cfg.SegmentProfileKeys},
			TestSendAllow: cfg.TestSendAllow, TestSendsPerHour: cfg.TestSendsPerHour,
			WebhookAllowPrivate: cfg.WebhookAllowPrivate,
			RecsModelProducts:   cfg.RecsModelProducts, RecsRebuildTimeout: cfg.RecsRebuildTimeout, RecsEvalMaxLines: cfg.RecsEvalMaxLines,
			ReconcileAfter: cfg.SendGridReconcileAfter,
			Caps:           []models.Cap{{Window: 24 * time.Hour, Max: cfg.CapPerDay}, {Window: 7 * 24 * time.Hour, Max: cfg.CapPerWeek}},
		},
	})
	l.Activities = &activities.Activities{App: l.App}
	return l, nil
}

// Close releases the Temporal connection and the store, and flushes the
// spans not yet exported.
func (l *Lift) Close() {
	if l.Temporal != nil {
		l.Temporal.Close()
	}
	if l.Store != nil {
		_ = l.Store.Close()
	}
	if l.Telemetry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.Telemetry.Shutdown(ctx); err != nil {
			l.Logger.Warn("telemetry not flushed", "err", err)
		}
	}
}

// Mailer is the configured mailer: SendGrid with an API key, else the
// outbox, which keeps emails in the database and sends nothing.
func Mailer(cfg config.Config) delivery.Mailer {
	if cfg.SendGridAPIKey == "" {
		return delivery.Outbox{}
	}
	return delivery.SendGrid{APIKey: cfg.SendGridAPIKey, BaseURL: cfg.SendGridHost(), Sandbox: cfg.SendGridSandbox,
		ASMGroup: cfg.SendGridASM, Tracking: cfg.SendGridTrack, Confirmed: cfg.SendGridWebhookKey != ""}
}

// Router builds the HTTP API. devOutbox serves the unauthenticated outbox
// page (lift dev only); temporalUI is where the console links journeys.
func (l *Lift) Router(devOutbox bool, temporalUI string) (http.Handler, error) {
	webhook := api.SendGridWebhook{MaxAge: l.Config.SendGridWebhookMaxAge, MaxBytes: l.Config.SendGridWebhookMaxBytes,
		Concurrent: l.Config.SendGridWebhookConcurrency}
	if l.Config.SendGridWebhookKey != "" {
		key, err := api.ParseSendGridKey(l.Config.SendGridWebhookKey)
		if err != nil {
			return nil, err
		}
		webhook.Key = key
	} else if !devOutbox { // lift dev mails to its outbox: there are no SendGrid events to see
		l.Logger.Warn("SENDGRID_WEBHOOK_PUBLIC_KEY is not set: the SendGrid event webhook is off, so bounces, complaints and opens are not seen")
	}
	return api.NewRouter(api.Deps{
		App: l.App, Store: l.Store, Webhook: webhook, Logger: l.Logger, MaxBodyBytes: l.Config.MaxBodyBytes, ImportMaxBytes: l.Config.ImportMaxBytes,
		Telemetry:     l.Telemetry,
		SecureCookies: strings.HasPrefix(l.Config.PublicURL, "https://"), TrustedProxies: l.Config.TrustedProxies,
		DevOutbox: devOutbox, TemporalUI: temporalUI, Namespace: l.Config.TemporalNamespace,
	}), nil
}

// Worker builds the worker for Lift's task queue, not yet started: every
// workflow and activity under its name, activity errors classified by
// activities.Classify.
func (l *Lift) Worker() sdkworker.Worker {
	c := l.Config
	// Process-wide, and read when the first worker starts.
	sdkworker.SetStickyWorkflowCacheSize(c.WorkerCache)
	return worker.New(l.Temporal, l.Activities, sdkworker.Options{
		// In-flight activities (a send, above all) finish before the
		// worker exits; past the timeout their context is cancelled and
		// Temporal retries them elsewhere.
		WorkerStopTimeout:                      c.ShutdownTimeout,
		MaxConcurrentActivityExecutionSize:     c.WorkerActivities,
		MaxConcurrentWorkflowTaskExecutionSize: c.WorkerWorkflowTasks,
		MaxConcurrentActivityTaskPollers:       c.WorkerPollers,
		MaxConcurrentWorkflowTaskPollers:       c.WorkerPollers,
	})
}

// Bootstrap registers Lift's search attributes, creates its schedules
// (the affinity rebuild, the purge) where missing and starts its clocks
// (the experiment check, the re-engagement scan) or gives them their
// periods. It is
// idempotent: lift migrate and every lift dev start call it.
func (l *Lift) Bootstrap(ctx context.Context) error {
	cfg := l.Config
	if err := workflows.RegisterSearchAttributes(ctx, l.Temporal, cfg.TemporalNamespace); err != nil {
		return err
	}
	l.Logger.Info("search attributes registered", "namespace", cfg.TemporalNamespace)
	if err := workflows.EnsureRebuildSchedule(ctx, l.Temporal, cfg.AffinityRebuild, cfg.AffinityMinSupport); err != nil {
		return err
	}
	if err := workflows.EnsurePurgeSchedule(ctx, l.Temporal, cfg.PurgeEvery); err != nil {
		return err
	}
	// The experiment check ran on a schedule before its clock.
	if err := workflows.DeleteSchedule(ctx, l.Temporal, workflows.CheckExperimentsScheduleID); err != nil {
		return err
	}
	if err := workflows.EnsureClock(ctx, l.Temporal, workflows.ExperimentClockWorkflowID, workflows.ExperimentClockWorkflowName, cfg.ExperimentCheck); err != nil {
		return err
	}
	if err := workflows.EnsureClock(ctx, l.Temporal, workflows.DormancyWorkflowID, workflows.DormancyWorkflowName, cfg.DormancyScan); err != nil {
		return err
	}
	l.Logger.Info("schedules and clocks in place", "affinity_rebuild", cfg.AffinityRebuild, "purge", cfg.PurgeEvery,
		"experiment_check", cfg.ExperimentCheck, "dormancy_scan", cfg.DormancyScan)
	return nil
}

// OpenStore opens the app database. With migrate it brings the schema up
// to date (lift dev, lift migrate); without, it checks the schema is there
// (lift api, lift worker), so replicas never race each other migrating.
func OpenStore(ctx context.Context, cfg config.Config, migrate bool) (*models.Store, error) {
	s, err := models.Open(cfg.DatabaseDSN())
	if err != nil {
		return nil, err
	}
	if err := s.SetPool(cfg.DatabaseMaxConns, cfg.DatabaseMaxIdle); err != nil {
		return nil, err
	}
	if migrate {
		err = s.Migrate(ctx)
	} else {
		err = s.CheckSchema(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Dial connects to Temporal as the profile says (address, namespace,
// API key, TLS and mutual TLS, gRPC metadata: the SDK's environment
// configuration), waiting up to a minute for it to answer. With tel, the
// SDK's metrics go to its registry and its calls are traced.
func Dial(ctx context.Context, prof envconfig.ClientConfigProfile, logger *slog.Logger, tel *telemetry.Telemetry) (client.Client, error) {
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return nil, fmt.Errorf("temporal connection: %w", err)
	}
	opts.Logger = sdklog.NewStructuredLogger(slog.New(levelFilter{logger.Handler(), slog.LevelWarn}))
	if tel != nil {
		tracing, err := tel.Interceptor()
		if err != nil {
			return nil, err
		}
		opts.MetricsHandler = tel.Metrics
		opts.Interceptors = append(opts.Interceptors, tracing)
	}
	how := "without TLS"
	switch {
	case prof.APIKey != "":
		how = "with an API key over TLS"
	case opts.ConnectionOptions.TLS != nil && len(opts.ConnectionOptions.TLS.Certificates) > 0:
		how = "with mutual TLS"
	case opts.ConnectionOptions.TLS != nil:
		how = "over TLS"
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			logger.Info("connected to Temporal", "address", opts.HostPort, "namespace", opts.Namespace, "connection", how)
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s (namespace %s, %s): %w", opts.HostPort, opts.Namespace, how, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Listen binds addr and returns the listener and its URL (which names the
// bound port, useful with ":0").
func Listen(addr string) (net.Listener, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, "http://" + localURLHost(l.Addr().(*net.TCPAddr)), nil
}

// ServeOn serves h on l in the background with sane timeouts; a failure
// is sent to done.
func ServeOn(l net.Listener, h http.Handler, done chan<- error) *http.Server {
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			done <- err
		}
	}()
	return srv
}

func localURLHost(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() || a.IP.IsLoopback() {
		return fmt.Sprintf("localhost:%d", a.Port)
	}
	return a.String()
}

// levelFilter drops records below a level; the SDK logs every poll at info.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
