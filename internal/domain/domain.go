// Package domain is Lift's vocabulary: the statuses, reasons and bases
// that the store keeps, the workflows report and the API shows. It
// depends on nothing, so workflow code can use it without linking the
// database drivers.
package domain

import "time"

// SequenceStatus is where an enrolment (one sequence workflow) stands;
// also the SequenceStatus search attribute's values.
type SequenceStatus string

// Sequence statuses. Every status but running is final.
const (
	StatusRunning      SequenceStatus = "running"
	StatusCompleted    SequenceStatus = "completed"
	StatusConverted    SequenceStatus = "converted"
	StatusUnsubscribed SequenceStatus = "unsubscribed"
	StatusComplained   SequenceStatus = "complained"
	StatusBounced      SequenceStatus = "bounced"
	StatusSuppressed   SequenceStatus = "suppressed"
	StatusNoConsent    SequenceStatus = "no_consent"
	StatusCancelled    SequenceStatus = "cancelled"
	StatusErased       SequenceStatus = "erased" // the customer was erased (GDPR)
	StatusFailed       SequenceStatus = "failed" // the workflow failed; see its history
)

// StepState is one step of a journey: where it stands, when it is due
// or was done, and why (a skip's or a not-reached step's reason). The
// sequence workflow's journey query shows it live; the enrollment row
// keeps each step's final state once the sequence has ended.
type StepState struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	DueAt     *time.Time `json:"due_at,omitempty"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	MessageID string     `json:"message_id,omitempty"`
	// Kind is a flow step's kind (branch, wait_for, webhook); empty for
	// an email. Path is the path a branch took: then or else.
	Kind string `json:"kind,omitempty"`
	Path string `json:"path,omitempty"`
}

// MessageStatus is where one step's email stands.
type MessageStatus string

// Message statuses.
const (
	MessagePending MessageStatus = "pending" // created, recommendations chosen
	MessageReady   MessageStatus = "ready"   // rendered, not yet handed to the mailer
	MessageSending MessageStatus = "sending" // handed to the mailer; its answer is not recorded yet
	MessageSent    MessageStatus = "sent"    // accepted by the mailer
	MessageSkipped MessageStatus = "skipped" // the step was skipped; the message's error says why
	MessageFailed  MessageStatus = "failed"  // permanently refused by the provider
)

// MessageOutcome is what an email prompted that experiment guardrails
// count against it. It is not a string, so no column name or free text
// can stand in for one.
type MessageOutcome int

// Message outcomes.
const (
	OutcomeUnsubscribed MessageOutcome = iota + 1
	OutcomeComplained
)

func (o MessageOutcome) String() string {
	switch o {
	case OutcomeUnsubscribed:
		return "unsubscribed"
	case OutcomeComplained:
		return "complained"
	}
	return "unknown"
}

// SuppressionReason is why an address gets no more email.
type SuppressionReason string

// Suppression reasons.
const (
	ReasonUnsubscribe SuppressionReason = "unsubscribe"
	ReasonComplaint   SuppressionReason = "complaint"
	ReasonSpamReport  SuppressionReason = "spam_report"
	ReasonHardBounce  SuppressionReason = "hard_bounce"
	ReasonErased      SuppressionReason = "erased" // GDPR erasure: never mail the address again
)

// Suppression scopes.
const (
	ScopeGlobal   = "global"
	ScopeCampaign = "campaign"
)

// ConsentBasis is the lawful basis for marketing email.
type ConsentBasis string

// Consent bases.
const (
	BasisExplicit  ConsentBasis = "explicit"    // the customer opted in
	BasisSoftOptIn ConsentBasis = "soft_opt_in" // an existing customer, about similar products, where the region allows it
)

// CampaignStatus says whether a campaign has a published version.
type CampaignStatus string

// Campaign statuses.
const (
	CampaignDraft     CampaignStatus = "draft"
	CampaignPublished CampaignStatus = "published"
	// CampaignUnpublished takes no new enrolments; running sequences
	// finish on their version. Publishing again makes it live.
	CampaignUnpublished CampaignStatus = "unpublished"
)

// ExperimentStatus is where an experiment stands. It runs from start
// until it is stopped (new enrolments get the control, the first variant)
// or concluded (new enrolments get the winner, or the control without one).
type ExperimentStatus string

// Experiment statuses.
const (
	ExperimentRunning   ExperimentStatus = "running"
	ExperimentStopped   ExperimentStatus = "stopped"
	ExperimentConcluded ExperimentStatus = "concluded"
	// ExperimentPaused is how a running experiment reads when its
	// guardrails have paused every variant: the campaign takes no new
	// enrolments until a variant is resumed or the experiment ends. It is
	// shown, never stored: the daily check still looks at the experiment.
	ExperimentPaused ExperimentStatus = "paused"
)

// KeyScope is what an API key may do.
type KeyScope string

// API key scopes. An admin key may do everything.
const (
	KeyScopeMetrics  KeyScope = "metrics"  // Prometheus: GET /metrics and nothing else
	KeyScopeIngest   KeyScope = "ingest"   // backend services: events, customers, products
	KeyScopeMarketer KeyScope = "marketer" // campaigns, experiments, reports, journeys, the console
	KeyScopeAdmin    KeyScope = "admin"    // API keys, erasure and export, the audit log; and everything else
)

// KeyScopes are every scope, in order of power.
var KeyScopes = []KeyScope{KeyScopeMetrics, KeyScopeIngest, KeyScopeMarketer, KeyScopeAdmin}

// MaxOrderLines is the most lines (distinct products) one order holds,
// however it arrives: an event, a Segment call or an import. The
// recommendation rebuild mines pairs from an order's lines, so an order
// of tens of thousands of lines would cost the square of that.
const MaxOrderLines = 500
