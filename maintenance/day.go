package maintenance

import "time"

// Shanghai is the zone of every calendar rule.
var Shanghai = time.FixedZone("CST", 8*3600)

// Day is a calendar date in Shanghai, as days since 1970-01-01. Plans are
// kept in days: a due date is a date, due by the end of it.
type Day int32

// DayOf returns the Shanghai date of t.
func DayOf(t time.Time) Day {
	sec := t.Unix() + 8*3600
	d := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		d--
	}
	return Day(d)
}

// Date returns the Day of a calendar date.
func Date(y int, m time.Month, d int) Day {
	return DayOf(time.Date(y, m, d, 0, 0, 0, 0, Shanghai))
}

// Start is the first instant of the day in Shanghai.
func (d Day) Start() time.Time { return time.Unix(int64(d)*86400-8*3600, 0).In(Shanghai) }

// End is the first instant of the next day: something due on d is late
// from End on.
func (d Day) End() time.Time { return (d + 1).Start() }

// String is the date as YYYY-MM-DD.
func (d Day) String() string { return d.Start().Format(time.DateOnly) }

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Shanghai)
	if err != nil {
		return 0, err
	}
	return DayOf(t), nil
}
