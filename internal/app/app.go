// Package app is Lift's application layer: every use case, once. Ingest
// an event (validate, record, match, gate, enrol, signal), save a
// customer, unsubscribe, erase, apply a SendGrid event, run an
// experiment, preview and test-send, report. The HTTP API, the console
// and the worker's activities are adapters that decode, call these
// functions and encode; none of them holds a rule of its own.
//
// Where each rule lives:
//
//   - who may enter a campaign: gate.go (event ingestion and the
//     inactivity watcher both ask it)
//   - who may be emailed now: eligibility.go
//   - reading a stored campaign definition: definitions.go (one decoder,
//     one cache of immutable versions)
//   - what an email says: compose.go (sends, previews and test sends)
package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
	"go.temporal.io/sdk/client"
)

// Sequences is what the application needs from Temporal;
// workflows.Client is the real one. A sequence that is not running
// answers errs.NotFound.
type Sequences interface {
	Start(ctx context.Context, in workflows.SequenceInput, summary string) (started bool, err error)
	Signal(ctx context.Context, workflowID, name string, sig workflows.ExitSignal) error
	// SignalFlow tells a running sequence about an event its waits wait for.
	SignalFlow(ctx context.Context, workflowID string, ev workflows.FlowEvent) error
	SwitchVariant(ctx context.Context, workflowID string, plan campaign.Plan, variant string) error
	SwitchVersion(ctx context.Context, workflowID string, plan campaign.Plan, version int, variant string) error
	MoveToVersion(ctx context.Context, campaignID string, version int) error
	Journey(ctx context.Context, workflowID string) (workflows.Journey, error)
	Update(ctx context.Context, workflowID, update string) (workflows.Journey, error)
	Cancel(ctx context.Context, workflowID string) error
	Promote(ctx context.Context, campaignID, experimentID, winner string) error
	Ping(ctx context.Context) error
	// StartRebuild starts the recommendation rebuild unless one runs
	// (started false then).
	StartRebuild(ctx context.Context) (started bool, err error)
}

// Settings are the configured values the use cases apply; config.Load is
// where their defaults live.
type Settings struct {
	// Day is the length of a sequence day (24h except in demos).
	Day time.Duration
	// UpsellPause is how long a support ticket or complaint keeps upsells
	// from starting.
	UpsellPause time.Duration
	// MinSupport is the fewest orders (or customers) a pair of products
	// must share to be recommended together.
	MinSupport int
	// SoftOptIn lists the countries (ISO 3166-1 alpha-2, or "*") where the
	// soft opt-in is a lawful basis; elsewhere only explicit consent is.
	SoftOptIn []string
	// PublicURL is where recipients reach Lift's unsubscribe pages.
	PublicURL string
	// The sender, and the postal address every email carries.
	FromEmail, FromName, PostalAddress string
	// AuditRetention is how long the audit log keeps an entry.
	AuditRetention time.Duration
	// Segment configures the Segment-compatible source.
	Segment SegmentSettings
	// ReconcileAfter is how long a send waits for the provider's
	// confirmation of an ambiguous attempt before it sends again.
	ReconcileAfter time.Duration
	// Caps are the frequency caps across all of a customer's sequences,
	// in real days; they scale with a compressed sequence day.
	Caps []models.Cap
	// TestSendAllow lists the addresses and domains test sends may go to
	// ("*": any); TestSendsPerHour bounds them per API key.
	TestSendAllow    []string
	TestSendsPerHour int
	// RecsModelProducts, RecsRebuildTimeout and RecsEvalMaxLines bound
	// the recommendation rebuild and the evaluation (config.Config).
	RecsModelProducts  int
	RecsRebuildTimeout time.Duration
	RecsEvalMaxLines   int64
	// WebhookAllowPrivate lets flow webhooks post to loopback and private
	// addresses (LIFT_WEBHOOK_ALLOW_PRIVATE; lift dev allows them).
	WebhookAllowPrivate bool
}

// Deps are the application's collaborators.
type Deps struct {
	Store       *models.Store
	Sequences   Sequences
	Mailer      delivery.Mailer // test sends go through it
	Renderer    *email.Renderer
	Signer      unsub.Signer // signs and verifies unsubscribe links
	Recommender *recs.Recommender
	Logger      *slog.Logger
	Metrics     client.MetricsHandler // Lift's own metrics; default none
	Now         func() time.Time      // default time.Now
	Settings    Settings
	// WebhookHTTP posts flow webhooks; default: a client that follows no
	// redirect and refuses addresses Settings does not allow.
	WebhookHTTP *http.Client
}

// App runs the use cases. Build it once per process with New.
type App struct {
	Deps
	defs *Definitions

	webhookOnce sync.Once
	webhook     *http.Client
}

// New returns the application over its dependencies.
func New(d Deps) *App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = client.MetricsNopHandler
	}
	return &App{Deps: d, defs: NewDefinitions(d.Store)}
}

// Definitions is the application's definition loader.
func (a *App) Definitions() *Definitions { return a.defs }

func (a *App) now() time.Time { return a.Now().UTC() }

// Ping checks that the database and Temporal answer.
func (a *App) Ping(ctx context.Context) (database, temporal error) {
	return a.Store.Ping(ctx), a.Sequences.Ping(ctx)
}
