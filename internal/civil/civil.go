// Package civil is a calendar date without a time of day, as the fund ledger
// and the trusteeship register use them. Dates are Asia/Shanghai dates: Of
// converts an instant in that zone.
package civil

import (
	"fmt"
	"time"
)

// Shanghai is the zone calendar rules use (China has no daylight saving).
var Shanghai = time.FixedZone("CST", 8*3600)

// Date is a calendar day. The zero Date means "no date" (an open end).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Of returns the Shanghai date of t.
func Of(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// New returns the date y-m-d, normalising out-of-range days as time.Date does.
func New(y int, m time.Month, d int) Date { return Of(time.Date(y, m, d, 12, 0, 0, 0, Shanghai)) }

// Parse reads YYYY-MM-DD.
func Parse(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Shanghai)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Of(t), nil
}

// MustParse is Parse for literals; it panics on a bad date.
func MustParse(s string) Date {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String is YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Start is the first instant of the day in Shanghai.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai) }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return New(d.Year, d.Month, d.Day+n) }

// AddMonths returns the date n months later, normalised as time.Date does.
func (d Date) AddMonths(n int) Date { return New(d.Year, d.Month+time.Month(n), d.Day) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp(int(d.Month), int(e.Month))
	default:
		return cmp(d.Day, e.Day)
	}
}

// Before reports d < e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports d > e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// DaysUntil is the number of days from d to e (negative if e is earlier).
func (d Date) DaysUntil(e Date) int {
	return int(e.Start().Sub(d.Start()).Round(time.Hour).Hours() / 24)
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalText writes YYYY-MM-DD ("" for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD; "" is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
