package api

import (
	"maps"

	"github.com/lift-hq/lift/internal/domain"
)

// routeScopes says which scope each /v1 route needs (an admin key may do
// everything). A route missing here is refused to every key but none:
// TestEveryRouteHasAScope keeps the table complete.
var routeScopes = map[string]domain.KeyScope{
	// Prometheus: the process's metrics, no customer data.
	"GET /metrics": domain.KeyScopeMetrics,
	// Backend services: events and the data they are about.
	"POST /v1/events":                                  domain.KeyScopeIngest,
	"POST /v1/events:batch":                            domain.KeyScopeIngest,
	"POST /v1/batch":                                   domain.KeyScopeIngest, // Segment's batch, for a host-only setup
	"PUT /v1/customers/:id":                            domain.KeyScopeIngest,
	"GET /v1/customers/:id":                            domain.KeyScopeIngest,
	"PUT /v1/products/:sku":                            domain.KeyScopeIngest,
	"GET /v1/products/:sku":                            domain.KeyScopeIngest,
	"PUT /v1/recommendation-rules":                     domain.KeyScopeIngest,
	"POST /v1/imports/:kind":                           domain.KeyScopeIngest,
	"POST /v1/recommendations/rebuild":                 domain.KeyScopeMarketer,
	"GET /v1/recommendations/rebuild":                  domain.KeyScopeMarketer,
	"POST /v1/recommendations/evaluate":                domain.KeyScopeMarketer,
	"GET /v1/customers/:id/journeys":                   domain.KeyScopeMarketer,
	"POST /v1/customers/:id/journeys/:campaign/pause":  domain.KeyScopeMarketer,
	"POST /v1/customers/:id/journeys/:campaign/resume": domain.KeyScopeMarketer,
	// Marketers: campaigns, experiments, what was sent and what it earned.
	"POST /v1/campaigns":                                  domain.KeyScopeMarketer,
	"GET /v1/campaigns":                                   domain.KeyScopeMarketer,
	"GET /v1/campaigns/:id":                               domain.KeyScopeMarketer,
	"PUT /v1/campaigns/:id":                               domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/publish":                      domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/move-running":                 domain.KeyScopeMarketer,
	"PUT /v1/coupon-pools/:id":                            domain.KeyScopeMarketer,
	"GET /v1/coupon-pools/:id":                            domain.KeyScopeMarketer,
	"GET /v1/destinations/:id":                            domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/pause":                        domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/resume":                       domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/unpublish":                    domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/preview":                      domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/test-send":                    domain.KeyScopeMarketer,
	"GET /v1/campaigns/:id/report":                        domain.KeyScopeMarketer,
	"GET /v1/campaigns/:id/segments/opened-not-converted": domain.KeyScopeMarketer,
	"POST /v1/campaigns:apply":                            domain.KeyScopeMarketer, // with destinations: admin
	"POST /v1/campaigns/:id/experiments":                  domain.KeyScopeMarketer,
	"GET /v1/campaigns/:id/experiments":                   domain.KeyScopeMarketer,
	"GET /v1/campaigns/:id/experiments/:exp":              domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/experiments/:exp/stop":        domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/experiments/:exp/conclude":    domain.KeyScopeMarketer,
	"POST /v1/campaigns/:id/experiments/:exp/resume":      domain.KeyScopeMarketer,
	"GET /v1/messages":                                    domain.KeyScopeMarketer,
	"GET /v1/messages/:id":                                domain.KeyScopeMarketer,
	"GET /v1/messages/:id/html":                           domain.KeyScopeMarketer,
	// Admins: keys, erasure and the data-access record.
	"DELETE /v1/customers/:id":      domain.KeyScopeAdmin,
	"PUT /v1/destinations/:id":      domain.KeyScopeAdmin, // where Lift posts, with the secret it signs with
	"GET /v1/customers/:id/export":  domain.KeyScopeAdmin,
	"POST /v1/api-keys":             domain.KeyScopeAdmin,
	"GET /v1/api-keys":              domain.KeyScopeAdmin,
	"DELETE /v1/api-keys/:id":       domain.KeyScopeAdmin,
	"GET /v1/audit-log":             domain.KeyScopeAdmin,
	"POST /v1/messages/:id/resolve": domain.KeyScopeAdmin,
}

// RouteScope is the scope a route needs ("" for none: refused to all but
// admin keys), by method and route pattern as Gin names it.
func RouteScope(method, pattern string) domain.KeyScope {
	return routeScopes[method+" "+pattern]
}

// RouteScopes is every route's scope, by "METHOD pattern".
func RouteScopes() map[string]domain.KeyScope { return maps.Clone(routeScopes) }
