package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
)

// Bulk work beside the alert path (issue 17, docs/fund.md "Bulk work"):
// SQLite has one writer at a time, so a long write transaction (a bank
// statement of 100,000 lines in one transaction took 16–29 s) makes every
// alert write wait for it. Bulk jobs therefore write in chunks of bounded
// size, each its own short transaction, and in this process the alert
// path's writes go first: a chunk not yet begun waits while an alert write
// is pending, and an alert write waits at most for the one chunk in flight
// (writeGate). Every SQLite transaction begins IMMEDIATE (sqliteDSN), so a
// transaction that read first never fails to upgrade to a writer with
// SQLITE_BUSY_SNAPSHOT ("database is locked (517)", the import's 500 of the
// issue); waits for another connection go through busy_timeout instead.

// BulkChunk is the most rows a bulk job writes in one transaction.
const BulkChunk = 250

// writeGate orders SQLite's writers of this process: the alert path's
// writes before bulk chunks. nil (PostgreSQL, where rows of other tables do
// not wait for each other) lets everything through.
type writeGate struct {
	mu     sync.Mutex
	urgent int           // alert-path writes waiting or writing
	idle   chan struct{} // closed while urgent is 0
	bulk   chan struct{} // the token a bulk chunk holds while it writes
}

func newWriteGate() *writeGate {
	idle := make(chan struct{})
	close(idle)
	return &writeGate{idle: idle, bulk: make(chan struct{}, 1)}
}

// urgentWrite marks an alert-path write from now until done is called:
// bulk chunks not yet begun wait until then. It returns once no chunk is
// in flight (at most one chunk's wait).
func (g *writeGate) urgentWrite(ctx context.Context) (done func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	g.mu.Lock()
	if g.urgent == 0 {
		g.idle = make(chan struct{})
	}
	g.urgent++
	g.mu.Unlock()
	done = func() {
		g.mu.Lock()
		g.urgent--
		if g.urgent == 0 {
			close(g.idle)
		}
		g.mu.Unlock()
	}
	select {
	case g.bulk <- struct{}{}: // no chunk in flight (or it just ended)
		<-g.bulk
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	return done, nil
}

// bulkBegin waits until no alert-path write is pending and takes the bulk
// token; release gives it back. A chunk checks for urgent writes after it
// holds the token, so an urgent write that came first is never overtaken.
func (g *writeGate) bulkBegin(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	for {
		select {
		case g.bulk <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		g.mu.Lock()
		idle, n := g.idle, g.urgent
		g.mu.Unlock()
		if n == 0 {
			return func() { <-g.bulk }, nil
		}
		<-g.bulk
		select {
		case <-idle:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// urgentWrite marks an alert-path write (see writeGate).
func (s *DB) urgentWrite(ctx context.Context) (func(), error) { return s.gate.urgentWrite(ctx) }

// bulkRunner is where a bulk job reads and begins its chunks: the DB's
// handle, or (PostgreSQL) the connection that holds the job's lock.
type bulkRunner interface {
	queryer
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// bulkJob serialises the bulk jobs of one key (a lift's bank imports)
// across all their chunks and returns where the job runs. PostgreSQL: a
// session advisory lock on a connection of its own, held until release
// (released by the server if the process dies). SQLite: a lock in this
// process (the database file has one serving process), and sqliteBulk.
func (s *DB) bulkJob(ctx context.Context, key string) (run bulkRunner, release func(), err error) {
	if s.Dialect.Name == "postgres" {
		conn, err := s.SQL.Conn(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("bulk %s: %w", key, err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext($1))`, key); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("lock %s: %w", key, err)
		}
		return conn, func() {
			// Unlock even if ctx is done; a failed unlock ends with the session.
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, key); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the session, and its lock, with the connection
			}
			conn.Close()
		}, nil
	}
	s.bulkMu.Lock()
	l, ok := s.bulkLocks[key]
	if !ok {
		l = make(chan struct{}, 1)
		s.bulkLocks[key] = l
	}
	s.bulkMu.Unlock()
	select {
	case l <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return sqliteBulk{read: s.bulkSQL, write: s.SQL}, func() { <-l }, nil
}

// sqliteBulk reads on the bulk jobs' own connection, so that their long
// reads never hold the shared one, and begins its chunks on the shared
// connection (DB.SQL), so that the other writers of this process queue for
// that connection with the chunks and take turns with them: a writer of
// another connection, waiting in SQLite's busy handler, sleeps (up to
// 100 ms a time) and would find the lock taken by the next chunk again
// and again. The alerts' writes have their own connection and go first
// through the writeGate.
type sqliteBulk struct{ read, write *sql.DB }

func (b sqliteBulk) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return b.read.ExecContext(ctx, q, args...)
}

func (b sqliteBulk) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return b.read.QueryContext(ctx, q, args...)
}

func (b sqliteBulk) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return b.read.QueryRowContext(ctx, q, args...)
}

func (b sqliteBulk) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return b.write.BeginTx(ctx, opts)
}

// chunk runs fn in one short transaction of a bulk job, after the alert
// path's pending writes (writeGate).
func (s *DB) chunk(ctx context.Context, run bulkRunner, what string, fn func(tx *sql.Tx) error) error {
	release, err := s.gate.bulkBegin(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := run.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	if h := s.bulkHook; h != nil {
		if err := h(what, "begun"); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	if h := s.bulkHook; h != nil {
		if err := h(what, "committed"); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint copies the WAL into the database file (SQLite, PASSIVE: it
// takes no write lock and skips what readers still use), outside any
// chunk, so that no alert write's commit does it (see Open).
func (s *DB) checkpoint(ctx context.Context, run bulkRunner) error {
	if s.Dialect.Name != "sqlite" {
		return nil
	}
	if _, err := run.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
