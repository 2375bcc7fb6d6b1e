package app

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/workflows"
)

// Unsubscribe suppresses the address (for one campaign or all) and ends
// the customer's running sequences in that scope at once. The unsubscribe
// is credited to the latest email in the scope, for the experiment
// guardrails. Unsubscribing twice, or after the customer was erased, is
// not an error.
func (a *App) Unsubscribe(ctx context.Context, sc unsub.Scope) error {
	cust, err := a.Store.GetCustomer(ctx, sc.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.Store.Suppress(ctx, cust.Email, sc.CampaignID, domain.ReasonUnsubscribe); err != nil {
		return err
	}
	if err := a.Store.MarkLatestMessage(ctx, cust.ID, sc.CampaignID, domain.OutcomeUnsubscribed, a.now()); err != nil {
		return err
	}
	_, err = a.signalRunning(ctx, cust.ID, workflows.SignalUnsubscribe, workflows.ExitSignal{CampaignID: sc.CampaignID}, nil, time.Time{})
	return err
}

// VerifyUnsubscribe reads a signed unsubscribe token; a token that does
// not verify is forbidden.
func (a *App) VerifyUnsubscribe(token string) (unsub.Scope, error) {
	sc, err := a.Signer.Parse(token)
	if err != nil {
		return sc, errs.E(errs.Forbidden, "this unsubscribe link is not valid")
	}
	return sc, nil
}
