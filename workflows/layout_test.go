package workflows_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWorkflowCodeLinksNoDatabase: workflow code reads the domain's
// vocabulary, never the store, so it links no database driver.
func TestWorkflowCodeLinksNoDatabase(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"gorm.io", "github.com/jackc", "github.com/lift-hq/lift/models", "github.com/lift-hq/lift/activities"} {
			require.False(t, strings.HasPrefix(pkg, banned), "workflows links %s", pkg)
		}
	}
}
