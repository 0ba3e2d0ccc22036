package silence_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/silence"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func TestSetReason(t *testing.T) {
	st := silence.NewSet([]silence.Silence{
		{ID: 3, Estate: "guyuan", StartsAt: t0, EndsAt: t0.Add(time.Hour)},
		{ID: 4, Lift: "JW-0001", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)},
	})
	for _, tc := range []struct {
		lift, estate string
		at           time.Time
		want         string
	}{
		{"JW-0100", "guyuan", t0, "silence:3"},
		{"JW-0100", "guyuan", t0.Add(time.Hour), ""}, // ends_at is exclusive
		{"JW-0001", "yixian", t0.Add(30 * time.Minute), ""},
		{"JW-0001", "yixian", t0.Add(time.Hour), "silence:4"},
	} {
		if got := st.Reason(tc.lift, tc.estate, tc.at); got != tc.want {
			t.Errorf("%s %s at %v: %q, want %q", tc.lift, tc.estate, tc.at.Sub(t0), got, tc.want)
		}
	}
	if !st.Remove(3) || st.Remove(3) || st.Reason("JW-0100", "guyuan", t0) != "" {
		t.Fatal("remove")
	}
}

func TestInvalid(t *testing.T) {
	ok := silence.Silence{Lift: "JW-0001", StartsAt: t0, EndsAt: t0.Add(time.Hour), Reason: "r", CreatedBy: "c"}
	if msg, _ := ok.Invalid(); msg != "" {
		t.Fatal(msg)
	}
	for _, tc := range []struct {
		f     func(s *silence.Silence)
		field string
	}{
		{func(s *silence.Silence) { s.Estate = "guyuan" }, "lift"},
		{func(s *silence.Silence) { s.EndsAt = s.StartsAt }, "ends_at"},
		{func(s *silence.Silence) { s.EndsAt = s.StartsAt.Add(32 * 24 * time.Hour) }, "ends_at"},
		{func(s *silence.Silence) { s.Reason = " " }, ""},
	} {
		s := ok
		tc.f(&s)
		if msg, field := s.Invalid(); msg == "" || field != tc.field {
			t.Errorf("%+v: %q field %q, want field %q", s, msg, field, tc.field)
		}
	}
}
