package worker_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/testdb"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

// TestEveryActivityMethodIsRegisteredUnderItsName: an activity method
// added without a name constant and a registration would never run.
func TestEveryActivityMethodIsRegisteredUnderItsName(t *testing.T) {
	t.Parallel()
	var methods []string
	typ := reflect.TypeOf(&activities.Activities{})
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType {
			methods = append(methods, m.Name)
		}
	}
	var names []string
	for name := range liftworker.Activities(&activities.Activities{}) {
		names = append(names, name)
	}
	sort.Strings(methods)
	sort.Strings(names)
	require.Equal(t, methods, names, "each activity is registered under the name of its method, as recorded histories call it")
}

// TestActivityErrorsAreClassifiedAtTheBoundary runs an activity the way
// the worker does: a bad input fails for good, never retried forever.
func TestActivityErrorsAreClassifiedAtTheBoundary(t *testing.T) {
	t.Parallel()
	b := apptest.New(t, testdb.SQLite(t))
	acts := &activities.Activities{App: b.App}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.Interceptor()}})
	liftworker.RegisterActivities(env, acts)
	// A step of a campaign version that does not exist: not found.
	_, err := env.ExecuteActivity(workflows.ActivityPrepare, workflows.StepRef{EnrollmentID: "e", CustomerID: "c", CampaignID: "gone", Version: 1, StepID: "s"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable(), "%v", err)
	require.Equal(t, "not_found", appErr.Type())
}
