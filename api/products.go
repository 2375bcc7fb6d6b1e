package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/models"
)

// ProductRequest is the body of PUT /v1/products/{sku}.
type ProductRequest = app.ProductInput

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

func (h *handlers) putProduct(c *gin.Context) {
	var req ProductRequest
	if err := firstErr(app.CheckID("sku", c.Param("sku")), bind(c, &req)); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	saved, err := h.App.SaveProduct(c.Request.Context(), c.Param("sku"), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, productResponse(saved))
}

func (h *handlers) getProduct(c *gin.Context) {
	p, err := h.App.Product(c.Request.Context(), c.Param("sku"))
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
		SKU: p.SKU, Name: p.Name, Category: p.Category, Price: money.ToMajor(p.PriceMinor, p.Currency),
		Currency: p.Currency, URL: p.URL, ImageURL: p.ImageURL, InStock: p.InStock,
		Complements: comps, Regions: p.Regions, Seasons: p.Seasons, Rating: p.Rating, Reviews: p.Reviews, Testimonial: p.Testimonial,
		TierRank: p.TierRank, Features: p.Features,
		UpdatedAt: p.UpdatedAt,
	}
}

// RulesRequest is the body of PUT /v1/recommendation-rules.
type RulesRequest = app.Rules

// putRules replaces the complement rules of every product named, all or
// nothing.
func (h *handlers) putRules(c *gin.Context) {
	var req RulesRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	n, err := h.App.SetComplementRules(c.Request.Context(), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"updated": n})
}

// startRebuild starts rebuilding the recommendation model in the
// background (one at a time; a Temporal Schedule also does it daily) and
// answers 202 with its status; GET on the same path follows it.
func (h *handlers) startRebuild(c *gin.Context) {
	h.respond(c, http.StatusAccepted)(h.App.StartRebuild(c.Request.Context()))
}

// rebuildStatus is the rebuild's state, the model's stats, the last
// evaluation and what auto stands for.
func (h *handlers) rebuildStatus(c *gin.Context) {
	h.respond(c, http.StatusOK)(h.App.RecommendationStatus(c.Request.Context()))
}

// evaluateRecommendations scores every strategy on the shop's orders.
func (h *handlers) evaluateRecommendations(c *gin.Context) {
	var req app.EvaluateInput
	if c.Request.ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			writeError(c, h.Logger, err)
			return
		}
	}
	h.respond(c, http.StatusOK)(h.App.EvaluateRecommendations(c.Request.Context(), req))
}

// CouponsRequest is the body of PUT /v1/coupon-pools/{id}: codes, or a
// pattern and how many codes Lift makes from it.
type CouponsRequest struct {
	Codes   []string `json:"codes,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Count   int      `json:"count,omitempty"`
}

func (h *handlers) putCoupons(c *gin.Context) {
	var req CouponsRequest
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	var p *app.CouponPool
	var err error
	switch {
	case req.Pattern != "" && len(req.Codes) > 0:
		err = errs.Field(errs.Invalid, "pattern", "give codes or a pattern, not both")
	case req.Pattern != "":
		p, err = h.App.GenerateCoupons(c.Request.Context(), c.Param("id"), req.Pattern, req.Count)
	default:
		p, err = h.App.AddCoupons(c.Request.Context(), c.Param("id"), req.Codes)
	}
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (h *handlers) getCoupons(c *gin.Context) {
	p, err := h.App.Coupons(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// putDestination registers a flow webhook destination (admin: it says
// where Lift posts customer IDs, and holds the signing secret).
func (h *handlers) putDestination(c *gin.Context) {
	var req app.DestinationInput
	if err := bind(c, &req); err != nil {
		writeError(c, h.Logger, err)
		return
	}
	d, err := h.App.PutDestination(c.Request.Context(), c.Param("id"), req)
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (h *handlers) getDestination(c *gin.Context) {
	d, err := h.App.Destination(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, h.Logger, err)
		return
	}
	if !principal(c).Has(domain.KeyScopeAdmin) {
		d.URL = app.MaskURL(d.URL) // its path may be the hook's secret
	}
	c.JSON(http.StatusOK, d)
}
