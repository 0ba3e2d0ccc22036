// Package store is liftwatch's SQL storage: one database/sql handle, versioned
// migrations in portable SQL, and the repositories the domain packages consume
// through their own small interfaces. The embedded default is SQLite through a
// pure-Go driver (no cgo); PostgreSQL goes through pgx's database/sql driver.
// Queries are written once with '?' placeholders and rebound per Dialect.
//
// Migrations live in migrations/ as NNNN_name.sql (portable, run on every
// dialect) or, where the SQL cannot be shared, as one file per dialect with
// the same version: NNNN_name.sqlite.sql and NNNN_name.postgres.sql.
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
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
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

// Postgres is the dialect for a PostgreSQL backend (pgx's stdlib driver).
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
	// alertSQL is the alerts' own handle, so that alert writes never queue
	// behind history and register writes on SQLite's single connection (and
	// the other way round). SQLite: a second handle on the same file (WAL:
	// readers do not block the writer; two writers take turns through the
	// busy timeout). PostgreSQL: the same pool.
	alertSQL *sql.DB

	// gate puts the alert path's writes before bulk chunks (SQLite; nil on
	// PostgreSQL); bulkLocks serialise bulk jobs per key (SQLite); bulkHook,
	// if set (tests), is called as each chunk is begun and committed, and
	// an error from it fails the chunk.
	// bulkSQL is where bulk jobs read (SQLite: a handle of its own; the
	// same pool on PostgreSQL), so that their reads never hold the
	// connection the API's sign-in and the registers use (store/bulk.go).
	bulkSQL   *sql.DB
	gate      *writeGate
	bulkMu    sync.Mutex
	bulkLocks map[string]chan struct{}
	bulkHook  func(what, stage string) error
}

// OpenSQLite opens (creating if needed) the SQLite database at file and
// migrates it.
func OpenSQLite(ctx context.Context, file string) (*DB, error) {
	return Open(ctx, SQLite, sqliteDSN(file))
}

func sqliteDSN(file string) string {
	// _txlock=immediate: every transaction takes the write lock when it
	// begins (waiting through busy_timeout), never upgrades a read to a
	// write later, which fails at once with SQLITE_BUSY_SNAPSHOT when
	// another connection wrote in between (store/bulk.go).
	return "file:" + file + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// OpenPostgres connects to the PostgreSQL database at dsn (a URL or
// key=value string as pgx accepts; set search_path there to use a schema
// other than public) and migrates it.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	return Open(ctx, Postgres, dsn)
}

// PostgresPoolSize is the number of connections a PostgreSQL DB keeps open
// at most: enough for the API's reads to overlap the engine's and ingest's
// writes, small enough to share a server between replicas.
const PostgresPoolSize = 4

// Open connects with dialect d and applies pending migrations.
func Open(ctx context.Context, d Dialect, dsn string) (*DB, error) {
	return openWith(ctx, d, dsn, migrations)
}

// openWith is Open with the migrations of fsys (tests pass older sets).
func openWith(ctx context.Context, d Dialect, dsn string, fsys fs.FS) (*DB, error) {
	db, err := sql.Open(d.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Name, err)
	}
	switch d.Name {
	case "sqlite":
		// One writer at a time is SQLite's model; a single connection also
		// keeps in-process transactions from failing with SQLITE_BUSY.
		db.SetMaxOpenConns(1)
	case "postgres":
		db.SetMaxOpenConns(PostgresPoolSize)
		db.SetMaxIdleConns(PostgresPoolSize)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect %s: %w", d.Name, err)
	}
	s := &DB{SQL: db, Dialect: d, alertSQL: db, bulkSQL: db, bulkLocks: map[string]chan struct{}{}}
	if d.Name == "sqlite" {
		s.gate = newWriteGate()
	}
	if err := s.migrate(ctx, fsys); err != nil {
		db.Close()
		return nil, err
	}
	if d.Name == "sqlite" {
		// Neither the alerts' commits nor the bulk chunks' run the WAL's
		// automatic checkpoint (copying the log into the file, with an
		// fsync, inside the commit that crossed 1,000 pages): an alert
		// write would pay for a bulk job's pages. The bulk jobs checkpoint
		// between chunks instead (DB.checkpoint), the main handle as before.
		if s.alertSQL, err = openSecond(ctx, d, dsn+noAutoCheckpoint, "alerts"); err != nil {
			db.Close()
			return nil, err
		}
		if s.bulkSQL, err = openSecond(ctx, d, dsn+noAutoCheckpoint, "bulk work"); err != nil {
			s.alertSQL.Close()
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

const noAutoCheckpoint = "&_pragma=wal_autocheckpoint(0)"

// openSecond opens another single-connection handle on an SQLite file.
func openSecond(ctx context.Context, d Dialect, dsn, purpose string) (*sql.DB, error) {
	db, err := sql.Open(d.Driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s for %s: %w", d.Name, purpose, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect %s for %s: %w", d.Name, purpose, err)
	}
	return db, nil
}

// Close closes the database.
func (s *DB) Close() error {
	var err error
	if s.alertSQL != s.SQL {
		err = s.alertSQL.Close()
	}
	if s.bulkSQL != s.SQL {
		if cerr := s.bulkSQL.Close(); cerr != nil {
			err = cerr
		}
	}
	if cerr := s.SQL.Close(); cerr != nil {
		err = cerr
	}
	return err
}

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.SQL.ExecContext(ctx, s.Dialect.Rebind(q), args...)
}

// migration is one file of migrations/ that applies to a dialect.
type migration struct {
	version int
	file    string // path inside the FS
	name    string // base name, recorded in schema_migrations
}

// migrationsFor lists the migrations of fsys that apply to dialect, in version
// order: NNNN_name.sql for every dialect, NNNN_name.<dialect>.sql for one. A
// version must resolve to exactly one file per dialect.
func migrationsFor(fsys fs.FS, dialect string) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	byVersion := map[int]migration{}
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", base)
		}
		if parts := strings.Split(strings.TrimSuffix(base, ".sql"), "."); len(parts) == 2 {
			if parts[1] != "sqlite" && parts[1] != "postgres" {
				return nil, fmt.Errorf("migration %s: unknown dialect %q (sqlite or postgres)", base, parts[1])
			}
			if parts[1] != dialect {
				continue
			}
		} else if len(parts) > 2 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql or NNNN_name.<dialect>.sql", base)
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s both have version %d for %s", prev.name, base, v, dialect)
		}
		byVersion[v] = migration{version: v, file: name, name: base}
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies the migrations of fsys not yet recorded, each in its own
// transaction, in version order. On PostgreSQL, where several processes may
// start against one database, a session advisory lock keyed by the schema
// serialises them; SQLite's single connection already does.
func (s *DB) migrate(ctx context.Context, fsys fs.FS) error {
	list, err := migrationsFor(fsys, s.Dialect.Name)
	if err != nil {
		return err
	}
	conn, err := s.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.Dialect.Name == "postgres" {
		const key = `hashtext('liftwatch.migrate.' || COALESCE(current_schema(), ''))`
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		// Unlock even if ctx is done; a failed unlock ends with the session.
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL, applied_at VARCHAR(40) NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range list {
		var n int
		if err := conn.QueryRowContext(ctx, s.Dialect.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
			return fmt.Errorf("check migration %d: %w", m.version, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(fsys, m.file)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", m.name, err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin migration %s: %w", m.name, err)
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.Dialect.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", m.name, err)
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
