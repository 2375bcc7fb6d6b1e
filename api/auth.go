package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
)

// authenticate requires "Authorization: Bearer <key>" with an active key
// (stored hashed, compared in constant time), then that the key's scopes
// allow the route (routeScopes). A /v1 route without a scope is refused.
func (h *handlers) authenticate(c *gin.Context) {
	scheme, key, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="lift"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "missing API key: send Authorization: Bearer <key>"))
		return
	}
	p, err := h.App.Authenticate(c.Request.Context(), strings.TrimSpace(key))
	if errs.Is(err, errs.Unauthorized) {
		c.Header("WWW-Authenticate", `Bearer realm="lift", error="invalid_token"`)
	}
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	scope, known := routeScopes[c.Request.Method+" "+c.FullPath()]
	if !known || !p.Has(scope) {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "this key (%s) may not do this: it needs the %s scope", p.KeyID, scopeName(scope, known)))
		return
	}
	c.Set(ctxKeyPrincipal, p)
	c.Next()
}

const ctxKeyPrincipal = "lift.principal"

// principal is the key a request was authenticated with.
func principal(c *gin.Context) *app.Principal {
	p, _ := c.Get(ctxKeyPrincipal)
	pr, _ := p.(*app.Principal)
	return pr
}

func scopeName(s domain.KeyScope, known bool) string {
	if !known {
		return "admin" // a route nobody gave a scope to is nobody's
	}
	return string(s)
}

// limitBody caps every request body; a larger one is answered with 413,
// before it is read when its declared size says so. A batch of events may
// be 16 times the limit; SendGrid's webhook has its own.
func (h *handlers) limitBody(c *gin.Context) {
	limit := h.MaxBodyBytes
	switch c.FullPath() {
	case "/v1/events:batch":
		limit *= 16
	case "/v1/webhooks/sendgrid":
		limit = h.Webhook.MaxBytes
	case "/v1/imports/:kind":
		limit = h.ImportMaxBytes
	case "/segment/v1/batch", "/v1/batch":
		limit = segmentMaxBatch
	default:
		if strings.HasPrefix(c.FullPath(), "/segment/v1/") {
			limit = segmentMaxCall
		}
	}
	if c.Request.ContentLength > limit {
		writeError(c, h.Logger, errs.E(errs.TooLarge, "request body is larger than %d bytes", limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}
