package api

import (
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// MessageResponse is a message without its bodies.
type MessageResponse struct {
	ID            string               `json:"id"`
	EnrollmentID  string               `json:"enrollment_id"`
	CustomerID    string               `json:"customer_id"`
	CampaignID    string               `json:"campaign_id"`
	StepID        string               `json:"step_id"`
	Variant       string               `json:"variant"`
	Status        domain.MessageStatus `json:"status"`
	Subject       string               `json:"subject,omitempty"`
	Recommended   []string             `json:"recommended"`
	Reasons       map[string]string    `json:"reasons,omitempty"`
	RecommendNote string               `json:"recommend_note,omitempty"`
	// Strategy is the recommendation strategy that answered, after any
	// fallback.
	Strategy          string     `json:"strategy,omitempty"`
	Provider          string     `json:"provider,omitempty"`
	ProviderMessageID string     `json:"provider_message_id,omitempty"`
	Error             string     `json:"error,omitempty"`
	SentAt            *time.Time `json:"sent_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	HTMLURL           string     `json:"html_url"`
}

// MessageDetail adds the plain-text body.
type MessageDetail struct {
	MessageResponse
	Preheader string            `json:"preheader,omitempty"`
	Text      string            `json:"text,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
}

func messageResponse(m *models.Message) MessageResponse {
	rec := m.Recommended
	if rec == nil {
		rec = []string{}
	}
	return MessageResponse{
		ID: m.ID, EnrollmentID: m.EnrollmentID, CustomerID: m.CustomerID, CampaignID: m.CampaignID,
		StepID: m.StepID, Variant: m.Variant, Status: m.Status, Subject: m.Subject, Recommended: rec,
		Reasons: m.Reasons, RecommendNote: m.RecommendNote, Strategy: m.Strategy,
		Provider: m.Provider, ProviderMessageID: m.ProviderMessageID, Error: m.Error, SentAt: m.SentAt,
		CreatedAt: m.CreatedAt, HTMLURL: "/v1/messages/" + m.ID + "/html",
	}
}

func messageDetail(m *models.Message) MessageDetail {
	return MessageDetail{MessageResponse: messageResponse(m), Preheader: m.Preheader, Text: m.Text, Headers: m.Headers}
}

func (h *handlers) listMessages(c *gin.Context) {
	ms, err := h.App.Messages(c.Request.Context(), models.MessageFilter{
		CustomerID: c.Query("customer_id"), CampaignID: c.Query("campaign_id"),
	})
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	out := make([]MessageResponse, 0, len(ms))
	for i := range ms {
		out = append(out, messageResponse(&ms[i]))
		about(c, ms[i].CustomerID)
	}
	c.JSON(http.StatusOK, gin.H{"messages": out})
}

// ResolveRequest is the body of POST /v1/messages/{id}/resolve.
type ResolveRequest struct {
	Outcome string `json:"outcome"` // sent or not_sent
}

// resolveMessage settles a held message; see app.ResolveMessage.
func (h *handlers) resolveMessage(c *gin.Context) {
	var req ResolveRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if err := h.App.ResolveMessage(c.Request.Context(), c.Param("id"), req.Outcome); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	m, err := h.App.Message(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, m.CustomerID)
	c.JSON(http.StatusOK, messageResponse(m))
}

func (h *handlers) getMessage(c *gin.Context) {
	m, err := h.App.Message(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, m.CustomerID)
	c.JSON(http.StatusOK, messageDetail(m))
}

// getMessageHTML serves the email exactly as rendered. The CSP forbids
// scripts: this is customer-facing content shown in an operator's browser.
func (h *handlers) getMessageHTML(c *gin.Context) {
	m, err := h.App.Message(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	about(c, m.CustomerID)
	c.Header("Content-Security-Policy", "default-src 'none'; img-src * data:; style-src 'unsafe-inline'")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(m.HTML))
}

var outboxTmpl = template.Must(template.New("outbox").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Lift outbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#18181b}table{border-collapse:collapse}
td,th{padding:.4rem .8rem;border-bottom:1px solid #e4e4e7;text-align:left}</style></head>
<body><h1>Lift outbox</h1><p>Emails the outbox mailer has stored (development only, newest first; refreshes every 5 s).</p>
<table><tr><th>Created</th><th>Customer</th><th>Campaign</th><th>Step</th><th>Status</th><th>Subject</th><th>Delivered</th><th>Opened</th><th>Clicked</th><th>As the recipient</th></tr>
{{range .}}<tr id="m-{{.ID}}"><td>{{.CreatedAt.Format "2006-01-02 15:04:05"}}</td><td>{{.CustomerID}}</td><td>{{.CampaignID}}</td><td>{{.StepID}}</td>
<td>{{.Status}}{{if .Error}}: {{.Error}}{{end}}</td><td>{{if .Subject}}<a href="/dev/outbox/{{.ID}}">{{.Subject}}</a>{{end}}</td>
<td class="delivered">{{if .Delivery}}{{.Delivery}}{{else if .SentAt}}sent {{.SentAt.Format "2006-01-02 15:04:05"}}{{end}}</td>
<td class="opened">{{with .OpenedAt}}{{.Format "2006-01-02 15:04:05"}}{{end}}</td>
<td class="clicked">{{with .ClickedAt}}{{.Format "2006-01-02 15:04:05"}}{{end}}</td>
<td>{{if eq .Status "sent"}}{{if not .OpenedAt}}<form method="post" action="/dev/outbox/{{.ID}}/open" style="display:inline"><button>Open</button></form>{{end}}
{{if not .ClickedAt}}<form method="post" action="/dev/outbox/{{.ID}}/click" style="display:inline"><button>Click</button></form>{{end}}{{end}}</td></tr>
{{else}}<tr><td colspan="10">No emails yet.</td></tr>{{end}}</table>
<p>Times are UTC. A click is also an open in the reports (with images off, no open is seen).</p></body></html>`))

// engageMessage opens or clicks a sent email as its recipient would
// (lift dev only, from this machine): SendGrid's event webhook is what
// records engagement in production. Another site's page cannot post it:
// a browser's cross-site request says so in Sec-Fetch-Site.
func (h *handlers) engageMessage(c *gin.Context) {
	site := c.GetHeader("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		writeError(c, h.Logger, errs.E(errs.Forbidden, "only the outbox page, or a client on this machine, may do this"))
		return
	}
	if err := h.App.RecordEngagement(c.Request.Context(), c.Param("id"), c.Param("event")); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if site != "" {
		c.Redirect(http.StatusSeeOther, "/dev/outbox")
		return
	}
	c.JSON(http.StatusOK, gin.H{"message_id": c.Param("id"), "event": c.Param("event")})
}

// localOnly hides the dev outbox, which needs no key, from anything but
// the machine it runs on: the connection must come from a loopback
// address and name a loopback host, so a web page cannot read it through
// a DNS name rebound to 127.0.0.1.
func (h *handlers) localOnly(c *gin.Context) {
	host, _, err := net.SplitHostPort(c.Request.Host)
	if err != nil {
		host = c.Request.Host
	}
	if ip := net.ParseIP(c.RemoteIP()); ip == nil || !ip.IsLoopback() || !loopbackHost(host) {
		writeError(c, h.Logger, errRoute)
		return
	}
	c.Next()
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// outboxPage lists the newest stored emails for lift dev.
func (h *handlers) outboxPage(c *gin.Context) {
	ms, err := h.App.Messages(c.Request.Context(), models.MessageFilter{Limit: 200, NewestFirst: true})
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	_ = outboxTmpl.Execute(c.Writer, ms)
}
