package workflows_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	liftworker "github.com/lift-hq/lift/worker"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (testdata/*.json) against the current workflow code. A change that would
// break running sequences fails here: guard it with workflow.GetVersion.
// Record a new one with:
//
//	LIFT_RECORD_HISTORY_DIR=$PWD/workflows/testdata LIFT_RECORD_HISTORY_TAG=v3 \
//	  go test -count=1 -run TestSequenceEndToEnd ./internal/e2e/
//
// using a new tag, so the old files stay: every recorded version must keep replaying.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			liftworker.RegisterWorkflows(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(logger, f))
		})
	}
}
