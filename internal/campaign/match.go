package campaign

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/errs"
)

// Event types Lift accepts.
const (
	EventPurchase      = "purchase"
	EventDelivered     = "delivered"
	EventUpgrade       = "upgrade"
	EventDowngrade     = "downgrade"
	EventUsage         = "usage"
	EventMilestone     = "milestone"
	EventPageView      = "page_view"
	EventSupportTicket = "support_ticket"
	EventComplaint     = "complaint"
	EventUnsubscribe   = "unsubscribe"
	EventTrialEnding   = "trial_ending"
	EventRenewalDue    = "renewal_due"
)

// EventTypes lists every accepted event type.
var EventTypes = []string{
	EventPurchase, EventDelivered, EventUpgrade, EventDowngrade, EventUsage, EventMilestone,
	EventPageView, EventSupportTicket, EventComplaint, EventUnsubscribe, EventTrialEnding, EventRenewalDue,
}

// IsEventType reports whether t is an accepted event type.
func IsEventType(t string) bool { return slices.Contains(EventTypes, t) }

// TriggerInactivity is the trigger of re-engagement campaigns: no event
// from the customer for the trigger's "after" (e.g. 30d). Nobody posts it;
// a per-customer watcher workflow fires it.
const TriggerInactivity = "inactivity"

// IsTrigger reports whether t can start a campaign.
func IsTrigger(t string) bool { return IsEventType(t) || t == TriggerInactivity }

// Facts are what a trigger's where clause is matched against: the event's
// properties plus derived ones (a purchase's skus and categories, a usage
// event's ratio).
type Facts map[string]any

// The customer's order history, as Lift has recorded it: facts a where
// clause may name (customer.orders_gte: 3 for "third purchase").
const (
	FactOrders              = "customer.orders"
	FactRevenue             = "customer.revenue" // lifetime, in major units
	FactDaysSinceFirstOrder = "customer.days_since_first_order"
)

// OrderFacts are the facts that need the customer's order history.
var OrderFacts = []string{FactOrders, FactRevenue, FactDaysSinceFirstOrder}

// Names reports whether a where clause names any of the facts (with or
// without a comparison suffix).
func Names(where map[string]any, facts []string) bool {
	for k := range where {
		if base, _ := splitComparison(k); slices.Contains(facts, base) {
			return true
		}
	}
	return false
}

var comparisons = []string{"_gte", "_lte", "_gt", "_lt"}

func splitComparison(key string) (base, op string) {
	for _, suf := range comparisons {
		if strings.HasSuffix(key, suf) && len(key) > len(suf) {
			return strings.TrimSuffix(key, suf), suf
		}
	}
	return key, ""
}

// Bounds on a where clause, checked when it is saved: matching costs at
// most MaxConditions × MaxConditionList comparisons per fact value.
const (
	// MaxConditions is the most conditions one where clause holds.
	MaxConditions = 32
	// MaxConditionList is the longest list a condition may give.
	MaxConditionList = 100
	// MaxConditionText is the longest string a condition may compare.
	MaxConditionText = 500
)

// checkWhere validates a where clause (a trigger's where, a step's
// only_if, a branch's if) at save time, naming the condition at fault
// under field.
func checkWhere(field string, where map[string]any) error {
	if len(where) > MaxConditions {
		return errs.Field(errs.Invalid, field, "at most %d conditions", MaxConditions)
	}
	for _, k := range slices.Sorted(maps.Keys(where)) {
		if err := checkCondition(k, where[k]); err != nil {
			return errs.Field(errs.Invalid, field+"."+k, "%v", err)
		}
	}
	return nil
}

// checkCondition validates one condition: a comparison takes a number;
// a plain key a scalar or a flat list of at most MaxConditionList
// scalars. A list inside a list is refused: nothing can equal it.
func checkCondition(key string, want any) error {
	if len(key) > 200 {
		return fmt.Errorf("a condition's name is at most 200 characters")
	}
	if _, op := splitComparison(key); op != "" {
		if _, ok := number(want); !ok {
			return fmt.Errorf("%s compares numbers; %v is not a number", op, want)
		}
		return nil
	}
	if w, ok := want.([]any); ok {
		switch {
		case len(w) == 0:
			return fmt.Errorf("an empty list matches nothing")
		case len(w) > MaxConditionList:
			return fmt.Errorf("a list of at most %d values", MaxConditionList)
		}
		for i, x := range w {
			if err := checkScalar(x); err != nil {
				return fmt.Errorf("value %d: %w", i, err)
			}
		}
		return nil
	}
	return checkScalar(want)
}

func checkScalar(v any) error {
	switch x := v.(type) {
	case string:
		if len(x) > MaxConditionText {
			return fmt.Errorf("a string of at most %d bytes", MaxConditionText)
		}
		return nil
	case float64, bool:
		return nil
	case []any:
		return fmt.Errorf("a list inside a list matches nothing: give a flat list of strings, numbers or booleans")
	}
	return fmt.Errorf("must be a string, number, boolean or a flat list of them")
}

// Describe writes a where clause for a person: its conditions, sorted,
// as key=value pairs (for a skip reason in the journey).
func Describe(where map[string]any) string {
	parts := make([]string, 0, len(where))
	for _, k := range slices.Sorted(maps.Keys(where)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, where[k]))
	}
	return strings.Join(parts, ", ")
}

// Match reports whether facts satisfy every condition in where.
// A plain key matches equal values (any of a list on either side);
// key_gte, key_gt, key_lte and key_lt compare numbers.
func Match(where map[string]any, facts Facts) bool {
	for _, k := range slices.Sorted(maps.Keys(where)) {
		if !matchOne(k, where[k], facts) {
			return false
		}
	}
	return true
}

func matchOne(key string, want any, facts Facts) bool {
	base, op := splitComparison(key)
	have, ok := facts[base]
	if !ok {
		return false
	}
	if op != "" {
		h, ok1 := number(have)
		w, ok2 := number(want)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case "_gte":
			return h >= w
		case "_gt":
			return h > w
		case "_lte":
			return h <= w
		default:
			return h < w
		}
	}
	wants, ok := want.([]any)
	if !ok {
		wants = []any{want}
	}
	for _, h := range flatten(have) {
		for _, w := range wants {
			if equal(h, w) {
				return true
			}
		}
	}
	return false
}

func flatten(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return []any{v}
}

// equal compares two scalars: numbers by value, strings without regard
// to case, booleans. Anything else (a list or an object an event carries)
// equals nothing, so no comparison can panic on an uncomparable value.
func equal(a, b any) bool {
	if an, ok := number(a); ok {
		bn, ok := number(b)
		return ok && an == bn
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && strings.EqualFold(x, y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}
