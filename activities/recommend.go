package activities

import "github.com/lift-hq/lift/models"

// complements chooses up to limit products from the manual complement
// rules of the trigger products, in rule order. It never recommends a
// trigger product, anything the customer already owns, anything out of
// stock or unknown to the catalogue, or the same product twice.
func complements(trigger []string, catalogue map[string]models.Product, owned map[string]bool, limit int) []string {
	seen := map[string]bool{}
	for _, sku := range trigger {
		seen[sku] = true
	}
	var out []string
	for _, sku := range trigger {
		for _, c := range catalogue[sku].Complements {
			p, ok := catalogue[c]
			if seen[c] || owned[c] || !ok || !p.InStock {
				continue
			}
			seen[c] = true
			out = append(out, c)
			if len(out) == limit {
				return out
			}
		}
	}
	return out
}
