package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/oncall"
)

// OnCallRoster is the on-call roster as the API reads and edits it
// (oncall.Service): the live snapshot, and edits that are checked, stored
// and seen by the pager at once.
type OnCallRoster interface {
	Roster() *oncall.Roster
	PutPerson(ctx context.Context, p oncall.Person) (created bool, err error)
	DeletePerson(ctx context.Context, id string) error
	AddDuty(ctx context.Context, d *oncall.Duty) error
	PutDuty(ctx context.Context, d oncall.Duty) error
	DeleteDuty(ctx context.Context, id int64) error
	// Channels are the paging channels contacts may name.
	Channels() oncall.Channels
}

// OnCallDeps wire the roster routes; nil leaves them out.
type OnCallDeps struct {
	Roster OnCallRoster
	Now    func() time.Time // whose "on duty now" the list shows
}

// The roster's routes. Reading needs read_alert (the roster says who is
// paged for alerts: admins, managers, contractors, the subdistrict; not
// owners), editing act_alert (admins, managers, contractors); what each
// may see and edit inside that is decided per entry (rosterScope).
func (s *Server) onCallRoutes() {
	s.handle("GET /api/v1/oncall", Guard{Action: identity.ReadAlert}, s.getOnCall)
	s.handle("PUT /api/v1/oncall/people/{id}", Guard{Action: identity.ActAlert}, s.putOnCallPerson)
	s.handle("DELETE /api/v1/oncall/people/{id}", Guard{Action: identity.ActAlert}, s.deleteOnCallPerson)
	s.handle("POST /api/v1/oncall/duty", Guard{Action: identity.ActAlert}, s.postOnCallDuty)
	s.handle("PUT /api/v1/oncall/duty/{id}", Guard{Action: identity.ActAlert}, s.putOnCallDuty)
	s.handle("DELETE /api/v1/oncall/duty/{id}", Guard{Action: identity.ActAlert}, s.deleteOnCallDuty)
}

// rosterScope is what the request's actor may see and edit of the roster:
//   - an admin: everything;
//   - a manager: sees the entries of their estates, of the contractors
//     serving them and the subdistrict's; edits their estates' managers
//     and duty entries;
//   - a contractor: sees and edits their company's technicians and
//     supervisors and its duty entries;
//   - the subdistrict: sees the entries of its estates, of their
//     contractors and the subdistrict's; edits nothing (admins do).
type rosterScope struct {
	all            bool
	role           identity.Role
	editEstates    []string
	editContractor string
	seeEstates     map[string]bool
	seeContractors map[string]bool
	seeSubdistrict bool
}

func (s *Server) rosterScope(r *http.Request) rosterScope {
	a, ok := identity.ActorFrom(r.Context())
	if s.d.Auth == nil || (ok && a.Role == identity.RoleAdmin) {
		return rosterScope{all: true, role: identity.RoleAdmin}
	}
	sc := rosterScope{role: a.Role, seeEstates: map[string]bool{}, seeContractors: map[string]bool{}}
	if !ok {
		return sc
	}
	switch a.Role {
	case identity.RoleManager, identity.RoleSubdistrict:
		if a.Role == identity.RoleManager {
			sc.editEstates = a.Scope.Estates
		}
		sc.seeSubdistrict = true
		checked := map[string]bool{}
		for _, e := range sc.editEstates {
			checked[e] = true
		}
		for _, l := range s.d.Lifts.Lifts() {
			if _, done := checked[l.Estate]; !done {
				checked[l.Estate] = a.Role == identity.RoleSubdistrict && s.visible(r, identity.ReadAlert, identity.Object{Estate: l.Estate})
			}
			if checked[l.Estate] {
				sc.seeEstates[l.Estate] = true
				if l.Contractor != "" {
					sc.seeContractors[l.Contractor] = true
				}
			}
		}
	case identity.RoleContractor:
		if a.Scope.Company != "" {
			sc.editContractor = a.Scope.Company
			sc.seeContractors[a.Scope.Company] = true
		}
	}
	return sc
}

func (sc rosterScope) seesDuty(d oncall.Duty) bool {
	return sc.all || sc.seeEstates[d.Estate] || sc.seeContractors[d.Contractor] || (d.Subdistrict && sc.seeSubdistrict)
}

func (sc rosterScope) editsDuty(d oncall.Duty) bool {
	return sc.all || (d.Estate != "" && slices.Contains(sc.editEstates, d.Estate)) ||
		(d.Contractor != "" && d.Contractor == sc.editContractor)
}

// personTargets are the estates and contractors a person belongs to: the
// declared ones, else those of their duty entries.
func personTargets(p oncall.Person, duty []oncall.Duty) (estates, contractors []string) {
	if p.Estate != "" {
		estates = []string{p.Estate}
	}
	if p.Contractor != "" {
		contractors = []string{p.Contractor}
	}
	for _, d := range duty {
		if d.Person != p.ID {
			continue
		}
		if p.Estate == "" && d.Estate != "" && !slices.Contains(estates, d.Estate) {
			estates = append(estates, d.Estate)
		}
		if p.Contractor == "" && d.Contractor != "" && !slices.Contains(contractors, d.Contractor) {
			contractors = append(contractors, d.Contractor)
		}
	}
	return estates, contractors
}

// editsPerson: a manager edits managers all of whose estates are theirs, a
// contractor its own technicians and supervisors.
func (sc rosterScope) editsPerson(p oncall.Person, duty []oncall.Duty) bool {
	if sc.all {
		return true
	}
	estates, contractors := personTargets(p, duty)
	switch sc.role {
	case identity.RoleManager:
		return p.Role == oncall.RoleManager && len(estates) > 0 && !slices.ContainsFunc(estates, func(e string) bool { return !slices.Contains(sc.editEstates, e) })
	case identity.RoleContractor:
		return (p.Role == oncall.RoleTechnician || p.Role == oncall.RoleSupervisor) && len(contractors) > 0 &&
			!slices.ContainsFunc(contractors, func(c string) bool { return c != sc.editContractor })
	}
	return false
}

func (sc rosterScope) seesPerson(p oncall.Person, duty []oncall.Duty) bool {
	if sc.all || sc.editsPerson(p, duty) || (p.Role == oncall.RoleSubdistrict && sc.seeSubdistrict) {
		return true
	}
	estates, contractors := personTargets(p, duty)
	return slices.ContainsFunc(estates, func(e string) bool { return sc.seeEstates[e] }) ||
		slices.ContainsFunc(contractors, func(c string) bool { return sc.seeContractors[c] })
}

// OnCallView is the roster as the caller may see it, with who is on duty
// at At (Asia/Shanghai windows) and what the caller may edit.
type OnCallView struct {
	At     string           `json:"at"`
	People []OnCallPerson   `json:"people"`
	Duty   []OnCallDutyView `json:"duty"`
	// CanEdit says what new entries the caller may add: estates,
	// a contractor, all (an admin).
	CanEdit OnCallEditScope `json:"can_edit"`
	// Channels are the paging channels a contact may name, with the
	// address each takes: phone, email, or "" (none needed).
	Channels []OnCallChannel `json:"channels"`
}

// OnCallChannel is a configured paging channel.
type OnCallChannel struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// OnCallEditScope is what the caller may add to the roster.
type OnCallEditScope struct {
	All        bool     `json:"all"`
	Estates    []string `json:"estates"`
	Contractor string   `json:"contractor,omitempty"`
}

// OnCallPerson is a person of the roster.
type OnCallPerson struct {
	oncall.Person
	OnDuty   bool `json:"on_duty"`
	Editable bool `json:"editable"`
}

// OnCallDutyView is a duty entry: days empty means every day; from > to
// crosses midnight; to "24:00" is the end of the day.
type OnCallDutyView struct {
	ID          int64    `json:"id"`
	Person      string   `json:"person"`
	Contractor  string   `json:"contractor,omitempty"`
	Estate      string   `json:"estate,omitempty"`
	Subdistrict bool     `json:"subdistrict"`
	Days        []string `json:"days"`
	// Date is a dated entry's day (a holiday swap, a one-off shift);
	// Off takes the person off duty for the target on it.
	Date     string `json:"date,omitempty"`
	Off      bool   `json:"off"`
	From     string `json:"from"`
	To       string `json:"to"`
	Source   string `json:"source"`
	OnDuty   bool   `json:"on_duty"`
	Editable bool   `json:"editable"`
}

func dutyView(d oncall.Duty, onDuty, editable bool) OnCallDutyView {
	return OnCallDutyView{ID: d.ID, Person: d.Person, Contractor: d.Contractor, Estate: d.Estate, Subdistrict: d.Subdistrict,
		Days: d.Window.DayStrings(), Date: d.Window.Date, Off: d.Off, From: oncall.Clock(d.Window.From), To: oncall.Clock(d.Window.To),
		Source: d.Source, OnDuty: onDuty, Editable: editable}
}

func (s *Server) onCallNow() time.Time {
	if n := s.d.OnCall.Now; n != nil {
		return n()
	}
	return time.Now()
}

func (s *Server) getOnCall(w http.ResponseWriter, r *http.Request) int {
	if err := params(r.URL.Query(), nil, nil); err != nil {
		return writeBad(w, err)
	}
	sc := s.rosterScope(r)
	ro := s.d.OnCall.Roster.Roster()
	at := s.onCallNow()
	duty := ro.Duty()
	v := OnCallView{At: ts(at), People: []OnCallPerson{}, Duty: []OnCallDutyView{},
		CanEdit: OnCallEditScope{All: sc.all, Estates: append([]string{}, sc.editEstates...), Contractor: sc.editContractor}}
	chs := s.d.OnCall.Roster.Channels()
	v.Channels = []OnCallChannel{}
	for _, n := range chs.Names() {
		v.Channels = append(v.Channels, OnCallChannel{Name: n, Address: chs[n]})
	}
	onDuty := map[string]bool{}
	for _, d := range duty {
		if sc.seesDuty(d) {
			dv := dutyView(d, ro.OnDuty(d, at), sc.editsDuty(d))
			onDuty[d.Person] = onDuty[d.Person] || dv.OnDuty
			v.Duty = append(v.Duty, dv)
		}
	}
	for _, p := range ro.People() {
		if sc.seesPerson(p, duty) {
			if p.Contacts == nil {
				p.Contacts = []oncall.Contact{}
			}
			v.People = append(v.People, OnCallPerson{Person: p, OnDuty: onDuty[p.ID], Editable: sc.editsPerson(p, duty)})
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

// onCallError answers a refused or failed roster change.
func (s *Server) onCallError(w http.ResponseWriter, err error) int {
	var inv *oncall.InvalidError
	switch {
	case errors.As(err, &inv):
		p := inv.Problems[0]
		return writeBad(w, badField(p.Field, "%s", inv.Error()))
	case errors.Is(err, oncall.ErrNotFound):
		return writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, oncall.ErrInUse):
		return writeError(w, http.StatusConflict, err.Error())
	}
	s.d.Logger.Error("roster change", "err", err)
	return writeError(w, http.StatusInternalServerError, "saving the roster change failed")
}

func forbidden(w http.ResponseWriter, msg string) int {
	return writeCoded(w, http.StatusForbidden, "forbidden", msg)
}

type personBody struct {
	Name       string           `json:"name"`
	Role       string           `json:"role"`
	User       string           `json:"user"`
	Phone      string           `json:"phone"`
	Lang       string           `json:"lang"`
	Contractor string           `json:"contractor"`
	Estate     string           `json:"estate"`
	Contacts   []oncall.Contact `json:"contacts"`
}

// putOnCallPerson adds or replaces the person of the path's id: 201 when
// added, 200 when replaced. The caller must be able to edit both the
// person as it was and as it will be.
func (s *Server) putOnCallPerson(w http.ResponseWriter, r *http.Request) int {
	var b personBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	p := oncall.Person{ID: r.PathValue("id"), Name: b.Name, Role: b.Role, User: b.User, Phone: b.Phone, Lang: b.Lang,
		Contractor: b.Contractor, Estate: b.Estate, Contacts: b.Contacts}
	if probs := oncall.CheckPerson(p, nil); len(probs) > 0 {
		return writeBad(w, badField(probs[0].Field, "%s", (&oncall.InvalidError{Problems: probs}).Error()))
	}
	sc := s.rosterScope(r)
	ro := s.d.OnCall.Roster.Roster()
	old, exists := ro.Person(p.ID)
	if exists && !sc.seesPerson(old, ro.Duty()) {
		return hidden(w, r) // out of scope answers as unknown does
	}
	if exists && !sc.editsPerson(old, ro.Duty()) {
		return forbidden(w, "person "+p.ID+" is not one you may edit")
	}
	if !exists && !sc.editsPerson(p, ro.Duty()) && !sc.seesPerson(p, ro.Duty()) {
		// A new person of an estate or company the caller cannot see:
		// refused as one that does not exist is.
		field := "estate"
		if p.Estate == "" && p.Contractor != "" {
			field = "contractor"
		}
		if p.Estate != "" || p.Contractor != "" {
			return writeBad(w, badField(field, "no such %s among those you may act on", field))
		}
	}
	// Acknowledging from a page's link acts as the person's account: only
	// an admin names any account; anyone else their own, or keeps the one
	// the person has.
	if self := s.actor(r).Name; !sc.all && p.User != "" && p.User != self && !(exists && p.User == old.User) {
		return writeCoded(w, http.StatusForbidden, "forbidden", "user: you may link a person only to your own account ("+self+"); an admin links others")
	}
	if !sc.editsPerson(p, ro.Duty()) {
		return forbidden(w, "you may edit only your estates' managers (set estate) or your company's technicians and supervisors (set contractor)")
	}
	created, err := s.d.OnCall.Roster.PutPerson(r.Context(), p)
	if err != nil {
		return s.onCallError(w, err)
	}
	p, _ = s.d.OnCall.Roster.Roster().Person(p.ID)
	return writeJSON(w, map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created], p)
}

func (s *Server) deleteOnCallPerson(w http.ResponseWriter, r *http.Request) int {
	id := r.PathValue("id")
	ro := s.d.OnCall.Roster.Roster()
	p, ok := ro.Person(id)
	sc := s.rosterScope(r)
	if !ok || !sc.seesPerson(p, ro.Duty()) {
		return hidden(w, r) // unknown, or out of scope: the same answer
	}
	if !sc.editsPerson(p, ro.Duty()) {
		return forbidden(w, "person "+id+" is not one you may edit")
	}
	if err := s.d.OnCall.Roster.DeletePerson(r.Context(), id); err != nil {
		return s.onCallError(w, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

type dutyBody struct {
	Person      string   `json:"person"`
	Contractor  string   `json:"contractor"`
	Estate      string   `json:"estate"`
	Subdistrict bool     `json:"subdistrict"`
	Days        []string `json:"days"`
	Date        string   `json:"date"`
	Off         bool     `json:"off"`
	From        string   `json:"from"`
	To          string   `json:"to"`
}

// duty reads a duty entry from the body: its target first (400 if it has
// not exactly one), then the caller's right to edit it (403), then the rest.
func (s *Server) dutyFromBody(w http.ResponseWriter, r *http.Request, id int64) (oncall.Duty, int) {
	var b dutyBody
	if code := decodeBody(w, r, &b); code != 0 {
		return oncall.Duty{}, code
	}
	d := oncall.Duty{ID: id, Person: b.Person, Contractor: b.Contractor, Estate: b.Estate, Subdistrict: b.Subdistrict, Off: b.Off}
	n := 0
	for _, set := range []bool{d.Contractor != "", d.Estate != "", d.Subdistrict} {
		if set {
			n++
		}
	}
	if n != 1 {
		return d, writeBad(w, badField("estate", "a duty entry covers exactly one of contractor, estate or subdistrict: true"))
	}
	if sc := s.rosterScope(r); !sc.editsDuty(d) {
		if !sc.seesDuty(d) && !d.Subdistrict {
			// An estate or company out of the caller's scope is refused
			// as one that does not exist is.
			field := map[bool]string{true: "estate", false: "contractor"}[d.Estate != ""]
			return d, writeBad(w, badField(field, "no such %s among those you may act on", field))
		}
		return d, forbidden(w, "this "+strings.Fields(d.Target())[0]+"'s roster is not one you may edit")
	}
	if err := text("person", b.Person, true, 64); err != nil {
		return d, writeBad(w, err)
	}
	if _, err := oncall.ParseClock(b.From, false); err != nil {
		return d, writeBad(w, badField("from", "from: %v", err))
	}
	if _, err := oncall.ParseClock(b.To, true); err != nil {
		return d, writeBad(w, badField("to", "to: %v", err))
	}
	wdw, err := oncall.ParseWindow(b.Days, b.From, b.To)
	if err != nil {
		return d, writeBad(w, badField("days", "%v", err))
	}
	if b.Date != "" {
		if err := oncall.ParseDate(b.Date); err != nil {
			return d, writeBad(w, badField("date", "%v", err))
		}
	}
	wdw.Date = b.Date
	d.Window = wdw
	return d, 0
}

func (s *Server) postOnCallDuty(w http.ResponseWriter, r *http.Request) int {
	d, code := s.dutyFromBody(w, r, 0)
	if code != 0 {
		return code
	}
	if err := s.d.OnCall.Roster.AddDuty(r.Context(), &d); err != nil {
		return s.onCallError(w, err)
	}
	return writeJSON(w, http.StatusCreated, dutyView(d, s.d.OnCall.Roster.Roster().OnDuty(d, s.onCallNow()), true))
}

// dutyInPath is the existing entry of the path's id the caller may edit;
// non-zero: answered.
func (s *Server) dutyInPath(w http.ResponseWriter, r *http.Request) (oncall.Duty, int) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return oncall.Duty{}, writeBad(w, badField("id", "duty entry id must be a positive integer, not %q", r.PathValue("id")))
	}
	for _, d := range s.d.OnCall.Roster.Roster().Duty() {
		if d.ID == id {
			sc := s.rosterScope(r)
			if !sc.seesDuty(d) {
				return d, hidden(w, r) // out of scope answers as unknown does
			}
			if !sc.editsDuty(d) {
				return d, forbidden(w, "duty entry "+strconv.FormatInt(id, 10)+" is not one you may edit")
			}
			return d, 0
		}
	}
	if !s.rosterScope(r).all {
		return oncall.Duty{}, hidden(w, r)
	}
	return oncall.Duty{}, writeError(w, http.StatusNotFound, "no duty entry "+strconv.FormatInt(id, 10))
}

func (s *Server) putOnCallDuty(w http.ResponseWriter, r *http.Request) int {
	old, code := s.dutyInPath(w, r)
	if code != 0 {
		return code
	}
	d, code := s.dutyFromBody(w, r, old.ID)
	if code != 0 {
		return code
	}
	if err := s.d.OnCall.Roster.PutDuty(r.Context(), d); err != nil {
		return s.onCallError(w, err)
	}
	d.Source = old.Source
	return writeJSON(w, http.StatusOK, dutyView(d, s.d.OnCall.Roster.Roster().OnDuty(d, s.onCallNow()), true))
}

func (s *Server) deleteOnCallDuty(w http.ResponseWriter, r *http.Request) int {
	d, code := s.dutyInPath(w, r)
	if code != 0 {
		return code
	}
	if err := s.d.OnCall.Roster.DeleteDuty(r.Context(), d.ID); err != nil {
		return s.onCallError(w, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}
