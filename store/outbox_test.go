package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
)

// TestReservedAlertIDs: IDs reserved for the alert outbox are never taken
// by an insert without an ID, alerts written with them round-trip (insert,
// then update and more events), and a later reservation starts after both.
func TestReservedAlertIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Alerts()
		ids, err := r.ReserveAlertIDs(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 5 {
			t.Fatalf("reserved %v", ids)
		}
		plain := newAlert("JW-0001", alerts.TypeOffline, time.Minute)
		if err := r.SaveAlert(ctx, plain, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if plain.ID == id {
				t.Fatalf("an insert without an ID took reserved ID %d", id)
			}
		}
		a := newAlert("JW-0002", alerts.TypeEntrapment, 2*time.Minute)
		a.ID = ids[2]
		if err := r.WriteAlerts(ctx, []alerts.AlertWrite{{Alert: a, Events: []alerts.Event{{At: at(2 * time.Minute), Action: "opened", Actor: "system"}}}}); err != nil {
			t.Fatal(err)
		}
		b := *a
		b.State, b.Count = alerts.StateOnSite, 3
		b.Evidence = []alerts.MessageKey{{Boot: 1, Seq: 40}, {Boot: 2, Seq: 3}} // persisted so a redelivery after a restart is not counted twice
		if err := r.WriteAlerts(ctx, []alerts.AlertWrite{
			{Alert: &b, Events: []alerts.Event{{At: at(3 * time.Minute), Action: "arrived", Actor: "Li"}}},
			{Alert: &b, Events: []alerts.Event{{At: at(4 * time.Minute), Action: "comment", Actor: "Li", Note: "ok"}}},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := r.Alert(ctx, ids[2])
		if err != nil {
			t.Fatal(err)
		}
		if got.State != alerts.StateOnSite || got.Count != 3 || len(got.History) != 3 || got.History[2].Action != "comment" ||
			!reflect.DeepEqual(got.Evidence, b.Evidence) {
			t.Fatalf("stored %+v", got)
		}
		more, err := r.ReserveAlertIDs(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range more {
			if id <= ids[4] || id == plain.ID {
				t.Fatalf("second reservation %v overlaps %v or %d", more, ids, plain.ID)
			}
		}
	})
}

// TestAlertsHaveTheirOwnConnection: while the history's connection is
// busy (a long read holds it), an alert is still saved.
func TestAlertsHaveTheirOwnConnection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		conn, err := db.SQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// A read left open (rows not yet consumed) holds the connection.
		// Not a transaction: on SQLite every transaction begins IMMEDIATE,
		// as a writer (store/bulk.go), and the code only begins one to write.
		rows, err := conn.QueryContext(ctx, `SELECT id FROM lifts UNION ALL SELECT 'x'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := db.Alerts().SaveAlert(sctx, newAlert("JW-0001", alerts.TypeOffline, time.Minute), nil); err != nil {
			t.Fatalf("alert save waited for the history's connection: %v", err)
		}
	})
}
