package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBankImportBesideEntrapments (issue 17, point 10): three bank files
// of 20,000 lines are imported one after the other through the API while
// entrapments are published over MQTT, one after the other, each resolved
// before the next. Every import is recorded whole (201, 20,000 new lines),
// nothing fails with "database is locked", and entrapments are raised and
// written in the middle of an import: the test reads the database file
// (another connection, read only) before each entrapment is published and
// once its alert is listed by the API (which reads through the alert
// outbox), and counts the entrapments for which both readings fell inside
// one import, part of its lines written and part not. Before imports were
// written in chunks, a file was one transaction (counts jumped by 20,000),
// and an alert written during its reads failed it with "database is
// locked (517)".
func TestBankImportBesideEntrapments(t *testing.T) {
	base, data, out, pub := startBulkServe(t)
	p := &entrapmentProber{base: base, lift: "JW-0001", pub: pub}
	p.probe(t) // the lift's first alert, before any import
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "liftwatch.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	staged := func() int {
		var n int
		// Only this test writes bank lines, and their ids count up.
		if err := db.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM bank_lines`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	const files, lines = 3, 20_000
	var importing atomic.Bool
	importing.Store(true)
	results := make(chan string, files)
	go func() {
		defer importing.Store(false)
		for i := 0; i < files; i++ {
			prefix := fmt.Sprintf("F%d", i)
			code, body, err := postBankCSV(base, "JW-0002", prefix+".csv", bankCSV(lines, prefix))
			var r struct{ New int }
			json.Unmarshal([]byte(body), &r)
			if err != nil || code != http.StatusCreated || r.New != lines {
				results <- fmt.Sprintf("import %d: %d %v %.300s", i, code, err, body)
				continue
			}
			results <- ""
		}
	}()
	midImport, total := 0, 0
	for importing.Load() {
		before := staged()
		p.probe(t)
		after := staged()
		total++
		if before%lines != 0 && after%lines != 0 && before/lines == after/lines {
			midImport++
		}
	}
	for i := 0; i < files; i++ {
		if r := <-results; r != "" {
			t.Error(r)
		}
	}
	if n := staged(); n != files*lines {
		t.Errorf("%d bank lines recorded, want %d", n, files*lines)
	}
	if s := out.String(); strings.Contains(s, "database is locked") {
		t.Fatalf("serve logged 'database is locked':\n%.3000s", s)
	}
	if midImport == 0 {
		t.Fatalf("no entrapment was raised and written in the middle of an import (%d entrapments in all)", total)
	}
	t.Logf("%d of %d entrapments raised and written in the middle of an import of %d lines", midImport, total, lines)
}
