package api_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/testdb"
)

const tourMarker = "<!-- tour: runs top to bottom; tested by TestReadmeTour in api/readme_test.go -->\n```sh\n"

// TestReadmeTour runs the README's API tour, as written, with bash, curl
// and jq against the real router over a fresh store (Temporal and the
// mailer faked): every command must succeed, in order. Only the address
// is changed, from localhost:8080 to the test server's. CI installs curl
// and jq and sets LIFT_REQUIRE_TOOLS=1, so the test cannot skip there.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("LIFT_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is not installed and LIFT_REQUIRE_TOOLS is set", tool)
			}
			t.Skipf("the README tour needs %s: install it to run this test", tool)
		}
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(readme)
	i := strings.Index(text, tourMarker)
	require.GreaterOrEqual(t, i, 0, "the README's tour block is marked %q", tourMarker)
	tour := text[i+len(tourMarker):]
	tour = tour[:strings.Index(tour, "\n```\n")+1]
	require.Contains(t, tour, "U=localhost:8080")

	b := on(t, testdb.SQLite(t))
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)
	script := "set -euo pipefail\n" +
		// Every call fails the script on an error status and shows the body.
		"curl() { command curl -sS --fail-with-body \"$@\"; echo; }\n" +
		strings.Replace(tour, "U=localhost:8080", "U="+srv.URL, 1)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "KEY="+key)
	out, err := cmd.CombinedOutput()
	tail := string(out[max(0, len(out)-4000):])
	require.NoError(t, err, "the README tour stopped at an error; the end of its output:\n%s", tail)

	// It did what it says: c-42 was enrolled, promoted, unsubscribed and
	// erased, and the key it made was revoked.
	require.Contains(t, string(out), `"started":[{"campaign_id":"camera-accessories"`)
	require.Contains(t, string(out), `"winner":"B"`)
	st, body := b.do(t, "GET", "/v1/customers/c-42", "")
	require.Equal(t, 404, st, "%v", body)
	st, body = b.do(t, "GET", "/v1/api-keys", "")
	require.Equal(t, 200, st)
	keys := body["api_keys"].([]any)
	require.Len(t, keys, 2)
	require.Equal(t, "checkout-service", keys[1].(map[string]any)["name"])
	require.NotEmpty(t, keys[1].(map[string]any)["revoked_at"])
}
