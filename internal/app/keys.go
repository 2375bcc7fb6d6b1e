package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// MinKeyLength is the shortest API key Lift accepts from the environment;
// the keys it makes are longer.
const MinKeyLength = 32

// Principal is who a request acts as: an API key and what it may do.
type Principal struct {
	KeyID  string
	Name   string
	Scopes []domain.KeyScope
	hash   []byte
}

// Has reports whether the principal may act in scope (admin may do all).
func (p *Principal) Has(scope domain.KeyScope) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, domain.KeyScopeAdmin)
}

// Partition names what the principal's Idempotency-Keys are kept under:
// one key's requests never replay another's answers.
func (p *Principal) Partition() string { return hex.EncodeToString(p.hash) }

// Key is an API key as it is shown: never its secret, but once, when it
// is created (Secret).
type Key struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Scopes     []domain.KeyScope `json:"scopes"`
	CreatedAt  time.Time         `json:"created_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
	Secret     string            `json:"key,omitempty"`
}

func keyView(k *models.APIKey) Key {
	return Key{ID: k.KeyID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// Authenticate finds the active key a request presents, and records its
// use.
func (a *App) Authenticate(ctx context.Context, key string) (*Principal, error) {
	return a.AuthenticateHash(ctx, models.HashAPIKey(key))
}

// AuthenticateHash is Authenticate for a key known by its hash (a console
// session).
func (a *App) AuthenticateHash(ctx context.Context, hash []byte) (*Principal, error) {
	k, err := a.Store.AuthenticateAPIKey(ctx, hash)
	if err != nil {
		return nil, err
	}
	if err := a.Store.TouchAPIKey(ctx, k.ID, a.now()); err != nil {
		a.Logger.Warn("api key last use not recorded", "key", k.KeyID, "err", err)
	}
	return &Principal{KeyID: k.KeyID, Name: k.Name, Scopes: k.Scopes, hash: k.Hash}, nil
}

// CreateKey makes a new API key with a name and scopes and returns it
// with its secret, which is shown this once.
func (a *App) CreateKey(ctx context.Context, name string, scopes []domain.KeyScope) (Key, error) {
	if err := checkText("name", name, 100); err != nil {
		return Key{}, err
	}
	if strings.TrimSpace(name) == "" {
		return Key{}, errs.Field(errs.Invalid, "name", "is required")
	}
	if len(scopes) == 0 {
		return Key{}, errs.Field(errs.Invalid, "scopes", "name at least one of %s", joinScopes(domain.KeyScopes))
	}
	for i, s := range scopes {
		if !slices.Contains(domain.KeyScopes, s) {
			return Key{}, errs.Field(errs.Invalid, "scopes", "scopes[%d]: %q is none of %s", i, s, joinScopes(domain.KeyScopes))
		}
	}
	secret := newSecret()
	k := &models.APIKey{KeyID: models.NewKeyID(), Name: strings.TrimSpace(name), Hash: models.HashAPIKey(secret),
		Scopes: slices.Compact(slices.Sorted(slices.Values(scopes)))}
	if err := a.Store.CreateAPIKey(ctx, k); err != nil {
		return Key{}, err
	}
	v := keyView(k)
	v.Secret = secret
	return v, nil
}

// Keys lists every API key, revoked ones too.
func (a *App) Keys(ctx context.Context) ([]Key, error) {
	ks, err := a.Store.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(ks))
	for i := range ks {
		out = append(out, keyView(&ks[i]))
	}
	return out, nil
}

// RevokeKey stops a key from working at once; it stays listed.
func (a *App) RevokeKey(ctx context.Context, keyID string) error {
	return a.Store.RevokeAPIKey(ctx, keyID, a.now())
}

// BootstrapKey makes key the first admin key when there is none yet
// (LIFT_API_KEY, lift dev's generated key); once keys exist it changes
// nothing, so replicas starting with an old value never undo a rotation.
func (a *App) BootstrapKey(ctx context.Context, name, key string) (bool, error) {
	if len(key) < MinKeyLength {
		return false, errs.E(errs.Invalid, "an API key must be at least %d characters", MinKeyLength)
	}
	return a.Store.BootstrapAPIKey(ctx, &models.APIKey{KeyID: models.NewKeyID(), Name: name, Hash: models.HashAPIKey(key),
		Scopes: []domain.KeyScope{domain.KeyScopeAdmin}})
}

// newSecret is a fresh API key: "lift_" and 32 random bytes.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "lift_" + base64.RawURLEncoding.EncodeToString(b)
}

func joinScopes(s []domain.KeyScope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
