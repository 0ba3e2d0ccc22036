// Package store is liftwatch's SQL storage: one database/sql handle, versioned
// migrations in portable SQL, and the repositories the domain packages consume
// through their own small interfaces. The embedded default is SQLite through a
// pure-Go driver (no cgo); a PostgreSQL backend needs only its driver and a
// Dialect, since queries are written with '?' placeholders and rebound.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect adapts portable SQL to one database.
type Dialect struct {
	Name         string
	Driver       string
	DollarParams bool // $1, $2 … instead of ?
}

// SQLite is the embedded default.
var SQLite = Dialect{Name: "sqlite", Driver: "sqlite"}

// Postgres is the dialect for a PostgreSQL backend (register a driver such as
// pgx's stdlib under the name "pgx" to use it).
var Postgres = Dialect{Name: "postgres", Driver: "pgx", DollarParams: true}

// Rebind rewrites '?' placeholders for the dialect.
func (d Dialect) Rebind(q string) string {
	if !d.DollarParams {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// DB is an open, migrated database.
type DB struct {
	SQL     *sql.DB
	Dialect Dialect
}

// OpenSQLite opens (creating if needed) the SQLite database at file and
// migrates it.
func OpenSQLite(ctx context.Context, file string) (*DB, error) {
	dsn := "file:" + file + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	return Open(ctx, SQLite, dsn)
}

// Open connects with dialect d and applies pending migrations.
func Open(ctx context.Context, d Dialect, dsn string) (*DB, error) {
	db, err := sql.Open(d.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Name, err)
	}
	if d.Name == "sqlite" {
		// One writer at a time is SQLite's model; a single connection also
		// keeps in-process transactions from failing with SQLITE_BUSY.
		db.SetMaxOpenConns(1)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect %s: %w", d.Name, err)
	}
	s := &DB{SQL: db, Dialect: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.SQL.Close() }

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.SQL.ExecContext(ctx, s.Dialect.Rebind(q), args...)
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, in version order.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, applied_at VARCHAR(40) NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a version number", base)
		}
		var n int
		if err := s.SQL.QueryRowContext(ctx, s.Dialect.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
			return fmt.Errorf("check migration %d: %w", v, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", base, err)
		}
		tx, err := s.SQL.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin migration %s: %w", base, err)
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w", base, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.Dialect.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			v, base, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", base, err)
		}
	}
	return nil
}

// splitStatements splits a migration on ';' at line ends, dropping comments.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}
