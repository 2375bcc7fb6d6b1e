package api

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// The console is a small server-rendered UI for marketers: campaigns,
// their experiments and reports, previews, and links into the Temporal
// Web UI. It is html/template over the same handlers the API uses; no
// JavaScript build. Sign-in is with an API key and opens a server-side
// session: signing out, or revoking the key, ends it.

//go:embed console/*.html
var consoleFS embed.FS

var consoleTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"pct":   func(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + " %" },
	"money": func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) },
	"ferr":  func(m map[string]string, key string) string { return m[key] },
	"inc":   func(i int) int { return i + 1 },
	// bar and barw place a rate and its interval on a 0–100 % track.
	"bar": func(x float64) string { return strconv.FormatFloat(max(0, min(100, 100*x)), 'f', 1, 64) },
	"barw": func(lo, hi float64) string {
		return strconv.FormatFloat(max(0, min(100, 100*hi)-max(0, 100*lo)), 'f', 1, 64)
	},
	"pval": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p, 'g', 3, 64)
	},
}).ParseFS(consoleFS, "console/*.html"))

// sessionCookie holds a console session's random token; the session
// itself is kept server-side (app.SignIn).
const sessionCookie = "lift_console"

// csrfToken binds a form to the session: SameSite=Strict already keeps
// other sites' forms out; this is the second lock. It is a MAC under the
// session's own secret token, so it needs no key of its own.
func (h *handlers) csrfToken(c *gin.Context) string {
	cookie, _ := c.Cookie(sessionCookie)
	if cookie == "" {
		return ""
	}
	mac := hmac.New(sha256.New, []byte(cookie))
	mac.Write([]byte("lift console csrf"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// consoleAuth lets open sessions through and sends everyone else to the
// sign-in page; posted forms must carry the session's CSRF token.
func (h *handlers) consoleAuth(c *gin.Context) {
	cookie, _ := c.Cookie(sessionCookie)
	p, err := h.App.SessionPrincipal(c.Request.Context(), cookie)
	if err != nil {
		if e, ok := errs.As(err); !ok || e.Code != errs.Unauthorized {
			h.consoleError(c, err)
			c.Abort()
			return
		}
		c.Redirect(http.StatusSeeOther, "/console/login")
		c.Abort()
		return
	}
	c.Set(ctxKeyPrincipal, p)
	if c.Request.Method == http.MethodPost && !hmac.Equal([]byte(c.PostForm("csrf")), []byte(h.csrfToken(c))) {
		h.consolePage(c, http.StatusForbidden, "message", gin.H{"Title": "Forbidden", "Message": "The form has expired: reload the page and try again."})
		c.Abort()
		return
	}
	c.Next()
}

func (h *handlers) consoleLoginForm(c *gin.Context) {
	h.consolePage(c, http.StatusOK, "login", gin.H{"Title": "Sign in"})
}

func (h *handlers) consoleLogin(c *gin.Context) {
	// No session exists yet to carry a CSRF token: a sign-in posted from
	// another site (login CSRF, which would sign the browser into the
	// attacker's key) is told apart by what the browser says of it.
	if !h.sameOrigin(c) {
		h.consolePage(c, http.StatusForbidden, "message", gin.H{"Title": "Forbidden", "Message": "Sign in from the console's own page."})
		return
	}
	key := strings.TrimSpace(c.PostForm("api_key"))
	if c.GetHeader("X-Forwarded-For") != "" && c.ClientIP() == c.RemoteIP() && h.xffWarned.CompareAndSwap(false, true) {
		h.Logger.Warn("console sign-in: X-Forwarded-For came from a peer not in LIFT_TRUSTED_PROXIES; sign-ins are limited by the connection's address, so everyone behind that proxy shares one limit")
	}
	s, err := h.App.SignIn(c.Request.Context(), key, c.ClientIP())
	if err != nil {
		e, ok := errs.As(err)
		if !ok || e.Code == errs.Internal {
			h.consoleError(c, err)
			return
		}
		if e.Code == errs.TooManyRequests {
			c.Header("Retry-After", strconv.Itoa(int(models.SignInFailureWindow/time.Second)))
		}
		msg := e.Message
		h.consolePage(c, statusFor(e.Code), "login", gin.H{"Title": "Sign in", "Error": strings.ToUpper(msg[:1]) + msg[1:] + "."})
		return
	}
	http.SetCookie(c.Writer, h.sessionCookie(c, s.Token, s.Expires))
	c.Redirect(http.StatusSeeOther, "/console")
}

// sameOrigin says whether a browser's request came from Lift's own pages:
// Sec-Fetch-Site, when sent, is same-origin (or none: typed, a bookmark),
// and Origin, when sent, names this host or LIFT_PUBLIC_URL's.
func (h *handlers) sameOrigin(c *gin.Context) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := c.GetHeader("Origin")
	if origin == "" {
		return true // not a browser's cross-site form: browsers send Origin on POST
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, c.Request.Host) {
		return true
	}
	pub, err := url.Parse(h.App.Settings.PublicURL)
	return err == nil && pub.Host != "" && strings.EqualFold(u.Host, pub.Host)
}

// consoleLogout ends the session server-side, so a copy of the cookie
// stops working too, and clears the cookie.
func (h *handlers) consoleLogout(c *gin.Context) {
	cookie, _ := c.Cookie(sessionCookie)
	if err := h.App.SignOut(c.Request.Context(), cookie); err != nil {
		h.consoleError(c, err)
		return
	}
	gone := h.sessionCookie(c, "", time.Time{})
	gone.MaxAge = -1
	http.SetCookie(c.Writer, gone)
	c.Redirect(http.StatusSeeOther, "/console/login")
}

// sessionCookie is the session cookie: HttpOnly, SameSite=Strict, and
// Secure whenever Lift is reached over HTTPS: its public URL says so
// (TLS usually ends at a proxy) or TLS reaches the app itself.
func (h *handlers) sessionCookie(c *gin.Context, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/console", Expires: expires, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.SecureCookies || c.Request.TLS != nil}
}

// consolePage renders a page in the layout.
func (h *handlers) consolePage(c *gin.Context, status int, page string, data gin.H) {
	data["Page"] = page
	if _, ok := data["CSRF"]; !ok {
		data["CSRF"] = h.csrfToken(c)
	}
	var buf bytes.Buffer
	if err := consoleTemplates.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.Logger.Error("console template", "page", page, "err", err)
		c.String(http.StatusInternalServerError, "the page could not be drawn")
		return
	}
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// consoleRecommendations shows what auto stands for, the model's stats
// and the last evaluation of every strategy on the shop's orders.
func (h *handlers) consoleRecommendations(c *gin.Context) {
	st, err := h.App.RecommendationStatus(c.Request.Context())
	if err != nil {
		h.consoleError(c, err)
		return
	}
	done := ""
	if c.Query("done") == "rebuild" {
		done = "A rebuild started: this page shows its result once it finishes."
	}
	h.consolePage(c, http.StatusOK, "recommendations", gin.H{"Title": "Recommendations", "Status": st, "Done": done})
}

// consoleRebuild starts a rebuild (and with it an evaluation).
func (h *handlers) consoleRebuild(c *gin.Context) {
	if _, err := h.App.StartRebuild(c.Request.Context()); err != nil {
		h.consoleError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/recommendations?done=rebuild")
}

// campaignRow is a line of the campaign list.
type campaignRow struct {
	ID, Name, Kind, Experiment string
	Held                       string // why new enrolments are held
	Status                     domain.CampaignStatus
	Version                    int
	Updated                    time.Time
}

func (h *handlers) consoleCampaigns(c *gin.Context) {
	ctx := c.Request.Context()
	cs, err := h.App.Campaigns(ctx)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	var rows []campaignRow
	for _, m := range cs {
		row := campaignRow{ID: m.ID, Name: m.Name, Kind: m.Kind, Status: m.Status, Version: m.LatestVersion, Updated: m.UpdatedAt}
		if e, err := h.App.LatestExperiment(ctx, m.ID); err == nil && e != nil {
			row.Experiment = e.ID + " (" + string(e.Status) + ")"
			if e.Winner != "" {
				row.Experiment += ", winner " + e.Winner
			}
		}
		if held, err := h.App.Held(ctx, m.ID); err == nil && held != "" {
			row.Held = held
		}
		rows = append(rows, row)
	}
	h.consolePage(c, http.StatusOK, "campaigns", gin.H{"Title": "Campaigns", "Campaigns": rows})
}

// bar is one conversion-rate bar with its 95 % interval, as percentages
// of the chart's width.
type bar struct {
	Variant                   string
	Rate, Low, High           float64
	RateW, LowX, WhiskerW     float64
	Enrolled, Sent, Converted int64
	RevenuePerRecipient       float64
	Lift                      *stats.Interval
	PValue                    *float64
	Guardrail, Breached       string
	UIURL                     string
}

// previewLink is one email preview: a step as a variant sends it, in a
// language.
type previewLink struct {
	Step, Variant, Lang, Subject, URL string
}

func (h *handlers) consoleCampaign(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	m, err := h.App.Campaign(ctx, id)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	data := gin.H{"Title": m.Name, "Campaign": m}
	def, version, err := h.App.Definitions().Shown(ctx, id)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	data["Version"], data["Def"] = version, def
	exp, err := h.App.CurrentExperiment(ctx, id)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	// The banner is chosen from a fixed set, never taken from the URL.
	data["Flash"] = map[string]string{
		"campaign-pause":     "Campaign paused: it takes no enrolments and its sends wait.",
		"campaign-resume":    "Campaign resumed: it enrols and sends again.",
		"campaign-unpublish": "Campaign unpublished: it takes no new enrolments; running sequences finish on their version.",
	}[c.Query("done")]
	from := time.Time{}
	arms := map[string]experiment.Arm{}
	guard := map[string]app.GuardrailState{}
	if exp != nil {
		if f := map[string]string{
			"started": "Experiment " + exp.ID + " started.",
			"test-started": "Test " + exp.ID + " started: v" + strconv.Itoa(exp.Version) + " is published with it. " +
				"Running enrolments keep their version.",
			"stopped":         "Experiment " + exp.ID + " stopped: new enrolments get the control.",
			"promoted":        "Variant " + exp.Winner + " promoted.",
			"promoted-moving": "Variant " + exp.Winner + " promoted. Running enrolments move to it at their next step.",
		}[c.Query("done")]; f != "" {
			data["Flash"] = f
		}
		data["Experiment"] = exp
		for _, a := range exp.Analysis.Arms {
			arms[a.Variant] = a
		}
		for _, g := range exp.Guardrails {
			guard[models.PausedKey(g.Variant, g.Step)] = g
		}
		from = exp.StartedAt
	}
	if data["Held"], err = h.App.Held(ctx, id); err != nil {
		h.consoleError(c, err)
		return
	}
	data["Paused"] = m.PausedAt != nil
	data["Published"] = m.Status == domain.CampaignPublished
	data["CanNewTest"] = version > 0 && (exp == nil || (exp.Status != domain.ExperimentRunning && exp.Status != domain.ExperimentPaused))
	data["CanStart"] = def.Experiment != nil && version > 0 && (exp == nil || exp.ID != def.Experiment.ID)
	// The page shows the variant and step tables only: not the lag and
	// lifetime-value queries the full report also runs.
	r, err := h.App.VariantReport(ctx, id, 0, from, h.Now().UTC().Add(time.Second))
	if err != nil {
		h.consoleError(c, err)
		return
	}
	data["Report"], data["From"] = r, from
	if def.HasFlow() {
		data["Flow"] = flowDiagram(def, r.Flow, func(x float64) string {
			return strings.TrimSpace(strconv.FormatFloat(x, 'f', 2, 64) + " " + r.Currency)
		})
	}
	data["Bars"] = h.bars(r, arms, guard, id)
	data["Previews"] = previews(def, id)
	if h.TemporalUI != "" {
		data["CampaignUIURL"] = h.temporalUIURL(fmt.Sprintf("CampaignId=%q", id))
	}
	h.consolePage(c, http.StatusOK, "campaign", data)
}

// bars lays out the conversion-rate chart: every variant on one scale,
// the bar at the rate and the whisker over the 95 % interval.
func (h *handlers) bars(r app.Report, arms map[string]experiment.Arm, guard map[string]app.GuardrailState, campaignID string) []bar {
	scale := 0.0
	for _, v := range r.Variants {
		scale = math.Max(scale, v.ConversionRateCI.High)
	}
	if scale == 0 {
		scale = 1
	}
	w := func(x float64) float64 { return math.Round(1000*math.Max(0, math.Min(1, x/scale))) / 10 }
	var out []bar
	for _, v := range r.Variants {
		b := bar{Variant: v.Variant, Rate: v.ConversionRate, Low: v.ConversionRateCI.Low, High: v.ConversionRateCI.High,
			RateW: w(v.ConversionRate), LowX: w(v.ConversionRateCI.Low), Enrolled: v.Enrolled, Sent: v.Sent, Converted: v.Converted,
			RevenuePerRecipient: v.RevenuePerRecipient, Lift: v.LiftVsHoldout}
		b.WhiskerW = math.Max(0.5, w(v.ConversionRateCI.High)-b.LowX)
		if a, ok := arms[v.Variant]; ok {
			b.PValue = a.PValue
		}
		if g, ok := guard[v.Variant]; ok {
			b.Guardrail, b.Breached = g.Paused, g.Breached
		}
		if h.TemporalUI != "" {
			b.UIURL = h.temporalUIURL(fmt.Sprintf("CampaignId=%q AND Variant=%q", campaignID, v.Variant))
		}
		out = append(out, b)
	}
	return out
}

func (h *handlers) temporalUIURL(query string) string {
	ns := h.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.TrimRight(h.TemporalUI, "/") + "/namespaces/" + url.PathEscape(ns) + "/workflows?query=" + url.QueryEscape(query)
}

// previews lists every step of every variant in every language it has.
func previews(def *campaign.Definition, id string) []previewLink {
	variants := []string{"A"}
	if def.Experiment != nil {
		variants = nil
		for _, v := range def.Experiment.Variants {
			variants = append(variants, v.ID)
		}
	}
	var out []previewLink
	for _, v := range variants {
		for _, st := range def.VariantSteps(v) {
			langs := []string{"en"}
			for lang := range st.Translations {
				langs = append(langs, lang)
			}
			slices.Sort(langs[1:])
			for _, lang := range langs {
				q := url.Values{"step": {st.ID}, "variant": {v}, "lang": {lang}}
				subject, err := email.RenderSubject(st.Localized(lang).Subject, email.SampleData(lang, st.Incentive != nil))
				if err != nil {
					subject = st.Localized(lang).Subject
				}
				out = append(out, previewLink{Step: st.ID, Variant: v, Lang: lang, Subject: subject,
					URL: "/console/campaigns/" + url.PathEscape(id) + "/preview?" + q.Encode()})
			}
		}
	}
	return out
}

// consolePreview renders one step as a variant sends it, in a language,
// for the sample customer and products.
func (h *handlers) consolePreview(c *gin.Context) {
	variant, lang := cmp.Or(c.Query("variant"), "A"), cmp.Or(c.Query("lang"), "en")
	out, err := h.App.SamplePreview(c.Request.Context(), c.Param("id"), c.Query("step"), variant, lang)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	if c.Query("raw") == "1" {
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:")
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(out.HTML))
		return
	}
	q := c.Request.URL.Query()
	q.Set("raw", "1")
	h.consolePage(c, http.StatusOK, "preview", gin.H{"Title": "Preview", "CampaignID": c.Param("id"), "Step": c.Query("step"),
		"Variant": variant, "Lang": lang, "Email": out, "FrameURL": c.Request.URL.Path + "?" + q.Encode()})
}

// consoleExperimentAction runs start, stop or conclude from the campaign
// page's buttons through the same use cases as the API, then returns to
// the page.
func (h *handlers) consoleExperimentAction(c *gin.Context) {
	ctx := c.Request.Context()
	id, action := c.Param("id"), c.Param("action")
	done, err := "", error(nil)
	switch action {
	case "start":
		req := StartExperimentRequest{Metric: c.PostForm("metric"), AutoPromote: c.PostForm("auto_promote") == "on"}
		if v := c.PostForm("min_sends"); v != "" {
			n, perr := strconv.Atoi(v)
			if perr != nil {
				n = -1 // refused by StartExperiment with the field named
			}
			req.MinSends = &n
		}
		_, err = h.App.StartExperiment(ctx, id, req)
		done = "started"
		if err == nil {
			h.record(c, app.AuditExperimentStart, id)
		}
	case "stop", "conclude":
		var e *models.Experiment
		if e, err = h.App.LatestExperiment(ctx, id); err == nil && e == nil {
			err = errs.E(errs.NotFound, "no experiment to %s", action)
		}
		if err != nil {
			break
		}
		if action == "stop" {
			_, err = h.App.StopExperiment(ctx, id, e.ID)
			done = "stopped"
			if err == nil {
				h.record(c, app.AuditExperimentStop, id)
			}
			break
		}
		move := c.PostForm("move_running") == "on"
		_, err = h.App.ConcludeExperiment(ctx, id, e.ID, ConcludeRequest{Winner: c.PostForm("winner"), MoveRunning: move})
		done = map[bool]string{false: "promoted", true: "promoted-moving"}[move]
		if err == nil {
			h.record(c, app.AuditExperimentConclude, id)
		}
	default:
		err = errs.E(errs.NotFound, "no action %q", action)
	}
	if err != nil {
		h.consoleError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/campaigns/"+url.PathEscape(id)+"?done="+done)
}

// consoleCampaignState pauses (with the form's reason), resumes or
// unpublishes the campaign from its page.
func (h *handlers) consoleCampaignState(c *gin.Context) {
	ctx, id, action := c.Request.Context(), c.Param("id"), c.Param("action")
	var err error
	switch action {
	case "pause":
		err = h.App.PauseCampaign(ctx, id, c.PostForm("reason"))
	case "resume":
		err = h.App.ResumeCampaign(ctx, id)
	case "unpublish":
		err = h.App.UnpublishCampaign(ctx, id)
	default:
		err = errs.E(errs.NotFound, "no action %q", action)
	}
	if err != nil {
		h.consoleError(c, err)
		return
	}
	h.record(c, campaignStateAudit[action], id)
	c.Redirect(http.StatusSeeOther, "/console/campaigns/"+url.PathEscape(id)+"?done=campaign-"+action)
}

func (h *handlers) consoleError(c *gin.Context, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; the log has the details."
	if e, ok := errs.As(err); ok && e.Code != errs.Internal {
		status, msg = statusFor(e.Code), e.Message
	} else {
		h.Logger.Error("console", "err", err)
	}
	h.consolePage(c, status, "message", gin.H{"Title": "Could not do that", "Message": msg})
}
