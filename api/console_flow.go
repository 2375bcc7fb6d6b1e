package api

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
)

// The flow diagram is drawn on the server as SVG: no JavaScript, no
// build. Steps go down the page; a branch splits into its then path (on
// the left) and its else path (on the right), which join again below.
const (
	nodeW, nodeH = 232.0, 66.0
	gapY, gapX   = 30.0, 24.0
	emptyW       = 60.0 // an empty path: a line straight to the join
	margin       = 16.0
)

var kindFill = map[string]string{
	campaign.KindEmail: "#eef4ff", campaign.KindBranch: "#fff4e5",
	campaign.KindWaitFor: "#eaf7ee", campaign.KindWebhook: "#f4edfd",
}

type flowSVG struct {
	b     strings.Builder
	nodes map[string]app.FlowNode
	money func(float64) string
}

// flowDiagram draws def's flow with each node's counts (nodes by step
// ID; a node without counts shows none).
func flowDiagram(def *campaign.Definition, nodes []app.FlowNode, money func(float64) string) template.HTML {
	d := &flowSVG{nodes: map[string]app.FlowNode{}, money: money}
	for _, n := range nodes {
		d.nodes[n.ID] = n
	}
	w := listWidth(def.Steps)
	var body flowSVG
	body.nodes, body.money = d.nodes, money
	cx := margin + w/2
	// A start marker, then the steps.
	fmt.Fprintf(&body.b, `<circle cx="%.0f" cy="%.0f" r="7" fill="#555"/><text x="%.0f" y="%.0f" class="fl-muted">enrolled</text>`,
		cx, margin+7, cx+12, margin+11)
	_, endY := body.list(def.Steps, cx, margin+14)
	fmt.Fprintf(&body.b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="fl-edge"/><rect x="%.0f" y="%.0f" width="14" height="14" fill="#555"/>`,
		cx, endY, cx, endY+gapY/2, cx-7, endY+gapY/2)
	height := endY + gapY/2 + 14 + margin
	width := w + 2*margin
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Flow of %s" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" class="flow">`,
		html.EscapeString(def.Name), width, height, width, height)
	d.b.WriteString(`<style>.flow text{font:12px system-ui,sans-serif;fill:#222}.flow .fl-id{font-weight:600}.flow .fl-muted{fill:#666;font-size:11px}` +
		`.flow .fl-edge{stroke:#888;stroke-width:1.5;fill:none}</style>`)
	d.b.WriteString(body.b.String())
	d.b.WriteString(`</svg>`)
	return template.HTML(d.b.String()) //nolint:gosec // every text in it is escaped
}

func listWidth(steps []campaign.Step) float64 {
	w := emptyW
	for _, s := range steps {
		w = max(w, stepWidth(s))
	}
	return w
}

func stepWidth(s campaign.Step) float64 {
	if s.Branch == nil {
		return nodeW
	}
	return max(nodeW, pathWidth(s.Branch.Then)+gapX+pathWidth(s.Branch.Else))
}

func pathWidth(steps []campaign.Step) float64 {
	if len(steps) == 0 {
		return emptyW
	}
	return listWidth(steps)
}

// list draws steps from the anchor (cx, y): the bottom of what comes
// before. It returns the new anchor.
func (d *flowSVG) list(steps []campaign.Step, cx, y float64) (float64, float64) {
	for _, s := range steps {
		d.edge(cx, y, cx, y+gapY, "")
		y += gapY
		y = d.step(s, cx, y)
	}
	return cx, y
}

// step draws one step with its top at y and returns its bottom (for a
// branch, the point where its paths join).
func (d *flowSVG) step(s campaign.Step, cx, y float64) float64 {
	d.box(s, cx, y)
	bottom := y + nodeH
	if s.Branch == nil {
		return bottom
	}
	tw, ew := pathWidth(s.Branch.Then), pathWidth(s.Branch.Else)
	total := tw + gapX + ew
	left := cx - total/2
	tcx, ecx := left+tw/2, left+tw+gapX+ew/2
	_, tEnd := d.path(s.Branch.Then, cx, bottom, tcx, "then")
	_, eEnd := d.path(s.Branch.Else, cx, bottom, ecx, "else")
	join := max(tEnd, eEnd) + gapY/2
	d.edge(tcx, tEnd, cx, join, "")
	d.edge(ecx, eEnd, cx, join, "")
	return join
}

// path draws a branch's path under the branch whose bottom centre is
// (bx, by), centred at px.
func (d *flowSVG) path(steps []campaign.Step, bx, by, px float64, label string) (float64, float64) {
	top := by + gapY
	d.edge(bx, by, px, top, label)
	if len(steps) == 0 {
		return px, top
	}
	y := d.step(steps[0], px, top)
	return d.list(steps[1:], px, y)
}

func (d *flowSVG) edge(x1, y1, x2, y2 float64, label string) {
	if x1 == x2 {
		fmt.Fprintf(&d.b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="fl-edge"/>`, x1, y1, x2, y2)
	} else {
		mid := (y1 + y2) / 2
		fmt.Fprintf(&d.b, `<path d="M%.0f %.0f V%.0f H%.0f V%.0f" class="fl-edge"/>`, x1, y1, mid, x2, y2)
	}
	if label != "" {
		fmt.Fprintf(&d.b, `<text x="%.0f" y="%.0f" class="fl-muted">%s</text>`, x2+5, y2-4, label)
	}
}

func (d *flowSVG) box(s campaign.Step, cx, y float64) {
	x := cx - nodeW/2
	kind := s.Kind()
	fmt.Fprintf(&d.b, `<g><title>%s</title><rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="6" fill="%s" stroke="#99a"/>`,
		html.EscapeString(s.ID+": "+campaign.DescribeStep(s)), x, y, nodeW, nodeH, kindFill[kind])
	kindLabel := strings.ReplaceAll(kind, "_", " ")
	fmt.Fprintf(&d.b, `<text x="%.0f" y="%.0f"><tspan class="fl-muted">%s</tspan> <tspan class="fl-id">%s</tspan></text>`,
		x+8, y+16, kindLabel, html.EscapeString(clip(s.ID, 26)))
	fmt.Fprintf(&d.b, `<text x="%.0f" y="%.0f" class="fl-muted">%s</text>`, x+8, y+33, html.EscapeString(clip(nodeDetail(s), 36)))
	n, ok := d.nodes[s.ID]
	counts := "no ended journeys yet"
	if ok && n.Entered > 0 {
		counts = fmt.Sprintf("%s in · %s %s · %s conv", strconv.Itoa(n.Entered), strconv.Itoa(n.Done), doneWord(kind), strconv.Itoa(n.Converted))
		if n.Revenue > 0 {
			counts += " · " + d.money(n.Revenue)
		}
	}
	fmt.Fprintf(&d.b, `<text x="%.0f" y="%.0f">%s</text></g>`, x+8, y+53, html.EscapeString(clip(counts, 40)))
}

// nodeDetail is a step's second line: what it sends or decides.
func nodeDetail(s campaign.Step) string {
	switch s.Kind() {
	case campaign.KindEmail:
		return strings.TrimSpace(s.At + " · " + s.Subject)
	case campaign.KindBranch:
		return "if " + campaign.Describe(s.Branch.If)
	case campaign.KindWaitFor:
		what := s.WaitFor.Event
		if s.WaitFor.Step != "" {
			what += " of " + s.WaitFor.Step
		}
		return what + " ≤ " + s.WaitFor.Within + ", then " + map[bool]string{true: "exit", false: "go on"}[s.OnTimeout == campaign.OnTimeoutExit]
	}
	return strings.TrimSpace("→ " + s.Webhook.Destination + " " + s.At)
}

func doneWord(kind string) string {
	switch kind {
	case campaign.KindBranch:
		return "then"
	case campaign.KindWaitFor:
		return "met"
	}
	return "sent"
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
