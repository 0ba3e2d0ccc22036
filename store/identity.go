package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/liftwatch/liftwatch/identity"
)

// Identity is the repository of accounts, sessions, API tokens and the audit
// log (identity.Repository). Secrets are stored only as hashes.
type Identity struct {
	db *DB
}

// Identity returns the identity repository.
func (s *DB) Identity() *Identity { return &Identity{db: s} }

var _ identity.Repository = (*Identity)(nil)

func (r *Identity) q(s string) string { return r.db.Dialect.Rebind(s) }

// uniqueViolation says whether err is a UNIQUE constraint failing.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullMS(v sql.NullInt64) *time.Time { return fromNull(v) }

// CreateUser inserts u and sets its ID; a taken name is identity.ErrNameTaken.
func (r *Identity) CreateUser(ctx context.Context, u *identity.User) error {
	scope, err := json.Marshal(u.Scope)
	if err != nil {
		return fmt.Errorf("user scope: %w", err)
	}
	err = r.db.SQL.QueryRowContext(ctx, r.q(`INSERT INTO users (name, role, scope, password_hash, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), u.Name, string(u.Role), string(scope), u.PasswordHash, u.Disabled, ms(u.CreatedAt)).Scan(&u.ID)
	if err != nil {
		if uniqueViolation(err) {
			return fmt.Errorf("user %q: %w", u.Name, identity.ErrNameTaken)
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

const userCols = `id, name, role, scope, password_hash, disabled, created_at`

func scanUser(s interface{ Scan(...any) error }) (*identity.User, error) {
	var u identity.User
	var role, scope string
	var created int64
	if err := s.Scan(&u.ID, &u.Name, &role, &scope, &u.PasswordHash, &u.Disabled, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, identity.ErrNotFound
		}
		return nil, fmt.Errorf("scan user: %w", err)
	}
	u.Role, u.CreatedAt = identity.Role(role), fromMS(created)
	if err := json.Unmarshal([]byte(scope), &u.Scope); err != nil {
		return nil, fmt.Errorf("user %d scope: %w", u.ID, err)
	}
	return &u, nil
}

// UserByName returns the account called name, or identity.ErrNotFound.
func (r *Identity) UserByName(ctx context.Context, name string) (*identity.User, error) {
	u, err := scanUser(r.db.SQL.QueryRowContext(ctx, r.q(`SELECT `+userCols+` FROM users WHERE name = ?`), name))
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// UserByID returns account id, or identity.ErrNotFound.
func (r *Identity) UserByID(ctx context.Context, id int64) (*identity.User, error) {
	u, err := scanUser(r.db.SQL.QueryRowContext(ctx, r.q(`SELECT `+userCols+` FROM users WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// SetPasswordHash replaces account userID's password hash, or
// identity.ErrNotFound.
func (r *Identity) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	res, err := r.db.SQL.ExecContext(ctx, r.q(`UPDATE users SET password_hash = ? WHERE id = ?`), hash, userID)
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set password of user %d: %w", userID, err)
	} else if n == 0 {
		return fmt.Errorf("user %d: %w", userID, identity.ErrNotFound)
	}
	return nil
}

// SetUserDisabled disables or enables account userID, or
// identity.ErrNotFound.
func (r *Identity) SetUserDisabled(ctx context.Context, userID int64, disabled bool) error {
	return r.updateUser(ctx, userID, "disable", `UPDATE users SET disabled = ? WHERE id = ?`, disabled, userID)
}

// SetUserRoleScope replaces account userID's role and scope, or
// identity.ErrNotFound.
func (r *Identity) SetUserRoleScope(ctx context.Context, userID int64, role identity.Role, scope identity.Scope) error {
	b, err := json.Marshal(scope)
	if err != nil {
		return fmt.Errorf("user scope: %w", err)
	}
	return r.updateUser(ctx, userID, "set role of", `UPDATE users SET role = ?, scope = ? WHERE id = ?`, string(role), string(b), userID)
}

// updateUser runs an UPDATE of one user; no row is identity.ErrNotFound.
func (r *Identity) updateUser(ctx context.Context, userID int64, what, q string, args ...any) error {
	res, err := r.db.SQL.ExecContext(ctx, r.q(q), args...)
	if err != nil {
		return fmt.Errorf("%s user %d: %w", what, userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s user %d: %w", what, userID, err)
	} else if n == 0 {
		return fmt.Errorf("user %d: %w", userID, identity.ErrNotFound)
	}
	return nil
}

// ListUsers returns every account by id.
func (r *Identity) ListUsers(ctx context.Context) ([]identity.User, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []identity.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// CreateSession stores a session (its hash only).
func (r *Identity) CreateSession(ctx context.Context, s identity.Session) error {
	if _, err := r.db.exec(ctx, `INSERT INTO sessions (hash, user_id, created_at, last_seen, expires_at, revoked_at, remote)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.Hash, s.UserID, ms(s.CreatedAt), ms(s.LastSeen), ms(s.ExpiresAt), msp(s.RevokedAt), s.Remote); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash returns the session with that hash, or identity.ErrNotFound.
func (r *Identity) SessionByHash(ctx context.Context, hash string) (*identity.Session, error) {
	var s identity.Session
	var created, seen, expires int64
	var revoked sql.NullInt64
	err := r.db.SQL.QueryRowContext(ctx, r.q(`SELECT hash, user_id, created_at, last_seen, expires_at, revoked_at, remote
		FROM sessions WHERE hash = ?`), hash).Scan(&s.Hash, &s.UserID, &created, &seen, &expires, &revoked, &s.Remote)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s.CreatedAt, s.LastSeen, s.ExpiresAt, s.RevokedAt = fromMS(created), fromMS(seen), fromMS(expires), nullMS(revoked)
	return &s, nil
}

// TouchSession records a use of the session at at.
func (r *Identity) TouchSession(ctx context.Context, hash string, at time.Time) error {
	if _, err := r.db.exec(ctx, `UPDATE sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?`, ms(at), hash, ms(at)); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// RevokeSession revokes one session; revoking twice keeps the first time.
func (r *Identity) RevokeSession(ctx context.Context, hash string, at time.Time) error {
	res, err := r.db.exec(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE hash = ?`, ms(at), hash)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("session: %w", identity.ErrNotFound)
	}
	return nil
}

// RevokeUserSessions revokes every live session of a user and says how many.
func (r *Identity) RevokeUserSessions(ctx context.Context, userID int64, at time.Time) (int, error) {
	res, err := r.db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`,
		ms(at), userID, ms(at))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteSessionsBefore deletes sessions that expired before t.
func (r *Identity) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := r.db.exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(t))
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CreateToken stores an API token (its hash only) and sets its ID.
func (r *Identity) CreateToken(ctx context.Context, t *identity.Token) error {
	err := r.db.SQL.QueryRowContext(ctx, r.q(`INSERT INTO api_tokens (user_id, name, prefix, hash, created_at, last_used, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), t.UserID, t.Name, t.Prefix, t.Hash, ms(t.CreatedAt), msp(t.LastUsed),
		msp(t.ExpiresAt), msp(t.RevokedAt)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

const tokenCols = `id, user_id, name, prefix, hash, created_at, last_used, expires_at, revoked_at`

func scanToken(s interface{ Scan(...any) error }) (*identity.Token, error) {
	var t identity.Token
	var created int64
	var used, expires, revoked sql.NullInt64
	if err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &created, &used, &expires, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, identity.ErrNotFound
		}
		return nil, fmt.Errorf("scan token: %w", err)
	}
	t.CreatedAt, t.LastUsed, t.ExpiresAt, t.RevokedAt = fromMS(created), nullMS(used), nullMS(expires), nullMS(revoked)
	return &t, nil
}

// TokenByHash returns the token with that hash, or identity.ErrNotFound.
func (r *Identity) TokenByHash(ctx context.Context, hash string) (*identity.Token, error) {
	t, err := scanToken(r.db.SQL.QueryRowContext(ctx, r.q(`SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`), hash))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// TouchToken records a use of token id at at.
func (r *Identity) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := r.db.exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, ms(at), id); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// RevokeToken revokes token id; revoking twice keeps the first time.
func (r *Identity) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	res, err := r.db.exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ms(at), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: %w", id, identity.ErrNotFound)
	}
	return nil
}

// RevokeUserTokens revokes every live token of a user and says how many.
func (r *Identity) RevokeUserTokens(ctx context.Context, userID int64, at time.Time) (int, error) {
	res, err := r.db.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ms(at), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke tokens of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UserTokens lists a user's tokens (revoked ones too), by id.
func (r *Identity) UserTokens(ctx context.Context, userID int64) ([]identity.Token, error) {
	rows, err := r.db.SQL.QueryContext(ctx, r.q(`SELECT `+tokenCols+` FROM api_tokens WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []identity.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// AppendAudit appends e to the audit log and sets its ID.
func (r *Identity) AppendAudit(ctx context.Context, e *identity.AuditEntry) error {
	err := r.db.SQL.QueryRowContext(ctx, r.q(`INSERT INTO audit_log (at, actor_id, actor_name, role, action, object, remote, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), ms(e.At), e.ActorID, e.ActorName, string(e.Role), e.Action, e.Object,
		e.Remote, e.Outcome, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// ListAudit returns one page of the audit log matching f, newest first.
func (r *Identity) ListAudit(ctx context.Context, f identity.AuditFilter) (identity.AuditPage, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.ActorID != 0 {
		add("actor_id = ?", f.ActorID)
	}
	if f.ActorName != "" {
		add("actor_name = ?", f.ActorName)
	}
	if len(f.Actions) > 0 {
		where = append(where, "action IN (?"+strings.Repeat(", ?", len(f.Actions)-1)+")")
		for _, a := range f.Actions {
			args = append(args, a)
		}
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if f.Remote != "" {
		add("remote = ?", f.Remote)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ms(f.Until))
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = identity.DefaultAuditPage
	}
	limit = min(limit, identity.MaxAuditPage)
	q := `SELECT id, at, actor_id, actor_name, role, action, object, remote, outcome, detail FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1) // one more says whether a next page exists
	rows, err := r.db.SQL.QueryContext(ctx, r.q(q), args...)
	if err != nil {
		return identity.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	page := identity.AuditPage{Entries: []identity.AuditEntry{}}
	for rows.Next() {
		var e identity.AuditEntry
		var at int64
		var role string
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &role, &e.Action, &e.Object, &e.Remote, &e.Outcome, &e.Detail); err != nil {
			return identity.AuditPage{}, fmt.Errorf("scan audit: %w", err)
		}
		e.At, e.Role = fromMS(at), identity.Role(role)
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return identity.AuditPage{}, fmt.Errorf("list audit: %w", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Next = page.Entries[limit-1].ID
	}
	return page, nil
}
