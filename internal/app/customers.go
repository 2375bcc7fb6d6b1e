package app

import (
	"cmp"
	"context"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// CustomerInput is a customer's profile as a caller sends it. The
// consent_* fields describe a change of consent and are kept as its
// record.
type CustomerInput struct {
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
	// Phone is the customer's mobile number, any common notation with the
	// country's prefix (or in the customer's country): stored in E.164.
	// Omitted, the stored one stays; "" removes it.
	Phone *string `json:"phone,omitempty"`
	// SMSConsent is consent to texts, a record of its own: explicit only
	// (no soft opt-in), and it needs a phone. Omitted, it stays as it was.
	SMSConsent       *bool  `json:"sms_consent,omitempty"`
	SMSConsentSource string `json:"sms_consent_source,omitempty"`
}

// SaveCustomer creates or replaces a customer's profile. Consent is a
// record: a change is stored with its details in the same transaction; an
// unchanged consent keeps when and where it was given. Withdrawing consent
// ends every running sequence at once.
func (a *App) SaveCustomer(ctx context.Context, id string, in CustomerInput) (*models.Customer, error) {
	if err := validCustomerID("id", id); err != nil {
		return nil, err
	}
	if err := firstErr(checkText("email", in.Email, 320), checkText("name", in.Name, 200),
		checkText("timezone", in.Timezone, 64), checkText("locale", in.Locale, 35),
		checkText("consent_source", in.ConsentSource, 200), checkText("tier", in.Tier, 64),
		checkText("consent_wording_version", in.ConsentWordingVersion, 64),
		checkText("consent_user_agent", in.ConsentUserAgent, 500)); err != nil {
		return nil, err
	}
	address, err := PlainEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	in.Timezone = cmp.Or(in.Timezone, "UTC")
	if _, err := time.LoadLocation(in.Timezone); err != nil || in.Timezone == "Local" {
		return nil, errs.Field(errs.Invalid, "timezone", "must be an IANA time zone like Europe/Paris")
	}
	in.Locale = cmp.Or(in.Locale, "en")
	if _, err := language.Parse(in.Locale); err != nil {
		return nil, errs.Field(errs.Invalid, "locale", "must be a BCP 47 tag like en or de-CH")
	}
	if in.MarketingConsent == nil {
		return nil, errs.Field(errs.Invalid, "marketing_consent", "is required: true or false")
	}
	if err := validateConsent(&in); err != nil {
		return nil, err
	}
	cust := &models.Customer{
		ID: id, Email: address, Name: strings.TrimSpace(in.Name), Timezone: in.Timezone,
		Locale: in.Locale, Country: in.Country, Consent: *in.MarketingConsent, Tier: in.Tier,
	}
	if cust.Consent {
		cust.ConsentBasis = in.ConsentBasis
	}
	prev, err := a.Store.GetCustomer(ctx, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	var change *models.ConsentRecord
	if prev != nil && prev.Consent == cust.Consent && prev.ConsentBasis == cust.ConsentBasis {
		cust.ConsentAt, cust.ConsentSource = prev.ConsentAt, prev.ConsentSource
	} else {
		now := a.now()
		source := cmp.Or(in.ConsentSource, "api")
		cust.ConsentAt, cust.ConsentSource = &now, source
		change = &models.ConsentRecord{Granted: cust.Consent, Basis: cust.ConsentBasis, Source: source,
			WordingVersion: in.ConsentWordingVersion, IP: in.ConsentIP, UserAgent: in.ConsentUserAgent, At: now}
	}
	sms, err := a.smsConsent(prev, cust, in)
	if err != nil {
		return nil, err
	}
	if err := a.Store.SaveCustomer(ctx, cust, change, sms); err != nil {
		return nil, err
	}
	if prev != nil && prev.Consent && !cust.Consent {
		if _, err := a.signalRunning(ctx, id, workflows.SignalConsentWithdrawn, workflows.ExitSignal{}, nil, time.Time{}); err != nil {
			return nil, err
		}
	}
	// Events that came before the customer did are applied now.
	if _, err := a.ApplyHeld(ctx, id); err != nil {
		a.Logger.WarnContext(ctx, "held events not applied; the next change to the customer applies them", "customer", id, "err", err)
	}
	return a.Store.GetCustomer(ctx, id)
}

// smsConsent sets the customer's phone and SMS consent from the input
// (what the input omits stays as it was) and returns the consent record
// of a change, or nil.
func (a *App) smsConsent(prev, cust *models.Customer, in CustomerInput) (*models.ConsentRecord, error) {
	if prev != nil {
		cust.Phone, cust.SMSConsent, cust.SMSConsentAt, cust.SMSConsentSource = prev.Phone, prev.SMSConsent, prev.SMSConsentAt, prev.SMSConsentSource
	}
	if in.Phone != nil {
		phone, err := PhoneNumber("phone", *in.Phone, cust.Country)
		if err != nil {
			return nil, err
		}
		if phone != cust.Phone && cust.SMSConsent && in.SMSConsent == nil {
			// Consent was given for the old number.
			return nil, errs.Field(errs.Invalid, "sms_consent", "the phone changes: say whether the customer consents to texts at the new number")
		}
		cust.Phone = phone
	}
	if in.SMSConsent == nil {
		if cust.Phone == "" && cust.SMSConsent {
			cust.SMSConsent = false // no number, no texts
		}
		return nil, nil
	}
	if *in.SMSConsent && cust.Phone == "" {
		return nil, errs.Field(errs.Invalid, "sms_consent", "needs a phone to text")
	}
	if err := checkText("sms_consent_source", in.SMSConsentSource, 200); err != nil {
		return nil, err
	}
	if prev != nil && prev.SMSConsent == *in.SMSConsent && prev.Phone == cust.Phone {
		return nil, nil // unchanged: when and where it was given stay
	}
	now := a.now()
	source := cmp.Or(in.SMSConsentSource, "api")
	cust.SMSConsent, cust.SMSConsentAt, cust.SMSConsentSource = *in.SMSConsent, &now, source
	return &models.ConsentRecord{Channel: ChannelSMS, Granted: *in.SMSConsent, Basis: domain.BasisExplicit, Source: source,
		WordingVersion: in.ConsentWordingVersion, IP: in.ConsentIP, UserAgent: in.ConsentUserAgent, At: now}, nil
}

// PhoneNumber checks a mobile number and writes it in E.164
// (+4915123456789); "" is no number. A number without its country's
// prefix is read in country's numbering plan.
func PhoneNumber(field, raw, country string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if len(raw) > 32 {
		return "", errs.Field(errs.Invalid, field, "is not a phone number")
	}
	n, err := phonenumbers.Parse(raw, strings.ToUpper(country))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", errs.Field(errs.Invalid, field, "is not a valid phone number: give it in E.164 (+4915123456789), or the customer's country")
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.UNKNOWN:
	default:
		return "", errs.Field(errs.Invalid, field, "is not a mobile number: texts go to mobiles")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

func validateConsent(in *CustomerInput) error {
	if in.Country != "" && !countryRE.MatchString(in.Country) {
		return errs.Field(errs.Invalid, "country", "must be an ISO 3166-1 alpha-2 code like DE")
	}
	if in.ConsentIP != "" && net.ParseIP(in.ConsentIP) == nil {
		return errs.Field(errs.Invalid, "consent_ip", "must be an IP address")
	}
	switch {
	case !*in.MarketingConsent && in.ConsentBasis != "":
		return errs.Field(errs.Invalid, "consent_basis", "only goes with marketing_consent: true")
	case *in.MarketingConsent && in.ConsentBasis == "":
		in.ConsentBasis = domain.BasisExplicit
	case *in.MarketingConsent && in.ConsentBasis != domain.BasisExplicit && in.ConsentBasis != domain.BasisSoftOptIn:
		return errs.Field(errs.Invalid, "consent_basis", "must be %q or %q", domain.BasisExplicit, domain.BasisSoftOptIn)
	}
	return nil
}

// PlainEmail checks that s is a bare address like ada@example.com (no
// display name, no surrounding space) and returns it.
func PlainEmail(field, s string) (string, error) {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != strings.TrimSpace(s) {
		return "", errs.Field(errs.Invalid, field, "must be a plain email address like ada@example.com")
	}
	return addr.Address, nil
}

// Customer returns one customer.
func (a *App) Customer(ctx context.Context, id string) (*models.Customer, error) {
	return a.Store.GetCustomer(ctx, id)
}

// ExportCustomer gathers everything held about a customer (GDPR access).
func (a *App) ExportCustomer(ctx context.Context, id string) (*models.Export, error) {
	return a.Store.ExportCustomer(ctx, id)
}

// EraseCustomer is GDPR erasure: it suppresses the address (hashed, so it
// is never mailed again), ends the customer's running sequences (their
// status and exit reason say erased) and any inactivity watcher from
// before the re-engagement scan, and deletes their personal data. It
// returns the workflows it ended.
func (a *App) EraseCustomer(ctx context.Context, id string) ([]string, error) {
	cust, err := a.Store.GetCustomer(ctx, id)
	if err != nil {
		return nil, err
	}
	// Suppress first: a send already under way checks it before mailing.
	if err := a.Store.Suppress(ctx, cust.Email, "", domain.ReasonErased); err != nil {
		return nil, err
	}
	camps, err := a.Store.ListCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	ended := []string{}
	end := func(wid string, err error) error {
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err == nil {
			ended = append(ended, wid)
		}
		return err
	}
	// A watcher from before the re-engagement scan is cancelled; each
	// sequence ends as erased.
	watcher := workflows.InactivityWorkflowID(id)
	if err := end(watcher, a.Sequences.Cancel(ctx, watcher)); err != nil {
		return nil, err
	}
	for _, camp := range camps {
		wid := workflows.SequenceWorkflowID(camp.ID, id)
		if err := end(wid, a.Sequences.Signal(ctx, wid, workflows.SignalErased, workflows.ExitSignal{})); err != nil {
			return nil, err
		}
	}
	return ended, a.Store.EraseCustomer(ctx, id)
}

// Purge deletes what Lift keeps only for a while and has outlived it:
// stored Idempotency-Key answers (they may name customers), applied
// SendGrid event IDs, frequency-cap slots, old audit entries and expired
// console sessions.
func (a *App) Purge(ctx context.Context) (workflows.Purged, error) {
	p, err := a.Store.Purge(ctx, a.now(), a.Settings.AuditRetention)
	return workflows.Purged{IdempotencyKeys: p.IdempotencyKeys, WebhookEvents: p.WebhookEvents, SendSlots: p.SendSlots,
		AuditEntries: p.AuditEntries, ConsoleSessions: p.ConsoleSessions}, err
}
