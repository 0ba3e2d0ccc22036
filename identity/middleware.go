package identity

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie names. Over TLS the session cookie takes the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain, so no subdomain or
// plain-HTTP page can plant or overwrite it.
const (
	CookieName       = "liftwatch_session"
	SecureCookieName = "__Host-liftwatch_session"
	CSRFHeader       = "X-CSRF-Token"
	CSRFFormField    = "csrf_token"
)

// CookieName is the session cookie's name under this configuration.
func (s *Service) CookieName() string {
	if s.cfg.SecureCookie {
		return SecureCookieName
	}
	return CookieName
}

// SessionCookie is the cookie that carries a session: HttpOnly (no script
// reads it), Secure over TLS, SameSite=Lax (sent on top-level navigation
// from a link in a notification, never on a cross-site POST or subrequest;
// CSRF tokens guard every state change anyway), Path=/, expiring with the
// session.
func (s *Service) SessionCookie(raw string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: s.CookieName(), Value: raw, Path: "/", Expires: expires,
		MaxAge: int(math.Ceil(expires.Sub(s.cfg.Now()).Seconds())), HttpOnly: true, Secure: s.cfg.SecureCookie,
		SameSite: http.SameSiteLaxMode}
}

// ClearCookie is the cookie that removes the session cookie.
func (s *Service) ClearCookie() *http.Cookie {
	return &http.Cookie{Name: s.CookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookie, SameSite: http.SameSiteLaxMode}
}

type csrfKey struct{}

// CSRFToken is the CSRF token of the request's session (for pages to embed),
// empty when the request has no session.
func CSRFToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey{}).(string)
	return t
}

// errorBody is the API's error envelope: {"error": {"code", "message"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// RemoteHost is the client address of r, without its port. It is the TCP
// peer; behind a reverse proxy every client has the proxy's address until
// trusted forwarding headers are configured (not yet).
func RemoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Authenticate puts the request's actor in its context: from a bearer token
// in Authorization if there is one (a wrong token is 401, never a fall back
// to the cookie), else from the session cookie (an unknown or expired
// session leaves the request anonymous). It never reads the body.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				unauthorized(w, "Authorization must be \"Bearer <token>\"")
				return
			}
			a, err := s.TokenActor(ctx, strings.TrimSpace(tok))
			if errors.Is(err, ErrUnauthenticated) {
				unauthorized(w, "unknown, revoked or expired API token")
				return
			}
			if err != nil {
				s.log.Error("authenticate token", "err", err)
				writeError(w, http.StatusInternalServerError, "internal", "cannot check the token now")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithActor(ctx, a)))
			return
		}
		if c, err := r.Cookie(s.CookieName()); err == nil && c.Value != "" {
			a, csrf, err := s.SessionActor(ctx, c.Value)
			switch {
			case err == nil:
				ctx = context.WithValue(WithActor(ctx, a), csrfKey{}, csrf)
				r = r.WithContext(ctx)
			case !errors.Is(err, ErrUnauthenticated):
				s.log.Error("authenticate session", "err", err)
				writeError(w, http.StatusInternalServerError, "internal", "cannot check the session now")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="liftwatch"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", msg)
}

// RequireActor answers 401 unless Authenticate found an actor.
func RequireActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := ActorFrom(r.Context()); !ok {
			unauthorized(w, "log in, or send an API token as Authorization: Bearer <token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// safeMethod is a method that changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// CSRF rejects, with 403, a state-changing request authenticated by a
// session cookie unless it carries the session's CSRF token in the
// X-CSRF-Token header or the csrf_token form field. Requests with an API
// token are not subject to it (a browser never adds Authorization on its
// own), and anonymous ones have nothing to protect.
func CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := ActorFrom(r.Context())
		if safeMethod(r.Method) || !ok || a.Via != ViaSession {
			next.ServeHTTP(w, r)
			return
		}
		want := CSRFToken(r.Context())
		got := r.Header.Get(CSRFHeader)
		if got == "" {
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
				got = r.PostFormValue(CSRFFormField)
			}
		}
		if got == "" {
			writeError(w, http.StatusForbidden, "csrf", "missing CSRF token: send the session's token in the "+CSRFHeader+" header or the "+CSRFFormField+" form field")
			return
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeError(w, http.StatusForbidden, "csrf", "wrong CSRF token for this session")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AuditRequests writes an audit entry for every state-changing request
// (any method but GET, HEAD, OPTIONS, TRACE): the actor (if any), method and
// path, the client's address, and the outcome from the status (denied for
// 401, 403 and 429). Mount it inside Authenticate and outside CSRF so that
// rejected attempts are recorded too.
func (s *Service) AuditRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		a, _ := ActorFrom(r.Context())
		outcome := OutcomeOK
		switch {
		case sw.status == http.StatusUnauthorized || sw.status == http.StatusForbidden || sw.status == http.StatusTooManyRequests:
			outcome = OutcomeDenied
		case sw.status >= 400:
			outcome = OutcomeFailed
		}
		// The response is gone; a failed write is logged by Audit.
		_ = s.Audit(r.Context(), &AuditEntry{ActorID: a.UserID, ActorName: a.Name, Role: a.Role,
			Action: r.Method + " " + r.URL.Path, Remote: RemoteHost(r), Outcome: outcome, Detail: "status " + strconv.Itoa(sw.status)})
	})
}

// Protect is the usual chain: authenticate, audit state changes, check CSRF.
func (s *Service) Protect(next http.Handler) http.Handler {
	return s.Authenticate(s.AuditRequests(CSRF(next)))
}

// ProtectExcept is Protect, except that requests to the routes exempt
// ("METHOD /path", exact) skip the request audit and the CSRF check: the
// login, which audits every attempt itself and has no session to protect
// yet (it checks the Origin against login CSRF instead).
func (s *Service) ProtectExcept(next http.Handler, exempt ...string) http.Handler {
	guarded := s.AuditRequests(CSRF(next))
	return s.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, e := range exempt {
			if e == r.Method+" "+r.URL.Path {
				next.ServeHTTP(w, r)
				return
			}
		}
		guarded.ServeHTTP(w, r)
	}))
}

// loginRequest is the body of a login: JSON or an HTML form.
type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// LoginHandler serves POST login: {"name", "password"} as JSON or a form.
// Success sets the session cookie and answers the actor and the CSRF token;
// a wrong name or password is 401 (the same for both), too many failures 429
// with Retry-After.
func (s *Service) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "login is POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		var req loginRequest
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/x-www-form-urlencoded":
			if err := r.ParseForm(); err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", "form: "+err.Error())
				return
			}
			req.Name, req.Password = r.PostForm.Get("name"), r.PostForm.Get("password")
		default:
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", "body must be {\"name\", \"password\"}: "+err.Error())
				return
			}
			if _, err := dec.Token(); err != io.EOF {
				writeError(w, http.StatusBadRequest, "bad_request", "body must be one JSON object")
				return
			}
		}
		res, err := s.Login(r.Context(), req.Name, req.Password, RemoteHost(r))
		var rl *RateLimitedError
		switch {
		case errors.As(err, &rl):
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "rate_limited", rl.Error())
			return
		case errors.Is(err, ErrInvalidCredentials):
			writeError(w, http.StatusUnauthorized, "invalid_credentials", err.Error())
			return
		case err != nil:
			s.log.Error("login", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "cannot log in now")
			return
		}
		http.SetCookie(w, s.SessionCookie(res.RawID, res.ExpiresAt))
		writeJSON(w, http.StatusOK, map[string]any{"user": res.Actor, "csrf_token": res.CSRF,
			"expires_at": res.ExpiresAt.UTC().Format(time.RFC3339)})
	})
}

// LogoutHandler serves POST logout: it revokes the cookie's session and
// clears the cookie. Mount it behind Protect (it is a state change).
func (s *Service) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "logout is POST")
			return
		}
		c, err := r.Cookie(s.CookieName())
		if err != nil {
			unauthorized(w, "no session to log out of")
			return
		}
		if err := s.Logout(r.Context(), c.Value, RemoteHost(r)); err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				unauthorized(w, "no session to log out of")
				return
			}
			s.log.Error("logout", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "cannot log out now")
			return
		}
		http.SetCookie(w, s.ClearCookie())
		w.WriteHeader(http.StatusNoContent)
	})
}
