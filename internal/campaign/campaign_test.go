package campaign

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/errs"
)

const valid = `{"id":"cam","name":"Camera","kind":"cross_sell","trigger":{"event":"purchase","where":{"category":"cameras"}},
 "exit_on":["purchase_of_recommended"],"steps":[{"id":"a","at":"3d-7d","subject":"Hi {{.Customer.FirstName}}","template":"recommendation",
 "recommend":{"strategy":"complements","limit":2}},{"id":"b","at":"10d","subject":"More","template":"education"}]}`

func TestParseValid(t *testing.T) {
	t.Parallel()
	d, err := Parse([]byte(valid))
	require.NoError(t, err)
	w, err := ParseWindow(d.Steps[0].At)
	require.NoError(t, err)
	require.Equal(t, Window{Min: Offset{Days: 3}, Max: Offset{Days: 7}}, w)
	require.Equal(t, Offset{Days: 5}, d.Attribution())
}

func TestValidationNamesTheField(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ patch, field string }{
		"id":             {`{"id":"Bad ID"}`, "id"},
		"kind":           {`{"kind":"spam"}`, "kind"},
		"trigger event":  {`{"trigger":{"event":"bought"}}`, "trigger.event"},
		"where type":     {`{"trigger":{"event":"usage","where":{"ratio_gte":"high"}}}`, "trigger.where.ratio_gte"},
		"exit goal":      {`{"exit_on":["never"]}`, "exit_on[0]"},
		"send window":    {`{"send_window":"20:00-09:00"}`, "send_window"},
		"no steps":       {`{"steps":[]}`, "steps"},
		"duplicate step": {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"offer"},{"id":"a","at":"2d","subject":"y","template":"offer"}]}`, "steps[1].id"},
		"backwards":      {`{"steps":[{"id":"a","at":"5d","subject":"x","template":"offer"},{"id":"b","at":"2d","subject":"y","template":"offer"}]}`, "steps[1].at"},
		"window order":   {`{"steps":[{"id":"a","at":"7d-3d","subject":"x","template":"offer"}]}`, "steps[0].at"},
		"too far":        {`{"steps":[{"id":"a","at":"400d","subject":"x","template":"offer"}]}`, "steps[0].at"},
		"strategy":       {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"offer","recommend":{"strategy":"magic"}}]}`, "steps[0].recommend.strategy"},
		"limit":          {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"offer","recommend":{"strategy":"complements","limit":9}}]}`, "steps[0].recommend.limit"},
		"percent":        {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"offer","incentive":{"percent_off":0}}]}`, "steps[0].incentive.percent_off"},
		"body template":  {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"offer","body":"{{.Oops"}]}`, "steps[0].body"},
		"only_if":        {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","only_if":{"orders_gte":"many"}}]}`, "steps[0].only_if.orders_gte"},
		"nested list":    {`{"trigger":{"event":"purchase","where":{"tags":[["a"]]}}}`, "trigger.where.tags"},
		"object value":   {`{"trigger":{"event":"purchase","where":{"tags":{"a":1}}}}`, "trigger.where.tags"},
		"nested only_if": {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","only_if":{"tags":["a",["b"]]}}]}`, "steps[0].only_if.tags"},
		"cta nowhere":    {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","cta":"Read more"}]}`, "steps[0].cta_url"},
		"cta no label":   {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","cta_url":"https://shop.example/story"}]}`, "steps[0].cta"},
		"cta url":        {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","cta":"Read","cta_url":"javascript:alert(1)"}]}`, "steps[0].cta_url"},
		"cta url tr":     {`{"steps":[{"id":"a","at":"1d","subject":"x","template":"education","cta":"Read","cta_url":"https://a.example/","translations":{"de":{"cta_url":"/relative"}}}]}`, "steps[0].translations.de.cta_url"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var base, patch map[string]any
			require.NoError(t, json.Unmarshal([]byte(valid), &base))
			require.NoError(t, json.Unmarshal([]byte(c.patch), &patch))
			for k, v := range patch {
				base[k] = v
			}
			raw, _ := json.Marshal(base)
			_, err := Parse(raw)
			e, ok := errs.As(err)
			require.True(t, ok, "got %v", err)
			require.Equal(t, errs.Invalid, e.Code)
			require.Equal(t, c.field, e.Field, e.Error())
		})
	}
}

// A step's CTA goes where the marketer says, in the customer's language
// and the variant's copy; without a URL it is the first product's.
func TestCTAURLFollowsTranslationsAndVariants(t *testing.T) {
	t.Parallel()
	d := &Definition{Steps: []Step{{ID: "story", CTA: "Read", CTAURL: "https://a.example/en",
		Translations: map[string]StepText{"de": {CTA: "Lesen", CTAURL: "https://a.example/de"}}}},
		Experiment: &Experiment{ID: "e", Variants: []Variant{{ID: "A", Weight: 1}, {ID: "B", Weight: 1,
			Steps: map[string]VariantStep{"story": {StepText: StepText{CTAURL: "https://a.example/b"}}}}}}}
	require.Equal(t, "https://a.example/de", d.Steps[0].Localized("de").CTAURL)
	b := d.ForVariant(d.Steps[0], "B")
	require.Equal(t, "https://a.example/b", b.CTAURL)
	require.Equal(t, "https://a.example/b", b.Localized("de").CTAURL, "the control's German link would undo the variant's")
	require.Equal(t, "Lesen", b.Localized("de").CTA)
}

func TestMatch(t *testing.T) {
	t.Parallel()
	facts := Facts{"category": []string{"cameras", "lenses"}, "ratio": 0.85, "plan": "starter", "paid": true}
	require.True(t, Match(nil, facts))
	require.True(t, Match(map[string]any{"category": "Cameras"}, facts), "case-insensitive, any of a list")
	require.True(t, Match(map[string]any{"category": []any{"bags", "lenses"}}, facts))
	require.False(t, Match(map[string]any{"category": "bags"}, facts))
	require.True(t, Match(map[string]any{"ratio_gte": 0.8, "plan": "starter"}, facts))
	require.False(t, Match(map[string]any{"ratio_gte": 0.9}, facts))
	require.True(t, Match(map[string]any{"ratio_lt": 0.9, "paid": true}, facts))
	require.False(t, Match(map[string]any{"missing": "x"}, facts))
}

// A re-entry key may name a personal property; only its hash reaches
// workflow history and the store, and equal values still match.
func TestEntryKeyIsAHashOfTheValues(t *testing.T) {
	t.Parallel()
	d := &Definition{Reentry: &Reentry{Rule: ReentryOnce, Key: []string{"email", "period"}}}
	a := d.EntryKey(map[string]any{"email": "ada@example.com", "period": "2026-05"})
	require.NotContains(t, a, "ada")
	require.Equal(t, a, d.EntryKey(map[string]any{"period": "2026-05", "email": "ada@example.com"}))
	require.NotEqual(t, a, d.EntryKey(map[string]any{"email": "ada@example.com", "period": "2026-06"}))
	require.Equal(t, "ada@example.com|2026-05", d.EntryValues(map[string]any{"email": "ada@example.com", "period": "2026-05"}))
	require.Empty(t, (&Definition{}).EntryKey(map[string]any{"x": 1}))
}
