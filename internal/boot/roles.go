package boot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/workflows"
)

// RunAPI serves the HTTP API until ctx ends, then shuts down gracefully.
func RunAPI(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, Options{Service: "lift-api"})
	if err != nil {
		return err
	}
	defer l.Close()
	done := make(chan error, 2)
	if err := l.serveMetrics(ctx, done); err != nil {
		return err
	}
	if err := bootstrapKey(ctx, l, "bootstrap", cfg.APIKey); err != nil {
		return err
	}
	router, err := l.Router(false, cfg.TemporalUIURL)
	if err != nil {
		return err
	}
	listener, url, err := Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	srv := ServeOn(listener, router, done)
	logger.Info("lift api listening", "url", url)
	select {
	case <-ctx.Done():
		logger.Info("lift api stopping: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	case err = <-done:
	}
	// Stop accepting, and let the requests in flight finish (an event
	// being enrolled, a test send) within the timeout.
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(drain); serr != nil {
		logger.Error("lift api: requests still in flight at the shutdown timeout were cut off", "err", serr)
	}
	return err
}

// RunWorker polls Lift's task queue until ctx ends.
func RunWorker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, Options{Service: "lift-worker"})
	if err != nil {
		return err
	}
	defer l.Close()
	done := make(chan error, 1)
	if err := l.serveMetrics(ctx, done); err != nil {
		return err
	}
	if cfg.SendGridAPIKey == "" {
		logger.Warn("SENDGRID_API_KEY is not set: emails go to the outbox, not to customers")
	}
	// Its workflows set Lift's search attributes: without them every
	// sequence would fail, so the worker does not start.
	if err := checkSearchAttributes(ctx, l, cfg.TemporalNamespace); err != nil {
		return fmt.Errorf("lift worker will not start: %w", err)
	}
	w := l.Worker()
	logger.Info("lift worker polling", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace,
		"activities", cfg.WorkerActivities, "workflow_tasks", cfg.WorkerWorkflowTasks, "pollers", cfg.WorkerPollers)
	err = w.Run(stopOn(ctx, logger, cfg.ShutdownTimeout))
	logger.Info("lift worker stopped")
	return err
}

// RunMigrate brings the database schema up to date and bootstraps the
// Temporal namespace (search attributes, schedules).
func RunMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, Options{Migrate: true, Service: "lift-migrate"})
	if err != nil {
		return err
	}
	defer l.Close()
	v, err := l.Store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("database schema is up to date", "version", v.Current, "head", v.Head)
	return l.Bootstrap(ctx)
}

// checkSearchAttributes checks the namespace has Lift's search
// attributes. A server that has just started may not answer yet: that is
// retried for a minute; missing attributes are not.
func checkSearchAttributes(ctx context.Context, l *Lift, namespace string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := workflows.CheckSearchAttributes(ctx, l.Temporal, namespace)
		var missing *workflows.MissingSearchAttributesError
		if err == nil || errors.As(err, &missing) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		l.Logger.Warn("Temporal did not list the search attributes yet; retrying", "err", err)
		time.Sleep(time.Second)
	}
}

// serveMetrics serves /metrics on LIFT_METRICS_ADDR, when set, until ctx
// ends; a failure later is sent to done.
func (l *Lift) serveMetrics(ctx context.Context, done chan<- error) error {
	if l.Config.MetricsAddr == "" {
		return nil
	}
	url, err := l.Telemetry.Serve(ctx, l.Config.MetricsAddr, done)
	if err != nil && l.Config.MetricsDefault {
		l.Logger.Warn("metrics are not served: the default port is taken; set LIFT_METRICS_ADDR (or off)", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	l.Logger.Info("metrics for Prometheus", "url", url)
	return nil
}

// stopOn adapts a context to the worker's interrupt channel.
func stopOn(ctx context.Context, logger *slog.Logger, timeout time.Duration) <-chan any {
	ch := make(chan any)
	go func() {
		<-ctx.Done()
		logger.Info("lift worker stopping: finishing in-flight activities", "timeout", timeout)
		close(ch)
	}()
	return ch
}

// bootstrapKey makes key the first admin key when there is none; with
// keys in place the value changes nothing. Without any key there is no
// way in, so the API refuses to start.
func bootstrapKey(ctx context.Context, l *Lift, name, key string) error {
	if key != "" {
		created, err := l.App.BootstrapKey(ctx, name, key)
		if err != nil {
			return err
		}
		if created {
			l.Logger.Info("first admin API key stored from the environment", "name", name)
		}
		return nil
	}
	keys, err := l.App.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.RevokedAt == nil {
			return nil
		}
	}
	return fmt.Errorf("there is no API key yet: set LIFT_API_KEY (at least %d characters) to make the first admin key, or run lift keys create", app.MinKeyLength)
}

// RunKeys is `lift keys`: create, list and revoke API keys straight in the
// database, for the first key of a deployment or when no admin key is at
// hand. args are the subcommand and its flags.
func RunKeys(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	store, err := OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	a := app.New(app.Deps{Store: store})
	if len(args) == 0 {
		return errors.New(keysUsage)
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("lift keys create", flag.ContinueOnError)
		name := fs.String("name", "", "what the key is for, e.g. checkout-service")
		scopes := fs.String("scopes", "", "comma-separated: ingest, marketer, admin")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var ss []domain.KeyScope
		for _, s := range strings.Split(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				ss = append(ss, domain.KeyScope(s))
			}
		}
		k, err := a.CreateKey(ctx, *name, ss)
		if err != nil {
			return err
		}
		if err := a.Audit(ctx, app.AuditCLI, app.AuditKeyCreate, k.ID); err != nil {
			return fmt.Errorf("%s was created, but the audit log could not record it: %w", k.ID, err)
		}
		fmt.Fprintf(out, "created %s (%s) with scopes %v\n\n  %s\n\nThe key is shown this once.\n", k.ID, k.Name, k.Scopes, k.Secret)
		return nil
	case "list":
		keys, err := a.Keys(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\n", k.ID, k.Name, k.Scopes, k.CreatedAt.Format(time.DateTime), when(k.LastUsedAt), when(k.RevokedAt))
		}
		return w.Flush()
	case "revoke":
		if len(args) != 2 {
			return errors.New("usage: lift keys revoke KEY_ID")
		}
		if err := a.RevokeKey(ctx, args[1]); err != nil {
			return err
		}
		if err := a.Audit(ctx, app.AuditCLI, app.AuditKeyRevoke, args[1]); err != nil {
			return fmt.Errorf("%s was revoked, but the audit log could not record it: %w", args[1], err)
		}
		fmt.Fprintf(out, "revoked %s\n", args[1])
		return nil
	}
	return errors.New(keysUsage)
}

const keysUsage = `usage: lift keys create --name NAME --scopes ingest,marketer,admin
       lift keys list
       lift keys revoke KEY_ID`

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.DateTime)
}
