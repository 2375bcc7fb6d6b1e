package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// The reach policy: the one place that decides whether Lift may reach a
// customer on a channel at a moment. Email, SMS and the channel webhooks
// (push, WhatsApp through a destination) all ask it; nothing else decides
// any of its rules.
//
//   - consent for that channel: email, marketing consent on a lawful
//     basis (the soft opt-in only where it is one, and only for existing
//     customers); SMS (and the phone channels), SMS consent, a record of
//     its own, never a soft opt-in;
//   - suppression of that channel's address (the email address, the
//     phone number), everywhere or for the campaign;
//   - the campaign's pause;
//   - quiet hours in the customer's zone: the campaign's send window for
//     email and push (09:00–20:00 by default); for texts never outside
//     08:00–21:00, whatever the campaign says;
//   - frequency caps: a slot per message, across every channel.

// Channels Lift reaches customers by.
const (
	ChannelEmail    = "email"
	ChannelSMS      = "sms"
	ChannelPush     = "push"
	ChannelWhatsApp = "whatsapp"
)

// Channels are the channels a destination may reach customers on (a
// destination without one reaches the company's own people).
var Channels = []string{ChannelSMS, ChannelPush, ChannelWhatsApp}

// smsQuietHours are the hours texts may arrive in, local to the customer:
// 08:00–21:00, the window most places that regulate texting allow; a
// campaign's send window may narrow it, never widen it.
var smsQuietHours = workflows.SendWindow{Start: 8 * 60, End: 21 * 60} // minutes of the day

// phoneChannel says a channel reaches the customer's phone.
func phoneChannel(ch string) bool { return ch == ChannelSMS || ch == ChannelWhatsApp }

// ReachAsk is one question to the policy.
type ReachAsk struct {
	Channel    string
	CustomerID string
	CampaignID string
	// SendWindow is the campaign's ("" is 09:00–20:00).
	SendWindow string
	// Day is the sequence day's length: quiet hours apply on real days
	// only (a compressed demo day has no hours to be quiet in).
	Day time.Duration
}

// Reach is the policy's answer: go, never (with the sequence's status
// and why), or later (when, and why).
type Reach struct {
	Eligibility workflows.Eligibility // Eligible, or Status and Reason for never
	Customer    *models.Customer      // when they exist
	Later       time.Time             // not zero: defer until then
	Reason      string                // why later
}

// MayReach decides whether the customer may be reached on the channel
// now, without taking a cap slot (TakeSlot does, right before sending).
func (a *App) MayReach(ctx context.Context, ask ReachAsk) (Reach, error) {
	c, err := a.Store.GetCustomer(ctx, ask.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return Reach{Eligibility: workflows.Eligibility{Status: domain.StatusCancelled, Reason: "customer no longer exists"}}, nil
	}
	if err != nil {
		return Reach{}, err
	}
	r := Reach{Customer: c}
	never := func(status domain.SequenceStatus, format string, args ...any) (Reach, error) {
		r.Eligibility = workflows.Eligibility{Status: status, Reason: fmt.Sprintf(format, args...)}
		return r, nil
	}
	address := c.Email
	switch {
	case phoneChannel(ask.Channel):
		if c.Phone == "" {
			return never(domain.StatusNoConsent, "no phone number for %s", ask.Channel)
		}
		if !c.SMSConsent {
			return never(domain.StatusNoConsent, "no SMS consent (email consent does not cover texts)")
		}
		address = PhoneAddress(c.Phone)
	default:
		if !c.Consent {
			return never(domain.StatusNoConsent, "no marketing consent")
		}
		if c.ConsentBasis == domain.BasisSoftOptIn {
			if !a.softOptInAllowed(c.Country) {
				return never(domain.StatusNoConsent, "soft opt-in is not a lawful basis in %q; explicit consent is needed", c.Country)
			}
			existing, err := a.Store.HasOrders(ctx, c.ID)
			if err != nil {
				return Reach{}, err
			}
			if !existing {
				return never(domain.StatusNoConsent, "soft opt-in covers existing customers only")
			}
		}
	}
	sup, err := a.Store.Suppressed(ctx, address, ask.CampaignID)
	if err != nil {
		return Reach{}, err
	}
	if sup != nil {
		what := "address"
		if phoneChannel(ask.Channel) {
			what = "phone number"
		}
		return never(domain.StatusSuppressed, "%s suppressed (%s, %s)", what, sup.Scope(), sup.Reason)
	}
	if later, why, err := a.campaignHold(ctx, ask.CampaignID, ask.Day); err != nil || why != "" {
		r.Later, r.Reason = later, why
		return r, err
	}
	if ask.Day == 0 || ask.Day == workflows.Day {
		if next := a.quietUntil(ask, c); !next.IsZero() {
			r.Later, r.Reason = next, "quiet hours in the customer's time zone"
			return r, nil
		}
	}
	r.Eligibility = workflows.Eligibility{Eligible: true}
	return r, nil
}

// campaignHold says until when a paused campaign holds its sends, and
// why ("" when it runs). A pause may last days: the held send looks again
// hourly (a 24th of a compressed day).
func (a *App) campaignHold(ctx context.Context, campaignID string, day time.Duration) (time.Time, string, error) {
	if campaignID == "" {
		return time.Time{}, "", nil
	}
	camp, err := a.Store.GetCampaign(ctx, campaignID)
	if errs.Is(err, errs.NotFound) {
		return time.Time{}, "", nil
	}
	if err != nil || camp.PausedAt == nil {
		return time.Time{}, "", err
	}
	return time.Now().Add(min(max(day/24, pauseRecheck), time.Hour)), "campaign paused: " + camp.PausedReason, nil
}

// quietUntil is when the channel's hours open in the customer's zone, or
// zero when they are open now.
func (a *App) quietUntil(ask ReachAsk, c *models.Customer) time.Time {
	start, end, _ := campaign.ParseSendWindow(ask.SendWindow) // 09:00-20:00 when none
	w := workflows.SendWindow{Start: start, End: end}
	if phoneChannel(ask.Channel) {
		w = narrower(w, smsQuietHours)
	}
	now := a.now()
	if next := workflows.NextInWindow(now, workflows.LoadLocation(c.Timezone), w); next.After(now) {
		return next
	}
	return time.Time{}
}

// narrower is the part of a send window inside the hours a channel
// allows: a campaign may narrow a channel's hours, never widen them.
func narrower(w, allowed workflows.SendWindow) workflows.SendWindow {
	return workflows.SendWindow{Start: max(w.Start, allowed.Start), End: min(w.End, allowed.End)}
}

// TakeSlot takes a frequency-cap slot for a message (the caps span every
// channel), or says when one frees up.
func (a *App) TakeSlot(ctx context.Context, customerID, slot string, day time.Duration) (bool, time.Time, error) {
	return a.Store.ReserveSend(ctx, customerID, slot, a.now(), a.scaledCaps(day))
}

// slotKey is the cap slot of a step that is not an email message (a
// text, a channel webhook): the step's, hashed to fit a message ID.
func slotKey(kind, enrollmentID, stepID string) string {
	sum := sha256.Sum256([]byte(enrollmentID + ":" + stepID))
	return kind + ":" + hex.EncodeToString(sum[:20])
}

// PhoneAddress is how a phone number is kept on the suppression list,
// beside email addresses (both hashed).
func PhoneAddress(e164 string) string { return "sms:" + strings.TrimSpace(e164) }

// Eligibility decides whether a customer may get a campaign's email now
// (MayReach on email, without the pause and quiet hours the send path
// asks separately). When not, the answer carries the sequence's final
// status and why. The customer is returned when they exist.
func (a *App) Eligibility(ctx context.Context, customerID, campaignID string) (workflows.Eligibility, *models.Customer, error) {
	r, err := a.MayReach(ctx, ReachAsk{Channel: ChannelEmail, CustomerID: customerID, CampaignID: campaignID, Day: -1})
	if err != nil {
		return workflows.Eligibility{}, nil, err
	}
	if !r.Later.IsZero() {
		r.Eligibility = workflows.Eligibility{Eligible: true} // a pause holds the send, it does not end the sequence
	}
	return r.Eligibility, r.Customer, nil
}

func (a *App) softOptInAllowed(country string) bool {
	for _, c := range a.Settings.SoftOptIn {
		if c == "*" || (country != "" && strings.EqualFold(c, country)) {
			return true
		}
	}
	return false
}
