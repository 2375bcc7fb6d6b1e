package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/server/common/auth"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Postgres is where a server on PostgreSQL keeps its state: the cluster
// the URL names (postgres://user:password@host:port/?sslmode=disable;
// its path is ignored), in two databases, persistence and visibility.
type Postgres struct {
	URL                string
	Database           string // default "temporal"
	VisibilityDatabase string // default "temporal_visibility"
	// MaxConns bounds each connection pool (one per store and service:
	// up to 8 pools in one process). Default 5.
	MaxConns int
}

func (p Postgres) sql(database string) (*config.SQL, error) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("temporal on PostgreSQL: %q is not a postgres:// URL", p.URL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	c := &config.SQL{PluginName: pgplugin.PluginName, DatabaseName: database, ConnectProtocol: "tcp", ConnectAddr: host,
		User: u.User.Username(), MaxConns: max(p.MaxConns, 1), MaxIdleConns: max(p.MaxConns, 1), MaxConnLifetime: time.Hour}
	c.Password, _ = u.User.Password()
	if mode := u.Query().Get("sslmode"); mode != "" && mode != "disable" {
		c.TLS = &auth.TLS{Enabled: true, EnableHostVerification: mode == "verify-full", ServerName: u.Hostname()}
	}
	return c, nil
}

// setupPostgres creates the two databases where missing and brings each
// schema to the version this server needs with the server's own SQL
// schema tooling (what temporal-sql-tool create, setup-schema -v 0.0 and
// update-schema run): a new cluster is set up, an older one upgraded, a
// current one left alone.
func setupPostgres(p Postgres) (store, visibility *config.SQL, err error) {
	logger := log.NewNoopLogger()
	for _, db := range []struct {
		conf   **config.SQL
		name   string
		schema string
	}{
		{&store, p.Database, "postgresql/v12/temporal"},
		{&visibility, p.VisibilityDatabase, "postgresql/v12/visibility"},
	} {
		conf, err := p.sql(db.name)
		if err != nil {
			return nil, nil, err
		}
		// Create the database only where it is missing: a role without
		// CREATEDB can run a cluster whose databases an admin made.
		conn, err := sqltool.NewConnection(conf, logger)
		if err == nil { // the connection is lazy: try it
			if err = conn.Exec("SELECT 1"); err != nil {
				conn.Close()
			}
		}
		if err != nil {
			admin := *conf
			if err := sqltool.DoCreateDatabase(&admin, "postgres", logger); err != nil {
				return nil, nil, fmt.Errorf("temporal on PostgreSQL: create database %s: %w", db.name, err)
			}
			conn, err = sqltool.NewConnection(conf, logger)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("temporal on PostgreSQL: connect to %s: %w", db.name, err)
		}
		if _, verr := conn.ReadSchemaVersion(); verr != nil { // a new database: version tables at 0.0
			err = schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run()
		}
		if err == nil {
			err = schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: db.name, SchemaName: db.schema}, logger).Run()
		}
		conn.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("temporal on PostgreSQL: schema of %s: %w", db.name, err)
		}
		*db.conf = conf
	}
	return store, visibility, nil
}

// registerNamespace creates the namespace through the frontend where it
// does not exist yet (SQLite's is created in the database directly).
func registerNamespace(addr, namespace string, retention time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		nc, err := sdkclient.NewNamespaceClient(sdkclient.Options{HostPort: addr, Logger: quiet{}})
		if err == nil {
			err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: namespace,
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
				HistoryArchivalState:             enumspb.ARCHIVAL_STATE_DISABLED, VisibilityArchivalState: enumspb.ARCHIVAL_STATE_DISABLED})
			nc.Close()
			var exists *serviceerror.NamespaceAlreadyExists
			if err == nil || errors.As(err, &exists) {
				return nil
			}
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("register namespace %s: %w", namespace, last)
}

// quiet drops the SDK's log lines while the frontend comes up.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
