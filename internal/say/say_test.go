package say

import (
	"testing"
	"time"
)

func TestWordsAPersonReads(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		Plural(1, "attempt"):                   "1 attempt",
		Plural(2, "attempt"):                   "2 attempts",
		Plural(0, "campaign"):                  "0 campaigns",
		Plural(3, "category", "categories"):    "3 categories",
		Span(83409*time.Hour + 13*time.Minute): "3475 days",
		Span(52 * time.Hour):                   "2 days 4 hours",
		Span(24 * time.Hour):                   "1 day",
		Span(90*time.Minute + 20*time.Second):  "1 hour 30 minutes",
		Span(time.Minute):                      "1 minute",
		Span(40 * time.Second):                 "40 seconds",
		Span(-3 * time.Hour):                   "3 hours",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
