package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/liftwatch/liftwatch/registry"
)

func TestRegistryRoundTripAndReopen(t *testing.T) {
	forEachOpener(t, testRegistryRoundTripAndReopen)
}

func testRegistryRoundTripAndReopen(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.Import(ctx, db.Lifts(), fleet); err != nil {
		t.Fatal(err)
	}
	// Importing again updates in place.
	fleet[0].Contractor = "changed"
	if err := registry.Import(ctx, db.Lifts(), fleet); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = open(t) // migrations must not re-run
	got, err := db.Lifts().ListLifts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, registry.NewIndex(fleet).Lifts()) {
		t.Fatalf("registry differs after reopen (%d vs %d lifts)", len(got), len(fleet))
	}
	want, err := migrationsFor(migrations, db.Dialect.Name)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(want) {
		t.Fatalf("schema_migrations has %d rows, want %d (%v)", n, len(want), err)
	}
}

func TestImportRejectsInvalid(t *testing.T) {
	forEachBackend(t, testImportRejectsInvalid)
}

func testImportRejectsInvalid(t *testing.T, db *DB) {
	ctx := context.Background()
	bad := registry.Generate(1)[:2]
	bad[1].ID = bad[0].ID
	if err := registry.Import(ctx, db.Lifts(), bad); err == nil {
		t.Fatal("duplicate accepted")
	}
	if got, _ := db.Lifts().ListLifts(ctx); len(got) != 0 {
		t.Fatal("partial import written")
	}
}

func TestRebind(t *testing.T) {
	if got := Postgres.Rebind("a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatal(got)
	}
	if got := SQLite.Rebind("a = ?"); got != "a = ?" {
		t.Fatal(got)
	}
}
