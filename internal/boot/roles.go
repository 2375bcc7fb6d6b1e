package boot

import (
	"context"
	"log/slog"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/workflows"
)

// RunAPI serves the HTTP API until ctx ends, then shuts down gracefully.
func RunAPI(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.Store.SetAPIKey(ctx, "env", cfg.APIKey); err != nil {
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
	done := make(chan error, 1)
	srv := ServeOn(listener, router, done)
	logger.Info("lift api listening", "url", url)
	select {
	case <-ctx.Done():
	case err = <-done:
	}
	_ = srv.Shutdown(context.Background())
	return err
}

// RunWorker polls Lift's task queue until ctx ends.
func RunWorker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if cfg.SendGridAPIKey == "" {
		logger.Warn("SENDGRID_API_KEY is not set: emails go to the outbox, not to customers")
	}
	w := l.Worker()
	logger.Info("lift worker polling", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace)
	return w.Run(stopOn(ctx))
}

// RunMigrate brings the database schema up to date and bootstraps the
// Temporal namespace (search attributes, schedules).
func RunMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	l, err := Build(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	defer l.Close()
	logger.Info("database schema is up to date")
	return l.Bootstrap(ctx)
}

// stopOn adapts a context to the worker's interrupt channel.
func stopOn(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}
