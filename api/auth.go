package api

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// authenticate requires "Authorization: Bearer <key>" with a known key.
// Keys are stored hashed and compared in constant time (models.CheckAPIKeyHash).
func (h *handlers) authenticate(c *gin.Context) {
	scheme, key, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="lift"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "missing API key: send Authorization: Bearer <key>"))
		return
	}
	hash := models.HashAPIKey(strings.TrimSpace(key))
	valid, err := h.Store.CheckAPIKeyHash(c.Request.Context(), hash)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if !valid {
		c.Header("WWW-Authenticate", `Bearer realm="lift", error="invalid_token"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "invalid API key"))
		return
	}
	// Idempotency keys are scoped to the API key that used them.
	c.Set(ctxKeyScope, hex.EncodeToString(hash))
	c.Next()
}

const ctxKeyScope = "lift.api_key_hash"

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
	}
	if c.Request.ContentLength > limit {
		writeError(c, h.Logger, errs.E(errs.TooLarge, "request body is larger than %d bytes", limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}
