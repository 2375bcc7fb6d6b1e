package workflows

import (
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
)

// Activity names. The workflows call activities by these names and the
// worker registers each activity under its name, so a renamed method can
// never silently stop matching the histories of running workflows: they
// are part of the contract, never rename one.
const (
	ActivityStartEnrollment     = "StartEnrollment"
	ActivityCheckEligibility    = "CheckEligibility"
	ActivityPrepare             = "Prepare"
	ActivityRender              = "Render"
	ActivitySend                = "Send"
	ActivityRecordProgress      = "RecordProgress"
	ActivityEvaluatePurchase    = "EvaluatePurchase"
	ActivityFinishEnrollment    = "FinishEnrollment"
	ActivityLoadInactivityPlans = "LoadInactivityPlans"
	ActivityFindQuietCustomers  = "FindQuietCustomers"
	ActivityRebuildAffinities   = "RebuildAffinities"
	ActivityCheckExperiments    = "CheckExperiments"
	ActivityMoveToWinner        = "MoveToWinner"
	ActivityMoveToVersion       = "MoveToVersion"
	ActivityPurgeExpired        = "PurgeExpired"
	// ActivityRunStep is a step in one activity (sequences from the
	// change "one-activity-step" on): eligibility, recommendations,
	// render, send and progress, each idempotent by the step's message.
	ActivityRunStep = "RunStep"
	// Flow steps (change "flow-steps"): a branch's condition, and a
	// webhook step's signed delivery.
	ActivityEvaluateBranch = "EvaluateBranch"
	ActivityCallWebhook    = "CallWebhook"
)

// The inputs and results of the activities. They carry IDs and small values
// only: bodies, recommendation lists and PII stay in the database, so
// workflow history never holds them (DESIGN principle 1).

// StepRef names one step of one enrollment.
type StepRef struct {
	EnrollmentID   string `json:"enrollment_id"`
	CustomerID     string `json:"customer_id"`
	CampaignID     string `json:"campaign_id"`
	Version        int    `json:"version"`
	StepID         string `json:"step_id"`
	Variant        string `json:"variant"`
	TriggerEventID string `json:"trigger_event_id,omitempty"`
}

// StartEnrollmentInput records a new enrollment.
type StartEnrollmentInput struct {
	EnrollmentID   string    `json:"enrollment_id"`
	CustomerID     string    `json:"customer_id"`
	CampaignID     string    `json:"campaign_id"`
	Version        int       `json:"version"`
	WorkflowID     string    `json:"workflow_id"`
	Variant        string    `json:"variant"`
	TriggerEventID string    `json:"trigger_event_id,omitempty"`
	EntryKey       string    `json:"entry_key,omitempty"`
	EnrolledAt     time.Time `json:"enrolled_at"`
}

// Eligibility says whether a customer may be emailed by a campaign now. When
// not, Status is the sequence's final status (no_consent, suppressed,
// cancelled) and Reason says why.
type Eligibility struct {
	Eligible bool                  `json:"eligible"`
	Status   domain.SequenceStatus `json:"status,omitempty"`
	Reason   string                `json:"reason,omitempty"`
}

// Prepared is the outcome of choosing what a step sends. The message row
// holds the recommendations; only their count comes back.
type Prepared struct {
	MessageID   string `json:"message_id"`
	Items       int    `json:"items"`
	Skip        bool   `json:"skip,omitempty"`
	Reason      string `json:"reason,omitempty"`
	AlreadySent bool   `json:"already_sent,omitempty"`
}

// PendingExit is an exit signal a new sequence missed because its
// enrolment row was not written when the event was ingested.
type PendingExit struct {
	Signal string     `json:"signal"`
	Exit   ExitSignal `json:"exit"`
}

// Started is what StartEnrollment found (sequences from the change
// "one-activity-step" on): the exits it missed.
type Started struct {
	Exits []PendingExit `json:"exits,omitempty"`
}

// RunStepInput is one attempt at a step: EmailsSent is the count before
// it, recorded on the enrollment with the step.
type RunStepInput struct {
	Ref        StepRef       `json:"ref"`
	EmailsSent int           `json:"emails_sent"`
	Day        time.Duration `json:"day"`
}

// StepOutcome is what RunStep did: not eligible (the sequence ends), or
// the step's message prepared (skipped, or already sent before a restart)
// and, when it went on, rendered (Failed: for good) and sent (Sent says
// how; Deferred: a frequency cap, try again at its RetryAt).
type StepOutcome struct {
	Eligibility Eligibility `json:"eligibility"`
	Prepared    Prepared    `json:"prepared"`
	RenderError string      `json:"render_error,omitempty"`
	Sent        Sent        `json:"sent"`
}

// BranchOutcome is the path a branch takes and why ("clicked=comparison
// held"), for the journey.
type BranchOutcome struct {
	Then   bool   `json:"then"`
	Reason string `json:"reason,omitempty"`
}

// WebhookInput is one attempt at a webhook step.
type WebhookInput struct {
	Ref StepRef       `json:"ref"`
	Day time.Duration `json:"day"`
}

// WebhookOutcome is what a webhook step did: delivered (the destination
// accepted it: Reason says with which status, after how many attempts),
// skipped (a destination that reaches the customer, and the customer may
// not be reached: no consent, suppressed), or deferred to RetryAt (a
// frequency cap or quiet hours). A refusal for good is a non-retryable
// error, and running out of its 24 hours a timeout: the step fails.
type WebhookOutcome struct {
	Delivered bool      `json:"delivered,omitempty"`
	Skipped   bool      `json:"skipped,omitempty"`
	Deferred  bool      `json:"deferred,omitempty"`
	RetryAt   time.Time `json:"retry_at,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

// MessageRef names one message.
type MessageRef struct {
	MessageID string `json:"message_id"`
}

// SendInput asks to send one message. Day is the sequence's day length,
// which frequency-cap windows scale with (zero means 24h).
type SendInput struct {
	MessageID string        `json:"message_id"`
	Day       time.Duration `json:"day,omitempty"`
}

// Sent is the outcome of handing a message to the mailer.
type Sent struct {
	ProviderMessageID string `json:"provider_message_id,omitempty"`
	// Failed is set when the provider refused the message for good; the
	// sequence moves on to the next step.
	Failed bool `json:"failed,omitempty"`
	// Skipped is set when the customer stopped being eligible (consent
	// withdrawn, suppressed) between preparing and sending.
	Skipped bool `json:"skipped,omitempty"`
	// Deferred is set when a frequency cap is full: nothing was sent, and
	// the send should be tried again at RetryAt.
	Deferred bool      `json:"deferred,omitempty"`
	RetryAt  time.Time `json:"retry_at,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// ProgressInput records the step an enrollment has reached.
type ProgressInput struct {
	EnrollmentID string `json:"enrollment_id"`
	StepID       string `json:"step_id"`
	EmailsSent   int    `json:"emails_sent"`
}

// PurchaseInput asks whether an order meets one of the campaign's purchase
// goals.
type PurchaseInput struct {
	EnrollmentID   string          `json:"enrollment_id"`
	OrderID        string          `json:"order_id"`
	Goals          []campaign.Goal `json:"goals"`
	TriggerEventID string          `json:"trigger_event_id,omitempty"`
	Day            time.Duration   `json:"day,omitempty"` // scales the attribution window; zero means 24h
}

// PurchaseResult says whether the order converts the enrollment, and the
// step it is credited to ("" when no email was engaged with in time).
type PurchaseResult struct {
	Converts     bool          `json:"converts"`
	Goal         campaign.Goal `json:"goal,omitempty"`
	RevenueMinor int64         `json:"revenue_minor,omitempty"`
	Step         string        `json:"step,omitempty"`
}

// FinishInput records how an enrollment ended.
type FinishInput struct {
	EnrollmentID   string                `json:"enrollment_id"`
	Status         domain.SequenceStatus `json:"status"`
	Reason         string                `json:"reason,omitempty"`
	ConvertedOrder string                `json:"converted_order,omitempty"`
	RevenueMinor   int64                 `json:"revenue_minor,omitempty"`
	EmailsSent     int                   `json:"emails_sent"`
	EndedAt        time.Time             `json:"ended_at"`
	// Steps is each step's final state, and PromotedTo the winner a
	// promotion moved the sequence to: kept so the journey answers once
	// the workflow has gone. Histories recorded before they were added
	// carry neither; replay does not compare activity inputs.
	Steps      []StepState `json:"steps,omitempty"`
	PromotedTo string      `json:"promoted_to,omitempty"`
}

// InactivityQuery asks for a customer's inactivity plans; Day scales
// re-entry periods.
type InactivityQuery struct {
	CustomerID string        `json:"customer_id"`
	Day        time.Duration `json:"day,omitempty"`
}

// InactivityPlans are the re-engagement campaigns live for a customer.
// Gone is set when the customer no longer exists: the watcher stops.
// Retire is set by every build since the re-engagement scan
// (DormancyWorkflow) replaced the watchers: the watcher ends.
type InactivityPlans struct {
	Plans  []InactivityPlan `json:"plans,omitempty"`
	Gone   bool             `json:"gone,omitempty"`
	Retire bool             `json:"retire,omitempty"`
}

// QuietScan counts what one re-engagement scan did (app.QuietScan).
type QuietScan struct {
	Campaigns  int `json:"campaigns"`
	Considered int `json:"considered"`
	Started    int `json:"started"`
	Skipped    int `json:"skipped"`
}

// InactivityPlan is one live inactivity campaign: after how long without
// events it starts, and the timing of its steps.
type InactivityPlan struct {
	Version  int             `json:"version"`
	After    campaign.Offset `json:"after"`
	Plan     campaign.Plan   `json:"plan"`
	Timezone string          `json:"timezone"`
}

// Promotion is a winner to move running enrolments to: the input of
// PromoteWinner and MoveToWinner, and what CheckExperiments returns for
// each move still pending.
type Promotion struct {
	CampaignID   string `json:"campaign_id"`
	ExperimentID string `json:"experiment_id"`
	Winner       string `json:"winner"`
}

// VersionMove is a published version to move a campaign's running
// enrolments onto: the input of MoveRunningToVersion and MoveToVersion.
type VersionMove struct {
	CampaignID string `json:"campaign_id"`
	Version    int    `json:"version"`
}
