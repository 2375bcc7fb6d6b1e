package e2e_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

// TestSupportWorkflowsReplay runs the workflows beside the sequence on the
// real server (a watcher from before the re-engagement scan, which
// retires; the clocks of the scan and the experiment check; the scheduled
// affinity rebuild and purge) and replays each history against the
// current code. With LIFT_RECORD_HISTORY_DIR and LIFT_RECORD_HISTORY_TAG
// set it keeps them for workflows.TestReplayRecordedHistories.
func TestSupportWorkflowsReplay(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	ctx := context.Background()
	a.must(t, "PUT", "/v1/customers/quinn", `{"email":"quinn@example.com","name":"Quinn","marketing_consent":true}`, 200)

	// A watcher as the API started one per customer before the scan: it
	// ends at its first wake-up, starting nothing.
	watcher := workflows.InactivityWorkflowID("quinn")
	run, err := d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: watcher, TaskQueue: workflows.TaskQueue},
		workflows.InactivityWorkflowName, workflows.InactivityInput{CustomerID: "quinn", LastActivity: time.Now(), Day: time.Second})
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	// The clocks run from the start of lift dev; a few ticks of each.
	for _, id := range []string{workflows.DormancyWorkflowID, workflows.ExperimentClockWorkflowID} {
		eventually(t, 60*time.Second, id+" to tick twice", func() bool {
			return len(runHistory(t, d.Temporal, id, "").Events) > 20
		})
	}
	rebuild := scheduledRun(t, d.Temporal, workflows.RebuildScheduleID)
	purge := scheduledRun(t, d.Temporal, workflows.PurgeScheduleID)

	for name, h := range map[string]*historypb.History{
		"inactivity_retired": runHistory(t, d.Temporal, watcher, ""),
		"dormancy_clock":     runHistory(t, d.Temporal, workflows.DormancyWorkflowID, ""),
		"experiment_clock":   runHistory(t, d.Temporal, workflows.ExperimentClockWorkflowID, ""),
		"rebuild_affinities": runHistory(t, d.Temporal, rebuild, ""),
		"purge":              runHistory(t, d.Temporal, purge, ""),
	} {
		r := worker.NewWorkflowReplayer()
		liftworker.RegisterWorkflows(r)
		require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h), name)
		recordHistory(t, name, h)
	}
	// The experiment check's schedule from before the clock is gone.
	_, err = d.Temporal.ScheduleClient().GetHandle(ctx, "lift-check-experiments").Describe(ctx)
	require.Error(t, err)
}

// scheduledRun triggers a schedule and returns the ID of the run it
// started, once that run has completed.
func scheduledRun(t *testing.T, c client.Client, scheduleID string) string {
	t.Helper()
	ctx := context.Background()
	h := c.ScheduleClient().GetHandle(ctx, scheduleID)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var id string
	eventually(t, 30*time.Second, scheduleID+" to start a run", func() bool {
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		if n := len(desc.Info.RecentActions); n > 0 {
			id = desc.Info.RecentActions[n-1].StartWorkflowResult.WorkflowID
		}
		return id != ""
	})
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, nil))
	return id
}

// runHistory is one run's history ("" for the latest run).
func runHistory(t *testing.T, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	return h
}

// recordHistory keeps a history for the replay tests when
// LIFT_RECORD_HISTORY_DIR is set; LIFT_RECORD_HISTORY_TAG names the
// workflow code's version (v1, v2, …) so older recordings stay.
func recordHistory(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	dir := os.Getenv("LIFT_RECORD_HISTORY_DIR")
	if dir == "" {
		return
	}
	tag := os.Getenv("LIFT_RECORD_HISTORY_TAG")
	require.NotEmpty(t, tag, "set LIFT_RECORD_HISTORY_TAG too")
	raw, err := protojson.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+"_"+tag+".json"), raw, 0o644))
}
