// Package devserver runs a Temporal server and its Web UI inside the Lift
// process, on a file-backed SQLite store, for `lift dev` and end-to-end
// tests. It is assembled from the server's public packages the way the
// Temporal CLI's dev server and the temporaltest package are.
package devserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configure the embedded server.
type Options struct {
	// DatabaseFile persists Temporal's state (required): a restart on the
	// same file resumes every running workflow.
	DatabaseFile string
	// FrontendPort is the gRPC port clients dial; 0 picks a free one.
	FrontendPort int
	// UIPort serves the Web UI; 0 means no UI.
	UIPort int
	// Namespace is created if missing. Default "default".
	Namespace string
	// LogFile receives the server's own log (warnings and errors); empty
	// discards it.
	LogFile string
	// Retention of closed workflows. Default 7 days.
	Retention time.Duration
	// Deny lists API method names (e.g. "AddSearchAttributes") the server
	// refuses with PermissionDenied, as Temporal Cloud refuses some of the
	// operator service; for tests.
	Deny []string
	// TLS, when set, makes the frontend speak TLS only (tests of Lift's
	// TLS connections; lift dev itself stays on loopback without it).
	TLS *TLS
	// Postgres, when set, keeps the server's state in PostgreSQL instead
	// of DatabaseFile (lift-temporal, make prod-up): persistence and
	// visibility, schemas set up and upgraded by the server's tooling.
	Postgres *Postgres
	// Shards is the number of history shards (default 1; 4 on
	// PostgreSQL). It is fixed for the life of a cluster's database.
	Shards int32
	// BindIP is the address the frontend listens on (default 127.0.0.1).
	BindIP string
}

// TLS is the frontend's certificate and, for mutual TLS, the CA its
// clients' certificates must chain to. The certificate is also the
// server's own system workers' client certificate, so it needs both
// server and client usages.
type TLS struct {
	CertFile, KeyFile string
	CAFile            string // the CA that signed CertFile
	// RequireClientCert turns on mutual TLS: clients present a
	// certificate signed by CAFile.
	RequireClientCert bool
}

// Server is a running embedded Temporal server.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	FrontendAddr string // host:port for client.Dial
	UIURL        string // empty without a UI
	Namespace    string
}

const host = "127.0.0.1"

// Start builds and starts the server. It returns once the frontend accepts
// connections.
func Start(o Options) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention == 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	var err error
	if o.FrontendPort == 0 {
		if o.FrontendPort, err = freePort(); err != nil {
			return nil, err
		}
	} else if err := portFree(o.FrontendPort); err != nil {
		return nil, fmt.Errorf("temporal port: %w", err)
	}
	if o.UIPort != 0 {
		// The UI server exits the process if it cannot listen, so check first.
		if err := portFree(o.UIPort); err != nil {
			return nil, fmt.Errorf("temporal UI port: %w", err)
		}
	}

	var conf *config.Config
	if o.Postgres != nil {
		p := *o.Postgres
		if p.Database == "" {
			p.Database = "temporal"
		}
		if p.MaxConns == 0 {
			p.MaxConns = 5
		}
		if p.VisibilityDatabase == "" {
			p.VisibilityDatabase = p.Database + "_visibility"
		}
		if o.Shards == 0 {
			o.Shards = 4
		}
		store, visibility, err := setupPostgres(p)
		if err != nil {
			return nil, err
		}
		if conf, err = serverConfig(o, store); err != nil {
			return nil, err
		}
		conf.Persistence.DataStores = map[string]config.DataStore{"postgres": {SQL: store}, "postgres-visibility": {SQL: visibility}}
		conf.Persistence.DefaultStore, conf.Persistence.VisibilityStore = "postgres", "postgres-visibility"
	} else {
		sqlConf, err := sqlConfig(o)
		if err != nil {
			return nil, err
		}
		if conf, err = serverConfig(o, sqlConf); err != nil {
			return nil, err
		}
	}
	logger, err := newLogger(o.LogFile)
	if err != nil {
		return nil, err
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, err
	}
	if len(o.Deny) > 0 {
		authorizer = denying{Authorizer: authorizer, apis: o.Deny}
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, err
	}
	hostsFor := func(svc primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: hostsFor(primitives.FrontendService),
			primitives.HistoryService:  hostsFor(primitives.HistoryService),
			primitives.MatchingService: hostsFor(primitives.MatchingService),
			primitives.WorkerService:   hostsFor(primitives.WorkerService),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
			dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
			// Search attributes registered at start are visible at once.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{server: srv, FrontendAddr: net.JoinHostPort(host, strconv.Itoa(o.FrontendPort)), Namespace: o.Namespace}
	if o.Postgres != nil {
		if err := registerNamespace(s.FrontendAddr, o.Namespace, o.Retention); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	if o.UIPort != 0 {
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host: host, Port: o.UIPort, TemporalGRPCAddress: s.FrontendAddr, EnableUI: true,
			DefaultNamespace: o.Namespace, CORS: uiconfig.CORS{CookieInsecure: true}, HideLogs: true,
			DisableNewsFetch: true,
		}))
		go func() { _ = s.ui.Start() }()
		s.UIURL = fmt.Sprintf("http://localhost:%d", o.UIPort)
	}
	return s, nil
}

// denying refuses the listed APIs, and asks the wrapped authorizer about
// the rest.
type denying struct {
	authorization.Authorizer
	apis []string
}

func (d denying) Authorize(ctx context.Context, caller *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	for _, api := range d.apis {
		if strings.HasSuffix(target.APIName, "/"+api) {
			return authorization.Result{Decision: authorization.DecisionDeny, Reason: "denied by the test server"}, nil
		}
	}
	return d.Authorizer.Authorize(ctx, caller, target)
}

// Stop shuts the UI and the server down.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop()
}

func sqlConfig(o Options) (*config.SQL, error) {
	if o.DatabaseFile == "" {
		return nil, fmt.Errorf("devserver: DatabaseFile is required")
	}
	conf := &config.SQL{
		PluginName: sqliteplugin.PluginName, DatabaseName: o.DatabaseFile,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "busy_timeout": "10000"},
	}
	if _, err := os.Stat(o.DatabaseFile); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o700); err != nil {
			return nil, err
		}
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("temporal schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, nil)
	if err != nil {
		return nil, err
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("temporal namespace: %w", err)
	}
	return conf, nil
}

func serverConfig(o Options, sqlConf *config.SQL) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = max(o.Shards, 1)
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
		MasterClusterName: "active", CurrentClusterName: "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {
			Enabled: true, InitialFailoverVersion: 1,
			RPCAddress:  net.JoinHostPort(host, strconv.Itoa(o.FrontendPort)),
			HTTPAddress: net.JoinHostPort(host, strconv.Itoa(httpPort)),
			ClusterID:   "lift-dev",
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			if o.BindIP != "" {
				svc.RPC.BindOnIP = o.BindIP
			}
			svc.RPC.GRPCPort, svc.RPC.HTTPPort = o.FrontendPort, httpPort
		} else if svc.RPC.GRPCPort, err = freePort(); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(o.FrontendPort))
	if t := o.TLS; t != nil {
		conf.Global.TLS.Frontend.Server = config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, RequireClientAuth: t.RequireClientCert}
		if t.RequireClientCert {
			conf.Global.TLS.Frontend.Server.ClientCAFiles = []string{t.CAFile}
		}
		conf.Global.TLS.SystemWorker = config.WorkerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile,
			Client: config.ClientTLS{RootCAFiles: []string{t.CAFile}, ServerName: "localhost"}}
	}
	return &conf, nil
}

func newLogger(file string) (log.Logger, error) {
	if file == "" {
		return log.NewNoopLogger(), nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, err
	}
	return fatalToStderr{log.NewZapLogger(log.BuildZapLogger(log.Config{Level: "warn", OutputFile: file, Format: "json"}))}, nil
}

// fatalToStderr also writes the server's fatal errors to stderr before
// the process exits: they otherwise go only to the log file, and a test
// binary (or lift dev) would die with nothing but "exit status 1".
type fatalToStderr struct{ log.Logger }

func (l fatalToStderr) Fatal(msg string, tags ...tag.Tag) {
	fmt.Fprintf(os.Stderr, "embedded Temporal server: fatal: %s", msg)
	for _, t := range tags {
		fmt.Fprintf(os.Stderr, " %s=%v", t.Key(), t.Value())
	}
	fmt.Fprintln(os.Stderr)
	l.Logger.Fatal(msg, tags...)
}

// freePort finds a port for the server to bind. The server binds it
// later, so the port must not be taken in between: a port from the
// kernel's ephemeral range (what ":0" gives) can be handed to any
// outgoing connection meanwhile, such as a database pool's, and the
// server would then fail to start. So it picks below that range
// (Linux's default starts at 32768), where only listeners go.
func freePort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		if portFree(port) == nil {
			return port, nil
		}
	}
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is in use (is another lift dev or temporal server running?)", port)
	}
	return l.Close()
}
