package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/sendgridfake"
)

// TestKill9MidSequenceLosesNothingAndDuplicatesNothing runs the real
// binary, kills it with SIGKILL after the first email, starts it again on
// the same data dir, and checks that the sequence finishes with exactly
// one email per step.
func TestKill9MidSequenceLosesNothingAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the lift binary")
	}
	bin := binary(t, "lift-dev")

	dataDir := t.TempDir()
	httpPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "lift.log"))
	require.NoError(t, err)
	defer logFile.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--data-dir", dataDir, "--day", "1s",
			"--http", "127.0.0.1:"+strconv.Itoa(httpPort),
			"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", strconv.Itoa(uiPort))
		cmd.Env = append(os.Environ(), "LIFT_API_KEY="+apiKey)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		waitReady(t, fmt.Sprintf("http://127.0.0.1:%d", httpPort))
		return cmd
	}

	cmd := start()
	a := api{url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), key: apiKey}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", uiPort))
	require.NoError(t, err, "the Temporal Web UI answers")
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	seed(t, a, "carol")
	a.must(t, "POST", "/v1/events", purchase("carol", "o-carol", "cam"), 202)
	eventually(t, 20*time.Second, "carol's first email", func() bool {
		return len(sentSteps(a.messages(t, "carol"))) >= 1
	})

	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no shutdown hooks run
	_, _ = cmd.Process.Wait()
	start()

	eventually(t, 60*time.Second, "carol's sequence to complete after the restart", func() bool {
		j := a.journeys(t, "carol")
		return len(j) == 1 && j[0].Status == "completed"
	})
	ms := a.messages(t, "carol")
	require.Len(t, ms, 3, "one message per step, no duplicates")
	require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(ms))
	require.Equal(t, 3, a.journeys(t, "carol")[0].EmailsSent)
}

// TestKilledBetweenSendGridAcceptingAndRecordingSendsOnce kills the real
// binary with SIGKILL while SendGrid has accepted an email but Lift has not
// recorded it, and holds SendGrid's processed event back until after the
// restart. The restarted worker does not resend blindly: it waits for the
// event, and the sequence ends with one email per step, not two.
func TestKilledBetweenSendGridAcceptingAndRecordingSendsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the lift binary")
	}
	bin := binary(t, "lift-dev")
	fake, err := sendgridfake.Start()
	require.NoError(t, err)
	defer fake.Close()
	dataDir := t.TempDir()
	httpPort, temporalPort, uiPort := freePort(t), freePort(t), freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	fake.SetWebhook(url + "/v1/webhooks/sendgrid")
	const to = "hank@example.com"
	fake.InjectFor(to, "complement", sendgridfake.Fault{HangAfterAccept: true, EventDelay: 4 * time.Second})

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--data-dir", dataDir, "--day", "1s",
			"--http", "127.0.0.1:"+strconv.Itoa(httpPort),
			"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", strconv.Itoa(uiPort))
		cmd.Env = append(os.Environ(), "LIFT_API_KEY="+apiKey, "SENDGRID_API_KEY=SG.test",
			"SENDGRID_BASE_URL="+fake.URL(), "SENDGRID_WEBHOOK_PUBLIC_KEY="+fake.PublicKey(),
			"SENDGRID_RECONCILE_AFTER=20s", "LIFT_POSTAL_ADDRESS=1 Test Street",
			"LIFT_PUBLIC_URL=https://lift.test") // with SendGrid, unsubscribe links must be https
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		waitReady(t, url)
		return cmd
	}
	cmd := start()
	a := api{url: url, key: apiKey}
	seed(t, a, "hank")
	a.must(t, "POST", "/v1/events", purchase("hank", "o-hank", "cam"), 202)
	eventually(t, 20*time.Second, "SendGrid to accept hank's first email", func() bool { return len(fake.AcceptedFor(to)) == 1 })
	require.NoError(t, cmd.Process.Kill()) // SendGrid has it; Lift never heard back
	_, _ = cmd.Process.Wait()
	start()

	eventually(t, 90*time.Second, "hank's sequence to complete after the restart", func() bool {
		j := a.journeys(t, "hank")
		return len(j) == 1 && j[0].Status == "completed"
	})
	var steps []string
	for _, acc := range fake.AcceptedFor(to) {
		steps = append(steps, acc.CustomArgs["step_id"])
	}
	require.Equal(t, []string{"complement", "guide", "bundle"}, steps, "one email per step, not two")
}
