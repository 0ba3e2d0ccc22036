package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Record is one accepted message as kept in the spool: its identity (for
// rebuilding duplicate detection after a restart) and its InfluxDB line. It
// is history's record, so a drained batch goes to the store as it is.
type Record = history.Record

const (
	recHeader  = 8 // u32 body length, u32 CRC-32C of the body
	recVersion = 1
	maxRecBody = 64 << 10
	segSuffix  = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendRecord(b []byte, r *Record) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, recVersion, byte(r.Kind))
	b = binary.AppendUvarint(b, uint64(r.Boot))
	b = binary.AppendUvarint(b, uint64(r.Seq))
	b = binary.AppendUvarint(b, uint64(r.RecvMS))
	b = binary.AppendUvarint(b, uint64(r.PointNS))
	b = append(b, byte(len(r.Lift)))
	b = append(b, r.Lift...)
	b = append(b, r.Line...)
	body := b[start+recHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

var errTorn = errors.New("torn or corrupt record")

// parseRecord decodes the record at the start of b and returns its size.
// Line aliases b.
func parseRecord(b []byte, r *Record) (int, error) {
	if len(b) < recHeader {
		return 0, io.ErrUnexpectedEOF
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 4 || n > maxRecBody {
		return 0, errTorn
	}
	if len(b) < recHeader+n {
		return 0, io.ErrUnexpectedEOF
	}
	body := b[recHeader : recHeader+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) || body[0] != recVersion {
		return 0, errTorn
	}
	r.Kind = telemetry.Kind(body[1])
	p := body[2:]
	var vals [4]uint64
	for i := range vals {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, errTorn
		}
		vals[i], p = v, p[k:]
	}
	r.Boot, r.Seq, r.RecvMS, r.PointNS = int64(vals[0]), int64(vals[1]), int64(vals[2]), int64(vals[3])
	if len(p) < 1 || len(p) < 1+int(p[0]) {
		return 0, errTorn
	}
	r.Lift = string(p[1 : 1+p[0]])
	r.Line = p[1+p[0]:]
	return recHeader + n, nil
}

// SpoolOptions size the spool.
type SpoolOptions struct {
	MaxBytes     int64 // undrained bytes before Append blocks (back-pressure)
	SegmentBytes int64 // segment file size
	RetainBytes  int64 // drained segments kept for duplicate detection after restart
}

// Spool is a durable append-only log between the broker and the time-series
// store: messages are acknowledged to the broker once appended and synced, and
// drained to the store in batches from a persisted cursor.
type Spool struct {
	dir string
	opt SpoolOptions

	mu        sync.Mutex
	segs      []segInfo // ascending; the last is being written
	wf        *os.File
	cur       position // next record to drain
	records   int64    // undrained records
	closed    bool
	dataReady chan struct{} // signalled after an append
	spaceFree chan struct{} // signalled after a commit
}

type segInfo struct {
	id   int64
	size int64 // durable bytes
}

type position struct {
	seg int64
	off int64
}

// OpenSpool opens or creates the spool in dir, cutting off a torn tail left
// by a crash.
func OpenSpool(dir string, opt SpoolOptions) (*Spool, error) {
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 64 << 20
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 2 << 30
	}
	if opt.RetainBytes < 0 {
		opt.RetainBytes = 0
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool dir: %w", err)
	}
	s := &Spool{dir: dir, opt: opt, dataReady: make(chan struct{}, 1), spaceFree: make(chan struct{}, 1)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), segSuffix); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				continue
			}
			st, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("stat segment: %w", err)
			}
			s.segs = append(s.segs, segInfo{id: n, size: st.Size()})
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].id < s.segs[j].id })
	if len(s.segs) == 0 {
		s.segs = []segInfo{{id: 1}}
	}
	// Cut a torn tail off the last segment.
	last := &s.segs[len(s.segs)-1]
	valid, err := s.scanValid(last.id)
	if err != nil {
		return nil, err
	}
	if valid != last.size {
		if err := os.Truncate(s.segPath(last.id), valid); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("truncate torn spool tail: %w", err)
		}
		last.size = valid
	}
	s.wf, err = os.OpenFile(s.segPath(last.id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open spool segment: %w", err)
	}
	s.cur = position{seg: s.segs[0].id}
	if b, err := os.ReadFile(filepath.Join(dir, "cursor")); err == nil {
		var p position
		if _, err := fmt.Sscanf(string(b), "%d %d", &p.seg, &p.off); err == nil && p.seg >= s.segs[0].id {
			s.cur = p
		}
	}
	// Count what is left to drain.
	if err := s.scan(s.cur, func(*Record) { s.records++ }); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spool) segPath(id int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", id, segSuffix))
}

// scanValid returns the length of the valid prefix of segment id.
func (s *Spool) scanValid(id int64) (int64, error) {
	b, err := os.ReadFile(s.segPath(id))
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("read segment: %w", err)
	}
	var off int
	var r Record
	for off < len(b) {
		n, err := parseRecord(b[off:], &r)
		if err != nil {
			break
		}
		off += n
	}
	return int64(off), nil
}

// scan calls fn for every durable record from p on.
func (s *Spool) scan(p position, fn func(*Record)) error {
	for _, sg := range s.segs {
		if sg.id < p.seg {
			continue
		}
		b, err := os.ReadFile(s.segPath(sg.id))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("read segment: %w", err)
		}
		off := int64(0)
		if sg.id == p.seg {
			off = p.off
		}
		b = b[:min(int64(len(b)), sg.size)]
		var r Record
		for off < int64(len(b)) {
			n, err := parseRecord(b[off:], &r)
			if err != nil {
				return fmt.Errorf("spool segment %d offset %d: %w", sg.id, off, err)
			}
			fn(&r)
			off += int64(n)
		}
	}
	return nil
}

// Replay calls fn for every record still on disk, drained or not, oldest
// first: duplicate detection is rebuilt from it after a restart.
func (s *Spool) Replay(fn func(*Record)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scan(position{seg: s.segs[0].id}, fn)
}

// Append writes records and syncs them to disk. It blocks while the spool
// holds MaxBytes undrained, so that the broker keeps what does not fit.
func (s *Spool) Append(ctx context.Context, buf []byte, n int) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("spool closed")
		}
		if s.undrainedLocked() < s.opt.MaxBytes {
			break
		}
		s.mu.Unlock()
		select {
		case <-s.spaceFree:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer s.mu.Unlock()
	last := &s.segs[len(s.segs)-1]
	if last.size > 0 && last.size+int64(len(buf)) > s.opt.SegmentBytes {
		if err := s.wf.Close(); err != nil {
			return fmt.Errorf("close segment: %w", err)
		}
		f, err := os.OpenFile(s.segPath(last.id+1), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open segment: %w", err)
		}
		s.wf = f
		s.segs = append(s.segs, segInfo{id: last.id + 1})
		last = &s.segs[len(s.segs)-1]
	}
	if _, err := s.wf.Write(buf); err != nil {
		return fmt.Errorf("write spool: %w", err)
	}
	if err := s.wf.Sync(); err != nil {
		return fmt.Errorf("sync spool: %w", err)
	}
	last.size += int64(len(buf))
	s.records += int64(n)
	select {
	case s.dataReady <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) undrainedLocked() int64 {
	var n int64
	for _, sg := range s.segs {
		switch {
		case sg.id > s.cur.seg:
			n += sg.size
		case sg.id == s.cur.seg:
			n += sg.size - s.cur.off
		}
	}
	return n
}

// Batch is a run of records read from the spool, to be committed once the
// store has them.
type Batch struct {
	Records []Record
	next    position
}

// WaitFor waits until at least n records are undrained; or, once some are,
// until deadline, or until no new record has come for quiet (the end of a
// burst); or until ctx ends. It returns the undrained count.
func (s *Spool) WaitFor(ctx context.Context, n int64, deadline time.Time, quiet time.Duration) int64 {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		have, _ := s.Depth()
		if have >= n || ctx.Err() != nil || (have > 0 && !time.Now().Before(deadline)) {
			return have
		}
		wait := 500 * time.Millisecond
		if have > 0 {
			wait = min(quiet, time.Until(deadline))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return have
		case <-s.dataReady: // more came: look again
		case <-t.C:
			if have > 0 {
				return have // quiet
			}
		}
	}
}

// Read returns up to max undrained records (at most about maxBytes of them),
// waiting up to wait for some to arrive. An empty batch means none did.
func (s *Spool) Read(ctx context.Context, max int, maxBytes int64, wait time.Duration) (Batch, error) {
	s.mu.Lock()
	empty := s.undrainedLocked() == 0
	s.mu.Unlock()
	if empty && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.dataReady:
		case <-t.C:
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		}
	}
	s.mu.Lock()
	p := s.cur
	segs := append([]segInfo(nil), s.segs...)
	s.mu.Unlock()

	var out Batch
	var read int64
	for _, sg := range segs {
		if sg.id < p.seg {
			continue
		}
		if sg.id > p.seg {
			p = position{seg: sg.id}
		}
		if p.off >= sg.size {
			continue
		}
		f, err := os.Open(s.segPath(sg.id))
		if err != nil {
			return Batch{}, fmt.Errorf("open segment: %w", err)
		}
		want := min(sg.size-p.off, maxBytes-read+maxRecBody+recHeader)
		b := make([]byte, want)
		_, err = f.ReadAt(b, p.off)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return Batch{}, fmt.Errorf("read segment: %w", err)
		}
		off := 0
		for off < len(b) && len(out.Records) < max && read < maxBytes {
			var r Record
			n, err := parseRecord(b[off:], &r)
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) && p.off+int64(off)+int64(len(b)-off) < sg.size {
					break // record cut by our read window; next batch
				}
				return Batch{}, fmt.Errorf("spool segment %d offset %d: %w", sg.id, p.off+int64(off), err)
			}
			out.Records = append(out.Records, r)
			off += n
			read += int64(n)
		}
		p.off += int64(off)
		if off < len(b) || len(out.Records) >= max || read >= maxBytes {
			break
		}
	}
	out.next = p
	return out, nil
}

// Commit marks a batch as stored: the cursor moves past it and is persisted,
// and drained segments beyond the retention are deleted.
func (s *Spool) Commit(b Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	tmp := filepath.Join(s.dir, "cursor.tmp")
	if err := writeSync(tmp, fmt.Sprintf("%d %d\n", b.next.seg, b.next.off)); err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "cursor")); err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	s.mu.Lock()
	s.cur = b.next
	s.records -= int64(len(b.Records))
	// Keep the newest drained segments up to RetainBytes; delete older ones.
	var keep int64
	cut := -1
	for i := len(s.segs) - 1; i >= 0; i-- {
		sg := s.segs[i]
		if sg.id >= s.cur.seg {
			continue
		}
		keep += sg.size
		if keep > s.opt.RetainBytes {
			cut = i
			break
		}
	}
	var drop []int64
	if cut >= 0 {
		for _, sg := range s.segs[:cut+1] {
			drop = append(drop, sg.id)
		}
		s.segs = append([]segInfo(nil), s.segs[cut+1:]...)
	}
	s.mu.Unlock()
	for _, id := range drop {
		if err := os.Remove(s.segPath(id)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove drained segment: %w", err)
		}
	}
	select {
	case s.spaceFree <- struct{}{}:
	default:
	}
	return nil
}

func writeSync(path, content string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Depth is the undrained records and bytes.
func (s *Spool) Depth() (records, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.undrainedLocked()
}

// OldestMS is the receive time of the oldest undrained record, 0 if none.
func (s *Spool) OldestMS() int64 {
	s.mu.Lock()
	p := s.cur
	var size int64 = -1
	for _, sg := range s.segs {
		if sg.id == p.seg {
			size = sg.size
		}
	}
	if size >= 0 && p.off >= size {
		// the cursor sits at the end of its segment; look at the next one
		for _, sg := range s.segs {
			if sg.id > p.seg && sg.size > 0 {
				p, size = position{seg: sg.id}, sg.size
				break
			}
		}
	}
	s.mu.Unlock()
	if size <= p.off {
		return 0
	}
	f, err := os.Open(s.segPath(p.seg))
	if err != nil {
		return 0
	}
	defer f.Close()
	b := make([]byte, min(size-p.off, recHeader+maxRecBody))
	if _, err := f.ReadAt(b, p.off); err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	var r Record
	if _, err := parseRecord(b, &r); err != nil {
		return 0
	}
	return r.RecvMS
}

// Close closes the spool; durable records stay for the next start.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.wf.Close()
}
