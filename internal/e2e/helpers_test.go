package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// api is a small client for Lift's HTTP API.
type api struct {
	url, key string
}

func (a api) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func (a api) must(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	st, out := a.do(t, method, path, body)
	require.Equal(t, want, st, "%s %s: %v", method, path, out)
	return out
}

type message struct {
	ID                string    `json:"id"`
	StepID            string    `json:"step_id"`
	Variant           string    `json:"variant"`
	Status            string    `json:"status"`
	Error             string    `json:"error"`
	Subject           string    `json:"subject"`
	Recommended       []string  `json:"recommended"`
	SentAt            time.Time `json:"sent_at"`
	ProviderMessageID string    `json:"provider_message_id"`
}

func (a api) messages(t *testing.T, customer string) []message {
	t.Helper()
	var out struct{ Messages []message }
	st, body := a.do(t, "GET", "/v1/messages?customer_id="+customer, nil)
	require.Equal(t, 200, st)
	data, _ := json.Marshal(body)
	require.NoError(t, json.Unmarshal(data, &out))
	return out.Messages
}

type journey struct {
	Version          int    `json:"version"`
	MovedFromVersion int    `json:"moved_from_version"`
	Variant          string `json:"variant"`
	PromotedTo       string `json:"promoted_to"`
	Status           string `json:"status"`
	ExitReason       string `json:"exit_reason"`
	EmailsSent       int    `json:"emails_sent"`
	WorkflowID       string `json:"workflow_id"`
	Source           string `json:"source"`
	Steps            []struct {
		ID, Status, Reason, Kind, Path string
	} `json:"steps"`
}

func (a api) journeys(t *testing.T, customer string) []journey {
	t.Helper()
	var out struct{ Journeys []journey }
	st, body := a.do(t, "GET", "/v1/customers/"+customer+"/journeys", nil)
	require.Equal(t, 200, st, "%v", body)
	data, _ := json.Marshal(body)
	require.NoError(t, json.Unmarshal(data, &out))
	return out.Journeys
}

// eventually polls cond every 100ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sentSteps(ms []message) []string {
	var out []string
	for _, m := range ms {
		if m.Status == "sent" {
			out = append(out, m.StepID)
		}
	}
	return out
}

// seed loads a catalogue, a three-step campaign and customers through the API.
func seed(t *testing.T, a api, customers ...string) {
	t.Helper()
	for sku, p := range map[string]string{
		"cam":  `{"name":"X100 Camera","category":"cameras","price":899,"complements":["lens","card","bag"]}`,
		"lens": `{"name":"35mm Lens","category":"lenses","price":279}`,
		"card": `{"name":"SD Card","category":"storage","price":49.99}`,
		"bag":  `{"name":"Camera Bag","category":"bags","price":89}`,
	} {
		p = strings.Replace(p, "{", `{"url":"https://shop.example.com/p/`+sku+`",`, 1)
		a.must(t, "PUT", "/v1/products/"+sku, p, 200)
	}
	a.must(t, "POST", "/v1/campaigns", campaign, 201)
	a.must(t, "POST", "/v1/campaigns/camera-accessories/publish", nil, 201)
	for _, c := range customers {
		a.must(t, "PUT", "/v1/customers/"+c, fmt.Sprintf(`{"email":"%s@example.com","name":"%s Tester","timezone":"Europe/Paris","marketing_consent":true}`, c, c), 200)
	}
}

// campaign sends three emails at days 1, 5 and 7 (seconds, at a 1s day):
// the gap after the first leaves room to convert even on a loaded machine.
const campaign = `{
  "id": "camera-accessories", "name": "Camera accessories", "kind": "cross_sell",
  "trigger": {"event": "purchase", "where": {"category": "cameras"}},
  "exit_on": ["purchase_of_recommended", "complaint", "unsubscribe"],
  "attribution_window": "1d",
  "steps": [
    {"id": "complement", "at": "1d", "subject": "Complete your {{.Trigger.ProductName}} kit",
     "template": "recommendation", "recommend": {"strategy": "complements", "limit": 2}},
    {"id": "guide", "at": "5d", "subject": "5 accessories for better photos", "template": "education"},
    {"id": "bundle", "at": "7d", "subject": "Add {{.First.Name}} and save 15%", "template": "offer",
     "recommend": {"strategy": "complements", "limit": 1}, "incentive": {"percent_off": 15, "expires_in": "7d"}}
  ]
}`

func purchase(customer, order, sku string) string {
	return fmt.Sprintf(`{"id":"ev-%s","type":"purchase","customer_id":"%s","properties":{"order_id":"%s","currency":"USD","items":[{"sku":"%s","quantity":1,"price":10}]}}`,
		order, customer, order, sku)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func newRequest(a api, path string) (*http.Request, error) {
	req, err := http.NewRequest("GET", a.url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	return req, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func decodeInto(t *testing.T, in map[string]any, out any) {
	t.Helper()
	data, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, out))
}

// waitReady waits until a Lift process at url answers /readyz.
func waitReady(t *testing.T, url string) {
	t.Helper()
	eventually(t, 60*time.Second, "lift at "+url+" to be ready", func() bool {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
