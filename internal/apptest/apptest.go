// Package apptest builds the application (internal/app) for tests, over a
// real store, with hand-written fakes of Temporal and the mailer. The API,
// activity and application suites share it, so each runs its use cases
// exactly as the processes wire them, on SQLite and PostgreSQL alike.
package apptest

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Now is the fixed clock of every bundle: a Monday, 10:00 UTC.
var Now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// PublicURL is where the bundle's unsubscribe links point.
const PublicURL = "https://lift.example.com"

// Bundle is an application over a store, with its fakes.
type Bundle struct {
	App       *app.App
	Store     *models.Store
	Sequences *Sequences
	Mailer    *Mailer
	Signer    unsub.Signer
	Config    config.Config // the defaults, as config.Load gives them
	Metrics   *Metrics      // Lift's own metrics the application recorded

	mu    sync.Mutex
	now   time.Time
	clock func() time.Time // when set, the clock (SetClock)
}

// SetClock makes fn the application's clock (a test that moves a time
// it holds).
func (b *Bundle) SetClock(fn func() time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock = fn
}

// SetNow moves the application's clock (it starts at Now).
func (b *Bundle) SetNow(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = t
}

// Clock is the application's clock.
func (b *Bundle) Clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clock != nil {
		return b.clock()
	}
	return b.now
}

// New builds the application over store with the configuration's
// defaults, a fake Temporal, a fake mailer and a clock that stands at
// Now until SetNow moves it.
func New(t testing.TB, store *models.Store) *Bundle {
	t.Helper()
	cfg, err := config.Load(config.RoleDev, map[string]string{"LIFT_POSTAL_ADDRESS": "1 Main St", "LIFT_PUBLIC_URL": PublicURL}, nil)
	require.NoError(t, err)
	renderer, err := email.NewRenderer()
	require.NoError(t, err)
	signer, err := unsub.NewSigner(strings.Repeat("u", 32))
	require.NoError(t, err)
	b := &Bundle{Store: store, Sequences: NewSequences(), Mailer: &Mailer{}, Signer: signer, Config: cfg, Metrics: NewMetrics(), now: Now}
	clock := b.Clock
	b.App = app.New(app.Deps{
		Store: store, Sequences: b.Sequences, Mailer: b.Mailer, Renderer: renderer, Signer: signer, Now: clock, Metrics: b.Metrics,
		Recommender: &recs.Recommender{Store: recs.DB{Store: store}, MinOrders: cfg.RecsMinOrders, MinCustomers: cfg.RecsMinCustomers, Now: clock},
		Settings: app.Settings{
			Day: cfg.Day, UpsellPause: time.Duration(cfg.UpsellPauseDays) * cfg.Day, MinSupport: cfg.AffinityMinSupport,
			SoftOptIn: cfg.SoftOptInCountries, PublicURL: cfg.PublicURL,
			FromEmail: cfg.FromEmail, FromName: cfg.FromName, PostalAddress: cfg.PostalAddress, AuditRetention: cfg.AuditRetention,
			WebhookAllowPrivate: cfg.WebhookAllowPrivate,
			RecsModelProducts:   cfg.RecsModelProducts, RecsRebuildTimeout: cfg.RecsRebuildTimeout, RecsEvalMaxLines: cfg.RecsEvalMaxLines,
			TestSendAllow: cfg.TestSendAllow, TestSendsPerHour: cfg.TestSendsPerHour,
			ReconcileAfter: cfg.SendGridReconcileAfter, // no frequency caps unless a test sets Settings.Caps
			Segment:        app.SegmentSettings{ProfileChannels: cfg.SegmentProfileChannels},
		},
	})
	// A rebuild asked through the API runs here at once, as the worker's
	// activity would.
	b.Sequences.Rebuild = func(ctx context.Context) error {
		_, err := b.App.RebuildRecommendations(ctx)
		return err
	}
	return b
}

// Sequences is a hand-written fake of Temporal: it records starts and
// signals and treats every started workflow as running until cancelled.
type Sequences struct {
	mu         sync.Mutex
	started    []workflows.SequenceInput
	running    map[string]bool
	signals    []string // "workflowID signal"
	signalRPCs int
	switched   map[string]workflows.SwitchVariant
	PingErr    error // returned by Ping
	StartErr   error // returned by Start
	// StartDelay makes every Start take this long (a loaded Temporal).
	StartDelay time.Duration
	// Rebuild runs a rebuild StartRebuild is asked for, synchronously.
	Rebuild func(ctx context.Context) error
}

// StartRebuild runs Rebuild (the worker's activity, at once).
func (f *Sequences) StartRebuild(ctx context.Context) (bool, error) {
	if f.Rebuild == nil {
		return true, nil
	}
	return true, f.Rebuild(ctx)
}

// NewSequences returns a fake with nothing running.
func NewSequences() *Sequences { return &Sequences{running: map[string]bool{}} }

// Started is every sequence started so far, in order.
func (f *Sequences) Started() []workflows.SequenceInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]workflows.SequenceInput(nil), f.started...)
}

// Signals is every signal sent so far, as "workflowID signal".
func (f *Sequences) Signals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.signals...)
}

// SignalRPCs counts the signals sent, delivered or not (a workflow not
// running answers NotFound).
func (f *Sequences) SignalRPCs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.signalRPCs
}

// Running reports whether a workflow is running.
func (f *Sequences) Running(workflowID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[workflowID]
}

// SetRunning marks a workflow running (or not).
func (f *Sequences) SetRunning(workflowID string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[workflowID] = running
}

// Start implements app.Sequences.
func (f *Sequences) Start(_ context.Context, in workflows.SequenceInput, _ string) (bool, error) {
	time.Sleep(f.StartDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.StartErr != nil {
		return false, f.StartErr
	}
	id := workflows.SequenceWorkflowID(in.CampaignID, in.CustomerID)
	if f.running[id] {
		return false, nil
	}
	f.running[id] = true
	f.started = append(f.started, in)
	return true, nil
}

// Signal implements app.Sequences.
func (f *Sequences) Signal(_ context.Context, id, name string, _ workflows.ExitSignal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signalRPCs++
	if !f.running[id] {
		return errs.E(errs.NotFound, "not running")
	}
	f.signals = append(f.signals, id+" "+name)
	return nil
}

// SignalFlow implements app.Sequences: recorded with the signals as
// "<id> flow_event <step>,<step>".
func (f *Sequences) SignalFlow(_ context.Context, id string, ev workflows.FlowEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signalRPCs++
	if !f.running[id] {
		return errs.E(errs.NotFound, "not running")
	}
	f.signals = append(f.signals, id+" "+workflows.SignalFlowEvent+" "+strings.Join(ev.Steps, ","))
	return nil
}

// SwitchVariant implements app.Sequences.
func (f *Sequences) SwitchVariant(_ context.Context, id string, plan campaign.Plan, variant string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running[id] {
		return errs.E(errs.NotFound, "not running")
	}
	f.signals = append(f.signals, id+" "+workflows.SignalSwitchVariant+" "+variant)
	if f.switched == nil {
		f.switched = map[string]workflows.SwitchVariant{}
	}
	f.switched[id] = workflows.SwitchTo(plan, variant)
	return nil
}

// SwitchVersion implements app.Sequences: recorded with the switches.
func (f *Sequences) SwitchVersion(_ context.Context, id string, plan campaign.Plan, version int, variant string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running[id] {
		return errs.E(errs.NotFound, "not running")
	}
	f.signals = append(f.signals, id+" "+workflows.SignalSwitchVariant+" "+variant)
	if f.switched == nil {
		f.switched = map[string]workflows.SwitchVariant{}
	}
	f.switched[id] = workflows.MoveTo(plan, version, variant)
	return nil
}

// MoveToVersion implements app.Sequences: it records the request.
func (f *Sequences) MoveToVersion(_ context.Context, campaignID string, version int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.StartErr != nil {
		return f.StartErr
	}
	f.signals = append(f.signals, fmt.Sprintf("move-version/%s/%d", campaignID, version))
	return nil
}

// Switched is every running sequence told to switch variant, with what
// it was told, by workflow ID.
func (f *Sequences) Switched() map[string]workflows.SwitchVariant {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.switched)
}

// Journey implements app.Sequences: nothing answers queries.
func (f *Sequences) Journey(context.Context, string) (workflows.Journey, error) {
	return workflows.Journey{}, errs.E(errs.NotFound, "not running")
}

// Update implements app.Sequences.
func (f *Sequences) Update(_ context.Context, id, _ string) (workflows.Journey, error) {
	if !f.Running(id) {
		return workflows.Journey{}, errs.E(errs.NotFound, "not running")
	}
	return workflows.Journey{Paused: true}, nil
}

// Cancel implements app.Sequences.
func (f *Sequences) Cancel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running[id] {
		return errs.E(errs.NotFound, "not running")
	}
	delete(f.running, id)
	f.signals = append(f.signals, id+" cancel")
	return nil
}

// Promote implements app.Sequences.
func (f *Sequences) Promote(_ context.Context, campaignID, experimentID, winner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, "promote/"+campaignID+"/"+experimentID+" "+winner)
	return nil
}

// Ping implements app.Sequences.
func (f *Sequences) Ping(context.Context) error { return f.PingErr }

// Mailer records what it is asked to send and fails on demand.
type Mailer struct {
	mu         sync.Mutex
	attempts   int
	sent       []delivery.Email
	Err        error // returned by Send when set
	Reconciler bool  // behaves like SendGrid: accepted sends are confirmed by event
}

// Name implements delivery.Mailer.
func (m *Mailer) Name() string { return "fake" }

// Reconciles implements delivery.Reconciler.
func (m *Mailer) Reconciles() bool { return m.Reconciler }

// Send implements delivery.Mailer.
func (m *Mailer) Send(_ context.Context, e delivery.Email) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts++
	if m.Err != nil {
		return "", m.Err
	}
	m.sent = append(m.sent, e)
	return "fake-" + e.MessageID, nil
}

// Sent is every email sent so far.
func (m *Mailer) Sent() []delivery.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery.Email(nil), m.sent...)
}

// ClearStarted forgets the sequences started so far (they keep running).
func (f *Sequences) ClearStarted() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = nil
}

// Attempts counts the calls to Send, failed ones included.
func (m *Mailer) Attempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts
}
