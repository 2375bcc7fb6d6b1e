package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/say"
	"github.com/lift-hq/lift/models"
)

// Campaigns as code: a bundle is a directory of campaigns, the
// destinations their webhook steps post to and the coupon pools their
// incentives draw from (POST /v1/campaigns:apply, lift campaigns apply).
// Every item is validated by the same rules as its own route, and every
// reference checked against the store and the bundle, before anything
// changes; then everything is written in one store transaction, or
// nothing is. Publish warnings come back for each campaign published.

// Bundle is the body of POST /v1/campaigns:apply.
type Bundle struct {
	Campaigns    []json.RawMessage   `json:"campaigns"`
	Destinations []BundleDestination `json:"destinations"`
	CouponPools  []BundlePool        `json:"coupon_pools"`
	// Publish publishes every campaign whose definition differs from its
	// published version; DryRun changes nothing and says what would.
	Publish bool `json:"publish"`
	DryRun  bool `json:"dry_run"`
}

// BundleDestination is a destination as code: its secret comes with the
// request (from the environment, lift campaigns apply reads it), never
// from a file.
type BundleDestination struct {
	ID string `json:"id"`
	DestinationInput
}

// BundlePool is a coupon pool as code: codes to hold, or a pattern and
// the number of unused codes to keep it topped up to.
type BundlePool struct {
	ID      string   `json:"id"`
	Codes   []string `json:"codes,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Count   int      `json:"count,omitempty"`
}

// BundleResult says what an apply did, or would do.
type BundleResult struct {
	Applied      bool             `json:"applied"`
	Campaigns    []CampaignChange `json:"campaigns"`
	Destinations []ItemChange     `json:"destinations"`
	CouponPools  []ItemChange     `json:"coupon_pools"`
}

// CampaignChange is one campaign's change: new, draft (the draft
// changes), publish (the draft matches, the published version differs) or
// unchanged; published is the version a publish made.
type CampaignChange struct {
	ID        string          `json:"id"`
	Change    string          `json:"change"`
	Publish   bool            `json:"publish"`
	Published int             `json:"published,omitempty"`
	Latest    int             `json:"latest_version"`
	Draft     json.RawMessage `json:"draft,omitempty"` // the stored draft, to diff against
	Current   json.RawMessage `json:"published_definition,omitempty"`
	Warnings  []string        `json:"warnings,omitempty"`
}

// ItemChange is a destination's or a pool's change.
type ItemChange struct {
	ID     string `json:"id"`
	Change string `json:"change"` // new, changed, unchanged
	Detail string `json:"detail,omitempty"`
}

type plannedCampaign struct {
	def    *campaign.Definition
	raw    []byte
	change CampaignChange
}

// ApplyBundle validates a bundle whole and applies it in one transaction.
func (a *App) ApplyBundle(ctx context.Context, b Bundle) (BundleResult, error) {
	res := BundleResult{Campaigns: []CampaignChange{}, Destinations: []ItemChange{}, CouponPools: []ItemChange{}}
	if len(b.Campaigns)+len(b.Destinations)+len(b.CouponPools) == 0 {
		return res, errs.Field(errs.Invalid, "campaigns", "the bundle is empty")
	}
	if len(b.Campaigns) > 200 || len(b.Destinations) > 100 || len(b.CouponPools) > 100 {
		return res, errs.Field(errs.Invalid, "campaigns", "at most 200 campaigns, 100 destinations and 100 coupon pools at once")
	}
	// 1. Everything is checked, by the rules of its own route.
	dests := map[string]*models.Destination{}
	for i, d := range b.Destinations {
		field := fmt.Sprintf("destinations[%d]", i)
		m, err := a.checkDestination(ctx, d.ID, d.DestinationInput)
		if err != nil {
			return res, prefixed(field, err)
		}
		if dests[d.ID] != nil {
			return res, errs.Field(errs.Invalid, field+".id", "%q is in the bundle twice", d.ID)
		}
		dests[d.ID] = m
	}
	pools := map[string][]string{} // pool -> codes to add
	for i, p := range b.CouponPools {
		field := fmt.Sprintf("coupon_pools[%d]", i)
		codes, err := a.poolCodes(ctx, p)
		if err != nil {
			return res, prefixed(field, err)
		}
		if _, dup := pools[p.ID]; dup {
			return res, errs.Field(errs.Invalid, field+".id", "%q is in the bundle twice", p.ID)
		}
		pools[p.ID] = codes
	}
	var plans []plannedCampaign
	seen := map[string]bool{}
	for i, body := range b.Campaigns {
		field := fmt.Sprintf("campaigns[%d]", i)
		def, raw, err := a.parseDefinition(body)
		if err != nil {
			return res, prefixed(field, err)
		}
		if seen[def.ID] {
			return res, errs.Field(errs.Invalid, field+".id", "%q is in the bundle twice", def.ID)
		}
		seen[def.ID] = true
		if err := a.checkReferences(ctx, def, dests, pools); err != nil {
			return res, prefixed(field, err)
		}
		pc, err := a.planCampaign(ctx, def, raw, b.Publish)
		if err != nil {
			return res, err
		}
		plans = append(plans, pc)
	}
	// 2. What changes.
	for _, d := range b.Destinations {
		change := "new"
		if prev, err := a.Store.GetDestination(ctx, d.ID); err == nil {
			change = "unchanged"
			if prev.URL != d.URL || prev.Secret != d.Secret || prev.Channel != d.Channel || prev.IncludeEmail != d.IncludeEmail {
				change = "changed"
			}
		} else if !errs.Is(err, errs.NotFound) {
			return res, err
		}
		res.Destinations = append(res.Destinations, ItemChange{ID: d.ID, Change: change})
	}
	for _, p := range b.CouponPools {
		change := "unchanged"
		if n := len(pools[p.ID]); n > 0 {
			change = "changed"
			if _, err := a.Store.CouponPool(ctx, p.ID); errs.Is(err, errs.NotFound) {
				change = "new"
			}
		}
		res.CouponPools = append(res.CouponPools, ItemChange{ID: p.ID, Change: change, Detail: say.Plural(int64(len(pools[p.ID])), "code") + " to add"})
	}
	for _, pc := range plans {
		res.Campaigns = append(res.Campaigns, pc.change)
	}
	if b.DryRun {
		return res, nil
	}
	// 3. All of it, in one transaction.
	var published []int
	err := a.Store.InTx(ctx, func(tx *models.Store) error {
		for _, d := range b.Destinations {
			if err := tx.PutDestination(ctx, dests[d.ID]); err != nil {
				return err
			}
		}
		for _, p := range b.CouponPools {
			if len(pools[p.ID]) == 0 {
				continue
			}
			if _, err := tx.AddCoupons(ctx, p.ID, pools[p.ID]); err != nil {
				return err
			}
		}
		for i, pc := range plans {
			m := &models.Campaign{ID: pc.def.ID, Name: pc.def.Name, Kind: string(pc.def.Kind), TriggerEvent: pc.def.Trigger.Event,
				Definition: pc.raw, Status: domain.CampaignDraft}
			switch pc.change.Change {
			case "new":
				if err := tx.CreateCampaign(ctx, m); err != nil {
					return err
				}
			case "draft":
				if err := tx.SaveCampaignDraft(ctx, m); err != nil {
					return err
				}
			}
			if pc.change.Publish {
				v, err := tx.PublishCampaign(ctx, pc.def.ID)
				if err != nil {
					return err
				}
				res.Campaigns[i].Published = v.Version
				published = append(published, i)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Applied = true
	// Publish warnings, read once the writes are in (some read the store).
	for _, i := range published {
		pc := plans[i]
		w := pc.def.Warnings(a.now(), a.Settings.Day)
		if pw := a.postalWarning(); pw != "" {
			w = append(w, pw)
		}
		rw, err := a.recommendationWarnings(ctx, pc.def)
		if err != nil {
			a.Logger.WarnContext(ctx, "recommendation warnings not computed", "campaign", pc.def.ID, "err", err)
		}
		res.Campaigns[i].Warnings = append(w, rw...)
	}
	return res, nil
}

// planCampaign compares a definition with the stored draft and version.
func (a *App) planCampaign(ctx context.Context, def *campaign.Definition, raw []byte, publish bool) (plannedCampaign, error) {
	pc := plannedCampaign{def: def, raw: raw, change: CampaignChange{ID: def.ID, Change: "new", Publish: publish}}
	m, err := a.Store.GetCampaign(ctx, def.ID)
	if errs.Is(err, errs.NotFound) {
		return pc, nil
	}
	if err != nil {
		return pc, err
	}
	pc.change.Latest = m.LatestVersion
	pc.change.Draft = m.Definition
	same := func(stored []byte) bool {
		var d campaign.Definition
		if json.Unmarshal(stored, &d) != nil {
			return false
		}
		canon, err := json.Marshal(&d)
		return err == nil && bytes.Equal(canon, raw)
	}
	pc.change.Change = "unchanged"
	if !same(m.Definition) {
		pc.change.Change = "draft"
	}
	var published []byte
	if m.LatestVersion > 0 {
		v, err := a.Store.GetCampaignVersion(ctx, def.ID, m.LatestVersion)
		if err != nil {
			return pc, err
		}
		published = v.Definition
		pc.change.Current = v.Definition
	}
	pc.change.Publish = publish && (published == nil || !same(published))
	if pc.change.Change == "unchanged" && pc.change.Publish {
		pc.change.Change = "publish"
	}
	return pc, nil
}

// checkReferences refuses a campaign whose webhook steps post to a
// destination, or whose incentives draw from a coupon pool, that neither
// the store nor the bundle holds.
func (a *App) checkReferences(ctx context.Context, def *campaign.Definition, dests map[string]*models.Destination, pools map[string][]string) error {
	var wanted []string
	for _, d := range def.Destinations() {
		if dests[d] == nil {
			wanted = append(wanted, d)
		}
	}
	if len(wanted) > 0 {
		missing, err := a.Store.MissingDestinations(ctx, wanted)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			var field string
			campaign.Walk(def.Steps, func(path string, st campaign.Step) {
				if field == "" && st.Webhook != nil && st.Webhook.Destination == missing[0] {
					field = path + ".webhook.destination"
				}
			})
			return errs.Field(errs.Invalid, field, "no destination %q in the store or the bundle", missing[0])
		}
	}
	var err error
	campaign.Walk(def.Steps, func(path string, st campaign.Step) {
		if err != nil || st.Incentive == nil || st.Incentive.Pool == "" {
			return
		}
		if _, ok := pools[st.Incentive.Pool]; ok {
			return
		}
		_, perr := a.Store.CouponPool(ctx, st.Incentive.Pool)
		switch {
		case errs.Is(perr, errs.NotFound):
			err = errs.Field(errs.Invalid, path+".incentive.pool", "no coupon pool %q in the store or the bundle", st.Incentive.Pool)
		case perr != nil:
			err = perr
		}
	})
	return err
}

// checkDestination is PutDestination's validation without the write.
func (a *App) checkDestination(ctx context.Context, id string, in DestinationInput) (*models.Destination, error) {
	bad := func(field, format string, args ...any) error { return errs.Field(errs.Invalid, field, format, args...) }
	if !poolRE.MatchString(id) {
		return nil, bad("id", "must be 1-64 lower-case letters, digits, - or _")
	}
	u, err := url.Parse(in.URL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > 2048:
		return nil, bad("url", "must be an absolute http(s) URL of at most 2048 characters")
	case u.User != nil:
		return nil, bad("url", "must not carry credentials: the requests are signed with the secret")
	case u.Fragment != "":
		return nil, bad("url", "must not have a fragment")
	}
	if err := a.checkHost(ctx, u.Hostname()); err != nil {
		return nil, errs.Field(errs.Invalid, "url", "%v", err)
	}
	if n := len(in.Secret); n < 8 || n > 256 {
		return nil, bad("secret", "must be 8 to 256 characters; 32 random ones are right (openssl rand -hex 32)")
	}
	if in.Channel != "" && !slices.Contains(Channels, in.Channel) {
		return nil, bad("channel", "unknown channel %q (one of %s, or none for the company's own systems)", in.Channel, strings.Join(Channels, ", "))
	}
	return &models.Destination{ID: id, URL: in.URL, Secret: in.Secret, Channel: in.Channel, IncludeEmail: in.IncludeEmail}, nil
}

// poolCodes is what a pool as code adds now: its codes the pool does not
// hold, or enough new codes from its pattern to bring the unused ones up
// to count.
func (a *App) poolCodes(ctx context.Context, p BundlePool) ([]string, error) {
	if !poolRE.MatchString(p.ID) {
		return nil, errs.Field(errs.Invalid, "id", "must be 1-64 lower-case letters, digits, - or _")
	}
	switch {
	case len(p.Codes) > 0 && p.Pattern != "":
		return nil, errs.Field(errs.Invalid, "codes", "give codes or a pattern and a count, not both")
	case len(p.Codes) > 0:
		if len(p.Codes) > 10_000 {
			return nil, errs.Field(errs.Invalid, "codes", "give 1 to 10000 codes")
		}
		seen := map[string]bool{}
		for i, c := range p.Codes {
			if !couponRE.MatchString(c) || seen[c] {
				return nil, errs.Field(errs.Invalid, fmt.Sprintf("codes[%d]", i), "must be 1-64 letters, digits, - or _, each once")
			}
			seen[c] = true
		}
		held, err := a.Store.CouponCodesIn(ctx, p.ID, p.Codes)
		if err != nil {
			return nil, err
		}
		var add []string
		for _, c := range p.Codes {
			if !held[c] {
				add = append(add, c)
			}
		}
		return add, nil
	case p.Pattern != "":
		if !patternRE.MatchString(p.Pattern) || strings.Count(p.Pattern, "#") < minPatternRunes {
			return nil, errs.Field(errs.Invalid, "pattern", "1-64 letters, digits, - or _, with at least %d # for the random characters (like BF-####-####)", minPatternRunes)
		}
		if p.Count < 1 || p.Count > 10_000 {
			return nil, errs.Field(errs.Invalid, "count", "must be 1 to 10000: the unused codes to keep")
		}
		c, err := a.Store.CouponPool(ctx, p.ID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, err
		}
		need := p.Count - int(c.Total-c.Issued)
		codes := make([]string, 0, max(need, 0))
		seen := map[string]bool{}
		for len(codes) < need {
			code, err := fromPattern(p.Pattern)
			if err != nil {
				return nil, err
			}
			if !seen[code] {
				seen[code] = true
				codes = append(codes, code)
			}
		}
		return codes, nil
	}
	return nil, errs.Field(errs.Invalid, "codes", "give codes, or a pattern and a count")
}

// prefixed names a bundle item in an error's field.
func prefixed(prefix string, err error) error {
	e, ok := errs.As(err)
	if !ok || e.Code == errs.Internal || e.Code == errs.Unavailable {
		return err
	}
	field := prefix
	if e.Field != "" {
		field += "." + e.Field
	}
	return errs.Field(e.Code, field, "%s", e.Message)
}
