// Command lift-temporal runs a Temporal server on PostgreSQL, with its
// Web UI: the cluster of `make prod-up`, built from the same
// go.temporal.io/server version Lift is tested against. On start it
// creates its two databases where missing and sets up or upgrades their
// schemas with the server's own SQL schema tooling (what
// temporal-sql-tool setup-schema and update-schema do), then registers
// the namespace. It is a single-process cluster for proving Lift's
// production shape on one machine; a real deployment runs Temporal's own
// images or Temporal Cloud.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lift-hq/lift/internal/devserver"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lift-temporal:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	fs := flag.NewFlagSet("lift-temporal", flag.ContinueOnError)
	pg := fs.String("postgres", env("LIFT_TEMPORAL_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/?sslmode=disable"),
		"PostgreSQL cluster for Temporal's databases (LIFT_TEMPORAL_POSTGRES_URL)")
	db := fs.String("db", env("LIFT_TEMPORAL_DB", "temporal"), "persistence database; visibility is <db>_visibility (LIFT_TEMPORAL_DB)")
	port := fs.Int("port", 7233, "frontend gRPC port, on 127.0.0.1")
	uiPort := fs.Int("ui-port", 8233, "Web UI port (0: no UI)")
	namespace := fs.String("namespace", env("TEMPORAL_NAMESPACE", "default"), "namespace to create")
	maxConns := fs.Int("max-conns", 5, "PostgreSQL connections per pool (a pool per store and service: up to 8)")
	logFile := fs.String("log-file", "", "the server's own log (warnings and errors); default stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *logFile == "" {
		*logFile = "/dev/stderr"
	}
	start := time.Now()
	srv, err := devserver.Start(devserver.Options{
		Postgres:     &devserver.Postgres{URL: *pg, Database: *db, MaxConns: *maxConns},
		FrontendPort: *port, UIPort: *uiPort, Namespace: *namespace, LogFile: *logFile,
		Retention: 7 * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	fmt.Printf("lift-temporal: ready in %s: frontend %s, namespace %s, databases %s and %s_visibility", time.Since(start).Round(time.Millisecond),
		srv.FrontendAddr, srv.Namespace, *db, *db)
	if srv.UIURL != "" {
		fmt.Printf(", Web UI %s", srv.UIURL)
	}
	fmt.Println()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("lift-temporal: stopping")
	srv.Stop()
	return nil
}
