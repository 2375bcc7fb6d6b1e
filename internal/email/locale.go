package email

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Labels are the fixed words of the layout, per language.
type Labels struct {
	Lang         string
	Greeting     string // printf format with the first name
	Why          string
	StopSequence string
	StopAll      string
	View         string // printf format with the product name
	PercentOff   string // printf format with the percentage
	UseCode      string
	OfferEnds    string
	Usage        string // printf format: used, limit, metric, percent
	Reviews      string // printf format: rating, count
	YourPlan     string
	UpgradeTo    string
}

// catalog holds the shipped languages; English is the fallback.
var catalog = map[string]Labels{
	"en": {
		Lang: "en", Greeting: "Hi %s,", View: "View %s", PercentOff: "%d%% off", UseCode: "Use code", OfferEnds: "Offer ends",
		Usage: "You have used %s of %s %s (%d%%).", Reviews: "★ %s · %d reviews", YourPlan: "Your plan", UpgradeTo: "Upgrade to",
		Why:          "You are receiving this because you bought from us and agreed to hear about related products.",
		StopSequence: "Not interested? Stop these emails", StopAll: "Unsubscribe from all marketing email",
	},
	"de": {
		Lang: "de", Greeting: "Hallo %s,", View: "%s ansehen", PercentOff: "%d %% Rabatt", UseCode: "Mit dem Code", OfferEnds: "Angebot gültig bis",
		Usage: "Sie haben %s von %s %s genutzt (%d %%).", Reviews: "★ %s · %d Bewertungen", YourPlan: "Ihr Tarif", UpgradeTo: "Upgrade auf",
		Why:          "Sie erhalten diese E-Mail, weil Sie bei uns gekauft und zugestimmt haben, von passenden Produkten zu hören.",
		StopSequence: "Kein Interesse? Diese E-Mails abbestellen", StopAll: "Alle Marketing-E-Mails abbestellen",
	},
}

// Languages lists the shipped languages.
func Languages() []string { return []string{"de", "en"} }

// Base returns the shipped language for a locale: de-CH and de-AT are de;
// anything unknown falls back to en.
func Base(locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		return "en"
	}
	base, _ := tag.Base()
	if _, ok := catalog[base.String()]; ok {
		return base.String()
	}
	return "en"
}

// LabelsFor returns the labels for a locale, with the English fallback.
func LabelsFor(locale string) Labels { return catalog[Base(locale)] }

var (
	deWeekdays = []string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
	deMonths   = []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
)

// FormatDate formats a deadline as the locale writes a weekday and date
// (CLDR's MMMMEEEEd): "Thursday, December 3" in American English (and
// English without a region), "Thursday 3 December" in British and the
// other Englishes that put the day first, "Donnerstag, 3. Dezember" in
// German.
func FormatDate(t time.Time, locale string) string {
	if Base(locale) == "de" {
		return fmt.Sprintf("%s, %d. %s", deWeekdays[t.Weekday()], t.Day(), deMonths[t.Month()-1])
	}
	if monthFirst(locale) {
		return t.Format("Monday, January 2")
	}
	return t.Format("Monday 2 January")
}

// monthFirst reports whether an English locale writes the month before
// the day: the United States, Canada and the Philippines, and English
// without a region (CLDR's "en" is American).
func monthFirst(locale string) bool {
	tag, err := language.Parse(locale)
	if err != nil {
		return true
	}
	region, confidence := tag.Region()
	if confidence != language.Exact {
		return true
	}
	switch region.String() {
	case "US", "CA", "PH", "UM", "VI", "PR", "AS", "GU", "MP":
		return true
	}
	return false
}

func greeting(l Labels, name string) string  { return fmt.Sprintf(l.Greeting, name) }
func viewLabel(l Labels, name string) string { return fmt.Sprintf(l.View, name) }
func percentOff(l Labels, percent int) string {
	return strings.TrimSpace(fmt.Sprintf(l.PercentOff, percent))
}

func usageLine(l Labels, u Usage) string {
	return fmt.Sprintf(l.Usage, u.Used, u.Limit, u.Metric, u.Percent)
}

func reviewsLine(l Labels, p Product) string { return fmt.Sprintf(l.Reviews, p.Rating, p.Reviews) }

// FormatNumber formats a count for a locale: 1,000 or 1.000.
func FormatNumber(n float64, locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		tag = language.English
	}
	return message.NewPrinter(tag).Sprintf("%v", number.Decimal(n))
}

// FormatRating formats an average rating with one decimal in the
// locale's style: 4.8 in English, 4,8 in German.
func FormatRating(r float64, locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		tag = language.English
	}
	return message.NewPrinter(tag).Sprintf("%v", number.Decimal(r, number.MinFractionDigits(1), number.MaxFractionDigits(1)))
}
