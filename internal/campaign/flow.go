package campaign

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/errs"
)

// A step is one of four kinds. An email step is the step Lift has always
// had; the other three each set one block:
//
//   - branch: {"branch": {"if": {…}, "then": [steps], "else": [steps]}}
//     takes one path by a condition in the trigger's where language over
//     the enrolment's facts at that moment (app.FlowFacts).
//   - wait_for: {"wait_for": {"event": "delivered", "within": "10d",
//     "where": {…}}, "on_timeout": "continue"} waits for the customer's
//     next matching event (or a click or open of an earlier step's email:
//     "event": "click", "step": "comparison"); the steps after it count
//     their "at" from the moment the wait ended.
//   - webhook: {"webhook": {"destination": "crm"}} posts a signed request
//     to a destination registered with PUT /v1/destinations/{id}.
const (
	KindEmail   = "email"
	KindBranch  = "branch"
	KindWaitFor = "wait_for"
	KindWebhook = "webhook"
)

// Branch takes one of two paths.
type Branch struct {
	If   map[string]any `json:"if"`
	Then []Step         `json:"then,omitempty"`
	Else []Step         `json:"else,omitempty"`
}

// WaitFor waits for the customer's next matching event.
type WaitFor struct {
	// Event is an event type (delivered, purchase, …), or click or open
	// of the email of the step named by Step.
	Event  string         `json:"event"`
	Step   string         `json:"step,omitempty"`
	Within string         `json:"within"`
	Where  map[string]any `json:"where,omitempty"`
}

// Engagement events a wait_for may name, of an earlier step's email.
const (
	WaitClick = "click"
	WaitOpen  = "open"
)

// On timeout, a wait_for either lets the sequence go on (the default) or
// ends it.
const (
	OnTimeoutContinue = "continue"
	OnTimeoutExit     = "exit"
)

// Webhook posts to a registered destination.
type Webhook struct {
	Destination string `json:"destination"`
}

// Kind is the step's kind (KindEmail unless a block says otherwise).
func (s Step) Kind() string {
	switch {
	case s.Branch != nil:
		return KindBranch
	case s.WaitFor != nil:
		return KindWaitFor
	case s.Webhook != nil:
		return KindWebhook
	}
	return KindEmail
}

// Walk calls fn for every step of the flow, depth first (a branch, then
// its then path, then its else path), with the step's JSON path.
func Walk(steps []Step, fn func(path string, s Step)) { walk(steps, "steps", fn) }

func walk(steps []Step, prefix string, fn func(string, Step)) {
	for i, s := range steps {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		fn(p, s)
		if s.Branch != nil {
			walk(s.Branch.Then, p+".branch.then", fn)
			walk(s.Branch.Else, p+".branch.else", fn)
		}
	}
}

// EmailSteps is every email step of the flow, depth first.
func (d *Definition) EmailSteps() []Step {
	var out []Step
	Walk(d.Steps, func(_ string, s Step) {
		if s.Kind() == KindEmail {
			out = append(out, s)
		}
	})
	return out
}

// PathTo is the way through the flow's branches to the step with id:
// each branch on the way and the path it must take ("engaged: else"),
// outermost first; nil for a step outside any branch, and ok false when
// no step has the ID.
func (d *Definition) PathTo(id string) (way []string, ok bool) {
	return pathTo(d.Steps, id, nil)
}

func pathTo(steps []Step, id string, way []string) ([]string, bool) {
	for _, s := range steps {
		if s.ID == id {
			return way, true
		}
		if s.Branch == nil {
			continue
		}
		if w, ok := pathTo(s.Branch.Then, id, append(slices.Clone(way), s.ID+": then")); ok {
			return w, true
		}
		if w, ok := pathTo(s.Branch.Else, id, append(slices.Clone(way), s.ID+": else")); ok {
			return w, true
		}
	}
	return nil, false
}

// HasFlow reports whether the definition uses any step kind but email.
func (d *Definition) HasFlow() bool {
	flow := false
	Walk(d.Steps, func(_ string, s Step) { flow = flow || s.Kind() != KindEmail })
	return flow
}

// Destinations lists the webhook destinations the flow posts to.
func (d *Definition) Destinations() []string {
	var out []string
	Walk(d.Steps, func(_ string, s Step) {
		if s.Webhook != nil && !slices.Contains(out, s.Webhook.Destination) {
			out = append(out, s.Webhook.Destination)
		}
	})
	return out
}

// WaitsFor lists the wait_for steps that an event of type eventType (for
// click and open: of the email of step engagedStep) with these facts
// would end.
func (d *Definition) WaitsFor(eventType, engagedStep string, facts Facts) []string {
	var out []string
	Walk(d.Steps, func(_ string, s Step) {
		w := s.WaitFor
		if w == nil || w.Event != eventType || (w.Step != "" && w.Step != engagedStep) {
			return
		}
		if Match(w.Where, facts) {
			out = append(out, s.ID)
		}
	})
	return out
}

// Limits of a flow.
const (
	maxFlowSteps = 50 // steps of every kind, across every path
	maxDepth     = 3  // branches in branches in branches
)

// validateSteps checks a list of steps at path (steps, or a branch's
// then or else). prev is the earliest offset (in hours) the first step
// may have, -1 when any; it returns the same for what follows the list.
// seen holds every step ID of the flow so far; sent the email steps
// every journey reaching this list has passed (so a click or open wait
// can be met).
func (d *Definition) validateSteps(steps []Step, path string, seen, sent map[string]bool, prev, depth int) (int, error) {
	sent = maps.Clone(sent) // a path's emails are not sent on the other path
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	for i, s := range steps {
		f := func(name string) string { return fmt.Sprintf("%s[%d].%s", path, i, name) }
		if !idRE.MatchString(s.ID) {
			return prev, bad(f("id"), "must be 1-64 lower-case letters, digits, - or _")
		}
		if seen[s.ID] {
			return prev, bad(f("id"), "duplicate step id %q: step IDs are unique across the whole flow", s.ID)
		}
		seen[s.ID] = true
		if len(seen) > maxFlowSteps {
			return prev, bad(f("id"), "a flow has at most %d steps across all its paths", maxFlowSteps)
		}
		kind := s.Kind()
		if n := btoi(s.Branch != nil) + btoi(s.WaitFor != nil) + btoi(s.Webhook != nil); n > 1 {
			return prev, bad(f(kind), "a step is one kind: branch, wait_for, webhook or (with none of them) an email")
		}
		if kind != KindEmail {
			if d.Anchor != "" {
				return prev, bad(f(kind), "a campaign with an anchor counts its steps back from it: only email steps")
			}
			if field := emailField(s); field != "" {
				return prev, bad(f(field), "belongs to an email step, not a %s step", kind)
			}
		}
		if kind != KindWaitFor && s.OnTimeout != "" {
			return prev, bad(f("on_timeout"), "only goes with wait_for")
		}
		switch kind {
		case KindBranch:
			if s.At != "" {
				return prev, bad(f("at"), "a branch decides when the flow reaches it; time the steps on its paths")
			}
			if depth >= maxDepth {
				return prev, bad(f("branch"), "branches nest at most %d deep", maxDepth)
			}
			if err := checkWhere(f("branch.if"), s.Branch.If); err != nil {
				return prev, err
			}
			if len(s.Branch.If) == 0 {
				return prev, bad(f("branch.if"), "is required: the condition that takes the then path")
			}
			if len(s.Branch.Then)+len(s.Branch.Else) == 0 {
				return prev, bad(f("branch"), "needs steps on then, else or both")
			}
			p1, err := d.validateSteps(s.Branch.Then, f("branch.then"), seen, sent, prev, depth+1)
			if err != nil {
				return prev, err
			}
			p2, err := d.validateSteps(s.Branch.Else, f("branch.else"), seen, sent, prev, depth+1)
			if err != nil {
				return prev, err
			}
			if p1 < 0 || p2 < 0 {
				prev = -1 // a path waited: what follows counts from a moment not known now
			} else {
				prev = max(p1, p2)
			}
		case KindWaitFor:
			w := s.WaitFor
			if s.At != "" {
				return prev, bad(f("at"), "a wait starts when the flow reaches it; the steps after it count from when it ends")
			}
			switch {
			case w.Event == WaitClick || w.Event == WaitOpen:
				if !sent[w.Step] {
					return prev, bad(f("wait_for.step"), "a %s wait names an email step every journey reaching it has passed: earlier on its path, or before the branches it is in", w.Event)
				}
				if len(w.Where) > 0 {
					return prev, bad(f("wait_for.where"), "a %s has no properties to match: leave where out", w.Event)
				}
			case IsEventType(w.Event):
				if w.Step != "" {
					return prev, bad(f("wait_for.step"), "only goes with event click or open")
				}
			default:
				return prev, bad(f("wait_for.event"), "unknown event %q (an event type, or click or open of a step)", w.Event)
			}
			if o, err := ParseOffset(w.Within); err != nil || o.TotalHours() == 0 {
				return prev, bad(f("wait_for.within"), "how long to wait, like 10d, is required")
			}
			if err := checkWhere(f("wait_for.where"), w.Where); err != nil {
				return prev, err
			}
			if s.OnTimeout != "" && s.OnTimeout != OnTimeoutContinue && s.OnTimeout != OnTimeoutExit {
				return prev, bad(f("on_timeout"), "must be %q or %q", OnTimeoutContinue, OnTimeoutExit)
			}
			prev = 0 // the next steps count from the end of the wait
		case KindWebhook:
			if !idRE.MatchString(s.Webhook.Destination) {
				return prev, bad(f("webhook.destination"), "must name a destination (PUT /v1/destinations/{id})")
			}
			if s.At != "" {
				w, err := ParseWindow(s.At)
				if err != nil {
					return prev, bad(f("at"), "%v", err)
				}
				if w.Min.TotalHours() < prev {
					return prev, bad(f("at"), "starts before the previous step")
				}
				prev = w.Min.TotalHours()
			}
		default:
			var err error
			if prev, err = d.validateEmail(s, f, i, prev); err != nil {
				return prev, err
			}
			sent[s.ID] = true
		}
	}
	return prev, nil
}

// emailField names the first email field a step of another kind sets.
func emailField(s Step) string {
	for _, c := range []struct {
		name string
		set  bool
	}{{"subject", s.Subject != ""}, {"preheader", s.Preheader != ""}, {"template", s.Template != ""}, {"heading", s.Heading != ""},
		{"body", s.Body != ""}, {"cta", s.CTA != ""}, {"cta_url", s.CTAURL != ""}, {"recommend", s.Recommend != nil},
		{"incentive", s.Incentive != nil}, {"only_if", len(s.OnlyIf) > 0}, {"translations", len(s.Translations) > 0}} {
		if c.set {
			return c.name
		}
	}
	return ""
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DescribeStep is a step's kind and what it does, for diagrams and the
// Temporal UI: "branch: if clicked=comparison".
func DescribeStep(s Step) string {
	switch s.Kind() {
	case KindBranch:
		return "branch: if " + Describe(s.Branch.If)
	case KindWaitFor:
		what := s.WaitFor.Event
		if s.WaitFor.Step != "" {
			what += " of " + s.WaitFor.Step
		}
		if len(s.WaitFor.Where) > 0 {
			what += " where " + Describe(s.WaitFor.Where)
		}
		return "wait for " + what + " within " + s.WaitFor.Within
	case KindWebhook:
		return "webhook to " + s.Webhook.Destination
	}
	return strings.TrimSpace("email at " + s.At)
}
