// Package sendgridfake is a SendGrid stand-in for tests and demos: an HTTP
// server that checks /v3/mail/send requests the way SendGrid documents
// them, answers 202 with an X-Message-Id, records what it accepted, injects
// faults on demand, and posts signed Event Webhook batches back.
package sendgridfake

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// Fault is what the fake does with one request instead of accepting it.
type Fault struct {
	Status int           // answer with this status and a SendGrid error body (429 adds rate-limit headers)
	Delay  time.Duration // wait this long before answering
	// DropAfterAccept accepts the message (it counts as sent, and its
	// processed event is posted) but closes the connection without an
	// answer: the caller cannot know it was accepted.
	DropAfterAccept bool
	// HangAfterAccept accepts the message and then never answers, like a
	// process that dies before reading SendGrid's 202.
	HangAfterAccept bool
	// DropBeforeAccept closes the connection without an answer and without
	// accepting the message: the caller cannot know it was not sent.
	DropBeforeAccept bool
	// EventDelay holds the message's webhook events back this long.
	EventDelay time.Duration
}

// Accepted is one message the fake accepted.
type Accepted struct {
	XMessageID string
	Body       map[string]any
	CustomArgs map[string]string
	To         string
	Subject    string
	Headers    map[string]string
	At         time.Time
}

// Server is a running fake.
type Server struct {
	srv *http.Server
	url string
	key *ecdsa.PrivateKey

	mu       sync.Mutex
	faults   []Fault
	rules    []rule
	accepted []Accepted
	requests int
	// WebhookURL, when set, receives a signed "processed" and "delivered"
	// event for every accepted message, as SendGrid's Event Webhook does.
	webhookURL  string
	webhookDown bool
	closed      chan struct{}
}

// Start runs a fake on a free loopback port.
func Start() (*Server, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{key: key, url: "http://" + l.Addr().String(), closed: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// URL is the base URL to give sendgrid-go (SENDGRID_BASE_URL).
func (s *Server) URL() string { return s.url }

// Close stops the fake.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
		_ = s.srv.Close()
	}
}

// SetWebhookDown stops (true) or resumes (false) the delivery of events,
// like an outage between SendGrid and the receiver: events are kept and
// retried, and delivered once it is over.
func (s *Server) SetWebhookDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookDown = down
}

// PublicKey is the base64 key to verify the fake's webhooks with, in the
// form SendGrid shows it (SENDGRID_WEBHOOK_PUBLIC_KEY).
func (s *Server) PublicKey() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return base64.StdEncoding.EncodeToString(der)
}

// SetWebhook makes the fake post events for accepted messages to url.
func (s *Server) SetWebhook(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = url
}

// Inject queues faults for the next requests, one each.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

type rule struct {
	to, step string
	fault    Fault
	used     bool
}

// InjectFor makes the first request to the address for the step (the
// "step_id" custom arg) meet the fault; other requests are unaffected.
func (s *Server) InjectFor(to, step string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, rule{to: to, step: step, fault: f})
}

// AcceptedFor returns the messages accepted for an address.
func (s *Server) AcceptedFor(to string) []Accepted {
	var out []Accepted
	for _, a := range s.Accepted() {
		if a.To == to {
			out = append(out, a)
		}
	}
	return out
}

// Accepted returns the messages accepted so far.
func (s *Server) Accepted() []Accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Accepted(nil), s.accepted...)
}

// Requests counts the /v3/mail/send requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		sgError(w, http.StatusNotFound, "resource not found", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 31<<20))
	if err != nil {
		sgError(w, http.StatusBadRequest, "could not read the request body", "")
		return
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req) // validated below
	to, step := recipientAndStep(req)
	s.mu.Lock()
	s.requests++
	var fault Fault
	matched := false
	for i := range s.rules {
		if rl := &s.rules[i]; !rl.used && rl.to == to && rl.step == step {
			rl.used, fault, matched = true, rl.fault, true
			break
		}
	}
	if !matched && len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		sgError(w, http.StatusUnauthorized, "The provided authorization grant is invalid, expired, or revoked", "")
		return
	}
	if len(body) > 30<<20 {
		sgError(w, http.StatusRequestEntityTooLarge, "the request is larger than 30 MB", "")
		return
	}
	if fault.DropBeforeAccept {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	switch {
	case fault.Status == http.StatusTooManyRequests:
		w.Header().Set("X-RateLimit-Limit", "600")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10))
		sgError(w, fault.Status, "too many requests", "")
		return
	case fault.Status != 0:
		sgError(w, fault.Status, http.StatusText(fault.Status), "")
		return
	}
	if req == nil {
		sgError(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	acc, field, msg := validate(req)
	if msg != "" {
		sgError(w, http.StatusBadRequest, msg, field)
		return
	}
	sandbox := false
	if ms, ok := req["mail_settings"].(map[string]any); ok {
		if sm, ok := ms["sandbox_mode"].(map[string]any); ok {
			sandbox, _ = sm["enable"].(bool)
		}
	}
	if sandbox {
		w.WriteHeader(http.StatusOK) // sandbox mode validates and delivers nothing
		return
	}
	acc.XMessageID = newID()
	acc.Body, acc.At = req, time.Now()
	s.mu.Lock()
	s.accepted = append(s.accepted, acc)
	hook := s.webhookURL
	s.mu.Unlock()
	if hook != "" {
		go s.postLifecycle(hook, acc, fault.EventDelay)
	}
	if fault.HangAfterAccept {
		<-r.Context().Done()
		return
	}
	if fault.DropAfterAccept {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	w.Header().Set("X-Message-Id", acc.XMessageID)
	w.WriteHeader(http.StatusAccepted)
}

func recipientAndStep(req map[string]any) (to, step string) {
	ps, _ := req["personalizations"].([]any)
	if len(ps) == 0 {
		return "", ""
	}
	p, _ := ps[0].(map[string]any)
	if tos, _ := p["to"].([]any); len(tos) > 0 {
		if t, ok := tos[0].(map[string]any); ok {
			to, _ = t["email"].(string)
		}
	}
	if args, ok := p["custom_args"].(map[string]any); ok {
		step, _ = args["step_id"].(string)
	}
	return to, step
}

// validate checks the documented required fields and limits.
func validate(req map[string]any) (acc Accepted, field, msg string) {
	from, _ := req["from"].(map[string]any)
	if e, _ := from["email"].(string); !strings.Contains(e, "@") {
		return acc, "from.email", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter."
	}
	ps, _ := req["personalizations"].([]any)
	if len(ps) == 0 || len(ps) > 1000 {
		return acc, "personalizations", "The personalizations field is required and must have at least one personalization."
	}
	p, _ := ps[0].(map[string]any)
	tos, _ := p["to"].([]any)
	if len(tos) == 0 {
		return acc, "personalizations.0.to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address."
	}
	to, _ := tos[0].(map[string]any)
	acc.To, _ = to["email"].(string)
	acc.Subject, _ = req["subject"].(string)
	if s, _ := p["subject"].(string); s != "" {
		acc.Subject = s
	}
	if acc.Subject == "" {
		return acc, "subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
	}
	content, _ := req["content"].([]any)
	if len(content) == 0 {
		return acc, "content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block."
	}
	acc.CustomArgs = map[string]string{}
	args, _ := p["custom_args"].(map[string]any)
	size := 0
	for k, v := range args {
		sv, _ := v.(string)
		acc.CustomArgs[k] = sv
		size += len(k) + len(sv)
	}
	if size > 10000 {
		return acc, "personalizations.0.custom_args", "The total size of your custom arguments must be less than 10000 bytes."
	}
	if cats, _ := req["categories"].([]any); len(cats) > 10 {
		return acc, "categories", "Too many categories: at most 10."
	}
	acc.Headers = map[string]string{}
	if hs, ok := req["headers"].(map[string]any); ok {
		for k, v := range hs {
			acc.Headers[k], _ = v.(string)
		}
	}
	return acc, "", ""
}

func sgError(w http.ResponseWriter, status int, message, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var f any
	if field != "" {
		f = field
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": message, "field": f, "help": nil}}})
}

// postLifecycle posts "processed" then "delivered" for an accepted message,
// as SendGrid does, echoing the custom args at the top level. Like
// SendGrid, it retries until the receiver answers 2xx: here for a minute
// after the last outage (SetWebhookDown), or until the fake is closed.
func (s *Server) postLifecycle(url string, acc Accepted, delay time.Duration) {
	select {
	case <-time.After(delay):
	case <-s.closed:
		return
	}
	events := []map[string]any{s.Event(acc, "processed"), s.Event(acc, "delivered")}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		s.mu.Lock()
		down := s.webhookDown
		s.mu.Unlock()
		if down {
			deadline = time.Now().Add(time.Minute)
		} else if resp, err := s.PostEvents(context.Background(), url, events); err == nil && resp.StatusCode/100 == 2 {
			return
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-s.closed:
			return
		}
	}
}

// Event builds a SendGrid event of the given type about an accepted
// message, with a fresh sg_event_id.
func (s *Server) Event(acc Accepted, kind string) map[string]any {
	ev := map[string]any{
		"email": acc.To, "timestamp": time.Now().Unix(), "event": kind,
		"sg_event_id": newID(), "sg_message_id": acc.XMessageID + ".filterdrecv-5645d9c87f-6r4tm-1-64F8A9F1-3.0",
		"smtp-id": "<" + acc.XMessageID + "@geopod-ismtpd-1>",
	}
	for k, v := range acc.CustomArgs {
		ev[k] = v
	}
	return ev
}

// PostEvents signs a batch of events the way SendGrid does (ECDSA P-256
// over the timestamp followed by the body) and posts it to url.
func (s *Server) PostEvents(ctx context.Context, url string, events []map[string]any) (*http.Response, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(eventwebhook.TimestampHTTPHeader, ts)
	req.Header.Set(eventwebhook.VerificationHTTPHeader, s.Sign(ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// Sign returns the base64 signature SendGrid would send for ts and body.
func (s *Server) Sign(ts string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h.Sum(nil))
	if err != nil {
		panic(fmt.Sprintf("sign: %v", err))
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func newID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
