package ingest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/telemetry"
)

// DeadLetter is one rejected message, kept for operators to inspect and, once
// what rejected it is fixed, to publish again.
type DeadLetter struct {
	Time    time.Time        `json:"time"`
	Topic   string           `json:"topic"`
	Reason  telemetry.Reason `json:"reason"`
	Error   string           `json:"error"`
	Size    int              `json:"size"`
	Excerpt string           `json:"excerpt"` // the payload's first bytes, valid UTF-8
	// Payload is the message as received (at most MaxKeptPayload bytes; a
	// longer one is cut and Size says how long it was). Kept on disk only.
	Payload []byte `json:"payload,omitempty"`
	// Seq numbers the rejections of the kept record from 1 (the API's cursor).
	Seq int64 `json:"seq"`
}

const excerptBytes = 200

// MaxKeptPayload bounds the payload a dead letter keeps on disk: the
// contract's largest valid payload is 4 KiB, and a flood of oversized junk
// must not fill the disk faster than the size bound turns it over.
const MaxKeptPayload = 16 << 10

// DefaultDeadLetterBytes bounds the rejections kept on disk: two files of
// half of it each, the older dropped whole when the newer is full.
const DefaultDeadLetterBytes = 64 << 20

// deadLetterFile is the file of rejected messages in the dead-letter
// directory; deadLetterFile+".1" is the previous one.
const deadLetterFile = "rejected.jsonl"

// DeadLetters keeps every rejected message on disk, bounded by size (so a
// thousand junk messages do not erase the evidence of the one that
// mattered), counts them per reason, and holds the most recent in memory for
// the API.
type DeadLetters struct {
	mu    sync.Mutex
	ring  []DeadLetter
	next  int
	total int64

	dir      string // "" keeps them in memory only (tests)
	f        *os.File
	w        *bufio.Writer
	size     int64
	maxBytes int64
	// counts per reason of what each file holds: [0] the current file,
	// [1] the previous one.
	counts [2]map[telemetry.Reason]int64
}

// NewDeadLetters keeps the last n rejections in memory only.
func NewDeadLetters(n int) *DeadLetters {
	if n <= 0 {
		n = 1000
	}
	return &DeadLetters{ring: make([]DeadLetter, 0, n),
		counts: [2]map[telemetry.Reason]int64{{}, {}}}
}

// OpenDeadLetters keeps rejections in dir, at most maxBytes (0: the default)
// on disk, the last n also in memory; what the files already hold is read
// back (counts, numbering and the recent ones).
func OpenDeadLetters(dir string, n int, maxBytes int64) (*DeadLetters, error) {
	d := NewDeadLetters(n)
	if maxBytes <= 0 {
		maxBytes = DefaultDeadLetterBytes
	}
	d.dir, d.maxBytes = dir, maxBytes
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	for i, name := range []string{deadLetterFile + ".1", deadLetterFile} {
		err := ReadDeadLetters(filepath.Join(dir, name), func(dl DeadLetter) error {
			d.counts[1-i][dl.Reason]++
			d.total = max(d.total, dl.Seq)
			dl.Payload = nil
			d.remember(dl)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
	}
	if err := d.openCurrent(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DeadLetters) openCurrent() error {
	f, err := os.OpenFile(filepath.Join(d.dir, deadLetterFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("dead letters: %w", err)
	}
	d.f, d.w, d.size = f, bufio.NewWriter(f), st.Size()
	return nil
}

// ReadDeadLetters calls each for every record of a dead-letter file, oldest
// first, in constant memory; a torn last line (a crash mid-write) ends it.
func ReadDeadLetters(path string, each func(DeadLetter) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a line without its newline is torn
		}
		if err != nil {
			return err
		}
		var dl DeadLetter
		if json.Unmarshal(line, &dl) != nil {
			continue
		}
		if err := each(dl); err != nil {
			return err
		}
	}
}

// DeadLetterFiles are the dead-letter files of dir, oldest first.
func DeadLetterFiles(dir string) []string {
	return []string{filepath.Join(dir, deadLetterFile+".1"), filepath.Join(dir, deadLetterFile)}
}

// Add records a rejection: on disk (when opened on a directory) and in
// memory. An error writing the file is returned; the rejection is still
// counted and listed.
func (d *DeadLetters) Add(at time.Time, topic string, payload []byte, err error) error {
	ex := payload
	if len(ex) > excerptBytes {
		ex = ex[:excerptBytes]
	}
	dl := DeadLetter{Time: at, Topic: topic, Reason: telemetry.ReasonOf(err), Error: err.Error(), Size: len(payload),
		Excerpt: toValidUTF8(ex)}
	if len(dl.Topic) > 256 {
		dl.Topic = toValidUTF8([]byte(dl.Topic[:256]))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	dl.Seq = d.total
	d.counts[0][dl.Reason]++
	d.remember(dl)
	if d.f == nil {
		return nil
	}
	dl.Payload = payload[:min(len(payload), MaxKeptPayload)]
	line, jerr := json.Marshal(dl)
	if jerr != nil {
		return fmt.Errorf("dead letter: %w", jerr)
	}
	line = append(line, '\n')
	if d.size+int64(len(line)) > d.maxBytes/2 && d.size > 0 {
		if err := d.rotate(); err != nil {
			return err
		}
	}
	if _, err := d.w.Write(line); err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	d.size += int64(len(line))
	// Written through: the evidence survives a crash of the process.
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	return nil
}

// rotate makes the current file the previous one (dropping the previous
// one's records); the caller holds mu.
func (d *DeadLetters) rotate() error {
	d.w.Flush()
	d.f.Close()
	cur := filepath.Join(d.dir, deadLetterFile)
	if err := os.Rename(cur, cur+".1"); err != nil {
		return fmt.Errorf("dead letters: rotate: %w", err)
	}
	d.counts[1], d.counts[0] = d.counts[0], map[telemetry.Reason]int64{}
	return d.openCurrent()
}

// remember puts dl in the memory ring; the caller holds mu (or owns d).
func (d *DeadLetters) remember(dl DeadLetter) {
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, dl)
		return
	}
	d.ring[d.next] = dl
	d.next = (d.next + 1) % len(d.ring)
}

// Close flushes and closes the file.
func (d *DeadLetters) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := errors.Join(d.w.Flush(), d.f.Close())
	d.f = nil
	return err
}

func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = append(out, r) // invalid bytes become U+FFFD
		b = b[n:]
	}
	return string(out)
}

// List returns the most recent rejections held in memory, newest first,
// optionally only of reason; the files hold all of them (ReadDeadLetters).
func (d *DeadLetters) List(reason telemetry.Reason, limit int) []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeadLetter, 0, min(len(d.ring), max(limit, 0)))
	for i := 0; i < len(d.ring) && (limit <= 0 || len(out) < limit); i++ {
		idx := (d.next - 1 - i + 2*len(d.ring)) % len(d.ring)
		if reason == "" || d.ring[idx].Reason == reason {
			out = append(out, d.ring[idx])
		}
	}
	return out
}

// Total is the number of the last rejection recorded (rejections kept on
// disk are numbered across restarts).
func (d *DeadLetters) Total() int64 { d.mu.Lock(); defer d.mu.Unlock(); return d.total }

// Counts are the rejections kept, per reason (on disk: what the files
// hold; in memory: since start).
func (d *DeadLetters) Counts() map[telemetry.Reason]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[telemetry.Reason]int64{}
	for _, c := range d.counts {
		for r, n := range c {
			out[r] += n
		}
	}
	return out
}
