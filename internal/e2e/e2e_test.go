// Package e2e_test drives Lift end to end: the real in-process Temporal
// server, the real worker and API, the outbox mailer, and sequence days
// compressed to one second.
package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/bench"
	"github.com/lift-hq/lift/internal/devstack"
	"github.com/lift-hq/lift/internal/testdb"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

const apiKey = "e2e-key-0123456789abcdef0123456789"

func startDev(t *testing.T, dataDir, databaseURL string) (*devstack.Dev, api) {
	t.Helper()
	return startDevWith(t, map[string]string{"LIFT_DATA_DIR": dataDir, "LIFT_DATABASE_URL": databaseURL})
}

// startDevWith starts lift dev on any free ports, without the Web UI,
// with one-second sequence days and no frequency caps, plus env.
func startDevWith(t *testing.T, env map[string]string, opts ...devstack.Option) (*devstack.Dev, api) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	gin.SetMode(gin.TestMode)
	vars := map[string]string{
		"LIFT_DATA_DIR": t.TempDir(), "LIFT_HTTP": "127.0.0.1:0", "LIFT_TEMPORAL_PORT": "0", "LIFT_UI_PORT": "0",
		"LIFT_DAY": "1s", "LIFT_API_KEY": apiKey, "LIFT_POSTAL_ADDRESS": "1 Test Street, Testville",
		"LIFT_CAP_PER_DAY": "0", "LIFT_CAP_PER_WEEK": "0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(config.RoleDev, vars, nil)
	require.NoError(t, err)
	d, err := devstack.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	require.NoError(t, err)
	return d, api{url: d.APIURL, key: apiKey}
}

func TestSequenceEndToEnd(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	seed(t, a, "ada", "bob", "cy", "dee")

	// A purchase enrols each customer.
	for _, c := range []string{"ada", "bob", "cy", "dee"} {
		out := a.must(t, "POST", "/v1/events", purchase(c, "o-"+c, "cam"), 202)
		require.Len(t, out["started"], 1, "%v", out)
	}
	running := a.journeys(t, "ada")
	require.Len(t, running, 1)
	require.Equal(t, "running", running[0].Status)

	// Ada buys what her first email recommended: her sequence ends at once
	// as converted and nothing more is sent.
	var first message
	eventually(t, 20*time.Second, "ada's first email", func() bool {
		ms := a.messages(t, "ada")
		if len(ms) > 0 && ms[0].Status == "sent" {
			first = ms[0]
			return true
		}
		return false
	})
	require.Equal(t, "complement", first.StepID)
	require.Equal(t, "Complete your X100 Camera kit", first.Subject)
	require.Equal(t, []string{"lens", "card"}, first.Recommended)
	a.must(t, "POST", "/v1/events", purchase("ada", "o-ada-2", first.Recommended[0]), 202)
	eventually(t, 10*time.Second, "ada converted", func() bool {
		j := a.journeys(t, "ada")
		return j[0].Status == "converted"
	})
	j := a.journeys(t, "ada")[0]
	require.Contains(t, j.ExitReason, "purchase_of_recommended")
	require.Equal(t, 1, j.EmailsSent)
	// The sequence has ended; the store still says what became of each step.
	require.Equal(t, "store", j.Source)
	require.Len(t, j.Steps, 3)
	require.Equal(t, []string{"complement", "sent"}, []string{j.Steps[0].ID, j.Steps[0].Status})
	require.Equal(t, []string{"guide", "not_reached"}, []string{j.Steps[1].ID, j.Steps[1].Status})
	require.Contains(t, j.Steps[1].Reason, "purchase_of_recommended")

	// Cy uses the one-click unsubscribe of her first email, exactly as a
	// mailbox provider would: her sequence ends at once.
	eventually(t, 20*time.Second, "cy's first email", func() bool { return len(sentSteps(a.messages(t, "cy"))) == 1 })
	var detail struct{ Headers map[string]string }
	decodeInto(t, a.must(t, "GET", "/v1/messages/"+a.messages(t, "cy")[0].ID, nil, 200), &detail)
	require.Equal(t, "List-Unsubscribe=One-Click", detail.Headers["List-Unsubscribe-Post"])
	link := strings.Trim(detail.Headers["List-Unsubscribe"], "<>")
	require.True(t, strings.HasPrefix(link, a.url+"/u/"), link)
	unsubscribed, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	unsubscribed.Body.Close()
	require.Equal(t, 200, unsubscribed.StatusCode)
	eventually(t, 5*time.Second, "cy unsubscribed", func() bool { return a.journeys(t, "cy")[0].Status == "unsubscribed" })

	// Dee asks to be forgotten: her sequence ends as erased and her data is erased.
	out := a.must(t, "DELETE", "/v1/customers/dee", nil, 200)
	require.Equal(t, []any{"seq/camera-accessories/dee"}, out["cancelled"])
	eventually(t, 10*time.Second, "dee's sequence to record its erasure", func() bool {
		es, err := d.Store.ListEnrollments(context.Background(), "dee")
		require.NoError(t, err)
		return len(es) == 1 && es[0].Status == "erased" && strings.Contains(es[0].ExitReason, "erased")
	})

	// Bob gets every email, in order, then the sequence completes.
	eventually(t, 30*time.Second, "bob's sequence to complete", func() bool {
		return a.journeys(t, "bob")[0].Status == "completed"
	})
	bobs := a.messages(t, "bob")
	require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(bobs))
	require.True(t, bobs[0].SentAt.Before(bobs[1].SentAt) && bobs[1].SentAt.Before(bobs[2].SentAt))
	require.Equal(t, "Add 35mm Lens and save 15%", bobs[2].Subject)

	// Neither Ada's nor Cy's sequence sent anything after they left it.
	require.Equal(t, []string{"complement"}, sentSteps(a.messages(t, "ada")))
	require.Equal(t, []string{"complement"}, sentSteps(a.messages(t, "cy")))
	for _, m := range a.messages(t, "dee") {
		require.Empty(t, m.Subject, "dee's emails keep no personal data")
	}

	// The rendered email is there to read.
	html := getHTML(t, a, first.ID)
	require.Contains(t, html, "35mm Lens")
	require.Contains(t, html, "utm_source=lift")
	require.Contains(t, html, "1 Test Street, Testville")

	// Operators find the journey by customer in Temporal.
	ctx := context.Background()
	resp, err := d.Temporal.ListWorkflow(ctx, listRequest(`CustomerId = "bob" AND CampaignId = "camera-accessories"`))
	require.NoError(t, err)
	require.Len(t, resp.Executions, 1)
	require.Equal(t, "seq/camera-accessories/bob", resp.Executions[0].Execution.WorkflowId)

	t.Run("the affinity rebuild runs on its Temporal Schedule", func(t *testing.T) {
		h := d.Temporal.ScheduleClient().GetHandle(ctx, workflows.RebuildScheduleID)
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		var runID string
		eventually(t, 20*time.Second, "the scheduled rebuild to start", func() bool {
			desc, err := h.Describe(ctx)
			require.NoError(t, err)
			if len(desc.Info.RecentActions) == 0 {
				return false
			}
			runID = desc.Info.RecentActions[0].StartWorkflowResult.WorkflowID
			return true
		})
		var pairs int64
		require.NoError(t, d.Temporal.GetWorkflow(ctx, runID, "").Get(ctx, &pairs))
		require.EqualValues(t, 0, pairs, "no pair shares three orders yet")
	})

	t.Run("history carries IDs only, within budget", func(t *testing.T) {
		hist := history(t, d.Temporal, "seq/camera-accessories/bob")
		payload := payloadBytes(hist)
		perStep := payload / 3
		t.Logf("history: %d events, %d payload bytes, %d per step", len(hist.Events), payload, perStep)
		require.LessOrEqual(t, perStep, 4096, "DESIGN principle 1: at most 4 KB of payload per email step")
		raw, err := protojson.Marshal(hist)
		require.NoError(t, err)
		for _, pii := range []string{"bob@example.com", "bob Tester", "<html", "SD Card"} {
			require.NotContains(t, string(raw), pii, "history must not hold PII, bodies or recommendation lists")
		}
		// The Temporal cost of an email: billable actions (Temporal
		// Cloud's: the start, activity starts, timers, search-attribute
		// upserts other than the versioning attribute, signals) and
		// history events, per step of this finished three-step sequence.
		cost := bench.HistoryCost(hist)
		actions := cost.Total()
		t.Logf("billable actions: %d (%.1f per email step) %v; history events: %d (%.1f per email step)",
			actions, float64(actions)/3, cost, len(hist.Events), float64(len(hist.Events))/3)
		require.LessOrEqual(t, float64(actions)/3, 5.0, "at most 5 billable actions per email step")
		require.LessOrEqual(t, float64(len(hist.Events))/3, 20.0, "at most 20 history events per email step")
		// Record histories for the replay tests in workflows/testdata.
		// LIFT_RECORD_HISTORY_TAG names the workflow version, e.g. v2.
		if dir := os.Getenv("LIFT_RECORD_HISTORY_DIR"); dir != "" {
			tag := os.Getenv("LIFT_RECORD_HISTORY_TAG")
			require.NotEmpty(t, tag, "set LIFT_RECORD_HISTORY_TAG too")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sequence_completed_"+tag+".json"), raw, 0o644))
			converted, err := protojson.Marshal(history(t, d.Temporal, "seq/camera-accessories/ada"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sequence_converted_"+tag+".json"), converted, 0o644))
		}
	})

	t.Run("history replays against the current workflow code", func(t *testing.T) {
		for _, id := range []string{"seq/camera-accessories/bob", "seq/camera-accessories/ada"} {
			r := worker.NewWorkflowReplayer()
			liftworker.RegisterWorkflows(r)
			require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), history(t, d.Temporal, id)), id)
		}
	})
}

// TestSequenceOnPostgres runs a sequence with the app store on PostgreSQL,
// as production does.
func TestSequenceOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	d, a := startDev(t, t.TempDir(), testdb.PostgresURL(t))
	defer d.Stop(context.Background())
	seed(t, a, "dave")
	a.must(t, "POST", "/v1/events", purchase("dave", "o-dave", "cam"), 202)
	eventually(t, 30*time.Second, "dave's sequence to complete", func() bool {
		return a.journeys(t, "dave")[0].Status == "completed"
	})
	require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(a.messages(t, "dave")))
}

func getHTML(t *testing.T, a api, id string) string {
	t.Helper()
	st, _ := a.do(t, "GET", "/v1/messages/"+id, nil)
	require.Equal(t, 200, st)
	req, _ := newRequest(a, "/v1/messages/"+id+"/html")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode)
	return string(body)
}

func history(t *testing.T, c client.Client, workflowID string) *historypb.History {
	t.Helper()
	return runHistory(t, c, workflowID, "")
}

// payloadBytes sums the size of every Payload in a history: workflow
// input, activity arguments and results, signals, search attributes.
func payloadBytes(m proto.Message) int {
	total := 0
	var walk func(protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if strings.HasSuffix(string(m.Descriptor().FullName()), "common.v1.Payload") {
			total += proto.Size(m.Interface())
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message())
					return true
				})
			case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
	return total
}

func listRequest(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query}
}
