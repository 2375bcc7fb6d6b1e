// Package unsub makes and checks signed unsubscribe tokens. A token names
// one customer and a scope (one campaign, or all marketing email) and is
// signed with HMAC-SHA256, so it can be neither forged nor turned against
// another customer. Tokens do not expire: an unsubscribe link must keep
// working for as long as the email exists, so links signed with a previous
// secret keep verifying after a rotation, and tokens of the first format
// keep parsing.
package unsub

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"regexp"
	"strings"
)

// ErrInvalid is returned for a token that is malformed or badly signed.
var ErrInvalid = errors.New("invalid unsubscribe token")

// The MAC domains of the two payload formats: a payload signed as one is
// never read as the other.
const (
	domainV1 = "lift-unsubscribe-v1" // customer 0x1f campaign
	domainV2 = "lift-unsubscribe-v2" // 'v2' uvarint(len(customer)) customer campaign
)

var b64 = base64.RawURLEncoding.Strict()

// campaignID is what a campaign ID may be (internal/campaign refuses
// others), so it can never hold the first format's separator.
var campaignID = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9_-]{0,63})?$`)

// Signer signs tokens with one secret and verifies them with it and with
// the secrets it replaced.
type Signer struct {
	secret   []byte
	previous [][]byte
}

// NewSigner returns a signer; every secret must be at least 32 bytes.
// previous are secrets that signed links already mailed: they still
// verify, and nothing new is signed with them.
func NewSigner(secret string, previous ...string) (Signer, error) {
	if len(secret) < 32 {
		return Signer{}, errors.New("unsubscribe secret must be at least 32 bytes")
	}
	s := Signer{secret: []byte(secret)}
	for _, p := range previous {
		if len(p) < 32 {
			return Signer{}, errors.New("a previous unsubscribe secret must be at least 32 bytes")
		}
		s.previous = append(s.previous, []byte(p))
	}
	return s, nil
}

// Valid reports whether the signer has a secret (the zero Signer has none).
func (s Signer) Valid() bool { return len(s.secret) >= 32 }

// Scope is what a token unsubscribes from.
type Scope struct {
	CustomerID string
	CampaignID string // empty: all marketing email
}

// Token signs a scope. The payload gives the customer ID's length, so no
// character in an ID can move the boundary between customer and campaign.
func (s Signer) Token(sc Scope) string {
	payload := binary.AppendUvarint([]byte("v2"), uint64(len(sc.CustomerID)))
	payload = append(append(payload, sc.CustomerID...), sc.CampaignID...)
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(mac(s.secret, domainV2, payload))
}

// Parse verifies a token and returns its scope.
func (s Signer) Parse(token string) (Scope, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || !s.Valid() { // a signer without a secret verifies nothing
		return Scope{}, ErrInvalid
	}
	payload, err := b64.DecodeString(p64)
	if err != nil {
		return Scope{}, ErrInvalid
	}
	sum, err := b64.DecodeString(m64)
	if err != nil {
		return Scope{}, ErrInvalid
	}
	// A first-format payload may begin with "v2" too (a customer ID
	// "v2…"): each reading counts only if its own MAC verifies.
	for _, r := range readings(payload) {
		if s.verifies(r.domain, payload, sum) {
			return r.scope, nil
		}
	}
	return Scope{}, ErrInvalid
}

type reading struct {
	scope  Scope
	domain string
}

// readings are the ways a payload parses: as the current format, and as
// the first.
func readings(payload []byte) []reading {
	var out []reading
	if rest, ok := bytes.CutPrefix(payload, []byte("v2")); ok {
		if n, size := binary.Uvarint(rest); size > 0 && n <= uint64(len(rest)-size) {
			rest = rest[size:]
			sc := Scope{CustomerID: string(rest[:n]), CampaignID: string(rest[n:])}
			if sc.CustomerID != "" && campaignID.MatchString(sc.CampaignID) {
				out = append(out, reading{sc, domainV2})
			}
		}
	}
	// The first format, in links mailed before: a campaign ID never holds
	// the separator, so the last one ends the customer ID.
	if i := bytes.LastIndexByte(payload, 0x1f); i > 0 {
		sc := Scope{CustomerID: string(payload[:i]), CampaignID: string(payload[i+1:])}
		if campaignID.MatchString(sc.CampaignID) {
			out = append(out, reading{sc, domainV1})
		}
	}
	return out
}

func (s Signer) verifies(domain string, payload, sum []byte) bool {
	ok := false
	for _, secret := range append([][]byte{s.secret}, s.previous...) {
		// Every secret is tried, so the time taken does not say which one signed.
		ok = hmac.Equal(sum, mac(secret, domain, payload)) || ok
	}
	return ok
}

func mac(secret []byte, domain string, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(domain + "\x1f"))
	m.Write(payload)
	return m.Sum(nil)
}
