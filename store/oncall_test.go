package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/oncall"
)

func TestOnCallRoster(t *testing.T) {
	forEachOpener(t, func(t *testing.T, open func(t *testing.T) *DB) {
		ctx := context.Background()
		db := open(t)
		contacts := []oncall.Contact{{Channel: "sms", To: "13800000001"}}
		zhang := oncall.Person{ID: "zhang", Name: "张师傅", Role: oncall.RoleTechnician, User: "demo-contractor", Phone: "13800000001", Lang: "zh",
			Contractor: "上海三菱电梯维保站", Contacts: contacts}
		li := oncall.Person{ID: "li", Name: "李经理", Role: oncall.RoleManager, Contacts: contacts}
		night := oncall.Window{Days: []time.Weekday{time.Friday, time.Saturday}, From: 20 * 60, To: 8 * 60}
		if err := db.OnCall().ReplaceSource(ctx, oncall.SourceFile, []oncall.Person{zhang, li},
			[]oncall.Duty{{Person: "zhang", Contractor: "上海三菱电梯维保站", Window: night}, {Person: "li", Estate: "yixian", Window: oncall.Window{From: 0, To: 1440}}}, nil); err != nil {
			t.Fatal(err)
		}
		web := oncall.Person{ID: "wang", Name: "王科长", Role: oncall.RoleSubdistrict, Contacts: contacts, Source: oncall.SourceWeb}
		if created, err := db.OnCall().PutPerson(ctx, web); err != nil || !created {
			t.Fatalf("put: %v %v", created, err)
		}
		web.Name = "王科长2"
		if created, err := db.OnCall().PutPerson(ctx, web); err != nil || created {
			t.Fatalf("replace: %v %v", created, err)
		}
		d := oncall.Duty{Person: "wang", Subdistrict: true, Window: oncall.Window{From: 0, To: 1440, Date: "2026-10-01"}, Off: true, Source: oncall.SourceWeb}
		if err := db.OnCall().AddDuty(ctx, &d); err != nil || d.ID == 0 {
			t.Fatalf("add duty: %v %d", err, d.ID)
		}
		// Reopened: the roster survives a restart.
		db2 := open(t)
		people, duty, err := db2.OnCall().LoadRoster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 3 || people[2].ID != "zhang" || people[2].User != "demo-contractor" || people[2].Contractor != "上海三菱电梯维保站" ||
			!slices.Equal(people[2].Contacts, contacts) || people[2].Source != oncall.SourceFile || people[1].Name != "王科长2" {
			t.Fatalf("people: %+v", people)
		}
		if len(duty) != 3 || !slices.Equal(duty[0].Window.Days, night.Days) || duty[0].Window.From != 1200 || duty[0].Window.To != 480 ||
			duty[1].Window.Days != nil || !duty[2].Subdistrict || duty[2].Source != oncall.SourceWeb || duty[2].Window.Date != "2026-10-01" || !duty[2].Off ||
			duty[0].Off || duty[0].Window.Date != "" {
			t.Fatalf("duty: %+v", duty)
		}
		// A new import replaces the file's entries, keeps the web's, and
		// turns a dropped file person still named by a web entry into a
		// web entry.
		d2 := oncall.Duty{Person: "li", Estate: "guyuan", Window: oncall.Window{From: 0, To: 1440}, Source: oncall.SourceWeb}
		if err := db2.OnCall().AddDuty(ctx, &d2); err != nil {
			t.Fatal(err)
		}
		if err := db2.OnCall().ReplaceSource(ctx, oncall.SourceFile, []oncall.Person{zhang}, nil, []string{"li"}); err != nil {
			t.Fatal(err)
		}
		people, duty, err = db2.OnCall().LoadRoster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range people {
			got = append(got, p.ID+":"+p.Source)
		}
		if !slices.Equal(got, []string{"li:web", "wang:web", "zhang:file"}) || len(duty) != 2 || duty[0].ID != d.ID || duty[1].ID != d2.ID {
			t.Fatalf("after the second import: %v %+v", got, duty)
		}
		if err := db2.OnCall().PutDuty(ctx, oncall.Duty{ID: 999999, Person: "li"}); !errors.Is(err, oncall.ErrNotFound) {
			t.Errorf("put unknown duty: %v", err)
		}
		if err := db2.OnCall().DeleteDuty(ctx, d2.ID); err != nil {
			t.Fatal(err)
		}
		if err := db2.OnCall().DeleteDuty(ctx, d2.ID); !errors.Is(err, oncall.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
		if err := db2.OnCall().DeletePerson(ctx, "nobody"); !errors.Is(err, oncall.ErrNotFound) {
			t.Errorf("delete unknown person: %v", err)
		}
		if err := db2.OnCall().ReplaceSource(ctx, oncall.SourceWeb, nil, nil, nil); err == nil {
			t.Error("the web's entries replaced in bulk")
		}
	})
}

// The roster service on the real store: edits are checked, stored and
// seen at once in the live snapshot; an import replaces the file's entries
// and keeps the web's.
func TestOnCallServiceOnSQL(t *testing.T) {
	forEachOpener(t, func(t *testing.T, open func(t *testing.T) *DB) {
		ctx := context.Background()
		svc, err := oncall.NewService(ctx, open(t).OnCall(), oncall.DefaultChannels())
		if err != nil {
			t.Fatal(err)
		}
		f, err := oncall.Parse("r.yaml", []byte(`people:
  - {id: zhang, name: 张师傅, role: technician, contacts: [{channel: sms, to: "13800000001"}]}
  - {id: li, name: 李经理, role: manager, contacts: [{channel: sms, to: "13800000002"}]}
duty:
  - {person: zhang, contractor: C, from: "00:00", to: "24:00"}
  - {person: li, estate: yixian, from: "00:00", to: "24:00"}
`), svc.Channels())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Import(ctx, oncall.SourceFile, f.People, f.Duty); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
		chain := func(r *oncall.Roster) []string {
			var out []string
			for _, p := range r.Chain("yixian", "C", 1, at) {
				out = append(out, p.ID)
			}
			return out
		}
		if got := chain(svc.Roster()); !slices.Equal(got, []string{"zhang", "li"}) {
			t.Fatalf("chain after import: %v", got)
		}
		// A web edit: a second manager on duty, seen by the pager at once.
		if _, err := svc.PutPerson(ctx, oncall.Person{ID: "zhou", Name: "周经理", Role: oncall.RoleManager, Estate: "yixian",
			Contacts: []oncall.Contact{{Channel: "voice", To: "13800000003"}}}); err != nil {
			t.Fatal(err)
		}
		d := oncall.Duty{Person: "zhou", Estate: "yixian", Window: oncall.Window{From: 0, To: 1440}}
		if err := svc.AddDuty(ctx, &d); err != nil {
			t.Fatal(err)
		}
		if got := chain(svc.Roster()); !slices.Equal(got, []string{"zhang", "li", "zhou"}) {
			t.Fatalf("chain after a web edit: %v", got)
		}
		// Refused edits change nothing.
		var inv *oncall.InvalidError
		if _, err := svc.PutPerson(ctx, oncall.Person{ID: "zhou", Name: "周", Role: oncall.RoleTechnician,
			Contacts: []oncall.Contact{{Channel: "sms", To: "123"}}}); !errors.As(err, &inv) || len(inv.Problems) != 1 {
			t.Errorf("a bad phone: %v", err)
		}
		if _, err := svc.PutPerson(ctx, oncall.Person{ID: "zhou", Name: "周", Role: oncall.RoleTechnician,
			Contacts: []oncall.Contact{{Channel: "sms", To: "13800000003"}}}); !errors.As(err, &inv) || inv.Problems[0].Field != "role" {
			t.Errorf("a role that no longer fits the duty entry: %v", err)
		}
		if err := svc.AddDuty(ctx, &oncall.Duty{Person: "zhou", Estate: "guyuan", Window: oncall.Window{From: 0, To: 1440}}); !errors.As(err, &inv) {
			t.Errorf("a manager of yixian on guyuan's duty: %v", err)
		}
		if err := svc.DeletePerson(ctx, "zhou"); !errors.Is(err, oncall.ErrInUse) {
			t.Errorf("delete a person on duty: %v", err)
		}
		// A web duty entry for li, a file person.
		dl := oncall.Duty{Person: "li", Estate: "yixian", Window: oncall.Window{From: 0, To: 1440}}
		if err := svc.AddDuty(ctx, &dl); err != nil {
			t.Fatal(err)
		}
		// The next start with a file without li: li's file entry goes, li
		// is kept as a web person (a web entry names li), the web entries
		// stay.
		f2, err := oncall.Parse("r.yaml", []byte(`people:
  - {id: zhang, name: 张师傅, role: technician, contacts: [{channel: sms, to: "13800000001"}]}
duty:
  - {person: zhang, contractor: C, from: "08:00", to: "20:00"}
`), svc.Channels())
		if err != nil {
			t.Fatal(err)
		}
		kept, err := svc.Import(ctx, oncall.SourceFile, f2.People, f2.Duty)
		if err != nil || !slices.Equal(kept, []string{"li"}) {
			t.Fatalf("second import: %v %v", kept, err)
		}
		// 02:00 UTC is 10:00 in Shanghai: zhang's new 08-20 window holds.
		if got := chain(svc.Roster()); !slices.Equal(got, []string{"zhang", "zhou", "li"}) {
			t.Fatalf("chain after the second import: %v", got)
		}
		if p, _ := svc.Roster().Person("li"); p.Source != oncall.SourceWeb {
			t.Errorf("li kept as %q", p.Source)
		}
		// A restart reads the same roster.
		svc2, err := oncall.NewService(ctx, open(t).OnCall(), oncall.DefaultChannels())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := chain(svc2.Roster()), chain(svc.Roster()); !slices.Equal(got, want) {
			t.Fatalf("after a restart %v, before %v", got, want)
		}
		if err := svc.DeleteDuty(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeletePerson(ctx, "zhou"); err != nil {
			t.Fatal(err)
		}
		if _, ok := svc.Roster().Person("zhou"); ok {
			t.Error("deleted person still in the live roster")
		}
	})
}
