package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlagsOverrideEnvironmentOverrideDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(RoleDev, map[string]string{"LIFT_HTTP": ":9000", "LIFT_DATA_DIR": "/tmp/x"}, []string{"--http", ":9100"})
	require.NoError(t, err)
	require.Equal(t, ":9100", c.HTTPAddr)
	require.Equal(t, "/tmp/x", c.DataDir)
	require.Equal(t, 7233, c.TemporalPort)
	require.Equal(t, 24*time.Hour, c.Day)
	require.Equal(t, c.Day, c.ExperimentCheck, "the experiment check runs once a sequence day")
	require.Empty(t, c.PublicURL, "lift dev links to the address it binds")

	c, err = Load(RoleDev, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.HTTPAddr, "lift dev serves this machine only unless asked")
	c, err = Load(RoleDev, map[string]string{"LIFT_HTTP": ":8080"}, nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTPAddr)
	c, err = Load(RoleAPI, map[string]string{"LIFT_DATABASE_URL": "postgres://x",
		"LIFT_UNSUBSCRIBE_SECRET": "0123456789abcdef0123456789abcdef", "LIFT_PUBLIC_URL": "https://lift.example.com/"}, nil)
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTPAddr, "the production API serves every interface")
	require.Equal(t, "https://lift.example.com", c.PublicURL)
}

// TestDefaultsLiveHere pins the defaults every role gets: no other package
// keeps a fallback of its own.
func TestDefaultsLiveHere(t *testing.T) {
	t.Parallel()
	c, err := Load(RoleDev, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 500, c.RecsMinOrders)
	require.EqualValues(t, 300, c.RecsMinCustomers)
	require.Equal(t, 1000, c.RecsModelProducts)
	require.Equal(t, 30*time.Minute, c.RecsRebuildTimeout)
	require.EqualValues(t, 300000, c.RecsEvalMaxLines)
	require.Equal(t, 3, c.AffinityMinSupport)
	require.Equal(t, 24*time.Hour, c.AffinityRebuild)
	require.Equal(t, 14, c.UpsellPauseDays)
	require.EqualValues(t, 1<<20, c.MaxBodyBytes)
	require.Equal(t, 5*time.Minute, c.SendGridWebhookMaxAge)
	require.Equal(t, 10*time.Minute, c.SendGridReconcileAfter)
	require.Equal(t, 1, c.CapPerDay)
	require.Equal(t, 3, c.CapPerWeek)
}

func TestDemoDayDefaultsToFiveSeconds(t *testing.T) {
	t.Parallel()
	c, err := Load(RoleDev, nil, []string{"--demo"})
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, c.Day)
	c, err = Load(RoleDev, map[string]string{"LIFT_DAY": "2s"}, []string{"--demo"})
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, c.Day)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	production := map[string]string{"LIFT_DATABASE_URL": "postgres://x", "LIFT_UNSUBSCRIBE_SECRET": "0123456789abcdef0123456789abcdef",
		"LIFT_PUBLIC_URL": "https://lift.example.com"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range production {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		role Role
		env  map[string]string
		args []string
		want []string // every one must be in the error
	}{
		{"a day too short", RoleDev, nil, []string{"--day", "10ms"}, []string{"--day"}},
		{"the api without its settings", RoleAPI, nil, nil, []string{"LIFT_DATABASE_URL", "LIFT_UNSUBSCRIBE_SECRET", "LIFT_PUBLIC_URL"}},
		{"a short API key", RoleDev, map[string]string{"LIFT_API_KEY": "short"}, nil, []string{"LIFT_API_KEY must be at least 32"}},
		{"a short unsubscribe secret", RoleDev, map[string]string{"LIFT_UNSUBSCRIBE_SECRET": "short"}, nil, []string{"at least 32 bytes"}},
		{"a relative public URL", RoleDev, map[string]string{"LIFT_PUBLIC_URL": "lift.example.com"}, nil, []string{"LIFT_PUBLIC_URL"}},
		{"SendGrid without its address and webhook", RoleWorker, with(map[string]string{"SENDGRID_API_KEY": "SG.x"}), nil,
			// Without the webhook a lost answer could mean a second send.
			[]string{"LIFT_POSTAL_ADDRESS", "SENDGRID_WEBHOOK_PUBLIC_KEY"}},
		{"a worker without its public URL", RoleWorker, with(map[string]string{"LIFT_PUBLIC_URL": ""}), nil, []string{"LIFT_PUBLIC_URL is required"}},
		{"plain-HTTP unsubscribe links through SendGrid", RoleWorker, with(map[string]string{"SENDGRID_API_KEY": "SG.x",
			"SENDGRID_WEBHOOK_PUBLIC_KEY": "k", "LIFT_POSTAL_ADDRESS": "1 Main St", "LIFT_PUBLIC_URL": "http://lift.example.com"}), nil,
			[]string{"must be an https:// URL"}},
		{"a dev-only flag elsewhere", RoleWorker, production, []string{"--demo"}, []string{"flag provided but not defined: -demo"}},
		{"a day that is not a duration", RoleDev, map[string]string{"LIFT_DAY": "soon"}, nil, []string{"LIFT_DAY"}},
		{"a proxy that is not an address", RoleDev, map[string]string{"LIFT_TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"}, nil, []string{`LIFT_TRUSTED_PROXIES: "lb.internal"`}},
		{"an audit log kept for an hour", RoleDev, map[string]string{"LIFT_AUDIT_RETENTION": "1h"}, nil, []string{"LIFT_AUDIT_RETENTION"}},
		{"a negative upsell pause", RoleDev, map[string]string{"LIFT_UPSELL_PAUSE_DAYS": "-1"}, nil, []string{"LIFT_UPSELL_PAUSE_DAYS"}},
		{"a word where only flags go", RoleDev, nil, []string{"dev", "--demo"}, []string{`not "dev"`}},
		{"a Segment event mapped to no Lift type", RoleDev, map[string]string{"LIFT_SEGMENT_EVENTS": "Order Refunded=refund"}, nil,
			[]string{`"Order Refunded" maps to "refund"`}},
		{"an import limit under the body limit", RoleDev, map[string]string{"LIFT_IMPORT_MAX_BYTES": "2048"}, nil, []string{"LIFT_IMPORT_MAX_BYTES"}},
		{"one port for Temporal and its UI", RoleDev, map[string]string{"LIFT_TEMPORAL_PORT": "7000", "LIFT_UI_PORT": "7000"}, nil, []string{"distinct ports"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.role, tc.env, tc.args)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
	t.Run("the production roles with their settings", func(t *testing.T) {
		_, err := Load(RoleWorker, production, nil)
		require.NoError(t, err, "the cases above fail for their own reason, not for a missing setting")
	})
}

// TestTemporalConnectionByTheSDKsConventions: the production roles read
// the Temporal connection as the temporal CLI does, a profile of the
// config file with TEMPORAL_* over it; lift dev runs its own server.
func TestTemporalConnectionByTheSDKsConventions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "temporal.internal:7233"
namespace = "shop"

[profile.cloud]
address = "us-east-1.aws.api.temporal.io:7233"
namespace = "lift-prod.a1b2c"
api_key = "from-the-file"
`), 0o600))
	base := map[string]string{"LIFT_DATABASE_URL": "postgres://x", "TEMPORAL_CONFIG_FILE": file}
	load := func(extra map[string]string) (Config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return Load(RoleMigrate, env, nil)
	}
	c, err := load(nil)
	require.NoError(t, err)
	require.Equal(t, "temporal.internal:7233", c.TemporalAddress)
	require.Equal(t, "shop", c.TemporalNamespace)
	require.False(t, c.TemporalSecure())

	c, err = load(map[string]string{"TEMPORAL_PROFILE": "cloud", "TEMPORAL_API_KEY": "from-the-env"})
	require.NoError(t, err)
	require.Equal(t, "lift-prod.a1b2c", c.TemporalNamespace)
	require.Equal(t, "from-the-env", c.Temporal.APIKey, "the environment wins over the file")
	require.True(t, c.TemporalSecure(), "an API key means TLS")

	c, err = load(map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "none.toml")})
	require.NoError(t, err)
	require.Equal(t, "localhost:7233", c.TemporalAddress, "nothing set: the local default")
	require.Equal(t, "default", c.TemporalNamespace)

	_, err = load(map[string]string{"TEMPORAL_PROFILE": "staging"})
	require.ErrorContains(t, err, "staging")
	_, err = load(map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nope/cert.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nope/key.pem"})
	require.ErrorContains(t, err, "TEMPORAL_TLS_*")

	c, err = Load(RoleDev, map[string]string{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_API_KEY": "x", "TEMPORAL_NAMESPACE": "demo"}, nil)
	require.NoError(t, err)
	require.False(t, c.TemporalSecure(), "lift dev dials its own server")
	require.Equal(t, "demo", c.TemporalNamespace)
}
