package civil

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	// 2026-03-01 23:30 in Shanghai is still 15:30 UTC on the same day; 16:30 UTC is the next day.
	if got := Of(time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)); got != MustParse("2026-03-01") {
		t.Errorf("Of: %s", got)
	}
	if got := Of(time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)); got != MustParse("2026-03-02") {
		t.Errorf("Of after midnight CST: %s", got)
	}
	for _, tc := range []struct {
		a, b string
		days int
	}{{"2026-03-01", "2026-03-31", 30}, {"2026-03-01", "2026-03-01", 0}, {"2026-03-01", "2026-02-28", -1}, {"2024-02-28", "2024-03-01", 2}} {
		if got := MustParse(tc.a).DaysUntil(MustParse(tc.b)); got != tc.days {
			t.Errorf("%s..%s: %d days, want %d", tc.a, tc.b, got, tc.days)
		}
	}
	if got := MustParse("2026-01-31").AddDays(1); got.String() != "2026-02-01" {
		t.Error(got)
	}
	if got := MustParse("2025-03-01").AddMonths(12).AddDays(-1); got.String() != "2026-02-28" {
		t.Error(got)
	}
	if _, err := Parse("2026-02-30"); err == nil {
		t.Error("2026-02-30 accepted")
	}
	a, b := MustParse("2026-03-01"), MustParse("2026-03-02")
	if !a.Before(b) || a.After(b) || !b.After(a) || a.Compare(a) != 0 || !(Date{}).IsZero() || (Date{}).String() != "" {
		t.Error("comparisons")
	}
	var v struct{ A, B Date }
	if err := json.Unmarshal([]byte(`{"A":"2026-03-01","B":""}`), &v); err != nil || v.A != a || !v.B.IsZero() {
		t.Fatalf("json: %+v %v", v, err)
	}
	if out, _ := json.Marshal(v); string(out) != `{"A":"2026-03-01","B":""}` {
		t.Fatalf("json: %s", out)
	}
}
