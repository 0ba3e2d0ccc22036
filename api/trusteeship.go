package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// TrusteeshipReader reads who managed a lift and under which contract:
// on a day, and the whole history with its audit trail.
type TrusteeshipReader interface {
	ManagerOn(ctx context.Context, lift string, d civil.Date) (*trusteeship.Manager, error)
	ContractOn(ctx context.Context, lift string, d civil.Date) (*trusteeship.Contract, error)
	Managers(ctx context.Context, lift string) ([]trusteeship.Manager, error)
	Contracts(ctx context.Context, lift string) ([]trusteeship.Contract, error)
	Audit(ctx context.Context, lift string) ([]trusteeship.AuditRecord, error)
}

// TrusteeshipWriter changes a lift's manager and contracts (audited).
type TrusteeshipWriter interface {
	SetManager(ctx context.Context, actor trusteeship.Actor, m *trusteeship.Manager) error
	AddContract(ctx context.Context, actor trusteeship.Actor, c *trusteeship.Contract) error
	ReviseContract(ctx context.Context, actor trusteeship.Actor, c *trusteeship.Contract) error
}

// TrusteeshipDeps wire the trusteeship routes; nil leaves them out.
type TrusteeshipDeps struct {
	Read  TrusteeshipReader
	Write TrusteeshipWriter
	Now   func() time.Time
}

// TrusteeshipHistory is the repository's history reads
// (store.Trusteeship).
type TrusteeshipHistory interface {
	Managers(ctx context.Context, lift string) ([]trusteeship.Manager, error)
	Contracts(ctx context.Context, lift string) ([]trusteeship.Contract, error)
	Audit(ctx context.Context, lift string) ([]trusteeship.AuditRecord, error)
}

// NewTrusteeshipDeps builds the trusteeship routes' dependencies from the
// domain service and its repository; now is the service's clock.
func NewTrusteeshipDeps(svc *trusteeship.Service, hist TrusteeshipHistory, now func() time.Time) *TrusteeshipDeps {
	return &TrusteeshipDeps{Read: trusteeReader{svc, hist}, Write: svc, Now: now}
}

type trusteeReader struct {
	*trusteeship.Service
	TrusteeshipHistory
}

func (s *Server) trusteeshipRoutes() {
	s.handle("GET /api/v1/lifts/{id}/trusteeship", Guard{Action: identity.ReadLift, Object: s.registeredLift}, s.getTrusteeship)
	s.handle("POST /api/v1/lifts/{id}/manager", Guard{Action: identity.Admin, Object: s.registeredLift}, s.setManager)
	s.handle("POST /api/v1/lifts/{id}/contracts", Guard{Action: identity.Admin, Object: s.registeredLift}, s.postContract)
}

// trusteeActor is the request's actor as the trusteeship audit records it.
func (s *Server) trusteeActor(r *http.Request) trusteeship.Actor {
	return trusteeship.Actor(s.actor(r).Name)
}

func (s *Server) today() civil.Date { return civil.Of(s.now()) }

// liftOr404 answers 404 for a lift not in the register.
func (s *Server) liftOr404(w http.ResponseWriter, r *http.Request) (string, int) {
	id := r.PathValue("id")
	if _, ok := s.d.Lifts.Get(id); !ok {
		return "", writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(id))
	}
	return id, 0
}

// getTrusteeship: ?on=YYYY-MM-DD (default today): the manager and contract
// on that day, and the lift's whole history and audit trail.
func (s *Server) getTrusteeship(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	q := r.URL.Query()
	if err := params(q, nil, []string{"on"}); err != nil {
		return writeBad(w, err)
	}
	on, err := dateParam(q, "on")
	if err != nil {
		return writeBad(w, err)
	}
	if on.IsZero() {
		on = s.today()
	}
	ctx, rd := r.Context(), s.d.Trusteeship.Read
	v := TrusteeshipView{Lift: lift, On: on.String(), Managers: []ManagerView{}, Contracts: []ContractView{}, Audit: []TrusteeAuditView{}}
	m, err := rd.ManagerOn(ctx, lift, on)
	if err == nil && m != nil {
		mv := managerView(m)
		v.Manager = &mv
	}
	var c *trusteeship.Contract
	if err == nil {
		c, err = rd.ContractOn(ctx, lift, on)
	}
	if err == nil && c != nil {
		cv := contractView(c)
		v.Contract = &cv
	}
	var ms []trusteeship.Manager
	var cs []trusteeship.Contract
	var as []trusteeship.AuditRecord
	if err == nil {
		ms, err = rd.Managers(ctx, lift)
	}
	if err == nil {
		cs, err = rd.Contracts(ctx, lift)
	}
	if err == nil {
		as, err = rd.Audit(ctx, lift)
	}
	if err != nil {
		s.d.Logger.Error("trusteeship", "lift", lift, "err", err)
		return writeError(w, http.StatusInternalServerError, "reading the trusteeship failed")
	}
	for i := range ms {
		v.Managers = append(v.Managers, managerView(&ms[i]))
	}
	for i := range cs {
		v.Contracts = append(v.Contracts, contractView(&cs[i]))
	}
	for i := range as {
		v.Audit = append(v.Audit, trusteeAuditView(&as[i]))
	}
	return writeJSON(w, http.StatusOK, v)
}

type managerBody struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// bodyDate reads a YYYY-MM-DD body field.
func bodyDate(field, v string, required bool) (civil.Date, error) {
	if v == "" {
		if required {
			return civil.Date{}, badField(field, "%s is required (a date YYYY-MM-DD)", field)
		}
		return civil.Date{}, nil
	}
	d, err := civil.Parse(v)
	if err != nil {
		return d, badField(field, "%s must be a date YYYY-MM-DD, not %q", field, v)
	}
	return d, nil
}

// trusteeError answers a refused change: overlap 409, unknown contract
// 404, invalid 400 naming field.
func (s *Server) trusteeError(w http.ResponseWriter, err error, field string) int {
	switch {
	case errors.Is(err, trusteeship.ErrOverlap):
		return writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, trusteeship.ErrNotFound):
		return writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, trusteeship.ErrInvalid):
		return writeBad(w, badField(field, "%s", invalidMsg(err)))
	}
	s.d.Logger.Error("trusteeship change", "err", err)
	return writeError(w, http.StatusInternalServerError, "saving the change failed")
}

// setManager: {kind, name, contact, from, to?}: the lift's managing party
// from the day from (an open-ended current period is closed on it).
func (s *Server) setManager(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	var b managerBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	m := &trusteeship.Manager{Lift: lift, Kind: trusteeship.ManagerKind(b.Kind), Name: strings.TrimSpace(b.Name), Contact: b.Contact}
	err := func() (err error) {
		switch m.Kind {
		case trusteeship.PropertyCompany, trusteeship.Insurer, trusteeship.Resident:
		default:
			return badField("kind", "kind must be property_company, insurer or resident, not %q", b.Kind)
		}
		if err := text("name", b.Name, true, 256); err != nil {
			return err
		}
		if err := text("contact", b.Contact, false, 256); err != nil {
			return err
		}
		if m.From, err = bodyDate("from", b.From, true); err != nil {
			return err
		}
		if m.To, err = bodyDate("to", b.To, false); err != nil {
			return err
		}
		if !m.To.IsZero() && !m.From.Before(m.To) {
			return badField("to", "to %s must be after from %s", m.To, m.From)
		}
		return nil
	}()
	if err != nil {
		return writeBad(w, err)
	}
	if err := s.d.Trusteeship.Write.SetManager(r.Context(), s.trusteeActor(r), m); err != nil {
		return s.trusteeError(w, err, "from")
	}
	return writeJSON(w, http.StatusCreated, managerView(m))
}

type contractBody struct {
	ID           int64  `json:"id"`
	Contractor   string `json:"contractor"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Mode         string `json:"mode"`
	PriceFen     int64  `json:"price_fen"`
	GoodStanding bool   `json:"good_standing"`
	Insured      bool   `json:"insured"`
}

// postContract: {id?, contractor, start, end, mode, price_fen,
// good_standing, insured}. Without id it adds a contract (201); with the
// id of one of the lift's contracts it revises it (200): early end,
// extension, standing, insurance, price.
func (s *Server) postContract(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	var b contractBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	c := &trusteeship.Contract{ID: b.ID, Lift: lift, Contractor: strings.TrimSpace(b.Contractor), Mode: trusteeship.Mode(b.Mode),
		PriceFen: b.PriceFen, GoodStanding: b.GoodStanding, Insured: b.Insured}
	err := func() (err error) {
		if b.ID < 0 {
			return badField("id", "id must be a contract id of this lift, or left out to add one")
		}
		if err := text("contractor", b.Contractor, true, 256); err != nil {
			return err
		}
		if c.Start, err = bodyDate("start", b.Start, true); err != nil {
			return err
		}
		if c.End, err = bodyDate("end", b.End, true); err != nil {
			return err
		}
		switch {
		case c.End.Before(c.Start):
			return badField("end", "end %s is before start %s", c.End, c.Start)
		case c.Mode != trusteeship.Periodic && c.Mode != trusteeship.OnDemand:
			return badField("mode", "mode must be periodic or on_demand, not %q", b.Mode)
		case c.PriceFen < 0 || c.PriceFen > maxCostFen:
			return badField("price_fen", "price_fen must be 0..%d fen, not %d", maxCostFen, c.PriceFen)
		case c.Mode == trusteeship.OnDemand && !c.QualifiesForOnDemand():
			return badField("mode", "on_demand needs good_standing and insured")
		}
		return nil
	}()
	if err != nil {
		return writeBad(w, err)
	}
	ctx, actor := r.Context(), s.trusteeActor(r)
	if b.ID == 0 {
		if err := s.d.Trusteeship.Write.AddContract(ctx, actor, c); err != nil {
			return s.trusteeError(w, err, "start")
		}
		return writeJSON(w, http.StatusCreated, contractView(c))
	}
	// A revision names a contract of this lift: another lift's id is
	// unknown here, not a way to change that lift.
	cs, err := s.d.Trusteeship.Read.Contracts(ctx, lift)
	if err != nil {
		return s.trusteeError(w, err, "")
	}
	found := false
	for _, x := range cs {
		found = found || x.ID == b.ID
	}
	if !found {
		return writeError(w, http.StatusNotFound, "lift "+lift+" has no contract "+strconv.FormatInt(b.ID, 10))
	}
	if err := s.d.Trusteeship.Write.ReviseContract(ctx, actor, c); err != nil {
		return s.trusteeError(w, err, "end")
	}
	return writeJSON(w, http.StatusOK, contractView(c))
}

// TrusteeshipView is a lift's manager and contract on a day, and its
// history.
type TrusteeshipView struct {
	Lift      string             `json:"lift"`
	On        string             `json:"on"`
	Manager   *ManagerView       `json:"manager"`  // null: nobody managed it that day
	Contract  *ContractView      `json:"contract"` // null: no contract that day
	Managers  []ManagerView      `json:"managers"`
	Contracts []ContractView     `json:"contracts"`
	Audit     []TrusteeAuditView `json:"audit"`
}

// ManagerView is one period of a lift's managing party; to is the first
// day it no longer applies (absent: open-ended).
type ManagerView struct {
	ID      int64  `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
	From    string `json:"from"`
	To      string `json:"to,omitempty"`
}

func managerView(m *trusteeship.Manager) ManagerView {
	return ManagerView{ID: m.ID, Kind: string(m.Kind), Name: m.Name, Contact: m.Contact, From: m.From.String(), To: m.To.String()}
}

// ContractView is a maintenance contract; start and end are both days of
// cover.
type ContractView struct {
	ID           int64  `json:"id"`
	Contractor   string `json:"contractor"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Mode         string `json:"mode"`
	PriceFen     int64  `json:"price_fen"`
	GoodStanding bool   `json:"good_standing"`
	Insured      bool   `json:"insured"`
}

func contractView(c *trusteeship.Contract) ContractView {
	return ContractView{ID: c.ID, Contractor: c.Contractor, Start: c.Start.String(), End: c.End.String(), Mode: string(c.Mode),
		PriceFen: c.PriceFen, GoodStanding: c.GoodStanding, Insured: c.Insured}
}

// TrusteeAuditView is one audited change; before and after are the
// record's JSON (before null for a creation).
type TrusteeAuditView struct {
	ID      int64           `json:"id"`
	At      string          `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Before  json.RawMessage `json:"before"`
	After   json.RawMessage `json:"after"`
}

func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

func trusteeAuditView(a *trusteeship.AuditRecord) TrusteeAuditView {
	return TrusteeAuditView{ID: a.ID, At: ts(a.At), Actor: string(a.Actor), Action: a.Action, Subject: a.Subject,
		Before: rawJSON(a.Before), After: rawJSON(a.After)}
}
