package identity

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is a user, session, token or directory entry that does not exist.
var ErrNotFound = errors.New("not found")

// ErrNameTaken is a user name already in use.
var ErrNameTaken = errors.New("user name already taken")

// User is an account.
type User struct {
	ID           int64
	Name         string // login name, unique
	Role         Role
	Scope        Scope
	PasswordHash string // argon2id PHC string
	Disabled     bool
	CreatedAt    time.Time
}

// Actor is the user as an actor authenticated via v.
func (u *User) Actor(v Via) Actor {
	return Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: u.Scope, Via: v}
}

// Session is a browser session as stored: only the SHA-256 of its id.
type Session struct {
	Hash      string // hex SHA-256 of the raw session id
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute expiry
	RevokedAt *time.Time
	Remote    string // address it was created from
}

// Token is an API token as stored: its prefix (to tell tokens apart in
// listings and logs) and the SHA-256 of the whole token.
type Token struct {
	ID        int64
	UserID    int64
	Name      string // what it is for, e.g. "city platform export"
	Prefix    string // "lwt_" and the first 8 characters of the secret part
	Hash      string // hex SHA-256 of the raw token
	CreatedAt time.Time
	LastUsed  *time.Time
	ExpiresAt *time.Time // nil: until revoked
	RevokedAt *time.Time
}

// AuditEntry is one state change or login attempt: who, what, when, from where.
type AuditEntry struct {
	ID        int64
	At        time.Time
	ActorID   int64  // 0 when there is no account (failed login, system)
	ActorName string // the account name, or the name tried at a failed login
	Role      Role
	Action    string // e.g. "login", "user.create", "POST /api/v1/alerts/7/ack"
	Object    string // what it was done to, e.g. "user 3", "lift JW-0001"
	Remote    string // the client's address
	Outcome   string // OutcomeOK, OutcomeDenied or OutcomeFailed
	Detail    string
}

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied" // refused by authentication, authorisation, CSRF or a rate limit
	OutcomeFailed = "failed" // attempted and failed (bad input, error)
)

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	ActorID   int64
	ActorName string
	Actions   []string // any of them
	Outcome   string
	Remote    string
	Since     time.Time // at or after
	Until     time.Time // before
	BeforeID  int64     // cursor: entries with a smaller id (the previous page's Next)
	Limit     int       // page size; 0: DefaultAuditPage, at most MaxAuditPage
}

// Audit page sizes.
const (
	DefaultAuditPage = 100
	MaxAuditPage     = 1000
)

// AuditPage is one page of the audit log, newest first; Next is the
// BeforeID of the following page, 0 when this is the last.
type AuditPage struct {
	Entries []AuditEntry
	Next    int64
}

// Users stores accounts.
type Users interface {
	CreateUser(ctx context.Context, u *User) error // sets u.ID; ErrNameTaken
	UserByName(ctx context.Context, name string) (*User, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetPasswordHash(ctx context.Context, userID int64, hash string) error             // ErrNotFound
	SetUserDisabled(ctx context.Context, userID int64, disabled bool) error           // ErrNotFound
	SetUserRoleScope(ctx context.Context, userID int64, role Role, scope Scope) error // ErrNotFound
}

// Sessions stores browser sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	RevokeSession(ctx context.Context, hash string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID int64, at time.Time) (int, error)
	DeleteSessionsBefore(ctx context.Context, expiredBefore time.Time) (int, error)
}

// Tokens stores API tokens.
type Tokens interface {
	CreateToken(ctx context.Context, t *Token) error // sets t.ID
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	UserTokens(ctx context.Context, userID int64) ([]Token, error)
	// RevokeUserTokens revokes every live token of a user and says how many.
	RevokeUserTokens(ctx context.Context, userID int64, at time.Time) (int, error)
}

// AuditLog stores the audit log.
type AuditLog interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error // sets e.ID
	ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error)
}

// Repository is everything the Service stores; store.Identity implements it.
type Repository interface {
	Users
	Sessions
	Tokens
	AuditLog
}
