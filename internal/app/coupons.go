package app

import (
	"context"
	"fmt"
	"regexp"

	"github.com/lift-hq/lift/internal/errs"
)

var (
	couponRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	poolRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// CouponPool is a pool's codes, counted.
type CouponPool struct {
	ID        string `json:"id"`
	Total     int64  `json:"total"`
	Issued    int64  `json:"issued"`
	Available int64  `json:"available"`
	Added     *int64 `json:"added,omitempty"` // on PUT: codes that were new
}

// AddCoupons adds one-time codes to a pool (creating it): up to 10,000 a
// call, each 1-64 letters, digits, - or _. A code the pool holds already
// is kept as it was, issued or not, so a retried upload is harmless.
func (a *App) AddCoupons(ctx context.Context, poolID string, codes []string) (*CouponPool, error) {
	if !poolRE.MatchString(poolID) {
		return nil, errs.Field(errs.Invalid, "id", "must be 1-64 lower-case letters, digits, - or _")
	}
	if len(codes) == 0 || len(codes) > 10_000 {
		return nil, errs.Field(errs.Invalid, "codes", "give 1 to 10000 codes")
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !couponRE.MatchString(c) {
			return nil, errs.Field(errs.Invalid, fmt.Sprintf("codes[%d]", i), "must be 1-64 letters, digits, - or _")
		}
		if seen[c] {
			return nil, errs.Field(errs.Invalid, fmt.Sprintf("codes[%d]", i), "%q appears twice", c)
		}
		seen[c] = true
	}
	added, err := a.Store.AddCoupons(ctx, poolID, codes)
	if err != nil {
		return nil, err
	}
	p, err := a.Coupons(ctx, poolID)
	if err != nil {
		return nil, err
	}
	p.Added = &added
	return p, nil
}

// Coupons counts a pool's codes.
func (a *App) Coupons(ctx context.Context, poolID string) (*CouponPool, error) {
	c, err := a.Store.CouponPool(ctx, poolID)
	if err != nil {
		return nil, err
	}
	return &CouponPool{ID: poolID, Total: c.Total, Issued: c.Issued, Available: c.Total - c.Issued}, nil
}
