package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/liftwatch/liftwatch/identity"
)

// UserAdmin is what the user administration routes ask of the identity
// service (*identity.Service). The actor is always the signed-in one,
// never one named in the body.
type UserAdmin interface {
	Users(ctx context.Context, by identity.Actor) ([]identity.User, error)
	User(ctx context.Context, by identity.Actor, id int64) (*identity.User, error)
	CreateUser(ctx context.Context, by identity.Actor, nu identity.NewUser, remote string) (*identity.User, error)
	UpdateUser(ctx context.Context, by identity.Actor, id int64, c identity.UserChange, remote string) (*identity.User, error)
	SetPassword(ctx context.Context, by identity.Actor, userID int64, pw, remote string) error
	Tokens(ctx context.Context, by identity.Actor, userID int64) ([]identity.Token, error)
	RevokeToken(ctx context.Context, by identity.Actor, userID, id int64, remote string) error
}

// CredentialWatch ends a stream when the credential it was opened with
// ends (identity.Service.Watch): logout, revocation, a password change,
// a disabled account, a new role or scope.
type CredentialWatch interface {
	Watch(ctx context.Context, a identity.Actor) (context.Context, context.CancelFunc)
}

// streamContext is the context a stream serves under: the request's,
// ended too when the actor's credential ends.
func (s *Server) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	a, ok := identity.ActorFrom(r.Context())
	if s.d.Auth == nil || s.d.Auth.Watch == nil || !ok {
		return context.WithCancel(r.Context())
	}
	return s.d.Auth.Watch.Watch(r.Context(), a)
}

// streamEnded tells the client that its credential has ended, before the
// stream closes: the page reloads (and meets the login).
const streamEnded = "event: ended\ndata: {\"code\":\"unauthorized\",\"reason\":\"the session or token of this stream has ended\"}\n\n"

func (s *Server) userRoutes() {
	s.handle("GET /api/v1/users", Guard{Action: identity.ReadUsers}, s.listUsers)
	s.handle("POST /api/v1/users", Guard{Action: identity.Admin}, s.createUser)
	s.handle("GET /api/v1/users/{id}", Guard{Action: identity.ReadUsers}, s.getUser)
	s.handle("PATCH /api/v1/users/{id}", Guard{Action: identity.Admin}, s.patchUser)
	s.handle("POST /api/v1/users/{id}/password", Guard{Action: identity.Admin}, s.resetPassword)
	s.handle("GET /api/v1/users/{id}/tokens", Guard{SignedIn: true}, s.listTokens)
	s.handle("DELETE /api/v1/users/{id}/tokens/{token}", Guard{SignedIn: true}, s.revokeToken)
}

// AccountView is an account as the administration sees it (never its
// password hash).
type AccountView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Scope     ScopeView `json:"scope"`
	Disabled  bool      `json:"disabled"`
	CreatedAt string    `json:"created_at"`
}

func accountView(u *identity.User) AccountView {
	v := userView(u.Actor(identity.ViaSession))
	return AccountView{ID: u.ID, Name: u.Name, Role: v.Role, Scope: v.Scope, Disabled: u.Disabled, CreatedAt: ts(u.CreatedAt)}
}

// NewAccountView answers a new account or a password reset: the
// generated password, shown this once.
type NewAccountView struct {
	User     *AccountView `json:"user,omitempty"`
	Password string       `json:"password"`
}

// TokenView is an API token in a listing: never the token itself.
type TokenView struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	CreatedAt string  `json:"created_at"`
	LastUsed  *string `json:"last_used"`
	ExpiresAt *string `json:"expires_at"`
	RevokedAt *string `json:"revoked_at"`
	State     string  `json:"state"` // active, expired or revoked
}

func optTS(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// userID reads the {id} path value; a non-number is a 404 like an unknown id.
func userID(w http.ResponseWriter, r *http.Request) (int64, int) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, hidden(w, r)
	}
	return id, 0
}

// userError answers an error of the identity service: a field at fault is
// a 400 naming it, an account (or token) the actor may not see or act on a
// 404 like an unknown one (it does not tell which ids exist).
func (s *Server) userError(w http.ResponseWriter, r *http.Request, what string, err error) int {
	var fe *identity.FieldError
	var forbidden *identity.ForbiddenError
	switch {
	case errors.As(err, &fe):
		return writeBad(w, badField(fe.Field, "%s", fe.Msg))
	case errors.Is(err, identity.ErrNotFound), errors.As(err, &forbidden):
		return hidden(w, r)
	}
	s.d.Logger.Error(what, "err", err)
	return writeError(w, http.StatusInternalServerError, "cannot change accounts now")
}

// listUsers: the accounts the actor may see (an admin all, a manager those
// of their estates), by id, paged with ?limit= and ?cursor=.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) int {
	if err := params(r.URL.Query(), nil, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	after, err := p.int64Cursor()
	if err != nil {
		return writeBad(w, err)
	}
	us, err := s.d.Auth.Users.Users(r.Context(), s.actor(r))
	if err != nil {
		return s.userError(w, r, "users", err)
	}
	out := []AccountView{}
	next := ""
	for i := range us {
		if us[i].ID <= after {
			continue
		}
		if len(out) == p.limit {
			next = strconv.FormatInt(out[len(out)-1].ID, 10)
			break
		}
		out = append(out, accountView(&us[i]))
	}
	return writePage(w, r, out, next)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) int {
	id, code := userID(w, r)
	if code != 0 {
		return code
	}
	u, err := s.d.Auth.Users.User(r.Context(), s.actor(r), id)
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	return writeJSON(w, http.StatusOK, accountView(u))
}

type newUserBody struct {
	Name  string    `json:"name"`
	Role  string    `json:"role"`
	Scope ScopeView `json:"scope"`
}

func scopeOf(v ScopeView) identity.Scope {
	return identity.Scope{Estates: v.Estates, Company: v.Company, Lift: v.Lift, Household: v.Household, Subdistrict: v.Subdistrict}
}

// createUser makes an account with a generated password, answered once.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) int {
	var b newUserBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	pw, err := identity.GeneratePassword()
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	u, err := s.d.Auth.Users.CreateUser(r.Context(), s.actor(r),
		identity.NewUser{Name: b.Name, Role: identity.Role(b.Role), Scope: scopeOf(b.Scope), Password: pw}, identity.RemoteHost(r))
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	v := accountView(u)
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(u.ID, 10))
	return writeJSON(w, http.StatusCreated, NewAccountView{User: &v, Password: pw})
}

type patchUserBody struct {
	Role     *string    `json:"role"`
	Scope    *ScopeView `json:"scope"`
	Disabled *bool      `json:"disabled"`
}

// patchUser changes an account's role, scope or whether it is disabled;
// either ends the account's sessions, tokens and streams.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) int {
	id, code := userID(w, r)
	if code != 0 {
		return code
	}
	var b patchUserBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	if b.Role == nil && b.Scope == nil && b.Disabled == nil {
		return writeBad(w, errors.New("body changes nothing: give role, scope or disabled"))
	}
	var c identity.UserChange
	if b.Role != nil {
		role := identity.Role(*b.Role)
		c.Role = &role
	}
	if b.Scope != nil {
		sc := scopeOf(*b.Scope)
		c.Scope = &sc
	}
	c.Disabled = b.Disabled
	u, err := s.d.Auth.Users.UpdateUser(r.Context(), s.actor(r), id, c, identity.RemoteHost(r))
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	return writeJSON(w, http.StatusOK, accountView(u))
}

// resetPassword gives an account a generated password, answered once, and
// ends its sessions, tokens and streams.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) int {
	id, code := userID(w, r)
	if code != 0 {
		return code
	}
	if r.ContentLength != 0 {
		var b struct{}
		if code := decodeBody(w, r, &b); code != 0 {
			return code
		}
	}
	pw, err := identity.GeneratePassword()
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	if err := s.d.Auth.Users.SetPassword(r.Context(), s.actor(r), id, pw, identity.RemoteHost(r)); err != nil {
		return s.userError(w, r, "user", err)
	}
	return writeJSON(w, http.StatusOK, NewAccountView{Password: pw})
}

// listTokens: an account's API tokens with their last use (the account
// itself, or an admin); newest first.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) int {
	id, code := userID(w, r)
	if code != 0 {
		return code
	}
	ts0, err := s.d.Auth.Users.Tokens(r.Context(), s.actor(r), id)
	if err != nil {
		return s.userError(w, r, "user", err)
	}
	now := s.now()
	out := make([]TokenView, 0, len(ts0))
	for i := len(ts0) - 1; i >= 0; i-- {
		t := ts0[i]
		st := "active"
		switch {
		case t.RevokedAt != nil:
			st = "revoked"
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			st = "expired"
		}
		out = append(out, TokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: ts(t.CreatedAt),
			LastUsed: optTS(t.LastUsed), ExpiresAt: optTS(t.ExpiresAt), RevokedAt: optTS(t.RevokedAt), State: st})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) int {
	id, code := userID(w, r)
	if code != 0 {
		return code
	}
	tok, err := strconv.ParseInt(r.PathValue("token"), 10, 64)
	if err != nil || tok <= 0 {
		return hidden(w, r)
	}
	if err := s.d.Auth.Users.RevokeToken(r.Context(), s.actor(r), id, tok, identity.RemoteHost(r)); err != nil {
		return s.userError(w, r, "token", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}
