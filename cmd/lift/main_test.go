package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsageAndBadCommands(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))
	require.Contains(t, out.String(), "lift dev [flags]")

	err := run([]string{"launch"}, &out)
	require.ErrorContains(t, err, `unknown command "launch"`)

	t.Setenv("LIFT_DATABASE_URL", "")
	err = run([]string{"worker"}, &out)
	require.ErrorContains(t, err, "LIFT_DATABASE_URL is required")
}
