// Package workflows holds the sequence workflow, its Temporal names, its
// payload types and the pure schedule math.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
)

// Temporal names. They are part of the contract with running workflows and
// with operators' saved searches: never rename one.
const (
	TaskQueue            = "lift-sequences"
	SequenceWorkflowName = "Sequence"

	SignalPurchase    = "purchase"
	SignalUpgrade     = "upgrade"
	SignalComplaint   = "complaint"
	SignalUnsubscribe = "unsubscribe"
	// SignalErased ends a sequence because its customer was erased (GDPR).
	// No history before it holds the signal, so listening for it changes
	// nothing on replay.
	SignalErased = "erased"
	// SignalSupportTicket ends an upsell (or a campaign with the
	// support_ticket goal) as suppressed.
	SignalSupportTicket = "support_ticket"
	// SignalBounce ends the sequence as bounced (a hard bounce).
	SignalBounce = "bounce"
	// SignalConsentWithdrawn ends the sequence as no_consent.
	SignalConsentWithdrawn = "consent_withdrawn"
	// SignalFlowEvent ends a wait_for: the API sends it for an event (or
	// a click or open) that the waits it names are waiting for. It is not
	// an exit signal: a sequence not waiting for it lets it go.
	SignalFlowEvent = "flow_event"
	// SignalSwitchVariant moves a running sequence to a promoted winner
	// for its remaining steps, from the next step boundary on.
	SignalSwitchVariant = "switch_variant"

	UpdatePause  = "pause"
	UpdateResume = "resume"

	QueryJourney = "journey"
)

// ExitSignals are the signals that may end a sequence, in the order the
// workflow listens to them.
var ExitSignals = []string{SignalPurchase, SignalUpgrade, SignalComplaint, SignalUnsubscribe, SignalConsentWithdrawn, SignalBounce,
	SignalSupportTicket, SignalErased}

// VariantHoldout is the variant of enrollments that run the clock but are
// never emailed; their conversions measure incremental lift.
const VariantHoldout = campaign.VariantHoldout

// Typed search attributes. None carries PII: customer and campaign IDs are
// the caller's opaque identifiers.
var (
	CustomerIDKey     = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	CampaignIDKey     = temporal.NewSearchAttributeKeyKeyword("CampaignId")
	VariantKey        = temporal.NewSearchAttributeKeyKeyword("Variant")
	SequenceStatusKey = temporal.NewSearchAttributeKeyKeyword("SequenceStatus")
	EmailsSentKey     = temporal.NewSearchAttributeKeyInt64("EmailsSent")
	NextEmailAtKey    = temporal.NewSearchAttributeKeyTime("NextEmailAt")
)

// SequenceWorkflowID is the ID of a customer's sequence for a campaign.
// There is at most one running per customer and campaign.
func SequenceWorkflowID(campaignID, customerID string) string {
	return "seq/" + campaignID + "/" + customerID
}

// StepPlan is a step's timing; content is loaded by activities from the
// campaign version, so the workflow input stays small. A step of a flow
// kind (branch, wait_for, webhook) says so in Kind; an email step leaves
// it empty, so inputs recorded before flows decode the same.
type StepPlan struct {
	ID     string          `json:"id"`
	Window campaign.Window `json:"window"`
	Kind   string          `json:"kind,omitempty"`
	// A branch's two paths; the branch's activity picks one.
	Then []StepPlan `json:"then,omitempty"`
	Else []StepPlan `json:"else,omitempty"`
	// A wait_for's event (for the journey and the Temporal UI: the API
	// decides which events end which wait), how long it waits and whether
	// running out of time ends the sequence.
	Event         string           `json:"event,omitempty"`
	Within        *campaign.Offset `json:"within,omitempty"`
	ExitOnTimeout bool             `json:"exit_on_timeout,omitempty"`
}

// SequenceInput starts one enrollment's sequence.
type SequenceInput struct {
	EnrollmentID   string        `json:"enrollment_id"`
	CustomerID     string        `json:"customer_id"`
	CampaignID     string        `json:"campaign_id"`
	Kind           campaign.Kind `json:"kind,omitempty"` // cross_sell or upsell
	Version        int           `json:"version"`
	Variant        string        `json:"variant"`
	TriggerEventID string        `json:"trigger_event_id,omitempty"`
	EntryKey       string        `json:"entry_key,omitempty"`
	EnrolledAt     time.Time     `json:"enrolled_at"`
	// Anchor, when set, is the time the steps count back from.
	Anchor      *time.Time      `json:"anchor,omitempty"`
	Day         time.Duration   `json:"day"` // 24h except in demos and load tests
	Timezone    string          `json:"timezone"`
	SendWindow  SendWindow      `json:"send_window"`
	Steps       []StepPlan      `json:"steps"`
	ExitOn      []campaign.Goal `json:"exit_on,omitempty"`
	UpgradeTo   []string        `json:"upgrade_to,omitempty"` // tiers that meet the upgrade goal; empty: any
	Attribution campaign.Offset `json:"attribution"`
}

// NewSequenceInput builds a sequence's input from a campaign plan. The
// variant is assigned by campaign.Assign: the holdout share of customers
// is held out, the rest split between the experiment's variants ("A"
// without one).
func NewSequenceInput(p campaign.Plan, version int, enrollmentID, customerID, timezone, eventID string, now time.Time, day time.Duration) SequenceInput {
	in := SequenceInput{
		EnrollmentID: enrollmentID, CustomerID: customerID, CampaignID: p.ID, Kind: p.Kind, Version: version,
		Variant: campaign.Assign(customerID, p.ID, p.Experiment, p.Holdout, p.Variants), TriggerEventID: eventID, EnrolledAt: now, Day: day, Timezone: timezone,
		SendWindow: SendWindow{Start: p.WindowStart, End: p.WindowEnd}, ExitOn: p.ExitOn, UpgradeTo: p.UpgradeTo,
		Attribution: p.Attribution,
	}
	in.Steps = stepPlans(p.StepsFor(in.Variant))
	return in
}

func stepPlans(steps []campaign.PlanStep) []StepPlan {
	out := make([]StepPlan, 0, len(steps))
	for _, st := range steps {
		out = append(out, StepPlan{ID: st.ID, Window: st.Window, Kind: st.Kind, Then: stepPlansOrNil(st.Then),
			Else: stepPlansOrNil(st.Else), Event: st.Event, Within: st.Within, ExitOnTimeout: st.ExitOnTimeout})
	}
	return out
}

func stepPlansOrNil(steps []campaign.PlanStep) []StepPlan {
	if len(steps) == 0 {
		return nil
	}
	return stepPlans(steps)
}

// SequenceResult is how a sequence ended.
type SequenceResult struct {
	Status         domain.SequenceStatus `json:"status"`
	Reason         string                `json:"reason,omitempty"`
	EmailsSent     int                   `json:"emails_sent"`
	ConvertedOrder string                `json:"converted_order,omitempty"`
}

// ExitSignal is the payload of every exit signal.
type ExitSignal struct {
	EventID string `json:"event_id,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	// CampaignID limits an unsubscribe to one campaign; empty means all.
	CampaignID string `json:"campaign_id,omitempty"`
	// Tier is the tier an upgrade reached.
	Tier string `json:"tier,omitempty"`
}

// FlowEvent is the payload of SignalFlowEvent: the wait_for steps the
// event ends, what it was, and the event's ID (empty for a click or an
// open). No PII: types and IDs only.
type FlowEvent struct {
	Steps   []string `json:"steps"`
	Type    string   `json:"type"`
	EventID string   `json:"event_id,omitempty"`
	// At is when it happened (the event's occurred_at, the click's time):
	// a wait takes only events since it was reached.
	At time.Time `json:"at,omitempty"`
}

// SwitchVariant is the payload of SignalSwitchVariant: the variant to
// send from now on and its step timing (steps already done keep theirs).
type SwitchVariant struct {
	Variant string     `json:"variant"`
	Steps   []StepPlan `json:"steps"`
	// Version, when set, moves the sequence onto that published version
	// of its campaign (publishing with move_running): its remaining steps,
	// send window and attribution window are the version's from the next
	// step boundary on. A sequence whose history predates the move
	// (changeSwitchVersion) switches the variant's steps only.
	Version     int              `json:"version,omitempty"`
	SendWindow  *SendWindow      `json:"send_window,omitempty"`
	Attribution *campaign.Offset `json:"attribution,omitempty"`
}

// SwitchTo builds the switch to a variant from a campaign plan.
func SwitchTo(p campaign.Plan, variant string) SwitchVariant {
	return SwitchVariant{Variant: variant, Steps: stepPlans(p.StepsFor(variant))}
}

// MoveTo builds the move onto a newer version of the campaign, sending
// the variant (the enrolment's own where the version has it) from its
// plan.
func MoveTo(p campaign.Plan, version int, variant string) SwitchVariant {
	sw := SwitchTo(p, variant)
	sw.Version, sw.SendWindow, sw.Attribution = version, &SendWindow{Start: p.WindowStart, End: p.WindowEnd}, &p.Attribution
	return sw
}

// Step states in the journey.
const (
	StepScheduled  = "scheduled"
	StepWaiting    = "waiting"
	StepSent       = "sent"
	StepSkipped    = "skipped"
	StepHoldout    = "holdout"
	StepFailed     = "failed"
	StepNotReached = "not_reached"
	// Flow steps: a branch that took a path (StepState.Path says which),
	// a wait_for that got its event or ran out of time. A webhook step
	// ends as sent (delivered), failed, skipped or holdout, like an email.
	StepBranched = "branched"
	StepMet      = "met"
	StepTimedOut = "timed_out"
)

// Journey answers "where is this customer and why did or didn't they get
// email N?". It is the result of the journey query and of pause/resume.
type Journey struct {
	EnrollmentID string `json:"enrollment_id"`
	CampaignID   string `json:"campaign_id"`
	CustomerID   string `json:"customer_id"`
	Version      int    `json:"version"`
	Variant      string `json:"variant"`
	// SwitchedFrom is the variant assigned at enrolment when a promoted
	// winner took over the remaining steps.
	SwitchedFrom string `json:"switched_from,omitempty"`
	// MovedFromVersion is the version the sequence started on when
	// publishing with move_running moved it onto Version.
	MovedFromVersion int                   `json:"moved_from_version,omitempty"`
	Status           domain.SequenceStatus `json:"status"`
	ExitReason       string                `json:"exit_reason,omitempty"`
	Paused           bool                  `json:"paused"`
	CurrentStep      string                `json:"current_step,omitempty"`
	EmailsSent       int                   `json:"emails_sent"`
	NextEmailAt      *time.Time            `json:"next_email_at,omitempty"`
	Waiting          string                `json:"waiting,omitempty"`
	Steps            []StepState           `json:"steps"`
}

// StepState is one step in the journey (the type is shared with the
// store, which keeps each step's final state when the sequence ends).
type StepState = domain.StepState
