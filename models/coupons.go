package models

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/lift-hq/lift/internal/errs"
)

// ErrPoolEmpty is IssueCoupon's answer when the pool has no unused code.
var ErrPoolEmpty = errs.E(errs.Conflict, "the coupon pool has no unused code")

// AddCoupons adds codes to a pool; codes it already holds are kept as
// they are (issued or not). It returns how many were new.
func (s *Store) AddCoupons(ctx context.Context, poolID string, codes []string) (int64, error) {
	rows := make([]CouponCode, 0, len(codes))
	for _, c := range codes {
		rows = append(rows, CouponCode{PoolID: poolID, Code: c})
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500)
	return res.RowsAffected, translate(res.Error, "coupon pool "+poolID)
}

// PoolCounts is how many codes a pool holds and how many are issued.
type PoolCounts struct {
	Total, Issued int64
}

// CouponPool counts a pool's codes (NotFound for a pool with none).
func (s *Store) CouponPool(ctx context.Context, poolID string) (PoolCounts, error) {
	var c PoolCounts
	err := s.db.WithContext(ctx).Model(&CouponCode{}).Where("pool_id = ?", poolID).
		Select("COUNT(*) AS total, COUNT(message_id) AS issued").Scan(&c).Error
	if err != nil {
		return c, translate(err, "coupon pool "+poolID)
	}
	if c.Total == 0 {
		return c, errs.E(errs.NotFound, "coupon pool %s not found", poolID)
	}
	return c, nil
}

// IssueCoupon gives the message a code of the pool: the one it was given
// before, if any (a retried step draws nothing new), else an unused one,
// which no other message can then get. ErrPoolEmpty when none is left.
func (s *Store) IssueCoupon(ctx context.Context, poolID, messageID string, at time.Time, expires *time.Time) (*CouponCode, error) {
	db := s.db.WithContext(ctx)
	for range 10 {
		var mine []CouponCode
		if err := db.Where("message_id = ?", messageID).Limit(1).Find(&mine).Error; err != nil {
			return nil, translate(err, "coupons")
		}
		if len(mine) == 1 {
			return &mine[0], nil
		}
		var free []CouponCode
		if err := db.Where("pool_id = ? AND message_id IS NULL", poolID).Order("code").Limit(1).Find(&free).Error; err != nil {
			return nil, translate(err, "coupons")
		}
		if len(free) == 0 {
			return nil, ErrPoolEmpty
		}
		res := db.Model(&CouponCode{}).Where("pool_id = ? AND code = ? AND message_id IS NULL", poolID, free[0].Code).
			Updates(map[string]any{"message_id": messageID, "issued_at": at, "expires_at": expires})
		if res.Error != nil {
			return nil, translate(res.Error, "coupons")
		}
		// Another message took that code first: draw again.
	}
	return nil, errs.E(errs.Unavailable, "coupon pool %s is contended: try again", poolID)
}

// IssuedCoupon is the code a message was given, or nil.
func (s *Store) IssuedCoupon(ctx context.Context, messageID string) (*CouponCode, error) {
	var cs []CouponCode
	err := s.db.WithContext(ctx).Where("message_id = ?", messageID).Limit(1).Find(&cs).Error
	if err != nil || len(cs) == 0 {
		return nil, translate(err, "coupons")
	}
	return &cs[0], nil
}

// CouponByCode is the issued code a customer used, whatever its pool, or
// nil when no message was given it.
func (s *Store) CouponByCode(ctx context.Context, code string) (*CouponCode, error) {
	var cs []CouponCode
	err := s.db.WithContext(ctx).Where("code = ? AND message_id IS NOT NULL", code).Limit(1).Find(&cs).Error
	if err != nil || len(cs) == 0 {
		return nil, translate(err, "coupons")
	}
	return &cs[0], nil
}

// CouponCodesIn says which of codes a pool holds already.
func (s *Store) CouponCodesIn(ctx context.Context, poolID string, codes []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := inBatches(codes, func(part []string) error {
		var found []string
		if err := s.db.WithContext(ctx).Model(&CouponCode{}).Where("pool_id = ? AND code IN ?", poolID, part).Pluck("code", &found).Error; err != nil {
			return err
		}
		for _, c := range found {
			out[c] = true
		}
		return nil
	})
	return out, translate(err, "coupon pool "+poolID)
}
