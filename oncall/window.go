package oncall

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai even on a machine without /usr/share/zoneinfo
)

// Zone is Asia/Shanghai, where every duty window is evaluated whatever the
// machine's zone (read-only).
var Zone = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name) // embedded by time/tzdata
	if err != nil {
		panic(fmt.Sprintf("oncall: zone %s: %v", name, err))
	}
	return z
}

// dayNames are the weekdays as the file and the API write them, Sunday
// first as time.Weekday counts.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// DayNames lists the weekday names, Monday first (for messages and pages).
func DayNames() []string { return []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} }

// ParseDay reads "mon" … "sun".
func ParseDay(s string) (time.Weekday, error) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("day %q: want one of %s", s, strings.Join(DayNames(), ", "))
}

// DayName is the file's name of d ("mon").
func DayName(d time.Weekday) string { return dayNames[d%7] }

// minutesPerDay and minutesPerWeek bound a window's minutes.
const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

// ParseClock reads "HH:MM" as minutes after midnight; "24:00" (the end of
// the day) only when end is true.
func ParseClock(s string, end bool) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || s[0] < '0' || s[0] > '9' || s[3] < '0' || s[3] > '9' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	switch {
	case h == 24 && m == 0 && end:
		return minutesPerDay, nil
	case h == 24 && m == 0:
		return 0, fmt.Errorf("time %q: 24:00 only ends a window (from 00:00)", s)
	case h < 0 || h > 23 || m < 0 || m > 59:
		return 0, fmt.Errorf("time %q: want 00:00 to 23:59 (or 24:00 as an end)", s)
	}
	return h*60 + m, nil
}

// Window is when a duty entry holds: on Days (none: every day), from From
// to To, minutes after midnight in Asia/Shanghai. From > To crosses
// midnight: the window starts on a day of Days and ends the next morning
// ("fri 20:00-08:00" holds until Saturday 08:00). From 0 to 1440 is the
// whole day.
//
// A dated window (Date "2006-01-02", a Shanghai calendar day) holds on that
// day only, whatever Days: a holiday swap or a one-off shift.
type Window struct {
	Days     []time.Weekday
	From, To int
	Date     string
}

// ParseDate checks a dated window's day, "2006-01-02".
func ParseDate(s string) error {
	if _, err := time.ParseInLocation("2006-01-02", s, Zone); err != nil {
		return fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return nil
}

// instant is a time read in Asia/Shanghai: its weekday, minute of the day,
// its date and the day before's.
type instant struct {
	day        time.Weekday
	minute     int
	date, prev string
}

func instantAt(t time.Time) instant {
	t = t.In(Zone)
	return instant{day: t.Weekday(), minute: t.Hour()*60 + t.Minute(), date: t.Format("2006-01-02"), prev: t.AddDate(0, 0, -1).Format("2006-01-02")}
}

// ParseWindow reads a window from the file's or the API's fields.
func ParseWindow(days []string, from, to string) (Window, error) {
	var w Window
	var errs []string
	for _, d := range days {
		wd, err := ParseDay(d)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		w.Days = append(w.Days, wd)
	}
	var err error
	if w.From, err = ParseClock(from, false); err != nil {
		errs = append(errs, "from: "+err.Error())
	}
	if w.To, err = ParseClock(to, true); err != nil {
		errs = append(errs, "to: "+err.Error())
	}
	if len(errs) == 0 && w.From == w.To {
		errs = append(errs, fmt.Sprintf("from %s equals to %s: an empty window (all day is 00:00 to 24:00)", from, to))
	}
	if len(errs) > 0 {
		return w, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return w, nil
}

func (w Window) onDay(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// Holds says whether the window holds at t (read in Asia/Shanghai).
func (w Window) Holds(t time.Time) bool { return w.holdsAt(instantAt(t)) }

// holdsAt is Holds at an instant.
func (w Window) holdsAt(i instant) bool {
	today, yesterday := w.onDay(i.day), w.onDay((i.day+6)%7)
	if w.Date != "" {
		today, yesterday = i.date == w.Date, i.prev == w.Date
	}
	if w.From < w.To {
		return today && i.minute >= w.From && i.minute < w.To
	}
	// Crossing midnight: the evening of a listed day, or the morning
	// after one.
	return (today && i.minute >= w.From) || (yesterday && i.minute < w.To)
}

// String is the window as the file writes it: "mon,tue 20:00-08:00".
func (w Window) String() string {
	days := "every day"
	if w.Date != "" {
		days = w.Date
	} else if len(w.Days) > 0 {
		var ds []string
		for _, d := range w.Days {
			ds = append(ds, DayName(d))
		}
		days = strings.Join(ds, ",")
	}
	return days + " " + Clock(w.From) + "-" + Clock(w.To)
}

// Clock writes minutes after midnight as "HH:MM".
func Clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// DayStrings is w's days as the file writes them.
func (w Window) DayStrings() []string {
	out := []string{}
	for _, d := range w.Days {
		out = append(out, DayName(d))
	}
	return out
}
