package api_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHandlersCallTheApplicationNotTheActivities: the HTTP layer decodes,
// calls internal/app and encodes; it never reaches into the worker's code.
func TestHandlersCallTheApplicationNotTheActivities(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, strings.Fields(string(out)), "github.com/lift-hq/lift/activities")
}
