// Package app wires Lift's processes together: all wiring lives here and
// in cmd/lift, so the end-to-end tests start exactly what `lift dev` does.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/devserver"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/sendgridfake"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

// Dev is a running `lift dev`: embedded Temporal and its UI, the app
// database, a worker and the API, in one process.
type Dev struct {
	Config   config.Config
	Temporal *devserver.Server
	Client   client.Client
	Store    *models.Store
	APIKey   string
	APIURL   string // http://host:port of the API

	worker sdkworker.Worker
	http   *http.Server
	fake   *sendgridfake.Server
	done   chan error
}

// SendGridFake is the fake SendGrid of `lift dev --sendgrid-fake`, or nil.
func (d *Dev) SendGridFake() *sendgridfake.Server { return d.fake }

// StartDev starts everything `lift dev` runs and returns when the API
// answers. Stop it with Stop.
func StartDev(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Dev, err error) {
	d := &Dev{Config: cfg, done: make(chan error, 1)}
	defer func() {
		if err != nil { // undo whatever had started
			d.Stop(context.Background())
		}
	}()
	if cfg.AffinityRebuild == 0 {
		cfg.AffinityRebuild = 24 * time.Hour
	}
	if cfg.AffinityMinSupport == 0 {
		cfg.AffinityMinSupport = 3
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	if d.APIKey, err = devSecret(cfg, cfg.APIKey, "api-key", "lift_dev_"); err != nil {
		return nil, err
	}
	if cfg.UnsubscribeSecret, err = devSecret(cfg, cfg.UnsubscribeSecret, "unsubscribe-secret", ""); err != nil {
		return nil, err
	}
	signer, err := unsub.NewSigner(cfg.UnsubscribeSecret)
	if err != nil {
		return nil, err
	}
	// Listen first: with --http :0 the port, and so the links in emails,
	// are known only once bound.
	listener, apiURL, err := Listen(cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = listener.Close()
		}
	}()
	if cfg.PublicURL == "" {
		cfg.PublicURL = apiURL
	}
	if cfg.SendGridFake {
		fake, err := sendgridfake.Start()
		if err != nil {
			return nil, err
		}
		d.fake = fake
		fake.SetWebhook(apiURL + "/v1/webhooks/sendgrid")
		cfg.SendGridAPIKey, cfg.SendGridBaseURL, cfg.SendGridWebhookKey = "SG.fake", fake.URL(), fake.PublicKey()
	}
	webhook, err := Webhook(cfg)
	if err != nil {
		return nil, err
	}
	d.Config, d.APIURL = cfg, apiURL
	if d.Store, err = OpenStore(ctx, cfg, true); err != nil {
		return nil, err
	}
	if err := d.Store.SetAPIKey(ctx, "dev", d.APIKey); err != nil {
		return nil, err
	}
	d.Temporal, err = devserver.Start(devserver.Options{
		DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"),
		FrontendPort: cfg.TemporalPort, UIPort: cfg.UIPort, Namespace: cfg.TemporalNamespace,
		LogFile: filepath.Join(cfg.DataDir, "temporal.log"),
	})
	if err != nil {
		return nil, err
	}
	if d.Client, err = Dial(ctx, d.Temporal.FrontendAddr, cfg.TemporalNamespace, logger); err != nil {
		return nil, err
	}
	if err := workflows.RegisterSearchAttributes(ctx, d.Client, cfg.TemporalNamespace); err != nil {
		return nil, err
	}
	if err := workflows.EnsureRebuildSchedule(ctx, d.Client, cfg.AffinityRebuild, cfg.AffinityMinSupport); err != nil {
		return nil, err
	}
	if err := workflows.EnsureExperimentSchedule(ctx, d.Client, cfg.ExperimentCheck); err != nil {
		return nil, err
	}
	acts, err := NewActivities(cfg, d.Store)
	if err != nil {
		return nil, err
	}
	acts.Switch = workflows.Client{Temporal: d.Client}
	d.worker = worker.New(d.Client, acts, sdkworker.Options{})
	if err := d.worker.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	router := api.NewRouter(api.Deps{
		Store: d.Store, Sequences: workflows.Client{Temporal: d.Client}, Unsubscribe: signer, Webhook: webhook, Logger: logger,
		Day: cfg.Day, UpsellPause: time.Duration(cfg.UpsellPauseDays) * cfg.Day, MaxBodyBytes: cfg.MaxBodyBytes, DevOutbox: true,
		MinSupport: cfg.AffinityMinSupport, Previewer: activities.Previewer{A: acts},
		ConsoleKey: ConsoleKey(cfg), TemporalUI: d.Temporal.UIURL, Namespace: cfg.TemporalNamespace,
	})
	d.http = ServeOn(listener, router, d.done)
	return d, nil
}

// Wait blocks until ctx ends or the HTTP server fails.
func (d *Dev) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-d.done:
		return err
	}
}

// Stop shuts down in dependency order: stop taking requests, stop the
// worker (letting running activities finish), then Temporal and the store.
func (d *Dev) Stop(ctx context.Context) {
	if d.http != nil {
		shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = d.http.Shutdown(shutdown)
		cancel()
	}
	if d.worker != nil {
		d.worker.Stop()
	}
	if d.Client != nil {
		d.Client.Close()
	}
	if d.Temporal != nil {
		d.Temporal.Stop()
	}
	if d.Store != nil {
		_ = d.Store.Close()
	}
	if d.fake != nil {
		d.fake.Close()
	}
}

// ConsoleKey derives the console's session-signing key from the
// unsubscribe secret, which every API replica shares, so a session works
// on any of them.
func ConsoleKey(cfg config.Config) []byte {
	if cfg.UnsubscribeSecret == "" {
		return nil // a random key per process
	}
	mac := hmac.New(sha256.New, []byte(cfg.UnsubscribeSecret))
	mac.Write([]byte("lift console sessions"))
	return mac.Sum(nil)
}

// Webhook builds the SendGrid webhook verifier from the config; it is off
// (nil key) when no key is configured.
func Webhook(cfg config.Config) (api.SendGridWebhook, error) {
	w := api.SendGridWebhook{MaxAge: cfg.SendGridWebhookMaxAge}
	if cfg.SendGridWebhookKey == "" {
		return w, nil
	}
	key, err := api.ParseSendGridKey(cfg.SendGridWebhookKey)
	w.Key = key
	return w, err
}

// OpenStore opens the app database. With migrate it brings the schema up
// to date (lift dev, lift migrate); without, it checks the schema is there
// (lift api, lift worker), so replicas never race each other migrating.
func OpenStore(ctx context.Context, cfg config.Config, migrate bool) (*models.Store, error) {
	s, err := models.Open(cfg.DatabaseDSN())
	if err != nil {
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

// Dial connects to Temporal, waiting up to a minute for it to answer.
func Dial(ctx context.Context, addr, namespace string, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort: addr, Namespace: namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(levelFilter{logger.Handler(), slog.LevelWarn})),
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// NewActivities builds the activities with the configured mailer.
func NewActivities(cfg config.Config, store *models.Store) (*activities.Activities, error) {
	renderer, err := email.NewRenderer()
	if err != nil {
		return nil, err
	}
	signer, err := unsub.NewSigner(cfg.UnsubscribeSecret)
	if err != nil {
		return nil, err
	}
	var mailer activities.Mailer = activities.Outbox{}
	if cfg.SendGridAPIKey != "" {
		mailer = activities.SendGrid{APIKey: cfg.SendGridAPIKey, BaseURL: cfg.SendGridHost(), Sandbox: cfg.SendGridSandbox,
			ASMGroup: cfg.SendGridASM, Tracking: cfg.SendGridTrack, Confirmed: cfg.SendGridWebhookKey != ""}
	}
	return &activities.Activities{
		Store: store, Mailer: mailer, Renderer: renderer,
		FromEmail: cfg.FromEmail, FromName: cfg.FromName, PostalAddress: cfg.PostalAddress,
		Unsubscribe: signer, PublicURL: cfg.PublicURL, SoftOptIn: cfg.SoftOptInCountries,
		ReconcileAfter: cfg.SendGridReconcileAfter,
		Recs:           &recs.Recommender{Store: store, MinOrders: cfg.RecsMinOrders, MinCustomers: cfg.RecsMinCustomers},
		Caps:           []models.Cap{{Window: 24 * time.Hour, Max: cfg.CapPerDay}, {Window: 7 * 24 * time.Hour, Max: cfg.CapPerWeek}},
	}, nil
}

// Serve listens on addr and serves h in the background; see ServeOn.
func Serve(addr string, h http.Handler, done chan<- error) (*http.Server, string, error) {
	l, url, err := Listen(addr)
	if err != nil {
		return nil, "", err
	}
	return ServeOn(l, h, done), url, nil
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

// devSecret returns value if set, or else a secret generated once and kept
// in the data dir (mode 0600) so restarts keep it: the API key lift dev
// prints, and the key that signs unsubscribe links already sent.
func devSecret(cfg config.Config, value, file, prefix string) (string, error) {
	if value != "" {
		return value, nil
	}
	path := filepath.Join(cfg.DataDir, file)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(buf)
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
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
