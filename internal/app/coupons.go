package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"

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

// Generated codes: each # of a pattern becomes one of these 31
// characters, with none a reader could take for another (no 0, O, 1, I
// or L).
const (
	codeAlphabet    = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	minPatternRunes = 6 // 31^6 ≈ 887 million codes: too many to guess one
)

var patternRE = regexp.MustCompile(`^[A-Za-z0-9_#-]{1,64}$`)

// GenerateCoupons adds count new codes to a pool, made from pattern:
// every # is a random character (crypto/rand) from an unambiguous
// alphabet, the rest is kept ("BF-####-####"). A code the pool already
// holds is drawn again, so count new codes are added.
func (a *App) GenerateCoupons(ctx context.Context, poolID, pattern string, count int) (*CouponPool, error) {
	if !poolRE.MatchString(poolID) {
		return nil, errs.Field(errs.Invalid, "id", "must be 1-64 lower-case letters, digits, - or _")
	}
	if !patternRE.MatchString(pattern) || strings.Count(pattern, "#") < minPatternRunes {
		return nil, errs.Field(errs.Invalid, "pattern", "1-64 letters, digits, - or _, with at least %d # for the random characters (like BF-####-####)", minPatternRunes)
	}
	if count < 1 || count > 10_000 {
		return nil, errs.Field(errs.Invalid, "count", "must be 1 to 10000")
	}
	var added int64
	for range 5 { // a collision is rare; a pattern too small for count is refused below
		codes := make([]string, 0, count-int(added))
		seen := map[string]bool{}
		for len(codes) < cap(codes) {
			c, err := fromPattern(pattern)
			if err != nil {
				return nil, err
			}
			if !seen[c] {
				seen[c] = true
				codes = append(codes, c)
			}
		}
		n, err := a.Store.AddCoupons(ctx, poolID, codes)
		if err != nil {
			return nil, err
		}
		if added += n; added == int64(count) {
			break
		}
	}
	if added < int64(count) {
		return nil, errs.Field(errs.Conflict, "pattern", "only %d new codes fit: the pattern has too few # for this pool", added)
	}
	p, err := a.Coupons(ctx, poolID)
	if err != nil {
		return nil, err
	}
	p.Added = &added
	return p, nil
}

func fromPattern(pattern string) (string, error) {
	var b strings.Builder
	size := big.NewInt(int64(len(codeAlphabet)))
	for _, r := range pattern {
		if r != '#' {
			b.WriteRune(r)
			continue
		}
		n, err := rand.Int(rand.Reader, size)
		if err != nil {
			return "", err
		}
		b.WriteByte(codeAlphabet[n.Int64()])
	}
	return b.String(), nil
}
