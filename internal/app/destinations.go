package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/internal/say"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// DestinationInput is the body of PUT /v1/destinations/{id}.
type DestinationInput struct {
	URL          string `json:"url"`
	Secret       string `json:"secret"`
	Channel      string `json:"channel,omitempty"`
	IncludeEmail bool   `json:"include_email,omitempty"`
}

// DestinationView is a destination as the API shows it: never its secret.
type DestinationView struct {
	ID           string    `json:"id"`
	URL          string    `json:"url"`
	Channel      string    `json:"channel,omitempty"`
	IncludeEmail bool      `json:"include_email"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Warnings: what an operator should know (a short secret).
	Warnings []string `json:"warnings,omitempty"`
}

func destinationView(d *models.Destination) *DestinationView {
	return &DestinationView{ID: d.ID, URL: d.URL, Channel: d.Channel, IncludeEmail: d.IncludeEmail, UpdatedAt: d.UpdatedAt}
}

// PutDestination registers (or replaces) a webhook destination. The URL
// is http or https without credentials; the secret, 8 to 256 characters
// (under 24 with a warning), signs every request and is never shown again.
func (a *App) PutDestination(ctx context.Context, id string, in DestinationInput) (*DestinationView, error) {
	d, err := a.checkDestination(ctx, id, in)
	if err != nil {
		return nil, err
	}
	if err := a.Store.PutDestination(ctx, d); err != nil {
		return nil, err
	}
	v, err := a.Destination(ctx, id)
	if err == nil && len(in.Secret) < 24 {
		v.Warnings = append(v.Warnings, "the secret is short: a captured request lets anyone guess it offline; use 32 random characters (openssl rand -hex 32)")
	}
	return v, err
}

// Destination shows a destination, without its secret.
func (a *App) Destination(ctx context.Context, id string) (*DestinationView, error) {
	d, err := a.Store.GetDestination(ctx, id)
	if err != nil {
		return nil, err
	}
	return destinationView(d), nil
}

// checkHost refuses a destination host that resolves to an address Lift
// must not post to; see allowedIP.
func (a *App) checkHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return a.allowedIP(ip)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // it may resolve later; every connection is checked again
	}
	for _, ip := range addrs {
		if err := a.allowedIP(ip); err != nil {
			return err
		}
	}
	return nil
}

// errForbiddenAddress marks a destination address Lift never posts to.
var errForbiddenAddress = errors.New("forbidden destination address")

var (
	// Cloud metadata services outside the link-local range: AWS's IPv6
	// one (a unique local address) and Alibaba's.
	metadataAddrs = []netip.Prefix{netip.MustParsePrefix("fd00:ec2::254/128"), netip.MustParsePrefix("100.100.100.200/32")}
	// Shared address space (carrier-grade NAT), private in all but name;
	// "this network".
	sharedSpace  = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")
	nat64Private = netip.MustParsePrefix("64:ff9b:1::/48")
)

// allowedIP: never a link-local address or a cloud metadata service's,
// an unspecified, multicast or "this network" one; loopback, private
// and shared (CGNAT) networks only where LIFT_WEBHOOK_ALLOW_PRIVATE says
// (lift dev does). A NAT64 address is judged by the IPv4 one it embeds.
func (a *App) allowedIP(ip netip.Addr) error {
	ip = ip.Unmap()
	if nat64Prefix.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, p := range metadataAddrs {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is a cloud metadata service", errForbiddenAddress, ip)
		}
	}
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || thisNetwork.Contains(ip):
		return fmt.Errorf("%w: %s is a link-local, unspecified or multicast address", errForbiddenAddress, ip)
	case (ip.IsLoopback() || ip.IsPrivate() || sharedSpace.Contains(ip) || nat64Private.Contains(ip)) && !a.Settings.WebhookAllowPrivate:
		return fmt.Errorf("%w: %s is a loopback or private address: set LIFT_WEBHOOK_ALLOW_PRIVATE=true to post inside your network", errForbiddenAddress, ip)
	}
	return nil
}

// webhookClient posts with a 20-second budget, follows no redirect (a
// destination registers its final URL) and checks every address it
// connects to, so a name that later resolves somewhere forbidden is
// refused too.
func (a *App) webhookClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		return a.allowedIP(ip)
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// WebhookPayload is the body of a webhook step's request. It names the
// customer by ID; the email address only goes to a destination marked
// include_email.
type WebhookPayload struct {
	ID         string `json:"id"` // enrolment:step, also the Idempotency-Key
	Type       string `json:"type"`
	CustomerID string `json:"customer_id"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"` // with the email: who to call, for sales

	Campaign     string            `json:"campaign"`
	Version      int               `json:"version"`
	Step         string            `json:"step"`
	Variant      string            `json:"variant"`
	EnrollmentID string            `json:"enrollment_id"`
	Trigger      *WebhookTrigger   `json:"trigger,omitempty"`
	Engagement   WebhookEngagement `json:"engagement"`
	Channel      string            `json:"channel,omitempty"`
	SentAt       time.Time         `json:"sent_at"`
}

// WebhookTrigger is the event that enrolled the customer, with its
// order when it was a purchase: why sales are told, not only who.
type WebhookTrigger struct {
	ID         string        `json:"id"`
	Type       string        `json:"type"`
	OccurredAt time.Time     `json:"occurred_at"`
	Order      *WebhookOrder `json:"order,omitempty"`
}

// WebhookOrder is the trigger's order, in major units of its currency.
type WebhookOrder struct {
	ID       string             `json:"id"`
	Revenue  float64            `json:"revenue"`
	Currency string             `json:"currency"`
	Items    []WebhookOrderItem `json:"items"`
}

// WebhookOrderItem is one line of the trigger's order.
type WebhookOrderItem struct {
	SKU      string  `json:"sku"`
	Name     string  `json:"name,omitempty"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// WebhookEngagement is what the customer did with this enrolment's
// emails so far: the IDs of the steps opened and clicked.
type WebhookEngagement struct {
	Opened  []string `json:"opened"`
	Clicked []string `json:"clicked"`
}

// Webhook request headers.
const (
	HeaderSignature   = "Lift-Signature"  // t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
	HeaderIdempotency = "Idempotency-Key" // <enrolment>:<step>, the same on every attempt
	HeaderAttempt     = "Lift-Attempt"    // 1, 2, …
)

// SignWebhook is the Lift-Signature value of body at t under secret.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a Lift-Signature header the way a destination
// should: the HMAC in constant time, and a timestamp within tolerance of
// now, so a captured request cannot be replayed later.
func VerifyWebhook(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("signature timestamp outside tolerance")
	}
	want := SignWebhook(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// CallWebhook delivers a webhook step: at most one accepted delivery per
// enrolment and step. A destination that reaches the customer (a
// channel) gets it only with consent and outside suppression, under the
// frequency caps (Settings.Caps, scaled to the sequence day) and
// within the campaign's send window in the customer's zone (else it is
// deferred or skipped). A 2xx is accepted; a 408, 429,
// 5xx or network failure is retried (an errs.Unavailable); any other
// answer fails the step for good (errs.PermanentRemote).
func (a *App) CallWebhook(ctx context.Context, in workflows.WebhookInput) (workflows.WebhookOutcome, error) {
	var out workflows.WebhookOutcome
	ref := in.Ref
	def, err := a.defs.Version(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return out, err
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok || step.Webhook == nil {
		return out, errs.E(errs.Invalid, "campaign %s v%d has no webhook step %s", ref.CampaignID, ref.Version, ref.StepID)
	}
	dest, err := a.Store.GetDestination(ctx, step.Webhook.Destination)
	if errs.Is(err, errs.NotFound) {
		return out, errs.E(errs.PermanentRemote, "destination %q is not registered (PUT /v1/destinations/%s)", step.Webhook.Destination, step.Webhook.Destination)
	}
	if err != nil {
		return out, err
	}
	if prev, err := a.Store.WebhookDeliveryOf(ctx, ref.EnrollmentID, ref.StepID); err == nil && prev.DeliveredAt != nil {
		out.Delivered, out.Reason = true, fmt.Sprintf("delivered (HTTP %d) after %s", prev.LastStatus, say.Plural(int64(prev.Attempts), "attempt"))
		return out, nil
	} else if err != nil && !errs.Is(err, errs.NotFound) {
		return out, err
	}
	// A destination that reaches the customer (a channel) asks the reach
	// policy, as an email does; one that reaches the company's own people
	// (a CRM, a sales alert) needs only that the customer exists.
	channel := dest.Channel
	if channel == "" {
		channel = ChannelEmail
	}
	reach, err := a.MayReach(ctx, ReachAsk{Channel: channel, CustomerID: ref.CustomerID, CampaignID: ref.CampaignID, SendWindow: def.SendWindow, Day: in.Day})
	if err != nil {
		return out, err
	}
	cust := reach.Customer
	if cust == nil {
		return out, errs.E(errs.NotFound, "customer %s no longer exists", ref.CustomerID)
	}
	if dest.Channel != "" {
		if !reach.Later.IsZero() {
			out.Deferred, out.RetryAt, out.Reason = true, reach.Later, reach.Reason
			return out, nil
		}
		if !reach.Eligibility.Eligible {
			out.Skipped, out.Reason = true, reach.Eligibility.Reason
			return out, nil
		}
		ok, retryAt, err := a.TakeSlot(ctx, cust.ID, slotKey("webhook", ref.EnrollmentID, ref.StepID), in.Day)
		if err != nil {
			return out, err
		}
		if !ok {
			out.Deferred, out.RetryAt, out.Reason = true, retryAt, "frequency cap reached"
			return out, nil
		}
	}
	d, err := a.Store.BeginWebhookAttempt(ctx, ref.EnrollmentID, ref.StepID, dest.ID)
	if err != nil {
		return out, err
	}
	if d.DeliveredAt != nil { // another attempt got there first
		out.Delivered, out.Reason = true, fmt.Sprintf("delivered (HTTP %d) after %s", d.LastStatus, say.Plural(int64(d.Attempts), "attempt"))
		return out, nil
	}
	body, err := a.webhookBody(ctx, ref, def, dest, cust)
	if err != nil {
		return out, err
	}
	status, problem := a.post(ctx, dest, ref, body, d.Attempts)
	a.countWebhook(dest.ID, status)
	switch {
	case status == statusForbidden:
		if err := a.Store.EndWebhookAttempt(ctx, ref.EnrollmentID, ref.StepID, 0, problem, nil); err != nil {
			return out, err
		}
		return out, errs.E(errs.PermanentRemote, "destination %s: %s", dest.ID, problem)
	case status >= 200 && status < 300:
		now := a.now()
		if err := a.Store.EndWebhookAttempt(ctx, ref.EnrollmentID, ref.StepID, status, "", &now); err != nil {
			return out, err
		}
		out.Delivered, out.Reason = true, fmt.Sprintf("delivered (HTTP %d) after %s", status, say.Plural(int64(d.Attempts), "attempt"))
		return out, nil
	case status <= 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		if err := a.Store.EndWebhookAttempt(ctx, ref.EnrollmentID, ref.StepID, status, problem, nil); err != nil {
			return out, err
		}
		return out, errs.E(errs.Unavailable, "destination %s: %s (attempt %d; retried for up to 24 hours)", dest.ID, problem, d.Attempts)
	default:
		if err := a.Store.EndWebhookAttempt(ctx, ref.EnrollmentID, ref.StepID, status, problem, nil); err != nil {
			return out, err
		}
		return out, errs.E(errs.PermanentRemote, "destination %s refused it: %s", dest.ID, problem)
	}
}

func (a *App) webhookBody(ctx context.Context, ref workflows.StepRef, def *campaign.Definition, dest *models.Destination, cust *models.Customer) ([]byte, error) {
	p := WebhookPayload{
		ID: ref.EnrollmentID + ":" + ref.StepID, Type: "lift.flow.webhook", CustomerID: ref.CustomerID, Campaign: def.ID,
		Version: ref.Version, Step: ref.StepID, Variant: ref.Variant, EnrollmentID: ref.EnrollmentID,
		Channel: dest.Channel, SentAt: a.now(),
	}
	if dest.IncludeEmail {
		p.Email, p.Name = cust.Email, cust.Name
	}
	if ref.TriggerEventID != "" {
		ev, err := a.Store.GetEvent(ctx, ref.TriggerEventID)
		switch {
		case err == nil:
			p.Trigger = &WebhookTrigger{ID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt.UTC()}
			if p.Trigger.Order, err = a.webhookOrder(ctx, ev); err != nil {
				return nil, err
			}
		case !errs.Is(err, errs.NotFound):
			return nil, err
		}
	}
	e, err := a.engagement(ctx, ref.EnrollmentID)
	if err != nil {
		return nil, err
	}
	p.Engagement = e
	return json.Marshal(p)
}

// webhookOrder is the order a purchase event recorded, or nil.
func (a *App) webhookOrder(ctx context.Context, ev *models.Event) (*WebhookOrder, error) {
	id, _ := ev.Properties["order_id"].(string)
	if ev.Type != campaign.EventPurchase || id == "" {
		return nil, nil
	}
	o, err := a.Store.GetOrder(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &WebhookOrder{ID: o.ID, Revenue: money.Major(float64(o.RevenueMinor), o.Currency), Currency: o.Currency, Items: []WebhookOrderItem{}}
	skus := make([]string, len(o.Items))
	for i, it := range o.Items {
		skus[i] = it.SKU
	}
	products, err := a.Store.GetProducts(ctx, skus)
	if err != nil {
		return nil, err
	}
	for _, it := range o.Items {
		out.Items = append(out.Items, WebhookOrderItem{SKU: it.SKU, Name: products[it.SKU].Name, Quantity: it.Quantity,
			Price: money.Major(float64(it.PriceMinor), o.Currency)})
	}
	return out, nil
}

// statusForbidden is post's status for an address Lift refused to
// connect to: not retried.
const statusForbidden = -1

// post sends one attempt and returns the status (0 when there was no
// answer, statusForbidden when the address is one Lift never posts to)
// and, for anything but a 2xx, what went wrong: never the URL (it may
// hold a token) nor the answer's body (it may echo the request).
func (a *App) post(ctx context.Context, dest *models.Destination, ref workflows.StepRef, body []byte, attempt int) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lift-Webhooks/1")
	req.Header.Set(HeaderSignature, SignWebhook(dest.Secret, a.now(), body))
	req.Header.Set(HeaderIdempotency, ref.EnrollmentID+":"+ref.StepID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	client := a.WebhookHTTP
	if client == nil {
		a.webhookOnce.Do(func() { a.webhook = a.webhookClient() })
		client = a.webhook
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL stays out of logs, history and the store
		}
		if errors.Is(err, errForbiddenAddress) {
			return statusForbidden, "refused: " + errForbiddenAddress.Error()
		}
		return 0, "no answer: " + NetError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// NetError says what kind of network failure err is, in words that name
// no host, address or URL: those may carry a token, and a stored error or
// a log line outlives the destination.
func NetError(err error) string {
	var dns *net.DNSError
	var netErr net.Error
	var tlsErr *tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "the host name does not resolve"
	case errors.As(err, &dns):
		return "the host name could not be looked up"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.As(err, &certErr):
		return "the TLS certificate does not verify"
	case errors.As(err, &tlsErr):
		return "the TLS handshake failed"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "the network or host is unreachable"
	}
	return "a network error"
}

// MaskURL shows a URL's scheme and host, not its path or query, which
// often hold a token (a Slack-style hook): what a key that may not manage
// destinations sees.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	if u.Path == "" && u.RawQuery == "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// EvaluateBranch decides a branch step for an enrolment by the facts now
// (see FlowFacts): then when its if holds.
func (a *App) EvaluateBranch(ctx context.Context, ref workflows.StepRef) (workflows.BranchOutcome, error) {
	def, err := a.defs.Version(ctx, ref.CampaignID, ref.Version)
	if err != nil {
		return workflows.BranchOutcome{}, err
	}
	step, ok := def.StepByID(ref.StepID)
	if !ok || step.Branch == nil {
		return workflows.BranchOutcome{}, errs.E(errs.Invalid, "campaign %s v%d has no branch step %s", ref.CampaignID, ref.Version, ref.StepID)
	}
	facts, err := a.FlowFacts(ctx, ref.EnrollmentID)
	if err != nil {
		return workflows.BranchOutcome{}, err
	}
	cond := campaign.Describe(step.Branch.If)
	if campaign.Match(step.Branch.If, facts) {
		return workflows.BranchOutcome{Then: true, Reason: "then: " + cond + " held"}, nil
	}
	return workflows.BranchOutcome{Reason: "else: " + cond + " did not hold"}, nil
}

// signalWaits ends the customer's running waits for this event: for each
// running enrolment (but those it started) whose campaign version has a
// wait_for the event matches, a flow_event signal names those waits.
func (a *App) signalWaits(ctx context.Context, ev *models.Event, cust *models.Customer, res *EventResult) error {
	running, err := a.Store.RunningEnrollments(ctx, cust.ID)
	if err != nil || len(running) == 0 {
		return err
	}
	started := map[string]bool{}
	for _, s := range res.Started {
		started[s.EnrollmentID] = true
	}
	var facts campaign.Facts
	for _, e := range running {
		if started[e.ID] || e.EnrolledAt.After(ev.OccurredAt) {
			continue
		}
		def, err := a.defs.Version(ctx, e.CampaignID, e.Version)
		if err != nil {
			return err
		}
		if !def.HasFlow() {
			continue
		}
		if facts == nil {
			if facts, err = a.facts(ctx, ev, cust, nil); err != nil {
				return err
			}
		}
		waits := def.WaitsFor(ev.Type, "", facts)
		if len(waits) == 0 {
			continue
		}
		err = a.Sequences.SignalFlow(ctx, e.WorkflowID, workflows.FlowEvent{Steps: waits, Type: ev.Type, EventID: ev.ID, At: ev.OccurredAt.UTC()})
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		res.Signalled = append(res.Signalled, SignalledSeq{CampaignID: e.CampaignID, WorkflowID: e.WorkflowID, Signal: workflows.SignalFlowEvent})
	}
	return nil
}

// signalEngagement ends the waits for a click or open of the message's
// step in the message's own enrolment.
func (a *App) signalEngagement(ctx context.Context, msg *models.Message, what string, at time.Time) error {
	if msg.EnrollmentID == "" {
		return nil
	}
	enr, err := a.Store.GetEnrollment(ctx, msg.EnrollmentID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil || enr.Status != domain.StatusRunning {
		return err
	}
	def, err := a.defs.Version(ctx, enr.CampaignID, enr.Version)
	if err != nil || !def.HasFlow() {
		return err
	}
	waits := def.WaitsFor(what, msg.StepID, campaign.Facts{})
	if len(waits) == 0 {
		return nil
	}
	err = a.Sequences.SignalFlow(ctx, enr.WorkflowID, workflows.FlowEvent{Steps: waits, Type: what + " of " + msg.StepID, At: at.UTC()})
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	return err
}

// RecordEngagement records an open or a click of a sent message as
// SendGrid's event webhook would, and tells the waits that wait for it:
// lift dev's outbox offers it, so flows that branch on engagement can be
// driven without SendGrid. Only the first of each is kept.
func (a *App) RecordEngagement(ctx context.Context, messageID, event string) error {
	if event != campaign.WaitOpen && event != campaign.WaitClick {
		return errs.Field(errs.Invalid, "event", "must be %q or %q", campaign.WaitOpen, campaign.WaitClick)
	}
	msg, err := a.Store.GetMessage(ctx, messageID)
	if err != nil {
		return err
	}
	if msg.Status != domain.MessageSent {
		return errs.E(errs.Conflict, "message %s is %s: only a sent email is opened or clicked", messageID, msg.Status)
	}
	now := a.now()
	opened, clicked := &now, (*time.Time)(nil)
	if event == campaign.WaitClick {
		opened, clicked = nil, &now
	}
	if err := a.Store.UpdateDelivery(ctx, msg.ID, "", opened, clicked); err != nil {
		return err
	}
	return a.signalEngagement(ctx, msg, event, now)
}
