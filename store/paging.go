package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/alerts/paging"
)

// Pages is the pager's outbox and chain progress (alerts/paging), on the
// alerts' own connection: paging is on the alert path.
type Pages struct {
	db  *DB
	sql *sql.DB
}

// Pages returns the pager's repository.
func (s *DB) Pages() *Pages { return &Pages{db: s, sql: s.alertSQL} }

var _ paging.Store = (*Pages)(nil)

func timep(t *time.Time) any { return msp(t) }

func (r *Pages) q(s string) string { return r.db.Dialect.Rebind(s) }

const pageCols = `id, alert_id, lift, tier, person_id, person_name, role, user_name, lang, contact, channel, to_addr, subject, text,
	params, state, attempts, next_at, last_error, retryable, idem_key, token_hash, token_expires, token_spent, created_at, sent_at,
	delivered_at, acked_at, acked_by, updated_at`

func pageArgs(p *paging.Page) ([]any, error) {
	params, err := json.Marshal(p.Params)
	if err != nil {
		return nil, fmt.Errorf("page params: %w", err)
	}
	return []any{p.AlertID, p.Lift, p.Tier, p.PersonID, p.PersonName, p.Role, p.User, p.Lang, p.Contact, p.Channel, p.To, p.Subject, p.Text,
		string(params), string(p.State), p.Attempts, ms(p.NextAt), p.LastError, p.Retryable, p.Key, p.TokenHash, ms(p.TokenExpires),
		timep(p.TokenSpent), ms(p.CreatedAt), timep(p.SentAt), timep(p.DeliveredAt), timep(p.AckAt), p.AckBy, ms(p.UpdatedAt)}, nil
}

// InsertPage writes a new page (setting its ID).
func (r *Pages) InsertPage(ctx context.Context, p *paging.Page) error {
	done, err := r.db.urgentWrite(ctx)
	if err != nil {
		return fmt.Errorf("InsertPage: %w", err)
	}
	defer done()
	args, err := pageArgs(p)
	if err != nil {
		return err
	}
	err = r.sql.QueryRowContext(ctx, r.q(`INSERT INTO pages (alert_id, lift, tier, person_id, person_name, role, user_name, lang, contact,
		channel, to_addr, subject, text, params, state, attempts, next_at, last_error, retryable, idem_key, token_hash, token_expires,
		token_spent, created_at, sent_at, delivered_at, acked_at, acked_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), args...).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("insert page of alert %d: %w", p.AlertID, err)
	}
	return nil
}

// UpdatePage writes a page's changes.
func (r *Pages) UpdatePage(ctx context.Context, p *paging.Page) error {
	done, err := r.db.urgentWrite(ctx)
	if err != nil {
		return fmt.Errorf("UpdatePage: %w", err)
	}
	defer done()
	args, err := pageArgs(p)
	if err != nil {
		return err
	}
	res, err := r.sql.ExecContext(ctx, r.q(`UPDATE pages SET alert_id = ?, lift = ?, tier = ?, person_id = ?, person_name = ?, role = ?,
		user_name = ?, lang = ?, contact = ?, channel = ?, to_addr = ?, subject = ?, text = ?, params = ?, state = ?, attempts = ?,
		next_at = ?, last_error = ?, retryable = ?, idem_key = ?, token_hash = ?, token_expires = ?, token_spent = ?, created_at = ?,
		sent_at = ?, delivered_at = ?, acked_at = ?, acked_by = ?, updated_at = ? WHERE id = ?`), append(args, p.ID)...)
	if err != nil {
		return fmt.Errorf("update page %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update page %d: no such page", p.ID)
	}
	return nil
}

func scanPage(s interface{ Scan(...any) error }) (*paging.Page, error) {
	var p paging.Page
	var params, state string
	var next, expires, created, updated int64
	var spent, sent, delivered, acked sql.NullInt64
	if err := s.Scan(&p.ID, &p.AlertID, &p.Lift, &p.Tier, &p.PersonID, &p.PersonName, &p.Role, &p.User, &p.Lang, &p.Contact, &p.Channel,
		&p.To, &p.Subject, &p.Text, &params, &state, &p.Attempts, &next, &p.LastError, &p.Retryable, &p.Key, &p.TokenHash, &expires,
		&spent, &created, &sent, &delivered, &acked, &p.AckBy, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &p.Params); err != nil {
		return nil, fmt.Errorf("page %d params: %w", p.ID, err)
	}
	p.State = paging.State(state)
	p.NextAt, p.TokenExpires, p.CreatedAt, p.UpdatedAt = fromMS(next), fromMS(expires), fromMS(created), fromMS(updated)
	p.TokenSpent, p.SentAt, p.DeliveredAt, p.AckAt = fromNull(spent), fromNull(sent), fromNull(delivered), fromNull(acked)
	return &p, nil
}

func (r *Pages) list(ctx context.Context, where string, args ...any) ([]paging.Page, error) {
	rows, err := r.sql.QueryContext(ctx, r.q(`SELECT `+pageCols+` FROM pages WHERE `+where+` ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	defer rows.Close()
	var out []paging.Page
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, fmt.Errorf("scan page: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// AlertPages lists an alert's pages, oldest first.
func (r *Pages) AlertPages(ctx context.Context, alertID int64) ([]paging.Page, error) {
	return r.list(ctx, `alert_id = ?`, alertID)
}

// ResumablePages lists the pages left pending or sending.
func (r *Pages) ResumablePages(ctx context.Context) ([]paging.Page, error) {
	return r.list(ctx, `state IN (?, ?)`, string(paging.Pending), string(paging.Sending))
}

func (r *Pages) one(ctx context.Context, where string, arg any) (*paging.Page, error) {
	p, err := scanPage(r.sql.QueryRowContext(ctx, r.q(`SELECT `+pageCols+` FROM pages WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	return p, nil
}

// PageByToken is the page whose link token hashes to hash (nil if none).
func (r *Pages) PageByToken(ctx context.Context, hash string) (*paging.Page, error) {
	if hash == "" {
		return nil, nil
	}
	return r.one(ctx, `token_hash = ?`, hash)
}

// PageByKey is the page of idempotency key key (nil if none).
func (r *Pages) PageByKey(ctx context.Context, key string) (*paging.Page, error) {
	return r.one(ctx, `idem_key = ?`, key)
}

// SpendToken marks the token used, once: false if it was spent already,
// has expired or does not exist.
func (r *Pages) SpendToken(ctx context.Context, hash string, at time.Time) (bool, error) {
	done, err := r.db.urgentWrite(ctx)
	if err != nil {
		return false, fmt.Errorf("SpendToken: %w", err)
	}
	defer done()
	res, err := r.sql.ExecContext(ctx, r.q(`UPDATE pages SET token_spent = ?, updated_at = ? WHERE token_hash = ? AND token_hash <> ''
		AND token_spent IS NULL AND token_expires > ?`), ms(at), ms(at), hash, ms(at))
	if err != nil {
		return false, fmt.Errorf("spend page token: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ExpireTokens ends the links of an alert's pages at at (the alert was
// resolved).
func (r *Pages) ExpireTokens(ctx context.Context, alertID int64, at time.Time) error {
	done, err := r.db.urgentWrite(ctx)
	if err != nil {
		return fmt.Errorf("ExpireTokens: %w", err)
	}
	defer done()
	if _, err := r.sql.ExecContext(ctx, r.q(`UPDATE pages SET token_expires = ? WHERE alert_id = ? AND token_expires > ?`),
		ms(at), alertID, ms(at)); err != nil {
		return fmt.Errorf("expire page links of alert %d: %w", alertID, err)
	}
	return nil
}

// SaveChain writes an alert's paging progress (insert or update).
func (r *Pages) SaveChain(ctx context.Context, c *paging.Chain) error {
	done, err := r.db.urgentWrite(ctx)
	if err != nil {
		return fmt.Errorf("SaveChain: %w", err)
	}
	defer done()
	people, err := json.Marshal(c.People)
	if err != nil {
		return fmt.Errorf("chain people: %w", err)
	}
	args := []any{c.Lift, c.Estate, c.Contractor, c.Type, c.Tier, string(people), ms(c.NextAt), c.Done, c.Failed, ms(c.UpdatedAt), c.AlertID}
	res, err := r.sql.ExecContext(ctx, r.q(`UPDATE paging_chains SET lift = ?, estate = ?, contractor = ?, type = ?, tier = ?, people = ?,
		next_at = ?, done = ?, failed = ?, updated_at = ? WHERE alert_id = ?`), args...)
	if err != nil {
		return fmt.Errorf("save paging chain of alert %d: %w", c.AlertID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := r.sql.ExecContext(ctx, r.q(`INSERT INTO paging_chains (lift, estate, contractor, type, tier, people, next_at, done, failed,
		updated_at, alert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
		return fmt.Errorf("insert paging chain of alert %d: %w", c.AlertID, err)
	}
	return nil
}

// ActiveChains lists the chains not done.
func (r *Pages) ActiveChains(ctx context.Context) ([]paging.Chain, error) {
	rows, err := r.sql.QueryContext(ctx, r.q(`SELECT alert_id, lift, estate, contractor, type, tier, people, next_at, done, failed, updated_at
		FROM paging_chains WHERE done = ? ORDER BY alert_id`), false)
	if err != nil {
		return nil, fmt.Errorf("list paging chains: %w", err)
	}
	defer rows.Close()
	var out []paging.Chain
	for rows.Next() {
		var c paging.Chain
		var people string
		var next, updated int64
		if err := rows.Scan(&c.AlertID, &c.Lift, &c.Estate, &c.Contractor, &c.Type, &c.Tier, &people, &next, &c.Done, &c.Failed, &updated); err != nil {
			return nil, fmt.Errorf("scan paging chain: %w", err)
		}
		if err := json.Unmarshal([]byte(people), &c.People); err != nil {
			return nil, fmt.Errorf("paging chain of alert %d: %w", c.AlertID, err)
		}
		c.NextAt, c.UpdatedAt = fromMS(next), fromMS(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}
