package recs

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// buildEASE fits similar_customers' item-to-item model: EASE (Steck,
// "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019). With
// X the customers × products matrix of purchases (1 when bought), the
// weights B minimise ‖X − XB‖² + λ‖B‖² with a zero diagonal, which has
// the closed form
//
//	P = (XᵀX + λI)⁻¹,   B_ij = −P_ij / P_jj  (i ≠ j),   B_jj = 0.
//
// A customer's score for product j is Σ_i B_ij over what they bought.
// Unlike a similarity, a weight accounts for the other products: a
// product every customer buys gets no credit for co-occurring with all of
// them. XᵀX is n×n for the n products covered, so the fit is limited to
// the ModelProducts with the most buyers (at least MinSupport of them);
// the others get no neighbours here and are reached through popularity.
func (b *Builder) buildEASE(ctx context.Context, m *Model, buyers []int64) error {
	var items []int32
	for id, n := range buyers {
		if n >= int64(b.opt.MinSupport) && n >= 2 {
			items = append(items, int32(id))
		}
	}
	slices.SortFunc(items, func(x, y int32) int {
		if c := cmp.Compare(buyers[y], buyers[x]); c != 0 {
			return c
		}
		return cmp.Compare(b.skus[x], b.skus[y])
	})
	if len(items) > b.opt.ModelProducts {
		items = items[:b.opt.ModelProducts]
	}
	n := len(items)
	if n < 2 {
		return nil
	}
	col := make(map[int32]int, n)
	for i, id := range items {
		col[id] = i
	}
	// The Gram matrix XᵀX: co-buyers of each pair, buyers on the diagonal.
	gram := make([]float64, n*n)
	together := make([]int32, n*n)
	row := make([]int, 0, 64)
	for _, set := range b.owned {
		row = row[:0]
		for id := range set {
			if j, ok := col[id]; ok {
				row = append(row, j)
			}
		}
		for _, i := range row {
			for _, j := range row {
				gram[i*n+j]++
				together[i*n+j]++
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range n {
		gram[i*n+i] += b.opt.Lambda
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(mat.NewSymDense(n, gram)); !ok {
		return fmt.Errorf("similar_customers model: the regularised Gram matrix is not positive definite")
	}
	var p mat.SymDense
	if err := chol.InverseTo(&p); err != nil {
		return fmt.Errorf("similar_customers model: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.Stats.ModelProducts = int64(n)
	for i := range n {
		var ns []Neighbor
		for j := range n {
			if i == j || int(together[i*n+j]) < b.opt.MinSupport {
				continue
			}
			w := -p.At(i, j) / p.At(j, j)
			if w <= 0 {
				continue
			}
			ns = append(ns, Neighbor{SKU: b.skus[items[j]], Count: int64(together[i*n+j]), Score: w})
		}
		if len(ns) > 0 {
			ns = best(ns, b.opt.Neighbors)
			m.ease[b.skus[items[i]]] = ns
			m.Stats.SimilarPairs += int64(len(ns))
		}
	}
	return nil
}
