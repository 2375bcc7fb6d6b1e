package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/domain"
)

// KeyRequest is the body of POST /v1/api-keys.
type KeyRequest struct {
	Name   string            `json:"name"`
	Scopes []domain.KeyScope `json:"scopes"`
}

// createKey makes a key; the answer carries its secret, this once.
func (h *handlers) createKey(c *gin.Context) {
	var req KeyRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	k, err := h.App.CreateKey(c.Request.Context(), req.Name, req.Scopes)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.Set(ctxKeyAuditSubject, k.ID)
	// The answer holds the secret, which is never stored: it is not kept
	// for an Idempotency-Key replay (a retry makes another key).
	c.Set(ctxKeyNotReplayable, true)
	c.JSON(http.StatusCreated, k)
}

func (h *handlers) listKeys(c *gin.Context) {
	ks, err := h.App.Keys(c.Request.Context())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": ks})
}

// revokeKey stops a key at once.
func (h *handlers) revokeKey(c *gin.Context) {
	if err := h.App.RevokeKey(c.Request.Context(), c.Param("id")); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.Status(http.StatusNoContent)
}
