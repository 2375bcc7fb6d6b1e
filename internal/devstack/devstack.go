// Package devstack runs `lift dev`: the embedded Temporal server and its
// Web UI (internal/devserver), optionally the SendGrid fake, and around
// them exactly what the production roles run, built by the composition
// root (internal/boot): the store on SQLite, a worker and the API in one
// process. The end-to-end tests start it too. It is linked only into the
// development binary (cmd/lift-dev), never into cmd/lift.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/boot"
	"github.com/lift-hq/lift/internal/devserver"
	"github.com/lift-hq/lift/internal/sendgridfake"
)

// Dev is a running `lift dev`.
type Dev struct {
	*boot.Lift
	Server *devserver.Server // the embedded Temporal server and UI
	APIKey string
	APIURL string // http://host:port of the API

	worker sdkworker.Worker
	http   *http.Server
	fake   *sendgridfake.Server
	done   chan error
}

// SendGridFake is the fake SendGrid of `lift dev --sendgrid-fake`, or nil.
func (d *Dev) SendGridFake() *sendgridfake.Server { return d.fake }

// Start starts everything `lift dev` runs and returns when the API
// answers. Stop it with Stop.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *Dev, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d := &Dev{done: make(chan error, 1)}
	defer func() {
		if err != nil { // undo whatever had started
			d.Stop(context.Background())
		}
	}()
	// The data directory holds the API key, the unsubscribe secret and
	// the customers' data: this user's alone, also when it exists already.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if d.APIKey, err = secret(cfg, cfg.APIKey, "api-key", "lift_dev_"); err != nil {
		return nil, err
	}
	if cfg.UnsubscribeSecret, err = secret(cfg, cfg.UnsubscribeSecret, "unsubscribe-secret", ""); err != nil {
		return nil, err
	}
	// Listen first: with --http :0 the port, and so the links in emails,
	// are known only once bound.
	listener, apiURL, err := boot.Listen(cfg.HTTPAddr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = listener.Close()
		}
	}()
	d.APIURL = apiURL
	if cfg.PublicURL == "" { // config.Load leaves it to lift dev: the URL it listens on
		cfg.PublicURL = apiURL
	}
	if cfg.SendGridFake {
		if d.fake, err = sendgridfake.Start(); err != nil {
			return nil, err
		}
		d.fake.SetWebhook(apiURL + "/v1/webhooks/sendgrid")
		cfg.SendGridAPIKey, cfg.SendGridBaseURL, cfg.SendGridWebhookKey = "SG.fake", d.fake.URL(), d.fake.PublicKey()
	}
	d.Server, err = devserver.Start(devserver.Options{
		DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"),
		FrontendPort: cfg.TemporalPort, UIPort: cfg.UIPort, Namespace: cfg.TemporalNamespace,
		LogFile: filepath.Join(cfg.DataDir, "temporal.log"),
	})
	if err != nil {
		return nil, err
	}
	cfg.TemporalAddress = d.Server.FrontendAddr
	cfg.Temporal.Address = d.Server.FrontendAddr
	if cfg.TemporalUIURL == "" {
		cfg.TemporalUIURL = d.Server.UIURL
	}
	if d.Lift, err = boot.Build(ctx, cfg, logger, boot.Options{Migrate: true, Service: "lift-dev", SpanExporter: o.spans}); err != nil {
		return nil, err
	}
	if _, err := d.App.BootstrapKey(ctx, "dev", d.APIKey); err != nil {
		return nil, err
	}
	if err := d.Bootstrap(ctx); err != nil {
		return nil, err
	}
	d.worker = d.Worker()
	if err := d.worker.Start(); err != nil {
		return nil, err
	}
	router, err := d.Router(true, cfg.TemporalUIURL)
	if err != nil {
		return nil, err
	}
	d.http = boot.ServeOn(listener, router, d.done)
	return d, nil
}

// Option changes how Start builds lift dev.
type Option func(*options)

type options struct{ spans sdktrace.SpanExporter }

// WithSpanExporter sends every span to exp (tests read traces from it).
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.spans = exp }
}

// StopWorker stops the in-process worker (letting running activities
// finish), so that another process's worker alone runs the task queue:
// lift dev bench measures a worker process that way.
func (d *Dev) StopWorker() {
	if d.worker != nil {
		d.worker.Stop()
		d.worker = nil
	}
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
	if d.Lift != nil {
		d.Close()
	}
	if d.Server != nil {
		d.Server.Stop()
	}
	if d.fake != nil {
		d.fake.Close()
	}
}

// secret returns value if set, or else a secret generated once and kept
// in the data dir (mode 0600) so restarts keep it: the API key lift dev
// prints, and the key that signs unsubscribe links already sent.
func secret(cfg config.Config, value, file, prefix string) (string, error) {
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
	s := prefix + base64.RawURLEncoding.EncodeToString(buf)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}
