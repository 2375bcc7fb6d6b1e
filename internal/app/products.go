package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/models"
)

// ProductInput is a catalogue entry as a caller sends it (PUT
// /v1/products/{sku}); the price is in major units of its currency.
type ProductInput struct {
	Name        string      `json:"name"`
	Category    string      `json:"category"`
	Price       json.Number `json:"price"`
	Currency    string      `json:"currency"`
	URL         string      `json:"url"`
	ImageURL    string      `json:"image_url"`
	InStock     *bool       `json:"in_stock"`
	Complements []string    `json:"complements"`
	Regions     []string    `json:"regions"`
	Seasons     []string    `json:"seasons"`
	Rating      float64     `json:"rating"`
	Reviews     int         `json:"reviews"`
	Testimonial string      `json:"testimonial"`
	TierRank    int         `json:"tier_rank"`
	Features    []string    `json:"features"`
}

// SaveProduct creates or replaces a catalogue entry.
func (a *App) SaveProduct(ctx context.Context, sku string, req ProductInput) (*models.Product, error) {
	p, err := a.checkProduct(sku, req)
	if err != nil {
		return nil, err
	}
	if err := a.Store.UpsertProduct(ctx, p); err != nil {
		return nil, err
	}
	return a.Store.GetProduct(ctx, sku)
}

// checkProduct validates a catalogue entry (a PUT's or an import row's)
// and builds it.
func (a *App) checkProduct(sku string, req ProductInput) (*models.Product, error) {
	if err := validID("sku", sku); err != nil {
		return nil, err
	}
	req.Currency = cmp.Or(req.Currency, "USD")
	var price int64
	var err error
	if money.Valid(req.Currency) { // else refused below, after the name
		price, err = toMinor("price", req.Price, req.Currency)
	}
	if err == nil {
		err = firstErr(checkText("name", req.Name, 300), checkText("category", req.Category, 128),
			checkText("url", req.URL, 2048), checkText("image_url", req.ImageURL, 2048))
	}
	switch {
	case err != nil:
	case strings.TrimSpace(req.Name) == "":
		err = errs.Field(errs.Invalid, "name", "is required")
	case !money.Valid(req.Currency):
		err = checkCurrency("currency", req.Currency)
	case !validURL(req.URL):
		err = errs.Field(errs.Invalid, "url", "must be an absolute http(s) URL")
	case !validURL(req.ImageURL):
		err = errs.Field(errs.Invalid, "image_url", "must be an absolute http(s) URL")
	case req.Rating < 0 || req.Rating > 5:
		err = errs.Field(errs.Invalid, "rating", "must be 0 to 5")
	case req.TierRank < 0 || req.TierRank > 100:
		err = errs.Field(errs.Invalid, "tier_rank", "must be 0 (no ladder) to 100")
	case len(req.Features) > 20:
		err = errs.Field(errs.Invalid, "features", "at most 20")
	case checkList("features", req.Features, 120) != nil:
		err = checkList("features", req.Features, 120)
	case req.Reviews < 0:
		err = errs.Field(errs.Invalid, "reviews", "must not be negative")
	case checkText("testimonial", req.Testimonial, 300) != nil:
		err = checkText("testimonial", req.Testimonial, 300)
	case len(req.Complements) > 10:
		err = errs.Field(errs.Invalid, "complements", "at most 10")
	}
	for i, r := range req.Regions {
		if err == nil && !countryRE.MatchString(r) {
			err = errs.Field(errs.Invalid, fmt.Sprintf("regions[%d]", i), "must be an ISO 3166-1 alpha-2 code like NO")
		}
	}
	for i, season := range req.Seasons {
		if err == nil && !slices.Contains(recs.Seasons, season) {
			err = errs.Field(errs.Invalid, fmt.Sprintf("seasons[%d]", i), "must be one of %s", strings.Join(recs.Seasons, ", "))
		}
	}
	for i, comp := range req.Complements {
		if err == nil && (comp == sku || validID("", comp) != nil) {
			err = errs.Field(errs.Invalid, fmt.Sprintf("complements[%d]", i), "must be another product's SKU")
		}
	}
	if err != nil {
		return nil, err
	}
	inStock := req.InStock == nil || *req.InStock
	if req.Complements == nil {
		req.Complements = []string{}
	}
	p := &models.Product{
		SKU: sku, Name: strings.TrimSpace(req.Name), Category: req.Category, PriceMinor: price,
		Currency: req.Currency, URL: req.URL, ImageURL: req.ImageURL, InStock: inStock, Complements: req.Complements,
		Regions: req.Regions, Seasons: req.Seasons, Rating: req.Rating, Reviews: req.Reviews, Testimonial: req.Testimonial,
		TierRank: req.TierRank, Features: req.Features,
	}
	return p, nil
}

// Product returns one product.
func (a *App) Product(ctx context.Context, sku string) (*models.Product, error) {
	return a.Store.GetProduct(ctx, sku)
}

func validURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Rules are complement rules for many products at once (PUT
// /v1/recommendation-rules).
type Rules struct {
	Rules []struct {
		SKU         string   `json:"sku"`
		Complements []string `json:"complements"`
	} `json:"rules"`
}

// SetComplementRules replaces the complement rules of every product
// named, all or nothing, and returns how many it set.
func (a *App) SetComplementRules(ctx context.Context, req Rules) (int, error) {
	if len(req.Rules) == 0 || len(req.Rules) > 10000 {
		return 0, errs.Field(errs.Invalid, "rules", "must hold 1 to 10000 rules")
	}
	rules := map[string][]string{}
	for i, r := range req.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if err := validID(field+".sku", r.SKU); err != nil {
			return 0, err
		}
		if _, dup := rules[r.SKU]; dup {
			return 0, errs.Field(errs.Invalid, field+".sku", "%q appears twice", r.SKU)
		}
		if len(r.Complements) > 10 {
			return 0, errs.Field(errs.Invalid, field+".complements", "at most 10")
		}
		for j, comp := range r.Complements {
			if comp == r.SKU || validID("", comp) != nil {
				return 0, errs.Field(errs.Invalid, fmt.Sprintf("%s.complements[%d]", field, j), "must be another product's SKU")
			}
		}
		if r.Complements == nil {
			r.Complements = []string{}
		}
		rules[r.SKU] = r.Complements
	}
	err := a.Store.SetComplements(ctx, rules)
	if errs.Is(err, errs.NotFound) {
		return 0, errs.Field(errs.NotFound, "rules", "%s", errs.Message(err))
	}
	return len(rules), err
}
