package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
)

// JourneyResponse is one enrollment as GET /v1/customers/{id}/journeys
// shows it.
type JourneyResponse = app.Journey

func (h *handlers) listJourneys(c *gin.Context) {
	id := c.Param("id")
	js, err := h.App.Journeys(c.Request.Context(), id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"customer_id": id, "journeys": js})
}

func (h *handlers) pauseJourney(c *gin.Context) {
	about(c, c.Param("id"))
	h.respond(c, http.StatusOK)(h.App.PauseJourney(c.Request.Context(), c.Param("id"), c.Param("campaign")))
}

func (h *handlers) resumeJourney(c *gin.Context) {
	about(c, c.Param("id"))
	h.respond(c, http.StatusOK)(h.App.ResumeJourney(c.Request.Context(), c.Param("id"), c.Param("campaign")))
}
