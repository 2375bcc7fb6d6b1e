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
// real server (the inactivity watcher through a continue-as-new, the
// scheduled affinity rebuild, experiment check and purge) and replays each
// history against the current code. With LIFT_RECORD_HISTORY_DIR and
// LIFT_RECORD_HISTORY_TAG set it keeps them for
// workflows.TestReplayRecordedHistories.
func TestSupportWorkflowsReplay(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	ctx := context.Background()
	a.must(t, "PUT", "/v1/customers/quinn", `{"email":"quinn@example.com","name":"Quinn","marketing_consent":true}`, 200)

	// The watcher continues as new after 200 activity signals, so its
	// history stays short however long the customer lives.
	seq := workflows.Client{Temporal: d.Temporal}
	require.NoError(t, seq.TouchActivity(ctx, "quinn", time.Now(), time.Second))
	watcher := workflows.InactivityWorkflowID("quinn")
	first, err := d.Temporal.DescribeWorkflowExecution(ctx, watcher, "")
	require.NoError(t, err)
	firstRun := first.WorkflowExecutionInfo.Execution.RunId
	for i := 0; i < 205; i++ {
		require.NoError(t, d.Temporal.SignalWorkflow(ctx, watcher, "", workflows.SignalActivity, workflows.ActivitySignal{At: time.Now()}))
	}
	eventually(t, 30*time.Second, "the watcher to continue as new", func() bool {
		desc, err := d.Temporal.DescribeWorkflowExecution(ctx, watcher, firstRun)
		require.NoError(t, err)
		return desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	})

	rebuild := scheduledRun(t, d.Temporal, workflows.RebuildScheduleID)
	check := scheduledRun(t, d.Temporal, workflows.CheckExperimentsScheduleID)
	purge := scheduledRun(t, d.Temporal, workflows.PurgeScheduleID)

	for name, h := range map[string]*historypb.History{
		"inactivity_continued": runHistory(t, d.Temporal, watcher, firstRun),
		"rebuild_affinities":   runHistory(t, d.Temporal, rebuild, ""),
		"check_experiments":    runHistory(t, d.Temporal, check, ""),
		"purge":                runHistory(t, d.Temporal, purge, ""),
	} {
		r := worker.NewWorkflowReplayer()
		liftworker.RegisterWorkflows(r)
		require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h), name)
		recordHistory(t, name, h)
	}
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
