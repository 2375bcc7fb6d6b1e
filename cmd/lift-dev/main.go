// Command lift-dev is `lift dev`: everything in one process on the
// embedded default (an in-process Temporal server with its Web UI, SQLite,
// the outbox mailer), optionally with the demo. It is the development
// build; the production binary is cmd/lift, which carries no embedded
// server or fake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // customers' time zones work on hosts without tzdata

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/bench"
	"github.com/lift-hq/lift/internal/demo"
	"github.com/lift-hq/lift/internal/devstack"
	"github.com/lift-hq/lift/workflows"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lift dev:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) > 0 && (args[0] == "bench" || args[0] == "bench-worker") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if args[0] == "bench-worker" {
			return bench.WorkerMain(ctx, out)
		}
		return runBench(ctx, args[1:], out)
	}
	cfg, err := config.Load(config.RoleDev, config.Environ(), args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Requests are logged at warn and above so the demo output stays readable.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := devstack.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer d.Stop(context.Background())
	cfg = d.Config
	mail := "outbox (set SENDGRID_API_KEY to send for real)"
	switch {
	case d.SendGridFake() != nil:
		mail = "the SendGrid fake at " + d.SendGridFake().URL() + ", which posts signed events back"
	case cfg.SendGridAPIKey != "":
		mail = "SendGrid at " + cfg.SendGridHost()
	}
	fmt.Fprintf(out, `
Lift is running (one sequence day = %s). Mail goes to %s.

  API           %s            API key: %s
  Console       %s/console (sign in with the API key)
  Outbox        %s/dev/outbox
  Temporal UI   %s/namespaces/%s/workflows
  Journeys      %s/namespaces/%s/workflows?query=%s
  Temporal      %s (namespace %s)
  Data          %s

Follow a customer's journey:
  curl -H "Authorization: Bearer %s" %s/v1/customers/%s/journeys

Press Ctrl-C to stop; running sequences resume on the next start.
`, cfg.Day, mail, d.APIURL, d.APIKey, d.APIURL, d.APIURL, d.Server.UIURL, cfg.TemporalNamespace,
		d.Server.UIURL, cfg.TemporalNamespace, url.QueryEscape(`WorkflowType="`+workflows.SequenceWorkflowName+`"`),
		d.Server.FrontendAddr, cfg.TemporalNamespace, cfg.DataDir, d.APIKey, d.APIURL, bannerCustomer(cfg.Demo))
	for _, w := range devWarnings(cfg, d.SendGridFake() != nil) {
		fmt.Fprintln(out, "Warning: "+w)
	}
	if cfg.Demo {
		go func() {
			if err := demo.Run(ctx, d.APIURL, d.APIKey, out); err != nil && ctx.Err() == nil {
				logger.Error("demo", "err", err)
			}
		}()
	}
	return d.Wait(ctx)
}

// devWarnings are what the banner must not let pass: mail without the
// postal address CAN-SPAM requires (real SendGrid refuses to start
// without one; the outbox and the fake do not), and what a compressed
// day compresses.
func devWarnings(cfg config.Config, fake bool) []string {
	var out []string
	if cfg.PostalAddress == "" {
		where := "the outbox"
		if fake {
			where = "the SendGrid fake"
		}
		out = append(out, "LIFT_POSTAL_ADDRESS is not set: emails to "+where+" carry no postal address, which CAN-SPAM requires of "+
			"every commercial email; sending through SendGrid refuses to start without one.")
	}
	if cfg.Day != 24*time.Hour {
		out = append(out, fmt.Sprintf("one sequence day is %s: step offsets and anchored event times (an event's ends_at) are compressed "+
			"alike; an incentive's ends_at is wall-clock time and is not.", cfg.Day))
	}
	return out
}

// runBench is `lift dev bench` (make bench-temporal): see bench.Run.
func runBench(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("lift dev bench", flag.ContinueOnError)
	var o bench.Options
	fs.DurationVar(&o.Phase, "phase", 10*time.Second, "how long each rate is measured")
	fs.IntVar(&o.Clients, "clients", 16, "requests in flight at once")
	fs.IntVar(&o.Sequences, "sequences", 100, "three-step sequences in the bare-workflow and Lift runs")
	fs.IntVar(&o.Open, "open", 10_000, "sequences left open for the worker's memory")
	fs.IntVar(&o.Customers, "customers", 100_000, "customers the re-engagement scan reads")
	only := fs.String("only", "", "comma-separated measurements to run (ingest, sequences, memory, re-engagement); default all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe, o.Out, o.Progress = exe, out, os.Stderr
	return bench.Run(ctx, o)
}

// bannerCustomer is the customer the banner's example follows: the
// demo's Ada, or a placeholder when there is no demo to have made her.
func bannerCustomer(demo bool) string {
	if demo {
		return "ada"
	}
	return "CUSTOMER_ID"
}
