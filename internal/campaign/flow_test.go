package campaign

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/errs"
)

// flowJSON is the contract's example: a cross-sell that waits for the
// delivery, sends two days after it, branches on a click, alerts sales on
// the then path and follows up by email on the else path.
const flowJSON = `{"id":"lens-flow","name":"Lens after camera","kind":"cross_sell",
 "trigger":{"event":"purchase","where":{"category":"cameras"}},"exit_on":["purchase_any"],
 "steps":[
  {"id":"delivery","wait_for":{"event":"delivered","within":"10d"},"on_timeout":"continue"},
  {"id":"complement","at":"2d-3d","subject":"A lens for it","template":"recommendation","recommend":{"strategy":"complements"}},
  {"id":"engaged","branch":{"if":{"clicked":"complement"},
    "then":[{"id":"tell-sales","webhook":{"destination":"crm"}}],
    "else":[{"id":"clicked-wait","wait_for":{"event":"click","step":"complement","within":"3d"},"on_timeout":"exit"},
            {"id":"reminder","at":"1d","subject":"Still thinking?","template":"education","cta":"See","cta_url":"https://shop.example/lenses"}]}}
 ]}`

func TestFlowStepsParseIntoAPlanWithTheirKinds(t *testing.T) {
	t.Parallel()
	d, err := Parse([]byte(flowJSON))
	require.NoError(t, err)
	require.True(t, d.HasFlow())
	require.Equal(t, []string{"crm"}, d.Destinations())

	var ids []string
	for _, s := range d.EmailSteps() {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"complement", "reminder"}, ids, "email steps on every path, in flow order")

	s, ok := d.StepByID("reminder")
	require.True(t, ok, "a step on a branch's path is found by its ID")
	require.Equal(t, "Still thinking?", s.Subject)

	var paths []string
	Walk(d.Steps, func(p string, _ Step) { paths = append(paths, p) })
	require.Equal(t, []string{"steps[0]", "steps[1]", "steps[2]", "steps[2].branch.then[0]",
		"steps[2].branch.else[0]", "steps[2].branch.else[1]"}, paths)

	plan := d.Plan().Steps
	require.Len(t, plan, 3)
	require.Equal(t, KindWaitFor, plan[0].Kind)
	require.Equal(t, &Offset{Days: 10}, plan[0].Within)
	require.False(t, plan[0].ExitOnTimeout)
	require.Equal(t, "", plan[1].Kind, "an email step's kind is left empty so old plans read the same")
	require.Equal(t, Window{Min: Offset{Days: 2}, Max: Offset{Days: 3}}, plan[1].Window)
	require.Equal(t, KindBranch, plan[2].Kind)
	require.Equal(t, KindWebhook, plan[2].Then[0].Kind)
	require.True(t, plan[2].Else[0].ExitOnTimeout)
	require.Equal(t, "click of complement", plan[2].Else[0].Event)

	require.Equal(t, "branch: if clicked=complement", DescribeStep(d.Steps[2]))
	require.Equal(t, "wait for delivered within 10d", DescribeStep(d.Steps[0]))
}

func TestWaitsForMatchesTheEventAndItsWhere(t *testing.T) {
	t.Parallel()
	d, err := Parse([]byte(flowJSON))
	require.NoError(t, err)
	require.Equal(t, []string{"delivery"}, d.WaitsFor("delivered", "", Facts{}))
	require.Empty(t, d.WaitsFor("purchase", "", Facts{}))
	require.Equal(t, []string{"clicked-wait"}, d.WaitsFor(WaitClick, "complement", Facts{}))
	require.Empty(t, d.WaitsFor(WaitClick, "reminder", Facts{}), "a click of another step's email does not end the wait")

	d.Steps[0].WaitFor.Where = map[string]any{"carrier": "dhl"}
	require.Empty(t, d.WaitsFor("delivered", "", Facts{"carrier": "ups"}))
	require.Equal(t, []string{"delivery"}, d.WaitsFor("delivered", "", Facts{"carrier": "dhl"}))
}

func TestVariantsChangeEmailStepsOnEveryPath(t *testing.T) {
	t.Parallel()
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(flowJSON), &raw))
	raw["experiment"] = map[string]any{"id": "subj", "variants": []any{
		map[string]any{"id": "A", "weight": 1},
		map[string]any{"id": "B", "weight": 1, "steps": map[string]any{"reminder": map[string]any{"subject": "Last call"}}},
	}}
	b, _ := json.Marshal(raw)
	d, err := Parse(b)
	require.NoError(t, err)
	steps := d.VariantSteps("B")
	require.Equal(t, "Last call", steps[2].Branch.Else[1].Subject)
	require.Equal(t, "Still thinking?", d.VariantSteps("A")[2].Branch.Else[1].Subject)

	raw["experiment"] = map[string]any{"id": "subj", "variants": []any{
		map[string]any{"id": "A", "weight": 1},
		map[string]any{"id": "B", "weight": 1, "steps": map[string]any{"engaged": map[string]any{"subject": "x"}}},
	}}
	b, _ = json.Marshal(raw)
	_, err = Parse(b)
	e, ok := errs.As(err)
	require.True(t, ok, "got %v", err)
	require.Equal(t, "experiment.variants[1].steps.engaged", e.Field)
}

func TestFlowValidationNamesThePath(t *testing.T) {
	t.Parallel()
	email := func(id, at string) string {
		return `{"id":"` + id + `","at":"` + at + `","subject":"x","template":"education"}`
	}
	branch := func(id, then, els string) string {
		return `{"id":"` + id + `","branch":{"if":{"clicked":"a"},"then":[` + then + `],"else":[` + els + `]}}`
	}
	cases := map[string]struct{ steps, field string }{
		"then at backwards": {email("a", "5d") + `,` + branch("b", email("c", "6d")+`,`+email("d", "2d"), ""), "steps[1].branch.then[1].at"},
		"nested then at": {email("a", "1d") + `,` + branch("b", branch("c", email("d", "bad"), ""), ""),
			"steps[1].branch.then[0].branch.then[0].at"},
		"id unique across paths": {email("a", "1d") + `,` + branch("b", email("c", "2d"), email("c", "3d")), "steps[1].branch.else[0].id"},
		"branch without if":      {email("a", "1d") + `,{"id":"b","branch":{"then":[` + email("c", "2d") + `]}}`, "steps[1].branch.if"},
		"branch bad if":          {email("a", "1d") + `,{"id":"b","branch":{"if":{"orders_gte":"x"},"then":[` + email("c", "2d") + `]}}`, "steps[1].branch.if.orders_gte"},
		"branch empty":           {email("a", "1d") + `,` + branch("b", "", ""), "steps[1].branch"},
		"branch with at":         {email("a", "1d") + `,{"id":"b","at":"2d","branch":{"if":{"clicked":"a"},"then":[` + email("c", "2d") + `]}}`, "steps[1].at"},
		"branch with subject":    {email("a", "1d") + `,{"id":"b","subject":"x","branch":{"if":{"clicked":"a"},"then":[` + email("c", "2d") + `]}}`, "steps[1].subject"},
		"too deep": {email("a", "1d") + `,` + branch("b", branch("c", branch("d", branch("e", email("f", "2d"), ""), ""), ""), ""),
			"steps[1].branch.then[0].branch.then[0].branch.then[0].branch"},
		"two kinds":          {`{"id":"w","wait_for":{"event":"delivered","within":"3d"},"webhook":{"destination":"crm"}}`, "steps[0].wait_for"},
		"wait unknown event": {`{"id":"w","wait_for":{"event":"arrived","within":"3d"}}`, "steps[0].wait_for.event"},
		"wait no within":     {`{"id":"w","wait_for":{"event":"delivered"}}`, "steps[0].wait_for.within"},
		"wait bad where":     {`{"id":"w","wait_for":{"event":"usage","within":"3d","where":{"ratio_gte":"lots"}}}`, "steps[0].wait_for.where.ratio_gte"},
		"wait click later":   {`{"id":"w","wait_for":{"event":"click","step":"a","within":"3d"}},` + email("a", "1d"), "steps[0].wait_for.step"},
		"wait click of a path's email": {email("a", "1d") + `,` + branch("b", email("c", "2d"), "") + `,{"id":"w","wait_for":{"event":"click","step":"c","within":"3d"}}`,
			"steps[2].wait_for.step"},
		"wait click of a branch": {email("a", "1d") + `,` + branch("b", email("c", "2d"), "") + `,{"id":"w","wait_for":{"event":"click","step":"b","within":"3d"}}`,
			"steps[2].wait_for.step"},
		"wait click where":   {email("a", "1d") + `,{"id":"w","wait_for":{"event":"click","step":"a","within":"3d","where":{"x":"y"}}}`, "steps[1].wait_for.where"},
		"wait step no click": {email("a", "1d") + `,{"id":"w","wait_for":{"event":"delivered","step":"a","within":"3d"}}`, "steps[1].wait_for.step"},
		"wait timeout":       {`{"id":"w","wait_for":{"event":"delivered","within":"3d"},"on_timeout":"shrug"}`, "steps[0].on_timeout"},
		"timeout on email":   {`{"id":"a","at":"1d","subject":"x","template":"education","on_timeout":"exit"}`, "steps[0].on_timeout"},
		"wait with at":       {`{"id":"w","at":"1d","wait_for":{"event":"delivered","within":"3d"}}`, "steps[0].at"},
		"webhook no dest":    {`{"id":"h","webhook":{"destination":""}}`, "steps[0].webhook.destination"},
		"webhook backwards":  {email("a", "3d") + `,{"id":"h","at":"1d","webhook":{"destination":"crm"}}`, "steps[1].at"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var base map[string]any
			require.NoError(t, json.Unmarshal([]byte(valid), &base))
			var steps []any
			require.NoError(t, json.Unmarshal([]byte("["+c.steps+"]"), &steps), c.steps)
			base["steps"] = steps
			raw, _ := json.Marshal(base)
			_, err := Parse(raw)
			e, ok := errs.As(err)
			require.True(t, ok, "got %v", err)
			require.Equal(t, errs.Invalid, e.Code)
			require.Equal(t, c.field, e.Field, e.Error())
		})
	}

	// After a wait, the steps count from its end: an "at" smaller than the
	// step before the wait is fine.
	var base map[string]any
	require.NoError(t, json.Unmarshal([]byte(valid), &base))
	var steps []any
	require.NoError(t, json.Unmarshal([]byte("["+email("a", "5d")+`,{"id":"w","wait_for":{"event":"delivered","within":"10d"}},`+email("b", "1d")+"]"), &steps))
	base["steps"] = steps
	raw, _ := json.Marshal(base)
	_, err := Parse(raw)
	require.NoError(t, err)

	// A campaign counted back from an anchor has only email steps.
	base["anchor"] = "renewal_at"
	require.NoError(t, json.Unmarshal([]byte("["+email("a", "5d")+`,{"id":"h","webhook":{"destination":"crm"}}]`), &steps))
	base["steps"] = steps
	raw, _ = json.Marshal(base)
	_, err = Parse(raw)
	e, ok := errs.As(err)
	require.True(t, ok, "got %v", err)
	require.Equal(t, "steps[1].webhook", e.Field)
}
