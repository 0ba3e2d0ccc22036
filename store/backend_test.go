package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

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

// postgresSchema is testrig.PostgresSchema: a fresh schema of t's own.
func postgresSchema(t *testing.T) string { return testrig.PostgresSchema(t) }
