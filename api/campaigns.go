package api

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
)

// CampaignResponse is a campaign with its current draft.
type CampaignResponse struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Kind          string                `json:"kind"`
	Status        domain.CampaignStatus `json:"status"`
	LatestVersion int                   `json:"latest_version"`
	// Held says why the published version takes no new enrolments now.
	Held       string               `json:"held,omitempty"`
	Definition *campaign.Definition `json:"definition"`
	// PublishedDefinition is the latest published version's (GET of one
	// campaign only), so a tool can tell what publishing would change.
	PublishedDefinition *campaign.Definition `json:"published_definition,omitempty"`
	UpdatedAt           time.Time            `json:"updated_at"`
}

// PublishResponse answers POST /v1/campaigns/{id}/publish.
type PublishResponse struct {
	CampaignID  string    `json:"campaign_id"`
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	// Warnings are what the marketer should know though the version is
	// published: an offer that has ended, compressed anchor times, no
	// postal address.
	Warnings []string `json:"warnings"`
	// MovingRunning is set when running enrolments of older versions
	// are being moved onto this one.
	MovingRunning bool `json:"moving_running_enrolments,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func campaignResponse(c *app.Campaign) CampaignResponse {
	return CampaignResponse{
		ID: c.ID, Name: c.Name, Kind: c.Kind, Status: c.Status, LatestVersion: c.LatestVersion, Held: c.Held,
		Definition: c.Draft, PublishedDefinition: c.Published, UpdatedAt: c.UpdatedAt,
	}
}

// readBody reads a whole request body (the size limit applies).
func readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	return body, nil
}

func (h *handlers) createCampaign(c *gin.Context) {
	body, err := readBody(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respondCampaign(c, http.StatusCreated)(h.App.CreateCampaign(c.Request.Context(), body))
}

// putCampaign creates or replaces the draft; published versions, and the
// sequences running on them, are untouched.
func (h *handlers) putCampaign(c *gin.Context) {
	body, err := readBody(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respondCampaign(c, http.StatusOK)(h.App.SaveDraft(c.Request.Context(), c.Param("id"), body))
}

func (h *handlers) respondCampaign(c *gin.Context, status int) func(*app.Campaign, error) {
	return func(m *app.Campaign, err error) {
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		c.JSON(status, campaignResponse(m))
	}
}

func (h *handlers) getCampaign(c *gin.Context) {
	h.respondCampaign(c, http.StatusOK)(h.App.Campaign(c.Request.Context(), c.Param("id")))
}

func (h *handlers) listCampaigns(c *gin.Context) {
	cs, err := h.App.Campaigns(c.Request.Context())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	out := make([]CampaignResponse, 0, len(cs))
	for i := range cs {
		out = append(out, campaignResponse(&cs[i]))
	}
	c.JSON(http.StatusOK, gin.H{"campaigns": out})
}

// PublishRequest is the optional body of POST /v1/campaigns/{id}/publish.
type PublishRequest struct {
	// MoveRunning moves the running enrolments of older versions onto
	// the new one at their next step boundary.
	MoveRunning bool `json:"move_running"`
}

func (h *handlers) publishCampaign(c *gin.Context) {
	var req PublishRequest
	if c.Request.ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			writeError(c, h.Logger, err)
			return
		}
	}
	v, err := h.App.Publish(c.Request.Context(), c.Param("id"), app.PublishOptions{MoveRunning: req.MoveRunning})
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, PublishResponse{CampaignID: v.CampaignID, Version: v.Version, PublishedAt: v.PublishedAt,
		Warnings: nonNil(v.Warnings), MovingRunning: v.Moving})
}

// PauseRequest is the body of POST /v1/campaigns/{id}/pause.
type PauseRequest struct {
	Reason string `json:"reason"`
}

// campaignState pauses, resumes or unpublishes a whole campaign and
// answers with the campaign.
func (h *handlers) campaignState(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, id := c.Request.Context(), c.Param("id")
		var err error
		switch action {
		case "pause":
			var req PauseRequest
			if err = bind(c, &req); err == nil {
				err = h.App.PauseCampaign(ctx, id, req.Reason)
			}
		case "resume":
			err = h.App.ResumeCampaign(ctx, id)
		default:
			err = h.App.UnpublishCampaign(ctx, id)
		}
		if err != nil {
			writeError(c, h.Logger, err)
			return
		}
		h.record(c, campaignStateAudit[action], id)
		h.respondCampaign(c, http.StatusOK)(h.App.Campaign(ctx, id))
	}
}

var campaignStateAudit = map[string]string{"pause": app.AuditCampaignPause, "resume": app.AuditCampaignResume, "unpublish": app.AuditCampaignUnpublish}

// moveRunning moves the running enrolments of older versions onto the
// latest published version (what publishing with move_running does).
func (h *handlers) moveRunning(c *gin.Context) {
	v, err := h.App.MoveRunningToLatest(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"campaign_id": c.Param("id"), "version": v, "moving_running_enrolments": true})
}

// PreviewRequest is the body of POST /v1/campaigns/{id}/preview.
type PreviewRequest struct {
	CustomerID  string   `json:"customer_id"`
	Step        string   `json:"step"`
	Variant     string   `json:"variant"`
	TriggerSKUs []string `json:"trigger_skus"`
}

func (r PreviewRequest) input() app.PreviewInput {
	return app.PreviewInput{StepID: r.Step, CustomerID: r.CustomerID, Variant: r.Variant, TriggerSKUs: r.TriggerSKUs}
}

// PreviewResponse is what the step would send the customer now.
type PreviewResponse struct {
	Subject         string            `json:"subject"`
	Preheader       string            `json:"preheader,omitempty"`
	HTML            string            `json:"html"`
	Text            string            `json:"text"`
	Headers         map[string]string `json:"headers"`
	Recommendations []recs.Pick       `json:"recommendations"`
	Strategy        campaign.Strategy `json:"strategy,omitempty"`
	RecommendNote   string            `json:"recommend_note,omitempty"`
	Skipped         string            `json:"skipped,omitempty"`
	// Warnings: what a reviewer should know of this email as it would
	// go out (no postal address in the footer).
	Warnings []string `json:"warnings"`
	// Path is the way through a flow's branches to the step.
	Path []string `json:"path,omitempty"`
}

// previewCampaign renders a step of the campaign's current draft for a
// customer; see app.Preview.
func (h *handlers) previewCampaign(c *gin.Context) {
	var req PreviewRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, req.CustomerID)
	res, err := h.App.Preview(c.Request.Context(), c.Param("id"), req.input())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, previewResponse(res))
}

// TestSendRequest is the body of POST /v1/campaigns/{id}/test-send: a
// preview, delivered to a reviewer's address.
type TestSendRequest struct {
	PreviewRequest
	To string `json:"to"`
}

// TestSendResponse says what was sent where.
type TestSendResponse struct {
	To                string      `json:"to"`
	Subject           string      `json:"subject"`
	Provider          string      `json:"provider"`
	ProviderMessageID string      `json:"provider_message_id"`
	Recommendations   []recs.Pick `json:"recommendations"`
	Warnings          []string    `json:"warnings"`
	Path              []string    `json:"path,omitempty"` // through a flow's branches to the step
}

// testSendCampaign sends a preview to a reviewer; see app.TestSend.
func (h *handlers) testSendCampaign(c *gin.Context) {
	var req TestSendRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, req.CustomerID)
	res, err := h.App.TestSend(c.Request.Context(), c.Param("id"), app.TestSendInput{PreviewInput: req.input(), To: req.To, KeyID: principal(c).KeyID})
	if err == nil {
		c.Set(ctxKeyAuditSubject, app.TestSendSubject(res.To)) // the audit entry names the recipient too
	}
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, TestSendResponse{
		To: res.To, Subject: res.Subject, Provider: res.Provider, ProviderMessageID: res.ProviderMessageID,
		Recommendations: previewResponse(res.Preview).Recommendations, Warnings: nonNil(res.Preview.Warnings), Path: res.Preview.Path,
	})
}

func previewResponse(res app.PreviewResult) PreviewResponse {
	picks := res.Recs.Picks
	if picks == nil {
		picks = []recs.Pick{}
	}
	return PreviewResponse{
		Subject: res.Email.Subject, Preheader: res.Email.Preheader, HTML: res.Email.HTML, Text: res.Email.Text,
		Headers: res.Email.Headers, Recommendations: picks, Strategy: res.Recs.Strategy,
		RecommendNote: res.Recs.Note, Skipped: res.Skipped, Warnings: nonNil(res.Warnings), Path: res.Path,
	}
}

// applyBundle validates a bundle of campaigns, destinations and coupon
// pools whole and applies it in one transaction (see app.ApplyBundle).
// Destinations are an admin's to set, as on PUT /v1/destinations.
func (h *handlers) applyBundle(c *gin.Context) {
	var b app.Bundle
	if err := bind(c, &b); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if len(b.Destinations) > 0 && !principal(c).Has(domain.KeyScopeAdmin) {
		writeError(c, h.Logger, errs.Field(errs.Forbidden, "destinations", "registering destinations needs an admin key"))
		return
	}
	res, err := h.App.ApplyBundle(c.Request.Context(), b)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if res.Applied {
		var subjects []string
		for _, ch := range res.Campaigns {
			if ch.Change != "unchanged" {
				subjects = append(subjects, ch.ID)
			}
		}
		for _, d := range res.Destinations {
			if d.Change != "unchanged" {
				subjects = append(subjects, "destination:"+d.ID)
			}
		}
		_ = h.record(c, app.AuditCampaignApply, subjects...)
	}
	c.JSON(http.StatusOK, res)
}
