package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
)

// CustomerRequest is the body of PUT /v1/customers/{id}.
type CustomerRequest = app.CustomerInput

// CustomerResponse is a customer as the API shows it.
type CustomerResponse struct {
	ID               string              `json:"id"`
	Email            string              `json:"email"`
	Name             string              `json:"name,omitempty"`
	Timezone         string              `json:"timezone"`
	Locale           string              `json:"locale"`
	Country          string              `json:"country,omitempty"`
	MarketingConsent bool                `json:"marketing_consent"`
	ConsentBasis     domain.ConsentBasis `json:"consent_basis,omitempty"`
	ConsentAt        *time.Time          `json:"consent_at,omitempty"`
	ConsentSource    string              `json:"consent_source,omitempty"`
	Tier             string              `json:"tier,omitempty"`
	Phone            string              `json:"phone,omitempty"`
	SMSConsent       bool                `json:"sms_consent"`
	SMSConsentAt     *time.Time          `json:"sms_consent_at,omitempty"`
	UpdatedAt        time.Time           `json:"updated_at"`
}

func customerResponse(c *models.Customer) CustomerResponse {
	return CustomerResponse{
		ID: c.ID, Email: c.Email, Name: c.Name, Timezone: c.Timezone, Locale: c.Locale, Country: c.Country,
		MarketingConsent: c.Consent, ConsentBasis: c.ConsentBasis, ConsentAt: c.ConsentAt, ConsentSource: c.ConsentSource,
		Tier: c.Tier, Phone: c.Phone, SMSConsent: c.SMSConsent, SMSConsentAt: c.SMSConsentAt, UpdatedAt: c.UpdatedAt,
	}
}

func (h *handlers) putCustomer(c *gin.Context) {
	var req CustomerRequest
	if err := firstErr(app.CheckID("id", c.Param("id")), bind(c, &req)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	saved, err := h.App.SaveCustomer(c.Request.Context(), c.Param("id"), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, customerResponse(saved))
}

func (h *handlers) getCustomer(c *gin.Context) {
	cust, err := h.App.Customer(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, customerResponse(cust))
}
