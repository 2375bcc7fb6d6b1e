package app

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// FlowNode is one step of a flow in the report and the console's
// diagram: how many ended journeys reached it, what became of them there,
// and how many of those converted, with their revenue. Counting ended
// journeys (whose steps Lift keeps) makes every node count the same
// population, so a branch's two paths add up to the branch; running
// journeys are in the step table until they end.
type FlowNode struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`            // email, branch, wait_for, webhook
	Path  string `json:"path"`            // its place in the definition: steps[2].branch.then[0]
	Label string `json:"label,omitempty"` // what it does: "branch: if clicked=comparison"
	// Entered counts the journeys that reached the step (sent, skipped,
	// failed, held out, branched, waited); Done those where it did its
	// thing: an email or webhook sent, a wait met, a branch's then taken.
	Entered int `json:"entered"`
	Done    int `json:"done"`
	// Outcomes counts the step's final states (sent, skipped, met,
	// timed_out, …; then and else for a branch).
	Outcomes     map[string]int `json:"outcomes"`
	Converted    int            `json:"converted"`
	Revenue      float64        `json:"revenue"` // of the converted journeys through it, in the report's currency
	RevenueMinor int64          `json:"-"`
}

// flowReport counts a flow's nodes over the campaign's ended journeys
// enrolled in [from, to).
func (a *App) flowReport(ctx context.Context, def *campaign.Definition, id string, version int, from, to time.Time, currency string) ([]FlowNode, error) {
	var nodes []FlowNode
	index := map[string]int{}
	campaign.Walk(def.Steps, func(path string, s campaign.Step) {
		index[s.ID] = len(nodes)
		nodes = append(nodes, FlowNode{ID: s.ID, Kind: s.Kind(), Path: path, Label: campaign.DescribeStep(s), Outcomes: map[string]int{}})
	})
	err := a.Store.EachEndedJourney(ctx, id, version, from, to, func(e *models.Enrollment) {
		for _, st := range e.Steps {
			i, ok := index[st.ID]
			if !ok || st.Status == workflows.StepScheduled || st.Status == workflows.StepWaiting || st.Status == workflows.StepNotReached {
				continue
			}
			n := &nodes[i]
			n.Entered++
			outcome := st.Status
			if st.Path != "" {
				outcome = st.Path
			}
			n.Outcomes[outcome]++
			if outcome == workflows.StepSent || outcome == workflows.StepMet || outcome == "then" {
				n.Done++
			}
			if e.Status == domain.StatusConverted {
				n.Converted++
				n.RevenueMinor += e.RevenueMinor
			}
		}
	})
	for i := range nodes {
		nodes[i].Revenue = money.Major(float64(nodes[i].RevenueMinor), currency)
	}
	return nodes, err
}
