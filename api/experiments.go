package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
)

// The experiment endpoints' bodies and answers; see package app.
type (
	// StartExperimentRequest is the body of POST /v1/campaigns/{id}/experiments.
	StartExperimentRequest = app.ExperimentSettings
	// ConcludeRequest is the body of POST .../experiments/{exp}/conclude.
	ConcludeRequest = app.Conclusion
	// ResumeRequest is the body of POST .../experiments/{exp}/resume.
	ResumeRequest = app.Resumption
	// ExperimentResponse is an experiment's state and, from GET of one
	// experiment, its analysis and guardrails now.
	ExperimentResponse = app.ExperimentView
)

func (h *handlers) startExperiment(c *gin.Context) {
	var req StartExperimentRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respond(c, http.StatusCreated)(h.App.StartExperiment(c.Request.Context(), c.Param("id"), req))
}

func (h *handlers) listExperiments(c *gin.Context) {
	es, err := h.App.Experiments(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"experiments": es})
}

func (h *handlers) getExperiment(c *gin.Context) {
	h.respond(c, http.StatusOK)(h.App.Experiment(c.Request.Context(), c.Param("id"), c.Param("exp")))
}

func (h *handlers) stopExperiment(c *gin.Context) {
	h.respond(c, http.StatusOK)(h.App.StopExperiment(c.Request.Context(), c.Param("id"), c.Param("exp")))
}

// concludeExperiment promotes a winner; see app.ConcludeExperiment.
func (h *handlers) concludeExperiment(c *gin.Context) {
	var req ConcludeRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respond(c, http.StatusOK)(h.App.ConcludeExperiment(c.Request.Context(), c.Param("id"), c.Param("exp"), req))
}

func (h *handlers) resumeExperimentVariant(c *gin.Context) {
	var req ResumeRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respond(c, http.StatusOK)(h.App.ResumeVariant(c.Request.Context(), c.Param("id"), c.Param("exp"), req))
}

// respond answers with v as JSON and the status, or with the error.
func (h *handlers) respond(c *gin.Context, status int) func(v any, err error) {
	return func(v any, err error) {
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		c.JSON(status, v)
	}
}
