// Package bench is `lift dev bench` (make bench-temporal): Lift's
// Temporal costs and rates measured on the embedded stack, each against a
// baseline taken in the same run (see Run), and the cost counter the
// end-to-end tests hold the sequence to.
package bench

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// Cost is what a workflow history costs: its events, and its billable
// Temporal Cloud actions by kind.
type Cost struct {
	Events  int
	Actions map[string]int
}

// Total is the number of billable actions.
func (c Cost) Total() int {
	total := 0
	for _, n := range c.Actions {
		total += n
	}
	return total
}

// String lists the actions by kind, e.g. "activity 3, start 1, timer 3".
func (c Cost) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.Actions)) {
		parts = append(parts, k+" "+strconv.Itoa(c.Actions[k]))
	}
	return strings.Join(parts, ", ")
}

// HistoryCost counts a history's billable actions, by kind: the workflow
// start, activity starts (each attempt), timers, search-attribute upserts
// (an upsert of TemporalChangeVersion alone, which GetVersion makes, is
// exempt), signals received and sent, side effects and local activities
// (those of one workflow task count as one action on Temporal Cloud; here
// each counts).
func HistoryCost(h *historypb.History) Cost {
	kinds := map[string]int{}
	for _, e := range h.Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			kinds["start"]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			kinds["activity"] += int(e.GetActivityTaskStartedEventAttributes().GetAttempt())
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			kinds["timer"]++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, version := fields["TemporalChangeVersion"]; version && len(fields) == 1 {
				continue
			}
			kinds["upsert"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			kinds["signal"]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			switch e.GetMarkerRecordedEventAttributes().GetMarkerName() {
			case "SideEffect":
				kinds["side_effect"]++
			case "LocalActivity":
				kinds["local_activity"]++
			}
		}
	}
	return Cost{Events: len(h.Events), Actions: kinds}
}
