package recs

import (
	"slices"
	"time"
)

// Seasons a product may be tagged with (PUT /v1/products/{sku} "seasons").
// A product tagged with some is only recommended to a customer who is in
// one of them now, where they live.
var Seasons = []string{"winter", "spring", "summer", "autumn"}

// southern lists countries (ISO 3166-1 alpha-2) wholly or mostly in the
// southern hemisphere outside the tropics, where the seasons are the
// north's shifted by six months.
var southern = []string{"AR", "AU", "BW", "CL", "FK", "LS", "NA", "NZ", "SZ", "UY", "ZA"}

// tropical lists countries wholly or mostly between the tropics: no
// winter there, whatever the month, so winter gear is never suitable and
// summer gear always is.
var tropical = []string{
	"AG", "AO", "AW", "BB", "BI", "BJ", "BN", "BO", "BR", "BS", "BZ", "CD", "CF", "CG", "CI", "CM", "CO", "CR", "CU", "CV",
	"DJ", "DM", "DO", "EC", "ER", "ET", "FJ", "GA", "GD", "GH", "GM", "GN", "GQ", "GT", "GW", "GY", "HN", "HT", "ID", "JM",
	"KE", "KH", "KI", "KN", "KM", "LA", "LC", "LK", "LR", "MG", "MH", "ML", "MM", "MU", "MV", "MW", "MY", "MZ", "NE",
	"NG", "NI", "NR", "PA", "PE", "PG", "PH", "PR", "PW", "PY", "RW", "SB", "SC", "SD", "SG", "SL", "SN", "SO", "SR",
	"SS", "ST", "SV", "TD", "TG", "TH", "TL", "TO", "TT", "TV", "TZ", "UG", "VC", "VE", "VN", "VU", "WS", "YE", "ZM", "ZW",
}

// seasonsNow says which seasons it is for a customer in country at t
// (meteorological seasons; in the tropics it is always summer; any other
// country is taken as northern). No country gives nil: the season filter
// does not apply. The month is UTC's: a few hours at a month's edge do
// not change what suits the weather.
func seasonsNow(country string, t time.Time) []string {
	if country == "" {
		return nil
	}
	if slices.Contains(tropical, country) {
		return []string{"summer"}
	}
	m := int(t.Month())
	if slices.Contains(southern, country) {
		m = (m+5)%12 + 1 // six months on
	}
	// Dec–Feb winter, Mar–May spring, Jun–Aug summer, Sep–Nov autumn.
	return []string{Seasons[(m%12)/3]}
}

// inSeason reports whether a product tagged with seasons suits a customer
// in country at t.
func inSeason(tags []string, country string, t time.Time) bool {
	if len(tags) == 0 {
		return true
	}
	now := seasonsNow(country, t)
	if now == nil {
		return true
	}
	for _, s := range now {
		if slices.Contains(tags, s) {
			return true
		}
	}
	return false
}
