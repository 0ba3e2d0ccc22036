package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// CheckURL checks a store URL as --store.url takes it: empty (the embedded
// SQLite database) or postgres:// or postgresql:// with a host. The error
// never shows the password.
func CheckURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input: say what is wrong without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL (%v): want postgres://user:password@host:5432/database", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q not supported: want postgres:// or postgresql:// (or empty: the embedded SQLite database in --data.dir)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host: want postgres://user:password@host:5432/database")
	}
	return nil
}

// Redact returns a store URL with its password, if any, replaced by xxx,
// for messages and logs. A string that is not a URL is returned as "(not a URL)".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// OpenURL opens the store a --store.url names: PostgreSQL for a postgres://
// URL, else the embedded SQLite database at sqliteFile. Its errors never
// show the URL's password.
func OpenURL(ctx context.Context, raw, sqliteFile string) (*DB, error) {
	if raw == "" {
		return OpenSQLite(ctx, sqliteFile)
	}
	if err := CheckURL(raw); err != nil {
		return nil, err
	}
	db, err := OpenPostgres(ctx, raw)
	if err != nil {
		return nil, redactedError{err: err, secrets: secretsOf(raw)}
	}
	return db, nil
}

// Where names the store a --store.url opens, for logs: the redacted URL or
// the SQLite file.
func Where(raw, sqliteFile string) string {
	if raw == "" {
		return sqliteFile
	}
	return Redact(raw)
}

// secretsOf lists the passwords in a URL (user info and ?password=).
func secretsOf(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p, url.QueryEscape(p))
	}
	return out
}

// redactedError is an error whose text has the passwords replaced; it
// unwraps to the original.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	s := e.err.Error()
	for _, p := range e.secrets {
		s = strings.ReplaceAll(s, p, "xxx")
	}
	return s
}

func (e redactedError) Unwrap() error { return e.err }

// Populated says whether the store a --store.url names holds a register
// already (an earlier run's data): the SQLite file exists, or the
// PostgreSQL schema has lifts. It creates and migrates nothing.
func Populated(ctx context.Context, raw, sqliteFile string) (bool, error) {
	if raw == "" {
		_, err := os.Stat(sqliteFile)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	if err := CheckURL(raw); err != nil {
		return false, err
	}
	db, err := sql.Open(Postgres.Driver, raw)
	if err != nil {
		return false, redactedError{err: err, secrets: secretsOf(raw)}
	}
	defer db.Close()
	var has bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('lifts') IS NOT NULL`).Scan(&has); err != nil {
		return false, redactedError{err: fmt.Errorf("connect postgres: %w", err), secrets: secretsOf(raw)}
	}
	if !has {
		return false, nil
	}
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM lifts)`).Scan(&has); err != nil {
		return false, fmt.Errorf("look for lifts: %w", err)
	}
	return has, nil
}
