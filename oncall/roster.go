package oncall

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Sources of roster entries.
const (
	SourceFile = "file" // --oncall.file: replaced at every start
	SourceWeb  = "web"  // the web app and the API: kept
	SourceDemo = "demo" // the demo's roster
)

// Duty is one duty entry: the person is on duty in Window for exactly one
// of a contractor (a technician or supervisor), an estate (a manager) or
// the subdistrict (its duty officer).
//
// Off marks a dated entry that takes the person off duty for that target
// in its window (a holiday swap: one person off, another on with a dated
// entry of their own).
type Duty struct {
	ID          int64
	Person      string
	Contractor  string
	Estate      string
	Subdistrict bool
	Window      Window
	Off         bool
	Source      string
}

// Target says what the entry covers: "contractor X", "estate Y",
// "subdistrict".
func (d Duty) Target() string {
	switch {
	case d.Contractor != "":
		return "contractor " + d.Contractor
	case d.Estate != "":
		return "estate " + d.Estate
	}
	return "subdistrict"
}

// CheckDuty says what is wrong with d for person p: it covers exactly one
// of a contractor, an estate or the subdistrict, with a person whose role
// fits it (technician or supervisor, manager, subdistrict officer) and whose
// declared contractor or estate, if any, is the same. Each problem is
// "field: message" (contractor, estate, person).
func CheckDuty(p Person, d Duty) []string {
	n := 0
	for _, set := range []bool{d.Contractor != "", d.Estate != "", d.Subdistrict} {
		if set {
			n++
		}
	}
	if n != 1 {
		return []string{"contractor: a duty entry covers exactly one of contractor, estate or subdistrict: true"}
	}
	var errs []string
	if d.Off && d.Window.Date == "" {
		errs = append(errs, "off: off duty is for a date (a holiday swap): set date")
	}
	if d.Window.Date != "" && len(d.Window.Days) > 0 {
		errs = append(errs, "days: a dated entry holds on its date: leave days out")
	}
	switch {
	case d.Contractor != "":
		if p.Role != RoleTechnician && p.Role != RoleSupervisor {
			errs = append(errs, fmt.Sprintf("person: %s is a %s; a contractor's duty is a technician's or a supervisor's", p.ID, p.Role))
		}
		if p.Contractor != "" && p.Contractor != d.Contractor {
			errs = append(errs, fmt.Sprintf("contractor: %s works for %s, not %s", p.ID, p.Contractor, d.Contractor))
		}
	case d.Estate != "":
		if p.Role != RoleManager {
			errs = append(errs, fmt.Sprintf("person: %s is a %s; an estate's duty is a manager's", p.ID, p.Role))
		}
		if p.Estate != "" && p.Estate != d.Estate {
			errs = append(errs, fmt.Sprintf("estate: %s manages %s, not %s", p.ID, p.Estate, d.Estate))
		}
	default:
		if p.Role != RoleSubdistrict {
			errs = append(errs, fmt.Sprintf("person: %s is a %s; the subdistrict's duty is a subdistrict officer's", p.ID, p.Role))
		}
	}
	return errs
}

// Roster is an immutable snapshot of who is on duty when: the pager reads
// it on the hot path (no SQL, no locks). Build a new one for every change.
type Roster struct {
	people map[string]Person
	order  []string // person ids in the order given
	duty   []Duty
}

// New builds a roster; every duty entry must name a person of people and
// pass CheckDuty, and person ids must be unique.
func New(people []Person, duty []Duty) (*Roster, error) {
	r := &Roster{people: map[string]Person{}}
	var errs []string
	for _, p := range people {
		if _, dup := r.people[p.ID]; dup {
			errs = append(errs, fmt.Sprintf("person %s twice", p.ID))
			continue
		}
		r.people[p.ID] = p
		r.order = append(r.order, p.ID)
	}
	for _, d := range duty {
		p, ok := r.people[d.Person]
		if !ok {
			errs = append(errs, fmt.Sprintf("duty %d: unknown person %q", d.ID, d.Person))
			continue
		}
		for _, e := range CheckDuty(p, d) {
			errs = append(errs, fmt.Sprintf("duty %d: %s", d.ID, e))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("roster: %s", strings.Join(errs, "; "))
	}
	r.duty = slices.Clone(duty)
	return r, nil
}

// Empty says whether the roster has nobody in it (no copy: the pager asks
// on every change it is handed).
func (r *Roster) Empty() bool { return r == nil || len(r.order) == 0 }

// People lists the roster's people in order.
func (r *Roster) People() []Person {
	if r == nil {
		return nil
	}
	out := make([]Person, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.people[id])
	}
	return out
}

// Duty lists the duty entries in order.
func (r *Roster) Duty() []Duty {
	if r == nil {
		return nil
	}
	return slices.Clone(r.duty)
}

// Person is the person of id.
func (r *Roster) Person(id string) (Person, bool) {
	if r == nil {
		return Person{}, false
	}
	p, ok := r.people[id]
	return p, ok
}

// onDuty appends, in duty order, the people of role on duty at i for the
// entries match selects, skipping those already in out and those a dated
// off entry of the same target takes off duty then.
func (r *Roster) onDuty(out []Person, role string, i instant, match func(Duty) bool) []Person {
	for _, e := range r.duty {
		if e.Off || !match(e) || !e.Window.holdsAt(i) {
			continue
		}
		p := r.people[e.Person]
		if p.Role != role || slices.ContainsFunc(out, func(q Person) bool { return q.ID == p.ID }) {
			continue
		}
		if slices.ContainsFunc(r.duty, func(o Duty) bool {
			return o.Off && o.Person == e.Person && o.Target() == e.Target() && o.Window.holdsAt(i)
		}) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// OnDuty says whether duty entry d puts its person on duty at t: its
// window holds and no dated off entry of the person for the same target
// does (an off entry itself is never on duty).
func (r *Roster) OnDuty(d Duty, t time.Time) bool {
	if r == nil || d.Off {
		return false
	}
	i := instantAt(t)
	return d.Window.holdsAt(i) && !slices.ContainsFunc(r.duty, func(o Duty) bool {
		return o.Off && o.Person == d.Person && o.Target() == d.Target() && o.Window.holdsAt(i)
	})
}

// Chain is whom to page, in order, for an alert on a lift of estate
// maintained by contractor, at escalation tier, at time at (read in
// Asia/Shanghai): tier 1 the contractor's duty technicians, then the
// estate's managers; tier 2 adds the contractor's supervisors; tier 3 adds
// the subdistrict's duty officers. A person appears once, at their first
// place. Nobody on duty: an empty chain.
func (r *Roster) Chain(estate, contractor string, tier int, at time.Time) []Person {
	if r == nil || tier < 1 {
		return nil
	}
	i := instantAt(at)
	forContractor := func(e Duty) bool { return contractor != "" && e.Contractor == contractor }
	var out []Person
	out = r.onDuty(out, RoleTechnician, i, forContractor)
	out = r.onDuty(out, RoleManager, i, func(e Duty) bool { return estate != "" && e.Estate == estate })
	if tier >= 2 {
		out = r.onDuty(out, RoleSupervisor, i, forContractor)
	}
	if tier >= 3 {
		out = r.onDuty(out, RoleSubdistrict, i, func(e Duty) bool { return e.Subdistrict })
	}
	return out
}

// Gap is a time of the week when nobody of Role is on duty for a
// contractor, an estate or the subdistrict: a hole in the roster.
type Gap struct {
	Scope string // "contractor", "estate" or "subdistrict"
	Name  string // the contractor or estate ("" for the subdistrict)
	Role  string
	// From and To are the hole, "mon 20:00" to "tue 08:00" (Asia/Shanghai);
	// both "" when nobody of Role is on duty at any time.
	From, To string
}

func (g Gap) String() string {
	who := g.Scope
	if g.Name != "" {
		who += " " + g.Name
	}
	if g.From == "" {
		return fmt.Sprintf("%s: no %s on duty at any time", who, g.Role)
	}
	return fmt.Sprintf("%s: no %s on duty from %s to %s", who, g.Role, g.From, g.To)
}

// Gaps reports, for each contractor (technician and supervisor), each
// estate (manager) and the subdistrict (officer), the times of the week
// with nobody on duty, Monday first, by the weekly entries (dated ones are
// exceptions to the week, not part of it). A roster with a hole is a
// configuration warning (config check, /readyz): an alert then has a
// shorter chain, or none.
func (r *Roster) Gaps(contractors, estates []string) []Gap {
	var out []Gap
	check := func(scope, name, role string, match func(Duty) bool) {
		var week [minutesPerWeek]bool
		for _, e := range r.Duty() {
			if p, _ := r.Person(e.Person); p.Role == role && match(e) && !e.Off && e.Window.Date == "" {
				cover(&week, e.Window)
			}
		}
		out = append(out, holes(&week, scope, name, role)...)
	}
	for _, c := range contractors {
		for _, role := range []string{RoleTechnician, RoleSupervisor} {
			check("contractor", c, role, func(e Duty) bool { return e.Contractor == c })
		}
	}
	for _, es := range estates {
		check("estate", es, RoleManager, func(e Duty) bool { return e.Estate == es })
	}
	check("subdistrict", "", RoleSubdistrict, func(e Duty) bool { return e.Subdistrict })
	return out
}

// cover marks w's minutes in a week indexed from Sunday 00:00.
func cover(week *[minutesPerWeek]bool, w Window) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if !w.onDay(d) {
			continue
		}
		base := int(d) * minutesPerDay
		end := w.To
		if w.From > w.To {
			end = minutesPerDay
			for m := 0; m < w.To; m++ {
				week[(base+minutesPerDay+m)%minutesPerWeek] = true
			}
		}
		for m := w.From; m < end; m++ {
			week[base+m] = true
		}
	}
}

// holes lists the uncovered runs of week, starting from Monday 00:00.
func holes(week *[minutesPerWeek]bool, scope, name, role string) []Gap {
	const monday = int(time.Monday) * minutesPerDay
	at := func(i int) int { return ((monday+i)%minutesPerWeek + minutesPerWeek) % minutesPerWeek }
	label := func(m int) string {
		return DayName(time.Weekday(m/minutesPerDay)) + " " + Clock(m%minutesPerDay)
	}
	covered := 0
	for _, c := range week {
		if c {
			covered++
		}
	}
	if covered == 0 {
		return []Gap{{Scope: scope, Name: name, Role: role}}
	}
	// Start at a covered minute so that a hole across Monday 00:00 is one.
	start := 0
	for week[at(start)] {
		start++
		if start == minutesPerWeek {
			return nil
		}
	}
	for !week[at(start-1)] {
		start--
	}
	var out []Gap
	for i := 0; i < minutesPerWeek; {
		m := at(start + i)
		if week[m] {
			i++
			continue
		}
		j := i
		for j < minutesPerWeek && !week[at(start+j)] {
			j++
		}
		out = append(out, Gap{Scope: scope, Name: name, Role: role, From: label(m), To: label(at(start + j))})
		i = j
	}
	slices.SortStableFunc(out, func(a, b Gap) int { return dayOrder(a.From) - dayOrder(b.From) })
	return out
}

// dayOrder sorts "mon 08:00" labels Monday first.
func dayOrder(label string) int {
	d, _ := ParseDay(label[:3])
	m, _ := ParseClock(label[4:], false)
	return ((int(d)+6)%7)*minutesPerDay + m
}

// Live holds the current roster for the pager: Roster is a lock-free read;
// Set swaps in a new snapshot after every change.
type Live struct{ p atomic.Pointer[Roster] }

// Roster is the current snapshot (nil before the first Set: every chain
// is empty).
func (l *Live) Roster() *Roster { return l.p.Load() }

// Set makes r current.
func (l *Live) Set(r *Roster) { l.p.Store(r) }
