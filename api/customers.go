package api

import (
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// CustomerRequest is the body of PUT /v1/customers/{id}. The consent_*
// fields describe a change of consent and are kept as its record.
type CustomerRequest struct {
	Email                 string              `json:"email"`
	Name                  string              `json:"name"`
	Timezone              string              `json:"timezone"`
	Locale                string              `json:"locale"`
	Country               string              `json:"country"`
	MarketingConsent      *bool               `json:"marketing_consent"`
	ConsentBasis          domain.ConsentBasis `json:"consent_basis"`
	ConsentSource         string              `json:"consent_source"`
	ConsentWordingVersion string              `json:"consent_wording_version"`
	ConsentIP             string              `json:"consent_ip"`
	ConsentUserAgent      string              `json:"consent_user_agent"`
	Tier                  string              `json:"tier"`
}

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
	UpdatedAt        time.Time           `json:"updated_at"`
}

func customerResponse(c *models.Customer) CustomerResponse {
	return CustomerResponse{
		ID: c.ID, Email: c.Email, Name: c.Name, Timezone: c.Timezone, Locale: c.Locale, Country: c.Country,
		MarketingConsent: c.Consent, ConsentBasis: c.ConsentBasis, ConsentAt: c.ConsentAt, ConsentSource: c.ConsentSource,
		Tier: c.Tier, UpdatedAt: c.UpdatedAt,
	}
}

// plainEmail checks that s is a bare address like ada@example.com (no
// display name, no surrounding space) and returns it.
func plainEmail(field, s string) (string, error) {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != strings.TrimSpace(s) {
		return "", errs.Field(errs.Invalid, field, "must be a plain email address like ada@example.com")
	}
	return addr.Address, nil
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
		checkText("consent_source", req.ConsentSource, 200), checkText("tier", req.Tier, 64),
		checkText("consent_wording_version", req.ConsentWordingVersion, 64),
		checkText("consent_user_agent", req.ConsentUserAgent, 500)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	address, err := plainEmail("email", req.Email)
	if err != nil {
		writeError(c, h.Logger, err)
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
	if err := validateConsent(&req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	ctx := c.Request.Context()
	cust := &models.Customer{
		ID: id, Email: address, Name: strings.TrimSpace(req.Name), Timezone: req.Timezone,
		Locale: req.Locale, Country: req.Country, Consent: *req.MarketingConsent, Tier: req.Tier,
	}
	if cust.Consent {
		cust.ConsentBasis = req.ConsentBasis
	}
	// Consent is a record: a change is kept with its details; an unchanged
	// consent keeps when and where it was given.
	prev, err := h.Store.GetCustomer(ctx, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		writeError(c, h.Logger, err)
		return
	}
	var change *models.ConsentRecord
	if err == nil && prev.Consent == cust.Consent && prev.ConsentBasis == cust.ConsentBasis {
		cust.ConsentAt, cust.ConsentSource = prev.ConsentAt, prev.ConsentSource
	} else {
		now := h.Now().UTC()
		source := req.ConsentSource
		if source == "" {
			source = "api"
		}
		cust.ConsentAt, cust.ConsentSource = &now, source
		change = &models.ConsentRecord{Granted: cust.Consent, Basis: cust.ConsentBasis, Source: source,
			WordingVersion: req.ConsentWordingVersion, IP: req.ConsentIP, UserAgent: req.ConsentUserAgent, At: now}
	}
	if err := h.Store.SaveCustomer(ctx, cust, change); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	// Withdrawing consent ends every running sequence at once.
	if prev != nil && prev.Consent && !cust.Consent {
		if _, err := h.signalRunning(ctx, id, workflows.SignalConsentWithdrawn, workflows.ExitSignal{}, nil); err != nil {
			writeError(c, h.Logger, err)
			return
		}
	}
	saved, err := h.Store.GetCustomer(ctx, id)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, customerResponse(saved))
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

func validateConsent(req *CustomerRequest) error {
	if req.Country != "" && !countryRE.MatchString(req.Country) {
		return errs.Field(errs.Invalid, "country", "must be an ISO 3166-1 alpha-2 code like DE")
	}
	if req.ConsentIP != "" && net.ParseIP(req.ConsentIP) == nil {
		return errs.Field(errs.Invalid, "consent_ip", "must be an IP address")
	}
	switch {
	case !*req.MarketingConsent && req.ConsentBasis != "":
		return errs.Field(errs.Invalid, "consent_basis", "only goes with marketing_consent: true")
	case *req.MarketingConsent && req.ConsentBasis == "":
		req.ConsentBasis = domain.BasisExplicit
	case *req.MarketingConsent && req.ConsentBasis != domain.BasisExplicit && req.ConsentBasis != domain.BasisSoftOptIn:
		return errs.Field(errs.Invalid, "consent_basis", "must be %q or %q", domain.BasisExplicit, domain.BasisSoftOptIn)
	}
	return nil
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
