// Package config is Lift's one typed configuration, read from the
// environment and then from command-line flags (a flag wins), and
// validated before anything starts.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/lift-hq/lift/internal/campaign"
)

// Config is every setting Lift reads. The env tag is the variable's name.
type Config struct {
	// lift dev
	DataDir      string `env:"LIFT_DATA_DIR" envDefault:".lift"`
	TemporalPort int    `env:"LIFT_TEMPORAL_PORT" envDefault:"7233"` // 0: any free port
	UIPort       int    `env:"LIFT_UI_PORT" envDefault:"8233"`       // 0: no Web UI
	// TemporalUIURL is where operators open the Temporal Web UI; the
	// console links journeys there (lift dev sets it to its own UI).
	TemporalUIURL string        `env:"LIFT_TEMPORAL_UI_URL"`
	Day           time.Duration `env:"LIFT_DAY"` // default 24h; 5s with --demo
	Demo          bool          `env:"LIFT_DEMO"`

	// every role
	HTTPAddr    string `env:"LIFT_HTTP" envDefault:":8080"`
	DatabaseURL string `env:"LIFT_DATABASE_URL"` // postgres://…; empty means SQLite in the data dir (dev only)
	APIKey      string `env:"LIFT_API_KEY"`      // makes the first admin key when there is none
	// Temporal is the connection, read by the SDK's environment
	// configuration (go.temporal.io/sdk/contrib/envconfig) exactly as the
	// temporal CLI reads it: a profile (TEMPORAL_PROFILE) of the config
	// file (TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml),
	// then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
	// TEMPORAL_TLS, TEMPORAL_TLS_* and TEMPORAL_GRPC_META_* over it.
	Temporal envconfig.ClientConfigProfile `env:"-"`
	// TemporalAddress and TemporalNamespace are Temporal's, resolved
	// (localhost:7233 and default when nothing says otherwise).
	TemporalAddress   string `env:"-"`
	TemporalNamespace string `env:"-"`
	MaxBodyBytes      int64  `env:"LIFT_MAX_BODY_BYTES" envDefault:"1048576"`
	// ImportMaxBytes bounds one bulk import's body (POST /v1/imports/…),
	// which is read a chunk at a time: 4 GiB by default.
	ImportMaxBytes int64 `env:"LIFT_IMPORT_MAX_BYTES" envDefault:"4294967296"`
	// SegmentConsentTrait names the identify trait (a boolean) that
	// carries marketing consent; empty: consent never comes from Segment.
	SegmentConsentTrait string `env:"LIFT_SEGMENT_CONSENT_TRAIT"`
	// SegmentEvents maps more Segment event names to Lift event types:
	// "Subscription Upgraded=upgrade,Ticket Opened=support_ticket".
	SegmentEvents map[string]string `env:"LIFT_SEGMENT_EVENTS" envSeparator:"," envKeyValSeparator:"="`
	// SegmentProfileChannels are the Segment channels whose identify may
	// change a known customer's email or consent (a call without a
	// channel is a server's); SegmentProfileKeys, when set, are the only
	// API key IDs whose calls may. A browser's write key is public: keep
	// it out of the list.
	SegmentProfileChannels []string `env:"LIFT_SEGMENT_PROFILE_CHANNELS" envSeparator:"," envDefault:"server"`
	SegmentProfileKeys     []string `env:"LIFT_SEGMENT_PROFILE_KEYS" envSeparator:","`
	// TestSendAllow lists the addresses (ada@shop.example) and domains
	// (shop.example) test sends may go to; none by default (lift dev: any,
	// its outbox keeps them). TestSendsPerHour bounds them per API key.
	TestSendAllow    []string `env:"LIFT_TEST_SEND_ALLOW" envSeparator:","`
	TestSendsPerHour int      `env:"LIFT_TEST_SENDS_PER_HOUR" envDefault:"20"`
	// WebhookAllowPrivate lets flow webhook destinations be loopback or
	// private addresses (inside your network); link-local ones (cloud
	// metadata) never are. Off by default; on for lift dev.
	WebhookAllowPrivate bool `env:"LIFT_WEBHOOK_ALLOW_PRIVATE"`
	// TrustedProxies are the load balancers (IPs or CIDRs) whose
	// X-Forwarded-For names the client; none by default.
	TrustedProxies []string `env:"LIFT_TRUSTED_PROXIES" envSeparator:","`
	// PublicURL is where recipients reach Lift's unsubscribe pages.
	PublicURL string `env:"LIFT_PUBLIC_URL"` // required by api and worker; lift dev uses the address it binds
	// UnsubscribeSecret signs unsubscribe links (at least 32 bytes; lift dev
	// generates one in the data dir). The API and the worker need the same one.
	UnsubscribeSecret string `env:"LIFT_UNSUBSCRIBE_SECRET"`
	// UnsubscribePrevious are secrets LIFT_UNSUBSCRIBE_SECRET replaced:
	// links they signed, already mailed, keep working.
	UnsubscribePrevious []string `env:"LIFT_UNSUBSCRIBE_SECRETS_PREVIOUS" envSeparator:","`

	// Frequency caps across all of a customer's sequences (0 turns one off).
	CapPerDay  int `env:"LIFT_CAP_PER_DAY" envDefault:"1"`
	CapPerWeek int `env:"LIFT_CAP_PER_WEEK" envDefault:"3"`

	// UpsellPauseDays is how many sequence days a support ticket or a
	// complaint keeps upsells from starting.
	UpsellPauseDays int `env:"LIFT_UPSELL_PAUSE_DAYS" envDefault:"14"`

	// Recommendations: bought_together needs RecsMinOrders of history and
	// pairs shared by AffinityMinSupport orders; similar_customers needs
	// RecsMinCustomers buyers (its linear model is regularised, so a few
	// hundred are enough to say something) over at most RecsModelProducts
	// products; a schedule rebuilds the model every AffinityRebuild, and
	// a rebuild stops after RecsRebuildTimeout. The evaluation reads at
	// most RecsEvalMaxLines order lines (a seeded sample of customers
	// beyond that).
	RecsMinOrders      int64         `env:"LIFT_RECS_MIN_ORDERS" envDefault:"500"`
	RecsMinCustomers   int64         `env:"LIFT_RECS_MIN_CUSTOMERS" envDefault:"300"`
	AffinityMinSupport int           `env:"LIFT_AFFINITY_MIN_SUPPORT" envDefault:"3"`
	AffinityRebuild    time.Duration `env:"LIFT_AFFINITY_REBUILD" envDefault:"24h"`
	RecsModelProducts  int           `env:"LIFT_RECS_MODEL_PRODUCTS" envDefault:"1000"`
	RecsRebuildTimeout time.Duration `env:"LIFT_RECS_REBUILD_TIMEOUT" envDefault:"30m"`
	RecsEvalMaxLines   int64         `env:"LIFT_RECS_EVAL_MAX_LINES" envDefault:"300000"`

	// ExperimentCheck is how often running experiments are checked:
	// guardrails applied, p-values folded in, winners auto-promoted where
	// asked. Default: once a (sequence) day.
	ExperimentCheck time.Duration `env:"LIFT_EXPERIMENT_CHECK"`

	// DormancyScan is how often re-engagement (inactivity) campaigns look
	// for customers who have gone quiet: one query of the store. Default:
	// a 24th of a sequence day (hourly), at least a second. At most an
	// hour, the shortest entry window (enter_within), so no quiet
	// customer slips between two scans.
	DormancyScan time.Duration `env:"LIFT_DORMANCY_SCAN"`

	// PurgeEvery is how often a Temporal Schedule deletes what is kept only
	// for a while (stored Idempotency-Key answers after 48 hours, SendGrid
	// event IDs after 7 days, frequency-cap slots after 8).
	PurgeEvery time.Duration `env:"LIFT_PURGE_EVERY" envDefault:"1h"`
	// AuditRetention is how long the audit log keeps an entry.
	AuditRetention time.Duration `env:"LIFT_AUDIT_RETENTION" envDefault:"8760h"`

	// Shutdown and tuning. On SIGTERM the API stops accepting and lets
	// in-flight requests finish, and the worker stops polling and lets
	// in-flight activities finish, for at most ShutdownTimeout (keep it
	// under the orchestrator's grace period, 30 s on Kubernetes).
	ShutdownTimeout time.Duration `env:"LIFT_SHUTDOWN_TIMEOUT" envDefault:"25s"`
	// WorkerActivities and WorkerWorkflowTasks bound what one worker runs
	// at once; WorkerPollers is its pollers of each kind.
	WorkerActivities    int `env:"LIFT_WORKER_ACTIVITIES" envDefault:"50"`
	WorkerWorkflowTasks int `env:"LIFT_WORKER_WORKFLOW_TASKS" envDefault:"100"`
	WorkerPollers       int `env:"LIFT_WORKER_POLLERS" envDefault:"2"`
	// WorkerCache is how many workflows a worker process keeps in memory
	// between their tasks (the SDK's sticky cache; its default is
	// 10,000). A sequence sleeps for days between steps: one that is not
	// cached replays its short history (about 20 events a step) when it
	// wakes, which costs less than holding every open sequence in memory
	// (see docs/performance.md).
	WorkerCache int `env:"LIFT_WORKER_CACHE" envDefault:"500"`
	// DatabaseMaxConns bounds each process's PostgreSQL pool (a worker's
	// activities and an API's requests wait for a connection beyond it);
	// DatabaseMaxIdle connections are kept open between uses.
	DatabaseMaxConns int `env:"LIFT_DATABASE_MAX_CONNS" envDefault:"20"`
	DatabaseMaxIdle  int `env:"LIFT_DATABASE_MAX_IDLE" envDefault:"5"`

	// Observability. MetricsAddr serves Prometheus's /metrics without a
	// key: loopback by default (the worker on 9090; the API serves
	// /metrics on its own port to admin keys, and here too when set);
	// "off" turns it off. LogFormat is text or json. Traces go over OTLP
	// when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set.
	MetricsAddr string `env:"LIFT_METRICS_ADDR"`
	// MetricsDefault says MetricsAddr is the worker's default, not asked
	// for: a worker whose default port is taken runs without metrics.
	MetricsDefault bool   `env:"-"`
	LogFormat      string `env:"LIFT_LOG_FORMAT" envDefault:"text"`

	// SoftOptInCountries are where the soft opt-in (existing customers,
	// similar products) is a lawful basis: ISO codes, or "*" for everywhere.
	SoftOptInCountries []string `env:"LIFT_SOFT_OPT_IN_COUNTRIES" envSeparator:","`

	// email
	FromEmail       string `env:"LIFT_FROM_EMAIL" envDefault:"shop@example.com"`
	FromName        string `env:"LIFT_FROM_NAME" envDefault:"Lift Demo Shop"`
	PostalAddress   string `env:"LIFT_POSTAL_ADDRESS"`
	SendGridAPIKey  string `env:"SENDGRID_API_KEY"`
	SendGridBaseURL string `env:"SENDGRID_BASE_URL" envDefault:"https://api.sendgrid.com"`
	SendGridSandbox bool   `env:"SENDGRID_SANDBOX"`
	SendGridRegion  string `env:"SENDGRID_REGION" envDefault:"global"` // "eu" uses the EU data-residency host
	SendGridASM     int    `env:"SENDGRID_ASM_GROUP_ID"`
	SendGridTrack   bool   `env:"SENDGRID_TRACKING" envDefault:"true"` // open and click tracking
	// SendGridWebhookKey is the Event Webhook's verification key (base64,
	// as SendGrid shows it); without it POST /v1/webhooks/sendgrid is off.
	SendGridWebhookKey    string        `env:"SENDGRID_WEBHOOK_PUBLIC_KEY"`
	SendGridWebhookMaxAge time.Duration `env:"SENDGRID_WEBHOOK_MAX_AGE" envDefault:"5m"`
	// SendGridWebhookMaxBytes bounds one webhook request (SendGrid posts
	// at most 768 KB); SendGridWebhookConcurrency, how many are read at once.
	SendGridWebhookMaxBytes    int64 `env:"SENDGRID_WEBHOOK_MAX_BYTES" envDefault:"2097152"`
	SendGridWebhookConcurrency int   `env:"SENDGRID_WEBHOOK_CONCURRENCY" envDefault:"4"`
	// SendGridReconcileAfter is how long an ambiguous send waits for its
	// processed event before it is sent again.
	SendGridReconcileAfter time.Duration `env:"SENDGRID_RECONCILE_AFTER" envDefault:"10m"`
	// SendGridFake runs the in-repo SendGrid fake (lift dev only, for demos).
	SendGridFake bool `env:"LIFT_SENDGRID_FAKE"`
}

// SendGridHost is the API host for the configured region.
func (c Config) SendGridHost() string {
	if c.SendGridRegion == "eu" && c.SendGridBaseURL == "https://api.sendgrid.com" {
		return "https://api.eu.sendgrid.com"
	}
	return c.SendGridBaseURL
}

// Role is the process role being configured.
type Role string

// Roles of the lift binary.
const (
	RoleDev     Role = "dev"
	RoleAPI     Role = "api"
	RoleWorker  Role = "worker"
	RoleMigrate Role = "migrate"
	RoleKeys    Role = "keys"
)

// DemoDay is the length of a sequence day with --demo: the first demo
// emails arrive within a minute.
const DemoDay = 5 * time.Second

// Load reads the environment (environ, e.g. os.Environ()) and then the
// flags of role from args, and validates the result.
func Load(role Role, environ map[string]string, args []string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		return c, namedEnvError(err)
	}
	// lift dev serves this machine only, unless asked otherwise, and
	// stops at once on Ctrl-C.
	if _, given := environ["LIFT_HTTP"]; role == RoleDev && !given {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if _, given := environ["LIFT_WEBHOOK_ALLOW_PRIVATE"]; role == RoleDev && !given {
		c.WebhookAllowPrivate = true // lift dev serves this machine
	}
	if _, given := environ["LIFT_TEST_SEND_ALLOW"]; role == RoleDev && !given {
		c.TestSendAllow = []string{"*"} // the outbox keeps them: nothing leaves the machine
	}
	if _, given := environ["LIFT_SHUTDOWN_TIMEOUT"]; role == RoleDev && !given {
		c.ShutdownTimeout = 5 * time.Second
	}
	if _, given := environ["LIFT_METRICS_ADDR"]; role == RoleWorker && !given {
		c.MetricsAddr, c.MetricsDefault = "127.0.0.1:9090", true
	}
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	}
	fs := flag.NewFlagSet("lift "+string(role), flag.ContinueOnError)
	c.bind(fs, role)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("lift %s takes flags only, not %q", role, fs.Arg(0))
	}
	if c.Day == 0 {
		c.Day = 24 * time.Hour
		if c.Demo {
			c.Day = DemoDay
		}
	}
	if c.ExperimentCheck == 0 {
		c.ExperimentCheck = c.Day
	}
	if c.DormancyScan == 0 {
		c.DormancyScan = min(max(c.Day/24, time.Second), time.Hour)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if err := c.loadTemporal(role, environ); err != nil {
		return c, err
	}
	return c, c.Validate(role)
}

// bind registers the role's flags, with the environment's values as
// defaults; each flag's usage names its variable.
func (c *Config) bind(fs *flag.FlagSet, role Role) {
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "API listen address (LIFT_HTTP)")
	if role != RoleDev {
		return
	}
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite databases and the generated API key (LIFT_DATA_DIR)")
	fs.IntVar(&c.TemporalPort, "temporal-port", c.TemporalPort, "in-process Temporal frontend port (LIFT_TEMPORAL_PORT)")
	fs.IntVar(&c.UIPort, "ui-port", c.UIPort, "Temporal Web UI port (LIFT_UI_PORT)")
	fs.DurationVar(&c.Day, "day", c.Day, "length of one sequence day, e.g. 2s for a fast demo (LIFT_DAY; default 24h, 5s with --demo)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "seed a catalogue, two campaigns, customers and events (LIFT_DEMO)")
	fs.BoolVar(&c.SendGridFake, "sendgrid-fake", c.SendGridFake, "send through the in-repo SendGrid fake, with signed webhooks (LIFT_SENDGRID_FAKE)")
}

// Validate checks the settings a role needs.
func (c Config) Validate(role Role) error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.Day < time.Second || c.Day > 24*time.Hour {
		bad("LIFT_DAY/--day must be between 1s and 24h, got %s", c.Day)
	}
	if c.AffinityMinSupport < 1 || c.AffinityRebuild < time.Minute || c.RecsMinOrders < 0 || c.RecsMinCustomers < 0 {
		bad("LIFT_AFFINITY_MIN_SUPPORT must be at least 1, LIFT_AFFINITY_REBUILD at least 1m, LIFT_RECS_MIN_ORDERS and LIFT_RECS_MIN_CUSTOMERS not negative")
	}
	if c.RecsModelProducts < 10 || c.RecsModelProducts > 4000 || c.RecsRebuildTimeout < time.Minute || c.RecsEvalMaxLines < 1000 {
		bad("LIFT_RECS_MODEL_PRODUCTS must be 10 to 4000 (the model inverts a matrix of that side), LIFT_RECS_REBUILD_TIMEOUT at least 1m, LIFT_RECS_EVAL_MAX_LINES at least 1000")
	}
	if c.PurgeEvery < time.Minute {
		bad("LIFT_PURGE_EVERY must be at least 1m")
	}
	if c.DormancyScan < time.Second || c.DormancyScan > time.Hour {
		bad("LIFT_DORMANCY_SCAN must be between 1s and 1h, got %s", c.DormancyScan)
	}
	if c.ExperimentCheck < time.Second {
		bad("LIFT_EXPERIMENT_CHECK must be at least 1s, got %s", c.ExperimentCheck)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LIFT_LOG_FORMAT must be text or json, got %q", c.LogFormat)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("LIFT_METRICS_ADDR must be host:port (or off), got %q", c.MetricsAddr)
		}
	}
	if c.ShutdownTimeout < time.Second {
		bad("LIFT_SHUTDOWN_TIMEOUT must be at least 1s")
	}
	if c.WorkerCache < 0 {
		bad("LIFT_WORKER_CACHE must not be negative, got %d", c.WorkerCache)
	}
	if c.WorkerActivities < 1 || c.WorkerWorkflowTasks < 2 || c.WorkerPollers < 1 {
		bad("LIFT_WORKER_ACTIVITIES and LIFT_WORKER_POLLERS must be at least 1, LIFT_WORKER_WORKFLOW_TASKS at least 2")
	}
	if c.DatabaseMaxConns < 2 || c.DatabaseMaxIdle < 0 || c.DatabaseMaxIdle > c.DatabaseMaxConns {
		bad("LIFT_DATABASE_MAX_CONNS must be at least 2, and LIFT_DATABASE_MAX_IDLE between 0 and it")
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("LIFT_TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range", p)
		}
	}
	if c.AuditRetention < 24*time.Hour {
		bad("LIFT_AUDIT_RETENTION must be at least 24h")
	}
	if c.CapPerDay < 0 || c.CapPerWeek < 0 {
		bad("LIFT_CAP_PER_DAY and LIFT_CAP_PER_WEEK must not be negative")
	}
	if c.UpsellPauseDays < 0 {
		bad("LIFT_UPSELL_PAUSE_DAYS must not be negative (0: no pause)")
	}
	if c.MaxBodyBytes < 1024 {
		bad("LIFT_MAX_BODY_BYTES must be at least 1024")
	}
	for name, typ := range c.SegmentEvents {
		if !campaign.IsEventType(typ) {
			bad("LIFT_SEGMENT_EVENTS: %q maps to %q, which is not a Lift event type (%s)", name, typ, strings.Join(campaign.EventTypes, ", "))
		}
	}
	if c.ImportMaxBytes < c.MaxBodyBytes {
		bad("LIFT_IMPORT_MAX_BYTES must be at least LIFT_MAX_BODY_BYTES")
	}
	if _, err := url.Parse(c.SendGridBaseURL); err != nil {
		bad("SENDGRID_BASE_URL: %v", err)
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		bad("LIFT_PUBLIC_URL must be an absolute http(s) URL, got %q", c.PublicURL)
	} else if c.SendGridAPIKey != "" && !c.SendGridFake && u.Scheme != "https" {
		// RFC 8058: one-click unsubscribe links must be HTTPS, and mailbox
		// providers distrust plain HTTP ones.
		bad("LIFT_PUBLIC_URL must be an https:// URL when sending through SendGrid, got %q", c.PublicURL)
	}
	if c.APIKey != "" && len(c.APIKey) < 32 {
		bad("LIFT_API_KEY must be at least 32 characters (it makes the first admin key)")
	}
	if c.UnsubscribeSecret != "" && len(c.UnsubscribeSecret) < 32 {
		bad("LIFT_UNSUBSCRIBE_SECRET must be at least 32 bytes")
	}
	for _, p := range c.UnsubscribePrevious {
		if len(p) < 32 {
			bad("every LIFT_UNSUBSCRIBE_SECRETS_PREVIOUS secret must be at least 32 bytes")
			break
		}
	}
	if c.SendGridRegion != "global" && c.SendGridRegion != "eu" {
		bad("SENDGRID_REGION must be global or eu")
	}
	if c.SendGridWebhookMaxBytes < 1<<20 || c.SendGridWebhookConcurrency < 1 {
		bad("SENDGRID_WEBHOOK_MAX_BYTES must be at least 1048576 (SendGrid posts up to 768 KB) and SENDGRID_WEBHOOK_CONCURRENCY at least 1")
	}
	if c.SendGridWebhookMaxAge <= 0 || c.SendGridReconcileAfter <= 0 {
		bad("SENDGRID_WEBHOOK_MAX_AGE and SENDGRID_RECONCILE_AFTER must be positive")
	}
	if c.SendGridAPIKey != "" && c.PostalAddress == "" {
		bad("LIFT_POSTAL_ADDRESS is required when sending through SendGrid (CAN-SPAM)")
	}
	if c.SendGridAPIKey != "" && c.SendGridWebhookKey == "" {
		// Without SendGrid's signed "processed" event a send whose answer
		// was lost (a crash after the 202, a timeout) cannot be told from
		// one that never left, and a retry would mail it twice.
		bad("SENDGRID_WEBHOOK_PUBLIC_KEY is required with SENDGRID_API_KEY: Lift confirms sends, bounces and complaints through SendGrid's signed Event Webhook")
	}
	switch role {
	case RoleDev:
		if c.DataDir == "" {
			bad("--data-dir must not be empty")
		}
		if c.TemporalPort < 0 || c.UIPort < 0 || (c.TemporalPort != 0 && c.TemporalPort == c.UIPort) {
			bad("--temporal-port and --ui-port must be distinct ports (0: any free port; no UI)")
		}
	case RoleAPI, RoleWorker, RoleMigrate, RoleKeys:
		if c.DatabaseURL == "" {
			bad("LIFT_DATABASE_URL is required for lift %s: a postgres:// URL, or a SQLite file (a path like .lift/lift.db, or sqlite:///var/lib/lift/lift.db), the one the api and worker use", role)
		}

		if (role == RoleAPI || role == RoleWorker) && c.UnsubscribeSecret == "" {
			bad("LIFT_UNSUBSCRIBE_SECRET is required for lift %s (the same value for api and worker)", role)
		}
		if (role == RoleAPI || role == RoleWorker) && c.PublicURL == "" {
			bad("LIFT_PUBLIC_URL is required for lift %s: where recipients reach the unsubscribe pages, e.g. https://lift.example.com", role)
		}
	}
	return errors.Join(problems...)
}

// loadTemporal reads the Temporal connection by the SDK's conventions.
// lift dev runs its own server and reads only TEMPORAL_NAMESPACE.
func (c *Config) loadTemporal(role Role, environ map[string]string) error {
	if role == RoleDev {
		c.Temporal = envconfig.ClientConfigProfile{Namespace: environ["TEMPORAL_NAMESPACE"]}
	} else {
		prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: envLookup(environ)})
		if err != nil {
			return fmt.Errorf("temporal connection (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
		}
		c.Temporal = prof
		// The TLS files are read now, so a wrong path stops the start
		// with its name rather than the first dial.
		if _, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{}); err != nil {
			return fmt.Errorf("temporal connection (TEMPORAL_TLS_*): %w", err)
		}
	}
	if c.Temporal.Address == "" {
		c.Temporal.Address = "localhost:7233"
	}
	if c.Temporal.Namespace == "" {
		c.Temporal.Namespace = "default"
	}
	c.TemporalAddress, c.TemporalNamespace = c.Temporal.Address, c.Temporal.Namespace
	return nil
}

// envLookup is envconfig's view of the environment Load was given.
type envLookup map[string]string

func (e envLookup) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envLookup) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// TemporalSecure reports whether the connection uses TLS or an API key.
func (c Config) TemporalSecure() bool {
	return c.Temporal.APIKey != "" || (c.Temporal.TLS != nil && !c.Temporal.TLS.Disabled)
}

// DatabaseDSN is the app database: LIFT_DATABASE_URL, or a SQLite file in
// the data dir.
func (c Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "lift.db")
}

// Environ is the process environment as Load takes it.
func Environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// namedEnvError names the variable a value could not be read from: the
// env library names the struct field.
func namedEnvError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("environment: %w", err)
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := reflect.TypeOf(Config{}).FieldByName(pe.Name); ok {
				out = append(out, fmt.Errorf("%s: %w", f.Tag.Get("env"), pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}
