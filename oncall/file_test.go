package oncall

import (
	"slices"
	"strings"
	"testing"
)

const goodFile = `people:
  - {id: zhang, name: 张师傅, role: technician, user: demo-contractor, phone: "13800000001", lang: zh,
     contacts: [{channel: sms, to: "13800000001"}, {channel: voice, to: "+8613800000001"}]}
  - {id: li, name: 李经理, role: manager, contacts: [{channel: email, to: li@example.com}]}
  - {id: wang, name: 王科长, role: subdistrict, contacts: [{channel: wecom}]}
duty:
  - {person: zhang, contractor: "上海三菱电梯维保站", days: [mon,tue,wed,thu,fri], from: "08:00", to: "20:00"}
  - {person: li, estate: yixian, from: "00:00", to: "24:00"}
  - {person: wang, subdistrict: true, days: [sat, sun], from: "20:00", to: "08:00"}
  - {person: zhang, contractor: "上海三菱电梯维保站", date: 2026-12-07, off: true, from: "08:00", to: "20:00"}
`

func TestParseGoodFile(t *testing.T) {
	f, err := Parse("r.yaml", []byte(goodFile), DefaultChannels())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.People) != 3 || len(f.Duty) != 4 || !f.Duty[3].Off || f.Duty[3].Window.Date != "2026-12-07" {
		t.Fatalf("people %d, duty %d", len(f.People), len(f.Duty))
	}
	if p := f.People[0]; p.User != "demo-contractor" || len(p.Contacts) != 2 || p.Contacts[1].Channel != "voice" || p.Source != SourceFile {
		t.Errorf("zhang: %+v", p)
	}
	if w := f.Duty[2].Window; w.String() != "sat,sun 20:00-08:00" {
		t.Errorf("wang's window: %s", w)
	}
	r, err := f.Roster()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(r.Chain("yixian", mitsubishi, 3, sh(t, "2026-12-08 09:00"))); !slices.Equal(got, []string{"zhang", "li"}) {
		t.Errorf("chain: %v", got)
	}
	// Monday 2026-12-07 zhang is off.
	if got := ids(r.Chain("yixian", mitsubishi, 3, sh(t, "2026-12-07 09:00"))); !slices.Equal(got, []string{"li"}) {
		t.Errorf("chain on zhang's day off: %v", got)
	}
	// Monday 07:00 is still Sunday's night: wang.
	if got := ids(r.Chain("yixian", mitsubishi, 3, sh(t, "2026-12-07 07:00"))); !slices.Equal(got, []string{"li", "wang"}) {
		t.Errorf("chain: %v", got)
	}
	known := func(s string) bool { return s == mitsubishi || s == "yixian" }
	if err := f.CheckRegister(known, known); err != nil {
		t.Error(err)
	}
	err = f.CheckRegister(func(string) bool { return false }, func(s string) bool { return s != "yixian" })
	want := []string{
		`oncall file r.yaml: line 7: duty[0].contractor: "上海三菱电梯维保站" is not a contractor of the lift register`,
		`oncall file r.yaml: line 8: duty[1].estate: "yixian" is not an estate of the lift register`,
		`oncall file r.yaml: line 10: duty[3].contractor: "上海三菱电梯维保站" is not a contractor of the lift register`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("register check:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// Every problem of the file is reported at once, each with its line and key.
func TestParseReportsEveryProblemWithItsLine(t *testing.T) {
	const bad = `people:
  - id: zhang
    name: 张师傅
    role: technican
    phone: "12345"
    contacts:
      - {channel: sms, to: "1380000000"}
      - {channel: pager, to: "x"}
      - {channel: email, to: "not an address"}
  - {id: li, name: 李经理, role: manager, contacts: [{channel: sms, to: "13800000002"}], phon: x}
  - {id: li, name: 李经理, role: manager, contacts: [{channel: sms, to: "13800000002"}]}
  - {id: nocontact, name: "无\u202e", role: manager}
duty:
  - {person: zhangg, contractor: x, from: "08:00", to: "20:00"}
  - {person: li, estate: yixian, days: [mon, sonday], from: "8:00", to: "25:00"}
  - {person: li, contractor: x, from: "08:00", to: "20:00"}
  - {person: li, estate: yixian, from: "08:00", to: "08:00", dayz: [mon]}
  - {person: li, from: "08:00", to: "20:00"}
  - {person: li, estate: yixian, date: 2026-13-01, from: "08:00", to: "20:00"}
extra: 1
`
	_, err := Parse("r.yaml", []byte(bad), DefaultChannels())
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{
		`line 4: people[0].role: "technican": want one of technician, supervisor, manager, subdistrict (did you mean technician?)`,
		`line 5: people[0].phone: "12345": want an 11-digit mobile number`,
		`line 7: people[0].contacts[0].to: "1380000000": want an 11-digit mobile number`,
		`line 8: people[0].contacts[1].channel: "pager" is not a configured channel`,
		`line 9: people[0].contacts[2].to: "not an address": want an email address`,
		`line 10: unknown key people[1].phon (did you mean phone?)`,
		`line 11: people[2].id: "li" twice (first at line 10)`,
		`line 12: people[3].contacts: at least one contact is needed`,
		`line 12: people[3].name: contains the bidirectional control U+202E`,
		`line 14: duty[0].person: unknown person "zhangg" (did you mean zhang?)`,
		`line 15: duty[1].days[1]: day "sonday"`,
		`line 15: duty[1].from: time "8:00": want HH:MM`,
		`line 15: duty[1].to: time "25:00"`,
		`line 16: duty[2].person: li is a manager; a contractor's duty is a technician's or a supervisor's`,
		`line 17: unknown key duty[3].dayz (did you mean days?)`,
		`line 17: duty[3]: from 08:00 equals to 08:00: an empty window`,
		`line 18: duty[4].contractor: a duty entry covers exactly one of contractor, estate or subdistrict: true`,
		`line 19: duty[5].date: date "2026-13-01": want YYYY-MM-DD`,
		`line 20: unknown key extra`,
	} {
		if !strings.Contains(got, "oncall file r.yaml: "+want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestParseMultilineLinesPointAtTheKey(t *testing.T) {
	const f = `people:
  - id: zhang
    name: 张师傅
    role: technician
    contacts:
      - channel: sms
        to: "13800000001"
duty:
  - person: zhang
    contractor: x
    days: [mon]
    from: "08:00"
    to: "8pm"
`
	_, err := Parse("r.yaml", []byte(f), DefaultChannels())
	if err == nil || !strings.Contains(err.Error(), `line 13: duty[0].to: time "8pm"`) {
		t.Errorf("%v", err)
	}
	_, err = Parse("r.yaml", []byte("people: {id: x}\n"), DefaultChannels())
	if err == nil || !strings.Contains(err.Error(), "line 1: people: want a list") {
		t.Errorf("%v", err)
	}
	_, err = Parse("r.yaml", []byte("people: [\n"), DefaultChannels())
	if err == nil || !strings.Contains(err.Error(), "oncall file r.yaml") {
		t.Errorf("%v", err)
	}
}
