package api

import (
	"bytes"
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/errs"
)

// auditRule says what a route records: its action, the path parameter
// naming the subject ("" for none; the customers a handler says it
// answered about (about) are subjects too), and its kind.
type auditRule struct {
	action, param string
	// read routes show personal data: their answer is held back until
	// the entries are stored, and a failure to store them shows nothing.
	// Actions are recorded once done (a failure is logged: the action
	// cannot be undone by hiding its answer).
	read bool
	// stream routes record as they stream (the audience export).
	stream bool
}

// audited are the routes whose successful answers go into the audit log:
// the reads of a customer's personal data and the admin actions.
var audited = map[string]auditRule{
	"GET /v1/customers/:id":                               {action: app.AuditCustomerRead, param: "id", read: true},
	"GET /v1/customers/:id/export":                        {action: app.AuditCustomerExport, param: "id", read: true},
	"GET /v1/customers/:id/journeys":                      {action: app.AuditJourneyRead, param: "id", read: true},
	"POST /v1/campaigns/:id/preview":                      {action: app.AuditPreview, read: true},
	"POST /v1/campaigns/:id/test-send":                    {action: app.AuditTestSend, read: true},
	"GET /v1/messages":                                    {action: app.AuditMessageRead, read: true},
	"GET /v1/messages/:id":                                {action: app.AuditMessageRead, param: "id", read: true},
	"GET /v1/messages/:id/html":                           {action: app.AuditMessageRead, param: "id", read: true},
	"GET /v1/campaigns/:id/segments/opened-not-converted": {action: app.AuditAudienceExport, stream: true},
	"DELETE /v1/customers/:id":                            {action: app.AuditCustomerErase, param: "id"},
	"POST /v1/campaigns/:id/publish":                      {action: app.AuditCampaignPublish, param: "id"},
	"POST /v1/campaigns/:id/experiments/:exp/conclude":    {action: app.AuditExperimentConclude, param: "id"},
	"POST /v1/api-keys":                                   {action: app.AuditKeyCreate},
	"DELETE /v1/api-keys/:id":                             {action: app.AuditKeyRevoke, param: "id"},
	"POST /v1/messages/:id/resolve":                       {action: app.AuditMessageResolve, param: "id"},
	"POST /v1/imports/:kind":                              {action: app.AuditImport},
	"PUT /v1/destinations/:id":                            {action: app.AuditDestinationPut, param: "id"},
}

// audit records a successful audited request: the key, the action, the
// subjects' IDs and the time; never the data.
func (h *handlers) audit(c *gin.Context) {
	a, ok := audited[c.Request.Method+" "+c.FullPath()]
	if !ok || a.stream {
		c.Next()
		return
	}
	var held *heldResponse
	if a.read {
		held = &heldResponse{ResponseWriter: c.Writer}
		c.Writer = held
	}
	c.Next()
	var err error
	if c.Writer.Status() < http.StatusBadRequest {
		var subjects []string
		if a.param != "" {
			subjects = append(subjects, c.Param(a.param))
		}
		subjects = append(subjects, c.GetStringSlice(ctxKeySubjects)...)
		if s := c.GetString(ctxKeyAuditSubject); s != "" {
			subjects = append(subjects, s)
		}
		slices.Sort(subjects)
		err = h.record(c, a.action, slices.Compact(subjects)...)
	}
	if held == nil {
		return
	}
	c.Writer = held.ResponseWriter
	if err != nil {
		for k := range c.Writer.Header() {
			c.Writer.Header().Del(k)
		}
		writeError(c, h.Logger, errs.E(errs.Unavailable, "the access could not be recorded in the audit log, so nothing is shown; retry"))
		return
	}
	held.release()
}

// record writes audit entries under the request's key; a failure is
// logged and returned.
func (h *handlers) record(c *gin.Context, action string, subjects ...string) error {
	p := principal(c)
	if p == nil || len(subjects) == 0 {
		return nil
	}
	err := h.App.Audit(context.WithoutCancel(c.Request.Context()), p.KeyID, action, subjects...)
	if err != nil {
		h.Logger.Error("audit entry not recorded", "action", action, "key", p.KeyID, "err", err)
	}
	return err
}

// heldResponse keeps an answer back until it may be released.
type heldResponse struct {
	gin.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *heldResponse) WriteHeader(code int) {
	if code > 0 {
		w.status = code
	}
}
func (w *heldResponse) WriteHeaderNow() {}
func (w *heldResponse) Flush()          {}
func (w *heldResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *heldResponse) WriteString(s string) (int, error) { return w.Write([]byte(s)) }
func (w *heldResponse) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
func (w *heldResponse) Written() bool { return w.status != 0 }
func (w *heldResponse) Size() int {
	if w.status == 0 {
		return -1
	}
	return w.body.Len()
}

// release sends the held answer.
func (w *heldResponse) release() {
	w.ResponseWriter.WriteHeader(w.Status())
	w.ResponseWriter.WriteHeaderNow()
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
}

// ctxKeyAuditSubject names a subject only the handler knows (a new key).
const ctxKeyAuditSubject = "lift.audit_subject"

// AuditQuery is GET /v1/audit-log's query; see app.AuditQuery.
func (h *handlers) auditLog(c *gin.Context) {
	h.respond(c, http.StatusOK)(h.App.AuditLog(c.Request.Context(), app.AuditQuery{
		KeyID: c.Query("key_id"), Action: c.Query("action"), Subject: c.Query("subject_id"),
		From: c.Query("from"), To: c.Query("to"), Before: c.Query("before"), Limit: c.Query("limit"),
	}))
}
