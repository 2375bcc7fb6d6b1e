package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/models"
)

// CampaignResponse is a campaign with its current draft.
type CampaignResponse struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Kind          string                `json:"kind"`
	Status        domain.CampaignStatus `json:"status"`
	LatestVersion int                   `json:"latest_version"`
	Definition    campaign.Definition   `json:"definition"`
	UpdatedAt     time.Time             `json:"updated_at"`
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
	if err := checkContent(def); err != nil {
		return nil, nil, err
	}
	canonical, err := json.Marshal(def)
	return def, canonical, err
}

// checkContent executes every subject, heading and body, in every
// language, against sample data, then test-renders each whole email, so a
// bad field fails on save and on publish, not at send.
func checkContent(def *campaign.Definition) error {
	for i, st := range def.Steps {
		if err := checkLanguages(fmt.Sprintf("steps[%d]", i), st.Translations); err != nil {
			return err
		}
		if err := checkStep(st, fmt.Sprintf("steps[%d].", i)); err != nil {
			return err
		}
	}
	if def.Experiment == nil {
		return nil
	}
	// Every variant's emails too, as each variant sends them.
	for k, v := range def.Experiment.Variants {
		for _, id := range slices.Sorted(maps.Keys(v.Steps)) {
			if err := checkLanguages(fmt.Sprintf("experiment.variants[%d].steps.%s", k, id), v.Steps[id].Translations); err != nil {
				return err
			}
			st, _ := def.StepByID(id)
			if err := checkStep(def.ForVariant(st, v.ID), fmt.Sprintf("experiment.variants[%d].steps.%s.", k, id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLanguages refuses translations into a language Lift ships no
// layout for; field prefixes the field named.
func checkLanguages(field string, translations map[string]campaign.StepText) error {
	for _, lang := range slices.Sorted(maps.Keys(translations)) {
		if !slices.Contains(email.Languages(), lang) {
			return errs.Field(errs.Invalid, field+".translations."+lang,
				"no layout in %q; shipped: %s", lang, strings.Join(email.Languages(), ", "))
		}
	}
	return nil
}

// checkStep checks one step's copy in its base language and each
// translation; field prefixes the field names in errors.
func checkStep(st campaign.Step, field string) error {
	for _, lang := range append([]string{""}, slices.Sorted(maps.Keys(st.Translations))...) {
		prefix, text := "", st
		if lang != "" {
			prefix, text = "translations."+lang+".", st.Localized(lang)
		}
		for _, f := range []struct{ name, text string }{{"subject", text.Subject}, {"heading", text.Heading}, {"body", text.Body}} {
			if err := email.Check(f.text, st.Incentive != nil); err != nil {
				return errs.Field(errs.Invalid, field+prefix+f.name, "%v", err)
			}
		}
		// Then the whole email, every block, in the language's layout.
		r, err := sampleRenderer()
		if err != nil {
			return errs.Wrap(errs.Internal, err, "email templates")
		}
		locale := cmp.Or(lang, "en")
		if err := r.TestRender(st.Template, text.Subject, text.Heading, text.Body, locale, st.Incentive != nil); err != nil {
			return errs.Field(errs.Invalid, field+prefix+renderedField(err), "test render (%s): %v", locale, err)
		}
	}
	return nil
}

// sampleRenderer compiles the email templates once for the save-time
// test render.
var sampleRenderer = sync.OnceValues(email.NewRenderer)

// renderedField names the part of a step a test-render error is about.
func renderedField(err error) string {
	for _, f := range []string{"subject", "heading", "body"} {
		if strings.HasPrefix(err.Error(), f) {
			return f
		}
	}
	return "template"
}

func (h *handlers) createCampaign(c *gin.Context) {
	def, raw, err := readDefinition(c)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: string(def.Kind), TriggerEvent: def.Trigger.Event, Definition: raw}
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
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: string(def.Kind), TriggerEvent: def.Trigger.Event, Definition: raw, Status: domain.CampaignDraft}
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
	// The draft passed these checks when it was saved; run them again so
	// a draft saved by an older Lift cannot go live unchecked.
	def, err := h.draft(c)
	if err == nil {
		err = checkContent(def)
	}
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	v, err := h.Store.PublishCampaign(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, PublishResponse{CampaignID: v.CampaignID, Version: v.Version, PublishedAt: v.PublishedAt})
}

// Previewer renders a step for a customer without sending it;
// activities.Previewer is the real one.
type Previewer interface {
	Preview(ctx context.Context, def *campaign.Definition, in activities.PreviewInput) (activities.PreviewResult, error)
	TestSend(ctx context.Context, def *campaign.Definition, in activities.TestSendInput) (activities.TestSendResult, error)
}

// PreviewRequest is the body of POST /v1/campaigns/{id}/preview.
type PreviewRequest struct {
	CustomerID  string   `json:"customer_id"`
	Step        string   `json:"step"`
	Variant     string   `json:"variant"`
	TriggerSKUs []string `json:"trigger_skus"`
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
}

// previewCampaign renders a step of the campaign's current draft for a
// customer, with the reason each recommendation was chosen. Nothing is
// sent or stored.
func (h *handlers) previewCampaign(c *gin.Context) {
	var req PreviewRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	def, err := h.previewable(c, req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	res, err := h.Previewer.Preview(c.Request.Context(), def, req.input())
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
}

// testSendCampaign renders a step for a customer as the preview does and
// sends it to the address in "to" through the configured mailer, marked
// as a test. It is not a campaign message and counts nowhere.
func (h *handlers) testSendCampaign(c *gin.Context) {
	var req TestSendRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	to, err := plainEmail("to", req.To)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	def, err := h.previewable(c, req.PreviewRequest)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	res, err := h.Previewer.TestSend(c.Request.Context(), def, activities.TestSendInput{PreviewInput: req.input(), To: to})
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, TestSendResponse{
		To: to, Subject: res.Subject, Provider: res.Provider, ProviderMessageID: res.ProviderMessageID,
		Recommendations: previewResponse(res.Preview).Recommendations,
	})
}

func (r PreviewRequest) input() activities.PreviewInput {
	return activities.PreviewInput{StepID: r.Step, CustomerID: r.CustomerID, Variant: r.Variant, TriggerSKUs: r.TriggerSKUs}
}

// previewable checks a preview request and loads the campaign's draft.
func (h *handlers) previewable(c *gin.Context, req PreviewRequest) (*campaign.Definition, error) {
	if err := firstErr(validID("customer_id", req.CustomerID), validID("step", req.Step)); err != nil {
		return nil, err
	}
	if h.Previewer == nil {
		return nil, errs.E(errs.Unavailable, "previews are not available in this process")
	}
	return h.draft(c)
}

// draft loads the current draft of the campaign named in the path.
func (h *handlers) draft(c *gin.Context) (*campaign.Definition, error) {
	m, err := h.Store.GetCampaign(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	var def campaign.Definition
	if err := json.Unmarshal(m.Definition, &def); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "campaign %s", m.ID)
	}
	return &def, nil
}

func previewResponse(res activities.PreviewResult) PreviewResponse {
	picks := res.Recs.Picks
	if picks == nil {
		picks = []recs.Pick{}
	}
	return PreviewResponse{
		Subject: res.Email.Subject, Preheader: res.Email.Preheader, HTML: res.Email.HTML, Text: res.Email.Text,
		Headers: res.Email.Headers, Recommendations: picks, Strategy: res.Recs.Strategy,
		RecommendNote: res.Recs.Note, Skipped: res.Skipped,
	}
}
