package api

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/models"
)

// ProductRequest is the body of PUT /v1/products/{sku}.
type ProductRequest struct {
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

// ProductResponse is a product as the API shows it.
type ProductResponse struct {
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Category    string    `json:"category,omitempty"`
	Price       float64   `json:"price"`
	Currency    string    `json:"currency"`
	URL         string    `json:"url,omitempty"`
	ImageURL    string    `json:"image_url,omitempty"`
	InStock     bool      `json:"in_stock"`
	Complements []string  `json:"complements"`
	Regions     []string  `json:"regions,omitempty"`
	Seasons     []string  `json:"seasons,omitempty"`
	Rating      float64   `json:"rating,omitempty"`
	Reviews     int       `json:"reviews,omitempty"`
	Testimonial string    `json:"testimonial,omitempty"`
	TierRank    int       `json:"tier_rank,omitempty"`
	Features    []string  `json:"features,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (h *handlers) putProduct(c *gin.Context) {
	sku := c.Param("sku")
	var req ProductRequest
	if err := firstErr(validID("sku", sku), bind(c, &req)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if req.Currency == "" {
		req.Currency = "USD"
	}
	price, err := toMinor("price", req.Price)
	if err == nil {
		err = firstErr(checkText("name", req.Name, 300), checkText("category", req.Category, 128),
			checkText("url", req.URL, 2048), checkText("image_url", req.ImageURL, 2048))
	}
	switch {
	case err != nil:
	case strings.TrimSpace(req.Name) == "":
		err = errs.Field(errs.Invalid, "name", "is required")
	case !currencyRE.MatchString(req.Currency):
		err = errs.Field(errs.Invalid, "currency", "must be an ISO 4217 code like USD")
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
			err = errs.Field(errs.Invalid, "regions["+itoa(i)+"]", "must be an ISO 3166-1 alpha-2 code like NO")
		}
	}
	for i, season := range req.Seasons {
		if err == nil && !slices.Contains(recs.Seasons, season) {
			err = errs.Field(errs.Invalid, "seasons["+itoa(i)+"]", "must be one of %s", strings.Join(recs.Seasons, ", "))
		}
	}
	for i, comp := range req.Complements {
		if err == nil && (comp == sku || validID("", comp) != nil) {
			err = errs.Field(errs.Invalid, "complements["+itoa(i)+"]", "must be another product's SKU")
		}
	}
	if err != nil {
		writeError(c, h.Logger, err)
		return
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
	ctx := c.Request.Context()
	if err := h.Store.UpsertProduct(ctx, p); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	saved, err := h.Store.GetProduct(ctx, sku)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, productResponse(saved))
}

func (h *handlers) getProduct(c *gin.Context) {
	p, err := h.Store.GetProduct(c.Request.Context(), c.Param("sku"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, productResponse(p))
}

func productResponse(p *models.Product) ProductResponse {
	comps := p.Complements
	if comps == nil {
		comps = []string{}
	}
	return ProductResponse{
		SKU: p.SKU, Name: p.Name, Category: p.Category, Price: float64(p.PriceMinor) / 100,
		Currency: p.Currency, URL: p.URL, ImageURL: p.ImageURL, InStock: p.InStock,
		Complements: comps, Regions: p.Regions, Seasons: p.Seasons, Rating: p.Rating, Reviews: p.Reviews, Testimonial: p.Testimonial,
		TierRank: p.TierRank, Features: p.Features,
		UpdatedAt: p.UpdatedAt,
	}
}

// toMinor converts a decimal amount like 49.99 into minor units (4999).
// Empty means zero; negative amounts and sub-cent precision are refused.
func toMinor(field string, n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e12 {
		return 0, errs.Field(errs.Invalid, field, "must be a non-negative amount like 49.99")
	}
	minor := math.Round(f * 100)
	if math.Abs(minor-f*100) > 1e-6 {
		return 0, errs.Field(errs.Invalid, field, "has more than two decimal places")
	}
	return int64(minor), nil
}

func validURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RulesRequest is the body of PUT /v1/recommendation-rules: complement
// rules for many products at once.
type RulesRequest struct {
	Rules []struct {
		SKU         string   `json:"sku"`
		Complements []string `json:"complements"`
	} `json:"rules"`
}

// putRules replaces the complement rules of every product named, all or
// nothing.
func (h *handlers) putRules(c *gin.Context) {
	var req RulesRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if len(req.Rules) == 0 || len(req.Rules) > 10000 {
		writeError(c, h.Logger, errs.Field(errs.Invalid, "rules", "must hold 1 to 10000 rules"))
		return
	}
	rules := map[string][]string{}
	for i, r := range req.Rules {
		field := "rules[" + itoa(i) + "]"
		if err := validID(field+".sku", r.SKU); err != nil {
			writeError(c, h.Logger, err)
			return
		}
		if _, dup := rules[r.SKU]; dup {
			writeError(c, h.Logger, errs.Field(errs.Invalid, field+".sku", "%q appears twice", r.SKU))
			return
		}
		if len(r.Complements) > 10 {
			writeError(c, h.Logger, errs.Field(errs.Invalid, field+".complements", "at most 10"))
			return
		}
		for j, comp := range r.Complements {
			if comp == r.SKU || validID("", comp) != nil {
				writeError(c, h.Logger, errs.Field(errs.Invalid, field+".complements["+itoa(j)+"]", "must be another product's SKU"))
				return
			}
		}
		if r.Complements == nil {
			r.Complements = []string{}
		}
		rules[r.SKU] = r.Complements
	}
	if err := h.Store.SetComplements(c.Request.Context(), rules); errs.Is(err, errs.NotFound) {
		writeError(c, h.Logger, errs.Field(errs.NotFound, "rules", "%s", errs.Message(err)))
		return
	} else if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"updated": len(rules)})
}

// rebuildAffinities recomputes bought_together's affinities and
// similar_customers' similarities now (a Temporal Schedule also does it
// daily).
func (h *handlers) rebuildAffinities(c *gin.Context) {
	start := time.Now()
	pairs, similar, err := h.Store.RebuildRecommendations(c.Request.Context(), h.MinSupport)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	orders, err := h.Store.CountOrders(c.Request.Context())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	buyers, err := h.Store.CountBuyers(c.Request.Context())
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"pairs": pairs, "similar_pairs": similar, "orders": orders, "customers": buyers,
		"min_support": h.MinSupport, "took_ms": time.Since(start).Milliseconds()})
}
