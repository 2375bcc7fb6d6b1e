package api

import (
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/unsub"
)

// The unsubscribe endpoints need no login: the signed token is the
// credential. GET only shows a page (link scanners prefetch links); POST
// unsubscribes, at once, with no redirect and no confirmation step
// (RFC 8058).

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Done}}Unsubscribed{{else}}Unsubscribe{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#18181b;line-height:1.5}
button{display:block;width:100%;min-height:44px;margin:.75rem 0;font-size:1rem;border-radius:6px;border:1px solid #2563eb;background:#fff;color:#2563eb;cursor:pointer}
button.all{background:#2563eb;color:#fff}</style></head><body>
{{if .Done}}<h1>You're unsubscribed</h1><p>{{.Done}}</p>
{{else}}<h1>Unsubscribe</h1><p>Choose what to stop. It takes effect at once.</p>
<form method="post">{{if .Campaign}}<button name="scope" value="campaign">Stop this sequence</button>{{end}}
<button class="all" name="scope" value="all">Stop all marketing email</button></form>{{end}}
</body></html>`))

type unsubscribeView struct {
	Campaign string
	Done     string
}

func (h *handlers) parseToken(c *gin.Context) (unsub.Scope, bool) {
	sc, err := h.App.VerifyUnsubscribe(c.Param("token"))
	if err != nil {
		writeError(c, h.Logger, err)
		return sc, false
	}
	return sc, true
}

// unsubscribeForm shows the choice; it never changes anything.
func (h *handlers) unsubscribeForm(c *gin.Context) {
	sc, ok := h.parseToken(c)
	if !ok {
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	_ = unsubscribePage.Execute(c.Writer, unsubscribeView{Campaign: sc.CampaignID})
}

// unsubscribePost unsubscribes. A body of "List-Unsubscribe=One-Click" is a
// mailbox provider's one-click request and uses the token's scope; the
// page's buttons send scope=campaign or scope=all.
func (h *handlers) unsubscribePost(c *gin.Context) {
	sc, ok := h.parseToken(c)
	if !ok {
		return
	}
	// Gin reads url-encoded and multipart bodies alike; providers send both.
	oneClick := c.PostForm("List-Unsubscribe") == "One-Click"
	switch scope := c.PostForm("scope"); {
	case oneClick:
	case scope == "all":
		sc.CampaignID = ""
	case scope == "campaign" && sc.CampaignID != "":
	default:
		writeError(c, h.Logger, errs.Field(errs.Malformed, "scope", `send List-Unsubscribe=One-Click, or scope=campaign or scope=all`))
		return
	}
	if err := h.App.Unsubscribe(c.Request.Context(), sc); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if oneClick {
		c.String(http.StatusOK, "unsubscribed\n")
		return
	}
	done := "You will get no more marketing email from us."
	if sc.CampaignID != "" {
		done = "You will get no more emails from this sequence."
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribePage.Execute(c.Writer, unsubscribeView{Done: done})
}
