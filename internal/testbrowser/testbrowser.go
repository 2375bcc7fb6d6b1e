// Package testbrowser starts Debian's Chromium for the browser tests (the
// email layout, the console): headless, no sandbox, no background
// traffic. Without Chromium a test skips, unless LIFT_REQUIRE_CHROMIUM=1
// (CI) turns the skip into a failure.
package testbrowser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Start returns a browser tab's context, closed when the test ends, and
// the directory screenshots go to: $LIFT_ARTIFACTS_DIR (CI keeps it) or
// a temporary one.
func Start(t testing.TB, timeout time.Duration) (ctx context.Context, artifacts string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("LIFT_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium is not installed but LIFT_REQUIRE_CHROMIUM=1")
		}
		t.Skip("Chromium not installed (apt-get install chromium): browser test skipped")
	}
	artifacts = os.Getenv("LIFT_ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() { cancel(); cancelTab(); cancelAlloc() })
	return ctx, artifacts
}
