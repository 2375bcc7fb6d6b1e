// Package recs chooses the products an email recommends. Each strategy
// produces ranked candidates with the reason each was chosen; one filter
// pipeline then applies to all of them: pins and blocks, nothing the
// customer owns, nothing out of stock or unknown, not the trigger product,
// nothing unsuited to the customer's region, nothing far above the
// trigger's price. A strategy that cannot apply falls back, and
// popular_in_category is the last resort.
package recs

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/models"
)

// Catalogue is the products a recommendation may show.
type Catalogue interface {
	GetProducts(ctx context.Context, skus []string) (map[string]models.Product, error)
	Ladder(ctx context.Context, category string) ([]models.Product, error)
}

// Learned is what the history-based strategies read: a Model, in memory
// (an evaluation) or as stored by the last rebuild (DB).
type Learned interface {
	// Info is the history the model was built from (zero before the
	// first rebuild).
	Info(ctx context.Context) (Stats, error)
	Items(ctx context.Context, skus []string) (map[string]ItemStats, error)
	Pairs(ctx context.Context, skus []string) (map[string][]Neighbor, error)
	Similar(ctx context.Context, skus []string) (map[string][]Neighbor, error)
	// Popular is the best sellers of a window in days (0: all time) in a
	// category ("": every category), and whether the window was kept.
	Popular(ctx context.Context, days int, category string, limit int) ([]Popular, bool, error)
}

// Store is what the recommender reads.
type Store interface {
	Catalogue
	Learned
	// Auto is the strategy auto stands for now (the last rebuild's
	// evaluation decided it).
	Auto(ctx context.Context) (Choice, error)
}

// Choice is what auto stands for, and why.
type Choice struct {
	Strategy  campaign.Strategy `json:"strategy"`
	Reason    string            `json:"reason"`
	DecidedAt time.Time         `json:"decided_at,omitzero"`
}

// DefaultAuto is auto before any evaluation has decided.
var DefaultAuto = Choice{Strategy: campaign.StrategyBoughtTogether,
	Reason: "no evaluation of this shop's orders yet: bought_together (which falls back to complements on thin history) until a rebuild decides"}

// Recommender applies the strategies.
type Recommender struct {
	Store Store
	// MinOrders is the order history bought_together needs; with less it
	// falls back to complements (LIFT_RECS_MIN_ORDERS).
	MinOrders int64
	// MinCustomers is the number of buyers similar_customers needs; with
	// fewer it falls back to bought_together (LIFT_RECS_MIN_CUSTOMERS).
	MinCustomers int64
	// MinWindowOrders is the fewest orders a popularity window must hold;
	// with fewer it widens to all time (default 30).
	MinWindowOrders int64
	Now             func() time.Time

	// The model's stats and auto's choice change at each rebuild: they
	// are read at most once per cacheTTL, not on every send.
	mu     sync.Mutex
	info   cached[Stats]
	choice cached[Choice]
}

type cached[T any] struct {
	v  T
	at time.Time
	ok bool
}

const cacheTTL = time.Minute

func load[T any](r *Recommender, c *cached[T], ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	now := r.now()
	r.mu.Lock()
	v := *c
	r.mu.Unlock()
	if v.ok && now.Sub(v.at) < cacheTTL && !now.Before(v.at) {
		return v.v, nil
	}
	x, err := fn(ctx)
	if err != nil {
		return x, err
	}
	r.mu.Lock()
	*c = cached[T]{v: x, at: now, ok: true}
	r.mu.Unlock()
	return x, nil
}

// Forget drops what the recommender cached of the model: after a rebuild
// in this process, the next recommendation reads the new one.
func (r *Recommender) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info, r.choice = cached[Stats]{}, cached[Choice]{}
}

// Request is one step's ask.
type Request struct {
	Spec    campaign.Recommend
	Trigger []string        // the products the sequence is about
	Owned   map[string]bool // everything the customer has bought, fetched now
	Country string          // the customer's, for regional products
	Tier    string          // the customer's current plan (a product SKU), for next_tier
}

// Pick is one recommended product and why it was chosen.
type Pick struct {
	SKU    string `json:"sku"`
	Reason string `json:"reason"`
}

// Result is a recommendation: the picks, the strategy that produced them,
// and a note when it fell back or widened.
type Result struct {
	Picks    []Pick            `json:"picks"`
	Strategy campaign.Strategy `json:"strategy"`
	Note     string            `json:"note,omitempty"`
	// Auto is set when the step asked for auto: what it stood for.
	Auto *Choice `json:"auto,omitempty"`
}

// SKUs lists the picks' SKUs.
func (r Result) SKUs() []string {
	out := make([]string, len(r.Picks))
	for i, p := range r.Picks {
		out[i] = p.SKU
	}
	return out
}

// A candidate is a pick with the strategy's score, before filtering.
type candidate struct {
	Pick
	// why writes the reason when the candidate is picked (most are not).
	why   func() string
	score float64
	// filler: a best seller topping up a strategy's own candidates.
	filler bool
}

// filterBatch is how many candidates' products the filter reads at once.
const filterBatch = 16

// popularPool is how many best sellers are read as candidates: enough
// to fill three slots after filtering out what a customer owns.
const popularPool = 100

// maxInputs bounds how many of a customer's products the linear model
// reads (the trigger's first, then what they own).
const maxInputs = 200

// Recommend chooses up to the step's limit of products. Every strategy
// ranks all its candidates, the filters (pins, blocks, owned, the
// trigger's own products, stock, region, season, price) run over all of
// them, and only then is the limit applied; slots a strategy cannot fill
// are filled with best sellers, each saying so.
func (r *Recommender) Recommend(ctx context.Context, req Request) (Result, error) {
	triggers, err := r.Store.GetProducts(ctx, req.Trigger)
	if err != nil {
		return Result{}, err
	}
	var res Result
	strategy := req.Spec.Strategy
	if strategy == campaign.StrategyAuto {
		choice, err := load(r, &r.choice, ctx, r.Store.Auto)
		if err != nil {
			return Result{}, err
		}
		res.Auto = &choice
		strategy = choice.Strategy
	}
	info, err := load(r, &r.info, ctx, r.Store.Info)
	if err != nil {
		return Result{}, err
	}
	if strategy == campaign.StrategySimilarCustomers && info.Customers < r.MinCustomers {
		strategy = campaign.StrategyBoughtTogether
		res.Note = fmt.Sprintf("similar_customers needs %d customers with orders, there are %d (LIFT_RECS_MIN_CUSTOMERS): used bought_together", r.MinCustomers, info.Customers)
	}
	if strategy == campaign.StrategyBoughtTogether && info.Orders < r.MinOrders {
		strategy = campaign.StrategyComplements
		res.Note = joinNote(res.Note, fmt.Sprintf("bought_together needs %d orders of history, there are %d (LIFT_RECS_MIN_ORDERS): used complements", r.MinOrders, info.Orders))
	}
	if strategy == campaign.StrategyNextTier {
		return r.nextTier(ctx, req, triggers, res)
	}
	cands, err := r.candidates(ctx, strategy, req, triggers, info)
	if err != nil {
		return Result{}, err
	}
	// Curated complements are the merchandiser's list: shown as they
	// are, and replaced by best sellers only when none suits. The
	// learned strategies are topped up with best sellers.
	var note string
	if strategy != campaign.StrategyComplements {
		var fill []Pick
		if fill, note, err = r.bestSellers(ctx, req, triggers, info); err != nil {
			return Result{}, err
		}
		for _, f := range fill {
			cands = append(cands, candidate{Pick: f, filler: true})
		}
	}
	picks, own, err := r.filter(ctx, req, triggers, cands, nil)
	if err != nil {
		return Result{}, err
	}
	if len(picks) == 0 && strategy == campaign.StrategyComplements {
		var fill []Pick
		if fill, note, err = r.bestSellers(ctx, req, triggers, info); err != nil {
			return Result{}, err
		}
		cands = cands[:0]
		for _, f := range fill {
			cands = append(cands, candidate{Pick: f, filler: true})
		}
		if picks, _, err = r.filter(ctx, req, triggers, cands, nil); err != nil {
			return Result{}, err
		}
	}
	res.Picks, res.Strategy = picks, strategy
	switch {
	case len(picks) == 0:
	case own == 0 && strategy != campaign.StrategyPopularInCategory:
		res.Note = joinNote(res.Note, fmt.Sprintf("%s found nothing suitable: used popular_in_category", strategy))
		res.Strategy = campaign.StrategyPopularInCategory
		res.Note = joinNote(res.Note, note)
	case own < len(picks) || strategy == campaign.StrategyPopularInCategory:
		res.Note = joinNote(res.Note, note)
	}
	return res, nil
}

// nextTier recommends the plans above the customer's, never a best
// seller: in a plan category that would be other plans, lower ones too.
func (r *Recommender) nextTier(ctx context.Context, req Request, triggers map[string]models.Product, res Result) (Result, error) {
	res.Strategy = campaign.StrategyNextTier
	current, ok, err := r.currentTier(ctx, req, triggers)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		res.Note = joinNote(res.Note, "the customer is on no plan ladder: nothing to upsell")
		return res, nil
	}
	ladder, err := r.ladderAbove(ctx, current)
	if err != nil {
		return Result{}, err
	}
	cands := make([]candidate, len(ladder))
	for i, p := range ladder {
		cands[i] = candidate{Pick: p}
	}
	// Pins too: an upsell must never suggest a downgrade.
	allow := func(p models.Product) bool { return p.Category == current.Category && p.TierRank > current.TierRank }
	if res.Picks, _, err = r.filter(ctx, req, triggers, cands, allow); err != nil {
		return Result{}, err
	}
	if len(res.Picks) == 0 {
		res.Note = joinNote(res.Note, "no plan above the customer's: nothing to upsell")
	}
	return res, nil
}

// candidates lists a strategy's candidates with reasons, best first.
func (r *Recommender) candidates(ctx context.Context, strategy campaign.Strategy, req Request, triggers map[string]models.Product, info Stats) ([]candidate, error) {
	name := func(sku string) string {
		if p, ok := triggers[sku]; ok && p.Name != "" {
			return p.Name
		}
		return sku
	}
	switch strategy {
	case campaign.StrategyComplements:
		var out []candidate
		for _, t := range req.Trigger {
			for _, c := range triggers[t].Complements {
				out = append(out, candidate{Pick: Pick{SKU: c, Reason: "goes with your " + name(t)}})
			}
		}
		return out, nil
	case campaign.StrategyBoughtTogether:
		return r.boughtTogether(ctx, req.Trigger, name, info)
	case campaign.StrategySimilarCustomers:
		return r.similar(ctx, req, name)
	case campaign.StrategyPopularInCategory:
		return nil, nil // the best sellers every strategy is topped up with
	}
	return nil, fmt.Errorf("unknown strategy %q", strategy)
}

// boughtTogether scores each product bought in the same orders as a
// trigger product by its shrunk confidence (see shrunkConfidence), summed
// over the trigger's products: a product that goes with several of them
// ranks above one that goes with one.
func (r *Recommender) boughtTogether(ctx context.Context, trigger []string, name func(string) string, info Stats) ([]candidate, error) {
	pairs, err := r.Store.Pairs(ctx, trigger)
	if err != nil || len(pairs) == 0 {
		return nil, err
	}
	type acc struct {
		score float64
		best  Neighbor
		from  string
		with  map[string]bool
	}
	byCand := map[string]*acc{}
	var partners []string
	for _, a := range slices.Sorted(maps.Keys(pairs)) {
		for _, nb := range pairs[a] {
			c := byCand[nb.SKU]
			if c == nil {
				c = &acc{with: map[string]bool{}}
				byCand[nb.SKU] = c
				partners = append(partners, nb.SKU)
			}
			c.score += nb.Score
			c.with[a] = true
			if nb.Score > c.best.Score {
				c.best, c.from = nb, a
			}
		}
	}
	// For each trigger product a candidate is not paired with, its
	// score from that product is its popularity, shrunk the same way.
	stats, err := r.Store.Items(ctx, append(slices.Clone(trigger), partners...))
	if err != nil {
		return nil, err
	}
	const k = 10.0 // the Builder's default Shrink
	out := make([]candidate, 0, len(byCand))
	for _, sku := range partners {
		c := byCand[sku]
		for _, a := range trigger {
			if !c.with[a] {
				c.score += shrunkConfidence(0, stats[a].Orders, stats[sku].Orders, info.Orders, k)
			}
		}
		of := stats[c.from].Orders
		out = append(out, candidate{score: c.score, Pick: Pick{SKU: sku}, why: func() string {
			return fmt.Sprintf("bought with %s in %d of its %d orders (%.0f%%)", name(c.from), c.best.Count, of,
				100*float64(c.best.Count)/float64(max(of, 1)))
		}})
	}
	sortCandidates(out)
	return out, nil
}

// similar scores products by the linear model's weights from everything
// the customer bought and the trigger's products.
func (r *Recommender) similar(ctx context.Context, req Request, name func(string) string) ([]candidate, error) {
	inputs := slices.Clone(req.Trigger)
	for _, s := range slices.Sorted(maps.Keys(req.Owned)) {
		if len(inputs) >= maxInputs {
			break
		}
		if !slices.Contains(inputs, s) {
			inputs = append(inputs, s)
		}
	}
	sims, err := r.Store.Similar(ctx, inputs)
	if err != nil || len(sims) == 0 {
		return nil, err
	}
	type acc struct {
		score float64
		best  Neighbor
		from  string
	}
	byCand := map[string]*acc{}
	var order []string
	for _, i := range inputs {
		for _, nb := range sims[i] {
			c := byCand[nb.SKU]
			if c == nil {
				c = &acc{}
				byCand[nb.SKU] = c
				order = append(order, nb.SKU)
			}
			c.score += nb.Score
			if nb.Score > c.best.Score {
				c.best, c.from = nb, i
			}
		}
	}
	out := make([]candidate, 0, len(order))
	for _, sku := range order {
		c := byCand[sku]
		if c.score <= 0 {
			continue
		}
		out = append(out, candidate{score: c.score, Pick: Pick{SKU: sku}, why: func() string {
			return fmt.Sprintf("customers who bought %s also bought it (%d of them)", name(c.from), c.best.Count)
		}})
	}
	sortCandidates(out)
	return out, nil
}

func sortCandidates(cs []candidate) {
	slices.SortFunc(cs, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.SKU, b.SKU)
	})
}

// bestSellers are popular_in_category's picks, and every strategy's
// top-up: the best sellers of the step's window in the trigger's
// categories, then in all of them. A window holding fewer than
// MinWindowOrders orders widens to all time, and the note says so.
func (r *Recommender) bestSellers(ctx context.Context, req Request, triggers map[string]models.Product, info Stats) ([]Pick, string, error) {
	days, note := req.Spec.WindowDays(), ""
	if days > 0 {
		if n, kept := info.WindowOrders[days]; kept && n < r.minWindowOrders() {
			note = fmt.Sprintf("the last %d days hold %d orders (fewer than %d): best sellers of all time", days, n, r.minWindowOrders())
			days = 0
		}
	}
	var cats []string
	for _, t := range req.Trigger {
		if c := triggers[t].Category; c != "" && !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	var out []Pick
	for _, c := range append(cats, "") {
		ps, kept, err := r.Store.Popular(ctx, days, c, popularPool)
		if err != nil {
			return nil, "", err
		}
		if !kept && days > 0 {
			if ps, _, err = r.Store.Popular(ctx, 0, c, popularPool); err != nil {
				return nil, "", err
			}
			note = fmt.Sprintf("no best sellers of the last %d days yet (the next rebuild counts them): best sellers of all time", days)
		}
		reason := "a best seller"
		if c != "" {
			reason = "a best seller in " + c
		}
		for _, p := range ps {
			out = append(out, Pick{SKU: p.SKU, Reason: reason})
		}
	}
	return out, note, nil
}

func (r *Recommender) minWindowOrders() int64 {
	if r.MinWindowOrders > 0 {
		return r.MinWindowOrders
	}
	return 30
}

// ladderAbove lists the plans above current on its ladder, lowest first.
func (r *Recommender) ladderAbove(ctx context.Context, current models.Product) ([]Pick, error) {
	ladder, err := r.Store.Ladder(ctx, current.Category)
	if err != nil {
		return nil, err
	}
	var out []Pick
	for _, p := range ladder {
		if p.TierRank > current.TierRank {
			out = append(out, Pick{SKU: p.SKU, Reason: "the next plan up from your " + current.Name})
		}
	}
	return out, nil
}

// currentTier is the customer's plan: their recorded tier, or else a
// trigger product on a ladder (the plan a usage event is about).
func (r *Recommender) currentTier(ctx context.Context, req Request, triggers map[string]models.Product) (models.Product, bool, error) {
	if req.Tier != "" {
		ps, err := r.Store.GetProducts(ctx, []string{req.Tier})
		if err != nil {
			return models.Product{}, false, err
		}
		if p, ok := ps[req.Tier]; ok && p.TierRank > 0 {
			return p, true, nil
		}
	}
	for _, sku := range req.Trigger {
		if p := triggers[sku]; p.TierRank > 0 {
			return p, true, nil
		}
	}
	return models.Product{}, false, nil
}

// filter applies pins, blocks and the suitability rules to every
// candidate, then the limit; allow, when set, is one more rule every
// product (pins included) must pass. It also says how many picks are the
// strategy's own (not pins, not best sellers topping it up).
func (r *Recommender) filter(ctx context.Context, req Request, triggers map[string]models.Product, cands []candidate, allow func(models.Product) bool) ([]Pick, int, error) {
	pool := make([]candidate, 0, len(req.Spec.Pin)+len(cands))
	for _, sku := range req.Spec.Pin {
		pool = append(pool, candidate{Pick: Pick{SKU: sku, Reason: "chosen by the marketer"}, filler: true})
	}
	pool = append(pool, cands...)
	// Products are read a few at a time, as far down the pool as the
	// limit needs: most picks come from the first candidates.
	catalogue := map[string]models.Product{}
	read := 0
	readAhead := func(i int) error {
		if i < read {
			return nil
		}
		end := min(len(pool), max(i+1, read+filterBatch))
		skus := make([]string, 0, end-read)
		for _, p := range pool[read:end] {
			if _, ok := catalogue[p.SKU]; !ok {
				skus = append(skus, p.SKU)
			}
		}
		read = end
		slices.Sort(skus)
		got, err := r.Store.GetProducts(ctx, slices.Compact(skus))
		maps.Copy(catalogue, got)
		return err
	}
	ceiling := int64(0) // price ceiling from the dearest trigger product
	if ratio := req.Spec.MaxPriceRatio; ratio > 0 {
		for _, t := range triggers {
			if c := int64(float64(t.PriceMinor) * ratio); c > ceiling {
				ceiling = c
			}
		}
	}
	blocked := map[string]bool{}
	for _, sku := range req.Spec.Block {
		blocked[sku] = true
	}
	for _, sku := range req.Trigger {
		blocked[sku] = true
	}
	seen := map[string]bool{}
	var out []Pick
	own := 0
	for i, p := range pool {
		if seen[p.SKU] || blocked[p.SKU] || req.Owned[p.SKU] {
			continue
		}
		if err := readAhead(i); err != nil {
			return nil, 0, err
		}
		prod, ok := catalogue[p.SKU]
		switch {
		case seen[p.SKU], blocked[p.SKU], req.Owned[p.SKU], !ok, !prod.InStock:
			continue
		case !suits(prod, req.Country), !inSeason(prod.Seasons, req.Country, r.now()):
			continue
		case ceiling > 0 && prod.PriceMinor > ceiling:
			continue
		case allow != nil && !allow(prod):
			continue
		}
		seen[p.SKU] = true
		if p.why != nil {
			p.Reason = p.why()
		}
		out = append(out, p.Pick)
		if !p.filler {
			own++
		}
		if len(out) == req.Spec.LimitOrDefault() {
			break
		}
	}
	return out, own, nil
}

// suits reports whether a product may be recommended in a country.
func suits(p models.Product, country string) bool {
	if len(p.Regions) == 0 {
		return true
	}
	for _, r := range p.Regions {
		if r == country {
			return true
		}
	}
	return false
}

// joinNote chains fallback notes: similar_customers → bought_together → complements.
func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (r *Recommender) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
