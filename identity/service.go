package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config sets the Service's clock and rules; zero fields take the defaults.
type Config struct {
	Now          func() time.Time // required: the injected clock
	Params       Params           // argon2id parameters of new hashes; zero: DefaultParams
	SessionTTL   time.Duration    // absolute session lifetime; 0: DefaultSessionTTL
	SessionIdle  time.Duration    // a session unused this long ends; 0: DefaultSessionIdle
	SecureCookie bool             // the site is served over TLS: Secure, __Host- cookie
	// Login throttles (throttle.go); zero: the defaults.
	DeviceThrottle  Throttle // per (account, address): always
	AccountThrottle Throttle // per account, from addresses it has not signed in from
	AddressThrottle Throttle // per address, for accounts that have not signed in from it
	Log             *slog.Logger
	// Recheck is how often an open stream checks its credential and its
	// account in the store (Watch), for revocations made by another
	// process (the CLI, another instance); 0: DefaultRecheck. Revocations
	// made by this Service end streams at once.
	Recheck time.Duration
	// Ticker makes Watch's recheck ticker; nil: time.NewTicker. Tests
	// inject one they drive.
	Ticker func(d time.Duration) (<-chan time.Time, func())
	// Directory, if set, lets a manager see the owners of lifts in their
	// estates (Users); without it a manager sees only managers.
	Directory Directory
}

// Session defaults: a working day at most, and an hour of inactivity.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = time.Hour
	// touchEvery is how stale a session's last-seen time may get before a
	// request writes it again: idle expiry is exact to this much, and a busy
	// page does not write once per request.
	touchEvery = time.Minute
)

// Errors of authentication.
var (
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrUnauthenticated    = errors.New("not authenticated")
)

// RateLimitedError is a login refused because of too many failures.
type RateLimitedError struct {
	RetryAfter time.Duration
	Key        string // which throttle: "device" (this account from this address), "account" or "address"
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins for this %s; retry in %s", e.Key, e.RetryAfter.Round(time.Second))
}

// ForbiddenError is an action the actor's role or scope does not allow.
type ForbiddenError struct{ Decision Decision }

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Decision.Reason }

// Service is the identity core: accounts, sessions, tokens, login limits,
// audit. It is safe for concurrent use.
type Service struct {
	repo  Repository
	cfg   Config
	th    *throttles
	ends  *ends
	log   *slog.Logger
	dummy struct {
		once sync.Once
		hash string
	}
}

// NewService makes a Service over repo.
func NewService(repo Repository, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		return nil, errors.New("identity: Config.Now (the clock) is required")
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.DeviceThrottle == (Throttle{}) {
		cfg.DeviceThrottle = DefaultDeviceThrottle
	}
	if cfg.AccountThrottle == (Throttle{}) {
		cfg.AccountThrottle = DefaultAccountThrottle
	}
	if cfg.AddressThrottle == (Throttle{}) {
		cfg.AddressThrottle = DefaultAddressThrottle
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Ticker == nil {
		cfg.Ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{repo: repo, cfg: cfg, log: log, ends: newEnds(),
		th: newThrottles(cfg.DeviceThrottle, cfg.AccountThrottle, cfg.AddressThrottle, cfg.Now)}, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// NormalizeName is the canonical form of a login name (lower case, trimmed).
func NormalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NewUser is an account to create.
type NewUser struct {
	Name     string
	Role     Role
	Scope    Scope
	Password string
}

// Validate says which field of u is wrong, if one is.
func (u NewUser) Validate() error {
	if !nameRE.MatchString(NormalizeName(u.Name)) {
		return &FieldError{"name", fmt.Sprintf("%q: 1-64 of a-z 0-9 . _ @ - starting with a letter or digit", u.Name)}
	}
	if _, err := ParseRole(string(u.Role)); err != nil {
		return &FieldError{"role", err.Error()}
	}
	if err := ValidateScope(u.Role, u.Scope); err != nil {
		return err
	}
	return CheckPasswordPolicy(u.Password)
}

// require returns a ForbiddenError unless by may do act.
func require(by Actor, act Action, obj Object) error {
	if d := Decide(by, act, obj); !d.Allow {
		return &ForbiddenError{d}
	}
	return nil
}

// CreateUser creates an account; only an admin (or the System actor) may.
func (s *Service) CreateUser(ctx context.Context, by Actor, nu NewUser, remote string) (*User, error) {
	if err := require(by, Admin, Object{}); err != nil {
		return nil, err
	}
	if err := nu.Validate(); err != nil {
		return nil, err
	}
	hash, err := HashPassword(nu.Password, s.cfg.Params)
	if err != nil {
		return nil, err
	}
	u := &User{Name: NormalizeName(nu.Name), Role: nu.Role, Scope: nu.Scope, PasswordHash: hash, CreatedAt: s.cfg.Now()}
	u.Scope.Estates = slices.Clone(nu.Scope.Estates)
	if err := s.repo.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrNameTaken) {
			return nil, nameTaken{&FieldError{"name", fmt.Sprintf("user %q already exists", u.Name)}}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	if err := s.audit(ctx, by, "user.create", fmt.Sprintf("user %d", u.ID), remote, OutcomeOK,
		fmt.Sprintf("name=%s role=%s", u.Name, u.Role)); err != nil {
		return nil, err
	}
	return u, nil
}

// nameTaken is the FieldError of a name in use that is also ErrNameTaken
// (errors.Is), for callers that handle a taken name (the demo on a kept
// data directory).
type nameTaken struct{ *FieldError }

func (e nameTaken) Unwrap() []error { return []error{e.FieldError, ErrNameTaken} }

// audit appends an entry by actor a.
func (s *Service) audit(ctx context.Context, a Actor, action, object, remote, outcome, detail string) error {
	return s.Audit(ctx, &AuditEntry{ActorID: a.UserID, ActorName: a.Name, Role: a.Role, Action: action, Object: object,
		Remote: remote, Outcome: outcome, Detail: detail})
}

// Audit appends e to the audit log, stamped with the clock's time. A
// failure is logged and returned: callers do not go on as if it were written.
func (s *Service) Audit(ctx context.Context, e *AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.cfg.Now()
	}
	if err := s.repo.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit log write failed", "action", e.Action, "actor", e.ActorName, "remote", e.Remote, "err", err)
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog lists the audit log; admins only.
func (s *Service) AuditLog(ctx context.Context, by Actor, f AuditFilter) (AuditPage, error) {
	if err := require(by, Admin, Object{}); err != nil {
		return AuditPage{}, err
	}
	return s.repo.ListAudit(ctx, f)
}

// LoginResult is a new browser session: RawID goes in the cookie (and
// nowhere else), CSRF in the pages and the X-CSRF-Token header.
type LoginResult struct {
	RawID     string
	CSRF      string
	ExpiresAt time.Time
	Actor     Actor
}

// dummyHash is a hash to verify against when the account does not exist,
// so that a wrong name costs as long as a wrong password.
func (s *Service) dummyHash() string {
	s.dummy.once.Do(func() {
		s.dummy.hash, _ = HashPassword("liftwatch-no-such-user", s.cfg.Params)
	})
	return s.dummy.hash
}

// Login checks a name and password from remote and opens a session.
// Failures are throttled with growing delays (throttle.go), never locked
// out: per device (this account from this address) always, per account
// only from addresses it has not signed in from, per address only for
// accounts that have not signed in from it. A success clears the device's
// failures and makes the address known for the account. Every attempt is
// audited.
func (s *Service) Login(ctx context.Context, name, password, remote string) (*LoginResult, error) {
	name = NormalizeName(name)
	rkey := addressKey(remote)
	tried := Actor{Name: name}
	if wait, which := s.th.check(name, rkey); wait > 0 {
		if err := s.audit(ctx, tried, "login", "user "+name, remote, OutcomeDenied, "rate limited ("+which+")"); err != nil {
			return nil, err
		}
		return nil, &RateLimitedError{RetryAfter: wait, Key: which}
	}
	u, err := s.repo.UserByName(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("login: %w", err)
	}
	why := ""
	switch {
	case u == nil:
		_ = VerifyPassword(password, s.dummyHash())
		why = "no such user"
	case u.Disabled:
		_ = VerifyPassword(password, u.PasswordHash)
		why = "account disabled"
	default:
		if err := VerifyPassword(password, u.PasswordHash); errors.Is(err, ErrMismatch) {
			why = "wrong password"
		} else if err != nil {
			return nil, fmt.Errorf("login %s: stored hash: %w", name, err)
		}
	}
	if why != "" {
		s.th.fail(name, rkey)
		if u != nil {
			tried = u.Actor(ViaSession)
		}
		if err := s.audit(ctx, tried, "login", "user "+name, remote, OutcomeFailed, why); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	s.th.succeed(name, rkey)
	raw, err := randomString()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	sess := Session{Hash: hashHex(raw), UserID: u.ID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.SessionTTL), Remote: remote}
	if err := s.repo.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	a := u.Actor(ViaSession)
	if err := s.audit(ctx, a, "login", fmt.Sprintf("user %d", u.ID), remote, OutcomeOK, ""); err != nil {
		return nil, err
	}
	return &LoginResult{RawID: raw, CSRF: csrfToken(raw), ExpiresAt: sess.ExpiresAt, Actor: a}, nil
}

// randomString is 256 random bits, base64url without padding (43 characters).
func randomString() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// wellFormed says whether s looks like a randomString, so junk never
// reaches the database.
func wellFormed(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// csrfToken is the session's synchroniser token: HMAC-SHA256 keyed by the
// raw session id. Only a holder of the session id can compute it, it need
// not be stored, and it reveals nothing about the id.
func csrfToken(rawSession string) string {
	m := hmac.New(sha256.New, []byte(rawSession))
	m.Write([]byte("liftwatch csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SessionActor returns the actor of a raw session id and its CSRF token, or
// ErrUnauthenticated if the session is unknown, revoked, expired, idle too
// long, or its user disabled. A use refreshes its last-seen time.
func (s *Service) SessionActor(ctx context.Context, raw string) (Actor, string, error) {
	if !wellFormed(raw) {
		return Actor{}, "", ErrUnauthenticated
	}
	h := hashHex(raw)
	sess, u, err := s.sessionByHash(ctx, h)
	if err != nil {
		return Actor{}, "", err
	}
	now := s.cfg.Now()
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.repo.TouchSession(ctx, h, now); err != nil {
			return Actor{}, "", fmt.Errorf("session: %w", err)
		}
	}
	a := u.Actor(ViaSession)
	a.Cred = h
	return a, csrfToken(raw), nil
}

// sessionByHash is the live session with that hash and its enabled user,
// or ErrUnauthenticated.
func (s *Service) sessionByHash(ctx context.Context, h string) (*Session, *User, error) {
	sess, err := s.repo.SessionByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("session: %w", err)
	}
	now := s.cfg.Now()
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= s.cfg.SessionIdle {
		return nil, nil, ErrUnauthenticated
	}
	u, err := s.user(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// user loads an enabled account, or ErrUnauthenticated.
func (s *Service) user(ctx context.Context, id int64) (*User, error) {
	u, err := s.repo.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	if u.Disabled {
		return nil, ErrUnauthenticated
	}
	return u, nil
}

// Logout revokes the session raw belongs to.
func (s *Service) Logout(ctx context.Context, raw, remote string) error {
	a, _, err := s.SessionActor(ctx, raw)
	if err != nil {
		return err
	}
	if err := s.repo.RevokeSession(ctx, a.Cred, s.cfg.Now()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.ends.publish(a.UserID, a.Cred, "")
	return s.audit(ctx, a, "logout", fmt.Sprintf("user %d", a.UserID), remote, OutcomeOK, "")
}

// SetPassword gives account userID a new password (an admin for anyone, a
// user for themselves) and ends the account's sessions, API tokens and
// open streams, so a leaked password or a token issued with it stops
// working everywhere at once. It is audited.
func (s *Service) SetPassword(ctx context.Context, by Actor, userID int64, pw, remote string) error {
	if err := selfOrAdmin(by, userID); err != nil {
		return err
	}
	if err := CheckPasswordPolicy(pw); err != nil {
		return err
	}
	hash, err := HashPassword(pw, s.cfg.Params)
	if err != nil {
		return err
	}
	if err := s.repo.SetPasswordHash(ctx, userID, hash); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	ns, nt, err := s.signOut(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.audit(ctx, by, "user.password", fmt.Sprintf("user %d", userID), remote, OutcomeOK,
		fmt.Sprintf("ended %d sessions, revoked %d tokens", ns, nt))
}

// signOut revokes every session and token of a user and ends their open
// streams.
func (s *Service) signOut(ctx context.Context, userID int64) (sessions, tokens int, err error) {
	now := s.cfg.Now()
	defer s.ends.publish(userID, "", "") // whatever failed below, streams re-authenticate
	if sessions, err = s.repo.RevokeUserSessions(ctx, userID, now); err != nil {
		return 0, 0, fmt.Errorf("revoke sessions: %w", err)
	}
	if tokens, err = s.repo.RevokeUserTokens(ctx, userID, now); err != nil {
		return sessions, 0, fmt.Errorf("revoke tokens: %w", err)
	}
	return sessions, tokens, nil
}

// RevokeSessions ends every session of a user (an admin for anyone, a user
// for themselves), e.g. after a password change or a lost phone.
func (s *Service) RevokeSessions(ctx context.Context, by Actor, userID int64, remote string) (int, error) {
	if err := selfOrAdmin(by, userID); err != nil {
		return 0, err
	}
	n, err := s.repo.RevokeUserSessions(ctx, userID, s.cfg.Now())
	s.ends.publish(userID, "", ViaSession)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return n, s.audit(ctx, by, "session.revoke_all", fmt.Sprintf("user %d", userID), remote, OutcomeOK, fmt.Sprintf("%d sessions", n))
}

// PurgeSessions deletes sessions whose absolute expiry passed before the
// clock's now minus keep (revoked ones included once expired).
func (s *Service) PurgeSessions(ctx context.Context, keep time.Duration) (int, error) {
	return s.repo.DeleteSessionsBefore(ctx, s.cfg.Now().Add(-keep))
}

// Unlock forgets the failed logins held against an account (an admin's
// answer to an account under attack whose owner must sign in from a new
// device now). The addresses' strikes stay: the attacker is still slowed.
// It is audited.
func (s *Service) Unlock(ctx context.Context, by Actor, name, remote string) error {
	if err := require(by, Admin, Object{}); err != nil {
		return err
	}
	name = NormalizeName(name)
	if !nameRE.MatchString(name) {
		return &FieldError{"name", "not a user name"}
	}
	if _, err := s.repo.UserByName(ctx, name); err != nil {
		return fmt.Errorf("unlock %s: %w", name, err) // ErrNotFound for no such account
	}
	s.th.unlock(name)
	return s.audit(ctx, by, "user.unlock", "user "+name, remote, OutcomeOK, "")
}
