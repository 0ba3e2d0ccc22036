package oncall

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// sh is a time in Asia/Shanghai; the tests run whatever the machine's zone.
func sh(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.ParseInLocation("2006-01-02 15:04", s, Zone)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func window(t *testing.T, days []string, from, to string) Window {
	t.Helper()
	w, err := ParseWindow(days, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// 2026-12-07 is a Monday.
func TestWindowEdges(t *testing.T) {
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	for _, c := range []struct {
		name string
		w    Window
		at   string
		want bool
	}{
		{"day: at its start", window(t, weekdays, "08:00", "20:00"), "2026-12-07 08:00", true},
		{"day: a minute before", window(t, weekdays, "08:00", "20:00"), "2026-12-07 07:59", false},
		{"day: last minute", window(t, weekdays, "08:00", "20:00"), "2026-12-07 19:59", true},
		{"day: its end excluded", window(t, weekdays, "08:00", "20:00"), "2026-12-07 20:00", false},
		{"day: not on saturday", window(t, weekdays, "08:00", "20:00"), "2026-12-12 10:00", false},
		{"night: the evening of a listed day", window(t, []string{"fri"}, "20:00", "08:00"), "2026-12-11 23:59", true},
		{"night: after midnight, the next day", window(t, []string{"fri"}, "20:00", "08:00"), "2026-12-12 00:00", true},
		{"night: the morning's last minute", window(t, []string{"fri"}, "20:00", "08:00"), "2026-12-12 07:59", true},
		{"night: its end excluded", window(t, []string{"fri"}, "20:00", "08:00"), "2026-12-12 08:00", false},
		{"night: friday morning is thursday's night", window(t, []string{"fri"}, "20:00", "08:00"), "2026-12-11 07:00", false},
		{"night: every day", window(t, nil, "20:00", "08:00"), "2026-12-08 03:00", true},
		{"night: every day, midday", window(t, nil, "20:00", "08:00"), "2026-12-08 12:00", false},
		{"all day: midnight", window(t, nil, "00:00", "24:00"), "2026-12-08 00:00", true},
		{"all day: last minute", window(t, nil, "00:00", "24:00"), "2026-12-08 23:59", true},
		{"sunday only, all day: sunday night", window(t, []string{"sun"}, "00:00", "24:00"), "2026-12-13 23:59", true},
		{"sunday only, all day: monday", window(t, []string{"sun"}, "00:00", "24:00"), "2026-12-14 00:00", false},
	} {
		if got := c.w.Holds(sh(t, c.at)); got != c.want {
			t.Errorf("%s: %s at %s: %v, want %v", c.name, c.w, c.at, got, c.want)
		}
	}
}

// A Sunday 23:30 in Shanghai is Sunday 15:30 UTC; a Monday 07:30 in
// Shanghai is Sunday 23:30 UTC: the weekday is Shanghai's whatever the
// zone of the time given or of the machine.
func TestWeekdayIsShanghais(t *testing.T) {
	sunday := window(t, []string{"sun"}, "00:00", "24:00")
	monday := window(t, []string{"mon"}, "00:00", "24:00")
	sunUTC := time.Date(2026, 12, 13, 15, 30, 0, 0, time.UTC) // Sun 23:30 Shanghai
	monUTC := time.Date(2026, 12, 13, 23, 30, 0, 0, time.UTC) // Mon 07:30 Shanghai, still Sunday in UTC
	if !sunday.Holds(sunUTC) || monday.Holds(sunUTC) {
		t.Errorf("sunday 15:30 UTC is sunday 23:30 in Shanghai: sunday %v, monday %v", sunday.Holds(sunUTC), monday.Holds(sunUTC))
	}
	if sunday.Holds(monUTC) || !monday.Holds(monUTC) {
		t.Errorf("sunday 23:30 UTC is monday 07:30 in Shanghai: sunday %v, monday %v", sunday.Holds(monUTC), monday.Holds(monUTC))
	}
	// The same instant in another zone (New York) is judged the same.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if !monday.Holds(monUTC.In(ny)) {
		t.Error("the instant's zone must not matter")
	}
}

func TestParseWindowRefuses(t *testing.T) {
	for _, c := range []struct {
		days           []string
		from, to, want string
	}{
		{nil, "8:00", "20:00", `from: time "8:00": want HH:MM`},
		{nil, "08:00", "25:00", `to: time "25:00"`},
		{nil, "24:00", "08:00", "24:00 only ends a window"},
		{nil, "08:60", "09:00", "want 00:00 to 23:59"},
		{[]string{"mon", "sonday"}, "08:00", "09:00", `day "sonday"`},
		{nil, "08:00", "08:00", "an empty window"},
	} {
		_, err := ParseWindow(c.days, c.from, c.to)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %s-%s: %v, want %q", c.days, c.from, c.to, err, c.want)
		}
	}
}

const (
	mitsubishi = "上海三菱电梯维保站"
	schindler  = "迅达"
)

func person(id, role string) Person {
	return Person{ID: id, Name: id, Role: role, Contacts: []Contact{{Channel: "sms", To: "13800000001"}}}
}

func testRoster(t *testing.T) *Roster {
	t.Helper()
	allDay := window(t, nil, "00:00", "24:00")
	people := []Person{person("zhang", RoleTechnician), person("zhao", RoleTechnician), person("night", RoleTechnician),
		person("boss", RoleSupervisor), person("li", RoleManager), person("li2", RoleManager), person("wang", RoleSubdistrict),
		person("other", RoleTechnician)}
	duty := []Duty{
		{ID: 1, Person: "li", Estate: "yixian", Window: allDay},
		{ID: 2, Person: "zhang", Contractor: mitsubishi, Window: window(t, []string{"mon", "tue", "wed", "thu", "fri"}, "08:00", "20:00")},
		{ID: 3, Person: "night", Contractor: mitsubishi, Window: window(t, nil, "20:00", "08:00")},
		{ID: 4, Person: "zhao", Contractor: mitsubishi, Window: window(t, []string{"sat", "sun"}, "08:00", "20:00")},
		{ID: 5, Person: "boss", Contractor: mitsubishi, Window: allDay},
		{ID: 6, Person: "wang", Subdistrict: true, Window: allDay},
		{ID: 7, Person: "li2", Estate: "yixian", Window: window(t, nil, "09:00", "17:00")},
		{ID: 8, Person: "other", Contractor: schindler, Window: allDay},
		{ID: 9, Person: "zhang", Contractor: mitsubishi, Window: window(t, []string{"sat"}, "10:00", "12:00")},
	}
	r, err := New(people, duty)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(ps []Person) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func TestChainPerTier(t *testing.T) {
	r := testRoster(t)
	for _, c := range []struct {
		at   string
		tier int
		want []string
	}{
		// Monday 10:00: the day technician, then both managers (duty order).
		{"2026-12-07 10:00", 1, []string{"zhang", "li", "li2"}},
		{"2026-12-07 10:00", 2, []string{"zhang", "li", "li2", "boss"}},
		{"2026-12-07 10:00", 3, []string{"zhang", "li", "li2", "boss", "wang"}},
		// Monday 22:00: the night technician; li2 is off.
		{"2026-12-07 22:00", 1, []string{"night", "li"}},
		{"2026-12-07 22:00", 3, []string{"night", "li", "boss", "wang"}},
		// Saturday 11:00: zhao (entry 4) before zhang (entry 9), zhang once.
		{"2026-12-12 11:00", 1, []string{"zhao", "zhang", "li", "li2"}},
		// Saturday 07:00: Friday's night shift still holds.
		{"2026-12-12 07:00", 1, []string{"night", "li"}},
	} {
		got := ids(r.Chain("yixian", mitsubishi, c.tier, sh(t, c.at)))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s tier %d: %v, want %v", c.at, c.tier, got, c.want)
		}
	}
	if got := ids(r.Chain("guyuan", schindler, 1, sh(t, "2026-12-07 10:00"))); !slices.Equal(got, []string{"other"}) {
		t.Errorf("another contractor, an estate without managers: %v", got)
	}
	if got := r.Chain("yixian", mitsubishi, 0, sh(t, "2026-12-07 10:00")); got != nil {
		t.Errorf("tier 0: %v", got)
	}
	var none *Roster
	if got := none.Chain("yixian", mitsubishi, 3, time.Now()); got != nil {
		t.Errorf("no roster: %v", got)
	}
}

func TestNewRefusesInconsistentDuty(t *testing.T) {
	allDay := Window{From: 0, To: minutesPerDay}
	tech := person("zhang", RoleTechnician)
	tech.Contractor = mitsubishi
	for _, c := range []struct {
		d    Duty
		want string
	}{
		{Duty{ID: 1, Person: "nobody", Estate: "yixian", Window: allDay}, `unknown person "nobody"`},
		{Duty{ID: 2, Person: "zhang", Estate: "yixian", Window: allDay}, "an estate's duty is a manager's"},
		{Duty{ID: 3, Person: "zhang", Contractor: schindler, Window: allDay}, "works for 上海三菱电梯维保站, not 迅达"},
		{Duty{ID: 4, Person: "zhang", Window: allDay}, "exactly one of"},
		{Duty{ID: 5, Person: "zhang", Contractor: mitsubishi, Subdistrict: true, Window: allDay}, "exactly one of"},
	} {
		_, err := New([]Person{tech}, []Duty{c.d})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("duty %d: %v, want %q", c.d.ID, err, c.want)
		}
	}
}

func TestGaps(t *testing.T) {
	r := testRoster(t)
	got := r.Gaps([]string{mitsubishi, schindler, "奥的斯"}, []string{"yixian", "guyuan"})
	var lines []string
	for _, g := range got {
		lines = append(lines, g.String())
	}
	want := []string{
		// zhang weekdays 08-20, zhao weekends 08-20, night every night:
		// covered all week. Supervisor boss: all day.
		"contractor 迅达: no supervisor on duty at any time",
		"contractor 奥的斯: no technician on duty at any time",
		"contractor 奥的斯: no supervisor on duty at any time",
		"estate guyuan: no manager on duty at any time",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("gaps:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// A weekday-only day shift leaves every night and the weekend open;
	// the hole across Monday 00:00 is one.
	r2, err := New([]Person{person("a", RoleTechnician), person("b", RoleManager), person("w", RoleSubdistrict)}, []Duty{
		{ID: 1, Person: "a", Contractor: "x", Window: window(t, []string{"mon", "tue", "wed", "thu", "fri"}, "08:00", "20:00")},
		{ID: 2, Person: "b", Estate: "e", Window: window(t, []string{"sun"}, "20:00", "08:00")},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines = nil
	for _, g := range r2.Gaps([]string{"x"}, []string{"e"}) {
		lines = append(lines, g.String())
	}
	want = []string{
		"contractor x: no technician on duty from mon 20:00 to tue 08:00",
		"contractor x: no technician on duty from tue 20:00 to wed 08:00",
		"contractor x: no technician on duty from wed 20:00 to thu 08:00",
		"contractor x: no technician on duty from thu 20:00 to fri 08:00",
		"contractor x: no technician on duty from fri 20:00 to mon 08:00",
		"contractor x: no supervisor on duty at any time",
		"estate e: no manager on duty from mon 08:00 to sun 20:00",
		"subdistrict: no subdistrict on duty at any time",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("gaps:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestLiveSwapsSnapshots(t *testing.T) {
	var l Live
	if l.Roster().Chain("yixian", mitsubishi, 1, time.Now()) != nil {
		t.Fatal("an empty live roster pages nobody")
	}
	l.Set(testRoster(t))
	if got := ids(l.Roster().Chain("yixian", mitsubishi, 1, sh(t, "2026-12-07 10:00"))); len(got) == 0 {
		t.Fatal("after Set the chain is the roster's")
	}
}

// A holiday swap: zhang, the weekday technician, is off on 2026-10-01
// (a Thursday); zhao covers that day and its night; the next day zhang is
// back. Dated entries are not part of the week's holes.
func TestDatedOverrides(t *testing.T) {
	weekdays := window(t, []string{"mon", "tue", "wed", "thu", "fri"}, "08:00", "20:00")
	dated := func(date, from, to string) Window {
		w := window(t, nil, from, to)
		w.Date = date
		return w
	}
	r, err := New([]Person{person("zhang", RoleTechnician), person("zhao", RoleTechnician)}, []Duty{
		{ID: 1, Person: "zhang", Contractor: "x", Window: weekdays},
		{ID: 2, Person: "zhang", Contractor: "x", Window: dated("2026-10-01", "08:00", "20:00"), Off: true},
		{ID: 3, Person: "zhao", Contractor: "x", Window: dated("2026-10-01", "08:00", "24:00")},
		{ID: 4, Person: "zhao", Contractor: "x", Window: dated("2026-10-01", "20:00", "08:00")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   string
		want []string
	}{
		{"2026-09-30 10:00", []string{"zhang"}},
		{"2026-10-01 10:00", []string{"zhao"}},
		{"2026-10-01 23:00", []string{"zhao"}},
		{"2026-10-02 03:00", []string{"zhao"}}, // the dated night runs into the next morning
		{"2026-10-02 08:00", []string{"zhang"}},
	} {
		if got := ids(r.Chain("", "x", 1, sh(t, c.at))); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.at, got, c.want)
		}
	}
	d := r.Duty()
	if r.OnDuty(d[0], sh(t, "2026-10-01 10:00")) || !r.OnDuty(d[0], sh(t, "2026-10-02 10:00")) || r.OnDuty(d[1], sh(t, "2026-10-01 10:00")) {
		t.Error("OnDuty does not follow the off entry")
	}
	// The week's holes count the weekly entries only.
	var lines []string
	for _, g := range r.Gaps([]string{"x"}, nil) {
		if g.Role == RoleTechnician {
			lines = append(lines, g.String())
		}
	}
	if len(lines) != 5 {
		t.Errorf("holes: %v", lines)
	}
	for _, c := range []struct {
		d    Duty
		want string
	}{
		{Duty{ID: 5, Person: "zhang", Contractor: "x", Window: weekdays, Off: true}, "off duty is for a date"},
		{Duty{ID: 6, Person: "zhang", Contractor: "x", Window: Window{Days: []time.Weekday{time.Monday}, From: 0, To: 60, Date: "2026-10-01"}}, "leave days out"},
	} {
		if _, err := New([]Person{person("zhang", RoleTechnician)}, []Duty{c.d}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("duty %d: %v, want %q", c.d.ID, err, c.want)
		}
	}
}
