package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/liftwatch/liftwatch/identity"
)

// Guard says who may call a route (docs/identity.md). A Public route needs
// no sign-in (health, metrics, login, the pages' assets). Any other needs a
// signed-in actor whose role permits Action; when Object is set, the object
// it finds in the request (a lift, an alert's lift, a work order's lift, an
// estate) must be in the actor's scope too. A list route has no Object: it
// filters its items with Server.visible, so nobody sees a row out of scope.
type Guard struct {
	Public bool
	// SignedIn: any signed-in actor, whatever their role (the session, me).
	SignedIn bool
	Action   identity.Action
	// Object finds the object the request acts on. An error is answered
	// as it is (a *guardError: 400 or 404; anything else 500).
	Object func(r *http.Request) (identity.Object, error)
}

// public is the guard of the routes anyone may call.
var public = Guard{Public: true}

// Route is one registered route and its guard: the role × route matrix test
// and the OpenAPI consistency test walk them.
type Route struct {
	Pattern string
	Guard   Guard
}

// Routes lists every registered route, in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Authorizer decides whether an actor may act on an object (identity.Authorizer).
type Authorizer interface {
	Authorize(ctx context.Context, a identity.Actor, act identity.Action, obj identity.Object) (identity.Decision, error)
}

// AuthDeps turn the guards on. Without them (unit tests of handlers) every
// route is open and the actor is identity.System("api").
type AuthDeps struct {
	Authorizer Authorizer
	// Accounts serves the session, me and audit routes (nil: left out).
	Accounts Accounts
	// Users serves the user administration routes (nil: left out).
	Users UserAdmin
	// Watch ends streams whose credential ends (nil: streams end only
	// when the client goes).
	Watch CredentialWatch
}

// actor is the signed-in actor of the request (the guard has made sure there
// is one on every non-public route).
func (s *Server) actor(r *http.Request) identity.Actor {
	if a, ok := identity.ActorFrom(r.Context()); ok {
		return a
	}
	return identity.System("api")
}

// visible says whether the request's actor may do act on obj: list handlers
// keep only the items for which it is true. A failing lookup hides the item
// and is logged.
func (s *Server) visible(r *http.Request, act identity.Action, obj identity.Object) bool {
	if s.d.Auth == nil {
		return true
	}
	a, ok := identity.ActorFrom(r.Context())
	if !ok {
		return false
	}
	d, err := s.d.Auth.Authorizer.Authorize(r.Context(), a, act, obj)
	if err != nil {
		s.d.Logger.Error("authorize list item", "action", act, "object", obj.String(), "err", err)
		return false
	}
	return d.Allow
}

// check enforces g on r; a non-zero status means it answered.
func (s *Server) check(w http.ResponseWriter, r *http.Request, g Guard) int {
	if g.Public || s.d.Auth == nil {
		return 0
	}
	a, ok := identity.ActorFrom(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="liftwatch"`)
		return writeCoded(w, http.StatusUnauthorized, "unauthorized", "log in, or send an API token as Authorization: Bearer <token>")
	}
	if g.SignedIn {
		return 0
	}
	if !identity.Permits(a.Role, g.Action) {
		return writeCoded(w, http.StatusForbidden, "forbidden", "role "+string(a.Role)+" may not "+string(g.Action))
	}
	if g.Object == nil {
		return 0
	}
	obj, err := g.Object(r)
	if err == nil && a.Role == identity.RoleAdmin {
		// An admin may act on anything: an object that does not exist is
		// the handler's 404, not the authoriser's denial.
		return 0
	}
	if err != nil {
		var ge *guardError
		if errors.As(err, &ge) && ge.status == http.StatusNotFound && a.Role != identity.RoleAdmin {
			return hidden(w, r)
		}
		if errors.As(err, &ge) {
			return writeJSON(w, ge.status, apiError{Error: ErrorBody{Code: ge.code, Message: ge.msg, Field: ge.field}})
		}
		s.d.Logger.Error("find object", "err", err)
		return writeCoded(w, http.StatusInternalServerError, "internal", "cannot check access now")
	}
	d, err := s.d.Auth.Authorizer.Authorize(r.Context(), a, g.Action, obj)
	if err != nil {
		s.d.Logger.Error("authorize", "action", g.Action, "object", obj.String(), "err", err)
		return writeCoded(w, http.StatusInternalServerError, "internal", "cannot check access now")
	}
	if !d.Allow && d.OutOfScope {
		// Out of scope answers exactly as unknown does: neither whose it
		// is nor whether it exists leaves the actor's scope.
		return hidden(w, r)
	}
	if !d.Allow {
		return writeCoded(w, http.StatusForbidden, "forbidden", d.Reason)
	}
	return 0
}

// hidden answers a request about an object the actor may not see, or that
// does not exist, the same way for both: 404, one message naming only the
// path the caller sent. (An admin, who may see everything, gets the
// finder's own message.)
func hidden(w http.ResponseWriter, r *http.Request) int {
	return writeCoded(w, http.StatusNotFound, "not_found", "nothing at "+r.URL.Path+" that you may see")
}

// guardError is an error a guard's Object finder answers as it is.
type guardError struct {
	status           int
	code, msg, field string
}

func (e *guardError) Error() string { return e.msg }

// notFound is the error of an Object finder whose object does not exist.
func notFound(msg string) error {
	return &guardError{status: http.StatusNotFound, code: "not_found", msg: msg}
}

// require checks, inside a handler, that the actor may do act on obj (an
// object the guard could not see, such as one named in the body): 0 if so,
// else it has answered 403 (or 500 if the lookup failed).
func (s *Server) require(w http.ResponseWriter, r *http.Request, act identity.Action, obj identity.Object) int {
	if s.d.Auth == nil {
		return 0
	}
	a, ok := identity.ActorFrom(r.Context())
	if !ok {
		return writeCoded(w, http.StatusUnauthorized, "unauthorized", "log in, or send an API token as Authorization: Bearer <token>")
	}
	d, err := s.d.Auth.Authorizer.Authorize(r.Context(), a, act, obj)
	if err != nil {
		s.d.Logger.Error("authorize", "action", act, "object", obj.String(), "err", err)
		return writeCoded(w, http.StatusInternalServerError, "internal", "cannot check access now")
	}
	if !d.Allow {
		return writeCoded(w, http.StatusForbidden, "forbidden", d.Reason)
	}
	return 0
}

// decide is the authoriser's decision on act and obj for the request's
// actor; ok is false without authorisation (handler tests) or on a lookup
// failure (which require then answers).
func (s *Server) decide(r *http.Request, act identity.Action, obj identity.Object) (identity.Decision, bool) {
	if s.d.Auth == nil {
		return identity.Decision{}, false
	}
	a, ok := identity.ActorFrom(r.Context())
	if !ok {
		return identity.Decision{}, false
	}
	d, err := s.d.Auth.Authorizer.Authorize(r.Context(), a, act, obj)
	return d, err == nil
}

// liftFilter is a per-request memo of which lifts the actor may do act on,
// for streams that test every event.
func (s *Server) liftFilter(r *http.Request, act identity.Action) func(lift string) bool {
	if s.d.Auth == nil {
		return func(string) bool { return true }
	}
	if a, ok := identity.ActorFrom(r.Context()); ok && a.Role == identity.RoleAdmin {
		return func(string) bool { return true }
	}
	memo := map[string]bool{}
	return func(lift string) bool {
		v, ok := memo[lift]
		if !ok {
			v = s.visible(r, act, identity.Object{Lift: lift})
			memo[lift] = v
		}
		return v
	}
}

// liftInPath is the Object finder of routes under /lifts/{id}: a lift not
// in the register is a 404 for everyone.
func (s *Server) liftInPath(r *http.Request) (identity.Object, error) {
	id := r.PathValue("id")
	if _, ok := s.d.Lifts.Get(id); !ok {
		return identity.Object{}, notFound("no lift " + strconv.Quote(id))
	}
	return identity.Object{Lift: id}, nil
}

// writeCoded answers status with the error envelope and an explicit code.
func writeCoded(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, apiError{Error: ErrorBody{Code: code, Message: msg}})
}

// LiftInQuery is the Object finder of routes that name their lift in the
// query parameter param (the demo's trigger).
func LiftInQuery(param string) func(r *http.Request) (identity.Object, error) {
	return func(r *http.Request) (identity.Object, error) {
		return identity.Object{Lift: r.URL.Query().Get(param)}, nil
	}
}
