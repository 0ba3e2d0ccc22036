package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// defaultTestPostgres is the PostgreSQL the SQL tests use unless
// LIFTWATCH_TEST_POSTGRES names another.
const defaultTestPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// forEachBackend runs f once per backend, as subtests "sqlite" and
// "postgres", each on a fresh, migrated database closed at cleanup.
func forEachBackend(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Helper()
	forEachOpener(t, func(t *testing.T, open func(t *testing.T) *DB) { f(t, open(t)) })
}

// forEachOpener is forEachBackend for tests that open one database more than
// once (reopen, concurrent opens): every call of open opens the same fresh
// database again, closed at cleanup.
func forEachOpener(t *testing.T, f func(t *testing.T, open func(t *testing.T) *DB)) {
	t.Helper()
	forEachDSN(t, func(t *testing.T, d Dialect, dsn string) {
		f(t, func(t *testing.T) *DB {
			t.Helper()
			db, err := Open(context.Background(), d, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

// forEachDSN gives f, per backend, the dialect and DSN of a fresh, empty
// database: a file in t.TempDir() or a schema of its own in PostgreSQL.
func forEachDSN(t *testing.T, f func(t *testing.T, d Dialect, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite, sqliteDSN(filepath.Join(t.TempDir(), "lw.db"))) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres, postgresSchema(t)) })
}

// postgresSchema creates a schema of its own for t in the test PostgreSQL,
// dropped at cleanup, and returns a DSN whose search_path is that schema, so
// that parallel tests and packages never see each other's tables. When the
// server cannot be reached the test skips, or fails under
// LIFTWATCH_REQUIRE_SERVICES=1.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LIFTWATCH_TEST_POSTGRES")
	if base == "" {
		base = defaultTestPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("LIFTWATCH_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		msg := "PostgreSQL unreachable at " + redact(base) + " (set LIFTWATCH_TEST_POSTGRES; ./scripts/test starts it): " + err.Error()
		if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "lw_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// withSearchPath sets search_path in a pgx DSN, URL or key=value form.
func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("LIFTWATCH_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact hides a password in a URL DSN before it is printed.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	return dsn
}
