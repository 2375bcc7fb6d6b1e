package campaign

import (
	"crypto/sha256"
	"encoding/binary"
)

// VariantHoldout is the variant of enrolments that run the sequence's
// clock but are never emailed: their conversions are what the campaign is
// measured against.
const VariantHoldout = "holdout"

// Weighted is a variant and its relative share of enrolments.
type Weighted struct {
	ID     string
	Weight int
}

// Assign places a customer in a variant: sticky and deterministic (a hash
// of customer, campaign and experiment, so the same on every retry,
// replay and re-enrolment), holdoutPercent of customers in the holdout and
// the rest split by weight. The holdout draw is a hash of its own
// (customer and campaign), so it is independent of the variant draw:
// raising the holdout share only moves customers from the variants into
// the holdout, never between variants, and a new experiment keeps the
// same holdout. With no variants everyone not held out gets "A".
func Assign(customerID, campaignID, experiment string, holdoutPercent float64, variants []Weighted) string {
	if uniform(customerID, campaignID, "\x00holdout") < holdoutPercent/100 {
		return VariantHoldout
	}
	total := 0
	for _, v := range variants {
		total += v.Weight
	}
	if total == 0 {
		return "A"
	}
	x := uniform(customerID, campaignID, experiment) * float64(total)
	acc := 0.0
	for _, v := range variants {
		acc += float64(v.Weight)
		if x < acc {
			return v.ID
		}
	}
	return variants[len(variants)-1].ID
}

// uniform hashes its parts to a number uniform in [0, 1).
func uniform(parts ...string) float64 {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	return float64(binary.BigEndian.Uint64(h.Sum(nil)[:8])>>11) / (1 << 53)
}
