package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// CampaignResponse is a campaign with its current draft.
type CampaignResponse struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	Kind          string              `json:"kind"`
	Status        string              `json:"status"`
	LatestVersion int                 `json:"latest_version"`
	Definition    campaign.Definition `json:"definition"`
	UpdatedAt     time.Time           `json:"updated_at"`
}

// PublishResponse answers POST /v1/campaigns/{id}/publish.
type PublishResponse struct {
	CampaignID  string    `json:"campaign_id"`
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
}

func campaignResponse(c *models.Campaign) CampaignResponse {
	var d campaign.Definition
	_ = json.Unmarshal(c.Definition, &d)
	return CampaignResponse{
		ID: c.ID, Name: c.Name, Kind: c.Kind, Status: c.Status, LatestVersion: c.LatestVersion,
		Definition: d, UpdatedAt: c.UpdatedAt,
	}
}

// readDefinition reads and validates a campaign definition body.
func readDefinition(c *gin.Context) (*campaign.Definition, []byte, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, nil, decodeError(err)
	}
	def, err := campaign.Parse(body)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Malformed && e.Err != nil {
			return nil, nil, decodeError(e.Err)
		}
		return nil, nil, err
	}
	for i, st := range def.Steps {
		for _, f := range []struct{ name, text string }{{"subject", st.Subject}, {"heading", st.Heading}, {"body", st.Body}} {
			if err := email.Check(f.text, st.Incentive != nil); err != nil {
				return nil, nil, errs.Field(errs.Invalid, fmt.Sprintf("steps[%d].%s", i, f.name), "%v", err)
			}
		}
	}
	canonical, err := json.Marshal(def)
	return def, canonical, err
}

func (h *handlers) createCampaign(c *gin.Context) {
	def, raw, err := readDefinition(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: def.Kind, TriggerEvent: def.Trigger.Event, Definition: raw}
	if err := h.Store.CreateCampaign(c.Request.Context(), m); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respondCampaign(c, http.StatusCreated, def.ID)
}

// putCampaign creates or replaces the draft; published versions, and the
// sequences running on them, are untouched.
func (h *handlers) putCampaign(c *gin.Context) {
	def, raw, err := readDefinition(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if def.ID != c.Param("id") {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "id", "must match the ID in the path"))
		return
	}
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: def.Kind, TriggerEvent: def.Trigger.Event, Definition: raw, Status: models.CampaignDraft}
	if err := h.Store.SaveCampaignDraft(c.Request.Context(), m); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	h.respondCampaign(c, http.StatusOK, def.ID)
}

func (h *handlers) respondCampaign(c *gin.Context, status int, id string) {
	m, err := h.Store.GetCampaign(c.Request.Context(), id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(status, campaignResponse(m))
}

func (h *handlers) getCampaign(c *gin.Context) {
	h.respondCampaign(c, http.StatusOK, c.Param("id"))
}

func (h *handlers) listCampaigns(c *gin.Context) {
	cs, err := h.Store.ListCampaigns(c.Request.Context())
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

func (h *handlers) publishCampaign(c *gin.Context) {
	v, err := h.Store.PublishCampaign(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, PublishResponse{CampaignID: v.CampaignID, Version: v.Version, PublishedAt: v.PublishedAt})
}
