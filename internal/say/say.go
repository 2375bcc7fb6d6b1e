// Package say writes counts and spans of time the way a person reads
// them in a message: "1 attempt", "2 attempts", "3 days ago" rather than
// "1 attempts" or "83409h13m0s ago". Every message Lift shows a person
// that carries a count or a span uses it.
package say

import (
	"fmt"
	"time"
)

// Plural writes a count with its noun: "1 file", "2 files", "0 files".
// Nouns whose plural is not noun+"s" pass it as plural.
func Plural(n int64, noun string, plural ...string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	if len(plural) > 0 {
		return fmt.Sprintf("%d %s", n, plural[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Span writes a span of time in its largest two units, days first:
// "3 days 4 hours", "5 hours 2 minutes", "40 seconds", "1 minute".
func Span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	days := int64(d / (24 * time.Hour))
	hours := int64(d % (24 * time.Hour) / time.Hour)
	minutes := int64(d % time.Hour / time.Minute)
	seconds := int64(d % time.Minute / time.Second)
	switch {
	case days > 0 && hours > 0 && days < 30:
		return Plural(days, "day") + " " + Plural(hours, "hour")
	case days > 0:
		return Plural(days, "day")
	case hours > 0 && minutes > 0:
		return Plural(hours, "hour") + " " + Plural(minutes, "minute")
	case hours > 0:
		return Plural(hours, "hour")
	case minutes > 0:
		return Plural(minutes, "minute")
	}
	return Plural(seconds, "second")
}
