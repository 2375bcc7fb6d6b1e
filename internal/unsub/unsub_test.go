package unsub

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func signer(t *testing.T, secret string) Signer {
	t.Helper()
	s, err := NewSigner(secret)
	require.NoError(t, err)
	return s
}

func TestTokensRoundTrip(t *testing.T) {
	t.Parallel()
	s := signer(t, strings.Repeat("k", 32))
	for _, sc := range []Scope{{CustomerID: "ada", CampaignID: "camera"}, {CustomerID: "ada"}, {CustomerID: "a/b c", CampaignID: "x"}} {
		got, err := s.Parse(s.Token(sc))
		require.NoError(t, err)
		require.Equal(t, sc, got)
	}
}

func TestForgedAndTamperedTokensAreRefused(t *testing.T) {
	t.Parallel()
	s := signer(t, strings.Repeat("k", 32))
	other := signer(t, strings.Repeat("x", 32))
	good := s.Token(Scope{CustomerID: "ada", CampaignID: "camera"})
	p64, m64, _ := strings.Cut(good, ".")

	// The same signature on another customer's payload.
	bob := base64.RawURLEncoding.EncodeToString([]byte("bob\x1fcamera"))
	for name, tok := range map[string]string{
		"other secret":     other.Token(Scope{CustomerID: "ada", CampaignID: "camera"}),
		"another customer": bob + "." + m64,
		"widened to all":   base64.RawURLEncoding.EncodeToString([]byte("ada\x1f")) + "." + m64,
		"truncated mac":    p64 + "." + m64[:10],
		"no mac":           p64,
		"garbage":          "%%%.%%%",
		"empty":            "",
		"empty customer":   forge(s, "\x1fcamera"),
		"no separator":     forge(s, "ada"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Parse(tok)
			require.ErrorIs(t, err, ErrInvalid, name)
		})
	}
	_, err := NewSigner("short")
	require.Error(t, err)
}

// forge signs a raw payload correctly, to check payload validation.
func forge(s Signer, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}
