package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/domain"
)

// TestAuditLogRecordsReadsOfPersonalDataAndAdminActions: who read whose
// data, and who did what, with IDs only; it outlives erasure.
func TestAuditLogRecordsReadsOfPersonalDataAndAdminActions(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		backend := b.newKey(t, "backend", domain.KeyScopeIngest)
		st, _ := b.doWith(t, "GET", "/v1/customers/ada", "", "Bearer "+backend)
		require.Equal(t, 200, st)
		st, _ = b.do(t, "POST", "/v1/campaigns/camera-accessories/preview", `{"customer_id":"ada","step":"guide"}`)
		require.Equal(t, 200, st)
		st, _ = b.do(t, "GET", "/v1/customers/ada/export", "")
		require.Equal(t, 200, st)
		st, _ = b.do(t, "GET", "/v1/customers/nobody", "")
		require.Equal(t, 404, st, "a failed read reads nothing")
		st, _ = b.do(t, "DELETE", "/v1/customers/ada", "")
		require.Equal(t, 200, st)

		page := b.audit(t, "")
		type entry struct{ KeyID, Action, Subject string }
		var got []entry
		for _, e := range page.Entries {
			got = append(got, entry{e.KeyID, e.Action, e.Subject})
		}
		keys := b.keyIDs(t)
		require.Equal(t, []entry{
			{keys["test"], "customer.erase", "ada"},
			{keys["test"], "customer.export", "ada"},
			{keys["test"], "campaign.preview", "ada"},
			{keys["backend"], "customer.read", "ada"},
			{keys["test"], "key.create", keys["backend"]},
			{keys["test"], "campaign.publish", "camera-accessories"},
		}, got, "newest first; erasure keeps the entries")
		raw, _ := json.Marshal(page)
		require.NotContains(t, string(raw), "ada@example.com", "IDs only, never the data")

		// Filters and pages.
		filtered := b.audit(t, "?subject_id=ada&action=customer.read")
		require.Len(t, filtered.Entries, 1)
		first := b.audit(t, "?limit=2")
		require.Len(t, first.Entries, 2)
		require.NotZero(t, first.NextBefore)
		rest := b.audit(t, fmt.Sprintf("?limit=10&before=%d", first.NextBefore))
		require.Len(t, rest.Entries, 4)
		st, body := b.do(t, "GET", "/v1/audit-log?from=yesterday", "")
		requireError(t, st, body, 422, "invalid", "from")
		st, _ = b.doWith(t, "GET", "/v1/audit-log", "", "Bearer "+backend)
		require.Equal(t, 403, st, "the audit log is an admin's")
	})
}

type auditPage struct {
	Entries []struct {
		KeyID   string `json:"key_id"`
		Action  string `json:"action"`
		Subject string `json:"subject_id"`
	} `json:"entries"`
	NextBefore uint `json:"next_before"`
}

func (b *bundle) audit(t *testing.T, query string) auditPage {
	t.Helper()
	st, body := b.do(t, "GET", "/v1/audit-log"+query, "")
	require.Equal(t, 200, st, "%v", body)
	var p auditPage
	raw, _ := json.Marshal(body)
	require.NoError(t, json.Unmarshal(raw, &p))
	return p
}

// keyIDs maps key names to their IDs.
func (b *bundle) keyIDs(t *testing.T) map[string]string {
	t.Helper()
	st, body := b.do(t, "GET", "/v1/api-keys", "")
	require.Equal(t, 200, st)
	out := map[string]string{}
	for _, k := range body["api_keys"].([]any) {
		k := k.(map[string]any)
		out[k["name"].(string)] = k["id"].(string)
	}
	require.True(t, strings.HasPrefix(out["test"], "key_"))
	return out
}
