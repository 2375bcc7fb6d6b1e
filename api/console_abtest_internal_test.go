package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Each JSON path the definition's validation names lands beside the
// form input it belongs to.
func TestInputForMapsDefinitionPathsToInputs(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"experiment.variants[1].steps.complement.subject":           "v1.subject",
		"experiment.variants[2].steps.guide.cta_url":                "v2.cta_url",
		"experiment.variants[1].steps.guide.translations.de.body":   "v1.body",
		"experiment.variants[3].steps.bundle.incentive.percent_off": "v3.percent_off",
		"experiment.variants[0].weight":                             "v0.split",
		"experiment.variants[1].steps":                              "v1",
		"experiment.variants[1]":                                    "v1",
		"holdout":                                                   "holdout",
		"min_sends":                                                 "min_sends",
		"steps[0].subject":                                          "form",
		"experiment.variants":                                       "form",
	} {
		require.Equal(t, want, inputFor(path), path)
	}
}
