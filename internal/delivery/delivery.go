// Package delivery hands rendered messages to the systems that deliver
// them: SendGrid in production, an outbox that keeps them in the database
// for development. A new channel (SMS, push, a webhook) is a new provider
// here behind its own small interface.
package delivery

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/lift-hq/lift/internal/errs"
)

// Email is one message as handed to a Mailer.
type Email struct {
	MessageID  string
	FromEmail  string
	FromName   string
	To         string
	ToName     string
	Subject    string
	HTML       string
	Text       string
	Headers    map[string]string
	CustomArgs map[string]string // opaque IDs only, never PII
	Categories []string
}

// Mailer hands an email to a delivery system and returns the provider's
// message ID. A permanent refusal is an errs.PermanentRemote error; any
// other error is retried by the activity's retry policy.
type Mailer interface {
	Name() string
	Send(ctx context.Context, e Email) (string, error)
}

// Reconciler is a Mailer that confirms each accepted message with an event
// carrying our message ID (SendGrid's "processed"), so a send whose outcome
// is unknown can be checked before it is repeated.
type Reconciler interface {
	Reconciles() bool
}

// RateLimited is a refusal that says when to try again.
type RateLimited struct {
	Reset time.Time
}

func (r *RateLimited) Error() string {
	return "rate limited until " + r.Reset.UTC().Format(time.RFC3339)
}

// Outbox is the default mailer: nothing leaves the machine. The message is
// already stored with its HTML, so "sending" is marking it sent; read it at
// GET /v1/messages/{id}/html.
type Outbox struct{}

// Name implements Mailer.
func (Outbox) Name() string { return "outbox" }

// Send implements Mailer.
func (Outbox) Send(_ context.Context, e Email) (string, error) {
	return "outbox-" + e.MessageID, nil
}

// SendGrid sends through SendGrid's v3 mail send API with sendgrid-go.
type SendGrid struct {
	APIKey   string
	BaseURL  string // https://api.sendgrid.com, https://api.eu.sendgrid.com, or a fake in tests
	Sandbox  bool
	ASMGroup int  // unsubscribe group, 0 for none
	Tracking bool // open and click tracking
	// Confirmed says SendGrid's signed event webhook reaches Lift, so an
	// ambiguous send can wait for its processed event. Without it there
	// is nothing to wait for.
	Confirmed bool
}

// Name implements Mailer.
func (SendGrid) Name() string { return "sendgrid" }

// Reconciles implements Reconciler: SendGrid's processed event echoes our
// custom_args, when the webhook is configured.
func (s SendGrid) Reconciles() bool { return s.Confirmed }

// Send implements Mailer. A client is built per call: a *sendgrid.Client
// holds the request body and is not safe to share between goroutines.
func (s SendGrid) Send(ctx context.Context, e Email) (string, error) {
	m := mail.NewV3Mail()
	m.SetFrom(mail.NewEmail(e.FromName, e.FromEmail))
	m.Subject = e.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail(e.ToName, e.To))
	for k, v := range e.CustomArgs {
		p.SetCustomArg(k, v)
	}
	m.AddPersonalizations(p)
	m.AddContent(mail.NewContent("text/plain", e.Text), mail.NewContent("text/html", e.HTML))
	for k, v := range e.Headers {
		m.SetHeader(k, v)
	}
	m.AddCategories(e.Categories...)
	if s.Sandbox {
		m.SetMailSettings(mail.NewMailSettings().SetSandboxMode(mail.NewSetting(true)))
	}
	if s.ASMGroup > 0 {
		m.SetASM(mail.NewASM().SetGroupID(s.ASMGroup))
	}
	m.SetTrackingSettings(mail.NewTrackingSettings().
		SetClickTracking(mail.NewClickTrackingSetting().SetEnable(s.Tracking).SetEnableText(false)).
		SetOpenTracking(mail.NewOpenTrackingSetting().SetEnable(s.Tracking)))

	req := sendgrid.GetRequest(s.APIKey, "/v3/mail/send", s.BaseURL)
	req.Method = http.MethodPost
	client := &sendgrid.Client{Request: req}
	resp, err := client.SendWithContext(ctx, m)
	if err != nil {
		return "", fmt.Errorf("sendgrid: %w", err)
	}
	// sendgrid-go returns a nil error for any HTTP status: check it.
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK: // 200 in sandbox mode
		return header(resp.Headers, "X-Message-Id"), nil
	case resp.StatusCode == http.StatusTooManyRequests:
		err := errs.E(errs.Unavailable, "sendgrid: 429 rate limited")
		if reset, perr := strconv.ParseInt(header(resp.Headers, "X-RateLimit-Reset"), 10, 64); perr == nil {
			err.Err = &RateLimited{Reset: time.Unix(reset, 0)}
		}
		return "", err
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		// A proxy answered: SendGrid itself may have accepted the message.
		return "", fmt.Errorf("sendgrid: status %d from a gateway; the outcome is unknown", resp.StatusCode)
	case resp.StatusCode >= 500:
		return "", errs.E(errs.Unavailable, "sendgrid: status %d, will retry: %s", resp.StatusCode, truncate(resp.Body, 300))
	default:
		return "", errs.E(errs.PermanentRemote, "sendgrid refused the message: status %d: %s",
			resp.StatusCode, truncate(resp.Body, 500))
	}
}

func header(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
