package workflows

import (
	"time"

	"github.com/lift-hq/lift/internal/campaign"
)

// SendWindow is the local time of day during which email may go out, as
// minutes after local midnight: [Start, End).
type SendWindow struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// DefaultSendWindow is 09:00–20:00 local time.
var DefaultSendWindow = SendWindow{Start: 9 * 60, End: 20 * 60}

// Day is the real length of one sequence day.
const Day = 24 * time.Hour

// SendTime is when a step is due. It is a pure function of its inputs so
// that it can be unit-tested and replayed.
//
// With real days, the offset is counted in calendar days in the customer's
// time zone (so "3d" keeps the local wall-clock time across a DST change),
// then moved forward to the next moment inside the send window. Within a
// window like 3d-7d the earliest allowed moment is chosen; a send is never
// dropped because it missed its window.
//
// With a compressed day (demos and load tests) offsets scale linearly and
// the send window does not apply: 3d at a 5s day is 15s after enrolment.
func SendTime(enrolledAt time.Time, w campaign.Window, loc *time.Location, sw SendWindow, day time.Duration) time.Time {
	if day != Day {
		return enrolledAt.Add(Scale(w.Min, day))
	}
	if loc == nil {
		loc = time.UTC
	}
	local := enrolledAt.In(loc)
	earliest := local.AddDate(0, 0, w.Min.Days).Add(time.Duration(w.Min.Hours) * time.Hour)
	return NextInWindow(earliest, loc, sw).UTC()
}

// SendTimeBefore is when a step of an anchored campaign is due: offset
// before the anchor (e.g. 10 days before a trial ends), counted in
// calendar days in the customer's zone and moved into the send window,
// like SendTime. With a compressed day the anchor has already been scaled.
func SendTimeBefore(anchor time.Time, o campaign.Offset, loc *time.Location, sw SendWindow, day time.Duration) time.Time {
	if day != Day {
		return anchor.Add(-Scale(o, day))
	}
	if loc == nil {
		loc = time.UTC
	}
	due := anchor.In(loc).AddDate(0, 0, -o.Days).Add(-time.Duration(o.Hours) * time.Hour)
	return NextInWindow(due, loc, sw).UTC()
}

// ScaleAnchor maps a real anchor time onto a compressed sequence clock:
// 14 real days after enrolment become 14 sequence days.
func ScaleAnchor(anchor, enrolledAt time.Time, day time.Duration) time.Time {
	if day == Day {
		return anchor
	}
	return enrolledAt.Add(time.Duration(float64(anchor.Sub(enrolledAt)) * float64(day) / float64(Day)))
}

// NextInWindow returns t if it lies inside the send window in loc, or else
// the next opening of the window.
func NextInWindow(t time.Time, loc *time.Location, sw SendWindow) time.Time {
	if sw.End <= sw.Start {
		sw = DefaultSendWindow
	}
	local := t.In(loc)
	minute := local.Hour()*60 + local.Minute()
	opening := func(daysAhead int) time.Time {
		y, m, d := local.Date()
		return time.Date(y, m, d+daysAhead, sw.Start/60, sw.Start%60, 0, 0, loc)
	}
	switch {
	case minute < sw.Start:
		return opening(0)
	case minute >= sw.End:
		return opening(1)
	}
	return t
}

// Scale converts an offset to a duration at a given day length.
func Scale(o campaign.Offset, day time.Duration) time.Duration { return o.Scaled(day) }

// LoadLocation resolves an IANA zone name (tzdata is embedded in the
// binary), falling back to UTC for an empty or unknown name.
func LoadLocation(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
