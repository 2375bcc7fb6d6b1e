// Command lift runs Lift: `lift dev` runs everything in one process on the
// embedded default; `lift api`, `lift worker` and `lift migrate` are the
// production roles.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // customers' time zones work on hosts without tzdata

	"github.com/gin-gonic/gin"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/demo"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

const usage = `lift runs upsell and cross-sell email sequences as durable Temporal workflows.

Usage:
  lift dev [flags]   everything in one process: Temporal + Web UI, SQLite, worker, API
  lift api           the HTTP API (production role)
  lift worker        the Temporal worker (production role)
  lift migrate       create or update the database schema and register search attributes
  lift recs evaluate [flags]
                     hit-rate@3 of each recommendation strategy on a generated history

Run "lift <command> -h" for a command's flags. Every flag is also an
environment variable; see README.md for the full table.
`

func main() {
	gin.SetMode(gin.ReleaseMode)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lift:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	if args[0] == "recs" {
		return runRecs(args[1:], out)
	}
	role := config.Role(args[0])
	cfg, err := config.Load(role, environ(), args[1:])
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch role {
	case config.RoleDev:
		return runDev(ctx, cfg, logger, out)
	case config.RoleAPI:
		return runAPI(ctx, cfg, logger)
	case config.RoleWorker:
		return runWorker(ctx, cfg, logger)
	case config.RoleMigrate:
		return runMigrate(ctx, cfg, logger)
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}

func runDev(ctx context.Context, cfg config.Config, logger *slog.Logger, out io.Writer) error {
	// Requests are logged at warn and above so the demo output stays readable.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := app.StartDev(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer d.Stop(context.Background())
	mail := "outbox (set SENDGRID_API_KEY to send for real)"
	switch {
	case d.SendGridFake() != nil:
		mail = "the SendGrid fake at " + d.SendGridFake().URL() + ", which posts signed events back"
	case d.Config.SendGridAPIKey != "":
		mail = "SendGrid at " + d.Config.SendGridHost()
	}
	fmt.Fprintf(out, `
Lift is running (one sequence day = %s). Mail goes to %s.

  API           %s            API key: %s
  Console       %s/console (sign in with the API key)
  Outbox        %s/dev/outbox
  Temporal UI   %s/namespaces/%s/workflows
  Temporal      %s (namespace %s)
  Data          %s

Follow a customer's journey:
  curl -H "Authorization: Bearer %s" %s/v1/customers/ada/journeys

Press Ctrl-C to stop; running sequences resume on the next start.
`, cfg.Day, mail, d.APIURL, d.APIKey, d.APIURL, d.APIURL, d.Temporal.UIURL, cfg.TemporalNamespace,
		d.Temporal.FrontendAddr, cfg.TemporalNamespace, cfg.DataDir, d.APIKey, d.APIURL)
	if cfg.Demo {
		go func() {
			if err := demo.Run(ctx, d.APIURL, d.APIKey, out); err != nil && ctx.Err() == nil {
				logger.Error("demo", "err", err)
			}
		}()
	}
	return d.Wait(ctx)
}

func runAPI(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	store, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.SetAPIKey(ctx, "env", cfg.APIKey); err != nil {
		return err
	}
	c, err := app.Dial(ctx, cfg.TemporalAddress, cfg.TemporalNamespace, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	signer, err := unsub.NewSigner(cfg.UnsubscribeSecret)
	if err != nil {
		return err
	}
	webhook, err := app.Webhook(cfg)
	if err != nil {
		return err
	}
	acts, err := app.NewActivities(cfg, store) // for previews; the API sends nothing
	if err != nil {
		return err
	}
	if webhook.Key == nil {
		logger.Warn("SENDGRID_WEBHOOK_PUBLIC_KEY is not set: the SendGrid event webhook is off, so bounces, complaints and opens are not seen")
	}
	router := api.NewRouter(api.Deps{
		Store: store, Sequences: workflows.Client{Temporal: c}, Unsubscribe: signer, Webhook: webhook, Logger: logger,
		Day: cfg.Day, UpsellPause: time.Duration(cfg.UpsellPauseDays) * cfg.Day, MaxBodyBytes: cfg.MaxBodyBytes,
		MinSupport: cfg.AffinityMinSupport, Previewer: activities.Previewer{A: acts},
		ConsoleKey: app.ConsoleKey(cfg), TemporalUI: cfg.TemporalUIURL, Namespace: cfg.TemporalNamespace,
	})
	done := make(chan error, 1)
	srv, url, err := app.Serve(cfg.HTTPAddr, router, done)
	if err != nil {
		return err
	}
	logger.Info("lift api listening", "url", url)
	select {
	case <-ctx.Done():
	case err = <-done:
	}
	_ = srv.Shutdown(context.Background())
	return err
}

func runWorker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	store, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := app.Dial(ctx, cfg.TemporalAddress, cfg.TemporalNamespace, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	acts, err := app.NewActivities(cfg, store)
	if err != nil {
		return err
	}
	if cfg.SendGridAPIKey == "" {
		logger.Warn("SENDGRID_API_KEY is not set: emails go to the outbox, not to customers")
	}
	acts.Switch = workflows.Client{Temporal: c}
	w := worker.New(c, acts, sdkworker.Options{})
	logger.Info("lift worker polling", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace)
	return w.Run(stopOn(ctx))
}

func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	store, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer store.Close()
	logger.Info("database schema is up to date")
	c, err := app.Dial(ctx, cfg.TemporalAddress, cfg.TemporalNamespace, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := workflows.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	logger.Info("search attributes registered", "namespace", cfg.TemporalNamespace)
	if err := workflows.EnsureRebuildSchedule(ctx, c, cfg.AffinityRebuild, cfg.AffinityMinSupport); err != nil {
		return err
	}
	logger.Info("affinity rebuild scheduled", "every", cfg.AffinityRebuild)
	if err := workflows.EnsureExperimentSchedule(ctx, c, cfg.ExperimentCheck); err != nil {
		return err
	}
	logger.Info("experiment check scheduled", "every", cfg.ExperimentCheck)
	return nil
}

// runRecs runs `lift recs evaluate`: it generates a purchase history, holds
// out each customer's last order and reports hit-rate@3 per strategy
// against popular_in_category, in one run, on a scratch SQLite store.
func runRecs(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "evaluate" {
		return fmt.Errorf("usage: lift recs evaluate [-customers N] [-families N] [-per-family N] [-seed N] [-min-customers N]")
	}
	fs := flag.NewFlagSet("lift recs evaluate", flag.ContinueOnError)
	customers := fs.Int("customers", 2000, "customers in the generated history")
	families := fs.Int("families", 40, "product families (a camera and its accessories)")
	perFamily := fs.Int("per-family", 6, "products per family")
	seed := fs.Uint64("seed", 1, "random seed: the same seed, the same history")
	minSupport := fs.Int("min-support", 3, "orders a pair must share")
	minOrders := fs.Int64("min-orders", 500, "history bought_together needs")
	minCustomers := fs.Int64("min-customers", 1000, "buyers similar_customers needs (the service's default, 10000, is above the generated history's size)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lift-recs-eval")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := models.Open(filepath.Join(dir, "eval.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	h := recs.Generate(*customers, *families, *perFamily, *seed)
	fmt.Fprintf(out, "history: %d customers, %d products, %d training orders; each customer's last order held out\n\n",
		*customers, len(h.Products), len(h.Orders))
	scores, err := recs.Evaluate(ctx, store, h, *minOrders, *minCustomers, *minSupport)
	if err != nil {
		return err
	}
	recs.WriteReport(out, scores)
	return nil
}

// stopOn adapts a context to the worker's interrupt channel.
func stopOn(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
