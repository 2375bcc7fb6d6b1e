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

// forge signs a raw payload of the first format correctly, as links
// mailed before the current format were, to check payload validation.
func forge(s Signer, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac(s.secret, domainV1, []byte(payload)))
}

// TestIDsCannotMoveTheBoundaryBetweenCustomerAndScope: the link mailed to
// customer "victim\x1fx" unsubscribes that customer, from all mail, and
// never "victim"; in the current format and in the first.
func TestIDsCannotMoveTheBoundaryBetweenCustomerAndScope(t *testing.T) {
	t.Parallel()
	s := signer(t, strings.Repeat("k", 32))
	for _, sc := range []Scope{
		{CustomerID: "victim\x1fx"}, {CustomerID: "victim\x1fx", CampaignID: "camera"},
		{CustomerID: "v2ada"}, {CustomerID: "v2\x05ada", CampaignID: "camera"}, {CustomerID: "ünïcode ☃"},
	} {
		t.Run(sc.CustomerID+"/"+sc.CampaignID, func(t *testing.T) {
			got, err := s.Parse(s.Token(sc))
			require.NoError(t, err)
			require.Equal(t, sc, got)
			old, err := s.Parse(forge(s, sc.CustomerID+"\x1f"+sc.CampaignID))
			require.NoError(t, err, "links mailed before keep working")
			require.Equal(t, sc, old)
		})
	}
}

func TestTokensAreStrictBase64(t *testing.T) {
	t.Parallel()
	s := signer(t, strings.Repeat("k", 32))
	p64, m64, _ := strings.Cut(s.Token(Scope{CustomerID: "ada"}), ".")
	// 32 bytes of MAC take 43 characters, whose last carries 2 unused bits:
	// flipping one spells the same MAC in a way a lax decoder accepts.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, m64[len(m64)-1])
	alt := m64[:len(m64)-1] + string(alphabet[last^1])
	lax, err := base64.RawURLEncoding.DecodeString(alt)
	require.NoError(t, err)
	mac, _ := base64.RawURLEncoding.DecodeString(m64)
	require.Equal(t, mac, lax, "the same MAC, spelled another way")
	_, err = s.Parse(p64 + "." + alt)
	require.ErrorIs(t, err, ErrInvalid, "one token has one spelling")
}

func TestAPreviousSecretStillVerifiesMailedLinks(t *testing.T) {
	t.Parallel()
	old := signer(t, strings.Repeat("o", 32))
	mailed := old.Token(Scope{CustomerID: "ada", CampaignID: "camera"})
	rotated, err := NewSigner(strings.Repeat("n", 32), strings.Repeat("o", 32))
	require.NoError(t, err)
	sc, err := rotated.Parse(mailed)
	require.NoError(t, err)
	require.Equal(t, Scope{CustomerID: "ada", CampaignID: "camera"}, sc)
	_, err = old.Parse(rotated.Token(sc))
	require.ErrorIs(t, err, ErrInvalid, "new links are signed with the new secret only")
	_, err = NewSigner(strings.Repeat("n", 32), "short")
	require.Error(t, err)
}
