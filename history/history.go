// Package history is liftwatch's telemetry history behind one interface:
// the drainer writes the spool's records to a Store, the API reads a lift's
// points back by kind and time, a page at a time. Two implementations sit
// side by side, each run through the same contract test: history/influx
// (InfluxDB, line protocol out and InfluxQL back) and history/sqlhistory (the
// embedded store over database/sql). This package holds only the contract —
// types, the error kinds a write returns and the line-protocol reader — so
// that its consumers (ingest, api) depend on neither database.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Store is where telemetry history lives. The drainer writes the spool's
// records to it; the API reads one lift's points from it, page by page. The
// embedded store (history/sqlhistory) and InfluxDB (history/influx) both
// implement it and give the same answer for the same data (contract_test.go).
type Store interface {
	Writer
	Reader
}

// Writer stores records from the spool.
type Writer interface {
	// Write stores records. Writing the same record twice must be harmless.
	// A failed write returns a *RejectedError if the data is at fault, a
	// *StoreError if the store refused it for its own reasons, or any
	// other error if it could not be asked (down, timeout).
	Write(ctx context.Context, recs []Record) error
	// Ping says whether the store is reachable.
	Ping(ctx context.Context) error
}

// Reader answers history queries.
type Reader interface {
	Query(ctx context.Context, q Query) (Page, error)
}

// Record is one accepted message as the spool hands it to history: its
// identity and its point as one line of InfluxDB line protocol.
type Record struct {
	Kind    telemetry.Kind
	Lift    string
	Boot    int64
	Seq     int64
	RecvMS  int64 // when liftwatch received it (kept by the spool, not stored)
	PointNS int64 // the point's timestamp
	Line    []byte
}

// Query selects one lift's stored points, newest first: ordered by
// time descending, then kind ascending (points of two kinds can share a
// timestamp).
type Query struct {
	Lift  string
	Kinds []string  // none: every kind
	Since time.Time // inclusive; zero: no bound
	Until time.Time // exclusive; zero: no bound
	// After continues a previous page: only points after this one in the
	// order above.
	After *Cursor
	Limit int // 1..10000
}

// Cursor is the position of a point in the history order.
type Cursor struct {
	TimeNS int64
	Kind   string
}

// String encodes the cursor for the API ("<time_ns>_<kind>").
func (c Cursor) String() string { return strconv.FormatInt(c.TimeNS, 10) + "_" + c.Kind }

// ParseCursor decodes String's form.
func ParseCursor(s string) (Cursor, error) {
	ns, kind, ok := strings.Cut(s, "_")
	t, err := strconv.ParseInt(ns, 10, 64)
	if _, known := telemetry.ParseKind(kind); !ok || err != nil || !known {
		return Cursor{}, errors.New("not a cursor returned by this endpoint")
	}
	return Cursor{TimeNS: t, Kind: kind}, nil
}

// SortedKinds returns the query's kinds, every kind if none is named, sorted.
func (q *Query) SortedKinds() []string {
	ks := q.Kinds
	if len(ks) == 0 {
		ks = []string{"alarm", "door", "fault", "status", "trip"}
	}
	ks = append([]string(nil), ks...)
	sort.Strings(ks)
	return ks
}

// Validate checks the query.
func (q *Query) Validate() error {
	if q.Limit < 1 || q.Limit > 10000 {
		return errors.New("limit must be 1..10000")
	}
	for _, k := range q.Kinds {
		if _, ok := telemetry.ParseKind(k); !ok {
			return fmt.Errorf("unknown kind %q", k)
		}
	}
	return nil
}

// Page is one page of points and, if more follow, where the next
// page starts.
type Page struct {
	Points []Point
	Next   *Cursor
}

// FinishPage sorts points fetched with limit+1 into history order and cuts
// them to one page.
func FinishPage(pts []Point, limit int) Page {
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].TimeNS != pts[j].TimeNS {
			return pts[i].TimeNS > pts[j].TimeNS
		}
		return pts[i].Kind < pts[j].Kind
	})
	page := Page{Points: pts}
	if len(pts) > limit {
		page.Points = pts[:limit]
		last := pts[limit-1]
		page.Next = &Cursor{TimeNS: last.TimeNS, Kind: last.Kind}
	}
	if page.Points == nil {
		page.Points = []Point{}
	}
	return page
}

// Point is one stored telemetry point as typed data. Fields that a
// kind does not carry (or an optional field the terminal left out) are nil.
type Point struct {
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"` // the point's time: the message's ts (ms) plus seq mod 1e6 ns
	TimeNS int64     `json:"-"`
	Lift   string    `json:"lift"`
	Boot   int64     `json:"boot"`
	Seq    int64     `json:"seq"`

	Mode       *string  `json:"mode,omitempty"`
	Floor      *int64   `json:"floor,omitempty"`
	Moving     *bool    `json:"moving,omitempty"`
	Direction  *string  `json:"direction,omitempty"`
	Door       *string  `json:"door,omitempty"`
	DoorZone   *bool    `json:"door_zone,omitempty"`
	Occupied   *bool    `json:"occupied,omitempty"`
	Trips      *int64   `json:"trips,omitempty"`
	DoorCycles *int64   `json:"door_cycles,omitempty"`
	RunS       *int64   `json:"run_s,omitempty"`
	BatteryPct *int64   `json:"battery_pct,omitempty"`
	From       *int64   `json:"from,omitempty"`
	To         *int64   `json:"to,omitempty"`
	DurationMS *int64   `json:"duration_ms,omitempty"`
	MaxSpeed   *float64 `json:"max_speed,omitempty"`
	LoadPct    *int64   `json:"load_pct,omitempty"`
	OpenMS     *int64   `json:"open_ms,omitempty"`
	Reopens    *int64   `json:"reopens,omitempty"`
	Code       *string  `json:"code,omitempty"`
	State      *string  `json:"state,omitempty"`
	Detail     *string  `json:"detail,omitempty"`
	Source     *string  `json:"source,omitempty"`
}

// field returns a pointer to the point's field of that stored name, nil for
// a name the schema does not know (a newer writer's field: left out).
func (p *Point) field(name string) any {
	switch name {
	case "boot":
		return &p.Boot
	case "seq":
		return &p.Seq
	case "mode":
		return &p.Mode
	case "floor":
		return &p.Floor
	case "moving":
		return &p.Moving
	case "direction":
		return &p.Direction
	case "door":
		return &p.Door
	case "door_zone":
		return &p.DoorZone
	case "occupied":
		return &p.Occupied
	case "trips":
		return &p.Trips
	case "door_cycles":
		return &p.DoorCycles
	case "run_s":
		return &p.RunS
	case "battery_pct":
		return &p.BatteryPct
	case "from":
		return &p.From
	case "to":
		return &p.To
	case "duration_ms":
		return &p.DurationMS
	case "max_speed":
		return &p.MaxSpeed
	case "load_pct":
		return &p.LoadPct
	case "open_ms":
		return &p.OpenMS
	case "reopens":
		return &p.Reopens
	case "code":
		return &p.Code
	case "state":
		return &p.State
	case "detail":
		return &p.Detail
	case "source":
		return &p.Source
	}
	return nil
}

// Set stores a value read from either backend (int64, float64, bool,
// string or json.Number) into the named field, converting by the schema:
// InfluxDB's JSON does not say whether 3 was an integer or a float.
func (p *Point) Set(name string, v any) error {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		} else {
			return fmt.Errorf("field %s: bad number %q", name, n)
		}
	}
	switch dst := p.field(name).(type) {
	case *int64:
		i, ok := v.(int64)
		if !ok {
			return fmt.Errorf("field %s: want an integer, have %T", name, v)
		}
		*dst = i
	case **int64:
		i, ok := v.(int64)
		if !ok {
			return fmt.Errorf("field %s: want an integer, have %T", name, v)
		}
		*dst = &i
	case **float64:
		switch x := v.(type) {
		case float64:
			*dst = &x
		case int64:
			f := float64(x)
			*dst = &f
		default:
			return fmt.Errorf("field %s: want a number, have %T", name, v)
		}
	case **bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("field %s: want a boolean, have %T", name, v)
		}
		*dst = &b
	case **string:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("field %s: want a string, have %T", name, v)
		}
		*dst = &s
	}
	return nil
}

// ParseLine reads one line-protocol point as telemetry.AppendLine writes it
// (and as InfluxDB reads it: string fields unescape only \" and \\).
func ParseLine(line string) (Point, error) {
	var p Point
	line = strings.TrimRight(line, "\n")
	// Split into series key, fields and timestamp at unescaped, unquoted spaces.
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\':
			i++
		case c == '"' && len(parts) == 1:
			quoted = !quoted
		case c == ' ' && !quoted:
			parts = append(parts, line[start:i])
			start = i + 1
		}
	}
	parts = append(parts, line[start:])
	if len(parts) != 3 {
		return p, fmt.Errorf("line protocol: want series, fields and time, got %d parts", len(parts))
	}
	key := splitUnescaped(parts[0], ',', false)
	p.Kind = key[0]
	for _, tag := range key[1:] {
		k, v, _ := strings.Cut(tag, "=")
		if k == "lift" {
			p.Lift = unescapeTag(v)
		}
	}
	ns, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return p, fmt.Errorf("line protocol: timestamp %q: %w", parts[2], err)
	}
	p.TimeNS, p.Time = ns, time.Unix(0, ns).UTC()
	for _, f := range splitUnescaped(parts[1], ',', true) {
		name, raw, ok := strings.Cut(f, "=")
		if !ok {
			return p, fmt.Errorf("line protocol: field %q has no value", f)
		}
		var v any
		switch {
		case strings.HasPrefix(raw, `"`):
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(strings.TrimSuffix(raw[1:], `"`))
		case strings.HasSuffix(raw, "i"):
			if v, err = strconv.ParseInt(raw[:len(raw)-1], 10, 64); err != nil {
				return p, fmt.Errorf("line protocol: field %s: %w", name, err)
			}
		case raw == "true" || raw == "t" || raw == "T" || raw == "TRUE" || raw == "True":
			v = true
		case raw == "false" || raw == "f" || raw == "F" || raw == "FALSE" || raw == "False":
			v = false
		default:
			if v, err = strconv.ParseFloat(raw, 64); err != nil {
				return p, fmt.Errorf("line protocol: field %s: %w", name, err)
			}
		}
		if err := p.Set(name, v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// splitUnescaped splits s at sep not preceded by a backslash (and, if
// quotes, not inside a double-quoted string).
func splitUnescaped(s string, sep byte, quotes bool) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"' && quotes:
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unescapeTag(v string) string {
	return strings.NewReplacer(`\,`, ",", `\=`, "=", `\ `, " ").Replace(v)
}
