// Package unsub makes and checks signed unsubscribe tokens. A token names
// one customer and a scope (one campaign, or all marketing email) and is
// signed with HMAC-SHA256, so it can be neither forged nor turned against
// another customer. Tokens do not expire: an unsubscribe link must keep
// working for as long as the email exists.
package unsub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrInvalid is returned for a token that is malformed or badly signed.
var ErrInvalid = errors.New("invalid unsubscribe token")

const domain = "lift-unsubscribe-v1" // separates these MACs from any other use of the secret

// Signer signs and verifies tokens with one secret.
type Signer struct {
	secret []byte
}

// NewSigner returns a signer; the secret must be at least 32 bytes.
func NewSigner(secret string) (Signer, error) {
	if len(secret) < 32 {
		return Signer{}, errors.New("unsubscribe secret must be at least 32 bytes")
	}
	return Signer{secret: []byte(secret)}, nil
}

// Valid reports whether the signer has a secret (the zero Signer has none).
func (s Signer) Valid() bool { return len(s.secret) >= 32 }

// Scope is what a token unsubscribes from.
type Scope struct {
	CustomerID string
	CampaignID string // empty: all marketing email
}

// Token signs a scope.
func (s Signer) Token(sc Scope) string {
	payload := sc.CustomerID + "\x1f" + sc.CampaignID
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Parse verifies a token and returns its scope.
func (s Signer) Parse(token string) (Scope, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || !s.Valid() { // a signer without a secret verifies nothing
		return Scope{}, ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return Scope{}, ErrInvalid
	}
	mac, err := base64.RawURLEncoding.DecodeString(m64)
	if err != nil || !hmac.Equal(mac, s.mac(string(payload))) {
		return Scope{}, ErrInvalid
	}
	customer, campaign, ok := strings.Cut(string(payload), "\x1f")
	if !ok || customer == "" {
		return Scope{}, ErrInvalid
	}
	return Scope{CustomerID: customer, CampaignID: campaign}, nil
}

func (s Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(domain + "\x1f" + payload))
	return m.Sum(nil)
}
