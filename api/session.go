package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/liftwatch/liftwatch/identity"
)

// Accounts is what the session, me and audit routes ask of the identity
// service (*identity.Service).
type Accounts interface {
	Login(ctx context.Context, name, password, remote string) (*identity.LoginResult, error)
	Logout(ctx context.Context, raw, remote string) error
	AuditLog(ctx context.Context, by identity.Actor, f identity.AuditFilter) (identity.AuditPage, error)
	Unlock(ctx context.Context, by identity.Actor, name, remote string) error
	SessionCookie(raw string, expires time.Time) *http.Cookie
	ClearCookie() *http.Cookie
	CookieName() string
}

func (s *Server) identityRoutes() {
	s.handle("POST /api/v1/session", public, s.login)
	s.handle("DELETE /api/v1/session", Guard{SignedIn: true}, s.logout)
	s.handle("GET /api/v1/me", Guard{SignedIn: true}, s.me)
	s.handle("GET /api/v1/audit", Guard{Action: identity.Admin}, s.audit)
	s.handle("POST /api/v1/users/{name}/unlock", Guard{Action: identity.Admin}, s.unlock)
	if s.d.Auth.Users != nil {
		s.userRoutes()
	}
}

// unlock forgets the failed logins held against an account (admin): its
// owner can sign in from a new device at once; the attacker's addresses
// stay slowed.
func (s *Server) unlock(w http.ResponseWriter, r *http.Request) int {
	err := s.d.Auth.Accounts.Unlock(r.Context(), s.actor(r), r.PathValue("name"), identity.RemoteHost(r))
	var fe *identity.FieldError
	switch {
	case errors.As(err, &fe):
		return writeBad(w, badField(fe.Field, "%s", fe.Msg))
	case errors.Is(err, identity.ErrNotFound):
		return writeCoded(w, http.StatusNotFound, "not_found", "no account named "+r.PathValue("name"))
	case err != nil:
		s.d.Logger.Error("unlock", "err", err)
		return writeError(w, http.StatusInternalServerError, "cannot unlock now")
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// ScopeView is a user's scope: which fields are set depends on the role.
type ScopeView struct {
	Estates     []string `json:"estates,omitempty"`
	Company     string   `json:"company,omitempty"`
	Lift        string   `json:"lift,omitempty"`
	Household   string   `json:"household,omitempty"`
	Subdistrict string   `json:"subdistrict,omitempty"`
}

// UserView is the signed-in user.
type UserView struct {
	ID    int64     `json:"id"`
	Name  string    `json:"name"`
	Role  string    `json:"role"`
	Scope ScopeView `json:"scope"`
}

func userView(a identity.Actor) UserView {
	sc := a.Scope
	return UserView{ID: a.UserID, Name: a.Name, Role: string(a.Role),
		Scope: ScopeView{Estates: sc.Estates, Company: sc.Company, Lift: sc.Lift, Household: sc.Household, Subdistrict: sc.Subdistrict}}
}

// SessionView answers a login.
type SessionView struct {
	User      UserView `json:"user"`
	CSRFToken string   `json:"csrf_token"`
	ExpiresAt string   `json:"expires_at"`
}

// MeView is who is signed in, and the CSRF token for state changes (empty
// for an API token, which needs none).
type MeView struct {
	User      UserView `json:"user"`
	CSRFToken string   `json:"csrf_token"`
	Via       string   `json:"via"`
}

type loginBody struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// sameOrigin refuses a login posted from another site (login CSRF: a page
// elsewhere signing the victim in as the attacker). Browsers send Origin
// on every cross-site POST; a request without it (curl, a script) is not a
// browser's and passes.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) int {
	if !sameOrigin(r) {
		return writeCoded(w, http.StatusForbidden, "csrf", "login from another site ("+r.Header.Get("Origin")+") is refused")
	}
	var b loginBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	if b.Name == "" {
		return writeBad(w, badField("name", "name is required"))
	}
	if b.Password == "" {
		return writeBad(w, badField("password", "password is required"))
	}
	res, err := s.d.Auth.Accounts.Login(r.Context(), b.Name, b.Password, identity.RemoteHost(r))
	var rl *identity.RateLimitedError
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		return writeCoded(w, http.StatusTooManyRequests, "rate_limited", rl.Error())
	case errors.Is(err, identity.ErrInvalidCredentials):
		return writeCoded(w, http.StatusUnauthorized, "invalid_credentials", err.Error())
	case err != nil:
		s.d.Logger.Error("login", "err", err)
		return writeError(w, http.StatusInternalServerError, "cannot log in now")
	}
	http.SetCookie(w, s.d.Auth.Accounts.SessionCookie(res.RawID, res.ExpiresAt))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, SessionView{User: userView(res.Actor), CSRFToken: res.CSRF, ExpiresAt: ts(res.ExpiresAt)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) int {
	c, err := r.Cookie(s.d.Auth.Accounts.CookieName())
	if err != nil || s.actor(r).Via != identity.ViaSession {
		return writeBad(w, errors.New("this request is not signed in by a session cookie: there is no session to end (API tokens are revoked, not logged out)"))
	}
	err = s.d.Auth.Accounts.Logout(r.Context(), c.Value, identity.RemoteHost(r))
	if errors.Is(err, identity.ErrUnauthenticated) {
		return writeCoded(w, http.StatusUnauthorized, "unauthorized", "the session has ended already")
	}
	if err != nil {
		s.d.Logger.Error("logout", "err", err)
		return writeError(w, http.StatusInternalServerError, "cannot log out now")
	}
	http.SetCookie(w, s.d.Auth.Accounts.ClearCookie())
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) int {
	a := s.actor(r)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, MeView{User: userView(a), CSRFToken: identity.CSRFToken(r.Context()), Via: string(a.Via)})
}

// AuditView is one line of the audit log.
type AuditView struct {
	ID        int64  `json:"id"`
	At        string `json:"at"`
	ActorID   int64  `json:"actor_id"`
	ActorName string `json:"actor"`
	Role      string `json:"role"`
	Action    string `json:"action"`
	Object    string `json:"object"`
	Remote    string `json:"remote"`
	Outcome   string `json:"outcome"`
	Detail    string `json:"detail"`
}

// audit: ?actor=NAME&action=A&action=B&outcome=ok|denied|failed&remote=&since=&until=&limit=&cursor=,
// newest first; the cursor is the last line's id.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"action"}, []string{"actor", "outcome", "remote", "since", "until", "limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	f := identity.AuditFilter{ActorName: q.Get("actor"), Remote: q.Get("remote")}
	f.Actions, _ = values(q, "action", nil, "")
	var err error
	if o := q.Get("outcome"); o != "" {
		if o != identity.OutcomeOK && o != identity.OutcomeDenied && o != identity.OutcomeFailed {
			return writeBad(w, badField("outcome", "outcome must be ok, denied or failed, not %q", o))
		}
		f.Outcome = o
	}
	if f.Since, err = timeParam(q, "since"); err != nil {
		return writeBad(w, err)
	}
	if f.Until, err = timeParam(q, "until"); err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	if f.BeforeID, err = p.int64Cursor(); err != nil {
		return writeBad(w, err)
	}
	f.Limit = p.limit
	pg, err := s.d.Auth.Accounts.AuditLog(r.Context(), s.actor(r), f)
	if err != nil {
		s.d.Logger.Error("audit log", "err", err)
		return writeError(w, http.StatusInternalServerError, "reading the audit log failed")
	}
	out := make([]AuditView, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		out = append(out, AuditView{ID: e.ID, At: ts(e.At), ActorID: e.ActorID, ActorName: e.ActorName, Role: string(e.Role),
			Action: e.Action, Object: e.Object, Remote: e.Remote, Outcome: e.Outcome, Detail: e.Detail})
	}
	next := ""
	if pg.Next > 0 {
		next = strconv.FormatInt(pg.Next, 10)
	}
	return writePage(w, r, out, next)
}
