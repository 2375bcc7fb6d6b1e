package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
)

func TestSendTime(t *testing.T) {
	t.Parallel()
	ny := LoadLocation("America/New_York")
	berlin := LoadLocation("Europe/Berlin")
	tokyo := LoadLocation("Asia/Tokyo")
	win := func(s string) campaign.Window {
		w, err := campaign.ParseWindow(s)
		require.NoError(t, err)
		return w
	}
	cases := []struct {
		name     string
		enrolled time.Time
		at       string
		loc      *time.Location
		day      time.Duration
		want     time.Time // in loc
	}{
		{"inside the window keeps the wall-clock time",
			time.Date(2026, 5, 4, 14, 0, 0, 0, ny), "3d", ny, Day, time.Date(2026, 5, 7, 14, 0, 0, 0, ny)},
		{"before the window waits for it to open",
			time.Date(2026, 5, 4, 6, 30, 0, 0, ny), "3d-7d", ny, Day, time.Date(2026, 5, 7, 9, 0, 0, 0, ny)},
		{"after the window moves to the next morning",
			time.Date(2026, 5, 4, 20, 0, 0, 0, ny), "1d", ny, Day, time.Date(2026, 5, 6, 9, 0, 0, 0, ny)},
		{"spring forward: 3 days is 71 hours, same local time",
			time.Date(2026, 3, 6, 14, 0, 0, 0, ny), "3d", ny, Day, time.Date(2026, 3, 9, 14, 0, 0, 0, ny)},
		{"fall back: past closing moves to 09:00 local the next day",
			time.Date(2026, 10, 24, 21, 30, 0, 0, berlin), "1d", berlin, Day, time.Date(2026, 10, 26, 9, 0, 0, 0, berlin)},
		{"hours in an offset",
			time.Date(2026, 5, 4, 9, 0, 0, 0, tokyo), "1d6h", tokyo, Day, time.Date(2026, 5, 5, 15, 0, 0, 0, tokyo)},
		{"a compressed day scales linearly and ignores the window",
			time.Date(2026, 5, 4, 23, 0, 0, 0, ny), "3d-7d", ny, 2 * time.Second, time.Date(2026, 5, 4, 23, 0, 6, 0, ny)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SendTime(c.enrolled, win(c.at), c.loc, DefaultSendWindow, c.day)
			require.True(t, c.want.Equal(got), "got %s, want %s", got.In(c.loc), c.want)
		})
	}
}

func TestSpringForwardIs71HoursNot72(t *testing.T) {
	t.Parallel()
	ny := LoadLocation("America/New_York")
	enrolled := time.Date(2026, 3, 6, 14, 0, 0, 0, ny)
	got := SendTime(enrolled, campaign.Window{Min: campaign.Offset{Days: 3}}, ny, DefaultSendWindow, Day)
	require.Equal(t, 71*time.Hour, got.Sub(enrolled))
}

func TestLoadLocationFallsBackToUTC(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.UTC, LoadLocation(""))
	require.Equal(t, time.UTC, LoadLocation("Mars/Olympus_Mons"))
	require.Equal(t, "Asia/Kolkata", LoadLocation("Asia/Kolkata").String())
}

func TestSendTimeBeforeAnAnchor(t *testing.T) {
	t.Parallel()
	ends := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	got := SendTimeBefore(ends, campaign.Offset{Days: 10}, time.UTC, DefaultSendWindow, Day)
	require.Equal(t, time.Date(2026, 6, 5, 12, 0, 0, 0, time.UTC), got)
	// 10 days before midnight is outside the window: the next morning.
	got = SendTimeBefore(time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC), campaign.Offset{Days: 10}, time.UTC, DefaultSendWindow, Day)
	require.Equal(t, time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC), got)

	enrolled := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	scaled := ScaleAnchor(enrolled.Add(14*Day), enrolled, time.Second)
	require.Equal(t, enrolled.Add(14*time.Second), scaled, "14 real days are 14 sequence days")
	require.Equal(t, scaled.Add(-10*time.Second), SendTimeBefore(scaled, campaign.Offset{Days: 10}, time.UTC, DefaultSendWindow, time.Second))
}
