package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const crossSell = `{
  "id": "camera-accessories", "name": "Camera accessories", "kind": "cross_sell",
  "trigger": {"event": "purchase"}, "exit_on": ["complaint"],
  "steps": [{"id": "one", "at": "1d", "subject": "Complete your kit", "template": "education"}]
}`

const upsell = `{
  "id": "go-pro", "name": "Go Pro", "kind": "upsell",
  "trigger": {"event": "usage"}, "exit_on": ["upgrade"],
  "steps": [{"id": "one", "at": "0d", "subject": "You are growing", "template": "upsell"}]
}`

// A campaign directory applied from CI: a dry run shows the plan and
// exits 2, apply creates and publishes, a second apply changes nothing,
// an edit shows as a diff, and an invalid file stops everything.
func TestCampaignsApply(t *testing.T) {
	url, key, _ := liftAPI(t)
	t.Setenv("LIFT_API_URL", url)
	t.Setenv("LIFT_API_KEY", key)
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	write("camera.json", crossSell)
	write("upsell.json", upsell)
	write("README.md", "not a campaign")
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := runCampaigns(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	exitCode := func(err error) int {
		if err == nil {
			return 0
		}
		if e, ok := err.(*exitError); ok {
			return e.code
		}
		return 1
	}

	out, err := cmd("apply", "-f", dir, "--dry-run", "--publish")
	require.Equal(t, 2, exitCode(err), "%s %v", out, err)
	require.Contains(t, out, "+ camera-accessories")
	require.Contains(t, out, "would publish it as v1")
	require.Contains(t, out, "2 of 2 files would change (dry run: nothing applied)")
	out, err = cmd("get", "camera-accessories")
	require.ErrorContains(t, err, "not found", "a dry run changes nothing")

	out, err = cmd("apply", "-f", dir, "--publish")
	require.NoError(t, err, out)
	require.Contains(t, out, "published v1")
	out, err = cmd("apply", "-f", dir, "--publish", "--dry-run")
	require.NoError(t, err, "applied twice: nothing to change, exit 0")
	require.Contains(t, out, "2 files, nothing to change")

	// get prints the definition ready to commit; applying it changes nothing.
	got, err := cmd("get", "camera-accessories")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(got, "{\n  \"id\": \"camera-accessories\""), got)
	write("camera.json", got)
	out, err = cmd("apply", "-f", filepath.Join(dir, "camera.json"), "--publish", "--dry-run")
	require.NoError(t, err, out)

	// An edit: the draft changes (shown as a diff); without --publish the
	// live version stays and the output says so next time.
	write("camera.json", strings.Replace(crossSell, "Complete your kit", "Finish your kit", 1))
	out, err = cmd("apply", "-f", dir)
	require.NoError(t, err, out)
	require.Contains(t, out, "~ camera-accessories")
	require.Contains(t, out, `-      "subject": "Complete your kit",`)
	require.Contains(t, out, `+      "subject": "Finish your kit",`)
	out, err = cmd("apply", "-f", dir, "--dry-run")
	require.NoError(t, err, out)
	require.Contains(t, out, "the published version v1 differs: --publish publishes the file")
	out, err = cmd("apply", "-f", dir, "--publish")
	require.NoError(t, err, out)
	require.Contains(t, out, "published v2")

	// One invalid file: nothing is applied, the field is named.
	write("upsell.json", strings.Replace(upsell, `"at": "0d"`, `"at": "soon"`, 1))
	write("camera.json", crossSell)
	out, err = cmd("apply", "-f", dir, "--publish")
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, out, "upsell.json: steps[0].at:")
	require.ErrorContains(t, err, "nothing was applied")
	got, err = cmd("get", "camera-accessories")
	require.NoError(t, err)
	require.Contains(t, got, "Finish your kit", "the valid file was not applied either")
}

// What only the server can check (a template field, a destination, a
// coupon pool) stops the whole directory too, before anything changes;
// destinations and coupon pools live beside the campaigns, secrets in the
// environment; the publish warnings are printed.
func TestCampaignsApplyIsAllOrNothing(t *testing.T) {
	url, key, b := liftAPI(t)
	t.Setenv("LIFT_API_URL", url)
	t.Setenv("LIFT_API_KEY", key)
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runCampaigns(context.Background(), args, &out, &out)
		return out.String(), err
	}
	flow := `{"id":"sales-alert","name":"Sales alert","kind":"upsell","trigger":{"event":"usage"},"exit_on":["upgrade"],
	  "steps":[{"id":"tell","webhook":{"destination":"crm"}},
	           {"id":"offer","at":"1d","subject":"Get {{.First.Name}} for less","template":"offer","incentive":{"percent_off":10,"pool":"spring"},
	            "recommend":{"strategy":"auto","optional":true}}]}`
	write("a-camera.json", crossSell)
	write("b-flow.json", flow)
	out, err := cmd("apply", "-f", dir, "--publish")
	require.Error(t, err)
	require.Contains(t, err.Error(), "b-flow.json: steps[0].webhook.destination", "%s", out)
	require.Contains(t, err.Error(), "nothing was applied")
	st, _ := b.Store.GetCampaign(context.Background(), "camera-accessories")
	require.Nil(t, st, "the valid file before it was not applied either")

	write("crm.destination.json", `{"id":"crm","url":"https://crm.example/hook","secret":"inline"}`)
	out, err = cmd("apply", "-f", dir, "--publish")
	require.ErrorContains(t, err, "invalid: nothing was applied")
	require.Contains(t, out, "a secret is never kept in a file")
	write("crm.destination.json", `{"id":"crm","url":"https://crm.example/hook","secret_env":"CRM_SECRET"}`)
	t.Setenv("CRM_SECRET", strings.Repeat("s", 32))
	write("spring.coupons.json", `{"id":"spring","pattern":"SPRING-######","count":50}`)
	write("c-typo.json", strings.Replace(upsell, "You are growing", "{{.Customer.Nmae}}, you are growing", 1))
	out, err = cmd("apply", "-f", dir, "--publish")
	require.Error(t, err)
	require.Contains(t, err.Error(), "c-typo.json: steps[0].subject", "%s", out)
	_, gerr := b.Store.GetDestination(context.Background(), "crm")
	require.Error(t, gerr, "the destination was not registered either")

	require.NoError(t, os.Remove(filepath.Join(dir, "c-typo.json")))
	out, err = cmd("apply", "-f", dir, "--publish")
	require.NoError(t, err, out)
	require.Contains(t, out, "+ destination crm: new")
	require.Contains(t, out, "+ coupon pool spring", out)
	require.Contains(t, out, "sales-alert: published v1")
	require.Contains(t, out, "warning: ", "the publish warnings are printed")
	require.Contains(t, out, "in one transaction")
	out, err = cmd("apply", "-f", dir, "--publish")
	require.NoError(t, err, out)
	require.Contains(t, out, "4 files, nothing to change", "the pool holds its 50 unused codes already")

	// get writes only what a step has: no empty at, subject or template
	// on a webhook step.
	got, err := cmd("get", "sales-alert")
	require.NoError(t, err)
	require.NotContains(t, got, `"at": ""`)
	require.NotContains(t, got, `"template": ""`)
}
