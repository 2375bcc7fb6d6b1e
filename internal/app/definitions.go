package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// Definitions reads stored campaign definitions: the one place they are
// decoded. Published versions are immutable, so they are cached (up to
// maxCachedVersions of them); drafts are read fresh.
type Definitions struct {
	store *models.Store

	mu       sync.Mutex
	versions map[string]*campaign.Definition // by "id@version"
}

// maxCachedVersions bounds the cache: beyond it the cache starts over.
const maxCachedVersions = 4096

// NewDefinitions returns a loader over the store.
func NewDefinitions(store *models.Store) *Definitions {
	return &Definitions{store: store, versions: map[string]*campaign.Definition{}}
}

// Version returns a published version's definition. Callers must not
// change it: it is shared.
func (d *Definitions) Version(ctx context.Context, campaignID string, version int) (*campaign.Definition, error) {
	return d.cached(campaignID, version, func() ([]byte, error) {
		v, err := d.store.GetCampaignVersion(ctx, campaignID, version)
		if err != nil {
			return nil, err
		}
		return v.Definition, nil
	})
}

// cached returns a version from the cache, or decodes what load reads
// and keeps it.
func (d *Definitions) cached(campaignID string, version int, load func() ([]byte, error)) (*campaign.Definition, error) {
	key := fmt.Sprintf("%s@%d", campaignID, version)
	d.mu.Lock()
	def, ok := d.versions[key]
	d.mu.Unlock()
	if ok {
		return def, nil
	}
	raw, err := load()
	if err != nil {
		return nil, err
	}
	if def, err = decode(raw, key); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.versions) >= maxCachedVersions {
		d.versions = map[string]*campaign.Definition{}
	}
	d.versions[key] = def
	d.mu.Unlock()
	return def, nil
}

// Published returns the campaign's latest published version and its
// number; a campaign never published is a conflict.
func (d *Definitions) Published(ctx context.Context, campaignID string) (*campaign.Definition, int, error) {
	m, err := d.store.GetCampaign(ctx, campaignID)
	if err != nil {
		return nil, 0, err
	}
	if m.LatestVersion == 0 {
		return nil, 0, errs.E(errs.Conflict, "campaign %s has not been published", campaignID)
	}
	def, err := d.Version(ctx, campaignID, m.LatestVersion)
	return def, m.LatestVersion, err
}

// Draft returns the campaign with its current draft definition.
func (d *Definitions) Draft(ctx context.Context, campaignID string) (*models.Campaign, *campaign.Definition, error) {
	m, err := d.store.GetCampaign(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	def, err := decode(m.Definition, m.ID+" (draft)")
	if err != nil {
		return nil, nil, err
	}
	return m, def, nil
}

// Shown is what a campaign page shows: the latest published version
// (with its number), or the draft of a campaign never published (0).
func (d *Definitions) Shown(ctx context.Context, campaignID string) (*campaign.Definition, int, error) {
	def, version, err := d.Published(ctx, campaignID)
	if errs.Is(err, errs.Conflict) {
		_, def, err = d.Draft(ctx, campaignID)
	}
	return def, version, err
}

// LiveVersion is a campaign's latest published version.
type LiveVersion struct {
	Version    int
	Definition *campaign.Definition
	// Paused is why a marketer paused the campaign ("" while it runs):
	// it takes no enrolments.
	Paused string
}

// Live returns the latest published version of every published campaign
// a trigger starts, by campaign ID.
func (d *Definitions) Live(ctx context.Context, trigger string) ([]LiveVersion, error) {
	vs, err := d.store.LiveVersions(ctx, trigger)
	if err != nil {
		return nil, err
	}
	out := make([]LiveVersion, 0, len(vs))
	for _, v := range vs {
		def, err := d.cached(v.CampaignID, v.Version, func() ([]byte, error) { return v.Definition, nil })
		if err != nil {
			return nil, err
		}
		out = append(out, LiveVersion{Version: v.Version, Definition: def, Paused: v.PausedReason})
	}
	return out, nil
}

// decode reads a stored definition. Stored definitions were validated
// when saved, so a failure here is a bug or a damaged row.
func decode(raw []byte, what string) (*campaign.Definition, error) {
	var def campaign.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "campaign %s", what)
	}
	return &def, nil
}
