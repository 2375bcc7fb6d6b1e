package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
)

// audited are the routes whose successful answers go into the audit log:
// the reads of a customer's personal data and the admin actions. param is
// the path parameter naming the subject; the customers a handler says it
// answered about (about) are subjects too.
var audited = map[string]struct{ action, param string }{
	"GET /v1/customers/:id":                               {app.AuditCustomerRead, "id"},
	"GET /v1/customers/:id/export":                        {app.AuditCustomerExport, "id"},
	"DELETE /v1/customers/:id":                            {app.AuditCustomerErase, "id"},
	"POST /v1/campaigns/:id/preview":                      {app.AuditPreview, ""},
	"POST /v1/campaigns/:id/test-send":                    {app.AuditTestSend, ""},
	"GET /v1/messages/:id":                                {app.AuditMessageRead, "id"},
	"GET /v1/messages/:id/html":                           {app.AuditMessageRead, "id"},
	"GET /v1/campaigns/:id/segments/opened-not-converted": {app.AuditAudienceExport, "id"},
	"POST /v1/campaigns/:id/publish":                      {app.AuditCampaignPublish, "id"},
	"POST /v1/campaigns/:id/experiments/:exp/conclude":    {app.AuditExperimentConclude, "id"},
	"POST /v1/api-keys":                                   {app.AuditKeyCreate, ""},
	"DELETE /v1/api-keys/:id":                             {app.AuditKeyRevoke, "id"},
}

// audit records a successful audited request: the key, the action, the
// subjects' IDs and the time; never the data.
func (h *handlers) audit(c *gin.Context) {
	c.Next()
	a, ok := audited[c.Request.Method+" "+c.FullPath()]
	if !ok || c.Writer.Status() >= http.StatusBadRequest {
		return
	}
	var subjects []string
	if a.param != "" {
		subjects = append(subjects, c.Param(a.param))
	}
	subjects = append(subjects, c.GetStringSlice(ctxKeySubjects)...)
	if s := c.GetString(ctxKeyAuditSubject); s != "" {
		subjects = append(subjects, s)
	}
	slices.Sort(subjects)
	h.record(c, a.action, slices.Compact(subjects)...)
}

// record writes audit entries; the request has been answered, so a
// failure is logged, not returned.
func (h *handlers) record(c *gin.Context, action string, subjects ...string) {
	p := principal(c)
	if p == nil {
		return
	}
	if err := h.App.Audit(context.WithoutCancel(c.Request.Context()), p.KeyID, action, subjects...); err != nil {
		h.Logger.Error("audit entry not recorded", "action", action, "key", p.KeyID, "err", err)
	}
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
