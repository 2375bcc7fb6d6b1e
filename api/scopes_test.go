package api_test

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/testdb"
)

// TestEveryRouteHasAScope sends every /v1 route with a key of each scope:
// a key without the route's scope is refused (403) before anything runs,
// a key with it gets through authorization (any answer but 401 or 403),
// and an admin key gets through everywhere.
func TestEveryRouteHasAScope(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	b.seed(t)
	keys := map[domain.KeyScope]string{
		domain.KeyScopeIngest:   b.newKey(t, "ingest", domain.KeyScopeIngest),
		domain.KeyScopeMarketer: b.newKey(t, "marketer", domain.KeyScopeMarketer),
		domain.KeyScopeAdmin:    key,
	}
	param := regexp.MustCompile(`/:(\w+)`)
	seen := 0
	for _, route := range b.h.Routes() {
		if !strings.HasPrefix(route.Path, "/v1/") || route.Path == "/v1/webhooks/sendgrid" {
			continue
		}
		seen++
		pattern := strings.ReplaceAll(route.Path, `\:`, ":") // a literal colon: /v1/events:batch
		need := api.RouteScope(route.Method, pattern)
		require.NotEmpty(t, need, "%s %s has no scope", route.Method, pattern)
		path := param.ReplaceAllString(pattern, "/nobody")
		for scope, k := range keys {
			t.Run(route.Method+" "+route.Path+" as "+string(scope), func(t *testing.T) {
				req := httptest.NewRequest(route.Method, path, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+k)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				b.h.ServeHTTP(rec, req)
				allowed := scope == need || scope == domain.KeyScopeAdmin
				if allowed {
					require.NotContains(t, []int{401, 403}, rec.Code, rec.Body.String())
				} else {
					require.Equal(t, 403, rec.Code, rec.Body.String())
					require.Contains(t, rec.Body.String(), "needs the "+string(need)+" scope")
				}
			})
		}
	}
	require.Greater(t, seen, 30, "every /v1 route was tried")
}

// TestSecurityDocListsEveryRouteUnderItsScope keeps docs/security.md true.
func TestSecurityDocListsEveryRouteUnderItsScope(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/security.md")
	require.NoError(t, err)
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		for _, s := range domain.KeyScopes {
			if strings.HasPrefix(line, "| `"+string(s)+"` |") {
				rows[string(s)] = line
			}
		}
	}
	for route, scope := range api.RouteScopes() {
		require.Contains(t, rows[string(scope)], "`"+route+"`", "docs/security.md lists %s under %s", route, scope)
	}
}
