package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/testdb"
)

// segmentNodeScript sends what a shop's checkout sends with Segment's own
// Node library: the order first, then the identify that creates the
// account, flushed at once.
const segmentNodeScript = `
const { Analytics } = require('@segment/analytics-node');
const [host, path, writeKey, user] = process.argv.slice(2);
const opts = { writeKey, host, flushAt: 1, maxRetries: 1, httpRequestTimeout: 10000 };
if (path) opts.path = path;
const analytics = new Analytics(opts);
analytics.on('error', (err) => { console.error('segment error', err.code, err.reason || ''); process.exitCode = 3; });
analytics.track({ userId: user, event: 'Order Completed', properties: {
  order_id: 'o-' + user, currency: 'USD', revenue: 899,
  products: [{ product_id: 'cam-1', sku: 'cam-1', price: 899, quantity: 1 }] } });
analytics.identify({ userId: user, traits: { email: user + '@example.com', name: 'Node Shopper' } });
analytics.closeAndFlush({ timeout: 20000 }).then(() => console.log('flushed'));
`

// TestSegmentsNodeLibraryWithTheDocumentedSetup runs @segment/analytics-node
// 3.1 (installed by .ci/run) against the real router, both ways the
// README shows: host only (the library posts /v1/batch) and host with
// path /segment/v1/batch. The order sent before the identify is kept and
// joins the new customer's history.
func TestSegmentsNodeLibraryWithTheDocumentedSetup(t *testing.T) {
	t.Parallel()
	modules := os.Getenv("LIFT_SEGMENT_NODE_MODULES")
	node, err := exec.LookPath("node")
	if modules == "" || err != nil {
		if os.Getenv("LIFT_REQUIRE_TOOLS") != "" {
			t.Fatal("node or LIFT_SEGMENT_NODE_MODULES (.ci/run installs @segment/analytics-node) missing and LIFT_REQUIRE_TOOLS is set")
		}
		t.Skip("Segment's Node library not installed: set LIFT_SEGMENT_NODE_MODULES (see .ci/run)")
	}
	b := on(t, testdb.SQLite(t))
	b.app.SetNow(time.Now().UTC()) // the library stamps calls with the real time
	b.seed(t)
	srv := httptest.NewServer(b.h)
	defer srv.Close()
	script := filepath.Join(t.TempDir(), "send.js")
	require.NoError(t, os.WriteFile(script, []byte(segmentNodeScript), 0o600))
	for user, path := range map[string]string{"node-host-only": "", "node-with-path": "/segment/v1/batch"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, node, script, srv.URL, path, key, user)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		out, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "flushed")
		st, body := b.do(t, "GET", "/v1/customers/"+user+"/export", "")
		require.Equal(t, 200, st, "%s: %v (node said %s)", user, body, out)
		require.Len(t, body["orders"], 1, "%s: the order sent before the identify is in the history", user)
	}
}
