package app

import (
	"context"
	"net/url"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
)

// RenderMessage renders a prepared message's subject, HTML and text into
// the database, as its enrolment's version and variant say. Rendering a
// message that is no longer pending or ready does nothing. A template
// that cannot render is an errs.Invalid: it will not render on retry.
func (a *App) RenderMessage(ctx context.Context, messageID string) error {
	msg, err := a.Store.GetMessage(ctx, messageID)
	if err != nil {
		return err
	}
	if msg.Status != domain.MessagePending && msg.Status != domain.MessageReady {
		return nil
	}
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if err != nil {
		return err
	}
	def, err := a.defs.Version(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return err
	}
	step, _ := def.StepByID(msg.StepID)
	cust, err := a.Store.GetCustomer(ctx, msg.CustomerID)
	if err != nil {
		return err
	}
	trigger, err := a.TriggerSKUs(ctx, enr.TriggerEventID)
	if err != nil {
		return err
	}
	usage, err := a.usage(ctx, enr.TriggerEventID, cust.Locale)
	if err != nil {
		return err
	}
	coupon, err := a.Store.IssuedCoupon(ctx, msg.ID)
	if err != nil {
		return err
	}
	if inc := def.ForVariant(step, msg.Variant).Incentive; inc != nil && inc.Pool != "" && coupon == nil {
		return errs.E(errs.Unavailable, "message %s has no code from pool %s yet", msg.ID, inc.Pool)
	}
	out, err := a.Compose(ctx, def, step, cust, msg.Variant, trigger, msg.Recommended, usage, coupon, false)
	if err != nil {
		return err
	}
	return a.Store.SaveRendered(ctx, msg.ID, out)
}

// Compose renders one step's email for a customer: the data the templates
// see, the unsubscribe links and the RFC 8058 headers. RenderMessage,
// Preview and TestSend all use it. An inert email (a preview, a test
// send) carries InertUnsubscribePath in its data instead of the
// customer's signed links: no template, however it compares or prints
// the footer, can reach the customer's token.
func (a *App) Compose(ctx context.Context, def *campaign.Definition, step campaign.Step, cust *models.Customer,
	variant string, trigger, recommended []string, usage *email.Usage, coupon *models.CouponCode, inert bool) (models.Rendered, error) {
	step = def.ForVariant(step, variant)
	data, err := a.emailData(ctx, def, step, variant, cust, trigger, recommended, coupon)
	if err != nil {
		return models.Rendered{}, err
	}
	data.Usage = usage
	if !a.Signer.Valid() {
		return models.Rendered{}, errs.E(errs.Invalid, "no unsubscribe secret configured: refusing to render an email without unsubscribe links")
	}
	sequence := a.unsubscribeURL(unsub.Scope{CustomerID: cust.ID, CampaignID: def.ID})
	all := a.unsubscribeURL(unsub.Scope{CustomerID: cust.ID})
	if inert {
		sequence = a.Settings.PublicURL + InertUnsubscribePath
		all = sequence
	}
	data.Footer.UnsubscribeURL, data.Footer.UnsubscribeAllURL = sequence, all
	step = step.Localized(email.Base(cust.Locale))
	out, err := a.Renderer.Render(step.Template, step.Subject, data)
	if err != nil {
		// A template that cannot render will not render on retry either.
		return models.Rendered{}, errs.E(errs.Invalid, "render step %s: %v", step.ID, err)
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

func (a *App) emailData(ctx context.Context, def *campaign.Definition, step campaign.Step,
	variant string, cust *models.Customer, trigger, recommended []string, coupon *models.CouponCode) (email.Data, error) {
	step = step.Localized(email.Base(cust.Locale))
	d := email.Data{
		Locale:   cust.Locale,
		Customer: email.Customer{Name: cust.Name, FirstName: email.FirstName(cust.Name)},
		Campaign: email.Campaign{ID: def.ID, Name: def.Name},
		Step: email.Step{ID: step.ID, Heading: step.Heading, Paragraphs: email.Paragraphs(step.Body),
			CTA: step.CTA, Preheader: step.Preheader},
		Footer: email.Footer{PostalAddress: a.Settings.PostalAddress},
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
	switch {
	case d.Step.CTA == "":
	case step.CTAURL != "":
		d.Step.CTAURL = utm(step.CTAURL)
	case len(d.Products) > 0:
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
		if inc.Pool != "" {
			// The recipient's own code, and the expiry it was issued with;
			// a preview shows a stand-in.
			d.Incentive.Code = PreviewCouponCode
			if coupon != nil {
				d.Incentive.Code = coupon.Code
				if coupon.ExpiresAt != nil {
					deadline = coupon.ExpiresAt.In(loc)
				}
			}
		}
		if !deadline.IsZero() {
			d.Incentive.Expires = email.FormatDate(deadline, cust.Locale)
		}
	}
	return d, nil
}

// PreviewCouponCode stands in for a pool's one-time code in previews and
// test sends: the real code is drawn when the step sends.
const PreviewCouponCode = "ONE-TIME-CODE"

// CouponExpiry is when a code issued now for the incentive expires:
// expires_in after now, never after ends_at (nil without either).
func (a *App) CouponExpiry(inc *campaign.Incentive) *time.Time {
	var deadline time.Time
	if inc.ExpiresIn != "" {
		o, _ := campaign.ParseOffset(inc.ExpiresIn)
		deadline = a.now().AddDate(0, 0, o.Days).Add(time.Duration(o.Hours) * time.Hour)
	}
	if end, ok := inc.End(); ok && (deadline.IsZero() || end.Before(deadline)) {
		deadline = end
	}
	if deadline.IsZero() {
		return nil
	}
	deadline = deadline.UTC()
	return &deadline
}

func (a *App) unsubscribeURL(sc unsub.Scope) string {
	return a.Settings.PublicURL + "/u/" + a.Signer.Token(sc)
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

// comparison sets the customer's plan beside the next one up, for the
// upsell block; nil when the current plan is not known.
func (a *App) comparison(ctx context.Context, cust *models.Customer, trigger []string, next models.Product) (*email.Comparison, error) {
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
func (a *App) usage(ctx context.Context, eventID, locale string) (*email.Usage, error) {
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

// TriggerSKUs returns the products of the event that started the sequence
// (see Store.EventSKUs).
func (a *App) TriggerSKUs(ctx context.Context, eventID string) ([]string, error) {
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
