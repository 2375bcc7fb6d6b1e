// Package activities holds the side effects of a sequence: eligibility,
// recommendations, rendering, sending and recording outcomes. Activities
// are methods on one struct that holds their dependencies.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Activities carries what the activities need. Build it once per worker.
type Activities struct {
	Store         *models.Store
	Mailer        Mailer
	Renderer      *email.Renderer
	FromEmail     string
	FromName      string
	PostalAddress string
	Now           func() time.Time
	// Unsubscribe signs the links and List-Unsubscribe headers; PublicURL
	// is where they point (the API's /u/{token}).
	Unsubscribe unsub.Signer
	PublicURL   string
	// SoftOptIn lists the countries (ISO 3166-1 alpha-2, or "*") where the
	// soft opt-in is a lawful basis; elsewhere only explicit consent is.
	SoftOptIn []string
	// Recs chooses recommendations (default: a Recommender on Store).
	Recs *recs.Recommender
	// ReconcileAfter: see reconcileAfter.
	ReconcileAfter time.Duration
	// Caps are the frequency caps across all of a customer's sequences,
	// in real days; they scale with a compressed sequence day.
	Caps []models.Cap
	// Switch moves running sequences to a promoted winner (MoveToWinner).
	Switch Switcher

	mu   sync.Mutex
	defs map[string]*campaign.Definition // immutable versions, by "id@version"
}

// permanent marks an error the retry policy must not retry.
func permanent(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), string(errs.CodeOf(err)), err)
}

// retryable passes errors through, except coded input errors, which can
// never succeed on retry.
func retryable(err error) error {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.Malformed, errs.NotFound, errs.PermanentRemote:
		return permanent(err)
	}
	return err
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// definition returns a published version's definition, cached: versions
// are immutable.
func (a *Activities) definition(ctx context.Context, campaignID string, version int) (*campaign.Definition, error) {
	key := fmt.Sprintf("%s@%d", campaignID, version)
	a.mu.Lock()
	d, ok := a.defs[key]
	a.mu.Unlock()
	if ok {
		return d, nil
	}
	v, err := a.Store.GetCampaignVersion(ctx, campaignID, version)
	if err != nil {
		return nil, err
	}
	d = &campaign.Definition{}
	if err := json.Unmarshal(v.Definition, d); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "campaign %s", key)
	}
	a.mu.Lock()
	if a.defs == nil {
		a.defs = map[string]*campaign.Definition{}
	}
	a.defs[key] = d
	a.mu.Unlock()
	return d, nil
}

// StartEnrollment records the enrollment. It is idempotent.
func (a *Activities) StartEnrollment(ctx context.Context, in workflows.StartEnrollmentInput) error {
	err := a.Store.EnsureEnrollment(ctx, &models.Enrollment{
		ID: in.EnrollmentID, CustomerID: in.CustomerID, CampaignID: in.CampaignID, Version: in.Version,
		WorkflowID: in.WorkflowID, Variant: in.Variant, TriggerEventID: in.TriggerEventID, EntryKey: in.EntryKey,
		Status: domain.StatusRunning, EnrolledAt: in.EnrolledAt,
	})
	return retryable(err)
}

// CheckEligibility decides, at send time, whether the customer may get
// this campaign's email: the customer exists, has marketing consent and is
// not suppressed globally or for the campaign.
func (a *Activities) CheckEligibility(ctx context.Context, ref workflows.StepRef) (workflows.Eligibility, error) {
	el, _, err := a.eligibility(ctx, ref.CustomerID, ref.CampaignID)
	return el, err
}

func (a *Activities) eligibility(ctx context.Context, customerID, campaignID string) (workflows.Eligibility, *models.Customer, error) {
	c, err := a.Store.GetCustomer(ctx, customerID)
	if errs.Is(err, errs.NotFound) {
		return workflows.Eligibility{Status: domain.StatusCancelled, Reason: "customer no longer exists"}, nil, nil
	}
	if err != nil {
		return workflows.Eligibility{}, nil, retryable(err)
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
			return workflows.Eligibility{}, nil, retryable(err)
		}
		if !existing {
			return workflows.Eligibility{Status: domain.StatusNoConsent, Reason: "soft opt-in covers existing customers only"}, c, nil
		}
	}
	sup, err := a.Store.Suppressed(ctx, c.Email, campaignID)
	if err != nil {
		return workflows.Eligibility{}, nil, retryable(err)
	}
	if sup != nil {
		return workflows.Eligibility{Status: domain.StatusSuppressed,
			Reason: fmt.Sprintf("address suppressed (%s, %s)", sup.Scope(), sup.Reason)}, c, nil
	}
	return workflows.Eligibility{Eligible: true}, c, nil
}

// Prepare creates the step's message, keyed by (enrollment, step), with the
// recommendations it will show. A step that needs recommendations and has
// none is skipped, not sent empty. Calling it again returns what the first
// call decided.
func (a *Activities) Prepare(ctx context.Context, ref workflows.StepRef) (workflows.Prepared, error) {
	def, err := a.definition(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return workflows.Prepared{}, retryable(err)
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok {
		return workflows.Prepared{}, permanent(errs.E(errs.NotFound, "step %s not in %s v%d", ref.StepID, ref.CampaignID, ref.Version))
	}
	step = def.ForVariant(step, ref.Variant)
	msg := &models.Message{
		ID: uuid.NewString(), EnrollmentID: ref.EnrollmentID, StepID: ref.StepID,
		CustomerID: ref.CustomerID, CampaignID: ref.CampaignID, Variant: ref.Variant,
		Status: domain.MessagePending,
	}
	paused, err := a.guardrailPause(ctx, def, ref)
	if err != nil {
		return workflows.Prepared{}, retryable(err)
	}
	if paused != "" {
		msg.Status, msg.Error = domain.MessageSkipped, paused
	} else if why := a.offerEnded(step); why != "" {
		msg.Status, msg.Error = domain.MessageSkipped, why
	} else if step.UsesRecommendations() {
		if err := a.recommend(ctx, ref, step, msg); err != nil {
			return workflows.Prepared{}, retryable(err)
		}
	}
	msg, _, err = a.Store.ClaimMessage(ctx, msg)
	if err != nil {
		return workflows.Prepared{}, retryable(err)
	}
	p := workflows.Prepared{MessageID: msg.ID, Items: len(msg.Recommended)}
	switch msg.Status {
	case domain.MessageSent:
		p.AlreadySent = true
	case domain.MessageSkipped, domain.MessageFailed:
		p.Skip, p.Reason = true, msg.Error
	}
	return p, nil
}

// guardrailPause says why the experiment's guardrails hold the
// variant's step, or "".
func (a *Activities) guardrailPause(ctx context.Context, def *campaign.Definition, ref workflows.StepRef) (string, error) {
	if def.Experiment == nil {
		return "", nil
	}
	exp, err := a.Store.CurrentExperiment(ctx, ref.CampaignID)
	if err != nil || exp == nil || exp.ID != def.Experiment.ID {
		return "", err
	}
	return experiment.PausedReason(exp, ref.Variant, ref.StepID), nil
}

// offerEnded says why a step must not be sent because its offer has
// ended, or "".
func (a *Activities) offerEnded(step campaign.Step) string {
	if step.Incentive == nil {
		return ""
	}
	if end, ok := step.Incentive.End(); ok && !a.now().Before(end) {
		return "the offer ended " + end.UTC().Format(time.RFC3339) + ": an expired offer is never sent"
	}
	return ""
}

// recommend applies the step's strategy (internal/recs) at send time, so
// what the customer bought since enrolment is left out. With an optional
// block, a failing recommender means an email without recommendations; an
// empty result without one skips the step.
func (a *Activities) recommend(ctx context.Context, ref workflows.StepRef, step campaign.Step, msg *models.Message) error {
	trigger, err := a.triggerSKUs(ctx, ref.TriggerEventID)
	if err != nil {
		return err
	}
	owned, err := a.Store.OwnedSKUs(ctx, ref.CustomerID)
	if err != nil {
		return err
	}
	// The country and tier filter what may be shown; a database hiccup
	// must retry, not recommend without them (the choice is kept).
	var country, tier string
	c, err := a.Store.GetCustomer(ctx, ref.CustomerID)
	switch {
	case err == nil:
		country, tier = c.Country, c.Tier
	case !errs.Is(err, errs.NotFound):
		return err
	}
	res, err := a.recommender().Recommend(ctx, recs.Request{Spec: *step.Recommend, Trigger: trigger, Owned: owned, Country: country, Tier: tier})
	switch {
	case err != nil && step.Recommend.Optional:
		msg.RecommendNote = "the recommender failed (" + err.Error() + "): sent without recommendations"
		return nil
	case err != nil:
		return err
	}
	msg.Recommended, msg.RecommendNote = res.SKUs(), res.Note
	msg.Reasons = map[string]string{}
	for _, p := range res.Picks {
		msg.Reasons[p.SKU] = p.Reason
	}
	if len(res.Picks) == 0 && !step.Recommend.Optional {
		msg.Status = domain.MessageSkipped
		msg.Error = "nothing to recommend: every candidate is owned, out of stock, blocked or unsuited"
		if len(trigger) == 0 && res.Strategy == campaign.StrategyComplements {
			msg.Error = "nothing to recommend: the trigger event names no product"
		}
	}
	return nil
}

func (a *Activities) recommender() *recs.Recommender {
	if a.Recs != nil {
		return a.Recs
	}
	return &recs.Recommender{Store: a.Store, Now: a.now}
}

// comparison sets the customer's plan beside the next one up, for the
// upsell block; nil when the current plan is not known.
func (a *Activities) comparison(ctx context.Context, cust *models.Customer, trigger []string, next models.Product) (*email.Comparison, error) {
	if next.TierRank == 0 {
		return nil, nil
	}
	skus := append([]string{cust.Tier}, trigger...)
	ps, err := a.Store.GetProducts(ctx, skus)
	if err != nil {
		return nil, err
	}
	for _, sku := range skus {
		cur, ok := ps[sku]
		if !ok || cur.TierRank == 0 || cur.Category != next.Category || cur.TierRank >= next.TierRank {
			continue
		}
		return &email.Comparison{
			CurrentName: cur.Name, CurrentPrice: email.FormatPrice(cur.PriceMinor, cur.Currency, cust.Locale), Current: cur.Features,
			NextName: next.Name, NextPrice: email.FormatPrice(next.PriceMinor, next.Currency, cust.Locale), Next: next.Features,
		}, nil
	}
	return nil, nil
}

// usage is the usage summary of a usage trigger event ("You have used 847
// of 1,000 orders"), or nil for other triggers.
func (a *Activities) usage(ctx context.Context, eventID, locale string) (*email.Usage, error) {
	if eventID == "" {
		return nil, nil
	}
	ev, err := a.Store.GetEvent(ctx, eventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil || ev.Type != campaign.EventUsage {
		return nil, err
	}
	used, _ := ev.Properties["used"].(float64)
	limit, _ := ev.Properties["limit"].(float64)
	metric, _ := ev.Properties["metric"].(string)
	if limit <= 0 {
		return nil, nil
	}
	return &email.Usage{Metric: metric, Used: email.FormatNumber(used, locale), Limit: email.FormatNumber(limit, locale),
		Percent: int(100 * used / limit)}, nil
}

// triggerSKUs returns the products of the event that started the sequence
// (see Store.EventSKUs).
func (a *Activities) triggerSKUs(ctx context.Context, eventID string) ([]string, error) {
	if eventID == "" {
		return nil, nil
	}
	ev, err := a.Store.GetEvent(ctx, eventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return a.Store.EventSKUs(ctx, ev)
}

// Render renders the message's subject, HTML and text into the database.
// Rendering a message that is already sent does nothing.
func (a *Activities) Render(ctx context.Context, ref workflows.MessageRef) error {
	msg, err := a.Store.GetMessage(ctx, ref.MessageID)
	if err != nil {
		return retryable(err)
	}
	if msg.Status != domain.MessagePending && msg.Status != domain.MessageReady {
		return nil
	}
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if err != nil {
		return retryable(err)
	}
	def, err := a.definition(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return retryable(err)
	}
	step, _ := def.StepByID(msg.StepID)
	cust, err := a.Store.GetCustomer(ctx, msg.CustomerID)
	if err != nil {
		return retryable(err)
	}
	trigger, err := a.triggerSKUs(ctx, enr.TriggerEventID)
	if err != nil {
		return retryable(err)
	}
	usage, err := a.usage(ctx, enr.TriggerEventID, cust.Locale)
	if err != nil {
		return retryable(err)
	}
	out, err := a.compose(ctx, def, step, cust, msg.Variant, trigger, msg.Recommended, usage)
	if err != nil {
		return err
	}
	return retryable(a.Store.SaveRendered(ctx, msg.ID, out))
}

// compose renders one step's email for a customer: the data the templates
// see, the unsubscribe links and the RFC 8058 headers. Render and Preview
// both use it.
func (a *Activities) compose(ctx context.Context, def *campaign.Definition, step campaign.Step, cust *models.Customer,
	variant string, trigger, recommended []string, usage *email.Usage) (models.Rendered, error) {
	step = def.ForVariant(step, variant)
	data, err := a.emailData(ctx, def, step, variant, cust, trigger, recommended)
	if err != nil {
		return models.Rendered{}, retryable(err)
	}
	data.Usage = usage
	if !a.Unsubscribe.Valid() {
		return models.Rendered{}, permanent(errs.E(errs.Invalid, "no unsubscribe secret configured: refusing to render an email without unsubscribe links"))
	}
	sequence := a.unsubscribeURL(unsub.Scope{CustomerID: cust.ID, CampaignID: def.ID})
	all := a.unsubscribeURL(unsub.Scope{CustomerID: cust.ID})
	data.Footer.UnsubscribeURL, data.Footer.UnsubscribeAllURL = sequence, all
	step = step.Localized(email.Base(cust.Locale))
	out, err := a.Renderer.Render(step.Template, step.Subject, data)
	if err != nil {
		// A template that cannot render will not render on retry either.
		return models.Rendered{}, permanent(errs.Wrap(errs.Invalid, err, "render step %s", step.ID))
	}
	return models.Rendered{
		Subject: out.Subject, Preheader: out.Preheader, HTML: out.HTML, Text: out.Text,
		// RFC 8058 one-click: a mailbox provider POSTs
		// "List-Unsubscribe=One-Click" to the URL; it stops all marketing email.
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + all + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}, nil
}

func (a *Activities) emailData(ctx context.Context, def *campaign.Definition, step campaign.Step,
	variant string, cust *models.Customer, trigger, recommended []string) (email.Data, error) {
	step = step.Localized(email.Base(cust.Locale))
	d := email.Data{
		Locale:   cust.Locale,
		Customer: email.Customer{Name: cust.Name, FirstName: email.FirstName(cust.Name)},
		Campaign: email.Campaign{ID: def.ID, Name: def.Name},
		Step: email.Step{ID: step.ID, Heading: step.Heading, Paragraphs: email.Paragraphs(step.Body),
			CTA: step.CTA, Preheader: step.Preheader},
		Footer: email.Footer{PostalAddress: a.PostalAddress},
	}
	products, err := a.Store.GetProducts(ctx, append(append([]string{}, trigger...), recommended...))
	if err != nil {
		return d, err
	}
	if len(trigger) > 0 {
		if p, ok := products[trigger[0]]; ok {
			d.Trigger = email.Trigger{ProductName: p.Name, SKU: p.SKU, Category: p.Category}
		}
	}
	utm := func(raw string) string { return withUTM(raw, def.ID, step.ID, variant) }
	for _, sku := range recommended {
		p, ok := products[sku]
		if !ok {
			continue
		}
		prod := email.Product{
			SKU: p.SKU, Name: p.Name, Price: email.FormatPrice(p.PriceMinor, p.Currency, cust.Locale),
			URL: utm(p.URL), ImageURL: p.ImageURL, Reviews: p.Reviews, Testimonial: p.Testimonial,
		}
		if p.Rating > 0 {
			prod.Rating = email.FormatRating(p.Rating, cust.Locale)
		}
		d.Products = append(d.Products, prod)
	}
	if step.Recommend != nil && step.Recommend.Strategy == campaign.StrategyNextTier && len(recommended) > 0 {
		d.Comparison, err = a.comparison(ctx, cust, trigger, products[recommended[0]])
		if err != nil {
			return d, err
		}
	}
	if len(d.Products) > 0 && d.Step.CTA != "" {
		d.Step.CTAURL = d.Products[0].URL
	}
	if inc := step.Incentive; inc != nil {
		d.Incentive = &email.Incentive{PercentOff: inc.PercentOff, Code: inc.Code}
		loc, err := time.LoadLocation(cust.Timezone)
		if err != nil {
			loc = time.UTC
		}
		var deadline time.Time
		if inc.ExpiresIn != "" {
			o, _ := campaign.ParseOffset(inc.ExpiresIn)
			deadline = a.now().In(loc).AddDate(0, 0, o.Days).Add(time.Duration(o.Hours) * time.Hour)
		}
		if end, ok := inc.End(); ok && (deadline.IsZero() || end.Before(deadline)) {
			deadline = end.In(loc)
		}
		if !deadline.IsZero() {
			d.Incentive.Expires = email.FormatDate(deadline, cust.Locale)
		}
	}
	return d, nil
}

func (a *Activities) unsubscribeURL(sc unsub.Scope) string {
	return a.PublicURL + "/u/" + a.Unsubscribe.Token(sc)
}

// withUTM adds Lift's UTM parameters to a link.
func withUTM(raw, campaignID, stepID, variant string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return raw
	}
	q := u.Query()
	q.Set("utm_source", "lift")
	q.Set("utm_medium", "email")
	q.Set("utm_campaign", campaignID)
	q.Set("utm_content", stepID+"-"+variant)
	u.RawQuery = q.Encode()
	return u.String()
}

// Send hands the rendered message to the mailer, once: a message already
// marked sent is not sent again. Consent and suppression are checked again
// right before the mailer is called, so an unsubscribe that arrives while
// a send is being retried still stops it. A permanent refusal marks the
// message failed and the sequence moves on.
func (a *Activities) Send(ctx context.Context, in workflows.SendInput) (workflows.Sent, error) {
	msg, err := a.Store.GetMessage(ctx, in.MessageID)
	if err != nil {
		return workflows.Sent{}, retryable(err)
	}
	switch msg.Status {
	case domain.MessageSent:
		return workflows.Sent{ProviderMessageID: msg.ProviderMessageID}, nil
	case domain.MessageReady:
	case domain.MessageSending:
		// An earlier attempt died after calling the mailer: it may have
		// been accepted. Wait for the provider to confirm it before
		// sending again.
		if d, wait := a.awaitReconciliation(msg); wait {
			return d, nil
		}
	default:
		return workflows.Sent{Failed: true, Reason: "message is " + string(msg.Status) + ": " + msg.Error}, nil
	}
	el, cust, err := a.eligibility(ctx, msg.CustomerID, msg.CampaignID)
	if err != nil {
		return workflows.Sent{}, err
	}
	if el.Eligible {
		// An offer that ended while the email waited (a cap, a pause) is
		// never sent.
		if why, err := a.sendOfferEnded(ctx, msg); err != nil {
			return workflows.Sent{}, retryable(err)
		} else if why != "" {
			el = workflows.Eligibility{Reason: why}
		}
	}
	if !el.Eligible {
		// A message that may already have reached the provider stays
		// "sending", so a late processed event can still record it.
		if msg.Status != domain.MessageSending {
			if err := a.Store.MarkMessage(ctx, msg.ID, domain.MessageSkipped, el.Reason); err != nil {
				return workflows.Sent{}, retryable(err)
			}
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, retryable(err)
		}
		return workflows.Sent{Skipped: true, Reason: el.Reason}, nil
	}
	ok, retryAt, err := a.Store.ReserveSend(ctx, msg.CustomerID, msg.ID, a.now(), a.scaledCaps(in.Day))
	if err != nil {
		return workflows.Sent{}, retryable(err)
	}
	if !ok {
		return workflows.Sent{Deferred: true, RetryAt: retryAt, Reason: "frequency cap reached (" + a.describeCaps() + ")"}, nil
	}
	// Claim the attempt: exactly one caller moves the message from what it
	// read (ready, or sending since a given moment) to sending-now. Anyone
	// who lost the race, or a processed event that marked it sent in the
	// meantime, makes the claim fail and the retry re-reads.
	claimed, err := a.Store.ClaimSending(ctx, msg.ID, msg.Status, msg.SendingAt, a.now())
	if err != nil {
		return workflows.Sent{}, retryable(err)
	}
	if !claimed {
		return workflows.Sent{}, fmt.Errorf("message %s changed while it was being sent; re-reading it", msg.ID)
	}
	id, err := a.Mailer.Send(ctx, Email{
		MessageID: msg.ID, FromEmail: a.FromEmail, FromName: a.FromName,
		To: cust.Email, ToName: cust.Name, Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text, Headers: msg.Headers,
		CustomArgs: map[string]string{
			"message_id": msg.ID, "enrollment_id": msg.EnrollmentID, "campaign_id": msg.CampaignID,
			"step_id": msg.StepID, "variant": msg.Variant,
		},
		Categories: []string{"lift", "campaign-" + msg.CampaignID},
	})
	if errs.Is(err, errs.PermanentRemote) {
		if err := a.Store.MarkMessage(ctx, msg.ID, domain.MessageFailed, err.Error()); err != nil {
			return workflows.Sent{}, retryable(err)
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, retryable(err)
		}
		return workflows.Sent{Failed: true, Reason: err.Error()}, nil
	}
	if errs.Is(err, errs.Unavailable) {
		// The provider answered and refused for now (429, 500, 503): nothing
		// was sent, so the retry need not wait for a confirmation, and the
		// cap slot is given back until then.
		if err := a.Store.MarkReady(ctx, msg.ID); err != nil {
			return workflows.Sent{}, retryable(err)
		}
		if err := a.Store.ReleaseSend(ctx, msg.ID); err != nil {
			return workflows.Sent{}, retryable(err)
		}
		return workflows.Sent{}, withRetryDelay(err)
	}
	if err != nil {
		return workflows.Sent{}, err // ambiguous (a timeout, a dropped connection): the message stays "sending"
	}
	if _, err := a.Store.MarkSent(ctx, msg.ID, a.Mailer.Name(), id, a.now()); err != nil {
		return workflows.Sent{}, retryable(err)
	}
	return workflows.Sent{ProviderMessageID: id}, nil
}

func (a *Activities) sendOfferEnded(ctx context.Context, msg *models.Message) (string, error) {
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	def, err := a.definition(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return "", err
	}
	step, _ := def.StepByID(msg.StepID)
	return a.offerEnded(step), nil
}

// ReconcileAfter is how long Send waits for a provider's confirmation of
// an ambiguous attempt before it sends again (default 10 minutes).
func (a *Activities) reconcileAfter() time.Duration {
	if a.ReconcileAfter > 0 {
		return a.ReconcileAfter
	}
	return 10 * time.Minute
}

// awaitReconciliation decides what to do with a message found "sending".
// With a mailer that confirms accepted messages by event (SendGrid's
// "processed", applied by the webhook), Send waits for that event, polling
// every tenth of ReconcileAfter (at most 30 s), and sends again only when
// none came within ReconcileAfter.
func (a *Activities) awaitReconciliation(msg *models.Message) (workflows.Sent, bool) {
	r, ok := a.Mailer.(Reconciler)
	if !ok || !r.Reconciles() || msg.SendingAt == nil {
		return workflows.Sent{}, false // resending cannot duplicate anything
	}
	deadline := msg.SendingAt.Add(a.reconcileAfter())
	now := a.now()
	if !now.Before(deadline) {
		return workflows.Sent{}, false
	}
	poll := a.reconcileAfter() / 10
	if poll > 30*time.Second {
		poll = 30 * time.Second
	}
	next := now.Add(poll)
	if deadline.Before(next) {
		next = deadline
	}
	return workflows.Sent{Deferred: true, RetryAt: next,
		Reason: "an earlier attempt may have reached " + a.Mailer.Name() + "; waiting for its processed event before sending again"}, true
}

func (a *Activities) softOptInAllowed(country string) bool {
	for _, c := range a.SoftOptIn {
		if c == "*" || (country != "" && strings.EqualFold(c, country)) {
			return true
		}
	}
	return false
}

func (a *Activities) scaledCaps(day time.Duration) []models.Cap {
	if day <= 0 {
		day = 24 * time.Hour
	}
	out := make([]models.Cap, len(a.Caps))
	for i, c := range a.Caps {
		// Windows are whole hours; dividing first keeps this from overflowing.
		out[i] = models.Cap{Window: c.Window / time.Hour * day / 24, Max: c.Max}
	}
	return out
}

func (a *Activities) describeCaps() string {
	var parts []string
	for _, c := range a.Caps {
		if c.Max > 0 {
			parts = append(parts, fmt.Sprintf("at most %d per %s", c.Max, days(c.Window)))
		}
	}
	return strings.Join(parts, ", ")
}

func days(d time.Duration) string {
	if n := d / (24 * time.Hour); n*24*time.Hour == d {
		if n == 1 {
			return "day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

// RecordProgress records the step an enrollment has reached.
func (a *Activities) RecordProgress(ctx context.Context, in workflows.ProgressInput) error {
	return retryable(a.Store.UpdateEnrollmentProgress(ctx, in.EnrollmentID, models.EnrollmentProgress{
		CurrentStep: in.StepID, EmailsSent: in.EmailsSent,
	}))
}

// EvaluatePurchase decides whether an order meets one of the goals and,
// if it does, records the conversion, credited to the step whose email the
// customer last opened or clicked before buying, within the campaign's
// attribution window. The order that started the sequence never ends it.
func (a *Activities) EvaluatePurchase(ctx context.Context, in workflows.PurchaseInput) (workflows.PurchaseResult, error) {
	order, err := a.Store.GetOrder(ctx, in.OrderID)
	if errs.Is(err, errs.NotFound) {
		return workflows.PurchaseResult{}, nil
	}
	if err != nil {
		return workflows.PurchaseResult{}, retryable(err)
	}
	if in.TriggerEventID != "" && order.EventID == in.TriggerEventID {
		return workflows.PurchaseResult{}, nil
	}
	msgs, err := a.Store.ListMessages(ctx, models.MessageFilter{EnrollmentID: in.EnrollmentID})
	if err != nil {
		return workflows.PurchaseResult{}, retryable(err)
	}
	goal, err := a.purchaseGoal(ctx, in, order, msgs)
	if err != nil || goal == "" {
		return workflows.PurchaseResult{}, err
	}
	enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
	if err != nil {
		return workflows.PurchaseResult{}, retryable(err)
	}
	def, err := a.definition(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return workflows.PurchaseResult{}, retryable(err)
	}
	day := in.Day
	if day <= 0 {
		day = 24 * time.Hour
	}
	credited := attribute(msgs, order.OccurredAt, def.Attribution().Scaled(day))
	conv := &models.Conversion{
		EnrollmentID: enr.ID, OrderID: order.ID, CustomerID: enr.CustomerID, CampaignID: enr.CampaignID,
		Variant: enr.Variant, Goal: string(goal), RevenueMinor: order.RevenueMinor, Currency: order.Currency,
		OrderedAt: order.OccurredAt,
	}
	if credited != nil {
		conv.StepID, conv.MessageID = credited.StepID, credited.ID
		if credited.SentAt != nil {
			lag := int64(order.OccurredAt.Sub(*credited.SentAt) / time.Second)
			conv.LagSeconds = &lag
		}
	}
	if err := a.Store.RecordConversion(ctx, conv); err != nil {
		return workflows.PurchaseResult{}, retryable(err)
	}
	return workflows.PurchaseResult{Converts: true, Goal: goal, RevenueMinor: order.RevenueMinor, Step: conv.StepID}, nil
}

// attribute returns the sent message the customer last opened or clicked
// at or before t and within window of it, or nil.
func attribute(msgs []models.Message, t time.Time, window time.Duration) *models.Message {
	var best *models.Message
	var bestAt time.Time
	for i := range msgs {
		m := &msgs[i]
		if m.Status != domain.MessageSent {
			continue
		}
		for _, at := range []*time.Time{m.OpenedAt, m.ClickedAt} {
			if at == nil || at.After(t) || t.Sub(*at) > window {
				continue
			}
			if best == nil || at.After(bestAt) {
				best, bestAt = m, *at
			}
		}
	}
	return best
}

// purchaseGoal returns the first goal the order meets, or "".
func (a *Activities) purchaseGoal(ctx context.Context, in workflows.PurchaseInput, order *models.Order, msgs []models.Message) (campaign.Goal, error) {
	bought := map[string]bool{}
	var skus []string
	for _, it := range order.Items {
		bought[it.SKU] = true
		skus = append(skus, it.SKU)
	}
	for _, goal := range in.Goals {
		switch goal {
		case campaign.GoalPurchaseAny:
			return goal, nil
		case campaign.GoalPurchaseOfRecommended:
			for _, m := range msgs {
				if m.Status != domain.MessageSent {
					continue
				}
				for _, sku := range m.Recommended {
					if bought[sku] {
						return goal, nil
					}
				}
			}
		case campaign.GoalPurchaseInCategory:
			enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
			if err != nil {
				return "", retryable(err)
			}
			trigger, err := a.triggerSKUs(ctx, enr.TriggerEventID)
			if err != nil {
				return "", retryable(err)
			}
			ps, err := a.Store.GetProducts(ctx, append(trigger, skus...))
			if err != nil {
				return "", retryable(err)
			}
			cats := map[string]bool{}
			for _, sku := range trigger {
				if c := ps[sku].Category; c != "" {
					cats[c] = true
				}
			}
			for _, sku := range skus {
				if cats[ps[sku].Category] {
					return goal, nil
				}
			}
		}
	}
	return "", nil
}

// LoadInactivityPlans returns the live inactivity campaigns the customer
// may enter, by campaign ID, with the customer's time zone: their where
// filters (customer attributes), re-entry rules and the upsell pause apply
// as they do to event triggers.
func (a *Activities) LoadInactivityPlans(ctx context.Context, in workflows.InactivityQuery) (workflows.InactivityPlans, error) {
	customerID := in.CustomerID
	cust, err := a.Store.GetCustomer(ctx, customerID)
	if errs.Is(err, errs.NotFound) {
		return workflows.InactivityPlans{Gone: true}, nil
	}
	if err != nil {
		return workflows.InactivityPlans{}, retryable(err)
	}
	versions, err := a.Store.LiveVersions(ctx, campaign.TriggerInactivity)
	if err != nil {
		return workflows.InactivityPlans{}, retryable(err)
	}
	var out workflows.InactivityPlans
	for _, v := range versions {
		def, err := a.definition(ctx, v.CampaignID, v.Version)
		if err != nil {
			return workflows.InactivityPlans{}, retryable(err)
		}
		facts := campaign.Facts{"customer.tier": cust.Tier, "customer.country": cust.Country,
			"customer.locale": cust.Locale, "customer.timezone": cust.Timezone}
		if !campaign.Match(def.Trigger.Where, facts) {
			continue
		}
		now := a.now()
		if p := cust.UpsellsPausedUntil; def.Kind == campaign.Upsell && p != nil && p.After(now) {
			continue
		}
		if limited, since := def.ReentrySince(now, in.Day); limited {
			entered, err := a.Store.EnteredSince(ctx, customerID, def.ID, "", since)
			if err != nil {
				return workflows.InactivityPlans{}, retryable(err)
			}
			if entered {
				continue
			}
		}
		after, _ := campaign.ParseOffset(def.Trigger.After)
		out.Plans = append(out.Plans, workflows.InactivityPlan{Version: v.Version, After: after, Plan: def.Plan(), Timezone: cust.Timezone})
	}
	return out, nil
}

// RebuildAffinities recomputes bought_together's affinity table and
// similar_customers' item similarities (both off the send path). It
// returns the number of affinity pairs.
func (a *Activities) RebuildAffinities(ctx context.Context, minSupport int) (int64, error) {
	n, _, err := a.Store.RebuildRecommendations(ctx, minSupport)
	return n, retryable(err)
}

// FinishEnrollment records how the enrollment ended.
func (a *Activities) FinishEnrollment(ctx context.Context, in workflows.FinishInput) error {
	return retryable(a.Store.FinishEnrollment(ctx, in.EnrollmentID, models.EnrollmentOutcome{
		Status: in.Status, ExitReason: in.Reason, ConvertedOrder: in.ConvertedOrder,
		RevenueMinor: in.RevenueMinor, EmailsSent: in.EmailsSent, EndedAt: in.EndedAt,
	}))
}
