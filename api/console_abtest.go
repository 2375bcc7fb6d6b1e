package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
)

// The console's "New A/B test": a form whose inputs are named after the
// fields of the definition's experiment block (step, subject, heading,
// body, cta, split, holdout, metric, min_sends, …), a preview of every
// variant side by side, and "Start test", which publishes the test and
// starts it in one transaction (app.StartTest).

// testForm is the form as posted (and drawn again, with its errors).
type testForm struct {
	Step, ControlSplit, Holdout, Metric, MinSends, Alpha, CustomerID string
	AutoPromote                                                      bool
	Challengers                                                      []challengerForm // B, C and D
}

type challengerForm struct {
	ID, Split, Subject, Preheader, Heading, Body, CTA, CTAURL, At, PercentOff, Code string
	Omit, NoIncentive                                                               bool
}

// filled reports whether the marketer wrote anything for the variant
// (its share of the split alone does not count).
func (f challengerForm) filled() bool {
	return f.Subject != "" || f.Preheader != "" || f.Heading != "" || f.Body != "" || f.CTA != "" || f.CTAURL != "" ||
		f.At != "" || f.PercentOff != "" || f.Code != "" || f.Omit || f.NoIncentive
}

const maxChallengers = 3

func parseTestForm(c *gin.Context) testForm {
	f := testForm{Step: c.PostForm("step"), Holdout: strings.TrimSpace(c.PostForm("holdout")), Metric: c.PostForm("metric"),
		MinSends: strings.TrimSpace(c.PostForm("min_sends")), Alpha: strings.TrimSpace(c.PostForm("alpha")),
		CustomerID: strings.TrimSpace(c.PostForm("customer_id")), AutoPromote: c.PostForm("auto_promote") == "on"}
	at := func(name string, i int) string {
		vs := c.PostFormArray(name)
		if i < len(vs) {
			return strings.TrimSpace(vs[i])
		}
		return ""
	}
	f.ControlSplit = at("split", 0)
	for i := range maxChallengers {
		omit := at("omit", i)
		f.Challengers = append(f.Challengers, challengerForm{ID: string(rune('B' + i)), Split: at("split", i+1),
			Subject: at("subject", i), Preheader: at("preheader", i), Heading: at("heading", i), Body: at("body", i),
			CTA: at("cta", i), CTAURL: at("cta_url", i), At: at("at", i), PercentOff: at("percent_off", i), Code: at("code", i),
			Omit: omit == "on", NoIncentive: omit == "no_incentive"})
	}
	return f
}

// newTest turns the form into the use case's input; numbers that do not
// parse are reported against their inputs.
func (f testForm) newTest(base int) (app.NewTest, map[string]string) {
	bad := map[string]string{}
	num := func(key, s string, def int) int {
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			bad[key] = "must be a whole number"
		}
		return n
	}
	t := app.NewTest{BaseVersion: base, Step: f.Step, ControlWeight: num("v0.split", f.ControlSplit, 0),
		Settings: app.ExperimentSettings{Metric: f.Metric, AutoPromote: f.AutoPromote}}
	if f.Holdout != "" {
		h, err := strconv.ParseFloat(f.Holdout, 64)
		if err != nil {
			bad["holdout"] = "must be a number from 0 to 50"
		}
		t.Holdout = h
	}
	minSends := num("min_sends", f.MinSends, experiment.DefaultMinSends)
	t.Settings.MinSends = &minSends
	if f.Alpha != "" {
		a, err := strconv.ParseFloat(f.Alpha, 64)
		if err != nil {
			bad["alpha"] = "must be a number like 0.05"
		}
		t.Settings.Alpha = &a
	}
	for i, ch := range f.Challengers {
		if i > 0 && !ch.filled() {
			continue
		}
		key := "v" + strconv.Itoa(len(t.Challengers)+1)
		t.Challengers = append(t.Challengers, app.Challenger{Weight: num(key+".split", ch.Split, 0),
			Subject: ch.Subject, Preheader: ch.Preheader, Heading: ch.Heading, Body: ch.Body, CTA: ch.CTA, CTAURL: ch.CTAURL,
			At: ch.At, PercentOff: num(key+".percent_off", ch.PercentOff, 0), Code: ch.Code, Omit: ch.Omit, NoIncentive: ch.NoIncentive})
	}
	return t, bad
}

var variantFieldRE = regexp.MustCompile(`^experiment\.variants\[(\d+)\](?:\.steps\.[^.]+(?:\.translations\.[^.]+)?\.(.+)|\.(weight|steps))?$`)

// inputFor maps an error's JSON path in the definition to the form input
// it belongs to: experiment.variants[1].steps.guide.subject is variant B's
// subject ("v1.subject"); anything without an input is the form's.
func inputFor(path string) string {
	switch path {
	case "step", "holdout", "metric", "min_sends", "alpha", "customer_id":
		return path
	}
	m := variantFieldRE.FindStringSubmatch(path)
	if m == nil {
		return "form"
	}
	key := "v" + m[1]
	switch field := m[2] + m[3]; {
	case field == "weight":
		return key + ".split"
	case field == "" || field == "steps":
		return key
	case strings.HasPrefix(field, "incentive."):
		return key + "." + strings.TrimPrefix(field, "incentive.")
	default:
		return key + "." + field
	}
}

// consoleNewTest draws the empty form for the campaign's published version.
func (h *handlers) consoleNewTest(c *gin.Context) {
	def, version, err := h.App.Definitions().Published(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.consoleError(c, err)
		return
	}
	if len(def.EmailSteps()) == 0 {
		h.consoleError(c, errs.E(errs.Invalid, "campaign %s sends no email: an A/B test varies an email step", def.ID))
		return
	}
	f := testForm{Step: def.EmailSteps()[0].ID, ControlSplit: "50", Holdout: strconv.FormatFloat(def.Holdout, 'f', -1, 64),
		Metric: experiment.MetricConversionRate, MinSends: strconv.Itoa(experiment.DefaultMinSends),
		Alpha: strconv.FormatFloat(experiment.DefaultAlpha, 'f', -1, 64)}
	for i := range maxChallengers {
		ch := challengerForm{ID: string(rune('B' + i))}
		if i == 0 {
			ch.Split = "50"
		}
		f.Challengers = append(f.Challengers, ch)
	}
	h.testPage(c, http.StatusOK, def, version, f, nil, nil)
}

// consoleTest previews the posted test, or starts it.
func (h *handlers) consoleTest(c *gin.Context) {
	ctx, id := c.Request.Context(), c.Param("id")
	def, version, err := h.App.Definitions().Published(ctx, id)
	if err != nil {
		h.consoleError(c, err)
		return
	}
	if len(def.EmailSteps()) == 0 {
		h.consoleError(c, errs.E(errs.Invalid, "campaign %s sends no email: an A/B test varies an email step", def.ID))
		return
	}
	f := parseTestForm(c)
	base, _ := strconv.Atoi(c.PostForm("base_version"))
	t, bad := f.newTest(base)
	if len(bad) > 0 {
		h.testPage(c, http.StatusUnprocessableEntity, def, version, f, bad, nil)
		return
	}
	if c.PostForm("action") == "start" {
		v, err := h.App.StartTest(ctx, id, t)
		if err != nil {
			h.testError(c, def, version, f, err)
			return
		}
		h.record(c, app.AuditExperimentStart, id)
		c.Redirect(http.StatusSeeOther, "/console/campaigns/"+url.PathEscape(id)+"?done=test-started&experiment="+url.QueryEscape(v.ID))
		return
	}
	plan, err := h.App.PreviewTest(ctx, id, t, f.CustomerID)
	if err != nil {
		h.testError(c, def, version, f, err)
		return
	}
	if f.CustomerID != "" {
		about(c, f.CustomerID)
		// A customer's preview shows their data: not shown unless the
		// read is on record, as on the API.
		if err := h.record(c, app.AuditPreview, id, f.CustomerID); err != nil {
			h.consoleError(c, errs.E(errs.Unavailable, "the access could not be recorded in the audit log, so nothing is shown; retry"))
			return
		}
	}
	h.testPage(c, http.StatusOK, def, version, f, nil, plan)
}

// testError draws the form again with the error beside its input: the
// same JSON-path errors the API gives, mapped to the inputs.
func (h *handlers) testError(c *gin.Context, def *campaign.Definition, version int, f testForm, err error) {
	e, ok := errs.As(err)
	if !ok || e.Code == errs.Internal || e.Code == errs.Unavailable {
		h.consoleError(c, err)
		return
	}
	key := "form"
	if e.Field != "" {
		key = inputFor(e.Field)
	}
	msg := e.Message
	if key == "form" && e.Field != "" {
		msg = e.Field + ": " + msg
	}
	h.testPage(c, statusFor(e.Code), def, version, f, map[string]string{key: msg}, nil)
}

type controlField struct{ Name, Value string }

func (h *handlers) testPage(c *gin.Context, status int, def *campaign.Definition, version int, f testForm, errors map[string]string, plan *app.TestPlan) {
	if errors == nil {
		errors = map[string]string{}
	}
	data := gin.H{"Title": "New A/B test · " + def.Name, "CampaignID": def.ID, "Base": version, "Next": version + 1,
		"Steps": def.EmailSteps(), "Form": f, "Errors": errors}
	step, ok := def.StepByID(f.Step)
	if !ok || step.Kind() != campaign.KindEmail {
		step = def.EmailSteps()[0]
	}
	fields := []controlField{{"Step", step.ID + " at " + step.At}, {"Subject", step.Subject}, {"Preheader", step.Preheader},
		{"Heading", step.Heading}, {"Body", step.Body}, {"CTA", step.CTA}, {"CTA URL", step.CTAURL}}
	if step.Incentive != nil {
		fields = append(fields, controlField{"Incentive", strconv.Itoa(step.Incentive.PercentOff) + " % off, code " + step.Incentive.Code})
	}
	data["ControlFields"] = fields
	if plan != nil {
		data["Previews"], data["PreviewStep"] = plan.Previews, "step "+step.ID
		if f.Step == app.AllSteps {
			data["PreviewStep"] = "step " + def.EmailSteps()[0].ID
		}
	}
	h.consolePage(c, status, "abtest", data)
}
