// Command lift is Lift's production binary: `lift api`, `lift worker` and
// `lift migrate`, built by the composition root (internal/boot). It links
// no Temporal server, UI or fake; `lift dev`, everything in one process on
// the embedded default, is its own command (cmd/lift-dev, `make run`).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // customers' time zones work on hosts without tzdata

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/boot"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/telemetry"
)

const usage = `lift runs upsell and cross-sell email sequences as durable Temporal workflows.

Usage:
  lift api           the HTTP API (production role)
  lift worker        the Temporal worker (production role)
  lift migrate       create or update the database schema and register search attributes
  lift keys create --name NAME --scopes ingest,marketer,admin | list | revoke KEY_ID
                     manage API keys in the database
  lift health URL    exit 0 when URL answers 200 within 3 s (container health checks)
  lift import customers|products|orders FILE [--api URL] [--key KEY]
                     load history (CSV or JSON Lines) through the API: never emails
  lift campaigns get ID | apply -f FILE|DIR [--dry-run] [--publish]
                     keep campaigns in a repository and apply them from CI
  lift recs evaluate [--store] [--json] [flags]
                     hit rates of each recommendation strategy against best sellers: on the
                     shop's own orders through the API (--store), or on a generated history

Run "lift <command> -h" for a command's flags. Every flag is also an
environment variable; see README.md for the full table. To run everything
in one process on the embedded default (Temporal, its Web UI, SQLite, an
outbox), use the development build: make run, or go run ./cmd/lift-dev.
`

func main() {
	gin.SetMode(gin.ReleaseMode)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) && err.Error() != "" {
			fmt.Fprintln(os.Stderr, "lift:", err)
		}
		var exit *exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
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
	if args[0] == "health" {
		return health(args[1:])
	}
	if args[0] == "import" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runImport(ctx, args[1:], os.Stdin, out, os.Stderr, stderrIsTerminal())
	}
	if args[0] == "campaigns" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runCampaigns(ctx, args[1:], out, os.Stderr)
	}
	role := config.Role(args[0])
	if role == config.RoleKeys {
		cfg, err := config.Load(role, config.Environ(), nil)
		if err != nil {
			return err
		}
		return boot.RunKeys(context.Background(), cfg, args[1:], out)
	}
	switch role {
	case config.RoleAPI, config.RoleWorker, config.RoleMigrate:
	case config.RoleDev:
		return fmt.Errorf("lift dev is the development build: run make run, or go run ./cmd/lift-dev")
	default:
		return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
	}
	cfg, err := config.Load(role, config.Environ(), args[1:])
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(os.Stderr, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch role {
	case config.RoleAPI:
		return boot.RunAPI(ctx, cfg, logger)
	case config.RoleWorker:
		return boot.RunWorker(ctx, cfg, logger)
	default:
		return boot.RunMigrate(ctx, cfg, logger)
	}
}

// health is a container health check for images without a shell or curl
// (distroless): it GETs the URL (an API's /readyz, a worker's /metrics)
// and fails unless the answer is 200 within three seconds.
func health(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: lift health URL")
	}
	c := &http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(args[0])
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", args[0], res.Status)
	}
	return nil
}

// runRecs runs `lift recs evaluate`: every strategy scored against the
// best sellers, on the shop's own orders through the API (--store), or on
// a generated history with known structure, in memory.
func runRecs(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "evaluate" {
		return fmt.Errorf("usage: lift recs evaluate [--store] [--json] [flags]")
	}
	fs := flag.NewFlagSet("lift recs evaluate", flag.ContinueOnError)
	store := fs.Bool("store", false, "evaluate on the shop's own orders, through the API (LIFT_API_URL, LIFT_API_KEY with the marketer scope)")
	asJSON := fs.Bool("json", false, "print the report as JSON (the API's shape)")
	client := clientFlags(fs)
	seed := fs.Uint64("seed", 1, "random seed: the same seed, the same sample and held-out lines (and the same generated history)")
	maxCases := fs.Int("max-cases", 0, "cases per protocol (default 2000; a seeded sample beyond that)")
	window := fs.Int("window", campaign.DefaultPopularWindow, "the best sellers' window in days (0: all time)")
	customers := fs.Int("customers", 2000, "generated history: customers")
	families := fs.Int("families", 40, "generated history: product families (a camera and its accessories)")
	perFamily := fs.Int("per-family", 6, "generated history: products per family")
	minSupport := fs.Int("min-support", 3, "generated history: orders a pair must share")
	minOrders := fs.Int64("min-orders", 500, "generated history: the orders bought_together needs")
	minCustomers := fs.Int64("min-customers", 300, "generated history: the buyers similar_customers needs")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	var rep recs.Report
	if *store {
		c, err := client()
		if err != nil {
			return err
		}
		body, _ := json.Marshal(app.EvaluateInput{Seed: *seed, MaxCases: *maxCases, Window: window})
		if _, err := c.do(ctx, "POST", "/v1/recommendations/evaluate", "application/json", bytes.NewReader(body), &rep); err != nil {
			return err
		}
	} else {
		h := recs.Generate(*customers, *families, *perFamily, *seed)
		cat, categories := h.Catalogue()
		var err error
		rep, err = recs.EvaluateOrders(ctx, h.Orders, cat, categories, recs.EvalOptions{Seed: *seed, MaxCases: *maxCases, Window: *window,
			Model: recs.ModelOptions{MinSupport: *minSupport}, MinOrders: *minOrders, MinCustomers: *minCustomers})
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(out, "a generated history: %d customers buying mostly within %d product families\n", *customers, *families)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	recs.WriteReport(out, rep)
	return nil
}
