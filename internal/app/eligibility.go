package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Eligibility decides whether a customer may get a campaign's email now:
// the customer exists, has marketing consent on a lawful basis in their
// country (soft opt-in only where it is one, and only for existing
// customers) and is not suppressed globally or for the campaign. When
// not, the answer carries the sequence's final status and why. The
// customer is returned when they exist.
func (a *App) Eligibility(ctx context.Context, customerID, campaignID string) (workflows.Eligibility, *models.Customer, error) {
	c, err := a.Store.GetCustomer(ctx, customerID)
	if errs.Is(err, errs.NotFound) {
		return workflows.Eligibility{Status: domain.StatusCancelled, Reason: "customer no longer exists"}, nil, nil
	}
	if err != nil {
		return workflows.Eligibility{}, nil, err
	}
	if !c.Consent {
		return workflows.Eligibility{Status: domain.StatusNoConsent, Reason: "no marketing consent"}, c, nil
	}
	if c.ConsentBasis == domain.BasisSoftOptIn {
		if !a.softOptInAllowed(c.Country) {
			return workflows.Eligibility{Status: domain.StatusNoConsent,
				Reason: fmt.Sprintf("soft opt-in is not a lawful basis in %q; explicit consent is needed", c.Country)}, c, nil
		}
		existing, err := a.Store.HasOrders(ctx, c.ID)
		if err != nil {
			return workflows.Eligibility{}, nil, err
		}
		if !existing {
			return workflows.Eligibility{Status: domain.StatusNoConsent, Reason: "soft opt-in covers existing customers only"}, c, nil
		}
	}
	sup, err := a.Store.Suppressed(ctx, c.Email, campaignID)
	if err != nil {
		return workflows.Eligibility{}, nil, err
	}
	if sup != nil {
		return workflows.Eligibility{Status: domain.StatusSuppressed,
			Reason: fmt.Sprintf("address suppressed (%s, %s)", sup.Scope(), sup.Reason)}, c, nil
	}
	return workflows.Eligibility{Eligible: true}, c, nil
}

func (a *App) softOptInAllowed(country string) bool {
	for _, c := range a.Settings.SoftOptIn {
		if c == "*" || (country != "" && strings.EqualFold(c, country)) {
			return true
		}
	}
	return false
}
