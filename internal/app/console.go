package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
)

// Console sessions are kept server-side: the browser holds a random
// token, the store its hash and the API key it signed in with. Signing
// out deletes the session; revoking the key ends it too.
const (
	SessionTTL = 12 * time.Hour
	// MaxSignInFailures is how many failed sign-ins one address may make
	// in models.SignInFailureWindow before it must wait.
	MaxSignInFailures = 10
)

// Errors a sign-in ends with.
var (
	ErrBadKey      = errs.E(errs.Unauthorized, "that API key is not valid")
	ErrNotMarketer = errs.E(errs.Forbidden, "that API key may not use the console: it needs the marketer scope")
)

// Session is a signed-in console session as the browser holds it.
type Session struct {
	Token   string
	Expires time.Time
}

// SignIn opens a console session for key, for a client known by its
// address. Every attempt is counted before the key is checked (so
// parallel guesses all count) and uncounted when it succeeds; past
// MaxSignInFailures in the window the address waits, even with a valid
// key, so guessing is as slow as the limit. IPv6 clients are counted by
// their /64, which one subscriber usually holds whole.
func (a *App) SignIn(ctx context.Context, key, address string) (Session, error) {
	source, err := a.sourceOf(ctx, address)
	if err != nil {
		return Session{}, err
	}
	now := a.now()
	attempt, err := a.Store.RecordSignInAttempt(ctx, source, now)
	if err != nil {
		return Session{}, err
	}
	n, err := a.Store.SignInFailures(ctx, source, now.Add(-models.SignInFailureWindow))
	if err != nil {
		return Session{}, err
	}
	if n > MaxSignInFailures {
		return Session{}, errs.E(errs.TooManyRequests, "too many failed sign-ins from this address: try again in %d minutes",
			int(models.SignInFailureWindow/time.Minute))
	}
	p, err := a.Authenticate(ctx, key)
	if err == nil && !p.Has(domain.KeyScopeMarketer) {
		err = ErrNotMarketer
	}
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Unauthorized {
			err = ErrBadKey
		}
		return Session{}, err
	}
	if err := a.Store.ForgetSignInAttempt(ctx, attempt); err != nil {
		return Session{}, err
	}
	token := make([]byte, 32)
	_, _ = rand.Read(token)
	s := Session{Token: base64.RawURLEncoding.EncodeToString(token), Expires: now.Add(SessionTTL)}
	err = a.Store.CreateConsoleSession(ctx, &models.ConsoleSession{TokenHash: hashToken(s.Token), KeyHash: p.hash,
		CreatedAt: now, ExpiresAt: s.Expires})
	return s, err
}

// SessionPrincipal is who an open session acts as; an Unauthorized error
// when the session is unknown, expired or signed out, or its key revoked
// or no longer a marketer's.
func (a *App) SessionPrincipal(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	cs, err := a.Store.ConsoleSession(ctx, hashToken(token), a.now())
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return nil, ErrNoSession
	}
	p, err := a.AuthenticateHash(ctx, cs.KeyHash)
	if err != nil {
		return nil, err
	}
	if !p.Has(domain.KeyScopeMarketer) {
		return nil, ErrNoSession
	}
	return p, nil
}

// ErrNoSession: sign in again.
var ErrNoSession = errs.E(errs.Unauthorized, "not signed in")

// SignOut ends a session everywhere.
func (a *App) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return a.Store.DeleteConsoleSession(ctx, hashToken(token))
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// sourceOf is what failed sign-ins are counted under: a keyed hash of the
// client's address (its /64 for IPv6), so the table holds no address and
// none can be recovered from it without the database's install secret.
func (a *App) sourceOf(ctx context.Context, address string) (string, error) {
	if ip, err := netip.ParseAddr(address); err == nil && ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			address = p.String()
		}
	}
	key, err := a.Store.Secret(ctx, "sign-in-sources")
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(address))
	return hex.EncodeToString(mac.Sum(nil)), nil
}
