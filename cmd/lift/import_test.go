package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/testdb"
)

// liftAPI serves the real router on a store and returns its URL and an
// ingest key.
func liftAPI(t *testing.T) (string, string, *apptest.Bundle) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	b := apptest.New(t, testdb.SQLite(t))
	_, err := b.App.BootstrapKey(context.Background(), "import", "lift_test_import_key_0123456789abcdef")
	require.NoError(t, err)
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: b.App, Store: b.Store, MaxBodyBytes: 1 << 20}))
	t.Cleanup(srv.Close)
	return srv.URL, "lift_test_import_key_0123456789abcdef", b
}

func TestImportCommand(t *testing.T) {
	url, key, b := liftAPI(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	importCmd := func(stdin string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := runImport(context.Background(), args, strings.NewReader(stdin), &out, &errOut, false)
		return out.String(), errOut.String(), err
	}
	t.Setenv("LIFT_API_URL", url)
	t.Setenv("LIFT_API_KEY", key)

	customers := write("customers.csv", "customer_id,email,marketing_consent,consent_source,consent_at\nada,ada@example.com,true,signup form,2025-01-02T03:04:05Z\nbob,bob@example.com,,,\n")
	out, _, err := importCmd("", "customers", customers)
	require.NoError(t, err)
	require.Contains(t, out, "customers: 2 rows in")
	require.Contains(t, out, "2 inserted, 0 updated, 0 unchanged, 0 rejected")

	// JSON Lines from standard input, found by the first byte; a bad row
	// is named and the exit status is 2.
	out, _, err = importCmd(`{"order_id":"o-1","customer_id":"ada","occurred_at":"2025-02-01","sku":"cam-1","quantity":1,"price":899}
{"order_id":"o-2","customer_id":"zed","occurred_at":"2025-02-01","sku":"cam-1","quantity":1,"price":899}
`, "orders", "-")
	var exit *exitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 2, exit.code)
	require.Equal(t, "1 row rejected", exit.msg)
	require.Contains(t, out, "1 inserted, 0 updated, 0 unchanged, 1 rejected")
	require.Contains(t, out, "line 2: customer_id: no such customer: import customers first")

	// Again: nothing changes.
	out, _, err = importCmd("", "customers", customers, "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"unchanged": 2`)

	// Failures say what to do.
	_, _, err = importCmd("", "customers", filepath.Join(dir, "missing.csv"))
	require.ErrorContains(t, err, "no such file")
	t.Setenv("LIFT_API_KEY", "")
	_, _, err = importCmd("", "customers", customers)
	require.ErrorContains(t, err, "LIFT_API_KEY")
	_, _, err = importCmd("", "customers", customers, "--key", "lift_wrong")
	require.ErrorContains(t, err, "401")
	_, errOut, err := importCmd("", "customers")
	require.Error(t, err)
	require.Contains(t, errOut, "usage: lift import")

	require.Empty(t, b.Sequences.Started())
}
