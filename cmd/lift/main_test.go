package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsageAndBadCommands(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))
	require.Contains(t, out.String(), "lift api")
	require.Contains(t, out.String(), "make run", "it says where lift dev went")

	err := run([]string{"launch"}, &out)
	require.ErrorContains(t, err, `unknown command "launch"`)

	err = run([]string{"dev"}, &out)
	require.ErrorContains(t, err, "cmd/lift-dev", "the production binary carries no embedded server")

	t.Setenv("LIFT_DATABASE_URL", "")
	err = run([]string{"worker"}, &out)
	require.ErrorContains(t, err, "LIFT_DATABASE_URL is required")
}
