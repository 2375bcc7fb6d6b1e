package campaign

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/errs"
)

func TestConditionListsAreFlatAndBounded(t *testing.T) {
	t.Parallel()
	long := make([]any, MaxConditionList+1)
	for i := range long {
		long[i] = fmt.Sprint(i)
	}
	many := map[string]any{}
	for i := range MaxConditions + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for name, c := range map[string]struct {
		where map[string]any
		field string
	}{
		"list in a list":   {map[string]any{"tags": []any{[]any{"a"}}}, "where.tags"},
		"object in a list": {map[string]any{"tags": []any{map[string]any{"a": "b"}}}, "where.tags"},
		"long list":        {map[string]any{"tags": long}, "where.tags"},
		"long string":      {map[string]any{"tags": strings.Repeat("x", MaxConditionText+1)}, "where.tags"},
		"many conditions":  {many, "where"},
	} {
		err := checkWhere("where", c.where)
		e, ok := errs.As(err)
		require.True(t, ok, "%s: %v", name, err)
		require.Equal(t, c.field, e.Field, name)
	}
	require.NoError(t, checkWhere("where", map[string]any{"tags": long[:MaxConditionList], "vip": true, "n_gte": 2.0}))
}

// A condition stored before lists were checked, or an event carrying
// lists and objects, is matched without a panic: nothing equals a list.
func TestMatchNeverComparesUncomparableValues(t *testing.T) {
	t.Parallel()
	where := map[string]any{"tags": []any{[]any{"a"}, map[string]any{"b": 1.0}, "x"}}
	for _, have := range []any{
		[]any{[]any{"a"}},
		[]any{map[string]any{"b": 1.0}},
		map[string]any{"b": 1.0},
		[]any{[]any{"a"}, "X"},
	} {
		require.NotPanics(t, func() { Match(where, Facts{"tags": have}) })
	}
	require.True(t, Match(where, Facts{"tags": []any{[]any{"a"}, "X"}}), "the scalar still matches")
	require.False(t, Match(where, Facts{"tags": []any{[]any{"a"}}}))
	require.True(t, Match(map[string]any{"vip": true}, Facts{"vip": true}))
	require.False(t, Match(map[string]any{"vip": true}, Facts{"vip": "true"}))
}

// FuzzConditionMatch matches arbitrary where clauses against arbitrary
// facts: Match never panics, whether or not the clause would be saved.
func FuzzConditionMatch(f *testing.F) {
	f.Add([]byte(`{"tags":[["a"]]}`), []byte(`{"tags":[["a"]]}`))
	f.Add([]byte(`{"category":["cameras","lenses"],"revenue_gte":100}`), []byte(`{"category":"Cameras","revenue":120}`))
	f.Add([]byte(`{"x":{"a":1}}`), []byte(`{"x":{"a":1}}`))
	f.Add([]byte(`{"x_lt":true}`), []byte(`{"x":[1,2]}`))
	f.Fuzz(func(t *testing.T, whereJSON, factsJSON []byte) {
		var where map[string]any
		var facts map[string]any
		if json.Unmarshal(whereJSON, &where) != nil || json.Unmarshal(factsJSON, &facts) != nil {
			return
		}
		if Match(where, Facts(facts)) != true && len(where) == 0 {
			t.Fatal("an empty where clause matches everything")
		}
		if checkWhere("where", where) != nil {
			return
		}
		// A clause that is saved can be met: the facts it names, each
		// set to (the first of) its values, match it.
		own := Facts{}
		for k, v := range where {
			if _, op := splitComparison(k); op != "" {
				return
			}
			if l, ok := v.([]any); ok {
				v = l[0]
			}
			own[k] = v
		}
		if !Match(where, own) {
			t.Fatalf("%v does not match its own values %v", where, own)
		}
	})
}
