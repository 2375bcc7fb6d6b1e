package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/delivery"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/unsub"
	"github.com/lift-hq/lift/models"
)

// Preview renders what a step of the campaign's current draft would send
// a customer right now, with the reason each recommendation was chosen,
// without sending or storing anything.
func (a *App) Preview(ctx context.Context, campaignID string, in PreviewInput) (PreviewResult, error) {
	def, err := a.previewable(ctx, campaignID, in)
	if err != nil {
		return PreviewResult{}, err
	}
	return a.preview(ctx, def, in)
}

// TestSend renders a step of the draft for a customer, exactly as Preview
// does, and delivers it to a reviewer's address through the configured
// mailer; see testSend.
func (a *App) TestSend(ctx context.Context, campaignID string, in TestSendInput) (TestSendResult, error) {
	to, err := PlainEmail("to", in.To)
	if err != nil {
		return TestSendResult{}, err
	}
	in.To = to
	if !a.testSendAllowed(to) {
		return TestSendResult{}, errs.Field(errs.Forbidden, "to",
			"test sends go only to the addresses and domains an operator allowed (LIFT_TEST_SEND_ALLOW); this one is not among them")
	}
	if limit := a.Settings.TestSendsPerHour; limit > 0 && in.KeyID != "" {
		n, err := a.Store.CountAudit(ctx, in.KeyID, AuditTestSend, TestSendSubject(""), a.now().Add(-time.Hour))
		if err != nil {
			return TestSendResult{}, err
		}
		if n >= int64(limit) {
			return TestSendResult{}, errs.E(errs.TooManyRequests, "this key sent %d test emails in the last hour, the most it may (LIFT_TEST_SENDS_PER_HOUR)", n)
		}
	}
	def, err := a.previewable(ctx, campaignID, in.PreviewInput)
	if err != nil {
		return TestSendResult{}, err
	}
	return a.testSend(ctx, def, in)
}

// previewable checks a preview request and loads the campaign's draft.
func (a *App) previewable(ctx context.Context, campaignID string, in PreviewInput) (*campaign.Definition, error) {
	if err := firstErr(validID("customer_id", in.CustomerID), validID("step", in.StepID)); err != nil {
		return nil, err
	}
	_, def, err := a.defs.Draft(ctx, campaignID)
	return def, err
}

// PreviewInput names the step, the customer and, optionally, the products
// the sequence would be about (default: those of the customer's latest
// event of the campaign's trigger type, as if it had enrolled them, and
// failing that of their latest order).
type PreviewInput struct {
	StepID      string
	CustomerID  string
	Variant     string
	TriggerSKUs []string
}

// PreviewResult is the email and the recommendations with their reasons.
type PreviewResult struct {
	Email models.Rendered
	Recs  recs.Result
	// Skipped says why the step would be skipped instead ("" when sent).
	Skipped string
	// Warnings: what a reviewer should know of the email as it would go
	// out (no postal address).
	Warnings []string
	// Path is the way through a flow's branches to the step ("engaged:
	// else"): the email is rendered as it goes out to a customer who took it.
	Path []string
}

// preview renders a step of def for a customer, as a send would now,
// with inert unsubscribe links.
func (a *App) preview(ctx context.Context, def *campaign.Definition, in PreviewInput) (PreviewResult, error) {
	step, ok := def.StepByID(in.StepID)
	if !ok {
		return PreviewResult{}, errs.Field(errs.NotFound, "step", "no step %q in campaign %s", in.StepID, def.ID)
	}
	if k := step.Kind(); k != campaign.KindEmail {
		return PreviewResult{}, errs.Field(errs.Invalid, "step", "step %q is a %s, which sends no email: preview an email step (on any path)", in.StepID, k)
	}
	path, _ := def.PathTo(in.StepID)
	cust, err := a.Store.GetCustomer(ctx, in.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return PreviewResult{}, errs.Field(errs.NotFound, "customer_id", "customer %q not found", in.CustomerID)
	}
	if err != nil {
		return PreviewResult{}, err
	}
	trigger, usage, note, err := a.previewTrigger(ctx, def, cust, in.TriggerSKUs)
	if err != nil {
		return PreviewResult{}, err
	}
	res := PreviewResult{Path: path}
	if note != "" {
		res.Warnings = append(res.Warnings, note)
	}
	if w := a.postalWarning(); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	var recommended []string
	if step.Recommend != nil {
		if res.Recs, res.Skipped, err = a.StepRecommendations(ctx, step, cust.ID, trigger); err != nil {
			return PreviewResult{}, err
		}
		recommended = res.Recs.SKUs()
	}
	if in.Variant == "" {
		in.Variant = "A"
	}
	if !def.HasVariant(in.Variant) {
		return PreviewResult{}, errs.Field(errs.Invalid, "variant", "no variant %q in campaign %s", in.Variant, def.ID)
	}
	if res.Email, err = a.Compose(ctx, def, step, cust, in.Variant, trigger, recommended, usage, nil, true); err != nil {
		return res, err
	}
	return res, a.makeInert(&res.Email, cust.ID, def.ID)
}

// previewTrigger is what a preview's sequence is about: the products
// given, else those of the customer's latest event that the campaign's
// trigger matches, filter included (with its usage numbers, for a usage
// trigger), as if it had enrolled them. A customer with no such event is
// previewed without trigger products, and the note says so: previewing
// another event's products would show what the campaign never sends.
func (a *App) previewTrigger(ctx context.Context, def *campaign.Definition, cust *models.Customer, skus []string) ([]string, *email.Usage, string, error) {
	if len(skus) > 0 {
		return skus, nil, "", nil
	}
	if def.Trigger.Event == campaign.TriggerInactivity {
		skus, err := a.Store.LatestOrderSKUs(ctx, cust.ID)
		return skus, nil, "", err
	}
	evs, err := a.Store.LatestEvents(ctx, cust.ID, def.Trigger.Event, 20)
	if err != nil {
		return nil, nil, "", err
	}
	for i := range evs {
		ev := &evs[i]
		facts, err := a.facts(ctx, ev, cust, []LiveVersion{{Definition: def}})
		if err != nil {
			return nil, nil, "", err
		}
		if !campaign.Match(def.Trigger.Where, facts) {
			continue
		}
		if skus, err = a.Store.EventSKUs(ctx, ev); err != nil {
			return nil, nil, "", err
		}
		usage, err := a.usage(ctx, ev.ID, cust.Locale)
		return skus, usage, "", err
	}
	what := def.Trigger.Event
	if len(def.Trigger.Where) > 0 {
		what += " where " + campaign.Describe(def.Trigger.Where)
	}
	return nil, nil, fmt.Sprintf("no matching event: none of customer %q's latest %s events matches the campaign's trigger (%s), so this is previewed without trigger products; name them in trigger_skus",
		cust.ID, def.Trigger.Event, what), nil
}

// InertUnsubscribePath is where a preview's and a test send's unsubscribe
// links go: a page that unsubscribes no one.
const InertUnsubscribePath = "/u/test-send"

// makeInert makes sure a preview or a test send carries none of the
// customer's real unsubscribe links: Compose rendered it with inert ones
// in the data, and anything that still names the customer's token (a
// link written into the copy) is replaced, or refused if it survives.
func (a *App) makeInert(e *models.Rendered, customerID, campaignID string) error {
	inert := a.Settings.PublicURL + InertUnsubscribePath
	for _, sc := range []unsub.Scope{{CustomerID: customerID, CampaignID: campaignID}, {CustomerID: customerID}} {
		real := a.unsubscribeURL(sc)
		e.HTML, e.Text = strings.ReplaceAll(e.HTML, real, inert), strings.ReplaceAll(e.Text, real, inert)
		for k, v := range e.Headers {
			e.Headers[k] = strings.ReplaceAll(v, real, inert)
		}
		all := e.Subject + e.Preheader + e.HTML + e.Text
		for _, v := range e.Headers {
			all += v
		}
		if strings.Contains(all, a.Signer.Token(sc)) {
			return errs.E(errs.Invalid, "the email would carry the customer's own unsubscribe link; not shown or sent")
		}
	}
	return nil
}

// TestSendInput is a preview to deliver to a reviewer's address.
type TestSendInput struct {
	PreviewInput
	To string
	// KeyID is the API key asking: its test sends are counted.
	KeyID string
}

// TestSendSubject is how a test send's recipient is named in the audit
// log (the rate per key counts these entries).
func TestSendSubject(to string) string {
	s := "to:" + to
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// testSendAllowed says whether LIFT_TEST_SEND_ALLOW lets a test go to an
// address: listed itself, or its domain (or a parent domain) listed.
func (a *App) testSendAllowed(to string) bool {
	_, domain, _ := strings.Cut(strings.ToLower(to), "@")
	for _, allow := range a.Settings.TestSendAllow {
		allow = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(allow), "@"))
		switch {
		case allow == "*", allow == strings.ToLower(to), allow == domain, strings.HasSuffix(domain, "."+allow) && !strings.Contains(allow, "@"):
			return true
		}
	}
	return false
}

// TestSendResult says where the test went.
type TestSendResult struct {
	To                string // the reviewer's address, as checked
	Provider          string
	ProviderMessageID string
	Subject           string
	Preview           PreviewResult
}

// TestSubjectPrefix marks a test send in the inbox.
const TestSubjectPrefix = "[Test] "

// TestSend renders a step for a customer, exactly as Preview does, and
// delivers it to another address through the configured mailer. It is not
// a campaign message: nothing is stored, no cap or consent is consulted
// (the recipient is a reviewer, not the customer), and, as in a preview,
// the customer's unsubscribe links are inert (makeInert).
func (a *App) testSend(ctx context.Context, def *campaign.Definition, in TestSendInput) (TestSendResult, error) {
	// A reviewer's address that asked for no more email (an unsubscribe,
	// a bounce, a complaint) gets none from a test either.
	if sup, err := a.Store.Suppressed(ctx, in.To, def.ID); err != nil {
		return TestSendResult{}, err
	} else if sup != nil {
		return TestSendResult{}, errs.Field(errs.Conflict, "to", "the address is on the suppression list (%s)", sup.Reason)
	}
	res, err := a.preview(ctx, def, in.PreviewInput)
	if err != nil {
		return TestSendResult{}, err
	}
	if res.Skipped != "" {
		return TestSendResult{}, errs.Field(errs.Conflict, "customer_id", "the step would be skipped for this customer, not sent: %s", res.Skipped)
	}
	html, text := res.Email.HTML, res.Email.Text // inert: preview made them so
	subject := TestSubjectPrefix + res.Email.Subject
	id, err := a.Mailer.Send(ctx, delivery.Email{
		MessageID: "test-" + uuid.NewString(), FromEmail: a.Settings.FromEmail, FromName: a.Settings.FromName,
		To: in.To, Subject: subject, HTML: html, Text: text,
		// No message_id custom arg: the webhook ignores this message's events.
		CustomArgs: map[string]string{"test_send": "true", "campaign_id": def.ID, "step_id": in.StepID},
		Categories: []string{"lift", "test-send"},
	})
	if err != nil {
		return TestSendResult{}, err
	}
	return TestSendResult{To: in.To, Provider: a.Mailer.Name(), ProviderMessageID: id, Subject: subject, Preview: res}, nil
}

// SamplePreview renders a step of the campaign's shown definition (the
// latest published version, or the draft) as a variant sends it, in a
// language, for the sample customer and products: the console's email
// previews.
func (a *App) SamplePreview(ctx context.Context, campaignID, stepID, variant, lang string) (email.Rendered, error) {
	def, _, err := a.defs.Shown(ctx, campaignID)
	if err != nil {
		return email.Rendered{}, err
	}
	var step *campaign.Step
	for _, st := range def.VariantSteps(variant) {
		if st.ID == stepID {
			step = &st
		}
	}
	if step == nil || (def.Experiment != nil && !def.HasVariant(variant)) {
		return email.Rendered{}, errs.E(errs.NotFound, "no step %q in variant %q", stepID, variant)
	}
	text := step.Localized(lang)
	return a.Renderer.SampleRender(step.Template, text.Subject, text.Heading, text.Body, lang, step.Incentive != nil)
}
