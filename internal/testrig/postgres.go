package testrig

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// DefaultPostgres is the PostgreSQL tests use unless LIFTWATCH_TEST_POSTGRES
// names another; ./scripts/test starts it.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresSchema creates a schema of its own for t in the test PostgreSQL
// (LIFTWATCH_TEST_POSTGRES, default DefaultPostgres), dropped at cleanup, and
// returns a URL whose search_path is that schema, so that parallel tests and
// packages never see each other's tables. When the server cannot be reached
// the test skips, or fails under LIFTWATCH_REQUIRE_SERVICES=1.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LIFTWATCH_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("LIFTWATCH_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		msg := "PostgreSQL unreachable at " + redactURL(base) + " (set LIFTWATCH_TEST_POSTGRES; ./scripts/test starts it): " + err.Error()
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
func withSearchPath(t testing.TB, dsn, schema string) string {
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

// redactURL hides a password in a URL DSN before it is printed.
func redactURL(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	return dsn
}

// ForEachStore runs f once per database serve can run on, as subtests
// "sqlite" and "postgres": url is "" for the embedded SQLite database in
// the data directory, else a --store.url on a fresh schema of its own
// (PostgresSchema).
func ForEachStore(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, "") })
	t.Run("postgres", func(t *testing.T) { f(t, PostgresSchema(t)) })
}
