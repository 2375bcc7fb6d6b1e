package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/experiment"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Campaign is a campaign with its current draft definition.
type Campaign struct {
	models.Campaign
	Draft *campaign.Definition
	// Published is the latest published version's definition (nil
	// before the first publish); only Campaign fills it.
	Published *campaign.Definition
	// Held says why the campaign takes no new enrolments now ("" while
	// it does); only Campaign fills it.
	Held string
}

// CreateCampaign stores a new campaign draft from its definition (JSON);
// an existing ID is a conflict.
func (a *App) CreateCampaign(ctx context.Context, body []byte) (*Campaign, error) {
	def, raw, err := a.parseDefinition(body)
	if err != nil {
		return nil, err
	}
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: string(def.Kind), TriggerEvent: def.Trigger.Event, Definition: raw}
	if err := a.Store.CreateCampaign(ctx, m); err != nil {
		return nil, err
	}
	return a.Campaign(ctx, def.ID)
}

// SaveDraft creates or replaces a campaign's draft; published versions,
// and the sequences running on them, are untouched.
func (a *App) SaveDraft(ctx context.Context, id string, body []byte) (*Campaign, error) {
	def, raw, err := a.parseDefinition(body)
	if err != nil {
		return nil, err
	}
	if def.ID != id {
		return nil, errs.Field(errs.Invalid, "id", "must match the ID in the path")
	}
	m := &models.Campaign{ID: def.ID, Name: def.Name, Kind: string(def.Kind), TriggerEvent: def.Trigger.Event, Definition: raw,
		Status: domain.CampaignDraft}
	if err := a.Store.SaveCampaignDraft(ctx, m); err != nil {
		return nil, err
	}
	return a.Campaign(ctx, def.ID)
}

// Campaign returns a campaign with its draft.
func (a *App) Campaign(ctx context.Context, id string) (*Campaign, error) {
	m, def, err := a.defs.Draft(ctx, id)
	if err != nil {
		return nil, err
	}
	c := &Campaign{Campaign: *m, Draft: def}
	if m.LatestVersion > 0 {
		if c.Published, err = a.defs.Version(ctx, id, m.LatestVersion); err != nil {
			return nil, err
		}
		if c.Held, err = a.held(ctx, m, c.Published); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// PauseCampaign holds a whole campaign: it takes no new enrolments and
// every send of its running sequences waits (they look again hourly, or
// every 10 s of a compressed day) until ResumeCampaign. The reason is
// shown on the console and in each held journey.
func (a *App) PauseCampaign(ctx context.Context, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 300 {
		return errs.Field(errs.Invalid, "reason", "say why, in 1 to 300 characters: the console shows it")
	}
	now := a.now()
	return a.Store.PauseCampaign(ctx, id, reason, &now)
}

// ResumeCampaign lets a paused campaign enrol and send again.
func (a *App) ResumeCampaign(ctx context.Context, id string) error {
	return a.Store.PauseCampaign(ctx, id, "", nil)
}

// UnpublishCampaign takes a published campaign out of enrolment; its
// running sequences finish on their version. Publishing makes it live.
func (a *App) UnpublishCampaign(ctx context.Context, id string) error {
	return a.Store.UnpublishCampaign(ctx, id)
}

// Held says why the campaign's published version takes no new enrolments
// now, or "" (also for a campaign never published).
func (a *App) Held(ctx context.Context, id string) (string, error) {
	m, err := a.Store.GetCampaign(ctx, id)
	if err != nil || m.LatestVersion == 0 {
		return "", err
	}
	def, err := a.defs.Version(ctx, id, m.LatestVersion)
	if err != nil {
		return "", err
	}
	return a.held(ctx, m, def)
}

func (a *App) held(ctx context.Context, m *models.Campaign, def *campaign.Definition) (string, error) {
	switch {
	case m.Status == domain.CampaignUnpublished:
		return "unpublished: it takes no new enrolments, and running sequences finish on their version; publish to make it live again", nil
	case m.PausedReason != "" && m.PausedAt != nil:
		return "paused since " + m.PausedAt.UTC().Format(time.RFC3339) + ": " + m.PausedReason +
			" (no enrolments; sends wait until it is resumed)", nil
	case def.Experiment == nil:
		return "", nil
	}
	state, err := a.Store.CurrentExperiment(ctx, def.ID)
	if err != nil {
		return "", err
	}
	return experiment.Halted(def, state), nil
}

// Campaigns lists every campaign with its draft, by ID.
func (a *App) Campaigns(ctx context.Context) ([]Campaign, error) {
	ms, err := a.Store.ListCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Campaign, 0, len(ms))
	for _, m := range ms {
		def, err := decode(m.Definition, m.ID+" (draft)")
		if err != nil {
			return nil, err
		}
		out = append(out, Campaign{Campaign: m, Draft: def})
	}
	return out, nil
}

// Publish snapshots the draft as the next immutable version. The draft
// passed the content checks when it was saved; they run again so a draft
// saved by an older Lift cannot go live unchecked.
func (a *App) Publish(ctx context.Context, id string, opts PublishOptions) (*Published, error) {
	_, def, err := a.defs.Draft(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.checkContent(def); err != nil {
		return nil, err
	}
	if err := a.checkDestinations(ctx, def); err != nil {
		return nil, err
	}
	v, err := a.Store.PublishCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	warnings := def.Warnings(a.now(), a.Settings.Day)
	if def.Anchor != "" && a.Settings.Day != 24*time.Hour {
		warnings = append(warnings, fmt.Sprintf("anchor: one sequence day is %s here, and an event's %s counts down compressed too: "+
			"a time 10 days away is reached after 10 sequence days (%s); an incentive's ends_at is wall-clock time and is not compressed",
			a.Settings.Day, def.Anchor, 10*a.Settings.Day))
	}
	if w := a.postalWarning(); w != "" {
		warnings = append(warnings, w)
	}
	recWarnings, err := a.recommendationWarnings(ctx, def)
	if err != nil {
		// The version is published; only the advice is missing.
		a.Logger.WarnContext(ctx, "recommendation warnings not computed", "campaign", id, "err", err)
	}
	warnings = append(warnings, recWarnings...)
	out := &Published{CampaignVersion: v, Warnings: warnings}
	if opts.MoveRunning && v.Version > 1 {
		if err := a.Sequences.MoveToVersion(ctx, id, v.Version); err != nil {
			// The version is published; the move can be asked for again.
			a.Logger.WarnContext(ctx, "running enrolments not moved onto the new version", "campaign", id, "version", v.Version, "err", err)
			out.Warnings = append(out.Warnings, fmt.Sprintf("running enrolments were not moved onto v%d (%v): "+
				"POST /v1/campaigns/%s/move-running moves them", v.Version, errs.CodeOf(err), id))
		} else {
			out.Moving = true
		}
	}
	return out, nil
}

// PublishOptions are the choices of a publish.
type PublishOptions struct {
	// MoveRunning moves the running enrolments of older versions onto
	// the new one, each at its next step boundary (MoveToVersion).
	MoveRunning bool
}

// MoveRunningToLatest starts moving a campaign's running enrolments on
// older versions onto its latest published version: what publishing
// with move_running does, asked for again (say, after Temporal was
// unreachable then).
func (a *App) MoveRunningToLatest(ctx context.Context, id string) (int, error) {
	m, err := a.Store.GetCampaign(ctx, id)
	if err != nil {
		return 0, err
	}
	if m.LatestVersion == 0 {
		return 0, errs.E(errs.Conflict, "campaign %s has no published version", id)
	}
	return m.LatestVersion, a.Sequences.MoveToVersion(ctx, id, m.LatestVersion)
}

// MoveToVersion signals every running enrolment of the campaign on an
// older version (but the holdout's: it is its version's baseline) to
// follow the given version from its next step boundary: its own variant
// where the version has it, else the version's control. It pages by
// enrolment ID from pos, calling progress after each page, so a retry
// resumes where the last attempt stopped; sequences that ended
// meanwhile are skipped.
func (a *App) MoveToVersion(ctx context.Context, m workflows.VersionMove, pos MovePosition, progress func(MovePosition)) (int, error) {
	def, err := a.defs.Version(ctx, m.CampaignID, m.Version)
	if err != nil {
		return pos.Moved, err
	}
	plan := def.Plan()
	control := "A"
	if def.Experiment != nil {
		control = def.Experiment.Variants[0].ID
	}
	for {
		page, err := a.Store.RunningBeforeVersion(ctx, m.CampaignID, m.Version, pos.After, 500)
		if err != nil || len(page) == 0 {
			return pos.Moved, err
		}
		for _, e := range page {
			variant := e.Variant
			if !def.HasVariant(variant) {
				variant = control
			}
			err := a.Sequences.SwitchVersion(ctx, e.WorkflowID, plan, m.Version, variant)
			switch {
			case errs.Is(err, errs.NotFound): // ended meanwhile
			case err != nil:
				return pos.Moved, err
			default:
				pos.Moved++
			}
		}
		pos.After = page[len(page)-1].ID
		progress(pos)
	}
}

// Published is a newly published version, with what a marketer would
// want to hear about it.
type Published struct {
	*models.CampaignVersion
	Warnings []string
	// Moving is set when running enrolments of older versions are being
	// moved onto this one.
	Moving bool
}

// postalWarning says that emails go out without a postal address, which
// CAN-SPAM requires of every commercial email ("" when one is set).
// SendGrid refuses to start without one; lift dev's outbox and SendGrid
// fake do not.
func (a *App) postalWarning() string {
	if a.Settings.PostalAddress != "" {
		return ""
	}
	return "LIFT_POSTAL_ADDRESS is not set: emails carry no postal address in their footer, which CAN-SPAM requires of every commercial email (sending through SendGrid refuses to start without one)"
}

// parseDefinition validates a definition body and returns it with its
// canonical JSON, as stored.
func (a *App) parseDefinition(body []byte) (*campaign.Definition, []byte, error) {
	def, err := campaign.Parse(body)
	if err != nil {
		return nil, nil, err
	}
	if err := a.checkContent(def); err != nil {
		return nil, nil, err
	}
	canonical, err := json.Marshal(def)
	return def, canonical, err
}

// checkContent executes every subject, heading and body, in every
// language, against sample data, then test-renders each whole email, so a
// bad field fails on save and on publish, not at send. Every variant's
// emails are checked as that variant sends them.
func (a *App) checkContent(def *campaign.Definition) error {
	var err error
	campaign.Walk(def.Steps, func(path string, st campaign.Step) {
		if err != nil || st.Kind() != campaign.KindEmail {
			return
		}
		if err = checkLanguages(path, st.Translations); err == nil {
			err = a.checkStep(st, path+".")
		}
	})
	if err != nil {
		return err
	}
	if def.Experiment == nil {
		return nil
	}
	for k, v := range def.Experiment.Variants {
		for _, id := range slices.Sorted(maps.Keys(v.Steps)) {
			if err := checkLanguages(fmt.Sprintf("experiment.variants[%d].steps.%s", k, id), v.Steps[id].Translations); err != nil {
				return err
			}
			st, _ := def.StepByID(id)
			if err := a.checkStep(def.ForVariant(st, v.ID), fmt.Sprintf("experiment.variants[%d].steps.%s.", k, id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDestinations refuses to publish a flow whose webhook steps post
// to a destination not registered yet, naming the first such step.
func (a *App) checkDestinations(ctx context.Context, def *campaign.Definition) error {
	missing, err := a.Store.MissingDestinations(ctx, def.Destinations())
	if err != nil || len(missing) == 0 {
		return err
	}
	var field string
	campaign.Walk(def.Steps, func(path string, st campaign.Step) {
		if field == "" && st.Webhook != nil && st.Webhook.Destination == missing[0] {
			field = path + ".webhook.destination"
		}
	})
	return errs.Field(errs.Invalid, field, "no destination %q: register it first with PUT /v1/destinations/%s", missing[0], missing[0])
}

// checkLanguages refuses translations into a language Lift ships no
// layout for; field prefixes the field named.
func checkLanguages(field string, translations map[string]campaign.StepText) error {
	for _, lang := range slices.Sorted(maps.Keys(translations)) {
		if !slices.Contains(email.Languages(), lang) {
			return errs.Field(errs.Invalid, field+".translations."+lang,
				"no layout in %q; shipped: %s", lang, strings.Join(email.Languages(), ", "))
		}
	}
	return nil
}

// checkStep checks one step's copy in its base language and each
// translation; field prefixes the field names in errors.
func (a *App) checkStep(st campaign.Step, field string) error {
	for _, lang := range append([]string{""}, slices.Sorted(maps.Keys(st.Translations))...) {
		prefix, text := "", st
		if lang != "" {
			prefix, text = "translations."+lang+".", st.Localized(lang)
		}
		for _, f := range []struct{ name, text string }{{"subject", text.Subject}, {"heading", text.Heading}, {"body", text.Body}} {
			if err := email.Check(f.text, st.Incentive != nil); err != nil {
				return errs.Field(errs.Invalid, field+prefix+f.name, "%v", err)
			}
		}
		// Then the whole email, every block, in the language's layout.
		locale := cmp.Or(lang, "en")
		if err := a.Renderer.TestRender(st.Template, text.Subject, text.Heading, text.Body, locale, st.Incentive != nil); err != nil {
			return errs.Field(errs.Invalid, field+prefix+renderedField(err), "test render (%s): %v", locale, err)
		}
		if st.Recommend != nil && st.Recommend.Optional {
			if err := a.Renderer.TestRenderNoProducts(st.Template, text.Subject, text.Heading, text.Body, locale, st.Incentive != nil); err != nil {
				return errs.Field(errs.Invalid, field+prefix+renderedField(err), "test render with nothing to recommend (%s): %v", locale, err)
			}
		}
	}
	return nil
}

// renderedField names the part of a step a test-render error is about.
func renderedField(err error) string {
	for _, f := range []string{"subject", "heading", "body"} {
		if strings.HasPrefix(err.Error(), f) {
			return f
		}
	}
	return "template"
}
