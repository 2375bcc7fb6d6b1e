package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlagsOverrideEnvironmentOverrideDefaults(t *testing.T) {
	c, err := Load(RoleDev, map[string]string{"LIFT_HTTP": ":9000", "LIFT_DATA_DIR": "/tmp/x"}, []string{"--http", ":9100"})
	require.NoError(t, err)
	require.Equal(t, ":9100", c.HTTPAddr)
	require.Equal(t, "/tmp/x", c.DataDir)
	require.Equal(t, 7233, c.TemporalPort)
	require.Equal(t, 24*time.Hour, c.Day)
	require.Equal(t, "http://localhost:9100", c.PublicURL)
}

func TestDemoDayDefaultsToFiveSeconds(t *testing.T) {
	c, err := Load(RoleDev, nil, []string{"--demo"})
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, c.Day)
	c, err = Load(RoleDev, map[string]string{"LIFT_DAY": "2s"}, []string{"--demo"})
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, c.Day)
}

func TestValidation(t *testing.T) {
	_, err := Load(RoleDev, nil, []string{"--day", "10ms"})
	require.ErrorContains(t, err, "--day")
	_, err = Load(RoleAPI, nil, nil)
	require.ErrorContains(t, err, "LIFT_DATABASE_URL")
	require.ErrorContains(t, err, "LIFT_UNSUBSCRIBE_SECRET")
	_, err = Load(RoleDev, map[string]string{"LIFT_UNSUBSCRIBE_SECRET": "short"}, nil)
	require.ErrorContains(t, err, "at least 32 bytes")
	_, err = Load(RoleDev, map[string]string{"LIFT_PUBLIC_URL": "lift.example.com"}, nil)
	require.ErrorContains(t, err, "LIFT_PUBLIC_URL")
	_, err = Load(RoleWorker, map[string]string{"LIFT_DATABASE_URL": "postgres://x", "SENDGRID_API_KEY": "SG.x"}, nil)
	require.ErrorContains(t, err, "LIFT_POSTAL_ADDRESS")
	require.ErrorContains(t, err, "SENDGRID_WEBHOOK_PUBLIC_KEY", "without the webhook a lost answer could mean a second send")
	_, err = Load(RoleWorker, map[string]string{"LIFT_DATABASE_URL": "postgres://x"}, []string{"--demo"})
	require.Error(t, err, "dev-only flags are refused elsewhere")
	_, err = Load(RoleDev, map[string]string{"LIFT_DAY": "soon"}, nil)
	require.Error(t, err)
}
