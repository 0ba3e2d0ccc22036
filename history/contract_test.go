package history_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// contractMessages are points of every kind for lift A (and a few of lift B
// that must never show): optional fields present and absent, a float field
// holding a whole number, strings needing escapes, and two kinds sharing one
// timestamp (same ts and seq), which the order must break by kind.
func contractMessages() []telemetry.Message {
	const t0 = 1790000000000 // ms, pinned
	var ms []telemetry.Message
	for i := int64(0); i < 12; i++ {
		ts, seq := t0+i*1000, i+1
		switch i % 5 {
		case 0:
			m := telemetry.Message{Kind: telemetry.KindStatus, Lift: "A", Boot: 2, Seq: seq, TS: ts, Mode: telemetry.Mode(1), Floor: int(i),
				Moving: true, Direction: telemetry.Direction(1), Door: telemetry.DoorState(0), DoorZone: true, Occupied: true,
				Trips: 100 + i, DoorCycles: 200 + i, RunS: 300 + i}
			if i == 5 || i == 10 {
				m.Has, m.BatteryPct = telemetry.FieldBattery, 80
			}
			ms = append(ms, m)
		case 1:
			ms = append(ms, telemetry.Message{Kind: telemetry.KindTrip, Lift: "A", Boot: 2, Seq: seq, TS: ts, From: 1, To: 7,
				DurationMS: 9000, MaxSpeed: 1, Has: telemetry.FieldLoad, LoadPct: 40})
			ms = append(ms, telemetry.Message{Kind: telemetry.KindDoor, Lift: "A", Boot: 2, Seq: seq, TS: ts, Floor: 7, OpenMS: 4000, Reopens: 1})
		case 2:
			ms = append(ms, telemetry.Message{Kind: telemetry.KindTrip, Lift: "A", Boot: 2, Seq: seq, TS: ts, From: 7, To: -1,
				DurationMS: 12000, MaxSpeed: 1.75})
		case 3:
			ms = append(ms, telemetry.Message{Kind: telemetry.KindFault, Lift: "A", Boot: 2, Seq: seq, TS: ts, Code: "door_lock",
				State: telemetry.FaultState(i % 2), Has: telemetry.FieldFloor | telemetry.FieldDetail | telemetry.FieldDoorZone,
				Floor: 3, DoorZone: false, Detail: `lock "B" \ stuck, again`})
		case 4:
			ms = append(ms, telemetry.Message{Kind: telemetry.KindAlarm, Lift: "A", Boot: 2, Seq: seq, TS: ts, Source: telemetry.AlarmSource(1),
				Has: telemetry.FieldOccupied, Occupied: true})
			ms = append(ms, telemetry.Message{Kind: telemetry.KindAlarm, Lift: "B", Boot: 1, Seq: seq, TS: ts, Source: telemetry.AlarmSource(0)})
		}
	}
	return ms
}

// expected computes the answer from the messages themselves (through the
// contract's JSON, not line protocol), independently of either backend.
func expected(t *testing.T, ms []telemetry.Message, q history.Query) []history.Point {
	t.Helper()
	var out []history.Point
	for i := range ms {
		m := &ms[i]
		ns := m.PointTime()
		kindOK := len(q.Kinds) == 0
		for _, k := range q.Kinds {
			kindOK = kindOK || k == m.Kind.String()
		}
		if m.Lift != q.Lift || !kindOK || (!q.Since.IsZero() && ns < q.Since.UnixNano()) || (!q.Until.IsZero() && ns >= q.Until.UnixNano()) {
			continue
		}
		var p history.Point
		if err := json.Unmarshal(telemetry.AppendJSON(nil, m), &p); err != nil {
			t.Fatal(err)
		}
		p.Kind, p.Lift, p.TimeNS, p.Time = m.Kind.String(), m.Lift, ns, time.Unix(0, ns).UTC()
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].TimeNS != out[j].TimeNS {
			return out[i].TimeNS > out[j].TimeNS
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// TestHistoryContract runs the same writes and queries against both
// implementations of history.Store, the embedded store (real SQLite and real
// PostgreSQL) and real InfluxDB 1.8, and wants the same typed answer from both, page by page: by
// lift, by kind, by time window, paginated by cursor.
func TestHistoryContract(t *testing.T) {
	ctx := context.Background()
	ms := contractMessages()
	recs := make([]history.Record, len(ms))
	for i := range ms {
		m := &ms[i]
		recs[i] = history.Record{Kind: m.Kind, Lift: m.Lift, Boot: m.Boot, Seq: m.Seq, PointNS: m.PointTime(),
			Line: telemetry.AppendLine(nil, m, "estate-"+m.Lift)}
	}
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The embedded store on PostgreSQL too: serve --store.url keeps the
	// history there unless --influx.url sends it to InfluxDB.
	pdb, err := store.OpenPostgres(ctx, testrig.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	rig := testrig.StartInfluxDB(t)
	ix, err := influx.New(influx.Config{URL: rig.URL, Bucket: rig.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	// Both backends behind the one interface, written and read alike.
	backends := map[string]history.Store{"sqlite": sqlhistory.New(db.SQL, db.Dialect), "postgres": sqlhistory.New(pdb.SQL, pdb.Dialect), "influxdb": ix}
	for name, b := range backends {
		if err := b.Write(ctx, recs); err != nil {
			t.Fatalf("%s write: %v", name, err)
		}
		if err := b.Ping(ctx); err != nil {
			t.Fatalf("%s ping: %v", name, err)
		}
	}

	t0 := time.UnixMilli(1790000000000)
	for _, tc := range []struct {
		name string
		q    history.Query
	}{
		{"all", history.Query{Lift: "A"}},
		{"one kind", history.Query{Lift: "A", Kinds: []string{"trip"}}},
		{"two kinds", history.Query{Lift: "A", Kinds: []string{"trip", "door"}}},
		{"window", history.Query{Lift: "A", Since: t0.Add(3 * time.Second), Until: t0.Add(9 * time.Second)}},
		{"other lift", history.Query{Lift: "B"}},
		{"no such lift", history.Query{Lift: "Z"}},
	} {
		want := expected(t, ms, tc.q)
		for _, limit := range []int{1, 2, 3, 100} {
			for name, b := range backends {
				q := tc.q
				q.Limit = limit
				var got []history.Point
				for pages := 0; ; pages++ {
					page, err := b.Query(ctx, q)
					if err != nil {
						t.Fatalf("%s %s limit %d: %v", tc.name, name, limit, err)
					}
					if len(page.Points) > limit || page.Points == nil {
						t.Fatalf("%s %s: page of %d (nil %v) with limit %d", tc.name, name, len(page.Points), page.Points == nil, limit)
					}
					got = append(got, page.Points...)
					if page.Next == nil || pages > 50 {
						break
					}
					q.After = page.Next
				}
				if len(want) == 0 && len(got) == 0 {
					continue
				}
				if !reflect.DeepEqual(got, want) {
					gj, _ := json.Marshal(got)
					wj, _ := json.Marshal(want)
					t.Errorf("%s from %s, limit %d:\n got %s\nwant %s", tc.name, name, limit, gj, wj)
				}
			}
		}
	}
	if len(expected(t, ms, history.Query{Lift: "A"})) < 12 {
		t.Fatal("contract data too small to mean anything")
	}
}
