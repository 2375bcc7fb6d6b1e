package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
)

// authenticate requires "Authorization: Bearer <key>" with a known key.
// Keys are stored hashed and compared in constant time (models.CheckAPIKey).
func (h *handlers) authenticate(c *gin.Context) {
	scheme, key, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="lift"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "missing API key: send Authorization: Bearer <key>"))
		return
	}
	valid, err := h.Store.CheckAPIKey(c.Request.Context(), strings.TrimSpace(key))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if !valid {
		c.Header("WWW-Authenticate", `Bearer realm="lift", error="invalid_token"`)
		writeError(c, h.Logger, errs.E(errs.Unauthorized, "invalid API key"))
		return
	}
	c.Next()
}

// limitBody caps every request body; a larger one is answered with 413.
func (h *handlers) limitBody(c *gin.Context) {
	if c.Request.ContentLength > h.MaxBodyBytes {
		writeError(c, h.Logger, errs.E(errs.TooLarge, "request body is larger than %d bytes", h.MaxBodyBytes))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.MaxBodyBytes)
	c.Next()
}
