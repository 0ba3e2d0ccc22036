package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/telemetry"
)

// StoreRejectsFile is the dead-letter file of points the store rejected as
// invalid, in the dead-letter directory (<data.dir>/deadletter).
const StoreRejectsFile = "store-rejected.jsonl"

// StoreReject is one point the store refused as invalid: one JSON line of
// the dead-letter file, enough to write it again.
type StoreReject struct {
	Time      time.Time `json:"time"` // when the store rejected it
	Lift      string    `json:"lift"`
	Kind      string    `json:"kind"`
	Boot      int64     `json:"boot"`
	Seq       int64     `json:"seq"`
	PointTime time.Time `json:"point_time"`
	Line      string    `json:"line"` // line protocol, as sent
	Status    int       `json:"status"`
	Error     string    `json:"error"` // the store's message
}

// StoreRejects is the dead-letter file. The service appends to it while the
// deadletter command may list or replay it from another process: every
// access holds an exclusive flock on a lock file beside it.
type StoreRejects struct{ dir string }

// OpenStoreRejects uses (and creates) dir.
func OpenStoreRejects(dir string) (*StoreRejects, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dead-letter dir: %w", err)
	}
	return &StoreRejects{dir: dir}, nil
}

// Path is the dead-letter file.
func (s *StoreRejects) Path() string { return filepath.Join(s.dir, StoreRejectsFile) }

func (s *StoreRejects) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, StoreRejectsFile+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dead-letter lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("dead-letter lock: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Add appends entries and syncs them to disk.
func (s *StoreRejects) Add(entries ...StoreReject) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return fmt.Errorf("dead-letter encode: %w", err)
		}
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(s.Path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("dead-letter write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("dead-letter sync: %w", err)
	}
	return f.Close()
}

// List returns the entries, oldest first.
func (s *StoreRejects) List() ([]StoreReject, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.read()
}

func (s *StoreRejects) read() ([]StoreReject, error) {
	f, err := os.Open(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	defer f.Close()
	var out []StoreReject
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e StoreReject
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", s.Path(), n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dead-letter read: %w", err)
	}
	return out, nil
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	Written  int // stored, and removed from the file
	Rejected int // refused as invalid again; kept, with the store's new message
	Left     int // not tried because the store failed (its fault); kept
}

// Replay writes every entry to sink again, one point per write, and removes
// those the store took. An entry the store rejects again stays with the new
// message. If the store fails for a reason that is not the point's (down,
// credentials, missing database) replay stops there, keeps the rest and
// returns that error.
func (s *StoreRejects) Replay(ctx context.Context, sink Sink) (ReplayResult, error) {
	var res ReplayResult
	unlock, err := s.lock()
	if err != nil {
		return res, err
	}
	defer unlock()
	entries, err := s.read()
	if err != nil {
		return res, err
	}
	keep := make([]StoreReject, 0, len(entries))
	var stop error
	for i, e := range entries {
		if stop != nil {
			keep = append(keep, entries[i:]...)
			res.Left += len(entries) - i
			break
		}
		line := []byte(e.Line)
		if len(line) == 0 || line[len(line)-1] != '\n' {
			line = append(line, '\n')
		}
		rec := Record{Lift: e.Lift, Boot: e.Boot, Seq: e.Seq, Line: line}
		if k, ok := telemetry.ParseKind(e.Kind); ok {
			rec.Kind = k
		}
		err := sink.Write(ctx, []Record{rec})
		var rej *history.RejectedError
		switch {
		case err == nil:
			res.Written++
		case errors.As(err, &rej):
			e.Status, e.Error, e.Time = rej.Status, rej.Msg, time.Now()
			keep = append(keep, e)
			res.Rejected++
		default:
			stop = fmt.Errorf("replay stopped after %d of %d: %w", i, len(entries), err)
			keep = append(keep, entries[i:]...)
			res.Left += len(entries) - i
		}
		if stop != nil {
			break
		}
	}
	if res.Written > 0 || res.Rejected > 0 {
		if err := s.rewrite(keep); err != nil {
			return res, err
		}
	}
	return res, stop
}

// rewrite replaces the file with entries, atomically.
func (s *StoreRejects) rewrite(entries []StoreReject) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return fmt.Errorf("dead-letter encode: %w", err)
		}
	}
	tmp := s.Path() + ".tmp"
	if err := writeSync(tmp, buf.String()); err != nil {
		return fmt.Errorf("dead-letter rewrite: %w", err)
	}
	if err := os.Rename(tmp, s.Path()); err != nil {
		return fmt.Errorf("dead-letter rewrite: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
