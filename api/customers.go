package api

import (
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// CustomerRequest is the body of PUT /v1/customers/{id}.
type CustomerRequest struct {
	Email            string `json:"email"`
	Name             string `json:"name"`
	Timezone         string `json:"timezone"`
	Locale           string `json:"locale"`
	MarketingConsent *bool  `json:"marketing_consent"`
	ConsentSource    string `json:"consent_source"`
	Tier             string `json:"tier"`
}

// CustomerResponse is a customer as the API shows it.
type CustomerResponse struct {
	ID               string     `json:"id"`
	Email            string     `json:"email"`
	Name             string     `json:"name,omitempty"`
	Timezone         string     `json:"timezone"`
	Locale           string     `json:"locale"`
	MarketingConsent bool       `json:"marketing_consent"`
	ConsentAt        *time.Time `json:"consent_at,omitempty"`
	ConsentSource    string     `json:"consent_source,omitempty"`
	Tier             string     `json:"tier,omitempty"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func customerResponse(c *models.Customer) CustomerResponse {
	return CustomerResponse{
		ID: c.ID, Email: c.Email, Name: c.Name, Timezone: c.Timezone, Locale: c.Locale,
		MarketingConsent: c.Consent, ConsentAt: c.ConsentAt, ConsentSource: c.ConsentSource,
		Tier: c.Tier, UpdatedAt: c.UpdatedAt,
	}
}

func validID(field, id string) error {
	if strings.TrimSpace(id) == "" || len(id) > 128 || strings.ContainsAny(id, "\x00\r\n") {
		return errs.Field(errs.Invalid, field, "must be 1-128 characters without control characters")
	}
	return nil
}

func (h *handlers) putCustomer(c *gin.Context) {
	id := c.Param("id")
	var req CustomerRequest
	if err := firstErr(validID("id", id), bind(c, &req)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if err := firstErr(checkText("email", req.Email, 320), checkText("name", req.Name, 200),
		checkText("timezone", req.Timezone, 64), checkText("locale", req.Locale, 35),
		checkText("consent_source", req.ConsentSource, 200), checkText("tier", req.Tier, 64)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	addr, err := mail.ParseAddress(req.Email)
	if err != nil || addr.Address != strings.TrimSpace(req.Email) {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "email", "must be a plain email address like ada@example.com"))
		return
	}
	if req.Timezone == "" {
		req.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(req.Timezone); err != nil || req.Timezone == "Local" {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "timezone", "must be an IANA time zone like Europe/Paris"))
		return
	}
	if req.Locale == "" {
		req.Locale = "en"
	}
	if _, err := language.Parse(req.Locale); err != nil {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "locale", "must be a BCP 47 tag like en or de-CH"))
		return
	}
	if req.MarketingConsent == nil {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "marketing_consent", "is required: true or false"))
		return
	}
	ctx := c.Request.Context()
	cust := &models.Customer{
		ID: id, Email: addr.Address, Name: strings.TrimSpace(req.Name), Timezone: req.Timezone,
		Locale: req.Locale, Consent: *req.MarketingConsent, Tier: req.Tier,
	}
	// Consent is a record: keep when and where it was given while it stands.
	prev, err := h.Store.GetCustomer(ctx, id)
	switch {
	case err == nil && prev.Consent == cust.Consent:
		cust.ConsentAt, cust.ConsentSource = prev.ConsentAt, prev.ConsentSource
	case err != nil && !errs.Is(err, errs.NotFound):
		writeError(c, h.Logger, err)
		return
	default:
		now := h.Now().UTC()
		cust.ConsentAt, cust.ConsentSource = &now, req.ConsentSource
		if cust.ConsentSource == "" {
			cust.ConsentSource = "api"
		}
	}
	if err := h.Store.UpsertCustomer(ctx, cust); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	saved, err := h.Store.GetCustomer(ctx, id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, customerResponse(saved))
}

func (h *handlers) getCustomer(c *gin.Context) {
	cust, err := h.Store.GetCustomer(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, customerResponse(cust))
}

func firstErr(errors ...error) error {
	for _, err := range errors {
		if err != nil {
			return err
		}
	}
	return nil
}
