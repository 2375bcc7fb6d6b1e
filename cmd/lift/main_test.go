package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsageAndBadCommands(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))
	require.Contains(t, out.String(), "lift api")
	require.Contains(t, out.String(), "make run", "it says where lift dev went")

	err := run([]string{"launch"}, &out)
	require.ErrorContains(t, err, `unknown command "launch"`)

	err = run([]string{"dev"}, &out)
	require.ErrorContains(t, err, "cmd/lift-dev", "the production binary carries no embedded server")

	t.Setenv("LIFT_DATABASE_URL", "")
	err = run([]string{"worker"}, &out)
	require.ErrorContains(t, err, "LIFT_DATABASE_URL is required")
}

// TestProductionBinaryLinksNoEmbeddedServer keeps the production binary
// lean: no Temporal server, no UI server, no fakes (those are lift dev's).
func TestProductionBinaryLinksNoEmbeddedServer(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"go.temporal.io/server", "github.com/temporalio/ui-server", "/internal/devserver", "/internal/devstack", "/internal/sendgridfake"} {
			require.NotContains(t, pkg, banned, "cmd/lift must not link %s", banned)
		}
	}
}

func TestHealthCheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	var out bytes.Buffer
	require.NoError(t, run([]string{"health", ok.URL}, &out))
	require.ErrorContains(t, run([]string{"health", down.URL}, &out), "503")
	require.Error(t, run([]string{"health"}, &out))
}
