package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/email"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/stats"
	"github.com/lift-hq/lift/models"
)

// Recommendations: the model behind bought_together, similar_customers
// and the best sellers is rebuilt from the whole order history, off the
// send path (a Temporal Schedule, or POST /v1/recommendations/rebuild,
// which starts the same workflow: one rebuild at a time, whoever asks).
// Each rebuild also evaluates every strategy on the shop's own orders and
// decides what auto stands for until the next.

// RebuildStatus is what GET /v1/recommendations/rebuild answers.
type RebuildStatus struct {
	// State: idle (none yet or the last finished), running, failed.
	State      string     `json:"state"`
	Started    bool       `json:"started"` // this request started one (POST)
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	BuiltAt    *time.Time `json:"built_at,omitempty"`
	TookMS     int64      `json:"took_ms,omitempty"`
	Error      string     `json:"error,omitempty"`
	// Model is the history the stored model learned from.
	Model *recs.Stats `json:"model,omitempty"`
	// Auto is what auto stands for, and why.
	Auto recs.Choice `json:"auto"`
	// Evaluation is the last rebuild's evaluation of every strategy.
	Evaluation *recs.Report `json:"evaluation,omitempty"`
	MinSupport int          `json:"min_support"`
}

// popularWindows are the best-seller windows every rebuild keeps, beside
// all time and the windows live campaigns name.
var popularWindows = []int{7, 30, campaign.DefaultPopularWindow, 180, 365}

// RebuildRecommendations rebuilds the model now, in this process, unless
// another rebuild holds the lease (then it answers the running one's
// status). It is what the rebuild workflow's activity runs.
func (a *App) RebuildRecommendations(ctx context.Context) (RebuildStatus, error) {
	start := a.now()
	timeout := cmp.Or(a.Settings.RecsRebuildTimeout, 30*time.Minute)
	ok, err := a.Store.ClaimRecsRebuild(ctx, start, start.Add(timeout+5*time.Minute))
	if err != nil {
		return RebuildStatus{}, err
	}
	if !ok {
		return a.RecommendationStatus(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := a.rebuild(ctx, start)
	finished := a.now()
	st.FinishedAt, st.TookMS = &finished, finished.Sub(start).Milliseconds()
	st.State = "idle"
	if err != nil {
		st.State, st.Error, st.Model = "failed", errs.Message(err), nil
		if ctx.Err() != nil {
			st.Error = fmt.Sprintf("stopped after %s (LIFT_RECS_REBUILD_TIMEOUT): %s", timeout, st.Error)
		}
	}
	if ferr := a.Store.FinishRecsRebuild(context.WithoutCancel(ctx), st); ferr != nil {
		return RebuildStatus{}, ferr
	}
	a.Recommender.Forget()
	if err != nil {
		return RebuildStatus{}, err
	}
	return a.RecommendationStatus(ctx)
}

func (a *App) rebuild(ctx context.Context, now time.Time) (models.RecsState, error) {
	var st models.RecsState
	categories, err := a.Store.ProductCategories(ctx)
	if err != nil {
		return st, err
	}
	catalog := func(sku string) (string, bool) { c, ok := categories[sku]; return c, ok }
	opt := a.modelOptions(ctx, now)
	b := recs.NewBuilder(opt, catalog)
	sample, err := a.newSample(ctx)
	if err != nil {
		return st, err
	}
	if err := a.Store.EachOrder(ctx, cmp.Or(a.Settings.RecsRebuildTimeout, 30*time.Minute), func(o models.OrderLines) error {
		ro := sample.order(o)
		b.Add(ro)
		sample.keep(ro)
		return ctx.Err()
	}); err != nil {
		return st, err
	}
	model, err := b.Build(ctx)
	if err != nil {
		return st, err
	}
	rep, err := a.evaluate(ctx, sample, catalog, recs.EvalOptions{Window: campaign.DefaultPopularWindow})
	if err != nil {
		return st, err
	}
	choice := Decide(rep)
	if err := a.Store.SaveModel(ctx, model.Rows()); err != nil {
		return st, err
	}
	if st.Model, err = json.Marshal(model.Stats); err != nil {
		return st, err
	}
	if st.Evaluation, err = json.Marshal(rep); err != nil {
		return st, err
	}
	built := now
	st.BuiltAt, st.Auto, st.AutoReason = &built, string(choice.Strategy), choice.Reason
	return st, nil
}

func (a *App) modelOptions(ctx context.Context, now time.Time) recs.ModelOptions {
	windows := slices.Clone(popularWindows)
	for _, t := range append(slices.Clone(campaign.EventTypes), campaign.TriggerInactivity) {
		live, err := a.defs.Live(ctx, t)
		if err != nil {
			continue // the fixed windows serve; a step's own window is counted live
		}
		for _, v := range live {
			for _, s := range v.Definition.EmailSteps() {
				if s.Recommend != nil && s.Recommend.WindowDays() > 0 {
					windows = append(windows, s.Recommend.WindowDays())
				}
			}
		}
	}
	slices.Sort(windows)
	opt := recs.ModelOptions{MinSupport: a.Settings.MinSupport, ModelProducts: a.Settings.RecsModelProducts, Now: now}
	for _, d := range slices.Compact(windows) {
		opt.Windows = append(opt.Windows, time.Duration(d)*24*time.Hour)
	}
	return opt
}

// Decide is what auto stands for after an evaluation: the strategy with
// the best hit rate at three on the protocol that matches a cross-sell
// (next_order) when it has MinAutoCases cases, else on same_basket; a
// strategy that answered fewer than half its cases itself is not chosen.
// With too few cases of either, auto keeps its default.
func Decide(rep recs.Report) recs.Choice {
	for _, name := range []string{recs.ProtocolNextOrder, recs.ProtocolSameBasket} {
		for _, p := range rep.Protocols {
			if p.Name != name || p.Cases < recs.MinAutoCases {
				continue
			}
			var best *recs.StrategyHit
			for i, s := range p.Strategies {
				if s.Coverage < 0.5 {
					continue
				}
				if best == nil || s.HitRate3() > best.HitRate3() {
					best = &p.Strategies[i]
				}
			}
			if best == nil {
				continue
			}
			base := recs.StrategyHit{}
			for _, b := range p.Baselines {
				if b.HitRate3() >= base.HitRate3() {
					base = b
				}
			}
			ci := best.HitRateCI["3"]
			reason := fmt.Sprintf("%s recommended a product of the held-out order in %.1f%% of %d %s cases (95%% interval %.1f%%–%.1f%%), against %.1f%% for %s",
				best.Name, 100*best.HitRate3(), p.Cases, p.Name, 100*ci.Low, 100*ci.High, 100*base.HitRate3(), base.Name)
			if d := stats.DiffInterval(stats.Bernoulli(int64(best.Hits["3"]), int64(p.Cases)),
				stats.Bernoulli(int64(base.Hits["3"]), int64(p.Cases))); d.Low <= 0 {
				reason += "; the difference is within the noise of this many cases"
			}
			return recs.Choice{Strategy: campaign.Strategy(best.Name), Reason: reason}
		}
	}
	c := recs.DefaultAuto
	c.Reason = fmt.Sprintf("fewer than %d evaluation cases in this shop's orders: bought_together (which falls back to complements on thin history) until there are more", recs.MinAutoCases)
	return c
}

// StartRebuild starts a rebuild in the background (the same workflow the
// schedule starts; one at a time) and answers its status.
func (a *App) StartRebuild(ctx context.Context) (RebuildStatus, error) {
	asked := a.now()
	started, err := a.Sequences.StartRebuild(ctx)
	if err != nil {
		return RebuildStatus{}, err
	}
	st, err := a.RecommendationStatus(ctx)
	st.Started = started
	if started && st.State != "running" && (st.FinishedAt == nil || st.FinishedAt.Before(asked)) {
		st.State = "running" // its activity has not claimed the lease yet
	}
	return st, err
}

// RecommendationStatus is the rebuild's state and the stored model's
// stats, evaluation and auto choice.
func (a *App) RecommendationStatus(ctx context.Context) (RebuildStatus, error) {
	st, err := a.Store.RecsState(ctx)
	if err != nil {
		return RebuildStatus{}, err
	}
	out := RebuildStatus{State: st.State, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, BuiltAt: st.BuiltAt, TookMS: st.TookMS,
		Error: st.Error, Auto: recs.DefaultAuto, MinSupport: a.Settings.MinSupport}
	if st.State == "running" && st.LeaseUntil != nil && st.LeaseUntil.Before(a.now()) {
		out.State, out.Error = "failed", "the rebuild stopped without finishing (its process ended): the next one starts afresh"
	}
	if len(st.Model) > 0 {
		var m recs.Stats
		if err := json.Unmarshal(st.Model, &m); err == nil {
			out.Model = &m
		}
	}
	if len(st.Evaluation) > 0 {
		var r recs.Report
		if err := json.Unmarshal(st.Evaluation, &r); err == nil {
			out.Evaluation = &r
		}
	}
	if st.Auto != "" {
		out.Auto = recs.Choice{Strategy: campaign.Strategy(st.Auto), Reason: st.AutoReason}
		if st.BuiltAt != nil {
			out.Auto.DecidedAt = *st.BuiltAt
		}
	}
	return out, nil
}

// EvaluateInput tunes POST /v1/recommendations/evaluate.
type EvaluateInput struct {
	Seed     uint64 `json:"seed"`
	MaxCases int    `json:"max_cases"`
	Window   *int   `json:"window_days"`
}

// evaluating allows one evaluation at a time per process.
var evaluating sync.Mutex

// EvaluateRecommendations scores every strategy on the orders in the
// store now (see recs.EvaluateOrders), within the rebuild's timeout.
// One runs at a time; another asked meanwhile is a 429.
func (a *App) EvaluateRecommendations(ctx context.Context, in EvaluateInput) (recs.Report, error) {
	if in.MaxCases < 0 || in.MaxCases > 20000 {
		return recs.Report{}, errs.Field(errs.Invalid, "max_cases", "must be 1 to 20000 (default 2000)")
	}
	opt := recs.EvalOptions{Seed: in.Seed, MaxCases: in.MaxCases, Window: campaign.DefaultPopularWindow}
	if in.Window != nil {
		if *in.Window < 0 || *in.Window > 3660 {
			return recs.Report{}, errs.Field(errs.Invalid, "window_days", "must be 0 (all time) to 3660")
		}
		opt.Window = *in.Window
	}
	if !evaluating.TryLock() {
		return recs.Report{}, errs.E(errs.TooManyRequests, "an evaluation is running; retry when it is done")
	}
	defer evaluating.Unlock()
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(a.Settings.RecsRebuildTimeout, 30*time.Minute))
	defer cancel()
	categories, err := a.Store.ProductCategories(ctx)
	if err != nil {
		return recs.Report{}, err
	}
	sample, err := a.newSample(ctx)
	if err != nil {
		return recs.Report{}, err
	}
	if err := a.Store.EachOrder(ctx, 0, func(o models.OrderLines) error {
		sample.keep(sample.order(o))
		return ctx.Err()
	}); err != nil {
		return recs.Report{}, err
	}
	return a.evaluate(ctx, sample, func(sku string) (string, bool) { c, ok := categories[sku]; return c, ok }, opt)
}

func (a *App) evaluate(ctx context.Context, s *orderSample, catalog recs.Catalog, opt recs.EvalOptions) (recs.Report, error) {
	opt.Model = recs.ModelOptions{MinSupport: a.Settings.MinSupport, ModelProducts: a.Settings.RecsModelProducts}
	opt.MinOrders, opt.MinCustomers = a.Recommender.MinOrders, a.Recommender.MinCustomers
	opt.MinWindowOrders = a.Recommender.MinWindowOrders
	rep, err := recs.EvaluateOrders(ctx, s.orders, recs.DB{Store: a.Store}, catalog, opt)
	if err != nil {
		return rep, err
	}
	if s.share < 1 {
		rep.Sampled = fmt.Sprintf("%d order lines: the evaluation read the orders of a seeded sample of %.1f%% of customers (every customer whose ID hashes below the share, the same ones each time), %d lines (LIFT_RECS_EVAL_MAX_LINES)",
			s.total, 100*s.share, s.lines)
	}
	return rep, nil
}

// orderSample keeps the orders an evaluation reads: all of them, or when
// the history holds more than RecsEvalMaxLines lines, those of a sample
// of customers chosen by a hash of their ID (the same customers each
// time, all of their orders, so next_order keeps its meaning). SKUs and
// customer IDs are interned: one string each, however many lines.
type orderSample struct {
	share  float64
	total  int64
	lines  int64
	orders []recs.Order
	intern map[string]string
}

func (a *App) newSample(ctx context.Context) (*orderSample, error) {
	total, err := a.Store.CountOrderLines(ctx)
	if err != nil {
		return nil, err
	}
	limit := cmp.Or(a.Settings.RecsEvalMaxLines, 300000)
	s := &orderSample{share: 1, total: total, intern: map[string]string{}}
	if total > limit {
		s.share = float64(limit) / float64(total)
	}
	return s, nil
}

func (s *orderSample) str(v string) string {
	if x, ok := s.intern[v]; ok {
		return x
	}
	s.intern[v] = v
	return v
}

// order converts a stored order (its strings interned).
func (s *orderSample) order(o models.OrderLines) recs.Order {
	out := recs.Order{ID: o.ID, Customer: s.str(o.CustomerID), At: o.OccurredAt, SKUs: make([]string, len(o.SKUs))}
	for i, sku := range o.SKUs {
		out.SKUs[i] = s.str(sku)
	}
	return out
}

// keep holds an order for the evaluation if its customer is sampled.
func (s *orderSample) keep(o recs.Order) {
	if s.share < 1 {
		h := fnv.New64a()
		h.Write([]byte(o.Customer))
		if float64(h.Sum64()%1_000_000)/1_000_000 >= s.share {
			return
		}
	}
	s.lines += int64(len(o.SKUs))
	s.orders = append(s.orders, o)
}

// StepRecommendations is what a step recommends to a customer now, and
// why the step would be skipped instead ("" when it sends): the one path
// sends and previews share. What the customer owns is read now, so a
// product bought since enrolment is left out.
func (a *App) StepRecommendations(ctx context.Context, step campaign.Step, customerID string, trigger []string) (recs.Result, string, error) {
	owned, err := a.Store.OwnedSKUs(ctx, customerID)
	if err != nil {
		return recs.Result{}, "", err
	}
	// The country and tier filter what may be shown; a database hiccup
	// must fail (and be retried), not recommend without them.
	var country, tier string
	c, err := a.Store.GetCustomer(ctx, customerID)
	switch {
	case err == nil:
		country, tier = c.Country, c.Tier
	case !errs.Is(err, errs.NotFound):
		return recs.Result{}, "", err
	}
	res, err := a.Recommender.Recommend(ctx, recs.Request{Spec: *step.Recommend, Trigger: trigger, Owned: owned, Country: country, Tier: tier})
	if err != nil {
		return res, "", err
	}
	return res, recommendationSkip(step, res, trigger), nil
}

// recommendationSkip says why a step with these recommendations must not
// be sent, or "": nothing to recommend where the step needs something, or
// copy that would print a product there is none of.
func recommendationSkip(step campaign.Step, res recs.Result, trigger []string) string {
	if len(res.Picks) > 0 {
		return ""
	}
	switch {
	case !step.Recommend.Optional && len(trigger) == 0 && res.Strategy == campaign.StrategyComplements:
		return "nothing to recommend: the trigger event names no product"
	case !step.Recommend.Optional:
		return "nothing to recommend: every candidate is owned, out of stock, blocked or unsuited"
	case CopyNamesProducts(step):
		return "nothing to recommend, and the copy prints a recommended product ({{.First}} or {{.Products}}) outside {{if .Products}}: skipped rather than sent with blanks"
	}
	return ""
}

// CopyNamesProducts says whether any of a step's copy, in any language,
// prints a recommended product where nothing guards it.
func CopyNamesProducts(step campaign.Step) bool {
	for _, lang := range append([]string{""}, slices.Sorted(maps.Keys(step.Translations))...) {
		t := step
		if lang != "" {
			t = step.Localized(lang)
		}
		for _, text := range []string{t.Subject, t.Preheader, t.Heading, t.Body, t.CTA} {
			if email.NamesProducts(text) {
				return true
			}
		}
	}
	return false
}

// fallbackSample is how many recent customers a publish asks each
// recommending step about.
const fallbackSample = 50

// recommendationWarnings are what a publish says about a campaign's
// recommendations: an optional step whose copy would print a product it
// may not have, and, per step, the share of recent customers (the latest
// buyers, their latest order as the trigger) who would get another
// strategy than the one asked for today, with the most common reason
// (history too thin, too few buyers, a window without orders).
func (a *App) recommendationWarnings(ctx context.Context, def *campaign.Definition) ([]string, error) {
	var out []string
	var recent []models.OrderLines
	var err error
	campaign.Walk(def.Steps, func(path string, st campaign.Step) {
		if err != nil || st.Recommend == nil || st.Kind() != campaign.KindEmail {
			return
		}
		if st.Recommend.Optional && CopyNamesProducts(st) {
			out = append(out, fmt.Sprintf("%s: when nothing suits a customer this optional step is skipped, because its copy prints a recommended product outside {{if .Products}}", path))
		}
		if st.Recommend.Strategy == campaign.StrategyNextTier {
			return
		}
		if recent == nil {
			if recent, err = a.Store.RecentOrders(ctx, fallbackSample); err != nil {
				return
			}
		}
		if len(recent) == 0 {
			return
		}
		fell, notes := 0, map[string]int{}
		asked := st.Recommend.Strategy
		for _, o := range recent {
			var res recs.Result
			if res, _, err = a.StepRecommendations(ctx, st, o.CustomerID, o.SKUs); err != nil {
				return
			}
			want := asked
			if res.Auto != nil {
				want = res.Auto.Strategy
			}
			if res.Strategy != want || len(res.Picks) == 0 {
				fell++
				note := res.Note
				if note == "" {
					note = "nothing suitable to recommend"
				}
				notes[note]++
			}
		}
		if fell == 0 {
			return
		}
		common, most := "", 0
		for _, n := range slices.Sorted(maps.Keys(notes)) {
			if notes[n] > most {
				common, most = n, notes[n]
			}
		}
		out = append(out, fmt.Sprintf("%s: %d of the %d latest buyers (%.0f%%) would get a fallback today, not %s; most often: %s",
			path, fell, len(recent), 100*float64(fell)/float64(len(recent)), asked, common))
	})
	return out, err
}
