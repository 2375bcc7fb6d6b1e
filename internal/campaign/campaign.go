// Package campaign defines what a marketer writes: a sequence definition,
// its validation (errors name the offending field), and trigger matching.
package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/lift-hq/lift/internal/errs"
)

// Kind is what a campaign sells: more of the same range, or a higher plan.
type Kind string

// Kinds of campaign.
const (
	CrossSell Kind = "cross_sell"
	Upsell    Kind = "upsell"
)

// Goal is an exit goal a campaign names in exit_on: what ends a sequence
// (as converted, or suppressed for a support ticket).
type Goal string

// Exit goals.
const (
	GoalPurchaseOfRecommended Goal = "purchase_of_recommended"
	GoalPurchaseAny           Goal = "purchase_any"
	GoalPurchaseInCategory    Goal = "purchase_in_category"
	GoalUpgrade               Goal = "upgrade"
	GoalComplaint             Goal = "complaint"
	GoalUnsubscribe           Goal = "unsubscribe"
	GoalSupportTicket         Goal = "support_ticket"
	GoalBounce                Goal = "bounce"
)

// IsPurchase reports whether the goal is met by an order.
func (g Goal) IsPurchase() bool {
	return g == GoalPurchaseOfRecommended || g == GoalPurchaseAny || g == GoalPurchaseInCategory
}

var goals = map[Goal]bool{
	GoalPurchaseOfRecommended: true, GoalPurchaseAny: true, GoalPurchaseInCategory: true,
	GoalUpgrade: true, GoalComplaint: true, GoalUnsubscribe: true, GoalSupportTicket: true, GoalBounce: true,
}

// Templates are the email templates a step may name.
var Templates = []string{"recommendation", "education", "offer", "upsell"}

// Strategy is how a step chooses the products it recommends.
type Strategy string

// Recommendation strategies a step may name.
const (
	StrategyComplements       Strategy = "complements"         // manual rules, for catalogues with little history
	StrategyBoughtTogether    Strategy = "bought_together"     // co-purchase affinity from order history
	StrategyPopularInCategory Strategy = "popular_in_category" // the fallback when nothing else applies
	StrategyNextTier          Strategy = "next_tier"           // the next plan up the customer's ladder
	StrategySimilarCustomers  Strategy = "similar_customers"   // a linear item model over customers' purchases (EASE)
	// StrategyAuto is, per shop, the strategy that evaluates best on its
	// own orders, decided again at each recommendation rebuild.
	StrategyAuto Strategy = "auto"
)

// Strategies are the recommendation strategies a step may name.
var Strategies = []Strategy{StrategyAuto, StrategyComplements, StrategyBoughtTogether, StrategySimilarCustomers, StrategyPopularInCategory, StrategyNextTier}

// LearnedStrategies are the strategies auto chooses among: those that
// recommend from what a customer bought (next_tier answers another
// question, the plan above theirs).
var LearnedStrategies = []Strategy{StrategyBoughtTogether, StrategySimilarCustomers, StrategyPopularInCategory, StrategyComplements}

// Definition is a campaign as marketers write it (POST /v1/campaigns).
type Definition struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Kind              Kind    `json:"kind"`
	Trigger           Trigger `json:"trigger"`
	ExitOn            []Goal  `json:"exit_on,omitempty"`
	Steps             []Step  `json:"steps"`
	SendWindow        string  `json:"send_window,omitempty"`        // "09:00-20:00", customer-local
	AttributionWindow string  `json:"attribution_window,omitempty"` // "5d"
	// EnterWithin is how old a triggering event may be and still enrol
	// ("24h", the default; "3d"), in real hours, whatever the sequence
	// day: loading last year's orders enrols no one.
	EnterWithin string   `json:"enter_within,omitempty"`
	Reentry     *Reentry `json:"reentry,omitempty"`
	// Anchor names an event property holding a time (e.g. "ends_at" of a
	// trial_ending event); each step's "at" then counts back from it:
	// "10d" is ten days before the trial ends.
	Anchor string `json:"anchor,omitempty"`
	// UpgradeTo lists the tiers an upgrade must reach to meet the upgrade
	// goal; empty means any upgrade.
	UpgradeTo []string `json:"upgrade_to,omitempty"`
	// Holdout is the percentage of enrolments (0 to 50) that run the
	// sequence but are never emailed, so their conversions measure what
	// the emails add. Assignment is sticky per customer and campaign.
	Holdout float64 `json:"holdout,omitempty"`
	// Experiment splits the enrolments that are not held out between
	// variants with different copy.
	Experiment *Experiment `json:"experiment,omitempty"`
}

// Re-entry rules. Whatever the rule, a customer has at most one running
// sequence per campaign.
const (
	ReentryAlways  = "always"   // a new sequence for every matching event (default)
	ReentryOnce    = "once"     // one sequence ever (per key)
	ReentryOncePer = "once_per" // one sequence per period (per key)
)

// Reentry says when a customer may enter the campaign again. Key names
// event properties that tell entries apart: with "key": ["metric",
// "period"] and rule "once", a usage upsell starts once per metric per
// billing period.
type Reentry struct {
	Rule   string   `json:"rule"`
	Period string   `json:"period,omitempty"` // with once_per, e.g. "30d"
	Key    []string `json:"key,omitempty"`
}

// ReentrySince says whether the re-entry rule limits entries and, if so,
// since when a previous entry keeps the customer out (the zero time: ever).
func (d *Definition) ReentrySince(now time.Time, day time.Duration) (limited bool, since time.Time) {
	r := d.Reentry
	switch {
	case r == nil || r.Rule == ReentryAlways:
		return false, time.Time{}
	case r.Rule == ReentryOncePer:
		period, _ := ParseOffset(r.Period)
		return true, now.Add(-period.Scaled(day))
	}
	return true, time.Time{}
}

// EntryKey identifies the event's values of the re-entry key ("" without
// one). A key may name any event property, an address or a phone number
// as well as a metric, so only a hash of the values goes into workflow
// history and the store; equal values still give equal keys.
func (d *Definition) EntryKey(props map[string]any) string {
	if d.Reentry == nil || len(d.Reentry.Key) == 0 {
		return ""
	}
	sum := sha256.Sum256([]byte(d.EntryValues(props)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// EntryValues is the event's values of the re-entry key, for messages to
// the caller: "orders|2026-05".
func (d *Definition) EntryValues(props map[string]any) string {
	if d.Reentry == nil {
		return ""
	}
	parts := make([]string, len(d.Reentry.Key))
	for i, k := range d.Reentry.Key {
		parts[i] = fmt.Sprint(props[k])
	}
	return strings.Join(parts, "|")
}

// Trigger says which event starts the sequence. Where filters on the
// event's properties (see Match).
type Trigger struct {
	Event string         `json:"event"`
	Where map[string]any `json:"where,omitempty"`
	// Within is the window the "views" fact counts page views of the
	// product over (default 7d).
	Within string `json:"within,omitempty"`
	// After is how long without any event fires an inactivity trigger.
	After string `json:"after,omitempty"`
}

// ViewsWindow is the trigger's counting window for page views.
func (t Trigger) ViewsWindow() Offset {
	if o, err := ParseOffset(t.Within); err == nil && t.Within != "" {
		return o
	}
	return Offset{Days: 7}
}

// Step is one email of the sequence.
type Step struct {
	ID        string `json:"id"`
	At        string `json:"at,omitempty"` // "3d" or "3d-7d" after enrolment
	Subject   string `json:"subject,omitempty"`
	Preheader string `json:"preheader,omitempty"`
	Template  string `json:"template,omitempty"`
	Heading   string `json:"heading,omitempty"`
	Body      string `json:"body,omitempty"` // paragraphs separated by blank lines
	CTA       string `json:"cta,omitempty"`
	// CTAURL is where the call to action goes (Lift adds its UTM
	// parameters); without it the CTA links to the first recommended
	// product, so a step with neither has no CTA to show.
	CTAURL    string     `json:"cta_url,omitempty"`
	Recommend *Recommend `json:"recommend,omitempty"`
	Incentive *Incentive `json:"incentive,omitempty"`
	// OnlyIf is a condition checked right before the step sends, in the
	// trigger's where language over the enrolment's facts (FlowFacts):
	// a step that fails it is skipped, with the reason in the journey.
	OnlyIf map[string]any `json:"only_if,omitempty"`
	// Translations holds the step's copy in other languages, by language
	// (e.g. "de"); customers whose locale has none get the step's own copy.
	Translations map[string]StepText `json:"translations,omitempty"`

	// A step that sets one of these is not an email (see flow.go).
	Branch    *Branch  `json:"branch,omitempty"`
	WaitFor   *WaitFor `json:"wait_for,omitempty"`
	OnTimeout string   `json:"on_timeout,omitempty"` // of a wait_for: continue (default) or exit
	Webhook   *Webhook `json:"webhook,omitempty"`
}

// StepText is a step's copy in one language.
type StepText struct {
	Subject   string `json:"subject,omitempty"`
	Preheader string `json:"preheader,omitempty"`
	Heading   string `json:"heading,omitempty"`
	Body      string `json:"body,omitempty"`
	CTA       string `json:"cta,omitempty"`
	CTAURL    string `json:"cta_url,omitempty"`
}

// Localized returns the step with its copy in lang where a translation
// gives it.
func (s Step) Localized(lang string) Step {
	t, ok := s.Translations[lang]
	if !ok {
		return s
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&s.Subject, t.Subject}, {&s.Preheader, t.Preheader}, {&s.Heading, t.Heading}, {&s.Body, t.Body}, {&s.CTA, t.CTA},
		{&s.CTAURL, t.CTAURL},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	return s
}

// Recommend asks for product recommendations in a step. A step that asks
// for recommendations and finds none is skipped, not sent empty.
type Recommend struct {
	Strategy Strategy `json:"strategy"`
	Limit    int      `json:"limit,omitempty"`
	// Pin always shows these products first (when suitable); Block never
	// shows these.
	Pin   []string `json:"pin,omitempty"`
	Block []string `json:"block,omitempty"`
	// MaxPriceRatio drops products dearer than this multiple of the
	// trigger product's price (0: no ceiling).
	MaxPriceRatio float64 `json:"max_price_ratio,omitempty"`
	// Optional sends the email without recommendations when there are
	// none or the recommender fails; otherwise the step is skipped (none)
	// or waits and retries (failure).
	Optional bool `json:"optional,omitempty"`
	// Window is how far back best sellers are counted ("90d", the
	// default; "all" for all time). A window that holds too few orders
	// widens to all time, and says so.
	Window string `json:"window,omitempty"`
}

// DefaultPopularWindow is the best sellers' window when a step names none.
const DefaultPopularWindow = 90

// WindowDays is the step's popularity window in days (0: all time).
func (r Recommend) WindowDays() int {
	switch r.Window {
	case "":
		return DefaultPopularWindow
	case "all":
		return 0
	}
	o, err := ParseOffset(r.Window)
	if err != nil || o.Days <= 0 {
		return DefaultPopularWindow
	}
	return o.Days
}

// LimitOrDefault is the number of products to show, 1 to 3 (default 2).
func (r Recommend) LimitOrDefault() int {
	if r.Limit == 0 {
		return 2
	}
	return r.Limit
}

// Incentive is an offer shown in a step.
type Incentive struct {
	PercentOff int    `json:"percent_off"`
	Code       string `json:"code,omitempty"`
	// Pool names a coupon pool (PUT /v1/coupon-pools/{id}) to draw a
	// one-time code per recipient from, instead of one shared Code.
	Pool      string `json:"pool,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"` // after the email is sent, e.g. 7d
	// EndsAt is the offer's hard end (RFC 3339): the deadline shown is
	// never later, and once it has passed the step is skipped, never sent
	// with an expired offer.
	EndsAt string `json:"ends_at,omitempty"`
}

// End is the offer's hard end, if any.
func (i Incentive) End() (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, i.EndsAt)
	return t, err == nil && i.EndsAt != ""
}

// Warnings are what a marketer would want to hear before publishing,
// though the definition is valid: an offer that has already ended (its
// step, in the campaign's copy or a variant's, is skipped for everyone),
// or that ends before the step could first go out to anyone enrolling
// now. day is the length of a sequence day.
func (d *Definition) Warnings(now time.Time, day time.Duration) []string {
	var out []string
	check := func(field string, s Step) {
		if s.Incentive == nil {
			return
		}
		end, ok := s.Incentive.End()
		if !ok {
			return
		}
		w, err := ParseWindow(s.At)
		switch {
		case !end.After(now):
			out = append(out, fmt.Sprintf("%s.incentive.ends_at: the offer ended at %s: step %s will be skipped for everyone",
				field, end.UTC().Format(time.RFC3339), s.ID))
		case err == nil && d.Anchor == "" && !end.After(now.Add(time.Duration(w.Min.TotalHours())*day/24)):
			out = append(out, fmt.Sprintf("%s.incentive.ends_at: the offer ends at %s, before step %s first goes out (%s after enrolment) to anyone enrolling now: they will not get it",
				field, end.UTC().Format(time.RFC3339), s.ID, w.Min))
		}
	}
	Walk(d.Steps, func(path string, s Step) {
		if s.Kind() == KindEmail {
			check(path, s)
		}
	})
	if d.Experiment != nil {
		for i, v := range d.Experiment.Variants {
			for _, s := range d.EmailSteps() {
				if vs, ok := v.Steps[s.ID]; ok && vs.Incentive != nil {
					check(fmt.Sprintf("experiment.variants[%d].steps.%s", i, s.ID), d.ForVariant(s, v.ID))
				}
			}
		}
	}
	return out
}

// Offset is a whole number of days and hours after enrolment.
type Offset struct {
	Days  int `json:"days,omitempty"`
	Hours int `json:"hours,omitempty"`
}

// TotalHours is the offset's length in hours of nominal 24-hour days.
func (o Offset) TotalHours() int { return o.Days*24 + o.Hours }

// Scaled is the offset's length when a day lasts day (24h, or less in
// demos and tests).
func (o Offset) Scaled(day time.Duration) time.Duration {
	return time.Duration(o.Days)*day + time.Duration(o.Hours)*day/24
}

func (o Offset) String() string {
	switch {
	case o.Hours == 0:
		return fmt.Sprintf("%dd", o.Days)
	case o.Days == 0:
		return fmt.Sprintf("%dh", o.Hours)
	}
	return fmt.Sprintf("%dd%dh", o.Days, o.Hours)
}

// Window is the earliest and latest offset of a step.
type Window struct {
	Min, Max Offset
}

var offsetRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d+)h)?$`)

// ParseOffset parses "3d", "12h" or "1d12h".
func ParseOffset(s string) (Offset, error) {
	m := offsetRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[1] == "" && m[2] == "") {
		return Offset{}, fmt.Errorf("%q is not an offset like 3d, 12h or 1d12h", s)
	}
	var o Offset
	o.Days, _ = strconv.Atoi(m[1])
	o.Hours, _ = strconv.Atoi(m[2])
	if o.TotalHours() > 365*24 {
		return Offset{}, fmt.Errorf("%q is more than 365 days", s)
	}
	return o, nil
}

// ParseWindow parses "3d" or "3d-7d".
func ParseWindow(s string) (Window, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	min, err := ParseOffset(lo)
	if err != nil {
		return Window{}, err
	}
	if !isRange {
		return Window{Min: min, Max: min}, nil
	}
	max, err := ParseOffset(hi)
	if err != nil {
		return Window{}, err
	}
	if max.TotalHours() < min.TotalHours() {
		return Window{}, fmt.Errorf("%q ends before it starts", s)
	}
	return Window{Min: min, Max: max}, nil
}

// ParseSendWindow parses "09:00-20:00" into minutes after local midnight.
func ParseSendWindow(s string) (start, end int, err error) {
	if s == "" {
		return 9 * 60, 20 * 60, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a window like 09:00-20:00", s)
	}
	if start, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	if end <= start {
		return 0, 0, fmt.Errorf("%q ends before it starts", s)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("%q is not a time like 09:00", s)
	}
	return h*60 + m, nil
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// IsID reports whether s is shaped like a campaign, step or experiment ID.
func IsID(s string) bool { return idRE.MatchString(s) }

// Parse decodes and validates a definition. Unknown fields are refused so a
// typo never silently changes a sequence.
func Parse(data []byte) (*Definition, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, errs.FromJSON(err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate checks the definition. The error names the first bad field as a
// JSON path, e.g. steps[1].at.
func (d *Definition) Validate() error {
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	if !idRE.MatchString(d.ID) {
		return bad("id", "must be 1-64 lower-case letters, digits, - or _")
	}
	if strings.TrimSpace(d.Name) == "" || utf8.RuneCountInString(d.Name) > 200 {
		return bad("name", "is required, at most 200 characters")
	}
	if d.Kind != CrossSell && d.Kind != Upsell {
		return bad("kind", "must be %q or %q", CrossSell, Upsell)
	}
	if !IsTrigger(d.Trigger.Event) {
		return bad("trigger.event", "unknown event type %q", d.Trigger.Event)
	}
	if d.Holdout < 0 || d.Holdout > 50 {
		return bad("holdout", "must be a percentage from 0 to 50")
	}
	if d.Trigger.Event == TriggerInactivity {
		if o, err := ParseOffset(d.Trigger.After); err != nil || o.TotalHours() == 0 {
			return bad("trigger.after", "an inactivity trigger needs a time without events, like 30d")
		}
	} else if d.Trigger.After != "" {
		return bad("trigger.after", "only goes with the inactivity trigger")
	}
	if d.Trigger.Within != "" {
		if _, err := ParseOffset(d.Trigger.Within); err != nil {
			return bad("trigger.within", "%v", err)
		}
	}
	if err := checkWhere("trigger.where", d.Trigger.Where); err != nil {
		return err
	}
	for i, g := range d.ExitOn {
		if !goals[g] {
			return bad(fmt.Sprintf("exit_on[%d]", i), "unknown exit goal %q", g)
		}
	}
	if _, _, err := ParseSendWindow(d.SendWindow); err != nil {
		return bad("send_window", "%v", err)
	}
	if d.AttributionWindow != "" {
		if _, err := ParseOffset(d.AttributionWindow); err != nil {
			return bad("attribution_window", "%v", err)
		}
	}
	if d.EnterWithin != "" {
		if o, err := ParseOffset(d.EnterWithin); err != nil {
			return bad("enter_within", "%v", err)
		} else if o.TotalHours() < 1 {
			return bad("enter_within", "must be at least 1h")
		}
	}
	if r := d.Reentry; r != nil {
		switch r.Rule {
		case ReentryAlways, ReentryOnce:
			if r.Period != "" {
				return bad("reentry.period", "only goes with rule %q", ReentryOncePer)
			}
		case ReentryOncePer:
			if _, err := ParseOffset(r.Period); err != nil || r.Period == "" {
				return bad("reentry.period", "once_per needs a period like 30d")
			}
		default:
			return bad("reentry.rule", "must be %q, %q or %q", ReentryAlways, ReentryOnce, ReentryOncePer)
		}
		if len(r.Key) > 5 {
			return bad("reentry.key", "at most 5 properties")
		}
	}
	if len(d.UpgradeTo) > 0 && !d.HasGoal(GoalUpgrade) {
		return bad("upgrade_to", "only goes with the upgrade exit goal")
	}
	if d.Anchor != "" && !idRE.MatchString(d.Anchor) {
		return bad("anchor", "must name an event property, like ends_at")
	}
	if len(d.Steps) == 0 || len(d.Steps) > 20 {
		return bad("steps", "must have 1 to 20 steps")
	}
	if _, err := d.validateSteps(d.Steps, "steps", map[string]bool{}, map[string]bool{}, -1, 0); err != nil {
		return err
	}
	return d.validateExperiment()
}

// validateEmail checks an email step; f names its fields. prev is the
// earliest offset (hours) it may have, -1 when any; it returns its own.
func (d *Definition) validateEmail(s Step, f func(string) string, i, prev int) (int, error) {
	bad := func(field, format string, args ...any) error {
		return errs.Field(errs.Invalid, field, format, args...)
	}
	w, err := ParseWindow(s.At)
	if err != nil {
		return prev, bad(f("at"), "%v", err)
	}
	switch {
	case d.Anchor != "" && w.Min != w.Max:
		return prev, bad(f("at"), "with an anchor, give one offset before it, like 10d")
	case d.Anchor != "" && i > 0 && w.Min.TotalHours() >= prev:
		return prev, bad(f("at"), "must be closer to the anchor than the previous step")
	case d.Anchor == "" && w.Min.TotalHours() < prev:
		return prev, bad(f("at"), "starts before the previous step")
	}
	prev = w.Min.TotalHours()
	if strings.TrimSpace(s.Subject) == "" {
		return prev, bad(f("subject"), "is required")
	}
	texts := []struct {
		field string
		t     StepText
	}{{"", StepText{Subject: s.Subject, Preheader: s.Preheader, Heading: s.Heading, Body: s.Body, CTA: s.CTA, CTAURL: s.CTAURL}}}
	for _, lang := range slices.Sorted(maps.Keys(s.Translations)) {
		texts = append(texts, struct {
			field string
			t     StepText
		}{"translations." + lang + ".", s.Translations[lang]})
	}
	for _, x := range texts {
		if err := checkText(f(x.field), x.t); err != nil {
			return prev, err
		}
	}
	if err := checkWhere(f("only_if"), s.OnlyIf); err != nil {
		return prev, err
	}
	switch {
	case s.CTAURL != "" && strings.TrimSpace(s.CTA) == "":
		return prev, bad(f("cta"), "is required with cta_url: it is the button's label")
	case s.CTA != "" && s.CTAURL == "" && s.Recommend == nil:
		return prev, bad(f("cta_url"), "the call to action %q has nowhere to go: set cta_url, or recommend products (it then links to the first)", s.CTA)
	}
	if !slices.Contains(Templates, s.Template) {
		return prev, bad(f("template"), "unknown template %q (one of %s)", s.Template, strings.Join(Templates, ", "))
	}
	if s.Recommend != nil {
		if !slices.Contains(Strategies, s.Recommend.Strategy) {
			return prev, bad(f("recommend.strategy"), "unknown strategy %q (one of %s)", s.Recommend.Strategy, joinNames(Strategies))
		}
		if s.Recommend.Limit < 0 || s.Recommend.Limit > 3 {
			return prev, bad(f("recommend.limit"), "must be 1 to 3")
		}
		if r := s.Recommend.MaxPriceRatio; r < 0 || (r > 0 && r < 0.1) || r > 100 {
			return prev, bad(f("recommend.max_price_ratio"), "must be between 0.1 and 100, or 0 for no ceiling")
		}
		if len(s.Recommend.Pin) > 3 || len(s.Recommend.Block) > 100 {
			return prev, bad(f("recommend.pin"), "at most 3 pins and 100 blocks")
		}
		if w := s.Recommend.Window; w != "" && w != "all" {
			if o, err := ParseOffset(w); err != nil || o.Days < 1 || o.Hours != 0 || o.Days > 3660 {
				return prev, bad(f("recommend.window"), "must be whole days like 90d (1d to 3660d) or \"all\"")
			}
		}
	}
	if s.Incentive != nil {
		if s.Incentive.Pool != "" && (s.Incentive.Code != "" || !idRE.MatchString(s.Incentive.Pool)) {
			return prev, bad(f("incentive.pool"), "a pool ID (1-64 lower-case letters, digits, - or _) draws a code per recipient: give it or a code, not both")
		}
		if s.Incentive.PercentOff < 1 || s.Incentive.PercentOff > 90 {
			return prev, bad(f("incentive.percent_off"), "must be 1 to 90")
		}
		if s.Incentive.ExpiresIn != "" {
			if _, err := ParseOffset(s.Incentive.ExpiresIn); err != nil {
				return prev, bad(f("incentive.expires_in"), "%v", err)
			}
		}
		if _, err := time.Parse(time.RFC3339, s.Incentive.EndsAt); s.Incentive.EndsAt != "" && err != nil {
			return prev, bad(f("incentive.ends_at"), "must be an RFC 3339 time like 2026-12-31T23:59:59Z")
		}
	}
	return prev, nil
}

// Plan is a definition's timing and goals only: what a sequence workflow
// needs, without any content.
type Plan struct {
	ID          string     `json:"id"`
	Kind        Kind       `json:"kind"`
	Steps       []PlanStep `json:"steps"`
	ExitOn      []Goal     `json:"exit_on,omitempty"`
	UpgradeTo   []string   `json:"upgrade_to,omitempty"`
	Attribution Offset     `json:"attribution"`
	WindowStart int        `json:"window_start"` // send window, minutes after local midnight
	WindowEnd   int        `json:"window_end"`
	Holdout     float64    `json:"holdout,omitempty"` // percent never emailed
	Experiment  string     `json:"experiment,omitempty"`
	Variants    []Weighted `json:"variants,omitempty"`
	// VariantSteps is the timing of variants that move or omit steps.
	VariantSteps map[string][]PlanStep `json:"variant_steps,omitempty"`
}

// StepsFor is the variant's step timing.
func (p Plan) StepsFor(variant string) []PlanStep {
	if s, ok := p.VariantSteps[variant]; ok {
		return s
	}
	return p.Steps
}

// PlanStep is one step's timing.
type PlanStep struct {
	ID     string `json:"id"`
	Window Window `json:"window"`
	// Kind is "" for an email step, else branch, wait_for or webhook
	// (whose zero Window means "when the flow reaches it").
	Kind string     `json:"kind,omitempty"`
	Then []PlanStep `json:"then,omitempty"` // a branch's paths
	Else []PlanStep `json:"else,omitempty"`
	// A wait_for's event (for the Temporal UI only: the API matches
	// events), how long it waits and whether a timeout ends the sequence.
	Event         string  `json:"event,omitempty"`
	Within        *Offset `json:"within,omitempty"`
	ExitOnTimeout bool    `json:"exit_on_timeout,omitempty"`
}

// Plan returns the definition's plan. The definition must be valid.
func (d *Definition) Plan() Plan {
	start, end, _ := ParseSendWindow(d.SendWindow)
	p := Plan{ID: d.ID, Kind: d.Kind, ExitOn: d.ExitOn, UpgradeTo: d.UpgradeTo, Attribution: d.Attribution(),
		WindowStart: start, WindowEnd: end, Holdout: d.Holdout, Variants: d.Experiment.Weighted()}
	if d.Experiment != nil {
		p.Experiment = d.Experiment.ID
	}
	p.Steps = planSteps(d.Steps)
	if d.Experiment != nil {
		for _, v := range d.Experiment.Variants {
			if slices.ContainsFunc(slices.Collect(maps.Values(v.Steps)), VariantStep.retimes) {
				if p.VariantSteps == nil {
					p.VariantSteps = map[string][]PlanStep{}
				}
				p.VariantSteps[v.ID] = planSteps(d.VariantSteps(v.ID))
			}
		}
	}
	return p
}

func planSteps(steps []Step) []PlanStep {
	var out []PlanStep
	for _, s := range steps {
		w, _ := ParseWindow(s.At)
		ps := PlanStep{ID: s.ID, Window: w}
		switch s.Kind() {
		case KindBranch:
			ps.Kind, ps.Then, ps.Else = KindBranch, planSteps(s.Branch.Then), planSteps(s.Branch.Else)
		case KindWaitFor:
			within, _ := ParseOffset(s.WaitFor.Within)
			ps.Kind, ps.Within, ps.ExitOnTimeout = KindWaitFor, &within, s.OnTimeout == OnTimeoutExit
			ps.Event = s.WaitFor.Event
			if s.WaitFor.Step != "" {
				ps.Event += " of " + s.WaitFor.Step
			}
		case KindWebhook:
			ps.Kind = KindWebhook
		}
		out = append(out, ps)
	}
	return out
}

// UsesRecommendations reports whether any template in the step shows
// products, so that an empty recommendation list skips it.
func (s Step) UsesRecommendations() bool { return s.Recommend != nil }

// StepByID returns the step with the given ID.
// A step on a branch's path is found too.
func (d *Definition) StepByID(id string) (Step, bool) {
	var found *Step
	Walk(d.Steps, func(_ string, s Step) {
		if s.ID == id && found == nil {
			found = &s
		}
	})
	if found == nil {
		return Step{}, false
	}
	return *found, true
}

// Attribution is the attribution window (default 5 days).
func (d *Definition) Attribution() Offset {
	if d.AttributionWindow == "" {
		return Offset{Days: 5}
	}
	o, _ := ParseOffset(d.AttributionWindow)
	return o
}

// DefaultEnterWithin is the entry window of a campaign that sets none.
const DefaultEnterWithin = 24 * time.Hour

// EntryWindow is how old a triggering event may be and still enrol.
func (d *Definition) EntryWindow() time.Duration {
	o, err := ParseOffset(d.EnterWithin)
	if d.EnterWithin == "" || err != nil {
		return DefaultEnterWithin
	}
	return time.Duration(o.TotalHours()) * time.Hour
}

// HasGoal reports whether the campaign exits on goal.
func (d *Definition) HasGoal(goal Goal) bool { return slices.Contains(d.ExitOn, goal) }

// checkText checks a step's copy: lengths, and that each field parses as
// a template. field prefixes the field names in errors.
func checkText(field string, t StepText) error {
	for _, tf := range []struct {
		name, text string
		max        int
	}{{"subject", t.Subject, 300}, {"preheader", t.Preheader, 300}, {"heading", t.Heading, 300},
		{"body", t.Body, 10000}, {"cta", t.CTA, 100}} {
		if utf8.RuneCountInString(tf.text) > tf.max {
			return errs.Field(errs.Invalid, field+tf.name, "must be at most %d characters", tf.max)
		}
		if _, err := template.New(tf.name).Option("missingkey=error").Parse(tf.text); err != nil {
			return errs.Field(errs.Invalid, field+tf.name, "%v", err)
		}
	}
	if t.CTAURL != "" {
		u, err := url.Parse(t.CTAURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(t.CTAURL) > 2000 {
			return errs.Field(errs.Invalid, field+"cta_url", "must be an absolute http or https URL of at most 2000 characters")
		}
	}
	return nil
}

// joinNames lists named values for an error message.
func joinNames[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
